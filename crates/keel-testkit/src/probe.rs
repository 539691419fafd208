//! A client-side view of a floating address: UDP echo responders on the nodes and a
//! prober that sends one datagram every `interval` from a client and records which
//! node answered each one. From that log come the numbers an operator cares about:
//! how long the service was unreachable and how many probes were lost.
//!
//! ```no_run
//! # use keel_testkit::{Netns, probe::{Responder, Prober}};
//! # use std::time::Duration;
//! let (node, client) = (Netns::new("n"), Netns::new("c"));
//! let _r = Responder::start(&node, 9000, "node1");
//! let p = Prober::start(&client, "192.0.2.250:9000".parse().unwrap(), Duration::from_millis(10));
//! std::thread::sleep(Duration::from_secs(1));
//! let log = p.stop();
//! println!("lost {}", log.lost());
//! ```
#![allow(clippy::missing_panics_doc)]

use crate::Netns;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Answers every datagram on `0.0.0.0:port` in a namespace with `name`.
#[derive(Debug)]
pub struct Responder {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Responder {
    /// Start answering on `port` inside `ns`.
    pub fn start(ns: &Netns, port: u16, name: &str) -> Responder {
        let sock = ns.enter(move || UdpSocket::bind(("0.0.0.0", port)));
        let sock = sock.unwrap_or_else(|e| panic!("bind udp {port} in {}: {e}", ns.name()));
        sock.set_read_timeout(Some(Duration::from_millis(50))).ok();
        let stop = Arc::new(AtomicBool::new(false));
        let (s2, name) = (stop.clone(), name.as_bytes().to_vec());
        let handle = std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            while !s2.load(Ordering::Relaxed) {
                if let Ok((n, from)) = sock.recv_from(&mut buf) {
                    let mut reply = buf[..n.min(8)].to_vec();
                    reply.extend_from_slice(&name);
                    let _ = sock.send_to(&reply, from);
                }
            }
        });
        Responder {
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// One probe: when it was sent and, if answered, when and by whom.
#[derive(Debug, Clone)]
pub struct Probe {
    /// When the probe left the client.
    pub sent: Instant,
    /// When the answer arrived and the responder's name.
    pub reply: Option<(Instant, String)>,
}

/// Everything a [`Prober`] saw.
#[derive(Debug, Clone, Default)]
pub struct ProbeLog {
    /// Probes in sending order (index = sequence number).
    pub probes: Vec<Probe>,
}

impl ProbeLog {
    /// Probes sent at or after `t0` (and before `t1` if given).
    pub fn window(&self, t0: Instant, t1: Option<Instant>) -> impl Iterator<Item = &Probe> {
        self.probes
            .iter()
            .filter(move |p| p.sent >= t0 && t1.is_none_or(|t1| p.sent < t1))
    }

    /// Unanswered probes in the whole log.
    pub fn lost(&self) -> usize {
        self.probes.iter().filter(|p| p.reply.is_none()).count()
    }

    /// Unanswered probes sent in `[t0, t1)`.
    pub fn lost_in(&self, t0: Instant, t1: Option<Instant>) -> usize {
        self.window(t0, t1).filter(|p| p.reply.is_none()).count()
    }

    /// The longest run of unanswered probes sent in `[t0, t1)`, as the time from
    /// the first lost probe to the first answered probe after it (zero if none lost).
    pub fn outage_in(&self, t0: Instant, t1: Option<Instant>) -> Duration {
        let mut best = Duration::ZERO;
        let mut gap_start: Option<Instant> = None;
        for p in self.window(t0, t1) {
            match (&p.reply, gap_start) {
                (None, None) => gap_start = Some(p.sent),
                (Some(_), Some(g)) => {
                    best = best.max(p.sent.duration_since(g));
                    gap_start = None;
                }
                _ => {}
            }
        }
        if let (Some(g), Some(last)) = (gap_start, self.window(t0, t1).last()) {
            best = best.max(last.sent.duration_since(g));
        }
        best
    }

    /// The name of the node that answered the last answered probe in `[t0, t1)`.
    pub fn last_responder(&self, t0: Instant, t1: Option<Instant>) -> Option<&str> {
        self.window(t0, t1)
            .filter_map(|p| p.reply.as_ref().map(|(_, n)| n.as_str()))
            .last()
    }
}

/// Sends a probe every `interval` from a client namespace to `target`.
#[derive(Debug)]
pub struct Prober {
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<ProbeLog>>,
    threads: Vec<JoinHandle<()>>,
}

impl Prober {
    /// Start probing `target` from inside `ns`.
    pub fn start(ns: &Netns, target: SocketAddr, interval: Duration) -> Prober {
        let sock = ns
            .enter(|| UdpSocket::bind("0.0.0.0:0"))
            .unwrap_or_else(|e| panic!("bind prober socket in {}: {e}", ns.name()));
        sock.set_read_timeout(Some(Duration::from_millis(20))).ok();
        let rx = sock.try_clone().expect("clone udp socket");
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(ProbeLog::default()));
        let (s1, l1) = (stop.clone(), log.clone());
        let sender = std::thread::spawn(move || {
            let mut seq: u64 = 0;
            let start = Instant::now();
            while !s1.load(Ordering::Relaxed) {
                let due = start + interval * u32::try_from(seq).unwrap_or(u32::MAX);
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
                let sent = Instant::now();
                l1.lock()
                    .expect("probe log")
                    .probes
                    .push(Probe { sent, reply: None });
                // Errors (e.g. no route while the VIP moves) count as loss.
                let _ = sock.send_to(&seq.to_be_bytes(), target);
                seq += 1;
            }
        });
        let (s2, l2) = (stop.clone(), log.clone());
        let receiver = std::thread::spawn(move || {
            let mut buf = [0u8; 128];
            while !s2.load(Ordering::Relaxed) {
                if let Ok(n) = rx.recv(&mut buf) {
                    if n < 8 {
                        continue;
                    }
                    let mut seq = [0u8; 8];
                    seq.copy_from_slice(&buf[..8]);
                    let seq = u64::from_be_bytes(seq) as usize;
                    let name = String::from_utf8_lossy(&buf[8..n]).into_owned();
                    let mut l = l2.lock().expect("probe log");
                    if let Some(p) = l.probes.get_mut(seq) {
                        p.reply.get_or_insert((Instant::now(), name));
                    }
                }
            }
        });
        Prober {
            stop,
            log,
            threads: vec![sender, receiver],
        }
    }

    /// A copy of the log so far (probes of the last ~100 ms may still be in flight).
    pub fn snapshot(&self) -> ProbeLog {
        self.log.lock().expect("probe log").clone()
    }

    /// Stop probing (after a short grace for answers in flight) and return the log.
    pub fn stop(mut self) -> ProbeLog {
        self.halt();
        self.snapshot()
    }

    fn halt(&mut self) {
        std::thread::sleep(Duration::from_millis(100));
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        if !self.threads.is_empty() {
            self.halt();
        }
    }
}
