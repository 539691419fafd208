//! The crate's only `unsafe`: registering the TCP_CHECKs' epoll instance with tokio's
//! reactor (tokio 1.54 made `AsyncFd` registration `unsafe`: it cannot check on its own
//! that the descriptor stays open and the same).
#![allow(unsafe_code)]

use std::io;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// `poll`'s epoll descriptor, registered for readability with the current runtime.
/// Must be called within a tokio runtime.
pub(crate) fn register_poll(poll: mio::Poll) -> io::Result<AsyncFd<mio::Poll>> {
    // SAFETY: the `AsyncFd` takes ownership of the `mio::Poll`, which owns its epoll
    // descriptor: it stays open until the `AsyncFd` (and with it the `Poll`) is dropped,
    // and `as_raw_fd` always returns that same descriptor. keel-check only calls
    // `get_ref` / `get_inner_mut` on it to reach `Poll::registry` and `Poll::poll`, which
    // never replace the descriptor.
    unsafe { AsyncFd::register_with_interest(poll, Interest::READABLE) }.map_err(io::Error::from)
}
