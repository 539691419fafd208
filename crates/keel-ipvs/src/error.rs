//! Errors of keel-ipvs: small, matchable, never stringly.
use crate::wire::{DecodeError, Op};
use keel_netlink::Errno;
use std::fmt;

/// Which kind of request failed (for requests that are not [`Op`]s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// Resolving the "IPVS" generic netlink family.
    ResolveFamily,
    /// Getting one service.
    GetService,
    /// Listing services.
    GetServices,
    /// Listing a service's destinations.
    GetDests,
    /// Starting a sync daemon.
    StartDaemon,
    /// Stopping a sync daemon.
    StopDaemon,
    /// Listing sync daemons.
    GetDaemons,
    /// Setting timeouts.
    SetTimeouts,
    /// Getting timeouts.
    GetTimeouts,
    /// Getting version information.
    GetInfo,
    /// Zeroing counters.
    Zero,
    /// Flushing every service.
    Flush,
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Command::ResolveFamily => "resolve the IPVS netlink family",
            Command::GetService => "get service",
            Command::GetServices => "list services",
            Command::GetDests => "list destinations",
            Command::StartDaemon => "start sync daemon",
            Command::StopDaemon => "stop sync daemon",
            Command::GetDaemons => "list sync daemons",
            Command::SetTimeouts => "set timeouts",
            Command::GetTimeouts => "get timeouts",
            Command::GetInfo => "get info",
            Command::Zero => "zero counters",
            Command::Flush => "flush",
        })
    }
}

/// One failed write operation of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpError {
    /// Position of the operation in the submitted slice.
    pub index: usize,
    /// The operation (names its object).
    pub op: Op,
    /// What the kernel said.
    pub errno: Errno,
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.op, self.errno)
    }
}

/// Errors of keel-ipvs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kernel has no "IPVS" generic netlink family.
    #[error("IPVS is not available: load the ip_vs module")]
    Unavailable,
    /// The netlink transport failed (socket, send, receive, a receive
    /// buffer overrun: [`keel_netlink::Error::Overrun`]); state is unknown.
    #[error(transparent)]
    Netlink(#[from] keel_netlink::Error),
    /// A single write operation failed.
    #[error("{0}")]
    Op(Box<OpError>),
    /// Some operations of a batch failed (all of them are listed).
    #[error("{} operation(s) failed, first: {}", .0.len(), .0.first().map(|e| e.to_string()).unwrap_or_default())]
    Batch(Vec<OpError>),
    /// A non-write request failed.
    #[error("{command}: {errno}")]
    Request {
        /// Which request.
        command: Command,
        /// What the kernel said.
        errno: Errno,
    },
    /// The kernel's reply could not be decoded.
    #[error("malformed reply: {0}")]
    Decode(#[from] DecodeError),
}

impl Error {
    /// The kernel errno behind this error, if it came from the kernel
    /// (the first failure of a batch).
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Op(e) => Some(e.errno),
            Error::Batch(v) => v.first().map(|e| e.errno),
            Error::Request { errno, .. } => Some(*errno),
            _ => None,
        }
    }
}
