//! `ha_suspend`: a virtual server's checkers run only while one of its addresses is
//! on this host (keepalived's `update_checker_activity`). Under `-C` the address is
//! added and removed by hand; in the full daemon the VRRP instance's VIP drives it.
//! No IPVS needed: the checks and keepalived's lines are what is tested.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use keel_testkit::Netns;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

const KEELD: &str = env!("CARGO_BIN_EXE_keeld");
const CHECK_OK: &str = "TCP connection to [192.0.2.12]:tcp:80 success.";
const REMOVED: &str = "Removing service [192.0.2.12]:tcp:80 from VS [192.0.2.250]:tcp:80";

fn wait(within: Duration, f: impl FnMut() -> bool) -> bool {
    keel_testkit::wait_until(within, f).is_some()
}

fn setup(tag: &str) -> (Netns, PathBuf) {
    let ns = Netns::new(tag);
    ns.run_ok(&[
        "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth1",
    ]);
    for l in ["eth0", "eth1"] {
        ns.run_ok(&["ip", "link", "set", l, "up"]);
    }
    ns.run_ok(&["ip", "addr", "add", "192.0.2.10/24", "dev", "eth0"]);
    ns.run_ok(&["ip", "addr", "add", "192.0.2.12/32", "dev", "lo"]);
    let dir = std::env::temp_dir().join(format!("keel-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    (ns, dir)
}

fn conf(dir: &Path, vrrp: bool) -> PathBuf {
    let p = dir.join("k.conf");
    let inst = if vrrp {
        "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority 255\n  advert_int 1\n  virtual_ipaddress {\n    192.0.2.250/24\n  }\n}\n"
    } else {
        ""
    };
    std::fs::write(
        &p,
        format!(
            "{inst}virtual_server 192.0.2.250 80 {{\n  delay_loop 1\n  lb_kind DR\n  ha_suspend\n  real_server 192.0.2.12 80 {{\n    TCP_CHECK {{\n      connect_timeout 1\n      retry 1\n      delay_before_retry 1\n    }}\n  }}\n}}\n"
        ),
    )
    .unwrap();
    p
}

fn start(ns: &Netns, dir: &Path, args: &[&str]) -> Child {
    let log = std::fs::File::create(dir.join("k.log")).unwrap();
    ns.command(&[KEELD])
        .args(args)
        .args(["-n", "-l", "-D", "-f"])
        .arg(dir.join("k.conf"))
        .arg("-p")
        .arg(dir.join("k.pid"))
        .arg("--status-socket")
        .arg(dir.join("k.sock"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

fn stop(ns: &Netns, mut child: Child) {
    ns.run_ok(&["kill", &child.id().to_string()]);
    let _ = child.wait();
}

#[test]
fn check_only_suspends_checkers_while_the_address_is_not_local() {
    if !keel_testkit::require_root("ha_suspend (namespaces)") {
        return;
    }
    let (ns, dir) = setup("khas");
    conf(&dir, false);
    let web = ns.enter(|| TcpListener::bind("192.0.2.12:80").unwrap());
    let child = start(&ns, &dir, &["-C"]);
    let read = || std::fs::read_to_string(dir.join("k.log")).unwrap_or_default();
    let status = || {
        let o = ns.run(&[
            KEELD,
            "status",
            "--socket",
            dir.join("k.sock").to_str().unwrap(),
        ]);
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert!(
        wait(Duration::from_secs(5), || read().contains(
            "Deactivating healthchecker for service [192.0.2.12]:tcp:80 for VS [192.0.2.250]:tcp:80"
        )),
        "{}",
        read()
    );
    // delay_loop 1: three check periods without a single check.
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !read().contains(CHECK_OK),
        "checked while suspended:\n{}",
        read()
    );
    assert!(
        status().contains("CHECKS SUSPENDED (ha_suspend)"),
        "{}",
        status()
    );

    // The address appears: activated, the check runs.
    ns.run_ok(&["ip", "addr", "add", "192.0.2.250/32", "dev", "lo"]);
    assert!(
        wait(Duration::from_secs(5), || read().contains(CHECK_OK)),
        "{}",
        read()
    );
    assert!(
        read().contains(
            "Activating healthchecker for service [192.0.2.12]:tcp:80 for VS [192.0.2.250]:tcp:80"
        ),
        "{}",
        read()
    );
    assert!(!status().contains("SUSPENDED"), "{}", status());

    // Gone again: suspended; the real server dies unnoticed.
    ns.run_ok(&["ip", "addr", "del", "192.0.2.250/32", "dev", "lo"]);
    assert!(
        wait(Duration::from_secs(5), || read().contains(
            "Suspending healthchecker for service [192.0.2.12]:tcp:80 for VS [192.0.2.250]:tcp:80"
        )),
        "{}",
        read()
    );
    drop(web);
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        !read().contains(REMOVED),
        "checked while suspended:\n{}",
        read()
    );
    assert!(status().contains("[192.0.2.12]:tcp:80  UP"), "{}", status());
    stop(&ns, child);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn vrrp_master_activates_and_fault_suspends_the_checkers() {
    if !keel_testkit::require_root("ha_suspend with VRRP (namespaces)") {
        return;
    }
    let (ns, dir) = setup("khav");
    conf(&dir, true);
    let web = ns.enter(|| TcpListener::bind("192.0.2.12:80").unwrap());
    let child = start(&ns, &dir, &[]);
    let read = || std::fs::read_to_string(dir.join("k.log")).unwrap_or_default();
    // Priority 255: MASTER at once, the VIP is local, the checks start.
    assert!(
        wait(Duration::from_secs(8), || read().contains(CHECK_OK)),
        "{}",
        read()
    );
    let l = read();
    let master = l.find("Entering MASTER STATE").expect("master");
    let act = l
        .find("Activating healthchecker for service [192.0.2.12]:tcp:80")
        .expect("activated");
    assert!(master < act, "activated before MASTER:\n{l}");
    // eth0 down: FAULT, the VIP is removed, the checkers are suspended.
    ns.run_ok(&["ip", "link", "set", "eth0", "down"]);
    assert!(
        wait(Duration::from_secs(5), || read().contains(
            "Suspending healthchecker for service [192.0.2.12]:tcp:80"
        )),
        "{}",
        read()
    );
    assert!(read().contains("Entering FAULT STATE"), "{}", read());
    drop(web);
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        !read().contains(REMOVED),
        "checked while suspended:\n{}",
        read()
    );
    stop(&ns, child);
    let _ = std::fs::remove_dir_all(&dir);
}
