//! `cargo xtask chaos`: seeded fault injection against three VRRP nodes, with the
//! invariants checked from outside. See `docs/chaos.md`.
//!
//! ```text
//!   node1 eth0 192.0.2.10 (prio 100) ─┐
//!   node2 eth0 192.0.2.11 (prio  90) ─┼─ bridge br0 (own namespace, nftables here)
//!   node3 eth0 192.0.2.12 (prio  80) ─┤            VIP 192.0.2.250, VRID 51
//!   client eth0 192.0.2.100 ──────────┘
//! ```
//!
//! A schedule of faults is generated from the seed alone (never from what the run
//! observes), so `--seed S` with the same flags replays the same faults in the same
//! order. Each step applies one fault, checks the invariants once the network has
//! been stable for Master_Down_Interval + one advert interval (+ a scheduling
//! slack), repairs the fault and checks again.
#![allow(clippy::needless_range_loop)] // nodes are indices into several parallel arrays
mod flood;
mod model;

use crate::util::{cargo, is_root, root, run, step};
use anyhow::{Context, Result, bail};
use keel_testkit::Netns;
use keel_vip::VipControl;
use model::{Fault, Model, N, Step, Target};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const VIP: &str = "192.0.2.250";
pub const ADDRS: [&str; N] = ["192.0.2.10", "192.0.2.11", "192.0.2.12"];
const POLL: Duration = Duration::from_millis(20);

#[derive(clap::Args, Debug, Clone)]
pub struct ChaosArgs {
    /// Seed of the fault schedule (default: from the clock; always printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Number of fault steps (default 20 unless --minutes is given).
    #[arg(long)]
    pub steps: Option<u64>,
    /// Run faults for this many minutes (soak: RSS and fds asserted flat).
    #[arg(long)]
    pub minutes: Option<f64>,
    /// VRRPv3 with advert_int 0.1 (many more steps per minute) instead of VRRPv2 advert_int 1.
    #[arg(long)]
    pub fast: bool,
    /// Run keepalived (2.2.x) as the third node.
    #[arg(long)]
    pub with_keepalived: bool,
    /// Hostile-input flood instead of the fault schedule.
    #[arg(long)]
    pub flood: bool,
    /// Flood duration in seconds.
    #[arg(long, default_value_t = 30)]
    pub secs: u64,
    /// Flood rate in packets per second.
    #[arg(long, default_value_t = 50_000)]
    pub pps: u64,
    /// Flood only these kinds (comma separated; default all). See docs/chaos.md.
    #[arg(long, value_delimiter = ',')]
    pub kinds: Vec<String>,
    /// Extra time allowed on top of Master_Down_Interval + advert_int for
    /// process scheduling on a loaded machine, in milliseconds.
    #[arg(long, default_value_t = 300)]
    pub slack_ms: u64,
    /// Use a release build of keeld (default: debug, faster to build).
    #[arg(long)]
    pub release: bool,
    /// Output directory for logs, configs, the timeline and the report
    /// (default target/chaos, or target/chaos-flood).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Which daemon runs on a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Daemon {
    Keeld,
    Keepalived,
}

// ------------------------------------------------------------------ teardown

/// Namespaces of this run, for the Ctrl-C handler.
static CREATED: Mutex<Vec<String>> = Mutex::new(Vec::new());

pub fn netns(tag: &str) -> Netns {
    let ns = Netns::new(tag);
    if let Ok(mut v) = CREATED.lock() {
        v.push(ns.name().to_owned());
    }
    ns
}

fn install_ctrlc() -> Result<()> {
    ctrlc::set_handler(|| {
        eprintln!("\ninterrupted: tearing the chaos lab down");
        let names = CREATED.lock().map(|v| v.clone()).unwrap_or_default();
        for n in names.iter().rev() {
            if let Ok(o) = Command::new("ip").args(["netns", "pids", n]).output() {
                for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-9", pid]).status();
                }
            }
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
        std::process::exit(130);
    })
    .context("installing the Ctrl-C handler")
}

// ------------------------------------------------------------------ configs

/// The node configuration: the guide's instance (VRID 51, one VIP), every
/// node `state BACKUP`, a tracker script that fails while `flag` exists.
pub fn conf(v3: bool, node: usize, prio: u8, flag: &Path) -> String {
    let (ver, adv, auth) = if v3 {
        ("3", "0.1", String::new())
    } else {
        (
            "2",
            "1",
            "  authentication {\n    auth_type PASS\n    auth_pass 123.123\n  }\n".to_owned(),
        )
    };
    format!(
        "global_defs {{\n  router_id CHAOS{n}\n  enable_script_security\n  script_user root\n}}\n\
         vrrp_script chk {{\n  script \"/usr/bin/test ! -e {flag}\"\n  interval 1\n  weight -25\n  fall 1\n  rise 1\n}}\n\
         vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priority {prio}\n  advert_int {adv}\n  version {ver}\n{auth}  track_script {{\n    chk\n  }}\n  virtual_ipaddress {{\n    {VIP}\n  }}\n}}\n",
        n = node + 1,
        flag = flag.display(),
    )
}

/// A configuration keeld must refuse (unbalanced braces, bad priority).
fn bad_conf(good: &str, variant: u64) -> String {
    match variant % 3 {
        0 => good.replacen("priority ", "priority banana ", 1),
        1 => format!("{good}\nvrrp_instance VI_2 {{\n  interface eth0\n"),
        _ => good.replacen("virtual_router_id 51", "virtual_router_id 300", 1),
    }
}

// ------------------------------------------------------------------ nodes

pub struct Node {
    pub ns: Netns,
    pub daemon: Daemon,
    pub child: Option<Child>,
    nl: keel_vip::Netlink,
    pub dir: PathBuf,
    pub idx: usize,
}

impl Node {
    pub fn conf_path(&self) -> PathBuf {
        self.dir.join(format!("node{}.conf", self.idx + 1))
    }
    pub fn log_path(&self) -> PathBuf {
        self.dir.join(format!("node{}.log", self.idx + 1))
    }
    pub fn flag_path(&self) -> PathBuf {
        self.dir.join(format!("node{}.down", self.idx + 1))
    }
    pub fn sock(&self) -> PathBuf {
        self.dir.join(format!("node{}-main.sock", self.idx + 1))
    }

    /// Whether the namespace holds the VIP (rtnetlink dump from inside it).
    pub fn holds_vip(&mut self) -> bool {
        let vip: IpAddr = VIP
            .parse()
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        self.nl
            .list(None)
            .map(|l| l.iter().any(|v| v.addr == vip))
            .unwrap_or(false)
    }

    pub fn start(&mut self, bin: &Path) -> Result<()> {
        if self.daemon == Daemon::Keepalived {
            // keepalived 2.2.7 takes a pid file naming a zombie (its SIGKILLed
            // VRRP child not yet reaped by init) for a running daemon and exits
            // 0 ("daemon is already running"): clear its files first, as an
            // admin restarting it after a crash would. (keeld ignores zombies.)
            for k in ["main", "vrrp"] {
                let _ =
                    std::fs::remove_file(self.dir.join(format!("node{}-{k}.pid", self.idx + 1)));
            }
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        let pid = |k: &str| self.dir.join(format!("node{}-{k}.pid", self.idx + 1));
        let prog = match self.daemon {
            Daemon::Keeld => bin.to_path_buf(),
            Daemon::Keepalived => PathBuf::from("/usr/sbin/keepalived"),
        };
        let mut cmd = self.ns.command(&[]);
        cmd.arg(&prog).args(["-n", "-l", "-D"]);
        if self.daemon == Daemon::Keepalived {
            cmd.arg("-P");
        }
        cmd.arg("-f").arg(self.conf_path());
        cmd.arg("-p").arg(pid("main"));
        cmd.arg("-r").arg(pid("vrrp"));
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        self.child = Some(
            cmd.spawn()
                .with_context(|| format!("cannot start {}", prog.display()))?,
        );
        Ok(())
    }

    /// Pids to signal: keeld's own, or every keepalived process of the namespace.
    fn pids(&self, all: bool) -> Vec<u32> {
        match self.daemon {
            Daemon::Keeld => self.child.as_ref().map(Child::id).into_iter().collect(),
            Daemon::Keepalived if !all => self.child.as_ref().map(Child::id).into_iter().collect(),
            Daemon::Keepalived => {
                let o = keel_testkit::sh(&["ip", "netns", "pids", self.ns.name()]);
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .filter(|p: &u32| {
                        std::fs::read_to_string(format!("/proc/{p}/comm"))
                            .is_ok_and(|c| c.trim() == "keepalived")
                    })
                    .collect()
            }
        }
    }

    pub fn signal(&self, sig: &str) {
        // TERM and HUP go to the main process (as systemd would send them);
        // KILL/STOP/CONT to every process of the daemon so a crash is a crash.
        let all = !matches!(sig, "TERM" | "HUP");
        for p in self.pids(all) {
            let _ = Command::new("kill")
                .args([&format!("-{sig}"), &p.to_string()])
                .status();
        }
    }

    /// Wait for the daemon to exit; its exit status, or None on timeout.
    pub fn reap(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let st = crate::util::wait_exit(self.child.as_mut()?, within, Duration::from_millis(5))?;
        self.child = None;
        Some(st)
    }

    /// The keeld status (JSON), None if it does not answer within `to`.
    pub fn status(&self, to: Duration) -> Option<serde_json::Value> {
        let mut s = std::os::unix::net::UnixStream::connect(self.sock()).ok()?;
        s.set_read_timeout(Some(to)).ok()?;
        s.set_write_timeout(Some(to)).ok()?;
        s.write_all(b"status\n").ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        serde_json::from_str(&out).ok()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

/// The lab: nodes, client and the bridge namespace.
pub struct Lab {
    pub t0: Instant,
    pub bin: PathBuf,
    pub nodes: Vec<Node>,
    pub client: Netns,
    pub switch: Netns,
    pub timeline: Vec<String>,
}

impl Lab {
    pub fn new(dir: &Path, bin: &Path, daemons: [Daemon; N]) -> Result<Lab> {
        let switch = netns("chaos-sw");
        let nss: Vec<Netns> = (0..N)
            .map(|i| netns(&format!("chaos-n{}", i + 1)))
            .collect();
        let client = netns("chaos-client");
        let mut members: Vec<(&Netns, &str)> = nss.iter().map(|n| (n, "eth0")).collect();
        members.push((&client, "eth0"));
        switch.bridge("br0", &members);
        for (i, ns) in nss.iter().enumerate() {
            ns.run_ok(&[
                "ip",
                "addr",
                "add",
                &format!("{}/24", ADDRS[i]),
                "dev",
                "eth0",
            ]);
        }
        client.run_ok(&["ip", "addr", "add", "192.0.2.100/24", "dev", "eth0"]);
        let mut nodes = Vec::new();
        for (i, ns) in nss.into_iter().enumerate() {
            let nl = ns
                .enter(keel_vip::Netlink::new)
                .context("rtnetlink socket in a node namespace")?;
            nodes.push(Node {
                ns,
                daemon: daemons[i],
                child: None,
                nl,
                dir: dir.to_path_buf(),
                idx: i,
            });
        }
        Ok(Lab {
            t0: Instant::now(),
            bin: bin.to_path_buf(),
            nodes,
            client,
            switch,
            timeline: Vec::new(),
        })
    }

    pub fn say(&mut self, msg: &str) {
        let line = format!("[{:8.3}s] {msg}", self.t0.elapsed().as_secs_f64());
        eprintln!("{line}");
        self.timeline.push(line);
    }

    /// Quiet timeline entry (kept for the failure report and the file).
    pub fn note(&mut self, msg: &str) {
        let line = format!("[{:8.3}s]   {msg}", self.t0.elapsed().as_secs_f64());
        self.timeline.push(line);
    }

    /// Replace the bridge's nftables rules (cuts between node pairs, loss).
    pub fn nft(&self, cuts: &[(usize, usize)], loss: Option<(Option<usize>, u8)>) -> Result<()> {
        let mut r = String::from(
            "table bridge chaos {\n  chain forward {\n    type filter hook forward priority 0; policy accept;\n  }\n}\nflush chain bridge chaos forward\n",
        );
        for &(a, b) in cuts {
            for (x, y) in [(a, b), (b, a)] {
                let _ = writeln!(
                    r,
                    "add rule bridge chaos forward iifname \"br0p{x}\" oifname \"br0p{y}\" drop"
                );
            }
        }
        if let Some((who, pct)) = loss {
            match who {
                Some(i) => {
                    let _ = writeln!(
                        r,
                        "add rule bridge chaos forward iifname \"br0p{i}\" numgen random mod 100 < {pct} drop"
                    );
                    let _ = writeln!(
                        r,
                        "add rule bridge chaos forward oifname \"br0p{i}\" numgen random mod 100 < {pct} drop"
                    );
                }
                None => {
                    let _ = writeln!(
                        r,
                        "add rule bridge chaos forward numgen random mod 100 < {pct} drop"
                    );
                }
            }
        }
        let mut c = self.switch.command(&["nft", "-f", "-"]);
        c.stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut ch = c.spawn().context("running nft")?;
        if let Some(mut i) = ch.stdin.take() {
            i.write_all(r.as_bytes())?;
        }
        let o = ch.wait_with_output()?;
        if !o.status.success() {
            bail!(
                "nft failed: {}\n{r}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
        }
        Ok(())
    }

    fn ping(&self, from: usize, to: usize) -> bool {
        self.nodes[from]
            .ns
            .run(&["ping", "-c", "1", "-W", "1", ADDRS[to]])
            .status
            .success()
    }

    /// Probe what the kernel's nftables can do here (the partitions and loss need it).
    pub fn probe_nft(&mut self) -> Result<()> {
        self.nft(&[], None)
            .context("nftables bridge family (table bridge, hook forward) is not usable")?;
        if !self.ping(0, 1) {
            bail!("node1 cannot ping node2 before any rule: the lab is broken");
        }
        self.nft(&[(0, 1)], None)?;
        let cut = !self.ping(0, 1) && self.ping(0, 2);
        self.nft(&[], Some((None, 99)))?;
        let lossy = !self.ping(1, 2);
        self.nft(&[], None)?;
        if !cut || !lossy {
            bail!(
                "nftables rules load but do not act on bridged frames (cut works: {cut}, numgen loss works: {lossy})"
            );
        }
        self.say(
            "nft probe: bridge-family forward drop between ports works; numgen random loss works",
        );
        Ok(())
    }
}

// ------------------------------------------------------------------ the run

fn build_keeld(release: bool) -> Result<PathBuf> {
    step("building keeld");
    let mut c = cargo();
    c.args(["build", "-p", "keeld"]);
    if release {
        c.arg("--release");
    }
    run(&mut c)?;
    Ok(root().join(if release {
        "target/release/keeld"
    } else {
        "target/debug/keeld"
    }))
}

pub fn main(a: ChaosArgs) -> Result<()> {
    if !is_root() {
        bail!("cargo xtask chaos needs root (network namespaces, nftables, raw sockets)");
    }
    crate::deps::ensure(&[("nft", "/usr/sbin/nft")])?;
    if a.with_keepalived {
        crate::deps::ensure(&[("keepalived", "/usr/sbin/keepalived")])?;
    }
    let built = build_keeld(a.release)?;
    // Run a private copy: keeld is rebuilt in the shared tree while long runs
    // go on, and a run must test one binary (and never exec a half-written one).
    let tmp = std::env::temp_dir().join(format!("keel-chaos-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let bin = tmp.join("keeld");
    std::fs::copy(&built, &bin).with_context(|| format!("copying {}", built.display()))?;
    install_ctrlc()?;
    let r = if a.flood {
        flood::main(&a, &bin)
    } else {
        chaos(&a, &bin)
    };
    let _ = std::fs::remove_dir_all(&tmp);
    r
}

/// Seed of the fault schedule CI runs (fixed, so a red CI replays exactly;
/// other seeds are for `cargo xtask chaos` by hand and the long runs).
pub const CI_SEED: u64 = 11;
/// Flood kinds CI sends: all but those of open keeld bugs (docs/chaos.md).
pub const CI_FLOOD_KINDS: &str = "random,checksum,auth,ttl,vrid,addrcount,truncated,foreign";

/// The chaos tier of `cargo xtask test`: ten fault steps (VRRPv3, advert_int
/// 0.1), a 3 s flood at 50,000 packets/s, and a slower flood whose drop
/// counters must match what was sent exactly. Each runs as its own
/// `cargo xtask chaos` process (own namespaces, own Ctrl-C handler).
pub fn ci_tier() -> Result<()> {
    if !is_root() {
        if crate::util::in_ci() {
            bail!("the chaos tier needs root, and CI=true: it must run");
        }
        eprintln!("\n!!!!! SKIPPED chaos tier: needs root !!!!!\n");
        return Ok(());
    }
    let seed = CI_SEED.to_string();
    step("chaos: 10 seeded fault steps (cargo xtask chaos --steps 10 --fast)");
    run(cargo().args(["xtask", "chaos", "--steps", "10", "--fast", "--seed", &seed]))?;
    step("chaos: hostile-input flood, 3 s at 50,000 packets/s");
    run(cargo().args([
        "xtask",
        "chaos",
        "--flood",
        "--secs",
        "3",
        "--pps",
        "50000",
        "--kinds",
        CI_FLOOD_KINDS,
    ]))?;
    step("chaos: hostile-input flood, 2 s at 3,000 packets/s (drop counters exact)");
    run(cargo().args([
        "xtask",
        "chaos",
        "--flood",
        "--secs",
        "2",
        "--pps",
        "3000",
        "--kinds",
        CI_FLOOD_KINDS,
        "--out",
        "target/chaos-flood-exact",
    ]))?;
    Ok(())
}

/// Timing of the protocol as configured.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub adv: Duration,
    pub v3: bool,
    pub slack: Duration,
}

impl Timing {
    /// Master_Down_Interval for the lowest priority that may have to take over.
    pub fn mdi(&self, lowest_prio: u8) -> Duration {
        let skew = self.adv * (256 - u32::from(lowest_prio)) / 256;
        self.adv * 3 + skew
    }
}

struct Stats {
    faults: BTreeMap<&'static str, u64>,
    /// (fault kind, phase) -> convergence times when the expected master changed.
    failover: BTreeMap<String, Vec<Duration>>,
    stale_removed: u64,
    keepalived_stale_left: u64,
    graceful_stops: u64,
    bad_reloads: u64,
    good_reloads: u64,
    /// Checks whose deadline was extended because something was starved.
    extended: u64,
    max_extension: Duration,
}

fn chaos(a: &ChaosArgs, bin: &Path) -> Result<()> {
    let seed = a.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64 ^ u64::from(std::process::id()))
            .unwrap_or(1)
    });
    let soak = a.minutes.is_some();
    let max_steps = a.steps.unwrap_or(if soak { u64::MAX } else { 20 });
    let until = a.minutes.map(|m| Duration::from_secs_f64(m * 60.0));
    let t = Timing {
        adv: if a.fast {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(1)
        },
        v3: a.fast,
        slack: Duration::from_millis(a.slack_ms),
    };
    let mut replay = format!("cargo xtask chaos --seed {seed}");
    if let Some(s) = a.steps {
        let _ = write!(replay, " --steps {s}");
    }
    if let Some(m) = a.minutes {
        let _ = write!(replay, " --minutes {m}");
    }
    if a.fast {
        replay.push_str(" --fast");
    }
    if a.with_keepalived {
        replay.push_str(" --with-keepalived");
    }
    let dir = a.out.clone().unwrap_or_else(|| root().join("target/chaos"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let daemons = [
        Daemon::Keeld,
        Daemon::Keeld,
        if a.with_keepalived {
            Daemon::Keepalived
        } else {
            Daemon::Keeld
        },
    ];
    step(&format!(
        "chaos: seed {seed}, {}, {} ({}); replay: {replay}",
        match (a.steps, a.minutes) {
            (_, Some(m)) => format!("{m} minutes"),
            (Some(s), None) => format!("{s} steps"),
            (None, None) => "20 steps".into(),
        },
        if t.v3 {
            "VRRPv3 advert_int 0.1"
        } else {
            "VRRPv2 advert_int 1"
        },
        if a.with_keepalived {
            "keeld, keeld, keepalived"
        } else {
            "keeld x3"
        }
    ));
    let mut lab = Lab::new(&dir, bin, daemons)?;
    let mut r = Runner {
        lab: &mut lab,
        t,
        model: Model::new(),
        stats: Stats {
            faults: BTreeMap::new(),
            failover: BTreeMap::new(),
            stale_removed: 0,
            keepalived_stale_left: 0,
            graceful_stops: 0,
            bad_reloads: 0,
            good_reloads: 0,
            extended: 0,
            max_extension: Duration::ZERO,
        },
        step_no: 0,
        soak,
        late: [0.0; N],
        late_pid: [None; N],
    };
    let result = r.run(seed, max_steps, until);
    let stats_text = r.report(seed, &replay, &result);
    // Stop everything gracefully; a node that stops must not keep the VIP.
    for n in &mut lab.nodes {
        n.signal("CONT");
        n.signal("TERM");
        let _ = n.reap(Duration::from_secs(5));
    }
    let mut panics = Vec::new();
    for n in &lab.nodes {
        let log = std::fs::read_to_string(n.log_path()).unwrap_or_default();
        if log.contains("panicked") {
            panics.push(format!("node{}", n.idx + 1));
        }
    }
    let tl = lab.timeline.join("\n");
    std::fs::write(dir.join("timeline.txt"), &tl)?;
    std::fs::write(dir.join("report.md"), &stats_text)?;
    eprintln!("\n{stats_text}");
    eprintln!("logs, configs, timeline and report: {}", dir.display());
    if let Err(e) = result {
        eprintln!("\n===== timeline (seed {seed}) =====\n{tl}\n===== end of timeline =====");
        eprintln!(
            "\nCHAOS RUN FAILED (invariant violation or lab error): {e:#}\nseed {seed}; replay with: {replay}"
        );
        return Err(e);
    }
    if !panics.is_empty() {
        bail!("keeld panicked on {panics:?} (see their logs); seed {seed}; replay with: {replay}");
    }
    eprintln!("chaos: 0 invariant violations (seed {seed})");
    Ok(())
}

struct Runner<'a> {
    lab: &'a mut Lab,
    t: Timing,
    model: Model,
    stats: Stats,
    step_no: u64,
    soak: bool,
    /// Worst timer lateness keeld reported so far, per node (ms), and its pid.
    late: [f64; N],
    late_pid: [Option<u64>; N],
}

/// What the lab looks like at one instant.
#[derive(Debug, Clone, PartialEq)]
struct Obs {
    holds: [bool; N],
    /// keeld nodes answering: (state, effective priority, base priority).
    status: [Option<(String, u64, u64)>; N],
}

impl Runner<'_> {
    fn run(&mut self, seed: u64, max_steps: u64, until: Option<Duration>) -> Result<()> {
        self.lab.probe_nft()?;
        for i in 0..N {
            let text = conf(
                self.t.v3,
                i,
                self.model.base[i],
                &self.lab.nodes[i].flag_path(),
            );
            std::fs::write(self.lab.nodes[i].conf_path(), text)?;
        }
        // Configs must pass keeld's own check.
        let o = Command::new(&self.lab.bin)
            .arg("-t")
            .arg("-f")
            .arg(self.lab.nodes[0].conf_path())
            .output()?;
        if !o.status.success() {
            bail!(
                "keeld -t refuses the chaos config: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        self.lab.say("starting the three daemons");
        let t0 = Instant::now();
        for i in 0..N {
            self.start(i)?;
        }
        self.settle("start", t0, t0, "start")?;
        let mut res0 = self.resources();
        self.lab
            .say(&format!("resources at start: {}", show_res(&res0)));
        let mut sched = model::Schedule::new(
            seed,
            self.lab
                .nodes
                .iter()
                .position(|n| n.daemon == Daemon::Keepalived),
            self.soak,
        );
        let started = Instant::now();
        let mut last_sample = Instant::now();
        while self.step_no < max_steps && until.is_none_or(|u| started.elapsed() < u) {
            let s = sched.next();
            self.step_no += 1;
            self.step(&s)
                .with_context(|| format!("step {} ({})", self.step_no, s.describe()))?;
            if self.soak && last_sample.elapsed() > Duration::from_secs(300) {
                last_sample = Instant::now();
                let r = self.resources();
                self.lab.say(&format!("resources now: {}", show_res(&r)));
            }
        }
        // End: everything repaired; one last convergence check, then resources.
        std::thread::sleep(Duration::from_millis(500));
        let res1 = self.resources();
        self.lab
            .say(&format!("resources at end: {}", show_res(&res1)));
        if self.soak {
            // The witness (node1) is never killed or restarted in a soak.
            for i in 0..N {
                let (Some(a), Some(b)) = (res0[i], res1[i]) else {
                    continue;
                };
                if a.0 != b.0 {
                    continue; // restarted since: not comparable
                }
                if b.1 > a.1 + 1024 {
                    bail!(
                        "node{} (pid {}) RSS grew from {} KiB to {} KiB (more than 1 MiB)",
                        i + 1,
                        a.0,
                        a.1,
                        b.1
                    );
                }
                if b.2 != a.2 {
                    bail!(
                        "node{} (pid {}) open fds changed from {} to {}",
                        i + 1,
                        a.0,
                        a.2,
                        b.2
                    );
                }
            }
        }
        res0 = res1;
        let _ = res0;
        Ok(())
    }

    /// (pid, VmRSS KiB, open fds) per keeld node that runs.
    fn resources(&self) -> [Option<(u32, u64, usize)>; N] {
        let mut out = [None; N];
        for (i, n) in self.lab.nodes.iter().enumerate() {
            if n.daemon != Daemon::Keeld {
                continue;
            }
            let Some(pid) = n.pid() else { continue };
            let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find(|l| l.starts_with("VmRSS:"))
                        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
                })
                .unwrap_or(0);
            // Scripts run now and then (a pipe or two for a moment): take the
            // least of a few samples.
            let mut fds = usize::MAX;
            for _ in 0..5 {
                let c = std::fs::read_dir(format!("/proc/{pid}/fd"))
                    .map(|d| d.count())
                    .unwrap_or(0);
                fds = fds.min(c);
                std::thread::sleep(Duration::from_millis(30));
            }
            out[i] = Some((pid, rss, fds));
        }
        out
    }

    fn start(&mut self, i: usize) -> Result<()> {
        let bin = self.lab.bin.clone();
        let stale = self.lab.nodes[i].holds_vip();
        self.lab.nodes[i].start(&bin)?;
        self.model.running[i] = true;
        self.model.frozen[i] = false;
        let n = &self.lab.nodes[i];
        let d = n.daemon;
        self.lab.note(&format!(
            "node{} {:?} started (pid {:?}){}",
            i + 1,
            d,
            n.pid(),
            if stale {
                ", its namespace holds a stale VIP"
            } else {
                ""
            }
        ));
        if d == Daemon::Keepalived {
            std::thread::sleep(Duration::from_millis(300));
            if stale {
                let t = Instant::now();
                while t.elapsed() < self.t.adv + Duration::from_millis(700) {
                    if !self.lab.nodes[i].holds_vip() {
                        return Ok(());
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                self.stats.keepalived_stale_left += 1;
                self.lab.say(&format!(
                    "keepalived on node{} kept a stale VIP after its restart (removed by hand, as a reboot would)",
                    i + 1
                ));
                let _ = self.lab.nodes[i].ns.run(&[
                    "ip",
                    "addr",
                    "del",
                    &format!("{VIP}/32"),
                    "dev",
                    "eth0",
                ]);
            }
            return Ok(());
        }
        // keeld: wait for the status socket (the daemon is up and past its
        // stale-VIP cleanup), then the stale VIP must go within one advert interval.
        let t = Instant::now();
        loop {
            if let Some(c) = self.lab.nodes[i].child.as_mut()
                && let Ok(Some(st)) = c.try_wait()
            {
                bail!("node{} keeld exited right after its start: {st}", i + 1);
            }
            if self.lab.nodes[i]
                .status(Duration::from_millis(500))
                .is_some()
            {
                break;
            }
            if t.elapsed() > Duration::from_secs(10) {
                bail!(
                    "node{} keeld did not answer on its status socket within 10 s",
                    i + 1
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if stale {
            let up = Instant::now();
            loop {
                if !self.lab.nodes[i].holds_vip() {
                    self.stats.stale_removed += 1;
                    self.lab.note(&format!(
                        "node{}: stale VIP removed {} ms after keeld answered",
                        i + 1,
                        up.elapsed().as_millis()
                    ));
                    break;
                }
                if up.elapsed() > self.t.adv {
                    bail!(
                        "node{}: restarted keeld did not remove the stale VIP of its own within one advert interval ({} ms)",
                        i + 1,
                        self.t.adv.as_millis()
                    );
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        Ok(())
    }

    /// Graceful stop: exit 0 and no VIP left.
    fn stop(&mut self, i: usize) -> Result<()> {
        self.lab.nodes[i].signal("TERM");
        self.model.running[i] = false;
        let st = self.lab.nodes[i].reap(Duration::from_secs(5));
        self.stats.graceful_stops += 1;
        let d = self.lab.nodes[i].daemon;
        match st {
            None => bail!("node{} {d:?} did not exit within 5 s of SIGTERM", i + 1),
            Some(s) if d == Daemon::Keeld && !s.success() => {
                bail!(
                    "node{} keeld exited with {s} after SIGTERM (expected 0)",
                    i + 1
                )
            }
            Some(_) => {}
        }
        // keepalived's main process exits after its VRRP child: give both a moment.
        if d == Daemon::Keepalived {
            std::thread::sleep(Duration::from_millis(100));
        }
        if self.lab.nodes[i].holds_vip() {
            bail!(
                "node{} {d:?} stopped gracefully but its namespace still holds the VIP",
                i + 1
            );
        }
        self.lab
            .note(&format!("node{} stopped gracefully, no VIP left", i + 1));
        Ok(())
    }

    fn kill(&mut self, i: usize) -> Result<()> {
        let pids = self.lab.nodes[i].pids(true);
        self.lab.nodes[i].signal("KILL");
        self.model.running[i] = false;
        self.model.frozen[i] = false;
        if self.lab.nodes[i].reap(Duration::from_secs(5)).is_none() {
            bail!("node{} did not die of SIGKILL", i + 1);
        }
        // keepalived's VRRP child is not our child: wait until it is gone or a
        // zombie (orphans are reaped by init, whenever it gets to it).
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(3)
            && pids.iter().any(|p| {
                std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|st| {
                    st.rsplit_once(')')
                        .and_then(|(_, r)| r.split_whitespace().next())
                        .is_some_and(|state| state != "Z" && state != "X")
                })
            })
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }

    fn observe(&mut self) -> Result<Obs> {
        let mut o = Obs {
            holds: [false; N],
            status: [None, None, None],
        };
        for i in 0..N {
            let n = &mut self.lab.nodes[i];
            if self.model.running[i]
                && let Some(c) = n.child.as_mut()
                && let Ok(Some(st)) = c.try_wait()
            {
                n.child = None;
                let log = std::fs::read_to_string(n.log_path()).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(15).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                bail!(
                    "node{} {:?} exited unasked ({st}); last log lines:\n{}",
                    i + 1,
                    n.daemon,
                    tail.join("\n")
                );
            }
            o.holds[i] = n.holds_vip();
            if n.daemon == Daemon::Keeld && self.model.running[i] && !self.model.frozen[i] {
                // A keeld that does not answer within 1 s is itself a finding.
                let s = n.status(Duration::from_secs(5)).with_context(|| {
                    format!(
                        "node{} keeld does not answer on its status socket within 5 s",
                        i + 1
                    )
                })?;
                let late = s["max_timer_late_ms"].as_f64().unwrap_or(0.0);
                let pid = s["pid"].as_u64();
                if pid != self.late_pid[i] {
                    // A new process: its lateness counts from here.
                    self.late_pid[i] = pid;
                    self.late[i] = self.late[i].max(late);
                } else if late > self.late[i] {
                    self.late[i] = late;
                }
                let inst = &s["instances"][0];
                o.status[i] = Some((
                    inst["state"].as_str().unwrap_or("?").to_owned(),
                    inst["effective_priority"].as_u64().unwrap_or(0),
                    inst["base_priority"].as_u64().unwrap_or(0),
                ));
            }
        }
        Ok(o)
    }

    /// Why `o` is not what the model expects now, if it is not.
    fn mismatch(&self, o: &Obs) -> Option<String> {
        let exp = self.model.expected();
        let mut why = Vec::new();
        for i in 0..N {
            let m = &self.model;
            if !m.running[i] {
                if m.stopped_gracefully[i] && o.holds[i] {
                    why.push(format!(
                        "node{} stopped gracefully but holds the VIP",
                        i + 1
                    ));
                }
                continue; // a killed daemon's kernel may keep its stale VIP
            }
            if m.frozen[i] {
                continue;
            }
            if o.holds[i] != exp[i] {
                why.push(format!(
                    "node{} {} the VIP",
                    i + 1,
                    if o.holds[i] { "holds" } else { "does not hold" }
                ));
            }
            if let Some((state, eff, base)) = &o.status[i] {
                let want = if !m.link[i] {
                    "FAULT"
                } else if exp[i] {
                    "MASTER"
                } else {
                    "BACKUP"
                };
                if state != want {
                    why.push(format!("node{} is {state}, expected {want}", i + 1));
                }
                if u64::from(m.base[i]) != *base {
                    why.push(format!(
                        "node{} base priority {base}, expected {}",
                        i + 1,
                        m.base[i]
                    ));
                }
                if m.link[i] && u64::from(m.eff(i)) != *eff {
                    why.push(format!(
                        "node{} effective priority {eff}, expected {}",
                        i + 1,
                        m.eff(i)
                    ));
                }
            }
        }
        if why.is_empty() {
            None
        } else {
            Some(format!(
                "{} (expected VIP on {})",
                why.join("; "),
                show_set(&exp)
            ))
        }
    }

    fn note_obs(&mut self, last: &mut Option<Obs>, o: &Obs) {
        if last.as_ref() != Some(o) {
            let mut s = String::from("observed:");
            for i in 0..N {
                let _ = write!(
                    s,
                    " node{}[{}{}]",
                    i + 1,
                    if o.holds[i] { "VIP " } else { "" },
                    match &o.status[i] {
                        Some((st, e, _)) => format!("{st} {e}"),
                        None if !self.model.running[i] => "down".into(),
                        None if self.model.frozen[i] => "frozen".into(),
                        None => "-".into(),
                    }
                );
            }
            self.lab.note(&s);
            *last = Some(o.clone());
        }
    }

    /// Poll until `stable_at` + Master_Down_Interval + advert_int + slack; the
    /// state must be the model's by then and stay so for `hold`. Returns how
    /// long after `event_at` the final correct state started.
    fn settle(
        &mut self,
        kind: &str,
        stable_at: Instant,
        event_at: Instant,
        phase: &str,
    ) -> Result<Duration> {
        let lowest = (0..N)
            .filter(|&i| self.model.eligible(i))
            .map(|i| self.model.eff(i))
            .min()
            .unwrap_or(1);
        let base_deadline = stable_at + self.t.mdi(lowest) + self.t.adv + self.t.slack;
        // The promise holds for daemons that get the CPU. On a loaded machine
        // (two cores shared by many) a daemon's timers or this harness can be
        // starved; the time lost is added to the deadline and written to the
        // timeline, never hidden: keeld's own worst timer lateness (status
        // `max_timer_late_ms`) as it grows during the phase, and this
        // harness's gaps between observations beyond three poll periods.
        let start = Instant::now();
        let mut extra = start
            .saturating_duration_since(stable_at)
            .saturating_sub(Duration::from_millis(200));
        let late0 = self.late;
        let mut prev = start;
        let mut good_since: Option<Instant> = None;
        let mut last: Option<Obs> = None;
        loop {
            let now = Instant::now();
            let gap = now.duration_since(prev);
            prev = now;
            if gap > POLL * 3 {
                extra += gap - POLL;
            }
            let o = self.observe()?;
            let daemon_late = (0..N)
                .map(|i| (self.late[i] - late0[i]).max(0.0))
                .fold(0.0f64, f64::max);
            let ext = extra + Duration::from_secs_f64(daemon_late / 1000.0);
            let deadline = base_deadline + ext;
            self.note_obs(&mut last, &o);
            let bad = self.mismatch(&o);
            match &bad {
                None => {
                    good_since.get_or_insert(now);
                }
                Some(why) => {
                    if now >= deadline {
                        bail!(
                            "{phase}: {why}; the network has been stable for {} ms (Master_Down_Interval {} ms + advert_int {} ms + slack {} ms + {} ms lost to starvation)",
                            now.duration_since(stable_at).as_millis(),
                            self.t.mdi(lowest).as_millis(),
                            self.t.adv.as_millis(),
                            self.t.slack.as_millis(),
                            ext.as_millis()
                        );
                    }
                    good_since = None;
                }
            }
            if now >= deadline + self.t.adv * 2 {
                if ext > Duration::from_millis(50) {
                    self.stats.extended += 1;
                    self.stats.max_extension = self.stats.max_extension.max(ext);
                    self.lab.note(&format!(
                        "{phase}: deadline extended by {} ms (harness gaps {} ms, worst new daemon timer lateness {:.0} ms)",
                        ext.as_millis(),
                        extra.as_millis(),
                        daemon_late
                    ));
                }
                break;
            }
            std::thread::sleep(POLL);
        }
        let took = good_since
            .map(|g| g.saturating_duration_since(event_at))
            .unwrap_or_default();
        let _ = kind;
        Ok(took)
    }

    /// Settle and record the convergence time when the expected master moved.
    fn check(
        &mut self,
        kind: &'static str,
        phase: &str,
        before: [bool; N],
        stable_at: Instant,
        event_at: Instant,
    ) -> Result<()> {
        let took = self.settle(kind, stable_at, event_at, phase)?;
        let after = self.model.expected();
        if after != before {
            self.stats
                .failover
                .entry(format!("{kind} ({phase})"))
                .or_default()
                .push(took);
            self.lab.note(&format!(
                "{phase}: VIP moved {} -> {} in {} ms",
                show_set(&before),
                show_set(&after),
                took.as_millis()
            ));
        }
        Ok(())
    }

    fn resolve(&self, t: Target) -> usize {
        match t {
            Target::Node(i) => i,
            Target::Master => self.model.top().unwrap_or(0),
        }
    }

    fn apply_nft(&mut self) -> Result<()> {
        let cuts = self.model.cut_list();
        self.lab.nft(&cuts, self.model.loss)
    }

    fn step(&mut self, s: &Step) -> Result<()> {
        let k = self.step_no;
        let kind = s.fault.kind();
        *self.stats.faults.entry(kind).or_insert(0) += 1;
        let hold = Duration::from_millis(s.hold_ms);
        let before = self.model.expected();
        match s.fault {
            Fault::Kill(t) => {
                let i = self.resolve(t);
                self.lab.say(&format!("step {k}: SIGKILL node{}", i + 1));
                let at = Instant::now();
                self.kill(i)?;
                self.model.stopped_gracefully[i] = false;
                self.check(kind, "failover", before, at, at)?;
                std::thread::sleep(hold);
                let before = self.model.expected();
                let at = Instant::now();
                self.start(i)?;
                let up = Instant::now();
                self.check(kind, "restart", before, up, at)?;
            }
            Fault::Freeze(t) => {
                let i = self.resolve(t);
                self.lab
                    .say(&format!("step {k}: SIGSTOP node{} (frozen)", i + 1));
                let at = Instant::now();
                self.lab.nodes[i].signal("STOP");
                self.model.frozen[i] = true;
                self.check(kind, "frozen", before, at, at)?;
                std::thread::sleep(hold);
                let before = self.model.expected();
                self.lab.note(&format!("SIGCONT node{}", i + 1));
                let at = Instant::now();
                self.lab.nodes[i].signal("CONT");
                self.model.frozen[i] = false;
                self.check(kind, "thawed", before, at, at)?;
            }
            Fault::LinkDown(t) => {
                let i = self.resolve(t);
                self.lab
                    .say(&format!("step {k}: link down on node{}", i + 1));
                let at = Instant::now();
                self.lab.nodes[i]
                    .ns
                    .run_ok(&["ip", "link", "set", "eth0", "down"]);
                self.model.link[i] = false;
                self.check(kind, "link down", before, at, at)?;
                std::thread::sleep(hold);
                let before = self.model.expected();
                self.lab.note(&format!("link up on node{}", i + 1));
                let at = Instant::now();
                self.lab.nodes[i]
                    .ns
                    .run_ok(&["ip", "link", "set", "eth0", "up"]);
                self.model.link[i] = true;
                self.check(kind, "link up", before, at, at)?;
            }
            Fault::Isolate(t) => {
                let i = self.resolve(t);
                self.lab.say(&format!(
                    "step {k}: partition: node{} cut from the other nodes",
                    i + 1
                ));
                for j in 0..N {
                    if j != i {
                        self.model.set_cut(i, j, true);
                    }
                }
                self.partition(kind, before, hold)?;
            }
            Fault::Cut(x, y) => {
                self.lab.say(&format!(
                    "step {k}: partition: node{} and node{} cannot hear each other (both still hear the third)",
                    x + 1,
                    y + 1
                ));
                self.model.set_cut(x, y, true);
                self.partition(kind, before, hold)?;
            }
            Fault::Loss { node, pct } => {
                self.lab.say(&format!(
                    "step {k}: {pct}% random loss {} for {} ms",
                    match node {
                        Some(i) => format!("to and from node{}", i + 1),
                        None => "on every bridged frame".into(),
                    },
                    s.hold_ms * 4
                ));
                self.model.loss = Some((node, pct));
                self.apply_nft()?;
                // No convergence promise while frames are lost: only liveness.
                let until = Instant::now() + hold * 4;
                let mut last = None;
                while Instant::now() < until {
                    let o = self.observe()?;
                    self.note_obs(&mut last, &o);
                    std::thread::sleep(POLL);
                }
                self.model.loss = None;
                self.apply_nft()?;
                let before = self.model.expected();
                let at = Instant::now();
                self.check(kind, "loss removed", before, at, at)?;
            }
            Fault::Tracker(t) => {
                let i = self.resolve(t);
                self.lab.say(&format!(
                    "step {k}: tracker of node{} fails (effective priority {} -> {})",
                    i + 1,
                    self.model.eff(i),
                    self.model.eff(i).saturating_sub(25)
                ));
                let flag = self.lab.nodes[i].flag_path();
                let at = Instant::now();
                std::fs::write(&flag, b"down\n")?;
                self.model.tracker_down[i] = true;
                // The script runs every second: its result is known within
                // interval + its run time.
                let stable = at + Duration::from_millis(1300);
                self.check(kind, "tracker down", before, stable, at)?;
                std::thread::sleep(hold);
                let before = self.model.expected();
                self.lab.note(&format!("tracker of node{} recovers", i + 1));
                let at = Instant::now();
                std::fs::remove_file(&flag)?;
                self.model.tracker_down[i] = false;
                self.check(
                    kind,
                    "tracker up",
                    before,
                    at + Duration::from_millis(1300),
                    at,
                )?;
            }
            Fault::Reload { node: i, prio } => {
                self.lab.say(&format!(
                    "step {k}: SIGHUP node{} with a valid config: priority {} -> {prio}",
                    i + 1,
                    self.model.base[i]
                ));
                let prev = self.lab.nodes[i].status(Duration::from_secs(1));
                let text = conf(self.t.v3, i, prio, &self.lab.nodes[i].flag_path());
                std::fs::write(self.lab.nodes[i].conf_path(), text)?;
                let at = Instant::now();
                self.lab.nodes[i].signal("HUP");
                self.model.base[i] = prio;
                self.stats.good_reloads += 1;
                let stable = if self.lab.nodes[i].daemon == Daemon::Keeld {
                    let n0 = prev
                        .as_ref()
                        .and_then(|s| s["reloads"].as_u64())
                        .unwrap_or(0);
                    self.wait_status(i, Duration::from_secs(3), |s| {
                        s["reloads"].as_u64() == Some(n0 + 1)
                    })
                    .context("keeld did not report the reload within 3 s")?;
                    Instant::now()
                } else {
                    at + Duration::from_millis(500)
                };
                self.check(kind, "reloaded", before, stable, at)?;
            }
            Fault::BadReload { node: i, variant } => {
                self.lab.say(&format!(
                    "step {k}: SIGHUP node{} with an invalid config (variant {variant})",
                    i + 1
                ));
                let good = std::fs::read_to_string(self.lab.nodes[i].conf_path())?;
                let prev = self.lab.nodes[i]
                    .status(Duration::from_secs(1))
                    .context("no status before the bad reload")?;
                std::fs::write(self.lab.nodes[i].conf_path(), bad_conf(&good, variant))?;
                let at = Instant::now();
                self.lab.nodes[i].signal("HUP");
                self.stats.bad_reloads += 1;
                let f0 = prev["reload_failures"].as_u64().unwrap_or(0);
                let now = self
                    .wait_status(i, Duration::from_secs(3), |s| {
                        s["reload_failures"].as_u64() == Some(f0 + 1)
                    })
                    .context("keeld did not count the refused reload within 3 s")?;
                std::fs::write(self.lab.nodes[i].conf_path(), good)?;
                let (a, b) = (&prev["instances"][0], &now["instances"][0]);
                for key in [
                    "base_priority",
                    "advert_int_ms",
                    "vips",
                    "vrid",
                    "version",
                    "name",
                ] {
                    if a[key] != b[key] {
                        bail!(
                            "after a bad reload node{}'s running config changed: {key} {} -> {}",
                            i + 1,
                            a[key],
                            b[key]
                        );
                    }
                }
                if prev["reloads"] != now["reloads"] {
                    bail!(
                        "a bad reload was counted as a successful one on node{}",
                        i + 1
                    );
                }
                self.check(kind, "after bad reload", before, at, at)?;
            }
            Fault::Stop(t) => {
                let i = self.resolve(t);
                self.lab
                    .say(&format!("step {k}: SIGTERM node{} (graceful stop)", i + 1));
                let at = Instant::now();
                self.stop(i)?;
                self.model.stopped_gracefully[i] = true;
                self.check(kind, "stopped", before, at, at)?;
                std::thread::sleep(hold);
                let before = self.model.expected();
                let at = Instant::now();
                self.start(i)?;
                self.model.stopped_gracefully[i] = false;
                let up = Instant::now();
                self.check(kind, "restarted", before, up, at)?;
            }
            Fault::Restart(t) => {
                let i = self.resolve(t);
                self.lab.say(&format!(
                    "step {k}: restart node{} (SIGTERM, start again)",
                    i + 1
                ));
                let at = Instant::now();
                self.stop(i)?;
                self.start(i)?;
                let up = Instant::now();
                self.check(kind, "restarted", before, up, at)?;
            }
        }
        Ok(())
    }

    fn partition(&mut self, kind: &'static str, before: [bool; N], hold: Duration) -> Result<()> {
        let at = Instant::now();
        self.apply_nft()?;
        self.check(kind, "partitioned", before, at, at)?;
        std::thread::sleep(hold);
        let before = self.model.expected();
        self.lab.note("partition healed");
        self.model.clear_cuts();
        let at = Instant::now();
        self.apply_nft()?;
        self.check(kind, "healed", before, at, at)
    }

    fn wait_status(
        &self,
        i: usize,
        within: Duration,
        f: impl Fn(&serde_json::Value) -> bool,
    ) -> Option<serde_json::Value> {
        let t = Instant::now();
        while t.elapsed() < within {
            if let Some(s) = self.lab.nodes[i].status(Duration::from_secs(1))
                && f(&s)
            {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    fn report(&self, seed: u64, replay: &str, result: &Result<()>) -> String {
        let s = &self.stats;
        let mut o = String::new();
        let _ = writeln!(
            o,
            "# chaos report\n\nseed {seed} ({replay}); {} steps completed; result: {}\n",
            if result.is_ok() {
                self.step_no
            } else {
                self.step_no.saturating_sub(1)
            },
            match result {
                Ok(()) => "0 invariant violations".to_owned(),
                Err(e) => format!("VIOLATION at step {}: {e:#}", self.step_no),
            }
        );
        let _ = writeln!(o, "| fault | count |\n|---|---|");
        for (k, v) in &s.faults {
            let _ = writeln!(o, "| {k} | {v} |");
        }
        let _ = writeln!(
            o,
            "\ngraceful stops {} (no VIP left each time), stale VIPs removed by a restarted keeld {}, keepalived restarts that kept a stale VIP {}, valid reloads {}, refused reloads {}\n",
            s.graceful_stops,
            s.stale_removed,
            s.keepalived_stale_left,
            s.good_reloads,
            s.bad_reloads
        );
        let _ = writeln!(
            o,
            "checks whose deadline was extended for CPU starvation (daemon timer lateness or harness gaps; each in the timeline): {}, longest extension {} ms\n",
            s.extended,
            s.max_extension.as_millis()
        );
        let _ = writeln!(
            o,
            "Convergence after the event when the expected VIP holder changed (ms):\n\n| event (phase) | n | min | median | p90 | max |\n|---|---|---|---|---|---|"
        );
        for (k, v) in &s.failover {
            let mut v: Vec<u128> = v.iter().map(Duration::as_millis).collect();
            v.sort_unstable();
            let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
            let _ = writeln!(
                o,
                "| {k} | {} | {} | {} | {} | {} |",
                v.len(),
                v[0],
                q(0.5),
                q(0.9),
                v[v.len() - 1]
            );
        }
        o
    }
}

fn show_set(s: &[bool; N]) -> String {
    let v: Vec<String> = (0..N)
        .filter(|&i| s[i])
        .map(|i| format!("node{}", i + 1))
        .collect();
    if v.is_empty() {
        "nobody".into()
    } else {
        v.join("+")
    }
}

fn show_res(r: &[Option<(u32, u64, usize)>; N]) -> String {
    let mut s = String::new();
    for (i, x) in r.iter().enumerate() {
        if let Some((pid, rss, fds)) = x {
            let _ = write!(s, "node{} pid {pid} RSS {rss} KiB fds {fds}; ", i + 1);
        }
    }
    s
}
