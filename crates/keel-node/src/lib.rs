//! keel-node: a running VRRP node as a library — what keeld runs, for your
//! own daemon.
//!
//! A [`Node`] holds a set of VRRP instances (keel-election state machines)
//! and everything around them: the receive pipeline with per-reason drop
//! counters, the timer heap and its lateness histogram, advert encoding, the
//! action executor (VIPs, virtual routes, gratuitous ARP / NA), interface and
//! script tracking, notify requests, sync groups and the reload diff.
//!
//! * Input: a typed [`NodeSpec`] you build by hand ([`InstanceSpec`],
//!   [`ScriptSpec`]); with the `conf` feature, [`conf::build`] makes one from a
//!   keepalived.conf parsed by keel-conf.
//! * Sans-IO: [`Node::handle`] takes [`Input`]s at an [`std::time::Instant`];
//!   [`Node::poll_transmit`] hands out adverts, [`Node::poll_run`] scripts to
//!   run, [`Node::poll_event`] [`Event`]s (state changes, drops, lateness,
//!   failures; `Display` is keepalived's wording), [`Node::poll_timeout`]
//!   when to call back. VIPs, routes, announcements and interface facts go
//!   through [`Io`]: [`Io::real`] is the kernel, [`Io::fake`] memory.
//! * Driver (feature `tokio`, default): [`Driver`] runs a node on raw VRRP
//!   sockets, a timerfd, the link watcher and real processes.
//!
//! No process-wide state: several nodes can run in one process.
//!
//! ```
//! use keel_node::{Input, InstanceSpec, Io, Node, NodeSpec};
//! use keel_election::{InstanceConfig, State};
//! use keel_vip::Vip;
//! use std::time::{Duration, Instant};
//!
//! // One instance on interface 2, no peer: it becomes master.
//! let me = "192.0.2.10".parse().unwrap();
//! let vip = Vip::new("192.0.2.250".parse().unwrap(), 2);
//! let spec = InstanceSpec::new("eth0", 2, InstanceConfig::new("VI_1", 51, 100, me))
//!     .with_vip(vip, "eth0");
//! let (io, fake) = Io::fake();
//! let t0 = Instant::now();
//! let mut node = Node::new(NodeSpec::new(vec![spec]), io, t0);
//! node.start(t0);
//! while let Some(when) = node.poll_timeout() {
//!     if when > t0 + Duration::from_secs(4) { break; }
//!     node.handle(when, Input::Timeout);
//! }
//! assert_eq!(node.instances()[0].election().state(), State::Master);
//! assert_eq!(fake.vips(), ["192.0.2.250".parse::<std::net::IpAddr>().unwrap()]);
//! let advert = node.poll_transmit().unwrap();
//! assert_eq!(advert.dst.to_string(), "224.0.0.18");
//! let lines: Vec<String> = std::iter::from_fn(|| node.poll_event()).map(|e| e.to_string()).collect();
//! assert!(lines.contains(&"(VI_1) Entering MASTER STATE".to_string()));
//! ```
#![warn(clippy::print_stdout, clippy::print_stderr)]

#[cfg(feature = "conf")]
pub mod conf;
#[cfg(feature = "tokio")]
mod driver;
mod event;
pub mod io;
#[cfg(feature = "metrics")]
pub mod metrics;
mod node;
pub mod script;
mod spec;
pub mod status;
pub mod sys;

#[cfg(feature = "tokio")]
pub use driver::{Driver, Processes, ScriptFuture, ScriptRunner};
pub use event::{Event, Level};
pub use io::{Announce, FakeIo, Io, Links};
pub use node::{
    Input, InstanceRt, LATE_BOUNDS_US, LATE_THRESHOLD, Node, Run, RxMeta, ScriptRt, SockKey,
    Transmit, cleanup_stale_vips,
};
pub use spec::{
    InstanceSpec, NodeSpec, Notifies, NotifyScript, SCRIPT_TRACK_BASE, ScriptSpec, TrackedIf,
    TrackedScript,
};
pub use status::{InstanceStatus, LateBucket, NodeStatus, ScriptStatus};

pub use keel_election;
pub use keel_vip;
