//! Whole nodes on fake I/O, two or three on a simulated LAN, no root: the
//! adverts one node hands out (`poll_transmit`) are what the others receive.
#![allow(clippy::unwrap_used)]
use keel_election::{InstanceConfig, State, Track, TrackId};
use keel_node::{Input, InstanceSpec, Io, Node, NodeSpec, RxMeta, TrackedIf};
use keel_vip::Vip;
use std::net::IpAddr;
use std::time::{Duration, Instant};

const ETH0: u32 = 2;
const ETH1: u32 = 3;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Instance `name` (VRID `vrid`) of router `k` (address 192.0.2.1k on eth0,
/// 198.51.100.1k on eth1) with priority `prio` and one VIP.
fn inst(name: &str, vrid: u8, k: u8, prio: u8, ifindex: u32) -> InstanceSpec {
    let (ifname, me, vip) = if ifindex == ETH0 {
        (
            "eth0",
            ip(&format!("192.0.2.1{k}")),
            ip(&format!("192.0.2.{}", 200 + vrid)),
        )
    } else {
        (
            "eth1",
            ip(&format!("198.51.100.1{k}")),
            ip(&format!("198.51.100.{}", 200 + vrid)),
        )
    };
    InstanceSpec::new(ifname, ifindex, InstanceConfig::new(name, vrid, prio, me))
        .with_vip(Vip::new(vip, ifindex), ifname)
}

struct Router {
    node: Node,
    fake: keel_node::FakeIo,
    /// Delivered to and sending on the LAN.
    alive: bool,
}

struct Lan {
    routers: Vec<Router>,
    t0: Instant,
    now: Instant,
}

impl Lan {
    fn new() -> Lan {
        let t0 = Instant::now();
        Lan {
            routers: Vec::new(),
            t0,
            now: t0,
        }
    }

    fn add(&mut self, spec: NodeSpec) -> usize {
        let (io, fake) = Io::fake();
        fake.with(|s| {
            s.nets.insert("eth0".into(), vec![(ip("192.0.2.1"), 24)]);
            s.nets.insert("eth1".into(), vec![(ip("198.51.100.1"), 24)]);
        });
        let mut node = Node::new(spec, io, self.now);
        node.start(self.now);
        self.routers.push(Router {
            node,
            fake,
            alive: true,
        });
        self.routers.len() - 1
    }

    /// Deliver every queued advert to the other live routers.
    fn deliver(&mut self) {
        loop {
            let mut sent = Vec::new();
            for (k, r) in self.routers.iter_mut().enumerate() {
                while let Some(t) = r.node.poll_transmit() {
                    if r.alive {
                        sent.push((k, t));
                    }
                }
            }
            if sent.is_empty() {
                return;
            }
            for (k, t) in sent {
                for (j, r) in self.routers.iter_mut().enumerate() {
                    if j == k || !r.alive {
                        continue;
                    }
                    let meta = RxMeta {
                        src: t.src,
                        dst: t.dst,
                        ttl: 255,
                        proto: 112,
                    };
                    r.node.handle(
                        self.now,
                        Input::Packet {
                            ifindex: t.socket.0,
                            v6: t.socket.1,
                            meta: Some(meta),
                            payload: t.payload.clone(),
                        },
                    );
                }
            }
        }
    }

    /// Run the LAN for `d`.
    fn run(&mut self, d: Duration) {
        let end = self.now + d;
        loop {
            self.deliver();
            let next = self
                .routers
                .iter_mut()
                .filter(|r| r.alive)
                .filter_map(|r| r.node.poll_timeout())
                .min();
            match next {
                Some(t) if t <= end => {
                    self.now = self.now.max(t);
                    for r in self.routers.iter_mut().filter(|r| r.alive) {
                        if r.node.poll_timeout().is_some_and(|t| t <= self.now) {
                            r.node.handle(self.now, Input::Timeout);
                        }
                    }
                }
                _ => {
                    self.now = end;
                    return;
                }
            }
        }
    }

    fn state(&self, k: usize, name: &str) -> State {
        let n = &self.routers[k].node;
        n.instances()[n.find(name).unwrap()].election().state()
    }

    fn vips(&self, k: usize) -> Vec<IpAddr> {
        let mut v = self.routers[k].fake.vips();
        v.sort();
        v
    }

    fn events(&mut self, k: usize) -> Vec<String> {
        std::iter::from_fn(|| self.routers[k].node.poll_event())
            .map(|e| e.to_string())
            .collect()
    }

    fn elapsed(&self) -> Duration {
        self.now - self.t0
    }
}

fn one(name: &str, vrid: u8, k: u8, prio: u8) -> NodeSpec {
    NodeSpec::new(vec![inst(name, vrid, k, prio, ETH0)])
}

#[test]
fn election_highest_priority_wins_and_holds_the_vip() {
    let mut lan = Lan::new();
    let a = lan.add(one("VI_1", 51, 1, 100));
    let b = lan.add(one("VI_1", 51, 2, 99));
    let c = lan.add(one("VI_1", 51, 3, 98));
    lan.run(Duration::from_secs(5));
    assert_eq!(lan.state(a, "VI_1"), State::Master);
    assert_eq!(lan.state(b, "VI_1"), State::Backup);
    assert_eq!(lan.state(c, "VI_1"), State::Backup);
    assert_eq!(lan.vips(a), [ip("192.0.2.251")]);
    assert!(lan.vips(b).is_empty() && lan.vips(c).is_empty());
    let ev = lan.events(a);
    assert!(
        ev.contains(&"(VI_1) Entering MASTER STATE".to_owned()),
        "{ev:?}"
    );
    // Announced on becoming master.
    assert!(lan.routers[a].fake.with(|s| !s.announced.is_empty()));
    // Backups count A's adverts.
    let n = &lan.routers[b].node;
    assert!(n.instances()[0].election().counters().adverts_rx >= 1);
}

#[test]
fn failover_on_graceful_stop_and_on_crash_then_preemption() {
    let mut lan = Lan::new();
    let a = lan.add(one("VI_1", 51, 1, 100));
    let b = lan.add(one("VI_1", 51, 2, 99));
    let c = lan.add(one("VI_1", 51, 3, 98));
    lan.run(Duration::from_secs(5));
    assert_eq!(lan.state(a, "VI_1"), State::Master);
    // Graceful: priority 0, B takes over after Skew_Time (613 ms for 99).
    let stop = lan.now;
    let now = lan.now;
    lan.routers[a].node.shutdown(now);
    lan.deliver();
    lan.routers[a].alive = false;
    assert!(lan.vips(a).is_empty(), "a stopping master drops its VIPs");
    lan.run(Duration::from_millis(700));
    assert_eq!(lan.state(b, "VI_1"), State::Master);
    assert_eq!(lan.state(c, "VI_1"), State::Backup);
    assert!(lan.now - stop < Duration::from_millis(701));
    // Crash of B (no priority 0): C after Master_Down_Interval.
    lan.routers[b].alive = false;
    lan.run(Duration::from_secs(3));
    assert_eq!(lan.state(c, "VI_1"), State::Backup, "not before 3 s + skew");
    lan.run(Duration::from_secs(1));
    assert_eq!(lan.state(c, "VI_1"), State::Master);
    assert_eq!(lan.vips(c), [ip("192.0.2.251")]);
    // A returns with the highest priority: it preempts C.
    let a2 = lan.add(one("VI_1", 51, 1, 100));
    lan.run(Duration::from_secs(5));
    assert_eq!(lan.state(a2, "VI_1"), State::Master);
    assert_eq!(lan.state(c, "VI_1"), State::Backup);
    assert!(lan.vips(c).is_empty());
    assert!(lan.elapsed() > Duration::from_secs(14));
}

#[test]
fn nopreempt_keeps_the_running_master() {
    let mut lan = Lan::new();
    let b = lan.add(one("VI_1", 51, 2, 99));
    lan.run(Duration::from_secs(5));
    assert_eq!(lan.state(b, "VI_1"), State::Master);
    let mut s = inst("VI_1", 51, 1, 100, ETH0);
    s.election.nopreempt = true;
    let a = lan.add(NodeSpec::new(vec![s]));
    lan.run(Duration::from_secs(6));
    assert_eq!(lan.state(b, "VI_1"), State::Master);
    assert_eq!(lan.state(a, "VI_1"), State::Backup);
}

#[test]
fn track_weight_moves_the_master() {
    let mut lan = Lan::new();
    let mut s = inst("VI_1", 51, 1, 100, ETH0);
    let id = TrackId(7);
    s.election.tracks.push(Track::new(id, -10));
    s.track_ifs.push(TrackedIf {
        id,
        ifindex: 9,
        name: "uplink".into(),
        reverse: false,
    });
    let a = lan.add(NodeSpec::new(vec![s]));
    let b = lan.add(one("VI_1", 51, 2, 99));
    lan.run(Duration::from_secs(5));
    assert_eq!(lan.state(a, "VI_1"), State::Master);
    // The uplink goes down: 100 - 10 = 90 < 99, B preempts.
    let now = lan.now;
    lan.routers[a].node.handle(
        now,
        Input::Link {
            ifindex: 9,
            up: false,
        },
    );
    lan.run(Duration::from_secs(5));
    assert_eq!(
        lan.routers[a].node.instances()[0]
            .election()
            .effective_priority(),
        90
    );
    assert_eq!(lan.state(b, "VI_1"), State::Master);
    assert_eq!(lan.state(a, "VI_1"), State::Backup);
    // Back up: A preempts again.
    let now = lan.now;
    lan.routers[a].node.handle(
        now,
        Input::Link {
            ifindex: 9,
            up: true,
        },
    );
    lan.run(Duration::from_secs(5));
    assert_eq!(lan.state(a, "VI_1"), State::Master);
    assert_eq!(lan.state(b, "VI_1"), State::Backup);
}

fn grouped(k: u8, prio: u8) -> NodeSpec {
    let members = vec!["VI_1".to_owned(), "VI_2".to_owned()];
    let mut v1 = inst("VI_1", 51, k, prio, ETH0);
    let mut v2 = inst("VI_2", 52, k, prio, ETH1);
    v1.sync_group = Some(("G".into(), members.clone()));
    v2.sync_group = Some(("G".into(), members));
    NodeSpec::new(vec![v1, v2])
}

#[test]
fn sync_group_members_move_together() {
    let mut lan = Lan::new();
    let a = lan.add(grouped(1, 100));
    let b = lan.add(grouped(2, 99));
    lan.run(Duration::from_secs(5));
    for name in ["VI_1", "VI_2"] {
        assert_eq!(lan.state(a, name), State::Master);
        assert_eq!(lan.state(b, name), State::Backup);
    }
    // A's eth1 fails: VI_2 faults, and VI_1 leaves master with it.
    let now = lan.now;
    lan.routers[a].node.handle(
        now,
        Input::Link {
            ifindex: ETH1,
            up: false,
        },
    );
    assert_eq!(lan.state(a, "VI_2"), State::Fault);
    assert_ne!(lan.state(a, "VI_1"), State::Master);
    lan.run(Duration::from_secs(5));
    for name in ["VI_1", "VI_2"] {
        assert_eq!(lan.state(b, name), State::Master, "{name}");
    }
    assert_eq!(lan.vips(b), [ip("192.0.2.251"), ip("198.51.100.252")]);
    assert!(lan.vips(a).is_empty());
}

#[test]
fn reload_keeps_state_and_applies_changes() {
    let mut lan = Lan::new();
    let a = lan.add(NodeSpec::new(vec![
        inst("VI_1", 51, 1, 100, ETH0),
        inst("VI_2", 52, 1, 100, ETH1),
    ]));
    lan.run(Duration::from_secs(5));
    assert_eq!(lan.state(a, "VI_1"), State::Master);
    let _ = lan.events(a);
    let since = lan.routers[a].node.instances()[0].since();
    // VI_1 gets a second VIP, VI_2 is removed, VI_3 is new.
    let v1 = inst("VI_1", 51, 1, 100, ETH0).with_vip(Vip::new(ip("192.0.2.99"), ETH0), "eth0");
    let spec = NodeSpec::new(vec![v1, inst("VI_3", 53, 1, 100, ETH0)]);
    let now = lan.now;
    lan.routers[a].node.reload(now, spec);
    lan.routers[a].node.start(now);
    let ev = lan.events(a);
    assert!(
        ev.contains(&"(VI_1) configuration changed: updating".to_owned()),
        "{ev:?}"
    );
    assert!(
        ev.contains(&"(VI_2) removed from the configuration: stopping".to_owned()),
        "{ev:?}"
    );
    assert!(
        !ev.iter().any(|e| e.starts_with("(VI_1) Entering")),
        "VI_1 keeps its state: {ev:?}"
    );
    assert_eq!(lan.state(a, "VI_1"), State::Master);
    assert_eq!(lan.routers[a].node.instances()[0].since(), since);
    assert_eq!(lan.state(a, "VI_3"), State::Backup);
    assert_eq!(lan.vips(a), [ip("192.0.2.99"), ip("192.0.2.251")]);
    lan.run(Duration::from_secs(5));
    assert_eq!(lan.state(a, "VI_3"), State::Master);
    assert_eq!(
        lan.vips(a),
        [ip("192.0.2.99"), ip("192.0.2.251"), ip("192.0.2.253")]
    );
}

#[test]
fn bad_adverts_are_dropped_and_counted_by_kind() {
    let mut lan = Lan::new();
    let mut s = inst("VI_1", 51, 2, 99, ETH0);
    s.election.auth = keel_election::AuthConfig::pass("secret");
    let b = lan.add(NodeSpec::new(vec![s]));
    // A genuine advert from a master, to mutate.
    let mut good_src = inst("VI_1", 51, 1, 100, ETH0);
    good_src.election.auth = keel_election::AuthConfig::pass("secret");
    let (io, _f) = Io::fake();
    let t0 = lan.now;
    let mut m = Node::new(NodeSpec::new(vec![good_src]), io, t0);
    m.start(t0);
    while m.instances()[0].election().state() != State::Master {
        let t = m.poll_timeout().unwrap();
        m.handle(t, Input::Timeout);
    }
    let good = m.poll_transmit().unwrap();
    let send = |lan: &mut Lan, src: &str, ttl: u8, payload: Vec<u8>, meta: bool| {
        let now = lan.now;
        let meta = meta.then(|| RxMeta {
            src: ip(src),
            dst: good.dst,
            ttl,
            proto: 112,
        });
        lan.routers[b].node.handle(
            now,
            Input::Packet {
                ifindex: ETH0,
                v6: false,
                meta,
                payload,
            },
        );
    };
    let p = good.payload.clone();
    send(&mut lan, "192.0.2.11", 64, p.clone(), true); // ttl
    let mut bad_sum = p.clone();
    bad_sum[6] ^= 0xff;
    send(&mut lan, "192.0.2.11", 255, bad_sum, true); // checksum
    send(&mut lan, "203.0.113.7", 255, p.clone(), true); // source
    send(&mut lan, "192.0.2.11", 255, Vec::new(), false); // length
    // Another VRID (checksum recomputed by a node of VRID 50).
    let (io, _f) = Io::fake();
    let mut other = Node::new(one("VI_9", 50, 1, 100), io, t0);
    other.start(t0);
    while other.instances()[0].election().state() != State::Master {
        let t = other.poll_timeout().unwrap();
        other.handle(t, Input::Timeout);
    }
    send(
        &mut lan,
        "192.0.2.11",
        255,
        other.poll_transmit().unwrap().payload,
        true,
    ); // vrid
    // Wrong password: same packet with the auth data changed, checksum redone.
    let mut bad_pw = p.clone();
    let n = bad_pw.len();
    bad_pw[n - 1] ^= 0x01;
    bad_pw[6] = 0;
    bad_pw[7] = 0;
    let sum = checksum(&bad_pw);
    bad_pw[6..8].copy_from_slice(&sum.to_be_bytes());
    send(&mut lan, "192.0.2.11", 255, bad_pw, true); // auth
    let inst = &lan.routers[b].node.instances()[0];
    let d = inst.dropped();
    for kind in ["ttl", "checksum", "source", "auth"] {
        assert_eq!(d.get(kind), Some(&1), "{kind}: {d:?}");
    }
    // No instance to blame for a malformed IP header or an unknown VRID:
    // the node counts those.
    let u = lan.routers[b].node.unmatched_dropped();
    for kind in ["length", "vrid"] {
        assert_eq!(u.get(kind), Some(&1), "{kind}: {u:?}");
    }
    let inst = &lan.routers[b].node.instances()[0];
    let rx_before = inst.election().counters().adverts_rx;
    let ev = lan.events(b);
    assert!(
        ev.iter().any(|e| e
            == "(VI_1) dropped advert from 192.0.2.11: invalid TTL/HL. Received 64 and expect 255"),
        "{ev:?}"
    );
    // The good one is accepted.
    send(&mut lan, "192.0.2.11", 255, p, true);
    let inst = &lan.routers[b].node.instances()[0];
    assert_eq!(inst.election().counters().adverts_rx, rx_before + 1);
    assert_eq!(inst.election().master_addr(), Some(ip("192.0.2.11")));
}

/// RFC 1071 checksum of a VRRPv2 packet.
fn checksum(b: &[u8]) -> u16 {
    let mut s: u32 = 0;
    for c in b.chunks(2) {
        let w = u32::from(c[0]) << 8 | u32::from(*c.get(1).unwrap_or(&0));
        s += w;
    }
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

#[test]
fn several_nodes_in_one_process_are_independent() {
    // Two nodes, separate fakes: each holds its own VIP.
    let mut lan = Lan::new();
    let a = lan.add(one("VI_1", 51, 1, 100));
    let b = lan.add(one("VI_4", 54, 2, 100));
    lan.run(Duration::from_secs(5));
    assert_eq!(lan.vips(a), [ip("192.0.2.251")]);
    assert_eq!(lan.vips(b), [ip("192.0.2.254")]);
}
