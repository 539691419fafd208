//! [`LinkWatcher`]: link and address events from rtnetlink multicast groups.

use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use keel_netlink::{Listener, Protocol, Socket};
use netlink_packet_route::{RouteNetlinkMessage, address::AddressMessage, link::LinkMessage};

use crate::netlink::{link_from, vip_from};
use crate::wire;
use crate::{Error, Link, Op, Vip};

const RTNLGRP_LINK: u32 = 1;
const RTNLGRP_IPV4_IFADDR: u32 = 5;
const RTNLGRP_IPV6_IFADDR: u32 = 9;
const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;

/// Default receive buffer of the watcher socket: room for the events of
/// many instances' interfaces arriving at once (root can exceed rmem_max).
pub const WATCH_RCVBUF: usize = 8 * 1024 * 1024;

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    /// A new interface, or one whose state changed (up, running, name,
    /// MAC, MTU, ...). RTM_NEWLINK messages that change none of the
    /// [`Link`] fields are not reported.
    Link(Link),
    /// The interface is gone.
    LinkRemoved {
        /// Its index.
        index: u32,
        /// Its last known name.
        name: String,
    },
    /// An address appeared (or its flags changed).
    AddressAdded(Vip),
    /// An address was removed.
    AddressRemoved(Vip),
    /// Events were lost (the socket overflowed: ENOBUFS); this is the full
    /// current state, read again. Treat every interface as possibly changed.
    Resynced {
        /// All interfaces.
        links: Vec<Link>,
        /// All addresses.
        addresses: Vec<Vip>,
    },
}

/// Watches links (RTNLGRP_LINK) and addresses (RTNLGRP_IPV4_IFADDR,
/// RTNLGRP_IPV6_IFADDR) of the network namespace it was created in.
///
/// Non-blocking: register [`AsRawFd::as_raw_fd`] with a poller (tokio's
/// `AsyncFd`), and when it is readable call [`LinkWatcher::recv`], which
/// drains everything queued (then clear the readiness). With tokio:
/// `let fd = AsyncFd::new(watcher)?; loop { let mut g = fd.readable_mut().await?;
/// let events = g.get_inner_mut().recv()?; g.clear_ready(); ... }`.
///
/// ```no_run
/// use keel_vip::{LinkEvent, LinkWatcher};
///
/// let mut w = LinkWatcher::new()?;
/// for event in w.recv()? {
///     match event {
///         LinkEvent::Link(l) => { let _ = (l.name, l.running); }
///         LinkEvent::Resynced { links, .. } => { let _ = links; }
///         _ => {}
///     }
/// }
/// # Ok::<(), keel_vip::Error>(())
/// ```
#[derive(Debug)]
pub struct LinkWatcher {
    sock: Listener,
    dumper: Socket,
    rx: Vec<u8>,
    links: HashMap<u32, Link>,
    overruns: u64,
    undecodable: u64,
}

impl LinkWatcher {
    /// Subscribe with a [`WATCH_RCVBUF`] receive buffer.
    pub fn new() -> Result<LinkWatcher, Error> {
        LinkWatcher::with_rcvbuf(WATCH_RCVBUF)
    }

    /// Subscribe with a receive buffer of `bytes` (the kernel may round it).
    pub fn with_rcvbuf(bytes: usize) -> Result<LinkWatcher, Error> {
        let groups = [RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR];
        let sock =
            Listener::open(Protocol::Route, &groups, bytes).map_err(wire::transport(Op::Open))?;
        let mut w = LinkWatcher {
            sock,
            dumper: wire::open()?,
            rx: Vec::with_capacity(64 * 1024),
            links: HashMap::new(),
            overruns: 0,
            undecodable: 0,
        };
        // Subscribed first, then read the state: nothing falls in between.
        for l in w.dump_links()? {
            w.links.insert(l.index, l);
        }
        Ok(w)
    }

    /// The interfaces as last seen.
    pub fn links(&self) -> impl Iterator<Item = &Link> {
        self.links.values()
    }

    /// How many times the socket overflowed (each produced a `Resynced`).
    pub fn overruns(&self) -> u64 {
        self.overruns
    }

    /// Messages the decoder could not read (skipped).
    pub fn undecodable(&self) -> u64 {
        self.undecodable
    }

    fn dump_links(&mut self) -> Result<Vec<Link>, Error> {
        Ok(wire::dump(
            &mut self.dumper,
            Op::Watch,
            &RouteNetlinkMessage::GetLink(LinkMessage::default()),
        )?
        .iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewLink(l) => Some(link_from(l)),
            _ => None,
        })
        .collect())
    }

    /// Read the full state again (as after an overflow).
    pub fn resync(&mut self) -> Result<LinkEvent, Error> {
        let links = self.dump_links()?;
        self.links = links.iter().map(|l| (l.index, l.clone())).collect();
        let addresses = wire::dump(
            &mut self.dumper,
            Op::Watch,
            &RouteNetlinkMessage::GetAddress(AddressMessage::default()),
        )?
        .iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewAddress(a) => vip_from(a).map(|(v, _)| self.unlabel(v)),
            _ => None,
        })
        .collect();
        Ok(LinkEvent::Resynced { links, addresses })
    }

    /// Everything queued now (empty when nothing is). Never blocks.
    pub fn recv(&mut self) -> Result<Vec<LinkEvent>, Error> {
        let mut events = Vec::new();
        let mut rx = std::mem::take(&mut self.rx);
        loop {
            match self.sock.recv(&mut rx) {
                Ok(true) => {}
                Ok(false) => break,
                Err(keel_netlink::Error::Overrun) => {
                    // Lost events: what we queued so far is stale too, and
                    // so is whatever is still queued.
                    self.overruns += 1;
                    self.sock.drain();
                    events.clear();
                    match self.resync() {
                        Ok(e) => events.push(e),
                        Err(e) => {
                            self.rx = rx;
                            return Err(e);
                        }
                    }
                    continue;
                }
                Err(source) => {
                    self.rx = rx;
                    return Err(Error::Netlink {
                        op: Op::Watch,
                        source,
                    });
                }
            }
            for m in keel_netlink::messages(&rx) {
                let Ok(m) = m else {
                    self.undecodable += 1;
                    break;
                };
                if !matches!(
                    m.kind,
                    RTM_NEWLINK | RTM_DELLINK | RTM_NEWADDR | RTM_DELADDR
                ) {
                    continue;
                }
                match wire::decode(m.bytes) {
                    Ok(m) => self.event(m, &mut events),
                    Err(_) => self.undecodable += 1,
                }
            }
        }
        self.rx = rx;
        Ok(events)
    }

    /// The kernel labels every IPv4 address; like [`crate::VipControl::list`],
    /// report a label only when it is not just the interface name.
    fn unlabel(&self, mut v: Vip) -> Vip {
        if v.label.is_some() && v.label.as_ref() == self.links.get(&v.ifindex).map(|l| &l.name) {
            v.label = None;
        }
        v
    }

    fn event(&mut self, m: RouteNetlinkMessage, events: &mut Vec<LinkEvent>) {
        match m {
            RouteNetlinkMessage::NewLink(l) => {
                let link = link_from(&l);
                if self.links.get(&link.index) != Some(&link) {
                    self.links.insert(link.index, link.clone());
                    events.push(LinkEvent::Link(link));
                }
            }
            RouteNetlinkMessage::DelLink(l) => {
                let link = link_from(&l);
                let name = self
                    .links
                    .remove(&link.index)
                    .map_or(link.name, |old| old.name);
                events.push(LinkEvent::LinkRemoved {
                    index: link.index,
                    name,
                });
            }
            RouteNetlinkMessage::NewAddress(a) => {
                if let Some((v, _)) = vip_from(&a) {
                    events.push(LinkEvent::AddressAdded(self.unlabel(v)));
                }
            }
            RouteNetlinkMessage::DelAddress(a) => {
                if let Some((v, _)) = vip_from(&a) {
                    events.push(LinkEvent::AddressRemoved(self.unlabel(v)));
                }
            }
            _ => {}
        }
    }
}

impl AsRawFd for LinkWatcher {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl AsFd for LinkWatcher {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}
