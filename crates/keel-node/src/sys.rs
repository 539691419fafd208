//! Raw VRRP sockets (IP protocol 112) and the few libc calls socket2 lacks.
//!
//! One [`VrrpSocket`] per (interface, address family). IPv4 raw sockets
//! deliver the IP header, which we parse for TTL, source and destination;
//! IPv6 raw sockets deliver the payload only, so the hop limit and the
//! destination come from `IPV6_HOPLIMIT` / `IPV6_PKTINFO` control messages.
//! Sending: the kernel builds the IP header; TTL / hop limit 255 for
//! multicast and unicast; the source address and outgoing interface are
//! given per packet with `IP_PKTINFO` / `IPV6_PKTINFO`. The VRRP checksum is
//! always computed by us (keel-packet), including the IPv6 pseudo-header, so
//! `IPV6_CHECKSUM` stays off (its default for non-ICMPv6 raw sockets).
#![allow(unsafe_code)]

use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::mem::{size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, RawFd};

/// IP protocol number of VRRP.
pub const PROTO_VRRP: i32 = 112;
/// VRRP's IPv4 multicast group.
pub const MCAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// VRRP's IPv6 multicast group.
pub const MCAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// What the IP layer said about a received VRRP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxMeta {
    /// IP source.
    pub src: IpAddr,
    /// IP destination.
    pub dst: IpAddr,
    /// TTL / hop limit as received (must be 255).
    pub ttl: u8,
    /// IP protocol field (IPv4 only; 112 for IPv6).
    pub proto: u8,
}

/// A raw VRRP socket bound to one interface.
#[derive(Debug)]
pub struct VrrpSocket {
    sock: Socket,
    v6: bool,
    ifindex: u32,
}

impl AsRawFd for VrrpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

fn setsockopt_int(fd: RawFd, level: i32, name: i32, val: i32) -> io::Result<()> {
    // SAFETY: `val` lives for the call; the length passed is its size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&raw const val).cast(),
            size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

impl VrrpSocket {
    /// Open a raw VRRP socket on `ifname` (index `ifindex`) for `v6` or IPv4,
    /// joined to the VRRP multicast group on that interface, nonblocking.
    pub fn open(ifname: &str, ifindex: u32, v6: bool) -> io::Result<VrrpSocket> {
        let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
        let sock = Socket::new(domain, Type::RAW, Some(Protocol::from(PROTO_VRRP)))?;
        sock.bind_device(Some(ifname.as_bytes()))?;
        if v6 {
            sock.set_multicast_hops_v6(255)?;
            sock.set_unicast_hops_v6(255)?;
            sock.set_multicast_loop_v6(false)?;
            sock.set_multicast_if_v6(ifindex)?;
            sock.join_multicast_v6(&MCAST_V6, ifindex)?;
            sock.set_recv_hoplimit_v6(true)?;
            setsockopt_int(
                sock.as_raw_fd(),
                libc::IPPROTO_IPV6,
                libc::IPV6_RECVPKTINFO,
                1,
            )?;
        } else {
            sock.set_multicast_ttl_v4(255)?;
            sock.set_ttl_v4(255)?;
            sock.set_multicast_loop_v4(false)?;
            sock.join_multicast_v4_n(&MCAST_V4, &socket2::InterfaceIndexOrAddress::Index(ifindex))?;
        }
        sock.set_nonblocking(true)?;
        Ok(VrrpSocket { sock, v6, ifindex })
    }

    /// Receive one packet: returns the VRRP payload's range inside `buf` and
    /// the IP metadata. `WouldBlock` when nothing is queued.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<(std::ops::Range<usize>, RxMeta)> {
        let fd = self.sock.as_raw_fd();
        // SAFETY: all-zero bytes are a valid sockaddr_storage.
        let mut from: libc::sockaddr_storage = unsafe { zeroed() };
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let mut control = [0u64; 16]; // 128 bytes, 8-aligned
        // SAFETY: all-zero bytes are a valid msghdr (null pointers, zero lengths).
        let mut msg: libc::msghdr = unsafe { zeroed() };
        msg.msg_name = (&raw mut from).cast();
        msg.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        msg.msg_iov = &raw mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = size_of::<[u64; 16]>() as _;
        // SAFETY: msg points at live buffers (`from`, `iov` over `buf`,
        // `control`) whose sizes are given; they outlive the call.
        let n = unsafe { libc::recvmsg(fd, &raw mut msg, 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        if msg.msg_flags & libc::MSG_TRUNC != 0 {
            // Too big for our buffer: treat as garbage of the given length.
            return Err(io::Error::new(io::ErrorKind::InvalidData, "truncated"));
        }
        if !self.v6 {
            return parse_ipv4(&buf[..n]);
        }
        // IPv6: source from the address, hop limit and dst from cmsgs.
        let src = if i32::from(from.ss_family) == libc::AF_INET6 {
            // SAFETY: ss_family says this storage holds a sockaddr_in6, and
            // sockaddr_storage is large and aligned enough for it.
            let sa: &libc::sockaddr_in6 = unsafe { &*(&raw const from).cast() };
            IpAddr::V6(Ipv6Addr::from(sa.sin6_addr.s6_addr))
        } else {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        };
        let mut ttl = 0u8;
        let mut dst = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
        // SAFETY: msg was filled by recvmsg; CMSG_* walk within
        // msg_controllen of our `control` buffer, and each data read is
        // bounded by the cmsg's own length checked below.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&raw const msg);
            while !c.is_null() {
                let h = &*c;
                let data = libc::CMSG_DATA(c);
                let dlen = h.cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                if h.cmsg_level == libc::IPPROTO_IPV6 {
                    if h.cmsg_type == libc::IPV6_HOPLIMIT && dlen >= size_of::<i32>() {
                        let v = std::ptr::read_unaligned(data.cast::<i32>());
                        ttl = u8::try_from(v).unwrap_or(0);
                    } else if h.cmsg_type == libc::IPV6_PKTINFO
                        && dlen >= size_of::<libc::in6_pktinfo>()
                    {
                        let p = std::ptr::read_unaligned(data.cast::<libc::in6_pktinfo>());
                        dst = IpAddr::V6(Ipv6Addr::from(p.ipi6_addr.s6_addr));
                    }
                }
                c = libc::CMSG_NXTHDR(&raw const msg, c);
            }
        }
        Ok((
            0..n,
            RxMeta {
                src,
                dst,
                ttl,
                proto: PROTO_VRRP as u8,
            },
        ))
    }

    /// Send one VRRP payload to `dst` with source `src` out of this
    /// socket's interface.
    pub fn send(&self, payload: &[u8], src: IpAddr, dst: IpAddr) -> io::Result<()> {
        let fd = self.sock.as_raw_fd();
        let mut control = [0u64; 8]; // 64 bytes, 8-aligned
        // SAFETY: all-zero is a valid msghdr.
        let mut msg: libc::msghdr = unsafe { zeroed() };
        let mut iov = libc::iovec {
            iov_base: payload.as_ptr().cast_mut().cast(),
            iov_len: payload.len(),
        };
        msg.msg_iov = &raw mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        let ret = match (dst, src) {
            (IpAddr::V4(d), IpAddr::V4(s)) => {
                let sa = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: 0,
                    sin_addr: libc::in_addr {
                        s_addr: u32::from(d).to_be(),
                    },
                    sin_zero: [0; 8],
                };
                let info = libc::in_pktinfo {
                    ipi_ifindex: self.ifindex as i32,
                    ipi_spec_dst: libc::in_addr {
                        s_addr: u32::from(s).to_be(),
                    },
                    ipi_addr: libc::in_addr { s_addr: 0 },
                };
                msg.msg_name = (&raw const sa).cast_mut().cast();
                msg.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
                // SAFETY: CMSG_SPACE of in_pktinfo (32 bytes) fits `control`
                // (64); the header and data writes stay inside it; `sa`,
                // `iov`, `info` outlive the sendmsg call.
                unsafe {
                    msg.msg_controllen =
                        libc::CMSG_SPACE(size_of::<libc::in_pktinfo>() as u32) as _;
                    let c = libc::CMSG_FIRSTHDR(&raw const msg);
                    (*c).cmsg_level = libc::IPPROTO_IP;
                    (*c).cmsg_type = libc::IP_PKTINFO;
                    (*c).cmsg_len = libc::CMSG_LEN(size_of::<libc::in_pktinfo>() as u32) as _;
                    std::ptr::write_unaligned(libc::CMSG_DATA(c).cast(), info);
                    libc::sendmsg(fd, &raw const msg, 0)
                }
            }
            (IpAddr::V6(d), IpAddr::V6(s)) => {
                // SAFETY: all-zero is a valid sockaddr_in6.
                let mut sa: libc::sockaddr_in6 = unsafe { zeroed() };
                sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sa.sin6_addr.s6_addr = d.octets();
                if d.is_unicast_link_local() || d.is_multicast() {
                    sa.sin6_scope_id = self.ifindex;
                }
                let info = libc::in6_pktinfo {
                    ipi6_addr: libc::in6_addr {
                        s6_addr: s.octets(),
                    },
                    ipi6_ifindex: self.ifindex,
                };
                msg.msg_name = (&raw const sa).cast_mut().cast();
                msg.msg_namelen = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
                // SAFETY: as above, for in6_pktinfo (20 bytes data, 40 space).
                unsafe {
                    msg.msg_controllen =
                        libc::CMSG_SPACE(size_of::<libc::in6_pktinfo>() as u32) as _;
                    let c = libc::CMSG_FIRSTHDR(&raw const msg);
                    (*c).cmsg_level = libc::IPPROTO_IPV6;
                    (*c).cmsg_type = libc::IPV6_PKTINFO;
                    (*c).cmsg_len = libc::CMSG_LEN(size_of::<libc::in6_pktinfo>() as u32) as _;
                    std::ptr::write_unaligned(libc::CMSG_DATA(c).cast(), info);
                    libc::sendmsg(fd, &raw const msg, 0)
                }
            }
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "source and destination families differ",
                ));
            }
        };
        if ret < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}

/// Split a raw IPv4 datagram (as raw sockets deliver it) into the payload
/// range and the header facts. Errors are `InvalidData`.
pub fn parse_ipv4(pkt: &[u8]) -> io::Result<(std::ops::Range<usize>, RxMeta)> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "bad IPv4 header");
    if pkt.len() < 20 || pkt[0] >> 4 != 4 {
        return Err(bad());
    }
    let ihl = usize::from(pkt[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([pkt[2], pkt[3]]));
    if ihl < 20 || pkt.len() < ihl {
        return Err(bad());
    }
    // The kernel gives the whole datagram; trust the smaller of both lengths.
    let end = total.clamp(ihl, pkt.len());
    let src = Ipv4Addr::new(pkt[12], pkt[13], pkt[14], pkt[15]);
    let dst = Ipv4Addr::new(pkt[16], pkt[17], pkt[18], pkt[19]);
    Ok((
        ihl..end,
        RxMeta {
            src: IpAddr::V4(src),
            dst: IpAddr::V4(dst),
            ttl: pkt[8],
            proto: pkt[9],
        },
    ))
}

/// Register an owned socket with tokio's reactor.
#[cfg(feature = "tokio")]
pub fn async_fd<T: AsRawFd>(t: T) -> io::Result<tokio::io::unix::AsyncFd<T>> {
    // SAFETY: `t` owns its file descriptor (VrrpSocket wraps a socket2::Socket;
    // keel-vip's LinkWatcher its netlink socket) and never replaces or closes it while the AsyncFd
    // owns `t`; the fd is closed only when the AsyncFd (and so `t`) drops.
    // Readable interest only: our sockets are never waited on for writing, and
    // write readiness after every send would wake the runtime for nothing.
    unsafe { tokio::io::unix::AsyncFd::register_with_interest(t, tokio::io::Interest::READABLE) }
        .map_err(|e| e.into())
}

/// Give the allocator's free memory back to the kernel (glibc `malloc_trim`).
/// Loading a large configuration leaves megabytes of freed parser and plan
/// memory in the heap; without this a 5,000-instance keeld keeps them
/// resident for its whole life.
pub fn trim_heap() {
    // SAFETY: malloc_trim only walks the allocator's own free lists; it is
    // safe to call at any time from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Index of an interface by name (0 when absent).
pub fn if_index(name: &str) -> u32 {
    let Ok(c) = std::ffi::CString::new(name) else {
        return 0;
    };
    // SAFETY: `c` is a valid NUL-terminated string for the call.
    unsafe { libc::if_nametoindex(c.as_ptr()) }
}

/// Addresses configured on interface `name`, in the kernel's order
/// (IPv4 primary first), with their prefix lengths.
pub fn if_addrs(name: &str) -> Vec<(IpAddr, u8)> {
    let mut out = Vec::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we free below.
    if unsafe { libc::getifaddrs(&raw mut head) } != 0 {
        return out;
    }
    let mut p = head;
    // SAFETY: we walk the list getifaddrs returned until its null end; each
    // ifa_addr/ifa_netmask is null or points at a sockaddr whose family
    // tells its real type; ifa_name is a C string.
    unsafe {
        while !p.is_null() {
            let ifa = &*p;
            p = ifa.ifa_next;
            if ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() {
                continue;
            }
            if std::ffi::CStr::from_ptr(ifa.ifa_name).to_bytes() != name.as_bytes() {
                continue;
            }
            let fam = i32::from((*ifa.ifa_addr).sa_family);
            if fam == libc::AF_INET {
                let a: &libc::sockaddr_in = &*ifa.ifa_addr.cast();
                let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
                let plen = if ifa.ifa_netmask.is_null() {
                    32
                } else {
                    let m: &libc::sockaddr_in = &*ifa.ifa_netmask.cast();
                    u32::from_be(m.sin_addr.s_addr).count_ones() as u8
                };
                out.push((IpAddr::V4(ip), plen));
            } else if fam == libc::AF_INET6 {
                let a: &libc::sockaddr_in6 = &*ifa.ifa_addr.cast();
                let ip = Ipv6Addr::from(a.sin6_addr.s6_addr);
                let plen = if ifa.ifa_netmask.is_null() {
                    128
                } else {
                    let m: &libc::sockaddr_in6 = &*ifa.ifa_netmask.cast();
                    m.sin6_addr
                        .s6_addr
                        .iter()
                        .map(|b| b.count_ones())
                        .sum::<u32>() as u8
                };
                out.push((IpAddr::V6(ip), plen));
            }
        }
        libc::freeifaddrs(head);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_parse() {
        // 20-byte header, TTL 255, proto 112, 192.0.2.10 -> 224.0.0.18, 20 byte payload.
        let mut p = vec![
            0x45, 0xc0, 0x00, 0x28, 0, 0, 0x40, 0, 255, 112, 0, 0, 192, 0, 2, 10, 224, 0, 0, 18,
        ];
        p.extend_from_slice(&[0xaa; 20]);
        let (r, m) = parse_ipv4(&p).unwrap();
        assert_eq!(r, 20..40);
        assert_eq!(m.ttl, 255);
        assert_eq!(m.proto, 112);
        assert_eq!(m.src, "192.0.2.10".parse::<IpAddr>().unwrap());
        assert_eq!(m.dst, IpAddr::V4(MCAST_V4));
        // truncated header / wrong version / bad IHL
        assert!(parse_ipv4(&p[..19]).is_err());
        let mut q = p.clone();
        q[0] = 0x65;
        assert!(parse_ipv4(&q).is_err());
        let mut q = p.clone();
        q[0] = 0x4f; // IHL 60 > len? len 40 -> error
        assert!(parse_ipv4(&q).is_err());
        // total length shorter than the buffer: payload clamps to it
        let mut q = p.clone();
        q[3] = 30;
        assert_eq!(parse_ipv4(&q).unwrap().0, 20..30);
    }

    #[test]
    fn loopback_interface_lookups() {
        assert_eq!(if_index("no-such-if-xyz"), 0);
        let lo = if_index("lo");
        assert!(lo > 0);
        let addrs = if_addrs("lo");
        assert!(
            addrs.contains(&(IpAddr::V4(Ipv4Addr::LOCALHOST), 8)),
            "{addrs:?}"
        );
    }
}

/// A `timerfd` on `CLOCK_MONOTONIC` armed at absolute deadlines: the VRRP
/// loop's one timer. tokio's timers round every wake-up up to a whole
/// millisecond (and `epoll_wait`'s timeout is in milliseconds, counted from
/// whenever it is called), which alone moved each advert by up to 1 ms from
/// one second to the next; a timerfd wakes within microseconds of the
/// deadline, as keepalived's scheduler does.
#[derive(Debug)]
pub struct TimerFd {
    fd: std::os::fd::OwnedFd,
}

impl AsRawFd for TimerFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

fn monotonic_now() -> libc::timespec {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for clock_gettime to fill.
    unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &raw mut ts);
    }
    ts
}

impl TimerFd {
    /// A disarmed, nonblocking timer.
    pub fn new() -> io::Result<TimerFd> {
        // SAFETY: plain syscall; the returned descriptor is owned below.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor nobody else owns.
        let fd = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        Ok(TimerFd { fd })
    }

    /// Fire at `at` (at once when it has passed); `None` disarms.
    pub fn set(&self, at: Option<std::time::Instant>) -> io::Result<()> {
        let mut value = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        if let Some(at) = at {
            // std's Instant is CLOCK_MONOTONIC on Linux but does not expose
            // it: translate through "now" on both clocks.
            let now_ts = monotonic_now();
            let ahead = at.saturating_duration_since(std::time::Instant::now());
            let ns = i128::from(now_ts.tv_sec) * 1_000_000_000
                + i128::from(now_ts.tv_nsec)
                + i128::try_from(ahead.as_nanos()).unwrap_or(i128::MAX / 2);
            // A zero it_value would disarm: the earliest valid time is 1 ns.
            let ns = ns.max(1);
            value.tv_sec = libc::time_t::try_from(ns / 1_000_000_000).unwrap_or(libc::time_t::MAX);
            value.tv_nsec = (ns % 1_000_000_000) as libc::c_long;
        }
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: value,
        };
        // SAFETY: `spec` is valid for the call; the old value is not wanted.
        let rc = unsafe {
            libc::timerfd_settime(
                self.fd.as_raw_fd(),
                libc::TFD_TIMER_ABSTIME,
                &raw const spec,
                std::ptr::null_mut(),
            )
        };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Consume an expiry; false when it had not fired (spurious readiness).
    pub fn take(&self) -> bool {
        let mut n = 0u64;
        // SAFETY: reads 8 bytes into `n`, which is 8 bytes long.
        let rc = unsafe { libc::read(self.fd.as_raw_fd(), (&raw mut n).cast(), size_of::<u64>()) };
        rc == size_of::<u64>() as isize
    }
}
