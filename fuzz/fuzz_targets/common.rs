//! Shared oracle of the VRRP fuzz targets (included with `#[path]`).
//!
//! For every checksum mode: the view and `parse` must not panic; whatever
//! parses must re-emit, and the emitted bytes must parse to the same repr and
//! have the input's length. Accessors are exercised on the unchecked view too.
use keel_packet::{ChecksumMode, Family, VrrpPacket, VrrpRepr, rx};
use std::net::IpAddr;

pub fn check(data: &[u8], src: IpAddr, dst: IpAddr) {
    let view = VrrpPacket::new_unchecked(data);
    let _ = (view.version(), view.vrid(), view.priority(), view.adver_int_cs());
    let _ = (view.checksum(), view.auth_data(), view.reserved());
    let _ = (view.addrs(Family::V4), view.addrs(Family::V6));
    let _ = rx::split_ipv4(data);
    let Ok(p) = VrrpPacket::new_checked(data) else {
        return;
    };
    for mode in [ChecksumMode::Rfc, ChecksumMode::V3NoPseudoHeader, ChecksumMode::Ignore] {
        let Ok(r) = VrrpRepr::parse(&p, src, dst, mode) else {
            continue;
        };
        assert_eq!(r.addrs.iter().count(), r.addrs.len());
        let mut out = vec![0u8; r.buffer_len()];
        r.emit(&mut out, src, dst, mode).expect("a parsed repr must emit");
        assert_eq!(out.len(), data.len(), "emitted length differs");
        let again = VrrpRepr::parse_bytes(&out, src, dst, mode).expect("emitted bytes must parse");
        assert_eq!(again, r, "parse(emit(r)) != r");
    }
}

/// Force the version nibble so the fuzzer spends its time on one version.
pub fn with_version(data: &[u8], version: u8) -> Vec<u8> {
    let mut v = data.to_vec();
    if let Some(b) = v.first_mut() {
        *b = (version << 4) | (*b & 0x0f);
    }
    v
}
