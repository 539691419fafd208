//! The crate's only `unsafe`: system calls netlink-sys does not wrap —
//! `recvmmsg(2)` and a few socket options.
//!
//! Listing IPVS destinations needs one dump per service, and every dump
//! answers with two datagrams (the entries, then NLMSG_DONE, which the kernel
//! queues while the first is being read). Receiving both with one `recvmmsg`
//! call instead of two `recv` calls saves a third of the system calls of a
//! listing (measured by keel-ipvs's `ipvs_bench`).
#![allow(unsafe_code)]

use std::io;
use std::os::fd::RawFd;

/// Datagrams received per call, at most.
pub(crate) const MAX_MSGS: usize = 4;

/// Receive up to [`MAX_MSGS`] datagrams into `bufs` (each a zero-initialised
/// buffer; its length is its capacity here). Waits for the first datagram
/// only (`MSG_WAITFORONE`), or not at all with `nonblock` (`MSG_DONTWAIT`). Returns how many arrived, and their lengths in
/// `lens`; a datagram larger than its buffer is an `InvalidData` error.
pub(crate) fn recv_many(
    fd: RawFd,
    bufs: &mut [Vec<u8>; MAX_MSGS],
    lens: &mut [usize; MAX_MSGS],
    nonblock: bool,
) -> io::Result<usize> {
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
    // (`iov`, alive until the function returns) that describes a live,
    // writable buffer of `iov_len` bytes (`bufs`, borrowed mutably for the
    // whole call); no name or control buffers; a null timeout is allowed.
    // The kernel writes at most iov_len bytes into each buffer.
    let n = unsafe {
        libc::recvmmsg(
            fd,
            msgs.as_mut_ptr(),
            MAX_MSGS as libc::c_uint,
            if nonblock {
                libc::MSG_DONTWAIT
            } else {
                libc::MSG_WAITFORONE
            },
            std::ptr::null_mut(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = (n as usize).min(MAX_MSGS);
    for i in 0..n {
        if msgs[i].msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "netlink datagram larger than the receive buffer",
            ));
        }
        lens[i] = (msgs[i].msg_len as usize).min(bufs[i].len());
    }
    Ok(n)
}

fn setsockopt<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` is a live, initialised T borrowed for the call and we
    // pass its exact size; setsockopt only reads it. A bad fd yields EBADF.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Make blocking receives give up after `secs` seconds (EAGAIN).
pub(crate) fn set_recv_timeout(fd: RawFd, secs: u64) -> io::Result<()> {
    let tv = libc::timeval {
        tv_sec: libc::time_t::try_from(secs).unwrap_or(libc::time_t::MAX),
        tv_usec: 0,
    };
    setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVTIMEO, &tv)
}

/// Ask for a receive buffer of `bytes`: SO_RCVBUFFORCE (CAP_NET_ADMIN may
/// exceed `net.core.rmem_max`), else SO_RCVBUF (capped by rmem_max). Best
/// effort: the size the kernel granted is what [`rcvbuf`] reports.
pub(crate) fn set_rcvbuf(fd: RawFd, bytes: usize) {
    let v = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    if setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &v).is_err() {
        let _ = setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, &v);
    }
}

/// The socket's receive buffer size as the kernel reports it (twice what
/// was granted: the kernel counts its bookkeeping too).
pub(crate) fn rcvbuf(fd: RawFd) -> io::Result<usize> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `v` and `len` are live locals; the kernel writes at most `len`
    // bytes into `v` and updates `len`.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc == 0 {
        Ok(usize::try_from(v).unwrap_or(0))
    } else {
        Err(io::Error::last_os_error())
    }
}
