//! keel-anycast: announce a VIP prefix over BGP while it is healthy, and
//! withdraw it otherwise, through a BGP speaker the site already runs:
//! GoBGP ([`GoBgp`], gRPC), BIRD 2 ([`Bird`], control socket), ExaBGP
//! ([`ExaBgp`], API process) or the kernel's routing table ([`Kernel`]) for
//! speakers that redistribute it. keel does not speak BGP itself.
//!
//! ```no_run
//! use std::time::{Duration, Instant};
//! use keel_anycast::{Announcer, Decision, Driver, GoBgp, Policy, Prefix};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let vip: Prefix = "203.0.113.10/32".parse()?;
//! // The speaker's session, watched and retried with backoff by the driver.
//! let (driver, handle, mut events) = Driver::new(GoBgp::new("127.0.0.1:50051"));
//! tokio::spawn(driver.run());
//! // The health policy: at least 2 real servers, 3 s of grace before withdrawing.
//! let mut policy = Announcer::new(Policy::new(2).with_withdraw_delay(Duration::from_secs(3)));
//! policy.set_healthy(3);
//! match policy.poll(Instant::now()) {
//!     Some(Decision::Announce) => handle.announce(vip),
//!     Some(Decision::Withdraw(_)) => handle.withdraw(vip),
//!     _ => {}
//! }
//! while let Some(ev) = events.recv().await {
//!     println!("{ev:?}");
//! }
//! # Ok(()) }
//! ```
//!
//! # Design: a sans-IO policy, an async speaker, one driver
//!
//! - [`Announcer`] (the health policy: threshold of healthy real servers,
//!   withdraw delay, maintenance, optional VRRP gate) and [`Backoff`] are
//!   sans-IO: they take `now` and return decisions and deadlines, so every
//!   rule is tested without a clock, a socket or root.
//! - [`Speaker`] is an async trait (native `async fn`, no boxing): every
//!   backend is a conversation over a socket or pipe (gRPC, BIRD's control
//!   socket, ExaBGP's API pipes, netlink) whose replies must be awaited in
//!   order, so a sans-IO encoding of each would only move the same
//!   request/reply loop into the caller. Its contract is small: `connect`,
//!   idempotent `announce`/`withdraw`, and a cancel-safe `watch` that
//!   reports peer changes and the session's end.
//! - [`Driver`] is the only loop: it keeps the speaker's routes equal to
//!   the wanted set, bounds every operation by a timeout, counts a session
//!   lost on any error, reports it as an [`Event`], reconnects with
//!   [`Backoff`] and then re-announces everything (a restarted speaker has
//!   forgotten it). [`AnySpeaker`] picks a backend at run time.
//!
//! Events are data; the crate prints nothing and never panics.

mod bird;
#[cfg(feature = "conf")]
mod conf;
mod driver;
mod exabgp;
mod gobgp;
mod kernel;
mod policy;
mod prefix;
mod speaker;

/// The GoBGP API types and client, generated at build time from the
/// vendored proto files (GoBGP 3.10.0, package `apipb`).
#[allow(missing_docs, missing_debug_implementations, rust_2018_idioms)]
#[allow(clippy::all, clippy::pedantic)]
pub mod api {
    tonic::include_proto!("apipb");
}

pub use bird::Bird;
pub use driver::{Driver, Event, Handle, Status};
pub use exabgp::ExaBgp;
pub use gobgp::GoBgp;
pub use kernel::Kernel;
pub use policy::{Announcer, Backoff, Decision, Policy, WithdrawReason};
pub use prefix::{Prefix, PrefixError};
pub use speaker::{Error, Speaker, SpeakerEvent};

/// One of the backends, chosen at run time (from configuration).
#[derive(Debug)]
#[non_exhaustive]
pub enum AnySpeaker {
    /// gobgpd's gRPC API.
    GoBgp(Box<GoBgp>),
    /// BIRD 2's control socket.
    Bird(Bird),
    /// An ExaBGP API process.
    ExaBgp(ExaBgp),
    /// A kernel routing table.
    Kernel(Kernel),
}

macro_rules! each {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            AnySpeaker::GoBgp($s) => $e,
            AnySpeaker::Bird($s) => $e,
            AnySpeaker::ExaBgp($s) => $e,
            AnySpeaker::Kernel($s) => $e,
        }
    };
}

impl Speaker for AnySpeaker {
    async fn connect(&mut self) -> Result<(), Error> {
        each!(self, s => s.connect().await)
    }
    async fn announce(&mut self, prefix: Prefix) -> Result<(), Error> {
        each!(self, s => s.announce(prefix).await)
    }
    async fn withdraw(&mut self, prefix: Prefix) -> Result<(), Error> {
        each!(self, s => s.withdraw(prefix).await)
    }
    async fn watch(&mut self) -> Result<SpeakerEvent, Error> {
        each!(self, s => s.watch().await)
    }
    fn kind(&self) -> &'static str {
        each!(self, s => s.kind())
    }
}
