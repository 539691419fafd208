//! A deterministic simulator: N instances on a virtual LAN with a virtual clock.
//!
//! Per-link delay and loss, partitions, silent crashes, graceful stops
//! (priority 0), restarts, interface up/down and tracker changes. Randomness
//! (loss) comes from a seeded SplitMix64, so a run is a pure function of its
//! seed and script. Multicast adverts reach the nodes configured with the same
//! VRID (as a daemon demultiplexes by VRID); unicast adverts reach the node
//! owning the peer address.
//!
//! ```
//! use keel_election::sim::Sim;
//! use keel_election::{InstanceConfig, State};
//! use std::time::Duration;
//!
//! let mut sim = Sim::new(1);
//! let a = sim.add_node(InstanceConfig::new("VI_1", 51, 100, "192.0.2.10".parse().unwrap()));
//! let b = sim.add_node(InstanceConfig::new("VI_1", 51, 99, "192.0.2.11".parse().unwrap()));
//! sim.start_all();
//! sim.run_for(Duration::from_secs(10));
//! assert_eq!((sim.state(a), sim.state(b)), (State::Master, State::Backup));
//! ```

use crate::sync::{Members, propagate};
use crate::{
    Action, Advert, AdvertAuth, AuthConfig, Dest, Input, Instance, InstanceConfig, Instant, State,
};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::IpAddr;
use std::time::Duration;

/// Delay and loss of a directed link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkParams {
    /// One-way delay.
    pub delay: Duration,
    /// Loss probability in parts per million.
    pub loss_ppm: u32,
}

/// One recorded action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// When.
    pub at: Instant,
    /// Which node.
    pub node: usize,
    /// What.
    pub action: Action,
}

/// A state transition seen in the simulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// When.
    pub at: Instant,
    /// Which node.
    pub node: usize,
    /// From.
    pub from: State,
    /// To.
    pub to: State,
}

#[derive(Debug)]
struct Node {
    cfg: InstanceConfig,
    inst: Instance,
    /// False after a crash (the process is gone: no timers, no receive).
    alive: bool,
    link_up: bool,
    partition: u32,
    vips_held: bool,
    group: Option<usize>,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Pending {
    at: Instant,
    seq: u64,
    to: usize,
    from: usize,
    priority: u8,
}

/// SplitMix64: small, fast, deterministic.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// The simulated LAN.
#[derive(Debug)]
pub struct Sim {
    now: Instant,
    nodes: Vec<Node>,
    by_vrid: HashMap<u8, Vec<usize>>,
    by_addr: HashMap<IpAddr, usize>,
    default_link: LinkParams,
    links: HashMap<(usize, usize), LinkParams>,
    queue: BinaryHeap<Reverse<Pending>>,
    /// Node deadlines, lazily invalidated against `armed`.
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    armed: Vec<Option<Instant>>,
    seq: u64,
    rng: Rng,
    groups: Vec<Vec<usize>>,
    record: bool,
    records: Vec<Record>,
    transitions: Vec<Transition>,
    events: u64,
    sent: u64,
    delivered: u64,
}

impl Sim {
    /// An empty LAN at time zero, zero delay, no loss; `seed` drives loss.
    pub fn new(seed: u64) -> Self {
        Sim {
            now: Instant::ZERO,
            nodes: Vec::new(),
            by_vrid: HashMap::new(),
            by_addr: HashMap::new(),
            default_link: LinkParams {
                delay: Duration::ZERO,
                loss_ppm: 0,
            },
            links: HashMap::new(),
            queue: BinaryHeap::new(),
            timers: BinaryHeap::new(),
            armed: Vec::new(),
            seq: 0,
            rng: Rng(seed),
            groups: Vec::new(),
            record: true,
            records: Vec::new(),
            transitions: Vec::new(),
            events: 0,
            sent: 0,
            delivered: 0,
        }
    }

    /// Turn the action record on or off (on by default; off for benchmarks).
    pub fn set_recording(&mut self, on: bool) {
        self.record = on;
    }

    /// Add a node (not started). Returns its index.
    pub fn add_node(&mut self, cfg: InstanceConfig) -> usize {
        let i = self.nodes.len();
        self.by_vrid.entry(cfg.vrid).or_default().push(i);
        self.by_addr.insert(cfg.primary_addr, i);
        self.armed.push(None);
        self.nodes.push(Node {
            inst: Instance::new(cfg.clone()),
            cfg,
            alive: true,
            link_up: true,
            partition: 0,
            vips_held: false,
            group: None,
        });
        i
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Delay and loss of every link without its own setting.
    pub fn set_default_link(&mut self, delay: Duration, loss_ppm: u32) {
        self.default_link = LinkParams { delay, loss_ppm };
    }

    /// Loss of the default link and of every link set with [`Sim::set_link`].
    pub fn set_default_loss(&mut self, loss_ppm: u32) {
        self.default_link.loss_ppm = loss_ppm;
        for l in self.links.values_mut() {
            l.loss_ppm = loss_ppm;
        }
    }

    /// Delay and loss between `a` and `b`, both directions.
    pub fn set_link(&mut self, a: usize, b: usize, delay: Duration, loss_ppm: u32) {
        let p = LinkParams { delay, loss_ppm };
        self.links.insert((a, b), p);
        self.links.insert((b, a), p);
    }

    /// Put `node` in partition `id`: only nodes of the same partition hear each other.
    pub fn set_partition(&mut self, node: usize, id: u32) {
        if let Some(n) = self.nodes.get_mut(node) {
            n.partition = id;
        }
    }

    /// Split the LAN: each slice of `groups` becomes its own partition (others stay in 0).
    pub fn partition(&mut self, groups: &[&[usize]]) {
        for (g, members) in groups.iter().enumerate() {
            for &m in *members {
                self.set_partition(m, g as u32 + 1);
            }
        }
    }

    /// Everyone hears everyone again.
    pub fn heal(&mut self) {
        for n in &mut self.nodes {
            n.partition = 0;
        }
    }

    /// The virtual clock.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Make `members` a sync group (keepalived `vrrp_sync_group`): from now
    /// on their state changes propagate as [`crate::SyncGroup`] does. A node
    /// belongs to at most one group; later groups take nodes from earlier ones.
    pub fn add_sync_group(&mut self, members: &[usize]) -> usize {
        let g = self.groups.len();
        let members: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&m| m < self.nodes.len())
            .collect();
        for &m in &members {
            if let Some(old) = self.nodes[m].group {
                self.groups[old].retain(|&x| x != m);
            }
            self.nodes[m].group = Some(g);
            self.input_raw(m, Input::SyncGrouped(true));
        }
        self.groups.push(members);
        g
    }

    /// Give `input` to `node` now (ignored for crashed nodes); sync-group
    /// members take the rest of their group along.
    pub fn input(&mut self, node: usize, input: Input) {
        let Some(g) = self.nodes.get(node).and_then(|n| n.group) else {
            self.input_raw(node, input);
            return;
        };
        let members = self.groups[g].clone();
        let before: Vec<State> = members.iter().map(|&m| self.state(m)).collect();
        self.input_raw(node, input);
        let now = self.now;
        propagate(&mut SimGroup { sim: self, members }, now, before);
    }

    fn input_raw(&mut self, node: usize, input: Input) {
        if !self.nodes.get(node).is_some_and(|n| n.alive) {
            return;
        }
        if let Input::LinkDown = input {
            self.nodes[node].link_up = false;
        }
        if let Input::LinkUp = input {
            self.nodes[node].link_up = true;
        }
        self.events += 1;
        let now = self.now;
        self.nodes[node].inst.handle(now, input);
        self.drain(node);
        self.rearm(node);
    }

    fn rearm(&mut self, node: usize) {
        let t = if self.nodes[node].alive {
            self.nodes[node].inst.poll_timeout()
        } else {
            None
        };
        if t != self.armed[node] {
            self.armed[node] = t;
            if let Some(t) = t {
                self.timers.push(Reverse((t, node)));
            }
        }
    }

    /// Earliest valid node deadline, dropping stale heap entries.
    fn next_timer(&mut self) -> Option<(Instant, usize)> {
        while let Some(&Reverse((t, i))) = self.timers.peek() {
            if self.armed[i] == Some(t) {
                return Some((t, i));
            }
            self.timers.pop();
        }
        None
    }

    /// Start `node`.
    pub fn start(&mut self, node: usize) {
        self.input(node, Input::Startup);
    }

    /// Start every node.
    pub fn start_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.start(i);
        }
    }

    /// Graceful stop (priority-0 advert if master).
    pub fn stop(&mut self, node: usize) {
        self.input(node, Input::Shutdown);
    }

    /// Silent crash: the process vanishes (no priority 0, no more timers).
    pub fn crash(&mut self, node: usize) {
        if let Some(n) = self.nodes.get_mut(node) {
            n.alive = false;
            n.vips_held = false;
            self.armed[node] = None;
        }
    }

    /// Restart `node` as a fresh process and start it. A running node is
    /// killed first (silently, like a crash); leftover VIPs count as removed
    /// (keel's daemon removes its stamped addresses at startup).
    pub fn restart(&mut self, node: usize) {
        if let Some(n) = self.nodes.get_mut(node) {
            n.vips_held = false;
            n.cfg = n.inst.config().clone();
            n.inst = Instance::new(n.cfg.clone());
            n.alive = true;
            if !n.link_up {
                n.inst.handle(self.now, Input::LinkDown);
            }
            if n.group.is_some() {
                n.inst.handle(self.now, Input::SyncGrouped(true));
            }
            self.armed[node] = None;
            self.start(node);
        }
    }

    /// Tracker change on `node`.
    pub fn track(&mut self, node: usize, id: crate::TrackId, up: bool) {
        self.input(node, Input::TrackChanged { id, up });
    }

    /// State of `node` (`Initialize` when crashed).
    pub fn state(&self, node: usize) -> State {
        match self.nodes.get(node) {
            Some(n) if n.alive => n.inst.state(),
            _ => State::Initialize,
        }
    }

    /// The instance of `node`.
    pub fn instance(&self, node: usize) -> Option<&Instance> {
        self.nodes.get(node).map(|n| &n.inst)
    }

    /// True if `node` is running (not crashed).
    pub fn alive(&self, node: usize) -> bool {
        self.nodes.get(node).is_some_and(|n| n.alive)
    }

    /// Indices of live nodes in Master.
    pub fn masters(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.state(i) == State::Master)
            .collect()
    }

    /// Indices of live nodes holding their VIPs (AddVips seen, no RemoveVips since).
    pub fn vip_holders(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].alive && self.nodes[i].vips_held)
            .collect()
    }

    /// Every state transition so far.
    pub fn transitions(&self) -> &[Transition] {
        &self.transitions
    }

    /// Every action so far (when recording).
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// Log lines of `node` so far (when recording), keepalived's text.
    pub fn log_lines(&self, node: usize) -> Vec<String> {
        self.records
            .iter()
            .filter(|r| r.node == node)
            .filter_map(|r| match &r.action {
                Action::Log(l) => Some(l.to_string()),
                _ => None,
            })
            .collect()
    }

    /// Number of `handle` calls made so far (instance-events).
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Adverts sent / delivered so far.
    pub fn packets(&self) -> (u64, u64) {
        (self.sent, self.delivered)
    }

    fn link(&self, from: usize, to: usize) -> LinkParams {
        self.links
            .get(&(from, to))
            .copied()
            .unwrap_or(self.default_link)
    }

    fn drain(&mut self, node: usize) {
        while let Some(a) = self.nodes[node].inst.poll_action() {
            match &a {
                Action::SendAdvert { priority, dst } => self.send(node, *priority, *dst),
                Action::AddVips => self.nodes[node].vips_held = true,
                Action::RemoveVips => self.nodes[node].vips_held = false,
                Action::StateChanged { from, to, .. } => self.transitions.push(Transition {
                    at: self.now,
                    node,
                    from: *from,
                    to: *to,
                }),
                _ => {}
            }
            if self.record {
                self.records.push(Record {
                    at: self.now,
                    node,
                    action: a,
                });
            }
        }
    }

    fn send(&mut self, from: usize, priority: u8, dst: Dest) {
        if !self.nodes[from].link_up {
            return; // keepalived: logged but cannot be sent
        }
        self.sent += 1;
        match dst {
            Dest::Multicast => {
                let vrid = self.nodes[from].cfg.vrid;
                let n = self.by_vrid.get(&vrid).map_or(0, Vec::len);
                for k in 0..n {
                    let to = self.by_vrid[&vrid][k];
                    if to != from {
                        self.schedule(from, to, priority);
                    }
                }
            }
            Dest::Unicast(addr) => {
                if let Some(&to) = self.by_addr.get(&addr) {
                    self.schedule(from, to, priority);
                }
            }
        }
    }

    fn schedule(&mut self, from: usize, to: usize, priority: u8) {
        if self.nodes[from].partition != self.nodes[to].partition {
            return;
        }
        let link = self.link(from, to);
        if link.loss_ppm > 0 && self.rng.next() % 1_000_000 < u64::from(link.loss_ppm) {
            return;
        }
        self.seq += 1;
        self.queue.push(Reverse(Pending {
            at: self.now + link.delay,
            seq: self.seq,
            to,
            from,
            priority,
        }));
    }

    fn advert_of(cfg: &InstanceConfig, priority: u8) -> Advert {
        Advert {
            version: cfg.version,
            vrid: cfg.vrid,
            priority,
            adver_int_cs: cfg.adver_int_cs,
            auth: match cfg.auth {
                AuthConfig::None => AdvertAuth::None,
                AuthConfig::Pass(k) => AdvertAuth::Pass(k),
            },
            addrs: cfg.vips.clone(),
        }
    }

    /// Time of the next event (packet delivery or node deadline), if any.
    pub fn next_event(&mut self) -> Option<Instant> {
        let pkt = self.queue.peek().map(|Reverse(p)| p.at);
        let tmr = self.next_timer().map(|(t, _)| t);
        match (pkt, tmr) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Process every event up to and including `t`, then set the clock to `t`.
    pub fn run_until(&mut self, t: Instant) {
        while let Some(next) = self.next_event() {
            if next > t {
                break;
            }
            self.now = next.max(self.now);
            self.step();
        }
        self.now = self.now.max(t);
    }

    /// Run for `d` from now.
    pub fn run_for(&mut self, d: Duration) {
        let t = self.now + d;
        self.run_until(t);
    }

    /// Process everything due at `self.now`: packets first (in send order), then timers by node.
    fn step(&mut self) {
        while let Some(Reverse(p)) = self.queue.peek() {
            if p.at > self.now {
                break;
            }
            let Some(Reverse(p)) = self.queue.pop() else {
                break;
            };
            let to = &self.nodes[p.to];
            if !to.alive || !to.link_up || to.partition != self.nodes[p.from].partition {
                continue;
            }
            self.delivered += 1;
            let advert = Self::advert_of(self.nodes[p.from].inst.config(), p.priority);
            let src = self.nodes[p.from].cfg.primary_addr;
            self.input(p.to, Input::Advert { src, advert });
        }
        while let Some((t, i)) = self.next_timer() {
            if t > self.now {
                break;
            }
            self.timers.pop();
            self.armed[i] = None;
            self.input(i, Input::Timeout);
        }
    }
}

/// A sync group's members inside the simulator.
struct SimGroup<'a> {
    sim: &'a mut Sim,
    members: Vec<usize>,
}

impl Members for SimGroup<'_> {
    fn count(&self) -> usize {
        self.members.len()
    }
    fn member(&self, i: usize) -> Option<&Instance> {
        let n = self.members.get(i).and_then(|&m| self.sim.nodes.get(m))?;
        n.alive.then_some(&n.inst)
    }
    fn feed(&mut self, _now: Instant, i: usize, input: Input) {
        if let Some(&m) = self.members.get(i) {
            self.sim.input_raw(m, input);
        }
    }
}
