//! keeld keeps only the capabilities it needs (issue 9), and SIGUSR2 writes
//! statistics instead of killing it (keepalived writes /tmp/keepalived.stats).
#![allow(clippy::unwrap_used, clippy::print_stderr)]
mod common;

use common::{Daemon, KEELD, Lab, v3_conf};
use keel_testkit::require_root;
use std::time::Duration;

/// Bit numbers of the capabilities keeld keeps (linux/capability.h).
const KILL: u32 = 5;
const SETGID: u32 = 6;
const SETUID: u32 = 7;
const NET_BIND_SERVICE: u32 = 10;
const NET_ADMIN: u32 = 12;
const NET_RAW: u32 = 13;

fn cap_line(pid: u32, which: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let hex = s
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{which}:")))
        .unwrap()
        .trim()
        .to_owned();
    u64::from_str_radix(&hex, 16).unwrap()
}

#[test]
fn keeps_only_needed_capabilities_and_survives_sigusr2() {
    if !require_root("keeld capabilities (namespaces)") {
        return;
    }
    let mut lab = Lab::new("kpv", 1, KEELD);
    lab.write_conf(0, &v3_conf(100, ""));
    lab.start(0, Daemon::Keeld);
    let t = lab.wait(Duration::from_secs(3), |l| l.holds_vip(0));
    lab.check(t.is_some(), "node1 never became master");
    let pid = lab.nodes[0].child.as_ref().unwrap().id();
    let want: u64 = [KILL, SETGID, SETUID, NET_BIND_SERVICE, NET_ADMIN, NET_RAW]
        .iter()
        .map(|b| 1u64 << b)
        .sum();
    let eff = cap_line(pid, "CapEff");
    let prm = cap_line(pid, "CapPrm");
    lab.check(
        eff == want && prm == want,
        &format!("CapEff {eff:#x} / CapPrm {prm:#x}, want {want:#x}"),
    );
    // Every thread of the process, not just the main one (capabilities are per thread).
    for t in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let tid = t
            .unwrap()
            .file_name()
            .to_string_lossy()
            .parse::<u32>()
            .unwrap();
        let s = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/status")).unwrap();
        let line = s.lines().find(|l| l.starts_with("CapEff:")).unwrap();
        let eff = u64::from_str_radix(line["CapEff:".len()..].trim(), 16).unwrap();
        lab.check(eff == want, &format!("thread {tid} has CapEff {eff:#x}"));
    }

    // SIGUSR2: statistics, and keeld stays up and master.
    let before = std::fs::metadata("/tmp/keepalived.stats")
        .and_then(|m| m.modified())
        .ok();
    lab.signal(0, "USR2");
    let wrote = lab.wait(Duration::from_secs(2), |_| {
        std::fs::metadata("/tmp/keepalived.stats")
            .and_then(|m| m.modified())
            .ok()
            .is_some_and(|m| Some(m) != before)
    });
    lab.check(
        wrote.is_some(),
        "SIGUSR2 did not write /tmp/keepalived.stats",
    );
    // keepalived 2.2.7's format (as it writes the file for the same instance)
    let stats = std::fs::read_to_string("/tmp/keepalived.stats").unwrap_or_default();
    lab.check(
        stats.starts_with("VRRP Instance: VI_1\n  Advertisements:\n    Received: ")
            && stats.contains("\n  Became master: 1\n  Released master: 0\n")
            && stats.ends_with("  Priority Zero:\n    Received: 0\n    Sent: 0\n"),
        &format!("/tmp/keepalived.stats is not keepalived's format:\n{stats}"),
    );
    std::thread::sleep(Duration::from_millis(300));
    let alive = lab.nodes[0]
        .child
        .as_mut()
        .unwrap()
        .try_wait()
        .unwrap()
        .is_none();
    lab.check(alive, "keeld died on SIGUSR2");
    lab.check(lab.state(0) == "MASTER", "keeld left MASTER on SIGUSR2");
    lab.signal(0, "TERM");
    let code = lab.reap(0, Duration::from_secs(3));
    lab.check(code == Some(0), &format!("exit after SIGTERM: {code:?}"));
}
