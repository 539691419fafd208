//! Installs the Debian packages the test tiers need, when they are missing.
use anyhow::Result;

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
    // keel-check's DNS_CHECK test: a real DNS server in a namespace
    ("dnsmasq-base", "/usr/sbin/dnsmasq"),
    // the IPVS VM build: xz unpacks the kernel image (vmlinuz -> vmlinux)
    ("xz-utils", "/usr/bin/xz"),
    // keeld's unit file test: systemd-analyze security measures the sandbox
    ("systemd", "/usr/bin/systemd-analyze"),
    // keel-anycast: each backend against its real BGP speaker
    ("gobgpd", "/usr/bin/gobgpd"),
    ("bird2", "/usr/sbin/bird"),
    ("exabgp", "/usr/sbin/exabgp"),
];

/// Install every package of `pkgs` whose marker file is missing.
pub fn ensure(pkgs: &[(&str, &str)]) -> Result<()> {
    keel_lab::host::ensure_packages(pkgs)
}
