//! `keeld -C` (keepalived's `--check`): the health checkers and IPVS without VRRP.
//! The configuration has a vrrp_instance that would be master at once (priority
//! 255) and a virtual_server: keeld checks the real server, never owns the VIP, sends
//! no VRRP advert, and answers `keeld status`. On this host (no IPVS) it logs one
//! error and keeps checking; with IPVS (the VM) it programs the table.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use keel_testkit::Netns;
use std::net::TcpListener;
use std::process::Stdio;
use std::time::{Duration, Instant};

const KEELD: &str = env!("CARGO_BIN_EXE_keeld");

fn wait(within: Duration, f: impl FnMut() -> bool) -> bool {
    keel_testkit::wait_until(within, f).is_some()
}

#[test]
fn check_only_runs_the_checkers_and_owns_no_vip() {
    if !keel_testkit::require_root("keeld -C (namespaces)") {
        return;
    }
    let ns = Netns::new("kchk");
    ns.run_ok(&[
        "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth1",
    ]);
    ns.run_ok(&["ip", "link", "set", "eth0", "up"]);
    ns.run_ok(&["ip", "link", "set", "eth1", "up"]);
    ns.run_ok(&["ip", "addr", "add", "192.0.2.10/24", "dev", "eth0"]);
    ns.run_ok(&["ip", "addr", "add", "192.0.2.12/32", "dev", "lo"]);
    let listen = |ns: &Netns| ns.enter(|| TcpListener::bind("192.0.2.12:80").unwrap());
    let mut web = Some(listen(&ns));
    let dir = std::env::temp_dir().join(format!("keel-kchk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("k.conf");
    std::fs::write(
        &conf,
        "global_defs {\n  lvs_sync_daemon eth0 VI_1\n}\n\
         vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority 255\n  advert_int 1\n  virtual_ipaddress {\n    192.0.2.250/24\n  }\n}\n\
         virtual_server 192.0.2.250 80 {\n  delay_loop 1\n  lb_algo rr\n  lb_kind DR\n  real_server 192.0.2.12 80 {\n    weight 3\n    TCP_CHECK {\n      connect_timeout 1\n      retry 1\n      delay_before_retry 1\n    }\n  }\n}\n",
    )
    .unwrap();
    let log_path = dir.join("k.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let sock = dir.join("k.sock");
    // Any VRRP advert (protocol 112) leaving eth0 would be counted here.
    let mut cap = ns
        .command(&[
            "tcpdump",
            "-i",
            "eth0",
            "-n",
            "-l",
            "-c",
            "1",
            "ip proto 112",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok();
    let mut child = ns
        .command(&[KEELD, "-C", "-n", "-l", "-D", "-f"])
        .arg(&conf)
        .arg("-p")
        .arg(dir.join("k.pid"))
        .arg("--status-socket")
        .arg(&sock)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let read = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let has_ipvs = ns
        .run(&["sh", "-c", "test -e /proc/net/ip_vs"])
        .status
        .success();
    let status = || {
        let o = ns.run(&[KEELD, "status", "--socket", sock.to_str().unwrap()]);
        String::from_utf8_lossy(&o.stdout).into_owned()
    };

    let ok = wait(Duration::from_secs(8), || {
        read().contains("TCP connection to [192.0.2.12]:tcp:80 success.")
    });
    assert!(ok, "no first verdict:\n{}", read());
    assert!(
        read().contains("(checkers only: virtual servers, no VRRP)"),
        "{}",
        read()
    );
    if has_ipvs {
        let t = ns.run_ok(&["ipvsadm", "-ln"]);
        assert!(t.contains("192.0.2.12:80"), "{t}");
    } else {
        let l = read();
        assert_eq!(l.matches("IPVS is not available").count(), 1, "{l}");
    }
    // A priority-255 instance would be master at once: 3 adverts' worth of time.
    std::thread::sleep(Duration::from_secs(3));
    let addrs = ns.run_ok(&["ip", "-4", "addr", "show", "dev", "eth0"]);
    assert!(!addrs.contains("192.0.2.250"), "-C took the VIP:\n{addrs}");
    let l = read();
    assert!(!l.contains("Entering"), "a VRRP instance ran:\n{l}");
    assert!(!l.contains("sync daemon"), "sync daemon without VRRP:\n{l}");
    let st = status();
    assert!(st.contains("[192.0.2.250]:tcp:80 rr quorum up"), "{st}");
    assert!(st.contains("[192.0.2.12]:tcp:80  UP    weight 3/3"), "{st}");
    assert!(!st.contains("VI_1"), "{st}");

    // Still checking: the real server stops, it is removed.
    web.take();
    let down = wait(Duration::from_secs(8), || {
        read().contains("Removing service [192.0.2.12]:tcp:80 from VS [192.0.2.250]:tcp:80")
    });
    assert!(down, "{}", read());
    web = Some(listen(&ns));
    let up = wait(Duration::from_secs(8), || {
        read().contains("Adding service [192.0.2.12]:tcp:80 to VS [192.0.2.250]:tcp:80")
    });
    assert!(up, "{}", read());

    // SIGUSR1 logs the virtual servers (and does not end the process).
    let pid = child.id().to_string();
    ns.run_ok(&["kill", "-USR1", &pid]);
    assert!(
        wait(Duration::from_secs(5), || read()
            .contains("Virtual servers (1):")),
        "{}",
        read()
    );
    // SIGHUP reloads; SIGTERM stops cleanly.
    ns.run_ok(&["kill", "-HUP", &pid]);
    assert!(
        wait(Duration::from_secs(5), || read().contains("Reloading")),
        "{}",
        read()
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "keeld exited:\n{}",
        read()
    );
    ns.run_ok(&["kill", &pid]);
    let t = Instant::now();
    let code = loop {
        if let Some(c) = child.try_wait().unwrap() {
            break c.code();
        }
        assert!(t.elapsed() < Duration::from_secs(8), "no exit:\n{}", read());
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(0), "{}", read());
    assert!(read().contains("Stopped keeld"), "{}", read());
    if has_ipvs {
        let t = ns.run_ok(&["ipvsadm", "-ln"]);
        assert!(!t.contains("192.0.2.250"), "{t}");
    }
    if let Some(mut c) = cap.take() {
        let _ = c.kill();
        let out = c.wait_with_output().unwrap();
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("VRRP"),
            "a VRRP advert left eth0"
        );
    }
    drop(web);
    let _ = std::fs::remove_dir_all(&dir);
}
