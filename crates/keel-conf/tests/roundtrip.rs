//! The canonical printer: parse(print(m)) == m for arbitrary valid models, and printing is
//! stable (print(parse(print(m))) == print(m)).
#![allow(clippy::unwrap_used)]

use keel_conf::*;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9_.-]{0,10}"
}
fn cmd() -> impl Strategy<Value = String> {
    "/[a-z]{1,8}( [a-z0-9=-]{1,5}){0,2}"
}
fn v4() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from)
}
fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        v4().prop_map(IpAddr::V4),
        any::<u128>().prop_map(|x| IpAddr::V6(Ipv6Addr::from(x)))
    ]
}
fn secs() -> impl Strategy<Value = Duration> {
    (0u64..100_000, prop_oneof![Just(0u32), 0u32..1_000_000])
        .prop_map(|(s, us)| Duration::new(s, us * 1000))
}
/// keepalived reads garp_master_refresh as whole seconds.
fn whole_secs() -> impl Strategy<Value = Duration> {
    (0u64..100_000).prop_map(Duration::from_secs)
}
/// vrrp_garp_interval / vrrp_gna_interval: 0.000001..4294.967295 s.
fn gap_secs() -> impl Strategy<Value = Duration> {
    (1u64..=u64::from(u32::MAX)).prop_map(Duration::from_micros)
}
fn pos_secs() -> impl Strategy<Value = Duration> {
    secs().prop_filter("non-zero", |d| !d.is_zero())
}
fn user() -> impl Strategy<Value = ScriptUser> {
    (name(), option::of(name())).prop_map(|(user, group)| ScriptUser { user, group })
}
fn script() -> impl Strategy<Value = Script> {
    (cmd(), option::of(user())).prop_map(|(command, user)| Script {
        command,
        user,
        span: Span::default(),
    })
}
fn scope() -> impl Strategy<Value = Scope> {
    prop_oneof![
        Just(Scope::Global),
        Just(Scope::Site),
        Just(Scope::Link),
        Just(Scope::Host),
        Just(Scope::Nowhere),
        (1u8..200).prop_map(Scope::Other)
    ]
}

fn global() -> impl Strategy<Value = GlobalDefs> {
    (
        (
            option::of(name()),
            any::<bool>(),
            option::of(user()),
            any::<bool>(),
            secs(),
            1u32..100,
            option::of(whole_secs().prop_filter("non-zero", |d| !d.is_zero())),
        ),
        (
            1u32..100,
            option::of(secs()),
            option::of(0u32..100),
            gap_secs(),
            gap_secs(),
            any::<[bool; 8]>(),
        ),
        (
            option::of((
                name(),
                option::of(name()),
                option::of(any::<u8>()),
                option::of(1u16..65000),
                option::of(1u16..),
                option::of(1u8..),
                option::of(ip()),
            )),
            option::of(secs()),
            option::of(secs()),
            option::of(secs()),
            vec("[a-z]{1,6}@example\\.com", 0..3),
            option::of(name()),
            option::of((name(), any::<u16>())),
            option::of(name()),
            secs(),
        ),
    )
        .prop_map(|(a, b, c)| {
            let (router_id, v3, script_user, sec, gmd, gmr, gmrf) = a;
            let (gmrr, lpd, lpr, gi, gni, f) = b;
            let (sd, tcp, tcpfin, udp, emails, from, smtp, helo, sct) = c;
            GlobalDefs {
                router_id,
                vrrp_version: if v3 { VrrpVersion::V3 } else { VrrpVersion::V2 },
                script_user,
                enable_script_security: sec,
                vrrp_garp_master_delay: gmd,
                vrrp_garp_master_repeat: gmr,
                vrrp_garp_master_refresh: gmrf,
                vrrp_garp_master_refresh_repeat: gmrr,
                vrrp_garp_lower_prio_delay: lpd,
                vrrp_garp_lower_prio_repeat: lpr,
                vrrp_garp_interval: gi,
                vrrp_gna_interval: gni,
                vrrp_min_garp: f[0],
                vrrp_strict: f[1],
                vrrp_skip_check_adv_addr: f[2],
                vrrp_check_unicast_src: f[3],
                lvs_sync_daemon: sd.map(
                    |(interface, vrrp_instance, id, maxlen, port, ttl, group)| LvsSyncDaemon {
                        interface,
                        vrrp_instance,
                        id,
                        maxlen,
                        port,
                        ttl,
                        group,
                        span: Span::default(),
                    },
                ),
                lvs_timeouts: LvsTimeouts { tcp, tcpfin, udp },
                lvs_flush: f[4],
                keel_anycast: None,
                keel_stop_mode: f[6].then_some(if f[7] {
                    StopMode::Handover
                } else {
                    StopMode::Resign
                }),
                keel_metrics_listen: f[5].then(|| {
                    if f[7] {
                        "[2001:db8::1]:9165".parse().unwrap()
                    } else {
                        "192.0.2.1:9165".parse().unwrap()
                    }
                }),
                notification_email: emails,
                notification_email_from: from,
                smtp_server: smtp.map(|(host, port)| SmtpServer { host, port }),
                smtp_helo_name: helo,
                smtp_connect_timeout: sct,
                smtp_alert: f[5],
                dynamic_interfaces: v3 && f[0],
                span: Span::default(),
            }
        })
}

fn vip() -> impl Strategy<Value = VirtualIp> {
    (
        ip(),
        any::<u8>(),
        option::of(v4()),
        option::of(name()),
        scope(),
        option::of(name()),
        any::<bool>(),
    )
        .prop_map(|(a, p, brd, dev, scope, label, no_track)| {
            let max = if a.is_ipv4() { 33 } else { 129 };
            VirtualIp {
                addr: Some(a),
                prefix_len: p % max,
                brd: if a.is_ipv4() { brd } else { None },
                dev,
                scope,
                label,
                no_track,
                span: Span::default(),
            }
        })
}

fn route() -> impl Strategy<Value = VirtualRoute> {
    (
        v4(),
        0u8..33,
        option::of(v4()),
        option::of(v4()),
        option::of(name()),
        option::of(scope()),
        option::of(any::<u32>()),
        option::of(any::<u32>()),
        any::<bool>(),
    )
        .prop_map(
            |(d, p, src, via, dev, scope, table, metric, blackhole)| VirtualRoute {
                dst: Some(ipnet::IpNet::V4(ipnet::Ipv4Net::new(d, p).unwrap().trunc())),
                src: src.map(IpAddr::V4),
                via: via.map(IpAddr::V4),
                dev,
                scope,
                table,
                metric,
                blackhole,
                span: Span::default(),
            },
        )
}

fn tracks() -> impl Strategy<Value = (Vec<TrackInterface>, Vec<TrackScript>)> {
    (
        vec((name(), option::of(-254i32..=254), any::<bool>()), 0..3),
        vec((name(), option::of(-254i32..=254), any::<bool>()), 0..3),
    )
        .prop_map(|(a, b)| {
            (
                a.into_iter()
                    .map(|(name, weight, reverse)| TrackInterface {
                        name,
                        weight,
                        reverse,
                        span: Span::default(),
                    })
                    .collect(),
                b.into_iter()
                    .map(|(name, weight, reverse)| TrackScript {
                        name,
                        weight,
                        reverse,
                        span: Span::default(),
                    })
                    .collect(),
            )
        })
}

fn notify() -> impl Strategy<Value = Notify> {
    (
        option::of(script()),
        option::of(script()),
        option::of(script()),
        option::of(script()),
        option::of(script()),
    )
        .prop_map(|(notify, master, backup, fault, stop)| Notify {
            notify,
            master,
            backup,
            fault,
            stop,
        })
}

fn instance(v3: bool, strict: bool) -> impl Strategy<Value = VrrpInstance> {
    (
        (
            name(),
            any::<bool>(),
            option::of(name()),
            0u8..=255,
            1u8..=255,
            1u64..=255,
            1u64..=4095,
            option::of(any::<bool>()),
        ),
        (
            option::of(("[A-Za-z0-9.]{1,8}", any::<bool>())),
            vec(vip(), 0..3),
            vec(vip(), 0..2),
            vec(route(), 0..2),
            option::of(ip()),
            vec(ip(), 0..3),
        ),
        (
            any::<bool>(),
            0u64..1000,
            tracks(),
            notify(),
            option::of(secs()),
            option::of(1u32..50),
            option::of(whole_secs()),
            option::of(1u32..50),
        ),
        (
            option::of(option::of(name())),
            any::<bool>(),
            option::of(any::<bool>()),
            any::<bool>(),
            option::of(any::<bool>()),
        ),
    )
        .prop_map(move |(a, b, c, d)| {
            let (name, master, interface, vrid, prio, adv2, adv3, ver) = a;
            let (auth, vips, excl, routes, src, peers) = b;
            let (nopreempt, pdelay, (ti, ts), notify, gmd, gmr, gmrf, gmrr) = c;
            let (vmac, xmit, accept, dtp, smtp) = d;
            let version = ver.map(|x| if x { VrrpVersion::V3 } else { VrrpVersion::V2 });
            let eff_v3 = version.map_or(v3, |v| v == VrrpVersion::V3);
            // keepalived's (and keel's) rules for contradictory settings.
            let master = if strict { prio == 255 } else { master };
            let auth = if strict { None } else { auth };
            // keepalived clears state MASTER with AH authentication.
            let master = master && !auth.as_ref().is_some_and(|(_, ah)| *ah);
            let nopreempt = nopreempt && !master && prio != 255;
            let pdelay = if master || strict { 0 } else { pdelay };
            VrrpInstance {
                name,
                state: if master {
                    InitialState::Master
                } else {
                    InitialState::Backup
                },
                interface,
                virtual_router_id: vrid,
                priority: prio,
                advert_int: if eff_v3 {
                    Duration::from_millis(adv3 * 10)
                } else {
                    Duration::from_secs(adv2)
                },
                version,
                authentication: auth.map(|(pass, ah)| Authentication {
                    auth_type: if ah { AuthType::Ah } else { AuthType::Pass },
                    auth_pass: pass,
                    span: Span::default(),
                }),
                virtual_ipaddress: vips,
                virtual_ipaddress_excluded: excl,
                virtual_routes: routes,
                unicast_src_ip: src,
                unicast_peers: peers,
                nopreempt,
                preempt_delay: Duration::from_secs(pdelay),
                track_interfaces: ti,
                track_scripts: ts,
                notify,
                garp_master_delay: gmd,
                garp_master_repeat: gmr,
                garp_master_refresh: gmrf,
                garp_master_refresh_repeat: gmrr,
                use_vmac: vmac.map(|n| n.unwrap_or_default()),
                use_vmac_addr: None,
                vmac_xmit_base: xmit,
                accept,
                dont_track_primary: dtp,
                smtp_alert: smtp,
                span: Span::default(),
            }
        })
}

fn vscript() -> impl Strategy<Value = VrrpScript> {
    (
        name(),
        cmd(),
        pos_secs(),
        option::of(secs()),
        -253i32..=253,
        any::<bool>(),
        1u32..10,
        1u32..10,
        option::of(user()),
        any::<bool>(),
    )
        .prop_map(
            |(
                name,
                script,
                interval,
                timeout,
                weight,
                weight_reverse,
                rise,
                fall,
                user,
                init_fail,
            )| VrrpScript {
                name,
                script,
                interval,
                timeout,
                weight,
                weight_reverse,
                rise,
                fall,
                user,
                init_fail,
                span: Span::default(),
            },
        )
}

fn sync_group() -> impl Strategy<Value = SyncGroup> {
    (
        name(),
        vec(name(), 0..3),
        notify(),
        tracks(),
        option::of(any::<bool>()),
    )
        .prop_map(|(name, group, notify, (ti, ts), smtp_alert)| SyncGroup {
            name,
            group,
            notify,
            track_interfaces: ti,
            track_scripts: ts,
            smtp_alert,
            span: Span::default(),
        })
}

fn checker() -> impl Strategy<Value = Checker> {
    let url = (
        "/[a-z]{0,8}",
        option::of("[0-9a-f]{32}"),
        vec((100u16..600, 0u16..50), 0..3),
        option::of(name()),
    )
        .prop_map(|(path, digest, codes, vh)| Url {
            path,
            digest,
            status_code: codes
                .into_iter()
                .map(|(a, d)| (a, (a + d).min(599)))
                .collect(),
            virtualhost: vh,
            regex: None,
            span: Span::default(),
        });
    let http = (
        vec(url, 0..2),
        option::of(name()),
        any::<bool>(),
        option::of(prop_oneof![Just("1.0"), Just("1.0C"), Just("1.1")]),
        any::<bool>(),
    )
        .prop_map(
            |(urls, virtualhost, enable_sni, proto, fast_recovery)| HttpCheck {
                urls,
                virtualhost,
                enable_sni,
                http_protocol: proto.map(str::to_owned),
                fast_recovery,
            },
        )
        .boxed();
    let kind = prop_oneof![
        Just(CheckKind::Tcp),
        http.clone().prop_map(|h| CheckKind::Http(Box::new(h))),
        http.prop_map(|h| CheckKind::Ssl(Box::new(h))),
        (cmd(), option::of(secs()), any::<bool>(), option::of(user())).prop_map(
            |(path, timeout, dynamic, user)| CheckKind::Misc(Box::new(MiscCheck {
                path,
                timeout,
                dynamic,
                user
            }))
        ),
        (
            option::of(prop_oneof![
                Just("A"),
                Just("SOA"),
                Just("AAAA"),
                Just("TXT")
            ]),
            option::of("[a-z]{1,8}(\\.[a-z]{1,8}){0,2}"),
        )
            .prop_map(|(t, n)| CheckKind::Dns(Box::new(DnsCheck {
                qtype: t.map(str::to_owned),
                name: n,
            }))),
        option::of("[a-z]{1,8}(\\.[a-z]{1,8}){0,2}")
            .prop_map(|h| CheckKind::Smtp(Box::new(SmtpCheck { helo_name: h }))),
        Just(CheckKind::Ping),
        (
            option::of("[0-9a-f]{2}( [0-9a-f]{2}){0,3}"),
            option::of(option::of("[0-9a-fx]{2}( [0-9a-fx]{2}){0,3}")),
            option::of(any::<u16>()),
        )
            .prop_map(|(payload, reply, max)| CheckKind::Udp(Box::new(UdpCheck {
                payload,
                require_reply: reply.is_some(),
                reply: reply.flatten(),
                min_reply_length: None,
                max_reply_length: max,
            }))),
    ];
    (
        kind,
        option::of(ip()),
        option::of(any::<u16>()),
        option::of(ip()),
        option::of(any::<u16>()),
        option::of(secs()),
        option::of(any::<u32>()),
        option::of(any::<u32>()),
        option::of(secs()),
        option::of(secs()),
        option::of(secs()),
    )
        .prop_map(
            |(
                kind,
                connect_ip,
                connect_port,
                bindto,
                bind_port,
                connect_timeout,
                fwmark,
                retry,
                dbr,
                warmup,
                delay_loop,
            )| Checker {
                kind,
                connect_ip,
                connect_port,
                bindto,
                bind_port,
                connect_timeout,
                retry,
                delay_before_retry: dbr,
                warmup,
                delay_loop,
                fwmark,
                span: Span::default(),
            },
        )
}

fn real_server(v6: bool) -> impl Strategy<Value = RealServer> {
    (
        any::<u32>(),
        any::<u16>(),
        0i32..=65535,
        option::of(any::<bool>()),
        option::of(script()),
        option::of(script()),
        option::of(any::<bool>()),
        option::of(pos_secs()),
        vec(checker(), 0..3),
    )
        .prop_map(
            move |(a, port, weight, iof, up, down, smtp, dl, checkers)| RealServer {
                addr: if v6 {
                    IpAddr::V6(Ipv6Addr::from(u128::from(a)))
                } else {
                    IpAddr::V4(Ipv4Addr::from(a))
                },
                port,
                weight,
                inhibit_on_failure: iof,
                notify_up: up.map(Box::new),
                notify_down: down.map(Box::new),
                smtp_alert: smtp,
                delay_loop: dl,
                checkers,
                span: Span::default(),
            },
        )
}

fn virtual_server() -> impl Strategy<Value = VirtualServer> {
    let addr = prop_oneof![
        (ip(), any::<u16>()).prop_map(|(addr, port)| VsAddr::Ip { addr, port }),
        (1u32..).prop_map(VsAddr::Fwmark),
        name().prop_map(VsAddr::Group),
    ];
    (
        (
            addr,
            pos_secs(),
            0usize..14,
            0usize..3,
            option::of(1u32..),
            option::of(v4()),
            0usize..3,
            option::of((ip(), any::<u16>())),
        ),
        (
            any::<[bool; 5]>(),
            1u32..10,
            0u32..10,
            option::of(script()),
            option::of(script()),
            option::of(name()),
            option::of(any::<u32>()),
            option::of(secs()),
            option::of(secs()),
            option::of(secs()),
        ),
        any::<bool>(),
    )
        .prop_flat_map(|(a, b, v6)| {
            let v6 = match &a.0 {
                VsAddr::Ip { addr, .. } => addr.is_ipv6(),
                _ => v6,
            };
            (Just(a), Just(b), vec(real_server(v6), 0..3))
        })
        .prop_map(|(a, b, real_servers)| {
            let (addr, delay_loop, algo, kind, pt, pg, proto, sorry) = a;
            let (f, quorum, hysteresis, qu, qd, vh, retry, dbr, ct, wu) = b;
            VirtualServer {
                announce: None,
                addr,
                delay_loop,
                lb_algo: Scheduler::ALL[algo],
                lb_kind: [Forward::Masq, Forward::Route, Forward::TUNNEL][kind],
                persistence_timeout: pt,
                persistence_granularity: pg.map(IpAddr::V4),
                protocol: [Protocol::Tcp, Protocol::Udp, Protocol::Sctp][proto],
                sorry_server: sorry.map(|(addr, port)| SorryServer { addr, port }),
                sorry_server_inhibit: f[0],
                alpha: f[1],
                omega: f[2],
                quorum,
                hysteresis,
                quorum_up: qu.map(Box::new),
                quorum_down: qd.map(Box::new),
                inhibit_on_failure: f[3],
                ha_suspend: f[4],
                virtualhost: vh,
                retry,
                delay_before_retry: dbr,
                connect_timeout: ct,
                warmup: wu,
                real_servers,
                span: Span::default(),
            }
        })
}

fn vs_group() -> impl Strategy<Value = VirtualServerGroup> {
    let entry = prop_oneof![
        (ip(), option::of(any::<u8>()), any::<u16>()).prop_map(|(addr, e, port)| VsgEntry::Range {
            addr,
            range_end: e.map(u16::from),
            port
        }),
        any::<u32>().prop_map(VsgEntry::Fwmark),
    ];
    (name(), vec(entry, 0..3)).prop_map(|(name, entries)| VirtualServerGroup {
        name,
        entries,
        span: Span::default(),
    })
}

fn config() -> impl Strategy<Value = Config> {
    global()
        .prop_flat_map(|g| {
            let v3 = g.vrrp_version == VrrpVersion::V3;
            let strict = g.vrrp_strict;
            (
                Just(g),
                vec(instance(v3, strict), 0..3),
                vec(sync_group(), 0..2),
                vec(vscript(), 0..2),
                vec(virtual_server(), 0..3),
                vec(vs_group(), 0..2),
            )
        })
        .prop_map(
            |(
                global,
                vrrp_instances,
                sync_groups,
                vrrp_scripts,
                virtual_servers,
                virtual_server_groups,
            )| Config {
                global,
                vrrp_instances,
                sync_groups,
                vrrp_scripts,
                virtual_servers,
                virtual_server_groups,
                track_files: Vec::new(),
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parse_print_roundtrip(m in config()) {
        let text = print(&m);
        let l = load_str("printed.conf", &text, &LoadOptions::default());
        // Parsing never loses or invents data (semantic checks may still complain, e.g.
        // about a track_script naming no vrrp_script: those are not syntax problems).
        for d in &l.diagnostics {
            prop_assert!(
                !matches!(d.code, Code::Syntax | Code::UnknownKeyword | Code::InvalidValue | Code::Unsupported),
                "{}\n{}", d, text
            );
        }
        prop_assert_eq!(&l.config, &m, "{}", text);
        prop_assert_eq!(print(&l.config), text);
    }
}

#[test]
fn printed_guide_config_is_canonical() {
    let p =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/lvs-dr-director1.conf");
    let l = load_file(&p, &LoadOptions::default());
    let text = print(&l.config);
    assert!(
        text.contains("global_defs {\n    router_id HA_TEST_R1\n}\n"),
        "{text}"
    );
    assert!(text.contains("        TCP_CHECK {\n            connect_port 80\n            connect_timeout 3\n            retry 3\n            delay_before_retry 4\n        }\n"), "{text}");
    let again = load_str("x", &text, &LoadOptions::default());
    assert!(again.diagnostics.is_empty(), "{:?}", again.diagnostics);
    assert_eq!(again.config, l.config);
}
