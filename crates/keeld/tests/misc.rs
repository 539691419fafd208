//! track_interface (weight 0 → FAULT), notify_master / notify_fault,
//! SIGUSR1 state dump, and `keeld status` for a person.
#![allow(clippy::unwrap_used, clippy::print_stderr)]
mod common;

use common::{Daemon, KEELD, Lab, v3_conf};
use keel_testkit::require_root;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

#[test]
fn track_interface_notify_and_dump() {
    if !require_root("keeld track_interface (namespaces)") {
        return;
    }
    let mut lab = Lab::new("kmi", 1, KEELD);
    let ns = &lab.nodes[0].ns;
    ns.run_ok(&[
        "ip", "link", "add", "trk0", "type", "veth", "peer", "name", "trk1",
    ]);
    ns.run_ok(&["ip", "link", "set", "trk1", "up"]);
    ns.run_ok(&["ip", "link", "set", "trk0", "up"]);
    let d = lab.dir.clone();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mk = |name: &str| {
        let out = d.join(format!("{name}.out"));
        let sh = d.join(format!("{name}.sh"));
        std::fs::write(
            &sh,
            format!("#!/bin/sh\necho {name} >> {}\n", out.display()),
        )
        .unwrap();
        std::fs::set_permissions(&sh, std::fs::Permissions::from_mode(0o755)).unwrap();
        (sh, out)
    };
    let (m_sh, m_out) = mk("master");
    let (f_sh, f_out) = mk("fault");
    let extra = format!(
        "  track_interface {{\n    trk0\n  }}\n  notify_master {}\n  notify_fault {}\n",
        m_sh.display(),
        f_sh.display()
    );
    lab.write_conf(0, &v3_conf(100, &extra));
    lab.start(0, Daemon::Keeld);
    let t = lab.wait(Duration::from_secs(3), |l| l.holds_vip(0));
    lab.check(t.is_some(), "node1 never became master");
    let ran = lab.wait(Duration::from_secs(2), |_| m_out.exists());
    lab.check(ran.is_some(), "notify_master did not run");

    // Human-readable status.
    let out = std::process::Command::new(KEELD)
        .args(["status", "--socket"])
        .arg(lab.socket(0))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    lab.check(
        out.status.success()
            && text.contains("VI_1")
            && text.contains("MASTER")
            && text.contains("(held)"),
        &format!("keeld status output: {text}"),
    );

    // Tracked interface down (weight 0): FAULT, VIP removed, notify_fault.
    lab.nodes[0]
        .ns
        .run_ok(&["ip", "link", "set", "trk0", "down"]);
    let f = lab.wait(Duration::from_secs(2), |l| {
        !l.holds_vip(0) && l.state(0) == "FAULT"
    });
    lab.check(
        f.is_some(),
        "tracked interface down must put the instance in FAULT",
    );
    lab.check(
        lab.log(0).contains("(VI_1) Entering FAULT STATE"),
        "FAULT logged",
    );
    let ran = lab.wait(Duration::from_secs(2), |_| f_out.exists());
    lab.check(ran.is_some(), "notify_fault did not run");

    // SIGUSR1: state dump in the log.
    lab.signal(0, "USR1");
    let dumped = lab.wait(Duration::from_secs(2), |l| {
        l.log(0).contains("INSTANCE") && l.log(0).contains("FAULT    ")
    });
    lab.check(dumped.is_some(), "SIGUSR1 dump missing");

    // Back up: master again.
    lab.nodes[0].ns.run_ok(&["ip", "link", "set", "trk0", "up"]);
    let back = lab.wait(Duration::from_secs(3), |l| l.holds_vip(0));
    lab.check(back.is_some(), "instance did not leave FAULT");
}

#[test]
fn second_garp_burst_fires_and_is_cancelled_on_leaving_master() {
    if !require_root("keeld garp_master_delay (namespaces)") {
        return;
    }
    let mut lab = Lab::new("kga", 2, KEELD);
    lab.write_conf(0, &v3_conf(100, ""));
    lab.write_conf(1, &v3_conf(99, ""));
    // node2 alone: master, first burst.
    lab.start(1, Daemon::Keeld);
    let t = lab.wait(Duration::from_secs(3), |l| l.holds_vip(1));
    lab.check(t.is_some(), "node2 never became master");
    // node1 preempts well before node2's garp_master_delay (5 s).
    lab.start(0, Daemon::Keeld);
    let back = lab.wait(Duration::from_secs(3), |l| {
        l.holds_vip(0) && !l.holds_vip(1)
    });
    lab.check(back.is_some(), "node1 did not preempt");
    std::thread::sleep(Duration::from_millis(5600));
    let garps = |i: usize| lab.count_in_log(i, "Sending gratuitous ARP on eth0 for 192.0.2.250");
    lab.check(
        garps(1) == 5,
        &format!(
            "node2 left MASTER: its second burst must be cancelled (saw {} GARPs, want 5)",
            garps(1)
        ),
    );
    lab.check(
        garps(0) == 10,
        &format!("node1 must send two bursts of 5 (saw {})", garps(0)),
    );
}

#[test]
fn late_timers_are_measured_and_logged() {
    if !require_root("keeld timer lateness (namespaces)") {
        return;
    }
    let mut lab = Lab::new("klt", 1, KEELD);
    lab.write_conf(0, &v3_conf(100, ""));
    lab.start(0, Daemon::Keeld);
    let t = lab.wait(Duration::from_secs(3), |l| l.holds_vip(0));
    lab.check(t.is_some(), "node1 never became master");
    let before = lab.status(0)["max_timer_late_ms"].as_f64().unwrap();
    lab.check(before < 100.0, &format!("idle lateness {before} ms"));
    lab.signal(0, "STOP");
    std::thread::sleep(Duration::from_millis(300));
    lab.signal(0, "CONT");
    std::thread::sleep(Duration::from_millis(200));
    let after = lab.status(0)["max_timer_late_ms"].as_f64().unwrap();
    lab.check(
        after >= 150.0,
        &format!("lateness after a 300 ms freeze: {after} ms"),
    );
    lab.check(lab.log(0).contains("ms late"), "lateness logged");
}

#[test]
fn virtual_routes_follow_the_master() {
    if !require_root("keeld virtual_routes (namespaces)") {
        return;
    }
    let mut lab = Lab::new("kvr", 1, KEELD);
    let routes = "  virtual_routes {\n    198.51.100.0/24 via 192.0.2.1 dev eth0\n  }\n";
    lab.write_conf(0, &v3_conf(100, routes));
    lab.start(0, Daemon::Keeld);
    let route = |l: &Lab| {
        let out = l.nodes[0]
            .ns
            .run(&["ip", "-4", "route", "show", "198.51.100.0/24"]);
        String::from_utf8_lossy(&out.stdout).contains("via 192.0.2.1")
    };
    let t = lab.wait(Duration::from_secs(3), |l| l.holds_vip(0) && route(l));
    lab.check(t.is_some(), "master must add the VIP and the virtual route");
    lab.signal(0, "TERM");
    let code = lab.reap(0, Duration::from_secs(1));
    lab.check(code == Some(0), "exit 0");
    lab.check(
        !route(&lab) && !lab.holds_vip(0),
        "route and VIP removed on stop",
    );
}
