//! SIGHUP reloads: an unchanged file changes nothing (no state change, no
//! gap in adverts), a bad file leaves the old configuration running, and a
//! VIP added or removed changes exactly that VIP.
#![allow(clippy::unwrap_used, clippy::print_stderr)]
mod common;

use common::{AdvertLog, Daemon, KEELD, Lab, VIP, v3_conf};
use keel_testkit::require_root;
use std::time::{Duration, Instant};

fn fast_pair(tag: &str) -> Lab {
    let mut lab = Lab::new(tag, 2, KEELD);
    lab.write_conf(0, &v3_conf(100, ""));
    lab.write_conf(1, &v3_conf(99, ""));
    lab.start(0, Daemon::Keeld);
    let t = lab.wait(Duration::from_secs(3), |l| l.holds_vip(0));
    lab.check(t.is_some(), "node1 never became master");
    lab.start(1, Daemon::Keeld);
    std::thread::sleep(Duration::from_millis(700));
    lab.check(lab.state(1) == "BACKUP", "node2 BACKUP");
    lab
}

fn transitions(lab: &Lab, i: usize) -> u64 {
    lab.status(i)["instances"][0]["counters"]["master_transitions"]
        .as_u64()
        .unwrap()
}

#[test]
fn unchanged_and_bad_reloads_keep_running() {
    if !require_root("keeld reload (namespaces)") {
        return;
    }
    let lab = fast_pair("krl");
    let adverts = AdvertLog::start(&lab.client);
    std::thread::sleep(Duration::from_millis(500));
    let before = transitions(&lab, 0);
    let in_state = lab.status(0)["instances"][0]["in_state_s"]
        .as_f64()
        .unwrap();

    // Unchanged file.
    let t0 = Instant::now();
    lab.signal(0, "HUP");
    let ok = lab.wait(Duration::from_secs(2), |l| l.status(0)["reloads"] == 1);
    lab.check(ok.is_some(), "reload not counted");
    std::thread::sleep(Duration::from_millis(600));
    let t1 = Instant::now();
    let gap = adverts.max_gap("192.0.2.10", t0 - Duration::from_millis(300), t1);
    eprintln!(
        "unchanged reload: largest advert gap {} ms",
        gap.as_millis()
    );
    lab.check(
        gap < Duration::from_millis(190),
        &format!(
            "advert gap {} ms around an unchanged reload (advert_int 100 ms)",
            gap.as_millis()
        ),
    );
    lab.check(
        lab.state(0) == "MASTER" && lab.state(1) == "BACKUP",
        "states kept",
    );
    lab.check(transitions(&lab, 0) == before, "no new master transition");
    let in_state2 = lab.status(0)["instances"][0]["in_state_s"]
        .as_f64()
        .unwrap();
    lab.check(
        in_state2 > in_state,
        "state age keeps growing (no re-entry)",
    );
    lab.check(lab.holders() == vec![0], "VIP stays on node1 only");

    // Bad file: old configuration keeps running.
    lab.write_conf(0, "vrrp_instance VI_1 {\n  interface eth0\n  prioritty 5\n");
    let t2 = Instant::now();
    lab.signal(0, "HUP");
    let refused = lab.wait(Duration::from_secs(2), |l| {
        l.status(0)["reload_failures"] == 1
    });
    lab.check(refused.is_some(), "bad reload not counted as refused");
    std::thread::sleep(Duration::from_millis(500));
    let gap = adverts.max_gap("192.0.2.10", t2, Instant::now());
    lab.check(
        gap < Duration::from_millis(190),
        &format!("advert gap {} ms after a bad reload", gap.as_millis()),
    );
    lab.check(
        lab.state(0) == "MASTER",
        "node1 still MASTER after bad reload",
    );
    lab.check(lab.holders() == vec![0], "VIP still on node1");
    lab.check(
        lab.log(0).contains("keeping the running configuration"),
        "refusal logged",
    );
    lab.check(
        lab.log(0).contains("unknown keyword 'prioritty'"),
        "diagnostic logged",
    );
    lab.check(
        !lab.log(1).contains("Entering MASTER STATE"),
        "node2 never became master",
    );
}

fn addrs(lab: &Lab, i: usize) -> Vec<String> {
    let out = lab.nodes[i]
        .ns
        .run_ok(&["ip", "-j", "addr", "show", "dev", "eth0"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut a: Vec<String> = v[0]["addr_info"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["family"] == "inet")
        .map(|a| a["local"].as_str().unwrap().to_owned())
        .collect();
    a.sort();
    a
}

#[test]
fn vip_added_and_removed_by_reload() {
    if !require_root("keeld reload VIP change (namespaces)") {
        return;
    }
    let lab = fast_pair("krv");
    let before = transitions(&lab, 0);
    assert_eq!(addrs(&lab, 0), vec!["192.0.2.10", VIP]);
    let two = v3_conf(100, "").replace(
        &format!("    {VIP}\n"),
        &format!("    {VIP}\n    192.0.2.251\n"),
    );
    lab.write_conf(0, &two);
    lab.write_conf(
        1,
        &v3_conf(99, "").replace(
            &format!("    {VIP}\n"),
            &format!("    {VIP}\n    192.0.2.251\n"),
        ),
    );
    lab.signal(1, "HUP");
    lab.signal(0, "HUP");
    let added = lab.wait(Duration::from_secs(2), |l| addrs(l, 0).len() == 3);
    lab.check(added.is_some(), "192.0.2.251 was not added on node1");
    assert_eq!(addrs(&lab, 0), vec!["192.0.2.10", VIP, "192.0.2.251"]);
    assert_eq!(addrs(&lab, 1), vec!["192.0.2.11"], "backup adds nothing");
    std::thread::sleep(Duration::from_millis(500));
    lab.check(
        lab.state(0) == "MASTER" && lab.state(1) == "BACKUP",
        "states kept",
    );

    // Remove the original VIP: only it goes.
    let only = v3_conf(100, "").replace(&format!("    {VIP}\n"), "    192.0.2.251\n");
    lab.write_conf(0, &only);
    lab.write_conf(
        1,
        &v3_conf(99, "").replace(&format!("    {VIP}\n"), "    192.0.2.251\n"),
    );
    lab.signal(1, "HUP");
    lab.signal(0, "HUP");
    let removed = lab.wait(Duration::from_secs(2), |l| addrs(l, 0).len() == 2);
    lab.check(removed.is_some(), "192.0.2.250 was not removed");
    assert_eq!(addrs(&lab, 0), vec!["192.0.2.10", "192.0.2.251"]);
    std::thread::sleep(Duration::from_millis(500));
    lab.check(
        lab.state(0) == "MASTER" && lab.state(1) == "BACKUP",
        "states kept",
    );
    lab.check(transitions(&lab, 0) == before, "no new master transition");
    assert_eq!(addrs(&lab, 1), vec!["192.0.2.11"]);
}

#[test]
fn removed_master_resigns_with_priority_zero() {
    if !require_root("keeld reload removes an instance (namespaces)") {
        return;
    }
    let lab = fast_pair("krr");
    // node1's new file has another instance only: VI_1 must resign at once.
    let other = v3_conf(100, "")
        .replace("VI_1", "VI_9")
        .replace("virtual_router_id 51", "virtual_router_id 59")
        .replace(VIP, "192.0.2.159");
    lab.write_conf(0, &other);
    lab.signal(0, "HUP");
    let took = lab.wait(Duration::from_secs(1), |l| {
        l.holds_vip(1) && !l.holds_vip(0)
    });
    lab.check(
        took.is_some(),
        "node2 must take VI_1's VIP when node1 drops VI_1",
    );
    lab.check(
        lab.log(1)
            .contains("(VI_1) Backup received priority 0 advertisement"),
        "the removed master sent priority 0",
    );
    lab.check(
        lab.log(0)
            .contains("(VI_1) removed from the configuration: stopping"),
        "removal logged",
    );
    let st = lab.status(0);
    lab.check(
        st["instances"].as_array().unwrap().len() == 1 && st["instances"][0]["name"] == "VI_9",
        "node1 now runs VI_9 only",
    );
    let up = lab.wait(Duration::from_secs(2), |l| {
        l.nodes[0]
            .ns
            .run_ok(&["ip", "-o", "-4", "addr", "show", "dev", "eth0"])
            .contains("192.0.2.159/")
    });
    lab.check(
        up.is_some(),
        "the new instance becomes master and adds its VIP",
    );
}

/// A reload whose file takes long to parse (a 70 MB include) does not hold
/// up adverts: the parse runs off the event loop and the running
/// configuration keeps advertising meanwhile (issue 17, item 8).
#[test]
fn slow_parse_does_not_delay_adverts() {
    if !require_root("keeld slow reload (namespaces)") {
        return;
    }
    let mut lab = Lab::new("krs", 1, KEELD);
    lab.write_conf(0, &v3_conf(100, ""));
    lab.start(0, Daemon::Keeld);
    let t = lab.wait(Duration::from_secs(3), |l| l.holds_vip(0));
    lab.check(t.is_some(), "node1 never became master");
    let adverts = AdvertLog::start(&lab.client);
    std::thread::sleep(Duration::from_millis(500));
    // The same instance, plus an include of a million comment lines.
    let big = lab.dir.join("big.conf");
    let line = "# padding, only here to make the parse take a while ..............\n";
    std::fs::write(&big, line.repeat(1_000_000)).unwrap();
    let conf = format!("include {}\n{}", big.display(), v3_conf(100, ""));
    lab.write_conf(0, &conf);
    let t0 = Instant::now();
    lab.signal(0, "HUP");
    // (On a loop blocked by the parse the status socket does not answer.)
    let done = lab.wait(Duration::from_secs(60), |l| {
        l.nodes[0]
            .status(Duration::from_secs(1))
            .is_some_and(|s| s["reloads"] == 1)
    });
    lab.check(done.is_some(), "slow reload never finished");
    let t1 = Instant::now();
    eprintln!("slow reload took {} ms", (t1 - t0).as_millis());
    // The parse really was slow: otherwise this test proves nothing.
    lab.check(
        t1 - t0 > Duration::from_millis(400),
        &format!("the reload took only {} ms", (t1 - t0).as_millis()),
    );
    std::thread::sleep(Duration::from_millis(300));
    let gap = adverts.max_gap("192.0.2.10", t0, Instant::now());
    eprintln!("slow reload: largest advert gap {} ms", gap.as_millis());
    // A parse on the loop stops adverts for all of it (measured on the
    // commit before: gap 5,511 ms for a 5,566 ms reload); off the loop the
    // gap is scheduling noise, far below half the parse and below 1 s.
    lab.check(
        gap < (t1 - t0) / 2 && gap < Duration::from_secs(1),
        &format!(
            "advert gap {} ms during a {} ms reload (advert_int 100 ms)",
            gap.as_millis(),
            (t1 - t0).as_millis()
        ),
    );
    lab.check(lab.state(0) == "MASTER", "still MASTER after the reload");
    lab.check(lab.log(0).contains("Reload finished"), "reload finished");
}
