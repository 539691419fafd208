//! 1,000 VRRP instances in one keeld (4 veth interfaces × 250 VRIDs, no
//! peer: all master): start, a reload that changes one instance (only that
//! one is touched), stop with no VIP left behind. `cargo xtask bench scale`
//! runs the 5,000-instance version against keepalived.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use keel_lab::Node;
use keel_testkit::{Netns, require_root};
use std::time::{Duration, Instant};

const KEELD: &str = env!("CARGO_BIN_EXE_keeld");
const IFACES: usize = 4;
const PER: usize = 250;

/// `bench scale`'s configuration; `changed`: VI_0_1's VIP moved to 192.0.2.1.
fn config(changed: bool) -> String {
    let c = keel_lab::bench::scale::config(IFACES, PER);
    if changed {
        c.replacen("203.0.113.1/32", "192.0.2.1/32", 1)
    } else {
        c
    }
}

/// Every (interface, address) of the VIP ranges in `ns`.
fn vips(ns: &Netns) -> Vec<(String, String)> {
    let out = keel_testkit::sh(&["ip", "-n", ns.name(), "-o", "-4", "addr", "show"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let addr = w.get(3)?.split('/').next()?;
            (addr.starts_with("203.0.113.") || addr.starts_with("192.0.2."))
                .then(|| (w[1].to_owned(), addr.to_owned()))
        })
        .collect()
}

#[test]
fn thousand_instances_start_reload_stop() {
    if !require_root("keeld 1,000 instances (namespaces)") {
        return;
    }
    let total = IFACES * PER;
    let (node, _sink) = keel_lab::topology::fan_out("sc", IFACES);
    let dir = std::env::temp_dir().join(format!("keeld-scale-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut keeld = Node::new(node, 0, dir.clone(), KEELD.into()).unwrap();
    keeld.detail = false;
    std::fs::write(keeld.conf_path(), config(false)).unwrap();
    keeld.start().unwrap();
    let status = |k: &Node| k.status(Duration::from_secs(5)).unwrap_or_default();
    let fail = |what: &str| -> ! {
        let log = std::fs::read_to_string(dir.join("node1.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        panic!(
            "{what}\n--- keeld log (last lines, newest first) ---\n{}",
            tail.join("\n")
        );
    };

    // Start: all master, every VIP on its interface.
    let t0 = Instant::now();
    let mut n = 0;
    while t0.elapsed() < Duration::from_secs(20) {
        n = vips(&keeld.ns).len();
        if n == total {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let startup = t0.elapsed();
    eprintln!(
        "1,000 instances: all {n} VIPs on after {} ms (Master_Down_Interval 3609 ms)",
        startup.as_millis()
    );
    if n != total {
        fail(&format!("only {n} of {total} VIPs after 20 s"));
    }
    std::thread::sleep(Duration::from_millis(500));
    let st = status(&keeld);
    let insts = st["instances"].as_array().cloned().unwrap_or_default();
    if insts.len() != total
        || !insts
            .iter()
            .all(|i| i["state"] == "MASTER" && i["counters"]["master_transitions"] == 1)
    {
        fail("status: not every instance is MASTER with one transition");
    }

    // Reload changing only VI_0_1's VIP.
    std::fs::write(keeld.conf_path(), config(true)).unwrap();
    keeld.signal("HUP");
    let t = Instant::now();
    let want = |v: &[(String, String)]| {
        v.len() == total
            && v.contains(&("s0".to_owned(), "192.0.2.1".to_owned()))
            && !v.contains(&("s0".to_owned(), "203.0.113.1".to_owned()))
    };
    while t.elapsed() < Duration::from_secs(10) && !want(&vips(&keeld.ns)) {
        std::thread::sleep(Duration::from_millis(50));
    }
    if !want(&vips(&keeld.ns)) {
        fail("reload did not move VI_0_1's VIP (or lost others)");
    }
    std::thread::sleep(Duration::from_millis(300));
    let st = status(&keeld);
    let insts = st["instances"].as_array().cloned().unwrap_or_default();
    let untouched = insts
        .iter()
        .all(|i| i["state"] == "MASTER" && i["counters"]["master_transitions"] == 1);
    if insts.len() != total || !untouched || st["reloads"] != 1 {
        fail("after the reload every instance must still be MASTER with its one transition");
    }
    // Every other VIP stayed (never removed: the kernel address list is the
    // same set minus/plus the changed one).
    for k in 0..IFACES {
        let on: usize = vips(&keeld.ns)
            .iter()
            .filter(|(i, _)| *i == format!("s{k}"))
            .count();
        if on != PER {
            fail(&format!("s{k} has {on} VIPs"));
        }
    }

    // Stop: nothing left behind.
    keeld.signal("TERM");
    let t = Instant::now();
    let code = keeld.reap(Duration::from_secs(10)).and_then(|s| s.code());
    let stop = t.elapsed();
    let left = vips(&keeld.ns);
    eprintln!(
        "1,000 instances: stop took {} ms, {} VIPs left",
        stop.as_millis(),
        left.len()
    );
    if code != Some(0) {
        fail(&format!("keeld exit {code:?}"));
    }
    if !left.is_empty() {
        fail(&format!("{} VIPs left behind", left.len()));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
