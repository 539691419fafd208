//! keeld against real keepalived (2.2.7) on one segment: VRRPv2 with PASS
//! auth (the guide) and VRRPv3 with advert_int 0.1, each daemon as master
//! and as backup. Failover works both ways and there is never more than
//! one VIP holder in steady state.
#![allow(clippy::unwrap_used, clippy::print_stderr)]
mod common;

use common::{Daemon, KEELD, Lab, guide_conf, v3_conf};
use keel_testkit::{require_root, require_tool};
use std::time::Duration;

/// Sample holders for `d`; panics (with logs) on a dual master or nobody.
fn steady_single_holder(lab: &Lab, expect: usize, d: Duration) {
    let t = std::time::Instant::now();
    while t.elapsed() < d {
        let h = lab.holders();
        lab.check(
            h == vec![expect],
            &format!(
                "steady state: VIP holders {h:?}, expected only node{}",
                expect + 1
            ),
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Case {
    tag: &'static str,
    v3: bool,
    /// Daemon on node1 (priority 100); node2 (99) runs the other one.
    master: Daemon,
}

fn run(c: &Case) {
    let other = match c.master {
        Daemon::Keeld => Daemon::Keepalived,
        Daemon::Keepalived => Daemon::Keeld,
    };
    let mut lab = Lab::new(c.tag, 2, KEELD);
    if c.v3 {
        lab.write_conf(0, &v3_conf(100, ""));
        lab.write_conf(1, &v3_conf(99, ""));
    } else {
        lab.write_conf(0, &guide_conf(true));
        lab.write_conf(1, &guide_conf(false));
    }
    let (startup, takeover) = if c.v3 {
        (Duration::from_secs(3), Duration::from_secs(2))
    } else {
        (Duration::from_secs(8), Duration::from_secs(4))
    };
    // node1 first: two nodes started together race their Master_Down timers
    // (legitimately); the steady state is what must agree.
    lab.start(0, c.master);
    let t = lab.wait(startup, |l| l.holds_vip(0));
    lab.check(t.is_some(), "node1 (priority 100) never became master");
    lab.start(1, other);
    std::thread::sleep(if c.v3 {
        Duration::from_millis(500)
    } else {
        Duration::from_millis(1500)
    });
    steady_single_holder(&lab, 0, Duration::from_secs(2));
    lab.check(
        !lab.log(1).contains("Entering MASTER STATE"),
        "node2 must never have been master",
    );

    // Graceful stop of node1: node2 takes over.
    lab.signal(0, "TERM");
    let took = lab.wait(takeover, |l| l.holds_vip(1) && !l.holds_vip(0));
    lab.check(
        took.is_some(),
        "node2 did not take over after node1's SIGTERM",
    );
    let _ = lab.reap(0, Duration::from_secs(3));
    steady_single_holder(&lab, 1, Duration::from_secs(1));

    // node1 returns and preempts node2.
    lab.start(0, c.master);
    let back = lab.wait(startup, |l| l.holds_vip(0) && !l.holds_vip(1));
    lab.check(back.is_some(), "node1 did not preempt after its return");
    std::thread::sleep(Duration::from_millis(300));
    steady_single_holder(&lab, 0, Duration::from_secs(1));
    lab.check(
        lab.log(1).contains("Entering BACKUP STATE"),
        "node2 must log its return to BACKUP",
    );
}

fn gate(what: &str) -> bool {
    require_root(what) && require_tool(what, "keepalived")
}

#[test]
fn v2_pass_keeld_master_keepalived_backup() {
    if !gate("interop v2 keeld master") {
        return;
    }
    run(&Case {
        tag: "i2k",
        v3: false,
        master: Daemon::Keeld,
    });
}

#[test]
fn v2_pass_keepalived_master_keeld_backup() {
    if !gate("interop v2 keepalived master") {
        return;
    }
    run(&Case {
        tag: "i2a",
        v3: false,
        master: Daemon::Keepalived,
    });
}

#[test]
fn v3_fast_keeld_master_keepalived_backup() {
    if !gate("interop v3 keeld master") {
        return;
    }
    run(&Case {
        tag: "i3k",
        v3: true,
        master: Daemon::Keeld,
    });
}

#[test]
fn v3_fast_keepalived_master_keeld_backup() {
    if !gate("interop v3 keepalived master") {
        return;
    }
    run(&Case {
        tag: "i3a",
        v3: true,
        master: Daemon::Keepalived,
    });
}
