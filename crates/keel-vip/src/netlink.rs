//! [`Netlink`]: [`VipControl`] over rtnetlink, and interface lookup.

use std::collections::HashMap;
use std::net::IpAddr;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::{
    AddressFamily, RouteNetlinkMessage,
    address::{
        AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressProtocol,
        AddressScope,
    },
    link::{InfoKind, LinkAttribute, LinkFlags, LinkInfo, LinkMessage},
};

use keel_netlink::Socket;

use crate::wire;
use crate::{DEFAULT_STAMP, Errno, Error, Link, Op, Outcome, Scope, Vip, VipControl};

/// [`VipControl`] over an rtnetlink socket of the network namespace that
/// was current when [`Netlink::new`] ran (the socket stays bound to it).
///
/// Requests are synchronous: each call sends and waits for the kernel's
/// ACK. [`Netlink::add_batch`] / [`Netlink::del_batch`] send many requests
/// per system call.
#[derive(Debug)]
pub struct Netlink {
    pub(crate) sock: Socket,
    stamp: u8,
}

impl Netlink {
    /// Open a socket with the [`DEFAULT_STAMP`].
    pub fn new() -> Result<Netlink, Error> {
        Netlink::with_stamp(DEFAULT_STAMP)
    }

    /// Open a socket that stamps added addresses with `stamp` (`IFA_PROTO`).
    /// 0 means "no stamp" (then `list_stamped` returns nothing).
    pub fn with_stamp(stamp: u8) -> Result<Netlink, Error> {
        Ok(Netlink {
            sock: wire::open()?,
            stamp,
        })
    }

    /// The stamp this instance writes.
    pub fn stamp(&self) -> u8 {
        self.stamp
    }

    /// Add many VIPs, several requests per system call. The outer error is a
    /// socket failure; the inner results are per VIP, in order.
    pub fn add_batch(&mut self, vips: &[Vip]) -> Result<Vec<Result<Outcome, Error>>, Error> {
        self.addr_batch(vips, true)
    }

    /// Delete many VIPs, several requests per system call (see [`Netlink::add_batch`]).
    pub fn del_batch(&mut self, vips: &[Vip]) -> Result<Vec<Result<Outcome, Error>>, Error> {
        self.addr_batch(vips, false)
    }

    fn addr_batch(
        &mut self,
        vips: &[Vip],
        add: bool,
    ) -> Result<Vec<Result<Outcome, Error>>, Error> {
        let mut out: Vec<Option<Result<Outcome, Error>>> = Vec::with_capacity(vips.len());
        let mut msgs = Vec::with_capacity(vips.len());
        for vip in vips {
            match vip.validate() {
                Ok(()) => {
                    out.push(None);
                    msgs.push(if add {
                        (
                            RouteNetlinkMessage::NewAddress(addr_msg(vip, self.stamp)),
                            NLM_F_CREATE | NLM_F_EXCL,
                        )
                    } else {
                        (RouteNetlinkMessage::DelAddress(addr_msg(vip, 0)), 0)
                    });
                }
                Err(e) => out.push(Some(Err(e.into()))),
            }
        }
        let op = if add {
            Op::AddAddress
        } else {
            Op::DeleteAddress
        };
        let mut codes = wire::batch(&mut self.sock, op, &msgs)?.into_iter();
        Ok(out
            .into_iter()
            .zip(vips)
            .map(|(r, vip)| match r {
                Some(r) => r,
                None => addr_result(op, vip, codes.next().unwrap_or(libc::EIO)),
            })
            .collect())
    }

    /// One request, one ACK: the errno (0 = success).
    pub(crate) fn request(
        &mut self,
        op: Op,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<i32, Error> {
        wire::request(&mut self.sock, op, msg, flags)
    }

    /// Every interface of the namespace.
    pub fn links(&mut self) -> Result<Vec<Link>, Error> {
        let msgs = wire::dump(
            &mut self.sock,
            Op::GetLink,
            &RouteNetlinkMessage::GetLink(LinkMessage::default()),
        )?;
        Ok(msgs
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(link_from(l)),
                _ => None,
            })
            .collect())
    }

    /// The interface called `name`.
    pub fn link_by_name(&mut self, name: &str) -> Result<Link, Error> {
        if name.is_empty() || name.len() > 15 || name.contains('\0') {
            return Err(Error::NoSuchInterface(name.to_owned()));
        }
        let mut req = LinkMessage::default();
        req.attributes.push(LinkAttribute::IfName(name.to_owned()));
        match wire::get(
            &mut self.sock,
            Op::GetLink,
            &RouteNetlinkMessage::GetLink(req),
        )? {
            Ok(RouteNetlinkMessage::NewLink(l)) => Ok(link_from(&l)),
            Ok(_) => Err(Error::Decode("RTM_GETLINK answered with another message")),
            Err(Errno::ENODEV) => Err(Error::NoSuchInterface(name.to_owned())),
            Err(errno) => Err(Error::Kernel {
                op: Op::GetLink,
                errno,
            }),
        }
    }

    /// The interface with index `index`.
    pub fn link_by_index(&mut self, index: u32) -> Result<Link, Error> {
        if index == 0 || index > i32::MAX as u32 {
            return Err(Error::NoSuchIndex(index));
        }
        let mut req = LinkMessage::default();
        req.header.index = index;
        match wire::get(
            &mut self.sock,
            Op::GetLink,
            &RouteNetlinkMessage::GetLink(req),
        )? {
            Ok(RouteNetlinkMessage::NewLink(l)) => Ok(link_from(&l)),
            Ok(_) => Err(Error::Decode("RTM_GETLINK answered with another message")),
            Err(Errno::ENODEV) => Err(Error::NoSuchIndex(index)),
            Err(errno) => Err(Error::Kernel {
                op: Op::GetLink,
                errno,
            }),
        }
    }

    /// Addresses with their `IFA_PROTO` value (0 when absent).
    fn list_raw(&mut self, ifindex: Option<u32>) -> Result<Vec<(Vip, u8)>, Error> {
        let mut req = AddressMessage::default();
        req.header.family = AddressFamily::Unspec;
        let msgs = wire::dump(
            &mut self.sock,
            Op::ListAddresses,
            &RouteNetlinkMessage::GetAddress(req),
        )?;
        let mut out: Vec<(Vip, u8)> = msgs
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a) => vip_from(a),
                _ => None,
            })
            .filter(|(v, _)| ifindex.is_none_or(|i| v.ifindex == i))
            .collect();
        // The kernel reports an IPv4 label on every address (the interface
        // name by default); keep it only when it differs from the name.
        if out.iter().any(|(v, _)| v.label.is_some()) {
            let names: HashMap<u32, String> = self
                .links()?
                .into_iter()
                .map(|l| (l.index, l.name))
                .collect();
            for (v, _) in &mut out {
                if v.label.as_ref() == names.get(&v.ifindex) {
                    v.label = None;
                }
            }
        }
        Ok(out)
    }
}

impl VipControl for Netlink {
    fn add(&mut self, vip: &Vip) -> Result<Outcome, Error> {
        vip.validate()?;
        let code = self.request(
            Op::AddAddress,
            RouteNetlinkMessage::NewAddress(addr_msg(vip, self.stamp)),
            NLM_F_CREATE | NLM_F_EXCL,
        )?;
        addr_result(Op::AddAddress, vip, code)
    }

    fn del(&mut self, vip: &Vip) -> Result<Outcome, Error> {
        vip.validate()?;
        let code = self.request(
            Op::DeleteAddress,
            RouteNetlinkMessage::DelAddress(addr_msg(vip, 0)),
            0,
        )?;
        addr_result(Op::DeleteAddress, vip, code)
    }

    fn list(&mut self, ifindex: Option<u32>) -> Result<Vec<Vip>, Error> {
        Ok(self
            .list_raw(ifindex)?
            .into_iter()
            .map(|(v, _)| v)
            .collect())
    }

    fn list_stamped(&mut self, ifindex: Option<u32>) -> Result<Vec<Vip>, Error> {
        if self.stamp == 0 {
            return Ok(Vec::new());
        }
        let stamp = self.stamp;
        Ok(self
            .list_raw(ifindex)?
            .into_iter()
            .filter(|(_, p)| *p == stamp)
            .map(|(v, _)| v)
            .collect())
    }

    fn add_route(&mut self, route: &crate::VirtualRoute) -> Result<Outcome, Error> {
        Netlink::add_route(self, route)
    }

    fn del_route(&mut self, route: &crate::VirtualRoute) -> Result<Outcome, Error> {
        Netlink::del_route(self, route)
    }

    fn add_vmac(&mut self, vmac: &crate::Vmac) -> Result<(Outcome, Link), Error> {
        Netlink::add_vmac(self, vmac)
    }

    fn del_vmac(&mut self, index: u32) -> Result<Outcome, Error> {
        Netlink::del_vmac(self, index)
    }
}

/// Look up an interface by name in the current network namespace.
pub fn link_by_name(name: &str) -> Result<Link, Error> {
    Netlink::new()?.link_by_name(name)
}

/// Look up an interface by index in the current network namespace.
pub fn link_by_index(index: u32) -> Result<Link, Error> {
    Netlink::new()?.link_by_index(index)
}

/// keel's convention ([`Outcome`]): an address already there is
/// `AlreadyPresent`, one already gone (EADDRNOTAVAIL) `AlreadyAbsent`; a
/// missing interface is an error.
fn addr_result(op: Op, vip: &Vip, errno: i32) -> Result<Outcome, Error> {
    if errno == libc::ENODEV {
        return Err(Error::NoSuchIndex(vip.ifindex));
    }
    match op {
        Op::AddAddress => Outcome::of_add(errno),
        _ => Outcome::of_delete(errno, Errno::EADDRNOTAVAIL),
    }
    .map_err(|errno| Error::Kernel { op, errno })
}

pub(crate) fn family(addr: &IpAddr) -> AddressFamily {
    if addr.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    }
}

/// RTM_NEWADDR / RTM_DELADDR body for `vip`. `stamp` 0 = no IFA_PROTO.
pub(crate) fn addr_msg(vip: &Vip, stamp: u8) -> AddressMessage {
    let mut m = AddressMessage::default();
    m.header.family = family(&vip.addr);
    m.header.prefix_len = vip.prefix_len;
    m.header.scope = AddressScope::from(vip.scope.to_u8());
    m.header.index = vip.ifindex;
    let mut flags = AddressFlags::empty();
    if vip.nodad && vip.addr.is_ipv6() {
        flags |= AddressFlags::Nodad;
        m.header.flags = AddressHeaderFlags::Nodad;
    }
    m.attributes.push(AddressAttribute::Local(vip.addr));
    m.attributes.push(AddressAttribute::Address(vip.addr));
    if let Some(label) = &vip.label {
        m.attributes.push(AddressAttribute::Label(label.clone()));
    }
    if let Some(b) = vip.broadcast {
        m.attributes.push(AddressAttribute::Broadcast(b));
    }
    if !flags.is_empty() {
        m.attributes.push(AddressAttribute::Flags(flags));
    }
    if stamp != 0 {
        m.attributes
            .push(AddressAttribute::Protocol(AddressProtocol::from(stamp)));
    }
    m
}

/// A kernel address message as a [`Vip`] plus its IFA_PROTO (0 if none).
pub(crate) fn vip_from(m: &AddressMessage) -> Option<(Vip, u8)> {
    let mut local = None;
    let mut address = None;
    let mut label = None;
    let mut broadcast = None;
    let mut proto = 0u8;
    let mut flags = u32::from(m.header.flags.bits());
    for a in &m.attributes {
        match a {
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => address = Some(*ip),
            AddressAttribute::Label(l) => label = Some(l.clone()),
            AddressAttribute::Broadcast(b) => broadcast = Some(*b),
            AddressAttribute::Flags(f) => flags = f.bits(),
            AddressAttribute::Protocol(p) => proto = u8::from(*p),
            _ => {}
        }
    }
    // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on
    // point-to-point links (and the address itself for IPv6 without peer).
    let addr = local.or(address)?;
    Some((
        Vip {
            addr,
            prefix_len: m.header.prefix_len,
            ifindex: m.header.index,
            label: if addr.is_ipv4() { label } else { None },
            scope: Scope::from_u8(u8::from(m.header.scope)),
            broadcast,
            nodad: flags & libc::IFA_F_NODAD != 0,
        },
        proto,
    ))
}

pub(crate) fn link_from(l: &LinkMessage) -> Link {
    let mut link = Link {
        index: l.header.index,
        name: String::new(),
        mac: None,
        up: l.header.flags.contains(LinkFlags::Up),
        running: l.header.flags.contains(LinkFlags::Running),
        mtu: 0,
        kind: None,
        parent: None,
    };
    let mut other_netns = false;
    for a in &l.attributes {
        match a {
            LinkAttribute::LinkNetNsId(_) => other_netns = true,
            LinkAttribute::IfName(n) => link.name = n.clone(),
            LinkAttribute::Address(mac) => link.mac = <[u8; 6]>::try_from(mac.as_slice()).ok(),
            LinkAttribute::Mtu(m) => link.mtu = *m,
            LinkAttribute::Link(p) => link.parent = Some(*p),
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    if let LinkInfo::Kind(k) = i {
                        link.kind = Some(kind_name(k));
                    }
                }
            }
            _ => {}
        }
    }
    if other_netns {
        // IFLA_LINK then names an index in another namespace (veth peer).
        link.parent = None;
    }
    link
}

fn kind_name(k: &InfoKind) -> String {
    // InfoKind's Display is the kernel's kind string ("veth", "macvlan", ...).
    k.to_string()
}
