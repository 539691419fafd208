//! Applying each kind of fault of the schedule to the lab, and repairing it,
//! with a check of the invariants after each change.
use super::model::{Fault, N, Step};
use super::runner::{POLL, Runner};
use crate::{Daemon, config};
use anyhow::{Context, Result, bail};
use std::time::{Duration, Instant};

/// The tracker script runs every second: its result is known within its
/// interval and its run time.
const TRACKER_KNOWN: Duration = Duration::from_millis(1300);

impl Runner<'_> {
    /// Apply step `s` (the fault, the hold, the repair) with its checks.
    pub(super) fn step(&mut self, s: &Step) -> Result<()> {
        let kind = s.fault.kind();
        *self.stats.faults.entry(kind).or_insert(0) += 1;
        let hold = Duration::from_millis(s.hold_ms);
        match s.fault {
            Fault::Kill(t) => {
                let i = self.resolve(t);
                self.killed(kind, i, hold)
            }
            Fault::Freeze(t) => {
                let i = self.resolve(t);
                self.frozen(kind, i, hold)
            }
            Fault::LinkDown(t) => {
                let i = self.resolve(t);
                self.link_down(kind, i, hold)
            }
            Fault::Isolate(t) => {
                let i = self.resolve(t);
                self.lab.say(&format!(
                    "step {}: partition: node{} cut from the other nodes",
                    self.step_no,
                    i + 1
                ));
                let before = self.model.expected();
                for j in (0..N).filter(|&j| j != i) {
                    self.model.set_cut(i, j, true);
                }
                self.partition(kind, before, hold)
            }
            Fault::Cut(x, y) => {
                self.lab.say(&format!(
                    "step {}: partition: node{} and node{} cannot hear each other (both still hear the third)",
                    self.step_no,
                    x + 1,
                    y + 1
                ));
                let before = self.model.expected();
                self.model.set_cut(x, y, true);
                self.partition(kind, before, hold)
            }
            Fault::Loss { node, pct } => self.lossy(kind, node, pct, hold),
            Fault::Tracker(t) => {
                let i = self.resolve(t);
                self.tracker_fails(kind, i, hold)
            }
            Fault::Reload { node, prio } => self.reload(kind, node, prio),
            Fault::BadReload { node, variant } => self.bad_reload(kind, node, variant),
            Fault::Stop(t) => {
                let i = self.resolve(t);
                self.stopped(kind, i, hold)
            }
            Fault::Restart(t) => {
                let i = self.resolve(t);
                self.restarted(kind, i)
            }
        }
    }

    fn killed(&mut self, kind: &'static str, i: usize, hold: Duration) -> Result<()> {
        self.lab
            .say(&format!("step {}: SIGKILL node{}", self.step_no, i + 1));
        let before = self.model.expected();
        let at = Instant::now();
        self.kill(i)?;
        self.model.stopped_gracefully[i] = false;
        self.check(kind, "failover", before, at, at)?;
        std::thread::sleep(hold);
        let before = self.model.expected();
        let at = Instant::now();
        self.start(i)?;
        let up = Instant::now();
        self.check(kind, "restart", before, up, at)
    }

    fn frozen(&mut self, kind: &'static str, i: usize, hold: Duration) -> Result<()> {
        self.lab.say(&format!(
            "step {}: SIGSTOP node{} (frozen)",
            self.step_no,
            i + 1
        ));
        let before = self.model.expected();
        let at = Instant::now();
        self.lab.nodes[i].signal("STOP");
        self.model.frozen[i] = true;
        self.check(kind, "frozen", before, at, at)?;
        std::thread::sleep(hold);
        let before = self.model.expected();
        self.lab.note(&format!("SIGCONT node{}", i + 1));
        let at = Instant::now();
        self.lab.nodes[i].signal("CONT");
        self.model.frozen[i] = false;
        self.check(kind, "thawed", before, at, at)
    }

    fn link_down(&mut self, kind: &'static str, i: usize, hold: Duration) -> Result<()> {
        self.lab.say(&format!(
            "step {}: link down on node{}",
            self.step_no,
            i + 1
        ));
        let before = self.model.expected();
        let at = Instant::now();
        self.set_link(i, false);
        self.check(kind, "link down", before, at, at)?;
        std::thread::sleep(hold);
        let before = self.model.expected();
        self.lab.note(&format!("link up on node{}", i + 1));
        let at = Instant::now();
        self.set_link(i, true);
        self.check(kind, "link up", before, at, at)
    }

    fn set_link(&mut self, i: usize, up: bool) {
        let state = if up { "up" } else { "down" };
        self.lab.nodes[i]
            .ns
            .run_ok(&["ip", "link", "set", "eth0", state]);
        self.model.link[i] = up;
    }

    fn lossy(
        &mut self,
        kind: &'static str,
        node: Option<usize>,
        pct: u8,
        hold: Duration,
    ) -> Result<()> {
        self.lab.say(&format!(
            "step {}: {pct}% random loss {} for {} ms",
            self.step_no,
            match node {
                Some(i) => format!("to and from node{}", i + 1),
                None => "on every bridged frame".into(),
            },
            (hold * 4).as_millis()
        ));
        self.model.loss = Some((node, pct));
        self.apply_nft()?;
        // No convergence promise while frames are lost: only liveness.
        let until = Instant::now() + hold * 4;
        let mut last = None;
        while Instant::now() < until {
            let o = self.observe()?;
            self.note_obs(&mut last, &o);
            std::thread::sleep(POLL);
        }
        self.model.loss = None;
        self.apply_nft()?;
        let before = self.model.expected();
        let at = Instant::now();
        self.check(kind, "loss removed", before, at, at)
    }

    fn tracker_fails(&mut self, kind: &'static str, i: usize, hold: Duration) -> Result<()> {
        self.lab.say(&format!(
            "step {}: tracker of node{} fails (effective priority {} -> {})",
            self.step_no,
            i + 1,
            self.model.eff(i),
            self.model.eff(i).saturating_sub(25)
        ));
        let before = self.model.expected();
        let flag = self.lab.nodes[i].flag_path();
        let at = Instant::now();
        std::fs::write(&flag, b"down\n")?;
        self.model.tracker_down[i] = true;
        self.check(kind, "tracker down", before, at + TRACKER_KNOWN, at)?;
        std::thread::sleep(hold);
        let before = self.model.expected();
        self.lab.note(&format!("tracker of node{} recovers", i + 1));
        let at = Instant::now();
        std::fs::remove_file(&flag)?;
        self.model.tracker_down[i] = false;
        self.check(kind, "tracker up", before, at + TRACKER_KNOWN, at)
    }

    fn reload(&mut self, kind: &'static str, i: usize, prio: u8) -> Result<()> {
        self.lab.say(&format!(
            "step {}: SIGHUP node{} with a valid config: priority {} -> {prio}",
            self.step_no,
            i + 1,
            self.model.base[i]
        ));
        let before = self.model.expected();
        let prev = self.lab.nodes[i].status(Duration::from_secs(1));
        let text = config::chaos(self.t.v3, i, prio, &self.lab.nodes[i].flag_path());
        std::fs::write(self.lab.nodes[i].conf_path(), text)?;
        let at = Instant::now();
        self.lab.nodes[i].signal("HUP");
        self.model.base[i] = prio;
        self.stats.good_reloads += 1;
        let stable = if self.lab.nodes[i].daemon == Daemon::Keeld {
            let n0 = prev
                .as_ref()
                .and_then(|s| s["reloads"].as_u64())
                .unwrap_or(0);
            self.wait_status(i, Duration::from_secs(3), |s| {
                s["reloads"].as_u64() == Some(n0 + 1)
            })
            .context("keeld did not report the reload within 3 s")?;
            Instant::now()
        } else {
            at + Duration::from_millis(500)
        };
        self.check(kind, "reloaded", before, stable, at)
    }

    fn bad_reload(&mut self, kind: &'static str, i: usize, variant: u64) -> Result<()> {
        self.lab.say(&format!(
            "step {}: SIGHUP node{} with an invalid config (variant {variant})",
            self.step_no,
            i + 1
        ));
        let before = self.model.expected();
        let good = std::fs::read_to_string(self.lab.nodes[i].conf_path())?;
        let prev = self.lab.nodes[i]
            .status(Duration::from_secs(1))
            .context("no status before the bad reload")?;
        std::fs::write(
            self.lab.nodes[i].conf_path(),
            config::broken(&good, variant),
        )?;
        let at = Instant::now();
        self.lab.nodes[i].signal("HUP");
        self.stats.bad_reloads += 1;
        let f0 = prev["reload_failures"].as_u64().unwrap_or(0);
        let now = self
            .wait_status(i, Duration::from_secs(3), |s| {
                s["reload_failures"].as_u64() == Some(f0 + 1)
            })
            .context("keeld did not count the refused reload within 3 s")?;
        std::fs::write(self.lab.nodes[i].conf_path(), good)?;
        let (a, b) = (&prev["instances"][0], &now["instances"][0]);
        for key in [
            "base_priority",
            "advert_int_ms",
            "vips",
            "vrid",
            "version",
            "name",
        ] {
            if a[key] != b[key] {
                bail!(
                    "after a bad reload node{}'s running config changed: {key} {} -> {}",
                    i + 1,
                    a[key],
                    b[key]
                );
            }
        }
        if prev["reloads"] != now["reloads"] {
            bail!(
                "a bad reload was counted as a successful one on node{}",
                i + 1
            );
        }
        self.check(kind, "after bad reload", before, at, at)
    }

    fn stopped(&mut self, kind: &'static str, i: usize, hold: Duration) -> Result<()> {
        self.lab.say(&format!(
            "step {}: SIGTERM node{} (graceful stop)",
            self.step_no,
            i + 1
        ));
        let before = self.model.expected();
        let at = Instant::now();
        self.stop(i)?;
        self.model.stopped_gracefully[i] = true;
        self.check(kind, "stopped", before, at, at)?;
        std::thread::sleep(hold);
        let before = self.model.expected();
        let at = Instant::now();
        self.start(i)?;
        self.model.stopped_gracefully[i] = false;
        let up = Instant::now();
        self.check(kind, "restarted", before, up, at)
    }

    fn restarted(&mut self, kind: &'static str, i: usize) -> Result<()> {
        self.lab.say(&format!(
            "step {}: restart node{} (SIGTERM, start again)",
            self.step_no,
            i + 1
        ));
        let before = self.model.expected();
        let at = Instant::now();
        self.stop(i)?;
        self.start(i)?;
        let up = Instant::now();
        self.check(kind, "restarted", before, up, at)
    }
}
