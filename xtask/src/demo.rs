//! `cargo xtask demo`: the guide's two-node hot standby, live, in network namespaces.
//!
//! Topology (documentation addresses only, everything inside throw-away namespaces):
//!
//! ```text
//!   node1 eth0 192.0.2.10 ─┐
//!   node2 eth0 192.0.2.11 ─┼─ bridge (own namespace)
//!   client eth0 192.0.2.100┘        VIP 192.0.2.250
//! ```
//!
//! Both nodes run the guide's configuration (`docs/examples/guide/hot-standby-*.conf`)
//! with only the interface renamed to `eth0` and the guide's 192.168.161.0/24
//! addresses mapped onto 192.0.2.0/24. The client sends a UDP probe to the VIP every
//! 10 ms; a responder on each node answers with its name. The demo then stops the
//! master, restarts it, crashes it and takes its link down, and prints a timeline and
//! a summary table. `--daemon keepalived` runs the same script with keepalived for
//! comparison.
use crate::lab::{Daemon, GuidePair, PORT, VIP, write_guide_confs};
use crate::util::{cargo, in_ci, is_root, root, run, step};
use anyhow::{Context, Result, bail};
use keel_testkit::Netns;
use keel_testkit::probe::{ProbeLog, Prober, Responder};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const PROBE: Duration = Duration::from_millis(10);

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Which daemon runs on the two nodes.
    #[arg(long, value_enum, default_value_t = Daemon::Keeld)]
    pub daemon: Daemon,
    /// Use a debug build of keeld (faster to build, same behaviour).
    #[arg(long)]
    pub debug: bool,
    /// The guide's LVS-DR cluster instead (two keeld directors, two real servers,
    /// a client) in the IPVS VM: the narrated run of keeld's director_vm test.
    #[arg(long)]
    pub lvs: bool,
}

/// Namespaces created by this run, for the Ctrl-C handler.
static CREATED: Mutex<Vec<String>> = Mutex::new(Vec::new());
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

fn register(ns: &Netns) {
    if let Ok(mut v) = CREATED.lock() {
        v.push(ns.name().to_owned());
    }
}

fn teardown_registered() {
    let names = CREATED.lock().map(|v| v.clone()).unwrap_or_default();
    for n in names.iter().rev() {
        if let Ok(o) = Command::new("ip").args(["netns", "pids", n]).output() {
            for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
        let _ = Command::new("ip").args(["netns", "del", n]).status();
    }
}

struct Lab {
    t0: Instant,
    daemon: Daemon,
    bin: PathBuf,
    dir: PathBuf,
    nodes: [Netns; 2],
    client: Netns,
    _switch: Netns,
    procs: [Option<Child>; 2],
    prober: Option<Prober>,
    _responders: Vec<Responder>,
}

/// One row of the summary.
struct Row {
    event: String,
    new_master: String,
    takeover: Option<Duration>,
    outage: Duration,
    lost: usize,
}

impl Lab {
    fn say(&self, msg: &str) {
        eprintln!("[{:7.2}s] {msg}", self.t0.elapsed().as_secs_f64());
    }

    fn holds_vip(&self, i: usize) -> bool {
        let out = self.nodes[i].run(&["ip", "-o", "-4", "addr", "show", "dev", "eth0"]);
        String::from_utf8_lossy(&out.stdout).contains(&format!(" {VIP}/"))
    }

    fn holders(&self) -> Vec<usize> {
        (0..2).filter(|&i| self.holds_vip(i)).collect()
    }

    fn start(&mut self, i: usize) -> Result<()> {
        let conf = self.dir.join(format!("node{}.conf", i + 1));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("node{}.log", i + 1)))?;
        let pid = |k: &str| self.dir.join(format!("node{}-{k}.pid", i + 1));
        let mut cmd = self.nodes[i].command(&[]);
        cmd.arg(&self.bin);
        cmd.args(["-n", "-l", "-D", "-f"]).arg(&conf);
        cmd.arg("-p").arg(pid("main"));
        cmd.arg("-r").arg(pid("vrrp"));
        cmd.arg("-c").arg(pid("check"));
        if self.daemon == Daemon::Keepalived {
            cmd.arg("-P");
        }
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", self.bin.display()))?;
        self.procs[i] = Some(child);
        Ok(())
    }

    fn signal(&mut self, i: usize, sig: &str) {
        // With keepalived the VRRP work is done by a child process: signal the
        // whole process group of the namespace for SIGSTOP/SIGKILL so a "crash"
        // is a crash, and only the parent for SIGTERM (as systemd would).
        let pids: Vec<String> = if sig == "TERM" {
            self.procs[i]
                .as_ref()
                .map(|c| vec![c.id().to_string()])
                .unwrap_or_default()
        } else {
            Command::new("ip")
                .args(["netns", "pids", self.nodes[i].name()])
                .output()
                .map(|o| {
                    String::from_utf8_lossy(&o.stdout)
                        .split_whitespace()
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        for p in pids {
            let _ = Command::new("kill").args([&format!("-{sig}"), &p]).status();
        }
    }

    fn reap(&mut self, i: usize, within: Duration) -> bool {
        let Some(c) = self.procs[i].as_mut() else {
            return true;
        };
        let exited = crate::util::wait_exit(c, within, Duration::from_millis(10)).is_some();
        if exited {
            self.procs[i] = None;
        }
        exited
    }

    /// Wait until node `i` alone holds the VIP (or `timeout`); return when it got it.
    fn wait_holder(&self, i: usize, since: Instant, timeout: Duration) -> Option<Duration> {
        let mut got: Option<Duration> = None;
        while since.elapsed() < timeout {
            if INTERRUPTED.load(Ordering::Relaxed) {
                return None;
            }
            if self.holds_vip(i) {
                got.get_or_insert(since.elapsed());
                return got;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        got
    }

    fn log(&self) -> ProbeLog {
        self.prober
            .as_ref()
            .map(Prober::snapshot)
            .unwrap_or_default()
    }

    fn measure(&self, event: &str, t: Instant, new: usize, settle: Duration) -> Row {
        let takeover = self.wait_holder(new, t, Duration::from_secs(8));
        // Let the client see the result, then look at what it saw.
        let rest = settle.saturating_sub(t.elapsed());
        std::thread::sleep(rest);
        let log = self.log();
        let outage = log.outage_in(t, None);
        let lost = log.lost_in(t, Some(Instant::now() - Duration::from_millis(150)));
        let who = log
            .last_responder(t, None)
            .map(str::to_owned)
            .unwrap_or_else(|| "nobody".into());
        let row = Row {
            event: event.into(),
            new_master: format!("node{}", new + 1),
            takeover,
            outage,
            lost,
        };
        self.say(&format!(
            "{event}: VIP on node{} after {}, client outage {} ms, {} probes lost, client now answered by {who}",
            new + 1,
            takeover.map_or("(never)".into(), |d| format!("{} ms", d.as_millis())),
            outage.as_millis(),
            lost
        ));
        row
    }
}

pub fn main(a: DemoArgs) -> Result<()> {
    if !is_root() {
        bail!("cargo xtask demo needs root (it creates network namespaces); run it as root");
    }
    if a.lvs {
        return crate::vm::lvs_demo();
    }
    let _ = in_ci();
    let bin = match a.daemon {
        Daemon::Keeld => {
            step("building keeld");
            let mut c = cargo();
            c.args(["build", "-p", "keeld"]);
            if !a.debug {
                c.arg("--release");
            }
            run(&mut c)?;
            root().join(if a.debug {
                "target/debug/keeld"
            } else {
                "target/release/keeld"
            })
        }
        Daemon::Keepalived => {
            crate::deps::ensure(&[("keepalived", "/usr/sbin/keepalived")])?;
            PathBuf::from("/usr/sbin/keepalived")
        }
    };
    ctrlc::set_handler(|| {
        INTERRUPTED.store(true, Ordering::Relaxed);
        eprintln!("\ninterrupted: tearing everything down");
        teardown_registered();
        std::process::exit(130);
    })
    .context("installing the Ctrl-C handler")?;

    let dir = root().join("target/demo");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    write_guide_confs(&dir)?;

    step("creating namespaces node1, node2, client and a bridge");
    let pair = GuidePair::new("demo");
    for ns in [&pair.switch, &pair.nodes[0], &pair.nodes[1], &pair.client] {
        register(ns);
    }
    let GuidePair {
        switch,
        nodes,
        client,
        responders,
    } = pair;
    let mut lab = Lab {
        t0: Instant::now(),
        daemon: a.daemon,
        bin,
        dir: dir.clone(),
        nodes,
        client,
        _switch: switch,
        procs: [None, None],
        prober: None,
        _responders: responders,
    };
    let result = script(&mut lab);
    // Stop the daemons gracefully, then the namespaces go (Drop) with everything in them.
    for i in 0..2 {
        lab.signal(i, "CONT");
        lab.signal(i, "TERM");
        lab.reap(i, Duration::from_secs(2));
    }
    if let Some(p) = lab.prober.take() {
        drop(p.stop());
    }
    eprintln!("\nlogs and configs: {}", dir.display());
    result
}

fn script(lab: &mut Lab) -> Result<()> {
    let name = match lab.daemon {
        Daemon::Keeld => "keeld",
        Daemon::Keepalived => "keepalived",
    };
    let mut rows = Vec::new();
    lab.prober = Some(Prober::start(
        &lab.client,
        format!("{VIP}:{PORT}").parse()?,
        PROBE,
    ));
    lab.say(&format!(
        "starting {name} on node1 (state MASTER, priority 100) and node2 (state BACKUP, priority 99)"
    ));
    let t = Instant::now();
    lab.start(0)?;
    lab.start(1)?;
    let takeover = lab.wait_holder(0, t, Duration::from_secs(10));
    lab.say(&match takeover {
        Some(d) => format!(
            "node1 is master: VIP {VIP} on node1 after {} ms",
            d.as_millis()
        ),
        None => format!("no master after 10 s; see {}", lab.dir.display()),
    });
    rows.push(Row {
        event: "both start".into(),
        new_master: "node1".into(),
        takeover,
        outage: Duration::ZERO,
        lost: 0,
    });
    if takeover.is_none() {
        bail!("the pair never elected a master");
    }
    std::thread::sleep(Duration::from_secs(2));
    lab.say(&format!(
        "steady state: VIP held by {:?}, client answered by {}",
        lab.holders()
            .iter()
            .map(|i| format!("node{}", i + 1))
            .collect::<Vec<_>>(),
        lab.log().last_responder(t, None).unwrap_or("nobody")
    ));

    // 1. graceful stop of the master
    lab.say("SIGTERM node1 (graceful stop: priority-0 advert)");
    let t = Instant::now();
    lab.signal(0, "TERM");
    rows.push(lab.measure("SIGTERM master", t, 1, Duration::from_secs(3)));
    lab.reap(0, Duration::from_secs(3));

    // 2. the master returns and preempts
    lab.say("restarting node1: it should preempt");
    let t = Instant::now();
    lab.start(0)?;
    rows.push(lab.measure("master returns (preempt)", t, 0, Duration::from_secs(6)));

    // 3. crash: freeze then kill, so no priority 0 is sent
    std::thread::sleep(Duration::from_secs(1));
    lab.say("crashing node1 (SIGSTOP, then SIGKILL: no priority-0 advert)");
    let t = Instant::now();
    lab.signal(0, "STOP");
    lab.signal(0, "KILL");
    rows.push(lab.measure("master crash", t, 1, Duration::from_secs(6)));
    lab.reap(0, Duration::from_secs(2));
    // The crashed node's kernel still holds the VIP (nobody removed it).
    if lab.holds_vip(0) {
        lab.say("node1's kernel still holds the VIP after the crash (removing it by hand, as a reboot would)");
        let _ = lab.nodes[0].run(&["ip", "addr", "del", &format!("{VIP}/32"), "dev", "eth0"]);
    }
    lab.say("restarting node1");
    let t = Instant::now();
    lab.start(0)?;
    lab.wait_holder(0, t, Duration::from_secs(8));
    std::thread::sleep(Duration::from_secs(1));

    // 4. link down on the master
    lab.say("link down on node1 (eth0)");
    let t = Instant::now();
    lab.nodes[0].run_ok(&["ip", "link", "set", "eth0", "down"]);
    rows.push(lab.measure("master link down", t, 1, Duration::from_secs(6)));
    lab.nodes[0].run_ok(&["ip", "link", "set", "eth0", "up"]);
    let t = Instant::now();
    lab.say("link up on node1: it should preempt");
    rows.push(lab.measure("link back (preempt)", t, 0, Duration::from_secs(6)));

    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nSummary ({name}, VRRPv2, advert_int 1, priorities 100/99: Skew_Time 613 ms, Master_Down_Interval 3613 ms)\n"
    );
    let _ = writeln!(
        out,
        "| event | new master | VIP moved after (ms) | client outage (ms) | lost 10 ms probes |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|");
    for r in &rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            r.event,
            r.new_master,
            r.takeover
                .map_or("never".into(), |d| d.as_millis().to_string()),
            r.outage.as_millis(),
            r.lost
        );
    }
    eprintln!("{out}");
    std::fs::write(lab.dir.join("summary.md"), &out)?;
    Ok(())
}
