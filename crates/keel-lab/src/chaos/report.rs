//! What a chaos run counted, and its report.
use super::model::N;
use super::runner::Runner;
use anyhow::Result;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

#[derive(Debug, Default)]
pub(super) struct Stats {
    pub(super) faults: BTreeMap<&'static str, u64>,
    /// (fault kind, phase) -> convergence times when the expected master changed.
    pub(super) failover: BTreeMap<String, Vec<Duration>>,
    pub(super) stale_removed: u64,
    pub(super) keepalived_stale_left: u64,
    pub(super) graceful_stops: u64,
    pub(super) bad_reloads: u64,
    pub(super) good_reloads: u64,
    /// Checks whose deadline was extended because something was starved.
    pub(super) extended: u64,
    pub(super) max_extension: Duration,
}

impl Runner<'_> {
    pub(super) fn report(&self, seed: u64, replay: &str, result: &Result<()>) -> String {
        let s = &self.stats;
        let mut o = String::new();
        let _ = writeln!(
            o,
            "# chaos report\n\nseed {seed} ({replay}); {} steps completed; result: {}\n",
            if result.is_ok() {
                self.step_no
            } else {
                self.step_no.saturating_sub(1)
            },
            match result {
                Ok(()) => "0 invariant violations".to_owned(),
                Err(e) => format!("VIOLATION at step {}: {e:#}", self.step_no),
            }
        );
        let _ = writeln!(o, "| fault | count |\n|---|---|");
        for (k, v) in &s.faults {
            let _ = writeln!(o, "| {k} | {v} |");
        }
        let _ = writeln!(
            o,
            "\ngraceful stops {} (no VIP left each time), stale VIPs removed by a restarted keeld {}, keepalived restarts that kept a stale VIP {}, valid reloads {}, refused reloads {}\n",
            s.graceful_stops,
            s.stale_removed,
            s.keepalived_stale_left,
            s.good_reloads,
            s.bad_reloads
        );
        let _ = writeln!(
            o,
            "checks whose deadline was extended for CPU starvation (daemon timer lateness or harness gaps; each in the timeline): {}, longest extension {} ms\n",
            s.extended,
            s.max_extension.as_millis()
        );
        let _ = writeln!(
            o,
            "Convergence after the event when the expected VIP holder changed (ms):\n\n| event (phase) | n | min | median | p90 | max |\n|---|---|---|---|---|---|"
        );
        for (k, v) in &s.failover {
            let mut v: Vec<u128> = v.iter().map(Duration::as_millis).collect();
            v.sort_unstable();
            let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
            let _ = writeln!(
                o,
                "| {k} | {} | {} | {} | {} | {} |",
                v.len(),
                v[0],
                q(0.5),
                q(0.9),
                v[v.len() - 1]
            );
        }
        o
    }
}

pub(super) fn show_set(s: &[bool; N]) -> String {
    let v: Vec<String> = (0..N)
        .filter(|&i| s[i])
        .map(|i| format!("node{}", i + 1))
        .collect();
    if v.is_empty() {
        "nobody".into()
    } else {
        v.join("+")
    }
}

pub(super) fn show_res(r: &[super::runner::Resources; N]) -> String {
    let mut s = String::new();
    for (i, x) in r.iter().enumerate() {
        if let Some((pid, rss, fds)) = x {
            let _ = write!(s, "node{} pid {pid} RSS {rss} KiB fds {fds}; ", i + 1);
        }
    }
    s
}
