//! Installs the Debian packages the test tiers need, when they are missing.
use crate::util::{is_root, run, step};
use anyhow::Result;
use std::process::Command;

/// (package, a file it installs that tells whether it is present)
pub const TEST_PACKAGES: &[(&str, &str)] = &[
    ("tshark", "/usr/bin/tshark"),
    ("tcpdump", "/usr/bin/tcpdump"),
    ("keepalived", "/usr/sbin/keepalived"),
    ("ipvsadm", "/usr/sbin/ipvsadm"),
    ("iputils-ping", "/usr/bin/ping"),
    ("nftables", "/usr/sbin/nft"),
    ("qemu-system-x86", "/usr/bin/qemu-system-x86_64"),
    ("busybox-static", "/bin/busybox"),
    // the IPVS VM build: xz unpacks the kernel image (vmlinuz -> vmlinux)
    ("xz-utils", "/usr/bin/xz"),
];

/// Install every package of `pkgs` whose marker file is missing.
pub fn ensure(pkgs: &[(&str, &str)]) -> Result<()> {
    let missing: Vec<&str> = pkgs
        .iter()
        .filter(|(_, f)| !std::path::Path::new(f).exists())
        .map(|(p, _)| *p)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    step(&format!(
        "installing missing Debian packages: {}",
        missing.join(" ")
    ));
    if !is_root() {
        eprintln!("    not root: cannot install them; the tiers that need them will skip");
        return Ok(());
    }
    run(Command::new("apt-get").args(["update", "-q"]))?;
    run(Command::new("apt-get")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(&missing))?;
    Ok(())
}
