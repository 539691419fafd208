//! The guide's LVS-DR cluster end to end (needs IPVS: `cargo xtask vm test` runs it
//! with `--ignored` inside the Debian kernel VM).
//!
//! Namespaces client, director1, director2, real1, real2 on one bridge (192.0.2.0/24);
//! VIP 192.0.2.250; the real servers carry the VIP on `lo` with arp_ignore=1 /
//! arp_announce=2 and serve HTTP naming themselves; keeld runs on both directors with
//! the guide's `vrrp_instance` + `virtual_server` (shorter timers).
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use keel_lab::Node;
use keel_testkit::Netns;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const KEELD: &str = env!("CARGO_BIN_EXE_keeld");
const VIP: &str = "192.0.2.250";

/// A tiny HTTP server in a namespace answering its node name; stops on `stop`.
struct Web {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Web {
    fn start(ns: &Netns, name: &'static str) -> Web {
        let l: TcpListener = ns.enter(|| TcpListener::bind("0.0.0.0:80").unwrap());
        l.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((mut c, _)) => {
                        let _ = c.set_nonblocking(false);
                        let _ = c.set_read_timeout(Some(Duration::from_millis(500)));
                        let mut buf = [0u8; 1024];
                        let mut got = Vec::new();
                        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                            match c.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => got.extend_from_slice(&buf[..n]),
                            }
                        }
                        if got.is_empty() {
                            continue; // a health check's bare connect
                        }
                        let _ = c.write_all(
                            format!(
                                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{name}",
                                name.len()
                            )
                            .as_bytes(),
                        );
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Web {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Web {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One GET http://VIP/ from the client namespace: the body, or None.
fn fetch_n(client: &Netns, n: usize) -> Vec<Option<String>> {
    client.enter(move || {
        (0..n)
            .map(|_| {
                let addr: SocketAddr = format!("{VIP}:80").parse().unwrap();
                let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(700)).ok()?;
                s.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
                s.write_all(b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n").ok()?;
                let mut out = String::new();
                s.read_to_string(&mut out).ok()?;
                let body = out.split("\r\n\r\n").nth(1)?.to_owned();
                Some(body)
            })
            .collect()
    })
}

fn conf(master: bool, persistence: bool) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/examples/guide/lvs-dr-director1.conf");
    let mut t = std::fs::read_to_string(&p).unwrap();
    if !master {
        t = t
            .replace("HA_TEST_R1", "HA_TEST_R2")
            .replace("state MASTER", "state BACKUP")
            .replace("priority 100", "priority 99");
    }
    t = t
        .replace("ens33", "eth0")
        .replace("192.168.161.", "192.0.2.")
        .replace(" 443 {", " 80 {")
        .replace("delay_loop 15", "delay_loop 1")
        .replace("connect_timeout 3", "connect_timeout 1")
        .replace("nb_get_retry 3", "nb_get_retry 1")
        .replace("delay_before_retry 4", "delay_before_retry 1");
    if !persistence {
        t = t.replace("persistence_timeout 50", "");
    }
    t
}

/// A director: one keel-lab node running keeld.
type Director = Node;

/// Start keeld with `roles` (`-C`, `-P`) first, on a fresh log.
fn start_with(d: &mut Director, roles: &[&str]) {
    d.args = roles.iter().map(|r| (*r).to_owned()).collect();
    std::fs::write(d.log_path(), "").unwrap();
    d.start().unwrap();
}

fn standalone(tag: &str, links: &[&str]) -> Director {
    Node::standalone(tag, links, KEELD.into()).unwrap()
}

fn ipvs(d: &Director) -> String {
    d.ns.run_ok(&["ipvsadm", "-ln"])
}

const STOP: Duration = Duration::from_secs(5);

use keel_testkit::wait_until as wait;

fn sysctl(ns: &Netns, key: &str, val: &str) {
    ns.run_ok(&[
        "sh",
        "-c",
        &format!("echo {val} > /proc/sys/net/{}", key.replace('.', "/")),
    ]);
}

#[test]
#[ignore = "needs IPVS: run by cargo xtask vm test"]
fn guide_lvs_dr_cluster() {
    if !keel_testkit::require_root("LVS-DR cluster")
        || !keel_testkit::require_tool("LVS-DR cluster", "ipvsadm")
    {
        return;
    }
    let t_all = Instant::now();
    let dir = std::env::temp_dir().join(format!("keel-dvm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sw = Netns::new("dvm-sw");
    let client = Netns::new("dvm-client");
    let d1 = Netns::new("dvm-dir1");
    let d2 = Netns::new("dvm-dir2");
    let r1 = Netns::new("dvm-real1");
    let r2 = Netns::new("dvm-real2");
    sw.bridge(
        "br0",
        &[
            (&client, "eth0"),
            (&d1, "eth0"),
            (&d2, "eth0"),
            (&r1, "eth0"),
            (&r2, "eth0"),
        ],
    );
    for (ns, a) in [
        (&client, "192.0.2.100"),
        (&d1, "192.0.2.10"),
        (&d2, "192.0.2.11"),
        (&r1, "192.0.2.12"),
        (&r2, "192.0.2.13"),
    ] {
        ns.run_ok(&["ip", "addr", "add", &format!("{a}/24"), "dev", "eth0"]);
    }
    for r in [&r1, &r2] {
        r.run_ok(&["ip", "addr", "add", &format!("{VIP}/32"), "dev", "lo"]);
        for k in ["all", "eth0"] {
            sysctl(r, &format!("ipv4.conf.{k}.arp_ignore"), "1");
            sysctl(r, &format!("ipv4.conf.{k}.arp_announce"), "2");
        }
    }
    for d in [&d1, &d2] {
        for k in ["all", "default", "eth0"] {
            sysctl(d, &format!("ipv4.conf.{k}.send_redirects"), "0");
        }
    }
    let mut web1 = Some(Web::start(&r1, "real1"));
    let _web2 = Web::start(&r2, "real2");

    let mut dir1 = Node::new(d1, 0, dir.clone(), KEELD.into()).unwrap();
    let mut dir2 = Node::new(d2, 1, dir.clone(), KEELD.into()).unwrap();
    std::fs::write(dir1.conf_path(), conf(true, false)).unwrap();
    std::fs::write(dir2.conf_path(), conf(false, false)).unwrap();
    start_with(&mut dir1, &[]);
    start_with(&mut dir2, &[]);
    let both = |d: &Director| {
        let t = ipvs(d);
        t.contains("192.0.2.12:80") && t.contains("192.0.2.13:80")
    };
    let up = wait(Duration::from_secs(40), || {
        dir1.holds_vip() && both(&dir1) && both(&dir2)
    });
    assert!(
        up.is_some(),
        "cluster not up: d1 ipvs {} d2 ipvs {}\nlog1:\n{}\nlog2:\n{}",
        ipvs(&dir1),
        ipvs(&dir2),
        dir1.log(),
        dir2.log()
    );
    eprintln!(
        "cluster up in {:?}; director1:\n{}",
        up.unwrap(),
        ipvs(&dir1)
    );
    assert!(ipvs(&dir1).contains("Route"), "{}", ipvs(&dir1));

    // rr without persistence: answers alternate.
    let got: Vec<String> = fetch_n(&client, 6)
        .into_iter()
        .map(|b| b.unwrap_or_default())
        .collect();
    eprintln!("rr answers: {got:?}");
    for w in got.windows(2) {
        assert_ne!(w[0], w[1], "rr must alternate: {got:?}");
    }
    assert!(got.iter().all(|b| b == "real1" || b == "real2"), "{got:?}");

    // real1's server stops: it leaves the table within delay_loop + retry x
    // delay_before_retry + connect_timeout (1 + 1x1 + 1 = 3 s; slack for the VM).
    let t0 = Instant::now();
    web1.take();
    let gone = wait(Duration::from_secs(8), || {
        !ipvs(&dir1).contains("192.0.2.12:80")
    });
    eprintln!("real1 removed after {:?}", t0.elapsed());
    assert!(
        gone.is_some(),
        "real1 still in the table:\n{}\n{}",
        ipvs(&dir1),
        dir1.log()
    );
    assert!(
        dir1.log()
            .contains("Removing service [192.0.2.12]:tcp:80 from VS [192.0.2.250]:tcp:80"),
        "{}",
        dir1.log()
    );
    let got = fetch_n(&client, 4);
    assert!(got.iter().all(|b| b.as_deref() == Some("real2")), "{got:?}");

    // real1 back: it returns to the table.
    let t0 = Instant::now();
    web1 = Some(Web::start(&r1, "real1"));
    let back = wait(Duration::from_secs(8), || {
        ipvs(&dir1).contains("192.0.2.12:80")
    });
    eprintln!("real1 back after {:?}", t0.elapsed());
    assert!(back.is_some(), "real1 not re-added:\n{}", dir1.log());
    assert!(
        dir1.log()
            .contains("Adding service [192.0.2.12]:tcp:80 to VS [192.0.2.250]:tcp:80")
    );
    let got = fetch_n(&client, 4);
    assert!(got.iter().any(|b| b.as_deref() == Some("real1")), "{got:?}");

    // keeld status shows the virtual server.
    let st = dir1
        .ns
        .run_ok(&[KEELD, "status", "--socket", dir1.socket().to_str().unwrap()]);
    assert!(st.contains("[192.0.2.250]:tcp:80 rr"), "{st}");
    assert!(st.contains("[192.0.2.12]:tcp:80  UP"), "{st}");
    assert!(
        st.contains("        conns "),
        "IPVS counters in status: {st}"
    );
    // ... and node_exporter's IPVS metrics for it (issue 20)
    let m = dir1.ns.run_ok(&[
        KEELD,
        "status",
        "--metrics",
        "--socket",
        dir1.socket().to_str().unwrap(),
    ]);
    let value = |key: &str| -> Option<f64> {
        m.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.parse().ok())
    };
    let l = |rs: &str| {
        format!(
            "{{local_address=\"192.0.2.250\",local_port=\"80\",remote_address=\"{rs}\",remote_port=\"80\",proto=\"TCP\",local_mark=\"\"}}"
        )
    };
    for rs in ["192.0.2.12", "192.0.2.13"] {
        for name in [
            "node_ipvs_backend_weight",
            "node_ipvs_backend_connections_active",
            "node_ipvs_backend_connections_inactive",
        ] {
            let key = format!("{name}{}", l(rs));
            assert!(value(&key).is_some(), "no {key}:\n{m}");
        }
    }
    assert!(
        value("node_ipvs_connections_total") > Some(0.0)
            && value("node_ipvs_incoming_packets_total") > Some(0.0)
            && value("node_ipvs_incoming_bytes_total") > Some(0.0),
        "IPVS totals after the requests:\n{m}"
    );

    // director1 stops: director2 holds the VIP with its table already programmed,
    // and the client keeps getting answers.
    let table2 = ipvs(&dir2);
    assert!(
        table2.contains("192.0.2.12:80") && table2.contains("192.0.2.13:80"),
        "{table2}"
    );
    let t0 = Instant::now();
    dir1.stop(STOP);
    let took = wait(Duration::from_secs(6), || dir2.holds_vip());
    assert!(
        took.is_some(),
        "director2 never took the VIP:\n{}",
        dir2.log()
    );
    assert!(
        !ipvs(&dir1).contains("192.0.2.250"),
        "director1 left its table:\n{}",
        ipvs(&dir1)
    );
    let first = wait(Duration::from_secs(5), || fetch_n(&client, 1)[0].is_some());
    eprintln!(
        "director2 master after {:?}, first answer after {:?}",
        took.unwrap(),
        t0.elapsed()
    );
    assert!(first.is_some(), "no answer through director2");
    let got = fetch_n(&client, 6);
    assert!(got.iter().all(Option::is_some), "{got:?}");

    // persistence (reload director2 with the guide's persistence_timeout 50): one
    // client sticks to one real server.
    std::fs::write(dir2.conf_path(), conf(false, true)).unwrap();
    dir2.ns.run_ok(&[
        "kill",
        "-HUP",
        &dir2.child.as_ref().unwrap().id().to_string(),
    ]);
    let p = wait(Duration::from_secs(5), || {
        ipvs(&dir2).contains("persistent 50")
    });
    assert!(
        p.is_some(),
        "reload did not set persistence:\n{}",
        ipvs(&dir2)
    );
    let got = fetch_n(&client, 6);
    eprintln!("persistent answers: {got:?}");
    assert!(
        got[0].is_some() && got.iter().all(|b| *b == got[0]),
        "{got:?}"
    );
    drop(web1);
    eprintln!("LVS-DR cluster test took {:?}", t_all.elapsed());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The kernel's sync daemons as `(role, syncid)`, from `ipvsadm -L --daemon`.
fn daemons(ns: &Netns) -> Vec<(String, String)> {
    ns.run_ok(&["ipvsadm", "-L", "--daemon"])
        .lines()
        .filter_map(|l| {
            let role = l.split_whitespace().next()?.to_owned();
            let id = l
                .split("syncid=")
                .nth(1)?
                .split([',', ')'])
                .next()?
                .to_owned();
            Some((role, id))
        })
        .collect()
}

/// `lvs_sync_daemon` follows its VRRP instance (BACKUP at start: backup daemon;
/// MASTER: master daemon only; FAULT: backup again); a reload that changes the line
/// restarts it and edits only what changed in the table; shutdown stops it and
/// removes exactly what keel added (a service added by hand stays).
#[test]
#[ignore = "needs IPVS: run by cargo xtask vm test"]
fn sync_daemon_reload_and_shutdown_cleanup() {
    if !keel_testkit::require_root("LVS sync daemon")
        || !keel_testkit::require_tool("LVS sync daemon", "ipvsadm")
    {
        return;
    }
    let mut d = standalone("dvm-sync", &["eth0", "trk0"]);
    let dir = d.dir().to_path_buf();
    // Someone else's service: keel must leave it alone.
    d.ns.run_ok(&["ipvsadm", "-A", "-t", "198.51.100.1:25", "-s", "wlc"]);
    let conf = |w: u32, id: &str| {
        format!(
            "global_defs {{\n  lvs_sync_daemon eth0 VI_1{id}\n}}\n\
             vrrp_instance VI_1 {{\n  interface eth0\n  track_interface {{\n    trk0\n  }}\n  virtual_router_id 51\n  priority 100\n  advert_int 3\n  virtual_ipaddress {{\n    {VIP}\n  }}\n}}\n\
             virtual_server {VIP} 80 {{\n  lb_algo wrr\n  lb_kind DR\n  real_server 192.0.2.12 80 {{\n    weight {w}\n  }}\n  real_server 192.0.2.13 80 {{\n    weight 1\n  }}\n}}\n"
        )
    };
    let pair = |r: &str, id: &str| vec![(r.to_owned(), id.to_owned())];
    std::fs::write(d.conf_path(), conf(2, "")).unwrap();
    // A backup daemon left running (by hand, or by a killed keeld): replaced.
    d.ns.run_ok(&[
        "ipvsadm",
        "--start-daemon",
        "backup",
        "--mcast-interface",
        "eth0",
        "--syncid",
        "3",
    ]);
    assert_eq!(daemons(&d.ns), pair("backup", "3"));
    start_with(&mut d, &[]);
    let up = wait(Duration::from_secs(30), || {
        let t = ipvs(&d);
        t.contains("192.0.2.12:80") && t.contains("192.0.2.13:80")
    });
    assert!(up.is_some(), "not programmed:\n{}\n{}", ipvs(&d), d.log());
    // BACKUP (master down timer: 3 x 3 s + skew): the backup daemon alone, syncid = VRID.
    let backup = wait(Duration::from_secs(10), || {
        !d.holds_vip() && daemons(&d.ns) == pair("backup", "51")
    });
    assert!(
        backup.is_some(),
        "backup daemon at start: {:?}\n{}",
        daemons(&d.ns),
        d.log()
    );
    assert!(
        d.log()
            .contains("an IPVS backup sync daemon was already running: restarting it"),
        "{}",
        d.log()
    );
    // MASTER: the master daemon alone.
    let master = wait(Duration::from_secs(30), || {
        d.holds_vip() && daemons(&d.ns) == pair("master", "51")
    });
    assert!(
        master.is_some(),
        "master daemon once MASTER: {:?}\n{}",
        daemons(&d.ns),
        d.log()
    );
    // FAULT (tracked interface down): back to the backup daemon.
    d.ns.run_ok(&["ip", "link", "set", "trk0", "down"]);
    let fault = wait(Duration::from_secs(10), || {
        !d.holds_vip() && daemons(&d.ns) == pair("backup", "51")
    });
    assert!(
        fault.is_some(),
        "backup daemon in FAULT: {:?}\n{}",
        daemons(&d.ns),
        d.log()
    );
    d.ns.run_ok(&["ip", "link", "set", "trk0", "up"]);
    let master = wait(Duration::from_secs(30), || {
        d.holds_vip() && daemons(&d.ns) == pair("master", "51")
    });
    assert!(
        master.is_some(),
        "master again: {:?}\n{}",
        daemons(&d.ns),
        d.log()
    );

    // Reload with another weight and sync id: one edit in place (the service is not
    // re-created) and the master daemon restarted with the new id.
    std::fs::write(d.conf_path(), conf(5, " id 7")).unwrap();
    let pid = d.child.as_ref().unwrap().id().to_string();
    d.ns.run_ok(&["kill", "-HUP", &pid]);
    let edited = wait(Duration::from_secs(10), || {
        ipvs(&d)
            .lines()
            .any(|l| l.contains("192.0.2.12:80") && l.contains("Route   5"))
            && daemons(&d.ns) == pair("master", "7")
    });
    assert!(
        edited.is_some(),
        "weight not edited or daemon not restarted:\n{}\n{:?}\n{}",
        ipvs(&d),
        daemons(&d.ns),
        d.log()
    );
    let log = d.log();
    assert!(log.contains("edit destination 192.0.2.12:80"), "{log}");
    assert!(!log.contains("delete service"), "{log}");
    assert!(
        log.contains("Started the IPVS master sync daemon on eth0 (syncid 7)"),
        "{log}"
    );

    d.stop(STOP);
    let t = ipvs(&d);
    assert!(!t.contains(VIP), "keel's service left behind:\n{t}");
    assert!(
        t.contains("198.51.100.1:25"),
        "foreign service removed:\n{t}"
    );
    assert_eq!(daemons(&d.ns), vec![], "sync daemon left running");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `keeld -C` with a `virtual_server group`: one IPVS service per group member
/// (an address, a range, a fwmark), each with both real servers; a dead real server
/// leaves every member and comes back to every member; no VIP, no sync daemon (no
/// VRRP under -C); shutdown removes every member.
#[test]
#[ignore = "needs IPVS: run by cargo xtask vm test"]
fn check_only_programs_a_virtual_server_group() {
    if !keel_testkit::require_root("virtual_server_group")
        || !keel_testkit::require_tool("virtual_server_group", "ipvsadm")
    {
        return;
    }
    let mut d = standalone("dvm-vsg", &["eth0"]);
    let dir = d.dir().to_path_buf();
    for a in ["192.0.2.12", "192.0.2.13"] {
        d.ns.run_ok(&["ip", "addr", "add", &format!("{a}/32"), "dev", "lo"]);
    }
    std::fs::write(
        d.conf_path(),
        format!(
            "global_defs {{\n  lvs_sync_daemon eth0 VI_1\n}}\n\
             vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority 255\n  advert_int 1\n  virtual_ipaddress {{\n    {VIP}\n  }}\n}}\n\
             virtual_server_group web {{\n  {VIP} 80\n  192.0.2.240-241 8080\n  fwmark 7\n}}\n\
             virtual_server group web {{\n  delay_loop 1\n  lb_algo rr\n  lb_kind DR\n\
               real_server 192.0.2.12 80 {{\n    TCP_CHECK {{\n      connect_timeout 1\n      retry 1\n      delay_before_retry 1\n    }}\n  }}\n\
               real_server 192.0.2.13 80 {{\n    TCP_CHECK {{\n      connect_timeout 1\n      retry 1\n      delay_before_retry 1\n    }}\n  }}\n}}\n"
        ),
    )
    .unwrap();
    let listen = |ns: &Netns, a: &str| {
        let a = a.to_owned();
        ns.enter(move || TcpListener::bind(format!("{a}:80")).unwrap())
    };
    let mut web12 = Some(listen(&d.ns, "192.0.2.12"));
    let _web13 = listen(&d.ns, "192.0.2.13");
    start_with(&mut d, &["-C"]);
    let dests = |d: &Director, a: &str| {
        ipvs(d)
            .lines()
            .filter(|l| l.contains(&format!("-> {a}:")))
            .count()
    };
    let up = wait(Duration::from_secs(30), || {
        dests(&d, "192.0.2.12") == 4 && dests(&d, "192.0.2.13") == 4
    });
    let t = ipvs(&d);
    assert!(up.is_some(), "group not programmed:\n{t}\n{}", d.log());
    for svc in [
        "TCP  192.0.2.250:80 rr",
        "TCP  192.0.2.240:8080 rr",
        "TCP  192.0.2.241:8080 rr",
        "FWM  7 rr",
    ] {
        assert!(t.contains(svc), "{svc} missing:\n{t}");
    }
    assert!(t.contains("-> 192.0.2.12:8080"), "DR: member's port\n{t}");
    // Checked once per real server, not once per member.
    std::thread::sleep(Duration::from_secs(2));
    let log = d.log();
    assert_eq!(
        log.matches("TCP connection to [192.0.2.12]:tcp:80 success.")
            .count(),
        1,
        "{log}"
    );
    // -C: no VRRP, so no VIP and no sync daemon.
    assert!(!d.holds_vip(), "-C took the VIP\n{log}");
    assert_eq!(daemons(&d.ns), vec![], "sync daemon under -C");

    web12.take();
    let gone = wait(Duration::from_secs(12), || {
        dests(&d, "192.0.2.12") == 0 && dests(&d, "192.0.2.13") == 4
    });
    assert!(
        gone.is_some(),
        "12 not removed everywhere:\n{}\n{}",
        ipvs(&d),
        d.log()
    );
    assert!(
        d.log()
            .contains("Removing service [192.0.2.12]:tcp:80 from VS [web]:0"),
        "{}",
        d.log()
    );
    web12 = Some(listen(&d.ns, "192.0.2.12"));
    let back = wait(Duration::from_secs(12), || dests(&d, "192.0.2.12") == 4);
    assert!(
        back.is_some(),
        "12 not back everywhere:\n{}\n{}",
        ipvs(&d),
        d.log()
    );

    d.stop(STOP);
    let t = ipvs(&d);
    assert!(
        !t.contains("192.0.2.24") && !t.contains(VIP) && !t.contains("FWM"),
        "members left behind:\n{t}"
    );

    // `lvs_sync_daemon IFACE` without an instance belongs to the checkers
    // (keepalived's checker process): -C runs the master and the backup daemon
    // together, and stops both at shutdown.
    let conf = std::fs::read_to_string(d.conf_path()).unwrap();
    std::fs::write(
        d.conf_path(),
        conf.replacen("lvs_sync_daemon eth0 VI_1", "lvs_sync_daemon eth0 id 9", 1),
    )
    .unwrap();
    start_with(&mut d, &["-C"]);
    let both = wait(Duration::from_secs(30), || daemons(&d.ns).len() == 2);
    let mut ds = daemons(&d.ns);
    ds.sort();
    assert!(both.is_some(), "{ds:?}\n{}", d.log());
    assert_eq!(
        ds,
        vec![
            ("backup".to_string(), "9".to_string()),
            ("master".to_string(), "9".to_string())
        ],
        "{}",
        d.log()
    );
    d.stop(STOP);
    assert_eq!(daemons(&d.ns), vec![], "sync daemons left after -C stopped");
    drop(web12);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `keeld -P` (VRRP only) with virtual servers and `lvs_sync_daemon`: no IPVS service
/// is programmed (the checkers are the other half), but the sync daemon follows the
/// instance, as keepalived's VRRP process drives it.
#[test]
#[ignore = "needs IPVS: run by cargo xtask vm test"]
fn vrrp_only_runs_the_sync_daemon_but_no_virtual_server() {
    if !keel_testkit::require_root("keeld -P sync daemon")
        || !keel_testkit::require_tool("keeld -P sync daemon", "ipvsadm")
    {
        return;
    }
    let mut d = standalone("dvm-vonly", &["eth0"]);
    let dir = d.dir().to_path_buf();
    std::fs::write(
        d.conf_path(),
        format!(
            "global_defs {{\n  lvs_sync_daemon eth0 VI_1 id 9\n}}\n\
             vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority 255\n  advert_int 1\n  virtual_ipaddress {{\n    {VIP}\n  }}\n}}\n\
             virtual_server {VIP} 80 {{\n  delay_loop 1\n  lb_kind DR\n  real_server 192.0.2.12 80 {{\n    TCP_CHECK {{\n      connect_timeout 1\n    }}\n  }}\n}}\n"
        ),
    )
    .unwrap();
    start_with(&mut d, &["-P"]);
    let master = wait(Duration::from_secs(30), || {
        d.holds_vip() && daemons(&d.ns) == vec![("master".to_owned(), "9".to_owned())]
    });
    assert!(
        master.is_some(),
        "master daemon under -P: {:?}\n{}",
        daemons(&d.ns),
        d.log()
    );
    std::thread::sleep(Duration::from_secs(1));
    let t = ipvs(&d);
    assert!(!t.contains(VIP), "-P programmed a virtual server:\n{t}");
    let log = d.log();
    assert!(
        !log.contains("[192.0.2.12]:tcp:80"),
        "-P ran a check:\n{log}"
    );
    d.stop(STOP);
    assert_eq!(daemons(&d.ns), vec![], "sync daemon left running");
    let _ = std::fs::remove_dir_all(&dir);
}
