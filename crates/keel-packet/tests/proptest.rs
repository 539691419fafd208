//! Property tests: `parse(emit(r)) == r` for every valid repr, and the view
//! and `parse` never panic on arbitrary bytes.

use keel_packet::{AddrList, Auth, ChecksumMode, Family, Version, VrrpPacket, VrrpRepr, rx};
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An owned description of a repr (proptest values must be owned).
#[derive(Debug, Clone)]
struct Case {
    version: Version,
    vrid: u8,
    priority: u8,
    adver_int: u16,
    auth: Auth,
    v4: Vec<Ipv4Addr>,
    v6: Vec<Ipv6Addr>,
    family: Family,
    src: IpAddr,
    dst: IpAddr,
    mode: ChecksumMode,
}

impl Case {
    fn repr(&self) -> VrrpRepr<'_> {
        VrrpRepr {
            version: self.version,
            vrid: self.vrid,
            priority: self.priority,
            adver_int: self.adver_int,
            auth: self.auth,
            addrs: match self.family {
                Family::V4 => AddrList::V4(&self.v4),
                Family::V6 => AddrList::V6(&self.v6),
            },
        }
    }
}

fn auth_v2() -> impl Strategy<Value = Auth> {
    prop_oneof![
        Just(Auth::None),
        any::<[u8; 8]>().prop_map(Auth::SimpleText),
        any::<[u8; 8]>().prop_map(Auth::IpAh),
        (3u8..=255, any::<[u8; 8]>()).prop_map(|(kind, data)| Auth::Unknown { kind, data }),
    ]
}

fn mode() -> impl Strategy<Value = ChecksumMode> {
    prop_oneof![
        Just(ChecksumMode::Rfc),
        Just(ChecksumMode::V3NoPseudoHeader),
        Just(ChecksumMode::Ignore),
    ]
}

/// Address counts: mostly small, sometimes up to the 255 maximum.
fn count() -> impl Strategy<Value = usize> {
    prop_oneof![4 => 0usize..=4, 1 => 0usize..=255]
}

fn v2_case() -> impl Strategy<Value = Case> {
    (
        any::<u8>(),
        any::<u8>(),
        1u16..=255,
        auth_v2(),
        count().prop_flat_map(|n| proptest::collection::vec(any::<[u8; 4]>(), n)),
        any::<[u8; 4]>(),
        any::<[u8; 4]>(),
        mode(),
    )
        .prop_map(|(vrid, priority, secs, auth, addrs, s, d, mode)| Case {
            version: Version::V2,
            vrid,
            priority,
            adver_int: secs * 100,
            auth,
            v4: addrs.into_iter().map(Ipv4Addr::from).collect(),
            v6: vec![],
            family: Family::V4,
            src: IpAddr::V4(s.into()),
            dst: IpAddr::V4(d.into()),
            mode,
        })
}

fn v3_case(family: Family) -> impl Strategy<Value = Case> {
    (
        any::<u8>(),
        any::<u8>(),
        1u16..=4095,
        count().prop_flat_map(|n| proptest::collection::vec(any::<[u8; 16]>(), n)),
        any::<[u8; 16]>(),
        any::<[u8; 16]>(),
        mode(),
    )
        .prop_map(move |(vrid, priority, adver_int, addrs, s, d, mode)| {
            let (v4, v6, src, dst) = match family {
                Family::V4 => {
                    let four = |b: [u8; 16]| Ipv4Addr::new(b[0], b[1], b[2], b[3]);
                    (
                        addrs.into_iter().map(four).collect(),
                        vec![],
                        IpAddr::V4(four(s)),
                        IpAddr::V4(four(d)),
                    )
                }
                Family::V6 => (
                    vec![],
                    addrs.into_iter().map(Ipv6Addr::from).collect(),
                    IpAddr::V6(s.into()),
                    IpAddr::V6(d.into()),
                ),
            };
            Case {
                version: Version::V3,
                vrid,
                priority,
                adver_int,
                auth: Auth::None,
                v4,
                v6,
                family,
                src,
                dst,
                mode,
            }
        })
}

fn any_case() -> impl Strategy<Value = Case> {
    prop_oneof![v2_case(), v3_case(Family::V4), v3_case(Family::V6)]
}

fn any_ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|b| IpAddr::V4(b.into())),
        any::<[u8; 16]>().prop_map(|b| IpAddr::V6(b.into())),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn parse_emit_round_trip(case in any_case()) {
        let r = case.repr();
        let mut buf = vec![0u8; r.buffer_len()];
        r.emit(&mut buf, case.src, case.dst, case.mode).unwrap();
        let p = VrrpPacket::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(p.version(), r.version.number());
        prop_assert_eq!(usize::from(p.addr_count()), r.addrs.len());
        prop_assert_eq!(VrrpRepr::parse(&p, case.src, case.dst, case.mode), Ok(r));
        if case.mode != ChecksumMode::Ignore {
            prop_assert!(p.verify_checksum_with(case.src, case.dst, case.mode));
        }
        // The convenience verifier is the Rfc mode.
        if case.mode == ChecksumMode::Rfc {
            prop_assert!(p.verify_checksum(case.src, case.dst));
        }
    }

    #[test]
    fn emit_then_flip_one_bit_is_rejected(mut case in any_case(), bit in any::<usize>()) {
        if case.mode == ChecksumMode::Ignore {
            case.mode = ChecksumMode::Rfc;
        }
        let r = case.repr();
        let mut buf = vec![0u8; r.buffer_len()];
        r.emit(&mut buf, case.src, case.dst, case.mode).unwrap();
        let bit = bit % (buf.len() * 8);
        buf[bit / 8] ^= 1 << (bit % 8);
        // A single flipped bit is always caught: by the header checks or the checksum.
        prop_assert!(VrrpRepr::parse_bytes(&buf, case.src, case.dst, case.mode) != Ok(r));
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..700),
        src in any_ip(),
        dst in any_ip(),
        mode in mode(),
    ) {
        let view = VrrpPacket::new_unchecked(&bytes[..]);
        let _ = (view.version(), view.msg_type(), view.vrid(), view.priority(), view.addr_count());
        let _ = (view.auth_type(), view.adver_int_secs(), view.max_adver_int(), view.reserved());
        let _ = (view.adver_int_cs(), view.checksum(), view.auth_data());
        let _ = (view.addrs(Family::V4), view.addrs(Family::V6));
        let _ = view.verify_checksum_with(src, dst, mode);
        let _ = rx::split_ipv4(&bytes);
        if let Ok(p) = VrrpPacket::new_checked(&bytes[..])
            && let Ok(r) = VrrpRepr::parse(&p, src, dst, mode)
        {
            // Whatever parses re-emits and parses to the same value.
            let mut out = vec![0u8; r.buffer_len()];
            r.emit(&mut out, src, dst, mode).unwrap();
            prop_assert_eq!(VrrpRepr::parse_bytes(&out, src, dst, mode), Ok(r));
            prop_assert_eq!(out.len(), bytes.len());
        }
    }

    #[test]
    fn structured_headers_never_panic(
        ver_type in prop_oneof![Just(0x21u8), Just(0x31), any::<u8>()],
        count in any::<u8>(),
        rest in proptest::collection::vec(any::<u8>(), 0..64),
        body_len in 0usize..600,
        src in any_ip(),
        dst in any_ip(),
        mode in mode(),
    ) {
        // Headers that pass the version check with lengths near the interesting ones.
        let mut bytes = vec![ver_type, 1, 100, count];
        bytes.extend_from_slice(&rest);
        bytes.resize(body_len.max(4), 0);
        if let Ok(p) = VrrpPacket::new_checked(&bytes[..]) {
            let _ = VrrpRepr::parse(&p, src, dst, mode);
        }
    }
}
