//! Gratuitous ARP and unsolicited neighbour advertisements on AF_PACKET.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use crate::{Error, Op, sys};

const ETH_P_ARP: u16 = 0x0806;
const ETH_P_IPV6: u16 = 0x86dd;
const BROADCAST: [u8; 6] = [0xff; 6];
/// Ethernet multicast address of ff02::1.
const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];
/// ff02::1, all nodes.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// Length of a gratuitous ARP frame (Ethernet header + ARP, unpadded).
pub const GARP_LEN: usize = 14 + 28;
/// Length of an unsolicited NA frame (Ethernet + IPv6 + NA + target link-layer option).
pub const NA_LEN: usize = 14 + 40 + 24 + 8;

/// Which ARP message a gratuitous ARP is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ArpOp {
    /// ARP request (keepalived's default): sender and target IP = the VIP,
    /// target MAC ff:ff:ff:ff:ff:ff.
    #[default]
    Request,
    /// ARP reply: sender and target IP = the VIP, target MAC = sender MAC.
    /// Linux (`arp_is_garp`) treats a reply as gratuitous only when the
    /// target MAC equals the sender MAC; with ff:ff:ff:ff:ff:ff it would
    /// update a neighbour entry only after its `locktime` (1 s) and, with
    /// `arp_accept`, never create one.
    Reply,
}

/// A gratuitous ARP frame: broadcast, sender = (`mac`, `ip`), target IP = `ip`.
pub fn garp_frame(mac: [u8; 6], ip: Ipv4Addr, op: ArpOp) -> [u8; GARP_LEN] {
    let mut f = [0u8; GARP_LEN];
    f[0..6].copy_from_slice(&BROADCAST);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&ETH_P_ARP.to_be_bytes());
    let arp = &mut f[14..];
    arp[0..2].copy_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
    arp[2..4].copy_from_slice(&0x0800u16.to_be_bytes()); // IPv4
    arp[4] = 6;
    arp[5] = 4;
    let (code, target_mac) = match op {
        ArpOp::Request => (1u16, BROADCAST),
        ArpOp::Reply => (2u16, mac),
    };
    arp[6..8].copy_from_slice(&code.to_be_bytes());
    arp[8..14].copy_from_slice(&mac);
    arp[14..18].copy_from_slice(&ip.octets());
    arp[18..24].copy_from_slice(&target_mac);
    arp[24..28].copy_from_slice(&ip.octets());
    f
}

/// An unsolicited neighbour advertisement for `ip`: from `ip` to ff02::1,
/// hop limit 255, Override flag (and Router when `router`), target
/// link-layer address option = `mac`, ICMPv6 checksum filled in.
pub fn unsolicited_na_frame(mac: [u8; 6], ip: Ipv6Addr, router: bool) -> [u8; NA_LEN] {
    let mut f = [0u8; NA_LEN];
    f[0..6].copy_from_slice(&ALL_NODES_MAC);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&ETH_P_IPV6.to_be_bytes());
    let payload_len: u16 = 24 + 8;
    {
        let ip6 = &mut f[14..54];
        ip6[0] = 0x60;
        ip6[4..6].copy_from_slice(&payload_len.to_be_bytes());
        ip6[6] = 58; // ICMPv6
        ip6[7] = 255;
        ip6[8..24].copy_from_slice(&ip.octets());
        ip6[24..40].copy_from_slice(&ALL_NODES.octets());
    }
    {
        let na = &mut f[54..];
        na[0] = 136; // neighbour advertisement
        na[4] = 0x20 | if router { 0x80 } else { 0 }; // O (and R); never S
        na[8..24].copy_from_slice(&ip.octets());
        na[24] = 2; // target link-layer address
        na[25] = 1; // 8 bytes
        na[26..32].copy_from_slice(&mac);
    }
    let sum = icmpv6_checksum(&ip, &ALL_NODES, &f[54..]);
    f[56..58].copy_from_slice(&sum.to_be_bytes());
    f
}

/// RFC 4443 §2.3 checksum of an ICMPv6 message (whose checksum field is 0
/// or already filled in: a filled-in message sums to 0).
pub fn icmpv6_checksum(src: &Ipv6Addr, dst: &Ipv6Addr, msg: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |b: &[u8]| {
        for c in b.chunks(2) {
            let hi = u32::from(c[0]) << 8;
            let lo = c.get(1).copied().map_or(0, u32::from);
            sum += hi | lo;
        }
    };
    add(&src.octets());
    add(&dst.octets());
    let len = u32::try_from(msg.len()).unwrap_or(u32::MAX);
    add(&len.to_be_bytes());
    add(&[0, 0, 0, 58]);
    add(msg);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Sends gratuitous ARPs and unsolicited NAs on any interface of the network
/// namespace it was created in (an AF_PACKET socket that receives nothing).
///
/// Each call sends at once; repeats and spacing over time are the caller's
/// to schedule (keepalived: 5 back-to-back, again 5 s later).
///
/// ```no_run
/// use keel_vip::{link_by_name, Announcer};
///
/// let eth0 = link_by_name("eth0")?;
/// let mac = eth0.mac.expect("ethernet");
/// let a = Announcer::new()?;
/// // keepalived's takeover burst: 5 per VIP, back to back.
/// a.burst(eth0.index, mac, &["192.0.2.250".parse().unwrap()], 5)?;
/// a.unsolicited_na(eth0.index, mac, "2001:db8::250".parse().unwrap(), false)?;
/// # Ok::<(), keel_vip::Error>(())
/// ```
#[derive(Debug)]
pub struct Announcer {
    fd: OwnedFd,
}

impl Announcer {
    /// Open the packet socket (needs CAP_NET_RAW).
    pub fn new() -> Result<Announcer, Error> {
        let fd = sys::packet_socket().map_err(|source| Error::Io {
            op: Op::Open,
            source,
        })?;
        Ok(Announcer { fd })
    }

    fn send(&self, ifindex: u32, ethertype: u16, frame: &[u8]) -> Result<(), Error> {
        sys::send_frame(&self.fd, ifindex, ethertype, frame).map_err(|source| {
            match source.raw_os_error() {
                Some(libc::ENODEV) | Some(libc::ENXIO) => Error::NoSuchIndex(ifindex),
                _ => Error::Io {
                    op: Op::Announce,
                    source,
                },
            }
        })
    }

    /// One gratuitous ARP request for `ip` from `mac` (the interface's MAC,
    /// or the virtual MAC) on `ifindex`.
    pub fn garp(&self, ifindex: u32, mac: [u8; 6], ip: Ipv4Addr) -> Result<(), Error> {
        self.garp_op(ifindex, mac, ip, ArpOp::Request)
    }

    /// One gratuitous ARP of the given kind.
    pub fn garp_op(
        &self,
        ifindex: u32,
        mac: [u8; 6],
        ip: Ipv4Addr,
        op: ArpOp,
    ) -> Result<(), Error> {
        self.send(ifindex, ETH_P_ARP, &garp_frame(mac, ip, op))
    }

    /// One unsolicited neighbour advertisement for `ip` (Override set;
    /// Router set when `router`, as keepalived does when forwarding is on).
    pub fn unsolicited_na(
        &self,
        ifindex: u32,
        mac: [u8; 6],
        ip: Ipv6Addr,
        router: bool,
    ) -> Result<(), Error> {
        self.send(ifindex, ETH_P_IPV6, &unsolicited_na_frame(mac, ip, router))
    }

    /// One burst: `repeat` announcements for each address, back to back
    /// (IPv4: ARP requests, IPv6: NAs without the Router flag). Returns
    /// the number of frames sent; stops at the first error.
    pub fn burst(
        &self,
        ifindex: u32,
        mac: [u8; 6],
        addrs: &[IpAddr],
        repeat: u32,
    ) -> Result<usize, Error> {
        let mut sent = 0;
        for _ in 0..repeat {
            for addr in addrs {
                match addr {
                    IpAddr::V4(a) => self.garp(ifindex, mac, *a)?,
                    IpAddr::V6(a) => self.unsolicited_na(ifindex, mac, *a, false)?,
                }
                sent += 1;
            }
        }
        Ok(sent)
    }
}

impl AsRawFd for Announcer {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for Announcer {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garp_request_layout() {
        let mac = [0x02, 0, 0, 0, 0, 0x0a];
        let f = garp_frame(mac, Ipv4Addr::new(192, 0, 2, 250), ArpOp::Request);
        let want: Vec<u8> = [
            &[0xff; 6][..],
            &mac,
            &[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1],
            &mac,
            &[192, 0, 2, 250],
            &[0xff; 6],
            &[192, 0, 2, 250],
        ]
        .concat();
        assert_eq!(f.as_slice(), want.as_slice());
        let r = garp_frame(mac, Ipv4Addr::new(192, 0, 2, 250), ArpOp::Reply);
        assert_eq!(&r[20..22], &[0, 2]);
        assert_eq!(&r[32..38], &mac);
    }

    #[test]
    fn na_layout_and_checksum() {
        let mac = [0x02, 0, 0, 0, 0, 0x0a];
        let ip: Ipv6Addr = "2001:db8::250".parse().unwrap();
        let f = unsolicited_na_frame(mac, ip, false);
        assert_eq!(&f[0..6], &ALL_NODES_MAC);
        assert_eq!(&f[12..14], &[0x86, 0xdd]);
        assert_eq!(f[14] >> 4, 6);
        assert_eq!(u16::from_be_bytes([f[18], f[19]]), 32);
        assert_eq!((f[20], f[21]), (58, 255));
        assert_eq!(&f[22..38], &ip.octets());
        assert_eq!(&f[38..54], &ALL_NODES.octets());
        assert_eq!((f[54], f[55]), (136, 0));
        assert_eq!(f[58], 0x20, "override only");
        assert_eq!(&f[62..78], &ip.octets());
        assert_eq!(&f[78..86], &[2, 1, 2, 0, 0, 0, 0, 0x0a]);
        // A correct checksum makes the one's-complement sum come out as 0.
        assert_eq!(icmpv6_checksum(&ip, &ALL_NODES, &f[54..]), 0);
        // Independent check: a different flag changes the checksum by the
        // flag difference (0x80 in the high byte of a 16-bit word).
        let r = unsolicited_na_frame(mac, ip, true);
        assert_eq!(r[58], 0xa0);
        let c0 = u16::from_be_bytes([f[56], f[57]]);
        let c1 = u16::from_be_bytes([r[56], r[57]]);
        let diff = (u32::from(c0) + 0xffff - u32::from(c1)) % 0xffff;
        assert_eq!(diff, 0x8000);
    }
}

#[cfg(test)]
#[path = "announce_netns_tests.rs"]
mod netns_tests;
