//! `cargo xtask demo`: the guide's two-node hot standby, live, in a
//! [`Lab`] of two nodes and a client.
//!
//! Both nodes run the guide's configuration ([`config::guide`]). The client
//! sends a UDP probe to the VIP every 10 ms; a responder on each node answers
//! with its name. The demo stops the master, restarts it, crashes it and takes
//! its link down, and prints a timeline and a summary table (also written to
//! `summary.md` in the lab directory). With [`Daemon::Keepalived`] the same
//! script runs keepalived, for comparison.
use crate::{Daemon, Lab, VIP, config};
use anyhow::{Result, bail};
use keel_testkit::probe::{ProbeLog, Prober};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One row of the summary.
struct Row {
    event: String,
    new_master: String,
    takeover: Option<Duration>,
    outage: Duration,
    lost: usize,
}

struct Demo {
    lab: Lab,
    prober: Prober,
    rows: Vec<Row>,
}

/// Run the demo with `daemon` on both nodes (`keeld`: this binary), files in `dir`.
pub fn run(daemon: Daemon, keeld: PathBuf, dir: &Path) -> Result<()> {
    crate::teardown::on_ctrl_c()?;
    crate::host::step("creating namespaces node1, node2, client and a bridge");
    let mut lab = Lab::in_dir("demo", 2, keeld, dir)?;
    for (i, master) in [true, false].into_iter().enumerate() {
        lab.write_conf(i, &config::guide(master));
        lab.nodes[i].daemon = daemon;
    }
    let prober = lab.prober(Duration::from_millis(10));
    let mut d = Demo {
        lab,
        prober,
        rows: Vec::new(),
    };
    let result = d.script(daemon.name());
    // Stop the daemons gracefully, then the namespaces go (Drop) with everything in them.
    d.lab.stop_all(Duration::from_secs(2));
    eprintln!("\nlogs and configs: {}", dir.display());
    result
}

impl Demo {
    /// Wait until node `i` holds the VIP (or `timeout`); when it got it.
    fn wait_holder(&self, i: usize, since: Instant, timeout: Duration) -> Option<Duration> {
        let left = timeout.saturating_sub(since.elapsed());
        self.lab
            .wait(left, |l| l.holds_vip(i))
            .map(|_| since.elapsed())
    }

    fn log(&self) -> ProbeLog {
        self.prober.snapshot()
    }

    fn measure(&mut self, event: &str, t: Instant, new: usize, settle: Duration) {
        let takeover = self.wait_holder(new, t, Duration::from_secs(8));
        // Let the client see the result, then look at what it saw.
        std::thread::sleep(settle.saturating_sub(t.elapsed()));
        let log = self.log();
        let outage = log.outage_in(t, None);
        let lost = log.lost_in(t, Some(Instant::now() - Duration::from_millis(150)));
        let who = log.last_responder(t, None).unwrap_or("nobody").to_owned();
        self.lab.say(&format!(
            "{event}: VIP on node{} after {}, client outage {} ms, {} probes lost, client now answered by {who}",
            new + 1,
            takeover.map_or("(never)".into(), |d| format!("{} ms", d.as_millis())),
            outage.as_millis(),
            lost
        ));
        self.rows.push(Row {
            event: event.into(),
            new_master: format!("node{}", new + 1),
            takeover,
            outage,
            lost,
        });
    }

    fn start(&mut self, i: usize) -> Result<()> {
        self.lab.nodes[i].start()
    }

    fn script(&mut self, name: &str) -> Result<()> {
        self.lab.say(&format!(
            "starting {name} on node1 (state MASTER, priority 100) and node2 (state BACKUP, priority 99)"
        ));
        let t = Instant::now();
        self.start(0)?;
        self.start(1)?;
        let takeover = self.wait_holder(0, t, Duration::from_secs(10));
        let msg = match takeover {
            Some(d) => format!(
                "node1 is master: VIP {VIP} on node1 after {} ms",
                d.as_millis()
            ),
            None => format!("no master after 10 s; see {}", self.lab.dir.display()),
        };
        self.lab.say(&msg);
        self.rows.push(Row {
            event: "both start".into(),
            new_master: "node1".into(),
            takeover,
            outage: Duration::ZERO,
            lost: 0,
        });
        if takeover.is_none() {
            bail!("the pair never elected a master");
        }
        std::thread::sleep(Duration::from_secs(2));
        let holders: Vec<String> = self
            .lab
            .holders()
            .iter()
            .map(|i| format!("node{}", i + 1))
            .collect();
        let who = self
            .log()
            .last_responder(t, None)
            .unwrap_or("nobody")
            .to_owned();
        self.lab.say(&format!(
            "steady state: VIP held by {holders:?}, client answered by {who}"
        ));

        // 1. graceful stop of the master
        self.lab
            .say("SIGTERM node1 (graceful stop: priority-0 advert)");
        let t = Instant::now();
        self.lab.signal(0, "TERM");
        self.measure("SIGTERM master", t, 1, Duration::from_secs(3));
        let _ = self.lab.nodes[0].reap(Duration::from_secs(3));

        // 2. the master returns and preempts
        self.lab.say("restarting node1: it should preempt");
        let t = Instant::now();
        self.start(0)?;
        self.measure("master returns (preempt)", t, 0, Duration::from_secs(6));

        // 3. crash: freeze then kill, so no priority 0 is sent
        std::thread::sleep(Duration::from_secs(1));
        self.lab
            .say("crashing node1 (SIGSTOP, then SIGKILL: no priority-0 advert)");
        let t = Instant::now();
        self.lab.signal(0, "STOP");
        self.lab.signal(0, "KILL");
        self.measure("master crash", t, 1, Duration::from_secs(6));
        let _ = self.lab.nodes[0].reap(Duration::from_secs(2));
        // The crashed node's kernel still holds the VIP (nobody removed it).
        if self.lab.holds_vip(0) {
            self.lab.say("node1's kernel still holds the VIP after the crash (removing it by hand, as a reboot would)");
            self.lab.nodes[0].drop_vip();
        }
        self.lab.say("restarting node1");
        let t = Instant::now();
        self.start(0)?;
        self.wait_holder(0, t, Duration::from_secs(8));
        std::thread::sleep(Duration::from_secs(1));

        // 4. link down on the master
        self.lab.say("link down on node1 (eth0)");
        let t = Instant::now();
        self.lab.nodes[0]
            .ns
            .run_ok(&["ip", "link", "set", "eth0", "down"]);
        self.measure("master link down", t, 1, Duration::from_secs(6));
        self.lab.nodes[0]
            .ns
            .run_ok(&["ip", "link", "set", "eth0", "up"]);
        let t = Instant::now();
        self.lab.say("link up on node1: it should preempt");
        self.measure("link back (preempt)", t, 0, Duration::from_secs(6));

        let out = summary(name, &self.rows);
        eprintln!("{out}");
        std::fs::write(self.lab.dir.join("summary.md"), &out)?;
        Ok(())
    }
}

fn summary(name: &str, rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nSummary ({name}, VRRPv2, advert_int 1, priorities 100/99: Skew_Time 613 ms, Master_Down_Interval 3613 ms)\n"
    );
    let _ = writeln!(
        out,
        "| event | new master | VIP moved after (ms) | client outage (ms) | lost 10 ms probes |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|");
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            r.event,
            r.new_master,
            r.takeover
                .map_or("never".into(), |d| d.as_millis().to_string()),
            r.outage.as_millis(),
            r.lost
        );
    }
    out
}
