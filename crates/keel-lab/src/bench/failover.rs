//! `cargo xtask bench failover [-- --reps N --debug]`: the guide's hot-standby
//! pair in namespaces, first with keeld, then with keepalived, in the same run.
//!
//! For each daemon and each repetition: the client-seen outage (10 ms UDP
//! probes to the VIP) and lost probes for a graceful stop of the master, a
//! crash (SIGSTOP + SIGKILL: no priority-0 advert) and a link down; the time
//! until the backup holds the VIP; probes lost when the master returns and
//! preempts; and the steady-state RSS per node. Prints median / max per
//! event and writes the table to `target/bench-failover.md`. A tcpdump on the
//! client times the priority-0 advert of each graceful stop from the kill(2)
//! (one signal to the main pid, as systemd sends it): the resign latency.
//!
//! `--mode handover` (or `all`, the default, after the table above): keeld's
//! make-before-break handover (docs/handover.md) with keeld and with
//! keepalived as the peer — probes lost by `keeld handover` and by SIGTERM
//! with `--stop-mode handover` — beside keepalived's own graceful stop in the
//! same run; written to `target/bench-failover-handover.md`.
use crate::host::{KEEPALIVED, build_keeld, root, step, wait_exit};
use crate::procfs::{cpu_ns, rss_kib};
use crate::{Daemon, Lab, Tcpdump, config};
use anyhow::{Context, Result, bail};
use keel_testkit::probe::Prober;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The guide's pair with `daemon` (`bin` when keeld) on both nodes, files
/// in `target/bench-failover/<daemon>`, without keeld's detailed logging.
fn pair(daemon: Daemon, bin: &Path) -> Result<Lab> {
    let dir = root().join(format!("target/bench-failover/{}", daemon.name()));
    let mut lab = Lab::in_dir("bf", 2, bin.to_path_buf(), &dir)?;
    for (i, master) in [true, false].into_iter().enumerate() {
        lab.write_conf(i, &config::guide(master));
        lab.nodes[i].daemon = daemon;
        lab.nodes[i].detail = false;
    }
    Ok(lab)
}

/// Wait up to 3 s for node i's daemon to exit, then kill what is left of it
/// (keepalived's children).
fn reap(lab: &mut Lab, i: usize) {
    let _ = lab.reap(i, Duration::from_secs(3));
    lab.signal(i, "KILL");
}

/// Wait for node1 to hold the VIP alone, then 1.5 s more.
fn settle_master(lab: &Lab) -> Result<()> {
    let ok = lab.wait(Duration::from_secs(10), |l| {
        l.holds_vip(0) && !l.holds_vip(1)
    });
    if ok.is_none() {
        bail!(
            "{}: node1 did not become the only master",
            lab.nodes[0].daemon.name()
        );
    }
    std::thread::sleep(Duration::from_millis(1500));
    Ok(())
}

/// Start probing, then node1 and node2 (node1 first), until node1 is master.
fn start_pair(lab: &mut Lab) -> Result<Prober> {
    let prober = lab.prober(Duration::from_millis(10));
    lab.nodes[0].start()?;
    std::thread::sleep(Duration::from_millis(200));
    lab.nodes[1].start()?;
    settle_master(lab)?;
    Ok(prober)
}

/// RSS of node i's daemon processes, KiB.
fn node_rss(lab: &Lab, i: usize) -> u64 {
    lab.nodes[i].pids(true).into_iter().map(rss_kib).sum()
}

#[derive(Default, Debug)]
struct Samples {
    graceful_ms: Vec<f64>,
    /// SIGTERM (one kill(2) to the main pid, as systemd's KillMode=process)
    /// to the priority-0 advert in the client's capture.
    resign_ms: Vec<f64>,
    graceful_lost: Vec<f64>,
    crash_takeover_ms: Vec<f64>,
    crash_outage_ms: Vec<f64>,
    link_takeover_ms: Vec<f64>,
    link_outage_ms: Vec<f64>,
    link_lost: Vec<f64>,
    preempt_lost: Vec<f64>,
    rss_kib: Vec<f64>,
    cpu_master_ms_min: Vec<f64>,
    cpu_backup_ms_min: Vec<f64>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn one_daemon(daemon: Daemon, bin: &Path, reps: usize) -> Result<Samples> {
    step(&format!(
        "failover with {} ({reps} repetitions)",
        daemon.name()
    ));
    let mut lab = pair(daemon, bin)?;
    let mut s = Samples::default();
    let prober = start_pair(&mut lab)?;
    steady(&lab, &mut s);
    // A capture on the client for the priority-0 adverts of graceful stops.
    let dump = Tcpdump::start(
        &lab.client,
        &["-l", "-i", "eth0", "vrrp"],
        &lab.dir.join("capture.txt"),
    )?;
    dump.wait_for("192.0.2.10 > 224.0.0.18", Duration::from_secs(5))?;
    let mut sent_at = Vec::new();
    for rep in 0..reps {
        sent_at.push(graceful(&mut lab, &prober, &mut s)?);
        crash(&mut lab, &prober, &mut s)?;
        link_down(&mut lab, &prober, &mut s)?;
        eprintln!(
            "    rep {}: graceful {:.0} ms, crash takeover {:.0} ms, link-down outage {:.0} ms",
            rep + 1,
            s.graceful_ms.last().copied().unwrap_or_default(),
            s.crash_takeover_ms.last().copied().unwrap_or_default(),
            s.link_outage_ms.last().copied().unwrap_or_default()
        );
    }
    drop(prober.stop());
    resign_latencies(&dump.stop(), &sent_at, &mut s);
    Ok(s)
}

/// Steady state: RSS per node, and CPU over 20 s scaled to a minute.
fn steady(lab: &Lab, s: &mut Samples) {
    for i in 0..2 {
        s.rss_kib.push(node_rss(lab, i) as f64);
    }
    // Steady-state CPU over 20 s, scaled to a minute.
    let (m0, b0) = (
        cpu_ns(&lab.nodes[0].pids(true)),
        cpu_ns(&lab.nodes[1].pids(true)),
    );
    std::thread::sleep(Duration::from_secs(20));
    let (m1, b1) = (
        cpu_ns(&lab.nodes[0].pids(true)),
        cpu_ns(&lab.nodes[1].pids(true)),
    );
    s.cpu_master_ms_min
        .push(m1.saturating_sub(m0) as f64 / 1e6 * 3.0);
    s.cpu_backup_ms_min
        .push(b1.saturating_sub(b0) as f64 / 1e6 * 3.0);
}

/// SIGTERM to node1's main pid (one kill(2), as systemd sends it), then
/// its return and preemption; when the signal was sent.
fn graceful(lab: &mut Lab, prober: &Prober, s: &mut Samples) -> Result<std::time::SystemTime> {
    let main_pid: i32 = std::fs::read_to_string(lab.nodes[0].pid_file("main"))
        .ok()
        .and_then(|p| p.trim().parse().ok())
        .context("node1's main pid file")?;
    let t = Instant::now();
    let sent = std::time::SystemTime::now();
    keel_testkit::signal(main_pid, keel_testkit::SIGTERM)?;
    let took = lab.wait(Duration::from_secs(5), |l| l.holds_vip(1));
    reap(lab, 0);
    std::thread::sleep(Duration::from_millis(300));
    let log = prober.snapshot();
    s.graceful_ms.push(ms(log.outage_in(t, None)));
    s.graceful_lost.push(log.lost_in(t, None) as f64);
    if took.is_none() {
        bail!("{}: no takeover after SIGTERM", lab.nodes[0].daemon.name());
    }
    // return + preemption
    let t = Instant::now();
    lab.nodes[0].start()?;
    settle_master(lab)?;
    s.preempt_lost
        .push(prober.snapshot().lost_in(t, None) as f64);
    Ok(sent)
}

/// SIGSTOP + SIGKILL on node1 (no priority-0 advert), then its restart.
fn crash(lab: &mut Lab, prober: &Prober, s: &mut Samples) -> Result<()> {
    let t = Instant::now();
    lab.signal(0, "STOP");
    lab.signal(0, "KILL");
    lab.wait(Duration::from_secs(8), |l| l.holds_vip(1))
        .context("no takeover after crash")?;
    // from the event (sending the signals is inside the measured time)
    let took = t.elapsed();
    reap(lab, 0);
    std::thread::sleep(Duration::from_millis(300));
    s.crash_takeover_ms.push(ms(took));
    s.crash_outage_ms
        .push(ms(prober.snapshot().outage_in(t, None)));
    // a crashed node's kernel keeps the VIP; a reboot would clear it
    lab.nodes[0].drop_vip();
    lab.nodes[0].start()?;
    settle_master(lab)?;
    Ok(())
}

/// node1's link down until node2 serves the client, then up again.
fn link_down(lab: &mut Lab, prober: &Prober, s: &mut Samples) -> Result<()> {
    let t = Instant::now();
    lab.nodes[0]
        .ns
        .run_ok(&["ip", "link", "set", "eth0", "down"]);
    lab.wait(Duration::from_secs(8), |l| l.holds_vip(1))
        .context("no takeover after link down")?;
    let took = t.elapsed();
    // wait until the client is answered again
    let _ = lab.wait(Duration::from_secs(3), |_| {
        prober
            .snapshot()
            .probes
            .iter()
            .rev()
            .take(3)
            .all(|p| p.reply.is_some())
    });
    std::thread::sleep(Duration::from_millis(200));
    let log = prober.snapshot();
    s.link_takeover_ms.push(ms(took));
    s.link_outage_ms.push(ms(log.outage_in(t, None)));
    s.link_lost.push(log.lost_in(t, None) as f64);
    lab.nodes[0].ns.run_ok(&["ip", "link", "set", "eth0", "up"]);
    settle_master(lab)?;
    Ok(())
}

/// From the capture: each graceful stop's priority-0 advert after its signal.
fn resign_latencies(text: &str, sent_at: &[std::time::SystemTime], s: &mut Samples) {
    let zeros: Vec<f64> = text
        .lines()
        .filter(|l| l.contains("192.0.2.10 > 224.0.0.18") && l.contains("prio 0,"))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    for sent in sent_at {
        let sent = sent
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        if let Some(z) = zeros.iter().find(|&&z| z >= sent) {
            s.resign_ms.push((z - sent) * 1000.0);
        }
    }
}

fn med_max(v: &[f64]) -> String {
    if v.is_empty() {
        return "-".into();
    }
    let mut w = v.to_vec();
    w.sort_by(f64::total_cmp);
    let med = w[w.len() / 2];
    let max = w[w.len() - 1];
    if w.iter().all(|x| x.fract() == 0.0) {
        format!("{med:.0} / {max:.0}")
    } else if max < 10.0 {
        format!("{med:.3} / {max:.3}")
    } else if max < 100.0 {
        format!("{med:.1} / {max:.1}")
    } else {
        format!("{med:.0} / {max:.0}")
    }
}

#[derive(Default, Debug)]
struct HandoverSamples {
    command_lost: Vec<f64>,
    command_moved_ms: Vec<f64>,
    stop_lost: Vec<f64>,
    stop_exit_ms: Vec<f64>,
}

/// keeld (node1, `--stop-mode handover`) hands over to `peer` (node2), by
/// command and by SIGTERM, `reps` times each.
fn handover_runs(peer: Daemon, keeld: &Path, reps: usize) -> Result<HandoverSamples> {
    step(&format!(
        "handover: keeld -> {} ({reps} repetitions)",
        peer.name()
    ));
    let mut lab = pair(peer, keeld)?;
    lab.nodes[0].daemon = Daemon::Keeld;
    lab.nodes[0].args = vec!["--stop-mode".into(), "handover".into()];
    let socket = lab.socket(0);
    let mut s = HandoverSamples::default();
    let prober = lab.prober(Duration::from_millis(10));
    lab.nodes[0].start()?;
    lab.wait(Duration::from_secs(8), |l| l.holds_vip(0))
        .context("node1 (keeld) never became master")?;
    lab.nodes[1].start()?;
    settle_master(&lab)?;
    for rep in 0..reps {
        // the command: node1 hands over and stays backup
        let t = Instant::now();
        let out = Command::new(keeld)
            .args(["handover", "--socket"])
            .arg(&socket)
            .output()?;
        if !out.status.success() {
            bail!("keeld handover: {}", String::from_utf8_lossy(&out.stdout));
        }
        let moved = lab
            .wait(Duration::from_secs(5), |l| {
                l.holds_vip(1) && !l.holds_vip(0)
            })
            .context("no takeover after keeld handover")?;
        std::thread::sleep(Duration::from_millis(300));
        s.command_lost
            .push(prober.snapshot().lost_in(t, None) as f64);
        s.command_moved_ms.push(ms(moved));
        // back to node1 master: restart it (a held backup leaves at once on
        // SIGTERM) and let it preempt
        lab.signal(0, "TERM");
        reap(&mut lab, 0);
        lab.nodes[0].start()?;
        settle_master(&lab)?;
        // the stop mode
        let t = Instant::now();
        lab.signal(0, "TERM");
        let exited = lab.nodes[0].child.as_mut().and_then(|c| {
            wait_exit(c, Duration::from_secs(6), Duration::from_millis(2)).map(|_| t.elapsed())
        });
        reap(&mut lab, 0);
        lab.wait(Duration::from_secs(3), |l| l.holds_vip(1))
            .context("no takeover after SIGTERM in handover mode")?;
        std::thread::sleep(Duration::from_millis(300));
        s.stop_lost.push(prober.snapshot().lost_in(t, None) as f64);
        s.stop_exit_ms
            .push(ms(exited.context("keeld did not exit after SIGTERM")?));
        lab.nodes[0].start()?;
        settle_master(&lab)?;
        eprintln!(
            "    rep {}: command {} lost (moved after {:.0} ms), stop {} lost (exit after {:.0} ms)",
            rep + 1,
            s.command_lost.last().copied().unwrap_or_default(),
            s.command_moved_ms.last().copied().unwrap_or_default(),
            s.stop_lost.last().copied().unwrap_or_default(),
            s.stop_exit_ms.last().copied().unwrap_or_default()
        );
    }
    drop(prober.stop());
    Ok(s)
}

/// keepalived's own graceful stop (priority 0, break before make), for the
/// same table.
fn keepalived_graceful(reps: usize) -> Result<Vec<f64>> {
    step(&format!("keepalived graceful stop ({reps} repetitions)"));
    let mut lab = pair(Daemon::Keepalived, Path::new(KEEPALIVED))?;
    let prober = start_pair(&mut lab)?;
    let mut lost = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        lab.signal(0, "TERM");
        lab.wait(Duration::from_secs(5), |l| l.holds_vip(1))
            .context("keepalived: no takeover after SIGTERM")?;
        reap(&mut lab, 0);
        std::thread::sleep(Duration::from_millis(300));
        lost.push(prober.snapshot().lost_in(t, None) as f64);
        lab.nodes[0].start()?;
        settle_master(&lab)?;
    }
    drop(prober.stop());
    Ok(lost)
}

fn handover_table(keeld: &Path, reps: usize) -> Result<String> {
    let k = handover_runs(Daemon::Keeld, keeld, reps)?;
    let a = handover_runs(Daemon::Keepalived, keeld, reps)?;
    let ka = keepalived_graceful(reps)?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Handover (keeld on node1, priority 100, --stop-mode handover; guide pair VRRPv2 advert_int 1), {reps} repetitions, median / max, 10 ms probes. 2 shared cores: noisy.
"
    );
    let _ = writeln!(out, "| event | peer keeld | peer keepalived 2.2.7 |");
    let _ = writeln!(out, "|---|---|---|");
    for (name, kv, av) in [
        (
            "`keeld handover`: lost probes",
            &k.command_lost,
            &a.command_lost,
        ),
        (
            "`keeld handover`: VIP moved after (ms)",
            &k.command_moved_ms,
            &a.command_moved_ms,
        ),
        (
            "SIGTERM (handover mode): lost probes",
            &k.stop_lost,
            &a.stop_lost,
        ),
        (
            "SIGTERM (handover mode): keeld exits after (ms)",
            &k.stop_exit_ms,
            &a.stop_exit_ms,
        ),
    ] {
        let _ = writeln!(out, "| {name} | {} | {} |", med_max(kv), med_max(av));
    }
    let _ = writeln!(
        out,
        "| keepalived–keepalived graceful stop (same run): lost probes | | {} |",
        med_max(&ka)
    );
    let worst = k
        .command_lost
        .iter()
        .chain(&k.stop_lost)
        .chain(&a.command_lost)
        .chain(&a.stop_lost)
        .copied()
        .fold(0.0, f64::max);
    let _ = writeln!(
        out,
        "
worst handover: {worst} lost probe(s) (target <= 1)
raw peer keeld: {k:?}
raw peer keepalived: {a:?}
raw keepalived graceful lost: {ka:?}"
    );
    Ok(out)
}

/// `bench failover [-- --reps N --debug --fast --mode all|failover|handover]`.
pub fn main(args: &[String]) -> Result<()> {
    if !keel_testkit::is_root() {
        bail!("cargo xtask bench failover needs root (network namespaces)");
    }
    crate::host::ensure_packages(&[("keepalived", KEEPALIVED), ("tcpdump", "/usr/bin/tcpdump")])?;
    let mut reps = 5usize;
    let mut debug = false;
    let mut mode = "all".to_owned();
    let mut fast = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--reps" => reps = super::value(a, &mut it)?,
            "--debug" => debug = true,
            "--fast" => fast = true,
            "--mode" => mode = super::value(a, &mut it)?,
            other => bail!(
                "unknown argument {other:?} (use --reps N, --debug, --fast, --mode all|failover|handover)"
            ),
        }
    }
    if fast {
        return super::fast::main(reps, debug);
    }
    if !["all", "failover", "handover"].contains(&mode.as_str()) {
        bail!("--mode {mode:?}: use all, failover or handover");
    }
    let keeld = build_keeld(!debug)?;
    if mode != "failover" {
        let out = handover_table(&keeld, reps)?;
        super::publish("bench-failover-handover.md", &out)?;
        if mode == "handover" {
            return Ok(());
        }
    }
    let k = one_daemon(Daemon::Keeld, &keeld, reps)?;
    let a = one_daemon(Daemon::Keepalived, &keeld, reps)?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Guide pair (VRRPv2, advert_int 1, priorities 100/99; Skew_Time 613 ms, Master_Down_Interval 3613 ms), {reps} repetitions, median / max, 10 ms probes. 2 shared cores: noisy.\n"
    );
    let _ = writeln!(out, "| event | keeld | keepalived |");
    let _ = writeln!(out, "|---|---|---|");
    let rows: [(&str, &Vec<f64>, &Vec<f64>); 12] = [
        (
            "graceful stop: client outage (ms)",
            &k.graceful_ms,
            &a.graceful_ms,
        ),
        (
            "graceful stop: priority-0 advert after SIGTERM (ms, target <= 1)",
            &k.resign_ms,
            &a.resign_ms,
        ),
        (
            "graceful stop: lost probes",
            &k.graceful_lost,
            &a.graceful_lost,
        ),
        (
            "master returns: lost probes",
            &k.preempt_lost,
            &a.preempt_lost,
        ),
        (
            "crash: backup holds VIP after (ms)",
            &k.crash_takeover_ms,
            &a.crash_takeover_ms,
        ),
        (
            "crash: client outage (ms)",
            &k.crash_outage_ms,
            &a.crash_outage_ms,
        ),
        (
            "link down: backup holds VIP after (ms)",
            &k.link_takeover_ms,
            &a.link_takeover_ms,
        ),
        (
            "link down: client outage (ms)",
            &k.link_outage_ms,
            &a.link_outage_ms,
        ),
        ("link down: lost probes", &k.link_lost, &a.link_lost),
        ("steady RSS per node (KiB)", &k.rss_kib, &a.rss_kib),
        (
            "steady CPU, master (ms per minute, one 20 s sample)",
            &k.cpu_master_ms_min,
            &a.cpu_master_ms_min,
        ),
        (
            "steady CPU, backup (ms per minute, one 20 s sample)",
            &k.cpu_backup_ms_min,
            &a.cpu_backup_ms_min,
        ),
    ];
    for (name, kv, av) in rows {
        let _ = writeln!(out, "| {name} | {} | {} |", med_max(kv), med_max(av));
    }
    let _ = writeln!(out, "\nraw keeld: {k:?}\nraw keepalived: {a:?}");
    super::publish("bench-failover.md", &out)?;
    Ok(())
}
