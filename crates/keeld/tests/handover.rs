//! Make-before-break handover in namespaces (docs/handover.md): the
//! `keeld handover` command (and `keeld resume` after it) and `--stop-mode handover`, with keeld and with
//! keepalived 2.2.7 as the peer, seen by a client probing the VIP every
//! 10 ms (at most one lost probe). Also how fast the priority-0 advert of a
//! plain SIGTERM (resign) leaves, from a capture.
#![allow(clippy::unwrap_used, clippy::print_stderr)]
mod common;

use common::{Daemon, KEELD, Lab, PORT, Tcpdump, VIP, guide_conf};
use keel_testkit::probe::Prober;
use keel_testkit::{require_root, require_tool};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Start keeld on node i like `Lab::start`, with extra arguments.
fn start_keeld(lab: &mut Lab, i: usize, extra: &[&str]) {
    lab.nodes[i].args = extra.iter().map(|a| (*a).to_owned()).collect();
    lab.start(i, Daemon::Keeld);
}

/// node1: keeld, priority 100, master; node2: `peer`, priority 99, backup.
/// `global` is added to node1's global_defs.
fn pair(tag: &str, peer: Daemon, extra: &[&str], global: &str) -> Lab {
    let mut lab = Lab::new(tag, 2, KEELD);
    let conf = guide_conf(true).replacen("global_defs {", &format!("global_defs {{\n{global}"), 1);
    lab.write_conf(0, &conf);
    lab.write_conf(1, &guide_conf(false));
    start_keeld(&mut lab, 0, extra);
    let t = lab.wait(Duration::from_secs(8), |l| l.holds_vip(0));
    lab.check(t.is_some(), "node1 never took the VIP");
    lab.start(1, peer);
    std::thread::sleep(Duration::from_millis(1500));
    lab.check(lab.holders() == vec![0], "only node1 must hold the VIP");
    lab
}

fn prober(lab: &Lab) -> Prober {
    let p = Prober::start(
        &lab.client,
        format!("{VIP}:{PORT}").parse().unwrap(),
        Duration::from_millis(10),
    );
    std::thread::sleep(Duration::from_millis(300));
    p
}

fn handover_command(tag: &str, peer: Daemon) {
    let lab = pair(tag, peer, &[], "");
    let p = prober(&lab);
    let t0 = Instant::now();
    let out = std::process::Command::new(KEELD)
        .args(["handover", "VI_1", "--socket"])
        .arg(lab.socket(0))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    lab.check(out.status.success(), &format!("keeld handover: {text}"));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    lab.check(
        v["handover"][0]["handing_over"] == true && v["handover"][0]["state"] == "MASTER",
        &format!("answer {text}"),
    );
    // The VIP stays on node1 until node2 advertises as master.
    let took = lab.wait(Duration::from_secs(3), |l| {
        l.holds_vip(1) && !l.holds_vip(0)
    });
    lab.check(took.is_some(), "node2 did not take over after the handover");
    // Held: node1 (priority 100) must not preempt back, even after
    // Master_Down_Interval (3.6 s).
    let t_held = Instant::now();
    while t_held.elapsed() < Duration::from_millis(4500) {
        lab.check(
            lab.holders() == vec![1],
            "node1 preempted back after handover",
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let st = lab.status(0);
    lab.check(
        st["instances"][0]["state"] == "BACKUP",
        "node1 must be BACKUP",
    );
    let log = p.stop();
    let lost = log.lost_in(t0, None);
    eprintln!(
        "handover command ({peer:?} peer): VIP moved after {} ms, {lost} probes lost of {}",
        took.unwrap().as_millis(),
        log.window(t0, None).count()
    );
    for line in [
        "(VI_1) handover requested",
        "(VI_1) sent 0 priority",
        "(VI_1) handing over: keeping VIPs until the new master advertises",
        "(VI_1) Entering BACKUP STATE",
        "(VI_1) removing VIPs.",
    ] {
        lab.check(
            lab.log(0).contains(line),
            &format!("node1 log lacks {line:?}"),
        );
    }
    lab.check(lost <= 1, &format!("handover lost {lost} probes (> 1)"));
    // `keeld resume`: the hold ends, node1 (priority 100) preempts back
    // after Master_Down_Interval.
    let p = prober(&lab);
    let t1 = Instant::now();
    let out = std::process::Command::new(KEELD)
        .args(["resume", "VI_1", "--socket"])
        .arg(lab.socket(0))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    lab.check(out.status.success(), &format!("keeld resume: {text}"));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    lab.check(
        v["resume"][0]["held"] == false && v["resume"][0]["state"] == "BACKUP",
        &format!("answer {text}"),
    );
    let back = lab.wait(Duration::from_secs(6), |l| l.holders() == vec![0]);
    lab.check(back.is_some(), "node1 did not preempt back after resume");
    let lost = p.stop().lost_in(t1, None);
    eprintln!(
        "resume ({peer:?} peer): node1 master again after {} ms, {lost} probes lost",
        back.unwrap().as_millis()
    );
    lab.check(lost <= 1, &format!("resume lost {lost} probes (> 1)"));
    lab.check(
        lab.log(0)
            .contains("(VI_1) resume requested: preemption applies again"),
        "node1 log lacks the resume line",
    );
    // Unknown instance: error answer, exit 1.
    let out = std::process::Command::new(KEELD)
        .args(["handover", "NOPE", "--socket"])
        .arg(lab.socket(0))
        .output()
        .unwrap();
    lab.check(out.status.code() == Some(1), "unknown instance must exit 1");
}

/// SIGTERM hands over: set by `--stop-mode handover`, or by `keel_stop_mode
/// handover` in global_defs when `by_config`.
fn stop_mode(tag: &str, peer: Daemon, by_config: bool) {
    let mut lab = if by_config {
        pair(tag, peer, &[], "  keel_stop_mode handover\n")
    } else {
        pair(tag, peer, &["--stop-mode", "handover"], "")
    };
    let how = if by_config {
        "(keel_stop_mode)"
    } else {
        "(--stop-mode)"
    };
    lab.check(
        lab.log(0)
            .contains(&format!("SIGTERM stop mode: handover {how}")),
        "node1 log lacks the stop mode line",
    );
    let p = prober(&lab);
    let t0 = Instant::now();
    lab.signal(0, "TERM");
    lab.check(
        lab.holds_vip(0),
        "node1 must keep the VIP right after SIGTERM",
    );
    let code = lab.reap(0, Duration::from_secs(5));
    let exited = t0.elapsed();
    lab.check(code == Some(0), &format!("node1 exit {code:?}"));
    lab.check(!lab.holds_vip(0), "node1 removed its VIP");
    lab.check(lab.holds_vip(1), "node2 holds the VIP");
    std::thread::sleep(Duration::from_millis(300));
    let log = p.stop();
    let lost = log.lost_in(t0, None);
    eprintln!(
        "stop-mode handover ({peer:?} peer): exited after {} ms, {lost} probes lost of {}",
        exited.as_millis(),
        log.window(t0, None).count()
    );
    lab.check(
        lab.log(0)
            .contains("SIGTERM: handing over 1 instance(s) before stopping"),
        "node1 log lacks the handover stop line",
    );
    lab.check(
        lost <= 1,
        &format!("handover stop lost {lost} probes (> 1)"),
    );
}

#[test]
fn handover_command_keeld_peer() {
    if !require_root("keeld handover command (namespaces)") {
        return;
    }
    handover_command("hck", Daemon::Keeld);
}

#[test]
fn handover_command_keepalived_peer() {
    if !require_root("keeld handover to keepalived") || !require_tool("handover", "keepalived") {
        return;
    }
    handover_command("hca", Daemon::Keepalived);
}

#[test]
fn stop_mode_handover_by_config_keeld_peer() {
    if !require_root("keeld stop-mode handover (namespaces)") {
        return;
    }
    stop_mode("hsk", Daemon::Keeld, true);
}

#[test]
fn stop_mode_handover_keepalived_peer() {
    if !require_root("keeld stop-mode handover to keepalived")
        || !require_tool("handover", "keepalived")
    {
        return;
    }
    stop_mode("hsa", Daemon::Keepalived, false);
}

/// kill(2) directly: spawning kill(1) costs about a millisecond, which is
/// the order of what is measured.
fn sigterm(pid: i32) {
    if let Err(e) = keel_testkit::signal(pid, keel_testkit::SIGTERM) {
        panic!("kill({pid}): {e}");
    }
}

/// Parse `tcpdump -tt -n` lines: epoch seconds of each VRRP advert from
/// `src` with priority `prio`.
fn adverts_at(text: &str, src: &str, prio: u8) -> Vec<f64> {
    let needle = format!("prio {prio},");
    text.lines()
        .filter(|l| l.contains(&format!("{src} > 224.0.0.18")) && l.contains(&needle))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

/// Resign (default stop mode): time from `kill -TERM` to the priority-0
/// advert on the wire, keeld and keepalived, from a capture on the client's
/// port of the bridge.
fn resign_latency(tag: &str, who: Daemon) -> f64 {
    let mut lab = Lab::new(tag, 1, KEELD);
    lab.write_conf(0, &guide_conf(true));
    match who {
        Daemon::Keeld => start_keeld(&mut lab, 0, &[]),
        Daemon::Keepalived => lab.start(0, Daemon::Keepalived),
    }
    let t = lab.wait(Duration::from_secs(8), |l| l.holds_vip(0));
    lab.check(t.is_some(), "node1 never became master");
    let dump = Tcpdump::start(
        &lab.client,
        &["-l", "-i", "eth0", "vrrp"],
        &lab.dir.join("cap.txt"),
    )
    .unwrap();
    // Wait until the capture sees an advert (tcpdump is up).
    let up = lab.wait(Duration::from_secs(4), |_| {
        !adverts_at(&dump.text(), "192.0.2.10", 100).is_empty()
    });
    lab.check(up.is_some(), "tcpdump saw no advert");
    std::thread::sleep(Duration::from_millis(200));
    // The pid is known in advance so the signal is one system call away.
    let pid = match who {
        Daemon::Keeld => lab.nodes[0].child.as_ref().unwrap().id().to_string(),
        Daemon::Keepalived => {
            // The main pid, as `systemctl stop` (KillMode=process) signals it.
            let p = std::fs::read_to_string(lab.nodes[0].pid_file("main")).unwrap();
            p.trim().to_owned()
        }
    };
    let pid: i32 = pid.parse().unwrap();
    let sent = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    sigterm(pid);
    let _ = lab.reap(0, Duration::from_secs(3));
    std::thread::sleep(Duration::from_millis(300));
    let text = dump.stop();
    let zero = adverts_at(&text, "192.0.2.10", 0);
    lab.check(
        !zero.is_empty(),
        &format!("no priority-0 advert captured:\n{text}"),
    );
    let lat = zero[0] - sent.as_secs_f64();
    eprintln!(
        "resign {who:?}: priority-0 advert on the wire {:.3} ms after kill(2)",
        lat * 1e3
    );
    lat
}

#[test]
fn resign_fast_priority_zero_latency() {
    if !require_root("resign latency") || !require_tool("resign latency", "tcpdump") {
        return;
    }
    let keeld = resign_latency("rfk", Daemon::Keeld);
    if keel_testkit::which("keepalived").is_some() {
        let _ = resign_latency("rfa", Daemon::Keepalived);
    }
    // The 1 ms target is a speed target, measured on a quiet machine by
    // `cargo xtask bench failover` (resign row); here, on a shared CI machine,
    // only a bound that a wrong path (e.g. the advert waiting for a timer, or
    // sent after the VIPs were removed) would break.
    assert!(
        keeld < 0.010,
        "keeld's priority-0 advert left {:.3} ms after SIGTERM (> 10 ms)",
        keeld * 1e3
    );
}
