//! Issue 20: Prometheus metrics from two keeld nodes in namespaces, over HTTP
//! (`keel_metrics_listen`) and the status socket (`keeld status --metrics`):
//! keepalived-exporter's names with their labels, values that move on a
//! failover, and scrapes that never see an instance half updated.
#![allow(clippy::unwrap_used, clippy::print_stderr)]
mod common;

use common::{Daemon, KEELD, Lab};
use keel_testkit::require_root;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// `name{labels} value` lines of a scrape, keyed by `name{labels}`.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect()
}

/// GET /metrics from node i, from the client's namespace.
fn http_scrape(lab: &Lab, i: usize) -> String {
    let addr = format!("192.0.2.{}:9165", 10 + i);
    lab.client.enter(move || {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    })
}

/// `keeld status --metrics` of node i.
fn socket_scrape(lab: &Lab, i: usize) -> String {
    let out = std::process::Command::new(KEELD)
        .args(["status", "--metrics", "--socket"])
        .arg(lab.nodes[i].socket())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The value of the series `name` whose labels include every one of `labels`.
fn value(s: &BTreeMap<String, f64>, name: &str, labels: &[&str]) -> Option<f64> {
    s.iter()
        .find(|(k, _)| {
            k.split_once('{').map_or(k.as_str(), |x| x.0) == name
                && labels.iter().all(|l| k.contains(l))
        })
        .map(|(_, v)| *v)
}

/// The instance's state as the scrape has it, after checking it is one
/// moment: every counter carries the state of `keepalived_vrrp_state`, and
/// `become_master - release_master` is 1 exactly when that state is MASTER.
fn consistent_state(text: &str) -> Result<String, String> {
    let s = samples(text);
    let n = value(&s, "keepalived_vrrp_state", &["iname=\"VI_1\""]).ok_or("no state")?;
    let word = ["INIT", "BACKUP", "MASTER", "FAULT"][n as usize];
    let tag = format!("state=\"{word}\"");
    let become_ = value(&s, "keepalived_become_master_total", &[&tag])
        .ok_or_else(|| format!("become_master without {tag}: {text}"))?;
    let release = value(&s, "keepalived_release_master_total", &[&tag])
        .ok_or_else(|| format!("release_master without {tag}: {text}"))?;
    let held = become_ - release;
    if held != f64::from(u8::from(word == "MASTER")) {
        return Err(format!("{word} with become {become_} release {release}"));
    }
    Ok(word.to_owned())
}

#[test]
fn two_nodes_scraped_through_a_failover() {
    if !require_root("keeld metrics (namespaces)") {
        return;
    }
    let mut lab = Lab::new("kmet", 2, KEELD);
    let flag = lab.dir.join("fail0");
    for (i, prio) in [(0, 100u8), (1, 90)] {
        let conf = keel_lab::config::chaos(true, i, prio, &lab.dir.join(format!("fail{i}")))
            .replacen(
                "global_defs {\n",
                "global_defs {\n  keel_metrics_listen 0.0.0.0:9165\n",
                1,
            );
        lab.write_conf(i, &conf);
        lab.start(i, Daemon::Keeld);
    }
    let t = lab.wait(Duration::from_secs(8), |l| l.holds_vip(0));
    lab.check(t.is_some(), "node1 never took the VIP");
    std::thread::sleep(Duration::from_millis(500));

    // every name, with its labels, from both nodes, over HTTP
    let inst = |st: &str| format!("{{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",state=\"{st}\"}}");
    for (i, st) in [(0, "MASTER"), (1, "BACKUP")] {
        let r = http_scrape(&lab, i);
        lab.check(
            r.starts_with("HTTP/1.0 200") || r.starts_with("HTTP/1.1 200"),
            &format!("node{} HTTP answer: {r}", i + 1),
        );
        lab.check(
            r.contains("content-type: application/openmetrics-text"),
            &format!("content type: {r}"),
        );
        let body = r.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
        let s = samples(body);
        let mut want = vec![
            "keepalived_up".to_owned(),
            format!(
                "keepalived_vrrp_state{{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",ip_address=\"192.0.2.250\"}}"
            ),
            "keepalived_script_status{name=\"chk\"}".into(),
            "keepalived_script_state{name=\"chk\"}".into(),
            "keel_reloads_total{result=\"accepted\"}".into(),
            "keel_reloads_total{result=\"refused\"}".into(),
            "keel_timer_lateness_seconds_count".into(),
            "keel_timer_lateness_seconds_bucket{le=\"+Inf\"}".into(),
        ];
        for (name, _, _) in keel_node::metrics::INSTANCE_COUNTERS {
            want.push(format!("{name}_total{}", inst(st)));
        }
        want.push(format!("keepalived_gratuitous_arp_delay_total{}", inst(st)));
        for w in &want {
            lab.check(
                s.contains_key(w),
                &format!("node{} lacks {w}:\n{body}", i + 1),
            );
        }
        lab.check(s["keepalived_up"] == 1.0, "keepalived_up 1");
        lab.check(
            s["keepalived_script_status{name=\"chk\"}"] == 1.0,
            "the script is good",
        );
        lab.check(
            consistent_state(body).as_deref() == Ok(st),
            &format!("node{} state {st}: {:?}", i + 1, consistent_state(body)),
        );
        // the status socket serves the same families
        let sock = samples(&socket_scrape(&lab, i));
        lab.check(
            want.iter().all(|w| sock.contains_key(w)),
            "keeld status --metrics has every name",
        );
    }
    let before = samples(&socket_scrape(&lab, 1));
    let sent0 = value(
        &before,
        "keepalived_advertisements_received_total",
        &["iname=\"VI_1\""],
    )
    .unwrap();

    // failover: node1's script fails (priority 100 - 25 < 90): node2 preempts.
    // Scrapes of both nodes meanwhile must each be one moment.
    std::fs::write(&flag, "").unwrap();
    let t0 = Instant::now();
    let mut scrapes = 0;
    let mut seen = Vec::new();
    while t0.elapsed() < Duration::from_secs(8) {
        for i in 0..2 {
            let text = socket_scrape(&lab, i);
            scrapes += 1;
            match consistent_state(&text) {
                Ok(w) => seen.push((i, w)),
                Err(e) => lab.check(false, &format!("half-updated scrape of node{}: {e}", i + 1)),
            }
        }
        if lab.holds_vip(1) && !lab.holds_vip(0) && t0.elapsed() > Duration::from_secs(3) {
            break;
        }
    }
    eprintln!("{scrapes} consistent scrapes during the failover");
    lab.check(lab.holds_vip(1), "node2 took over");
    let a = samples(&socket_scrape(&lab, 0));
    let b = samples(&socket_scrape(&lab, 1));
    lab.check(
        value(&a, "keepalived_vrrp_state", &["iname=\"VI_1\""]) == Some(1.0)
            && value(&b, "keepalived_vrrp_state", &["iname=\"VI_1\""]) == Some(2.0),
        "state gauges: node1 BACKUP (1), node2 MASTER (2)",
    );
    lab.check(
        value(&a, "keepalived_release_master_total", &["state=\"BACKUP\""]) == Some(1.0),
        "node1 released master once",
    );
    lab.check(
        value(&b, "keepalived_become_master_total", &["state=\"MASTER\""]) == Some(1.0),
        "node2 became master once",
    );
    lab.check(
        value(&a, "keepalived_script_status", &["chk"]) == Some(0.0),
        "node1's script is bad",
    );
    lab.check(
        value(&b, "keepalived_advertisements_sent_total", &["iname"]) > Some(0.0)
            && value(&b, "keepalived_advertisements_received_total", &["iname"]) >= Some(sent0),
        "node2's advert counters",
    );
    lab.check(
        value(&b, "keel_vrrp_priority", &["iname"]) == Some(90.0)
            && value(&a, "keel_vrrp_priority", &["iname"]) == Some(75.0),
        "effective priorities 75 and 90",
    );
    lab.stop_all(Duration::from_secs(2));
}
