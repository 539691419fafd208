//! Add and remove a VIP in the kernel with [`Netlink`]. Needs root (run it as root).
//!
//! ```sh
//! cargo run -p keel-vip --example netlink_vip
//! ```
//!
//! To leave the machine's own network alone, the example makes a throw-away
//! network namespace (`keel_testkit::Netns`, deleted on exit) with a veth
//! pair `veth0` (192.0.2.10/24) / `peer0`, and does the work on a thread
//! that has joined it. In a daemon you would simply call the same code in the current
//! namespace. Without root it prints one line and exits 0.
use keel_testkit::Netns;
use keel_vip::{Netlink, Vip, VipControl, link_by_name, stamps_supported};
use std::net::Ipv4Addr;

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// Runs inside the namespace: the rtnetlink socket belongs to it.
fn demo() -> Result<Vec<String>, keel_vip::Error> {
    let mut out = Vec::new();
    let link = link_by_name("veth0")?;
    out.push(format!(
        "veth0 is ifindex {}, up {}, mac {:02x?}",
        link.index, link.up, link.mac
    ));
    let mut nl = Netlink::new()?;
    let vip = Vip::new(Ipv4Addr::new(192, 0, 2, 250).into(), link.index);
    out.push(format!(
        "add {}/{}: {:?}",
        vip.addr,
        vip.prefix_len,
        nl.add(&vip)?
    ));
    out.push(format!("add again: {:?}", nl.add(&vip)?));
    let listed: Vec<String> = nl
        .list(Some(link.index))?
        .iter()
        .map(|v| format!("{}/{}", v.addr, v.prefix_len))
        .collect();
    out.push(format!("addresses on veth0: {listed:?}"));
    let stamped: Vec<String> = nl
        .list_stamped(Some(link.index))?
        .iter()
        .map(|v| v.addr.to_string())
        .collect();
    out.push(format!(
        "stamped as keel's (kernel >= 5.18: {}): {stamped:?}",
        stamps_supported()
    ));
    out.push(format!("del: {:?}", nl.del(&vip)?));
    out.push(format!("del again: {:?}", nl.del(&vip)?));
    Ok(out)
}

fn main() {
    if !is_root() {
        println!("netlink_vip: needs root (network namespace, rtnetlink); skipped");
        return;
    }
    let ns = Netns::new("vip-example");
    ns.run_ok(&[
        "ip", "link", "add", "veth0", "type", "veth", "peer", "name", "peer0",
    ]);
    ns.run_ok(&["ip", "link", "set", "peer0", "up"]);
    ns.run_ok(&["ip", "addr", "add", "192.0.2.10/24", "dev", "veth0"]);
    ns.run_ok(&["ip", "link", "set", "veth0", "up"]);
    println!("namespace {}", ns.name());
    match ns.enter(demo) {
        Ok(lines) => lines.iter().for_each(|l| println!("  {l}")),
        Err(e) => {
            println!("  error: {e}");
            std::process::exit(1);
        }
    }
    print!(
        "  ip -4 addr show dev veth0 afterwards:\n{}",
        ns.run_ok(&["ip", "-4", "-o", "addr", "show", "dev", "veth0"])
    );
}
