//! Crafting VRRP on the wire: adverts, whole IPv4 packets around them, and a
//! raw socket in a namespace to send them from.
use crate::{GROUP, VIP};
use keel_packet::{AddrList, Auth, ChecksumMode, Version, VrrpRepr};
use keel_testkit::Netns;
use std::net::{IpAddr, Ipv4Addr};

/// A VRRPv2 advert for the lab's VIP (advert_int 1, simple-text `pass`)
/// from `src`; empty if it cannot be encoded.
pub fn v2_advert(vrid: u8, prio: u8, pass: &[u8], src: Ipv4Addr) -> Vec<u8> {
    let vips = [VIP.parse().unwrap_or(Ipv4Addr::UNSPECIFIED)];
    let r = VrrpRepr {
        version: Version::V2,
        vrid,
        priority: prio,
        adver_int: 100,
        auth: Auth::simple_text(pass),
        addrs: AddrList::V4(&vips),
    };
    let mut buf = vec![0u8; r.buffer_len()];
    match r.emit(
        &mut buf,
        IpAddr::V4(src),
        IpAddr::V4(GROUP),
        ChecksumMode::Rfc,
    ) {
        Ok(_) => buf,
        Err(_) => Vec::new(),
    }
}

/// The Internet checksum of `data`.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in data.chunks(2) {
        let w = u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]);
        sum += u32::from(w);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An IPv4 packet (protocol 112, to 224.0.0.18) around `payload`.
pub fn ip_packet(src: Ipv4Addr, ttl: u8, payload: &[u8]) -> Vec<u8> {
    ip_packet_to(src, GROUP, ttl, payload)
}

/// An IPv4 packet (protocol 112, to `dst`) around `payload`.
pub fn ip_packet_to(src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, payload: &[u8]) -> Vec<u8> {
    let len = 20 + payload.len();
    let mut h = vec![
        0x45,
        0xc0,
        (len >> 8) as u8,
        len as u8,
        0,
        0,
        0,
        0,
        ttl,
        112,
        0,
        0,
    ];
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    let c = checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

/// A raw VRRP (protocol 112) socket made in `ns`, bound to its `eth0`, then
/// set up by `setup` (inside the namespace too).
pub fn raw_socket<F>(ns: &Netns, setup: F) -> std::io::Result<socket2::Socket>
where
    F: FnOnce(&socket2::Socket) -> std::io::Result<()> + Send + 'static,
{
    ns.enter(move || {
        let s = socket2::Socket::new(
            socket2::Domain::IPV4,
            socket2::Type::RAW,
            Some(socket2::Protocol::from(112)),
        )?;
        s.bind_device(Some(b"eth0"))?;
        setup(&s)?;
        Ok(s)
    })
}

/// A raw VRRP sender in `ns`, multicast out of `eth0` with `ttl`; the
/// kernel builds the IP header. Panics when it cannot be made.
pub fn vrrp_sender(ns: &Netns, ttl: u32) -> socket2::Socket {
    raw_socket(ns, move |s| {
        s.set_multicast_ttl_v4(ttl)?;
        s.set_ttl_v4(ttl)
    })
    .unwrap_or_else(|e| panic!("raw VRRP sender in {}: {e}", ns.name()))
}

/// Send one VRRP payload to 224.0.0.18; panics when the kernel refuses.
pub fn send_vrrp(s: &socket2::Socket, payload: &[u8]) {
    let dst = std::net::SocketAddr::new(IpAddr::V4(GROUP), 0);
    s.send_to(payload, &dst.into())
        .unwrap_or_else(|e| panic!("sending a VRRP payload: {e}"));
}

#[cfg(test)]
mod tests {
    #[test]
    fn ip_header_checksum_verifies() {
        let p = super::ip_packet(std::net::Ipv4Addr::new(192, 0, 2, 100), 255, &[1, 2, 3]);
        assert_eq!(super::checksum(&p[..20]), 0);
        assert_eq!(p.len(), 23);
        assert!(
            !super::v2_advert(51, 100, b"pw", std::net::Ipv4Addr::new(192, 0, 2, 10)).is_empty()
        );
    }
}
