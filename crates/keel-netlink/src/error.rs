//! The error types shared by keel's netlink crates.
use std::fmt;
use std::io;

/// A kernel error number, positive (`Errno::EEXIST` = 17).
///
/// keel-vip and keel-ipvs report what the kernel refused with this type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Errno(pub i32);

impl Errno {
    /// EPERM: the caller lacks CAP_NET_ADMIN.
    pub const EPERM: Errno = Errno(libc::EPERM);
    /// ENOENT: no such object (IPVS: destination, scheduler or family).
    pub const ENOENT: Errno = Errno(libc::ENOENT);
    /// ESRCH: no such object (IPVS: service; rtnetlink: route).
    pub const ESRCH: Errno = Errno(libc::ESRCH);
    /// EBUSY: in use (IPVS: a sync daemon already runs).
    pub const EBUSY: Errno = Errno(libc::EBUSY);
    /// EEXIST: the object already exists.
    pub const EEXIST: Errno = Errno(libc::EEXIST);
    /// ENODEV: no such interface.
    pub const ENODEV: Errno = Errno(libc::ENODEV);
    /// EINVAL: the kernel rejected a value.
    pub const EINVAL: Errno = Errno(libc::EINVAL);
    /// ENOBUFS: a socket's receive buffer overflowed.
    pub const ENOBUFS: Errno = Errno(libc::ENOBUFS);
    /// EADDRNOTAVAIL: no such address (rtnetlink address delete).
    pub const EADDRNOTAVAIL: Errno = Errno(libc::EADDRNOTAVAIL);

    /// The number.
    pub fn raw(self) -> i32 {
        self.0
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", io::Error::from_raw_os_error(self.0))
    }
}

impl From<Errno> for io::Error {
    fn from(e: Errno) -> io::Error {
        io::Error::from_raw_os_error(e.0)
    }
}

/// What an idempotent add or delete did. The convention of keel's kernel
/// crates: adding what is already there and deleting what is already gone
/// succeed, saying so; every other refusal is an error carrying an [`Errno`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// The change was made.
    Done,
    /// An add found the object already there (the kernel said EEXIST).
    AlreadyPresent,
    /// A delete found the object already gone (EADDRNOTAVAIL, ESRCH, ENOENT:
    /// whichever the kernel uses for that object).
    AlreadyAbsent,
}

impl Outcome {
    /// The outcome of an add the kernel answered with `errno` (0 = success):
    /// `Ok(Done)`, `Ok(AlreadyPresent)` for EEXIST, else `Err(errno)`.
    pub fn of_add(errno: i32) -> Result<Outcome, Errno> {
        match errno {
            0 => Ok(Outcome::Done),
            libc::EEXIST => Ok(Outcome::AlreadyPresent),
            e => Err(Errno(e)),
        }
    }

    /// The outcome of a delete the kernel answered with `errno` (0 =
    /// success); `absent` is the errno meaning "no such object" for it.
    pub fn of_delete(errno: i32, absent: Errno) -> Result<Outcome, Errno> {
        match errno {
            0 => Ok(Outcome::Done),
            e if e == absent.0 => Ok(Outcome::AlreadyAbsent),
            e => Err(Errno(e)),
        }
    }
}

/// Transport failures: the socket, not a refused request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Opening, sending on or receiving from the socket failed.
    #[error("netlink socket: {0}")]
    Io(#[from] io::Error),
    /// The kernel dropped replies or events (receive buffer overrun,
    /// ENOBUFS): the outcome of what was sent is unknown.
    #[error("netlink receive buffer overrun: replies were lost")]
    Overrun,
    /// No answer within the socket's receive timeout.
    #[error("no netlink answer within {0} s")]
    Timeout(u64),
    /// A datagram larger than the receive buffer, or a message whose
    /// length field runs past its datagram.
    #[error("truncated netlink message")]
    Truncated,
    /// A dump kept being interrupted by concurrent changes (NLM_F_DUMP_INTR).
    #[error("netlink dump interrupted by concurrent changes {0} times")]
    Interrupted(u32),
}
