//! [`Listener`]: multicast events (link and address changes, ...).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use crate::{Error, Protocol, sys};

/// Bytes per received datagram: the kernel's event messages are small
/// (a link with all its attributes is a few KiB).
const RX_BUF: usize = 64 * 1024;

/// A non-blocking netlink socket subscribed to multicast groups, with an fd
/// for an event loop (e.g. tokio's `AsyncFd`).
#[derive(Debug)]
pub struct Listener {
    sock: netlink_sys::Socket,
}

impl Listener {
    /// Subscribe to `groups` (e.g. `RTNLGRP_LINK`, numbered as in
    /// `<linux/rtnetlink.h>`) with a receive buffer of `rcvbuf` bytes
    /// (SO_RCVBUFFORCE, else SO_RCVBUF).
    pub fn open(protocol: Protocol, groups: &[u32], rcvbuf: usize) -> Result<Listener, Error> {
        let mut sock = netlink_sys::Socket::new(protocol.raw())?;
        sock.bind_auto()?;
        for &g in groups {
            sock.add_membership(g)?;
        }
        sock.set_non_blocking(true)?;
        sys::set_rcvbuf(sock.as_raw_fd(), rcvbuf);
        Ok(Listener { sock })
    }

    /// Put the next queued datagram into `buf` (replacing its contents;
    /// split it with [`crate::messages`]) and return `true`, or return
    /// `false` when nothing is queued. Never blocks. [`Error::Overrun`]
    /// (ENOBUFS) means events were lost: read the state again, after
    /// [`Listener::drain`].
    pub fn recv(&mut self, buf: &mut Vec<u8>) -> Result<bool, Error> {
        loop {
            buf.clear();
            buf.reserve(RX_BUF);
            match self.sock.recv(buf, 0) {
                Ok(_) => return Ok(true),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => match crate::socket::recv_error(e, 0) {
                    Some(err) => return Err(err),
                    None => continue,
                },
            }
        }
    }

    /// Discard everything queued (it predates a fresh dump).
    pub fn drain(&mut self) {
        let mut buf = Vec::new();
        loop {
            match self.recv(&mut buf) {
                Ok(true) | Err(Error::Overrun) => continue,
                Ok(false) | Err(_) => return,
            }
        }
    }

    /// The receive buffer the kernel granted, as it reports it (doubled).
    pub fn receive_buffer(&self) -> io::Result<usize> {
        sys::rcvbuf(self.sock.as_raw_fd())
    }
}

impl AsRawFd for Listener {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl AsFd for Listener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}
