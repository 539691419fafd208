//! The runtime: one tokio current-thread loop owning the raw VRRP sockets,
//! the link listener, timers, signals, scripts and the status socket, and
//! driving one keel-election [`Instance`] per vrrp_instance.
use crate::log::RateLimit;
use crate::plan::{self, DaemonPlan, NotifyScript, Plan, ScriptPlan};
use crate::script::Tracker;
use crate::status::{self, InstanceStatus, Query, Request, ScriptStatus, Status};
use crate::sys::{self, VrrpSocket};
use keel_election::{Action, Advert, Dest, Input, Instance, LogLevel, NotifyState, RxError, State};
use keel_packet::rx::{Delivery, IpMeta};
use keel_packet::{AddrList, Auth, ChecksumMode, VrrpPacket, VrrpRepr};
use keel_vip::{Netlink, VipControl};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::unix::AsyncFd;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;
use tracing::{error, info, warn};

/// Timer lateness worth a log line.
const LATE_THRESHOLD: Duration = Duration::from_millis(20);
/// How long notify_stop scripts may delay the exit.
const STOP_GRACE: Duration = Duration::from_millis(500);
/// Timer wake-ups are rounded up to this grid (counted from the daemon's
/// start): instances due in one slot share one wake-up, so 5,000 instances
/// cost at most 1,000 wake-ups a second, and since the grid is fixed an
/// instance wakes at the same offset every interval (its adverts stay
/// exactly one interval apart; the rounding is never more than this late).
const TIMER_GRID: Duration = Duration::from_millis(1);
/// The heap is trimmed once state changes have been quiet this long.
const TRIM_QUIET: Duration = Duration::from_secs(2);

/// What the daemon needs from the command line.
#[derive(Debug, Clone)]
pub struct Options {
    /// Configuration file.
    pub conf: PathBuf,
    /// `-i`.
    pub config_id: Option<String>,
    /// Status socket.
    pub status_socket: PathBuf,
    /// Who may use it.
    pub status_access: status::Access,
    /// What SIGTERM does to masters (`--stop-mode`); `None`: the
    /// configuration's `keel_stop_mode`, else resign.
    pub stop_mode: Option<crate::cli::StopMode>,
    /// keepalived's halves the director runs (`-P`: no checkers).
    pub director: crate::director::Roles,
}

type SockKey = (u32, bool);

enum Event {
    Packet {
        key: SockKey,
        data: Vec<u8>,
        meta: Result<(std::ops::Range<usize>, sys::RxMeta), std::io::ErrorKind>,
    },
    /// (ifindex, up and running) per changed link.
    Links(Vec<(u32, bool)>),
    ScriptDone {
        idx: usize,
        generation: u64,
        outcome: keel_script::Outcome,
    },
}

struct GarpJob {
    at: Instant,
    left: u32,
    spacing: Duration,
}

struct Inst {
    plan: Plan,
    vi: Instance,
    key: SockKey,
    dropped: BTreeMap<String, u64>,
    since: Instant,
    vips_held: bool,
    garp: Vec<GarpJob>,
    mac: [u8; 6],
    /// The wake-up time this instance has in the daemon's timer heap
    /// (entries that differ are stale).
    wake: Option<Instant>,
    /// The latest `now` given to the election core (kept monotonic).
    fed: keel_election::Instant,
}

impl Inst {
    /// Give the election core one input; `now` never goes backwards.
    fn handle(&mut self, now: keel_election::Instant, input: Input) {
        let now = now.max(self.fed);
        self.fed = now;
        self.vi.handle(now, input);
    }

    /// The earliest time this instance needs the loop: an election timer or a
    /// queued gratuitous ARP/NA.
    fn next_wake(&self, t0: Instant) -> Option<Instant> {
        let e = self
            .vi
            .poll_timeout()
            .map(|t| t0 + Duration::from_micros(t.as_micros()));
        self.garp.iter().map(|g| g.at).chain(e).min()
    }
}

struct ScriptRt {
    plan: ScriptPlan,
    tracker: Tracker,
    next: Instant,
    running: bool,
    disabled: bool,
    generation: u64,
}

struct SockRt {
    sock: Arc<AsyncFd<VrrpSocket>>,
    task: tokio::task::JoinHandle<()>,
    ifname: String,
    /// The interface's IPv4 networks (address, prefix), for the source check;
    /// re-read at most once a second when a source does not match.
    nets: Vec<(IpAddr, u8)>,
    nets_read: Instant,
}

/// Whether `src` lies in one of `nets`.
fn in_nets(src: IpAddr, nets: &[(IpAddr, u8)]) -> bool {
    nets.iter().any(|&(a, plen)| match (a, src) {
        (IpAddr::V4(a), IpAddr::V4(s)) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(plen.min(32)))
                .unwrap_or(0);
            u32::from(a) & mask == u32::from(s) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(s)) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(plen.min(128)))
                .unwrap_or(0);
            u128::from(a) & mask == u128::from(s) & mask
        }
        _ => false,
    })
}

struct Daemon {
    /// The LVS director (virtual servers, sync daemon).
    director: crate::director::Director,
    opts: Options,
    t0: Instant,
    started: Instant,
    insts: Vec<Inst>,
    scripts: Vec<ScriptRt>,
    script_gen: u64,
    socks: HashMap<SockKey, SockRt>,
    vip: Option<Netlink>,
    grat: Option<keel_vip::Announcer>,
    tx: mpsc::UnboundedSender<Event>,
    rl: RateLimit,
    link_up: HashMap<u32, bool>,
    max_late: Duration,
    /// Timer lateness histogram (buckets of `status::LATE_BOUNDS_US`).
    late_hist: Vec<u64>,
    reloads: u64,
    reload_failures: u64,
    script_security: bool,
    /// `keel_stop_mode` of the running configuration.
    conf_stop_mode: Option<crate::cli::StopMode>,
    /// Instance wake-ups, earliest first; an entry `(t, i)` is live while
    /// `insts[i].wake == Some(t)` (stale ones are skipped when popped).
    heap: BinaryHeap<Reverse<(Instant, usize)>>,
    /// Instances whose timers may have changed since the heap last saw them.
    dirty: Vec<usize>,
    /// When to give freed memory back to the kernel: [`TRIM_QUIET`] after the
    /// last state change (5,000 instances becoming master free megabytes).
    trim_at: Option<Instant>,
}

/// Run the daemon until SIGTERM/SIGINT. Returns the process exit code.
pub fn run(opts: Options) -> u8 {
    on_runtime(main_loop(opts))
}

/// The signals a daemon loop handles: SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2
/// (`None`, logged, when they cannot be installed).
pub(crate) fn signals() -> Option<(Signal, Signal, Signal, Signal, Signal)> {
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
        signal(SignalKind::user_defined1()),
        signal(SignalKind::user_defined2()),
    ) {
        (Ok(a), Ok(b), Ok(c), Ok(d), Ok(e)) => Some((a, b, c, d, e)),
        _ => {
            error!("cannot install signal handlers");
            None
        }
    }
}

/// Run a daemon's main loop on a current-thread runtime; its exit code (2 when
/// the runtime cannot start).
pub(crate) fn on_runtime(main: impl std::future::Future<Output = u8>) -> u8 {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            error!("cannot start the runtime: {e}");
            return 2;
        }
    };
    rt.block_on(main)
}

fn load(opts: &Options) -> Result<keel_conf::Config, usize> {
    load_conf(&opts.conf, opts.config_id.clone())
}

/// Load `conf` and log its diagnostics; `Err(number of errors)` when it cannot run.
pub(crate) fn load_conf(
    conf: &std::path::Path,
    config_id: Option<String>,
) -> Result<keel_conf::Config, usize> {
    let lo = keel_conf::LoadOptions {
        config_id,
        check_environment: false,
    };
    let mut l = keel_conf::load_file(conf, &lo);
    l.diagnostics
        .extend(crate::script::user_diagnostics(&l.config));
    for d in &l.diagnostics {
        let text = d.to_string();
        for line in text.lines() {
            if d.is_error() {
                error!("{line}");
            } else {
                warn!("{line}");
            }
        }
    }
    if l.has_errors() {
        Err(l.diagnostics.iter().filter(|d| d.is_error()).count())
    } else {
        Ok(l.config)
    }
}

async fn main_loop(opts: Options) -> u8 {
    info!(
        "Starting keeld v{} (keepalived-compatible VRRP)",
        env!("CARGO_PKG_VERSION")
    );
    let cfg = match load(&opts) {
        Ok(c) => c,
        Err(_) => {
            error!(
                "Configuration file {} has errors: not starting",
                opts.conf.display()
            );
            return 3;
        }
    };
    let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
    let (qtx, mut qrx) = mpsc::channel::<Query>(8);
    if let Err(e) = status::serve(&opts.status_socket, opts.status_access, qtx) {
        warn!(
            "cannot open status socket {}: {e}",
            opts.status_socket.display()
        );
    }
    let vip = match Netlink::new() {
        Ok(n) => Some(n),
        Err(e) => {
            error!("cannot open rtnetlink: {e}; VIPs will not be managed");
            None
        }
    };
    let now = Instant::now();
    let mut d = Daemon {
        director: crate::director::Director::new(opts.director, &opts.status_socket),
        opts: opts.clone(),
        t0: now,
        started: now,
        insts: Vec::new(),
        scripts: Vec::new(),
        script_gen: 0,
        socks: HashMap::new(),
        vip,
        grat: match keel_vip::Announcer::new() {
            Ok(a) => Some(a),
            Err(e) => {
                error!("cannot open the gratuitous ARP/NA socket: {e}");
                None
            }
        },
        tx: tx.clone(),
        rl: RateLimit::default(),
        link_up: HashMap::new(),
        max_late: Duration::ZERO,
        late_hist: vec![0; status::LATE_BOUNDS_US.len() + 1],
        reloads: 0,
        reload_failures: 0,
        script_security: false,
        conf_stop_mode: None,
        heap: BinaryHeap::new(),
        dirty: Vec::new(),
        trim_at: None,
    };
    spawn_link_listener(tx.clone());
    d.cleanup_stale_vips();
    let p = plan::build(&cfg, &plan::RealHost);
    d.apply_plan(p, false);
    d.director.start(&cfg);
    // The parsed configuration is not needed any more (reloads read the file).
    drop(cfg);
    sys::trim_heap();
    crate::notify::ready();

    let Some((mut term, mut int, mut hup, mut usr1, mut usr2)) = signals() else {
        return 2;
    };
    // One timer (a timerfd: microsecond wake-ups), re-armed when the next
    // deadline changes.
    let timer = match sys::TimerFd::new().and_then(sys::async_fd) {
        Ok(t) => t,
        Err(e) => {
            error!("cannot create the timer: {e}");
            return 2;
        }
    };
    let mut armed: Option<Option<Instant>> = None;
    // SIGTERM with --stop-mode handover: masters hand over first; exit once
    // none is still handing over (a second SIGTERM exits at once).
    let mut handing_over = false;
    loop {
        if handing_over && !d.insts.iter().any(|i| i.vi.handing_over()) {
            break;
        }
        let deadline = d.next_deadline().map(|t| d.on_grid(t));
        if armed != Some(deadline) {
            if let Err(e) = timer.get_ref().set(deadline) {
                error!("cannot arm the timer: {e}");
            }
            armed = Some(deadline);
        }
        tokio::select! {
            biased;
            _ = term.recv() => {
                if handing_over || !d.stop_with_handover() {
                    break;
                }
                handing_over = true;
            }
            _ = int.recv() => break,
            _ = hup.recv() => {
                crate::notify::reloading();
                d.reload();
                crate::notify::ready();
            }
            _ = usr1.recv() => d.dump(),
            _ = usr2.recv() => d.dump_stats(),
            Some(ev) = rx.recv() => d.event(ev),
            Some((req, reply)) = qrx.recv() => {
                let _ = reply.send(d.answer(&req));
            }
            guard = timer.readable() => {
                if let Ok(mut g) = guard {
                    g.clear_ready();
                }
                if timer.get_ref().take() {
                    armed = None;
                    d.timers();
                }
            }
        }
    }
    crate::notify::stopping();
    d.shutdown().await;
    d.director.shutdown().await;
    let _ = status::remove_ours(&opts.status_socket);
    info!("Stopped keeld");
    0
}

fn spawn_link_listener(tx: mpsc::UnboundedSender<Event>) {
    let w = match keel_vip::LinkWatcher::new() {
        Ok(w) => w,
        Err(e) => {
            error!("cannot watch links: {e}");
            return;
        }
    };
    let mut w = match sys::async_fd(w) {
        Ok(w) => w,
        Err(e) => {
            error!("cannot watch links: {e}");
            return;
        }
    };
    tokio::spawn(async move {
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
            if !changed.is_empty() && tx.send(Event::Links(changed)).is_err() {
                return;
            }
        }
    });
}

fn rx_task(
    key: SockKey,
    sock: Arc<AsyncFd<VrrpSocket>>,
    tx: mpsc::UnboundedSender<Event>,
) -> tokio::task::JoinHandle<()> {
    // Runs on the same thread (current-thread runtime); a task per socket
    // keeps the main select! independent of the number of sockets.
    tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        loop {
            let Ok(mut g) = sock.readable().await else {
                return;
            };
            loop {
                match g.try_io(|inner| inner.get_ref().recv(&mut buf)) {
                    Ok(Ok((range, meta))) => {
                        let data = buf[..range.end].to_vec();
                        let ev = Event::Packet {
                            key,
                            data,
                            meta: Ok((range, meta)),
                        };
                        if tx.send(ev).is_err() {
                            return;
                        }
                    }
                    Ok(Err(e)) if e.kind() == std::io::ErrorKind::InvalidData => {
                        let ev = Event::Packet {
                            key,
                            data: Vec::new(),
                            meta: Err(e.kind()),
                        };
                        if tx.send(ev).is_err() {
                            return;
                        }
                    }
                    Ok(Err(_)) => break,
                    Err(_would_block) => break,
                }
            }
        }
    })
}

fn drop_kind(e: keel_packet::Error) -> &'static str {
    use keel_packet::Error as E;
    match e {
        E::BadTtl => "ttl",
        E::Truncated | E::AddrCountMismatch | E::TooManyAddrs | E::BadIpHeader => "length",
        E::BadChecksum => "checksum",
        E::BadVersion => "version",
        E::BadType => "type",
        E::BadDestination => "destination",
        E::BadFamily => "family",
        E::BadInterval => "interval",
        E::BadProtocol => "protocol",
        E::BadAuth => "auth",
        E::BufferTooSmall => "length",
    }
}

impl Daemon {
    fn now_e(&self) -> keel_election::Instant {
        self.to_e(Instant::now())
    }

    fn to_e(&self, t: Instant) -> keel_election::Instant {
        let us = t.saturating_duration_since(self.t0).as_micros();
        keel_election::Instant::from_micros(u64::try_from(us).unwrap_or(u64::MAX))
    }

    /// `t` rounded up to the next [`TIMER_GRID`] slot.
    fn on_grid(&self, t: Instant) -> Instant {
        let g = TIMER_GRID.as_nanos();
        let since = t.saturating_duration_since(self.t0).as_nanos();
        let up = since.div_ceil(g) * g;
        self.t0 + Duration::from_nanos(u64::try_from(up).unwrap_or(u64::MAX))
    }

    /// The loop's next wake-up: the earliest live heap entry or script run.
    fn next_deadline(&mut self) -> Option<Instant> {
        self.flush_wakes();
        let mut best = None;
        while let Some(&Reverse((t, i))) = self.heap.peek() {
            if self.insts.get(i).is_some_and(|x| x.wake == Some(t)) {
                best = Some(t);
                break;
            }
            self.heap.pop();
        }
        let scripts = self
            .scripts
            .iter()
            .filter(|s| !s.running && !s.disabled)
            .map(|s| s.next);
        scripts.chain(self.trim_at).chain(best).min()
    }

    /// Re-read the wake-up time of every instance touched since the last call
    /// and queue the ones that changed.
    fn flush_wakes(&mut self) {
        for i in std::mem::take(&mut self.dirty) {
            let Some(inst) = self.insts.get_mut(i) else {
                continue;
            };
            let w = inst.next_wake(self.t0);
            if w != inst.wake {
                inst.wake = w;
                if let Some(t) = w {
                    self.heap.push(Reverse((t, i)));
                }
            }
        }
        // Stale entries pile up when backups' timers are re-armed by every
        // advert; keep the heap within a few entries per instance.
        if self.heap.len() > 4 * self.insts.len() + 64 {
            self.rebuild_wakes();
        }
    }

    /// Rebuild the heap from scratch (after instances were added, removed or
    /// renumbered).
    fn rebuild_wakes(&mut self) {
        self.dirty.clear();
        let t0 = self.t0;
        let entries: Vec<Reverse<(Instant, usize)>> = self
            .insts
            .iter_mut()
            .enumerate()
            .filter_map(|(i, inst)| {
                inst.wake = inst.next_wake(t0);
                inst.wake.map(|t| Reverse((t, i)))
            })
            .collect();
        self.heap = BinaryHeap::from(entries);
    }

    fn note_lateness(&mut self, late: Duration) {
        let us = u64::try_from(late.as_micros()).unwrap_or(u64::MAX);
        let b = status::LATE_BOUNDS_US.partition_point(|&le| le < us);
        if let Some(n) = self.late_hist.get_mut(b) {
            *n += 1;
        }
        if late > self.max_late {
            self.max_late = late;
        }
        if late > LATE_THRESHOLD && self.rl.check("timer-late", Instant::now()).is_some() {
            warn!(
                target: "vrrp",
                "timer fired {:.1} ms late (scheduling delay; may cause false failovers)",
                late.as_secs_f64() * 1000.0
            );
        }
    }

    /// Handle every instance whose wake-up time has come, earliest first, and
    /// record each one's lateness; then due scripts.
    ///
    /// An instance less than one advert interval late is handled as of its
    /// own deadline, not of the wake-up: so a busy wake-up (5,000 masters
    /// coming up at once) does not bunch the instances behind it into one
    /// burst of adverts every second, and each keeps its own phase. Later
    /// than that (a frozen process), as of the wake-up, so no catch-up burst
    /// of adverts follows.
    fn timers(&mut self) {
        let now = Instant::now();
        let ne = self.to_e(now);
        self.flush_wakes();
        while let Some(&Reverse((t, i))) = self.heap.peek() {
            if t > now {
                break;
            }
            self.heap.pop();
            if self.insts.get(i).is_none_or(|x| x.wake != Some(t)) {
                continue;
            }
            self.insts[i].wake = None;
            let late = now.saturating_duration_since(t);
            self.note_lateness(late);
            let int =
                Duration::from_millis(10 * u64::from(self.insts[i].plan.election.adver_int_cs));
            let at = if late < int { self.to_e(t) } else { ne };
            if self.insts[i].vi.poll_timeout().is_some_and(|d| d <= at) {
                self.feed(i, at, Input::Timeout);
            }
            self.run_garp_jobs(i, now);
            self.dirty.push(i);
        }
        for k in 0..self.scripts.len() {
            let s = &self.scripts[k];
            if !s.running && !s.disabled && s.next <= now {
                self.start_script(k);
            }
        }
        if self.trim_at.is_some_and(|t| t <= now) {
            self.trim_at = None;
            sys::trim_heap();
        }
    }

    // ---------------------------------------------------------------- plans

    fn ensure_socket(&mut self, p: &Plan) -> bool {
        let key = (p.ifindex, p.v6);
        if self.socks.contains_key(&key) {
            return true;
        }
        match VrrpSocket::open(&p.ifname, p.ifindex, p.v6).and_then(sys::async_fd) {
            Ok(s) => {
                let s = Arc::new(s);
                let task = rx_task(key, s.clone(), self.tx.clone());
                self.socks.insert(
                    key,
                    SockRt {
                        sock: s,
                        task,
                        ifname: p.ifname.clone(),
                        nets: sys::if_addrs(&p.ifname),
                        nets_read: Instant::now(),
                    },
                );
                true
            }
            Err(e) => {
                error!(target: "vrrp", "({}) cannot open VRRP socket on {}: {e}", p.name, p.ifname);
                false
            }
        }
    }

    fn new_inst(&mut self, p: Plan) -> Option<Inst> {
        if !self.ensure_socket(&p) {
            return None;
        }
        let vi = match Instance::try_new(p.election.clone()) {
            Ok(v) => v,
            Err(e) => {
                error!(target: "vrrp", "({}) {e}", p.name);
                return None;
            }
        };
        let mac = keel_vip::link_by_index(p.ifindex)
            .ok()
            .and_then(|l| l.mac)
            .unwrap_or([0; 6]);
        Some(Inst {
            key: (p.ifindex, p.v6),
            plan: p,
            vi,
            dropped: BTreeMap::new(),
            since: Instant::now(),
            vips_held: false,
            garp: Vec::new(),
            mac,
            wake: None,
            fed: keel_election::Instant::from_micros(0),
        })
    }

    fn link_running(&mut self, ifindex: u32) -> bool {
        if let Some(u) = self.link_up.get(&ifindex) {
            return *u;
        }
        let up = keel_vip::link_by_index(ifindex)
            .map(|l| l.up && l.running)
            .unwrap_or(false);
        self.link_up.insert(ifindex, up);
        up
    }

    fn start_inst(&mut self, i: usize) {
        let ne = self.now_e();
        let ifindex = self.insts[i].plan.ifindex;
        let up = self.link_running(ifindex);
        let tracks: Vec<(keel_election::TrackId, u32, bool)> = self.insts[i]
            .plan
            .track_ifs
            .iter()
            .map(|t| (t.id, t.ifindex, t.reverse))
            .collect();
        if self.insts[i].plan.sync_group.is_some() {
            self.insts[i].handle(ne, Input::SyncGrouped(true));
        }
        if !up {
            self.insts[i].handle(ne, Input::LinkDown);
        }
        for (id, idx, rev) in tracks {
            if idx != 0 {
                let u = self.link_running(idx);
                self.insts[i].handle(ne, Input::TrackChanged { id, up: u != rev });
            }
        }
        self.feed(i, ne, Input::Startup);
    }

    /// Under `enable_script_security`, refuse (disable) every script a
    /// non-root user could change, saying why.
    fn check_scripts_security(&self, p: &mut DaemonPlan) {
        let refuse = |line: &str, why: &keel_script::Insecure| {
            warn!("Unsafe permissions found for script '{line}' - disabling. ({why})");
        };
        if p.script_security {
            for s in &mut p.scripts {
                if let Err(why) = keel_script::check(&s.cmd, s.run_as.as_ref()) {
                    refuse(&s.line, &why);
                    s.disabled = true;
                }
            }
            for inst in &mut p.instances {
                let n = &mut inst.notify;
                for slot in [
                    &mut n.generic,
                    &mut n.master,
                    &mut n.backup,
                    &mut n.fault,
                    &mut n.stop,
                ] {
                    if let Some(ns) = slot
                        && let Err(why) = keel_script::check(&ns.cmd, ns.run_as.as_ref())
                    {
                        refuse(&ns.line, &why);
                        *slot = None;
                    }
                }
            }
        }
        let any = !p.scripts.is_empty()
            || p.instances.iter().any(|i| {
                let n = &i.notify;
                n.generic.is_some()
                    || n.master.is_some()
                    || n.backup.is_some()
                    || n.fault.is_some()
                    || n.stop.is_some()
            });
        if any && !p.script_security {
            warn!(
                "SECURITY VIOLATION - scripts are being executed but script_security not enabled."
            );
        }
    }

    fn apply_plan(&mut self, mut p: DaemonPlan, reload: bool) {
        for n in &p.notes {
            warn!(target: "vrrp", "{n}");
        }
        for e in &p.problems {
            error!(target: "vrrp", "{e} - instance disabled");
        }
        self.check_scripts_security(&mut p);
        self.script_security = p.script_security;
        if p.stop_mode != self.conf_stop_mode || !reload {
            self.conf_stop_mode = p.stop_mode;
            let m = self.stop_mode();
            let from = if self.opts.stop_mode.is_some() {
                "--stop-mode"
            } else if self.conf_stop_mode.is_some() {
                "keel_stop_mode"
            } else {
                "default"
            };
            info!("SIGTERM stop mode: {} ({from})", m.as_str());
        }
        // Scripts: keep trackers of scripts whose definition did not change.
        let mut old: Vec<ScriptRt> = std::mem::take(&mut self.scripts);
        let now = Instant::now();
        for sp in p.scripts {
            let disabled = sp.disabled;
            if let Some(pos) = old.iter().position(|o| o.plan == sp) {
                let mut o = old.swap_remove(pos);
                o.disabled = disabled;
                self.scripts.push(o);
            } else {
                self.script_gen += 1;
                self.scripts.push(ScriptRt {
                    tracker: Tracker::new(sp.rise, sp.fall, sp.init_fail),
                    plan: sp,
                    next: now,
                    running: false,
                    disabled,
                    generation: self.script_gen,
                });
            }
        }
        // Instances.
        if !reload {
            self.insts.reserve_exact(p.instances.len());
            for pl in p.instances {
                if let Some(inst) = self.new_inst(pl) {
                    self.insts.push(inst);
                    let i = self.insts.len() - 1;
                    self.start_inst(i);
                }
            }
        } else {
            let ne = self.now_e();
            let mut keep: Vec<Inst> = Vec::new();
            let mut olds: Vec<Inst> = std::mem::take(&mut self.insts);
            let mut fresh: Vec<Plan> = Vec::new();
            let mut reloaded: Vec<String> = Vec::new();
            for pl in p.instances {
                let pos = olds.iter().position(|o| {
                    o.plan.name == pl.name
                        && o.plan.sync_group == pl.sync_group
                        && o.plan.ifindex == pl.ifindex
                        && o.plan.v6 == pl.v6
                        && o.plan.election.vrid == pl.election.vrid
                });
                match pos {
                    Some(k) => {
                        let mut o = olds.swap_remove(k);
                        if o.plan != pl {
                            info!(target: "vrrp", "({}) configuration changed: updating", pl.name);
                            // VIP objects (labels, prefixes) come from the new plan;
                            // the election reports added/removed VIPs.
                            let old = std::mem::replace(&mut o.plan, pl);
                            if o.vips_held && old.routes != o.plan.routes {
                                self.update_routes(&o.plan.name, &old.routes, &o.plan.routes);
                            }
                            reloaded.push(o.plan.name.clone());
                        } else {
                            o.plan = pl;
                        }
                        keep.push(o);
                    }
                    None => fresh.push(pl),
                }
            }
            // Removed instances resign (priority 0 when master) and drop VIPs.
            self.insts = olds;
            for i in 0..self.insts.len() {
                info!(target: "vrrp", "({}) removed from the configuration: stopping", self.insts[i].plan.name);
                self.insts[i].handle(ne, Input::Shutdown);
                self.drain(i);
            }
            self.insts = keep;
            for i in 0..self.insts.len() {
                if reloaded.contains(&self.insts[i].plan.name) {
                    let cfg = Box::new(self.insts[i].plan.election.clone());
                    self.feed(i, ne, Input::Reload(cfg));
                }
            }
            for pl in fresh {
                if let Some(inst) = self.new_inst(pl) {
                    self.insts.push(inst);
                    let i = self.insts.len() - 1;
                    self.start_inst(i);
                }
            }
            // Close sockets no instance uses any more.
            let used: Vec<SockKey> = self.insts.iter().map(|i| i.key).collect();
            self.socks.retain(|k, s| {
                let keep = used.contains(k);
                if !keep {
                    s.task.abort();
                }
                keep
            });
        }
        // Report script states to the instances tracking them.
        for k in 0..self.scripts.len() {
            let up = self.scripts[k].tracker.up();
            let name = self.scripts[k].plan.name.clone();
            self.script_changed(&name, up);
        }
        // Instances were added, removed or renumbered.
        self.rebuild_wakes();
    }

    fn cleanup_stale_vips(&mut self) {
        let Some(nl) = self.vip.as_mut() else { return };
        match nl.list_stamped(None) {
            Ok(list) => {
                for v in list {
                    match nl.del(&v) {
                        Ok(_) => warn!(
                            target: "vrrp",
                            "Removed stale VIP {}/{} (ifindex {}) left by a previous keel run",
                            v.addr, v.prefix_len, v.ifindex
                        ),
                        Err(e) => error!("cannot remove stale VIP {}: {e}", v.addr),
                    }
                }
            }
            Err(e) => warn!("cannot list stamped VIPs: {e}"),
        }
    }

    fn reload(&mut self) {
        info!("Reloading");
        let cfg = match load(&self.opts) {
            Ok(c) => c,
            Err(n) => {
                self.reload_failures += 1;
                error!(
                    "Reload of {} failed ({n} error(s)): keeping the running configuration",
                    self.opts.conf.display()
                );
                return;
            }
        };
        let p = plan::build(&cfg, &plan::RealHost);
        self.reloads += 1;
        self.apply_plan(p, true);
        self.director.reload(&cfg);
        drop(cfg);
        sys::trim_heap();
        info!("Reload finished");
    }

    async fn shutdown(&mut self) {
        let ne = self.now_e();
        let mut stops = Vec::new();
        for i in 0..self.insts.len() {
            self.insts[i].handle(ne, Input::Shutdown);
            stops.extend(self.drain_collect(i));
        }
        // Wait a little for notify_stop scripts.
        let all = futures_join(stops);
        let _ = tokio::time::timeout(STOP_GRACE, all).await;
    }

    // ---------------------------------------------------------------- events

    fn event(&mut self, ev: Event) {
        match ev {
            Event::Packet { key, data, meta } => self.packet(key, &data, meta),
            Event::Links(list) => {
                for (ifindex, up) in list {
                    self.set_link(ifindex, up);
                }
            }
            Event::ScriptDone {
                idx,
                generation,
                outcome,
            } => self.script_done(idx, generation, outcome),
        }
    }

    fn set_link(&mut self, ifindex: u32, up: bool) {
        let prev = self.link_up.insert(ifindex, up);
        if prev == Some(up) || prev.is_none() && !self.tracks_if(ifindex) {
            return;
        }
        let ne = self.now_e();
        for i in 0..self.insts.len() {
            if self.insts[i].plan.ifindex == ifindex {
                let ifname = self.insts[i].plan.ifname.clone();
                info!(
                    target: "vrrp",
                    "Netlink reports {ifname} {}",
                    if up { "up" } else { "down" }
                );
                self.feed(i, ne, if up { Input::LinkUp } else { Input::LinkDown });
            }
            let tracks: Vec<(keel_election::TrackId, bool)> = self.insts[i]
                .plan
                .track_ifs
                .iter()
                .filter(|t| t.ifindex == ifindex)
                .map(|t| (t.id, t.reverse))
                .collect();
            for (id, rev) in tracks {
                self.feed(i, ne, Input::TrackChanged { id, up: up != rev });
            }
        }
    }

    fn tracks_if(&self, ifindex: u32) -> bool {
        self.insts.iter().any(|i| {
            i.plan.ifindex == ifindex || i.plan.track_ifs.iter().any(|t| t.ifindex == ifindex)
        })
    }

    fn count_drop(&mut self, i: usize, kind: &str, from: Option<IpAddr>, detail: &str) {
        *self.insts[i].dropped.entry(kind.to_owned()).or_insert(0) += 1;
        let key = format!("{}:{kind}", self.insts[i].plan.name);
        if let Some(sup) = self.rl.check(&key, Instant::now()) {
            let from = from.map(|a| format!(" from {a}")).unwrap_or_default();
            let sup = if sup > 0 {
                format!(" ({sup} similar suppressed)")
            } else {
                String::new()
            };
            warn!(
                target: "vrrp",
                "({}) dropped advert{from}: {detail}{sup}",
                self.insts[i].plan.name
            );
        }
    }

    fn packet(
        &mut self,
        key: SockKey,
        data: &[u8],
        meta: Result<(std::ops::Range<usize>, sys::RxMeta), std::io::ErrorKind>,
    ) {
        let cands: Vec<usize> = (0..self.insts.len())
            .filter(|&i| self.insts[i].key == key)
            .collect();
        if cands.is_empty() {
            return;
        }
        let Ok((range, m)) = meta else {
            for &i in &cands {
                self.count_drop(i, "length", None, "malformed IP header");
            }
            return;
        };
        let payload = data.get(range).unwrap_or(&[]);
        // Instances the packet is meant for (by VRID), if it has one.
        let vrid = payload.get(1).copied();
        let targets: Vec<usize> = cands
            .iter()
            .copied()
            .filter(|&i| Some(self.insts[i].plan.election.vrid) == vrid)
            .collect();
        let blame = if targets.is_empty() {
            cands.clone()
        } else {
            targets.clone()
        };
        // Our own adverts (unicast peers may reflect them): ignore.
        if cands
            .iter()
            .any(|&i| self.insts[i].plan.election.primary_addr == m.src)
        {
            return;
        }
        let locals: Vec<IpAddr> = cands
            .iter()
            .map(|&i| self.insts[i].plan.election.primary_addr)
            .collect();
        let delivery = if m.dst.is_multicast() {
            Delivery::Multicast
        } else {
            Delivery::Unicast(&locals)
        };
        let ipm = IpMeta {
            src: m.src,
            dst: m.dst,
            ttl: m.ttl,
            protocol: m.proto,
        };
        if let Err(e) = keel_packet::rx::check(&ipm, delivery) {
            let detail = if e == keel_packet::Error::BadTtl {
                format!("invalid TTL/HL. Received {} and expect 255", m.ttl)
            } else {
                e.to_string()
            };
            self.reject(&blame, e, Some(m.src), &detail);
            return;
        }
        if delivery == Delivery::Multicast && !self.source_on_link(key, m.src) {
            let ifname = self
                .socks
                .get(&key)
                .map(|s| s.ifname.clone())
                .unwrap_or_default();
            let detail = if m.src.is_ipv6() {
                "IPv6 source is not link-local (RFC 5798 5.1.2.1)".to_owned()
            } else {
                format!("source is not on any subnet of {ifname}")
            };
            for &i in &blame {
                self.count_drop(i, "source", Some(m.src), &detail);
            }
            return;
        }
        let pkt = match VrrpPacket::new_checked(payload) {
            Ok(p) => p,
            Err(e) => {
                self.reject(&blame, e, Some(m.src), &e.to_string());
                return;
            }
        };
        if targets.is_empty() {
            for &i in &cands {
                let d = format!(
                    "received advert for VRID {} but ours is {} - discarding",
                    pkt.vrid(),
                    self.insts[i].plan.election.vrid
                );
                self.count_drop(i, "vrid", Some(m.src), &d);
            }
            return;
        }
        let repr = match VrrpRepr::parse(&pkt, m.src, m.dst, ChecksumMode::Rfc) {
            Ok(r) => r,
            Err(e) => {
                self.reject(&targets, e, Some(m.src), &e.to_string());
                return;
            }
        };
        let advert = Advert::from(&repr);
        let ne = self.now_e();
        for &i in &targets {
            let before = self.insts[i].vi.counters().auth_failures
                + self.insts[i].vi.counters().auth_type_mismatch
                + self.insts[i].vi.counters().invalid_auth_type;
            self.feed(
                i,
                ne,
                Input::Advert {
                    src: m.src,
                    advert: advert.clone(),
                },
            );
            let after = self.insts[i].vi.counters().auth_failures
                + self.insts[i].vi.counters().auth_type_mismatch
                + self.insts[i].vi.counters().invalid_auth_type;
            if after > before {
                *self.insts[i].dropped.entry("auth".into()).or_insert(0) += after - before;
            }
        }
    }

    /// Multicast adverts come from a neighbour on the link: an IPv6 source
    /// must be link-local, an IPv4 source must be in one of the interface's
    /// subnets (a forged advert from elsewhere is never acted on).
    fn source_on_link(&mut self, key: SockKey, src: IpAddr) -> bool {
        if let IpAddr::V6(a) = src {
            return a.is_unicast_link_local();
        }
        let Some(s) = self.socks.get_mut(&key) else {
            return false;
        };
        if in_nets(src, &s.nets) {
            return true;
        }
        // Addresses may have changed since we looked: re-read, at most once a second.
        if s.nets_read.elapsed() >= Duration::from_secs(1) {
            s.nets = sys::if_addrs(&s.ifname);
            s.nets_read = Instant::now();
            return in_nets(src, &s.nets);
        }
        false
    }

    fn reject(&mut self, who: &[usize], e: keel_packet::Error, src: Option<IpAddr>, detail: &str) {
        let ne = self.now_e();
        for &i in who {
            if let Some(rxe) = RxError::from_packet_error(e) {
                self.insts[i].handle(ne, Input::RxError(rxe));
            }
            self.count_drop(i, drop_kind(e), src, detail);
            self.drain(i);
        }
    }

    // ------------------------------------------------------------ sync groups

    /// Instances of `i`'s sync group (just `i` when it has none).
    fn group_of(&self, i: usize) -> Vec<usize> {
        match &self.insts[i].plan.sync_group {
            None => vec![i],
            Some((g, _)) => (0..self.insts.len())
                .filter(|&k| {
                    self.insts[k]
                        .plan
                        .sync_group
                        .as_ref()
                        .is_some_and(|(h, _)| h == g)
                })
                .collect(),
        }
    }

    /// Give `input` to instance `i`, move its sync group along (keel-election's
    /// SyncMaster / SyncBackup / SyncFault inputs, with keepalived's rules),
    /// and execute every resulting action.
    fn feed(&mut self, i: usize, now: keel_election::Instant, input: Input) {
        let members = self.group_of(i);
        if members.len() <= 1 {
            self.insts[i].handle(now, input);
            self.drain(i);
            return;
        }
        let before: Vec<State> = members.iter().map(|&k| self.insts[k].vi.state()).collect();
        self.insts[i].handle(now, input);
        self.propagate(&members, now, before);
        for k in members {
            self.drain(k);
        }
    }

    fn propagate(&mut self, members: &[usize], now: keel_election::Instant, before: Vec<State>) {
        let mut view = GroupView {
            insts: &mut self.insts,
            members,
        };
        keel_election::propagate_sync(&mut view, now, before);
    }

    // --------------------------------------------------------------- actions

    fn drain(&mut self, i: usize) {
        for f in self.drain_collect(i) {
            tokio::spawn(f);
        }
    }

    /// Execute the instance's actions; notify runs are returned as futures
    /// (spawned by `drain`, awaited with a grace period at shutdown).
    fn drain_collect(&mut self, i: usize) -> Vec<NotifyRun> {
        // Its timers may have moved: the heap re-reads them.
        self.dirty.push(i);
        let mut runs = Vec::new();
        while let Some(a) = self.insts[i].vi.poll_action() {
            match a {
                Action::SendAdvert { priority, dst } => self.send_advert(i, priority, dst),
                Action::AddVips => {
                    let vips: Vec<keel_vip::Vip> = self.insts[i]
                        .plan
                        .vips
                        .iter()
                        .map(|(v, _)| v.clone())
                        .collect();
                    self.vips_op(i, &vips, true);
                    self.routes_op(i, true);
                    self.insts[i].vips_held = true;
                }
                Action::RemoveVips => {
                    let vips: Vec<keel_vip::Vip> = self.insts[i]
                        .plan
                        .vips
                        .iter()
                        .map(|(v, _)| v.clone())
                        .collect();
                    self.routes_op(i, false);
                    self.vips_op(i, &vips, false);
                    self.insts[i].vips_held = false;
                }
                Action::VipsChanged { added, removed } => {
                    let ifindex = self.insts[i].plan.ifindex;
                    let find = |a: &IpAddr| {
                        self.insts[i]
                            .plan
                            .vips
                            .iter()
                            .find(|(v, _)| v.addr == *a)
                            .map(|(v, _)| v.clone())
                            .unwrap_or_else(|| keel_vip::Vip::new(*a, ifindex))
                    };
                    let add: Vec<keel_vip::Vip> = added.iter().map(find).collect();
                    let del: Vec<keel_vip::Vip> = removed.iter().map(find).collect();
                    self.vips_op(i, &del, false);
                    self.vips_op(i, &add, true);
                    // New VIPs are announced right away.
                    for v in &add {
                        self.announce_one(i, v.addr, v.ifindex);
                    }
                }
                Action::SendGratuitous { repeat, delay } => {
                    self.gratuitous_burst(i, repeat, delay);
                }
                Action::StateChanged { to, .. } => {
                    self.insts[i].since = Instant::now();
                    self.trim_at = Some(self.insts[i].since + TRIM_QUIET);
                    self.director.vrrp_state(&self.insts[i].plan.name, to);
                    if to != State::Master {
                        self.insts[i].garp.clear();
                    }
                }
                Action::Notify(n) => runs.extend(self.notify(i, n.state, n.priority)),
                Action::Log(ev) => {
                    if ev.level() == LogLevel::Warning {
                        let key = format!("{}:{:?}", ev.instance, std::mem::discriminant(&ev.kind));
                        if let Some(sup) = self.rl.check(&key, Instant::now()) {
                            if sup > 0 {
                                warn!(target: "vrrp", "{ev} ({sup} similar suppressed)");
                            } else {
                                warn!(target: "vrrp", "{ev}");
                            }
                        }
                    } else {
                        info!(target: "vrrp", "{ev}");
                    }
                }
            }
        }
        runs
    }

    /// A reload changed a master's virtual routes: remove the old, add the new.
    fn update_routes(
        &mut self,
        name: &str,
        old: &[keel_vip::VirtualRoute],
        new: &[keel_vip::VirtualRoute],
    ) {
        let Some(nl) = self.vip.as_mut() else { return };
        for r in old.iter().filter(|r| !new.contains(r)) {
            let _ = nl.del_route(r);
        }
        for r in new.iter().filter(|r| !old.contains(r)) {
            if let Err(e) = nl.add_route(r) {
                error!(target: "vrrp", "({name}) cannot add virtual route {}/{}: {e}", r.dst, r.prefix_len);
            }
        }
    }

    fn routes_op(&mut self, i: usize, add: bool) {
        let Some(nl) = self.vip.as_mut() else { return };
        for r in &self.insts[i].plan.routes {
            let res = if add {
                nl.add_route(r)
            } else {
                nl.del_route(r)
            };
            if let Err(e) = res {
                error!(
                    target: "vrrp",
                    "({}) cannot {} virtual route {}/{}: {e}",
                    self.insts[i].plan.name,
                    if add { "add" } else { "remove" },
                    r.dst,
                    r.prefix_len
                );
            }
        }
    }

    fn vips_op(&mut self, i: usize, vips: &[keel_vip::Vip], add: bool) {
        let Some(nl) = self.vip.as_mut() else { return };
        for v in vips {
            let r = if add { nl.add(v) } else { nl.del(v) };
            if let Err(e) = r {
                error!(
                    target: "vrrp",
                    "({}) cannot {} VIP {}: {e}",
                    self.insts[i].plan.name,
                    if add { "add" } else { "remove" },
                    v.addr
                );
            }
        }
    }

    fn send_advert(&mut self, i: usize, priority: u8, dst: Dest) {
        let inst = &self.insts[i];
        let e = &inst.plan.election;
        let src = e.primary_addr;
        let dst_ip = match dst {
            Dest::Multicast => keel_packet::rx::group_for(src),
            Dest::Unicast(a) => a,
        };
        let v4: Vec<Ipv4Addr>;
        let v6: Vec<Ipv6Addr>;
        let addrs = if inst.plan.v6 {
            v6 = e
                .vips
                .iter()
                .filter_map(|a| match a {
                    IpAddr::V6(x) => Some(*x),
                    IpAddr::V4(_) => None,
                })
                .collect();
            AddrList::V6(&v6)
        } else {
            v4 = e
                .vips
                .iter()
                .filter_map(|a| match a {
                    IpAddr::V4(x) => Some(*x),
                    IpAddr::V6(_) => None,
                })
                .collect();
            AddrList::V4(&v4)
        };
        let auth = match e.auth {
            keel_election::AuthConfig::Pass(k) if e.version == keel_packet::Version::V2 => {
                Auth::SimpleText(k)
            }
            _ => Auth::None,
        };
        let repr = VrrpRepr {
            version: e.version,
            vrid: e.vrid,
            priority,
            adver_int: e.adver_int_cs,
            auth,
            addrs,
        };
        let mut buf = vec![0u8; repr.buffer_len()];
        if let Err(err) = repr.emit(&mut buf, src, dst_ip, ChecksumMode::Rfc) {
            error!(target: "vrrp", "({}) cannot build advert: {err}", inst.plan.name);
            return;
        }
        let Some(s) = self.socks.get(&inst.key) else {
            return;
        };
        if let Err(err) = s.sock.get_ref().send(&buf, src, dst_ip) {
            let key = format!("{}:send", inst.plan.name);
            let name = inst.plan.name.clone();
            if self.rl.check(&key, Instant::now()).is_some() {
                warn!(target: "vrrp", "({name}) cannot send advert to {dst_ip}: {err}");
            }
        }
    }

    fn gratuitous_burst(&mut self, i: usize, repeat: u32, delay: Duration) {
        let inst = &self.insts[i];
        let what = if inst.plan.v6 {
            "Unsolicited Neighbour Adverts"
        } else {
            "gratuitous ARPs"
        };
        for (v, dev) in &inst.plan.vips {
            info!(
                target: "vrrp",
                "({}) Sending/queueing {what} on {dev} for {}",
                inst.plan.name, v.addr
            );
        }
        if repeat == 0 {
            return;
        }
        if delay.is_zero() {
            for _ in 0..repeat {
                self.announce_all(i);
            }
        } else {
            self.announce_all(i);
            if repeat > 1 {
                self.insts[i].garp.push(GarpJob {
                    at: Instant::now() + delay,
                    left: repeat - 1,
                    spacing: delay,
                });
            }
        }
    }

    fn run_garp_jobs(&mut self, i: usize, now: Instant) {
        let mut due = 0;
        for j in &mut self.insts[i].garp {
            if j.at <= now && j.left > 0 {
                j.left -= 1;
                j.at = now + j.spacing;
                due += 1;
            }
        }
        self.insts[i].garp.retain(|j| j.left > 0);
        for _ in 0..due {
            self.announce_all(i);
        }
    }

    fn announce_all(&mut self, i: usize) {
        let vips: Vec<(IpAddr, u32)> = self.insts[i]
            .plan
            .vips
            .iter()
            .map(|(v, _)| (v.addr, v.ifindex))
            .collect();
        for (a, idx) in vips {
            self.announce_one(i, a, idx);
        }
    }

    fn announce_one(&mut self, i: usize, addr: IpAddr, ifindex: u32) {
        let inst = &self.insts[i];
        let mac = if ifindex == inst.plan.ifindex {
            inst.mac
        } else {
            keel_vip::link_by_index(ifindex)
                .ok()
                .and_then(|l| l.mac)
                .unwrap_or(inst.mac)
        };
        let dev = inst
            .plan
            .vips
            .iter()
            .find(|(v, _)| v.addr == addr)
            .map_or(inst.plan.ifname.as_str(), |(_, d)| d.as_str());
        let Some(grat) = self.grat.as_ref() else {
            return;
        };
        let r = match addr {
            IpAddr::V4(a) => {
                info!(target: "vrrp", "Sending gratuitous ARP on {dev} for {a}");
                grat.garp(ifindex, mac, a)
            }
            IpAddr::V6(a) => {
                info!(target: "vrrp", "Sending unsolicited Neighbour Advert on {dev} for {a}");
                grat.unsolicited_na(ifindex, mac, a, false)
            }
        };
        if let Err(e) = r {
            let key = format!("{}:garp", inst.plan.name);
            let name = inst.plan.name.clone();
            if self.rl.check(&key, Instant::now()).is_some() {
                warn!(target: "vrrp", "({name}) cannot send gratuitous message for {addr}: {e}");
            }
        }
    }

    fn notify(&mut self, i: usize, state: NotifyState, prio: u8) -> Vec<NotifyRun> {
        let n = &self.insts[i].plan.notify;
        let specific = match state {
            NotifyState::Master => n.master.clone(),
            NotifyState::Backup => n.backup.clone(),
            NotifyState::Fault => n.fault.clone(),
            NotifyState::Stop => n.stop.clone(),
        };
        let mut out = Vec::new();
        if let Some(s) = specific {
            out.push(notify_run(*s, Vec::new()));
        }
        if let Some(g) = n.generic.as_deref().cloned() {
            let extra = vec![
                "INSTANCE".to_owned(),
                self.insts[i].plan.name.clone(),
                state.as_str().to_owned(),
                prio.to_string(),
            ];
            out.push(notify_run(g, extra));
        }
        out
    }

    // --------------------------------------------------------------- scripts

    fn start_script(&mut self, k: usize) {
        let s = &mut self.scripts[k];
        s.running = true;
        s.next = Instant::now() + s.plan.interval;
        let spec =
            keel_script::Spec::new(s.plan.cmd.clone(), s.plan.run_as.clone(), s.plan.timeout);
        let generation = s.generation;
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let outcome = keel_script::run(&spec, &[]).await;
            let _ = tx.send(Event::ScriptDone {
                idx: k,
                generation,
                outcome,
            });
        });
    }

    fn script_done(&mut self, k: usize, generation: u64, outcome: keel_script::Outcome) {
        let Some(s) = self.scripts.get_mut(k) else {
            return;
        };
        if s.generation != generation {
            return;
        }
        s.running = false;
        let name = s.plan.name.clone();
        if outcome == keel_script::Outcome::TimedOut {
            warn!(target: "vrrp", "Script `{name}` timed out");
        }
        if let Some(up) = s.tracker.feed(outcome.ok()) {
            if up {
                info!(target: "vrrp", "VRRP_Script({name}) succeeded");
            } else {
                info!(target: "vrrp", "VRRP_Script({name}) failed ({outcome})");
            }
            self.script_changed(&name, up);
        }
    }

    fn script_changed(&mut self, name: &str, up: bool) {
        let ne = self.now_e();
        for i in 0..self.insts.len() {
            let ts: Vec<(keel_election::TrackId, bool)> = self.insts[i]
                .plan
                .track_scripts
                .iter()
                .filter(|t| t.script == name)
                .map(|t| (t.id, t.reverse))
                .collect();
            if ts.is_empty() {
                continue;
            }
            for (id, rev) in ts {
                self.feed(i, ne, Input::TrackChanged { id, up: up != rev });
            }
        }
    }

    // ---------------------------------------------------------------- status

    fn status(&self) -> Status {
        let now = Instant::now();
        let ne = self.to_e(now);
        Status {
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            config_file: self.opts.conf.display().to_string(),
            uptime_s: now.duration_since(self.started).as_secs_f64(),
            reloads: self.reloads,
            reload_failures: self.reload_failures,
            max_timer_late_ms: self.max_late.as_secs_f64() * 1000.0,
            timer_late_hist: status::late_hist(&self.late_hist),
            instances: self
                .insts
                .iter()
                .map(|i| {
                    let c = i.vi.counters();
                    let mut counters = BTreeMap::new();
                    for (k, v) in [
                        ("adverts_rx", c.adverts_rx),
                        ("adverts_tx", c.adverts_tx),
                        ("priority_zero_rx", c.priority_zero_rx),
                        ("priority_zero_tx", c.priority_zero_tx),
                        ("master_transitions", c.master_transitions),
                        ("auth_failures", c.auth_failures),
                        ("auth_type_mismatch", c.auth_type_mismatch),
                        ("invalid_auth_type", c.invalid_auth_type),
                        ("interval_errors", c.interval_errors),
                        ("address_list_errors", c.address_list_errors),
                        ("checksum_errors", c.checksum_errors),
                        ("ttl_errors", c.ttl_errors),
                        ("version_errors", c.version_errors),
                        ("packet_length_errors", c.packet_length_errors),
                    ] {
                        counters.insert(k.to_owned(), v);
                    }
                    InstanceStatus {
                        name: i.plan.name.clone(),
                        interface: i.plan.ifname.clone(),
                        vrid: i.plan.election.vrid,
                        version: i.plan.election.version.number(),
                        state: i.vi.state().as_str().to_owned(),
                        base_priority: i.plan.election.base_priority,
                        effective_priority: i.vi.effective_priority(),
                        master_addr: i.vi.master_addr().map(|a| a.to_string()),
                        vips: i
                            .plan
                            .vips
                            .iter()
                            .map(|(v, _)| format!("{}/{}", v.addr, v.prefix_len))
                            .collect(),
                        vips_held: i.vips_held,
                        advert_int_ms: u64::from(i.plan.election.adver_int_cs) * 10,
                        counters,
                        dropped: i.dropped.clone(),
                        next_timer_ms: i
                            .vi
                            .poll_timeout()
                            .map(|t| t.saturating_duration_since(ne).as_secs_f64() * 1000.0),
                        in_state_s: now.duration_since(i.since).as_secs_f64(),
                    }
                })
                .collect(),
            scripts: self
                .scripts
                .iter()
                .map(|s| ScriptStatus {
                    name: s.plan.name.clone(),
                    up: s.tracker.up(),
                    runs: s.tracker.runs,
                })
                .collect(),
            virtual_servers: self.director.status(),
        }
    }

    fn answer(&mut self, req: &Request) -> String {
        match req {
            Request::Status => serde_json::to_string(&self.status())
                .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")),
            Request::Handover(name) => self.handover(name.as_deref()),
            Request::Resume(name) => self.resume(name.as_deref()),
        }
    }

    /// The instances a command names (all when `None`), or the error answer.
    fn pick(&self, name: Option<&str>) -> Result<Vec<usize>, String> {
        let picked: Vec<usize> = (0..self.insts.len())
            .filter(|&i| name.is_none_or(|n| self.insts[i].plan.name == n))
            .collect();
        if picked.is_empty() {
            let n = name.unwrap_or_default();
            return Err(
                serde_json::json!({ "error": format!("no vrrp_instance {n}") }).to_string(),
            );
        }
        Ok(picked)
    }

    /// The JSON answer of `handover` / `resume`: each picked instance's state.
    fn instances_answer(&self, key: &str, picked: &[usize]) -> String {
        let list: Vec<serde_json::Value> = picked
            .iter()
            .map(|&i| {
                let vi = &self.insts[i].vi;
                serde_json::json!({
                    "instance": self.insts[i].plan.name,
                    "state": vi.state().as_str(),
                    "handing_over": vi.handing_over(),
                    "held": vi.held(),
                })
            })
            .collect();
        serde_json::json!({ key: list }).to_string()
    }

    /// `resume [INSTANCE]`: end the hold of a handover, so the instance
    /// preempts again (all when `None`).
    fn resume(&mut self, name: Option<&str>) -> String {
        let picked = match self.pick(name) {
            Ok(p) => p,
            Err(answer) => return answer,
        };
        let ne = self.now_e();
        for &i in &picked {
            if self.insts[i].vi.held() {
                info!(
                    "({}) resume requested: preemption applies again",
                    self.insts[i].plan.name
                );
            }
            self.feed(i, ne, Input::Resume);
        }
        self.instances_answer("resume", &picked)
    }

    /// `handover [INSTANCE]`: make-before-break switchover of the named
    /// instance (all when `None`); a JSON answer listing each one's state.
    fn handover(&mut self, name: Option<&str>) -> String {
        let picked = match self.pick(name) {
            Ok(p) => p,
            Err(answer) => return answer,
        };
        let ne = self.now_e();
        for &i in &picked {
            if self.insts[i].vi.state() == State::Master {
                info!("({}) handover requested", self.insts[i].plan.name);
            }
            self.feed(i, ne, Input::Handover);
        }
        self.instances_answer("handover", &picked)
    }

    /// What SIGTERM does: `--stop-mode`, else `keel_stop_mode`, else resign.
    fn stop_mode(&self) -> crate::cli::StopMode {
        self.opts
            .stop_mode
            .or(self.conf_stop_mode)
            .unwrap_or_default()
    }

    /// SIGTERM: with `--stop-mode handover`, start a handover on every
    /// master; true when at least one is now handing over (exit waits).
    fn stop_with_handover(&mut self) -> bool {
        if self.stop_mode() != crate::cli::StopMode::Handover {
            return false;
        }
        let ne = self.now_e();
        for i in 0..self.insts.len() {
            if self.insts[i].vi.state() == State::Master {
                self.feed(i, ne, Input::Handover);
            }
        }
        let n = self.insts.iter().filter(|i| i.vi.handing_over()).count();
        if n > 0 {
            info!("SIGTERM: handing over {n} instance(s) before stopping");
        }
        n > 0
    }

    fn dump(&self) {
        let text = status::render(&self.status());
        for l in text.lines() {
            info!("{l}");
        }
        if let Err(e) =
            crate::files::write_fresh(Path::new("/tmp/keepalived.data"), text.as_bytes())
        {
            warn!("cannot write /tmp/keepalived.data: {e}");
        }
    }

    /// SIGUSR2: statistics (the status as JSON, counters included) to
    /// /tmp/keepalived.stats, as keepalived writes its statistics there.
    fn dump_stats(&self) {
        let json = serde_json::to_string_pretty(&self.status()).unwrap_or_default();
        match crate::files::write_fresh(Path::new("/tmp/keepalived.stats"), json.as_bytes()) {
            Ok(()) => info!("statistics written to /tmp/keepalived.stats"),
            Err(e) => warn!("cannot write /tmp/keepalived.stats: {e}"),
        }
    }
}

/// One sync group's members seen through keel-election's propagation rules;
/// their actions are drained by the caller (`Daemon::drain`).
struct GroupView<'a> {
    insts: &'a mut [Inst],
    members: &'a [usize],
}

impl keel_election::SyncMembers for GroupView<'_> {
    fn count(&self) -> usize {
        self.members.len()
    }
    fn member(&self, i: usize) -> Option<&Instance> {
        self.members
            .get(i)
            .and_then(|&k| self.insts.get(k))
            .map(|x| &x.vi)
    }
    fn feed(&mut self, now: keel_election::Instant, i: usize, input: Input) {
        if let Some(x) = self.members.get(i).and_then(|&k| self.insts.get_mut(k)) {
            x.handle(now, input);
        }
    }
}

type NotifyRun = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

fn notify_run(s: NotifyScript, extra: Vec<String>) -> NotifyRun {
    Box::pin(async move {
        let spec = keel_script::Spec::new(s.cmd, s.run_as, Duration::from_secs(10));
        let out = keel_script::run(&spec, &extra).await;
        if !out.ok() {
            warn!(target: "vrrp", "notify script '{}' {out}", s.line);
        }
    })
}

async fn futures_join(runs: Vec<NotifyRun>) {
    let handles: Vec<_> = runs.into_iter().map(tokio::spawn).collect();
    for h in handles {
        let _ = h.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnet_membership() {
        let nets = vec![
            ("192.0.2.10".parse().unwrap(), 24),
            ("fe80::1".parse().unwrap(), 64),
            ("198.51.100.1".parse().unwrap(), 32),
        ];
        assert!(in_nets("192.0.2.11".parse().unwrap(), &nets));
        assert!(in_nets("192.0.2.255".parse().unwrap(), &nets));
        assert!(!in_nets("192.0.3.1".parse().unwrap(), &nets));
        assert!(in_nets("198.51.100.1".parse().unwrap(), &nets));
        assert!(!in_nets("198.51.100.7".parse().unwrap(), &nets));
        assert!(in_nets("fe80::99".parse().unwrap(), &nets));
        assert!(!in_nets("2001:db8::1".parse().unwrap(), &nets));
        assert!(in_nets(
            "203.0.113.9".parse().unwrap(),
            &[("0.0.0.0".parse().unwrap(), 0)]
        ));
    }
}
