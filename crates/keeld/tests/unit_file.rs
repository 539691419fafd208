//! The systemd unit shipped in dist/: its sandbox measured by systemd's own
//! yardstick (`systemd-analyze security`, issue 17 item 15: 6.8 before, target
//! at most 3.0), and its pid file putting the status socket where `keeld status`
//! looks by default.
#![allow(clippy::unwrap_used)]

use keel_testkit::require_tool;
use std::process::Command;

const UNIT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/dist/keeld.service");

#[test]
fn unit_exposure_is_at_most_3() {
    if !require_tool("systemd-analyze security", "systemd-analyze") {
        return;
    }
    let out = Command::new("systemd-analyze")
        .args([
            "security",
            "--offline=true",
            "--threshold=30",
            "--no-pager",
            UNIT,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let level: f64 = text
        .lines()
        .find_map(|l| l.split_once("Overall exposure level for keeld.service:"))
        .and_then(|(_, r)| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
    assert!(level <= 3.0, "exposure {level} > 3.0:\n{text}");
    assert!(out.status.success(), "{text}");
}

#[test]
fn unit_uses_its_runtime_directory() {
    let unit = std::fs::read_to_string(UNIT).unwrap();
    assert!(unit.contains("\nRuntimeDirectory=keeld\n"), "{unit}");
    assert!(unit.contains("\nUMask=0077\n"), "{unit}");
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap();
    assert!(exec.contains("--pid /run/keeld/keeld.pid"), "{exec}");
}
