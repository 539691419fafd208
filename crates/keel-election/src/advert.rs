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
