//! Bad adverts sent at a running pair from the client's namespace with a raw
//! socket: wrong auth, wrong VRID, TTL 254, truncated, bad checksum, and a
//! valid advert from a source outside the interface's subnet. Each is
//! counted in the status by kind, logged at most once a second per kind,
//! and never acted on (all of them carry priority 254 or 255, which a valid advert
//! would use to depose the master). A final valid advert shows the path works.
#![allow(clippy::unwrap_used, clippy::print_stderr)]
mod common;

use common::{Daemon, KEELD, Lab, guide_conf, send_vrrp, v2_advert, vrrp_sender};
use keel_testkit::require_root;
use std::time::Duration;

#[test]
fn bad_adverts_are_counted_rate_limited_and_ignored() {
    if !require_root("keeld bad input (namespaces)") {
        return;
    }
    let mut lab = Lab::new("kbi", 2, KEELD);
    lab.write_conf(0, &guide_conf(true));
    lab.write_conf(1, &guide_conf(false));
    lab.start(0, Daemon::Keeld);
    let t = lab.wait(Duration::from_secs(8), |l| l.holds_vip(0));
    lab.check(t.is_some(), "node1 never became master");
    lab.start(1, Daemon::Keeld);
    std::thread::sleep(Duration::from_millis(1500));
    lab.check(lab.state(1) == "BACKUP", "node2 BACKUP");
    let trans0 = lab.status(0)["instances"][0]["counters"]["master_transitions"].clone();

    let src = "192.0.2.100".parse().unwrap();
    let good = v2_advert(51, 255, b"123.123", src);
    let wrong_auth = v2_advert(51, 255, b"wrong!", src);
    let wrong_vrid = v2_advert(52, 255, b"123.123", src);
    let truncated = good[..10].to_vec();
    let mut bad_sum = good.clone();
    bad_sum[6] ^= 0x5a;
    let tx255 = vrrp_sender(&lab.client, 255);
    let tx254 = vrrp_sender(&lab.client, 254);
    // A valid, authenticated advert from an address outside eth0's subnet.
    lab.client
        .run_ok(&["ip", "addr", "add", "198.51.100.7/32", "dev", "eth0"]);
    let foreign_src = vrrp_sender(&lab.client, 255);
    let bind: std::net::SocketAddr = "198.51.100.7:0".parse().unwrap();
    foreign_src.bind(&bind.into()).unwrap();
    let foreign = v2_advert(51, 254, b"123.123", "198.51.100.7".parse().unwrap());
    const N: u64 = 20;
    for _ in 0..N {
        send_vrrp(&tx255, &wrong_auth);
        send_vrrp(&tx255, &wrong_vrid);
        send_vrrp(&tx254, &good);
        send_vrrp(&tx255, &truncated);
        send_vrrp(&tx255, &bad_sum);
        send_vrrp(&foreign_src, &foreign);
        std::thread::sleep(Duration::from_millis(15));
    }
    std::thread::sleep(Duration::from_millis(300));
    let st = lab.status(0);
    let d = &st["instances"][0]["dropped"];
    eprintln!("node1 dropped counters: {d}");
    for kind in ["auth", "ttl", "length", "checksum", "source"] {
        lab.check(
            d[kind].as_u64() == Some(N),
            &format!("dropped[{kind}] = {}, expected {N}", d[kind]),
        );
    }
    // VRID 52 is no instance's: counted once per packet, for no instance.
    let u = &st["dropped_unmatched"];
    lab.check(
        u["vrid"].as_u64() == Some(N) && d.get("vrid").is_none(),
        &format!("dropped_unmatched[vrid] = {}, expected {N}", u["vrid"]),
    );
    lab.check(lab.state(0) == "MASTER", "node1 must stay MASTER");
    lab.check(lab.state(1) == "BACKUP", "node2 must stay BACKUP");
    lab.check(
        lab.status(0)["instances"][0]["counters"]["master_transitions"] == trans0,
        "no master transition on node1",
    );
    lab.check(lab.holders() == vec![0], "VIP stays on node1 only");
    let log = lab.log(0);
    for needle in [
        "(VI_1) received an invalid passwd!",
        "(eth0) dropped advert from 192.0.2.100: received advert for VRID 52 but no instance on eth0 has it",
        "invalid TTL/HL. Received 254 and expect 255",
        "VRRP message truncated",
        "VRRP checksum mismatch",
        "source is not on any subnet of eth0",
    ] {
        let n = log.matches(needle).count();
        lab.check(
            n == 1,
            &format!("{needle:?} logged {n} times in under a second (want exactly 1)"),
        );
    }
    lab.check(
        !log.contains("with higher priority 255") && !log.contains("with higher priority 254"),
        "no bad advert may be acted on",
    );

    // Control: a valid priority-255 advert from the client is acted on.
    send_vrrp(&tx255, &good);
    let seen = lab.wait(Duration::from_secs(2), |l| {
        l.log(0).contains(
            "(VI_1) Master received advert from 192.0.2.100 with higher priority 255, ours 100",
        )
    });
    lab.check(
        seen.is_some(),
        "the valid control advert must reach the state machine",
    );
}
