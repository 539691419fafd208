//! keel-netlink: the one netlink transport of keel's kernel crates
//! (keel-vip over rtnetlink, keel-ipvs over generic netlink).
//!
//! It moves bytes, not meanings: the caller encodes each request (one
//! complete netlink message) and decodes each answer; this crate numbers
//! the requests, packs many into one `send(2)`, receives several datagrams
//! per `recvmmsg(2)`, matches ACKs and errors to requests by sequence
//! number, reassembles multi-part dumps (redoing interrupted ones), and
//! turns a receive-buffer overrun (ENOBUFS) into [`Error::Overrun`].
//!
//! Listing the interfaces of the current network namespace (no privilege
//! needed):
//!
//! ```
//! use keel_netlink::{Protocol, Socket, msg};
//!
//! const RTM_NEWLINK: u16 = 16;
//! const RTM_GETLINK: u16 = 18;
//! let mut sock = Socket::open(Protocol::Route)?;
//! let links = sock.dump(
//!     |buf| {
//!         let start = msg::begin(buf, RTM_GETLINK, 0, 0);
//!         buf.extend_from_slice(&[0u8; 16]); // struct ifinfomsg, any family
//!         msg::finish(buf, start);
//!     },
//!     // Each answer message, whole; keep the interface index.
//!     |m| {
//!         assert_eq!(m.kind, RTM_NEWLINK);
//!         let p = m.payload();
//!         Ok::<_, keel_netlink::Error>(i32::from_ne_bytes([p[4], p[5], p[6], p[7]]))
//!     },
//! )?;
//! let links = links.expect("the kernel refused the dump");
//! assert!(links.contains(&1), "lo is interface 1 in every namespace");
//! # Ok::<(), keel_netlink::Error>(())
//! ```
//!
//! # Errors and idempotency
//! A refused request is an [`Errno`] (positive), never a transport
//! [`Error`]: [`Socket::request`] and [`Socket::dump`] return
//! `Ok(Err(errno))`, [`Socket::batch`] lists [`Failure`]s. keel-vip and
//! keel-ipvs report both through their own error types, with this
//! [`Errno`], and follow one convention for single-object adds and deletes:
//! adding what is already there is `Ok(`[`Outcome::AlreadyPresent`]`)`,
//! deleting what is already gone is `Ok(`[`Outcome::AlreadyAbsent`]`)`,
//! anything else the kernel refuses is an error carrying the errno.
//!
//! The crate's `unsafe` code (`recvmmsg` and socket options) is in its
//! `sys` module.
#![warn(missing_docs, clippy::print_stdout, clippy::print_stderr)]

mod error;
mod listener;
pub mod msg;
mod socket;
mod sys;

pub use error::{Errno, Error, Outcome};
pub use listener::Listener;
pub use msg::{Msg, messages};
pub use socket::{BATCH_BYTES, Config, Counters, DEFAULT_BATCH, DUMP_ATTEMPTS, Failure, Socket};

/// A netlink protocol family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// NETLINK_ROUTE: links, addresses, routes (rtnetlink).
    Route,
    /// NETLINK_GENERIC: families such as IPVS.
    Generic,
}

impl Protocol {
    fn raw(self) -> isize {
        match self {
            Protocol::Route => netlink_sys::protocols::NETLINK_ROUTE,
            Protocol::Generic => netlink_sys::protocols::NETLINK_GENERIC,
        }
    }
}

#[cfg(test)]
mod tests;
