//! What the receive tests share: VRRPv3 adverts made with keel-packet.
use keel_election::Version;
use keel_packet::{AddrList, Auth, ChecksumMode, VrrpRepr};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A VRRPv3 advert for `vrid` with `prio`, interval `adver_int`
/// centiseconds, one address `vip`, checksummed for `src` → `dst`.
pub fn advert(
    vrid: u8,
    prio: u8,
    adver_int: u16,
    vip: IpAddr,
    src: IpAddr,
    dst: IpAddr,
) -> Vec<u8> {
    let (v4, v6): (Vec<Ipv4Addr>, Vec<Ipv6Addr>) = match vip {
        IpAddr::V4(a) => (vec![a], vec![]),
        IpAddr::V6(a) => (vec![], vec![a]),
    };
    let addrs = if vip.is_ipv6() {
        AddrList::V6(&v6)
    } else {
        AddrList::V4(&v4)
    };
    let r = VrrpRepr {
        version: Version::V3,
        vrid,
        priority: prio,
        adver_int,
        auth: Auth::None,
        addrs,
    };
    let mut buf = vec![0u8; r.buffer_len()];
    r.emit(&mut buf, src, dst, ChecksumMode::Rfc)
        .expect("the advert fits its buffer");
    buf
}
