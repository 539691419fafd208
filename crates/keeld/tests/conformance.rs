//! UNH-IOL VRRP Operations Test Suite, cases VRRP.2.2 (Packet Reception in
//! the Backup State) and VRRP.2.5 (Packet Reception in the Master State) on
//! real kernels: RFC 3768 §6.4.2 / §6.4.3 say a Backup must not answer ARP
//! for the virtual addresses and the Master must. The guide's pair runs in
//! namespaces; the client flushes its neighbour table and pings the VIP
//! while tcpdump on the client records every ARP frame that speaks for the
//! VIP (a reply "VIP is-at MAC", or a gratuitous "who-has VIP tell VIP").
//! Only the Master's MAC may appear, before and after a graceful failover,
//! and every ping to the VIP is answered.
//! The election-side halves of these cases are in
//! `crates/keel-election/tests/conformance/`; see docs/conformance.md.
#![allow(clippy::unwrap_used, clippy::print_stderr)]
mod common;

use common::{Lab, Tcpdump, VIP, guide_pair};
use keel_testkit::{require_root, require_tool};
use std::collections::BTreeMap;
use std::time::Duration;

/// The MAC address of node `i`'s eth0.
fn mac(lab: &Lab, i: usize) -> String {
    let out = lab.nodes[i]
        .ns
        .run_ok(&["ip", "-j", "link", "show", "dev", "eth0"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v[0]["address"].as_str().unwrap().to_owned()
}

/// Make the client resolve the VIP 5 times (flush, ping) and check that
/// every ARP frame speaking for the VIP meanwhile came from `master` (5 at
/// least) and that all 5 pings to the VIP were answered.
fn only_answers(lab: &Lab, master: &str, what: &str) {
    let dump = Tcpdump::start(
        &lab.client,
        &["-l", "-e", "-i", "eth0", "arp"],
        &lab.dir.join(format!("arp-{what}.txt")),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let mut pongs = 0;
    for _ in 0..5 {
        lab.client.run(&["ip", "neigh", "flush", "dev", "eth0"]);
        if lab
            .client
            .run(&["ping", "-c", "1", "-W", "1", VIP])
            .status
            .success()
        {
            pongs += 1;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    let text = dump.stop();
    // Per source MAC, the ARP frames that spoke for the VIP. A line:
    // "1700000000.000000 02:aa:.. > ff:ff:..., ethertype ARP (0x0806), length 42: Reply 192.0.2.250 is-at 02:aa:.., length 28"
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for line in text.lines() {
        let speaks = line.contains(&format!("Reply {VIP} is-at"))
            || line.contains(&format!("who-has {VIP} tell {VIP}"));
        if speaks && let Some(src) = line.split_whitespace().nth(1) {
            *seen.entry(src.to_owned()).or_insert(0) += 1;
        }
    }
    eprintln!("{what}: Master {master}; ARP for the VIP from {seen:?}; {pongs}/5 pings answered");
    lab.check(
        seen.keys().all(|m| m == master),
        &format!("{what}: only the Master may answer for the VIP: {seen:?}"),
    );
    lab.check(
        seen.get(master).copied().unwrap_or(0) >= 5,
        &format!("{what}: the Master answered fewer than 5 times: {seen:?}"),
    );
    lab.check(
        pongs == 5,
        &format!("{what}: the VIP answered {pongs} of 5 pings"),
    );
}

#[test]
fn case_2_2_and_2_5_only_the_master_answers_arp_for_the_vip() {
    let what = "UNH-IOL VRRP.2.2/2.5 ARP (namespaces)";
    if !require_root(what) || !require_tool(what, "tcpdump") || !require_tool(what, "ping") {
        return;
    }
    let mut lab = guide_pair("kcf");
    std::thread::sleep(Duration::from_millis(1000));
    lab.check(lab.state(1) == "BACKUP", "node2 BACKUP");
    let (mac1, mac2) = (mac(&lab, 0), mac(&lab, 1));
    lab.check(mac1 != mac2, "distinct MACs");

    // node1 Master, node2 Backup: every answer is node1's.
    only_answers(&lab, &mac1, "node1 master");

    // Graceful stop: node2 becomes Master and is now the only one answering.
    lab.signal(0, "TERM");
    let code = lab.reap(0, Duration::from_secs(2));
    lab.check(code == Some(0), &format!("node1 exits 0, got {code:?}"));
    let took = lab.wait(Duration::from_secs(3), |l| l.holds_vip(1));
    lab.check(took.is_some(), "node2 never took the VIP");
    std::thread::sleep(Duration::from_millis(500));
    only_answers(&lab, &mac2, "node2 master after failover");
}
