//! keel-check at scale: 5,000 real servers, TCP_CHECK every second, against a few
//! listeners on 127.0.0.1. Measures the CPU time of the checker's thread (one
//! current-thread tokio runtime) per second of wall time.
//!
//! A timed benchmark rather than a criterion one: the quantity is a rate under steady
//! load, not the latency of one call. `cargo xtask bench check`
//! (= `cargo bench -p keel-benches --bench check`). Environment:
//! `KEEL_BENCH_CHECKS` (default 5000), `KEEL_BENCH_SECS` (measured seconds, default 10),
//! `KEEL_BENCH_LISTENERS` (default 8), `KEEL_BENCH_RESET=1` (close with RST, see
//! `CheckerOptions::tcp_reset_on_close`).
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used)]

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use keel_check::{CheckId, CheckSpec, Checker, CheckerOptions, Event, RealServerCheck};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU time (user + system) of the calling thread, from /proc (ns precision).
fn thread_cpu() -> Duration {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns = s
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Duration::from_nanos(ns)
}

/// (user, system) CPU time of the calling thread, from /proc (clock ticks).
fn thread_user_sys() -> (Duration, Duration) {
    let s = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let after = s.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    let t = |i: usize| Duration::from_millis(f.get(i).copied().unwrap_or(0) * 10);
    (t(11), t(12))
}

/// CPU time of the whole process (all threads), from /proc/self/stat (clock ticks).
fn process_cpu() -> Duration {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = s.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    // fields 14 and 15 (utime, stime) are at index 11, 12 after the ")"
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10) // USER_HZ = 100 on Linux
}

fn nofile_limit() -> String {
    std::fs::read_to_string("/proc/self/limits")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .map(|l| {
            l.split_whitespace()
                .skip(3)
                .take(2)
                .collect::<Vec<_>>()
                .join("/")
        })
        .unwrap_or_default()
}

fn main() {
    let checks = env("KEEL_BENCH_CHECKS", 5000);
    let secs = env("KEEL_BENCH_SECS", 10);
    let n_listeners = env("KEEL_BENCH_LISTENERS", 8);
    let reset = env("KEEL_BENCH_RESET", 0) != 0;

    // Listeners: plain threads doing blocking accept + close, outside the measured thread.
    let accepts = Arc::new(AtomicU64::new(0));
    let mut targets: Vec<SocketAddr> = Vec::new();
    for _ in 0..n_listeners {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        targets.push(l.local_addr().unwrap());
        let accepts = accepts.clone();
        std::thread::spawn(move || {
            while let Ok((c, _)) = l.accept() {
                drop(c);
                accepts.fetch_add(1, Ordering::Relaxed);
            }
        });
    }

    // The checker: one thread, one current-thread runtime.
    let checker_thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let (tx, mut rx) = tokio::sync::mpsc::channel(8192);
            let mut checker = Checker::new(
                tx,
                CheckerOptions {
                    seed: Some(1),
                    bootstrap_delay: Duration::ZERO,
                    tcp_reset_on_close: reset,
                },
            );
            for i in 0..checks {
                let target = targets[(i % n_listeners) as usize];
                let mut c = RealServerCheck::new(CheckId(i), target, CheckSpec::tcp());
                c.delay_loop = Duration::from_secs(1);
                c.warmup = Some(Duration::from_secs(1));
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
            // settle: every check has run at least once
            tokio::time::sleep(Duration::from_secs(3)).await;
            let (cpu0, us0, wall0) = (thread_cpu(), thread_user_sys(), Instant::now());
            tokio::time::sleep(Duration::from_secs(secs)).await;
            let (cpu, wall) = (thread_cpu() - cpu0, wall0.elapsed());
            let us1 = thread_user_sys();
            let user_sys = (us1.0 - us0.0, us1.1 - us0.1);
            checker.shutdown().await;
            let (up, down) = events.await.unwrap();
            (cpu, wall, user_sys, up, down)
        })
    });

    // measure process totals and accepted connections over roughly the same window
    std::thread::sleep(Duration::from_secs(3));
    let (pcpu0, acc0, w0) = (
        process_cpu(),
        accepts.load(Ordering::Relaxed),
        Instant::now(),
    );
    std::thread::sleep(Duration::from_secs(secs));
    let (pcpu, acc, pw) = (
        process_cpu() - pcpu0,
        accepts.load(Ordering::Relaxed) - acc0,
        w0.elapsed(),
    );
    let (cpu, wall, (user, sys), up, down) = checker_thread.join().unwrap();

    let rate = acc as f64 / pw.as_secs_f64();
    let share = cpu.as_secs_f64() / wall.as_secs_f64();
    println!("keel-check TCP_CHECK benchmark");
    println!(
        "  real servers: {checks}, delay_loop 1 s, listeners: {n_listeners}, close with {}, RLIMIT_NOFILE {}",
        if reset { "RST" } else { "FIN (as keepalived)" },
        nofile_limit()
    );
    println!("  first verdicts: {up} up, {down} down (expected {checks} up, 0 down)");
    println!(
        "  checks completed: {rate:.0}/s over {:.1} s (listener accepts)",
        pw.as_secs_f64()
    );
    println!(
        "  checker thread CPU: {:.1} ms per wall second ({:.1}% of one core), {:.1} us per check",
        share * 1000.0,
        share * 100.0,
        cpu.as_secs_f64() * 1e6 / (rate * wall.as_secs_f64()).max(1.0)
    );
    println!(
        "  of which user {:.0} ms, system {:.0} ms per wall second (tick-based)",
        user.as_secs_f64() * 1000.0 / wall.as_secs_f64(),
        sys.as_secs_f64() * 1000.0 / wall.as_secs_f64()
    );
    println!(
        "  whole process (checker + listener threads): {:.1} ms CPU per wall second",
        pcpu.as_secs_f64() * 1000.0 / pw.as_secs_f64()
    );
}
