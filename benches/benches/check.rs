//! TCP_CHECK (or HTTP_GET) at scale, keel against keepalived 2.2.7 in the same run: 5,000
//! real servers (one virtual server, `delay_loop 1`, one TCP_CHECK each, `connect_timeout
//! 3`) checked against listeners in a fresh network namespace (or in a second one across
//! a veth pair). Prints, for each checker, the
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
//! (`connect_ip`, `connect_port`) pair (no ephemeral-port reuse pressure), `one` sends
//! every check to 127.0.0.1 (8 ports).
//! `KEEL_BENCH_VARIANT=rst`: adds a subject `keel-check*`, the in-process keel-check
//! closing with RST (`CheckerOptions::tcp_reset_on_close`; keeld and keepalived close
//! with FIN); `KEEL_BENCH_VARIANT=tasks`: `keel-check*` runs each TCP_CHECK in a task of
//! its own (`CheckerOptions::tcp_task_per_check`, keel-check's way before the shared
//! TCP task).
//! `KEEL_BENCH_KIND=http`: HTTP_GET (`url { path / status_code 200 }`) instead of
//! TCP_CHECK; the listeners then read the request and answer `200 OK` with a 2-byte body.
//! `KEEL_BENCH_DELAY_MS` (1000): `delay_loop`. `KEEL_BENCH_NET=veth`: the listeners live
//! in a namespace of their own, joined to the checkers' by a veth pair; the destinations
//! are then the 508 addresses of 198.51.100.0/24 and 203.0.113.0/24 (local routes in the
//! servers' namespace), with as many ports as every real server needs to have its own
//! (address, port) (on loopback: one 127.0.x.y per `KEEL_BENCH_LISTENERS` real servers).
//! "late": the listeners note, per real server, the time between two accepted
//! connections minus `delay_loop` (both checkers start a check `delay_loop` after the
//! previous one ended): p50 / p99 / max over the measured window, in microseconds.
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

use keel_check::{
    CheckId, CheckSpec, Checker, CheckerOptions, ConnectOpts, Event, HttpSpec, RealServerCheck,
    StatusCodes, UrlSpec,
};
use keel_testkit::Netns;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const BASE_PORT: u16 = 20001;

/// HTTP_GET's answer from the bench's real servers.
const HTTP_REPLY: &[u8] = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

/// The real servers: (name address, name port, connect_ip, connect_port).
#[derive(Clone)]
struct Plan {
    servers: Vec<(Ipv4Addr, u16, Ipv4Addr, u16)>,
    /// HTTP_GET instead of TCP_CHECK
    http: bool,
    delay: Duration,
}

impl Plan {
    /// Real server `i` connects to `dsts[(i / ports) % len]`, port `BASE_PORT + i % ports`:
    /// every real server has its own (address, port) while `n <= ports * dsts.len()`.
    fn new(n: usize, ports: u16, dsts: &[Ipv4Addr], http: bool, delay: Duration) -> Plan {
        let nets = [[192, 0, 2], [198, 51, 100], [203, 0, 113]];
        let mut servers = Vec::with_capacity(n);
        'all: for net in nets {
            for host in 1..=249u8 {
                for port in 1..=100u16 {
                    if servers.len() >= n {
                        break 'all;
                    }
                    let i = servers.len();
                    let p = usize::from(ports);
                    servers.push((
                        Ipv4Addr::new(net[0], net[1], net[2], host),
                        port,
                        dsts[(i / p) % dsts.len()],
                        BASE_PORT + (i % p) as u16,
                    ));
                }
            }
        }
        Plan {
            servers,
            http,
            delay,
        }
    }

    fn keepalived_conf(&self) -> String {
        let mut s = format!(
            "global_defs {{\n  router_id keel_checkbench\n}}\n\
             virtual_server 192.0.2.250 80 {{\n  delay_loop {}\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n",
            self.delay.as_secs_f64()
        );
        let check = if self.http {
            "HTTP_GET {\n      url {\n        path /\n        status_code 200\n      }\n"
        } else {
            "TCP_CHECK {\n"
        };
        for (ip, port, cip, cport) in &self.servers {
            let _ = write!(
                s,
                "  real_server {ip} {port} {{\n    weight 1\n    {check}      \
                 connect_ip {cip}\n      connect_port {cport}\n      connect_timeout 3\n    }}\n  }}\n"
            );
        }
        s.push_str("}\n");
        s
    }
}

/// Scheduling jitter seen by the real servers: for each accepted connection, the time
/// since the same real server's previous one minus `delay_loop` (both checkers start
/// the next check `delay_loop` after the previous one ended, so this is how late a check
/// started, plus the previous check's duration and the listener's own wake-up delay).
struct Jitter {
    index: std::collections::HashMap<SocketAddr, usize>,
    /// ns since `base` of each real server's last accepted connection (0: none yet)
    last: Vec<AtomicU64>,
    base: Instant,
    delay_ns: i64,
    measuring: std::sync::atomic::AtomicBool,
    /// lateness in microseconds, while measuring
    samples: std::sync::Mutex<Vec<i64>>,
}

impl Jitter {
    fn new(plan: &Plan) -> Jitter {
        let index = plan
            .servers
            .iter()
            .enumerate()
            .map(|(i, s)| (SocketAddr::new(IpAddr::V4(s.2), s.3), i))
            .collect();
        Jitter {
            index,
            last: plan.servers.iter().map(|_| AtomicU64::new(0)).collect(),
            base: Instant::now(),
            delay_ns: plan.delay.as_nanos() as i64,
            measuring: false.into(),
            samples: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn accepted(&self, local: Option<SocketAddr>) {
        let Some(&i) = local.and_then(|a| self.index.get(&a)) else {
            return;
        };
        let now = self.base.elapsed().as_nanos() as u64;
        let prev = self.last[i].swap(now, Ordering::Relaxed);
        if prev != 0 && self.measuring.load(Ordering::Relaxed) {
            let late = (now - prev) as i64 - self.delay_ns;
            self.samples.lock().unwrap().push(late / 1000);
        }
    }

    fn start(&self) {
        self.samples.lock().unwrap().clear();
        self.measuring.store(true, Ordering::Relaxed);
    }

    /// (p50, p99, max) lateness in microseconds, and the number of samples.
    fn stop(&self) -> (i64, i64, i64, usize) {
        self.measuring.store(false, Ordering::Relaxed);
        let mut v = std::mem::take(&mut *self.samples.lock().unwrap());
        if v.is_empty() {
            return (0, 0, 0, 0);
        }
        v.sort_unstable();
        let at = |q: f64| v[((v.len() - 1) as f64 * q) as usize];
        (at(0.5), at(0.99), v[v.len() - 1], v.len())
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
    /// scheduling lateness at the real servers, microseconds: p50, p99, max, samples
    jitter: (i64, i64, i64, usize),
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

fn sample(
    c0: Cpu,
    c1: Cpu,
    l: (u64, u64),
    acc: u64,
    wall: Duration,
    jitter: (i64, i64, i64, usize),
    note: String,
) -> Sample {
    let w = wall.as_secs_f64();
    Sample {
        jitter,
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
    jitter: Arc<Jitter>,
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
    let jitter = s.jitter.clone();
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
                let conn = ConnectOpts {
                    connect_ip: Some(IpAddr::V4(*cip)),
                    connect_port: Some(*cport),
                    connect_timeout: Duration::from_secs(3),
                    ..ConnectOpts::default()
                };
                let spec = if plan.http {
                    let mut url = UrlSpec::new("/");
                    url.status_code = StatusCodes::parse("200").unwrap();
                    let mut http = HttpSpec::default();
                    http.urls.push(url);
                    CheckSpec::Http { conn, http }
                } else {
                    CheckSpec::Tcp { conn }
                };
                let mut c = RealServerCheck::new(
                    CheckId(i as u64),
                    SocketAddr::new(IpAddr::V4(*ip), *port),
                    spec,
                );
                c.delay_loop = plan.delay;
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
            if let Ok(t) = std::fs::read_link(me) {
                // for `perf record -t TID` from outside
                println!("  keel-check runs on thread /proc/{}", t.display());
            }
            jitter.start();
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
            let jit = jitter.stop();
            checker.shutdown().await;
            let (up, down) = events.await.unwrap();
            sample(
                c0,
                c1,
                (l0, l1),
                a1 - a0,
                wall,
                jit,
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
    s.jitter.start();
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
    let jit = s.jitter.stop();
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
        jit,
        format!(
            "{}; pid {pid} ({threads} thread(s)); log: {ok} success, {failed} failed lines",
            ramp_note(ramp)
        ),
    )
}

/// Answer one HTTP request (read up to the blank line) with [`HTTP_REPLY`].
fn serve_http(c: &mut std::net::TcpStream) {
    use std::io::{Read, Write};
    let _ = c.set_read_timeout(Some(Duration::from_secs(3)));
    let mut buf = [0u8; 2048];
    let mut n = 0;
    while n < buf.len() {
        match c.read(&mut buf[n..]) {
            Ok(0) | Err(_) => return,
            Ok(k) => n += k,
        }
        if buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
            let _ = c.write_all(HTTP_REPLY);
            return;
        }
    }
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
    let mut ports = env("KEEL_BENCH_LISTENERS", 8).clamp(1, 1000) as u16;
    let delay = Duration::from_millis(env("KEEL_BENCH_DELAY_MS", 1000).max(1));
    let http = std::env::var("KEEL_BENCH_KIND").is_ok_and(|k| k == "http");
    let base = CheckerOptions {
        seed: Some(1),
        ..CheckerOptions::default()
    };
    let variant_spec = std::env::var("KEEL_BENCH_VARIANT").unwrap_or_default();
    let mut variant = base.clone();
    for v in variant_spec.split(',').filter(|v| !v.is_empty()) {
        match v {
            "rst" => variant.tcp_reset_on_close = true,
            "tasks" => variant.tcp_task_per_check = true,
            _ => eprintln!("KEEL_BENCH_VARIANT: unknown {v:?} (rst, tasks)"),
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

    let veth = root && std::env::var("KEEL_BENCH_NET").is_ok_and(|v| v == "veth");
    // Destinations: on loopback one 127.0.x.y per (real server / ports); across the veth
    // the 508 addresses of 198.51.100.0/24 and 203.0.113.0/24, local to the servers'
    // namespace (AnyIP routes), with as many ports as it takes to keep every real
    // server's (address, port) its own.
    let dsts: Vec<Ipv4Addr> = if veth {
        [[198, 51, 100], [203, 0, 113]]
            .iter()
            .flat_map(|n| (1..=254u8).map(move |h| Ipv4Addr::new(n[0], n[1], n[2], h)))
            .collect()
    } else if spread {
        (0..64_000usize)
            .map(|j| Ipv4Addr::new(127, 0, (j / 250) as u8, (j % 250) as u8 + 1))
            .collect()
    } else {
        vec![Ipv4Addr::LOCALHOST]
    };
    if spread {
        ports = ports.max(checks.div_ceil(dsts.len()).min(1000) as u16);
    }
    let plan = Plan::new(checks, ports, &dsts, http, delay);
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
    // The real servers' own namespace, joined to the checkers' by a veth pair.
    let srv_ns = match (&ns, veth) {
        (Some(ns), true) => {
            let srv = Netns::new("chksrv");
            ns.veth_to(&srv, "c0", "s0");
            ns.run_ok(&["ip", "addr", "add", "192.0.2.1/24", "dev", "c0"]);
            srv.run_ok(&["ip", "addr", "add", "192.0.2.2/24", "dev", "s0"]);
            for net in ["198.51.100.0/24", "203.0.113.0/24"] {
                ns.run_ok(&["ip", "route", "add", net, "via", "192.0.2.2"]);
                srv.run_ok(&["ip", "route", "add", "local", net, "dev", "lo"]);
            }
            Some(srv)
        }
        _ => None,
    };
    // Listeners: blocking accept + close on plain threads (not measured).
    let bind_ip = if spread && ns.is_some() {
        Ipv4Addr::UNSPECIFIED
    } else {
        Ipv4Addr::LOCALHOST
    };
    // A starved listener thread (the machine is shared) must not overflow its accept
    // queue: the kernel would drop SYNs and the checker's connect would wait 1 s for the
    // retransmission, which is not the checker's doing.
    for n in ns.iter().map(|n| &**n).chain(srv_ns.iter()) {
        n.run_ok(&["sysctl", "-qw", "net.core.somaxconn=65535"]);
        n.run_ok(&["sysctl", "-qw", "net.ipv4.tcp_max_syn_backlog=65535"]);
    }
    let mk = move || {
        (0..ports)
            .map(|i| {
                let l = TcpListener::bind((bind_ip, BASE_PORT + i)).unwrap();
                socket2::SockRef::from(&l).listen(65535).unwrap();
                l
            })
            .collect::<Vec<_>>()
    };
    let listeners = match (&srv_ns, &ns) {
        (Some(srv), _) => srv.enter(mk),
        (None, Some(ns)) => ns.enter(mk),
        (None, None) => mk(),
    };
    let accepts = Arc::new(AtomicU64::new(0));
    let jitter = Arc::new(Jitter::new(&plan));
    let (ttx, trx) = std::sync::mpsc::channel();
    for l in listeners {
        let accepts = accepts.clone();
        let jitter = jitter.clone();
        let ttx = ttx.clone();
        std::thread::spawn(move || {
            let me = std::fs::read_link("/proc/thread-self").unwrap_or_default();
            let _ = ttx.send(Path::new("/proc").join(me));
            while let Ok((mut c, _)) = l.accept() {
                jitter.accepted(c.local_addr().ok());
                if http {
                    serve_http(&mut c);
                }
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
        jitter,
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
        "{} benchmark: {} real servers, delay_loop {} s, connect_timeout 3, {} listener port(s), destinations {}, {} round(s) of {} s (after ramp-up, at most {} s), {}",
        if http { "HTTP_GET" } else { "TCP_CHECK" },
        setup.plan.servers.len(),
        delay.as_secs_f64(),
        ports,
        match (veth, spread) {
            (true, _) =>
                "198.51.100.0/24 + 203.0.113.0/24 in the real servers' own namespace, across a veth pair",
            (false, true) => "127.0.x.y in the checkers' namespace",
            (false, false) => "all 127.0.0.1",
        },
        rounds,
        secs.as_secs(),
        settle.as_secs(),
        match (&ns, veth) {
            (Some(_), true) => "checkers' and real servers' namespaces joined by veth",
            (Some(_), false) => "one fresh network namespace",
            (None, _) => "host namespace",
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
                "  round {} {:<11} CPU {:6.1} ms/s (user {:3.0}, sys {:3.0}, ticks) runs {:5.0}/s checks {:5.0}/s listeners {:4.1} ms/s late p50/p99/max {}/{}/{} us ({}) load1 {:.2}  {}",
                round + 1,
                name,
                smp.cpu_ms_per_s,
                smp.user_ms_per_s,
                smp.sys_ms_per_s,
                smp.runs_per_s,
                smp.checks_per_s,
                smp.listeners_ms_per_s,
                smp.jitter.0,
                smp.jitter.1,
                smp.jitter.2,
                smp.jitter.3,
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
        let p99 = stats(&v.iter().map(|s| s.jitter.1 as f64).collect::<Vec<_>>());
        println!(
            "  {name:<11} CPU {:.1} [{:.1}..{:.1}] ms/s, user {:.0} sys {:.0} ms/s, scheduled in {:.0}/s, checks {:.0} [{:.0}..{:.0}]/s, {:.1} us CPU ({:.2} us user) per check; late p99 {:.0} [{:.0}..{:.0}] us; listeners {:.1} ms/s",
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
            user.0 * 1000.0 / rate.0,
            p99.0,
            p99.1,
            p99.2,
            lis.0
        );
    }
    // Ratios per round (the two ran minutes apart under the same background load).
    let of = |n: &str| results.iter().find(|r| r.0 == n).map(|r| &r.1);
    if let Some(ka) = of("keepalived") {
        for k in ["keeld", "keel-check", "keel-check*"] {
            let Some(kv) = of(k) else { continue };
            let per_check: Vec<f64> = kv
                .iter()
                .zip(ka)
                .map(|(a, b)| (a.cpu_ms_per_s / a.checks_per_s) / (b.cpu_ms_per_s / b.checks_per_s))
                .collect();
            let user_per_check: Vec<f64> = kv
                .iter()
                .zip(ka)
                .map(|(a, b)| {
                    (a.user_ms_per_s / a.checks_per_s) / (b.user_ms_per_s / b.checks_per_s)
                })
                .collect();
            let (p, u) = (stats(&per_check), stats(&user_per_check));
            let fmt = |v: &[f64]| {
                v.iter()
                    .map(|r| format!("{r:.2}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            println!(
                "  {k} / keepalived per check, per round: CPU {} -> median {:.2}; user {} -> median {:.2} (target <= 1.00)",
                fmt(&per_check),
                p.0,
                fmt(&user_per_check),
                u.0
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
    drop(srv_ns);
    if env("KEEL_BENCH_KEEP", 0) == 0 {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        println!("logs and configuration kept in {}", dir.display());
    }
}
