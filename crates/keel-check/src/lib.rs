//! keepalived-compatible health checkers on tokio: TCP_CHECK, HTTP_GET, SSL_GET (rustls)
//! and MISC_CHECK, with keepalived's `retry` / `delay_before_retry` / `delay_loop` /
//! `warmup` / `alpha` rules. It reports transitions and never touches IPVS, so any
//! daemon can embed it.
//!
//! ```
//! use std::time::Duration;
//! use keel_check::{CheckId, CheckSpec, Checker, CheckerOptions, Event, RealServerCheck};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A real server: a listener on 127.0.0.1.
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let target = listener.local_addr()?;
//! tokio::spawn(async move { while let Ok(_conn) = listener.accept().await {} });
//!
//! let (tx, mut rx) = tokio::sync::mpsc::channel(64);
//! let options = CheckerOptions { seed: Some(1), bootstrap_delay: Duration::ZERO, ..Default::default() };
//! let mut checker = Checker::new(tx, options);
//! let mut check = RealServerCheck::new(CheckId(7), target, CheckSpec::tcp());
//! check.delay_loop = Duration::from_secs(1);
//! check.warmup = Some(Duration::ZERO);
//! checker.add(check)?;
//!
//! // The first verdict is always reported.
//! let Some(Event::Transition(t)) = rx.recv().await else { panic!("no event") };
//! assert_eq!((t.id, t.up), (CheckId(7), true));
//! assert_eq!(t.to_string(), format!("TCP connection to [127.0.0.1]:tcp:{} success.", target.port()));
//! checker.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Model
//!
//! * A [`RealServerCheck`] is one checker block of one real server, with its options
//!   already resolved (keepalived's inheritance virtual server → real server → checker
//!   is the caller's job). `None` options take keepalived's per-checker defaults.
//! * [`Checker`] runs one tokio task per check and sends [`Event`]s through a tokio mpsc
//!   channel: [`Transition`] (up/down, with a [`Reason`] whose `Display` is keepalived
//!   2.2.7's log line) and, for `misc_dynamic`, [`WeightChange`].
//! * Rules (keepalived 2.2.7): a check starts up (down with `alpha`); its first verdict
//!   is decided by one attempt and always reported; afterwards an up check goes down
//!   only after `retry + 1` consecutive failed attempts spaced by `delay_before_retry`,
//!   and a down check comes up after one success. Only changes are reported after the
//!   first verdict.
//! * A real server with several checkers is alive when all of them are up, and a
//!   `misc_dynamic` weight replaces the configured weight: [`RealServerHealth`] does
//!   that bookkeeping for a director. IPVS is the caller's job.
//! * `log_all_failures` adds [`Event::AttemptFailed`] for each retried failure.
//!
//! # Timing
//!
//! The first attempt of a check runs `bootstrap_delay` (1 s, as keepalived) plus a random
//! part of `warmup` after [`Checker::add`] (the PRNG is seeded by
//! [`CheckerOptions::seed`]). The next attempt is `delay_loop` (or `delay_before_retry`
//! while retrying) after the end of an attempt for TCP/HTTP/SSL, and after its start for
//! MISC_CHECK, as keepalived does. `connect_timeout` bounds the connect, the TLS handshake
//! and the HTTP exchange each; `misc_timeout` the script.
//!
//! # Differences from keepalived 2.2.7
//!
//! * HTTP_GET/SSL_GET check every `url` in order on each attempt (keepalived checks one
//!   URL per `delay_loop` while up); an attempt fails at the first failing URL. No
//!   `regex`, no `fast_recovery`.
//! * While a check is down its failures are not retried (newer keepalived; 2.2.7 still
//!   spaces them by `delay_before_retry` for TCP_CHECK). Transitions are the same.
//! * SSL_GET verifies certificates only when asked ([`TlsVerify::CaPem`]); SNI is
//!   [`TlsSni`].
//! * MISC_CHECK runs through [`keel_script`] (the runner keeld's vrrp_script and notify
//!   scripts use): a clean environment, its own process group killed as a whole on
//!   timeout, `user` as a resolved [`keel_script::User`] ([`MiscSpec::user`]).
//! * Not supported: `bind_if`, `fwmark`, client certificates for SSL_GET, SMTP/DNS/UDP/
//!   PING/FILE/BFD checkers.
//!
//! # Embedding (a director)
//!
//! 1. Map every checker block of every real server to a [`RealServerCheck`] with a
//!    unique [`CheckId`], and keep `CheckId → real server` plus one
//!    [`RealServerHealth`] per real server.
//! 2. [`Checker::sync`] with the full list at start and on every reload: unchanged checks
//!    keep running with their state.
//! 3. For each received [`Event`]: log `Transition`'s `Display` (keepalived's text; with
//!    `log_all_failures` also [`Reason::attempt_line`]), feed it to the real server's
//!    `RealServerHealth::handle`, and program IPVS when `(alive, weight)` changed.
//!
//! # Cost
//!
//! `cargo xtask bench check` (benches/benches/check.rs): 5,000 real servers with
//! TCP_CHECK every second against local listeners in a namespace, keel-check, keeld and
//! keepalived 2.2.7's checker interleaved in the same run. Each check is a full loopback
//! TCP handshake and close, and the kernel's share of that (charged to the connecting
//! process) is 90–95 % of either checker's CPU. Measured (5 rounds, shared 2-core
//! machine): `keeld -C` 263 ms of CPU per second, keepalived's checker 249 (ratio per
//! round 0.96–1.23, median 1.07; per check 1.00); closing with RST
//! ([`CheckerOptions::tcp_reset_on_close`]) saves a few percent at most. User space:
//! keel ~5–6 µs per check, keepalived ~2. Details in docs/check-bench.md.
#![warn(clippy::print_stdout, clippy::print_stderr)]

mod event;
mod health;
mod probe;
mod runner;
mod spec;
pub mod state;

pub use event::{Event, ProbeError, Reason, Transition, WeightChange};
pub use health::RealServerHealth;
pub use runner::{Checker, CheckerOptions, SyncSummary};
pub use spec::{
    CheckId, CheckKind, CheckSpec, ConnectOpts, HttpProtocol, HttpSpec, Md5Digest, MiscSpec, Proto,
    RealServerCheck, StatusCodes, TlsSni, TlsSpec, TlsVerify, UrlSpec,
};

/// Errors of the configuration and runner API (check attempts fail with [`ProbeError`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A check with this id already runs.
    #[error("check {0} already exists")]
    DuplicateId(CheckId),
    /// Not called from within a tokio runtime.
    #[error("no tokio runtime")]
    NoRuntime,
    /// `delay_loop` is zero.
    #[error("check {0}: delay_loop must be positive")]
    ZeroDelayLoop(CheckId),
    /// HTTP_GET / SSL_GET without any `url`.
    #[error("check {0}: HTTP check without url")]
    NoUrl(CheckId),
    /// MISC_CHECK with an empty `misc_path`.
    #[error("check {0}: empty misc_path")]
    EmptyMiscPath(CheckId),
    /// A `status_code` list that does not parse.
    #[error("invalid status_code {0:?}")]
    InvalidStatusCode(String),
    /// A `digest` that is not 32 hex digits.
    #[error("invalid digest {0:?}")]
    InvalidDigest(String),
    /// The CA certificates for TLS verification do not parse.
    #[error("invalid CA certificate PEM")]
    InvalidCa,
    /// rustls rejected the client configuration.
    #[error("TLS configuration error")]
    Tls,
}
