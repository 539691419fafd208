//! `cargo xtask chaos`: seeded fault injection against three VRRP nodes, with
//! the invariants checked from outside. See `docs/chaos.md`.
//!
//! ```text
//!   node1 eth0 192.0.2.10 (prio 100) ─┐
//!   node2 eth0 192.0.2.11 (prio  90) ─┼─ bridge br0 (own namespace, nftables here)
//!   node3 eth0 192.0.2.12 (prio  80) ─┤            VIP 192.0.2.250, VRID 51
//!   client eth0 192.0.2.100 ──────────┘
//! ```
//!
//! A schedule of faults is generated from the seed alone (never from what the
//! run observes), so `--seed S` with the same flags replays the same faults in
//! the same order. Each step applies one fault, checks the invariants once the
//! network has been stable for Master_Down_Interval + one advert interval (+ a
//! scheduling slack), repairs the fault and checks again.
//!
//! [`model`]: the expected state and the schedule; `runner`: observing and
//! checking the lab; `faults`: applying each kind of fault; `report`: the
//! tallies and the report.
#![allow(clippy::needless_range_loop)] // nodes are indices into several parallel arrays
mod faults;
pub mod machine;
pub mod model;
mod report;
mod runner;

use crate::host::{KEEPALIVED, build_keeld, root, step};
use crate::{Daemon, Lab};
use anyhow::{Context, Result, bail};
use model::{Model, N};
use report::Stats;
use runner::Runner;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(clap::Args, Debug, Clone)]
pub struct ChaosArgs {
    /// Seed of the fault schedule (default: from the clock; always printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Number of fault steps (default 20 unless --minutes is given).
    #[arg(long)]
    pub steps: Option<u64>,
    /// Run faults for this many minutes (soak: RSS and fds asserted flat).
    #[arg(long)]
    pub minutes: Option<f64>,
    /// VRRPv3 with advert_int 0.1 (many more steps per minute) instead of VRRPv2 advert_int 1.
    #[arg(long)]
    pub fast: bool,
    /// Run keepalived (2.2.x) as the third node.
    #[arg(long)]
    pub with_keepalived: bool,
    /// Hostile-input flood instead of the fault schedule.
    #[arg(long)]
    pub flood: bool,
    /// Machine faults (reload storm, partition heal, disk and log stalls,
    /// CPU starvation) on a pair instead of the fault schedule; `--kinds`
    /// picks some, `--secs` is each phase's length.
    #[arg(long)]
    pub machine: bool,
    /// Flood duration in seconds (with --machine: each phase's).
    #[arg(long, default_value_t = 30)]
    pub secs: u64,
    /// Flood rate in packets per second.
    #[arg(long, default_value_t = 50_000)]
    pub pps: u64,
    /// Flood only these kinds, or with --machine run only these faults
    /// (comma separated; default all). See docs/chaos.md.
    #[arg(long, value_delimiter = ',')]
    pub kinds: Vec<String>,
    /// VRRP instances per node in the flood (VI_1 on VRID 51 and the rest
    /// on other VRIDs, node1 master of all).
    #[arg(long, default_value_t = 250)]
    pub instances: usize,
    /// Run this keeld binary instead of building one (e.g. an older build,
    /// for before/after figures).
    #[arg(long)]
    pub keeld: Option<PathBuf>,
    /// Extra time allowed on top of Master_Down_Interval + advert_int for
    /// process scheduling on a loaded machine, in milliseconds.
    #[arg(long, default_value_t = 300)]
    pub slack_ms: u64,
    /// Use a release build of keeld (default: debug, faster to build).
    #[arg(long)]
    pub release: bool,
    /// The flood's limit on node1's advert lateness, p99 in milliseconds.
    /// The default is the promise of the security issue (1 ms), which keeld
    /// does not meet yet at 250 instances (docs/chaos.md); CI passes a looser
    /// bound so that a regression towards a takeover still fails it.
    #[arg(long, default_value_t = 1.0)]
    pub max_late_ms: f64,
    /// Output directory for logs, configs, the timeline and the report
    /// (default target/chaos, or target/chaos-flood).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Build keeld, run a private copy of it (keeld is rebuilt in the shared tree
/// while long runs go on, and a run must test one binary and never exec a
/// half-written one), with the lab torn down on Ctrl-C: the fault schedule,
/// or with `--flood` the flood.
pub fn main(a: &ChaosArgs) -> Result<()> {
    if !keel_testkit::is_root() {
        bail!("cargo xtask chaos needs root (network namespaces, nftables, raw sockets)");
    }
    crate::host::ensure_packages(&[("nftables", "/usr/sbin/nft")])?;
    if a.with_keepalived {
        crate::host::ensure_packages(&[("keepalived", KEEPALIVED)])?;
    }
    let built = match &a.keeld {
        Some(b) => b.clone(),
        None => build_keeld(a.release)?,
    };
    let tmp = std::env::temp_dir().join(format!("keel-chaos-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let bin = tmp.join("keeld");
    std::fs::copy(&built, &bin).with_context(|| format!("copying {}", built.display()))?;
    crate::teardown::on_ctrl_c()?;
    let r = if a.flood {
        crate::flood::run(a, &bin)
    } else if a.machine {
        machine::run(a, &bin, a.seed.unwrap_or_else(clock_seed))
    } else {
        chaos(a, &bin)
    };
    let _ = std::fs::remove_dir_all(&tmp);
    r
}

/// Timing of the protocol as configured.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub adv: Duration,
    pub v3: bool,
    pub slack: Duration,
}

impl Timing {
    /// Master_Down_Interval for the lowest priority that may have to take over.
    pub fn mdi(&self, lowest_prio: u8) -> Duration {
        let skew = self.adv * (256 - u32::from(lowest_prio)) / 256;
        self.adv * 3 + skew
    }
}

/// A seed from the clock when none is given (it is always printed).
fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64 ^ u64::from(std::process::id()))
        .unwrap_or(1)
}

fn chaos(a: &ChaosArgs, bin: &Path) -> Result<()> {
    let seed = a.seed.unwrap_or_else(clock_seed);
    let soak = a.minutes.is_some();
    let max_steps = a.steps.unwrap_or(if soak { u64::MAX } else { 20 });
    let until = a.minutes.map(|m| Duration::from_secs_f64(m * 60.0));
    let t = Timing {
        adv: if a.fast {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(1)
        },
        v3: a.fast,
        slack: Duration::from_millis(a.slack_ms),
    };
    let mut replay = format!("cargo xtask chaos --seed {seed}");
    if let Some(s) = a.steps {
        let _ = write!(replay, " --steps {s}");
    }
    if let Some(m) = a.minutes {
        let _ = write!(replay, " --minutes {m}");
    }
    if a.fast {
        replay.push_str(" --fast");
    }
    if a.with_keepalived {
        replay.push_str(" --with-keepalived");
    }
    let dir = a.out.clone().unwrap_or_else(|| root().join("target/chaos"));
    let daemons = [
        Daemon::Keeld,
        Daemon::Keeld,
        if a.with_keepalived {
            Daemon::Keepalived
        } else {
            Daemon::Keeld
        },
    ];
    step(&format!(
        "chaos: seed {seed}, {}, {} ({}); replay: {replay}",
        match (a.steps, a.minutes) {
            (_, Some(m)) => format!("{m} minutes"),
            (Some(s), None) => format!("{s} steps"),
            (None, None) => "20 steps".into(),
        },
        if t.v3 {
            "VRRPv3 advert_int 0.1"
        } else {
            "VRRPv2 advert_int 1"
        },
        if a.with_keepalived {
            "keeld, keeld, keepalived"
        } else {
            "keeld x3"
        }
    ));
    let mut lab = Lab::in_dir("chaos", N, bin.to_path_buf(), &dir)?;
    for (n, d) in lab.nodes.iter_mut().zip(daemons) {
        n.daemon = d;
    }
    let mut r = Runner {
        lab: &mut lab,
        t,
        model: Model::new(),
        stats: Stats::default(),
        step_no: 0,
        soak,
        late: [0.0; N],
        late_pid: [None; N],
    };
    let result = r.run(seed, max_steps, until);
    let stats_text = r.report(seed, &replay, &result);
    // Stop everything gracefully; a node that stops must not keep the VIP.
    lab.stop_all(Duration::from_secs(5));
    let panics = lab.no_panics();
    let tl = lab.timeline.join("\n");
    std::fs::write(dir.join("timeline.txt"), &tl)?;
    std::fs::write(dir.join("report.md"), &stats_text)?;
    eprintln!("\n{stats_text}");
    eprintln!("logs, configs, timeline and report: {}", dir.display());
    if let Err(e) = result {
        eprintln!("\n===== timeline (seed {seed}) =====\n{tl}\n===== end of timeline =====");
        eprintln!(
            "\nCHAOS RUN FAILED (invariant violation or lab error): {e:#}\nseed {seed}; replay with: {replay}"
        );
        return Err(e);
    }
    panics.with_context(|| format!("seed {seed}; replay with: {replay}"))?;
    eprintln!("chaos: 0 invariant violations (seed {seed})");
    Ok(())
}
