//! The Internet checksum (RFC 1071) and the VRRP pseudo-header (RFC 5798 §5.2.8).
//!
//! Sums are accumulated in a `u64` four bytes at a time; because
//! 2^16 ≡ 1 (mod 0xffff), folding a sum of 32-bit big-endian words gives the
//! same one's-complement result as summing 16-bit words.

use crate::VRRP_PROTO;
use std::net::IpAddr;

/// Add the bytes of `data` (as big-endian 16-bit words, odd byte padded with
/// zero) to the accumulator.
#[inline]
pub(crate) fn sum(mut acc: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        acc += u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
    }
    let rem = chunks.remainder();
    match *rem {
        [a] => acc += u64::from(a) << 8,
        [a, b] => acc += u64::from(u16::from_be_bytes([a, b])),
        [a, b, c] => acc += u64::from(u16::from_be_bytes([a, b])) + (u64::from(c) << 8),
        _ => {}
    }
    acc
}

/// Fold a 64-bit accumulator into a 16-bit one's-complement sum (not inverted).
#[inline]
pub(crate) fn fold(mut acc: u64) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    // The loop leaves acc < 0x10000.
    acc as u16
}

/// The accumulator for the pseudo-header of a VRRPv3 message of `len` bytes.
///
/// IPv4: src, dst, zero, protocol, 16-bit length. IPv6 (RFC 8200 §8.1): src,
/// dst, 32-bit length, three zero bytes, next header. Both sum to
/// `src + dst + protocol + len` because `len` < 2^16. Returns `None` when the
/// families of `src` and `dst` differ.
#[inline]
pub(crate) fn pseudo_header(src: IpAddr, dst: IpAddr, len: usize) -> Option<u64> {
    let acc = u64::from(VRRP_PROTO) + len as u64;
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => Some(sum(sum(acc, &s.octets()), &d.octets())),
        (IpAddr::V6(s), IpAddr::V6(d)) => Some(sum(sum(acc, &s.octets()), &d.octets())),
        _ => None,
    }
}

/// The Internet checksum of `data` alone (as written into a header: inverted).
///
/// Exposed for callers that build their own IPv4 headers.
pub fn internet_checksum(data: &[u8]) -> u16 {
    !fold(sum(0, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference implementation: plain 16-bit word sum.
    fn reference(data: &[u8]) -> u16 {
        let mut acc: u32 = 0;
        for c in data.chunks(2) {
            let w = if c.len() == 2 {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from(c[0]) << 8
            };
            acc += u32::from(w);
        }
        while acc >> 16 != 0 {
            acc = (acc & 0xffff) + (acc >> 16);
        }
        !(acc as u16)
    }

    #[test]
    fn matches_reference_for_all_lengths() {
        let data: Vec<u8> = (0..64u32).map(|i| (i * 37 + 11) as u8 | 0x80).collect();
        for n in 0..data.len() {
            assert_eq!(
                internet_checksum(&data[..n]),
                reference(&data[..n]),
                "len {n}"
            );
        }
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        let d = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(0, &d)), 0xddf2);
    }

    #[test]
    fn ipv4_header_checksum() {
        // A classic example header (checksum field zeroed): checksum b861.
        let h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(internet_checksum(&h), 0xb861);
    }
}
