//! Forms keepalived 2.2.7 accepts that keel-conf used to refuse, and forms keel-conf used
//! to accept that keepalived refuses (issue 18). Each configuration lives in
//! `tests/forms/` (so the compatibility test runs `keepalived -t` on it too); each test
//! states the exact diagnostics and the model keepalived builds from it.
#![allow(clippy::unwrap_used)]

use keel_conf::*;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/forms")
        .join(name)
}

fn load(name: &str) -> Loaded {
    load_file(
        &path(name),
        &LoadOptions {
            config_id: Some("main".into()),
            check_environment: false,
        },
    )
}

fn load_text(text: &str) -> Loaded {
    load_str(
        "t.conf",
        text,
        &LoadOptions {
            config_id: Some("main".into()),
            check_environment: false,
        },
    )
}

/// (severity, code, line, col, message) of every diagnostic.
fn diags(l: &Loaded) -> Vec<(Severity, Code, u32, u32, String)> {
    l.diagnostics
        .iter()
        .map(|d| (d.severity, d.code, d.line, d.col, d.message.clone()))
        .collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn routes_via_inet6_and_default6() {
    let l = load("routes-via-inet6.conf");
    assert_eq!(
        diags(&l),
        vec![(
            Severity::Note,
            Code::InvalidValue,
            9,
            9,
            "'default6' is deprecated".into()
        )]
    );
    let r = &l.config.vrrp_instances[0].virtual_routes;
    assert_eq!(r.len(), 3);
    assert_eq!(r[0].dst, Some("2001:db8:1::/64".parse().unwrap()));
    assert_eq!(r[0].via, Some(ip("2001:db8::1")));
    assert_eq!(r[0].dev.as_deref(), Some("eth0"));
    assert_eq!(r[1].dst, Some("::/0".parse().unwrap()));
    assert_eq!(r[1].via, Some(ip("2001:db8::1")));
    assert_eq!(r[2].dst, Some("0.0.0.0/0".parse().unwrap()));
    assert_eq!(r[2].via, Some(ip("192.0.2.1")));
    // `default` takes its family from the gateway.
    let l = load_text(
        "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_routes {\n  default via 2001:db8::1\n }\n}\n",
    );
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    assert_eq!(
        l.config.vrrp_instances[0].virtual_routes[0].dst,
        Some("::/0".parse().unwrap())
    );
    // keepalived 2.2.7 steps over the word after `inet6`: "Route must have a
    // destination" for `inet6 default via X`, and so does keel.
    let l = load_text(
        "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_routes {\n  inet6 default via 2001:db8::1\n }\n}\n",
    );
    assert_eq!(
        diags(&l),
        vec![(
            Severity::Error,
            Code::Missing,
            5,
            3,
            "virtual route has no destination".into()
        )]
    );
    // Mixed families: keepalived "Cannot mix IPv4 and IPv6 addresses for route".
    let l = load_text(
        "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_routes {\n  192.0.2.0/24 via inet6 2001:db8::1\n }\n}\n",
    );
    assert_eq!(
        diags(&l),
        vec![(
            Severity::Error,
            Code::Conflict,
            5,
            3,
            "a route cannot mix IPv4 and IPv6 addresses".into()
        )]
    );
}

#[test]
fn alpha_omega_ignore_an_argument() {
    let l = load("vs-alpha-omega-arg.conf");
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let vs = &l.config.virtual_servers[0];
    assert!(vs.alpha && vs.omega);
    assert_eq!(vs.real_servers.len(), 1);
}

#[test]
fn vip_broadcast_plus_minus() {
    let l = load("vip-brd-computed.conf");
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let v = &l.config.vrrp_instances[0].virtual_ipaddress;
    assert_eq!(v[0].brd, Some("192.0.2.255".parse().unwrap()));
    assert_eq!(v[1].brd, Some("198.51.100.0".parse().unwrap()));
    // keepalived: "Address prefix length 31 too long for broadcast" (and runs).
    let l = load_text(
        "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.1/31 brd +\n }\n}\n",
    );
    assert_eq!(
        diags(&l),
        vec![(
            Severity::Warning,
            Code::InvalidValue,
            5,
            20,
            "prefix length /31 is too long for a computed broadcast; 'brd +' ignored".into()
        )]
    );
    assert_eq!(l.config.vrrp_instances[0].virtual_ipaddress[0].brd, None);
}

/// A comment line ending in `\` continues a multi-line definition; `# $VIPS` is not
/// expanded; `${_HASH}` starts a comment (keepalived removes comments after
/// substituting), also in the middle of a value.
#[test]
fn definitions_and_comments() {
    let l = load("defs-comments.conf");
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let v = &l.config.vrrp_instances[0];
    let vips: Vec<IpAddr> = v.virtual_ipaddress.iter().filter_map(|x| x.addr).collect();
    assert_eq!(vips, vec![ip("192.0.2.1"), ip("192.0.2.2")]);
    assert_eq!(v.priority, 1);
    // A comment-only line inside the definition neither ends nor adds; an empty line
    // ends it.
    let l = load_text(
        "$V=192.0.2.1 \\\n! just a comment\n192.0.2.2 \\\n\n192.0.2.3\nvrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  $V\n }\n}\n",
    );
    assert_eq!(
        diags(&l),
        vec![(
            Severity::Error,
            Code::UnknownKeyword,
            5,
            1,
            "unknown keyword '192.0.2.3' in top level".into()
        )]
    );
    let vips: Vec<IpAddr> = l.config.vrrp_instances[0]
        .virtual_ipaddress
        .iter()
        .filter_map(|x| x.addr)
        .collect();
    assert_eq!(vips, vec![ip("192.0.2.1"), ip("192.0.2.2")]);
}

/// keepalived matches the protocol without case; a lower-case `udp` no longer turns
/// into TCP and makes the second virtual server a duplicate of the first.
#[test]
fn protocol_without_case() {
    let l = load("vs-protocol-lowercase.conf");
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let p: Vec<Protocol> = l
        .config
        .virtual_servers
        .iter()
        .map(|v| v.protocol)
        .collect();
    assert_eq!(p, vec![Protocol::Tcp, Protocol::Udp]);
}

#[test]
fn tunnel_types() {
    let l = load("vs-tunnel-types.conf");
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let t: Vec<Forward> = l.config.virtual_servers.iter().map(|v| v.lb_kind).collect();
    let tun = |kind, port, flags| Forward::Tunnel { kind, port, flags };
    assert_eq!(
        t,
        vec![
            tun(TunnelType::Gue, 6080, TunnelFlags::NOCSUM),
            tun(TunnelType::Gre, 0, TunnelFlags::CSUM),
            tun(TunnelType::Ipip, 0, TunnelFlags::NOCSUM),
        ]
    );
    // keepalived: "gue tunnels require port, otherwise cannot have port."
    let vs = |m: &str| format!("virtual_server 192.0.2.1 80 {{\n lb_kind {m}\n}}\n");
    for (m, col, msg) in [
        ("TUN type gue", 14, "a gue tunnel needs 'port P'"),
        ("TUN type gre port 1", 23, "only a gue tunnel takes a port"),
        (
            "TUN type ipip csum",
            14,
            "ipip tunnels have no checksum option",
        ),
        ("TUN type gue port 1 remcsum", 0, ""),
    ] {
        let l = load_text(&vs(m));
        let want = if m.ends_with("remcsum") {
            // a valid GUE line: remcsum is allowed there
            vec![]
        } else {
            vec![(Severity::Error, Code::InvalidValue, 2, col, msg.to_string())]
        };
        assert_eq!(diags(&l), want, "{m}");
    }
}

/// `~SEQ(VAR, $START, $END)` takes its bounds from definitions; `${_RANDOM MIN MAX}`
/// and `${_RANDOM}` are keepalived's random numbers.
#[test]
fn seq_variable_bounds_and_random() {
    let l = load("seq-variable-bounds.conf");
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let v = &l.config.vrrp_instances[0];
    let vips: Vec<IpAddr> = v.virtual_ipaddress.iter().filter_map(|x| x.addr).collect();
    assert_eq!(
        vips,
        vec![ip("192.0.2.2"), ip("192.0.2.3"), ip("192.0.2.4")]
    );
    assert!((10..=20).contains(&v.priority), "{}", v.priority);
    let r = v.garp_master_refresh.unwrap();
    assert!(r <= Duration::from_secs(32767), "{r:?}");
}

/// keepalived's duplicate-VRID rule: unicast instances with no peer in common, and a
/// multicast instance beside unicast ones, are distinct; a different mcast_dst_ip
/// makes them distinct for keepalived, which keel says it cannot honour.
#[test]
fn duplicate_vrid_rule() {
    let l = load("vrid-distinct.conf");
    assert_eq!(
        diags(&l),
        vec![
            (
                Severity::Warning,
                Code::Unsupported,
                31,
                5,
                "'mcast_dst_ip' (in vrrp_instance) is not supported by keel; ignored".into()
            ),
            (
                Severity::Warning,
                Code::Conflict,
                30,
                23,
                "virtual_router_id 51 is also used on eth0 by the instance at line 21; keepalived keeps them apart by mcast_dst_ip, which keel does not implement".into()
            ),
        ]
    );
    // A shared peer is a conflict, as in keepalived ("duplicate VRID conflict").
    let inst = |n: &str, peer: &str| {
        format!(
            "vrrp_instance {n} {{\n interface eth0\n virtual_router_id 9\n unicast_peer {{\n  {peer}\n }}\n virtual_ipaddress {{\n  192.0.2.1\n }}\n}}\n"
        )
    };
    let l = load_text(&(inst("A", "192.0.2.11") + &inst("B", "192.0.2.11")));
    assert_eq!(
        diags(&l),
        vec![(
            Severity::Error,
            Code::Conflict,
            13,
            20,
            "virtual_router_id 9 is already used on eth0 by another instance".into()
        )]
    );
}

/// `notify_master /bin/bash a.sh 3 4 5` unquoted: keepalived runs /bin/bash as user
/// a.sh, group 3 (and drops the rest); keel reads the same and warns.
#[test]
fn unquoted_notify_with_arguments() {
    let l = load("notify-unquoted.conf");
    assert_eq!(
        diags(&l),
        vec![(
            Severity::Warning,
            Code::InvalidValue,
            4,
            36,
            "'notify_master' runs '/bin/bash' as user 'a.sh' group '3'; the words after them are ignored".into()
        )]
    );
    assert_eq!(
        l.diagnostics[0].hint.as_deref(),
        Some("to pass arguments, quote the command line: notify_master \"/bin/bash a.sh 3 4 5\"")
    );
    let s = l.config.vrrp_instances[0].notify.master.as_ref().unwrap();
    assert_eq!(s.command, "/bin/bash");
    assert_eq!(
        s.user,
        Some(ScriptUser {
            user: "a.sh".into(),
            group: Some("3".into())
        })
    );
}

#[test]
fn ipv6_granularity_and_sorry_server_without_port() {
    let l = load("vs-ipv6-granularity-sorry.conf");
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let vs = &l.config.virtual_servers[0];
    assert_eq!(
        vs.persistence_granularity,
        Some(ip("ffff:ffff:ffff:ffff::"))
    );
    assert_eq!(
        vs.sorry_server,
        Some(SorryServer {
            addr: ip("2001:db8::9"),
            port: 0
        })
    );
    // The printer writes them back in keepalived's form.
    let text = print(&l.config);
    assert!(text.contains("    persistence_granularity 64\n"), "{text}");
    assert!(text.contains("    sorry_server 2001:db8::9\n"), "{text}");
}

#[test]
fn vmac_with_mac_and_allow_if_changes() {
    let l = load("vmac-mac-dynamic.conf");
    let w = "a VMAC with its own MAC address is not supported by keel; the VMAC gets the standard 00:00:5e:00:01:VRID";
    assert_eq!(
        diags(&l),
        vec![
            (
                Severity::Warning,
                Code::Unsupported,
                2,
                24,
                "'dynamic_interfaces allow_if_changes' is not supported by keel; read as 'dynamic_interfaces'".into()
            ),
            (Severity::Warning, Code::Unsupported, 7, 22, w.into()),
            (Severity::Warning, Code::Unsupported, 15, 14, w.into()),
        ]
    );
    assert!(l.config.global.dynamic_interfaces);
    let v = &l.config.vrrp_instances;
    assert_eq!(v[0].use_vmac.as_deref(), Some("vrrp.51"));
    assert_eq!(v[0].use_vmac_addr, Some([2, 0, 0, 0, 0, 0x33]));
    // Five octets: the sixth is the VRID.
    assert_eq!(v[1].use_vmac.as_deref(), Some(""));
    assert_eq!(v[1].use_vmac_addr, Some([2, 0, 0x5e, 0, 7, 52]));
    // keepalived: "VMAC MAC address not allowed to be RFC5798 address".
    let l = load_text(
        "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n use_vmac v1 00:00:5e:00:01:01\n}\n",
    );
    assert_eq!(
        diags(&l),
        vec![(
            Severity::Error,
            Code::InvalidValue,
            4,
            14,
            "VMAC address 00:00:5e:00:01:01 is in the VRRP range 00:00:5e:00:01/02:xx (RFC 5798)"
                .into()
        )]
    );
}

// ---- forms keel used to accept that keepalived 2.2.7 refuses --------------------------

#[test]
fn authentication_in_v3_or_ipv6_is_an_error() {
    let inst = |extra: &str, vip: &str| {
        format!(
            "vrrp_instance V {{\n interface eth0\n virtual_router_id 1\n{extra} authentication {{\n  auth_type PASS\n  auth_pass x\n }}\n virtual_ipaddress {{\n  {vip}\n }}\n}}\n"
        )
    };
    let l = load_text(&inst(" version 3\n", "192.0.2.1"));
    assert_eq!(
        diags(&l),
        vec![(
            Severity::Error,
            Code::Conflict,
            5,
            2,
            "VRRPv3 has no authentication".into()
        )]
    );
    let l = load_text(&inst("", "2001:db8::1"));
    assert_eq!(
        diags(&l),
        vec![(
            Severity::Error,
            Code::Conflict,
            4,
            2,
            "an IPv6 instance is VRRPv3, which has no authentication".into()
        )]
    );
    // VRRPv2 over IPv4 keeps it.
    let l = load_text(&inst("", "192.0.2.1"));
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
}

#[test]
fn garp_intervals_and_refresh_as_keepalived_reads_them() {
    for (kw, val, msg) in [
        (
            "vrrp_garp_interval",
            "0",
            "vrrp_garp_interval '0' is out of range",
        ),
        (
            "vrrp_gna_interval",
            "0",
            "vrrp_gna_interval '0' is out of range",
        ),
        (
            "vrrp_garp_master_refresh",
            "1.0",
            "'1.0' is not a whole number of seconds",
        ),
    ] {
        let l = load_text(&format!("global_defs {{\n    {kw} {val}\n}}\n"));
        let col = 5 + kw.len() as u32 + 1;
        assert_eq!(
            diags(&l),
            vec![(Severity::Error, Code::InvalidValue, 2, col, msg.to_string())],
            "{kw}"
        );
    }
    let l = load_text(
        "global_defs {\n vrrp_garp_interval 0.000001\n vrrp_gna_interval 4294.967295\n vrrp_garp_master_refresh 60\n}\n",
    );
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let g = &l.config.global;
    assert_eq!(g.vrrp_garp_interval, Duration::from_micros(1));
    assert_eq!(g.vrrp_gna_interval, Duration::from_micros(4_294_967_295));
    assert_eq!(g.vrrp_garp_master_refresh, Some(Duration::from_secs(60)));
}
