//! The namespace lab shared by `cargo xtask demo` and `cargo xtask bench failover`
//! (and the measuring helpers `bench scale` uses too): the guide's two nodes and a
//! client on a bridge, the guide's configuration mapped onto them, and the daemon
//! under test.
use crate::util::root;
use anyhow::{Context, Result};
use keel_testkit::Netns;
use keel_testkit::probe::Responder;
use std::path::Path;

/// The VIP of the guide's configuration, mapped onto 192.0.2.0/24.
pub const VIP: &str = "192.0.2.250";
/// The UDP port the nodes' responders answer probes on.
pub const PORT: u16 = 9000;

/// Which VRRP daemon a lab runs.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Daemon {
    Keeld,
    Keepalived,
}

impl Daemon {
    pub fn name(self) -> &'static str {
        match self {
            Daemon::Keeld => "keeld",
            Daemon::Keepalived => "keepalived",
        }
    }
}

/// The guide's configuration with only the interface renamed to `eth0` and its
/// 192.168.161.0/24 addresses mapped onto 192.0.2.0/24.
pub fn adapt_guide_conf(text: &str) -> String {
    text.replace("ens33", "eth0")
        .replace("192.168.161.250", VIP)
        .replace("192.168.161.", "192.0.2.")
}

/// Write `node1.conf` (the guide's master) and `node2.conf` (its backup) into `dir`.
pub fn write_guide_confs(dir: &Path) -> Result<()> {
    for (i, f) in ["hot-standby-master.conf", "hot-standby-backup.conf"]
        .iter()
        .enumerate()
    {
        let src = root().join("docs/examples/guide").join(f);
        let text =
            std::fs::read_to_string(&src).with_context(|| format!("reading {}", src.display()))?;
        std::fs::write(
            dir.join(format!("node{}.conf", i + 1)),
            adapt_guide_conf(&text),
        )?;
    }
    Ok(())
}

/// node1 (192.0.2.10), node2 (192.0.2.11) and a client (192.0.2.100), each with an
/// `eth0` on a bridge that lives in its own namespace, and a probe responder on
/// each node answering with its name.
#[derive(Debug)]
pub struct GuidePair {
    pub switch: Netns,
    pub nodes: [Netns; 2],
    pub client: Netns,
    pub responders: Vec<Responder>,
}

impl GuidePair {
    /// Build it; namespace names start with `tag`.
    pub fn new(tag: &str) -> GuidePair {
        let switch = Netns::new(&format!("{tag}-sw"));
        let nodes = [
            Netns::new(&format!("{tag}-n1")),
            Netns::new(&format!("{tag}-n2")),
        ];
        let client = Netns::new(&format!("{tag}-c"));
        switch.bridge(
            "br0",
            &[(&nodes[0], "eth0"), (&nodes[1], "eth0"), (&client, "eth0")],
        );
        for (ns, ip) in [
            (&nodes[0], "192.0.2.10/24"),
            (&nodes[1], "192.0.2.11/24"),
            (&client, "192.0.2.100/24"),
        ] {
            ns.run_ok(&["ip", "addr", "add", ip, "dev", "eth0"]);
        }
        let responders = vec![
            Responder::start(&nodes[0], PORT, "node1"),
            Responder::start(&nodes[1], PORT, "node2"),
        ];
        GuidePair {
            switch,
            nodes,
            client,
            responders,
        }
    }
}

/// CPU time of processes `pids` (all their threads), in nanoseconds, from
/// /proc/PID/task/TID/schedstat (finer than the 10 ms tick counters).
pub fn cpu_ns(pids: &[String]) -> u64 {
    let mut total = 0;
    for p in pids {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) else {
            continue;
        };
        for t in tasks.flatten() {
            if let Ok(st) = std::fs::read_to_string(t.path().join("schedstat")) {
                total += st
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    total
}
