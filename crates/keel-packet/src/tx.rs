//! Send-side helpers: an IPv4 header for senders that build their own
//! (`IP_HDRINCL`), as keepalived does.
//!
//! ```
//! use keel_packet::{tx, rx, MCAST_V4};
//! use std::net::Ipv4Addr;
//!
//! let mut buf = [0u8; 20 + 12];
//! tx::emit_ipv4_header(&mut buf, Ipv4Addr::new(192, 0, 2, 10), MCAST_V4, 12, 1)?;
//! let (meta, payload) = rx::split_ipv4(&buf)?;
//! assert_eq!((meta.ttl, meta.protocol, payload.len()), (255, 112, 12));
//! assert_eq!(keel_packet::internet_checksum(&buf[..20]), 0);
//! # Ok::<(), keel_packet::Error>(())
//! ```

use crate::{Error, VRRP_PROTO, VRRP_TTL, internet_checksum};
use std::net::Ipv4Addr;

/// Length of the header [`emit_ipv4_header`] writes.
pub const IPV4_HEADER_LEN: usize = 20;

/// The TOS keepalived sends with (`IPTOS_PREC_INTERNETCONTROL`).
pub const TOS_INTERNETCONTROL: u8 = 0xc0;

/// Write a 20-byte IPv4 header for a VRRP payload of `payload_len` bytes into
/// the start of `buf`: TOS 0xc0, no fragmentation flags, TTL 255, protocol
/// 112, header checksum filled in.
///
/// [`Error::BufferTooSmall`] if `buf` is shorter than 20 bytes,
/// [`Error::BadIpHeader`] if the total length would exceed 65535.
pub fn emit_ipv4_header(
    buf: &mut [u8],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    payload_len: usize,
    ident: u16,
) -> Result<(), Error> {
    let h = buf
        .get_mut(..IPV4_HEADER_LEN)
        .ok_or(Error::BufferTooSmall)?;
    let total = u16::try_from(IPV4_HEADER_LEN + payload_len).map_err(|_| Error::BadIpHeader)?;
    h[0] = 0x45;
    h[1] = TOS_INTERNETCONTROL;
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h[4..6].copy_from_slice(&ident.to_be_bytes());
    h[6..8].copy_from_slice(&[0, 0]);
    h[8] = VRRP_TTL;
    h[9] = VRRP_PROTO;
    h[10..12].copy_from_slice(&[0, 0]);
    h[12..16].copy_from_slice(&src.octets());
    h[16..20].copy_from_slice(&dst.octets());
    let c = internet_checksum(h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields() {
        let mut b = [0u8; 24];
        emit_ipv4_header(
            &mut b,
            Ipv4Addr::new(192, 0, 2, 10),
            crate::MCAST_V4,
            20,
            0x1234,
        )
        .unwrap();
        assert_eq!(&b[..10], &[0x45, 0xc0, 0, 40, 0x12, 0x34, 0, 0, 255, 112]);
        assert_eq!(&b[12..20], &[192, 0, 2, 10, 224, 0, 0, 18]);
        assert_eq!(internet_checksum(&b[..20]), 0, "header checksum verifies");
        assert_eq!(&b[20..], &[0; 4]);
        assert_eq!(
            emit_ipv4_header(&mut b[..19], Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST, 0, 0),
            Err(Error::BufferTooSmall)
        );
        assert_eq!(
            emit_ipv4_header(&mut b, Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST, 65516, 0),
            Err(Error::BadIpHeader)
        );
    }
}
