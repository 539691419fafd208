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
use crate::lab::{Daemon, cpu_ns};
use crate::util::{cargo, is_root, root, run, step};
use anyhow::{Context, Result, bail};
use keel_testkit::Netns;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Interface k: node side `s{k}` 198.51.100.(8k+1)/29, sink side `k{k}`.
fn node_addr(k: usize) -> String {
    format!("198.51.100.{}", 8 * k + 1)
}

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

fn pids(ns: &Netns, comm: &str) -> Vec<String> {
    let o = keel_testkit::sh(&["ip", "netns", "pids", ns.name()]);
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == comm)
        })
        .map(str::to_owned)
        .collect()
}

fn rss_kib(pids: &[String]) -> u64 {
    pids.iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/status")).ok())
        .filter_map(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .sum()
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
    let node = Netns::new("sc-node");
    let sink = Netns::new("sc-sink");
    for k in 0..ifaces {
        node.veth_to(&sink, &format!("s{k}"), &format!("k{k}"));
        node.run_ok(&[
            "ip",
            "addr",
            "add",
            &format!("{}/29", node_addr(k)),
            "dev",
            &format!("s{k}"),
        ]);
        sink.run_ok(&[
            "ip",
            "addr",
            "add",
            &format!("198.51.100.{}/29", 8 * k + 2),
            "dev",
            &format!("k{k}"),
        ]);
    }
    let conf = dir.join("scale.conf");
    std::fs::write(&conf, config(ifaces, per))?;
    let log = std::fs::File::create(dir.join(format!("{}.log", daemon.name())))?;
    let pid = |k: &str| dir.join(format!("{}-{k}.pid", daemon.name()));
    let mut cmd = node.command(&[]);
    if let Some(p) = rt {
        cmd.args(["chrt", "-f", &p.to_string()]);
    }
    cmd.arg(bin).args(["-n", "-l", "-f"]).arg(&conf);
    cmd.arg("-p").arg(pid("main")).arg("-r").arg(pid("vrrp"));
    if daemon == Daemon::Keepalived {
        cmd.arg("-c").arg(pid("check")).arg("-P");
    }
    cmd.stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    let t0 = Instant::now();
    let mut child: Child = cmd.spawn().context("starting the daemon")?;
    let mut startup = None;
    let mut up = 0;
    while t0.elapsed() < Duration::from_secs(30) {
        up = count_vips(&node);
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
    let cap = dir.join(format!("{}-capture.txt", daemon.name()));
    let mut dump = sink
        .command(&["tcpdump", "-tt", "-n", "-i", "any", "-B", "16384", "vrrp"])
        .stdout(std::fs::File::create(&cap)?)
        .stderr(Stdio::null())
        .spawn()
        .context("tcpdump")?;
    std::thread::sleep(Duration::from_secs(1));
    let ps = pids(&node, daemon.name());
    let c0 = cpu_ns(&ps);
    let w0 = Instant::now();
    std::thread::sleep(Duration::from_secs(20));
    let c1 = cpu_ns(&ps);
    let wall = w0.elapsed();
    let rss = rss_kib(&ps);
    let late_hist = if daemon == Daemon::Keeld {
        keeld_late_hist(bin, &dir.join("keeld-main.sock"))
    } else {
        String::new()
    };
    let _ = dump.kill();
    let _ = dump.wait();
    let text = std::fs::read_to_string(&cap).unwrap_or_default();
    let (mut g, adverts, streams) = gaps(&text);
    g.sort_by(f64::total_cmp);
    // Stop: SIGTERM to every daemon process, then no VIP may be left.
    for p in pids(&node, daemon.name()) {
        let _ = Command::new("kill").args(["-TERM", &p]).status();
    }
    let _ = crate::util::wait_exit(
        &mut child,
        Duration::from_secs(10),
        Duration::from_millis(20),
    );
    let _ = child.kill();
    let _ = child.wait();
    std::thread::sleep(Duration::from_millis(500));
    let left = count_vips(&node);
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
    if !is_root() {
        bail!("cargo xtask bench scale needs root (network namespaces)");
    }
    crate::deps::ensure(&[
        ("keepalived", "/usr/sbin/keepalived"),
        ("tcpdump", "/usr/bin/tcpdump"),
    ])?;
    let (mut ifaces, mut per, mut debug) = (20usize, 250usize, false);
    let mut only: Option<Daemon> = None;
    let mut prebuilt: Option<PathBuf> = None;
    let mut rt: Option<u8> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--ifaces" => ifaces = it.next().and_then(|n| n.parse().ok()).unwrap_or(20),
            "--per" => per = it.next().and_then(|n| n.parse().ok()).unwrap_or(250),
            "--debug" => debug = true,
            "--keeld" => prebuilt = it.next().map(PathBuf::from),
            // Both daemons under SCHED_FIFO at this priority (`chrt -f`), to see
            // the daemons' own timing apart from a busy machine's scheduling.
            "--rt" => rt = it.next().and_then(|n| n.parse().ok()),
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
        None => {
            step("building keeld");
            let mut c = cargo();
            c.args(["build", "-p", "keeld"]);
            if !debug {
                c.arg("--release");
            }
            run(&mut c)?;
            root().join(if debug {
                "target/debug/keeld"
            } else {
                "target/release/keeld"
            })
        }
    };
    let dir = root().join("target/bench-scale");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let ka = PathBuf::from("/usr/sbin/keepalived");
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
    println!("{out}");
    let path = root().join("target/bench-scale.md");
    std::fs::write(&path, &out)?;
    eprintln!("written to {}", path.display());
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
