//! An LVS director, keepalived's checker half as a library: health verdicts, VRRP
//! states and local-address events in; the wanted IPVS table and events out.
//!
//! ```
//! use keel_check::{CheckId, CheckKind, Event as CheckEvent, Reason, Transition};
//! use keel_director::{Director, DirectorSpec, RealServerSpec, VirtualServerSpec};
//! use keel_ipvs::{Forward, ServiceKey};
//!
//! // One service, two real servers with a TCP check each.
//! let vip = ServiceKey::tcp("192.0.2.250".parse()?, 80);
//! let tcp = |addr: &str| -> Result<RealServerSpec, std::net::AddrParseError> {
//!     let a = addr.parse()?;
//!     Ok(RealServerSpec::new(a).check(keel_check::RealServerCheck::new(
//!         CheckId(0), a, keel_check::CheckSpec::tcp())))
//! };
//! let vs = VirtualServerSpec::new(vip, Forward::Route)
//!     .real_server(tcp("192.0.2.12:80")?)
//!     .real_server(tcp("192.0.2.13:80")?);
//! let mut d = Director::new();
//! d.configure(&DirectorSpec::new(vec![vs]));
//! assert_eq!(d.desired()[0].dests.len(), 2);
//!
//! // The driver runs d.checks() with keel-check and feeds their events back.
//! let id = d.checks()[0].id;
//! let down = CheckEvent::Transition(Transition {
//!     id, up: false, was_up: true,
//!     reason: Reason { kind: CheckKind::Tcp, server: "[192.0.2.12]:tcp:80".into(),
//!         virtual_server: None, script: None, url: None, error: None, retry: 1, first: false },
//! });
//! let events = d.check_event(&down);
//! assert_eq!(events[1].to_string(),
//!     "Removing service [192.0.2.12]:tcp:80 from VS [192.0.2.250]:tcp:80");
//! assert_eq!(d.desired()[0].dests.len(), 1);
//! # Ok::<(), std::net::AddrParseError>(())
//! ```
//!
//! # Model
//!
//! * [`DirectorSpec`]: [`VirtualServerSpec`]s (one IPVS service, or one per member of a
//!   `virtual_server_group`, sharing real servers checked once) with their
//!   [`RealServerSpec`]s, whose health comes from keel-check checks and/or the embedder
//!   ([`RealServerSpec::external`], [`Director::verdict`]); and a [`SyncDaemonSpec`].
//!   With the `conf` feature, `TryFrom` keel-conf's model.
//! * [`Director`] (pure, no clock, no socket) applies keepalived 2.2.7's rules
//!   (`check/ipwrapper.c`): a real server is in the table while every check is up; with
//!   `inhibit_on_failure` a dead one stays at weight 0; below `quorum` (with
//!   `hysteresis`) the sorry server replaces them; `alpha` starts checks down; `omega`
//!   runs the down scripts at shutdown; `ha_suspend` runs a virtual server's checks only
//!   while one of its addresses is local ([`AddressEvent`]); the sync daemon follows its
//!   VRRP instance. It returns [`Event`]s whose `Display` is keepalived's log line and
//!   the wanted table ([`Director::desired`]), which keel-ipvs's reconcile turns into the
//!   smallest change.
//! * [`DriverHandle::spawn`] runs all that on tokio with keel-check, keel-ipvs (or
//!   [`FakeIpvs`]) and keel-vip's address watch, reporting [`Report`]s. Scripts are the
//!   embedder's to run ([`Event::RunScript`]). No process-wide state: run as many
//!   directors as you like.
//!
//! # Differences from keepalived 2.2.7
//!
//! After a reload that changes a real server's checkers its health restarts from "up"
//! (or "down" with `alpha`); a reload that removes the sync daemon stops it; starting
//! and stopping a sync daemon is reported; a resumed `ha_suspend` check starts afresh.
#![warn(clippy::print_stdout, clippy::print_stderr)]

mod backend;
#[cfg(feature = "conf")]
mod conf;
mod core;
mod driver;
mod event;
#[cfg(feature = "metrics")]
pub mod metrics;
mod owned;
mod spec;
mod status;
mod sync;

pub use backend::{FakeIpvs, FakeTable, IpvsBackend};
#[cfg(feature = "conf")]
pub use conf::{ConfError, Roles, virtual_server};
pub use core::{AddressEvent, Director, Verdict};
pub use driver::{
    AddressSource, DriverError, DriverHandle, DriverOptions, IpvsSource, Level, Report,
    enable_sloppy_tcp,
};
pub use event::{CheckerActivity, Event, ServerAction};
pub use spec::{DirectorSpec, RealServerSpec, Script, SyncDaemonSpec, VirtualServerSpec};
pub use status::{DestCounters, RealServerStatus, VirtualServerStatus, render};

#[cfg(test)]
mod tests;
