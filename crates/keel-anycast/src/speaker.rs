//! The [`Speaker`] trait: what keel asks of a BGP speaker.

use std::future::Future;
use std::net::IpAddr;

use crate::Prefix;

/// One BGP speaker keel drives (GoBGP, BIRD, ExaBGP, or the kernel's
/// routing table for speakers that redistribute it).
///
/// Every method may fail; the [`Driver`](crate::Driver) then counts the
/// session lost, reconnects with backoff, and re-applies every wanted
/// prefix with [`Speaker::announce`]. So `announce` and `withdraw` must be
/// idempotent, and `connect` may be called again after any error.
pub trait Speaker: Send {
    /// Open (or re-open) the session to the speaker.
    fn connect(&mut self) -> impl Future<Output = Result<(), Error>> + Send;

    /// Announce `prefix` (idempotent).
    fn announce(&mut self, prefix: Prefix) -> impl Future<Output = Result<(), Error>> + Send;

    /// Withdraw `prefix` (idempotent: withdrawing an absent prefix is Ok).
    fn withdraw(&mut self, prefix: Prefix) -> impl Future<Output = Result<(), Error>> + Send;

    /// Wait for the next thing the speaker reports by itself: a BGP peer's
    /// state, or the session's end (`Err`). Must be cancel-safe: the
    /// driver drops it to send commands. A speaker with nothing to report
    /// never completes.
    fn watch(&mut self) -> impl Future<Output = Result<SpeakerEvent, Error>> + Send;

    /// Short name for logs (`gobgp`, `bird`, `exabgp`, `kernel`).
    fn kind(&self) -> &'static str;
}

/// What a speaker reports by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpeakerEvent {
    /// A BGP neighbour's session went up (`true`) or down.
    Peer {
        /// The neighbour's address.
        addr: IpAddr,
        /// Established or not.
        up: bool,
    },
}

/// Errors talking to a speaker.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A socket, pipe or file operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The session ended (the speaker closed it or exited).
    #[error("session to the speaker closed")]
    Closed,
    /// No answer in time.
    #[error("{0}: timed out")]
    Timeout(&'static str),
    /// gobgpd could not be reached.
    #[error("gRPC transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// gobgpd refused a call.
    #[error("gobgpd: {0}")]
    Grpc(Box<tonic::Status>),
    /// BIRD answered with an error code.
    #[error("bird: {code} {message}")]
    Bird {
        /// BIRD's reply code (8000-9999 are errors).
        code: u16,
        /// Its text.
        message: String,
    },
    /// The speaker's answer could not be read.
    #[error("unexpected answer from the speaker: {0}")]
    Protocol(String),
    /// ExaBGP refused a command.
    #[error("exabgp refused `{0}`")]
    Refused(String),
    /// The kernel refused the route.
    #[error("kernel route: {0}")]
    Netlink(#[from] keel_vip::Error),
}

impl From<tonic::Status> for Error {
    fn from(s: tonic::Status) -> Error {
        Error::Grpc(Box::new(s))
    }
}

impl Error {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}
