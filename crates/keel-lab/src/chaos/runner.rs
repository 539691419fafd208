//! The chaos runner: drives the lab through the schedule and checks, after
//! each change, that what the lab shows (VIP holders, keeld's status) is what
//! the model expects once the network has been stable long enough.
use super::Timing;
use super::model::{self, Model, N, Target};
use super::report::{Stats, show_res, show_set};
use crate::{Daemon, Lab, config, procfs};
use anyhow::{Context, Result, bail};
use std::fmt::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

/// (pid, VmRSS KiB, open fds) of a running keeld.
pub(super) type Resources = Option<(u32, u64, usize)>;

/// How often the lab is observed while a check waits.
pub(super) const POLL: Duration = Duration::from_millis(20);

pub(super) struct Runner<'a> {
    pub(super) lab: &'a mut Lab,
    pub(super) t: Timing,
    pub(super) model: Model,
    pub(super) stats: Stats,
    pub(super) step_no: u64,
    pub(super) soak: bool,
    /// Worst timer lateness keeld reported so far, per node (ms), and its pid.
    pub(super) late: [f64; N],
    pub(super) late_pid: [Option<u64>; N],
}

/// What the lab looks like at one instant.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Obs {
    holds: [bool; N],
    /// keeld nodes answering: (state, effective priority, base priority).
    status: [Option<(String, u64, u64)>; N],
}

impl Runner<'_> {
    /// The whole run: configure, start, the schedule's steps, the end check.
    pub(super) fn run(&mut self, seed: u64, max_steps: u64, until: Option<Duration>) -> Result<()> {
        self.lab.check_impairments()?;
        self.configure()?;
        self.lab.say("starting the three daemons");
        let t0 = Instant::now();
        for i in 0..N {
            self.start(i)?;
        }
        self.settle("start", t0, t0, "start")?;
        let res0 = self.resources();
        self.lab
            .say(&format!("resources at start: {}", show_res(&res0)));
        let mut sched = model::Schedule::new(
            seed,
            self.lab
                .nodes
                .iter()
                .position(|n| n.daemon == Daemon::Keepalived),
            self.soak,
        );
        let started = Instant::now();
        let mut last_sample = Instant::now();
        while self.step_no < max_steps && until.is_none_or(|u| started.elapsed() < u) {
            let s = sched.next_step();
            self.step_no += 1;
            self.step(&s)
                .with_context(|| format!("step {} ({})", self.step_no, s.describe()))?;
            if self.soak && last_sample.elapsed() > Duration::from_secs(300) {
                last_sample = Instant::now();
                let r = self.resources();
                self.lab.say(&format!("resources now: {}", show_res(&r)));
            }
        }
        // End: everything repaired; one last convergence check, then resources.
        std::thread::sleep(Duration::from_millis(500));
        let res1 = self.resources();
        self.lab
            .say(&format!("resources at end: {}", show_res(&res1)));
        if self.soak {
            flat(&res0, &res1)?;
        }
        Ok(())
    }

    /// Write every node's configuration; keeld's own check must pass it.
    fn configure(&mut self) -> Result<()> {
        for i in 0..N {
            let text = config::chaos(
                self.t.v3,
                i,
                self.model.base[i],
                &self.lab.nodes[i].flag_path(),
            );
            std::fs::write(self.lab.nodes[i].conf_path(), text)?;
        }
        let o = Command::new(&self.lab.nodes[0].keeld)
            .arg("-t")
            .arg("-f")
            .arg(self.lab.nodes[0].conf_path())
            .output()?;
        if !o.status.success() {
            bail!(
                "keeld -t refuses the chaos config: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        Ok(())
    }

    /// (pid, VmRSS KiB, open fds) per keeld node that runs.
    fn resources(&self) -> [Resources; N] {
        let mut out = [None; N];
        for (i, n) in self.lab.nodes.iter().enumerate() {
            if n.daemon != Daemon::Keeld {
                continue;
            }
            let Some(pid) = n.pid() else { continue };
            let rss = procfs::rss_kib(pid);
            // Scripts run now and then (a pipe or two for a moment): take the
            // least of a few samples.
            let mut fds = usize::MAX;
            for _ in 0..5 {
                fds = fds.min(procfs::fds(pid));
                std::thread::sleep(Duration::from_millis(30));
            }
            out[i] = Some((pid, rss, fds));
        }
        out
    }

    pub(super) fn start(&mut self, i: usize) -> Result<()> {
        let stale = self.lab.nodes[i].holds_vip();
        self.lab.nodes[i].start()?;
        self.model.running[i] = true;
        self.model.frozen[i] = false;
        let n = &self.lab.nodes[i];
        let d = n.daemon;
        self.lab.note(&format!(
            "node{} {:?} started (pid {:?}){}",
            i + 1,
            d,
            n.pid(),
            if stale {
                ", its namespace holds a stale VIP"
            } else {
                ""
            }
        ));
        match d {
            Daemon::Keepalived => self.keepalived_up(i, stale),
            Daemon::Keeld => self.keeld_up(i, stale),
        }
    }

    /// keepalived gets 300 ms; a stale VIP it keeps (2.2.7 does after a
    /// crash) is counted and removed by hand.
    fn keepalived_up(&mut self, i: usize, stale: bool) -> Result<()> {
        std::thread::sleep(Duration::from_millis(300));
        if stale {
            let t = Instant::now();
            while t.elapsed() < self.t.adv + Duration::from_millis(700) {
                if !self.lab.nodes[i].holds_vip() {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            self.stats.keepalived_stale_left += 1;
            self.lab.say(&format!(
                "keepalived on node{} kept a stale VIP after its restart (removed by hand, as a reboot would)",
                i + 1
            ));
            self.lab.nodes[i].drop_vip();
        }
        Ok(())
    }

    /// keeld must answer on its status socket (it is up and past its
    /// stale-VIP cleanup); then a stale VIP must go within one advert interval.
    fn keeld_up(&mut self, i: usize, stale: bool) -> Result<()> {
        let t = Instant::now();
        loop {
            if let Some(c) = self.lab.nodes[i].child.as_mut()
                && let Ok(Some(st)) = c.try_wait()
            {
                bail!("node{} keeld exited right after its start: {st}", i + 1);
            }
            if self.lab.nodes[i]
                .status(Duration::from_millis(500))
                .is_some()
            {
                break;
            }
            if t.elapsed() > Duration::from_secs(10) {
                bail!(
                    "node{} keeld did not answer on its status socket within 10 s",
                    i + 1
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if stale {
            let up = Instant::now();
            loop {
                if !self.lab.nodes[i].holds_vip() {
                    self.stats.stale_removed += 1;
                    self.lab.note(&format!(
                        "node{}: stale VIP removed {} ms after keeld answered",
                        i + 1,
                        up.elapsed().as_millis()
                    ));
                    break;
                }
                if up.elapsed() > self.t.adv {
                    bail!(
                        "node{}: restarted keeld did not remove the stale VIP of its own within one advert interval ({} ms)",
                        i + 1,
                        self.t.adv.as_millis()
                    );
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        Ok(())
    }

    /// Graceful stop: exit 0 and no VIP left.
    pub(super) fn stop(&mut self, i: usize) -> Result<()> {
        self.lab.nodes[i].signal("TERM");
        self.model.running[i] = false;
        let st = self.lab.nodes[i].reap(Duration::from_secs(5));
        self.stats.graceful_stops += 1;
        let d = self.lab.nodes[i].daemon;
        match st {
            None => bail!("node{} {d:?} did not exit within 5 s of SIGTERM", i + 1),
            Some(s) if d == Daemon::Keeld && !s.success() => {
                bail!(
                    "node{} keeld exited with {s} after SIGTERM (expected 0)",
                    i + 1
                )
            }
            Some(_) => {}
        }
        // keepalived's main process exits after its VRRP child: give both a moment.
        if d == Daemon::Keepalived {
            std::thread::sleep(Duration::from_millis(100));
        }
        if self.lab.nodes[i].holds_vip() {
            bail!(
                "node{} {d:?} stopped gracefully but its namespace still holds the VIP",
                i + 1
            );
        }
        self.lab
            .note(&format!("node{} stopped gracefully, no VIP left", i + 1));
        Ok(())
    }

    pub(super) fn kill(&mut self, i: usize) -> Result<()> {
        let pids = self.lab.nodes[i].pids(true);
        self.lab.nodes[i].signal("KILL");
        self.model.running[i] = false;
        self.model.frozen[i] = false;
        if self.lab.nodes[i].reap(Duration::from_secs(5)).is_none() {
            bail!("node{} did not die of SIGKILL", i + 1);
        }
        // keepalived's VRRP child is not our child: wait until it is gone or a
        // zombie (orphans are reaped by init, whenever it gets to it).
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(3) && pids.iter().any(|p| procfs::running(*p)) {
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }

    pub(super) fn observe(&mut self) -> Result<Obs> {
        let mut o = Obs {
            holds: [false; N],
            status: [None, None, None],
        };
        for i in 0..N {
            let n = &mut self.lab.nodes[i];
            if self.model.running[i]
                && let Some(c) = n.child.as_mut()
                && let Ok(Some(st)) = c.try_wait()
            {
                n.child = None;
                let log = std::fs::read_to_string(n.log_path()).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(15).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                bail!(
                    "node{} {:?} exited unasked ({st}); last log lines:\n{}",
                    i + 1,
                    n.daemon,
                    tail.join("\n")
                );
            }
            o.holds[i] = n.holds_vip();
            if n.daemon == Daemon::Keeld && self.model.running[i] && !self.model.frozen[i] {
                // A keeld that does not answer within 1 s is itself a finding.
                let s = n.status(Duration::from_secs(5)).with_context(|| {
                    format!(
                        "node{} keeld does not answer on its status socket within 5 s",
                        i + 1
                    )
                })?;
                let late = s["max_timer_late_ms"].as_f64().unwrap_or(0.0);
                let pid = s["pid"].as_u64();
                if pid != self.late_pid[i] {
                    // A new process: its lateness counts from here.
                    self.late_pid[i] = pid;
                    self.late[i] = self.late[i].max(late);
                } else if late > self.late[i] {
                    self.late[i] = late;
                }
                let inst = &s["instances"][0];
                o.status[i] = Some((
                    inst["state"].as_str().unwrap_or("?").to_owned(),
                    inst["effective_priority"].as_u64().unwrap_or(0),
                    inst["base_priority"].as_u64().unwrap_or(0),
                ));
            }
        }
        Ok(o)
    }

    /// Why `o` is not what the model expects now, if it is not.
    fn mismatch(&self, o: &Obs) -> Option<String> {
        let exp = self.model.expected();
        let mut why = Vec::new();
        for i in 0..N {
            let m = &self.model;
            if !m.running[i] {
                if m.stopped_gracefully[i] && o.holds[i] {
                    why.push(format!(
                        "node{} stopped gracefully but holds the VIP",
                        i + 1
                    ));
                }
                continue; // a killed daemon's kernel may keep its stale VIP
            }
            if m.frozen[i] {
                continue;
            }
            if o.holds[i] != exp[i] {
                why.push(format!(
                    "node{} {} the VIP",
                    i + 1,
                    if o.holds[i] { "holds" } else { "does not hold" }
                ));
            }
            if let Some((state, eff, base)) = &o.status[i] {
                let want = if !m.link[i] {
                    "FAULT"
                } else if exp[i] {
                    "MASTER"
                } else {
                    "BACKUP"
                };
                if state != want {
                    why.push(format!("node{} is {state}, expected {want}", i + 1));
                }
                if u64::from(m.base[i]) != *base {
                    why.push(format!(
                        "node{} base priority {base}, expected {}",
                        i + 1,
                        m.base[i]
                    ));
                }
                if m.link[i] && u64::from(m.eff(i)) != *eff {
                    why.push(format!(
                        "node{} effective priority {eff}, expected {}",
                        i + 1,
                        m.eff(i)
                    ));
                }
            }
        }
        if why.is_empty() {
            None
        } else {
            Some(format!(
                "{} (expected VIP on {})",
                why.join("; "),
                show_set(&exp)
            ))
        }
    }

    pub(super) fn note_obs(&mut self, last: &mut Option<Obs>, o: &Obs) {
        if last.as_ref() != Some(o) {
            let mut s = String::from("observed:");
            for i in 0..N {
                let _ = write!(
                    s,
                    " node{}[{}{}]",
                    i + 1,
                    if o.holds[i] { "VIP " } else { "" },
                    match &o.status[i] {
                        Some((st, e, _)) => format!("{st} {e}"),
                        None if !self.model.running[i] => "down".into(),
                        None if self.model.frozen[i] => "frozen".into(),
                        None => "-".into(),
                    }
                );
            }
            self.lab.note(&s);
            *last = Some(o.clone());
        }
    }

    /// Poll until `stable_at` + Master_Down_Interval + advert_int + slack; the
    /// state must be the model's by then and stay so for `hold`. Returns how
    /// long after `event_at` the final correct state started.
    fn settle(
        &mut self,
        kind: &str,
        stable_at: Instant,
        event_at: Instant,
        phase: &str,
    ) -> Result<Duration> {
        let lowest = (0..N)
            .filter(|&i| self.model.eligible(i))
            .map(|i| self.model.eff(i))
            .min()
            .unwrap_or(1);
        let base_deadline = stable_at + self.t.mdi(lowest) + self.t.adv + self.t.slack;
        // The promise holds for daemons that get the CPU. On a loaded machine
        // (two cores shared by many) a daemon's timers or this harness can be
        // starved; the time lost is added to the deadline and written to the
        // timeline, never hidden: keeld's own worst timer lateness (status
        // `max_timer_late_ms`) as it grows during the phase, and this
        // harness's gaps between observations beyond three poll periods.
        let start = Instant::now();
        let mut extra = start
            .saturating_duration_since(stable_at)
            .saturating_sub(Duration::from_millis(200));
        let late0 = self.late;
        let mut prev = start;
        let mut good_since: Option<Instant> = None;
        let mut last: Option<Obs> = None;
        loop {
            let now = Instant::now();
            let gap = now.duration_since(prev);
            prev = now;
            if gap > POLL * 3 {
                extra += gap - POLL;
            }
            let o = self.observe()?;
            let daemon_late = (0..N)
                .map(|i| (self.late[i] - late0[i]).max(0.0))
                .fold(0.0f64, f64::max);
            let ext = extra + Duration::from_secs_f64(daemon_late / 1000.0);
            let deadline = base_deadline + ext;
            self.note_obs(&mut last, &o);
            let bad = self.mismatch(&o);
            match &bad {
                None => {
                    good_since.get_or_insert(now);
                }
                Some(why) => {
                    if now >= deadline {
                        bail!(
                            "{phase}: {why}; the network has been stable for {} ms (Master_Down_Interval {} ms + advert_int {} ms + slack {} ms + {} ms lost to starvation)",
                            now.duration_since(stable_at).as_millis(),
                            self.t.mdi(lowest).as_millis(),
                            self.t.adv.as_millis(),
                            self.t.slack.as_millis(),
                            ext.as_millis()
                        );
                    }
                    good_since = None;
                }
            }
            if now >= deadline + self.t.adv * 2 {
                if ext > Duration::from_millis(50) {
                    self.stats.extended += 1;
                    self.stats.max_extension = self.stats.max_extension.max(ext);
                    self.lab.note(&format!(
                        "{phase}: deadline extended by {} ms (harness gaps {} ms, worst new daemon timer lateness {:.0} ms)",
                        ext.as_millis(),
                        extra.as_millis(),
                        daemon_late
                    ));
                }
                break;
            }
            std::thread::sleep(POLL);
        }
        let took = good_since
            .map(|g| g.saturating_duration_since(event_at))
            .unwrap_or_default();
        let _ = kind;
        Ok(took)
    }

    /// Settle and record the convergence time when the expected master moved.
    pub(super) fn check(
        &mut self,
        kind: &'static str,
        phase: &str,
        before: [bool; N],
        stable_at: Instant,
        event_at: Instant,
    ) -> Result<()> {
        let took = self.settle(kind, stable_at, event_at, phase)?;
        let after = self.model.expected();
        if after != before {
            self.stats
                .failover
                .entry(format!("{kind} ({phase})"))
                .or_default()
                .push(took);
            self.lab.note(&format!(
                "{phase}: VIP moved {} -> {} in {} ms",
                show_set(&before),
                show_set(&after),
                took.as_millis()
            ));
        }
        Ok(())
    }

    pub(super) fn resolve(&self, t: Target) -> usize {
        match t {
            Target::Node(i) => i,
            Target::Master => self.model.top().unwrap_or(0),
        }
    }

    pub(super) fn apply_nft(&mut self) -> Result<()> {
        let cuts = self.model.cut_list();
        self.lab.impair(&cuts, self.model.loss)
    }

    pub(super) fn partition(
        &mut self,
        kind: &'static str,
        before: [bool; N],
        hold: Duration,
    ) -> Result<()> {
        let at = Instant::now();
        self.apply_nft()?;
        self.check(kind, "partitioned", before, at, at)?;
        std::thread::sleep(hold);
        let before = self.model.expected();
        self.lab.note("partition healed");
        self.model.clear_cuts();
        let at = Instant::now();
        self.apply_nft()?;
        self.check(kind, "healed", before, at, at)
    }

    pub(super) fn wait_status(
        &self,
        i: usize,
        within: Duration,
        f: impl Fn(&serde_json::Value) -> bool,
    ) -> Option<serde_json::Value> {
        let t = Instant::now();
        while t.elapsed() < within {
            if let Some(s) = self.lab.nodes[i].status(Duration::from_secs(1))
                && f(&s)
            {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

/// A soak's resources must stay flat: per process that ran throughout (the
/// witness, node1, is never killed or restarted), RSS within 1 MiB and the
/// same number of open fds.
fn flat(res0: &[Resources; N], res1: &[Resources; N]) -> Result<()> {
    for i in 0..N {
        let (Some(a), Some(b)) = (res0[i], res1[i]) else {
            continue;
        };
        if a.0 != b.0 {
            continue; // restarted since: not comparable
        }
        if b.1 > a.1 + 1024 {
            bail!(
                "node{} (pid {}) RSS grew from {} KiB to {} KiB (more than 1 MiB)",
                i + 1,
                a.0,
                a.1,
                b.1
            );
        }
        if b.2 != a.2 {
            bail!(
                "node{} (pid {}) open fds changed from {} to {}",
                i + 1,
                a.0,
                a.2,
                b.2
            );
        }
    }
    Ok(())
}
