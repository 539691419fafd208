//! Shared set-up: configurations, a bare instance driver, the simulator
//! helpers and the on-the-wire receive path.

use keel_election::sim::Sim;
use keel_election::{
    Action, Advert, AdvertAuth, AuthConfig, Dest, Input, Instance, InstanceConfig, Instant,
    RxError, State, Version,
};
use keel_packet::rx::{self, Delivery, IpMeta};
use keel_packet::{AddrList, Auth, ChecksumMode, MCAST_V4, MCAST_V6, VrrpPacket, VrrpRepr, tx};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// The router under test (the suite's DUT) and the test station's address.
pub const DUT: &str = "192.0.2.10";
pub const PEER: &str = "192.0.2.20";
/// A test station below the DUT's address (loses equal-priority ties).
pub const LOW_PEER: &str = "192.0.2.5";
pub const VIP: &str = "192.0.2.250";
pub const VRID: u8 = 51;

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

pub fn at(n: u64) -> Instant {
    Instant::from_micros(n)
}

/// VRID 51, VRRPv2, advert_int 1 s, one VIP, no authentication, preemption on.
pub fn v2(addr: &str, prio: u8) -> InstanceConfig {
    let mut c = InstanceConfig::new("VI_1", VRID, prio, ip(addr));
    c.vips = vec![ip(VIP)];
    c
}

/// The same in VRRPv3 with `int_cs` centiseconds.
pub fn v3(addr: &str, prio: u8, int_cs: u16) -> InstanceConfig {
    let mut c = v2(addr, prio);
    c.version = Version::V3;
    c.adver_int_cs = int_cs;
    c
}

/// An advert as the peer of `cfg`'s router would send it, with `prio`.
pub fn advert(cfg: &InstanceConfig, prio: u8) -> Advert {
    Advert {
        version: cfg.version,
        vrid: cfg.vrid,
        priority: prio,
        adver_int_cs: cfg.adver_int_cs,
        auth: match cfg.auth {
            AuthConfig::None => AdvertAuth::None,
            AuthConfig::Pass(k) => AdvertAuth::Pass(k),
        },
        addrs: cfg.vips.clone(),
    }
}

/// Everything the instance asks for, in order.
pub fn drain(vi: &mut Instance) -> Vec<Action> {
    std::iter::from_fn(|| vi.poll_action()).collect()
}

/// An instance of `cfg`, started at `t` (its start-up actions drained).
pub fn started(cfg: InstanceConfig, t: Instant) -> Instance {
    let mut vi = Instance::new(cfg);
    vi.handle(t, Input::Startup);
    drain(&mut vi);
    vi
}

/// An instance of `cfg` started at 0 and Master after its Master_Down_Timer.
pub fn master(cfg: InstanceConfig) -> Instance {
    let mut vi = started(cfg, Instant::ZERO);
    let t = vi.poll_timeout().unwrap();
    vi.handle(t, Input::Timeout);
    drain(&mut vi);
    assert_eq!(vi.state(), State::Master);
    vi
}

/// The state changes among `actions`.
pub fn changes(actions: &[Action]) -> Vec<(State, State)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::StateChanged { from, to, .. } => Some((*from, *to)),
            _ => None,
        })
        .collect()
}

/// The priorities of the multicast adverts among `actions`.
pub fn adverts(actions: &[Action]) -> Vec<u8> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::SendAdvert {
                priority,
                dst: Dest::Multicast,
            } => Some(*priority),
            _ => None,
        })
        .collect()
}

/// Position of the first action matching `f` (for ordering checks).
pub fn pos(actions: &[Action], f: impl Fn(&Action) -> bool) -> usize {
    actions
        .iter()
        .position(f)
        .unwrap_or_else(|| panic!("not found in {actions:?}"))
}

// ---- simulator -----------------------------------------------------------

/// A LAN with `cfgs`, all started at 0 and run for `settle`.
pub fn lan(cfgs: Vec<InstanceConfig>, settle: Duration) -> Sim {
    let mut sim = Sim::new(21);
    for c in cfgs {
        sim.add_node(c);
    }
    sim.start_all();
    sim.run_for(settle);
    sim
}

/// Times and priorities of the adverts `node` sent.
pub fn sent(sim: &Sim, node: usize) -> Vec<(Instant, u8)> {
    sim.records()
        .iter()
        .filter(|r| r.node == node)
        .filter_map(|r| match r.action {
            Action::SendAdvert { priority, .. } => Some((r.at, priority)),
            _ => None,
        })
        .collect()
}

/// `(time, from, to)` of every transition of `node`.
pub fn moves(sim: &Sim, node: usize) -> Vec<(Instant, State, State)> {
    sim.transitions()
        .iter()
        .filter(|t| t.node == node)
        .map(|t| (t.at, t.from, t.to))
        .collect()
}

/// The actions `node` took at exactly `t`, in order.
pub fn actions_at(sim: &Sim, node: usize, t: Instant) -> Vec<Action> {
    sim.records()
        .iter()
        .filter(|r| r.node == node && r.at == t)
        .map(|r| r.action.clone())
        .collect()
}

// ---- on the wire -----------------------------------------------------------

/// An advertisement as an IPv4 datagram (header by `tx::emit_ipv4_header`:
/// TTL 255, protocol 112) from `src` to 224.0.0.18, RFC checksums.
pub fn datagram(src: IpAddr, repr: &VrrpRepr<'_>) -> Vec<u8> {
    let (s, d) = (src, IpAddr::V4(MCAST_V4));
    let IpAddr::V4(s4) = s else {
        panic!("IPv4 source expected")
    };
    let n = repr.buffer_len();
    let mut buf = vec![0u8; tx::IPV4_HEADER_LEN + n];
    tx::emit_ipv4_header(&mut buf, s4, MCAST_V4, n, 1).unwrap();
    repr.emit(&mut buf[tx::IPV4_HEADER_LEN..], s, d, ChecksumMode::Rfc)
        .unwrap();
    buf
}

/// The VIPs of `cfg`, IPv4 and IPv6.
fn vips_by_family(cfg: &InstanceConfig) -> (Vec<Ipv4Addr>, Vec<Ipv6Addr>) {
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    for v in &cfg.vips {
        match v {
            IpAddr::V4(a) => v4.push(*a),
            IpAddr::V6(a) => v6.push(*a),
        }
    }
    (v4, v6)
}

/// The advertisement a router with `cfg` sends with `prio`, `auth` and an
/// interval of `int_cs`, as an IPv4 datagram from its primary address.
pub fn wire(cfg: &InstanceConfig, prio: u8, auth: Auth, int_cs: u16) -> Vec<u8> {
    let (vips, _) = vips_by_family(cfg);
    let repr = VrrpRepr {
        version: cfg.version,
        vrid: cfg.vrid,
        priority: prio,
        adver_int: int_cs,
        auth,
        addrs: AddrList::V4(&vips),
    };
    datagram(cfg.primary_addr, &repr)
}

/// Change the VRRP message of `dgram` with `f`, then recompute its checksum
/// (so that only the field `f` changes is wrong).
pub fn patch(dgram: &mut [u8], f: impl FnOnce(&mut VrrpPacket<&mut [u8]>)) {
    let h = &dgram[..tx::IPV4_HEADER_LEN];
    let src = IpAddr::V4(Ipv4Addr::new(h[12], h[13], h[14], h[15]));
    let dst = IpAddr::V4(Ipv4Addr::new(h[16], h[17], h[18], h[19]));
    let mut p = VrrpPacket::new_unchecked(&mut dgram[tx::IPV4_HEADER_LEN..]);
    f(&mut p);
    p.fill_checksum(src, dst, ChecksumMode::Rfc).unwrap();
}

/// The receive path of a driver for one IP packet already split into header
/// fields and VRRP message: IP-header rules, codec, then the machine. A codec
/// rejection is reported to the machine as `Input::RxError` (so it is
/// counted) and returned; `Ok` means the machine got the advert (and may
/// still drop it: VRID, version, auth, interval are its checks).
pub fn receive(
    vi: &mut Instance,
    now: Instant,
    meta: &IpMeta,
    payload: &[u8],
) -> Result<(), keel_packet::Error> {
    let parsed = rx::check(meta, Delivery::Multicast)
        .and_then(|()| VrrpPacket::new_checked(payload))
        .and_then(|p| {
            VrrpRepr::parse(&p, meta.src, meta.dst, ChecksumMode::Rfc).map(|r| Advert::from(&r))
        });
    match parsed {
        Ok(advert) => {
            vi.handle(
                now,
                Input::Advert {
                    src: meta.src,
                    advert,
                },
            );
            Ok(())
        }
        Err(e) => {
            if let Some(rx) = RxError::from_packet_error(e) {
                vi.handle(now, Input::RxError(rx));
            }
            Err(e)
        }
    }
}

/// [`receive`] for an IPv4 datagram as a raw socket delivers it.
pub fn receive_v4(vi: &mut Instance, now: Instant, dgram: &[u8]) -> Result<(), keel_packet::Error> {
    match rx::split_ipv4(dgram) {
        Ok((meta, payload)) => receive(vi, now, &meta, payload),
        Err(e) => {
            if let Some(rx) = RxError::from_packet_error(e) {
                vi.handle(now, Input::RxError(rx));
            }
            Err(e)
        }
    }
}

/// A VRRPv3 advert over IPv6 from `fe80::20` to ff02::12, with `hop_limit`.
pub fn v6_packet(cfg: &InstanceConfig, prio: u8, hop_limit: u8) -> (IpMeta, Vec<u8>) {
    let src = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x20));
    let dst = IpAddr::V6(MCAST_V6);
    let (_, vips) = vips_by_family(cfg);
    let repr = VrrpRepr {
        version: Version::V3,
        vrid: cfg.vrid,
        priority: prio,
        adver_int: cfg.adver_int_cs,
        auth: Auth::None,
        addrs: AddrList::V6(&vips),
    };
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut buf, src, dst, ChecksumMode::Rfc).unwrap();
    let meta = IpMeta {
        src,
        dst,
        ttl: hop_limit,
        protocol: keel_packet::VRRP_PROTO,
    };
    (meta, buf)
}
