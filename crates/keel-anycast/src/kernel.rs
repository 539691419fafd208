//! Kernel mode: the prefix becomes a route in a chosen routing table
//! (through keel-vip, keel's one netlink transport) and the speaker that
//! already runs (FRR's `redistribute table N`, BIRD's `kernel` protocol
//! with `learn`) exports it.

use keel_vip::{Netlink, VirtualRoute};

use crate::{Error, Prefix, Speaker, SpeakerEvent};

/// Adds/removes `PREFIX dev lo` (scope host) in one routing table.
#[derive(Debug)]
pub struct Kernel {
    table: u32,
    ifindex: u32,
    nl: Option<Netlink>,
}

impl Kernel {
    /// Routes in `table` through the interface `ifindex` (usually `lo`,
    /// index 1). The netlink socket opens at `connect`, in the network
    /// namespace of the thread that calls it; use [`Kernel::with_netlink`]
    /// to bring one opened elsewhere.
    pub fn new(table: u32, ifindex: u32) -> Kernel {
        Kernel {
            table,
            ifindex,
            nl: None,
        }
    }

    /// Use `nl` (opened in the right namespace) instead of opening one.
    pub fn with_netlink(mut self, nl: Netlink) -> Kernel {
        self.nl = Some(nl);
        self
    }

    fn route(&self, p: Prefix) -> VirtualRoute {
        let mut r = VirtualRoute::new(p.addr(), p.prefix_len());
        r.table = self.table;
        r.ifindex = Some(self.ifindex);
        r
    }

    fn nl(&mut self) -> Result<&mut Netlink, Error> {
        if self.nl.is_none() {
            self.nl = Some(Netlink::new()?);
        }
        self.nl.as_mut().ok_or(Error::Closed)
    }
}

impl Speaker for Kernel {
    async fn connect(&mut self) -> Result<(), Error> {
        self.nl().map(drop)
    }

    async fn announce(&mut self, prefix: Prefix) -> Result<(), Error> {
        let r = self.route(prefix);
        self.nl()?.add_route(&r)?;
        Ok(())
    }

    async fn withdraw(&mut self, prefix: Prefix) -> Result<(), Error> {
        let r = self.route(prefix);
        self.nl()?.del_route(&r)?;
        Ok(())
    }

    async fn watch(&mut self) -> Result<SpeakerEvent, Error> {
        // The kernel has no session to lose.
        std::future::pending().await
    }

    fn kind(&self) -> &'static str {
        "kernel"
    }
}
