//! `cargo xtask chaos --flood`: hostile VRRP input from the client namespace at
//! a fixed rate, against three keeld nodes (VRRPv2, advert_int 1, PASS auth,
//! node1 master at priority 100).
//!
//! Every packet claims priority 200 (above the master's), so any packet keeld
//! acted on would move the VIP. The harness classifies each packet it sends
//! with keel-packet's own receive checks (in keeld's order) and compares the
//! tally with the drop counters in each node's status.
use super::{ADDRS, ChaosArgs, Daemon, Lab, N, VIP, conf};
use crate::util::{root, step};
use anyhow::{Context, Result, bail};
use keel_packet::rx::{Delivery, IpMeta};
use keel_packet::{AddrList, Auth, ChecksumMode, Version, VrrpPacket, VrrpRepr};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub const KINDS: [&str; 8] = [
    "random",
    "checksum",
    "auth",
    "ttl",
    "vrid",
    "foreign",
    "addrcount",
    "truncated",
];
const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
const FOREIGN: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);
const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
const POOL: usize = 512;

/// One prepared packet: IPv4 header + payload, and what keeld should call it.
struct Pkt {
    bytes: Vec<u8>,
    verdict: &'static str,
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in data.chunks(2) {
        let w = u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]);
        sum += u32::from(w);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn ip_packet(src: Ipv4Addr, ttl: u8, payload: &[u8]) -> Vec<u8> {
    let len = 20 + payload.len();
    let mut h = vec![
        0x45,
        0xc0,
        (len >> 8) as u8,
        len as u8,
        0,
        0,
        0,
        0,
        ttl,
        112,
        0,
        0,
    ];
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&GROUP.octets());
    let c = checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

fn advert(vrid: u8, prio: u8, pass: &[u8], src: Ipv4Addr) -> Vec<u8> {
    let vips = [VIP.parse().unwrap_or(Ipv4Addr::UNSPECIFIED)];
    let r = VrrpRepr {
        version: Version::V2,
        vrid,
        priority: prio,
        adver_int: 100,
        auth: Auth::simple_text(pass),
        addrs: AddrList::V4(&vips),
    };
    let mut buf = vec![0u8; r.buffer_len()];
    let _ = r.emit(
        &mut buf,
        IpAddr::V4(src),
        IpAddr::V4(GROUP),
        ChecksumMode::Rfc,
    );
    buf
}

/// keeld's name for a keel-packet error (its `dropped` map keys).
fn drop_kind(e: keel_packet::Error) -> &'static str {
    use keel_packet::Error as E;
    match e {
        E::BadTtl => "ttl",
        E::Truncated
        | E::AddrCountMismatch
        | E::TooManyAddrs
        | E::BadIpHeader
        | E::BufferTooSmall => "length",
        E::BadChecksum => "checksum",
        E::BadVersion => "version",
        E::BadType => "type",
        E::BadDestination => "destination",
        E::BadFamily => "family",
        E::BadInterval => "interval",
        E::BadProtocol => "protocol",
        E::BadAuth => "auth",
    }
}

/// What a keeld configured with VRID 51 and PASS "123.123" must do with a packet.
fn verdict(src: Ipv4Addr, ttl: u8, payload: &[u8]) -> &'static str {
    let meta = IpMeta {
        src: IpAddr::V4(src),
        dst: IpAddr::V4(GROUP),
        ttl,
        protocol: 112,
    };
    if let Err(e) = keel_packet::rx::check(&meta, Delivery::Multicast) {
        return drop_kind(e);
    }
    // keeld drops a multicast advert whose source is on none of the interface's
    // subnets (the nodes' eth0 is 192.0.2.0/24), before parsing it.
    if src.octets()[..3] != [192, 0, 2] {
        return "source";
    }
    let pkt = match VrrpPacket::new_checked(payload) {
        Ok(p) => p,
        Err(e) => return drop_kind(e),
    };
    if pkt.vrid() != 51 {
        return "vrid";
    }
    let repr = match VrrpRepr::parse(&pkt, IpAddr::V4(src), IpAddr::V4(GROUP), ChecksumMode::Rfc) {
        Ok(r) => r,
        Err(e) => return drop_kind(e),
    };
    if repr.auth != Auth::simple_text(b"123.123") {
        return "auth";
    }
    "ACCEPTED"
}

fn pool(kind: &str, rng: &mut fastrand::Rng) -> Vec<Pkt> {
    (0..POOL)
        .map(|_| {
            let (src, ttl, payload) = match kind {
                "random" => {
                    let n = rng.usize(1..=80);
                    (CLIENT, 255, (0..n).map(|_| rng.u8(..)).collect::<Vec<u8>>())
                }
                "checksum" => {
                    let mut a = advert(51, 200, b"123.123", CLIENT);
                    a[6] ^= 1 << rng.u32(0..8);
                    (CLIENT, 255, a)
                }
                "auth" => (CLIENT, 255, advert(51, 200, b"wrong!", CLIENT)),
                "ttl" => (CLIENT, 254, advert(51, 200, b"123.123", CLIENT)),
                "vrid" => {
                    let v = loop {
                        let v = rng.u8(1..=255);
                        if v != 51 {
                            break v;
                        }
                    };
                    (CLIENT, 255, advert(v, 200, b"123.123", CLIENT))
                }
                "foreign" => (FOREIGN, 255, advert(51, 254, b"123.123", FOREIGN)),
                "addrcount" => {
                    let mut a = advert(51, 200, b"123.123", CLIENT);
                    a[3] = rng.u8(2..=255);
                    a[6] = 0;
                    a[7] = 0;
                    let c = checksum(&a);
                    a[6..8].copy_from_slice(&c.to_be_bytes());
                    (CLIENT, 255, a)
                }
                _ => {
                    let a = advert(51, 200, b"123.123", CLIENT);
                    let n = rng.usize(1..a.len());
                    (CLIENT, 255, a[..n].to_vec())
                }
            };
            Pkt {
                verdict: verdict(src, ttl, &payload),
                bytes: ip_packet(src, ttl, &payload),
            }
        })
        .collect()
}

/// (utime + stime) clock ticks of a process.
fn cpu_ticks(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = s.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the comm: state is field 3, utime 14, stime 15 (1-based).
    let get = |k: usize| {
        f.get(k - 3)
            .and_then(|x| x.parse::<u64>().ok())
            .unwrap_or(0)
    };
    get(14) + get(15)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn clk_tck() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100)
}

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

fn dropped(s: &serde_json::Value) -> BTreeMap<String, u64> {
    s["instances"][0]["dropped"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

fn counter(s: &serde_json::Value, k: &str) -> u64 {
    s["instances"][0]["counters"][k].as_u64().unwrap_or(0)
}

pub fn main(a: &ChaosArgs, bin: &Path) -> Result<()> {
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
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    step(&format!(
        "flood: {} pps for {} s of {} (seed {seed}) at three keeld nodes",
        a.pps,
        a.secs,
        kinds.join(",")
    ));
    let mut lab = Lab::new(&dir, bin, [Daemon::Keeld; N])?;
    for i in 0..N {
        let text = conf(false, i, super::model::BASE[i], &lab.nodes[i].flag_path());
        std::fs::write(lab.nodes[i].conf_path(), text)?;
    }
    let r = flood(a, &mut lab, &kinds, seed);
    for n in &mut lab.nodes {
        n.signal("TERM");
        let _ = n.reap(Duration::from_secs(5));
    }
    for n in &lab.nodes {
        let log = std::fs::read_to_string(n.log_path()).unwrap_or_default();
        if log.contains("panicked") {
            bail!(
                "node{} keeld panicked during the flood (see {})",
                n.idx + 1,
                n.log_path().display()
            );
        }
    }
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

fn flood(a: &ChaosArgs, lab: &mut Lab, kinds: &[&'static str], seed: u64) -> Result<String> {
    let bin = lab.bin.clone();
    for i in 0..N {
        lab.nodes[i].start(&bin)?;
    }
    lab.say("waiting for node1 to become master");
    let t = Instant::now();
    loop {
        let holders: Vec<bool> = (0..N).map(|i| lab.nodes[i].holds_vip()).collect();
        if holders == [true, false, false]
            && lab.nodes[0]
                .status(Duration::from_secs(1))
                .is_some_and(|s| s["instances"][0]["state"] == "MASTER")
        {
            break;
        }
        if t.elapsed() > Duration::from_secs(15) {
            bail!("node1 did not become the only master within 15 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // Let the backups settle too.
    std::thread::sleep(Duration::from_millis(1500));
    let mut rng = fastrand::Rng::with_seed(seed);
    let pools: Vec<(&'static str, Vec<Pkt>)> =
        kinds.iter().map(|k| (*k, pool(k, &mut rng))).collect();
    let before: Vec<serde_json::Value> = (0..N)
        .map(|i| lab.nodes[i].status(Duration::from_secs(2)))
        .collect::<Option<Vec<_>>>()
        .context("a node does not answer on its status socket")?;
    let drops0: Vec<u64> = (0..N).map(|i| raw_drops(lab, i)).collect();
    let pids: Vec<u32> = (0..N).map(|i| lab.nodes[i].pid().unwrap_or(0)).collect();
    let cpu0: Vec<u64> = pids.iter().map(|p| cpu_ticks(*p)).collect();
    let rss0: Vec<u64> = pids.iter().map(|p| rss_kib(*p)).collect();
    let log_len0: Vec<usize> = (0..N)
        .map(|i| std::fs::read_to_string(lab.nodes[i].log_path()).map_or(0, |s| s.len()))
        .collect();

    let sock = lab.client.enter(|| {
        let s = socket2::Socket::new(
            socket2::Domain::IPV4,
            socket2::Type::RAW,
            Some(socket2::Protocol::from(112)),
        )?;
        s.set_header_included_v4(true)?;
        s.bind_device(Some(b"eth0"))?;
        s.set_send_buffer_size(4 << 20)?;
        Ok::<_, std::io::Error>(s)
    })?;
    let stop = Arc::new(AtomicBool::new(false));
    let (pps, secs) = (a.pps, a.secs);
    let st = stop.clone();
    let pools = Arc::new(pools);
    let pl = pools.clone();
    lab.say(&format!("flooding: {pps} packets/s for {secs} s"));
    let t_flood = Instant::now();
    let wall0 = std::time::SystemTime::now();
    // Sender threads, each sending every THREADS-th packet at its share of the
    // rate. The bridge's delivery to the three veths runs inside the sender's
    // system call; on this 2-core machine one thread reached 29,000-39,000
    // packets/s and two did no better (and starved the nodes more), so: one.
    const THREADS: u64 = 1;
    let sock = Arc::new(sock);
    let senders: Vec<_> = (0..THREADS)
        .map(|t| {
            let (sock, pl, st) = (sock.clone(), pl.clone(), st.clone());
            std::thread::spawn(move || {
                let dst = socket2::SockAddr::from(std::net::SocketAddr::new(IpAddr::V4(GROUP), 0));
                // Plain counters per pool slot in the hot loop (xtask is a debug build).
                let mut count: Vec<Vec<u64>> = vec![vec![0; POOL]; pl.len()];
                let mut failed = 0u64;
                let t0 = Instant::now();
                let share = pps * secs / THREADS;
                let rate = (pps / THREADS) as f64;
                let nk = pl.len() as u64;
                let mut m = 0u64;
                while m < share && !st.load(Ordering::Relaxed) {
                    let due = ((t0.elapsed().as_secs_f64() * rate) as u64).min(share);
                    if m >= due {
                        std::thread::sleep(Duration::from_micros(200));
                        continue;
                    }
                    while m < due {
                        let n = m * THREADS + t;
                        let k = (n % nk) as usize;
                        let j = ((n / nk) % POOL as u64) as usize;
                        match sock.send_to(&pl[k].1[j].bytes, &dst) {
                            Ok(_) => count[k][j] += 1,
                            Err(_) => failed += 1,
                        }
                        m += 1;
                    }
                }
                (count, failed, t0.elapsed())
            })
        })
        .collect();
    // Watch the VIP while the flood runs.
    let mut moved = None;
    while !senders.iter().all(|h| h.is_finished()) {
        let h: Vec<bool> = (0..N).map(|i| lab.nodes[i].holds_vip()).collect();
        if h != [true, false, false] && moved.is_none() {
            moved = Some((t_flood.elapsed(), h));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut sent: BTreeMap<&'static str, BTreeMap<&'static str, u64>> = BTreeMap::new();
    let mut failed = 0;
    let mut took = Duration::ZERO;
    for h in senders {
        let (count, f, t) = h
            .join()
            .map_err(|_| anyhow::anyhow!("a sender thread panicked"))?;
        failed += f;
        took = took.max(t);
        for (k, (kind, pool)) in pools.iter().enumerate() {
            for (j, p) in pool.iter().enumerate() {
                if count[k][j] > 0 {
                    *sent.entry(kind).or_default().entry(p.verdict).or_insert(0) += count[k][j];
                }
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let cpu1: Vec<u64> = pids.iter().map(|p| cpu_ticks(*p)).collect();
    let rss1: Vec<u64> = pids.iter().map(|p| rss_kib(*p)).collect();
    let wall1 = std::time::SystemTime::now();
    // Let keeld drain its socket, then read the counters.
    std::thread::sleep(Duration::from_millis(1500));
    let after: Vec<serde_json::Value> = (0..N)
        .map(|i| lab.nodes[i].status(Duration::from_secs(2)))
        .collect::<Option<Vec<_>>>()
        .context("a node does not answer on its status socket after the flood")?;
    let drops1: Vec<u64> = (0..N).map(|i| raw_drops(lab, i)).collect();

    let total_sent: u64 = sent.values().flat_map(|m| m.values()).sum();
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# flood report\n\nseed {seed}: {total_sent} packets sent in {:.2} s ({:.0} packets/s achieved, target {pps}; {failed} sends failed), kinds {}\n",
        took.as_secs_f64(),
        total_sent as f64 / took.as_secs_f64(),
        kinds.join(",")
    );
    let _ = writeln!(
        o,
        "| kind | sent | what keeld must call them |\n|---|---|---|"
    );
    let mut expect: BTreeMap<&str, u64> = BTreeMap::new();
    for (k, m) in &sent {
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
    if let Some((when, h)) = &moved {
        problems.push(format!(
            "the VIP moved during the flood ({:.1} s in: holders {h:?})",
            when.as_secs_f64()
        ));
    }
    for i in 0..N {
        let (b, f) = (&before[i], &after[i]);
        let st0 = b["instances"][0]["state"].as_str().unwrap_or("?");
        let st1 = f["instances"][0]["state"].as_str().unwrap_or("?");
        let tr = counter(f, "master_transitions") - counter(b, "master_transitions");
        let kd = drops1[i].saturating_sub(drops0[i]);
        let cpu = (cpu1[i] - cpu0[i]) as f64 / tck / took.as_secs_f64() * 100.0;
        // Log lines written during the flood.
        let log = std::fs::read_to_string(lab.nodes[i].log_path()).unwrap_or_default();
        let new = log.get(log_len0[i]..).unwrap_or("");
        let (lines, worst) = rate_check(new, wall0, wall1);
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
        let d0 = dropped(b);
        let d1 = dropped(f);
        let mut got: BTreeMap<String, u64> = BTreeMap::new();
        for (k, v) in &d1 {
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
    let _ = writeln!(
        o,
        "\nVIP during the flood: {}",
        match &moved {
            None => "stayed on node1 only (sampled every 100 ms)".to_owned(),
            Some((t, h)) => format!("MOVED after {:.1} s: {h:?}", t.as_secs_f64()),
        }
    );
    let _ = ADDRS;
    lab.say("flood done");
    if problems.is_empty() {
        Ok(o)
    } else {
        eprintln!("\n{o}");
        bail!("{}", problems.join("; "))
    }
}

/// Lines logged between `from` and `to`; and the largest number of lines with
/// the same text (digits and addresses aside) within one wall-clock second.
fn rate_check(new: &str, from: std::time::SystemTime, to: std::time::SystemTime) -> (usize, usize) {
    let _ = (from, to);
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
    fn verdicts_of_the_crafted_kinds() {
        let mut rng = fastrand::Rng::with_seed(3);
        let one = |k: &str, rng: &mut fastrand::Rng| -> Vec<&'static str> {
            let mut v: Vec<&'static str> = pool(k, rng).iter().map(|p| p.verdict).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        assert_eq!(one("checksum", &mut rng), ["checksum"]);
        assert_eq!(one("auth", &mut rng), ["auth"]);
        assert_eq!(one("ttl", &mut rng), ["ttl"]);
        assert_eq!(one("vrid", &mut rng), ["vrid"]);
        assert_eq!(one("addrcount", &mut rng), ["length"]);
        assert_eq!(one("truncated", &mut rng), ["length"]);
        // A valid advert from outside the subnet passes every packet-level check:
        // only the daemon can refuse it.
        assert_eq!(one("foreign", &mut rng), ["source"]);
        assert!(!one("random", &mut rng).contains(&"ACCEPTED"));
        // The IPv4 header is well formed.
        let p = ip_packet(CLIENT, 255, &[1, 2, 3]);
        assert_eq!(checksum(&p[..20]), 0);
        assert_eq!(p.len(), 23);
    }

    #[test]
    fn rate_check_counts_same_text_per_second() {
        let log = "2026-11-26T12:00:00.1Z K[1]: (VI_1) dropped advert from 192.0.2.100: VRRP message truncated\n\
                   2026-11-26T12:00:00.9Z K[1]: (VI_1) dropped advert from 192.0.2.100: VRRP message truncated (5 similar suppressed)\n\
                   2026-11-26T12:00:01.2Z K[1]: (VI_1) dropped advert from 192.0.2.100: VRRP message truncated\n";
        let t = std::time::SystemTime::now();
        assert_eq!(rate_check(log, t, t), (3, 2));
    }
}
