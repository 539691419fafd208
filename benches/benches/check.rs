//! TCP_CHECK at scale, keel against keepalived 2.2.7 in the same run: 5,000 real servers
//! (one virtual server, `delay_loop 1`, one TCP_CHECK each, `connect_timeout 3`) checked
//! against local listeners in a fresh network namespace. Prints, for each checker, the
//! CPU time it used per second of wall time (user and system), the checks per second the
//! listeners accepted, and the load average.
//!
//! `cargo xtask bench check` builds keeld (release) and the IPVS shim, then runs this
//! (`cargo bench -p keel-benches --bench check`) with:
//! * `KEEL_BENCH_KEELD`: keeld's binary, run as `keeld -n -l -C` (checkers only) on the
//!   generated keepalived.conf; without kernel IPVS it logs one error and runs the checks
//!   anyway. Measured: every thread of the keeld process.
//! * `KEEL_BENCH_SHIM`: `benches/shim/ipvs-shim.so`, LD_PRELOADed into keepalived.
//!   keepalived 2.2.7's checker exits at start without kernel IPVS ("IPVS: Can't
//!   initialize ipvs"); the shim fakes ONLY its IPVS calls (the generic-netlink family
//!   lookup for "IPVS" fails, then the IP_VS_SO_* get/setsockopt calls succeed with an
//!   empty table and are discarded; see the C file). Its scheduler, sockets, connects and
//!   closes are keepalived's own. `keepalived -n -C` forks a checker child; measured:
//!   that child (`-c` pid file), not the idle parent.
//! * the keel-check library itself in this process (a current-thread runtime on one
//!   thread, the way keeld's director runs it), measured as that thread.
//!
//! The subjects run one after the other, `KEEL_BENCH_ROUNDS` rounds, the order rotating
//! each round, against the same listeners in the same namespace. Each is started, then
//! given until the listeners see 95 % of the checks per second (at most
//! `KEEL_BENCH_SETTLE` seconds, default 40: keepalived takes ~7 s to its first check and
//! then ramps up over several seconds) plus 2 s, then `KEEL_BENCH_SECS` (default 10)
//! measured seconds. CPU: /proc/PID/task/*/schedstat (ns; its third field, times
//! scheduled in, is printed as "runs": wake-ups), user/system split from /proc/PID/stat
//! (10 ms ticks). "listeners": the CPU of the bench's own accepting threads over the
//! same window (on loopback most of the real servers' side of each handshake runs in the
//! connecting process's system calls, not in theirs). Environment: `KEEL_BENCH_CHECKS` (5000),
//! `KEEL_BENCH_ROUNDS` (3), `KEEL_BENCH_LISTENERS` (8 ports),
//! `KEEL_BENCH_DST=spread|one`: `spread` (default) gives every real server its own
//! `connect_ip` in 127.0.0.0/8 (as 5,000 real servers have 5,000 addresses: no
//! ephemeral-port reuse pressure), `one` sends every check to 127.0.0.1 (8 ports).
//! `KEEL_BENCH_VARIANT=rst`: adds a subject `keel-check*`, the in-process keel-check
//! closing with RST (`CheckerOptions::tcp_reset_on_close`; keeld and keepalived close
//! with FIN).
//! `KEEL_BENCH_ONLY=keel-check,keel-check*,keeld,keepalived` picks subjects; `KEEL_BENCH_KEEP=1`
//! keeps the daemons' logs and the configuration (the path is printed).
//!
//! Needs root (namespace); without it only the in-process keel-check runs, on the host's
//! loopback. Only loopback addresses inside the bench's own namespace are contacted; the
//! real-server addresses (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) are only names.
//! Two shared cores: numbers are noisy, which is why the subjects are interleaved.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used)]

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use keel_check::{CheckId, CheckSpec, Checker, CheckerOptions, Event, RealServerCheck};
use keel_testkit::Netns;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const BASE_PORT: u16 = 20001;

/// The real servers: (name address, name port, connect_ip, connect_port).
#[derive(Clone)]
struct Plan {
    servers: Vec<(Ipv4Addr, u16, Ipv4Addr, u16)>,
}

impl Plan {
    fn new(n: usize, ports: u16, spread: bool) -> Plan {
        let nets = [[192, 0, 2], [198, 51, 100], [203, 0, 113]];
        let mut servers = Vec::with_capacity(n);
        'all: for net in nets {
            for host in 1..=249u8 {
                for port in 1..=10u16 {
                    if servers.len() >= n {
                        break 'all;
                    }
                    let i = servers.len();
                    let dst = if spread {
                        // 127.0.(i/250).(i%250 + 1): one address per real server
                        Ipv4Addr::new(127, 0, (i / 250) as u8, (i % 250) as u8 + 1)
                    } else {
                        Ipv4Addr::LOCALHOST
                    };
                    servers.push((
                        Ipv4Addr::new(net[0], net[1], net[2], host),
                        port,
                        dst,
                        BASE_PORT + (i as u16 % ports),
                    ));
                }
            }
        }
        Plan { servers }
    }

    fn keepalived_conf(&self) -> String {
        let mut s = String::from(
            "global_defs {\n  router_id keel_checkbench\n}\n\
             virtual_server 192.0.2.250 80 {\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n",
        );
        for (ip, port, cip, cport) in &self.servers {
            let _ = write!(
                s,
                "  real_server {ip} {port} {{\n    weight 1\n    TCP_CHECK {{\n      \
                 connect_ip {cip}\n      connect_port {cport}\n      connect_timeout 3\n    }}\n  }}\n"
            );
        }
        s.push_str("}\n");
        s
    }
}

/// One measured window of one subject.
#[derive(Debug, Clone, Default)]
struct Sample {
    cpu_ms_per_s: f64,
    user_ms_per_s: f64,
    sys_ms_per_s: f64,
    runs_per_s: f64,
    checks_per_s: f64,
    /// CPU of the bench's listener threads (accept + close) over the same window
    listeners_ms_per_s: f64,
    load1: f64,
    note: String,
}

fn load1() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// CPU counters of a task (process or thread).
#[derive(Debug, Clone, Copy, Default)]
struct Cpu {
    /// schedstat: time on CPU, ns
    ns: u64,
    /// schedstat: times scheduled in (wake-ups, preemptions included)
    runs: u64,
    /// stat: user and system time, 10 ms ticks
    user: u64,
    sys: u64,
}

/// Counters of a process (`/proc/PID`, user/sys of all threads) or a thread
/// (`/proc/thread-self`, `/proc/PID/task/TID`); schedstat is per thread.
fn cpu_of_task(dir: &Path) -> Cpu {
    let sched: Vec<u64> = std::fs::read_to_string(dir.join("schedstat"))
        .unwrap_or_default()
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    // fields 14 (utime) and 15 (stime) are at index 11, 12 after the ")"
    Cpu {
        ns: sched.first().copied().unwrap_or(0),
        runs: sched.get(2).copied().unwrap_or(0),
        user: f.get(11).copied().unwrap_or(0),
        sys: f.get(12).copied().unwrap_or(0),
    }
}

fn cpu_of_pid(pid: u32) -> Cpu {
    let mut c = cpu_of_task(Path::new(&format!("/proc/{pid}")));
    // /proc/PID/stat's utime/stime already sum all threads; schedstat does not
    (c.ns, c.runs) = (0, 0);
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            let t = cpu_of_task(&t.path());
            c.ns += t.ns;
            c.runs += t.runs;
        }
    }
    c
}

fn sample(c0: Cpu, c1: Cpu, l: (u64, u64), acc: u64, wall: Duration, note: String) -> Sample {
    let w = wall.as_secs_f64();
    Sample {
        listeners_ms_per_s: l.1.saturating_sub(l.0) as f64 / 1e6 / w,
        cpu_ms_per_s: c1.ns.saturating_sub(c0.ns) as f64 / 1e6 / w,
        user_ms_per_s: c1.user.saturating_sub(c0.user) as f64 * 10.0 / w,
        sys_ms_per_s: c1.sys.saturating_sub(c0.sys) as f64 * 10.0 / w,
        runs_per_s: c1.runs.saturating_sub(c0.runs) as f64 / w,
        checks_per_s: acc as f64 / w,
        load1: load1(),
        note,
    }
}

struct Setup {
    ns: Option<Arc<Netns>>,
    plan: Plan,
    accepts: Arc<AtomicU64>,
    /// /proc/PID/task/TID of each listener thread
    listener_tasks: Arc<Vec<PathBuf>>,
    settle: Duration,
    secs: Duration,
    dir: PathBuf,
}

/// keel-check in this process: a current-thread runtime on one thread (in the namespace).
/// schedstat CPU ns of the listener threads.
fn listeners_ns(tasks: &[PathBuf]) -> u64 {
    tasks.iter().map(|t| cpu_of_task(t).ns).sum()
}

fn run_keel_check(s: &Setup, options: CheckerOptions) -> Sample {
    let plan = s.plan.clone();
    let accepts = s.accepts.clone();
    let lt = s.listener_tasks.clone();
    let (settle, secs) = (s.settle, s.secs);
    let body = move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let (tx, mut rx) = tokio::sync::mpsc::channel(8192);
            let mut checker = Checker::new(tx, options);
            for (i, (ip, port, cip, cport)) in plan.servers.iter().enumerate() {
                let mut spec = CheckSpec::tcp();
                if let CheckSpec::Tcp { conn } = &mut spec {
                    conn.connect_ip = Some(IpAddr::V4(*cip));
                    conn.connect_port = Some(*cport);
                    conn.connect_timeout = Duration::from_secs(3);
                }
                let mut c = RealServerCheck::new(
                    CheckId(i as u64),
                    SocketAddr::new(IpAddr::V4(*ip), *port),
                    spec,
                );
                c.delay_loop = Duration::from_secs(1);
                checker.add(c).unwrap();
            }
            let events = tokio::spawn(async move {
                let (mut up, mut down) = (0u64, 0u64);
                while let Some(e) = rx.recv().await {
                    if let Event::Transition(t) = e {
                        if t.up { up += 1 } else { down += 1 }
                    }
                }
                (up, down)
            });
            let acc = accepts.clone();
            let n = plan.servers.len();
            let ramp = tokio::task::spawn_blocking(move || ramp_up(&acc, n, settle))
                .await
                .unwrap();
            let me = Path::new("/proc/thread-self");
            let (c0, l0, a0, w0) = (
                cpu_of_task(me),
                listeners_ns(&lt),
                accepts.load(Ordering::Relaxed),
                Instant::now(),
            );
            tokio::time::sleep(secs).await;
            let (c1, l1, a1, wall) = (
                cpu_of_task(me),
                listeners_ns(&lt),
                accepts.load(Ordering::Relaxed),
                w0.elapsed(),
            );
            checker.shutdown().await;
            let (up, down) = events.await.unwrap();
            sample(
                c0,
                c1,
                (l0, l1),
                a1 - a0,
                wall,
                format!("{}; verdicts {up} up, {down} down", ramp_note(ramp)),
            )
        })
    };
    match &s.ns {
        Some(ns) => ns.enter(body),
        None => std::thread::spawn(body).join().unwrap(),
    }
}

/// Wait until the listeners see at least 95 % of `n` checks per second (over 1 s),
/// at most `limit`, then 2 s more. Returns the time it took to get there, if it did.
fn ramp_up(accepts: &AtomicU64, n: usize, limit: Duration) -> Option<Duration> {
    let t0 = Instant::now();
    let mut last = accepts.load(Ordering::Relaxed);
    let mut got = None;
    while t0.elapsed() < limit {
        std::thread::sleep(Duration::from_secs(1));
        let now = accepts.load(Ordering::Relaxed);
        if (now - last) as f64 >= 0.95 * n as f64 {
            got = Some(t0.elapsed());
            break;
        }
        last = now;
    }
    std::thread::sleep(Duration::from_secs(2));
    got
}

fn ramp_note(r: Option<Duration>) -> String {
    match r {
        Some(d) => format!("steady after {} s", d.as_secs()),
        None => "NOT steady".to_owned(),
    }
}

fn read_pid(path: &Path, limit: Duration) -> Option<u32> {
    let t = Instant::now();
    while t.elapsed() < limit {
        if let Some(p) = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return Some(p);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

fn stop(child: &mut Child, main_pid: Option<u32>) {
    if let Some(p) = main_pid {
        let _ = Command::new("kill")
            .args(["-TERM", &p.to_string()])
            .status();
    }
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(20) {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn count_lines(path: &Path, needle: &str) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(needle))
        .count()
}

/// keeld or keepalived as a process in the namespace, on the same keepalived.conf.
fn run_daemon(s: &Setup, name: &str, bin: &Path, shim: Option<&Path>, round: u64) -> Sample {
    let ns = s.ns.as_ref().unwrap();
    let conf = s.dir.join("keepalived.conf");
    let tag = format!("{name}-{round}");
    let main_pid = s.dir.join(format!("{tag}.pid"));
    let check_pid = s.dir.join(format!("{tag}-check.pid"));
    let log = s.dir.join(format!("{tag}.log"));
    let logf = std::fs::File::create(&log).unwrap();
    let mut cmd = ns.command(&[]);
    if let Some(shim) = shim {
        // LD_PRELOAD only on keepalived (through env, after `ip netns exec`)
        cmd.arg("env")
            .arg(format!("LD_PRELOAD={}", shim.display()))
            .arg(format!(
                "KEEL_IPVS_SHIM_LOG={}",
                s.dir.join("shim.log").display()
            ));
    }
    cmd.arg(bin).args(["-n", "-l", "-f"]).arg(&conf);
    cmd.arg("-p").arg(&main_pid);
    // both checkers only (`-C`): keepalived forks its checker child, keeld runs one process
    cmd.arg("-C");
    if shim.is_some() {
        cmd.arg("-c").arg(&check_pid);
    } else {
        cmd.arg("--status-socket")
            .arg(s.dir.join(format!("{tag}.sock")));
    }
    cmd.stdin(Stdio::null())
        .stdout(logf.try_clone().unwrap())
        .stderr(logf);
    let mut child = cmd.spawn().unwrap();
    let main = read_pid(&main_pid, Duration::from_secs(10));
    let measured = if shim.is_some() {
        read_pid(&check_pid, Duration::from_secs(10))
    } else {
        main
    };
    let ramp = ramp_up(&s.accepts, s.plan.servers.len(), s.settle);
    let Some(pid) = measured.filter(|p| alive(*p)) else {
        stop(&mut child, main);
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(5).collect();
        return Sample {
            cpu_ms_per_s: f64::NAN,
            note: format!("did not run: {tail:?}"),
            ..Sample::default()
        };
    };
    let (c0, l0, a0, w0) = (
        cpu_of_pid(pid),
        listeners_ns(&s.listener_tasks),
        s.accepts.load(Ordering::Relaxed),
        Instant::now(),
    );
    std::thread::sleep(s.secs);
    let (c1, l1, a1, wall) = (
        cpu_of_pid(pid),
        listeners_ns(&s.listener_tasks),
        s.accepts.load(Ordering::Relaxed),
        w0.elapsed(),
    );
    let threads = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| d.count())
        .unwrap_or(0);
    stop(&mut child, main);
    let ok = count_lines(&log, "success");
    let failed = count_lines(&log, "failed");
    sample(
        c0,
        c1,
        (l0, l1),
        a1 - a0,
        wall,
        format!(
            "{}; pid {pid} ({threads} thread(s)); log: {ok} success, {failed} failed lines",
            ramp_note(ramp)
        ),
    )
}

/// (median, min, max) of the finite values.
fn stats(v: &[f64]) -> (f64, f64, f64) {
    let v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let mut v = v;
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    (median, v[0], v[n - 1])
}

fn main() {
    // criterion-style arguments from `cargo bench` (e.g. --bench) are ignored
    let checks = env("KEEL_BENCH_CHECKS", 5000) as usize;
    let secs = Duration::from_secs(env("KEEL_BENCH_SECS", 10));
    let settle = Duration::from_secs(env("KEEL_BENCH_SETTLE", 40));
    let rounds = env("KEEL_BENCH_ROUNDS", 3);
    let ports = env("KEEL_BENCH_LISTENERS", 8).clamp(1, 1000) as u16;
    let base = CheckerOptions {
        seed: Some(1),
        ..CheckerOptions::default()
    };
    let variant_spec = std::env::var("KEEL_BENCH_VARIANT").unwrap_or_default();
    let mut variant = base.clone();
    for v in variant_spec.split(',').filter(|v| !v.is_empty()) {
        match v {
            "rst" => variant.tcp_reset_on_close = true,
            _ => eprintln!("KEEL_BENCH_VARIANT: unknown {v:?} (rst)"),
        }
    }
    let spread = std::env::var("KEEL_BENCH_DST").map_or(true, |v| v != "one");
    let only = std::env::var("KEEL_BENCH_ONLY").unwrap_or_default();
    let wanted = |n: &str| only.is_empty() || only.split(',').any(|o| o == n);
    let root = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    let keeld = std::env::var_os("KEEL_BENCH_KEELD").map(PathBuf::from);
    let shim = std::env::var_os("KEEL_BENCH_SHIM").map(PathBuf::from);
    let keepalived = ["/usr/sbin/keepalived", "/sbin/keepalived"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());

    let plan = Plan::new(checks, ports, spread);
    if plan.servers.len() < checks {
        eprintln!("only {} unique real servers available", plan.servers.len());
    }
    let dir = std::env::temp_dir().join(format!("keel-checkbench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("keepalived.conf"), plan.keepalived_conf()).unwrap();

    let ns = if root {
        Some(Arc::new(Netns::new("chk")))
    } else {
        eprintln!("not root: no namespace; only the in-process keel-check runs, on the host");
        None
    };
    // Listeners: blocking accept + close on plain threads (not measured).
    let bind_ip = if spread && ns.is_some() {
        Ipv4Addr::UNSPECIFIED
    } else {
        Ipv4Addr::LOCALHOST
    };
    let mk = move || {
        (0..ports)
            .map(|i| TcpListener::bind((bind_ip, BASE_PORT + i)).unwrap())
            .collect::<Vec<_>>()
    };
    let listeners = match &ns {
        Some(ns) => ns.enter(mk),
        None => mk(),
    };
    let accepts = Arc::new(AtomicU64::new(0));
    let (ttx, trx) = std::sync::mpsc::channel();
    for l in listeners {
        let accepts = accepts.clone();
        let ttx = ttx.clone();
        std::thread::spawn(move || {
            let me = std::fs::read_link("/proc/thread-self").unwrap_or_default();
            let _ = ttx.send(Path::new("/proc").join(me));
            while let Ok((c, _)) = l.accept() {
                drop(c);
                accepts.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    drop(ttx);
    // each listener thread sends its path once (and keeps its sender: it never ends)
    let listener_tasks = Arc::new(trx.iter().take(usize::from(ports)).collect::<Vec<_>>());
    let setup = Setup {
        ns: ns.clone(),
        plan,
        accepts,
        listener_tasks,
        settle,
        secs,
        dir: dir.clone(),
    };

    let mut subjects: Vec<&str> = Vec::new();
    if wanted("keel-check") {
        subjects.push("keel-check");
    }
    if !variant_spec.is_empty() && wanted("keel-check*") {
        subjects.push("keel-check*");
        println!("keel-check* = keel-check with {variant_spec}: {variant:?}");
    }
    if ns.is_some() {
        match (&keeld, wanted("keeld")) {
            (Some(_), true) => subjects.push("keeld"),
            (None, true) => eprintln!("KEEL_BENCH_KEELD not set: keeld skipped"),
            _ => {}
        }
        match (&keepalived, &shim, wanted("keepalived")) {
            (Some(_), Some(_), true) => subjects.push("keepalived"),
            (None, _, true) => eprintln!("keepalived is not installed: skipped"),
            (_, None, true) => {
                eprintln!(
                    "KEEL_BENCH_SHIM not set (cargo xtask bench check builds it): keepalived skipped"
                )
            }
            _ => {}
        }
    }
    println!(
        "TCP_CHECK benchmark: {} real servers, delay_loop 1, connect_timeout 3, {} listener port(s), destinations {}, {} round(s) of {} s (after ramp-up, at most {} s), {}",
        setup.plan.servers.len(),
        ports,
        if spread {
            "one 127.0.x.y per real server"
        } else {
            "all 127.0.0.1"
        },
        rounds,
        secs.as_secs(),
        settle.as_secs(),
        if ns.is_some() {
            "fresh network namespace"
        } else {
            "host namespace"
        },
    );
    let mut results: Vec<(String, Vec<Sample>)> = subjects
        .iter()
        .map(|s| (s.to_string(), Vec::new()))
        .collect();
    for round in 0..rounds {
        let k = subjects.len().max(1);
        for j in 0..subjects.len() {
            let idx = (j + round as usize) % k;
            let name = subjects[idx];
            let smp = match name {
                "keel-check" => run_keel_check(&setup, base.clone()),
                "keel-check*" => run_keel_check(&setup, variant.clone()),
                "keeld" => run_daemon(&setup, "keeld", keeld.as_deref().unwrap(), None, round),
                _ => run_daemon(
                    &setup,
                    "keepalived",
                    keepalived.as_deref().unwrap(),
                    shim.as_deref(),
                    round,
                ),
            };
            println!(
                "  round {} {:<11} CPU {:6.1} ms/s (user {:3.0}, sys {:3.0}, ticks) runs {:5.0}/s checks {:5.0}/s listeners {:4.1} ms/s load1 {:.2}  {}",
                round + 1,
                name,
                smp.cpu_ms_per_s,
                smp.user_ms_per_s,
                smp.sys_ms_per_s,
                smp.runs_per_s,
                smp.checks_per_s,
                smp.listeners_ms_per_s,
                smp.load1,
                smp.note
            );
            results[idx].1.push(smp);
            // let the previous subject's TIME_WAIT sockets and exit settle a little
            std::thread::sleep(Duration::from_secs(2));
        }
    }
    println!("summary (median [min..max] over rounds; the machine is shared: see load1):");
    for (name, v) in &results {
        let cpu = stats(&v.iter().map(|s| s.cpu_ms_per_s).collect::<Vec<_>>());
        let user = stats(&v.iter().map(|s| s.user_ms_per_s).collect::<Vec<_>>());
        let sys = stats(&v.iter().map(|s| s.sys_ms_per_s).collect::<Vec<_>>());
        let rate = stats(&v.iter().map(|s| s.checks_per_s).collect::<Vec<_>>());
        let runs = stats(&v.iter().map(|s| s.runs_per_s).collect::<Vec<_>>());
        let lis = stats(&v.iter().map(|s| s.listeners_ms_per_s).collect::<Vec<_>>());
        println!(
            "  {name:<11} CPU {:.1} [{:.1}..{:.1}] ms/s, user {:.0} sys {:.0} ms/s, scheduled in {:.0}/s, checks {:.0} [{:.0}..{:.0}]/s, {:.1} us CPU per check; listeners {:.1} ms/s",
            cpu.0,
            cpu.1,
            cpu.2,
            user.0,
            sys.0,
            runs.0,
            rate.0,
            rate.1,
            rate.2,
            cpu.0 * 1000.0 / rate.0,
            lis.0
        );
    }
    // Ratios per round (the two ran minutes apart under the same background load).
    let of = |n: &str| results.iter().find(|r| r.0 == n).map(|r| &r.1);
    if let Some(ka) = of("keepalived") {
        for k in ["keeld", "keel-check", "keel-check*"] {
            let Some(kv) = of(k) else { continue };
            let cpu: Vec<f64> = kv
                .iter()
                .zip(ka)
                .map(|(a, b)| a.cpu_ms_per_s / b.cpu_ms_per_s)
                .collect();
            let per_check: Vec<f64> = kv
                .iter()
                .zip(ka)
                .map(|(a, b)| (a.cpu_ms_per_s / a.checks_per_s) / (b.cpu_ms_per_s / b.checks_per_s))
                .collect();
            let (c, p) = (stats(&cpu), stats(&per_check));
            let each: Vec<String> = cpu.iter().map(|r| format!("{r:.2}")).collect();
            println!(
                "  {k} / keepalived CPU, per round: {} -> median {:.2} (per check: median {:.2}); target <= 0.50",
                each.join(" "),
                c.0,
                p.0
            );
        }
    }
    if let Ok(log) = std::fs::read_to_string(dir.join("shim.log")) {
        println!("IPVS shim (calls faked per keepalived process):");
        for l in log.lines() {
            println!("  {l}");
        }
    }
    drop(setup);
    drop(ns);
    if env("KEEL_BENCH_KEEP", 0) == 0 {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        println!("logs and configuration kept in {}", dir.display());
    }
}
