#![no_main]
//! VRRPv3 over IPv6: fe80::1 -> ff02::12.
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv6Addr};

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let data = common::with_version(data, 3);
    common::check(
        &data,
        IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
        IpAddr::V6(keel_packet::MCAST_V6),
    );
});
