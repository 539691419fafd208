//! keel-ipvs: a typed client for the Linux kernel's IPVS (LVS) load balancer
//! over generic netlink — every operation `ipvsadm` has, batching, and a
//! desired-state reconcile.
//!
//! ```
//! use keel_ipvs::{Dest, Forward, Service, ServiceKey, reconcile::{self, VirtualService}};
//! // The guide's service: 192.0.2.250:80, rr, persistent 50 s, two DR real servers.
//! let key = ServiceKey::tcp("192.0.2.250".parse().unwrap(), 80);
//! let vs = VirtualService {
//!     service: Service::new(key, "rr").persistent(50),
//!     dests: vec![
//!         Dest::new("192.0.2.12".parse().unwrap(), 80, Forward::Route),
//!         Dest::new("192.0.2.13".parse().unwrap(), 80, Forward::Route),
//!     ],
//! };
//! // Plan against an empty kernel table (a dry run; `Ipvs::reconcile` applies it).
//! let plan = reconcile::plan(&[vs], &[], &reconcile::Options::default());
//! assert_eq!(plan.ops.len(), 3);
//! assert_eq!(plan.to_string().lines().next(), Some("add service TCP 192.0.2.250:80 (rr)"));
//! ```
//!
//! Against the kernel (root, IPVS loaded):
//!
//! ```no_run
//! # use keel_ipvs::*;
//! let mut ipvs = Ipvs::new()?; // Error::Unavailable: "IPVS is not available: load the ip_vs module"
//! let key = ServiceKey::tcp("192.0.2.250".parse().unwrap(), 80);
//! ipvs.new_service(&Service::new(key, "rr").persistent(50))?;
//! ipvs.new_dest(&key, &Dest::new("192.0.2.12".parse().unwrap(), 80, Forward::Route))?;
//! for (svc, dests) in ipvs.list()? {
//!     println!("{} {} dests", svc.service.key, dests.len());
//! }
//! # Ok::<(), keel_ipvs::Error>(())
//! ```
//!
//! Byte order on the wire: netlink headers and integer attributes are host
//! order; ports, the IPv4 persistence netmask and addresses are network
//! order. Each field's doc in [`Service`], [`Dest`], [`SyncDaemon`] etc. says which.
//! No `netlink-packet-*` type appears in this API (the small codec is in
//! this crate; the transport, shared with keel-vip, is [`keel_netlink`]).
//!
//! Errors and idempotency (the convention of keel-vip too): adding a
//! service or destination that is already there returns
//! `Ok(`[`Outcome::AlreadyPresent`]`)`, deleting one that is already gone
//! `Ok(`[`Outcome::AlreadyAbsent`]`)`; anything else the kernel refuses is an
//! [`Error`] carrying a [`keel_netlink::Errno`] ([`Error::errno`]).
//!
//! Batching: [`Ipvs::execute`] puts up to [`DEFAULT_BATCH`] write requests in
//! one `send()`; only the last asks for an ACK, failures come back as errors
//! carrying their request's sequence number and are reported as [`OpError`]s
//! naming the operation and its object; it returns each operation's
//! [`Outcome`]. [`Ipvs::counters`] counts requests,
//! writes and sends (a no-op [`Ipvs::reconcile`] sends zero writes).
//!
//! Testing: the codec's round-trip tests run anywhere. The kernel tests
//! (`tests/kernel.rs`) are `#[ignore]`d ("needs IPVS: run by cargo xtask vm
//! test"), so a plain `cargo test` lists them as ignored; `cargo xtask vm test`
//! boots a Debian kernel in qemu and runs them with `--ignored`, each in its
//! own network namespace, cross-checked with `ipvsadm`.
#![warn(clippy::print_stdout, clippy::print_stderr)]

mod client;
mod error;
pub mod reconcile;
mod types;
mod wire;

pub use client::{Counters, DEFAULT_BATCH, Ipvs};
pub use error::{Command, Error, OpError};
pub use keel_netlink::{self, Errno, Outcome};
pub use types::{
    Dest, DestEntry, Family, Forward, Info, Persistence, Protocol, Scheduler, Service,
    ServiceEntry, ServiceFlags, ServiceKey, Stats, SyncDaemon, SyncState, Timeouts, TunnelFlags,
    TunnelType,
};
pub use wire::{DecodeError, Op};

#[cfg(test)]
mod tests;
