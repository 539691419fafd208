//! `cargo xtask chaos --machine`: faults of the machine under VRRP rather
//! than of the network (issue 21), on a pair (node1 priority 100, node2 90,
//! VRRPv3 advert_int 0.1), run with keeld and, with `--with-keepalived`, with
//! keepalived in the same run:
//!
//! * `reload`: a no-op SIGHUP to both nodes at 1 Hz (seeded jitter) → no state
//!   change, no gratuitous ARP, no VIP netlink change; then a reload that
//!   adds a VIP to the second instance touches only that instance.
//! * `heal`: cut the pair until both are master, heal: the winner's
//!   gratuitous ARPs and the loser's `notify_backup`, timed from the heal.
//! * `stall`: in a mount namespace of the test's own, `/dev/log` is a socket
//!   nobody reads, `/tmp` and the pid files' directory are small full tmpfs
//!   (SIGUSR1 dumps go there, each failing with a log line) and an fsync
//!   writer loop runs beside. The host's `/dev/log` and disks are never
//!   touched. (No SIGHUP here: a reload's own cost is the `reload` fault's.)
//! * `starve`: every core busy at the daemon's nice level, then at nice -10,
//!   without and with real-time priority (`chrt -f 50`, what keepalived's
//!   `vrrp_rt_priority` does).
//!
//! Advert lateness is a gap between two adverts of the master, seen by a raw
//! listener on the client, minus the advert interval.
use super::ChaosArgs;
use crate::capture::Tcpdump;
use crate::host::step;
use crate::{Daemon, Lab, VIP};
use anyhow::{Context, Result, bail};
use std::fmt::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The machine faults, in the order they run.
pub const ALL: [&str; 4] = ["reload", "heal", "stall", "starve"];

const ADV: Duration = Duration::from_millis(100);
const VIP2: &str = "192.0.2.251";
const VIP3: &str = "192.0.2.252";

/// One figure of one scenario for one daemon.
type Row = (String, String, String);

/// Run the scenarios `a.kinds` (default all) for keeld and, with
/// `--with-keepalived`, keepalived; figures side by side in `report.md`.
pub fn run(a: &ChaosArgs, bin: &Path, seed: u64) -> Result<()> {
    let kinds: Vec<String> = if a.kinds.is_empty() {
        ALL.iter().map(|s| (*s).to_owned()).collect()
    } else {
        a.kinds.clone()
    };
    if let Some(k) = kinds.iter().find(|k| !ALL.contains(&k.as_str())) {
        bail!("unknown machine fault {k:?} (known: {})", ALL.join(", "));
    }
    crate::host::ensure_packages(&[("tcpdump", "/usr/bin/tcpdump")])?;
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| crate::host::root().join("target/chaos-machine"));
    // Scripts (notify_backup) run with another working directory.
    let dir = std::path::absolute(&dir)?;
    let secs = a.secs;
    let mut daemons = vec![Daemon::Keeld];
    if a.with_keepalived {
        daemons.push(Daemon::Keepalived);
    }
    let mut rows: Vec<Row> = Vec::new();
    let mut failures = Vec::new();
    for k in &kinds {
        for &d in &daemons {
            step(&format!(
                "chaos --machine: {k} with {} (seed {seed}, {secs} s)",
                d.name()
            ));
            let sub = dir.join(format!("{k}-{}", d.name()));
            let mut rng = fastrand::Rng::with_seed(seed ^ hash(k));
            let r = match k.as_str() {
                "reload" => reload(d, bin, &sub, secs, &mut rng),
                "heal" => heal(d, bin, &sub, &mut rng),
                "stall" => stall(d, bin, &sub, secs),
                _ => starve(d, bin, &sub, secs),
            };
            match r {
                Ok((figs, bad)) => {
                    for (name, v) in figs {
                        eprintln!("  {k} {}: {name}: {v}", d.name());
                        rows.push((format!("{k}: {name}"), d.name().to_owned(), v));
                    }
                    // keepalived is the comparison: observed, not asserted.
                    if d == Daemon::Keeld {
                        failures.extend(bad.into_iter().map(|b| format!("{k}: {b}")));
                    }
                }
                Err(e) => failures.push(format!("{k} with {}: {e:#}", d.name())),
            }
        }
    }
    let mut md = format!(
        "# chaos --machine report\n\nseed {seed}, {secs} s per phase, VRRPv3 advert_int 0.1, pair node1 (100) / node2 (90)\n\n| fault: figure | {} |\n|---|{}\n",
        daemons
            .iter()
            .map(|d| d.name())
            .collect::<Vec<_>>()
            .join(" | "),
        "---|".repeat(daemons.len())
    );
    let mut names: Vec<&String> = Vec::new();
    for (n, _, _) in &rows {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    for n in names {
        let cells: Vec<String> = daemons
            .iter()
            .map(|d| {
                rows.iter()
                    .find(|(m, dd, _)| m == n && dd == d.name())
                    .map_or_else(|| "–".to_owned(), |r| r.2.clone())
            })
            .collect();
        let _ = writeln!(md, "| {n} | {} |", cells.join(" | "));
    }
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("report.md"), &md)?;
    eprintln!("\n{md}\nlogs and captures: {}", dir.display());
    if !failures.is_empty() {
        bail!("chaos --machine (seed {seed}): {}", failures.join("\n  "));
    }
    eprintln!("chaos --machine: 0 invariant violations (seed {seed})");
    Ok(())
}

fn hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The pair's configuration: VI_1 (VRID 51, the VIP) and VI_2 (VRID 52,
/// VIP2 and with `three` VIP3), VRRPv3 advert_int 0.1, `notify_backup`
/// touching `notify`, no delayed second gratuitous burst.
fn conf(prio: u8, notify: &Path, three: bool) -> String {
    let inst = |name: &str, vrid: u8, vips: &str| {
        format!(
            "vrrp_instance {name} {{\n  state BACKUP\n  interface eth0\n  virtual_router_id {vrid}\n  priority {prio}\n  advert_int 0.1\n  version 3\n  garp_master_delay 0\n  notify_backup \"/usr/bin/touch {n}\"\n  virtual_ipaddress {{\n{vips}  }}\n}}\n",
            n = notify.display()
        )
    };
    let mut vips2 = format!("    {VIP2}\n");
    if three {
        let _ = writeln!(vips2, "    {VIP3}");
    }
    format!(
        "global_defs {{\n  router_id M{prio}\n  enable_script_security\n  script_user root\n}}\n{}{}",
        inst("VI_1", 51, &format!("    {VIP}\n")),
        inst("VI_2", 52, &vips2)
    )
}

/// A pair running `d`, configured, not started.
fn pair(d: Daemon, bin: &Path, dir: &Path) -> Result<Lab> {
    let mut lab = Lab::in_dir("mach", 2, bin.to_path_buf(), dir)?;
    for (i, prio) in [(0, 100u8), (1, 90)] {
        lab.nodes[i].daemon = d;
        let n = lab.nodes[i].file(".notify");
        lab.write_conf(i, &conf(prio, &n, false));
    }
    Ok(lab)
}

fn start_both(lab: &mut Lab) -> Result<()> {
    for i in 0..2 {
        lab.nodes[i].start()?;
    }
    settle(lab)
}

/// node1 holds both instances' VIPs alone, then one more second.
fn settle(lab: &Lab) -> Result<()> {
    let ok = lab.wait(Duration::from_secs(10), |l| {
        l.holds_vip(0) && !l.holds_vip(1) && holds(l, 0, VIP2)
    });
    if ok.is_none() {
        bail!("node1 did not become the only master within 10 s");
    }
    std::thread::sleep(Duration::from_secs(1));
    Ok(())
}

fn holds(lab: &Lab, i: usize, addr: &str) -> bool {
    lab.nodes[i]
        .ns
        .run(&["ip", "-o", "addr", "show", "dev", "eth0"])
        .stdout
        .windows(addr.len() + 1)
        .any(|w| w == format!("{addr}/").as_bytes())
}

/// State changes logged by both nodes so far (keepalived's text, which
/// keeld logs too).
fn entering(lab: &Lab) -> usize {
    (0..2)
        .map(|i| lab.count_in_log(i, "Entering ") + lab.count_in_log(i, "entering "))
        .sum()
}

/// The adverts on the wire, from a tcpdump on the client: kernel
/// timestamps, so a starved harness does not skew them (a raw listener's
/// own receive times did, under the CPU hogs).
struct Wire {
    dump: Tcpdump,
    at: (Instant, f64),
}

impl Wire {
    fn start(lab: &Lab, path: &Path) -> Result<Wire> {
        let dump = Tcpdump::start(&lab.client, &["-l", "-i", "eth0", "vrrp"], path)?;
        dump.wait_for("192.0.2.10 > 224.0.0.18", Duration::from_secs(5))?;
        Ok(Wire {
            dump,
            at: (Instant::now(), wall()),
        })
    }

    fn wall(&self, t: Instant) -> f64 {
        self.at.1 + t.saturating_duration_since(self.at.0).as_secs_f64()
            - self.at.0.saturating_duration_since(t).as_secs_f64()
    }
}

fn wall() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// Lateness of node1's VRID-`vrid` adverts between t0 and t1: (n gaps, p50,
/// p99, max) in ms; and the number of adverts node2 sent (a takeover).
fn lateness(w: &Wire, vrid: u8, t0: Instant, t1: Instant) -> (usize, f64, f64, f64, usize) {
    let (a, b) = (w.wall(t0), w.wall(t1));
    let seen = crate::capture::vrrp_adverts(&w.dump.text());
    let in_win = |t: f64| t >= a && t <= b;
    let times: Vec<f64> = seen
        .iter()
        .filter(|(t, s, v, p)| in_win(*t) && s == "192.0.2.10" && *v == vrid && *p > 0)
        .map(|x| x.0)
        .collect();
    let other = seen
        .iter()
        .filter(|(t, s, v, p)| in_win(*t) && s == "192.0.2.11" && *v == vrid && *p > 0)
        .count();
    let mut late: Vec<f64> = times
        .windows(2)
        .map(|w| (w[1] - w[0] - ADV.as_secs_f64()).max(0.0) * 1000.0)
        .collect();
    late.sort_by(f64::total_cmp);
    if late.is_empty() {
        return (0, f64::NAN, f64::NAN, f64::NAN, other);
    }
    let q = |p: f64| late[((late.len() - 1) as f64 * p).round() as usize];
    (late.len(), q(0.5), q(0.99), late[late.len() - 1], other)
}

fn show_late(l: (usize, f64, f64, f64, usize)) -> String {
    format!(
        "{} gaps: p50 {:.3} / p99 {:.3} / max {:.3} ms late",
        l.0, l.1, l.2, l.3
    )
}

/// `ip monitor address` in node i's namespace, into a file.
fn monitor(lab: &Lab, i: usize, path: &Path) -> Result<Child> {
    Ok(lab.nodes[i]
        .ns
        .command(&["ip", "monitor", "address"])
        .stdout(std::fs::File::create(path)?)
        .stderr(Stdio::null())
        .spawn()?)
}

fn lines_with(text: &str, needle: &str) -> usize {
    text.lines().filter(|l| l.contains(needle)).count()
}

fn stop_child(mut c: Child) {
    let _ = c.kill();
    let _ = c.wait();
}

fn stop_all(lab: &mut Lab) {
    lab.stop_all(Duration::from_secs(5));
}

type Out = (Vec<(String, String)>, Vec<String>);

fn reload(d: Daemon, bin: &Path, dir: &Path, secs: u64, rng: &mut fastrand::Rng) -> Result<Out> {
    let mut lab = pair(d, bin, dir)?;
    start_both(&mut lab)?;
    let adverts = Wire::start(&lab, &dir.join("vrrp.txt"))?;
    let arp = Tcpdump::start(
        &lab.client,
        &["-l", "-e", "-i", "eth0", "arp"],
        &dir.join("arp.txt"),
    )?;
    let mons = [
        monitor(&lab, 0, &dir.join("node1-addr.txt"))?,
        monitor(&lab, 1, &dir.join("node2-addr.txt"))?,
    ];
    std::thread::sleep(Duration::from_millis(500));
    let e0 = entering(&lab);
    let r0: Vec<u64> = (0..2).map(|i| reloads(&lab, i)).collect();
    let t0 = Instant::now();
    for k in 0..secs {
        let at = t0 + Duration::from_secs(k) + Duration::from_millis(rng.u64(0..200));
        std::thread::sleep(at.saturating_duration_since(Instant::now()));
        lab.nodes[0].signal("HUP");
        lab.nodes[1].signal("HUP");
    }
    std::thread::sleep(Duration::from_secs(1));
    let t1 = Instant::now();
    let arp_n = lines_with(&arp.text(), VIP) + lines_with(&arp.text(), VIP2);
    let addr = |i: usize| {
        std::fs::read_to_string(dir.join(format!("node{}-addr.txt", i + 1))).unwrap_or_default()
    };
    let nl: usize = (0..2).map(|i| lines_with(&addr(i), "192.0.2.25")).sum();
    let trans = entering(&lab) - e0;
    let done: Vec<String> = (0..2)
        .map(|i| (reloads(&lab, i).saturating_sub(r0[i])).to_string())
        .collect();
    let l1 = lateness(&adverts, 51, t0, t1);
    let mut figs = vec![
        ("no-op SIGHUPs sent (per node)".into(), secs.to_string()),
        (
            "reloads done node1/node2".into(),
            if d == Daemon::Keeld {
                done.join("/")
            } else {
                "(log: ".to_owned()
                    + &(0..2)
                        .map(|i| lab.count_in_log(i, "Reloading").to_string())
                        .collect::<Vec<_>>()
                        .join("/")
                    + " 'Reloading')"
            },
        ),
        ("state changes".into(), trans.to_string()),
        ("gratuitous ARPs for the VIPs".into(), arp_n.to_string()),
        ("VIP netlink changes".into(), nl.to_string()),
        ("VI_1 adverts during the storm".into(), show_late(l1)),
        ("backup adverts (takeovers)".into(), l1.4.to_string()),
    ];
    let mut bad = Vec::new();
    if trans > 0 || arp_n > 0 || nl > 0 || l1.4 > 0 {
        bad.push(format!(
            "no-op reloads changed something: {trans} state changes, {arp_n} gratuitous ARPs, {nl} VIP netlink changes, {} backup adverts",
            l1.4
        ));
    }
    if d == Daemon::Keeld && done.iter().any(|x| *x != secs.to_string()) {
        bad.push(format!("keeld counted {done:?} reloads of {secs}"));
    }
    // One instance changes: VI_2 gains VIP3 on node1.
    let n = lab.nodes[0].file(".notify");
    lab.write_conf(0, &conf(100, &n, true));
    let (a0, m0) = (arp.text(), addr(0));
    let t2 = Instant::now();
    lab.nodes[0].signal("HUP");
    let added = lab.wait(Duration::from_secs(3), |l| holds(l, 0, VIP3));
    std::thread::sleep(Duration::from_millis(1000));
    let t3 = Instant::now();
    let (a1, m1) = (arp.text(), addr(0));
    let new_arp = |v: &str| lines_with(&a1, v) - lines_with(&a0, v);
    let new_nl = |v: &str| lines_with(&m1, &format!("{v}/")) - lines_with(&m0, &format!("{v}/"));
    let l2 = lateness(&adverts, 51, t2, t3);
    figs.push((
        "one-instance reload (VI_2 +VIP): VIP3 added after".into(),
        added.map_or("never".into(), |t| format!("{} ms", t.as_millis())),
    ));
    figs.push((
        "one-instance reload: ARPs VIP/VIP2/VIP3".into(),
        format!("{}/{}/{}", new_arp(VIP), new_arp(VIP2), new_arp(VIP3)),
    ));
    figs.push((
        "one-instance reload: netlink changes VIP/VIP2/VIP3".into(),
        format!("{}/{}/{}", new_nl(VIP), new_nl(VIP2), new_nl(VIP3)),
    ));
    figs.push(("one-instance reload: VI_1 adverts".into(), show_late(l2)));
    if added.is_none() || new_arp(VIP) + new_arp(VIP2) + new_nl(VIP) + new_nl(VIP2) > 0 || l2.4 > 0
    {
        bad.push("a reload of VI_2 touched VI_1 or the unchanged VIP, or did not add VIP3".into());
    }
    drop(arp);
    for m in mons {
        stop_child(m);
    }
    stop_all(&mut lab);
    Ok((figs, bad))
}

fn reloads(lab: &Lab, i: usize) -> u64 {
    lab.nodes[i]
        .status(Duration::from_secs(2))
        .and_then(|s| s["reloads"].as_u64())
        .unwrap_or(0)
}

fn master_transitions(lab: &Lab, i: usize) -> u64 {
    lab.nodes[i]
        .status(Duration::from_secs(2))
        .and_then(|s| {
            s["instances"].as_array().map(|v| {
                v.iter()
                    .filter_map(|x| x["counters"]["master_transitions"].as_u64())
                    .sum()
            })
        })
        .unwrap_or(0)
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

fn heal(d: Daemon, bin: &Path, dir: &Path, rng: &mut fastrand::Rng) -> Result<Out> {
    let mut lab = pair(d, bin, dir)?;
    start_both(&mut lab)?;
    let mac = lab.nodes[0]
        .ns
        .run_ok(&["cat", "/sys/class/net/eth0/address"])
        .trim()
        .to_owned();
    let arp = Tcpdump::start(
        &lab.client,
        &["-l", "-e", "-i", "eth0", "arp"],
        &dir.join("arp.txt"),
    )?;
    std::thread::sleep(Duration::from_millis(500));
    lab.impair(&[(0, 1)], None)?;
    if lab
        .wait(Duration::from_secs(5), |l| l.holds_vip(0) && l.holds_vip(1))
        .is_none()
    {
        bail!("the partition did not make both nodes master");
    }
    std::thread::sleep(Duration::from_millis(300 + rng.u64(0..700)));
    let notify = lab.nodes[1].file(".notify");
    let n0 = mtime(&notify);
    let healed_wall = SystemTime::now();
    let healed = Instant::now();
    lab.impair(&[], None)?;
    let lost = lab.wait(Duration::from_secs(3), |l| !l.holds_vip(1));
    let notified = keel_testkit::wait_until(Duration::from_secs(3), || mtime(&notify) != n0);
    std::thread::sleep(Duration::from_millis(500));
    let heal_s = healed_wall
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let garps: Vec<f64> = arp
        .text()
        .lines()
        .filter(|l| l.contains(&mac) && l.contains(VIP))
        .filter_map(|l| l.split_whitespace().next()?.parse::<f64>().ok())
        .filter(|t| *t >= heal_s)
        .collect();
    let first = garps.first().map(|t| (t - heal_s) * 1000.0);
    let notify_ms = mtime(&notify)
        .filter(|_| notified.is_some())
        .and_then(|m| m.duration_since(healed_wall).ok())
        .map(|x| x.as_secs_f64() * 1000.0);
    let ms = |x: Option<f64>| x.map_or("never".to_owned(), |v| format!("{v:.1} ms"));
    let figs = vec![
        (
            "loser gives up the VIP after the heal".into(),
            lost.map_or("never".into(), |t| format!("{} ms", t.as_millis())),
        ),
        (
            "winner's first gratuitous ARP after the heal".into(),
            ms(first),
        ),
        (
            "winner's gratuitous ARPs for the VIP within 1.5 s".into(),
            garps.len().to_string(),
        ),
        ("loser's notify_backup after the heal".into(), ms(notify_ms)),
    ];
    let _ = healed;
    let mut bad = Vec::new();
    let adv_ms = ADV.as_secs_f64() * 1000.0;
    if first.is_none_or(|v| v > adv_ms) || notify_ms.is_none_or(|v| v > adv_ms) {
        bad.push(format!(
            "after the heal the winner's gratuitous ARP ({}) or the loser's notify_backup ({}) took more than one advert interval",
            ms(first),
            ms(notify_ms)
        ));
    }
    drop(arp);
    stop_all(&mut lab);
    Ok((figs, bad))
}

/// Mount-namespace script: the node's own /dev (a copy of a few device
/// nodes and `log` → `$1`), a 64 KiB tmpfs on /tmp and on the pid directory
/// `$2`, then exec the daemon (the rest of the arguments; a binary under
/// /tmp, the harness's private copy of keeld, is bound back into place).
const STALL_NS: &str = r#"set -e
sock=$1; run=$2; shift 2
mount -t tmpfs -o size=64k,mode=755 keel-stall-dev "$run"
mkdir "$run/dev"
for f in null zero random urandom; do cp -a /dev/$f "$run/dev/"; done
ln -s "$sock" "$run/dev/log"
mount --bind "$run/dev" /dev
mkdir "$run/old-tmp"
mount --bind /tmp "$run/old-tmp"
mount -t tmpfs -o size=64k keel-stall-tmp /tmp
case "$1" in /tmp/*)
  mkdir -p "${1%/*}"; touch "$1"; mount --bind "$run/old-tmp/${1#/tmp/}" "$1";;
esac
exec "$@""#;

fn fill(dir: &Path) -> u64 {
    use std::io::Write as _;
    let Ok(mut f) = std::fs::File::create(dir.join("fill")) else {
        return 0;
    };
    let block = [0u8; 4096];
    let mut n = 0;
    while f.write_all(&block).is_ok() && n < 1 << 20 {
        n += 4096;
    }
    let _ = f.sync_all();
    n
}

fn stall(d: Daemon, bin: &Path, dir: &Path, secs: u64) -> Result<Out> {
    let mut lab = pair(d, bin, dir)?;
    let mut logs = Vec::new();
    for i in 0..2 {
        let sock = dir.join(format!("node{}-devlog.sock", i + 1));
        let _ = std::fs::remove_file(&sock);
        // Bound, never read: the queue fills and stays full.
        logs.push(std::os::unix::net::UnixDatagram::bind(&sock)?);
        let run = dir.join(format!("node{}-run", i + 1));
        std::fs::create_dir_all(&run)?;
        let n = &mut lab.nodes[i];
        n.console = false;
        n.pid_dir = Some(run.clone());
        n.wrap = vec![
            "unshare".into(),
            "-m".into(),
            "--propagation".into(),
            "private".into(),
            "sh".into(),
            "-c".into(),
            STALL_NS.into(),
            "sh".into(),
            sock.display().to_string(),
            run.display().to_string(),
        ];
    }
    if let Err(e) = start_both(&mut lab) {
        // keepalived 2.2.7 logs through a blocking /dev/log socket: show
        // where its processes wait.
        let w: Vec<String> = (0..2)
            .flat_map(|i| lab.nodes[i].pids(true))
            .map(|p| {
                let w = std::fs::read_to_string(format!("/proc/{p}/wchan")).unwrap_or_default();
                format!("{p}:{w}")
            })
            .collect();
        let figs = vec![(
            "started with /dev/log stalled".into(),
            format!("no: {e:#}; kernel wait channels {}", w.join(" ")),
        )];
        stop_all(&mut lab);
        return Ok((figs, vec![format!("{e:#}")]));
    }
    let adverts = Wire::start(&lab, &dir.join("vrrp.txt"))?;
    // Baseline: /dev/log already full, nothing else yet.
    let b0 = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    let base = lateness(&adverts, 51, b0, Instant::now());
    // Fill both small file systems, seen through the daemon's own root.
    let mut filled = Vec::new();
    for i in 0..2 {
        let pid = lab.nodes[i].pid().context("no pid")?;
        let root = PathBuf::from(format!("/proc/{pid}/root"));
        let run = lab.nodes[i].pid_dir.clone().unwrap_or_default();
        let a = fill(&root.join("tmp"));
        let b = fill(&root.join(run.strip_prefix("/").unwrap_or(&run)));
        filled.push(format!("{} KiB + {} KiB", a / 1024, b / 1024));
    }
    // The fsync writer: 16 MiB written and fsynced in a loop, on a tmpfs of
    // its own mount namespace.
    let writer = Command::new("unshare")
        .args([
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            "mount -t tmpfs -o size=32m keel-stall-io /mnt && while :; do dd if=/dev/zero of=/mnt/f bs=1M count=16 conv=fsync 2>/dev/null; done",
        ])
        .process_group(0)
        .spawn()?;
    std::thread::sleep(Duration::from_millis(300));
    let mt0: Vec<u64> = (0..2).map(|i| master_transitions(&lab, i)).collect();
    let t0 = Instant::now();
    let mut k = 0u64;
    while t0.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(Duration::from_millis(500));
        lab.nodes[0].signal("USR1");
        lab.nodes[1].signal("USR1");
        k += 1;
    }
    std::thread::sleep(Duration::from_millis(300));
    let t1 = Instant::now();
    if let Ok(p) = i32::try_from(writer.id()) {
        let _ = keel_testkit::signal(-p, libc::SIGKILL);
    }
    let mut writer = writer;
    let _ = writer.wait();
    let trans: u64 = (0..2)
        .map(|i| master_transitions(&lab, i).saturating_sub(mt0[i]))
        .sum();
    let l = lateness(&adverts, 51, t0, t1);
    let answers: Vec<Option<serde_json::Value>> = (0..2)
        .map(|i| lab.nodes[i].status(Duration::from_secs(1)))
        .collect();
    let dropped: Vec<String> = answers
        .iter()
        .map(|s| {
            s.as_ref()
                .and_then(|s| s["log_dropped"].as_u64())
                .map_or("-".into(), |v| v.to_string())
        })
        .collect();
    let alive = (0..2).all(|i| {
        lab.nodes[i]
            .child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    });
    let figs = vec![
        (
            "tmp + pid dir filled (node1, node2)".into(),
            filled.join("; "),
        ),
        (
            "SIGUSR1 dumps to the full /tmp per node".into(),
            k.to_string(),
        ),
        (
            "master transitions (keeld status; keepalived logs to the stalled /dev/log)".into(),
            if d == Daemon::Keeld {
                trans.to_string()
            } else {
                "–".into()
            },
        ),
        (
            "master adverts, /dev/log full only (baseline)".into(),
            show_late(base),
        ),
        ("master adverts, all stalls".into(), show_late(l)),
        ("backup adverts (takeovers)".into(), l.4.to_string()),
        (
            "syslog lines dropped node1/node2 (status)".into(),
            dropped.join("/"),
        ),
        ("both daemons still running".into(), alive.to_string()),
    ];
    let mut bad = Vec::new();
    if trans > 0 || l.4 > 0 || !alive {
        bad.push(format!(
            "{trans} state changes, {} backup adverts, running {alive}",
            l.4
        ));
    }
    if d == Daemon::Keeld {
        // The promise (p99 at most 1 ms late) can only be judged when the
        // machine itself keeps it without the disk stalls: otherwise it is
        // reported, loudly, as not testable here.
        if l.2.is_nan() || l.2 > 1.0 {
            if base.2 <= 1.0 {
                bad.push(format!("master advert p99 {:.3} ms late (> 1 ms)", l.2));
            } else {
                eprintln!(
                    "!!!!! stall: p99 lateness not judged: the baseline itself is {:.3} ms late at p99 (machine load {}) !!!!!",
                    base.2,
                    std::fs::read_to_string("/proc/loadavg")
                        .unwrap_or_default()
                        .trim()
                );
            }
        }
        if answers.iter().any(Option::is_none) {
            bad.push("keeld did not answer its status socket".into());
        }
    }
    stop_all(&mut lab);
    drop(logs);
    Ok((figs, bad))
}

/// `n` busy loops at nice `nice`.
fn hogs(n: usize, nice: i32) -> Result<Vec<Child>> {
    (0..n)
        .map(|_| {
            Command::new("nice")
                .args(["-n", &nice.to_string(), "sh", "-c", "while :; do :; done"])
                .spawn()
                .context("starting a busy loop")
        })
        .collect()
}

fn starve(d: Daemon, bin: &Path, dir: &Path, secs: u64) -> Result<Out> {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let mut figs = Vec::new();
    let mut bad = Vec::new();
    for rt in [None, Some(50u8)] {
        let mut lab = pair(d, bin, &dir.join(if rt.is_some() { "rt" } else { "other" }))?;
        for n in &mut lab.nodes {
            n.rt = rt;
        }
        start_both(&mut lab)?;
        let adverts = Wire::start(&lab, &dir.join("vrrp.txt"))?;
        std::thread::sleep(Duration::from_millis(300));
        for nice in [0, -10] {
            let e0 = entering(&lab);
            let hs = hogs(cores, nice)?;
            let t0 = Instant::now();
            std::thread::sleep(Duration::from_secs(secs));
            let t1 = Instant::now();
            for h in hs {
                stop_child(h);
            }
            let trans = entering(&lab) - e0;
            let l = lateness(&adverts, 51, t0, t1);
            let what = format!(
                "{cores} busy loops at nice {nice}, {}",
                if rt.is_some() {
                    "daemons SCHED_FIFO 50"
                } else {
                    "daemons SCHED_OTHER"
                }
            );
            figs.push((format!("{what}: master adverts"), show_late(l)));
            figs.push((
                format!("{what}: state changes / backup adverts"),
                format!("{trans} / {}", l.4),
            ));
            if rt.is_some() && (trans > 0 || l.4 > 0) {
                bad.push(format!(
                    "{what}: {trans} state changes, {} backup adverts",
                    l.4
                ));
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        stop_all(&mut lab);
    }
    Ok((figs, bad))
}
