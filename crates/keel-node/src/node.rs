//! The sans-IO node: keel-election instances plus everything around them
//! (receive pipeline, timer heap, advert encoding, action executor,
//! trackers, notify requests, sync groups, reload diff).
use crate::event::Event;
use crate::io::Io;
use crate::script::{Line, Outcome, Tracker};
use crate::spec::{InstanceSpec, NodeSpec, NotifyScript, ScriptSpec};
use keel_election::{Action, Advert, Dest, Instance, NotifyState, RxError, State};
use keel_packet::rx::{Delivery, IpMeta};
use keel_packet::{AddrList, Auth, ChecksumMode, VrrpPacket, VrrpRepr};
use keel_script::User;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

pub use crate::sys::RxMeta;

/// Timer lateness worth an [`Event::TimerLate`].
pub const LATE_THRESHOLD: Duration = Duration::from_millis(20);
/// Upper bounds (µs) of the timer lateness histogram's buckets
/// ([`Node::late_hist`] has one more: above the last).
pub const LATE_BOUNDS_US: [u64; 9] = [
    100, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000,
];
/// The heap is trimmed once state changes have been quiet this long.
const TRIM_QUIET: Duration = Duration::from_secs(2);

/// A VRRP socket: (interface index, IPv6).
pub type SockKey = (u32, bool);

/// Something the outside world tells the node.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Input {
    /// A packet received on the VRRP socket of `(ifindex, v6)`.
    Packet {
        /// Interface index of the socket.
        ifindex: u32,
        /// IPv6 socket.
        v6: bool,
        /// What the IP layer said; `None` when the IP header was malformed.
        meta: Option<RxMeta>,
        /// The VRRP payload (after the IP header).
        payload: Vec<u8>,
    },
    /// A link changed (up and running, or not).
    Link {
        /// Interface index.
        ifindex: u32,
        /// Up and running.
        up: bool,
    },
    /// A [`Run::Check`] finished.
    ScriptDone {
        /// `Run::Check::script`.
        script: usize,
        /// `Run::Check::generation`.
        generation: u64,
        /// How it ended.
        outcome: Outcome,
    },
    /// `poll_timeout` has come.
    Timeout,
}

/// An advert ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Name of the sending instance.
    pub instance: String,
    /// The socket to send it on.
    pub socket: SockKey,
    /// IP source.
    pub src: IpAddr,
    /// IP destination.
    pub dst: IpAddr,
    /// The VRRP packet (checksummed; the kernel adds the IP header with TTL 255).
    pub payload: Vec<u8>,
}

/// A script the driver must run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Run {
    /// A tracking script's periodic run; report with [`Input::ScriptDone`].
    Check {
        /// Script index.
        script: usize,
        /// Echo back in `ScriptDone` (stale results are ignored).
        generation: u64,
        /// What to run.
        cmd: Line,
        /// As whom.
        run_as: Option<User>,
        /// Kill it after.
        timeout: Duration,
    },
    /// A notify script (fire and forget; report failures as you like).
    Notify {
        /// What to run.
        cmd: Line,
        /// Extra arguments (the generic `notify` gets `INSTANCE name STATE prio`).
        args: Vec<String>,
        /// As whom.
        run_as: Option<User>,
        /// The line as configured.
        line: String,
    },
}

struct GarpJob {
    at: Instant,
    left: u32,
    spacing: Duration,
}

/// One running instance.
pub struct InstanceRt {
    spec: InstanceSpec,
    vi: Instance,
    dropped: BTreeMap<String, u64>,
    since: Instant,
    /// Transitions out of MASTER (keepalived's `release_master`).
    released_master: u64,
    vips_held: bool,
    garp: Vec<GarpJob>,
    mac: [u8; 6],
    started: bool,
    /// The wake-up time this instance has in the node's timer heap
    /// (entries that differ are stale).
    wake: Option<Instant>,
    /// The latest `now` given to the election core (kept monotonic).
    fed: keel_election::Instant,
}

impl std::fmt::Debug for InstanceRt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceRt")
            .field("name", &self.spec.name)
            .field("state", &self.vi.state())
            .finish_non_exhaustive()
    }
}

impl InstanceRt {
    /// Its specification.
    pub fn spec(&self) -> &InstanceSpec {
        &self.spec
    }
    /// Its name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }
    /// The election state machine (state, priority, counters, timers).
    pub fn election(&self) -> &Instance {
        &self.vi
    }
    /// Dropped packets by reason.
    pub fn dropped(&self) -> &BTreeMap<String, u64> {
        &self.dropped
    }
    /// When it entered its current state.
    pub fn since(&self) -> Instant {
        self.since
    }
    /// Whether its VIPs are on (it is master).
    pub fn vips_held(&self) -> bool {
        self.vips_held
    }
    /// Transitions out of MASTER so far (keepalived's `release_master`).
    pub fn released_master(&self) -> u64 {
        self.released_master
    }

    fn key(&self) -> SockKey {
        (self.spec.ifindex, self.spec.v6)
    }

    /// Give the election core one input; `now` never goes backwards.
    fn handle(&mut self, now: keel_election::Instant, input: keel_election::Input) {
        let now = now.max(self.fed);
        self.fed = now;
        self.vi.handle(now, input);
    }

    /// The earliest time this instance needs the node: an election timer or
    /// a queued gratuitous ARP/NA.
    fn next_wake(&self, t0: Instant) -> Option<Instant> {
        let e = self
            .vi
            .poll_timeout()
            .map(|t| t0 + Duration::from_micros(t.as_micros()));
        self.garp.iter().map(|g| g.at).chain(e).min()
    }
}

/// One tracking script.
#[derive(Debug)]
pub struct ScriptRt {
    spec: ScriptSpec,
    tracker: Tracker,
    next: Instant,
    running: bool,
    generation: u64,
}

impl ScriptRt {
    /// Its specification.
    pub fn spec(&self) -> &ScriptSpec {
        &self.spec
    }
    /// Current result.
    pub fn up(&self) -> bool {
        self.tracker.up()
    }
    /// Runs so far.
    pub fn runs(&self) -> u64 {
        self.tracker.runs
    }
    /// A run is in progress.
    pub fn running(&self) -> bool {
        self.running
    }
}

/// One VRRP socket's receive state. Everything a packet needs is found in
/// O(1) whatever the number of instances: the instances by VRID, the
/// instances' own addresses; and drops no instance can be blamed for are
/// counted here, once per packet.
struct RxSock {
    ifname: String,
    /// The interface's networks (address, prefix), for the source check;
    /// re-read at most once a second when a source does not match.
    nets: Vec<(IpAddr, u8)>,
    read: Instant,
    /// Instances by VRID (several only when VRRPv2 and v3 share a VRID).
    by_vrid: HashMap<u8, Vec<usize>>,
    /// The instances' own addresses (their reflected adverts are ignored).
    locals: HashSet<IpAddr>,
    /// Packets for no instance, by reason.
    dropped: BTreeMap<String, u64>,
}

/// How an instance receives adverts: chosen from its configuration, never
/// from the packet (issue 17 item 1).
#[derive(Clone, Copy)]
enum Rule<'a> {
    /// No unicast peers: multicast to the group only, TTL / hop limit 255,
    /// from a source on the link.
    Multicast,
    /// Unicast peers: unicast to our address only, from a listed peer only.
    Unicast {
        local: &'a IpAddr,
        peers: &'a [IpAddr],
    },
}

/// Why a packet was not accepted.
struct Reject {
    /// The codec's error, when it was one (the election counts some).
    err: Option<keel_packet::Error>,
    kind: &'static str,
    detail: String,
}

impl Reject {
    fn codec(e: keel_packet::Error, detail: String) -> Reject {
        Reject {
            err: Some(e),
            kind: e.counter_name(),
            detail,
        }
    }
}

/// A set of VRRP instances, sans-IO: inputs in through [`Node::handle`],
/// adverts out through [`Node::poll_transmit`], scripts through
/// [`Node::poll_run`], events through [`Node::poll_event`]; VIPs, routes and
/// announcements go through its [`Io`].
#[allow(missing_debug_implementations)]
pub struct Node {
    io: Io,
    t0: Instant,
    now: Instant,
    insts: Vec<InstanceRt>,
    scripts: Vec<ScriptRt>,
    script_gen: u64,
    socks: HashMap<SockKey, RxSock>,
    link_up: HashMap<u32, bool>,
    max_late: Duration,
    late_hist: Vec<u64>,
    late_sum: Duration,
    /// Instance wake-ups, earliest first; an entry `(t, i)` is live while
    /// `insts[i].wake == Some(t)` (stale ones are skipped when popped).
    heap: BinaryHeap<Reverse<(Instant, usize)>>,
    /// Instances whose timers may have changed since the heap last saw them.
    dirty: Vec<usize>,
    /// When to give freed memory back: [`TRIM_QUIET`] after the last state change.
    trim_at: Option<Instant>,
    /// `trim_at` passed in a timeout: [`Node::take_trim`] says so once.
    trim_due: bool,
    events: VecDeque<Event>,
    runs: VecDeque<Run>,
    tx: VecDeque<Transmit>,
}

/// Whether `src` lies in one of `nets`.
pub(crate) fn in_nets(src: IpAddr, nets: &[(IpAddr, u8)]) -> bool {
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

/// Multicast adverts come from a neighbour on the link: an IPv6 source
/// must be link-local, an IPv4 source must be in one of the interface's
/// subnets (a forged advert from elsewhere is never acted on).
fn source_on_link(
    s: &mut RxSock,
    links: &mut dyn crate::io::Links,
    now: Instant,
    src: IpAddr,
) -> bool {
    if let IpAddr::V6(a) = src {
        return a.is_unicast_link_local();
    }
    if in_nets(src, &s.nets) {
        return true;
    }
    // Addresses may have changed since we looked: re-read, at most once a second.
    if now.saturating_duration_since(s.read) >= Duration::from_secs(1) {
        s.nets = links.nets(&s.ifname);
        s.read = now;
        return in_nets(src, &s.nets);
    }
    false
}

/// One packet against one receive rule: IP header rules (destination, TTL
/// for multicast), the source (on the link, or a listed peer), the codec,
/// the VRID (`known`: an instance has it). The election checks the rest
/// (authentication, version, addresses).
fn judge(
    sock: &mut RxSock,
    links: &mut dyn crate::io::Links,
    now: Instant,
    rule: Rule<'_>,
    known: bool,
    m: &RxMeta,
    payload: &[u8],
) -> Result<Advert, Reject> {
    let ipm = IpMeta {
        src: m.src,
        dst: m.dst,
        ttl: m.ttl,
        protocol: m.proto,
    };
    let delivery = match rule {
        Rule::Multicast => Delivery::Multicast,
        Rule::Unicast { local, .. } => Delivery::Unicast(std::slice::from_ref(local)),
    };
    if let Err(e) = keel_packet::rx::check(&ipm, delivery) {
        let detail = match (e, rule) {
            (keel_packet::Error::BadTtl, _) => {
                format!("invalid TTL/HL. Received {} and expect 255", m.ttl)
            }
            (keel_packet::Error::BadDestination, Rule::Multicast) => format!(
                "sent to {}: an instance without unicast peers accepts multicast adverts only",
                m.dst
            ),
            (keel_packet::Error::BadDestination, Rule::Unicast { local, .. }) => format!(
                "sent to {}: an instance with unicast peers accepts adverts to {local} only",
                m.dst
            ),
            _ => e.to_string(),
        };
        return Err(Reject::codec(e, detail));
    }
    match rule {
        Rule::Multicast => {
            if !source_on_link(sock, links, now, m.src) {
                let detail = if m.src.is_ipv6() {
                    "IPv6 source is not link-local (RFC 5798 5.1.2.1)".to_owned()
                } else {
                    format!("source is not on any subnet of {}", sock.ifname)
                };
                return Err(Reject {
                    err: None,
                    kind: "source",
                    detail,
                });
            }
        }
        Rule::Unicast { peers, .. } => {
            if !peers.contains(&m.src) {
                return Err(Reject {
                    err: None,
                    kind: "source",
                    detail: "unicast source address is not one of our unicast peers".to_owned(),
                });
            }
        }
    }
    let pkt = VrrpPacket::new_checked(payload).map_err(|e| Reject::codec(e, e.to_string()))?;
    if !known {
        return Err(Reject {
            err: None,
            kind: "vrid",
            detail: format!(
                "received advert for VRID {} but no instance on {} has it - discarding",
                pkt.vrid(),
                sock.ifname
            ),
        });
    }
    let repr = VrrpRepr::parse(&pkt, m.src, m.dst, ChecksumMode::Rfc)
        .map_err(|e| Reject::codec(e, e.to_string()))?;
    Ok(Advert::from(&repr))
}

impl Node {
    /// A node for `spec`: its instances are created but not started (open
    /// the sockets of [`Node::sockets`], then call [`Node::start`]).
    pub fn new(spec: NodeSpec, io: Io, now: Instant) -> Node {
        let mut n = Node {
            io,
            t0: now,
            now,
            insts: Vec::new(),
            scripts: Vec::new(),
            script_gen: 0,
            socks: HashMap::new(),
            link_up: HashMap::new(),
            max_late: Duration::ZERO,
            late_hist: vec![0; LATE_BOUNDS_US.len() + 1],
            late_sum: Duration::ZERO,
            heap: BinaryHeap::new(),
            dirty: Vec::new(),
            trim_at: None,
            trim_due: false,
            events: VecDeque::new(),
            runs: VecDeque::new(),
            tx: VecDeque::new(),
        };
        n.apply(spec, false);
        n
    }

    fn tick(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    fn now_e(&self) -> keel_election::Instant {
        self.to_e(self.now)
    }

    fn to_e(&self, t: Instant) -> keel_election::Instant {
        let us = t.saturating_duration_since(self.t0).as_micros();
        keel_election::Instant::from_micros(u64::try_from(us).unwrap_or(u64::MAX))
    }

    // ------------------------------------------------------------ accessors

    /// The instances, in specification order.
    pub fn instances(&self) -> &[InstanceRt] {
        &self.insts
    }

    /// Index of the instance named `name`.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.insts.iter().position(|i| i.spec.name == name)
    }

    /// When instance `inst`'s next protocol timer fires.
    pub fn next_timer(&self, inst: &InstanceRt) -> Option<Instant> {
        inst.vi
            .poll_timeout()
            .map(|t| self.t0 + Duration::from_micros(t.as_micros()))
    }

    /// The tracking scripts.
    pub fn scripts(&self) -> &[ScriptRt] {
        &self.scripts
    }

    /// Worst timer lateness so far.
    pub fn max_late(&self) -> Duration {
        self.max_late
    }

    /// Timer lateness histogram: counts per [`LATE_BOUNDS_US`] bucket, plus
    /// one above the last.
    pub fn late_hist(&self) -> &[u64] {
        &self.late_hist
    }

    /// Packets dropped that no instance can be blamed for (no instance has
    /// their VRID, or the IP header was malformed), by reason, summed over
    /// the sockets. Each packet is counted once.
    pub fn unmatched_dropped(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for s in self.socks.values() {
            for (k, v) in &s.dropped {
                *out.entry(k.clone()).or_insert(0) += v;
            }
        }
        out
    }

    /// Sum of every lateness counted in [`Node::late_hist`].
    pub fn late_sum(&self) -> Duration {
        self.late_sum
    }

    /// The VRRP sockets the instances need, with their interface names.
    pub fn sockets(&self) -> Vec<(SockKey, String)> {
        let mut out: Vec<(SockKey, String)> = Vec::new();
        for i in &self.insts {
            if !out.iter().any(|(k, _)| *k == i.key()) {
                out.push((i.key(), i.spec.ifname.clone()));
            }
        }
        out
    }

    /// The I/O (to look at fakes, or swap a part).
    pub fn io_mut(&mut self) -> &mut Io {
        &mut self.io
    }

    // ---------------------------------------------------------------- polls

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The next advert to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.tx.pop_front()
    }

    /// The next script to run.
    pub fn poll_run(&mut self) -> Option<Run> {
        self.runs.pop_front()
    }

    /// When the node next needs [`Input::Timeout`]: the earliest instance
    /// timer, queued announcement, script run or memory trim.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
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
            .filter(|s| !s.running && !s.spec.disabled)
            .map(|s| s.next);
        scripts.chain(self.trim_at).chain(best).min()
    }

    /// Whether memory was freed in bulk and is quiet now (a driver may give
    /// it back to the OS); clears the flag.
    pub fn take_trim(&mut self, now: Instant) -> bool {
        if self.trim_at.is_some_and(|t| t <= now) {
            self.trim_at = None;
            self.trim_due = true;
        }
        std::mem::take(&mut self.trim_due)
    }

    // --------------------------------------------------------------- inputs

    /// Handle one input at `now`.
    pub fn handle(&mut self, now: Instant, input: Input) {
        self.tick(now);
        match input {
            Input::Packet {
                ifindex,
                v6,
                meta,
                payload,
            } => self.packet((ifindex, v6), meta, &payload),
            Input::Link { ifindex, up } => self.set_link(ifindex, up),
            Input::ScriptDone {
                script,
                generation,
                outcome,
            } => self.script_done(script, generation, outcome),
            Input::Timeout => self.timers(now),
        }
    }

    /// Give instance `i` one election input (handover, resume, ...) and
    /// perform what follows (sync group included).
    pub fn input(&mut self, now: Instant, i: usize, input: keel_election::Input) {
        self.tick(now);
        if i < self.insts.len() {
            let ne = self.now_e();
            self.feed(i, ne, input);
        }
    }

    /// The socket of `key` could not be opened: its instances cannot run
    /// and are dropped (each reported with [`Event::SocketFailed`]).
    pub fn socket_failed(&mut self, key: SockKey, error: &str) {
        let before = self.insts.len();
        let mut kept = Vec::with_capacity(before);
        for i in std::mem::take(&mut self.insts) {
            if i.key() == key && !i.started {
                self.events.push_back(Event::SocketFailed {
                    instance: i.spec.name.clone(),
                    ifname: i.spec.ifname.clone(),
                    error: error.to_owned(),
                });
            } else {
                kept.push(i);
            }
        }
        self.insts = kept;
        if self.insts.len() != before {
            self.rebuild_index();
            self.rebuild_wakes();
        }
    }

    /// Start every instance not started yet, then tell all instances the
    /// tracking scripts' results.
    pub fn start(&mut self, now: Instant) {
        self.tick(now);
        for i in 0..self.insts.len() {
            if !self.insts[i].started {
                self.start_inst(i);
            }
        }
        for k in 0..self.scripts.len() {
            let up = self.scripts[k].tracker.up();
            let name = self.scripts[k].spec.name.clone();
            self.script_changed(&name, up);
        }
        // Instances were added, removed or renumbered.
        self.rebuild_wakes();
    }

    /// Take a new specification: unchanged instances keep running
    /// untouched, changed ones keep their state and take the new
    /// configuration ([`Event::Updated`]), removed ones resign
    /// ([`Event::Removed`]), new ones are created (sync the sockets, then
    /// [`Node::start`]). Scripts whose definition did not change keep their
    /// results.
    pub fn reload(&mut self, now: Instant, spec: NodeSpec) {
        self.tick(now);
        self.apply(spec, true);
    }

    /// Stop: every instance resigns (priority 0 when master), drops its VIPs
    /// and queues its notify_stop runs.
    pub fn shutdown(&mut self, now: Instant) {
        self.tick(now);
        let ne = self.now_e();
        for i in 0..self.insts.len() {
            self.insts[i].handle(ne, keel_election::Input::Shutdown);
            self.drain(i);
        }
    }

    // ---------------------------------------------------------------- timers

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

    /// Rebuild the sockets' VRID and address indexes (after instances were
    /// added, removed or renumbered).
    fn rebuild_index(&mut self) {
        for s in self.socks.values_mut() {
            s.by_vrid.clear();
            s.locals.clear();
        }
        for (i, inst) in self.insts.iter().enumerate() {
            if let Some(s) = self.socks.get_mut(&inst.key()) {
                s.by_vrid
                    .entry(inst.spec.election.vrid)
                    .or_default()
                    .push(i);
                s.locals.insert(inst.spec.election.primary_addr);
            }
        }
    }

    fn note_lateness(&mut self, late: Duration) {
        let us = u64::try_from(late.as_micros()).unwrap_or(u64::MAX);
        let b = LATE_BOUNDS_US.partition_point(|&le| le < us);
        if let Some(n) = self.late_hist.get_mut(b) {
            *n += 1;
        }
        self.late_sum = self.late_sum.saturating_add(late);
        if late > self.max_late {
            self.max_late = late;
        }
        if late > LATE_THRESHOLD {
            self.events.push_back(Event::TimerLate { late });
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
    fn timers(&mut self, now: Instant) {
        let ne = self.to_e(now);
        // The trim deadline is consumed here, so a caller looping on
        // `poll_timeout` + `Input::Timeout` never sees it again.
        if self.trim_at.is_some_and(|t| t <= now) {
            self.trim_at = None;
            self.trim_due = true;
        }
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
                Duration::from_millis(10 * u64::from(self.insts[i].spec.election.adver_int_cs));
            let at = if late < int { self.to_e(t) } else { ne };
            if self.insts[i].vi.poll_timeout().is_some_and(|d| d <= at) {
                self.feed(i, at, keel_election::Input::Timeout);
            }
            self.run_garp_jobs(i, now);
            self.dirty.push(i);
        }
        for k in 0..self.scripts.len() {
            let s = &self.scripts[k];
            if !s.running && !s.spec.disabled && s.next <= now {
                self.start_script(k);
            }
        }
    }

    // ---------------------------------------------------------------- specs

    fn new_inst(&mut self, p: InstanceSpec) -> Option<InstanceRt> {
        let vi = match Instance::try_new(p.election.clone()) {
            Ok(v) => v,
            Err(e) => {
                self.events.push_back(Event::InvalidInstance {
                    instance: p.name.clone(),
                    error: e.to_string(),
                });
                return None;
            }
        };
        let key = (p.ifindex, p.v6);
        if !self.socks.contains_key(&key) {
            let nets = self.io.links.nets(&p.ifname);
            self.socks.insert(
                key,
                RxSock {
                    ifname: p.ifname.clone(),
                    nets,
                    read: self.now,
                    by_vrid: HashMap::new(),
                    locals: HashSet::new(),
                    dropped: BTreeMap::new(),
                },
            );
        }
        let mac = self.io.links.mac(p.ifindex).unwrap_or([0; 6]);
        Some(InstanceRt {
            spec: p,
            vi,
            dropped: BTreeMap::new(),
            since: self.now,
            released_master: 0,
            vips_held: false,
            garp: Vec::new(),
            mac,
            started: false,
            wake: None,
            fed: keel_election::Instant::from_micros(0),
        })
    }

    fn link_running(&mut self, ifindex: u32) -> bool {
        if let Some(u) = self.link_up.get(&ifindex) {
            return *u;
        }
        let up = self.io.links.running(ifindex);
        self.link_up.insert(ifindex, up);
        up
    }

    fn start_inst(&mut self, i: usize) {
        use keel_election::Input as E;
        self.insts[i].started = true;
        let ne = self.now_e();
        let ifindex = self.insts[i].spec.ifindex;
        let up = self.link_running(ifindex);
        let tracks: Vec<(keel_election::TrackId, u32, bool)> = self.insts[i]
            .spec
            .track_ifs
            .iter()
            .map(|t| (t.id, t.ifindex, t.reverse))
            .collect();
        if self.insts[i].spec.sync_group.is_some() {
            self.insts[i].handle(ne, E::SyncGrouped(true));
        }
        if !up {
            self.insts[i].handle(ne, E::LinkDown);
        }
        for (id, idx, rev) in tracks {
            if idx != 0 {
                let u = self.link_running(idx);
                self.insts[i].handle(ne, E::TrackChanged { id, up: u != rev });
            }
        }
        self.feed(i, ne, E::Startup);
    }

    fn apply(&mut self, p: NodeSpec, reload: bool) {
        // Scripts: keep trackers of scripts whose definition did not change.
        let mut old: Vec<ScriptRt> = std::mem::take(&mut self.scripts);
        let now = self.now;
        for sp in p.scripts {
            let disabled = sp.disabled;
            if let Some(pos) = old.iter().position(|o| o.spec == sp) {
                let mut o = old.swap_remove(pos);
                o.spec.disabled = disabled;
                self.scripts.push(o);
            } else {
                self.script_gen += 1;
                self.scripts.push(ScriptRt {
                    tracker: Tracker::new(sp.rise, sp.fall, sp.init_fail),
                    spec: sp,
                    next: now,
                    running: false,
                    generation: self.script_gen,
                });
            }
        }
        if !reload {
            self.insts.reserve_exact(p.instances.len());
            for pl in p.instances {
                if let Some(inst) = self.new_inst(pl) {
                    self.insts.push(inst);
                }
            }
            self.rebuild_index();
            return;
        }
        let ne = self.now_e();
        let mut keep: Vec<InstanceRt> = Vec::new();
        let mut olds: Vec<InstanceRt> = std::mem::take(&mut self.insts);
        let mut fresh: Vec<InstanceSpec> = Vec::new();
        let mut reloaded: Vec<String> = Vec::new();
        for pl in p.instances {
            let pos = olds.iter().position(|o| {
                o.spec.name == pl.name
                    && o.spec.sync_group == pl.sync_group
                    && o.spec.ifindex == pl.ifindex
                    && o.spec.v6 == pl.v6
                    && o.spec.election.vrid == pl.election.vrid
            });
            match pos {
                Some(k) => {
                    let mut o = olds.swap_remove(k);
                    if o.spec != pl {
                        self.events.push_back(Event::Updated {
                            instance: pl.name.clone(),
                        });
                        // VIP objects (labels, prefixes) come from the new spec;
                        // the election reports added/removed VIPs.
                        let old = std::mem::replace(&mut o.spec, pl);
                        if o.vips_held && old.routes != o.spec.routes {
                            self.update_routes(&o.spec.name, &old.routes, &o.spec.routes);
                        }
                        reloaded.push(o.spec.name.clone());
                    } else {
                        o.spec = pl;
                    }
                    keep.push(o);
                }
                None => fresh.push(pl),
            }
        }
        // Removed instances resign (priority 0 when master) and drop VIPs.
        self.insts = olds;
        for i in 0..self.insts.len() {
            self.events.push_back(Event::Removed {
                instance: self.insts[i].spec.name.clone(),
            });
            self.insts[i].handle(ne, keel_election::Input::Shutdown);
            self.drain(i);
        }
        // Their adverts leave before the instances are gone.
        self.insts = keep;
        for i in 0..self.insts.len() {
            if reloaded.contains(&self.insts[i].spec.name) {
                let cfg = Box::new(self.insts[i].spec.election.clone());
                self.feed(i, ne, keel_election::Input::Reload(cfg));
            }
        }
        for pl in fresh {
            if let Some(inst) = self.new_inst(pl) {
                self.insts.push(inst);
            }
        }
        let used: Vec<SockKey> = self.insts.iter().map(InstanceRt::key).collect();
        self.socks.retain(|k, _| used.contains(k));
        self.rebuild_index();
        self.rebuild_wakes();
    }

    // ---------------------------------------------------------------- events

    fn set_link(&mut self, ifindex: u32, up: bool) {
        use keel_election::Input as E;
        let prev = self.link_up.insert(ifindex, up);
        if prev == Some(up) || prev.is_none() && !self.tracks_if(ifindex) {
            return;
        }
        let ne = self.now_e();
        for i in 0..self.insts.len() {
            if self.insts[i].spec.ifindex == ifindex {
                self.events.push_back(Event::Link {
                    ifname: self.insts[i].spec.ifname.clone(),
                    up,
                });
                self.feed(i, ne, if up { E::LinkUp } else { E::LinkDown });
            }
            let tracks: Vec<(keel_election::TrackId, bool)> = self.insts[i]
                .spec
                .track_ifs
                .iter()
                .filter(|t| t.ifindex == ifindex)
                .map(|t| (t.id, t.reverse))
                .collect();
            for (id, rev) in tracks {
                self.feed(i, ne, E::TrackChanged { id, up: up != rev });
            }
        }
    }

    fn tracks_if(&self, ifindex: u32) -> bool {
        self.insts.iter().any(|i| {
            i.spec.ifindex == ifindex || i.spec.track_ifs.iter().any(|t| t.ifindex == ifindex)
        })
    }

    fn count_drop(&mut self, i: usize, kind: &'static str, from: Option<IpAddr>, detail: String) {
        *self.insts[i].dropped.entry(kind.to_owned()).or_insert(0) += 1;
        self.events.push_back(Event::Dropped {
            instance: self.insts[i].spec.name.clone(),
            kind,
            from,
            detail,
        });
    }

    /// The receive pipeline: the instances the packet is for by (socket,
    /// VRID), then each one's receive rule (from its configuration: see
    /// [`Rule`]), codec, and the election; every rejection counted once,
    /// per reason, on the instance or (for no instance) on the socket.
    fn packet(&mut self, key: SockKey, meta: Option<RxMeta>, payload: &[u8]) {
        let Some(sock) = self.socks.get(&key) else {
            return;
        };
        let Some(m) = meta else {
            self.drop_unmatched(key, "length", None, "malformed IP header".into());
            return;
        };
        // Our own adverts (unicast peers may reflect them): ignore.
        if sock.locals.contains(&m.src) {
            return;
        }
        let targets: Vec<usize> = payload
            .get(1)
            .and_then(|v| sock.by_vrid.get(v))
            .cloned()
            .unwrap_or_default();
        let now = self.now;
        if targets.is_empty() {
            // For no instance: judged by the multicast rules, for the reason.
            let Some(sock) = self.socks.get_mut(&key) else {
                return;
            };
            if let Err(r) = judge(
                sock,
                &mut *self.io.links,
                now,
                Rule::Multicast,
                false,
                &m,
                payload,
            ) {
                self.drop_unmatched(key, r.kind, Some(m.src), r.detail);
            }
            return;
        }
        for i in targets {
            let Some(sock) = self.socks.get_mut(&key) else {
                return;
            };
            let e = &self.insts[i].spec.election;
            let rule = if e.unicast_peers.is_empty() {
                Rule::Multicast
            } else {
                Rule::Unicast {
                    local: &e.primary_addr,
                    peers: &e.unicast_peers,
                }
            };
            match judge(sock, &mut *self.io.links, now, rule, true, &m, payload) {
                Ok(advert) => self.accept(i, m.src, advert),
                Err(r) => self.reject(i, r, m.src),
            }
        }
    }

    fn accept(&mut self, i: usize, src: IpAddr, advert: Advert) {
        let auth = |x: &InstanceRt| {
            let c = x.vi.counters();
            c.auth_failures + c.auth_type_mismatch + c.invalid_auth_type
        };
        let before = auth(&self.insts[i]);
        let ne = self.now_e();
        self.feed(i, ne, keel_election::Input::Advert { src, advert });
        let after = auth(&self.insts[i]);
        if after > before {
            *self.insts[i].dropped.entry("auth".into()).or_insert(0) += after - before;
        }
    }

    fn drop_unmatched(
        &mut self,
        key: SockKey,
        kind: &'static str,
        from: Option<IpAddr>,
        detail: String,
    ) {
        let Some(s) = self.socks.get_mut(&key) else {
            return;
        };
        *s.dropped.entry(kind.to_owned()).or_insert(0) += 1;
        self.events.push_back(Event::DroppedUnmatched {
            ifname: s.ifname.clone(),
            kind,
            from,
            detail,
        });
    }

    fn reject(&mut self, i: usize, r: Reject, src: IpAddr) {
        let ne = self.now_e();
        if let Some(rxe) = r.err.and_then(RxError::from_packet_error) {
            self.insts[i].handle(ne, keel_election::Input::RxError(rxe));
        }
        self.count_drop(i, r.kind, Some(src), r.detail);
        self.drain(i);
    }

    // ------------------------------------------------------------ sync groups

    /// Instances of `i`'s sync group (just `i` when it has none).
    fn group_of(&self, i: usize) -> Vec<usize> {
        match &self.insts[i].spec.sync_group {
            None => vec![i],
            Some((g, _)) => (0..self.insts.len())
                .filter(|&k| {
                    self.insts[k]
                        .spec
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
    fn feed(&mut self, i: usize, now: keel_election::Instant, input: keel_election::Input) {
        let members = self.group_of(i);
        if members.len() <= 1 {
            self.insts[i].handle(now, input);
            self.drain(i);
            return;
        }
        let before: Vec<State> = members.iter().map(|&k| self.insts[k].vi.state()).collect();
        self.insts[i].handle(now, input);
        let mut view = GroupView {
            insts: &mut self.insts,
            members: &members,
        };
        keel_election::propagate_sync(&mut view, now, before);
        for k in members {
            self.drain(k);
        }
    }

    // --------------------------------------------------------------- actions

    /// Execute the instance's actions.
    fn drain(&mut self, i: usize) {
        // Its timers may have moved: the heap re-reads them.
        self.dirty.push(i);
        while let Some(a) = self.insts[i].vi.poll_action() {
            match a {
                Action::SendAdvert { priority, dst } => self.send_advert(i, priority, dst),
                Action::AddVips => {
                    let vips: Vec<keel_vip::Vip> = self.insts[i]
                        .spec
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
                        .spec
                        .vips
                        .iter()
                        .map(|(v, _)| v.clone())
                        .collect();
                    self.routes_op(i, false);
                    self.vips_op(i, &vips, false);
                    self.insts[i].vips_held = false;
                }
                Action::VipsChanged { added, removed } => {
                    let ifindex = self.insts[i].spec.ifindex;
                    let find = |a: &IpAddr| {
                        self.insts[i]
                            .spec
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
                Action::StateChanged { from, to, .. } => {
                    self.insts[i].since = self.now;
                    if from == State::Master {
                        self.insts[i].released_master += 1;
                    }
                    self.trim_at = Some(self.now + TRIM_QUIET);
                    self.events.push_back(Event::StateChanged {
                        instance: self.insts[i].spec.name.clone(),
                        from,
                        to,
                    });
                    if to != State::Master {
                        self.insts[i].garp.clear();
                    }
                }
                Action::Notify(n) => self.notify(i, n.state, n.priority),
                Action::Log(ev) => self.events.push_back(Event::Election(ev)),
            }
        }
    }

    /// A reload changed a master's virtual routes: remove the old, add the new.
    fn update_routes(
        &mut self,
        name: &str,
        old: &[keel_vip::VirtualRoute],
        new: &[keel_vip::VirtualRoute],
    ) {
        for r in old.iter().filter(|r| !new.contains(r)) {
            let _ = self.io.vips.del_route(r);
        }
        for r in new.iter().filter(|r| !old.contains(r)) {
            if let Err(e) = self.io.vips.add_route(r) {
                self.events.push_back(Event::RouteFailed {
                    instance: name.to_owned(),
                    add: true,
                    dst: r.dst,
                    prefix_len: r.prefix_len,
                    error: e.to_string(),
                });
            }
        }
    }

    fn routes_op(&mut self, i: usize, add: bool) {
        for r in &self.insts[i].spec.routes {
            let res = if add {
                self.io.vips.add_route(r)
            } else {
                self.io.vips.del_route(r)
            };
            if let Err(e) = res {
                self.events.push_back(Event::RouteFailed {
                    instance: self.insts[i].spec.name.clone(),
                    add,
                    dst: r.dst,
                    prefix_len: r.prefix_len,
                    error: e.to_string(),
                });
            }
        }
    }

    fn vips_op(&mut self, i: usize, vips: &[keel_vip::Vip], add: bool) {
        for v in vips {
            let r = if add {
                self.io.vips.add(v)
            } else {
                self.io.vips.del(v)
            };
            if let Err(e) = r {
                self.events.push_back(Event::VipFailed {
                    instance: self.insts[i].spec.name.clone(),
                    add,
                    addr: v.addr,
                    error: e.to_string(),
                });
            }
        }
    }

    fn send_advert(&mut self, i: usize, priority: u8, dst: Dest) {
        let inst = &self.insts[i];
        let e = &inst.spec.election;
        let src = e.primary_addr;
        let dst_ip = match dst {
            Dest::Multicast => keel_packet::rx::group_for(src),
            Dest::Unicast(a) => a,
        };
        let v4: Vec<Ipv4Addr>;
        let v6: Vec<Ipv6Addr>;
        let addrs = if inst.spec.v6 {
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
            self.events.push_back(Event::AdvertFailed {
                instance: inst.spec.name.clone(),
                error: err.to_string(),
            });
            return;
        }
        self.tx.push_back(Transmit {
            instance: inst.spec.name.clone(),
            socket: inst.key(),
            src,
            dst: dst_ip,
            payload: buf,
        });
    }

    fn gratuitous_burst(&mut self, i: usize, repeat: u32, delay: Duration) {
        let inst = &self.insts[i];
        for (v, dev) in &inst.spec.vips {
            self.events.push_back(Event::GratuitousQueued {
                instance: inst.spec.name.clone(),
                v6: inst.spec.v6,
                dev: dev.clone(),
                addr: v.addr,
            });
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
                let at = self.now + delay;
                self.insts[i].garp.push(GarpJob {
                    at,
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
            .spec
            .vips
            .iter()
            .map(|(v, _)| (v.addr, v.ifindex))
            .collect();
        for (a, idx) in vips {
            self.announce_one(i, a, idx);
        }
    }

    fn announce_one(&mut self, i: usize, addr: IpAddr, ifindex: u32) {
        let mac = if ifindex == self.insts[i].spec.ifindex {
            self.insts[i].mac
        } else {
            self.io.links.mac(ifindex).unwrap_or(self.insts[i].mac)
        };
        let inst = &self.insts[i];
        let dev = inst
            .spec
            .vips
            .iter()
            .find(|(v, _)| v.addr == addr)
            .map_or(inst.spec.ifname.as_str(), |(_, d)| d.as_str())
            .to_owned();
        let r = match addr {
            IpAddr::V4(a) => self.io.announce.garp(ifindex, mac, a),
            IpAddr::V6(a) => self.io.announce.unsolicited_na(ifindex, mac, a),
        };
        self.events.push_back(Event::Announced { dev, addr });
        if let Err(e) = r {
            self.events.push_back(Event::AnnounceFailed {
                instance: self.insts[i].spec.name.clone(),
                addr,
                error: e.to_string(),
            });
        }
    }

    fn notify(&mut self, i: usize, state: NotifyState, prio: u8) {
        let n = &self.insts[i].spec.notify;
        let specific = match state {
            NotifyState::Master => &n.master,
            NotifyState::Backup => &n.backup,
            NotifyState::Fault => &n.fault,
            NotifyState::Stop => &n.stop,
        };
        if let Some(s) = specific {
            self.runs.push_back(notify_run(s, Vec::new()));
        }
        if let Some(g) = &n.generic {
            let extra = vec![
                "INSTANCE".to_owned(),
                self.insts[i].spec.name.clone(),
                state.as_str().to_owned(),
                prio.to_string(),
            ];
            self.runs.push_back(notify_run(g, extra));
        }
    }

    // --------------------------------------------------------------- scripts

    fn start_script(&mut self, k: usize) {
        let s = &mut self.scripts[k];
        s.running = true;
        s.next = self.now + s.spec.interval;
        self.runs.push_back(Run::Check {
            script: k,
            generation: s.generation,
            cmd: s.spec.cmd.clone(),
            run_as: s.spec.run_as.clone(),
            timeout: s.spec.timeout,
        });
    }

    fn script_done(&mut self, k: usize, generation: u64, outcome: Outcome) {
        let Some(s) = self.scripts.get_mut(k) else {
            return;
        };
        if s.generation != generation {
            return;
        }
        s.running = false;
        let name = s.spec.name.clone();
        if outcome == Outcome::TimedOut {
            self.events.push_back(Event::ScriptTimedOut {
                script: name.clone(),
            });
        }
        if let Some(up) = s.tracker.feed(outcome.ok()) {
            self.events.push_back(Event::ScriptChanged {
                script: name.clone(),
                up,
                outcome,
            });
            self.script_changed(&name, up);
        }
    }

    fn script_changed(&mut self, name: &str, up: bool) {
        let ne = self.now_e();
        for i in 0..self.insts.len() {
            let ts: Vec<(keel_election::TrackId, bool)> = self.insts[i]
                .spec
                .track_scripts
                .iter()
                .filter(|t| t.script == name)
                .map(|t| (t.id, t.reverse))
                .collect();
            for (id, rev) in ts {
                self.feed(
                    i,
                    ne,
                    keel_election::Input::TrackChanged { id, up: up != rev },
                );
            }
        }
    }
}

/// Remove the VIPs a previous run left (those carrying `vips`' stamp); call
/// it before the node starts, and not when another node of this process
/// shares the stamp.
pub fn cleanup_stale_vips(vips: &mut dyn keel_vip::VipControl) -> Vec<Event> {
    let mut out = Vec::new();
    match vips.list_stamped(None) {
        Ok(list) => {
            for v in list {
                match vips.del(&v) {
                    Ok(_) => out.push(Event::StaleVipRemoved {
                        addr: v.addr,
                        prefix_len: v.prefix_len,
                        ifindex: v.ifindex,
                    }),
                    Err(e) => out.push(Event::StaleVipFailed {
                        error: format!("cannot remove stale VIP {}: {e}", v.addr),
                    }),
                }
            }
        }
        Err(e) => out.push(Event::StaleVipFailed {
            error: format!("cannot list stamped VIPs: {e}"),
        }),
    }
    out
}

fn notify_run(s: &NotifyScript, args: Vec<String>) -> Run {
    Run::Notify {
        cmd: s.cmd.clone(),
        args,
        run_as: s.run_as.clone(),
        line: s.line.clone(),
    }
}

/// One sync group's members seen through keel-election's propagation rules;
/// their actions are drained by the caller (`Node::feed`).
struct GroupView<'a> {
    insts: &'a mut [InstanceRt],
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
    fn feed(&mut self, now: keel_election::Instant, i: usize, input: keel_election::Input) {
        if let Some(x) = self.members.get(i).and_then(|&k| self.insts.get_mut(k)) {
            x.handle(now, input);
        }
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
