//! The node's synchronous I/O, behind traits: VIPs and routes
//! ([`keel_vip::VipControl`]), gratuitous ARP / NA ([`Announce`]) and
//! interface facts ([`Links`]). Packets, timers and scripts are not here:
//! the node hands them out ([`crate::Node::poll_transmit`],
//! [`crate::Node::poll_timeout`], [`crate::Node::poll_run`]) and a driver
//! performs them.
//!
//! [`Io::real`] is the kernel; [`Io::fake`] is in memory (no root) and
//! returns handles that show what the node did.
use keel_vip::{Error, Link, Outcome, Vip, VipControl, VirtualRoute, Vmac};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};

/// Sends gratuitous ARPs and unsolicited neighbour adverts.
pub trait Announce {
    /// One gratuitous ARP for `ip` from `mac` on `ifindex`.
    fn garp(&mut self, ifindex: u32, mac: [u8; 6], ip: Ipv4Addr) -> Result<(), Error>;
    /// One unsolicited neighbour advert for `ip` from `mac` on `ifindex`.
    fn unsolicited_na(&mut self, ifindex: u32, mac: [u8; 6], ip: Ipv6Addr) -> Result<(), Error>;
}

/// Interface facts the node asks for.
pub trait Links {
    /// Whether interface `ifindex` is up and running (carrier).
    fn running(&mut self, ifindex: u32) -> bool;
    /// The interface's Ethernet address.
    fn mac(&mut self, ifindex: u32) -> Option<[u8; 6]>;
    /// The interface's addresses with their prefix lengths (for the check
    /// that a multicast advert comes from the link).
    fn nets(&mut self, ifname: &str) -> Vec<(IpAddr, u8)>;
}

/// A part of [`Io`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Part {
    /// VIPs and routes.
    Vips,
    /// Gratuitous ARP / NA.
    Announce,
    /// Interface facts.
    Links,
}

/// The node's synchronous I/O.
#[allow(missing_debug_implementations)]
pub struct Io {
    /// VIPs, virtual routes, VMACs.
    pub vips: Box<dyn VipControl + Send>,
    /// Gratuitous ARP / NA.
    pub announce: Box<dyn Announce + Send>,
    /// Interface facts.
    pub links: Box<dyn Links + Send>,
}

impl Io {
    /// From three implementations.
    pub fn new(
        vips: impl VipControl + Send + 'static,
        announce: impl Announce + Send + 'static,
        links: impl Links + Send + 'static,
    ) -> Io {
        Io {
            vips: Box::new(vips),
            announce: Box::new(announce),
            links: Box::new(links),
        }
    }

    /// The kernel of the current network namespace: rtnetlink for VIPs and
    /// routes, a packet socket for announcements. A part that cannot be
    /// opened is replaced by [`Unmanaged`] and its error returned with it.
    pub fn real() -> (Io, Vec<(Part, Error)>) {
        let mut errors = Vec::new();
        let vips: Box<dyn VipControl + Send> = match keel_vip::Netlink::new() {
            Ok(n) => Box::new(n),
            Err(e) => {
                errors.push((Part::Vips, e));
                Box::new(Unmanaged)
            }
        };
        let announce: Box<dyn Announce + Send> = match keel_vip::Announcer::new() {
            Ok(a) => Box::new(a),
            Err(e) => {
                errors.push((Part::Announce, e));
                Box::new(Unmanaged)
            }
        };
        let io = Io {
            vips,
            announce,
            links: Box::new(RealLinks),
        };
        (io, errors)
    }

    /// In memory: returns the I/O and a handle on the same state.
    pub fn fake() -> (Io, FakeIo) {
        let f = FakeIo::default();
        let io = Io {
            vips: Box::new(f.clone()),
            announce: Box::new(f.clone()),
            links: Box::new(f.clone()),
        };
        (io, f)
    }
}

impl Announce for keel_vip::Announcer {
    fn garp(&mut self, ifindex: u32, mac: [u8; 6], ip: Ipv4Addr) -> Result<(), Error> {
        keel_vip::Announcer::garp(self, ifindex, mac, ip)
    }
    fn unsolicited_na(&mut self, ifindex: u32, mac: [u8; 6], ip: Ipv6Addr) -> Result<(), Error> {
        keel_vip::Announcer::unsolicited_na(self, ifindex, mac, ip, false)
    }
}

/// Interfaces of the current network namespace.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealLinks;

impl Links for RealLinks {
    fn running(&mut self, ifindex: u32) -> bool {
        keel_vip::link_by_index(ifindex)
            .map(|l| l.up && l.running)
            .unwrap_or(false)
    }
    fn mac(&mut self, ifindex: u32) -> Option<[u8; 6]> {
        keel_vip::link_by_index(ifindex).ok().and_then(|l| l.mac)
    }
    fn nets(&mut self, ifname: &str) -> Vec<(IpAddr, u8)> {
        crate::sys::if_addrs(ifname)
    }
}

/// Nothing is managed: every change succeeds without effect (what a node
/// does when rtnetlink or the packet socket cannot be opened).
#[derive(Debug, Clone, Copy, Default)]
pub struct Unmanaged;

impl VipControl for Unmanaged {
    fn add(&mut self, _: &Vip) -> Result<Outcome, Error> {
        Ok(Outcome::Done)
    }
    fn del(&mut self, _: &Vip) -> Result<Outcome, Error> {
        Ok(Outcome::Done)
    }
    fn list(&mut self, _: Option<u32>) -> Result<Vec<Vip>, Error> {
        Ok(Vec::new())
    }
    fn list_stamped(&mut self, _: Option<u32>) -> Result<Vec<Vip>, Error> {
        Ok(Vec::new())
    }
    fn add_route(&mut self, _: &VirtualRoute) -> Result<Outcome, Error> {
        Ok(Outcome::Done)
    }
    fn del_route(&mut self, _: &VirtualRoute) -> Result<Outcome, Error> {
        Ok(Outcome::Done)
    }
    fn add_vmac(&mut self, v: &Vmac) -> Result<(Outcome, Link), Error> {
        Err(Error::NoSuchInterface(v.name.clone()))
    }
    fn del_vmac(&mut self, _: u32) -> Result<Outcome, Error> {
        Ok(Outcome::AlreadyAbsent)
    }
}

impl Announce for Unmanaged {
    fn garp(&mut self, _: u32, _: [u8; 6], _: Ipv4Addr) -> Result<(), Error> {
        Ok(())
    }
    fn unsolicited_na(&mut self, _: u32, _: [u8; 6], _: Ipv6Addr) -> Result<(), Error> {
        Ok(())
    }
}

/// What the fake I/O holds.
#[derive(Debug, Default)]
pub struct FakeState {
    /// VIPs, routes and VMACs (keel-vip's fake, journal included).
    pub vips: keel_vip::FakeVips,
    /// Every announcement sent: (ifindex, mac, address).
    pub announced: Vec<(u32, [u8; 6], IpAddr)>,
    /// Link states (absent: up).
    pub links: HashMap<u32, bool>,
    /// Interface addresses by name.
    pub nets: HashMap<String, Vec<(IpAddr, u8)>>,
}

/// In-memory I/O; clones share one [`FakeState`].
#[derive(Debug, Clone, Default)]
pub struct FakeIo(Arc<Mutex<FakeState>>);

impl FakeIo {
    /// Look at or change the state.
    pub fn with<R>(&self, f: impl FnOnce(&mut FakeState) -> R) -> R {
        let mut g = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut g)
    }

    /// The VIPs present, as addresses.
    pub fn vips(&self) -> Vec<IpAddr> {
        self.with(|s| {
            s.vips
                .list(None)
                .unwrap_or_default()
                .iter()
                .map(|v| v.addr)
                .collect()
        })
    }

    /// The virtual routes present.
    pub fn routes(&self) -> Vec<VirtualRoute> {
        self.with(|s| s.vips.routes.clone())
    }
}

impl VipControl for FakeIo {
    fn add(&mut self, v: &Vip) -> Result<Outcome, Error> {
        self.with(|s| s.vips.add(v))
    }
    fn del(&mut self, v: &Vip) -> Result<Outcome, Error> {
        self.with(|s| s.vips.del(v))
    }
    fn list(&mut self, i: Option<u32>) -> Result<Vec<Vip>, Error> {
        self.with(|s| s.vips.list(i))
    }
    fn list_stamped(&mut self, i: Option<u32>) -> Result<Vec<Vip>, Error> {
        self.with(|s| s.vips.list_stamped(i))
    }
    fn add_route(&mut self, r: &VirtualRoute) -> Result<Outcome, Error> {
        self.with(|s| s.vips.add_route(r))
    }
    fn del_route(&mut self, r: &VirtualRoute) -> Result<Outcome, Error> {
        self.with(|s| s.vips.del_route(r))
    }
    fn add_vmac(&mut self, v: &Vmac) -> Result<(Outcome, Link), Error> {
        self.with(|s| s.vips.add_vmac(v))
    }
    fn del_vmac(&mut self, i: u32) -> Result<Outcome, Error> {
        self.with(|s| s.vips.del_vmac(i))
    }
}

impl Announce for FakeIo {
    fn garp(&mut self, ifindex: u32, mac: [u8; 6], ip: Ipv4Addr) -> Result<(), Error> {
        self.with(|s| s.announced.push((ifindex, mac, ip.into())));
        Ok(())
    }
    fn unsolicited_na(&mut self, ifindex: u32, mac: [u8; 6], ip: Ipv6Addr) -> Result<(), Error> {
        self.with(|s| s.announced.push((ifindex, mac, ip.into())));
        Ok(())
    }
}

impl Links for FakeIo {
    fn running(&mut self, ifindex: u32) -> bool {
        self.with(|s| s.links.get(&ifindex).copied().unwrap_or(true))
    }
    fn mac(&mut self, ifindex: u32) -> Option<[u8; 6]> {
        let [a, b, c, d] = ifindex.to_be_bytes();
        Some([2, 0, a, b, c, d])
    }
    fn nets(&mut self, ifname: &str) -> Vec<(IpAddr, u8)> {
        self.with(|s| s.nets.get(ifname).cloned().unwrap_or_default())
    }
}
