//! The receive pipeline against hostile input, on fake I/O (no root): issue
//! 17 items 1 (receive rules from the configuration, not the packet), 2
//! (drops counted once per packet) and 11 (no reflection amplifier).
#![allow(clippy::unwrap_used)]
use keel_election::{InstanceConfig, State, Version};
use keel_node::{Event, Input, InstanceSpec, Io, Node, NodeSpec, RxMeta};
use keel_vip::Vip;
use std::net::IpAddr;
use std::time::{Duration, Instant};

const IFINDEX: u32 = 2;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

mod common;

/// A VRRPv3 advert (advert_int 1 s).
fn advert(vrid: u8, prio: u8, vip: IpAddr, src: IpAddr, dst: IpAddr) -> Vec<u8> {
    common::advert(vrid, prio, 100, vip, src, dst)
}

fn packet(src: IpAddr, dst: IpAddr, ttl: u8, payload: Vec<u8>) -> Input {
    let meta = RxMeta {
        src,
        dst,
        ttl,
        proto: 112,
    };
    Input::Packet {
        ifindex: IFINDEX,
        v6: src.is_ipv6(),
        meta: Some(meta),
        payload,
    }
}

struct Rig {
    node: Node,
    now: Instant,
}

impl Rig {
    /// One instance per (vrid, peers) on eth0 (`me`, its networks `nets`),
    /// run until every instance is master.
    fn master(me: &str, vip: &str, nets: &[(&str, u8)], insts: &[(u8, &[&str])]) -> Rig {
        let specs = insts
            .iter()
            .map(|(vrid, peers)| {
                let mut e = InstanceConfig::new(&format!("VI_{vrid}"), *vrid, 100, ip(me));
                e.unicast_peers = peers.iter().map(|p| ip(p)).collect();
                e.version = Version::V3;
                InstanceSpec::new("eth0", IFINDEX, e).with_vip(Vip::new(ip(vip), IFINDEX), "eth0")
            })
            .collect();
        let (io, fake) = Io::fake();
        let nets: Vec<(IpAddr, u8)> = nets.iter().map(|(a, p)| (ip(a), *p)).collect();
        fake.with(|s| s.nets.insert("eth0".into(), nets));
        let t0 = Instant::now();
        let mut node = Node::new(NodeSpec::new(specs), io, t0);
        node.start(t0);
        let mut now = t0;
        while let Some(when) = node.poll_timeout() {
            if when > t0 + Duration::from_secs(5) {
                break;
            }
            now = when;
            node.handle(when, Input::Timeout);
        }
        let mut r = Rig { node, now };
        for i in r.node.instances() {
            assert_eq!(i.election().state(), State::Master, "{}", i.name());
        }
        r.drain();
        r
    }

    fn drain(&mut self) -> (usize, Vec<Event>) {
        let tx = std::iter::from_fn(|| self.node.poll_transmit()).count();
        (tx, std::iter::from_fn(|| self.node.poll_event()).collect())
    }

    fn feed(&mut self, input: Input) {
        self.now += Duration::from_micros(10);
        self.node.handle(self.now, input);
    }

    fn state(&self) -> State {
        self.node.instances()[0].election().state()
    }

    fn dropped(&self, kind: &str) -> u64 {
        self.node.instances()[0]
            .dropped()
            .get(kind)
            .copied()
            .unwrap_or(0)
    }
}

/// Item 1, IPv4: a host on another subnet sends a unicast priority-200
/// advert with TTL 64 to the address of a master without unicast peers.
/// The master stays master and counts the drop.
#[test]
fn off_link_unicast_v4_is_dropped_by_a_multicast_instance() {
    let mut r = Rig::master(
        "192.0.2.10",
        "192.0.2.250",
        &[("192.0.2.10", 24)],
        &[(51, &[])],
    );
    let (me, them) = (ip("192.0.2.10"), ip("198.51.100.66"));
    let adv = advert(51, 200, ip("192.0.2.250"), them, me);
    r.feed(packet(them, me, 64, adv.clone()));
    assert_eq!(r.state(), State::Master);
    assert_eq!(r.dropped("destination"), 1);
    // With TTL 255 (a forged TTL) it is still not multicast: dropped.
    r.feed(packet(them, me, 255, adv));
    assert_eq!(r.state(), State::Master);
    assert_eq!(r.dropped("destination"), 2);
    // Multicast from off-link with TTL 64 (it cannot be routed, but say it
    // were): TTL.
    let grp = ip("224.0.0.18");
    r.feed(packet(
        them,
        grp,
        64,
        advert(51, 200, ip("192.0.2.250"), them, grp),
    ));
    assert_eq!(r.dropped("ttl"), 1);
    // Multicast with TTL 255 from a source on no subnet of eth0: source.
    r.feed(packet(
        them,
        grp,
        255,
        advert(51, 200, ip("192.0.2.250"), them, grp),
    ));
    assert_eq!(r.dropped("source"), 1);
    assert_eq!(r.state(), State::Master);
    // A real peer on the link still wins.
    let peer = ip("192.0.2.11");
    r.feed(packet(
        peer,
        grp,
        255,
        advert(51, 200, ip("192.0.2.250"), peer, grp),
    ));
    assert_eq!(r.state(), State::Backup);
    assert_eq!(r.node.instances()[0].election().counters().master_lost, 1);
}

/// Item 1, IPv6: the same against an instance whose advert source is a
/// global address (`mcast_src_ip`), unicast with hop limit 64.
#[test]
fn off_link_unicast_v6_is_dropped_by_a_multicast_instance() {
    let mut r = Rig::master(
        "2001:db8::10",
        "2001:db8::250",
        &[("2001:db8::10", 64), ("fe80::10", 64)],
        &[(51, &[])],
    );
    let (me, them) = (ip("2001:db8::10"), ip("2001:db8:1::66"));
    r.feed(packet(
        them,
        me,
        64,
        advert(51, 200, ip("2001:db8::250"), them, me),
    ));
    assert_eq!(r.state(), State::Master);
    assert_eq!(r.dropped("destination"), 1);
    let grp = ip("ff02::12");
    r.feed(packet(
        them,
        grp,
        255,
        advert(51, 200, ip("2001:db8::250"), them, grp),
    ));
    assert_eq!(r.dropped("source"), 1);
    r.feed(packet(
        ip("fe80::11"),
        grp,
        64,
        advert(51, 200, ip("2001:db8::250"), ip("fe80::11"), grp),
    ));
    assert_eq!(r.dropped("ttl"), 1);
    assert_eq!(r.state(), State::Master);
}

/// Item 1: an instance with unicast peers accepts its listed peers only,
/// and unicast only (both families).
#[test]
fn unicast_instance_accepts_listed_peers_only() {
    for (me, vip, peer, other, nets) in [
        (
            "192.0.2.10",
            "192.0.2.250",
            "192.0.2.11",
            "192.0.2.66",
            ("192.0.2.10", 24),
        ),
        (
            "2001:db8::10",
            "2001:db8::250",
            "2001:db8::11",
            "2001:db8::66",
            ("2001:db8::10", 64),
        ),
    ] {
        let mut r = Rig::master(me, vip, &[nets], &[(51, &[peer])]);
        let (me, peer, other, vip) = (ip(me), ip(peer), ip(other), ip(vip));
        // On the link, TTL 255, right destination: but not a listed peer.
        r.feed(packet(other, me, 255, advert(51, 200, vip, other, me)));
        assert_eq!(r.state(), State::Master, "{me}");
        assert_eq!(r.dropped("source"), 1, "{me}");
        // Multicast from the listed peer: not what this instance receives.
        let grp = keel_packet::rx::group_for(me);
        r.feed(packet(peer, grp, 255, advert(51, 200, vip, peer, grp)));
        assert_eq!(r.dropped("destination"), 1, "{me}");
        assert_eq!(r.state(), State::Master, "{me}");
        // The listed peer, unicast (any TTL: unicast_ttl may cross routers).
        r.feed(packet(peer, me, 64, advert(51, 200, vip, peer, me)));
        assert_eq!(r.state(), State::Backup, "{me}");
    }
}

/// Item 2: with 250 instances on one socket, a packet for a VRID nobody has
/// is counted once (on the socket), not once per instance; a bad packet for
/// one instance is counted on that instance only.
#[test]
fn drops_are_counted_once_per_packet() {
    let vrids: Vec<(u8, &[&str])> = (1..=250).map(|v| (v, &[][..])).collect();
    let mut r = Rig::master("192.0.2.10", "192.0.2.250", &[("192.0.2.10", 24)], &vrids);
    let (me, them, grp) = (ip("192.0.2.10"), ip("198.51.100.66"), ip("224.0.0.18"));
    let total = |n: &Node| -> u64 {
        n.instances()
            .iter()
            .flat_map(|i| i.dropped().values())
            .sum::<u64>()
            + n.unmatched_dropped().values().sum::<u64>()
    };
    for k in 0..100 {
        r.feed(packet(
            ip("192.0.2.66"),
            grp,
            255,
            advert(252, 200, ip("192.0.2.250"), ip("192.0.2.66"), grp),
        ));
        r.feed(packet(
            them,
            me,
            64,
            advert(1 + k % 250, 200, ip("192.0.2.250"), them, me),
        ));
    }
    let (tx, events) = r.drain();
    assert_eq!(tx, 0);
    assert_eq!(total(&r.node), 200);
    assert_eq!(r.node.unmatched_dropped().get("vrid"), Some(&100));
    assert_eq!(events.len(), 200, "one event per dropped packet");
    assert!(
        r.node
            .instances()
            .iter()
            .all(|i| i.election().state() == State::Master)
    );
}

/// Item 11: N forged lower-priority or priority-0 adverts within one
/// advert interval draw at most one reply advert and one log line; the
/// master's own adverts keep their schedule.
#[test]
fn forged_lower_and_zero_priority_adverts_are_not_amplified() {
    for prio in [50u8, 0] {
        let mut r = Rig::master(
            "192.0.2.10",
            "192.0.2.250",
            &[("192.0.2.10", 24)],
            &[(51, &[])],
        );
        let (src, grp) = (ip("192.0.2.66"), ip("224.0.0.18"));
        let adv = advert(51, prio, ip("192.0.2.250"), src, grp);
        let next = r.node.poll_timeout().unwrap();
        let n = 1000;
        for _ in 0..n {
            r.feed(packet(src, grp, 255, adv.clone()));
        }
        assert!(
            r.now < next,
            "the forged adverts fit before the next advert"
        );
        let (tx, events) = r.drain();
        let answers = events
            .iter()
            .filter(|e| matches!(e, Event::Election(_)))
            .count();
        assert!(
            tx <= 1,
            "priority {prio}: {tx} replies to {n} forged adverts"
        );
        assert!(
            answers <= 1,
            "priority {prio}: {answers} log events for {n} adverts"
        );
        let c = *r.node.instances()[0].election().counters();
        assert_eq!(c.adverts_rx, n, "priority {prio}: every advert is counted");
        assert_eq!(c.answers_suppressed, n - 1);
        // The advert timer was not pushed back by the suppressed ones.
        assert!(r.node.poll_timeout().unwrap() <= next + Duration::from_secs(1));
        assert_eq!(r.state(), State::Master);
    }
}

/// Item 11, over time: a flood of forged priority-0 adverts every 10 ms for
/// 5 s; the master sends at most one reply per interval on top of its own
/// adverts (500 forged adverts, at most 12 adverts sent), and its adverts
/// never fall further apart than the interval.
#[test]
fn priority_zero_flood_keeps_the_advert_rhythm() {
    let mut r = Rig::master(
        "192.0.2.10",
        "192.0.2.250",
        &[("192.0.2.10", 24)],
        &[(51, &[])],
    );
    let (src, grp) = (ip("192.0.2.66"), ip("224.0.0.18"));
    let adv = advert(51, 0, ip("192.0.2.250"), src, grp);
    let start = r.now;
    let mut sent = vec![start];
    let mut t = start;
    while t < start + Duration::from_secs(5) {
        t += Duration::from_millis(10);
        while let Some(due) = r.node.poll_timeout().filter(|d| *d <= t) {
            r.node.handle(due, Input::Timeout);
            if r.node.poll_transmit().is_some() {
                sent.push(due);
            }
            while r.node.poll_transmit().is_some() {}
        }
        r.node.handle(t, packet(src, grp, 255, adv.clone()));
        if r.node.poll_transmit().is_some() {
            sent.push(t);
        }
        while r.node.poll_transmit().is_some() {}
        while r.node.poll_event().is_some() {}
    }
    let gaps: Vec<Duration> = sent.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        sent.len() >= 5 && sent.len() <= 12,
        "{} adverts in 5 s",
        sent.len()
    );
    assert!(
        gaps.iter().all(|g| *g <= Duration::from_millis(1010)),
        "gaps {gaps:?}"
    );
}

/// Item 11, the backups' side: every priority-0 advert a backup receives is
/// logged by the election, so the event carries a rate key (a log keeps one
/// line per key per second).
#[test]
fn backup_log_lines_caused_by_adverts_are_rate_keyed() {
    let mut r = Rig::master(
        "192.0.2.10",
        "192.0.2.250",
        &[("192.0.2.10", 24)],
        &[(51, &[])],
    );
    let (peer, grp) = (ip("192.0.2.11"), ip("224.0.0.18"));
    r.feed(packet(
        peer,
        grp,
        255,
        advert(51, 200, ip("192.0.2.250"), peer, grp),
    ));
    assert_eq!(r.state(), State::Backup);
    r.drain();
    for _ in 0..10 {
        r.feed(packet(
            peer,
            grp,
            255,
            advert(51, 0, ip("192.0.2.250"), peer, grp),
        ));
    }
    let (_, events) = r.drain();
    let zero: Vec<&Event> = events
        .iter()
        .filter(|e| e.to_string().contains("Backup received priority 0"))
        .collect();
    assert_eq!(zero.len(), 10);
    let keys: std::collections::BTreeSet<Option<String>> =
        zero.iter().map(|e| e.rate_key()).collect();
    assert_eq!(keys.len(), 1);
    assert!(keys.iter().all(Option::is_some), "{keys:?}");
}
