//! unicast_src_ip / unicast_peer: adverts go to the peer's address instead
//! of 224.0.0.18, and the pair still elects one master and fails over.
#![allow(clippy::unwrap_used, clippy::print_stderr)]
mod common;

use common::{AdvertLog, Daemon, KEELD, Lab, v3_conf};
use keel_testkit::require_root;
use std::time::Duration;

#[test]
fn unicast_peers_elect_and_fail_over() {
    if !require_root("keeld unicast peers (namespaces)") {
        return;
    }
    let mut lab = Lab::new("kuc", 2, KEELD);
    let peer = |me: &str, other: &str| {
        format!("  unicast_src_ip {me}\n  unicast_peer {{\n    {other}\n  }}\n")
    };
    lab.write_conf(0, &v3_conf(100, &peer("192.0.2.10", "192.0.2.11")));
    lab.write_conf(1, &v3_conf(99, &peer("192.0.2.11", "192.0.2.10")));
    let multicast = AdvertLog::start(&lab.client);
    lab.start(0, Daemon::Keeld);
    let t = lab.wait(Duration::from_secs(3), |l| l.holds_vip(0));
    lab.check(t.is_some(), "node1 never became master");
    lab.start(1, Daemon::Keeld);
    std::thread::sleep(Duration::from_millis(800));
    lab.check(
        lab.state(1) == "BACKUP",
        "node2 BACKUP: it hears node1's unicast adverts",
    );
    let st = lab.status(1);
    lab.check(
        st["instances"][0]["counters"]["adverts_rx"].as_u64() > Some(3),
        "node2 received unicast adverts",
    );
    lab.check(
        multicast.snapshot().is_empty(),
        "no advert may go to 224.0.0.18 in unicast mode",
    );
    lab.signal(0, "TERM");
    let took = lab.wait(Duration::from_secs(1), |l| {
        l.holds_vip(1) && !l.holds_vip(0)
    });
    lab.check(took.is_some(), "node2 did not take over");
    lab.check(
        lab.log(1)
            .contains("(VI_1) Backup received priority 0 advertisement"),
        "priority 0 arrived by unicast",
    );
}
