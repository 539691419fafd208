//! Announcements seen by a second namespace on the veth: captured frames and
//! the receiver's neighbour table.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use keel_testkit::{Netns, require_root};

use super::*;
use crate::link_by_name;

const STALE_MAC: &str = "02:00:00:00:00:99";

fn mac_str(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// `ip -j neigh show IP dev DEV` → (lladdr, state list) if an entry exists.
fn neigh(ns: &Netns, ip: &str, dev: &str) -> Option<(String, String)> {
    let out = ns.run_ok(&["ip", "-j", "neigh", "show", ip, "dev", dev]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("ip -j neigh is JSON");
    let e = v.as_array()?.first()?;
    Some((
        e["lladdr"].as_str().unwrap_or("").to_owned(),
        e["state"].to_string(),
    ))
}

/// Wait for a frame matching `pred` on `cap` (at most 2 s).
fn capture(cap: &OwnedFd, pred: impl Fn(&[u8]) -> bool) -> Option<Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut buf = [0u8; 2048];
    while Instant::now() < deadline {
        if let Some(n) = sys::recv_frame(cap, &mut buf, 200).expect("recv")
            && pred(&buf[..n])
        {
            return Some(buf[..n].to_vec());
        }
    }
    None
}

struct Pair {
    a: Netns,
    b: Netns,
    va: crate::Link,
    vb_index: u32,
    announcer: Announcer,
}

fn pair(tag: &str) -> Pair {
    let a = Netns::new(tag);
    let b = Netns::new(tag);
    a.veth_to(&b, "va", "vb");
    a.run_ok(&["ip", "addr", "add", "192.0.2.1/24", "dev", "va"]);
    b.run_ok(&["ip", "addr", "add", "192.0.2.2/24", "dev", "vb"]);
    let (va, announcer) = a.enter(|| {
        (
            link_by_name("va").expect("va"),
            Announcer::new().expect("packet socket"),
        )
    });
    let vb_index = b.enter(|| link_by_name("vb").expect("vb").index);
    Pair {
        a,
        b,
        va,
        vb_index,
        announcer,
    }
}

#[test]
fn garp_updates_neighbour_and_is_captured() {
    if !require_root("keel-vip gratuitous ARP") {
        return;
    }
    let p = pair("garp");
    let mac = p.va.mac.expect("veth has a MAC");
    let vb = p.vb_index;
    let cap =
        p.b.enter(move || sys::packet_capture(vb, ETH_P_ARP).expect("capture socket"));

    for (ip, op) in [
        ("192.0.2.250", ArpOp::Request),
        ("192.0.2.251", ArpOp::Reply),
    ] {
        // A stale entry with another MAC: a GARP must make it point at va.
        p.b.run_ok(&[
            "ip", "neigh", "add", ip, "lladdr", STALE_MAC, "dev", "vb", "nud", "stale",
        ]);
        assert_eq!(neigh(&p.b, ip, "vb").expect("seeded").0, STALE_MAC);

        let vip: Ipv4Addr = ip.parse().unwrap();
        p.announcer
            .garp_op(p.va.index, mac, vip, op)
            .expect("send garp");
        let f = capture(&cap, |f| f.len() >= GARP_LEN && f[28..32] == vip.octets())
            .unwrap_or_else(|| panic!("no GARP for {ip} captured"));
        assert_eq!(&f[0..6], &[0xff; 6], "broadcast");
        assert_eq!(&f[6..12], &mac, "ethernet source = va's MAC");
        let code = if op == ArpOp::Request { 1 } else { 2 };
        assert_eq!(&f[20..22], &[0, code]);
        assert_eq!(&f[22..28], &mac, "sender MAC");
        assert_eq!(&f[38..42], &vip.octets(), "target IP = VIP");
        let want_tha = if op == ArpOp::Request { [0xff; 6] } else { mac };
        assert_eq!(&f[32..38], &want_tha);

        let (lladdr, state) = neigh(&p.b, ip, "vb").expect("entry still there");
        assert_eq!(
            lladdr,
            mac_str(mac),
            "{ip} ({op:?}) now points at va ({state})"
        );
    }

    // arp_accept (receiver side): with the default 0 a GARP does not create
    // an entry; with 1 it does.
    let ip = "192.0.2.252";
    let vip: Ipv4Addr = ip.parse().unwrap();
    assert_eq!(
        p.b.run_ok(&["sysctl", "-n", "net.ipv4.conf.vb.arp_accept"])
            .trim(),
        "0"
    );
    p.announcer.garp(p.va.index, mac, vip).expect("send");
    capture(&cap, |f| f.len() >= GARP_LEN && f[28..32] == vip.octets()).expect("captured");
    assert_eq!(neigh(&p.b, ip, "vb"), None, "arp_accept=0: no new entry");
    p.b.run_ok(&["sysctl", "-qw", "net.ipv4.conf.vb.arp_accept=1"]);
    p.announcer.garp(p.va.index, mac, vip).expect("send");
    capture(&cap, |f| f.len() >= GARP_LEN && f[28..32] == vip.octets()).expect("captured");
    assert_eq!(
        neigh(&p.b, ip, "vb").map(|n| n.0),
        Some(mac_str(mac)),
        "arp_accept=1: GARP creates the entry"
    );
    drop(p.a);
}

#[test]
fn unsolicited_na_updates_neighbour_and_is_captured() {
    if !require_root("keel-vip unsolicited NA") {
        return;
    }
    let p = pair("una");
    let mac = p.va.mac.expect("veth has a MAC");
    let vb = p.vb_index;
    let cap =
        p.b.enter(move || sys::packet_capture(vb, ETH_P_IPV6).expect("capture socket"));
    let ip = "2001:db8::250";
    let vip: Ipv6Addr = ip.parse().unwrap();
    p.b.run_ok(&[
        "ip", "-6", "neigh", "add", ip, "lladdr", STALE_MAC, "dev", "vb", "nud", "stale",
    ]);
    assert_eq!(neigh(&p.b, ip, "vb").expect("seeded").0, STALE_MAC);

    p.announcer
        .burst(p.va.index, mac, &[vip.into()], 3)
        .expect("send NA burst");
    let f = capture(&cap, |f| {
        f.len() >= NA_LEN && f[20] == 58 && f[54] == 136 && f[62..78] == vip.octets()
    })
    .expect("NA captured");
    assert_eq!(&f[0..6], &[0x33, 0x33, 0, 0, 0, 1]);
    assert_eq!(&f[6..12], &mac);
    assert_eq!(f[21], 255, "hop limit");
    assert_eq!(&f[38..54], &ALL_NODES.octets());
    assert_eq!(f[58] & 0xe0, 0x20, "override, not solicited, not router");
    assert_eq!(&f[80..86], &mac, "target link-layer address");
    let src: [u8; 16] = f[22..38].try_into().unwrap();
    assert_eq!(
        icmpv6_checksum(&Ipv6Addr::from(src), &ALL_NODES, &f[54..]),
        0
    );

    // The kernel drops NAs with a bad checksum, so this also proves it.
    let (lladdr, state) = neigh(&p.b, ip, "vb").expect("entry");
    assert_eq!(lladdr, mac_str(mac), "NA overrode the stale MAC ({state})");

    // accept_untracked_na (receiver side): 0 by default, so an unknown
    // target gets no entry; 1 creates one, but only on a router
    // (the kernel also checks the interface's `forwarding`).
    let ip2 = "2001:db8::251";
    let vip2: Ipv6Addr = ip2.parse().unwrap();
    p.announcer
        .unsolicited_na(p.va.index, mac, vip2, false)
        .expect("send");
    capture(&cap, |f| {
        f.len() >= NA_LEN && f[54] == 136 && f[62..78] == vip2.octets()
    })
    .expect("captured");
    assert_eq!(
        neigh(&p.b, ip2, "vb"),
        None,
        "no entry for an untracked NA by default"
    );
    p.b.run_ok(&["sysctl", "-qw", "net.ipv6.conf.vb.accept_untracked_na=1"]);
    p.b.run_ok(&["sysctl", "-qw", "net.ipv6.conf.vb.forwarding=1"]);
    p.announcer
        .unsolicited_na(p.va.index, mac, vip2, false)
        .expect("send");
    capture(&cap, |f| {
        f.len() >= NA_LEN && f[54] == 136 && f[62..78] == vip2.octets()
    })
    .expect("captured");
    assert_eq!(neigh(&p.b, ip2, "vb").map(|n| n.0), Some(mac_str(mac)));
}

#[test]
fn announcing_on_a_missing_interface_is_an_error() {
    if !require_root("keel-vip announce missing interface") {
        return;
    }
    let ns = Netns::new("annnone");
    let r = ns.enter(|| {
        Announcer::new().expect("socket").garp(
            9999,
            [2, 0, 0, 0, 0, 1],
            Ipv4Addr::new(192, 0, 2, 250),
        )
    });
    assert!(matches!(r, Err(Error::NoSuchIndex(9999))), "{r:?}");
}
