//! The one system call netlink-sys does not wrap: `recvmmsg(2)`.
//!
//! Listing destinations needs one dump per service, and every dump answers
//! with two datagrams (the entries, then NLMSG_DONE, which the kernel queues
//! while the first is being read). Receiving both with one `recvmmsg` call
//! instead of two `recv` calls saves a third of the system calls of a listing.
#![allow(unsafe_code)]

use std::os::fd::RawFd;

/// Datagrams received per call, at most.
pub(crate) const MAX_MSGS: usize = 4;

/// Receive up to [`MAX_MSGS`] datagrams into `bufs` (each a zero-initialised
/// buffer; its length is its capacity here). Waits for the first datagram
/// only (`MSG_WAITFORONE`). Returns how many arrived, and their lengths in
/// `lens`; a datagram larger than its buffer is an `InvalidData` error.
pub(crate) fn recv_many(
    fd: RawFd,
    bufs: &mut [Vec<u8>; MAX_MSGS],
    lens: &mut [usize; MAX_MSGS],
) -> std::io::Result<usize> {
    let mut iov: [libc::iovec; MAX_MSGS] = std::array::from_fn(|_| libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    });
    for (v, b) in iov.iter_mut().zip(bufs.iter_mut()) {
        v.iov_base = b.as_mut_ptr().cast();
        v.iov_len = b.len();
    }
    // SAFETY: mmsghdr is a plain C struct of integers and pointers, for which
    // all-zero bytes are a valid value (null pointers, zero lengths).
    let mut msgs: [libc::mmsghdr; MAX_MSGS] = unsafe { std::mem::zeroed() };
    for (m, v) in msgs.iter_mut().zip(iov.iter_mut()) {
        m.msg_hdr.msg_iov = v;
        m.msg_hdr.msg_iovlen = 1;
    }
    // SAFETY: `msgs` holds MAX_MSGS valid headers, each pointing at one iovec
    // that describes a live, writable buffer of `iov_len` bytes (`bufs`,
    // borrowed mutably for the whole call); no name or control buffers; a
    // null timeout is allowed. The kernel writes at most iov_len bytes.
    let n = unsafe {
        libc::recvmmsg(
            fd,
            msgs.as_mut_ptr(),
            MAX_MSGS as libc::c_uint,
            libc::MSG_WAITFORONE,
            std::ptr::null_mut(),
        )
    };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let n = (n as usize).min(MAX_MSGS);
    for i in 0..n {
        if msgs[i].msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "netlink datagram larger than the receive buffer",
            ));
        }
        lens[i] = (msgs[i].msg_len as usize).min(bufs[i].len());
    }
    Ok(n)
}
