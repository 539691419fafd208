//! keel-vip: virtual IP addresses on Linux interfaces, over rtnetlink.
//!
//! The daemon talks to a [`VipControl`]: [`Netlink`] for the real kernel,
//! [`FakeVips`] for tests. Adding an address that is already there and
//! deleting one that is already gone are not errors: they return
//! [`Outcome::AlreadyPresent`] / [`Outcome::AlreadyAbsent`] (keel-ipvs
//! follows the same convention for services and destinations); anything
//! else the kernel refuses is [`Error::Kernel`] with an [`Errno`]. Both
//! types, and the netlink transport, come from [`keel_netlink`].
//!
//! ```
//! use keel_vip::{FakeVips, Outcome, Vip, VipControl};
//!
//! let mut vips = FakeVips::new();
//! let vip = Vip::new("192.0.2.250".parse().unwrap(), 2).with_label("eth0:1");
//! assert_eq!(vip.prefix_len, 32);
//! assert_eq!(vips.add(&vip).unwrap(), Outcome::Done);
//! assert_eq!(vips.add(&vip).unwrap(), Outcome::AlreadyPresent);
//! assert_eq!(vips.list(Some(2)).unwrap(), vec![vip.clone()]);
//! assert_eq!(vips.del(&vip).unwrap(), Outcome::Done);
//! assert_eq!(vips.del(&vip).unwrap(), Outcome::AlreadyAbsent);
//! ```
//!
//! The same calls against the kernel (needs root; runs in the current
//! network namespace):
//!
//! ```no_run
//! use keel_vip::{link_by_name, Netlink, Vip, VipControl};
//!
//! let eth0 = link_by_name("eth0")?;
//! let mut nl = Netlink::new()?;
//! let vip = Vip::new("2001:db8::250".parse().unwrap(), eth0.index); // /128, nodad
//! nl.add(&vip)?;
//! // After a crash: find what keel left behind (IFA_PROTO stamp) and remove it.
//! for leftover in nl.list_stamped(Some(eth0.index))? {
//!     nl.del(&leftover)?;
//! }
//! # Ok::<(), keel_vip::Error>(())
//! ```
//!
//! # Pieces
//! * [`Vip`], [`VipControl`] (`add`, `del`, `list`, `list_stamped`,
//!   `add_many`, `del_many`), [`Netlink`], [`FakeVips`]: addresses.
//!   IPv4 VIPs default to /32, IPv6 to /128 with `nodad` (usable at once).
//! * [`link_by_name`], [`link_by_index`], [`Link`]: interface lookup; a
//!   missing name is [`Error::NoSuchInterface`] carrying the name.
//! * [`Announcer`]: gratuitous ARP ([`ArpOp::Request`] as keepalived sends
//!   it, or [`ArpOp::Reply`]) and unsolicited neighbour advertisements, on
//!   an AF_PACKET socket. One call sends at once; the daemon schedules
//!   repeats and spacing. [`garp_frame`] / [`unsolicited_na_frame`] build
//!   the bytes.
//! * [`LinkWatcher`]: link and address events, non-blocking, with an fd for
//!   tokio's `AsyncFd`; on overflow (ENOBUFS) it reads the whole state
//!   again and reports [`LinkEvent::Resynced`].
//! * [`VirtualRoute`] with [`Netlink::add_route`] / [`Netlink::del_route`]
//!   (`virtual_routes`), [`Vmac`] with [`Netlink::add_vmac`] /
//!   [`Netlink::del_vmac`] (`use_vmac`: macvlan with 00:00:5e:00:01:VRID).
//!
//! # Stamps
//! Addresses added by [`Netlink`] carry a stamp in `IFA_PROTO` (kernel ≥
//! 5.18; [`DEFAULT_STAMP`], see [`stamps_supported`]), so
//! [`VipControl::list_stamped`] finds keel's leftovers after a crash. On
//! older kernels the attribute is ignored and `list_stamped` finds nothing.
//! Routes carry the same value as their `proto`, and [`Netlink::del_route`]
//! deletes only routes with it.
//!
//! # What the neighbours do with announcements (Linux receivers)
//! * A gratuitous ARP (request, or reply with target MAC = sender MAC)
//!   updates an existing neighbour entry at once. It creates a new entry
//!   only when the receiver has `net.ipv4.conf.IF.arp_accept=1` (default 0).
//! * An unsolicited NA (Override set) updates an existing entry. It
//!   creates one only with `net.ipv6.conf.IF.accept_untracked_na=1` *and*
//!   forwarding on that interface (default: no).
//!
//! Hosts that never talked to the VIP need no entry, so the defaults are
//! fine for failover. The tests in `src/announce_netns_tests.rs` check all
//! of the above against the running kernel.
//!
//! # Namespaces
//! Every socket belongs to the network namespace current when it was made:
//! create [`Netlink`], [`Announcer`] and [`LinkWatcher`] inside the
//! namespace (the tests use `keel_testkit::Netns::enter`).
#![warn(clippy::print_stdout, clippy::print_stderr)]
#![warn(missing_docs)]

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr};

mod announce;
mod fake;
mod netlink;
mod route;
mod sys;
mod watch;
mod wire;

pub use announce::{
    ALL_NODES, Announcer, ArpOp, GARP_LEN, NA_LEN, garp_frame, icmpv6_checksum,
    unsolicited_na_frame,
};
pub use fake::FakeVips;
pub use keel_netlink::{self, Errno, Outcome};
pub use netlink::{Netlink, link_by_index, link_by_name};
pub use route::{InvalidRoute, RouteKind, VirtualRoute, Vmac, VmacMode};
pub use watch::{LinkEvent, LinkWatcher, WATCH_RCVBUF};

/// Value keel writes into `IFA_PROTO` of the addresses it adds (kernel ≥ 5.18).
///
/// The kernel reserves 0–3 (`unspec`, `kernel_lo`, `kernel_ra`,
/// `kernel_ll`); iproute2 shows others as a number (`proto 107`).
/// 107 is ASCII `k`.
pub const DEFAULT_STAMP: u8 = 107;

/// Whether the running kernel keeps `IFA_PROTO` (Linux ≥ 5.18), i.e.
/// whether [`VipControl::list_stamped`] can find keel's addresses after a
/// crash. Read from `/proc/sys/kernel/osrelease`; `false` if unreadable.
pub fn stamps_supported() -> bool {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|r| release_at_least(&r, (5, 18)))
        .unwrap_or(false)
}

fn release_at_least(release: &str, want: (u32, u32)) -> bool {
    let mut parts = release
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) >= want,
        _ => false,
    }
}

/// Address scope (`ip addr ... scope SCOPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scope {
    /// `global` (RT_SCOPE_UNIVERSE, 0): the default.
    #[default]
    Global,
    /// `site` (200).
    Site,
    /// `link` (253).
    Link,
    /// `host` (254).
    Host,
    /// `nowhere` (255).
    Nowhere,
    /// Any other number.
    Other(u8),
}

impl Scope {
    /// The kernel's numeric value.
    pub fn to_u8(self) -> u8 {
        match self {
            Scope::Global => 0,
            Scope::Site => 200,
            Scope::Link => 253,
            Scope::Host => 254,
            Scope::Nowhere => 255,
            Scope::Other(n) => n,
        }
    }

    /// From the kernel's numeric value.
    pub fn from_u8(n: u8) -> Scope {
        match n {
            0 => Scope::Global,
            200 => Scope::Site,
            253 => Scope::Link,
            254 => Scope::Host,
            255 => Scope::Nowhere,
            n => Scope::Other(n),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Global => f.write_str("global"),
            Scope::Site => f.write_str("site"),
            Scope::Link => f.write_str("link"),
            Scope::Host => f.write_str("host"),
            Scope::Nowhere => f.write_str("nowhere"),
            Scope::Other(n) => write!(f, "{n}"),
        }
    }
}

/// A virtual IP address on one interface.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Vip {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length: default 32 for IPv4, 128 for IPv6.
    pub prefix_len: u8,
    /// Interface index.
    pub ifindex: u32,
    /// IPv4 label (`eth0:1`); at most 15 bytes. `None` = the interface name.
    /// IPv6 addresses have no labels: `Some` is rejected for them.
    pub label: Option<String>,
    /// Scope.
    pub scope: Scope,
    /// IPv4 broadcast address (`Some` is rejected for IPv6).
    pub broadcast: Option<Ipv4Addr>,
    /// IFA_F_NODAD: skip duplicate address detection (IPv6; default true for
    /// IPv6 so the address is usable at once, ignored by the kernel for IPv4).
    pub nodad: bool,
}

impl Vip {
    /// A VIP with keepalived's defaults: host prefix (/32, /128), global
    /// scope, no label or broadcast, `nodad` for IPv6.
    pub fn new(addr: IpAddr, ifindex: u32) -> Vip {
        Vip {
            addr,
            prefix_len: if addr.is_ipv4() { 32 } else { 128 },
            ifindex,
            label: None,
            scope: Scope::Global,
            broadcast: None,
            nodad: addr.is_ipv6(),
        }
    }

    /// Set the prefix length.
    pub fn with_prefix(mut self, prefix_len: u8) -> Vip {
        self.prefix_len = prefix_len;
        self
    }

    /// Set the (IPv4) label.
    pub fn with_label(mut self, label: impl Into<String>) -> Vip {
        self.label = Some(label.into());
        self
    }

    /// Set the scope.
    pub fn with_scope(mut self, scope: Scope) -> Vip {
        self.scope = scope;
        self
    }

    /// Set the IPv4 broadcast address.
    pub fn with_broadcast(mut self, broadcast: Ipv4Addr) -> Vip {
        self.broadcast = Some(broadcast);
        self
    }

    /// Check the fields against each other (done by every `add`/`del`).
    pub fn validate(&self) -> Result<(), InvalidVip> {
        let max = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.prefix_len > max {
            return Err(InvalidVip::PrefixTooLong {
                prefix_len: self.prefix_len,
                max,
            });
        }
        if self.ifindex == 0 {
            return Err(InvalidVip::NoInterface);
        }
        if let Some(label) = &self.label {
            if self.addr.is_ipv6() {
                return Err(InvalidVip::LabelOnIpv6);
            }
            if label.is_empty() || label.len() > 15 || label.as_bytes().contains(&0) {
                return Err(InvalidVip::BadLabel);
            }
        }
        if self.broadcast.is_some() && self.addr.is_ipv6() {
            return Err(InvalidVip::BroadcastOnIpv6);
        }
        Ok(())
    }

    /// The identity the kernel uses to find the address: (ifindex, addr, prefix).
    pub fn key(&self) -> (u32, IpAddr, u8) {
        (self.ifindex, self.addr, self.prefix_len)
    }
}

impl fmt::Display for Vip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} ifindex {}",
            self.addr, self.prefix_len, self.ifindex
        )?;
        if let Some(l) = &self.label {
            write!(f, " label {l}")?;
        }
        Ok(())
    }
}

/// Add, delete and list VIPs. Implemented by [`Netlink`] and [`FakeVips`].
pub trait VipControl {
    /// Add `vip`. An existing identical address is [`Outcome::AlreadyPresent`].
    fn add(&mut self, vip: &Vip) -> Result<Outcome, Error>;
    /// Delete `vip` (matched by address, prefix and interface). A missing
    /// address is [`Outcome::AlreadyAbsent`].
    fn del(&mut self, vip: &Vip) -> Result<Outcome, Error>;
    /// All addresses, or those of one interface.
    fn list(&mut self, ifindex: Option<u32>) -> Result<Vec<Vip>, Error>;
    /// Only the addresses this implementation's stamp marks as keel's.
    fn list_stamped(&mut self, ifindex: Option<u32>) -> Result<Vec<Vip>, Error>;
    /// Add several VIPs; one result per VIP, in order. The outer error
    /// means nothing more could be done (socket failure). [`Netlink`] sends
    /// many requests per system call; the default calls [`VipControl::add`].
    fn add_many(&mut self, vips: &[Vip]) -> Result<Vec<Result<Outcome, Error>>, Error> {
        Ok(vips.iter().map(|v| self.add(v)).collect())
    }
    /// Delete several VIPs (see [`VipControl::add_many`]).
    fn del_many(&mut self, vips: &[Vip]) -> Result<Vec<Result<Outcome, Error>>, Error> {
        Ok(vips.iter().map(|v| self.del(v)).collect())
    }
    /// Add a virtual route (`virtual_routes`). An identical route already
    /// there is [`Outcome::AlreadyPresent`].
    fn add_route(&mut self, route: &VirtualRoute) -> Result<Outcome, Error>;
    /// Delete a virtual route this implementation added. A missing route is
    /// [`Outcome::AlreadyAbsent`].
    fn del_route(&mut self, route: &VirtualRoute) -> Result<Outcome, Error>;
    /// Create the macvlan of `vmac` (`use_vmac`) and return the interface.
    fn add_vmac(&mut self, vmac: &Vmac) -> Result<(Outcome, Link), Error>;
    /// Delete the VMAC interface with this index.
    fn del_vmac(&mut self, index: u32) -> Result<Outcome, Error>;
}

/// An interface.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Link {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// Hardware address when it is a 6-byte (Ethernet-like) one.
    pub mac: Option<[u8; 6]>,
    /// Administratively up (IFF_UP).
    pub up: bool,
    /// Up and with carrier (IFF_RUNNING): what VRRP treats as "link up".
    pub running: bool,
    /// MTU.
    pub mtu: u32,
    /// `IFLA_INFO_KIND` (`"veth"`, `"macvlan"`, ...) when the kernel reports one.
    pub kind: Option<String>,
    /// Parent interface (`IFLA_LINK`, e.g. a macvlan's lower device), when
    /// in the same namespace.
    pub parent: Option<u32>,
}

/// Why a [`Vip`] is rejected before anything is sent to the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidVip {
    /// Prefix longer than the address.
    #[error("prefix length {prefix_len} is longer than {max}")]
    PrefixTooLong {
        /// Given.
        prefix_len: u8,
        /// 32 or 128.
        max: u8,
    },
    /// ifindex 0.
    #[error("no interface (ifindex 0)")]
    NoInterface,
    /// IPv6 addresses have no labels.
    #[error("IPv6 addresses cannot have a label")]
    LabelOnIpv6,
    /// Empty, longer than 15 bytes, or containing NUL.
    #[error("label must be 1 to 15 bytes without NUL")]
    BadLabel,
    /// IPv6 has no broadcast.
    #[error("IPv6 addresses cannot have a broadcast address")]
    BroadcastOnIpv6,
}

/// The operation an [`Error`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// Opening or configuring a socket.
    Open,
    /// RTM_NEWADDR.
    AddAddress,
    /// RTM_DELADDR.
    DeleteAddress,
    /// Address dump.
    ListAddresses,
    /// RTM_GETLINK / link dump.
    GetLink,
    /// RTM_NEWROUTE.
    AddRoute,
    /// RTM_DELROUTE.
    DeleteRoute,
    /// RTM_NEWLINK (VMAC).
    AddLink,
    /// RTM_DELLINK.
    DeleteLink,
    /// RTM_SETLINK (up/down).
    SetLink,
    /// Receiving link/address events.
    Watch,
    /// Sending a gratuitous ARP / unsolicited NA.
    Announce,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Open => "opening socket",
            Op::AddAddress => "adding address",
            Op::DeleteAddress => "deleting address",
            Op::ListAddresses => "listing addresses",
            Op::GetLink => "looking up link",
            Op::AddRoute => "adding route",
            Op::DeleteRoute => "deleting route",
            Op::AddLink => "creating link",
            Op::DeleteLink => "deleting link",
            Op::SetLink => "changing link",
            Op::Watch => "watching links",
            Op::Announce => "sending announcement",
        })
    }
}

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No interface has this name.
    #[error("no such interface: {0}")]
    NoSuchInterface(String),
    /// No interface has this index.
    #[error("no interface with index {0}")]
    NoSuchIndex(u32),
    /// The VIP's fields are inconsistent.
    #[error("invalid VIP: {0}")]
    Invalid(#[from] InvalidVip),
    /// The route's fields are inconsistent.
    #[error("invalid route: {0}")]
    InvalidRoute(#[from] InvalidRoute),
    /// `del_vmac` was asked to delete an interface that is not a macvlan.
    #[error("refusing to delete {0}: not a macvlan")]
    NotMacvlan(String),
    /// The kernel refused the request.
    #[error("{op}: kernel said {errno}")]
    Kernel {
        /// What was being done.
        op: Op,
        /// What the kernel said ([`Errno::EPERM`], ...).
        errno: Errno,
    },
    /// The netlink transport failed (socket, send, receive, lost answers:
    /// [`keel_netlink::Error::Overrun`]).
    #[error("{op}: {source}")]
    Netlink {
        /// What was being done.
        op: Op,
        /// The transport's error.
        source: keel_netlink::Error,
    },
    /// A socket call failed (AF_PACKET sockets of announcements).
    #[error("{op}: {source}")]
    Io {
        /// What was being done.
        op: Op,
        /// The OS error.
        source: io::Error,
    },
    /// The kernel sent something the decoder could not read.
    #[error("malformed netlink message: {0}")]
    Decode(&'static str),
}

impl Error {
    /// The errno behind a kernel or socket error, if any.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Kernel { errno, .. } => Some(*errno),
            Error::Io { source, .. }
            | Error::Netlink {
                source: keel_netlink::Error::Io(source),
                ..
            } => source.raw_os_error().map(Errno),
            Error::Netlink {
                source: keel_netlink::Error::Overrun,
                ..
            } => Some(Errno::ENOBUFS),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vip_defaults_and_validation() {
        let v4 = Vip::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 250)), 3);
        assert_eq!(
            (v4.prefix_len, v4.nodad, v4.scope),
            (32, false, Scope::Global)
        );
        let v6 = Vip::new("2001:db8::1".parse().unwrap(), 3);
        assert_eq!((v6.prefix_len, v6.nodad), (128, true));
        assert_eq!(v4.validate(), Ok(()));
        assert_eq!(
            v4.clone().with_prefix(33).validate(),
            Err(InvalidVip::PrefixTooLong {
                prefix_len: 33,
                max: 32
            })
        );
        assert_eq!(
            v6.clone().with_label("x").validate(),
            Err(InvalidVip::LabelOnIpv6)
        );
        assert_eq!(
            v6.clone().with_broadcast(Ipv4Addr::BROADCAST).validate(),
            Err(InvalidVip::BroadcastOnIpv6)
        );
        assert_eq!(
            v4.clone().with_label("sixteen-bytes-xx").validate(),
            Err(InvalidVip::BadLabel)
        );
        assert_eq!(
            Vip::new(v4.addr, 0).validate(),
            Err(InvalidVip::NoInterface)
        );
    }

    #[test]
    fn kernel_release_parsing() {
        assert!(release_at_least("6.18.44-fc-v669\n", (5, 18)));
        assert!(release_at_least("5.18.0", (5, 18)));
        assert!(!release_at_least("5.17.15-amd64", (5, 18)));
        assert!(!release_at_least("4.19.0", (5, 18)));
        assert!(!release_at_least("garbage", (5, 18)));
        assert!(!release_at_least("", (5, 18)));
    }

    #[test]
    fn scope_round_trip() {
        for n in 0..=255u8 {
            assert_eq!(Scope::from_u8(n).to_u8(), n);
        }
        assert_eq!(Scope::Link.to_string(), "link");
    }

    #[test]
    fn error_display_names_interface() {
        let e = Error::NoSuchInterface("nosuch0".into());
        assert_eq!(e.to_string(), "no such interface: nosuch0");
        let k = Error::Kernel {
            op: Op::AddAddress,
            errno: Errno::EPERM,
        };
        assert!(
            k.to_string().starts_with("adding address: kernel said"),
            "{k}"
        );
        assert_eq!(k.errno(), Some(Errno::EPERM));
    }
}
