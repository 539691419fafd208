//! Issue 17 item 1 on the real kernel: a host on another subnet, routed
//! through a router namespace, sends unicast priority-200 adverts with TTL
//! / hop limit 64 to the master's own address. The master (no unicast
//! peers) must stay MASTER and count every one as dropped (both families).
//!
//! ```text
//!   node  eth0 192.0.2.10/24 2001:db8::10/64 ── r0 | router | r1 ── eth0 198.51.100.66/24 2001:db8:1::66/64  attacker
//! ```
#![allow(clippy::unwrap_used, clippy::print_stderr)]
use keel_election::{InstanceConfig, State, Version};
use keel_node::{Driver, InstanceSpec, Io, NodeSpec};
use keel_testkit::Netns;
use keel_vip::Vip;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

const N: u64 = 20;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

mod common;

/// A priority-200 VRRPv3 advert for VRID 51 (advert_int 0.1 s).
fn advert(vip: IpAddr, src: IpAddr, dst: IpAddr) -> Vec<u8> {
    common::advert(51, 200, 10, vip, src, dst)
}

fn instance(name: &str, ifindex: u32, me: &str, vip: &str) -> InstanceSpec {
    let mut e = InstanceConfig::new(name, 51, 100, ip(me));
    e.version = Version::V3;
    e.adver_int_cs = 10;
    InstanceSpec::new("eth0", ifindex, e).with_vip(Vip::new(ip(vip), ifindex), "eth0")
}

#[test]
fn off_link_unicast_adverts_do_not_move_the_master() {
    if !keel_testkit::require_root("off-link unicast adverts (namespaces)") {
        return;
    }
    let node = Netns::new("offl-node");
    let router = Netns::new("offl-rtr");
    let attacker = Netns::new("offl-atk");
    node.veth_to(&router, "eth0", "r0");
    attacker.veth_to(&router, "eth0", "r1");
    for (ns, argv) in [
        (&router, "sysctl -qw net.ipv4.ip_forward=1"),
        (&router, "sysctl -qw net.ipv6.conf.all.forwarding=1"),
        (&router, "ip addr add 192.0.2.1/24 dev r0"),
        (&router, "ip addr add 198.51.100.1/24 dev r1"),
        (&router, "ip addr add 2001:db8::1/64 dev r0 nodad"),
        (&router, "ip addr add 2001:db8:1::1/64 dev r1 nodad"),
        (&node, "ip addr add 192.0.2.10/24 dev eth0"),
        (&node, "ip addr add 2001:db8::10/64 dev eth0 nodad"),
        (&node, "ip route add default via 192.0.2.1"),
        (&node, "ip -6 route add default via 2001:db8::1"),
        (&attacker, "ip addr add 198.51.100.66/24 dev eth0"),
        (&attacker, "ip addr add 2001:db8:1::66/64 dev eth0 nodad"),
        (&attacker, "ip route add default via 198.51.100.1"),
        (&attacker, "ip -6 route add default via 2001:db8:1::1"),
    ] {
        let argv: Vec<&str> = argv.split(' ').collect();
        ns.run_ok(&argv);
    }
    // The attacker reaches the node through the router (both families).
    attacker.run_ok(&["ping", "-c1", "-W2", "192.0.2.10"]);
    attacker.run_ok(&["ping", "-6", "-c10", "-i0.2", "-W3", "2001:db8::10"]);
    let tx4 = attacker.enter(|| {
        let s = socket2::Socket::new(
            socket2::Domain::IPV4,
            socket2::Type::RAW,
            Some(socket2::Protocol::from(112)),
        )
        .unwrap();
        s.set_ttl_v4(64).unwrap();
        s
    });
    let tx6 = attacker.enter(|| {
        let s = socket2::Socket::new(
            socket2::Domain::IPV6,
            socket2::Type::RAW,
            Some(socket2::Protocol::from(112)),
        )
        .unwrap();
        s.set_unicast_hops_v6(64).unwrap();
        s
    });
    let ifindex: u32 = node
        .run_ok(&["cat", "/sys/class/net/eth0/ifindex"])
        .trim()
        .parse()
        .unwrap();
    let out = node.enter(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let (io, errs) = Io::real();
            assert!(errs.is_empty(), "{}", errs.len());
            let spec = NodeSpec::new(vec![
                instance("V4", ifindex, "192.0.2.10", "192.0.2.250"),
                instance("V6", ifindex, "2001:db8::10", "2001:db8::250"),
            ]);
            let mut d = Driver::new(spec, io).unwrap();
            let mut log = Vec::new();
            let drive = async |d: &mut Driver, t: Duration, log: &mut Vec<String>| {
                let _ = tokio::time::timeout(t, async {
                    loop {
                        log.push(d.next_event().await.to_string());
                    }
                })
                .await;
            };
            drive(&mut d, Duration::from_secs(2), &mut log).await;
            let states = |d: &Driver| -> Vec<State> {
                d.node()
                    .instances()
                    .iter()
                    .map(|i| i.election().state())
                    .collect()
            };
            assert_eq!(states(&d), [State::Master, State::Master], "{log:#?}");
            let to4 = SocketAddr::new(ip("192.0.2.10"), 0);
            let to6 = SocketAddr::new(ip("2001:db8::10"), 0);
            let a4 = advert(ip("192.0.2.250"), ip("198.51.100.66"), to4.ip());
            let a6 = advert(ip("2001:db8::250"), ip("2001:db8:1::66"), to6.ip());
            for _ in 0..N {
                tx4.send_to(&a4, &to4.into()).unwrap();
                tx6.send_to(&a6, &to6.into()).unwrap();
                drive(&mut d, Duration::from_millis(20), &mut log).await;
            }
            drive(&mut d, Duration::from_millis(500), &mut log).await;
            let r: Vec<(State, u64, u64)> = d
                .node()
                .instances()
                .iter()
                .map(|i| {
                    let dst = i.dropped().get("destination").copied().unwrap_or(0);
                    (
                        i.election().state(),
                        dst,
                        i.election().counters().master_lost,
                    )
                })
                .collect();
            (r, log)
        })
    });
    let (r, log) = out;
    let lines: Vec<&String> = log
        .iter()
        .filter(|l| l.contains("198.51.100.66") || l.contains("2001:db8:1::66"))
        .collect();
    eprintln!(
        "instances (state, dropped[destination], master_lost): {r:?}\nlog about the attacker: {lines:#?}"
    );
    for (name, (state, dropped, lost)) in ["V4", "V6"].iter().zip(&r) {
        assert_eq!(*state, State::Master, "{name} must stay MASTER");
        assert_eq!(*dropped, N, "{name} counts every off-link advert");
        assert_eq!(*lost, 0, "{name} never gave way");
    }
}
