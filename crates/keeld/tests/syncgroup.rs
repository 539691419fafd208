//! vrrp_sync_group: two instances move together. A weight-0 tracked script
//! failing on node1's VI_1 puts VI_1 in FAULT, and the group drags VI_2
//! along, so node2 ends up master of both.
#![allow(clippy::unwrap_used, clippy::print_stderr)]
mod common;

use common::{Daemon, KEELD, Lab};
use keel_testkit::require_root;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

fn conf(prio: u8, track: &str) -> String {
    format!(
        "vrrp_sync_group G1 {{\n  group {{\n    VI_1\n    VI_2\n  }}\n}}\n\
         vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority {prio}\n  advert_int 0.1\n  version 3\n{track}  virtual_ipaddress {{\n    192.0.2.250\n  }}\n}}\n\
         vrrp_instance VI_2 {{\n  interface eth0\n  virtual_router_id 52\n  priority {prio}\n  advert_int 0.1\n  version 3\n  virtual_ipaddress {{\n    192.0.2.251\n  }}\n}}\n"
    )
}

fn has(lab: &Lab, i: usize, a: &str) -> bool {
    let out = lab.nodes[i]
        .ns
        .run(&["ip", "-o", "-4", "addr", "show", "dev", "eth0"]);
    String::from_utf8_lossy(&out.stdout).contains(&format!(" {a}/"))
}

#[test]
fn sync_group_members_move_together() {
    if !require_root("keeld sync group (namespaces)") {
        return;
    }
    let mut lab = Lab::new("ksg", 2, KEELD);
    std::fs::set_permissions(&lab.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ok = lab.dir.join("ok");
    std::fs::write(&ok, "").unwrap();
    let script = format!(
        "vrrp_script chk {{\n  script \"/usr/bin/test -f {}\"\n  interval 1\n  fall 1\n  rise 1\n}}\n",
        ok.display()
    );
    lab.write_conf(
        0,
        &format!("{script}{}", conf(100, "  track_script {\n    chk\n  }\n")),
    );
    lab.write_conf(1, &conf(99, ""));
    lab.start(0, Daemon::Keeld);
    let t = lab.wait(Duration::from_secs(4), |l| {
        has(l, 0, "192.0.2.250") && has(l, 0, "192.0.2.251")
    });
    lab.check(t.is_some(), "node1 never became master of both");
    lab.start(1, Daemon::Keeld);
    std::thread::sleep(Duration::from_millis(800));
    lab.check(
        !has(&lab, 1, "192.0.2.250") && !has(&lab, 1, "192.0.2.251"),
        "node2 holds nothing while node1 is healthy",
    );

    std::fs::remove_file(&ok).unwrap();
    let moved = lab.wait(Duration::from_secs(4), |l| {
        has(l, 1, "192.0.2.250")
            && has(l, 1, "192.0.2.251")
            && !has(l, 0, "192.0.2.250")
            && !has(l, 0, "192.0.2.251")
    });
    lab.check(moved.is_some(), "the whole group must move to node2");
    let st = lab.status(0);
    let states: Vec<&str> = st["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["state"].as_str().unwrap())
        .collect();
    lab.check(
        states == ["FAULT", "FAULT"],
        &format!("node1 states {states:?}"),
    );
    lab.check(
        lab.log(0).contains("(VI_2) Entering FAULT STATE"),
        "VI_2 dragged into FAULT",
    );

    std::fs::write(&ok, "").unwrap();
    let back = lab.wait(Duration::from_secs(5), |l| {
        has(l, 0, "192.0.2.250") && has(l, 0, "192.0.2.251") && !has(l, 1, "192.0.2.251")
    });
    lab.check(back.is_some(), "node1 must take the whole group back");
}
