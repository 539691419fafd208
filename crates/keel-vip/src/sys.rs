//! The crate's only `unsafe`: AF_PACKET sockets with `sockaddr_ll`, which
//! socket2 does not offer. (Netlink sockets are keel-netlink's.)
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// A send-only AF_PACKET/SOCK_RAW socket (protocol 0: receives nothing).
pub(crate) fn packet_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2) call with constant arguments; on success we
    // own the returned fd and wrap it immediately.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh, valid descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(test)]
/// An AF_PACKET/SOCK_RAW socket receiving frames of `ethertype` (host order)
/// on `ifindex` only. Used by tests to capture announcements.
pub(crate) fn packet_capture(ifindex: u32, ethertype: u16) -> io::Result<OwnedFd> {
    let proto = libc::c_int::from(ethertype.to_be());
    // SAFETY: socket(2) with constant arguments; the fd is owned at once.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, proto) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh, valid descriptor that nothing else owns.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut sll = sockaddr_ll(ifindex, ethertype, [0; 6])?;
    sll.sll_halen = 0;
    // SAFETY: `sll` is a fully initialised sockaddr_ll and we pass its size.
    let rc = unsafe {
        libc::bind(
            owned.as_raw_fd(),
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(owned)
}

fn sockaddr_ll(ifindex: u32, ethertype: u16, dst: [u8; 6]) -> io::Result<libc::sockaddr_ll> {
    let ifindex =
        libc::c_int::try_from(ifindex).map_err(|_| io::Error::from_raw_os_error(libc::ENODEV))?;
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as libc::c_ushort;
    sll.sll_protocol = ethertype.to_be();
    sll.sll_ifindex = ifindex;
    sll.sll_halen = 6;
    sll.sll_addr[..6].copy_from_slice(&dst);
    Ok(sll)
}

/// Send one complete Ethernet frame on `ifindex`.
pub(crate) fn send_frame(
    fd: &OwnedFd,
    ifindex: u32,
    ethertype: u16,
    frame: &[u8],
) -> io::Result<()> {
    let mut dst = [0u8; 6];
    if let Some(d) = frame.get(..6) {
        dst.copy_from_slice(d);
    }
    let sll = sockaddr_ll(ifindex, ethertype, dst)?;
    // SAFETY: `frame` is a live slice and we pass its length; `sll` is an
    // initialised sockaddr_ll passed with its exact size. sendto only reads both.
    let rc = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            frame.as_ptr().cast(),
            frame.len(),
            0,
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

#[cfg(test)]
/// Receive one frame into `buf`, waiting at most `timeout_ms`.
/// `Ok(None)` on timeout.
pub(crate) fn recv_frame(
    fd: &OwnedFd,
    buf: &mut [u8],
    timeout_ms: i32,
) -> io::Result<Option<usize>> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one live pollfd, count 1.
    let rc = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    if rc == 0 {
        return Ok(None);
    }
    // SAFETY: `buf` is a live mutable slice and we pass its length.
    let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(Some(n as usize))
    }
}
