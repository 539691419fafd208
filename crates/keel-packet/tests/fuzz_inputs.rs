//! Replays the fuzz seeds (`fuzz/seeds/<target>/`) and the saved regression
//! inputs (`tests/regressions/<target>-*`) through the same oracle as the
//! fuzz targets (`fuzz/fuzz_targets/common.rs`): no panic; whatever parses
//! re-emits to the same length and parses back to the same repr.
#![allow(clippy::unwrap_used)]

use keel_packet::{ChecksumMode, Family, MCAST_V4, MCAST_V6, VrrpPacket, VrrpRepr, rx};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

const TARGETS: &[(&str, u8, bool)] = &[
    ("vrrp_v2", 2, false),
    ("vrrp_v3_ipv4", 3, false),
    ("vrrp_v3_ipv6", 3, true),
];

/// The oracle; returns how many checksum modes parsed the input.
fn check(data: &[u8], src: IpAddr, dst: IpAddr) -> usize {
    let view = VrrpPacket::new_unchecked(data);
    let _ = (
        view.version(),
        view.vrid(),
        view.priority(),
        view.adver_int_cs(),
    );
    let _ = (view.checksum(), view.auth_data(), view.reserved());
    let _ = (view.addrs(Family::V4), view.addrs(Family::V6));
    let _ = rx::split_ipv4(data);
    let Ok(p) = VrrpPacket::new_checked(data) else {
        return 0;
    };
    let mut parsed = 0;
    for mode in [
        ChecksumMode::Rfc,
        ChecksumMode::V3NoPseudoHeader,
        ChecksumMode::Ignore,
    ] {
        let Ok(r) = VrrpRepr::parse(&p, src, dst, mode) else {
            continue;
        };
        parsed += 1;
        assert_eq!(r.addrs.iter().count(), r.addrs.len());
        let mut out = vec![0u8; r.buffer_len()];
        r.emit(&mut out, src, dst, mode).unwrap();
        assert_eq!(out.len(), data.len());
        assert_eq!(VrrpRepr::parse_bytes(&out, src, dst, mode), Ok(r));
    }
    parsed
}

fn run(target: &str, data: &[u8]) -> usize {
    let &(_, version, v6) = TARGETS.iter().find(|t| t.0 == target).unwrap();
    let mut data = data.to_vec();
    if let Some(b) = data.first_mut() {
        *b = (version << 4) | (*b & 0x0f);
    }
    if v6 {
        let src = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1));
        check(&data, src, IpAddr::V6(MCAST_V6))
    } else {
        let src = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));
        check(&data, src, IpAddr::V4(MCAST_V4))
    }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.is_file());
    v.sort();
    v
}

#[test]
fn fuzz_seeds_parse_and_round_trip() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
    for (target, ..) in TARGETS {
        let seeds = files(&root.join(target));
        assert!(
            !seeds.is_empty(),
            "no seeds for {target} in {}",
            root.display()
        );
        let mut valid = 0;
        for s in &seeds {
            let data = std::fs::read(s).unwrap();
            if run(target, &data) > 0 {
                valid += 1;
            }
        }
        // Each target has at least one seed that is a valid advertisement, so
        // the fuzzer starts from the deep end.
        assert!(valid > 0, "{target}: no seed parses");
    }
}

#[test]
fn saved_regressions_do_not_fail() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    for f in files(&dir) {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".md") {
            continue;
        }
        let target = TARGETS
            .iter()
            .map(|t| t.0)
            .filter(|t| name.starts_with(&format!("{t}-")))
            .max_by_key(|t| t.len())
            .unwrap_or_else(|| panic!("{name}: file name must start with a target name"));
        run(target, &std::fs::read(&f).unwrap());
    }
}
