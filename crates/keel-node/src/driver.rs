//! The ready driver (feature `tokio`): a [`Node`] on raw VRRP sockets, one
//! timerfd, the netlink link watcher and script processes, on the caller's
//! tokio runtime (current-thread is enough and what keeld uses).
//!
//! [`Driver::next_event`] runs the node until it has something to report;
//! between two calls the caller may use [`Driver::node_mut`] (handover,
//! status) or [`Driver::reload`]. It is cancel-safe: put it in a `select!`.
use crate::event::Event;
use crate::io::Io;
use crate::node::{Input, Node, Run, SockKey};
use crate::script::Outcome;
use crate::spec::NodeSpec;
use crate::sys::{self, TimerFd, VrrpSocket};
use keel_script::Spec;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Timer wake-ups are rounded up to a grid (counted from the driver's
/// start): instances due in one slot share one wake-up, so 5,000 instances
/// cost at most 1,000 wake-ups a second, and since the grid is fixed an
/// instance wakes at the same offset every interval (its adverts stay
/// exactly one interval apart; the rounding is never more than a slot late).
/// The slot is a hundredth of the shortest advert interval, at most this:
/// at advert_int 0.01 a whole millisecond would be a sixth of Skew_Time.
const TIMER_GRID: Duration = Duration::from_millis(1);
/// The finest slot (advert_int 0.01 and below).
const MIN_GRID: Duration = Duration::from_micros(100);

/// A boxed script run.
pub type ScriptFuture = Pin<Box<dyn Future<Output = Outcome> + Send>>;

/// Runs script lines (tracking scripts and notify scripts).
pub trait ScriptRunner {
    /// Run `spec` with `args` appended.
    fn run(&mut self, spec: Spec, args: Vec<String>) -> ScriptFuture;
}

/// Real processes ([`keel_script::run`]: process groups, timeouts, users).
#[derive(Debug, Clone, Copy, Default)]
pub struct Processes;

impl ScriptRunner for Processes {
    fn run(&mut self, spec: Spec, args: Vec<String>) -> ScriptFuture {
        Box::pin(async move { keel_script::run(&spec, &args).await })
    }
}

/// Packets handled per wake-up before the timers are looked at again: a
/// flood can delay an advert by at most this many packets' work.
const PKT_BUDGET: usize = 64;
/// Packets read from one socket before its reader yields.
const RX_BATCH: usize = 64;
/// Packets queued between the socket readers and the node; when the node
/// is behind, the readers wait and the kernel's socket buffer absorbs (and,
/// full, drops and counts) the rest, instead of memory growing without bound.
const PKT_QUEUE: usize = 256;

/// How long a notify script may run.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(10);

struct Packet {
    key: SockKey,
    meta: Option<sys::RxMeta>,
    payload: Vec<u8>,
}

enum Msg {
    Links(Vec<(u32, bool)>),
    ScriptDone {
        script: usize,
        generation: u64,
        outcome: Outcome,
    },
    Event(Event),
}

struct SockRt {
    sock: Arc<AsyncFd<VrrpSocket>>,
    task: JoinHandle<()>,
}

/// A [`Node`] driven by tokio.
#[allow(missing_debug_implementations)]
pub struct Driver {
    node: Node,
    t0: Instant,
    socks: HashMap<SockKey, SockRt>,
    timer: AsyncFd<TimerFd>,
    grid: Duration,
    armed: Option<Option<Instant>>,
    tx: mpsc::UnboundedSender<Msg>,
    rx: mpsc::UnboundedReceiver<Msg>,
    pkt_tx: mpsc::Sender<Packet>,
    pkt_rx: mpsc::Receiver<Packet>,
    runner: Box<dyn ScriptRunner + Send>,
    notifies: Vec<JoinHandle<()>>,
    link_watch: Option<JoinHandle<()>>,
}

impl Driver {
    /// Start `spec` on `io` with real processes for scripts. Must be called
    /// inside a tokio runtime. Fails only when the timer cannot be created.
    pub fn new(spec: NodeSpec, io: Io) -> std::io::Result<Driver> {
        Driver::with_runner(spec, io, Processes)
    }

    /// [`Driver::new`] with another script runner.
    pub fn with_runner(
        spec: NodeSpec,
        io: Io,
        runner: impl ScriptRunner + Send + 'static,
    ) -> std::io::Result<Driver> {
        let runner: Box<dyn ScriptRunner + Send> = Box::new(runner);
        let timer = TimerFd::new().and_then(sys::async_fd)?;
        let now = Instant::now();
        let (tx, rx) = mpsc::unbounded_channel();
        let (pkt_tx, pkt_rx) = mpsc::channel(PKT_QUEUE);
        let mut d = Driver {
            node: Node::new(NodeSpec::default(), io, now),
            t0: now,
            socks: HashMap::new(),
            timer,
            grid: TIMER_GRID,
            armed: None,
            tx,
            rx,
            pkt_tx,
            pkt_rx,
            runner,
            notifies: Vec::new(),
            link_watch: None,
        };
        d.link_watch = spawn_link_listener(d.tx.clone());
        d.reload(spec);
        Ok(d)
    }

    /// The node.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The node, to give it inputs (handover, resume): what they cause is
    /// performed by the next [`Driver::next_event`].
    pub fn node_mut(&mut self) -> &mut Node {
        &mut self.node
    }

    /// Take a new specification ([`Node::reload`]) and open / close sockets.
    pub fn reload(&mut self, spec: NodeSpec) {
        let now = Instant::now();
        self.node.reload(now, spec);
        let shortest = self
            .node
            .instances()
            .iter()
            .map(|i| i.spec().election.adver_int_cs)
            .min()
            .unwrap_or(100);
        self.grid =
            (Duration::from_millis(10 * u64::from(shortest)) / 100).clamp(MIN_GRID, TIMER_GRID);
        // Removed instances' last adverts leave before their sockets close.
        self.flush();
        self.sync_sockets();
        self.node.start(Instant::now());
    }

    fn sync_sockets(&mut self) {
        let want = self.node.sockets();
        self.socks.retain(|k, s| {
            let keep = want.iter().any(|(w, _)| w == k);
            if !keep {
                s.task.abort();
            }
            keep
        });
        for (key, ifname) in want {
            if self.socks.contains_key(&key) {
                continue;
            }
            match VrrpSocket::open(&ifname, key.0, key.1).and_then(sys::async_fd) {
                Ok(s) => {
                    let s = Arc::new(s);
                    let task = rx_task(key, s.clone(), self.pkt_tx.clone());
                    self.socks.insert(key, SockRt { sock: s, task });
                }
                Err(e) => self.node.socket_failed(key, &e.to_string()),
            }
        }
    }

    /// `t` rounded up to the next slot of the grid.
    fn on_grid(&self, t: Instant) -> Instant {
        let g = self.grid.as_nanos().max(1);
        let since = t.saturating_duration_since(self.t0).as_nanos();
        let up = since.div_ceil(g) * g;
        self.t0 + Duration::from_nanos(u64::try_from(up).unwrap_or(u64::MAX))
    }

    /// Send queued adverts, start queued scripts, give memory back.
    fn flush(&mut self) {
        while let Some(t) = self.node.poll_transmit() {
            let Some(s) = self.socks.get(&t.socket) else {
                continue;
            };
            if let Err(e) = s.sock.get_ref().send(&t.payload, t.src, t.dst) {
                let ev = Event::SendFailed {
                    instance: t.instance,
                    dst: t.dst,
                    error: e.to_string(),
                };
                let _ = self.tx.send(Msg::Event(ev));
            }
        }
        while let Some(r) = self.node.poll_run() {
            let tx = self.tx.clone();
            match r {
                Run::Check {
                    script,
                    generation,
                    cmd,
                    run_as,
                    timeout,
                } => {
                    let run = self.runner.run(Spec::new(cmd, run_as, timeout), Vec::new());
                    tokio::spawn(async move {
                        let outcome = run.await;
                        let _ = tx.send(Msg::ScriptDone {
                            script,
                            generation,
                            outcome,
                        });
                    });
                }
                Run::Notify {
                    cmd,
                    args,
                    run_as,
                    line,
                } => {
                    let run = self
                        .runner
                        .run(Spec::new(cmd, run_as, NOTIFY_TIMEOUT), args);
                    self.notifies.retain(|h| !h.is_finished());
                    self.notifies.push(tokio::spawn(async move {
                        let outcome = run.await;
                        if !outcome.ok() {
                            let _ = tx.send(Msg::Event(Event::NotifyFailed { line, outcome }));
                        }
                    }));
                }
            }
        }
        if self.node.take_trim(Instant::now()) {
            sys::trim_heap();
        }
    }

    fn msg(&mut self, m: Msg) -> Option<Event> {
        let now = Instant::now();
        match m {
            Msg::Links(list) => {
                for (ifindex, up) in list {
                    self.node.handle(now, Input::Link { ifindex, up });
                }
            }
            Msg::ScriptDone {
                script,
                generation,
                outcome,
            } => self.node.handle(
                now,
                Input::ScriptDone {
                    script,
                    generation,
                    outcome,
                },
            ),
            Msg::Event(e) => return Some(e),
        }
        None
    }

    fn packet(&mut self, p: Packet) {
        self.node.handle(
            Instant::now(),
            Input::Packet {
                ifindex: p.key.0,
                v6: p.key.1,
                meta: p.meta,
                payload: p.payload,
            },
        );
    }

    /// Run until the node has an event, and return it.
    ///
    /// Timers win over packets (issue 17 item 2): a due timer is handled
    /// before any packet, and at most `PKT_BUDGET` (64) packets are handled
    /// between two looks at the clock, so a flood delays an advert by a
    /// bounded amount of work whatever its rate.
    pub async fn next_event(&mut self) -> Event {
        loop {
            self.flush();
            if let Some(e) = self.node.poll_event() {
                return e;
            }
            let deadline = self.node.poll_timeout().map(|t| self.on_grid(t));
            let now = Instant::now();
            if deadline.is_some_and(|d| d <= now) {
                self.node.handle(now, Input::Timeout);
                continue;
            }
            if self.armed != Some(deadline) {
                self.armed = Some(deadline);
                if let Err(e) = self.timer.get_ref().set(deadline) {
                    return Event::Failed {
                        error: format!("cannot arm the timer: {e}"),
                    };
                }
            }
            tokio::select! {
                Some(m) = self.rx.recv() => {
                    if let Some(e) = self.msg(m) {
                        return e;
                    }
                }
                Some(p) = self.pkt_rx.recv() => {
                    self.packet(p);
                    for _ in 1..PKT_BUDGET {
                        if deadline.is_some_and(|d| d <= Instant::now()) {
                            break;
                        }
                        match self.pkt_rx.try_recv() {
                            Ok(p) => self.packet(p),
                            Err(_) => break,
                        }
                    }
                }
                guard = self.timer.readable() => {
                    if let Ok(mut g) = guard {
                        g.clear_ready();
                    }
                    if self.timer.get_ref().take() {
                        self.armed = None;
                        self.node.handle(Instant::now(), Input::Timeout);
                    }
                }
            }
        }
    }

    /// Stop: every instance resigns, then notify_stop scripts get up to
    /// `grace` to finish. Returns the events of the way down.
    pub async fn shutdown(mut self, grace: Duration) -> Vec<Event> {
        self.node.shutdown(Instant::now());
        self.flush();
        let mut out: Vec<Event> = std::iter::from_fn(|| self.node.poll_event()).collect();
        let runs = std::mem::take(&mut self.notifies);
        let all = async {
            for h in runs {
                let _ = h.await;
            }
        };
        let _ = tokio::time::timeout(grace, all).await;
        while let Ok(m) = self.rx.try_recv() {
            if let Msg::Event(e) = m {
                out.push(e);
            }
        }
        out
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        for s in self.socks.values() {
            s.task.abort();
        }
        if let Some(w) = &self.link_watch {
            w.abort();
        }
    }
}

fn spawn_link_listener(tx: mpsc::UnboundedSender<Msg>) -> Option<JoinHandle<()>> {
    let fail = |e: &dyn std::fmt::Display| {
        let _ = tx.send(Msg::Event(Event::Failed {
            error: format!("cannot watch links: {e}"),
        }));
    };
    let w = match keel_vip::LinkWatcher::new() {
        Ok(w) => w,
        Err(e) => {
            fail(&e);
            return None;
        }
    };
    let mut w = match sys::async_fd(w) {
        Ok(w) => w,
        Err(e) => {
            fail(&e);
            return None;
        }
    };
    Some(tokio::spawn(async move {
        loop {
            let Ok(mut g) = w.readable_mut().await else {
                return;
            };
            let events = g.get_inner_mut().recv();
            g.clear_ready();
            let Ok(events) = events else { continue };
            let mut changed = Vec::new();
            for ev in events {
                match ev {
                    keel_vip::LinkEvent::Link(l) => changed.push((l.index, l.up && l.running)),
                    keel_vip::LinkEvent::LinkRemoved { index, .. } => changed.push((index, false)),
                    keel_vip::LinkEvent::Resynced { links, .. } => {
                        changed.extend(links.iter().map(|l| (l.index, l.up && l.running)));
                    }
                    _ => {}
                }
            }
            if !changed.is_empty() && tx.send(Msg::Links(changed)).is_err() {
                return;
            }
        }
    }))
}

fn rx_task(
    key: SockKey,
    sock: Arc<AsyncFd<VrrpSocket>>,
    tx: mpsc::Sender<Packet>,
) -> JoinHandle<()> {
    // Runs on the same thread (current-thread runtime); a task per socket
    // keeps the driver's select! independent of the number of sockets. It
    // reads at most RX_BATCH packets, then hands them over (waiting while
    // the node is behind) and yields.
    tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        let mut batch = Vec::with_capacity(RX_BATCH);
        loop {
            let Ok(mut g) = sock.readable().await else {
                return;
            };
            let mut drained = false;
            while batch.len() < RX_BATCH {
                match g.try_io(|inner| inner.get_ref().recv(&mut buf)) {
                    Ok(Ok((range, meta))) => batch.push(Packet {
                        key,
                        meta: Some(meta),
                        payload: buf.get(range).unwrap_or(&[]).to_vec(),
                    }),
                    Ok(Err(e)) if e.kind() == std::io::ErrorKind::InvalidData => {
                        batch.push(Packet {
                            key,
                            meta: None,
                            payload: Vec::new(),
                        });
                    }
                    Ok(Err(_)) | Err(_) => {
                        drained = true;
                        break;
                    }
                }
            }
            drop(g);
            for p in batch.drain(..) {
                if tx.send(p).await.is_err() {
                    return;
                }
            }
            if !drained {
                tokio::task::yield_now().await;
            }
        }
    })
}
