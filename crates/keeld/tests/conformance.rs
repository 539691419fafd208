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

use common::{Daemon, KEELD, Lab, VIP, guide_conf};
use keel_testkit::{require_root, require_tool};
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The MAC address of node `i`'s eth0.
fn mac(lab: &Lab, i: usize) -> String {
    let out = lab.nodes[i]
        .ns
        .run_ok(&["ip", "-j", "link", "show", "dev", "eth0"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v[0]["address"].as_str().unwrap().to_owned()
}

/// Make the client resolve the VIP `rounds` times (flush, ping) and return,
/// per source MAC, how many ARP frames spoke for the VIP meanwhile, and how
/// many pings to the VIP were answered.
fn who_answers(lab: &Lab, rounds: usize) -> (BTreeMap<String, usize>, usize) {
    let dump = lab
        .client
        .command(&["tcpdump", "-l", "-n", "-e", "-i", "eth0", "arp"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let mut pongs = 0;
    for _ in 0..rounds {
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
    let _ = Command::new("kill")
        .args(["-INT", &dump.id().to_string()])
        .status();
    let out = dump.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut seen = BTreeMap::new();
    for line in text.lines() {
        // "12:00:00.000000 02:aa:.. > ff:ff:..., ethertype ARP (0x0806), length 42: Reply 192.0.2.250 is-at 02:aa:.., length 28"
        let speaks = line.contains(&format!("Reply {VIP} is-at"))
            || line.contains(&format!("who-has {VIP} tell {VIP}"));
        if speaks && let Some(src) = line.split_whitespace().nth(1) {
            *seen.entry(src.to_owned()).or_insert(0) += 1;
        }
    }
    (seen, pongs)
}

#[test]
fn case_2_2_and_2_5_only_the_master_answers_arp_for_the_vip() {
    let what = "UNH-IOL VRRP.2.2/2.5 ARP (namespaces)";
    if !require_root(what) || !require_tool(what, "tcpdump") || !require_tool(what, "ping") {
        return;
    }
    let mut lab = Lab::new("kcf", 2, KEELD);
    lab.write_conf(0, &guide_conf(true));
    lab.write_conf(1, &guide_conf(false));
    lab.start(0, Daemon::Keeld);
    lab.start(1, Daemon::Keeld);
    let t = lab.wait(Duration::from_secs(8), |l| l.holds_vip(0));
    lab.check(t.is_some(), "node1 never took the VIP");
    std::thread::sleep(Duration::from_millis(1000));
    lab.check(lab.state(1) == "BACKUP", "node2 BACKUP");
    let (mac1, mac2) = (mac(&lab, 0), mac(&lab, 1));
    lab.check(mac1 != mac2, "distinct MACs");

    // node1 Master, node2 Backup: every answer is node1's, one per round at least.
    let (seen, pongs) = who_answers(&lab, 5);
    eprintln!("master node1 {mac1}, backup node2 {mac2}: {seen:?}, {pongs}/5 pings answered");
    lab.check(pongs == 5, &format!("the VIP answered {pongs} of 5 pings"));
    lab.check(
        seen.keys().all(|m| *m == mac1),
        &format!("only the Master may answer for the VIP: {seen:?}"),
    );
    lab.check(
        seen.get(&mac1).copied().unwrap_or(0) >= 5,
        &format!("the Master answered fewer than 5 times: {seen:?}"),
    );

    // Graceful stop: node2 becomes Master and is now the only one answering.
    lab.signal(0, "TERM");
    let code = lab.reap(0, Duration::from_secs(2));
    lab.check(code == Some(0), &format!("node1 exits 0, got {code:?}"));
    let took = lab.wait(Duration::from_secs(3), |l| l.holds_vip(1));
    lab.check(took.is_some(), "node2 never took the VIP");
    std::thread::sleep(Duration::from_millis(500));
    let (seen, pongs) = who_answers(&lab, 5);
    eprintln!("after failover, master node2 {mac2}: {seen:?}, {pongs}/5 pings answered");
    lab.check(pongs == 5, &format!("the VIP answered {pongs} of 5 pings"));
    lab.check(
        seen.keys().all(|m| *m == mac2),
        &format!("only the new Master may answer for the VIP: {seen:?}"),
    );
    lab.check(
        seen.get(&mac2).copied().unwrap_or(0) >= 5,
        &format!("the new Master answered fewer than 5 times: {seen:?}"),
    );
}
