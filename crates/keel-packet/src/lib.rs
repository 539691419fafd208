//! keel-packet: a zero-copy, never-panicking codec for VRRP advertisements,
//! VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798, IPv4 and IPv6).
//!
//! Parse the advertisement keepalived 2.2.7 sends for VRID 51, priority 100,
//! `auth_type PASS`, `auth_pass 123.123`, advert_int 1 and VIP 192.0.2.250:
//!
//! ```
//! use keel_packet::{Auth, ChecksumMode, VrrpPacket, VrrpRepr, Version, MCAST_V4};
//! use std::net::{IpAddr, Ipv4Addr};
//!
//! // The IP payload; the IPv4 header said 192.0.2.10 -> 224.0.0.18, TTL 255.
//! let bytes = [
//!     0x21, 0x33, 0x64, 0x01, 0x01, 0x01, 0xee, 0x3c, // v2 advert, VRID 51, prio 100, 1 addr, PASS, 1 s, checksum
//!     0xc0, 0x00, 0x02, 0xfa, // 192.0.2.250
//!     b'1', b'2', b'3', b'.', b'1', b'2', b'3', 0, // auth data
//! ];
//! let src = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));
//! let dst = IpAddr::V4(MCAST_V4);
//!
//! let packet = VrrpPacket::new_checked(&bytes[..])?;
//! assert!(packet.verify_checksum(src, dst));
//! let advert = VrrpRepr::parse(&packet, src, dst, ChecksumMode::Rfc)?;
//! assert_eq!(advert.version, Version::V2);
//! assert_eq!((advert.vrid, advert.priority), (51, 100));
//! assert_eq!(advert.adver_int, 100); // centiseconds, for both versions
//! assert_eq!(advert.auth, Auth::simple_text(b"123.123"));
//! let vips: Vec<IpAddr> = advert.addrs.iter().collect();
//! assert_eq!(vips, [IpAddr::V4(Ipv4Addr::new(192, 0, 2, 250))]);
//!
//! // Emitting the same repr reproduces keepalived's bytes exactly.
//! let mut out = [0u8; 20];
//! advert.emit(&mut out, src, dst, ChecksumMode::Rfc)?;
//! assert_eq!(out, bytes);
//! # Ok::<(), keel_packet::Error>(())
//! ```
//!
//! # Layout
//!
//! Shaped like smoltcp's wire modules:
//!
//! * [`VrrpPacket`]: a view over a buffer with field accessors (and setters
//!   when the buffer is mutable), [`VrrpPacket::verify_checksum`].
//! * [`VrrpRepr`]: the validated value, [`VrrpRepr::parse`],
//!   [`VrrpRepr::buffer_len`], [`VrrpRepr::emit`]. Its addresses are an
//!   [`AddrList`] that borrows the packet: parsing never allocates.
//! * [`ChecksumMode`]: RFC checksums, the "VRRPv3 checksummed like VRRPv2"
//!   variant some vendors send, or none.
//! * [`rx`]: the receive rules that live in the IP header (TTL/hop limit 255,
//!   protocol 112, destination group or configured unicast address), and
//!   [`rx::split_ipv4`] for raw IPv4 sockets that deliver the IP header.
//! * [`tx`]: an IPv4 header writer for senders that build their own header.
//! * Timers: [`skew_time`], [`master_down_interval`] (exact µs, as keepalived
//!   computes them) and the RFC 5798 centisecond forms [`skew_time_cs`],
//!   [`master_down_interval_cs`].
//! * [`virtual_mac`], [`MCAST_V4`], [`MCAST_V6`], [`VRRP_PROTO`], ...
//!
//! # Contract
//!
//! * Nothing in this crate panics, on any input, prints, or allocates. Errors
//!   are a small `Copy` enum, [`Error`], with one variant per rejection reason.
//! * [`VrrpPacket::new_checked`] and [`VrrpPacket::new_unchecked`] accept any
//!   buffer; accessors read missing bytes as zero and setters ignore bytes
//!   past the end. After `new_checked` succeeds every accessor reads real bytes.
//! * [`VrrpRepr::parse`] never allocates: the addresses borrow the buffer
//!   ([`AddrList::Wire`]).
//! * [`VrrpRepr::emit`] writes exactly [`VrrpRepr::buffer_len`] bytes at the
//!   start of the buffer, or returns an error.
//! * `parse(emit(r)) == r` for every repr `emit` accepts (checked by
//!   proptest, the fuzz targets and, for the wire format, tshark).
//! * A VRRPv3 message does not say its family: the IP header does. That is
//!   why `parse`, `emit` and the checksum functions take the IP source and
//!   destination addresses (they also feed the VRRPv3 pseudo-header).
#![warn(clippy::print_stdout, clippy::print_stderr)]
#![warn(missing_docs)]

mod checksum;
mod packet;
pub mod rx;
mod timers;
pub mod tx;

pub use checksum::internet_checksum;
pub use packet::{
    AddrIter, AddrList, Auth, ChecksumMode, Family, Version, VrrpPacket, VrrpRepr, WireAddrs,
};
pub use timers::{master_down_interval, master_down_interval_cs, skew_time, skew_time_cs};

use std::net::{Ipv4Addr, Ipv6Addr};

/// IP protocol number of VRRP.
pub const VRRP_PROTO: u8 = 112;
/// The IPv4 multicast group of VRRP, 224.0.0.18.
pub const MCAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The IPv6 multicast group of VRRP, ff02::12.
pub const MCAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// Ethernet address of [`MCAST_V4`], 01:00:5e:00:00:12.
pub const MCAST_MAC_V4: [u8; 6] = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x12];
/// Ethernet address of [`MCAST_V6`], 33:33:00:00:00:12.
pub const MCAST_MAC_V6: [u8; 6] = [0x33, 0x33, 0x00, 0x00, 0x00, 0x12];
/// The IPv4 TTL / IPv6 hop limit every advertisement must carry.
pub const VRRP_TTL: u8 = 255;
/// The only VRRP message type, ADVERTISEMENT.
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// Length of the fixed header.
pub const HEADER_LEN: usize = 8;
/// Length of the VRRPv2 authentication data.
pub const AUTH_LEN: usize = 8;
/// The most addresses one advertisement can carry (the count is one byte).
pub const MAX_ADDRS: usize = 255;
/// Largest VRRPv3 interval in centiseconds (12 bits).
pub const V3_MAX_ADVER_INT: u16 = 0x0fff;
/// Largest VRRPv2 interval in centiseconds (255 s).
pub const V2_MAX_ADVER_INT: u16 = 25500;

/// Why a message was rejected. One variant per reason, so callers can count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Error {
    /// The buffer is shorter than the header, or than the count of addresses implies.
    #[error("VRRP message truncated")]
    Truncated,
    /// The version nibble is not 2 or 3.
    #[error("unsupported VRRP version")]
    BadVersion,
    /// The type nibble is not 1 (ADVERTISEMENT).
    #[error("VRRP message type is not ADVERTISEMENT")]
    BadType,
    /// The message is longer than the address count implies (or fits no family).
    #[error("VRRP address count does not match the message length")]
    AddrCountMismatch,
    /// The checksum does not verify.
    #[error("VRRP checksum mismatch")]
    BadChecksum,
    /// The interval is zero, or cannot be represented in this version.
    #[error("invalid VRRP advertisement interval")]
    BadInterval,
    /// Source and destination differ in family, addresses are of the other
    /// family, or VRRPv2 over IPv6.
    #[error("address family mismatch")]
    BadFamily,
    /// Authentication requested in VRRPv3.
    #[error("VRRPv3 has no authentication")]
    BadAuth,
    /// More than 255 addresses.
    #[error("more than 255 addresses in one advertisement")]
    TooManyAddrs,
    /// The output buffer is shorter than `buffer_len()`.
    #[error("output buffer too small")]
    BufferTooSmall,
    /// IPv4 TTL / IPv6 hop limit is not 255.
    #[error("TTL/hop limit is not 255")]
    BadTtl,
    /// The IP protocol / next header is not 112.
    #[error("IP protocol is not VRRP (112)")]
    BadProtocol,
    /// The destination is neither the VRRP group nor a configured unicast address.
    #[error("destination is neither the VRRP group nor a configured unicast address")]
    BadDestination,
    /// The IP header itself is malformed.
    #[error("malformed IP header")]
    BadIpHeader,
}

impl Error {
    /// A short stable name, e.g. for counters: `"truncated"`, `"bad-checksum"`, ...
    pub const fn name(&self) -> &'static str {
        match self {
            Error::Truncated => "truncated",
            Error::BadVersion => "bad-version",
            Error::BadType => "bad-type",
            Error::AddrCountMismatch => "addr-count-mismatch",
            Error::BadChecksum => "bad-checksum",
            Error::BadInterval => "bad-interval",
            Error::BadFamily => "bad-family",
            Error::BadAuth => "bad-auth",
            Error::TooManyAddrs => "too-many-addrs",
            Error::BufferTooSmall => "buffer-too-small",
            Error::BadTtl => "bad-ttl",
            Error::BadProtocol => "bad-protocol",
            Error::BadDestination => "bad-destination",
            Error::BadIpHeader => "bad-ip-header",
        }
    }

    /// The drop counter an advert rejected with this error goes to: the
    /// keys of keel-node's per-instance `dropped` map and keeld's status
    /// (`ttl`, `length`, `checksum`, `version`, `type`, `destination`,
    /// `family`, `interval`, `protocol`, `auth`). Every length problem,
    /// truncation and address count alike, counts as `length`.
    ///
    /// ```
    /// assert_eq!(keel_packet::Error::BadTtl.counter_name(), "ttl");
    /// assert_eq!(keel_packet::Error::Truncated.counter_name(), "length");
    /// ```
    pub const fn counter_name(&self) -> &'static str {
        match self {
            Error::BadTtl => "ttl",
            Error::Truncated
            | Error::AddrCountMismatch
            | Error::TooManyAddrs
            | Error::BadIpHeader
            | Error::BufferTooSmall => "length",
            Error::BadChecksum => "checksum",
            Error::BadVersion => "version",
            Error::BadType => "type",
            Error::BadDestination => "destination",
            Error::BadFamily => "family",
            Error::BadInterval => "interval",
            Error::BadProtocol => "protocol",
            Error::BadAuth => "auth",
        }
    }
}

/// The virtual router MAC address for `vrid`: 00:00:5e:00:01:VRID (IPv4) or
/// 00:00:5e:00:02:VRID (IPv6), RFC 5798 §7.3.
pub const fn virtual_mac(vrid: u8, v6: bool) -> [u8; 6] {
    [0x00, 0x00, 0x5e, 0x00, if v6 { 0x02 } else { 0x01 }, vrid]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs() {
        assert_eq!(virtual_mac(51, false), [0, 0, 0x5e, 0, 1, 51]);
        assert_eq!(virtual_mac(255, true), [0, 0, 0x5e, 0, 2, 255]);
        assert_eq!(MCAST_V4.to_string(), "224.0.0.18");
        assert_eq!(MCAST_V6.to_string(), "ff02::12");
        // RFC 1112 §6.4 / RFC 2464 §7 mappings of the groups.
        let o = MCAST_V4.octets();
        assert_eq!(MCAST_MAC_V4, [0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]);
        let o = MCAST_V6.octets();
        assert_eq!(MCAST_MAC_V6, [0x33, 0x33, o[12], o[13], o[14], o[15]]);
    }

    #[test]
    fn error_names_are_distinct() {
        let all = [
            Error::Truncated,
            Error::BadVersion,
            Error::BadType,
            Error::AddrCountMismatch,
            Error::BadChecksum,
            Error::BadInterval,
            Error::BadFamily,
            Error::BadAuth,
            Error::TooManyAddrs,
            Error::BufferTooSmall,
            Error::BadTtl,
            Error::BadProtocol,
            Error::BadDestination,
            Error::BadIpHeader,
        ];
        let mut names: Vec<_> = all.iter().map(Error::name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all.len());
    }
}
