//! keepalived-compatible health checkers on tokio: TCP_CHECK, HTTP_GET, SSL_GET (rustls),
//! MISC_CHECK, DNS_CHECK (hickory-proto messages), SMTP_CHECK, UDP_CHECK, PING_CHECK
//! (ICMP / ICMPv6 echo) and FILE_CHECK, with keepalived's `retry` /
//! `delay_before_retry` / `delay_loop` / `warmup` / `alpha` rules. It reports
//! transitions and never touches IPVS, so any daemon can embed it. With the `conf`
//! feature, `keel_check::conf` builds [`CheckSpec`]s from keel-conf's model.
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
//! * [`Checker`] runs one tokio task per check (all TCP_CHECKs share one task with an
//!   epoll instance of its own, see [`CheckerOptions::tcp_task_per_check`]) and sends
//!   [`Event`]s through a tokio mpsc channel: [`Transition`] (up/down, with a [`Reason`] whose `Display` is keepalived
//!   2.2.7's log line) and, for `misc_dynamic`, [`WeightChange`].
//! * Rules (keepalived 2.2.7): a check starts up (down with `alpha`); its first verdict
//!   is decided by one attempt and always reported; afterwards an up check goes down
//!   only after `retry + 1` consecutive failed attempts spaced by `delay_before_retry`,
//!   and a down check comes up after one success. Only changes are reported after the
//!   first verdict.
//! * A real server with several checkers is alive when all of them are up, and a
//!   `misc_dynamic` weight replaces the configured weight and a FILE_CHECK's offset
//!   ([`Event::Offset`]) adds to it: [`RealServerHealth`] does that bookkeeping for a
//!   director. IPVS is the caller's job.
//! * [`Reason::log_line`] is keepalived's line for a transition, `None` where keepalived
//!   logs none (a DNS_CHECK coming up, FILE_CHECK).
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
//!   URL per `delay_loop` while up); an attempt fails at the first failing URL, so
//!   `fast_recovery` changes nothing. `regex` uses the `regex` crate (no look-around or
//!   back-references) on the first MiB of the body (PCRE2 matches the whole stream).
//! * An HTTP_GET/SSL_GET coming back up: keepalived 2.2.7 first logs
//!   `HTTP status code success to <server> url(<path>)` (or `MD5 digest` / `Regex match`)
//!   for each URL that passed while down; keel logs only the
//!   `Remote Web server <server> succeed on service.` line that follows them.
//! * DNS_CHECK parses the whole reply (hickory-proto): a reply with our id that does not
//!   parse fails; keepalived looks at the header only.
//! * SMTP_CHECK accepts multi-line (`220-...`) replies, which keepalived 2.2.7 rejects.
//! * PING_CHECK uses a datagram ICMP socket when `net.ipv4.ping_group_range` allows it,
//!   else a raw one (CAP_NET_RAW); keepalived widens `ping_group_range` itself.
//! * FILE_CHECK polls the file ([`FileSpec::poll`], 1 s) where keepalived uses inotify;
//!   it logs nothing of its own, like keepalived.
//! * While a check is down its failures are not retried (newer keepalived; 2.2.7 still
//!   spaces them by `delay_before_retry` for TCP_CHECK). Transitions are the same.
//! * SSL_GET verifies certificates only when asked ([`TlsVerify::CaPem`]); SNI is
//!   [`TlsSni`].
//! * MISC_CHECK runs through [`keel_script`] (the runner keeld's vrrp_script and notify
//!   scripts use): a clean environment, its own process group killed as a whole on
//!   timeout, `user` as a resolved [`keel_script::User`] ([`MiscSpec::user`]).
//! * Not supported: `bind_if`, `fwmark`, client certificates for SSL_GET, BFD_CHECK.
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

#[cfg(feature = "conf")]
pub mod conf;
mod dgram;
mod event;
mod file;
mod health;
mod probe;
mod runner;
mod smtp;
mod spec;
pub mod state;
mod sys;
mod tcpset;

pub use event::{Event, ProbeError, Reason, SmtpFailure, Transition, WeightChange, WeightOffset};
pub use health::RealServerHealth;
pub use runner::{Checker, CheckerOptions, SyncSummary};
pub use spec::{
    BodyRegex, CheckId, CheckKind, CheckSpec, ConnectOpts, DnsSpec, DnsType, FileSpec, HexPattern,
    HttpProtocol, HttpSpec, Md5Digest, MiscSpec, Proto, RealServerCheck, SmtpSpec, StatusCodes,
    TlsSni, TlsSpec, TlsVerify, UdpSpec, UrlSpec,
};

/// Errors of the configuration and runner API (check attempts fail with [`ProbeError`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
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
    /// A `regex` that does not compile.
    #[error("invalid regex {0:?}")]
    InvalidRegex(String),
    /// A `payload` / `require_reply` that is not keepalived's hex syntax.
    #[error("invalid hex string {0:?}")]
    InvalidHex(String),
    /// A DNS_CHECK `name` with an empty label or invalid characters.
    #[error("invalid DNS name {0:?}")]
    InvalidDnsName(String),
    /// FILE_CHECK names a `track_file` that is not defined.
    #[error("track_file {0} not found")]
    UnknownTrackFile(String),
    /// The CA certificates for TLS verification do not parse.
    #[error("invalid CA certificate PEM")]
    InvalidCa,
    /// rustls rejected the client configuration.
    #[error("TLS configuration error")]
    Tls,
    /// MISC_CHECK `user` (or its group) does not exist on this host.
    #[error("{0}")]
    ScriptUser(keel_script::UserError),
}
