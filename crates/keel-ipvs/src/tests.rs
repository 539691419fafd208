//! Round-trip tests (emit -> parse) for every request and reply; run anywhere.
use crate::reconcile::{self, Options, VirtualService};
use crate::types::*;
use crate::wire::*;
use std::net::IpAddr;

const FAM: u16 = 0x23;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn keys() -> Vec<ServiceKey> {
    vec![
        ServiceKey::tcp(ip("192.0.2.250"), 80),
        ServiceKey::udp(ip("198.51.100.7"), 53),
        ServiceKey::sctp(ip("203.0.113.9"), 3868),
        ServiceKey::tcp(ip("2001:db8::250"), 443),
        ServiceKey::udp(ip("2001:db8::53"), 53),
        ServiceKey::fwmark(Family::Inet, 7),
        ServiceKey::fwmark(Family::Inet6, 0xdead_beef),
    ]
}

fn services() -> Vec<Service> {
    let mut v = Vec::new();
    for (i, k) in keys().into_iter().enumerate() {
        let scheds = [
            "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh",
            "twos",
        ];
        let mut s = Service::new(k, scheds[i % scheds.len()]);
        v.push(s.clone());
        s.flags = ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT | ServiceFlags::ONE_PACKET;
        v.push(s.clone());
        s = s.persistent(50);
        v.push(s.clone());
        s.persistence = Some(Persistence {
            timeout: 3600,
            prefix_len: if k.family() == Family::Inet { 24 } else { 64 },
        });
        s.pe_name = Some("sip".into());
        s.flags = ServiceFlags::SCHED3;
        v.push(s);
    }
    v
}

fn dests() -> Vec<Dest> {
    let mut v = Vec::new();
    for a in [ip("192.0.2.12"), ip("2001:db8::12")] {
        for f in [
            Forward::Masq,
            Forward::Local,
            Forward::Route,
            Forward::Bypass,
            Forward::TUNNEL,
            Forward::Tunnel {
                kind: TunnelType::Gue,
                port: 6080,
                flags: TunnelFlags::CSUM,
            },
            Forward::Tunnel {
                kind: TunnelType::Gue,
                port: 5555,
                flags: TunnelFlags::REMCSUM,
            },
            Forward::Tunnel {
                kind: TunnelType::Gre,
                port: 0,
                flags: TunnelFlags::NOCSUM,
            },
        ] {
            let mut d = Dest::new(a, 8080, f).weight(7);
            d.upper_threshold = 1000;
            d.lower_threshold = 10;
            v.push(d);
        }
    }
    v.push(Dest::new(ip("192.0.2.13"), 0, Forward::Route).weight(0));
    v
}

fn roundtrip(req: &Request) -> Request {
    let mut w = Writer::default();
    encode(&mut w, FAM, 42, req);
    let msgs: Vec<_> = messages(&w.buf).collect::<Result<_, _>>().unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].kind, FAM);
    assert_eq!(msgs[0].seq, 42);
    assert_eq!(msgs[0].flags & NLM_F_REQUEST, NLM_F_REQUEST);
    assert_eq!(w.buf.len() % 4, 0);
    decode_request(&msgs[0]).unwrap()
}

#[test]
fn every_request_roundtrips() {
    let mut reqs = vec![
        Request::GetServices,
        Request::GetDaemons,
        Request::GetConfig,
        Request::GetInfo,
        Request::Flush,
        Request::Zero(None),
        Request::SetConfig(Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300,
        }),
        Request::DelDaemon(SyncState::Master),
        Request::DelDaemon(SyncState::Backup),
        Request::NewDaemon(SyncDaemon::new(SyncState::Master, "eth0", 7)),
        Request::NewDaemon(SyncDaemon {
            state: SyncState::Backup,
            interface: "veth-keel0".into(),
            sync_id: 200,
            max_len: Some(1400),
            group: Some(ip("239.0.0.81")),
            port: Some(8849),
            ttl: Some(3),
        }),
        Request::NewDaemon(SyncDaemon {
            group: Some(ip("ff02::81")),
            ..SyncDaemon::new(SyncState::Master, "lo", 1)
        }),
    ];
    for s in services() {
        reqs.push(Request::Write(Op::NewService(s.clone())));
        reqs.push(Request::Write(Op::SetService(s.clone())));
    }
    for k in keys() {
        reqs.push(Request::Write(Op::DelService(k)));
        reqs.push(Request::GetService(k));
        reqs.push(Request::GetDests(k));
        reqs.push(Request::Zero(Some(k)));
        for d in dests() {
            reqs.push(Request::Write(Op::NewDest(k, d.clone())));
            reqs.push(Request::Write(Op::SetDest(k, d.clone())));
            reqs.push(Request::Write(Op::DelDest(k, d.addr, d.port)));
        }
    }
    for r in &reqs {
        assert_eq!(&roundtrip(r), r);
    }
    assert!(reqs.len() > 300);
}

#[test]
fn dump_flags_only_on_lists() {
    for (r, dump) in [
        (Request::GetServices, true),
        (Request::GetDaemons, true),
        (Request::GetDests(keys()[0]), true),
        (Request::GetService(keys()[0]), false),
        (Request::Flush, false),
    ] {
        let mut w = Writer::default();
        encode(&mut w, FAM, 1, &r);
        let m = messages(&w.buf).next().unwrap().unwrap();
        assert_eq!(m.flags & NLM_F_DUMP == NLM_F_DUMP, dump, "{r:?}");
        assert_eq!(m.flags & NLM_F_ACK != 0, !dump, "{r:?}");
    }
}

#[test]
fn byte_order_of_key_attributes() {
    // TCP 192.0.2.250:80 persistent 50, mask 255.255.255.0
    let mut s = Service::new(ServiceKey::tcp(ip("192.0.2.250"), 80), "rr");
    s.persistence = Some(Persistence {
        timeout: 50,
        prefix_len: 24,
    });
    let mut w = Writer::default();
    encode_op(&mut w, FAM, 1, &Op::NewService(s), true);
    let b = &w.buf;
    let find = |pat: &[u8]| b.windows(pat.len()).any(|x| x == pat);
    assert!(
        find(&[8, 0, 3, 0, 192, 0, 2, 250]),
        "address: raw network-order bytes"
    );
    assert!(find(&[6, 0, 4, 0, 0, 80]), "port: big endian");
    assert!(
        find(&[8, 0, 9, 0, 255, 255, 255, 0]),
        "v4 netmask: big endian mask"
    );
    assert!(
        find(&[7, 0, 6, 0, b'r', b'r', 0]),
        "scheduler: NUL-terminated"
    );
    let mut flags = vec![12, 0, 7, 0];
    flags.extend_from_slice(&1u32.to_ne_bytes());
    flags.extend_from_slice(&u32::MAX.to_ne_bytes());
    assert!(
        find(&flags),
        "flags: {{flags, mask}} host order, persistent bit"
    );
    // IPv6: netmask is the prefix length in host order
    let s6 = Service::new(ServiceKey::tcp(ip("2001:db8::1"), 80), "rr").persistent(10);
    let mut w = Writer::default();
    encode_op(&mut w, FAM, 1, &Op::NewService(s6), true);
    let mut nm = vec![8, 0, 9, 0];
    nm.extend_from_slice(&128u32.to_ne_bytes());
    assert!(w.buf.windows(8).any(|x| x == nm));
    // GUE tunnel port: big endian
    let d = Dest::new(
        ip("192.0.2.12"),
        80,
        Forward::Tunnel {
            kind: TunnelType::Gue,
            port: 6080,
            flags: TunnelFlags::CSUM,
        },
    );
    let mut w = Writer::default();
    encode_op(&mut w, FAM, 1, &Op::NewDest(keys()[0], d), false);
    assert!(w.buf.windows(6).any(|x| x == [6, 0, 14, 0, 0x17, 0xc0]));
}

#[test]
fn every_reply_roundtrips() {
    let stats = Stats {
        conns: 1,
        in_pkts: 2,
        out_pkts: 3,
        in_bytes: 1 << 40,
        out_bytes: 5,
        cps: 6,
        in_pps: 7,
        out_pps: 8,
        in_bps: 9,
        out_bps: 10,
    };
    let mut replies = vec![
        Reply::Info(Info {
            version: 0x010201,
            conn_tab_size: 4096,
        }),
        Reply::Config(Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300,
        }),
        Reply::Daemon(SyncDaemon {
            state: SyncState::Master,
            interface: "eth0".into(),
            sync_id: 9,
            max_len: Some(1472),
            group: Some(ip("224.0.0.81")),
            port: Some(8848),
            ttl: Some(1),
        }),
    ];
    for s in services() {
        replies.push(Reply::Service(ServiceEntry { service: s, stats }));
    }
    for d in dests() {
        replies.push(Reply::Dest(DestEntry {
            dest: d,
            active_conns: 11,
            inactive_conns: 12,
            persist_conns: 13,
            stats,
        }));
    }
    let mut w = Writer::default();
    for (i, r) in replies.iter().enumerate() {
        encode_reply(&mut w, FAM, i as u32, r);
    }
    // all in one datagram, as the kernel sends dumps
    let parsed: Vec<Reply> = messages(&w.buf)
        .map(|m| parse_reply(m.unwrap().payload(), Family::Inet).unwrap())
        .collect();
    assert_eq!(parsed, replies);
    assert_eq!(
        Info {
            version: 0x010201,
            conn_tab_size: 1
        }
        .version_triple(),
        (1, 2, 1)
    );
}

#[test]
fn legacy_32bit_stats_are_read() {
    // A service reply carrying only IPVS_SVC_ATTR_STATS (u32 counters, u64 bytes).
    let mut w = Writer::default();
    let s = Service::new(keys()[0], "rr");
    encode_reply(
        &mut w,
        FAM,
        1,
        &Reply::Service(ServiceEntry {
            service: s.clone(),
            stats: Stats::default(),
        }),
    );
    // rewrite STATS64 (12) to STATS (10) with u32 values by building by hand
    let mut buf = w.buf.clone();
    let pos = buf
        .windows(4)
        .rposition(|x| x[2] == 12 && x[3] == 0x80)
        .unwrap();
    buf[pos + 2] = 10;
    let m = messages(&buf).next().unwrap().unwrap();
    match parse_reply(m.payload(), Family::Inet).unwrap() {
        Reply::Service(e) => assert_eq!(e.service, s),
        r => panic!("{r:?}"),
    }
}

#[test]
fn truncated_and_garbage_input_never_panics() {
    let mut w = Writer::default();
    encode(
        &mut w,
        FAM,
        1,
        &Request::Write(Op::NewService(services()[3].clone())),
    );
    for cut in 0..w.buf.len() {
        let b = &w.buf[..cut];
        for m in messages(b).flatten() {
            let _ = decode_request(&m);
            let _ = parse_reply(m.payload(), Family::Inet6);
        }
    }
    let mut x: u32 = 1;
    for _ in 0..2000 {
        let mut b = w.buf.clone();
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let i = (x as usize) % b.len();
        b[i] ^= (x >> 16) as u8;
        for m in messages(&b).flatten() {
            let _ = decode_request(&m);
            let _ = parse_reply(m.payload(), Family::Inet);
        }
    }
}

#[test]
fn op_display_names_the_object() {
    let k = ServiceKey::tcp(ip("192.0.2.250"), 80);
    assert_eq!(
        Op::DelService(k).to_string(),
        "delete service TCP 192.0.2.250:80"
    );
    assert_eq!(
        Op::NewDest(k, Dest::new(ip("2001:db8::12"), 80, Forward::Route)).to_string(),
        "add destination [2001:db8::12]:80 to TCP 192.0.2.250:80 (weight 1)"
    );
    assert_eq!(
        ServiceKey::fwmark(Family::Inet6, 3).to_string(),
        "FWM 3 IPv6"
    );
    let e = crate::Error::Unavailable;
    assert_eq!(
        e.to_string(),
        "IPVS is not available: load the ip_vs module"
    );
}

fn vs(port: u16, dests: &[(&str, u32)]) -> VirtualService {
    VirtualService {
        service: Service::new(ServiceKey::tcp(ip("192.0.2.250"), port), "rr"),
        dests: dests
            .iter()
            .map(|(a, w)| Dest::new(ip(a), 80, Forward::Route).weight(*w))
            .collect(),
    }
}

#[test]
fn plan_is_minimal() {
    let cur = vec![
        vs(80, &[("192.0.2.12", 1), ("192.0.2.13", 1)]),
        vs(81, &[("192.0.2.12", 1)]),
    ];
    // identical: nothing
    assert!(reconcile::plan(&cur, &cur, &Options::default()).is_empty());
    assert_eq!(
        reconcile::plan(&cur, &cur, &Options::default()).to_string(),
        "no changes\n"
    );
    // weight change: edit in place, nothing else
    let mut want = cur.clone();
    want[0].dests[1].weight = 5;
    let p = reconcile::plan(&want, &cur, &Options::default());
    assert_eq!(
        p.ops,
        vec![Op::SetDest(want[0].service.key, want[0].dests[1].clone())]
    );
    // dest removed + added, scheduler changed
    let mut want = cur.clone();
    want[1].service.scheduler = "wlc".into();
    want[1].dests = vec![Dest::new(ip("192.0.2.14"), 80, Forward::Masq)];
    let p = reconcile::plan(&want, &cur, &Options::default());
    let k = want[1].service.key;
    assert_eq!(
        p.ops,
        vec![
            Op::DelDest(k, ip("192.0.2.12"), 80),
            Op::SetService(want[1].service.clone()),
            Op::NewDest(k, want[1].dests[0].clone()),
        ]
    );
}

#[test]
fn plan_only_touches_owned_services() {
    let cur = vec![vs(80, &[("192.0.2.12", 1)]), vs(81, &[]), vs(82, &[])];
    let want = vec![vs(80, &[("192.0.2.12", 1)])];
    // not owned: 81 and 82 stay
    assert!(reconcile::plan(&want, &cur, &Options::default()).is_empty());
    // 81 owned: deleted; 82 foreign: kept
    let mut o = Options::default();
    o.owned.insert(cur[1].service.key);
    assert_eq!(
        reconcile::plan(&want, &cur, &o).ops,
        vec![Op::DelService(cur[1].service.key)]
    );
    // all: both deleted
    let o = Options {
        all: true,
        ..Default::default()
    };
    assert_eq!(reconcile::plan(&want, &cur, &o).ops.len(), 2);
    // from empty: services before their dests
    let p = reconcile::plan(&cur, &[], &Options::default());
    assert!(matches!(p.ops[0], Op::NewService(_)));
    assert!(matches!(p.ops.last(), Some(Op::NewDest(..))));
}

#[test]
fn plan_ignores_what_the_kernel_normalizes() {
    let mut want = vs(80, &[("192.0.2.12", 1)]);
    let cur = want.clone();
    want.service.flags = ServiceFlags(0x0001 | 0x0002); // persistent/hashed bits: not flags here
    want.service.pe_name = Some(String::new());
    assert!(
        reconcile::plan(
            std::slice::from_ref(&want),
            std::slice::from_ref(&cur),
            &Options::default()
        )
        .is_empty()
    );
    want.service.persistence = Some(Persistence {
        timeout: 5,
        prefix_len: 99,
    });
    let mut cur2 = cur.clone();
    cur2.service.persistence = Some(Persistence {
        timeout: 5,
        prefix_len: 32,
    });
    assert!(reconcile::plan(&[want], &[cur2], &Options::default()).is_empty());
}

#[test]
fn request_errors_name_the_command() {
    let e = crate::Error::Request {
        command: crate::Command::GetService,
        errno: crate::Errno::ESRCH,
    };
    assert!(e.to_string().starts_with("get service: "), "{e}");
    assert_eq!(e.errno(), Some(crate::Errno(3)));
}

mod prop {
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn addr() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
            any::<u128>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a))),
        ]
    }

    fn key() -> impl Strategy<Value = ServiceKey> {
        prop_oneof![
            (0..3u8, addr(), any::<u16>()).prop_map(|(p, addr, port)| ServiceKey::Addr {
                protocol: [Protocol::Tcp, Protocol::Udp, Protocol::Sctp][p as usize],
                addr,
                port
            }),
            (any::<bool>(), 1..=u32::MAX).prop_map(|(v6, mark)| ServiceKey::Fwmark {
                family: if v6 { Family::Inet6 } else { Family::Inet },
                mark
            }),
        ]
    }

    fn service() -> impl Strategy<Value = Service> {
        (
            key(),
            "[a-z]{1,15}",
            0..16u32,
            proptest::option::of((any::<u32>(), 0..=128u8)),
            proptest::option::of("[a-z]{1,15}"),
        )
            .prop_map(|(key, scheduler, f, p, pe_name)| {
                let max = if key.family() == Family::Inet {
                    32
                } else {
                    128
                };
                Service {
                    key,
                    scheduler,
                    flags: ServiceFlags(f << 2),
                    persistence: p.map(|(timeout, l)| Persistence {
                        timeout,
                        prefix_len: l.min(max),
                    }),
                    pe_name,
                }
            })
    }

    fn forward() -> impl Strategy<Value = Forward> {
        prop_oneof![
            Just(Forward::Masq),
            Just(Forward::Local),
            Just(Forward::Route),
            Just(Forward::Bypass),
            (0..3u8, any::<u16>(), 0..3u16).prop_map(|(k, port, fl)| Forward::Tunnel {
                kind: [TunnelType::Ipip, TunnelType::Gue, TunnelType::Gre][k as usize],
                port,
                flags: TunnelFlags(fl),
            }),
        ]
    }

    fn dest() -> impl Strategy<Value = Dest> {
        (
            addr(),
            any::<u16>(),
            forward(),
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
        )
            .prop_map(
                |(addr, port, forward, weight, upper_threshold, lower_threshold)| Dest {
                    addr,
                    port,
                    forward,
                    weight,
                    upper_threshold,
                    lower_threshold,
                },
            )
    }

    proptest! {
        #[test]
        fn service_and_dest_requests_roundtrip(s in service(), d in dest(), k in key()) {
            for r in [
                Request::Write(Op::NewService(s.clone())),
                Request::Write(Op::SetService(s.clone())),
                Request::Write(Op::DelService(s.key)),
                Request::Write(Op::NewDest(k, d.clone())),
                Request::Write(Op::SetDest(k, d.clone())),
                Request::Write(Op::DelDest(k, d.addr, d.port)),
                Request::GetDests(k),
            ] {
                prop_assert_eq!(roundtrip(&r), r);
            }
        }

        #[test]
        fn replies_roundtrip(s in service(), d in dest(), c in any::<[u64; 3]>()) {
            let stats = Stats { conns: c[0], in_bytes: c[1], out_pps: c[2], ..Stats::default() };
            let replies = [
                Reply::Service(ServiceEntry { service: s, stats }),
                Reply::Dest(DestEntry { dest: d, active_conns: c[0] as u32, inactive_conns: 0, persist_conns: 1, stats }),
            ];
            let mut w = Writer::default();
            for r in &replies {
                encode_reply(&mut w, FAM, 9, r);
            }
            let got: Vec<Reply> = messages(&w.buf)
                .map(|m| parse_reply(m.unwrap().payload(), Family::Inet).unwrap())
                .collect();
            prop_assert_eq!(&got[..], &replies[..]);
        }

        #[test]
        fn parsing_arbitrary_bytes_never_panics(b in proptest::collection::vec(any::<u8>(), 0..512)) {
            for m in messages(&b).flatten() {
                let _ = decode_request(&m);
                let _ = parse_reply(m.payload(), Family::Inet);
                let _ = m.error();
            }
        }
    }
}
