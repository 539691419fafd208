//! Shared by the namespace tests: real servers to check.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The servers' address in the tests' namespaces.
pub const SRV: &str = "192.0.2.2";

/// dnsmasq in namespace `ns` on SRV:53, answering `example.org` with 192.0.2.99 (and
/// nothing else: no upstream, no hosts file). Returns once it listens.
pub fn dnsmasq(ns: &str) -> Child {
    let child = Command::new("ip")
        .args(["netns", "exec", ns, "dnsmasq"])
        .args([
            "--keep-in-foreground",
            "--no-resolv",
            "--no-hosts",
            "--conf-file=/dev/null",
            "--pid-file",
            "--bind-interfaces",
            &format!("--listen-address={SRV}"),
            "--address=/example.org/192.0.2.99",
            "--user=root",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dnsmasq");
    let bound = keel_testkit::wait_until(Duration::from_secs(10), || {
        let out = keel_testkit::sh(&[
            "ip", "netns", "exec", ns, "ss", "-Hlun", "sport", "=", ":53",
        ]);
        !out.stdout.is_empty()
    });
    assert!(bound.is_some(), "dnsmasq did not bind port 53");
    child
}
