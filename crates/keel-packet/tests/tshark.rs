//! tshark as an independent judge of the codec.
//!
//! Writes a pcap (Ethernet, hand-made IPv4/IPv6 headers with TTL/hop limit 255,
//! protocol 112, destination 224.0.0.18 / ff02::12) of packets emitted by
//! keel-packet — VRRPv2, VRRPv3 over IPv4 and IPv6, several address counts —
//! and asserts that `tshark -r` decodes every field as emitted with
//! `Checksum Status: Good` (and the IPv4 header checksum Good). tshark's
//! default already checks VRRPv3 checksums with the pseudo-header; with the
//! preference `vrrp.v3_checksum_as_in_v2:TRUE` it checks VRRPv3-over-IPv4
//! ones like VRRPv2, which judges [`ChecksumMode::V3NoPseudoHeader`]. A deliberately corrupted
//! packet must come out as Bad, so the judge is shown to be able to fail.

#![allow(clippy::unwrap_used)] // test helpers: a failure should panic

use keel_packet::{
    AddrList, Auth, ChecksumMode, MCAST_MAC_V4, MCAST_MAC_V6, MCAST_V4, MCAST_V6, Version,
    VrrpRepr, tx, virtual_mac,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let p =
            std::env::temp_dir().join(format!("keel-packet-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A classic little-endian pcap writer, LINKTYPE_ETHERNET.
struct Pcap {
    bytes: Vec<u8>,
    n: u32,
}

impl Pcap {
    fn new() -> Pcap {
        let mut b = Vec::new();
        b.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes()); // magic, µs timestamps
        b.extend_from_slice(&2u16.to_le_bytes()); // version 2.4
        b.extend_from_slice(&4u16.to_le_bytes());
        b.extend_from_slice(&0i32.to_le_bytes()); // thiszone
        b.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        b.extend_from_slice(&65535u32.to_le_bytes()); // snaplen
        b.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
        Pcap { bytes: b, n: 0 }
    }

    fn record(&mut self, frame: &[u8]) {
        self.n += 1;
        let len = u32::try_from(frame.len()).unwrap();
        self.bytes
            .extend_from_slice(&(1_700_000_000u32 + self.n).to_le_bytes());
        self.bytes.extend_from_slice(&0u32.to_le_bytes());
        self.bytes.extend_from_slice(&len.to_le_bytes());
        self.bytes.extend_from_slice(&len.to_le_bytes());
        self.bytes.extend_from_slice(frame);
    }
}

/// Ethernet + IP header + the VRRP message emitted by keel-packet.
fn frame(r: &VrrpRepr<'_>, src: IpAddr, mode: ChecksumMode) -> Vec<u8> {
    let mut vrrp = vec![0u8; r.buffer_len()];
    let dst = match src {
        IpAddr::V4(_) => IpAddr::V4(MCAST_V4),
        IpAddr::V6(_) => IpAddr::V6(MCAST_V6),
    };
    r.emit(&mut vrrp, src, dst, mode).unwrap();
    let mut f = Vec::new();
    match src {
        IpAddr::V4(s) => {
            f.extend_from_slice(&MCAST_MAC_V4);
            f.extend_from_slice(&virtual_mac(r.vrid, false));
            f.extend_from_slice(&[0x08, 0x00]);
            let mut ip = [0u8; tx::IPV4_HEADER_LEN];
            tx::emit_ipv4_header(&mut ip, s, MCAST_V4, vrrp.len(), 7).unwrap();
            f.extend_from_slice(&ip);
        }
        IpAddr::V6(s) => {
            f.extend_from_slice(&MCAST_MAC_V6);
            f.extend_from_slice(&virtual_mac(r.vrid, true));
            f.extend_from_slice(&[0x86, 0xdd]);
            f.extend_from_slice(&[0x60, 0, 0, 0]);
            f.extend_from_slice(&u16::try_from(vrrp.len()).unwrap().to_be_bytes());
            f.extend_from_slice(&[112, 255]);
            f.extend_from_slice(&s.octets());
            f.extend_from_slice(&MCAST_V6.octets());
        }
    }
    f.extend_from_slice(&vrrp);
    f
}

const FIELDS: &[&str] = &[
    "frame.number",
    "ip.ttl",
    "ip.proto",
    "ip.checksum.status",
    "ipv6.hlim",
    "ipv6.nxt",
    "vrrp.version",
    "vrrp.type",
    "vrrp.virt_rtr_id",
    "vrrp.prio",
    "vrrp.addr_count",
    "vrrp.auth_type",
    "vrrp.adver_int",
    "vrrp.short_adver_int",
    "vrrp.checksum",
    "vrrp.checksum.status",
    "vrrp.ip_addr",
    "vrrp.ipv6_addr",
    "vrrp.auth_string",
];

/// Run tshark over `pcap` with extra `-o` preferences; one map per frame.
fn tshark(pcap: &Path, prefs: &[&str]) -> Vec<std::collections::HashMap<String, String>> {
    let mut argv: Vec<String> = vec![
        "tshark".into(),
        "-n".into(),
        "-r".into(),
        pcap.display().to_string(),
        "-o".into(),
        "ip.check_checksum:TRUE".into(),
    ];
    for p in prefs {
        argv.push("-o".into());
        argv.push((*p).into());
    }
    argv.extend(
        [
            "-T",
            "fields",
            "-E",
            "separator=|",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=,",
        ]
        .map(String::from),
    );
    for f in FIELDS {
        argv.push("-e".into());
        argv.push((*f).into());
    }
    let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
    let out = keel_testkit::sh_ok(&refs);
    out.lines()
        .map(|line| {
            FIELDS
                .iter()
                .zip(line.split('|'))
                .map(|(k, v)| ((*k).to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

fn num(s: &str) -> u64 {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).unwrap_or_else(|e| panic!("{s:?}: {e}")),
        None => s.parse().unwrap_or_else(|e| panic!("{s:?}: {e}")),
    }
}

/// Checksum status values of Wireshark's `proto_checksum_enum_e`.
const STATUS_BAD: u64 = 0;
const STATUS_GOOD: u64 = 1;

struct Case {
    repr_v4: Vec<Ipv4Addr>,
    repr_v6: Vec<Ipv6Addr>,
    version: Version,
    vrid: u8,
    priority: u8,
    adver_int: u16,
    auth: Auth,
    src: IpAddr,
}

impl Case {
    fn repr(&self) -> VrrpRepr<'_> {
        VrrpRepr {
            version: self.version,
            vrid: self.vrid,
            priority: self.priority,
            adver_int: self.adver_int,
            auth: self.auth,
            addrs: if self.src.is_ipv4() {
                AddrList::V4(&self.repr_v4)
            } else {
                AddrList::V6(&self.repr_v6)
            },
        }
    }
}

fn cases() -> Vec<Case> {
    let v4 = |n: usize| -> Vec<Ipv4Addr> {
        (0..n)
            .map(|i| Ipv4Addr::new(192, 0, 2, 200u8.wrapping_add(i as u8)))
            .collect()
    };
    let v6 = |n: usize| -> Vec<Ipv6Addr> {
        (0..n)
            .map(|i| Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100 + i as u16))
            .collect()
    };
    let s4 = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));
    let s6: IpAddr = "fe80::5054:ff:fe12:3456".parse().unwrap();
    let mut c = Vec::new();
    for (i, (n, auth)) in [
        (1, Auth::simple_text(b"123.123")),
        (0, Auth::None),
        (2, Auth::None),
        (5, Auth::simple_text(b"secret12")),
        (20, Auth::None),
    ]
    .into_iter()
    .enumerate()
    {
        c.push(Case {
            repr_v4: v4(n),
            repr_v6: vec![],
            version: Version::V2,
            vrid: 51 + i as u8,
            priority: [100, 0, 255, 99, 1][i],
            adver_int: [100, 200, 500, 25500, 100][i],
            auth,
            src: s4,
        });
    }
    for (i, n) in [1usize, 0, 3, 16].into_iter().enumerate() {
        c.push(Case {
            repr_v4: v4(n),
            repr_v6: vec![],
            version: Version::V3,
            vrid: 10 + i as u8,
            priority: [100, 0, 254, 150][i],
            adver_int: [10, 100, 4095, 1][i],
            auth: Auth::None,
            src: s4,
        });
    }
    for (i, n) in [1usize, 2, 8, 0].into_iter().enumerate() {
        c.push(Case {
            repr_v4: vec![],
            repr_v6: v6(n),
            version: Version::V3,
            vrid: 200 + i as u8,
            priority: [100, 99, 255, 0][i],
            adver_int: [100, 50, 4095, 1][i],
            auth: Auth::None,
            src: s6,
        });
    }
    c
}

fn assert_decoded(case: &Case, row: &std::collections::HashMap<String, String>) {
    let r = case.repr();
    let what = format!("frame {} ({:?} from {})", row["frame.number"], r, case.src);
    let f = |k: &str| row[k].as_str();
    if case.src.is_ipv4() {
        assert_eq!(num(f("ip.ttl")), 255, "{what}");
        assert_eq!(num(f("ip.proto")), 112, "{what}");
        assert_eq!(
            num(f("ip.checksum.status")),
            STATUS_GOOD,
            "IPv4 header checksum: {what}"
        );
    } else {
        assert_eq!(num(f("ipv6.hlim")), 255, "{what}");
        assert_eq!(num(f("ipv6.nxt")), 112, "{what}");
    }
    assert_eq!(
        num(f("vrrp.version")),
        u64::from(r.version.number()),
        "{what}"
    );
    assert_eq!(num(f("vrrp.type")), 1, "{what}");
    assert_eq!(num(f("vrrp.virt_rtr_id")), u64::from(r.vrid), "{what}");
    assert_eq!(num(f("vrrp.prio")), u64::from(r.priority), "{what}");
    assert_eq!(num(f("vrrp.addr_count")), r.addrs.len() as u64, "{what}");
    match r.version {
        Version::V2 => {
            assert_eq!(num(f("vrrp.auth_type")), u64::from(r.auth.kind()), "{what}");
            assert_eq!(
                num(f("vrrp.adver_int")) * 100,
                u64::from(r.adver_int),
                "{what}"
            );
            if let Auth::SimpleText(k) = r.auth {
                let text: String = k
                    .iter()
                    .take_while(|b| **b != 0)
                    .map(|b| char::from(*b))
                    .collect();
                assert_eq!(f("vrrp.auth_string"), text, "{what}");
            }
        }
        Version::V3 => {
            assert_eq!(
                num(f("vrrp.short_adver_int")),
                u64::from(r.adver_int),
                "{what}"
            );
        }
    }
    let key = if case.src.is_ipv4() {
        "vrrp.ip_addr"
    } else {
        "vrrp.ipv6_addr"
    };
    let got: Vec<IpAddr> = f(key)
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap_or_else(|e| panic!("{s:?}: {e} in {what}")))
        .collect();
    let want: Vec<IpAddr> = r.addrs.iter().collect();
    assert_eq!(got, want, "{what}");
    assert_eq!(
        num(f("vrrp.checksum.status")),
        STATUS_GOOD,
        "VRRP checksum: {what}"
    );
}

#[test]
fn tshark_decodes_emitted_packets() {
    if !keel_testkit::require_tool("keel-packet tshark judge", "tshark") {
        return;
    }
    let dir = TempDir::new("tshark");
    let cases = cases();

    // 1. RFC checksums, judged with tshark's defaults.
    let mut pcap = Pcap::new();
    for c in &cases {
        pcap.record(&frame(&c.repr(), c.src, ChecksumMode::Rfc));
    }
    // A corrupted copy of the first packet: the judge must call it Bad.
    let mut bad = frame(&cases[0].repr(), cases[0].src, ChecksumMode::Rfc);
    let last = bad.len() - 1;
    bad[last] ^= 0x01;
    pcap.record(&bad);
    let path = dir.0.join("rfc.pcap");
    std::fs::write(&path, &pcap.bytes).unwrap();
    let rows = tshark(&path, &[]);
    assert_eq!(rows.len(), cases.len() + 1, "one decoded row per frame");
    for (c, row) in cases.iter().zip(&rows) {
        assert_decoded(c, row);
    }
    assert_eq!(
        num(&rows[cases.len()]["vrrp.checksum.status"]),
        STATUS_BAD,
        "a corrupted packet must be Bad"
    );

    // 2. VRRPv3 over IPv4 "checksum as in v2": Good only with tshark's
    //    matching preference (which, like keel's mode, concerns IPv4 only).
    let v3: Vec<&Case> = cases
        .iter()
        .filter(|c| c.version == Version::V3 && c.src.is_ipv4())
        .collect();
    let mut pcap = Pcap::new();
    for c in &v3 {
        pcap.record(&frame(&c.repr(), c.src, ChecksumMode::V3NoPseudoHeader));
    }
    let path = dir.0.join("v3-as-v2.pcap");
    std::fs::write(&path, &pcap.bytes).unwrap();
    let rows = tshark(&path, &["vrrp.v3_checksum_as_in_v2:TRUE"]);
    assert_eq!(rows.len(), v3.len());
    for (c, row) in v3.iter().zip(&rows) {
        assert_decoded(c, row);
    }
    let rows = tshark(&path, &[]);
    assert_eq!(rows.len(), v3.len());
    for row in &rows {
        assert_eq!(
            num(&row["vrrp.checksum.status"]),
            STATUS_BAD,
            "without the preference tshark wants the pseudo-header: frame {}",
            row["frame.number"]
        );
    }
}
