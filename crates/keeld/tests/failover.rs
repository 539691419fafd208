//! The guide's hot standby with keeld on both nodes, in namespaces: who
//! holds the VIP, what the client sees, what the logs say.
#![allow(clippy::unwrap_used, clippy::print_stderr)]
mod common;

use common::{Daemon, PORT, VIP, guide_pair};
use keel_testkit::probe::Prober;
use keel_testkit::require_root;
use std::time::{Duration, Instant};

/// Skew_Time of priority 99 at advert_int 1 (RFC 3768): 613.28 ms.
const SKEW_MS: u64 = 613;
/// Master_Down_Interval of priority 99: 3613.28 ms.
const MASTER_DOWN: Duration = Duration::from_millis(3613);

#[test]
fn graceful_stop_and_preemption() {
    if !require_root("keeld failover (namespaces)") {
        return;
    }
    let mut lab = guide_pair("kfg");
    // Steady state: exactly node1 holds the VIP, node2 is BACKUP.
    std::thread::sleep(Duration::from_millis(1500));
    lab.check(lab.holders() == vec![0], "only node1 must hold the VIP");
    lab.check(lab.state(0) == "MASTER", "node1 MASTER");
    lab.check(lab.state(1) == "BACKUP", "node2 BACKUP");
    let st = lab.status(0);
    lab.check(
        st["instances"][0]["effective_priority"] == 100
            && st["instances"][0]["master_addr"] == "192.0.2.10"
            && st["instances"][0]["counters"]["adverts_tx"].as_u64() >= Some(1),
        "status of node1",
    );
    for line in [
        "Keepalived_vrrp[",
        "(VI_1) Entering BACKUP STATE (init)",
        "(VI_1) Receive advertisement timeout",
        "(VI_1) Entering MASTER STATE",
        "(VI_1) setting VIPs.",
        "(VI_1) Sending/queueing gratuitous ARPs on eth0 for 192.0.2.250",
        "Sending gratuitous ARP on eth0 for 192.0.2.250",
    ] {
        lab.check(
            lab.log(0).contains(line),
            &format!("node1 log lacks {line:?}"),
        );
    }
    let prober = Prober::start(
        &lab.client,
        format!("{VIP}:{PORT}").parse().unwrap(),
        Duration::from_millis(10),
    );
    std::thread::sleep(Duration::from_millis(300));

    // SIGTERM node1: priority 0, VIP removed, exit 0 within 1 s; node2 takes over after Skew_Time.
    let t_term = Instant::now();
    lab.signal(0, "TERM");
    let code = lab.reap(0, Duration::from_secs(1));
    lab.check(
        code == Some(0),
        &format!("node1 must exit 0 within 1 s, got {code:?}"),
    );
    lab.check(!lab.holds_vip(0), "node1 removed its VIP");
    let took = lab.wait(Duration::from_secs(3), |l| l.holds_vip(1));
    lab.check(took.is_some(), "node2 never took the VIP");
    std::thread::sleep(Duration::from_millis(500));
    for line in ["(VI_1) sent 0 priority", "(VI_1) removing VIPs."] {
        lab.check(
            lab.log(0).contains(line),
            &format!("node1 log lacks {line:?}"),
        );
    }
    for line in [
        "(VI_1) Backup received priority 0 advertisement",
        "(VI_1) Entering MASTER STATE",
    ] {
        lab.check(
            lab.log(1).contains(line),
            &format!("node2 log lacks {line:?}"),
        );
    }

    // node1 comes back: it preempts and the client loses nothing.
    let t_back = Instant::now();
    lab.start(0, Daemon::Keeld);
    let back = lab.wait(Duration::from_secs(8), |l| {
        l.holds_vip(0) && !l.holds_vip(1)
    });
    lab.check(back.is_some(), "node1 did not take the VIP back");
    std::thread::sleep(Duration::from_millis(500));
    let log = prober.stop();
    let lost_term = log.lost_in(t_term, Some(t_back));
    let outage = log.outage_in(t_term, Some(t_back));
    let lost_back = log.lost_in(t_back, None);
    eprintln!(
        "graceful stop: outage {} ms, {lost_term} probes lost (Skew_Time {SKEW_MS} ms); preemption: {lost_back} lost",
        outage.as_millis()
    );
    lab.check(
        lost_term as u64 <= SKEW_MS / 10 + 2,
        &format!("graceful stop lost {lost_term} probes, more than Skew_Time/10ms + 2"),
    );
    // The new master advertises before it adds the VIP and sends its
    // gratuitous ARPs (keepalived's order, so the old master lets go first):
    // a probe in that sub-millisecond window can be lost on a loaded machine.
    // A missing GARP would lose every probe until the client's ARP entry
    // expires. `cargo xtask bench failover` measures 0 on a quiet machine.
    lab.check(
        lost_back <= 1,
        &format!("preemption lost {lost_back} probes"),
    );
    lab.check(
        lab.log(1).contains(
            "(VI_1) Master received advert from 192.0.2.10 with higher priority 100, ours 99",
        ),
        "node2 log lacks the higher-priority line",
    );
    lab.check(
        lab.log(1).contains("(VI_1) Entering BACKUP STATE"),
        "node2 back to BACKUP",
    );
}

#[test]
fn crash_then_restart_cleans_up() {
    if !require_root("keeld crash failover (namespaces)") {
        return;
    }
    let mut lab = guide_pair("kfc");
    std::thread::sleep(Duration::from_millis(1200));
    // Freeze then kill: no priority-0 advert; node2 must take over within Master_Down_Interval.
    let t = Instant::now();
    lab.signal(0, "STOP");
    lab.signal(0, "KILL");
    let _ = lab.reap(0, Duration::from_secs(2));
    let took = lab.wait(Duration::from_secs(6), |l| l.holds_vip(1));
    lab.check(took.is_some(), "node2 never took over after the crash");
    let took = t
        .elapsed()
        .min(took.unwrap_or_default() + Duration::from_millis(50));
    eprintln!("crash: node2 holds the VIP after {} ms", took.as_millis());
    // A bound that a takeover waiting an extra advert interval would break,
    // with room for a loaded CI machine; the timing target is the bench's.
    lab.check(
        took <= MASTER_DOWN + Duration::from_millis(900),
        &format!(
            "takeover after {} ms > Master_Down_Interval + 900 ms",
            took.as_millis()
        ),
    );
    // The crashed node's kernel still has the stamped VIP; a restarted keeld removes it
    // at startup, then preempts and holds it again.
    lab.check(
        lab.holds_vip(0),
        "the crash leaves the VIP on node1 (nobody removed it)",
    );
    lab.start(0, Daemon::Keeld);
    let gone = lab.wait(Duration::from_secs(2), |l| !l.holds_vip(0));
    lab.check(gone.is_some(), "restarted keeld must remove the stale VIP");
    // The line is written after the address is gone: wait for it too.
    let logged = lab.wait(Duration::from_secs(2), |l| {
        l.log(0).contains("Removed stale VIP 192.0.2.250/32")
    });
    lab.check(logged.is_some(), "cleanup logged");
    let back = lab.wait(Duration::from_secs(8), |l| {
        l.holds_vip(0) && !l.holds_vip(1)
    });
    lab.check(back.is_some(), "node1 did not preempt after restart");
}

#[test]
fn link_down_on_master() {
    if !require_root("keeld link-down failover (namespaces)") {
        return;
    }
    let lab = guide_pair("kfl");
    std::thread::sleep(Duration::from_millis(1200));
    let t = Instant::now();
    lab.nodes[0]
        .ns
        .run_ok(&["ip", "link", "set", "eth0", "down"]);
    let gone = lab.wait(Duration::from_secs(1), |l| !l.holds_vip(0));
    lab.check(
        gone.is_some(),
        "node1 must drop the VIP when its link goes down",
    );
    let took = lab.wait(Duration::from_secs(6), |l| l.holds_vip(1));
    lab.check(took.is_some(), "node2 never took over after link down");
    let took = t.elapsed();
    eprintln!(
        "link down: node2 holds the VIP after {} ms",
        took.as_millis()
    );
    // Polled with `ip addr` every 50 ms from here; under load (2 cores shared
    // by the whole test suite) that alone has added ~0.8 s. The timing target
    // is `cargo xtask bench failover`'s.
    lab.check(
        took <= MASTER_DOWN + Duration::from_millis(1500),
        &format!("takeover after {} ms", took.as_millis()),
    );
    lab.check(
        lab.log(0).contains("(VI_1) Entering FAULT STATE"),
        "node1 FAULT logged",
    );
    lab.check(lab.state(0) == "FAULT", "node1 status FAULT");
    // Link back: node1 leaves FAULT and preempts.
    lab.nodes[0].ns.run_ok(&["ip", "link", "set", "eth0", "up"]);
    let back = lab.wait(Duration::from_secs(8), |l| {
        l.holds_vip(0) && !l.holds_vip(1)
    });
    lab.check(back.is_some(), "node1 did not come back after link up");
}
