//! keel-election: the VRRP state machine of RFC 5798 §6 / RFC 3768 with
//! keepalived's semantics, sans-IO.
//!
//! It does no I/O and reads no clock: time comes in with every call as an
//! [`Instant`] (microseconds), packets come in as [`Advert`] values, and
//! everything the router must do comes out as [`Action`]s. Timers are
//! deadlines stored in the instance; [`Instance::poll_timeout`] says when to
//! call back with [`Input::Timeout`].
//!
//! ```
//! use keel_election::{Action, Advert, AdvertAuth, Input, Instance, InstanceConfig, Instant, State, Version};
//! use std::net::IpAddr;
//! use std::time::Duration;
//!
//! let me: IpAddr = "192.0.2.11".parse().unwrap();
//! let vip: IpAddr = "192.0.2.250".parse().unwrap();
//! let mut cfg = InstanceConfig::new("VI_1", 51, 99, me);
//! cfg.vips = vec![vip];
//! let mut vi = Instance::new(cfg);
//!
//! let t0 = Instant::ZERO;
//! vi.handle(t0, Input::Startup);
//! assert_eq!(vi.state(), State::Backup);
//! // Master_Down_Interval = 3 s + Skew_Time(99) = 3.613281 s.
//! assert_eq!(vi.poll_timeout(), Some(t0 + Duration::from_micros(3_613_281)));
//!
//! // The master (priority 100) stops gracefully: priority 0 advert.
//! let master: IpAddr = "192.0.2.10".parse().unwrap();
//! let bye = Advert { version: Version::V2, vrid: 51, priority: 0, adver_int_cs: 100,
//!                    auth: AdvertAuth::None, addrs: vec![vip] };
//! let t1 = t0 + Duration::from_secs(1);
//! vi.handle(t1, Input::Advert { src: master, advert: bye });
//! let when = vi.poll_timeout().unwrap();
//! assert_eq!(when - t1, Duration::from_micros(613_281)); // Skew_Time
//! vi.handle(when, Input::Timeout);
//! assert_eq!(vi.state(), State::Master);
//!
//! let lines: Vec<String> = std::iter::from_fn(|| vi.poll_action())
//!     .filter_map(|a| match a { Action::Log(l) => Some(l.to_string()), _ => None })
//!     .collect();
//! assert_eq!(lines, [
//!     "(VI_1) Entering BACKUP STATE (init)",
//!     "(VI_1) Backup received priority 0 advertisement",
//!     "(VI_1) Receive advertisement timeout",
//!     "(VI_1) Entering MASTER STATE",
//!     "(VI_1) setting VIPs.",
//! ]);
//! ```
//!
//! # Driving contract
//! * Call `handle(now, input)` with non-decreasing `now`.
//! * After every `handle`, drain `poll_action()` until `None`; actions are
//!   in the order they must be performed.
//! * When `now >= poll_timeout()`, call `handle(now, Input::Timeout)`.
//!   Expired deadlines are only acted upon by `Timeout`.
//! * Adverts from our own primary address, for another VRID, or of another
//!   version are ignored (and counted).
//!
//! # Map
//! * [`Instance`]: one VRRP instance; [`Input`] in, [`Action`] out.
//! * [`InstanceConfig`]: what a `vrrp_instance` block says ([`Track`]s with
//!   weights, [`AuthConfig`], unicast peers, garp timers, ...).
//! * [`SyncGroup`]: members that move together (keepalived `vrrp_sync_group`).
//! * [`Counters`]: RFC 6527 / RFC 8347 style statistics; [`RxError`] lets the
//!   driver count codec rejections in the same place.
//! * [`LogEvent`]: `Display` gives keepalived 2.x's log text.
//! * [`timing`]: Skew_Time / Master_Down_Interval (keel-packet's exact µs arithmetic).
//! * `sim` (feature `sim`, off by default so daemons do not link it): a
//!   deterministic virtual LAN used by the tests and the `election` benchmark.
//!
//! # Timings (exact, asserted by `tests/scenarios.rs`; keepalived 2.2.7 measured in brackets)
//! Guide pair 100/99, VRRPv2, advert_int 1 s, zero link delay:
//! * both start: 100 is master after 3 s + Skew_Time(100) = 3.609375 s [first advert 3.638–3.661 s];
//! * 100 stops gracefully: 99 is master 613.281 ms later [616–627 ms];
//! * 100 crashes right after an advert: 99 is master 3.613281 s later; between
//!   adverts correspondingly less [2.642–3.575 s];
//! * 100 returns: it preempts 3.609375 s after its start [3.643–3.668 s];
//! * VRRPv3, advert_int 0.1 s: master-down 361.328 ms, skew 61.328 ms [outage 60–70 ms on stop].
//!
//! # Where keel differs from keepalived on purpose
//! * The second gratuitous burst (`garp_master_delay`) is cancelled when the
//!   instance leaves Master (keepalived lets it fire during a later takeover).
//! * VRRPv3 adverts whose address list differs are logged and counted but
//!   processed (RFC 5798 §7.1); keepalived drops them. v2 drops them unless
//!   sent by the owner (RFC 3768 §7.1, as keepalived).
//! * VRRPv3 interval mismatches are counted on every advert but logged only
//!   when the interval a Backup follows changes.
//! * Sync groups follow keepalived's `vrrp_sync_can_goto_master` ("prefer
//!   backup state to avoid thrashing"). As in keepalived, members whose
//!   priorities disagree across routers (router A should win VRID 51, B VRID 52)
//!   are a misconfiguration: if two such groups time out in exact lockstep
//!   they keep colliding (real timer jitter usually separates them).
//! * Make-before-break handover ([`Input::Handover`], not in keepalived): a
//!   master sends priority 0 but keeps its VIPs until the new master's first
//!   advert (or the longest Master_Down_Interval) and then stays a *held*
//!   backup (no preemption) until [`Input::Resume`] or a restart. The window
//!   in which both routers hold the VIPs is one advert's flight; see
//!   `docs/handover.md` and `tests/handover.rs`.
//! * No `check_unicast_src`: a driver filters adverts by source before
//!   handing them over (keel-node accepts only listed unicast peers).
//! * A Master answers priority-0 and lower-priority adverts (reply advert,
//!   log line) at most once per advertisement interval; the others are
//!   counted (`answers_suppressed`) and, for priority 0, leave the advert
//!   timer alone. keepalived 2.3.3 rate-limits these replies too; before,
//!   each forged advert drew one reply (a reflection amplifier).
#![warn(clippy::print_stdout, clippy::print_stderr)]

mod action;
mod advert;
mod config;
mod counters;
mod instance;
#[cfg(feature = "sim")]
pub mod sim;
mod sync;
mod time;
pub mod timing;

pub use action::{Action, Dest, LogEvent, LogKind, LogLevel, Notify, NotifyState, Reason};
pub use advert::{Advert, AdvertAuth};
pub use config::{AuthConfig, ConfigError, InitialState, InstanceConfig, Track, TrackId, Version};
pub use counters::{Counters, NewMasterReason, RxError};
pub use instance::{Input, Instance, State};
pub use sync::SyncGroup;
pub use sync::{Members as SyncMembers, propagate as propagate_sync};
pub use time::Instant;
