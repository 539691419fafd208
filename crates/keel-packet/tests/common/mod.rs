//! Capture reading shared by the test targets that look at real traffic
//! (`keepalived.rs`, `tcpdump_vrrp.rs`). Classic pcap is 24 bytes of header
//! and 16 per record: a reader is shorter than a dependency.
#![allow(dead_code, clippy::unwrap_used)]

use keel_packet::rx::{self, IpMeta};
use std::net::{IpAddr, Ipv6Addr};

/// Frames of a classic pcap file (either timestamp precision, little endian).
pub fn pcap_frames(bytes: &[u8]) -> Vec<&[u8]> {
    assert!(bytes.len() >= 24, "pcap too short: {} bytes", bytes.len());
    let magic = u32::from_le_bytes(bytes[0..4].try_into().unwrap());
    assert!(
        magic == 0xa1b2_c3d4 || magic == 0xa1b2_3c4d,
        "unexpected pcap magic {magic:#x}"
    );
    let linktype = u32::from_le_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!(linktype, 1, "expected an Ethernet capture");
    let mut frames = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let incl = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        let start = at + 16;
        let Some(f) = bytes.get(start..start + incl) else {
            break; // a record cut by the capture's end
        };
        frames.push(f);
        at = start + incl;
    }
    frames
}

/// Split an Ethernet frame into IP metadata and the VRRP payload.
pub fn ip_payload(frame: &[u8]) -> Option<(IpMeta, &[u8])> {
    let ethertype = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
    let ip = frame.get(14..)?;
    match ethertype {
        0x0800 => rx::split_ipv4(ip).ok(),
        0x86dd => {
            let h = ip.get(..40)?;
            let len = usize::from(u16::from_be_bytes([h[4], h[5]]));
            let src: [u8; 16] = h[8..24].try_into().ok()?;
            let dst: [u8; 16] = h[24..40].try_into().ok()?;
            let meta = IpMeta {
                src: IpAddr::V6(Ipv6Addr::from(src)),
                dst: IpAddr::V6(Ipv6Addr::from(dst)),
                ttl: h[7],
                protocol: h[6],
            };
            Some((meta, ip.get(40..40 + len)?))
        }
        _ => None,
    }
}
