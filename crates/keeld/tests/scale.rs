//! 1,000 VRRP instances in one keeld (4 veth interfaces × 250 VRIDs, no
//! peer: all master): start, a reload that changes one instance (only that
//! one is touched), stop with no VIP left behind. `cargo xtask bench scale`
//! runs the 5,000-instance version against keepalived.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use keel_testkit::{Netns, require_root};
use std::process::Stdio;
use std::time::{Duration, Instant};

const KEELD: &str = env!("CARGO_BIN_EXE_keeld");
const IFACES: usize = 4;
const PER: usize = 250;

/// The daemon, killed and reaped on every path (also when a check panics).
struct Kid(std::process::Child);

impl Drop for Kid {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn config(changed: bool) -> String {
    let mut s = String::from("global_defs {\n  router_id scale\n}\n");
    for k in 0..IFACES {
        for v in 1..=PER {
            let vip = if changed && k == 0 && v == 1 {
                "192.0.2.1".to_owned()
            } else {
                format!("203.0.113.{v}")
            };
            s.push_str(&format!(
                "vrrp_instance VI_{k}_{v} {{\n  state BACKUP\n  interface s{k}\n  virtual_router_id {v}\n  priority 100\n  advert_int 1\n  virtual_ipaddress {{\n    {vip}/32\n  }}\n}}\n"
            ));
        }
    }
    s
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

fn status(sock: &std::path::Path) -> serde_json::Value {
    let out = std::process::Command::new(KEELD)
        .args(["status", "--json", "--socket"])
        .arg(sock)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_default()
}

#[test]
fn thousand_instances_start_reload_stop() {
    if !require_root("keeld 1,000 instances (namespaces)") {
        return;
    }
    let total = IFACES * PER;
    let node = Netns::new("scn");
    let sink = Netns::new("scs");
    for k in 0..IFACES {
        node.veth_to(&sink, &format!("s{k}"), &format!("k{k}"));
        node.run_ok(&[
            "ip",
            "addr",
            "add",
            &format!("198.51.100.{}/29", 8 * k + 1),
            "dev",
            &format!("s{k}"),
        ]);
    }
    let dir = std::env::temp_dir().join(format!("keeld-scale-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("scale.conf");
    std::fs::write(&conf, config(false)).unwrap();
    let log = std::fs::File::create(dir.join("keeld.log")).unwrap();
    let mut child = Kid(node
        .command(&[KEELD])
        .args(["-n", "-l", "-f"])
        .arg(&conf)
        .arg("-p")
        .arg(dir.join("main.pid"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap());
    let sock = dir.join("main.sock");
    let fail = |what: &str| -> ! {
        let log = std::fs::read_to_string(dir.join("keeld.log")).unwrap_or_default();
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
        n = vips(&node).len();
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
    let st = status(&sock);
    let insts = st["instances"].as_array().cloned().unwrap_or_default();
    if insts.len() != total
        || !insts
            .iter()
            .all(|i| i["state"] == "MASTER" && i["counters"]["master_transitions"] == 1)
    {
        fail("status: not every instance is MASTER with one transition");
    }

    // Reload changing only VI_0_1's VIP.
    std::fs::write(&conf, config(true)).unwrap();
    let pid = child.0.id().to_string();
    keel_testkit::sh(&["kill", "-HUP", &pid]);
    let t = Instant::now();
    let want = |v: &[(String, String)]| {
        v.len() == total
            && v.contains(&("s0".to_owned(), "192.0.2.1".to_owned()))
            && !v.contains(&("s0".to_owned(), "203.0.113.1".to_owned()))
    };
    while t.elapsed() < Duration::from_secs(10) && !want(&vips(&node)) {
        std::thread::sleep(Duration::from_millis(50));
    }
    if !want(&vips(&node)) {
        fail("reload did not move VI_0_1's VIP (or lost others)");
    }
    std::thread::sleep(Duration::from_millis(300));
    let st = status(&sock);
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
        let on: usize = vips(&node)
            .iter()
            .filter(|(i, _)| *i == format!("s{k}"))
            .count();
        if on != PER {
            fail(&format!("s{k} has {on} VIPs"));
        }
    }

    // Stop: nothing left behind.
    keel_testkit::sh(&["kill", "-TERM", &pid]);
    let t = Instant::now();
    let mut code = None;
    while t.elapsed() < Duration::from_secs(10) {
        if let Ok(Some(s)) = child.0.try_wait() {
            code = s.code();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let stop = t.elapsed();
    let left = vips(&node);
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
