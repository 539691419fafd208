//! The VRRP advertisement: a zero-copy view [`VrrpPacket`] and a validated
//! value [`VrrpRepr`].
//!
//! ```text
//! VRRPv2 (RFC 3768 §5.1)                    VRRPv3 (RFC 5798 §5.1)
//!  0       4       8              16              24             31
//! +-------+-------+---------------+---------------+---------------+
//! |Version| Type  |     VRID      |   Priority    | Count IP Addrs|
//! +-------+-------+---------------+---------------+---------------+
//! v2: | Auth Type | Adver Int (s) |          Checksum             |
//! v3: |Rsvd| Max Adver Int (cs, 12 bits) |      Checksum           |
//! +---------------------------------------------------------------+
//! |            Count × IPv4 (4 bytes) or IPv6 (16 bytes, v3 only)  |
//! +---------------------------------------------------------------+
//! v2 only: Authentication Data (8 bytes)
//! ```
//!
//! # Contract
//!
//! * Nothing in this module panics, on any input: [`VrrpPacket::new_checked`]
//!   and [`VrrpPacket::new_unchecked`] accept any buffer, every accessor reads
//!   missing bytes as zero and every setter ignores bytes past the end of the
//!   buffer. After `new_checked` succeeds every accessor reads real bytes.
//! * [`VrrpRepr::parse`] never panics and never allocates; the addresses it
//!   returns borrow the packet buffer ([`AddrList::Wire`]).
//! * [`VrrpRepr::emit`] never panics; it writes exactly
//!   [`VrrpRepr::buffer_len`] bytes at the start of `buf` or returns an error
//!   without promising anything about `buf`'s contents.
//! * `VrrpRepr::parse(emit(r)) == r` for every repr that `emit` accepts with
//!   [`ChecksumMode::Rfc`] or [`ChecksumMode::V3NoPseudoHeader`].
//!
//! The family of a VRRPv3 message is not in the message: it is the family of
//! the IP header that carried it. That is why `parse`, `emit` and the checksum
//! functions take the IP source and destination addresses.

use crate::checksum;
use crate::{AUTH_LEN, Error, HEADER_LEN, MAX_ADDRS, TYPE_ADVERTISEMENT, V3_MAX_ADVER_INT};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Field offsets of the VRRP header.
mod field {
    pub(crate) type Field = core::ops::Range<usize>;

    /// Version (high nibble) and type (low nibble).
    pub(crate) const VER_TYPE: usize = 0;
    pub(crate) const VRID: usize = 1;
    pub(crate) const PRIORITY: usize = 2;
    pub(crate) const COUNT: usize = 3;
    /// v2: authentication type.
    pub(crate) const V2_AUTH_TYPE: usize = 4;
    /// v2: advertisement interval in seconds.
    pub(crate) const V2_ADVER_INT: usize = 5;
    /// v3: 4 reserved bits then the 12-bit max advertisement interval (centiseconds).
    pub(crate) const V3_MAX_ADVER_INT: Field = 4..6;
    pub(crate) const CHECKSUM: Field = 6..8;
    /// Start of the address list.
    pub(crate) const ADDRS: usize = 8;
}

/// VRRP protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// VRRPv2, RFC 3768: IPv4 only, interval in seconds, authentication data.
    V2,
    /// VRRPv3, RFC 5798: IPv4 or IPv6, interval in centiseconds, pseudo-header checksum.
    V3,
}

impl Version {
    /// The number carried in the version nibble (2 or 3).
    #[inline]
    pub const fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }

    /// The version for a version nibble, if it is 2 or 3.
    #[inline]
    pub const fn from_number(n: u8) -> Option<Version> {
        match n {
            2 => Some(Version::V2),
            3 => Some(Version::V3),
            _ => None,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VRRPv{}", self.number())
    }
}

/// IP address family of the addresses in a message (and of the IP header carrying it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4: 4-byte addresses.
    V4,
    /// IPv6: 16-byte addresses (VRRPv3 only).
    V6,
}

impl Family {
    /// Bytes per address: 4 or 16.
    #[inline]
    pub const fn addr_len(self) -> usize {
        match self {
            Family::V4 => 4,
            Family::V6 => 16,
        }
    }

    /// The family of `addr`.
    #[inline]
    pub const fn of(addr: IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// The family shared by `src` and `dst`, or [`Error::BadFamily`].
    #[inline]
    pub fn of_pair(src: IpAddr, dst: IpAddr) -> Result<Family, Error> {
        let f = Family::of(src);
        if f == Family::of(dst) {
            Ok(f)
        } else {
            Err(Error::BadFamily)
        }
    }
}

/// How checksums are computed on emit and checked on parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ChecksumMode {
    /// As the RFCs say: VRRPv2 over the message; VRRPv3 over the IPv4/IPv6
    /// pseudo-header plus the message (RFC 5798 §5.2.8). What keepalived sends.
    #[default]
    Rfc,
    /// VRRPv3 over IPv4 checksummed like VRRPv2, without the pseudo-header,
    /// as some vendors send it (keepalived's `v3_checksum_as_v2`, tshark's
    /// `vrrp.v3_checksum_as_in_v2`). Same as `Rfc` for VRRPv2 and for IPv6,
    /// where the pseudo-header is always used (the kernel computes it with
    /// `IPV6_CHECKSUM`).
    V3NoPseudoHeader,
    /// Parse: do not check. Emit: write a zero checksum.
    Ignore,
}

/// VRRPv2 authentication (RFC 2338/3768). Always [`Auth::None`] in VRRPv3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Auth {
    /// Type 0: no authentication (the data field is sent as zeros and ignored on receive).
    #[default]
    None,
    /// Type 1: simple text password, the first 8 bytes, NUL padded.
    SimpleText([u8; 8]),
    /// Type 2: IP Authentication Header; the VRRP data field is carried as is.
    IpAh([u8; 8]),
    /// Any other type, carried through unchanged.
    Unknown {
        /// The auth type byte (3..=255).
        kind: u8,
        /// The 8 bytes of authentication data.
        data: [u8; 8],
    },
}

impl Auth {
    /// A simple-text password as keepalived sends it: the first 8 bytes of
    /// `pass`, padded with NUL bytes.
    pub fn simple_text(pass: &[u8]) -> Auth {
        let mut k = [0u8; AUTH_LEN];
        let n = pass.len().min(AUTH_LEN);
        k[..n].copy_from_slice(&pass[..n]);
        Auth::SimpleText(k)
    }

    /// The auth type byte on the wire.
    pub const fn kind(&self) -> u8 {
        match self {
            Auth::None => 0,
            Auth::SimpleText(_) => 1,
            Auth::IpAh(_) => 2,
            Auth::Unknown { kind, .. } => *kind,
        }
    }

    /// The 8 bytes of the authentication data field.
    pub const fn data(&self) -> [u8; 8] {
        match self {
            Auth::None => [0; 8],
            Auth::SimpleText(d) | Auth::IpAh(d) | Auth::Unknown { data: d, .. } => *d,
        }
    }

    /// The auth for a type byte and data field as read from the wire.
    pub const fn from_wire(kind: u8, data: [u8; 8]) -> Auth {
        match kind {
            0 => Auth::None,
            1 => Auth::SimpleText(data),
            2 => Auth::IpAh(data),
            kind => Auth::Unknown { kind, data },
        }
    }
}

/// Addresses still in wire format: a byte slice whose length is a multiple of
/// the family's address length (the constructor guarantees it).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct WireAddrs<'a> {
    family: Family,
    bytes: &'a [u8],
}

impl<'a> WireAddrs<'a> {
    /// Wrap `bytes`; `None` unless its length is a multiple of the address
    /// length and at most [`MAX_ADDRS`] addresses.
    pub fn new(family: Family, bytes: &'a [u8]) -> Option<Self> {
        let n = family.addr_len();
        if bytes.len().is_multiple_of(n) && bytes.len() / n <= MAX_ADDRS {
            Some(WireAddrs { family, bytes })
        } else {
            None
        }
    }

    /// The family.
    pub const fn family(&self) -> Family {
        self.family
    }

    /// The raw bytes (count × address length).
    pub const fn bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

impl fmt::Debug for WireAddrs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(AddrList::Wire(*self).iter())
            .finish()
    }
}

/// The virtual addresses of an advertisement, borrowed: no allocation.
///
/// Parsing yields [`AddrList::Wire`]; when building a message use
/// [`AddrList::V4`] or [`AddrList::V6`]. Two lists are equal when they have
/// the same family and the same addresses in the same order, whatever their
/// representation.
#[derive(Clone, Copy)]
pub enum AddrList<'a> {
    /// Addresses as they sit in a received packet.
    Wire(WireAddrs<'a>),
    /// IPv4 addresses.
    V4(&'a [Ipv4Addr]),
    /// IPv6 addresses.
    V6(&'a [Ipv6Addr]),
}

impl<'a> AddrList<'a> {
    /// The address family.
    pub const fn family(&self) -> Family {
        match self {
            AddrList::Wire(w) => w.family,
            AddrList::V4(_) => Family::V4,
            AddrList::V6(_) => Family::V6,
        }
    }

    /// Number of addresses.
    pub const fn len(&self) -> usize {
        match self {
            AddrList::Wire(w) => w.bytes.len() / w.family.addr_len(),
            AddrList::V4(a) => a.len(),
            AddrList::V6(a) => a.len(),
        }
    }

    /// True when there are no addresses.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th address.
    pub fn get(&self, i: usize) -> Option<IpAddr> {
        match self {
            AddrList::Wire(w) => {
                let n = w.family.addr_len();
                let b = w
                    .bytes
                    .get(i.checked_mul(n)?..i.checked_mul(n)?.checked_add(n)?)?;
                Some(addr_from_bytes(w.family, b))
            }
            AddrList::V4(a) => a.get(i).map(|a| IpAddr::V4(*a)),
            AddrList::V6(a) => a.get(i).map(|a| IpAddr::V6(*a)),
        }
    }

    /// Iterate over the addresses.
    pub fn iter(&self) -> AddrIter<'a> {
        AddrIter {
            list: *self,
            front: 0,
            back: self.len(),
        }
    }

    /// True when `addr` is in the list.
    pub fn contains(&self, addr: IpAddr) -> bool {
        self.iter().any(|a| a == addr)
    }

    /// Write the addresses in wire format into `out`, which must be exactly
    /// `len() * family().addr_len()` bytes.
    fn write(&self, out: &mut [u8]) {
        match self {
            AddrList::Wire(w) => {
                if let Some(o) = out.get_mut(..w.bytes.len()) {
                    o.copy_from_slice(w.bytes);
                }
            }
            AddrList::V4(a) => {
                for (o, a) in out.chunks_exact_mut(4).zip(a.iter()) {
                    o.copy_from_slice(&a.octets());
                }
            }
            AddrList::V6(a) => {
                for (o, a) in out.chunks_exact_mut(16).zip(a.iter()) {
                    o.copy_from_slice(&a.octets());
                }
            }
        }
    }
}

fn addr_from_bytes(family: Family, b: &[u8]) -> IpAddr {
    match family {
        Family::V4 => {
            let mut o = [0u8; 4];
            if let Some(s) = b.get(..4) {
                o.copy_from_slice(s);
            }
            IpAddr::V4(Ipv4Addr::from(o))
        }
        Family::V6 => {
            let mut o = [0u8; 16];
            if let Some(s) = b.get(..16) {
                o.copy_from_slice(s);
            }
            IpAddr::V6(Ipv6Addr::from(o))
        }
    }
}

impl PartialEq for AddrList<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.family() == other.family() && self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for AddrList<'_> {}

impl fmt::Debug for AddrList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for AddrList<'a> {
    type Item = IpAddr;
    type IntoIter = AddrIter<'a>;
    fn into_iter(self) -> AddrIter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &AddrList<'a> {
    type Item = IpAddr;
    type IntoIter = AddrIter<'a>;
    fn into_iter(self) -> AddrIter<'a> {
        self.iter()
    }
}

/// Iterator over an [`AddrList`].
#[derive(Debug, Clone)]
pub struct AddrIter<'a> {
    list: AddrList<'a>,
    front: usize,
    back: usize,
}

impl Iterator for AddrIter<'_> {
    type Item = IpAddr;
    fn next(&mut self) -> Option<IpAddr> {
        if self.front >= self.back {
            return None;
        }
        let a = self.list.get(self.front);
        self.front += 1;
        a
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back.saturating_sub(self.front);
        (n, Some(n))
    }
}

impl DoubleEndedIterator for AddrIter<'_> {
    fn next_back(&mut self) -> Option<IpAddr> {
        if self.front >= self.back {
            return None;
        }
        self.back -= 1;
        self.list.get(self.back)
    }
}

impl ExactSizeIterator for AddrIter<'_> {}

/// A zero-copy view of a VRRP message (the IP payload).
///
/// See the [crate documentation](crate#contract) for the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VrrpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> VrrpPacket<T> {
    /// Wrap a buffer without checking it. Accessors then read missing bytes as zero.
    pub const fn new_unchecked(buffer: T) -> Self {
        VrrpPacket { buffer }
    }

    /// Wrap a buffer after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Check that the buffer holds a whole message of a known version:
    ///
    /// * at least the 8-byte header, else [`Error::Truncated`];
    /// * version 2 or 3, else [`Error::BadVersion`];
    /// * VRRPv2: exactly `8 + 4 × count + 8` bytes; VRRPv3: exactly
    ///   `8 + 4 × count` or `8 + 16 × count` bytes (the family is checked by
    ///   [`VrrpRepr::parse`]). Fewer bytes is [`Error::Truncated`], any other
    ///   length [`Error::AddrCountMismatch`].
    ///
    /// The message type is checked by `parse`, so that the view can be used to
    /// look at other types.
    pub fn check_len(&self) -> Result<(), Error> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let count = usize::from(self.addr_count());
        match self.version() {
            2 => {
                let want = HEADER_LEN + 4 * count + AUTH_LEN;
                if len < want {
                    Err(Error::Truncated)
                } else if len > want {
                    Err(Error::AddrCountMismatch)
                } else {
                    Ok(())
                }
            }
            3 => {
                let v4 = HEADER_LEN + 4 * count;
                let v6 = HEADER_LEN + 16 * count;
                if len < v4 {
                    Err(Error::Truncated)
                } else if len == v4 || len == v6 {
                    Ok(())
                } else {
                    Err(Error::AddrCountMismatch)
                }
            }
            _ => Err(Error::BadVersion),
        }
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole buffer.
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    #[inline]
    fn byte(&self, i: usize) -> u8 {
        self.buffer.as_ref().get(i).copied().unwrap_or(0)
    }

    #[inline]
    fn word(&self, f: field::Field) -> u16 {
        u16::from_be_bytes([self.byte(f.start), self.byte(f.start + 1)])
    }

    /// The version nibble (2 or 3 after `new_checked`).
    #[inline]
    pub fn version(&self) -> u8 {
        self.byte(field::VER_TYPE) >> 4
    }

    /// The type nibble (1 = advertisement).
    #[inline]
    pub fn msg_type(&self) -> u8 {
        self.byte(field::VER_TYPE) & 0x0f
    }

    /// Virtual router ID.
    #[inline]
    pub fn vrid(&self) -> u8 {
        self.byte(field::VRID)
    }

    /// Priority (0 = the master is leaving, 255 = address owner).
    #[inline]
    pub fn priority(&self) -> u8 {
        self.byte(field::PRIORITY)
    }

    /// The "Count IP Addrs" / "Count IPvX Addr" field.
    #[inline]
    pub fn addr_count(&self) -> u8 {
        self.byte(field::COUNT)
    }

    /// VRRPv2 authentication type (byte 4; part of the interval in VRRPv3).
    #[inline]
    pub fn auth_type(&self) -> u8 {
        self.byte(field::V2_AUTH_TYPE)
    }

    /// VRRPv2 advertisement interval in seconds (byte 5).
    #[inline]
    pub fn adver_int_secs(&self) -> u8 {
        self.byte(field::V2_ADVER_INT)
    }

    /// VRRPv3 maximum advertisement interval in centiseconds (12 bits).
    #[inline]
    pub fn max_adver_int(&self) -> u16 {
        self.word(field::V3_MAX_ADVER_INT) & 0x0fff
    }

    /// VRRPv3 reserved bits (sent as zero, ignored on receive).
    #[inline]
    pub fn reserved(&self) -> u8 {
        self.byte(field::V3_MAX_ADVER_INT.start) >> 4
    }

    /// The advertisement interval in centiseconds for either version
    /// (VRRPv2: seconds × 100).
    #[inline]
    pub fn adver_int_cs(&self) -> u16 {
        if self.version() == 2 {
            u16::from(self.adver_int_secs()) * 100
        } else {
            self.max_adver_int()
        }
    }

    /// The checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        self.word(field::CHECKSUM)
    }

    /// The address bytes for `family`: exactly `count × family.addr_len()`
    /// bytes. [`Error::BadFamily`] for IPv6 in VRRPv2; [`Error::Truncated`] or
    /// [`Error::AddrCountMismatch`] when the message length does not fit.
    pub fn addr_bytes(&self, family: Family) -> Result<&[u8], Error> {
        let buf = self.buffer.as_ref();
        let n = usize::from(self.addr_count()) * family.addr_len();
        let tail = match self.version() {
            2 if family == Family::V6 => return Err(Error::BadFamily),
            2 => AUTH_LEN,
            3 => 0,
            _ => return Err(Error::BadVersion),
        };
        let want = HEADER_LEN + n + tail;
        if buf.len() < want {
            return Err(Error::Truncated);
        }
        if buf.len() > want {
            return Err(Error::AddrCountMismatch);
        }
        buf.get(field::ADDRS..field::ADDRS + n)
            .ok_or(Error::Truncated)
    }

    /// The addresses for `family`, borrowed from the buffer.
    pub fn addrs(&self, family: Family) -> Result<AddrList<'_>, Error> {
        let b = self.addr_bytes(family)?;
        WireAddrs::new(family, b)
            .map(AddrList::Wire)
            .ok_or(Error::AddrCountMismatch)
    }

    /// VRRPv2 authentication data (the last 8 bytes); `None` for other
    /// versions or a buffer too short.
    pub fn auth_data(&self) -> Option<[u8; 8]> {
        if self.version() != 2 {
            return None;
        }
        let start = HEADER_LEN + 4 * usize::from(self.addr_count());
        let b = self.buffer.as_ref().get(start..start + AUTH_LEN)?;
        let mut d = [0u8; AUTH_LEN];
        d.copy_from_slice(b);
        Some(d)
    }

    /// The message bytes covered by the checksum: for v2 the whole message
    /// implied by the count (header, addresses, auth data); for v3 header and
    /// addresses of `family`.
    fn message(&self, family: Family) -> Option<&[u8]> {
        let count = usize::from(self.addr_count());
        let len = match self.version() {
            2 => HEADER_LEN + 4 * count + AUTH_LEN,
            _ => HEADER_LEN + family.addr_len() * count,
        };
        self.buffer.as_ref().get(..len)
    }

    /// Verify the checksum as the RFCs define it ([`ChecksumMode::Rfc`]).
    pub fn verify_checksum(&self, src: IpAddr, dst: IpAddr) -> bool {
        self.verify_checksum_with(src, dst, ChecksumMode::Rfc)
    }

    /// Verify the checksum in `mode` (always true for [`ChecksumMode::Ignore`]).
    /// False when `src` and `dst` differ in family or the buffer is short.
    pub fn verify_checksum_with(&self, src: IpAddr, dst: IpAddr, mode: ChecksumMode) -> bool {
        if mode == ChecksumMode::Ignore {
            return true;
        }
        let Ok(family) = Family::of_pair(src, dst) else {
            return false;
        };
        let Some(msg) = self.message(family) else {
            return false;
        };
        let acc = if uses_pseudo_header(self.version(), family, mode) {
            match checksum::pseudo_header(src, dst, msg.len()) {
                Some(a) => a,
                None => return false,
            }
        } else {
            0
        };
        checksum::fold(checksum::sum(acc, msg)) == 0xffff
    }
}

/// Whether the checksum covers the pseudo-header: VRRPv3, unless
/// [`ChecksumMode::V3NoPseudoHeader`] over IPv4.
#[inline]
fn uses_pseudo_header(version: u8, family: Family, mode: ChecksumMode) -> bool {
    version == 3 && (mode == ChecksumMode::Rfc || family == Family::V6)
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> VrrpPacket<T> {
    #[inline]
    fn set_byte(&mut self, i: usize, v: u8) {
        if let Some(b) = self.buffer.as_mut().get_mut(i) {
            *b = v;
        }
    }

    #[inline]
    fn set_word(&mut self, f: field::Field, v: u16) {
        let [a, b] = v.to_be_bytes();
        self.set_byte(f.start, a);
        self.set_byte(f.start + 1, b);
    }

    /// Set the version and type nibbles.
    pub fn set_version_type(&mut self, version: u8, msg_type: u8) {
        self.set_byte(field::VER_TYPE, (version << 4) | (msg_type & 0x0f));
    }

    /// Set the VRID.
    pub fn set_vrid(&mut self, v: u8) {
        self.set_byte(field::VRID, v);
    }

    /// Set the priority.
    pub fn set_priority(&mut self, v: u8) {
        self.set_byte(field::PRIORITY, v);
    }

    /// Set the address count.
    pub fn set_addr_count(&mut self, v: u8) {
        self.set_byte(field::COUNT, v);
    }

    /// Set the VRRPv2 auth type.
    pub fn set_auth_type(&mut self, v: u8) {
        self.set_byte(field::V2_AUTH_TYPE, v);
    }

    /// Set the VRRPv2 interval in seconds.
    pub fn set_adver_int_secs(&mut self, v: u8) {
        self.set_byte(field::V2_ADVER_INT, v);
    }

    /// Set the VRRPv3 max advertisement interval (low 12 bits of `cs`) and
    /// clear the reserved bits.
    pub fn set_max_adver_int(&mut self, cs: u16) {
        self.set_word(field::V3_MAX_ADVER_INT, cs & 0x0fff);
    }

    /// Set the checksum field.
    pub fn set_checksum(&mut self, v: u16) {
        self.set_word(field::CHECKSUM, v);
    }

    /// Compute and store the checksum for `mode` (zero for
    /// [`ChecksumMode::Ignore`]). The version and count fields must be set.
    pub fn fill_checksum(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        mode: ChecksumMode,
    ) -> Result<(), Error> {
        self.set_checksum(0);
        if mode == ChecksumMode::Ignore {
            return Ok(());
        }
        let family = Family::of_pair(src, dst)?;
        let pseudo = uses_pseudo_header(self.version(), family, mode);
        let msg = self.message(family).ok_or(Error::BufferTooSmall)?;
        let acc = if pseudo {
            checksum::pseudo_header(src, dst, msg.len()).ok_or(Error::BadFamily)?
        } else {
            0
        };
        let c = !checksum::fold(checksum::sum(acc, msg));
        self.set_checksum(c);
        Ok(())
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for VrrpPacket<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A validated VRRP advertisement.
///
/// `adver_int` is in **centiseconds** for both versions: a VRRPv2 interval of
/// 1 s is `100`. Addresses are borrowed (no allocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VrrpRepr<'a> {
    /// Protocol version.
    pub version: Version,
    /// Virtual router ID (1..=255 in practice; 0 is carried through).
    pub vrid: u8,
    /// Priority of the sender.
    pub priority: u8,
    /// Advertisement interval in centiseconds. VRRPv2: a multiple of 100 in
    /// 100..=25500. VRRPv3: 1..=4095.
    pub adver_int: u16,
    /// VRRPv2 authentication; must be [`Auth::None`] for VRRPv3.
    pub auth: Auth,
    /// The virtual addresses; their family must match the IP header's.
    pub addrs: AddrList<'a>,
}

impl<'a> VrrpRepr<'a> {
    /// Parse and validate an advertisement received from `src` for `dst` (the
    /// IP header's addresses, which give the family and the v3 pseudo-header).
    ///
    /// Checks, in this order: type = 1 ([`Error::BadType`]); family of
    /// `src`/`dst` agree and VRRPv2 is IPv4 ([`Error::BadFamily`]); the message
    /// length matches the count for that family ([`Error::Truncated`] /
    /// [`Error::AddrCountMismatch`]); the checksum per `mode`
    /// ([`Error::BadChecksum`]); the interval is not zero ([`Error::BadInterval`]).
    /// The view's `new_checked` has already checked version and length.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &VrrpPacket<&'a T>,
        src: IpAddr,
        dst: IpAddr,
        mode: ChecksumMode,
    ) -> Result<VrrpRepr<'a>, Error> {
        // One pass over a fixed-size header copy; the view's accessors are
        // not used so that the hot path has no repeated bounds checks.
        let buf: &'a [u8] = packet.buffer.as_ref();
        let hdr: [u8; HEADER_LEN] = *buf.first_chunk().ok_or(Error::Truncated)?;
        let version = Version::from_number(hdr[field::VER_TYPE] >> 4).ok_or(Error::BadVersion)?;
        if hdr[field::VER_TYPE] & 0x0f != TYPE_ADVERTISEMENT {
            return Err(Error::BadType);
        }
        let family = Family::of_pair(src, dst)?;
        if version == Version::V2 && family != Family::V4 {
            return Err(Error::BadFamily);
        }
        let n = usize::from(hdr[field::COUNT]) * family.addr_len();
        let tail = if version == Version::V2 { AUTH_LEN } else { 0 };
        let want = HEADER_LEN + n + tail;
        if buf.len() < want {
            return Err(Error::Truncated);
        }
        if buf.len() > want {
            return Err(Error::AddrCountMismatch);
        }
        // Now buf.len() == want: the whole buffer is the message.
        if mode != ChecksumMode::Ignore {
            let acc = if uses_pseudo_header(version.number(), family, mode) {
                checksum::pseudo_header(src, dst, buf.len()).ok_or(Error::BadFamily)?
            } else {
                0
            };
            if checksum::fold(checksum::sum(acc, buf)) != 0xffff {
                return Err(Error::BadChecksum);
            }
        }
        let (adver_int, auth) = match version {
            Version::V2 => {
                let data: [u8; AUTH_LEN] = *buf.last_chunk().ok_or(Error::Truncated)?;
                (
                    u16::from(hdr[field::V2_ADVER_INT]) * 100,
                    Auth::from_wire(hdr[field::V2_AUTH_TYPE], data),
                )
            }
            Version::V3 => {
                let f = field::V3_MAX_ADVER_INT;
                let w = u16::from_be_bytes([hdr[f.start], hdr[f.start + 1]]);
                (w & V3_MAX_ADVER_INT, Auth::None)
            }
        };
        if adver_int == 0 {
            return Err(Error::BadInterval);
        }
        let addr_bytes = buf
            .get(field::ADDRS..field::ADDRS + n)
            .ok_or(Error::Truncated)?;
        Ok(VrrpRepr {
            version,
            vrid: hdr[field::VRID],
            priority: hdr[field::PRIORITY],
            adver_int,
            auth,
            // n = count × addr_len with count ≤ 255: the invariant holds.
            addrs: AddrList::Wire(WireAddrs {
                family,
                bytes: addr_bytes,
            }),
        })
    }

    /// [`VrrpPacket::new_checked`] then [`parse`](Self::parse), on a byte slice.
    pub fn parse_bytes(
        bytes: &'a [u8],
        src: IpAddr,
        dst: IpAddr,
        mode: ChecksumMode,
    ) -> Result<VrrpRepr<'a>, Error> {
        let p = VrrpPacket::new_checked(bytes)?;
        VrrpRepr::parse(&p, src, dst, mode)
    }

    /// Length of the emitted message in bytes.
    pub fn buffer_len(&self) -> usize {
        let addrs = self.addrs.len() * self.addrs.family().addr_len();
        match self.version {
            Version::V2 => HEADER_LEN + addrs + AUTH_LEN,
            Version::V3 => HEADER_LEN + addrs,
        }
    }

    /// Check that this repr can be emitted between `src` and `dst`.
    pub fn check(&self, src: IpAddr, dst: IpAddr) -> Result<(), Error> {
        let family = Family::of_pair(src, dst)?;
        if self.addrs.family() != family {
            return Err(Error::BadFamily);
        }
        if self.addrs.len() > MAX_ADDRS {
            return Err(Error::TooManyAddrs);
        }
        match self.version {
            Version::V2 => {
                if family != Family::V4 {
                    return Err(Error::BadFamily);
                }
                if self.adver_int == 0
                    || !self.adver_int.is_multiple_of(100)
                    || self.adver_int > 25500
                {
                    return Err(Error::BadInterval);
                }
            }
            Version::V3 => {
                if self.auth != Auth::None {
                    return Err(Error::BadAuth);
                }
                if self.adver_int == 0 || self.adver_int > 0x0fff {
                    return Err(Error::BadInterval);
                }
            }
        }
        Ok(())
    }

    /// Write the message into the first [`buffer_len`](Self::buffer_len) bytes
    /// of `buf`, checksummed per `mode` for an IP header from `src` to `dst`.
    ///
    /// Errors: [`Error::BufferTooSmall`], and those of [`check`](Self::check)
    /// ([`Error::BadFamily`], [`Error::TooManyAddrs`], [`Error::BadInterval`],
    /// [`Error::BadAuth`]).
    pub fn emit(
        &self,
        buf: &mut [u8],
        src: IpAddr,
        dst: IpAddr,
        mode: ChecksumMode,
    ) -> Result<(), Error> {
        self.check(src, dst)?;
        let len = self.buffer_len();
        let out = buf.get_mut(..len).ok_or(Error::BufferTooSmall)?;
        let count = self.addrs.len();
        let addr_end = HEADER_LEN + count * self.addrs.family().addr_len();
        {
            let mut p = VrrpPacket::new_unchecked(&mut *out);
            p.set_version_type(self.version.number(), TYPE_ADVERTISEMENT);
            p.set_vrid(self.vrid);
            p.set_priority(self.priority);
            // check() bounded count by MAX_ADDRS = 255.
            p.set_addr_count(u8::try_from(count).map_err(|_| Error::TooManyAddrs)?);
            match self.version {
                Version::V2 => {
                    p.set_auth_type(self.auth.kind());
                    p.set_adver_int_secs(
                        u8::try_from(self.adver_int / 100).map_err(|_| Error::BadInterval)?,
                    );
                }
                Version::V3 => p.set_max_adver_int(self.adver_int),
            }
            p.set_checksum(0);
        }
        if let Some(a) = out.get_mut(field::ADDRS..addr_end) {
            self.addrs.write(a);
        }
        if self.version == Version::V2
            && let Some(a) = out.get_mut(addr_end..addr_end + AUTH_LEN)
        {
            a.copy_from_slice(&self.auth.data());
        }
        VrrpPacket::new_unchecked(out).fill_checksum(src, dst, mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MCAST_V4, MCAST_V6};

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    const SRC10: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));
    const SRC11: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11));
    const MC4: IpAddr = IpAddr::V4(MCAST_V4);
    const MC6: IpAddr = IpAddr::V6(MCAST_V6);
    const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 250);

    /// keepalived 2.2.7's packets (shared/notes/keepalived-facts.md):
    /// (src, hex, version, priority, adver_int cs, auth).
    fn golden() -> Vec<(IpAddr, &'static str, Version, u8, u16, Auth)> {
        let pass = Auth::simple_text(b"123.123");
        vec![
            (
                SRC10,
                "213364010101ee3cc00002fa3132332e31323300",
                Version::V2,
                100,
                100,
                pass,
            ),
            (
                SRC10,
                "213300010101523dc00002fa3132332e31323300",
                Version::V2,
                0,
                100,
                pass,
            ),
            (
                SRC11,
                "213363010101ef3cc00002fa3132332e31323300",
                Version::V2,
                99,
                100,
                pass,
            ),
            (
                SRC10,
                "31336401000a052dc00002fa",
                Version::V3,
                100,
                10,
                Auth::None,
            ),
            (
                SRC10,
                "31330001000a692dc00002fa",
                Version::V3,
                0,
                10,
                Auth::None,
            ),
            (
                SRC11,
                "31336301000a062cc00002fa",
                Version::V3,
                99,
                10,
                Auth::None,
            ),
        ]
    }

    #[test]
    fn golden_deconstruct() {
        for (src, h, version, prio, adv, _) in golden() {
            let bytes = hex(h);
            let p = VrrpPacket::new_checked(&bytes[..]).unwrap();
            assert_eq!(p.version(), version.number(), "{h}");
            assert_eq!(p.msg_type(), 1);
            assert_eq!(p.vrid(), 51);
            assert_eq!(p.priority(), prio);
            assert_eq!(p.addr_count(), 1);
            assert_eq!(p.adver_int_cs(), adv);
            assert_eq!(p.addr_bytes(Family::V4).unwrap(), &VIP.octets());
            assert!(p.verify_checksum(src, MC4), "{h} from {src}");
            match version {
                Version::V2 => {
                    assert_eq!(p.auth_type(), 1);
                    assert_eq!(p.adver_int_secs(), 1);
                    assert_eq!(&p.auth_data().unwrap(), b"123.123\0");
                }
                Version::V3 => {
                    assert_eq!(p.max_adver_int(), 10);
                    assert_eq!(p.reserved(), 0);
                    assert_eq!(p.auth_data(), None);
                }
            }
        }
    }

    #[test]
    fn golden_v3_needs_the_pseudo_header() {
        for (src, h, version, ..) in golden() {
            let bytes = hex(h);
            let p = VrrpPacket::new_checked(&bytes[..]).unwrap();
            let plain = p.verify_checksum_with(src, MC4, ChecksumMode::V3NoPseudoHeader);
            match version {
                Version::V2 => assert!(plain, "v2 has no pseudo-header: {h}"),
                Version::V3 => {
                    assert!(!plain, "v3 must not verify without the pseudo-header: {h}");
                    // ... and the pseudo-header includes the source address.
                    let other = if src == SRC10 { SRC11 } else { SRC10 };
                    assert!(!p.verify_checksum(other, MC4));
                    assert_eq!(
                        VrrpRepr::parse(&p, src, MC4, ChecksumMode::V3NoPseudoHeader),
                        Err(Error::BadChecksum)
                    );
                }
            }
        }
    }

    #[test]
    fn golden_parse_and_emit() {
        for (src, h, version, prio, adv, auth) in golden() {
            let bytes = hex(h);
            let p = VrrpPacket::new_checked(&bytes[..]).unwrap();
            let r = VrrpRepr::parse(&p, src, MC4, ChecksumMode::Rfc).unwrap();
            let vips = [VIP];
            let want = VrrpRepr {
                version,
                vrid: 51,
                priority: prio,
                adver_int: adv,
                auth,
                addrs: AddrList::V4(&vips),
            };
            assert_eq!(r, want, "{h}");
            assert_eq!(r.addrs.iter().collect::<Vec<_>>(), vec![IpAddr::V4(VIP)]);
            assert_eq!(want.buffer_len(), bytes.len());
            let mut out = vec![0xa5; want.buffer_len()];
            want.emit(&mut out, src, MC4, ChecksumMode::Rfc).unwrap();
            assert_eq!(out, bytes, "emit must reproduce keepalived's bytes for {h}");
            // Emitting into a longer buffer touches only buffer_len() bytes.
            let mut long = vec![0xa5; want.buffer_len() + 3];
            want.emit(&mut long, src, MC4, ChecksumMode::Rfc).unwrap();
            assert_eq!(&long[..bytes.len()], &bytes[..]);
            assert_eq!(&long[bytes.len()..], &[0xa5; 3]);
        }
    }

    #[test]
    fn parse_bytes_and_ignore_mode() {
        let mut bytes = hex("31336401000a052dc00002fa");
        bytes[7] ^= 1;
        assert_eq!(
            VrrpRepr::parse_bytes(&bytes, SRC10, MC4, ChecksumMode::Rfc),
            Err(Error::BadChecksum)
        );
        let r = VrrpRepr::parse_bytes(&bytes, SRC10, MC4, ChecksumMode::Ignore).unwrap();
        assert_eq!(r.priority, 100);
        let mut out = [0u8; 12];
        r.emit(&mut out, SRC10, MC4, ChecksumMode::Ignore).unwrap();
        assert_eq!(&out[6..8], &[0, 0]);
    }

    #[test]
    fn v3_without_pseudo_header_round_trip() {
        let vips = [VIP];
        let r = VrrpRepr {
            version: Version::V3,
            vrid: 7,
            priority: 200,
            adver_int: 100,
            auth: Auth::None,
            addrs: AddrList::V4(&vips),
        };
        let mut out = [0u8; 12];
        r.emit(&mut out, SRC10, MC4, ChecksumMode::V3NoPseudoHeader)
            .unwrap();
        assert_eq!(
            VrrpRepr::parse_bytes(&out, SRC10, MC4, ChecksumMode::V3NoPseudoHeader),
            Ok(r)
        );
        assert_eq!(
            VrrpRepr::parse_bytes(&out, SRC10, MC4, ChecksumMode::Rfc),
            Err(Error::BadChecksum)
        );
    }

    #[test]
    fn v3_ipv6_construct_and_parse() {
        let src: IpAddr = "fe80::1".parse().unwrap();
        let vips: [Ipv6Addr; 2] = [
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
        ];
        let r = VrrpRepr {
            version: Version::V3,
            vrid: 1,
            priority: 150,
            adver_int: 4095,
            auth: Auth::None,
            addrs: AddrList::V6(&vips),
        };
        assert_eq!(r.buffer_len(), 8 + 32);
        let mut out = vec![0u8; r.buffer_len()];
        r.emit(&mut out, src, MC6, ChecksumMode::Rfc).unwrap();
        assert_eq!(&out[..8], &[0x31, 1, 150, 2, 0x0f, 0xff, out[6], out[7]]);
        assert_eq!(&out[8..24], &vips[0].octets());
        let p = VrrpPacket::new_checked(&out[..]).unwrap();
        assert!(p.verify_checksum(src, MC6));
        // IPv6 always uses the pseudo-header.
        assert!(p.verify_checksum_with(src, MC6, ChecksumMode::V3NoPseudoHeader));
        let mut plain = out.clone();
        plain[6] = 0;
        plain[7] = 0;
        let c = crate::internet_checksum(&plain);
        plain[6..8].copy_from_slice(&c.to_be_bytes());
        let q = VrrpPacket::new_checked(&plain[..]).unwrap();
        assert!(!q.verify_checksum_with(src, MC6, ChecksumMode::V3NoPseudoHeader));
        assert_eq!(VrrpRepr::parse(&p, src, MC6, ChecksumMode::Rfc), Ok(r));
        // Read as IPv4 the length does not fit the count.
        assert_eq!(
            VrrpRepr::parse(&p, SRC10, MC4, ChecksumMode::Rfc),
            Err(Error::AddrCountMismatch)
        );
        // Mixed families.
        assert_eq!(
            VrrpRepr::parse(&p, src, MC4, ChecksumMode::Rfc),
            Err(Error::BadFamily)
        );
    }

    #[test]
    fn v3_ipv6_checksum_by_hand() {
        // Independent computation of the RFC 8200 pseudo-header sum.
        let src: Ipv6Addr = "fe80::1".parse().unwrap();
        let msg = [0x31u8, 0x05, 0x64, 0x00, 0x00, 0x64, 0x00, 0x00];
        let mut ph = Vec::new();
        ph.extend_from_slice(&src.octets());
        ph.extend_from_slice(&MCAST_V6.octets());
        ph.extend_from_slice(&(msg.len() as u32).to_be_bytes());
        ph.extend_from_slice(&[0, 0, 0, 112]);
        ph.extend_from_slice(&msg);
        let want = crate::internet_checksum(&ph);
        let r = VrrpRepr {
            version: Version::V3,
            vrid: 5,
            priority: 100,
            adver_int: 100,
            auth: Auth::None,
            addrs: AddrList::V6(&[]),
        };
        let mut out = [0u8; 8];
        r.emit(&mut out, IpAddr::V6(src), MC6, ChecksumMode::Rfc)
            .unwrap();
        assert_eq!(u16::from_be_bytes([out[6], out[7]]), want);
    }

    #[test]
    fn truncated_and_overlong() {
        let bytes = hex("213364010101ee3cc00002fa3132332e31323300");
        for n in 0..bytes.len() {
            assert_eq!(
                VrrpPacket::new_checked(&bytes[..n]).err(),
                Some(Error::Truncated),
                "len {n}"
            );
        }
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(
            VrrpPacket::new_checked(&long[..]).err(),
            Some(Error::AddrCountMismatch)
        );
        let v3 = hex("31336401000a052dc00002fa");
        for n in 0..v3.len() {
            assert_eq!(
                VrrpPacket::new_checked(&v3[..n]).err(),
                Some(Error::Truncated),
                "len {n}"
            );
        }
        let mut long = v3.clone();
        long.extend_from_slice(&[0; 4]);
        assert_eq!(
            VrrpPacket::new_checked(&long[..]).err(),
            Some(Error::AddrCountMismatch)
        );
    }

    #[test]
    fn rejections() {
        let v2 = hex("213364010101ee3cc00002fa3132332e31323300");
        let mut b = v2.clone();
        b[0] = 0x41;
        assert_eq!(
            VrrpPacket::new_checked(&b[..]).err(),
            Some(Error::BadVersion)
        );
        let mut b = v2.clone();
        b[0] = 0x22;
        let p = VrrpPacket::new_checked(&b[..]).unwrap();
        assert_eq!(
            VrrpRepr::parse(&p, SRC10, MC4, ChecksumMode::Rfc),
            Err(Error::BadType)
        );
        // v2 over IPv6.
        let p = VrrpPacket::new_checked(&v2[..]).unwrap();
        let s6: IpAddr = "fe80::1".parse().unwrap();
        assert_eq!(
            VrrpRepr::parse(&p, s6, MC6, ChecksumMode::Rfc),
            Err(Error::BadFamily)
        );
        assert_eq!(p.addr_bytes(Family::V6), Err(Error::BadFamily));
        // Interval 0 (checksum fixed up).
        let mut b = v2.clone();
        b[5] = 0;
        let mut p = VrrpPacket::new_unchecked(&mut b[..]);
        p.fill_checksum(SRC10, MC4, ChecksumMode::Rfc).unwrap();
        assert_eq!(
            VrrpRepr::parse_bytes(&b, SRC10, MC4, ChecksumMode::Rfc),
            Err(Error::BadInterval)
        );
        let mut b = hex("31336401000a052dc00002fa");
        b[5] = 0;
        let mut p = VrrpPacket::new_unchecked(&mut b[..]);
        p.fill_checksum(SRC10, MC4, ChecksumMode::Rfc).unwrap();
        assert_eq!(
            VrrpRepr::parse_bytes(&b, SRC10, MC4, ChecksumMode::Rfc),
            Err(Error::BadInterval)
        );
        // v3 reserved bits are ignored on receive.
        let mut b = hex("31336401000a052dc00002fa");
        b[4] = 0xf0;
        let mut p = VrrpPacket::new_unchecked(&mut b[..]);
        p.set_checksum(0);
        p.fill_checksum(SRC10, MC4, ChecksumMode::Rfc).unwrap();
        assert_eq!(p.reserved(), 0xf);
        assert_eq!(
            VrrpRepr::parse_bytes(&b, SRC10, MC4, ChecksumMode::Rfc)
                .unwrap()
                .adver_int,
            10
        );
    }

    #[test]
    fn emit_rejections() {
        let vips = [VIP];
        let base = VrrpRepr {
            version: Version::V2,
            vrid: 1,
            priority: 100,
            adver_int: 100,
            auth: Auth::None,
            addrs: AddrList::V4(&vips),
        };
        let mut buf = [0u8; 64];
        let bad = |r: VrrpRepr<'_>, src: IpAddr, dst: IpAddr| {
            let mut buf = [0u8; 64];
            r.emit(&mut buf, src, dst, ChecksumMode::Rfc).unwrap_err()
        };
        assert_eq!(
            bad(
                VrrpRepr {
                    adver_int: 150,
                    ..base
                },
                SRC10,
                MC4
            ),
            Error::BadInterval
        );
        assert_eq!(
            bad(
                VrrpRepr {
                    adver_int: 0,
                    ..base
                },
                SRC10,
                MC4
            ),
            Error::BadInterval
        );
        assert_eq!(
            bad(
                VrrpRepr {
                    adver_int: 25600,
                    ..base
                },
                SRC10,
                MC4
            ),
            Error::BadInterval
        );
        let v3 = VrrpRepr {
            version: Version::V3,
            ..base
        };
        assert_eq!(
            bad(
                VrrpRepr {
                    adver_int: 4096,
                    ..v3
                },
                SRC10,
                MC4
            ),
            Error::BadInterval
        );
        assert_eq!(
            bad(
                VrrpRepr {
                    auth: Auth::simple_text(b"x"),
                    ..v3
                },
                SRC10,
                MC4
            ),
            Error::BadAuth
        );
        let s6: IpAddr = "fe80::1".parse().unwrap();
        assert_eq!(bad(v3, s6, MC6), Error::BadFamily);
        assert_eq!(bad(v3, SRC10, MC6), Error::BadFamily);
        let many = [VIP; 256];
        assert_eq!(
            bad(
                VrrpRepr {
                    addrs: AddrList::V4(&many),
                    ..v3
                },
                SRC10,
                MC4
            ),
            Error::TooManyAddrs
        );
        assert_eq!(
            base.emit(&mut buf[..19], SRC10, MC4, ChecksumMode::Rfc),
            Err(Error::BufferTooSmall)
        );
        assert_eq!(
            base.emit(&mut buf[..20], SRC10, MC4, ChecksumMode::Rfc),
            Ok(())
        );
    }

    #[test]
    fn v2_auth_kinds_round_trip() {
        let vips = [VIP, Ipv4Addr::new(192, 0, 2, 251)];
        for auth in [
            Auth::None,
            Auth::simple_text(b"a-very-long-password"),
            Auth::IpAh([1, 2, 3, 4, 5, 6, 7, 8]),
            Auth::Unknown {
                kind: 9,
                data: [9; 8],
            },
        ] {
            let r = VrrpRepr {
                version: Version::V2,
                vrid: 255,
                priority: 255,
                adver_int: 25500,
                auth,
                addrs: AddrList::V4(&vips),
            };
            let mut out = vec![0u8; r.buffer_len()];
            r.emit(&mut out, SRC10, MC4, ChecksumMode::Rfc).unwrap();
            assert_eq!(
                VrrpRepr::parse_bytes(&out, SRC10, MC4, ChecksumMode::Rfc),
                Ok(r)
            );
        }
        assert_eq!(
            Auth::simple_text(b"a-very-long-password"),
            Auth::SimpleText(*b"a-very-l")
        );
    }

    #[test]
    fn unchecked_accessors_do_not_panic() {
        let p = VrrpPacket::new_unchecked(&[0x21u8][..]);
        assert_eq!(p.version(), 2);
        assert_eq!(p.vrid(), 0);
        assert_eq!(p.checksum(), 0);
        assert_eq!(p.auth_data(), None);
        assert_eq!(p.addr_bytes(Family::V4), Err(Error::Truncated));
        assert!(!p.verify_checksum(SRC10, MC4));
        let mut b = [0u8; 2];
        let mut p = VrrpPacket::new_unchecked(&mut b[..]);
        p.set_checksum(0xffff);
        p.set_priority(1);
        assert_eq!(
            p.fill_checksum(SRC10, MC4, ChecksumMode::Rfc),
            Err(Error::BufferTooSmall)
        );
    }

    #[test]
    fn addr_list_equality_and_iteration() {
        let v = [VIP, Ipv4Addr::new(192, 0, 2, 1)];
        let bytes = [192, 0, 2, 250, 192, 0, 2, 1];
        let w = AddrList::Wire(WireAddrs::new(Family::V4, &bytes).unwrap());
        assert_eq!(w, AddrList::V4(&v));
        assert_ne!(w, AddrList::V4(&v[..1]));
        assert_ne!(AddrList::V4(&[]), AddrList::V6(&[]));
        assert_eq!(w.len(), 2);
        assert_eq!(
            w.iter().next_back(),
            Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)))
        );
        assert!(w.contains(IpAddr::V4(VIP)));
        assert_eq!(w.get(2), None);
        assert!(WireAddrs::new(Family::V6, &bytes).is_none());
        assert_eq!(format!("{w:?}"), "[192.0.2.250, 192.0.2.1]");
    }
}
