//! `cargo xtask chaos --flood`: hostile VRRP input from the client namespace
//! at a fixed rate, against three keeld nodes (VRRPv2, advert_int 1, PASS
//! auth, node1 master at priority 100) of `--instances` instances each
//! (default 250: VI_1 on VRID 51 with the lab's VIP, the others on other
//! VRIDs, node1 master of all).
//!
//! While it floods, node1's adverts are captured on the wire (tcpdump in
//! the client namespace, kernel timestamps) and every gap between two
//! adverts of one VRID is compared with the advert interval: the flood must
//! not delay adverts (issue 17 item 2: p99 of the lateness at most 1 ms).
//!
//! Every packet claims priority 200 (above the master's), so any packet keeld
//! acted on would move the VIP. The harness classifies each packet it sends
//! ([`packets`]) and compares the tally with the drop counters in each node's
//! status, the VIP's holder, the nodes' state, CPU, memory and log rate.
#![allow(clippy::needless_range_loop)] // nodes are indices into several parallel arrays
pub mod packets;

use crate::chaos::ChaosArgs;
use crate::chaos::model::{BASE, N};
use crate::host::{root, step};
use crate::procfs::{clk_tck, cpu_ticks, rss_kib};
use crate::{GROUP, Lab, config};
use anyhow::{Context, Result, bail};
use packets::{KINDS, POOL, Pkt, pool};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Kernel drops on the namespace's raw sockets for protocol 112 (/proc/net/raw).
fn raw_drops(lab: &Lab, i: usize) -> u64 {
    let out = lab.nodes[i].ns.run(&["cat", "/proc/net/raw"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .filter(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|a| a.ends_with(":0070"))
        })
        .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
        .sum()
}

/// Drop counters of every instance and of no instance (packets for a VRID
/// nobody has), summed by reason.
fn dropped(s: &serde_json::Value) -> BTreeMap<String, u64> {
    let mut out: BTreeMap<String, u64> = BTreeMap::new();
    let insts = s["instances"].as_array().into_iter().flatten();
    for m in insts
        .map(|i| &i["dropped"])
        .chain([&s["dropped_unmatched"]])
        .filter_map(|d| d.as_object())
    {
        for (k, v) in m {
            *out.entry(k.clone()).or_insert(0) += v.as_u64().unwrap_or(0);
        }
    }
    out
}

fn counter(s: &serde_json::Value, k: &str) -> u64 {
    s["instances"][0]["counters"][k].as_u64().unwrap_or(0)
}

/// Run the flood of `a` against three nodes running `bin`.
pub fn run(a: &ChaosArgs, bin: &Path) -> Result<()> {
    let kinds: Vec<&'static str> = if a.kinds.is_empty() {
        KINDS.to_vec()
    } else {
        let mut v = Vec::new();
        for k in &a.kinds {
            match KINDS.iter().find(|x| **x == k.as_str()) {
                Some(x) => v.push(*x),
                None => bail!("unknown flood kind {k:?}; kinds: {}", KINDS.join(",")),
            }
        }
        v
    };
    let seed = a.seed.unwrap_or(1);
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| root().join("target/chaos-flood"));
    step(&format!(
        "flood: {} pps for {} s of {} (seed {seed}) at three keeld nodes",
        a.pps,
        a.secs,
        kinds.join(",")
    ));
    let mut lab = Lab::in_dir("chaos", N, bin.to_path_buf(), &dir)?;
    let more = a.instances.clamp(1, 255) - 1;
    for i in 0..N {
        let text = config::flood(i, BASE[i], &lab.nodes[i].flag_path(), more);
        std::fs::write(lab.nodes[i].conf_path(), text)?;
    }
    let r = flood(a, &mut lab, &kinds, seed, &config::flood_vrids(more), &dir);
    lab.stop_all(Duration::from_secs(5));
    lab.no_panics().context("during the flood")?;
    let _ = std::fs::write(dir.join("timeline.txt"), lab.timeline.join("\n"));
    match r {
        Ok(report) => {
            eprintln!("\n{report}");
            std::fs::write(dir.join("report.md"), &report)?;
            eprintln!("flood: every check passed; logs in {}", dir.display());
            Ok(())
        }
        Err(e) => {
            eprintln!("\n===== timeline =====\n{}", lab.timeline.join("\n"));
            eprintln!(
                "\nFLOOD CHECK FAILED: {e:#}\nreplay: cargo xtask chaos --flood --seed {seed} --secs {} --pps {} --kinds {}",
                a.secs,
                a.pps,
                kinds.join(",")
            );
            Err(e)
        }
    }
}

/// What the sender did: packets sent per (kind, verdict), sends that
/// failed, how long it took, and whether (when, holders) the VIP moved.
struct Sent {
    counts: BTreeMap<&'static str, BTreeMap<&'static str, u64>>,
    /// Of those, sent to node1's address only (by verdict).
    node1_only: BTreeMap<&'static str, u64>,
    failed: u64,
    took: Duration,
    moved: Option<(Duration, Vec<bool>)>,
}

/// The nodes' counters at one moment: status, kernel drops.
struct Counters {
    status: Vec<serde_json::Value>,
    drops: Vec<u64>,
}

fn counters(lab: &Lab, when: &str) -> Result<Counters> {
    let status = (0..N)
        .map(|i| lab.nodes[i].status(Duration::from_secs(2)))
        .collect::<Option<Vec<_>>>()
        .with_context(|| format!("a node does not answer on its status socket {when}"))?;
    let drops = (0..N).map(|i| raw_drops(lab, i)).collect();
    Ok(Counters { status, drops })
}

/// Start the three nodes and wait until node1 alone is master.
fn start_nodes(lab: &mut Lab) -> Result<()> {
    for n in &mut lab.nodes {
        n.start()?;
    }
    lab.say("waiting for node1 to become master");
    let ok = lab.wait(Duration::from_secs(15), |l| {
        l.holders() == [0]
            && l.nodes[0]
                .status(Duration::from_secs(1))
                .is_some_and(|s| s["instances"][0]["state"] == "MASTER")
    });
    if ok.is_none() {
        bail!("node1 did not become the only master within 15 s");
    }
    // Let the backups settle too.
    std::thread::sleep(Duration::from_millis(1500));
    Ok(())
}

fn flood(
    a: &ChaosArgs,
    lab: &mut Lab,
    kinds: &[&'static str],
    seed: u64,
    vrids: &[u8],
    dir: &Path,
) -> Result<String> {
    start_nodes(lab)?;
    let mut rng = fastrand::Rng::with_seed(seed);
    let pools: Vec<(&'static str, Vec<Pkt>)> = kinds
        .iter()
        .map(|k| (*k, pool(k, &mut rng, vrids)))
        .collect();
    let cap = crate::Tcpdump::start(
        &lab.client,
        &["-l", "-i", "eth0", "ip proto 112 and src host 192.0.2.10"],
        &dir.join("adverts.txt"),
    )?;
    let quiet0 = std::time::SystemTime::now();
    cap.wait_for("vrid", Duration::from_secs(5))?;
    let before = counters(lab, "before the flood")?;
    let pids: Vec<u32> = (0..N).map(|i| lab.nodes[i].pid().unwrap_or(0)).collect();
    let cpu0: Vec<u64> = pids.iter().map(|p| cpu_ticks(*p)).collect();
    let rss0: Vec<u64> = pids.iter().map(|p| rss_kib(*p)).collect();
    let log_len0: Vec<usize> = (0..N).map(|i| lab.nodes[i].log().len()).collect();
    lab.say(&format!("flooding: {} packets/s for {} s", a.pps, a.secs));
    let wall0 = std::time::SystemTime::now();
    let sent = send(lab, pools, a.pps, a.secs)?;
    let wall1 = std::time::SystemTime::now();
    let capture = cap.stop();
    let cpu1: Vec<u64> = pids.iter().map(|p| cpu_ticks(*p)).collect();
    let rss1: Vec<u64> = pids.iter().map(|p| rss_kib(*p)).collect();
    // Let keeld drain its socket, then read the counters.
    std::thread::sleep(Duration::from_millis(1500));
    let after = counters(lab, "after the flood")?;

    let total_sent: u64 = sent.counts.values().flat_map(|m| m.values()).sum();
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# flood report\n\nseed {seed}: {total_sent} packets sent in {:.2} s ({:.0} packets/s achieved, target {}; {} sends failed), kinds {}\n",
        sent.took.as_secs_f64(),
        total_sent as f64 / sent.took.as_secs_f64(),
        a.pps,
        sent.failed,
        kinds.join(",")
    );
    let _ = writeln!(
        o,
        "| kind | sent | what keeld must call them |\n|---|---|---|"
    );
    let mut expect: BTreeMap<&'static str, u64> = BTreeMap::new();
    for (k, m) in &sent.counts {
        let n: u64 = m.values().sum();
        let v: Vec<String> = m.iter().map(|(v, c)| format!("{v} {c}")).collect();
        let _ = writeln!(o, "| {k} | {n} | {} |", v.join(", "));
        for (v, c) in m {
            *expect.entry(v).or_insert(0) += c;
        }
    }
    let tck = clk_tck() as f64;
    let _ = writeln!(
        o,
        "\n| node | state before → after | master transitions during | kernel raw-socket drops | keeld CPU during the flood | VmRSS before → after (KiB) | log lines during the flood |\n|---|---|---|---|---|---|---|"
    );
    let mut problems = Vec::new();
    let late = advert_lateness(&capture, wall0, wall1);
    let quiet = advert_lateness(&capture, quiet0, wall0);
    let _ = writeln!(
        o,
        "\nnode1's adverts during the flood (wire, kernel timestamps): {} gaps over {} VRIDs; lateness vs the 1 s interval: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms (before the flood, for comparison: {} gaps, p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms)\n",
        late.gaps,
        late.vrids,
        late.p50_ms,
        late.p99_ms,
        late.max_ms,
        quiet.gaps,
        quiet.p50_ms,
        quiet.p99_ms,
        quiet.max_ms
    );
    if late.gaps == 0 {
        problems.push("no advert of node1 was captured during the flood".to_owned());
    } else if late.p99_ms > a.max_late_ms {
        problems.push(format!(
            "node1's adverts were late during the flood: p99 {:.3} ms (max {:.3} ms), limit {} ms",
            late.p99_ms, late.max_ms, a.max_late_ms
        ));
    }
    if let Some((when, h)) = &sent.moved {
        problems.push(format!(
            "the VIP moved during the flood ({:.1} s in: holders {h:?})",
            when.as_secs_f64()
        ));
    }
    for i in 0..N {
        let (b, f) = (&before.status[i], &after.status[i]);
        let st0 = b["instances"][0]["state"].as_str().unwrap_or("?");
        let st1 = f["instances"][0]["state"].as_str().unwrap_or("?");
        let tr = counter(f, "master_transitions") - counter(b, "master_transitions");
        let kd = after.drops[i].saturating_sub(before.drops[i]);
        let cpu = (cpu1[i] - cpu0[i]) as f64 / tck / sent.took.as_secs_f64() * 100.0;
        // Log lines written during the flood.
        let log = lab.nodes[i].log();
        let (lines, worst) = rate_check(log.get(log_len0[i]..).unwrap_or(""));
        let _ = writeln!(
            o,
            "| node{} | {st0} → {st1} | {tr} | {kd} | {cpu:.1}% of one core | {} → {} | {lines} (most of one kind in one second: {worst}) |",
            i + 1,
            rss0[i],
            rss1[i]
        );
        if st0 != st1 {
            problems.push(format!("node{} went from {st0} to {st1}", i + 1));
        }
        if tr != 0 {
            problems.push(format!("node{} had {tr} master transitions", i + 1));
        }
        if worst > 1 {
            problems.push(format!(
                "node{} logged {worst} lines of one kind within one second (rate limit is 1/s/kind)",
                i + 1
            ));
        }
        let mut exp = expect.clone();
        if i != 0 {
            // Packets to node1's address reach node1 only.
            for (v, c) in &sent.node1_only {
                if let Some(e) = exp.get_mut(v) {
                    *e = e.saturating_sub(*c);
                }
            }
            exp.retain(|_, c| *c > 0);
        }
        judge_drops(&mut o, &mut problems, i, (b, f), kd, &exp);
    }
    let _ = writeln!(
        o,
        "\nVIP during the flood: {}",
        match &sent.moved {
            None => "stayed on node1 only (sampled every 100 ms)".to_owned(),
            Some((t, h)) => format!("MOVED after {:.1} s: {h:?}", t.as_secs_f64()),
        }
    );
    lab.say("flood done");
    if problems.is_empty() {
        Ok(o)
    } else {
        eprintln!("\n{o}");
        bail!("{}", problems.join("; "))
    }
}

/// Compare node i's drop counters (status before, after) and the kernel's
/// drops `kd` with what was sent (`expect`, by verdict).
fn judge_drops(
    o: &mut String,
    problems: &mut Vec<String>,
    i: usize,
    (b, f): (&serde_json::Value, &serde_json::Value),
    kd: u64,
    expect: &BTreeMap<&str, u64>,
) {
    let d0 = dropped(b);
    let mut got: BTreeMap<String, u64> = BTreeMap::new();
    for (k, v) in &dropped(f) {
        let dv = v - d0.get(k).copied().unwrap_or(0);
        if dv > 0 {
            got.insert(k.clone(), dv);
        }
    }
    let accepted = expect.get("ACCEPTED").copied().unwrap_or(0);
    let want: BTreeMap<String, u64> = expect
        .iter()
        .filter(|(k, _)| **k != "ACCEPTED")
        .map(|(k, v)| ((*k).to_owned(), *v))
        .collect();
    let _ = writeln!(
        o,
        "\nnode{} drop counters (delta): {got:?}; expected {want:?}",
        i + 1
    );
    if accepted > 0 {
        let _ = writeln!(
            o,
            "node{}: {accepted} packets pass every receive check keeld has (they are valid adverts)",
            i + 1
        );
    }
    let got_total: u64 = got.values().sum();
    let want_total: u64 = want.values().sum();
    if kd == 0 {
        if got != want {
            problems.push(format!(
                "node{} drop counters {got:?} do not match what was sent {want:?}",
                i + 1
            ));
        }
    } else if got_total + kd < want_total
        || got.iter().any(|(k, v)| want.get(k).is_none_or(|w| v > w))
    {
        problems.push(format!(
            "node{} counted {got_total} drops + {kd} kernel drops, fewer than the {want_total} invalid packets sent, or more of a kind than was sent ({got:?} vs {want:?})",
            i + 1
        ));
    }
}

/// Send the pools round-robin from the client at `pps` for `secs`, watching
/// the VIP every 100 ms meanwhile.
///
/// One sender thread: the bridge's delivery to the three veths runs inside
/// the sender's system call; on this 2-core machine one thread reached
/// 29,000-39,000 packets/s and two did no better (and starved the nodes more).
fn send(lab: &Lab, pools: Vec<(&'static str, Vec<Pkt>)>, pps: u64, secs: u64) -> Result<Sent> {
    let sock = crate::advert::raw_socket(&lab.client, |s| {
        s.set_header_included_v4(true)?;
        s.set_send_buffer_size(4 << 20)
    })?;
    let pools = Arc::new(pools);
    let pl = pools.clone();
    let t_flood = Instant::now();
    let sender = std::thread::spawn(move || {
        let group = socket2::SockAddr::from(std::net::SocketAddr::new(IpAddr::V4(GROUP), 0));
        let addr =
            |p: &Pkt| socket2::SockAddr::from(std::net::SocketAddr::new(IpAddr::V4(p.dst), 0));
        let dsts: Vec<Vec<Option<socket2::SockAddr>>> = pl
            .iter()
            .map(|(_, v)| {
                v.iter()
                    .map(|p| (p.dst != GROUP).then(|| addr(p)))
                    .collect()
            })
            .collect();
        // Plain counters per pool slot in the hot loop.
        let mut count: Vec<Vec<u64>> = vec![vec![0; POOL]; pl.len()];
        let mut failed = 0u64;
        let t0 = Instant::now();
        let total = pps * secs;
        let nk = pl.len() as u64;
        let mut m = 0u64;
        while m < total {
            let due = ((t0.elapsed().as_secs_f64() * pps as f64) as u64).min(total);
            if m >= due {
                std::thread::sleep(Duration::from_micros(200));
                continue;
            }
            while m < due {
                let k = (m % nk) as usize;
                let j = ((m / nk) % POOL as u64) as usize;
                let dst = dsts[k][j].as_ref().unwrap_or(&group);
                match sock.send_to(&pl[k].1[j].bytes, dst) {
                    Ok(_) => count[k][j] += 1,
                    Err(_) => failed += 1,
                }
                m += 1;
            }
        }
        (count, failed, t0.elapsed())
    });
    let mut moved = None;
    while !sender.is_finished() {
        let h: Vec<bool> = (0..N).map(|i| lab.nodes[i].holds_vip()).collect();
        if h != [true, false, false] && moved.is_none() {
            moved = Some((t_flood.elapsed(), h));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (count, failed, took) = sender
        .join()
        .map_err(|_| anyhow::anyhow!("the sender thread panicked"))?;
    let mut counts: BTreeMap<&'static str, BTreeMap<&'static str, u64>> = BTreeMap::new();
    let mut node1_only: BTreeMap<&'static str, u64> = BTreeMap::new();
    for (k, (kind, pool)) in pools.iter().enumerate() {
        for (j, p) in pool.iter().enumerate() {
            if count[k][j] > 0 && p.dst != GROUP {
                *node1_only.entry(p.verdict).or_insert(0) += count[k][j];
            }
            if count[k][j] > 0 {
                *counts
                    .entry(kind)
                    .or_default()
                    .entry(p.verdict)
                    .or_insert(0) += count[k][j];
            }
        }
    }
    Ok(Sent {
        counts,
        node1_only,
        failed,
        took,
        moved,
    })
}

/// How late node1's adverts were on the wire.
struct Lateness {
    gaps: usize,
    vrids: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

/// From a `tcpdump -tt` capture of node1's adverts (VRRPv2, advert_int 1 s):
/// for each VRID, the gaps between consecutive adverts sent within
/// [`t0`, `t1`], minus the interval (negative: early).
fn advert_lateness(
    capture: &str,
    t0: std::time::SystemTime,
    t1: std::time::SystemTime,
) -> Lateness {
    let secs = |t: std::time::SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
    };
    let (t0, t1) = (secs(t0), secs(t1));
    let mut per: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
    for l in capture.lines() {
        let Some(ts) = l
            .split_whitespace()
            .next()
            .and_then(|t| t.parse::<f64>().ok())
        else {
            continue;
        };
        let Some(vrid) = l
            .split("vrid ")
            .nth(1)
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|v| v.parse::<u32>().ok())
        else {
            continue;
        };
        per.entry(vrid).or_default().push(ts);
    }
    let mut late: Vec<f64> = Vec::new();
    for ts in per.values() {
        for w in ts.windows(2) {
            if w[0] >= t0 && w[1] <= t1 {
                late.push((w[1] - w[0] - 1.0) * 1000.0);
            }
        }
    }
    late.sort_by(f64::total_cmp);
    let pct = |p: f64| -> f64 {
        if late.is_empty() {
            return 0.0;
        }
        let i = ((p * late.len() as f64).ceil() as usize).clamp(1, late.len()) - 1;
        late[i]
    };
    Lateness {
        gaps: late.len(),
        vrids: per.len(),
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        max_ms: late.last().copied().unwrap_or(0.0),
    }
}

/// Lines logged; and the largest number of lines with
/// the same text (digits and addresses aside) within one wall-clock second.
fn rate_check(new: &str) -> (usize, usize) {
    let mut per: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut n = 0;
    for l in new.lines() {
        // "2026-11-26T12:40:05.123456Z Keepalived_vrrp[123]: text"
        let Some((ts, rest)) = l.split_once(' ') else {
            continue;
        };
        let sec = ts.get(..19).unwrap_or(ts).to_owned();
        let text = rest.split_once("]: ").map_or(rest, |(_, t)| t);
        let text = text.split(" (").next().unwrap_or(text);
        // The master's own work (its delayed second GARP burst) is not about
        // the flood and is not rate limited by kind.
        if text.contains("gratuitous ARP") {
            continue;
        }
        let norm: String = text
            .split_whitespace()
            .filter(|w| !w.chars().next().is_some_and(|c| c.is_ascii_digit()))
            .collect::<Vec<_>>()
            .join(" ");
        n += 1;
        *per.entry((sec, norm)).or_insert(0) += 1;
    }
    (n, per.values().copied().max().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lateness_from_a_capture() {
        let cap = "100.000000 IP 192.0.2.10 > 224.0.0.18: VRRPv2, Advertisement, vrid 51, prio 100, authtype simple, intvl 1s, length 20\n\
                   100.500000 IP 192.0.2.10 > 224.0.0.18: VRRPv2, Advertisement, vrid 7, prio 100, authtype simple, intvl 1s, length 20\n\
                   101.000200 IP 192.0.2.10 > 224.0.0.18: VRRPv2, Advertisement, vrid 51, prio 100, authtype simple, intvl 1s, length 20\n\
                   101.500000 IP 192.0.2.10 > 224.0.0.18: VRRPv2, Advertisement, vrid 7, prio 100, authtype simple, intvl 1s, length 20\n\
                   102.003000 IP 192.0.2.10 > 224.0.0.18: VRRPv2, Advertisement, vrid 51, prio 100, authtype simple, intvl 1s, length 20\n";
        let at = |s: f64| std::time::UNIX_EPOCH + Duration::from_secs_f64(s);
        let l = advert_lateness(cap, at(99.0), at(103.0));
        assert_eq!((l.gaps, l.vrids), (3, 2));
        assert!((l.max_ms - 2.8).abs() < 1e-6, "{}", l.max_ms);
        assert!((l.p50_ms - 0.2).abs() < 1e-6, "{}", l.p50_ms);
    }

    #[test]
    fn rate_check_counts_same_text_per_second() {
        let log = "2026-11-26T12:00:00.1Z K[1]: (VI_1) dropped advert from 192.0.2.100: VRRP message truncated\n\
                   2026-11-26T12:00:00.9Z K[1]: (VI_1) dropped advert from 192.0.2.100: VRRP message truncated (5 similar suppressed)\n\
                   2026-11-26T12:00:01.2Z K[1]: (VI_1) dropped advert from 192.0.2.100: VRRP message truncated\n";
        assert_eq!(rate_check(log), (3, 2));
    }
}
