//! The received advertisement, as an owned plain value.

use crate::Version;
use std::net::IpAddr;

/// Authentication carried by a v2 advert (always `None` for v3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AdvertAuth {
    /// Auth type 0.
    None,
    /// Auth type 1, simple text password (8 bytes).
    Pass([u8; 8]),
    /// Auth type 2, IP Authentication Header (not supported by keel: counted as a type mismatch).
    Ah,
    /// Any other auth type (counted as invalid auth type).
    Unknown(u8),
}

/// The fields of a received VRRP advertisement the machine needs.
///
/// Built by the daemon from `keel_packet::VrrpRepr` (see the `From` impl) or
/// by tests directly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Advert {
    /// Version of the packet.
    pub version: Version,
    /// Virtual router id.
    pub vrid: u8,
    /// Sender's priority (0 = the master is stopping).
    pub priority: u8,
    /// Advertisement interval in centiseconds (v2: seconds × 100).
    pub adver_int_cs: u16,
    /// v2 authentication.
    pub auth: AdvertAuth,
    /// The virtual addresses listed in the advert.
    pub addrs: Vec<IpAddr>,
}

impl From<keel_packet::Auth> for AdvertAuth {
    fn from(a: keel_packet::Auth) -> Self {
        match a {
            keel_packet::Auth::None => AdvertAuth::None,
            keel_packet::Auth::SimpleText(k) => AdvertAuth::Pass(k),
            keel_packet::Auth::IpAh(_) => AdvertAuth::Ah,
            keel_packet::Auth::Unknown { kind, .. } => AdvertAuth::Unknown(kind),
        }
    }
}

impl From<&keel_packet::VrrpRepr<'_>> for Advert {
    fn from(r: &keel_packet::VrrpRepr<'_>) -> Self {
        Advert {
            version: r.version,
            vrid: r.vrid,
            priority: r.priority,
            adver_int_cs: r.adver_int,
            auth: r.auth.into(),
            addrs: r.addrs.iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_packet::{ChecksumMode, MCAST_V4, VrrpPacket, VrrpRepr};

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn from_keepalived_golden_packets() {
        let src: IpAddr = "192.0.2.10".parse().unwrap();
        let dst = IpAddr::V4(MCAST_V4);
        let vip: IpAddr = "192.0.2.250".parse().unwrap();
        // keepalived-facts.md: v2, prio 100, PASS "123.123", advert 1 s.
        let b = hex("213364010101ee3cc00002fa3132332e31323300");
        let p = VrrpPacket::new_checked(&b[..]).unwrap();
        let r = VrrpRepr::parse(&p, src, dst, ChecksumMode::Rfc).unwrap();
        let a = Advert::from(&r);
        assert_eq!(
            a,
            Advert {
                version: Version::V2,
                vrid: 51,
                priority: 100,
                adver_int_cs: 100,
                auth: AdvertAuth::Pass(*b"123.123\0"),
                addrs: vec![vip],
            }
        );
        // v3, prio 0, 10 cs.
        let b = hex("31330001000a692dc00002fa");
        let p = VrrpPacket::new_checked(&b[..]).unwrap();
        let r = VrrpRepr::parse(&p, src, dst, ChecksumMode::Rfc).unwrap();
        let a = Advert::from(&r);
        assert_eq!(
            (a.version, a.priority, a.adver_int_cs, a.auth),
            (Version::V3, 0, 10, AdvertAuth::None)
        );
        assert_eq!(a.addrs, vec![vip]);
    }
}
