//! Kernel tests: every operation against a real IPVS, cross-checked with
//! ipvsadm. The host kernel may lack IPVS, so these are `#[ignore]`d and run
//! by `cargo xtask vm test` (with `--ignored`) inside the Debian kernel VM.
//! Each test works in its own network namespace (IPVS state is per netns).
#![allow(clippy::unwrap_used)]
use keel_ipvs::reconcile::{self, Options, VirtualService};
use keel_ipvs::*;
use keel_testkit::Netns;
use std::net::IpAddr;

const NEEDS: &str = "needs IPVS: run by cargo xtask vm test";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn setup(tag: &str) -> Option<(Netns, Ipvs)> {
    if !keel_testkit::require_root(tag) || !keel_testkit::require_tool(tag, "ipvsadm") {
        return None;
    }
    let ns = Netns::new(tag);
    let ipvs = ns.enter(Ipvs::new).expect("Ipvs::new in the VM");
    Some((ns, ipvs))
}

fn adm(ns: &Netns, args: &str) -> String {
    let argv: Vec<&str> = std::iter::once("ipvsadm")
        .chain(args.split_whitespace())
        .collect();
    ns.run_ok(&argv)
}

/// `ipvsadm` output split into per-service blocks, sorted (the kernel's hash
/// order differs between namespaces).
fn blocks(out: &str) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for l in out.lines() {
        let is_dest = l.starts_with("  ->") || l.starts_with("-a ");
        match v.last_mut() {
            Some(b) if is_dest => {
                b.push('\n');
                b.push_str(l);
            }
            _ => v.push(l.to_string()),
        }
    }
    v.sort();
    v
}

#[test]
#[ignore = "needs IPVS: run by cargo xtask vm test"]
fn guide_service_is_identical_to_ipvsadms() {
    let Some((ns_k, mut ipvs)) = setup("ipvs-guide") else {
        return;
    };
    let ns_a = Netns::new("ipvs-guide-adm");
    adm(&ns_a, "-A -t 192.0.2.250:80 -s rr -p 50");
    adm(&ns_a, "-a -t 192.0.2.250:80 -r 192.0.2.12:80 -g -w 1");
    adm(&ns_a, "-a -t 192.0.2.250:80 -r 192.0.2.13:80 -g -w 1");

    let key = ServiceKey::tcp(ip("192.0.2.250"), 80);
    ipvs.new_service(&Service::new(key, "rr").persistent(50))
        .unwrap();
    for rs in ["192.0.2.12", "192.0.2.13"] {
        ipvs.new_dest(&key, &Dest::new(ip(rs), 80, Forward::Route).weight(1))
            .unwrap();
    }
    let by_adm = adm(&ns_a, "-ln");
    let by_keel = adm(&ns_k, "-ln");
    println!("{by_keel}");
    assert_eq!(by_keel, by_adm);
    assert!(by_keel.contains("TCP  192.0.2.250:80 rr persistent 50"));
    assert!(by_keel.contains("  -> 192.0.2.12:80                Route   1      0          0"));
    assert_eq!(adm(&ns_k, "-Sn"), adm(&ns_a, "-Sn"));
    drop(ns_a);
}

struct Case {
    adm: &'static [&'static str],
    ops: Vec<Op>,
}

fn cases() -> Vec<Case> {
    let t = |a, p| ServiceKey::tcp(ip(a), p);
    let u = |a, p| ServiceKey::udp(ip(a), p);
    let s = |a, p| ServiceKey::sctp(ip(a), p);
    let d = |a, p, f| Dest::new(ip(a), p, f);
    let tun = |kind, port, flags| Forward::Tunnel { kind, port, flags };
    let mut v6p = Service::new(u("2001:db8::53", 53), "wlc");
    v6p.persistence = Some(Persistence {
        timeout: 300,
        prefix_len: 64,
    });
    let mut v4m = Service::new(t("192.0.2.251", 443), "wrr");
    v4m.persistence = Some(Persistence {
        timeout: 600,
        prefix_len: 24,
    });
    let mut shf = Service::new(s("203.0.113.9", 3868), "sh");
    shf.flags = ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT;
    let mut ops = Service::new(u("198.51.100.7", 53), "rr");
    ops.flags = ServiceFlags::ONE_PACKET;
    let mut mh = Service::new(t("198.51.100.8", 80), "mh");
    mh.flags = ServiceFlags::SCHED2;
    let mut sip = Service::new(u("192.0.2.252", 5060), "rr").persistent(60);
    sip.pe_name = Some("sip".into());
    let mut thr = d("2001:db8::12", 53, Forward::Masq).weight(3);
    thr.upper_threshold = 100;
    thr.lower_threshold = 10;
    let k6 = v6p.key;
    vec![
        Case {
            adm: &[
                "-A -u [2001:db8::53]:53 -s wlc -p 300 -M 64",
                "-a -u [2001:db8::53]:53 -r [2001:db8::12]:53 -m -w 3 -x 100 -y 10",
            ],
            ops: vec![Op::NewService(v6p), Op::NewDest(k6, thr)],
        },
        Case {
            adm: &[
                "-A -t 192.0.2.251:443 -s wrr -p 600 -M 255.255.255.0",
                "-a -t 192.0.2.251:443 -r 192.0.2.20:443 -i -w 5",
                "-a -t 192.0.2.251:443 -r 192.0.2.21:443 -i -w 2 --tun-type gue --tun-port 6080 --tun-csum",
                "-a -t 192.0.2.251:443 -r 192.0.2.22:443 -i -w 2 --tun-type gre --tun-csum",
            ],
            ops: vec![
                Op::NewService(v4m.clone()),
                Op::NewDest(v4m.key, d("192.0.2.20", 443, Forward::TUNNEL).weight(5)),
                Op::NewDest(
                    v4m.key,
                    d(
                        "192.0.2.21",
                        443,
                        tun(TunnelType::Gue, 6080, TunnelFlags::CSUM),
                    )
                    .weight(2),
                ),
                Op::NewDest(
                    v4m.key,
                    d(
                        "192.0.2.22",
                        443,
                        tun(TunnelType::Gre, 0, TunnelFlags::CSUM),
                    )
                    .weight(2),
                ),
            ],
        },
        Case {
            adm: &[
                "--add-service --sctp-service 203.0.113.9:3868 -s sh -b sh-fallback,sh-port",
                "-a --sctp-service 203.0.113.9:3868 -r 203.0.113.10:3868 -g -w 1",
            ],
            ops: vec![
                Op::NewService(shf.clone()),
                Op::NewDest(shf.key, d("203.0.113.10", 3868, Forward::Route)),
            ],
        },
        Case {
            adm: &[
                "-A -u 198.51.100.7:53 -s rr -o",
                "-A -t 198.51.100.8:80 -s mh -b mh-port",
            ],
            ops: vec![Op::NewService(ops), Op::NewService(mh)],
        },
        Case {
            adm: &["-A -u 192.0.2.252:5060 -s rr -p 60 --pe sip"],
            ops: vec![Op::NewService(sip)],
        },
        Case {
            adm: &[
                "-A -f 7 -s lc",
                "-a -f 7 -r 192.0.2.30:0 -g -w 0",
                "-A -f 8 -6 -s dh",
                "-a -f 8 -6 -r [2001:db8::30]:0 -g -w 1",
            ],
            ops: vec![
                Op::NewService(Service::new(ServiceKey::fwmark(Family::Inet, 7), "lc")),
                Op::NewDest(
                    ServiceKey::fwmark(Family::Inet, 7),
                    d("192.0.2.30", 0, Forward::Route).weight(0),
                ),
                Op::NewService(Service::new(ServiceKey::fwmark(Family::Inet6, 8), "dh")),
                Op::NewDest(
                    ServiceKey::fwmark(Family::Inet6, 8),
                    d("2001:db8::30", 0, Forward::Route),
                ),
            ],
        },
        Case {
            adm: &[
                "-A -t 192.0.2.40:1 -s lblc",
                "-A -t 192.0.2.40:2 -s lblcr",
                "-A -t 192.0.2.40:3 -s sed",
                "-A -t 192.0.2.40:4 -s nq",
                "-A -t 192.0.2.40:5 -s fo",
                "-A -t 192.0.2.40:6 -s ovf",
            ],
            ops: ["lblc", "lblcr", "sed", "nq", "fo", "ovf"]
                .iter()
                .enumerate()
                .map(|(i, s)| Op::NewService(Service::new(t("192.0.2.40", i as u16 + 1), s)))
                .collect(),
        },
    ]
}

#[test]
#[ignore = "needs IPVS: run by cargo xtask vm test"]
fn every_service_and_dest_kind_matches_ipvsadm() {
    let Some((ns_k, mut ipvs)) = setup("ipvs-kinds") else {
        return;
    };
    let ns_a = Netns::new("ipvs-kinds-adm");
    let mut want: Vec<(Service, Vec<Dest>)> = Vec::new();
    for c in cases() {
        for l in c.adm {
            adm(&ns_a, l);
        }
        ipvs.execute(&c.ops)
            .unwrap_or_else(|e| panic!("{:?}: {e}", c.adm));
        for op in c.ops {
            match op {
                Op::NewService(s) => want.push((s, vec![])),
                Op::NewDest(k, d) => want.iter_mut().find(|(s, _)| s.key == k).unwrap().1.push(d),
                _ => unreachable!(),
            }
        }
    }
    for flag in ["-Sn", "-ln", "-ln --thresholds", "-ln --persistent-conn"] {
        let (a, k) = (adm(&ns_a, flag), adm(&ns_k, flag));
        println!("ipvsadm {flag} after keel:\n{k}");
        assert_eq!(blocks(&k), blocks(&a), "ipvsadm {flag}");
    }
    // keel reads back exactly what was created
    let mut got = ipvs.list().unwrap();
    assert_eq!(got.len(), want.len());
    for (s, dests) in &want {
        let i = got
            .iter()
            .position(|(e, _)| e.service == *s)
            .unwrap_or_else(|| panic!("{s:?} not listed"));
        let (_, mut gd) = got.remove(i);
        gd.sort_by_key(|d| d.dest.addr);
        let mut wd = dests.clone();
        wd.sort_by_key(|d| d.addr);
        assert_eq!(gd.into_iter().map(|d| d.dest).collect::<Vec<_>>(), wd);
        assert_eq!(ipvs.service(&s.key).unwrap().service, *s);
    }
    // and keel reads what ipvsadm created the same way
    let a_side = ns_a.enter(|| Ipvs::new().unwrap().list().unwrap());
    let mut mine = ipvs.list().unwrap();
    let mut theirs = a_side;
    mine.sort_by_key(|(s, _)| s.service.key);
    theirs.sort_by_key(|(s, _)| s.service.key);
    assert_eq!(
        mine.iter().map(|(s, _)| &s.service).collect::<Vec<_>>(),
        theirs.iter().map(|(s, _)| &s.service).collect::<Vec<_>>()
    );
}

#[test]
#[ignore = "needs IPVS: run by cargo xtask vm test"]
fn edit_and_delete_in_place() {
    let Some((ns, mut ipvs)) = setup("ipvs-edit") else {
        return;
    };
    let key = ServiceKey::tcp(ip("192.0.2.250"), 80);
    let mut s = Service::new(key, "rr");
    ipvs.new_service(&s).unwrap();
    let mut d = Dest::new(ip("192.0.2.12"), 80, Forward::Route);
    ipvs.new_dest(&key, &d).unwrap();
    ipvs.new_dest(&key, &Dest::new(ip("192.0.2.13"), 80, Forward::Route))
        .unwrap();
    // edit service: scheduler + persistence (ipvsadm -E)
    s.scheduler = "wlc".into();
    s = s.persistent(120);
    ipvs.set_service(&s).unwrap();
    assert!(adm(&ns, "-ln").contains("TCP  192.0.2.250:80 wlc persistent 120"));
    // edit dest: weight, forwarding, thresholds (ipvsadm -e)
    d.weight = 7;
    d.forward = Forward::Masq;
    d.upper_threshold = 50;
    d.lower_threshold = 5;
    ipvs.set_dest(&key, &d).unwrap();
    let sn = adm(&ns, "-Sn");
    assert!(
        sn.contains("-a -t 192.0.2.250:80 -r 192.0.2.12:80 -m -w 7"),
        "{sn}"
    );
    let th = adm(&ns, "-ln --thresholds");
    let line = th.lines().find(|l| l.contains("-> 192.0.2.12:80")).unwrap();
    assert_eq!(
        line.split_whitespace().collect::<Vec<_>>()[2..4],
        ["50", "5"],
        "{th}"
    );
    assert_eq!(
        ipvs.dests(&key)
            .unwrap()
            .iter()
            .find(|e| e.dest.addr == d.addr)
            .unwrap()
            .dest,
        d
    );
    // delete one dest, then the service
    assert_eq!(
        ipvs.del_dest(&key, ip("192.0.2.13"), 80).unwrap(),
        Outcome::Done
    );
    assert!(!adm(&ns, "-ln").contains("192.0.2.13"));
    assert_eq!(ipvs.dests(&key).unwrap().len(), 1);
    // deleting what is gone: AlreadyAbsent, as keel-vip does
    assert_eq!(
        ipvs.del_dest(&key, ip("192.0.2.13"), 80).unwrap(),
        Outcome::AlreadyAbsent
    );
    assert_eq!(ipvs.del_service(&key).unwrap(), Outcome::Done);
    assert!(!adm(&ns, "-ln").contains("192.0.2.250"));
    assert_eq!(ipvs.del_service(&key).unwrap(), Outcome::AlreadyAbsent);
    let e = ipvs.service(&key).unwrap_err();
    assert_eq!(e.errno(), Some(Errno::ESRCH), "{e}");
    // a destination of a missing service is an error, not AlreadyAbsent
    let e = ipvs.del_dest(&key, ip("192.0.2.12"), 80).unwrap_err();
    assert_eq!(e.errno(), Some(Errno::ESRCH), "{e}");
}

#[test]
#[ignore = "needs IPVS: run by cargo xtask vm test"]
fn errors_name_operation_and_object() {
    let Some((_ns, mut ipvs)) = setup("ipvs-err") else {
        return;
    };
    let key = ServiceKey::tcp(ip("192.0.2.250"), 80);
    assert_eq!(
        ipvs.new_service(&Service::new(key, "rr")).unwrap(),
        Outcome::Done
    );
    // adding what is there: AlreadyPresent, as keel-vip does
    assert_eq!(
        ipvs.new_service(&Service::new(key, "rr")).unwrap(),
        Outcome::AlreadyPresent
    );
    let e = ipvs
        .set_service(&Service::new(ServiceKey::tcp(ip("192.0.2.1"), 1), "rr"))
        .unwrap_err();
    assert_eq!(e.errno(), Some(Errno::ESRCH));
    assert_eq!(
        e.to_string(),
        "edit service TCP 192.0.2.1:1 (rr): No such process (os error 3)"
    );
    let e = ipvs
        .new_service(&Service::new(ServiceKey::tcp(ip("192.0.2.1"), 1), "nosuch"))
        .unwrap_err();
    assert_eq!(e.errno(), Some(Errno::ENOENT), "unknown scheduler: {e}");
    // a batch: 6 ops, 2 fail, 2 find the table as wanted; every failure is
    // reported with its index and object
    let other = ServiceKey::udp(ip("192.0.2.99"), 9);
    let ops = vec![
        Op::NewDest(key, Dest::new(ip("192.0.2.12"), 80, Forward::Route)),
        Op::NewDest(key, Dest::new(ip("192.0.2.12"), 80, Forward::Route)),
        Op::NewDest(other, Dest::new(ip("192.0.2.12"), 80, Forward::Route)),
        Op::NewDest(key, Dest::new(ip("192.0.2.13"), 80, Forward::Route)),
        Op::DelService(ServiceKey::fwmark(Family::Inet, 1234)),
        Op::SetDest(key, Dest::new(ip("192.0.2.14"), 80, Forward::Route)),
    ];
    match ipvs.execute(&ops) {
        Err(Error::Batch(f)) => {
            let idx: Vec<usize> = f.iter().map(|e| e.index).collect();
            assert_eq!(idx, vec![2, 5]);
            assert_eq!(f[0].errno, Errno::ESRCH);
            assert_eq!(f[0].op, ops[2]);
            assert_eq!(f[1].errno, Errno::ENOENT);
            assert!(
                f[1].to_string().starts_with("edit destination "),
                "{}",
                f[1]
            );
        }
        r => panic!("{r:?}"),
    }
    let ok = &ops[..2];
    assert_eq!(
        ipvs.execute(ok).unwrap(),
        vec![Outcome::AlreadyPresent, Outcome::AlreadyPresent]
    );
    assert_eq!(
        ipvs.dests(&key).unwrap().len(),
        2,
        "the good ops were applied"
    );
}

#[test]
#[ignore = "needs IPVS: run by cargo xtask vm test"]
fn info_timeouts_flush() {
    let Some((ns, mut ipvs)) = setup("ipvs-misc") else {
        return;
    };
    let info = ipvs.info().unwrap();
    let (a, b, c) = info.version_triple();
    let head = adm(&ns, "-ln");
    assert!(
        head.starts_with(&format!(
            "IP Virtual Server version {a}.{b}.{c} (size={})",
            info.conn_tab_size
        )),
        "{head}"
    );
    ipvs.set_timeouts(&Timeouts {
        tcp: 901,
        tcp_fin: 121,
        udp: 301,
    })
    .unwrap();
    assert!(adm(&ns, "-L --timeout").contains("Timeout (tcp tcpfin udp): 901 121 301"));
    assert_eq!(
        ipvs.timeouts().unwrap(),
        Timeouts {
            tcp: 901,
            tcp_fin: 121,
            udp: 301
        }
    );
    adm(&ns, "--set 902 0 302");
    assert_eq!(
        ipvs.timeouts().unwrap(),
        Timeouts {
            tcp: 902,
            tcp_fin: 121,
            udp: 302
        }
    );
    for p in 1..=5 {
        ipvs.new_service(&Service::new(ServiceKey::tcp(ip("192.0.2.250"), p), "rr"))
            .unwrap();
    }
    assert_eq!(ipvs.services().unwrap().len(), 5);
    ipvs.flush().unwrap();
    assert_eq!(ipvs.services().unwrap().len(), 0);
    assert_eq!(adm(&ns, "-Sn"), "");
}

#[test]
#[ignore = "needs IPVS: run by cargo xtask vm test"]
fn stats_count_traffic_and_zero_clears_them() {
    let Some((ns, mut ipvs)) = setup("ipvs-stats") else {
        return;
    };
    // A client namespace on a veth; the director (ns) has the VIP on lo and
    // answers ARP for it. IPVS schedules the client's SYNs to a DR real
    // server that does not exist (nothing answers), which is enough to count.
    let client = Netns::new("ipvs-stats-cl");
    ns.veth_to(&client, "kd0", "kc0");
    ns.run_ok(&["ip", "addr", "add", "192.0.2.1/24", "dev", "kd0"]);
    ns.run_ok(&["ip", "addr", "add", "192.0.2.250/32", "dev", "lo"]);
    client.run_ok(&["ip", "addr", "add", "192.0.2.100/24", "dev", "kc0"]);
    let key = ServiceKey::tcp(ip("192.0.2.250"), 80);
    ipvs.new_service(&Service::new(key, "rr")).unwrap();
    ipvs.new_dest(&key, &Dest::new(ip("192.0.2.12"), 80, Forward::Route))
        .unwrap();
    client.enter(|| {
        for _ in 0..3 {
            let _ = std::net::TcpStream::connect_timeout(
                &"192.0.2.250:80".parse().unwrap(),
                std::time::Duration::from_millis(300),
            );
        }
    });
    // Kernels before 6.2 fold the per-CPU counters into the visible ones in
    // the 2-second estimator timer: poll for up to 8 s.
    let mut s = ipvs.service(&key).unwrap().stats;
    for _ in 0..40 {
        if s.conns >= 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        s = ipvs.service(&key).unwrap().stats;
    }
    let d = ipvs.dests(&key).unwrap()[0].clone();
    assert!(s.conns >= 1 && s.in_pkts >= 1 && s.in_bytes >= 40, "{s:?}");
    assert_eq!(d.stats.conns, s.conns);
    assert!(d.active_conns + d.inactive_conns >= 1, "{d:?}");
    // ipvsadm --stats shows the same counters: "TCP  192.0.2.250:80  conns inpkts outpkts inbytes outbytes"
    let st = adm(&ns, "-ln --stats");
    let line = st
        .lines()
        .find(|l| l.starts_with("TCP  192.0.2.250:80"))
        .unwrap();
    let f: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(f[2].parse::<u64>().unwrap(), s.conns, "{st}");
    assert_eq!(f[3].parse::<u64>().unwrap(), s.in_pkts, "{st}");
    assert_eq!(f[5].parse::<u64>().unwrap(), s.in_bytes, "{st}");
    ipvs.zero(Some(&key)).unwrap();
    assert_eq!(ipvs.service(&key).unwrap().stats.conns, 0);
    let st = adm(&ns, "-ln --stats");
    let line = st
        .lines()
        .find(|l| l.starts_with("TCP  192.0.2.250:80"))
        .unwrap();
    assert_eq!(
        line.split_whitespace().nth(2),
        Some("0"),
        "ipvsadm sees the zeroed counter: {st}"
    );
    ipvs.zero(None).unwrap();
    assert_eq!(ipvs.dests(&key).unwrap()[0].stats.in_pkts, 0);
}

#[test]
#[ignore = "needs IPVS: run by cargo xtask vm test"]
fn sync_daemons_start_list_stop() {
    let Some((ns, mut ipvs)) = setup("ipvs-sync") else {
        return;
    };
    ns.run_ok(&[
        "ip", "link", "add", "ks0", "type", "veth", "peer", "name", "ks1",
    ]);
    ns.run_ok(&["ip", "link", "set", "ks0", "up"]);
    ns.run_ok(&["ip", "link", "set", "ks1", "up"]);
    ns.run_ok(&["ip", "addr", "add", "192.0.2.1/24", "dev", "ks0"]);
    let mut m = SyncDaemon::new(SyncState::Master, "ks0", 7);
    m.ttl = Some(2);
    m.port = Some(8849);
    ipvs.start_sync_daemon(&m).unwrap();
    let b = SyncDaemon::new(SyncState::Backup, "ks0", 9);
    ipvs.start_sync_daemon(&b).unwrap();
    let out = adm(&ns, "-L --daemon");
    println!("{out}");
    assert!(
        out.contains("master sync daemon (mcast=ks0, syncid=7"),
        "{out}"
    );
    assert!(
        out.contains("backup sync daemon (mcast=ks0, syncid=9"),
        "{out}"
    );
    let ds = ipvs.sync_daemons().unwrap();
    let master = ds.iter().find(|d| d.state == SyncState::Master).unwrap();
    assert_eq!((master.interface.as_str(), master.sync_id), ("ks0", 7));
    assert_eq!((master.ttl, master.port), (Some(2), Some(8849)));
    assert!(
        ds.iter()
            .any(|d| d.state == SyncState::Backup && d.sync_id == 9)
    );
    // starting the same role twice: EEXIST or EBUSY, reported as StartDaemon
    let e = ipvs.start_sync_daemon(&m).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Request {
                command: Command::StartDaemon,
                ..
            }
        ),
        "{e}"
    );
    ipvs.stop_sync_daemon(SyncState::Master).unwrap();
    let out = adm(&ns, "-L --daemon");
    assert!(!out.contains("master"), "{out}");
    ipvs.stop_sync_daemon(SyncState::Backup).unwrap();
    assert!(ipvs.sync_daemons().unwrap().is_empty());
}

fn target(n: u16, weight: u32) -> Vec<VirtualService> {
    (0..n)
        .map(|i| VirtualService {
            service: Service::new(ServiceKey::tcp(ip("192.0.2.250"), 1000 + i), "wlc"),
            dests: (1..=4)
                .map(|j| {
                    Dest::new(ip(&format!("198.51.100.{j}")), 80, Forward::Route).weight(weight)
                })
                .collect(),
        })
        .collect()
}

#[test]
#[ignore = "needs IPVS: run by cargo xtask vm test"]
fn reconcile_changes_only_what_changed() {
    let Some((ns, mut ipvs)) = setup("ipvs-rec") else {
        return;
    };
    adm(&ns, "-A -t 203.0.113.1:80 -s rr"); // not ours: must survive
    let mut want = target(10, 1);
    let opts = Options::default();
    let c0 = ipvs.counters();
    let p = ipvs.reconcile(&want, &opts, false).unwrap();
    assert_eq!(p.ops.len(), 50);
    assert_eq!(ipvs.counters().writes - c0.writes, 50);
    assert_eq!(
        ipvs.counters().sends - c0.sends,
        3,
        "1 service dump, 1 dests dump (the foreign service), 1 batch"
    );
    // no-op: zero writes
    let c1 = ipvs.counters();
    let p = ipvs.reconcile(&want, &opts, false).unwrap();
    assert!(p.is_empty(), "{p}");
    assert_eq!(
        ipvs.counters().writes,
        c1.writes,
        "a no-op reconcile writes nothing"
    );
    // change: one weight, one dest removed, one service added, one removed
    want[3].dests[2].weight = 9;
    want[5].dests.pop();
    let gone = want.remove(7).service.key;
    want.extend(target(11, 1).pop());
    let mut owned = Options::default();
    owned.owned.insert(gone);
    // dry run: plan only
    let c2 = ipvs.counters();
    let dry = ipvs.reconcile(&want, &owned, true).unwrap();
    assert_eq!(ipvs.counters().writes, c2.writes);
    println!("dry run:\n{dry}");
    assert_eq!(
        dry.ops.len(),
        1 + 1 + 1 + 1 + 4,
        "set-dest, del-dest, del-service, new-service + 4 dests"
    );
    assert!(
        dry.to_string()
            .contains("edit destination 198.51.100.3:80 of TCP 192.0.2.250:1003 (weight 9)")
    );
    let p = ipvs.reconcile(&want, &owned, false).unwrap();
    assert_eq!(p, dry);
    assert_eq!(ipvs.counters().writes - c2.writes, 8);
    let sn = adm(&ns, "-Sn");
    assert!(
        sn.contains("-a -t 192.0.2.250:1003 -r 198.51.100.3:80 -g -w 9"),
        "{sn}"
    );
    assert!(!sn.contains("192.0.2.250:1007"));
    assert!(
        sn.contains("-A -t 203.0.113.1:80 -s rr"),
        "foreign service kept"
    );
    assert_eq!(ipvs.current().unwrap().len(), 11);
    // the weight edit happened in place: the same plan is now empty
    assert!(ipvs.reconcile(&want, &owned, true).unwrap().is_empty());
    // all: the foreign one goes
    let all = Options {
        all: true,
        ..Default::default()
    };
    let p = ipvs.reconcile(&want, &all, false).unwrap();
    assert_eq!(
        p.ops,
        vec![Op::DelService(ServiceKey::tcp(ip("203.0.113.1"), 80))]
    );
    let _ = reconcile::apply;
}

#[test]
#[ignore = "needs IPVS: run by cargo xtask vm test"]
fn batching_sends_many_requests_per_send() {
    let Some((ns, mut ipvs)) = setup("ipvs-batch") else {
        return;
    };
    let want = target(200, 1);
    let ops = reconcile::plan(&want, &[], &Options::default()).ops;
    assert_eq!(ops.len(), 1000);
    let c = ipvs.counters();
    ipvs.execute(&ops).unwrap();
    let sends = ipvs.counters().sends - c.sends;
    assert_eq!(sends, 1000_u64.div_ceil(DEFAULT_BATCH as u64));
    assert_eq!(adm(&ns, "-Sn").lines().count(), 1000);
    // bigger batches also work (ACKs must still fit the receive buffer)
    ipvs.flush().unwrap();
    ipvs.set_batch_size(1024);
    ipvs.execute(&ops).unwrap();
    assert_eq!(
        ipvs.list()
            .unwrap()
            .iter()
            .map(|(_, d)| d.len())
            .sum::<usize>(),
        800
    );
    let _ = NEEDS;
}
