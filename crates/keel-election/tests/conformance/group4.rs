//! Group 4: VRRP Transmission and Reception (RFC 3768 §7.1 and §7.2,
//! RFC 5798 §7.1 and §7.2), with real bytes through a driver's receive path.
//!
//! The router under test is a Backup (priority 100, VRRPv2, 1 s, VRID 51)
//! started at 0: its Master_Down_Timer fires at 3.609375 s. Each advert
//! arrives at 1 s from a Master of priority 150. A valid one moves the timer
//! to 4.609375 s; an invalid one must be dropped for the right reason, be
//! counted, and leave the timer alone, so the Backup still takes over at
//! 3.609375 s.

use crate::common::*;
use keel_election::{
    Action, AuthConfig, Counters, Input, Instance, InstanceConfig, Instant, State,
};
use keel_packet::rx::{self, Delivery, IpMeta};
use keel_packet::{Auth, Error, MCAST_V4, VrrpRepr, tx};
use std::net::{IpAddr, Ipv6Addr};

const T1: u64 = 1_000_000;
/// 3 × 1 s + (256 - 100)/256 s.
const DOWN: u64 = 3_609_375;

fn dut() -> Instance {
    started(v2(DUT, 100), Instant::ZERO)
}

/// The Master's advert: priority 150, no auth, 1 s, the VIP.
fn good() -> Vec<u8> {
    wire(&v2(PEER, 150), 150, Auth::None, 100)
}

/// The error counters that are not zero.
fn errors(c: &Counters) -> Vec<(&'static str, u64)> {
    [
        ("checksum_errors", c.checksum_errors),
        ("ttl_errors", c.ttl_errors),
        ("version_errors", c.version_errors),
        ("vrid_errors", c.vrid_errors),
        ("packet_length_errors", c.packet_length_errors),
        ("invalid_type", c.invalid_type),
        ("auth_failures", c.auth_failures),
        ("invalid_auth_type", c.invalid_auth_type),
        ("auth_type_mismatch", c.auth_type_mismatch),
        ("interval_errors", c.interval_errors),
        ("address_list_errors", c.address_list_errors),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .collect()
}

/// A valid advert at 1 s is taken: the timer moves to 4.609375 s.
fn takes(vi: &mut Instance, dgram: &[u8]) {
    assert_eq!(receive_v4(vi, at(T1), dgram), Ok(()));
    drain(vi);
    assert_eq!(vi.poll_timeout(), Some(at(T1 + DOWN)));
    assert_eq!(vi.master_addr(), Some(ip(PEER)));
    assert_eq!(errors(vi.counters()), []);
}

/// `dgram` at 1 s is dropped with `result` (the codec's verdict; `Ok` when
/// the machine itself drops it) and counted in `counter` only; the timer is
/// untouched and the Backup takes over at 3.609375 s.
fn dropped(dgram: &[u8], result: Result<(), Error>, counter: Option<&'static str>) {
    dropped_by(dut(), dgram, result, counter);
}

fn dropped_by(mut vi: Instance, dgram: &[u8], result: Result<(), Error>, counter: Option<&str>) {
    assert_eq!(receive_v4(&mut vi, at(T1), dgram), result);
    drain(&mut vi);
    let want: Vec<(&str, u64)> = counter.map(|c| (c, 1)).into_iter().collect();
    assert_eq!(errors(vi.counters()), want);
    assert_eq!(vi.state(), State::Backup);
    assert_eq!(vi.master_addr(), None);
    assert_eq!(
        vi.poll_timeout(),
        Some(at(DOWN)),
        "the drop moved the timer"
    );
    vi.handle(at(DOWN), Input::Timeout);
    assert_eq!(vi.state(), State::Master);
}

/// A VRRPv3 IPv6 router like the VRRPv2 one: priority 100, 1 s, one VIP.
fn v6_cfg() -> InstanceConfig {
    let mut cfg = v3("fe80::10", 100, 100);
    cfg.vips = vec![IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))];
    cfg
}

/// [`dropped`] for an IPv6 packet to [`v6_cfg`]'s router.
fn dropped_v6(meta: &IpMeta, payload: &[u8], err: Error, counter: &str) {
    let mut vi = started(v6_cfg(), Instant::ZERO);
    assert_eq!(receive(&mut vi, at(T1), meta, payload), Err(err));
    assert_eq!(errors(vi.counters()), [(counter, 1)]);
    assert_eq!(vi.poll_timeout(), Some(at(DOWN)));
    assert_eq!(vi.state(), State::Backup);
}

/// Set the IPv4 TTL and the header checksum that goes with it.
fn set_ttl(dgram: &mut [u8], ttl: u8) {
    dgram[8] = ttl;
    dgram[10..12].copy_from_slice(&[0, 0]);
    let c = keel_packet::internet_checksum(&dgram[..tx::IPV4_HEADER_LEN]);
    dgram[10..12].copy_from_slice(&c.to_be_bytes());
}

/// Set the IPv4 total length (and the header checksum).
fn set_total_len(dgram: &mut [u8], len: usize) {
    dgram[2..4].copy_from_slice(&u16::try_from(len).unwrap().to_be_bytes());
    let ttl = dgram[8];
    set_ttl(dgram, ttl);
}

/// Test VRRP.4.1: Reception of Invalid TTL field. §7.1: the IPv4 TTL (IPv6
/// hop limit) must be 255, else the packet is discarded and counted.
#[test]
fn case_4_1_reception_of_invalid_ttl() {
    takes(&mut dut(), &good());
    for ttl in [254, 128, 64, 1, 0] {
        let mut d = good();
        set_ttl(&mut d, ttl);
        dropped(&d, Err(Error::BadTtl), Some("ttl_errors"));
    }
    // VRRPv3 over IPv6: the hop limit.
    let mut vi = started(v6_cfg(), Instant::ZERO);
    let (meta, payload) = v6_packet(&v6_cfg(), 150, 255);
    assert_eq!(receive(&mut vi, at(T1), &meta, &payload), Ok(()));
    assert_eq!(vi.poll_timeout(), Some(at(T1 + DOWN)));
    let (meta, payload) = v6_packet(&v6_cfg(), 150, 254);
    dropped_v6(&meta, &payload, Error::BadTtl, "ttl_errors");
}

/// Test VRRP.4.2: Reception of Invalid Version field. §7.1: a version other
/// than the router's is discarded and counted, whether unknown to the codec
/// (1, 4, 15) or a real VRRPv3 advert reaching a VRRPv2 router.
#[test]
fn case_4_2_reception_of_invalid_version() {
    for v in [0, 1, 4, 15] {
        let mut d = good();
        patch(&mut d, |p| p.set_version_type(v, 1));
        dropped(&d, Err(Error::BadVersion), Some("version_errors"));
    }
    // A well-formed VRRPv3 advert for our VRID: parsed, then dropped by the machine.
    let vips = [std::net::Ipv4Addr::new(192, 0, 2, 250)];
    let v3_advert = VrrpRepr {
        version: keel_packet::Version::V3,
        vrid: VRID,
        priority: 150,
        adver_int: 100,
        auth: Auth::None,
        addrs: keel_packet::AddrList::V4(&vips),
    };
    let d = datagram(ip(PEER), &v3_advert);
    dropped(&d, Ok(()), Some("version_errors"));
    let mut vi = dut();
    receive_v4(&mut vi, at(T1), &d).unwrap();
    let lines: Vec<String> = drain(&mut vi)
        .iter()
        .filter_map(|a| match a {
            Action::Log(l) => Some(l.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(lines, ["(VI_1) wrong version. Received 3 and expect 2"]);

    // And the other way: a VRRPv2 advert reaching a VRRPv3 router.
    let mut vi = started(v3(DUT, 100, 100), Instant::ZERO);
    assert_eq!(receive_v4(&mut vi, at(T1), &good()), Ok(()));
    assert_eq!(errors(vi.counters()), [("version_errors", 1)]);
    assert_eq!(vi.poll_timeout(), Some(at(DOWN)));
}

/// Test VRRP.4.3: Reception of Invalid Complete VRRP Packet length. §7.1:
/// the message must be long enough for its Count IP Addrs (and, in v2, the
/// authentication data), and no longer.
#[test]
fn case_4_3_reception_of_invalid_packet_length() {
    let len = good().len(); // 20 + 8 + 4 + 8
    // One byte short (IP total length agreeing).
    let mut d = good();
    d.pop();
    set_total_len(&mut d, len - 1);
    dropped(&d, Err(Error::Truncated), Some("packet_length_errors"));
    // Four bytes too many: an address the count does not announce.
    let mut d = good();
    d.extend_from_slice(&[192, 0, 2, 251]);
    set_total_len(&mut d, len + 4);
    dropped(
        &d,
        Err(Error::AddrCountMismatch),
        Some("packet_length_errors"),
    );
    // The count says 2, one address follows (the length is checked first,
    // so the checksum is left as it was).
    let count = tx::IPV4_HEADER_LEN + 3;
    let mut d = good();
    d[count] = 2;
    dropped(&d, Err(Error::Truncated), Some("packet_length_errors"));
    // The count says 0, one address follows.
    let mut d = good();
    d[count] = 0;
    dropped(
        &d,
        Err(Error::AddrCountMismatch),
        Some("packet_length_errors"),
    );
    // Shorter than the VRRP header.
    let mut d = good();
    d.truncate(tx::IPV4_HEADER_LEN + 6);
    set_total_len(&mut d, tx::IPV4_HEADER_LEN + 6);
    dropped(&d, Err(Error::Truncated), Some("packet_length_errors"));
    // The IP header promises more than arrived.
    let mut d = good();
    set_total_len(&mut d, len + 8);
    dropped(&d, Err(Error::Truncated), Some("packet_length_errors"));
}

/// Test VRRP.4.4: Reception of Invalid checksum field. §7.1: the VRRP
/// checksum must verify (VRRPv3: over the IPv6/IPv4 pseudo-header too).
#[test]
fn case_4_4_reception_of_invalid_checksum() {
    let ck = tx::IPV4_HEADER_LEN + 6;
    let mut d = good();
    d[ck] ^= 0x01;
    dropped(&d, Err(Error::BadChecksum), Some("checksum_errors"));
    // A field changed after the checksum was computed.
    let mut d = good();
    d[tx::IPV4_HEADER_LEN + 2] = 151;
    dropped(&d, Err(Error::BadChecksum), Some("checksum_errors"));
    // VRRPv3 over IPv6 from another source than the checksum covered.
    let (mut meta, payload) = v6_packet(&v6_cfg(), 150, 255);
    meta.src = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x21));
    dropped_v6(&meta, &payload, Error::BadChecksum, "checksum_errors");
}

/// Test VRRP.4.5: Reception of Invalid VRID field. §7.1: an advert for
/// another virtual router is not ours: discarded (and counted).
#[test]
fn case_4_5_reception_of_invalid_vrid() {
    for vrid in [52, 50, 0, 255] {
        let mut d = good();
        patch(&mut d, |p| p.set_vrid(vrid));
        dropped(&d, Ok(()), Some("vrid_errors"));
    }
}

/// Test VRRP.4.6: Reception of Invalid Auth Type Information. RFC 3768 §7.1
/// (and RFC 2787's counters): an auth type other than the configured one is
/// discarded and counted as a mismatch, an unknown type as invalid, a wrong
/// simple-text password as an authentication failure.
#[test]
fn case_4_6_reception_of_invalid_auth_type() {
    let peer = v2(PEER, 150);
    let with = |auth| wire(&peer, 150, auth, 100);
    let data = *b"keel\0\0\0\0";
    // Router without authentication.
    dropped(
        &with(Auth::simple_text(b"123.123")),
        Ok(()),
        Some("auth_type_mismatch"),
    );
    dropped(&with(Auth::IpAh(data)), Ok(()), Some("auth_type_mismatch"));
    for kind in [3, 255] {
        dropped(
            &with(Auth::Unknown { kind, data }),
            Ok(()),
            Some("invalid_auth_type"),
        );
    }
    // Router with `auth_type PASS`, `auth_pass 123.123`.
    let mut cfg = v2(DUT, 100);
    cfg.auth = AuthConfig::pass("123.123");
    let pass = || started(cfg.clone(), Instant::ZERO);
    takes(&mut pass(), &with(Auth::simple_text(b"123.123")));
    dropped_by(
        pass(),
        &with(Auth::simple_text(b"123.124")),
        Ok(()),
        Some("auth_failures"),
    );
    dropped_by(
        pass(),
        &with(Auth::None),
        Ok(()),
        Some("auth_type_mismatch"),
    );
}

/// Test VRRP.4.7: Reception of Invalid Adver Interval Information. RFC 3768
/// §7.1: a VRRPv2 advert whose interval differs from the configured one is
/// discarded and counted; an interval of 0 is malformed. RFC 5798 §6.4.2
/// (VRRPv3) instead has the Backup learn the Master's interval (counted, and
/// followed).
#[test]
fn case_4_7_reception_of_invalid_adver_interval() {
    let peer = v2(PEER, 150);
    dropped(
        &wire(&peer, 150, Auth::None, 200),
        Ok(()),
        Some("interval_errors"),
    );
    dropped(
        &wire(&peer, 150, Auth::None, 25_500),
        Ok(()),
        Some("interval_errors"),
    );
    // Interval 0: malformed, the codec rejects it; counted with the others.
    let mut d = good();
    patch(&mut d, |p| p.set_adver_int_secs(0));
    dropped(&d, Err(Error::BadInterval), Some("interval_errors"));

    // VRRPv3 Backup at 1 s hearing a 0.5 s Master: taken, interval learned,
    // timer = 3 × 0.5 s + 156 × 0.5 s / 256 = 1.804687 s.
    let mut vi = started(v3(DUT, 100, 100), Instant::ZERO);
    let mut m = v3(PEER, 150, 50);
    m.vips = vec![ip(VIP)];
    let d = wire(&m, 150, Auth::None, 50);
    assert_eq!(receive_v4(&mut vi, at(T1), &d), Ok(()));
    assert_eq!(vi.master_adver_int_cs(), 50);
    assert_eq!(vi.poll_timeout(), Some(at(T1 + 1_804_687)));
    assert_eq!(errors(vi.counters()), [("interval_errors", 1)]);
}

/// Test VRRP.4.8: Reception of Invalid Unknown Type Field. §7.1 / §5.3.2: only
/// type 1 (ADVERTISEMENT) exists; any other is discarded and counted.
#[test]
fn case_4_8_reception_of_unknown_type() {
    for t in [0, 2, 3, 15] {
        let mut d = good();
        patch(&mut d, |p| p.set_version_type(2, t));
        dropped(&d, Err(Error::BadType), Some("invalid_type"));
    }
}

/// Test VRRP.4.9: Proper Transmission of VRRP packets. §7.2 / §5: what the
/// Master asks to send, built from its configuration the way a driver does,
/// is an RFC advert: IPv4 TTL 255, protocol 112, to 224.0.0.18, version 2,
/// type 1, VRID, priority, count, auth type and data, interval and checksum:
/// byte for byte what keepalived 2.2.7 sends for the same configuration.
/// Leaving Master sends the same advert with priority 0.
#[test]
fn case_4_9_proper_transmission() {
    let mut cfg = v2(DUT, 100);
    cfg.auth = AuthConfig::pass("123.123");
    let mut vi = started(cfg.clone(), Instant::ZERO);
    vi.handle(at(DOWN), Input::Timeout);
    let acts = drain(&mut vi);
    assert_eq!(adverts(&acts), [100]);
    let key = match cfg.auth {
        AuthConfig::Pass(k) => Auth::SimpleText(k),
        AuthConfig::None => Auth::None,
    };
    let d = wire(&cfg, 100, key, cfg.adver_int_cs);
    let (meta, payload) = rx::split_ipv4(&d).unwrap();
    assert_eq!((meta.ttl, meta.protocol), (255, 112));
    assert_eq!(meta.dst, IpAddr::V4(MCAST_V4));
    assert_eq!(rx::check(&meta, Delivery::Multicast), Ok(()));
    // keepalived 2.2.7, VRID 51, priority 100, PASS 123.123, 1 s, 192.0.2.250
    // (shared/notes/keepalived-facts.md; also keel-packet's crate example).
    let keepalived: [u8; 20] = [
        0x21, 0x33, 0x64, 0x01, 0x01, 0x01, 0xee, 0x3c, 0xc0, 0x00, 0x02, 0xfa, b'1', b'2', b'3',
        b'.', b'1', b'2', b'3', 0,
    ];
    assert_eq!(payload, keepalived);

    // Shutdown: one advert with priority 0, which a Backup takes as such.
    vi.handle(at(DOWN + 400_000), Input::Shutdown);
    let acts = drain(&mut vi);
    assert_eq!(adverts(&acts), [0]);
    let bye = wire(&cfg, 0, key, cfg.adver_int_cs);
    let p = keel_packet::VrrpPacket::new_checked(&bye[tx::IPV4_HEADER_LEN..]).unwrap();
    assert_eq!(p.priority(), 0);
    assert!(p.verify_checksum(meta.src, meta.dst));
    let mut backup_cfg = v2(PEER, 99);
    backup_cfg.auth = AuthConfig::pass("123.123");
    let mut backup = started(backup_cfg, Instant::ZERO);
    assert_eq!(receive_v4(&mut backup, at(T1), &bye), Ok(()));
    // Skew_Time(99) = 157/256 s.
    assert_eq!(backup.poll_timeout(), Some(at(T1 + 613_281)));
    assert_eq!(backup.counters().priority_zero_rx, 1);
}
