//! Receive-side rules that live in the IP header, so a receiver cannot forget them.
//!
//! RFC 3768 §7.1 / RFC 5798 §7.1: the TTL (IPv4) or hop limit (IPv6) MUST be
//! 255, the protocol is 112, and advertisements go to 224.0.0.18 / ff02::12.
//! keepalived's unicast mode (`unicast_peer`) sends to the peer's own address
//! and does not check the TTL, because `unicast_ttl` may let it cross routers;
//! [`Delivery::Unicast`] follows it.
//!
//! ```
//! use keel_packet::rx::{self, Delivery, IpMeta};
//! use keel_packet::{Error, MCAST_V4, VRRP_PROTO};
//! use std::net::{IpAddr, Ipv4Addr};
//!
//! let meta = IpMeta {
//!     src: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)),
//!     dst: IpAddr::V4(MCAST_V4),
//!     ttl: 255,
//!     protocol: VRRP_PROTO,
//! };
//! assert_eq!(rx::check(&meta, Delivery::Multicast), Ok(()));
//! assert_eq!(rx::check(&IpMeta { ttl: 64, ..meta }, Delivery::Multicast), Err(Error::BadTtl));
//! ```

use crate::{Error, MCAST_V4, MCAST_V6, VRRP_PROTO, VRRP_TTL};
use std::net::{IpAddr, Ipv4Addr};

/// What the IP layer said about a received advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpMeta {
    /// IP source address.
    pub src: IpAddr,
    /// IP destination address.
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit (for IPv6 from the `IPV6_HOPLIMIT` control message).
    pub ttl: u8,
    /// IPv4 protocol or IPv6 next header (112 for VRRP).
    pub protocol: u8,
}

/// How advertisements reach this instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Delivery<'a> {
    /// To the VRRP group of the family; TTL/hop limit must be 255.
    Multicast,
    /// To one of these local unicast addresses (keepalived's `unicast_peer`
    /// mode); the TTL is not checked. An empty slice accepts any
    /// non-multicast destination (the kernel only delivers local ones).
    Unicast(&'a [IpAddr]),
}

/// [`Error::BadTtl`] unless `ttl` is 255.
pub const fn check_ttl(ttl: u8) -> Result<(), Error> {
    if ttl == VRRP_TTL {
        Ok(())
    } else {
        Err(Error::BadTtl)
    }
}

/// [`Error::BadProtocol`] unless `protocol` is 112.
pub const fn check_protocol(protocol: u8) -> Result<(), Error> {
    if protocol == VRRP_PROTO {
        Ok(())
    } else {
        Err(Error::BadProtocol)
    }
}

/// The VRRP group address for the family of `addr`.
pub const fn group_for(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => IpAddr::V4(MCAST_V4),
        IpAddr::V6(_) => IpAddr::V6(MCAST_V6),
    }
}

/// [`Error::BadDestination`] unless `dst` is allowed for `delivery`.
pub fn check_destination(dst: IpAddr, delivery: Delivery<'_>) -> Result<(), Error> {
    let ok = match delivery {
        Delivery::Multicast => dst == group_for(dst),
        Delivery::Unicast([]) => !dst.is_multicast() && !dst.is_unspecified(),
        Delivery::Unicast(locals) => locals.contains(&dst),
    };
    if ok {
        Ok(())
    } else {
        Err(Error::BadDestination)
    }
}

/// All IP-header rules: source and destination of one family
/// ([`Error::BadFamily`]), protocol 112, destination per `delivery`, and for
/// multicast a TTL/hop limit of 255.
pub fn check(meta: &IpMeta, delivery: Delivery<'_>) -> Result<(), Error> {
    crate::Family::of_pair(meta.src, meta.dst)?;
    check_protocol(meta.protocol)?;
    check_destination(meta.dst, delivery)?;
    if delivery == Delivery::Multicast {
        check_ttl(meta.ttl)?;
    }
    Ok(())
}

/// Length of an IPv4 header without options.
pub const IPV4_MIN_HEADER_LEN: usize = 20;

/// Split an IPv4 datagram as a raw IPv4 socket delivers it (header included)
/// into its header fields and payload.
///
/// Honours the header length (options are skipped) and the total length
/// (bytes after it, e.g. link padding, are dropped). Errors:
/// [`Error::Truncated`] when the buffer is shorter than the header or the
/// total length; [`Error::BadIpHeader`] when the version is not 4 or the
/// lengths are inconsistent. The header checksum is not verified (the kernel
/// has done it).
pub fn split_ipv4(datagram: &[u8]) -> Result<(IpMeta, &[u8]), Error> {
    let h = datagram
        .get(..IPV4_MIN_HEADER_LEN)
        .ok_or(Error::Truncated)?;
    if h[0] >> 4 != 4 {
        return Err(Error::BadIpHeader);
    }
    let ihl = usize::from(h[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
    if ihl < IPV4_MIN_HEADER_LEN || total < ihl {
        return Err(Error::BadIpHeader);
    }
    if datagram.len() < total {
        return Err(Error::Truncated);
    }
    let payload = datagram.get(ihl..total).ok_or(Error::Truncated)?;
    let meta = IpMeta {
        src: IpAddr::V4(Ipv4Addr::new(h[12], h[13], h[14], h[15])),
        dst: IpAddr::V4(Ipv4Addr::new(h[16], h[17], h[18], h[19])),
        ttl: h[8],
        protocol: h[9],
    };
    Ok((meta, payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    const SRC: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));
    const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11));

    fn meta() -> IpMeta {
        IpMeta {
            src: SRC,
            dst: IpAddr::V4(MCAST_V4),
            ttl: 255,
            protocol: 112,
        }
    }

    #[test]
    fn multicast_rules() {
        assert_eq!(check(&meta(), Delivery::Multicast), Ok(()));
        assert_eq!(
            check(&IpMeta { ttl: 254, ..meta() }, Delivery::Multicast),
            Err(Error::BadTtl)
        );
        assert_eq!(
            check(
                &IpMeta {
                    protocol: 17,
                    ..meta()
                },
                Delivery::Multicast
            ),
            Err(Error::BadProtocol)
        );
        assert_eq!(
            check(
                &IpMeta {
                    dst: LOCAL,
                    ..meta()
                },
                Delivery::Multicast
            ),
            Err(Error::BadDestination)
        );
        let other_group = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 5));
        assert_eq!(
            check(
                &IpMeta {
                    dst: other_group,
                    ..meta()
                },
                Delivery::Multicast
            ),
            Err(Error::BadDestination)
        );
        let v6 = IpMeta {
            src: "fe80::1".parse().unwrap(),
            dst: IpAddr::V6(MCAST_V6),
            ttl: 255,
            protocol: 112,
        };
        assert_eq!(check(&v6, Delivery::Multicast), Ok(()));
        assert_eq!(
            check(
                &IpMeta {
                    dst: IpAddr::V4(MCAST_V4),
                    ..v6
                },
                Delivery::Multicast
            ),
            Err(Error::BadFamily)
        );
        let wrong_scope = IpAddr::V6(Ipv6Addr::new(0xff05, 0, 0, 0, 0, 0, 0, 0x12));
        assert_eq!(
            check(
                &IpMeta {
                    dst: wrong_scope,
                    ..v6
                },
                Delivery::Multicast
            ),
            Err(Error::BadDestination)
        );
    }

    #[test]
    fn unicast_rules() {
        let m = IpMeta {
            dst: LOCAL,
            ttl: 64,
            ..meta()
        };
        assert_eq!(check(&m, Delivery::Unicast(&[LOCAL])), Ok(()));
        assert_eq!(check(&m, Delivery::Unicast(&[])), Ok(()));
        assert_eq!(
            check(&m, Delivery::Unicast(&[SRC])),
            Err(Error::BadDestination)
        );
        assert_eq!(
            check(&meta(), Delivery::Unicast(&[])),
            Err(Error::BadDestination)
        );
        assert_eq!(
            check(&IpMeta { protocol: 6, ..m }, Delivery::Unicast(&[LOCAL])),
            Err(Error::BadProtocol)
        );
    }

    #[test]
    fn split() {
        let mut d = vec![
            0x45, 0xc0, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0x00, 0x00, 192, 0, 2, 10,
            224, 0, 0, 18,
        ];
        d.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        d.extend_from_slice(&[0xee; 6]); // link padding
        let (m, p) = split_ipv4(&d).unwrap();
        assert_eq!(m, meta());
        assert_eq!(p, &[1, 2, 3, 4, 5, 6, 7, 8]);
        // With 4 bytes of options.
        let mut o = d[..20].to_vec();
        o[0] = 0x46;
        o[3] = 0x20;
        o.extend_from_slice(&[1, 1, 1, 0]);
        o.extend_from_slice(&[9; 8]);
        assert_eq!(split_ipv4(&o).unwrap().1, &[9; 8]);
        assert_eq!(split_ipv4(&d[..19]), Err(Error::Truncated));
        assert_eq!(split_ipv4(&d[..27]), Err(Error::Truncated));
        let mut b = d.clone();
        b[0] = 0x65;
        assert_eq!(split_ipv4(&b), Err(Error::BadIpHeader));
        let mut b = d.clone();
        b[0] = 0x44;
        assert_eq!(split_ipv4(&b), Err(Error::BadIpHeader));
        let mut b = d.clone();
        b[3] = 19;
        assert_eq!(split_ipv4(&b), Err(Error::BadIpHeader));
        // Every prefix of every byte pattern is handled without panicking.
        for n in 0..d.len() {
            let _ = split_ipv4(&d[..n]);
        }
    }
}
