//! A node's state as plain data: [`Node::status`] takes one snapshot of every
//! instance and script at once (what `keeld status` prints, what the
//! `metrics` feature exposes), [`render`] makes it text for a person.
//! With the `serde` feature the snapshot types serialize (keeld's status JSON).
use crate::node::{LATE_BOUNDS_US, Node};
use std::collections::BTreeMap;
use std::time::Instant;

/// One snapshot of a node.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct NodeStatus {
    /// Worst timer lateness seen, in milliseconds.
    pub max_timer_late_ms: f64,
    /// How late each instance's timers were handled, every expiry since start
    /// (startup included): counts per bucket (`le_ms`: upper bound in ms, `None` =
    /// above the last). Wake-ups fall on a 1 ms grid, so up to 1 ms is normal.
    #[cfg_attr(feature = "serde", serde(default))]
    pub timer_late_hist: Vec<LateBucket>,
    /// Sum of the lateness counted in the histogram, in milliseconds.
    #[cfg_attr(feature = "serde", serde(default))]
    pub timer_late_sum_ms: f64,
    /// Received packets no instance has (their VRID is nobody's, or their
    /// IP header is malformed), dropped by reason; one count per packet.
    #[cfg_attr(feature = "serde", serde(default))]
    pub dropped_unmatched: BTreeMap<String, u64>,
    /// Every instance.
    pub instances: Vec<InstanceStatus>,
    /// Every tracking script.
    pub scripts: Vec<ScriptStatus>,
}

/// One bucket of the timer lateness histogram.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct LateBucket {
    /// Upper bound in milliseconds (inclusive); `None` for the overflow bucket.
    pub le_ms: Option<f64>,
    /// Instance timer expiries that were handled this late.
    pub count: u64,
}

/// The histogram from a node's counts ([`Node::late_hist`]: one more than
/// [`LATE_BOUNDS_US`]).
pub fn late_hist(counts: &[u64]) -> Vec<LateBucket> {
    counts
        .iter()
        .enumerate()
        .map(|(i, &count)| LateBucket {
            le_ms: LATE_BOUNDS_US.get(i).map(|&us| us as f64 / 1000.0),
            count,
        })
        .collect()
}

/// One VRRP instance.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct InstanceStatus {
    /// `VI_1`.
    pub name: String,
    /// Interface name.
    pub interface: String,
    /// virtual_router_id.
    pub vrid: u8,
    /// 2 or 3.
    pub version: u8,
    /// INIT, BACKUP, MASTER or FAULT (keepalived's words).
    pub state: String,
    /// Configured priority.
    pub base_priority: u8,
    /// Priority after tracking weights.
    pub effective_priority: u8,
    /// Current master's address when known (ours when master).
    pub master_addr: Option<String>,
    /// Configured virtual addresses (`address/prefix`).
    pub vips: Vec<String>,
    /// Whether the VIPs are on the interface (we are master).
    pub vips_held: bool,
    /// Advertisement interval in milliseconds.
    pub advert_int_ms: u64,
    /// `garp_master_delay` in seconds (0: none).
    #[cfg_attr(feature = "serde", serde(default))]
    pub garp_master_delay_s: u64,
    /// Protocol counters by name (see [`COUNTERS`]).
    pub counters: BTreeMap<String, u64>,
    /// Dropped received packets by reason (`auth`, `vrid`, `ttl`, `truncated`, `checksum`, ...).
    pub dropped: BTreeMap<String, u64>,
    /// Milliseconds until the next protocol timer fires, if one is armed.
    pub next_timer_ms: Option<f64>,
    /// Seconds since the last state change.
    pub in_state_s: f64,
}

/// The names of [`InstanceStatus::counters`].
pub const COUNTERS: [&str; 18] = [
    "adverts_rx",
    "adverts_tx",
    "priority_zero_rx",
    "priority_zero_tx",
    "master_transitions",
    "release_master",
    "master_lost",
    "answers_suppressed",
    "auth_failures",
    "auth_type_mismatch",
    "invalid_auth_type",
    "interval_errors",
    "address_list_errors",
    "checksum_errors",
    "ttl_errors",
    "version_errors",
    "packet_length_errors",
    "invalid_type",
];

/// One tracking script.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ScriptStatus {
    /// Script name.
    pub name: String,
    /// Current result.
    pub up: bool,
    /// Runs so far.
    pub runs: u64,
    /// A run is in progress.
    #[cfg_attr(feature = "serde", serde(default))]
    pub running: bool,
}

impl Node {
    /// A snapshot of every instance and script as of `now`.
    pub fn status(&self, now: Instant) -> NodeStatus {
        let instances = self
            .instances()
            .iter()
            .map(|i| {
                let vi = i.election();
                let c = vi.counters();
                let values = [
                    c.adverts_rx,
                    c.adverts_tx,
                    c.priority_zero_rx,
                    c.priority_zero_tx,
                    c.master_transitions,
                    i.released_master(),
                    c.master_lost,
                    c.answers_suppressed,
                    c.auth_failures,
                    c.auth_type_mismatch,
                    c.invalid_auth_type,
                    c.interval_errors,
                    c.address_list_errors,
                    c.checksum_errors,
                    c.ttl_errors,
                    c.version_errors,
                    c.packet_length_errors,
                    c.invalid_type,
                ];
                let s = i.spec();
                InstanceStatus {
                    name: s.name.clone(),
                    interface: s.ifname.clone(),
                    vrid: s.election.vrid,
                    version: s.election.version.number(),
                    state: vi.state().as_str().to_owned(),
                    base_priority: s.election.base_priority,
                    effective_priority: vi.effective_priority(),
                    master_addr: vi.master_addr().map(|a| a.to_string()),
                    vips: s
                        .vips
                        .iter()
                        .map(|(v, _)| format!("{}/{}", v.addr, v.prefix_len))
                        .collect(),
                    vips_held: i.vips_held(),
                    advert_int_ms: u64::from(s.election.adver_int_cs) * 10,
                    garp_master_delay_s: s.election.garp_master_delay.map_or(0, |d| d.as_secs()),
                    counters: COUNTERS
                        .iter()
                        .zip(values)
                        .map(|(k, v)| ((*k).to_owned(), v))
                        .collect(),
                    dropped: i.dropped().clone(),
                    next_timer_ms: self
                        .next_timer(i)
                        .map(|t| t.saturating_duration_since(now).as_secs_f64() * 1000.0),
                    in_state_s: now.saturating_duration_since(i.since()).as_secs_f64(),
                }
            })
            .collect();
        NodeStatus {
            max_timer_late_ms: self.max_late().as_secs_f64() * 1000.0,
            timer_late_hist: late_hist(self.late_hist()),
            timer_late_sum_ms: self.late_sum().as_secs_f64() * 1000.0,
            dropped_unmatched: self.unmatched_dropped(),
            instances,
            scripts: self
                .scripts()
                .iter()
                .map(|s| ScriptStatus {
                    name: s.spec().name.clone(),
                    up: s.up(),
                    runs: s.runs(),
                    running: s.running(),
                })
                .collect(),
        }
    }
}

/// The snapshot as a table for a person (`keeld status`).
pub fn render(s: &NodeStatus) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    if s.timer_late_hist.iter().any(|b| b.count > 0) {
        o.push_str("timer lateness:");
        for b in &s.timer_late_hist {
            let _ = match b.le_ms {
                Some(le) => write!(o, "  <={le} ms {}", b.count),
                None => write!(o, "  more {}", b.count),
            };
        }
        o.push('\n');
    }
    if !s.dropped_unmatched.is_empty() {
        let d: Vec<String> = s
            .dropped_unmatched
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let _ = writeln!(o, "dropped, for no instance: {}", d.join(" "));
    }
    let _ = writeln!(
        o,
        "{:<12} {:<8} {:>4} {:>2} {:<7} {:>9} {:<16} {:>9}  VIPs",
        "INSTANCE", "IFACE", "VRID", "V", "STATE", "PRIO", "MASTER", "IN STATE"
    );
    for i in &s.instances {
        let _ = writeln!(
            o,
            "{:<12} {:<8} {:>4} {:>2} {:<7} {:>4}/{:<4} {:<16} {:>8.1}s  {}{}",
            i.name,
            i.interface,
            i.vrid,
            i.version,
            i.state,
            i.effective_priority,
            i.base_priority,
            i.master_addr.as_deref().unwrap_or("-"),
            i.in_state_s,
            i.vips.join(","),
            if i.vips_held { " (held)" } else { "" }
        );
        let counters: Vec<String> = i.counters.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(o, "    counters: {}", counters.join(" "));
        let dropped: Vec<String> = i
            .dropped
            .iter()
            .filter(|(_, v)| **v > 0)
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !dropped.is_empty() {
            let _ = writeln!(o, "    dropped:  {}", dropped.join(" "));
        }
        if let Some(t) = i.next_timer_ms {
            let _ = writeln!(o, "    next timer in {t:.1} ms");
        }
    }
    for sc in &s.scripts {
        let _ = writeln!(
            o,
            "script {:<16} {}  runs {}",
            sc.name,
            if sc.up { "OK" } else { "FAILED" },
            sc.runs
        );
    }
    o
}

/// The snapshot in keepalived 2.2.7's `/tmp/keepalived.stats` format (what it
/// writes on SIGUSR2), so tools that parse that file keep working.
pub fn keepalived_stats(s: &NodeStatus) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    for i in &s.instances {
        let c = |k: &str| i.counters.get(k).copied().unwrap_or(0);
        let _ = write!(
            o,
            "VRRP Instance: {}\n  Advertisements:\n    Received: {}\n    Sent: {}\n  \
             Became master: {}\n  Released master: {}\n  Packet Errors:\n    Length: {}\n    \
             TTL: {}\n    Invalid Type: {}\n    Advertisement Interval: {}\n    Address List: {}\n  \
             Authentication Errors:\n    Invalid Type: {}\n    Type Mismatch: {}\n    Failure: {}\n  \
             Priority Zero:\n    Received: {}\n    Sent: {}\n",
            i.name,
            c("adverts_rx"),
            c("adverts_tx"),
            c("master_transitions"),
            c("release_master"),
            c("packet_length_errors"),
            c("ttl_errors"),
            c("invalid_type"),
            c("interval_errors"),
            c("address_list_errors"),
            c("invalid_auth_type"),
            c("auth_type_mismatch"),
            c("auth_failures"),
            c("priority_zero_rx"),
            c("priority_zero_tx"),
        );
    }
    o
}

/// The snapshot in keepalived 2.2.7's `/tmp/keepalived.json` format (its JSON
/// dump signal): per instance `data` (the fields keel has) and `stats`.
#[cfg(feature = "serde")]
pub fn keepalived_json(s: &NodeStatus) -> String {
    let list: Vec<serde_json::Value> = s
        .instances
        .iter()
        .map(|i| {
            let c = |k: &str| i.counters.get(k).copied().unwrap_or(0);
            let vips: Vec<String> = i
                .vips
                .iter()
                .map(|v| {
                    let a = v.split('/').next().unwrap_or(v);
                    let set = if i.vips_held { " set" } else { "" };
                    format!("{a} dev {} scope global{set}", i.interface)
                })
                .collect();
            let words = ["INIT", "BACKUP", "MASTER", "FAULT"];
            let state = words.iter().position(|w| *w == i.state).unwrap_or(0);
            // keepalived prints whole seconds as an integer (`1`, not `1.0`)
            let adver_int = match i.advert_int_ms % 1000 {
                0 => serde_json::json!(i.advert_int_ms / 1000),
                _ => serde_json::json!(i.advert_int_ms as f64 / 1000.0),
            };
            serde_json::json!({
                "data": {
                    "iname": i.name,
                    "ifp_ifname": i.interface,
                    "garp_delay": i.garp_master_delay_s,
                    "vrid": i.vrid,
                    "base_priority": i.base_priority,
                    "effective_priority": i.effective_priority,
                    "vipset": i.vips_held,
                    "adver_int": adver_int,
                    "state": state,
                    "version": i.version,
                    "vips": vips,
                },
                "stats": {
                    "advert_rcvd": c("adverts_rx"),
                    "advert_sent": c("adverts_tx"),
                    "become_master": c("master_transitions"),
                    "release_master": c("release_master"),
                    "packet_len_err": c("packet_length_errors"),
                    "advert_interval_err": c("interval_errors"),
                    "ip_ttl_err": c("ttl_errors"),
                    "invalid_type_rcvd": c("invalid_type"),
                    "addr_list_err": c("address_list_errors"),
                    "invalid_authtype": c("invalid_auth_type"),
                    "authtype_mismatch": c("auth_type_mismatch"),
                    "auth_failure": c("auth_failures"),
                    "pri_zero_rcvd": c("priority_zero_rx"),
                    "pri_zero_sent": c("priority_zero_tx"),
                }
            })
        })
        .collect();
    serde_json::to_string_pretty(&list).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{InstanceSpec, Io, NodeSpec};
    use keel_election::InstanceConfig;
    use std::time::Duration;

    /// A lone instance becomes master: the snapshot says so, counts the
    /// adverts and renders; a bucket's bound is the histogram's.
    #[test]
    fn snapshot_and_render() {
        let me = "192.0.2.10".parse().unwrap();
        let vip = keel_vip::Vip::new("192.0.2.250".parse().unwrap(), 2);
        let spec = InstanceSpec::new("eth0", 2, InstanceConfig::new("VI_1", 51, 100, me))
            .with_vip(vip, "eth0");
        let (io, _fake) = Io::fake();
        let t0 = Instant::now();
        let mut node = Node::new(NodeSpec::new(vec![spec]), io, t0);
        node.start(t0);
        let mut now = t0;
        while let Some(when) = node.poll_timeout() {
            if when > t0 + Duration::from_secs(5) {
                break;
            }
            now = when;
            node.handle(when, crate::Input::Timeout);
            node.take_trim(when);
        }
        let s = node.status(now);
        let i = &s.instances[0];
        assert_eq!(
            (i.name.as_str(), i.state.as_str(), i.vrid),
            ("VI_1", "MASTER", 51)
        );
        assert_eq!(i.vips, ["192.0.2.250/32"]);
        assert!(i.vips_held);
        assert_eq!(i.counters["master_transitions"], 1);
        assert_eq!(i.counters["release_master"], 0);
        assert!(i.counters["adverts_tx"] >= 1, "{:?}", i.counters);
        assert_eq!(i.counters.len(), COUNTERS.len());
        assert_eq!(s.timer_late_hist.len(), LATE_BOUNDS_US.len() + 1);
        assert_eq!(s.timer_late_hist[0].le_ms, Some(0.1));
        let t = render(&s);
        assert!(t.contains("VI_1") && t.contains("MASTER"), "{t}");
        assert!(t.contains("192.0.2.250/32 (held)"), "{t}");
        assert!(t.contains("master_transitions=1"), "{t}");
        // keepalived 2.2.7's own file for the same single master (2 adverts sent),
        // written by it in a namespace with SIGUSR2
        let mut i = s.instances[0].clone();
        i.counters.insert("adverts_tx".into(), 2);
        let one = NodeStatus {
            instances: vec![i],
            ..Default::default()
        };
        assert_eq!(
            keepalived_stats(&one),
            "VRRP Instance: VI_1\n  Advertisements:\n    Received: 0\n    Sent: 2\n  Became master: 1\n  Released master: 0\n  Packet Errors:\n    Length: 0\n    TTL: 0\n    Invalid Type: 0\n    Advertisement Interval: 0\n    Address List: 0\n  Authentication Errors:\n    Invalid Type: 0\n    Type Mismatch: 0\n    Failure: 0\n  Priority Zero:\n    Received: 0\n    Sent: 0\n"
        );
        #[cfg(feature = "serde")]
        {
            let j: serde_json::Value = serde_json::from_str(&keepalived_json(&one)).unwrap();
            assert_eq!(j[0]["data"]["iname"], "VI_1");
            assert_eq!(j[0]["data"]["state"], 2);
            assert_eq!(j[0]["data"]["adver_int"].to_string(), "1");
            assert_eq!(
                j[0]["data"]["vips"][0],
                "192.0.2.250 dev eth0 scope global set"
            );
            assert_eq!(j[0]["stats"]["advert_sent"], 2);
            assert_eq!(j[0]["stats"]["become_master"], 1);
        }
    }

    #[test]
    fn render_skips_empty_drops_and_shows_the_histogram() {
        let mut dropped = BTreeMap::new();
        dropped.insert("auth".to_owned(), 3);
        dropped.insert("ttl".to_owned(), 0);
        let s = NodeStatus {
            max_timer_late_ms: 0.4,
            timer_late_hist: late_hist(&[5, 2, 0, 0, 0, 0, 0, 0, 0, 1]),
            timer_late_sum_ms: 30.0,
            dropped_unmatched: [("vrid".to_owned(), 2)].into(),
            instances: vec![InstanceStatus {
                name: "VI_1".into(),
                dropped,
                ..Default::default()
            }],
            scripts: vec![],
        };
        let t = render(&s);
        assert!(t.contains("dropped:  auth=3"), "{t}");
        assert!(!t.contains("ttl=0"), "{t}");
        assert!(t.contains("dropped, for no instance: vrid=2"), "{t}");
        assert!(
            t.contains("timer lateness:  <=0.1 ms 5  <=0.5 ms 2  <=1 ms 0") && t.contains("more 1"),
            "{t}"
        );
    }
}
