//! `cargo xtask bench failover --fast [--reps N --debug]`: fast failover at
//! VRRPv3 advert_int 0.01 (priorities 100 / 99: Skew_Time 6.13 ms,
//! Master_Down_Interval 36.13 ms), keeld then keepalived in the same run.
//!
//! Each repetition: a graceful stop (SIGTERM), a crash (SIGSTOP + SIGKILL)
//! and a link down of the master. The protocol's figure is taken from a
//! tcpdump on the client (kernel timestamps): the old master's last advert
//! (priority 0 on a graceful stop) to the new master's first. The client's
//! outage comes from 2 ms UDP probes to the VIP. CPU per instance is the
//! steady-state CPU of the master and of the backup over 10 s.
use crate::host::{build_keeld, root, step};
use crate::procfs::cpu_ns;
use crate::{Daemon, Lab, Tcpdump, VIP};
use anyhow::{Context, Result, bail};
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const SKEW_MS: f64 = 10.0 * (256.0 - 99.0) / 256.0;
const MDI_MS: f64 = 30.0 + SKEW_MS;

fn conf(prio: u8) -> String {
    format!(
        "global_defs {{\n  router_id F{prio}\n}}\nvrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priority {prio}\n  advert_int 0.01\n  version 3\n  virtual_ipaddress {{\n    {VIP}\n  }}\n}}\n"
    )
}

#[derive(Debug, Default)]
struct Fast {
    graceful_gap: Vec<f64>,
    crash_gap: Vec<f64>,
    link_gap: Vec<f64>,
    graceful_outage: Vec<f64>,
    crash_outage: Vec<f64>,
    link_outage: Vec<f64>,
    cpu_master_ms_min: f64,
    cpu_backup_ms_min: f64,
}

/// Old master's last advert to the new master's first, for an event at
/// wall time `at`, in ms.
fn gap(text: &str, at: f64) -> Option<f64> {
    let a = crate::capture::vrrp_adverts(text);
    let new = a
        .iter()
        .find(|(t, s, _, p)| *t >= at && s == "192.0.2.11" && *p > 0)?
        .0;
    let old = a
        .iter()
        .filter(|(t, s, _, _)| *t <= new && s == "192.0.2.10")
        .map(|x| x.0)
        .next_back()?;
    Some((new - old) * 1000.0)
}

fn wall() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

fn settle(lab: &Lab) -> Result<()> {
    lab.wait(Duration::from_secs(10), |l| {
        l.holds_vip(0) && !l.holds_vip(1)
    })
    .context("node1 did not become the only master")?;
    std::thread::sleep(Duration::from_millis(500));
    Ok(())
}

fn one(d: Daemon, bin: &Path, reps: usize) -> Result<Fast> {
    step(&format!(
        "fast failover with {} ({reps} repetitions)",
        d.name()
    ));
    let dir = root().join(format!("target/bench-failover-fast/{}", d.name()));
    let mut lab = Lab::in_dir("bff", 2, bin.to_path_buf(), &dir)?;
    for (i, prio) in [(0, 100u8), (1, 99)] {
        lab.write_conf(i, &conf(prio));
        lab.nodes[i].daemon = d;
        lab.nodes[i].detail = false;
    }
    let prober = lab.prober(Duration::from_millis(2));
    lab.nodes[0].start()?;
    std::thread::sleep(Duration::from_millis(200));
    lab.nodes[1].start()?;
    settle(&lab)?;
    let mut f = Fast::default();
    let (m0, b0) = (
        cpu_ns(&lab.nodes[0].pids(true)),
        cpu_ns(&lab.nodes[1].pids(true)),
    );
    std::thread::sleep(Duration::from_secs(10));
    let (m1, b1) = (
        cpu_ns(&lab.nodes[0].pids(true)),
        cpu_ns(&lab.nodes[1].pids(true)),
    );
    f.cpu_master_ms_min = m1.saturating_sub(m0) as f64 / 1e6 * 6.0;
    f.cpu_backup_ms_min = b1.saturating_sub(b0) as f64 / 1e6 * 6.0;
    let dump = Tcpdump::start(
        &lab.client,
        &["-l", "-i", "eth0", "vrrp"],
        &dir.join("capture.txt"),
    )?;
    dump.wait_for("192.0.2.10 > 224.0.0.18", Duration::from_secs(5))?;
    let mut events: Vec<(&str, f64, Instant)> = Vec::new();
    for _ in 0..reps {
        for kind in ["graceful", "crash", "link"] {
            let (w, t) = (wall(), Instant::now());
            match kind {
                "graceful" => lab.signal(0, "TERM"),
                "crash" => {
                    lab.signal(0, "STOP");
                    lab.signal(0, "KILL");
                }
                _ => {
                    lab.nodes[0]
                        .ns
                        .run_ok(&["ip", "link", "set", "eth0", "down"]);
                }
            }
            if lab
                .wait(Duration::from_secs(5), |l| l.holds_vip(1))
                .is_none()
            {
                bail!("{}: no takeover after {kind}", d.name());
            }
            std::thread::sleep(Duration::from_millis(200));
            let outage = prober.snapshot().outage_in(t, None).as_secs_f64() * 1000.0;
            match kind {
                "graceful" => f.graceful_outage.push(outage),
                "crash" => f.crash_outage.push(outage),
                _ => f.link_outage.push(outage),
            }
            events.push((kind, w, t));
            if kind == "link" {
                lab.nodes[0].ns.run_ok(&["ip", "link", "set", "eth0", "up"]);
            } else {
                let _ = lab.reap(0, Duration::from_secs(3));
                lab.signal(0, "KILL");
                lab.nodes[0].drop_vip();
                lab.nodes[0].start()?;
            }
            settle(&lab)?;
        }
    }
    std::thread::sleep(Duration::from_millis(200));
    let text = dump.stop();
    for (kind, w, _) in &events {
        let g = gap(&text, *w)
            .with_context(|| format!("{}: {kind}: no adverts in the capture", d.name()))?;
        match *kind {
            "graceful" => f.graceful_gap.push(g),
            "crash" => f.crash_gap.push(g),
            _ => f.link_gap.push(g),
        }
    }
    drop(prober.stop());
    lab.stop_all(Duration::from_secs(5));
    Ok(f)
}

fn show(v: &[f64]) -> String {
    let mut s: Vec<f64> = v.to_vec();
    s.sort_by(f64::total_cmp);
    let med = s.get(s.len() / 2).copied().unwrap_or(f64::NAN);
    let raw: Vec<String> = v.iter().map(|x| format!("{x:.2}")).collect();
    format!(
        "median {med:.2}, max {:.2} ({})",
        s.last().copied().unwrap_or(f64::NAN),
        raw.join(", ")
    )
}

/// `bench failover --fast [--reps N] [--debug]`.
pub fn main(reps: usize, debug: bool) -> Result<()> {
    let keeld = build_keeld(!debug)?;
    let k = one(Daemon::Keeld, &keeld, reps)?;
    let a = one(Daemon::Keepalived, &keeld, reps)?;
    let mut out = format!(
        "Fast failover: VRRPv3 advert_int 0.01, priorities 100/99 (Skew_Time {SKEW_MS:.2} ms, Master_Down_Interval {MDI_MS:.2} ms), {reps} repetitions, 2 ms probes, {} keeld; adverts timed by tcpdump on the client (ms; median, max, raw). Load average at the end: {}\n\n| event | target | keeld | keepalived |\n|---|---|---|---|\n",
        if debug { "debug" } else { "release" },
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let rows: [(&str, String, &[f64], &[f64]); 6] = [
        (
            "graceful: old master's priority-0 advert → new master's first",
            format!("≤ {:.2}", SKEW_MS + 0.3),
            &k.graceful_gap,
            &a.graceful_gap,
        ),
        (
            "crash: old master's last advert → new master's first",
            format!("≤ {:.2}", MDI_MS + 1.0),
            &k.crash_gap,
            &a.crash_gap,
        ),
        (
            "link down: old master's last advert → new master's first",
            format!("≤ {:.2}", MDI_MS + 1.0),
            &k.link_gap,
            &a.link_gap,
        ),
        (
            "graceful: client outage",
            "–".into(),
            &k.graceful_outage,
            &a.graceful_outage,
        ),
        (
            "crash: client outage",
            "≤ 50".into(),
            &k.crash_outage,
            &a.crash_outage,
        ),
        (
            "link down: client outage",
            "–".into(),
            &k.link_outage,
            &a.link_outage,
        ),
    ];
    for (name, target, kv, av) in rows {
        let _ = writeln!(out, "| {name} | {target} | {} | {} |", show(kv), show(av));
    }
    let _ = writeln!(
        out,
        "| steady CPU, master (ms per minute, 10 s sample) | – | {:.1} | {:.1} |\n| steady CPU, backup (ms per minute, 10 s sample) | – | {:.1} | {:.1} |",
        k.cpu_master_ms_min, a.cpu_master_ms_min, k.cpu_backup_ms_min, a.cpu_backup_ms_min
    );
    super::publish("bench-failover-fast.md", &out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn gap_from_a_capture() {
        let t = "100.000000 IP 192.0.2.10 > 224.0.0.18: VRRPv3, Advertisement, vrid 51, prio 100, intvl 1cs, length 12\n\
                 100.005000 IP 192.0.2.10 > 224.0.0.18: VRRPv3, Advertisement, vrid 51, prio 0, intvl 1cs, length 12\n\
                 100.011500 IP 192.0.2.11 > 224.0.0.18: VRRPv3, Advertisement, vrid 51, prio 99, intvl 1cs, length 12\n";
        let g = super::gap(t, 100.004).unwrap();
        assert!((g - 6.5).abs() < 1e-6, "{g}");
        assert!(super::gap(t, 100.02).is_none());
    }
}
