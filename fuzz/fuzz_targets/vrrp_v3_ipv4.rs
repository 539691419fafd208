#![no_main]
//! VRRPv3 over IPv4: 192.0.2.10 -> 224.0.0.18.
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr};

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let data = common::with_version(data, 3);
    common::check(
        &data,
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)),
        IpAddr::V4(keel_packet::MCAST_V4),
    );
});
