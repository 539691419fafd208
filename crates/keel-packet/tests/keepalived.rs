//! Real keepalived 2.x on the wire as the reference: run keepalived in a
//! throw-away network namespace with a VRRPv2/IPv4 (PASS auth), a
//! VRRPv3/IPv4 (two VIPs) and a VRRPv3/IPv6 instance, capture its
//! advertisements with tcpdump from a peer namespace, stop it with SIGTERM
//! (priority-0 adverts), and check that keel-packet
//!
//! * accepts every captured advertisement's IP header (`rx::check`),
//! * parses it with RFC checksums (IPv6 ones included: the golden vectors in
//!   the notes are IPv4 only) to exactly the configured fields, and
//! * re-emits byte-identical messages.
#![allow(clippy::unwrap_used)] // test helpers: a failure should panic

mod common;

use common::{ip_payload, pcap_frames};
use keel_packet::rx::{self, Delivery};
use keel_packet::{Auth, ChecksumMode, Version, VrrpPacket, VrrpRepr};
use keel_testkit::{Netns, require_root, require_tool};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

const CONF: &str = r#"
global_defs {
    router_id keel_packet_test
}
vrrp_instance KV2 {
    state MASTER
    interface ka
    virtual_router_id 51
    priority 100
    advert_int 1
    version 2
    authentication {
        auth_type PASS
        auth_pass 123.123
    }
    virtual_ipaddress {
        192.0.2.250/24
    }
}
vrrp_instance KV3 {
    state MASTER
    interface ka
    virtual_router_id 52
    priority 150
    advert_int 0.5
    version 3
    virtual_ipaddress {
        192.0.2.251/24
        192.0.2.252/24
    }
}
vrrp_instance KV6 {
    state MASTER
    interface ka
    virtual_router_id 53
    priority 200
    advert_int 0.3
    version 3
    virtual_ipaddress {
        2001:db8::53/64
    }
}
"#;

/// What each instance must put on the wire: vrid -> (version, priority,
/// interval in cs, auth, VIPs).
fn expected() -> BTreeMap<u8, (Version, u8, u16, Auth, Vec<IpAddr>)> {
    let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
    BTreeMap::from([
        (
            51,
            (
                Version::V2,
                100,
                100,
                Auth::simple_text(b"123.123"),
                vec![ip("192.0.2.250")],
            ),
        ),
        (
            52,
            (
                Version::V3,
                150,
                50,
                Auth::None,
                vec![ip("192.0.2.251"), ip("192.0.2.252")],
            ),
        ),
        (
            53,
            (Version::V3, 200, 30, Auth::None, vec![ip("2001:db8::53")]),
        ),
    ])
}

#[test]
fn keepalived_adverts_parse_verify_and_reemit() {
    if !require_root("keel-packet vs keepalived on the wire")
        || !require_tool("keel-packet vs keepalived on the wire", "keepalived")
        || !require_tool("keel-packet vs keepalived on the wire", "tcpdump")
    {
        return;
    }
    let node = Netns::new("kpk");
    let peer = Netns::new("kpp");
    for ns in [&node, &peer] {
        // No duplicate address detection: link-local sources are usable at once.
        ns.run_ok(&["sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0"]);
        ns.run_ok(&["sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0"]);
    }
    node.veth_to(&peer, "ka", "kb");
    node.run_ok(&["ip", "addr", "add", "192.0.2.10/24", "dev", "ka"]);
    peer.run_ok(&["ip", "addr", "add", "192.0.2.20/24", "dev", "kb"]);

    let dir = std::env::temp_dir().join(format!("keel-packet-ka-{}", node.name()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("keepalived.conf");
    std::fs::write(&conf, CONF).unwrap();
    let pcap = dir.join("adverts.pcap");
    let path = |p: &std::path::Path| p.display().to_string();

    // Capture first, for longer than keepalived will run.
    let mut dump = peer
        .command(&[
            "timeout",
            "12",
            "tcpdump",
            "-q",
            "-U",
            "-i",
            "kb",
            "-w",
            &path(&pcap),
            "ip proto 112 or ip6 proto 112",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let mut ka = node
        .command(&[
            "keepalived",
            "-n",
            "-l",
            "-P",
            "-G",
            "-f",
            &path(&conf),
            "-p",
            &path(&dir.join("keepalived.pid")),
            "-r",
            &path(&dir.join("vrrp.pid")),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // BACKUP first, master-down timer (<= 3.61 s), then adverts.
    std::thread::sleep(Duration::from_millis(6500));
    // SIGTERM: keepalived sends priority-0 adverts as it leaves MASTER.
    let _ = Command::new("kill")
        .args(["-TERM", &ka.id().to_string()])
        .status();
    let _ = ka.wait();
    std::thread::sleep(Duration::from_millis(500));
    let _ = Command::new("kill")
        .args(["-INT", &dump.id().to_string()])
        .status();
    let _ = dump.wait();

    let bytes = std::fs::read(&pcap).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let want = expected();
    // vrid -> (adverts seen, priority-0 adverts seen)
    let mut seen: BTreeMap<u8, (usize, usize)> = BTreeMap::new();
    for frame in pcap_frames(&bytes) {
        let Some((meta, payload)) = ip_payload(frame) else {
            continue;
        };
        rx::check(&meta, Delivery::Multicast)
            .unwrap_or_else(|e| panic!("IP header of {meta:?} rejected: {e}"));
        if let IpAddr::V6(s) = meta.src {
            assert!(
                s.is_unicast_link_local(),
                "IPv6 adverts come from link-local, got {s}"
            );
        }
        let p = VrrpPacket::new_checked(payload).unwrap();
        assert!(
            p.verify_checksum(meta.src, meta.dst),
            "checksum of {payload:02x?}"
        );
        let r = VrrpRepr::parse(&p, meta.src, meta.dst, ChecksumMode::Rfc)
            .unwrap_or_else(|e| panic!("parse {payload:02x?} from {}: {e}", meta.src));
        let (version, prio, adv, auth, vips) = want
            .get(&r.vrid)
            .unwrap_or_else(|| panic!("unexpected VRID {}", r.vrid));
        assert_eq!(r.version, *version, "VRID {}", r.vrid);
        assert!(
            r.priority == *prio || r.priority == 0,
            "VRID {} priority {}",
            r.vrid,
            r.priority
        );
        assert_eq!(r.adver_int, *adv, "VRID {}", r.vrid);
        assert_eq!(r.auth, *auth, "VRID {}", r.vrid);
        let mut got: Vec<IpAddr> = r.addrs.iter().collect();
        got.sort();
        assert_eq!(&got, vips, "VRID {}", r.vrid);
        let mut out = vec![0u8; r.buffer_len()];
        r.emit(&mut out, meta.src, meta.dst, ChecksumMode::Rfc)
            .unwrap();
        assert_eq!(
            out, payload,
            "re-emitted VRID {} differs from keepalived's bytes",
            r.vrid
        );
        let e = seen.entry(r.vrid).or_default();
        e.0 += 1;
        if r.priority == 0 {
            e.1 += 1;
        }
    }
    for vrid in want.keys() {
        let (n, zero) = seen.get(vrid).copied().unwrap_or_default();
        assert!(n >= 2, "VRID {vrid}: only {n} adverts captured ({seen:?})");
        assert!(
            zero >= 1,
            "VRID {vrid}: no priority-0 advert after SIGTERM ({seen:?})"
        );
    }
}
