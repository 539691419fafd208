//! `cargo xtask bench scale [-- --ifaces K --per N --rt PRIO --debug]`: one
//! daemon with 5,000 VRRP instances (20 interfaces × 250 VRIDs, advert_int 1,
//! one VIP each, no peer: all become master), keeld then keepalived in the
//! same run, on veth pairs whose other ends sit in a sink namespace (this
//! host's kernel has no dummy interfaces).
//!
//! Measured per daemon: time from start until every VIP is on its interface
//! (all master; the target is Master_Down_Interval + 1 s = 4.61 s) — which
//! also proves that adding 5,000 VIPs at once survived netlink buffer
//! pressure —, CPU (schedstat of every thread) and RSS over a 20 s steady
//! window, the advert gap per (interface, VRID) from a tcpdump capture in the
//! sink namespace (p50 / p99 / max; ideal 1000 ms), and that a stop leaves no
//! VIP behind. Writes `target/bench-scale.md`.
//!
//! `--rt PRIO` runs both daemons under `chrt -f PRIO` (what keepalived's
//! `vrrp_rt_priority` does): on a busy machine the advert gaps then show the
//! daemons' own timing rather than the scheduler's. `--only keeld|keepalived`
//! runs one daemon; `--keeld PATH` uses a keeld built elsewhere (e.g. an older
//! commit, to compare).
use crate::host::{KEEPALIVED, build_keeld, root, step};
use crate::procfs::{cpu_ns, rss_kib};
use crate::topology::fan_out;
use crate::{Daemon, Node, Tcpdump};
use anyhow::{Result, bail};
use keel_testkit::Netns;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The configuration: `ifaces` interfaces × `per` VRIDs, VIP 203.0.113.V
/// (the same set on every interface: addresses are per interface).
pub fn config(ifaces: usize, per: usize) -> String {
    let mut s = String::from("global_defs {\n  router_id scale\n}\n");
    for k in 0..ifaces {
        for v in 1..=per {
            let _ = write!(
                s,
                "vrrp_instance VI_{k}_{v} {{\n  state BACKUP\n  interface s{k}\n  virtual_router_id {v}\n  priority 100\n  advert_int 1\n  virtual_ipaddress {{\n    203.0.113.{v}/32\n  }}\n}}\n"
            );
        }
    }
    s
}

struct Run {
    startup_ms: Option<f64>,
    vips_up: usize,
    cpu_pct: f64,
    rss_kib: u64,
    gaps_ms: Vec<f64>,
    adverts: usize,
    streams: usize,
    vips_left: usize,
    /// keeld only: its own timer lateness histogram (status socket).
    late_hist: String,
}

fn count_vips(ns: &Netns) -> usize {
    let out = keel_testkit::sh(&["ip", "-n", ns.name(), "-o", "-4", "addr", "show"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(" 203.0.113."))
        .count()
}

/// Gaps between consecutive adverts of each (source, VRID) in a
/// `tcpdump -tt -n` text capture; also the number of adverts and streams.
fn gaps(text: &str) -> (Vec<f64>, usize, usize) {
    let mut last: HashMap<(String, u32), f64> = HashMap::new();
    let mut out = Vec::new();
    let mut n = 0;
    for l in text.lines() {
        let Some(t) = l
            .split_whitespace()
            .next()
            .and_then(|t| t.parse::<f64>().ok())
        else {
            continue;
        };
        let Some(gt) = l.find(" > 224.0.0.18") else {
            continue;
        };
        let Some(src) = l[..gt].rsplit(' ').next() else {
            continue;
        };
        let Some(vrid) = l
            .split("vrid ")
            .nth(1)
            .and_then(|r| r.split(',').next())
            .and_then(|v| v.parse::<u32>().ok())
        else {
            continue;
        };
        n += 1;
        if let Some(prev) = last.insert((src.to_owned(), vrid), t) {
            out.push((t - prev) * 1000.0);
        }
    }
    let streams = last.len();
    (out, n, streams)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// keeld's timer lateness histogram from `keeld status --json`, as text.
fn keeld_late_hist(bin: &Path, sock: &Path) -> String {
    let Ok(out) = Command::new(bin)
        .args(["status", "--json", "--socket"])
        .arg(sock)
        .output()
    else {
        return "-".into();
    };
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let Some(h) = v["timer_late_hist"].as_array() else {
        return "-".into();
    };
    h.iter()
        .map(|b| match b["le_ms"].as_f64() {
            Some(le) => format!("<={le}ms:{}", b["count"]),
            None => format!(">100ms:{}", b["count"]),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn one(
    daemon: Daemon,
    bin: &Path,
    ifaces: usize,
    per: usize,
    dir: &Path,
    rt: Option<u8>,
) -> Result<Run> {
    let total = ifaces * per;
    step(&format!(
        "scale: {} with {total} instances ({ifaces} interfaces x {per} VRIDs)",
        daemon.name()
    ));
    let (node, sink) = fan_out("sc", ifaces);
    let dir = dir.join(daemon.name());
    std::fs::create_dir_all(&dir)?;
    let mut n = Node::new(node, 0, dir.clone(), bin.to_path_buf())?;
    n.daemon = daemon;
    n.detail = false;
    n.rt = rt;
    std::fs::write(n.conf_path(), config(ifaces, per))?;
    let t0 = Instant::now();
    n.start()?;
    let mut startup = None;
    let mut up = 0;
    while t0.elapsed() < Duration::from_secs(30) {
        up = count_vips(&n.ns);
        if up == total {
            startup = Some(t0.elapsed().as_secs_f64() * 1000.0);
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!(
        "    all master after {}",
        startup.map_or_else(
            || format!("- ({up} of {total} VIPs)"),
            |ms| format!("{ms:.0} ms")
        )
    );
    // Settle past the second gratuitous burst (garp_master_delay 5 s).
    std::thread::sleep(Duration::from_secs(6));
    let dump = Tcpdump::start(
        &sink,
        &["-i", "any", "-B", "16384", "vrrp"],
        &dir.join("capture.txt"),
    )?;
    std::thread::sleep(Duration::from_secs(1));
    let ps = n.pids(true);
    let c0 = cpu_ns(&ps);
    let w0 = Instant::now();
    std::thread::sleep(Duration::from_secs(20));
    let c1 = cpu_ns(&ps);
    let wall = w0.elapsed();
    let rss = ps.iter().map(|p| rss_kib(*p)).sum();
    let late_hist = if daemon == Daemon::Keeld {
        keeld_late_hist(bin, &n.socket())
    } else {
        String::new()
    };
    let text = dump.stop();
    let (mut g, adverts, streams) = gaps(&text);
    g.sort_by(f64::total_cmp);
    // Stop: SIGTERM to every daemon process, then no VIP may be left.
    n.signal("TERM");
    if n.reap(Duration::from_secs(10)).is_none() {
        n.kill();
    }
    std::thread::sleep(Duration::from_millis(500));
    let left = count_vips(&n.ns);
    Ok(Run {
        startup_ms: startup,
        vips_up: up,
        cpu_pct: c1.saturating_sub(c0) as f64 / wall.as_nanos() as f64 * 100.0,
        rss_kib: rss,
        gaps_ms: g,
        adverts,
        streams,
        vips_left: left,
        late_hist,
    })
}

/// One line per metric for `--only`.
fn one_summary(d: Daemon, r: &Run) -> String {
    format!(
        "{}: start {} ms, CPU {:.2} %, RSS {:.1} MiB, gap p50/p99/max {:.3}/{:.3}/{:.3} ms ({} adverts, {} streams), VIPs left {}\n{}",
        d.name(),
        r.startup_ms.map_or_else(
            || format!("not reached ({})", r.vips_up),
            |v| format!("{v:.0}")
        ),
        r.cpu_pct,
        r.rss_kib as f64 / 1024.0,
        pct(&r.gaps_ms, 0.50),
        pct(&r.gaps_ms, 0.99),
        r.gaps_ms.last().copied().unwrap_or(f64::NAN),
        r.adverts,
        r.streams,
        r.vips_left,
        r.late_hist
    )
}

pub fn main(args: &[String]) -> Result<()> {
    if !keel_testkit::is_root() {
        bail!("cargo xtask bench scale needs root (network namespaces)");
    }
    crate::host::ensure_packages(&[("keepalived", KEEPALIVED), ("tcpdump", "/usr/bin/tcpdump")])?;
    let (mut ifaces, mut per, mut debug) = (20usize, 250usize, false);
    let mut only: Option<Daemon> = None;
    let mut prebuilt: Option<PathBuf> = None;
    let mut rt: Option<u8> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--ifaces" => ifaces = super::value(a, &mut it)?,
            "--per" => per = super::value(a, &mut it)?,
            "--debug" => debug = true,
            "--keeld" => prebuilt = it.next().map(PathBuf::from),
            // Both daemons under SCHED_FIFO at this priority (`chrt -f`), to see
            // the daemons' own timing apart from a busy machine's scheduling.
            "--rt" => rt = Some(super::value(a, &mut it)?),
            "--only" => {
                only = match it.next().map(String::as_str) {
                    Some("keeld") => Some(Daemon::Keeld),
                    Some("keepalived") => Some(Daemon::Keepalived),
                    other => bail!("--only keeld|keepalived, not {other:?}"),
                }
            }
            other => bail!(
                "unknown argument {other:?} (use --ifaces K, --per N, --only keeld|keepalived, --keeld PATH, --rt PRIO, --debug)"
            ),
        }
    }
    if !(1..=30).contains(&ifaces) || !(1..=255).contains(&per) {
        bail!("--ifaces 1..=30, --per 1..=255");
    }
    let keeld = match prebuilt {
        // A keeld built elsewhere (e.g. an older commit, to compare).
        Some(p) => p,
        None => build_keeld(!debug)?,
    };
    let dir = root().join("target/bench-scale");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let ka = PathBuf::from(KEEPALIVED);
    if let Some(d) = only {
        // One daemon: a quick look while working on it; no comparison table.
        let bin = if d == Daemon::Keeld { &keeld } else { &ka };
        let r = one(d, bin, ifaces, per, &dir, rt)?;
        println!("{}", one_summary(d, &r));
        return Ok(());
    }
    let k = one(Daemon::Keeld, &keeld, ifaces, per, &dir, rt)?;
    let a = one(Daemon::Keepalived, &ka, ifaces, per, &dir, rt)?;
    let total = ifaces * per;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{total} VRRP instances ({ifaces} veth interfaces x {per} VRIDs), VRRPv2 advert_int 1, one VIP each, no peer (all master); keeld ({}) then keepalived 2.2.7 in the same run{}. 20 s steady window; capture in the sink namespace. 2 shared cores: noisy.\n",
        if debug { "debug build" } else { "release" },
        rt.map_or(String::new(), |p| format!(", both under SCHED_FIFO {p}"))
    );
    let _ = writeln!(out, "| metric | keeld | keepalived |");
    let _ = writeln!(out, "|---|---|---|");
    let f = |r: &Run| {
        r.startup_ms.map_or_else(
            || format!("not reached ({} of {total})", r.vips_up),
            |v| format!("{v:.0}"),
        )
    };
    let _ = writeln!(
        out,
        "| start to all master, all VIPs on (ms; target <= 4609) | {} | {} |",
        f(&k),
        f(&a)
    );
    let _ = writeln!(
        out,
        "| CPU (% of one core) | {:.2} | {:.2} |",
        k.cpu_pct, a.cpu_pct
    );
    let _ = writeln!(
        out,
        "| RSS (MiB) | {:.1} | {:.1} |",
        k.rss_kib as f64 / 1024.0,
        a.rss_kib as f64 / 1024.0
    );
    for (name, p) in [("p50", 0.5), ("p99", 0.99), ("max", 1.0)] {
        let _ = writeln!(
            out,
            "| advert gap {name} (ms) | {:.3} | {:.3} |",
            pct(&k.gaps_ms, p),
            pct(&a.gaps_ms, p)
        );
    }
    let _ = writeln!(
        out,
        "| adverts captured / streams seen | {} / {} | {} / {} |",
        k.adverts, k.streams, a.adverts, a.streams
    );
    let _ = writeln!(
        out,
        "| VIPs left after SIGTERM | {} | {} |",
        k.vips_left, a.vips_left
    );
    let _ = writeln!(
        out,
        "\nkeeld's own timer lateness (every instance timer since start, startup included, from its status): {}",
        k.late_hist
    );
    super::publish("bench-scale.md", &out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gap_parsing() {
        let text = "1.000000 k0 In IP 198.51.100.1 > 224.0.0.18: VRRPv2, Advertisement, vrid 7, prio 100, authtype none, intvl 1s, length 20\n\
                    1.500000 k1 In IP 198.51.100.9 > 224.0.0.18: VRRPv2, Advertisement, vrid 7, prio 100, authtype none, intvl 1s, length 20\n\
                    2.001000 k0 In IP 198.51.100.1 > 224.0.0.18: VRRPv2, Advertisement, vrid 7, prio 100, authtype none, intvl 1s, length 20\n";
        let (g, n, streams) = gaps(text);
        assert_eq!((n, streams), (3, 2));
        assert_eq!(g.len(), 1);
        assert!((g[0] - 1001.0).abs() < 1e-6);
        assert!(config(2, 3).matches("vrrp_instance").count() == 6);
    }
}
