//! VRRPv3 over IPv6 between two keelds: adverts from the link-local
//! address to ff02::12 with hop limit 255 and the pseudo-header checksum,
//! the VIP 2001:db8::250 moves on a graceful stop.
#![allow(clippy::unwrap_used, clippy::print_stderr)]
mod common;

use common::{Daemon, KEELD, Lab};
use keel_testkit::require_root;
use std::time::Duration;

const VIP6: &str = "2001:db8::250";

fn conf(prio: u8) -> String {
    format!(
        "vrrp_instance VI_6 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 61\n  priority {prio}\n  advert_int 0.1\n  version 3\n  virtual_ipaddress {{\n    {VIP6}\n  }}\n}}\n"
    )
}

fn holds6(lab: &Lab, i: usize) -> bool {
    let out = lab.nodes[i]
        .ns
        .run(&["ip", "-6", "-o", "addr", "show", "dev", "eth0"]);
    String::from_utf8_lossy(&out.stdout).contains(&format!(" {VIP6}/"))
}

fn link_local_ready(lab: &Lab, i: usize) -> bool {
    let out = lab.nodes[i].ns.run(&[
        "ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "link",
    ]);
    let s = String::from_utf8_lossy(&out.stdout);
    s.contains("fe80::") && !s.contains("tentative")
}

#[test]
fn ipv6_pair_fails_over() {
    if !require_root("keeld IPv6 (namespaces)") {
        return;
    }
    let mut lab = Lab::new("k6", 2, KEELD);
    let ready = lab.wait(Duration::from_secs(5), |l| {
        link_local_ready(l, 0) && link_local_ready(l, 1)
    });
    lab.check(ready.is_some(), "link-local addresses never left DAD");
    lab.write_conf(0, &conf(100));
    lab.write_conf(1, &conf(99));
    lab.start(0, Daemon::Keeld);
    let t = lab.wait(Duration::from_secs(3), |l| holds6(l, 0));
    lab.check(t.is_some(), "node1 never held the IPv6 VIP");
    lab.start(1, Daemon::Keeld);
    std::thread::sleep(Duration::from_millis(800));
    lab.check(
        lab.state(1) == "BACKUP",
        "node2 BACKUP (it hears node1's v6 adverts)",
    );
    lab.check(!holds6(&lab, 1), "node2 must not hold the VIP");
    let st = lab.status(1);
    let i = &st["instances"][0];
    lab.check(
        i["counters"]["adverts_rx"].as_u64() > Some(3)
            && i["dropped"].as_object().unwrap().is_empty(),
        &format!("node2 accepts node1's adverts without drops: {i}"),
    );
    lab.check(
        i["master_addr"]
            .as_str()
            .is_some_and(|a| a.starts_with("fe80::")),
        "master address is node1's link-local",
    );
    lab.check(
        lab.log(0).contains(
            "(VI_6) Sending/queueing Unsolicited Neighbour Adverts on eth0 for 2001:db8::250",
        ),
        "NA burst logged",
    );
    lab.signal(0, "TERM");
    let code = lab.reap(0, Duration::from_secs(1));
    lab.check(code == Some(0), "node1 exits 0");
    let took = lab.wait(Duration::from_secs(1), |l| holds6(l, 1));
    lab.check(took.is_some(), "node2 did not take the IPv6 VIP");
    lab.check(
        lab.log(1)
            .contains("(VI_6) Backup received priority 0 advertisement"),
        "priority 0 seen over IPv6",
    );
}

#[test]
fn ipv6_interop_with_keepalived() {
    if !require_root("keeld IPv6 interop")
        || !keel_testkit::require_tool("keeld IPv6 interop", "keepalived")
    {
        return;
    }
    let mut lab = Lab::new("k6i", 2, KEELD);
    let ready = lab.wait(Duration::from_secs(5), |l| {
        link_local_ready(l, 0) && link_local_ready(l, 1)
    });
    lab.check(ready.is_some(), "link-local addresses never left DAD");
    lab.write_conf(0, &conf(100));
    lab.write_conf(1, &conf(99));
    lab.start(0, Daemon::Keeld);
    let t = lab.wait(Duration::from_secs(3), |l| holds6(l, 0));
    lab.check(t.is_some(), "keeld never held the IPv6 VIP");
    lab.start(1, Daemon::Keepalived);
    std::thread::sleep(Duration::from_secs(2));
    // keepalived accepts keeld's v6 adverts (hop limit, pseudo-header checksum): it stays backup.
    lab.check(!holds6(&lab, 1), "keepalived must stay backup behind keeld");
    lab.check(
        !lab.log(1).contains("Entering MASTER STATE"),
        "keepalived never became master",
    );
    lab.signal(0, "TERM");
    let took = lab.wait(Duration::from_secs(2), |l| holds6(l, 1) && !holds6(l, 0));
    lab.check(
        took.is_some(),
        "keepalived did not take over after keeld's priority 0",
    );
    // keeld back: it preempts keepalived (it accepts keepalived's adverts too).
    let _ = lab.reap(0, Duration::from_secs(1));
    lab.start(0, Daemon::Keeld);
    let back = lab.wait(Duration::from_secs(3), |l| holds6(l, 0) && !holds6(l, 1));
    lab.check(back.is_some(), "keeld did not preempt keepalived over IPv6");
    let st = lab.status(0);
    lab.check(
        st["instances"][0]["counters"]["adverts_rx"].as_u64() >= Some(1),
        "keeld heard keepalived's v6 adverts before preempting",
    );
    lab.check(
        st["instances"][0]["dropped"]
            .as_object()
            .unwrap()
            .is_empty(),
        &format!(
            "keeld dropped keepalived's v6 adverts: {}",
            st["instances"][0]["dropped"]
        ),
    );
}
