//! The crate's only `unsafe`: `kill(2)` and `setns(2)`, which std lacks.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::AsRawFd;

/// Send signal `sig` to process `pid`.
pub(crate) fn kill(pid: i32, sig: i32) -> io::Result<()> {
    // SAFETY: kill(2) has no memory-safety preconditions.
    let rc = unsafe { libc::kill(pid, sig) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Move the calling thread into the network namespace `ns` refers to.
pub(crate) fn setns_net(ns: &impl AsRawFd) -> io::Result<()> {
    // SAFETY: setns takes an open namespace fd (kept alive by the borrow of
    // `ns` for the call) and only changes this thread's network namespace.
    let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
