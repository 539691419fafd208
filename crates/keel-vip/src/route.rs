//! Virtual routes (routes that follow the VIPs) and virtual MAC interfaces.

use std::net::IpAddr;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::{
    AddressFamily, RouteNetlinkMessage,
    link::{
        AfSpecInet6, AfSpecUnspec, In6AddrGenMode, InfoData, InfoKind, InfoMacVlan, LinkAttribute,
        LinkFlags, LinkInfo, LinkMessage, MacVlanMode,
    },
    route::{RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteScope, RouteType},
};

use crate::netlink::family;
use crate::{Errno, Error, Link, Netlink, Op, Outcome, Scope};

/// What a route does with matching packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RouteKind {
    /// Forward (via a gateway or out of an interface).
    #[default]
    Unicast,
    /// Drop silently.
    Blackhole,
    /// Drop with ICMP unreachable.
    Unreachable,
    /// Drop with ICMP administratively prohibited.
    Prohibit,
}

/// A route keel adds when an instance becomes master (`virtual_routes`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VirtualRoute {
    /// Destination network.
    pub dst: IpAddr,
    /// Destination prefix length.
    pub prefix_len: u8,
    /// Next hop (`via`).
    pub gateway: Option<IpAddr>,
    /// Output interface (`dev`).
    pub ifindex: Option<u32>,
    /// Preferred source address (`src`), typically the VIP.
    pub src: Option<IpAddr>,
    /// Metric (`metric`/`preference`).
    pub metric: Option<u32>,
    /// Routing table (default 254, `main`).
    pub table: u32,
    /// Scope; `None` = as iproute2 chooses (`link` for an IPv4 unicast
    /// route without gateway, else `global`).
    pub scope: Option<Scope>,
    /// Route type.
    pub kind: RouteKind,
}

impl VirtualRoute {
    /// A unicast route to `dst/prefix_len` in the main table, nothing else set.
    pub fn new(dst: IpAddr, prefix_len: u8) -> VirtualRoute {
        VirtualRoute {
            dst,
            prefix_len,
            gateway: None,
            ifindex: None,
            src: None,
            metric: None,
            table: 254,
            scope: None,
            kind: RouteKind::Unicast,
        }
    }

    /// Check the fields against each other.
    pub fn validate(&self) -> Result<(), InvalidRoute> {
        let max = if self.dst.is_ipv4() { 32 } else { 128 };
        if self.prefix_len > max {
            return Err(InvalidRoute::PrefixTooLong);
        }
        let same = |a: &Option<IpAddr>| a.is_none_or(|a| a.is_ipv4() == self.dst.is_ipv4());
        if !same(&self.gateway) || !same(&self.src) {
            return Err(InvalidRoute::MixedFamilies);
        }
        if masked(self.dst, self.prefix_len) != self.dst {
            return Err(InvalidRoute::HostBitsSet);
        }
        if self.kind == RouteKind::Unicast && self.gateway.is_none() && self.ifindex.is_none() {
            return Err(InvalidRoute::NoNextHop);
        }
        if self.table == 0 {
            return Err(InvalidRoute::NoTable);
        }
        Ok(())
    }
}

fn masked(a: IpAddr, len: u8) -> IpAddr {
    match a {
        IpAddr::V4(v) => {
            let m = u32::MAX
                .checked_shl(32 - u32::from(len.min(32)))
                .unwrap_or(0);
            IpAddr::V4((u32::from(v) & m).into())
        }
        IpAddr::V6(v) => {
            let m = u128::MAX
                .checked_shl(128 - u32::from(len.min(128)))
                .unwrap_or(0);
            IpAddr::V6((u128::from(v) & m).into())
        }
    }
}

/// Why a [`VirtualRoute`] is rejected before anything is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidRoute {
    /// Prefix longer than the address.
    #[error("prefix length is longer than the address")]
    PrefixTooLong,
    /// Gateway or source of the other address family.
    #[error("gateway/source and destination are of different families")]
    MixedFamilies,
    /// `dst` has bits set beyond the prefix (iproute2: "Invalid prefix").
    #[error("destination has host bits set beyond the prefix")]
    HostBitsSet,
    /// A unicast route needs a gateway or an interface.
    #[error("unicast route without gateway or interface")]
    NoNextHop,
    /// Table 0 is not a table.
    #[error("table 0")]
    NoTable,
}

/// Mode of a virtual-MAC macvlan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum VmacMode {
    /// `private` (keepalived's choice): no traffic between macvlans of the
    /// same parent.
    #[default]
    Private,
    /// `bridge`: macvlans of one parent can talk to each other.
    Bridge,
}

/// A virtual MAC interface (`use_vmac`): a macvlan on `parent` with the
/// VRRP virtual router MAC.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Vmac {
    /// Interface name (keepalived: `vrrp.VRID`, `vrrp6.VRID`).
    pub name: String,
    /// Lower interface index.
    pub parent: u32,
    /// Virtual router id.
    pub vrid: u8,
    /// IPv6 instance (MAC 00:00:5e:00:02:VRID instead of ...:01:VRID).
    pub ipv6: bool,
    /// macvlan mode.
    pub mode: VmacMode,
}

impl Vmac {
    /// keepalived's defaults: name `vrrp.VRID` (`vrrp6.VRID` for IPv6), private mode.
    pub fn new(parent: u32, vrid: u8, ipv6: bool) -> Vmac {
        Vmac {
            name: if ipv6 {
                format!("vrrp6.{vrid}")
            } else {
                format!("vrrp.{vrid}")
            },
            parent,
            vrid,
            ipv6,
            mode: VmacMode::Private,
        }
    }

    /// RFC 5798 §7.3 virtual router MAC: 00:00:5e:00:01:VRID (IPv4), 00:00:5e:00:02:VRID (IPv6).
    pub fn mac(&self) -> [u8; 6] {
        [0, 0, 0x5e, 0, if self.ipv6 { 2 } else { 1 }, self.vrid]
    }
}

impl Netlink {
    /// Add a route (stamped with this instance's stamp as `proto`).
    /// An identical route already there is [`Outcome::AlreadyPresent`].
    pub fn add_route(&mut self, r: &VirtualRoute) -> Result<Outcome, Error> {
        r.validate()?;
        let code = self.request(
            Op::AddRoute,
            RouteNetlinkMessage::NewRoute(route_msg(r, self.stamp())),
            NLM_F_CREATE | NLM_F_EXCL,
        )?;
        match code {
            0 => Ok(Outcome::Done),
            libc::EEXIST => Ok(Outcome::AlreadyPresent),
            libc::ENODEV => Err(Error::NoSuchIndex(r.ifindex.unwrap_or(0))),
            errno => Err(Error::Kernel {
                op: Op::AddRoute,
                errno: Errno(errno),
            }),
        }
    }

    /// Delete a route keel added (matched with this instance's stamp, so
    /// an identical route someone else added stays). A missing route is
    /// [`Outcome::AlreadyAbsent`].
    pub fn del_route(&mut self, r: &VirtualRoute) -> Result<Outcome, Error> {
        r.validate()?;
        let code = self.request(
            Op::DeleteRoute,
            RouteNetlinkMessage::DelRoute(route_msg(r, self.stamp())),
            0,
        )?;
        match code {
            0 => Ok(Outcome::Done),
            libc::ESRCH => Ok(Outcome::AlreadyAbsent),
            libc::ENODEV => Err(Error::NoSuchIndex(r.ifindex.unwrap_or(0))),
            errno => Err(Error::Kernel {
                op: Op::DeleteRoute,
                errno: Errno(errno),
            }),
        }
    }

    /// Create the macvlan for `vmac` with IPv6 `addrgenmode none` (no
    /// link-local from the shared virtual MAC; add the parent's link-local
    /// yourself if VRRPv3 over IPv6 needs one, as keepalived does), then set
    /// it up. If an interface of that name
    /// already exists and is this very macvlan (same parent and MAC) the
    /// result is [`Outcome::AlreadyPresent`]; any other interface of that
    /// name is an error (`EEXIST`). Returns the interface.
    pub fn add_vmac(&mut self, vmac: &Vmac) -> Result<(Outcome, Link), Error> {
        if vmac.name.is_empty() || vmac.name.len() > 15 || vmac.name.contains(['\0', '/', ' ']) {
            return Err(Error::Kernel {
                op: Op::AddLink,
                errno: Errno::EINVAL,
            });
        }
        // Created down, so that no link-local address is generated from the
        // virtual MAC (identical on every router of the group: DAD would
        // fail on all but one); brought up after addrgenmode is `none`.
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(vmac.name.clone()));
        m.attributes.push(LinkAttribute::Link(vmac.parent));
        m.attributes
            .push(LinkAttribute::Address(vmac.mac().to_vec()));
        let mode = match vmac.mode {
            VmacMode::Private => MacVlanMode::Private,
            VmacMode::Bridge => MacVlanMode::Bridge,
        };
        m.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::MacVlan),
            LinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(mode)])),
        ]));
        let code = self.request(
            Op::AddLink,
            RouteNetlinkMessage::NewLink(m),
            NLM_F_CREATE | NLM_F_EXCL,
        )?;
        match code {
            0 => {
                let l = self.link_by_name(&vmac.name)?;
                let mut genmode = LinkMessage::default();
                genmode.header.index = l.index;
                genmode
                    .attributes
                    .push(LinkAttribute::AfSpecUnspec(vec![AfSpecUnspec::Inet6(
                        vec![AfSpecInet6::AddrGenMode(In6AddrGenMode::None)],
                    )]));
                // Best effort: a kernel without IPv6 refuses it, harmlessly.
                let _ = self.request(Op::SetLink, RouteNetlinkMessage::SetLink(genmode), 0)?;
                let mut up = LinkMessage::default();
                up.header.index = l.index;
                up.header.flags = LinkFlags::Up;
                up.header.change_mask = LinkFlags::Up;
                match self.request(Op::SetLink, RouteNetlinkMessage::SetLink(up), 0)? {
                    0 => Ok((Outcome::Done, self.link_by_index(l.index)?)),
                    errno => Err(Error::Kernel {
                        op: Op::SetLink,
                        errno: Errno(errno),
                    }),
                }
            }
            libc::EEXIST => {
                let l = self.link_by_name(&vmac.name)?;
                if l.kind.as_deref() == Some("macvlan")
                    && l.mac == Some(vmac.mac())
                    && l.parent == Some(vmac.parent)
                {
                    Ok((Outcome::AlreadyPresent, l))
                } else {
                    Err(Error::Kernel {
                        op: Op::AddLink,
                        errno: Errno::EEXIST,
                    })
                }
            }
            libc::ENODEV => Err(Error::NoSuchIndex(vmac.parent)),
            errno => Err(Error::Kernel {
                op: Op::AddLink,
                errno: Errno(errno),
            }),
        }
    }

    /// Delete the virtual MAC interface `index`. Refuses (`NotMacvlan`) to
    /// delete anything that is not a macvlan; a missing interface is
    /// [`Outcome::AlreadyAbsent`].
    pub fn del_vmac(&mut self, index: u32) -> Result<Outcome, Error> {
        let l = match self.link_by_index(index) {
            Ok(l) => l,
            Err(Error::NoSuchIndex(_)) => return Ok(Outcome::AlreadyAbsent),
            Err(e) => return Err(e),
        };
        if l.kind.as_deref() != Some("macvlan") {
            return Err(Error::NotMacvlan(l.name));
        }
        let mut m = LinkMessage::default();
        m.header.index = index;
        match self.request(Op::DeleteLink, RouteNetlinkMessage::DelLink(m), 0)? {
            0 => Ok(Outcome::Done),
            libc::ENODEV => Ok(Outcome::AlreadyAbsent),
            errno => Err(Error::Kernel {
                op: Op::DeleteLink,
                errno: Errno(errno),
            }),
        }
    }
}

fn route_msg(r: &VirtualRoute, stamp: u8) -> RouteMessage {
    let mut m = RouteMessage::default();
    let h = &mut m.header;
    h.address_family = family(&r.dst);
    h.destination_prefix_length = r.prefix_len;
    h.table = u8::try_from(r.table).unwrap_or(252); // RT_TABLE_COMPAT; real id in RTA_TABLE
    h.protocol = if stamp == 0 {
        RouteProtocol::Static
    } else {
        RouteProtocol::from(stamp)
    };
    h.kind = match r.kind {
        RouteKind::Unicast => RouteType::Unicast,
        RouteKind::Blackhole => RouteType::BlackHole,
        RouteKind::Unreachable => RouteType::Unreachable,
        RouteKind::Prohibit => RouteType::Prohibit,
    };
    let scope = r.scope.unwrap_or(
        if r.dst.is_ipv4() && r.kind == RouteKind::Unicast && r.gateway.is_none() {
            Scope::Link
        } else {
            Scope::Global
        },
    );
    h.scope = RouteScope::from(scope.to_u8());
    if h.address_family == AddressFamily::Inet6 {
        h.scope = RouteScope::Universe;
    }
    m.attributes
        .push(RouteAttribute::Destination(route_addr(r.dst)));
    if r.table > 255 {
        m.attributes.push(RouteAttribute::Table(r.table));
    }
    if let Some(g) = r.gateway {
        m.attributes.push(RouteAttribute::Gateway(route_addr(g)));
    }
    if let Some(i) = r.ifindex {
        m.attributes.push(RouteAttribute::Oif(i));
    }
    if let Some(s) = r.src {
        m.attributes.push(RouteAttribute::PrefSource(route_addr(s)));
    }
    if let Some(p) = r.metric {
        m.attributes.push(RouteAttribute::Priority(p));
    }
    m
}

fn route_addr(a: IpAddr) -> RouteAddress {
    match a {
        IpAddr::V4(v) => RouteAddress::Inet(v),
        IpAddr::V6(v) => RouteAddress::Inet6(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_validation() {
        let r = VirtualRoute::new("198.51.100.0".parse().unwrap(), 24);
        assert_eq!(r.validate(), Err(InvalidRoute::NoNextHop));
        let mut ok = r.clone();
        ok.gateway = Some("192.0.2.2".parse().unwrap());
        assert_eq!(ok.validate(), Ok(()));
        let mut host = ok.clone();
        host.dst = "198.51.100.1".parse().unwrap();
        assert_eq!(host.validate(), Err(InvalidRoute::HostBitsSet));
        let mut mixed = ok.clone();
        mixed.src = Some("2001:db8::1".parse().unwrap());
        assert_eq!(mixed.validate(), Err(InvalidRoute::MixedFamilies));
        let mut bh = r.clone();
        bh.kind = RouteKind::Blackhole;
        assert_eq!(bh.validate(), Ok(()));
        let mut all = VirtualRoute::new("0.0.0.0".parse().unwrap(), 0);
        all.ifindex = Some(2);
        assert_eq!(all.validate(), Ok(()));
        let mut v6 = VirtualRoute::new("2001:db8:1::".parse().unwrap(), 48);
        v6.ifindex = Some(2);
        assert_eq!(v6.validate(), Ok(()));
        v6.prefix_len = 129;
        assert_eq!(v6.validate(), Err(InvalidRoute::PrefixTooLong));
    }

    #[test]
    fn vmac_names_and_macs() {
        let v = Vmac::new(3, 51, false);
        assert_eq!(
            (v.name.as_str(), v.mac()),
            ("vrrp.51", [0, 0, 0x5e, 0, 1, 51])
        );
        let v6 = Vmac::new(3, 255, true);
        assert_eq!(
            (v6.name.as_str(), v6.mac()),
            ("vrrp6.255", [0, 0, 0x5e, 0, 2, 255])
        );
        assert_eq!(v.mode, VmacMode::Private);
    }
}
