//! keel's HA lab (not published): the namespace topologies, daemons under
//! test, client probes, advert capture, fault injection, hostile-input floods
//! and the IPVS VM that keel's privileged tests, `cargo xtask demo`,
//! `bench failover|scale`, `chaos` and `vm` are made of.
//!
//! ```no_run
//! use keel_lab::{Daemon, Lab, config};
//! use std::time::Duration;
//! if !keel_testkit::require_root("lab example") { return; }
//! let mut lab = Lab::new("ex", 2, "target/debug/keeld");
//! lab.write_conf(0, &config::guide(true));
//! lab.write_conf(1, &config::guide(false));
//! lab.start(0, Daemon::Keeld);
//! lab.start(1, Daemon::Keepalived);
//! let took = lab.wait(Duration::from_secs(8), |l| l.holds_vip(0) && !l.holds_vip(1));
//! lab.check(took.is_some(), "node1 became master");
//! ```
//!
//! Modules: [`topology`] (the [`Lab`]: nodes and a client on a bridge),
//! [`node`] (one daemon under test), [`config`], [`capture`] and [`advert`]
//! (the wire), [`impair`] (cuts and loss on the bridge), [`procfs`]
//! (processes' CPU and memory), [`host`] (commands, packages, builds),
//! [`teardown`] (Ctrl-C); the programs built on them: [`demo`],
//! [`bench`](mod@bench) (failover, scale), [`chaos`], [`flood`], [`vm`].
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::missing_panics_doc)]

pub mod advert;
pub mod bench;
pub mod capture;
pub mod chaos;
pub mod config;
pub mod demo;
pub mod dist;
pub mod flood;
pub mod host;
pub mod impair;
pub mod node;
pub mod procfs;
pub mod teardown;
pub mod topology;
pub mod vm;

pub use capture::{AdvertLog, Tcpdump};
pub use node::Node;
pub use topology::{Lab, node_addr};

use std::net::Ipv4Addr;

/// The VIP of the lab's configurations (the guide's, mapped onto 192.0.2.0/24).
pub const VIP: &str = "192.0.2.250";
/// The UDP port the nodes' responders answer probes on.
pub const PORT: u16 = 9000;
/// VRRP's IPv4 multicast group.
pub const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

/// Which VRRP daemon a node runs.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Daemon {
    /// keel's daemon.
    Keeld,
    /// keepalived (2.2.x, `/usr/sbin/keepalived`), the reference.
    Keepalived,
}

impl Daemon {
    /// `keeld` or `keepalived`.
    pub fn name(self) -> &'static str {
        match self {
            Daemon::Keeld => "keeld",
            Daemon::Keepalived => "keepalived",
        }
    }
}
