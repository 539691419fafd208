//! Emit a VRRP advertisement, parse it back, and see a rejection.
//!
//! ```sh
//! cargo run -p keel-packet --example advert
//! ```
//!
//! Builds the advert the guide's master sends (VRRPv2, VRID 51, priority 100,
//! `auth_pass 123.123`, VIP 192.0.2.250), then a VRRPv3 IPv6 advert, parses
//! both back from bytes, and shows the typed error for a corrupted packet.
use keel_packet::{
    AddrList, Auth, ChecksumMode, Error, MCAST_V4, MCAST_V6, Version, VrrpPacket, VrrpRepr,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() -> Result<(), Error> {
    // --- VRRPv2 over IPv4, as keepalived sends it for the guide's master.
    let src = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));
    let dst = IpAddr::V4(MCAST_V4);
    let vips = [Ipv4Addr::new(192, 0, 2, 250)];
    let repr = VrrpRepr {
        version: Version::V2,
        vrid: 51,
        priority: 100,
        adver_int: 100, // centiseconds for both versions: 1 s
        auth: Auth::simple_text(b"123.123"),
        addrs: AddrList::V4(&vips),
    };
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut buf, src, dst, ChecksumMode::Rfc)?;
    println!("v2 advert {src} -> {dst}, {} bytes:", buf.len());
    println!("  {}", hex(&buf));

    // Parse it back: the view checks version and length, the repr the rest.
    let packet = VrrpPacket::new_checked(&buf[..])?;
    let parsed = VrrpRepr::parse(&packet, src, dst, ChecksumMode::Rfc)?;
    let addrs: Vec<IpAddr> = parsed.addrs.iter().collect();
    println!(
        "  parsed: {} vrid {} priority {} interval {} cs auth {:?} addrs {addrs:?}",
        parsed.version, parsed.vrid, parsed.priority, parsed.adver_int, parsed.auth
    );
    assert_eq!(parsed, repr, "parse(emit(r)) == r");

    // --- VRRPv3 over IPv6 (checksum over the IPv6 pseudo-header, no auth).
    let src6 = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x10));
    let dst6 = IpAddr::V6(MCAST_V6);
    let vips6 = [Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x250)];
    let repr6 = VrrpRepr {
        version: Version::V3,
        vrid: 51,
        priority: 100,
        adver_int: 10, // 100 ms
        auth: Auth::None,
        addrs: AddrList::V6(&vips6),
    };
    let mut buf6 = vec![0u8; repr6.buffer_len()];
    repr6.emit(&mut buf6, src6, dst6, ChecksumMode::Rfc)?;
    let parsed6 = VrrpRepr::parse_bytes(&buf6, src6, dst6, ChecksumMode::Rfc)?;
    println!("v3 advert {src6} -> {dst6}, {} bytes:", buf6.len());
    println!("  {}", hex(&buf6));
    println!(
        "  parsed: {} vrid {} priority {} interval {} cs addrs {:?}",
        parsed6.version,
        parsed6.vrid,
        parsed6.priority,
        parsed6.adver_int,
        parsed6.addrs.iter().collect::<Vec<_>>()
    );

    // --- A flipped bit in the priority: a typed, matchable error (never a panic).
    let mut bad = buf.clone();
    if let Some(b) = bad.get_mut(2) {
        *b ^= 0x01;
    }
    match VrrpRepr::parse_bytes(&bad, src, dst, ChecksumMode::Rfc) {
        Err(e) => println!("corrupted v2 advert rejected: {e} (kind {})", e.name()),
        Ok(_) => println!("corrupted v2 advert unexpectedly accepted"),
    }
    // The same bytes claimed to come over IPv6: wrong family for VRRPv2.
    match VrrpRepr::parse_bytes(&buf, src6, dst6, ChecksumMode::Rfc) {
        Err(e) => println!("v2 advert over IPv6 rejected: {e} (kind {})", e.name()),
        Ok(_) => println!("v2 advert over IPv6 unexpectedly accepted"),
    }
    Ok(())
}
