//! The pure director: specs, health verdicts, VRRP states and local-address events in;
//! the wanted IPVS table and [`Event`]s out. No clock, no socket.
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};

use keel_check::{CheckId, RealServerCheck, RealServerHealth};
use keel_election::State;
use keel_ipvs::reconcile::VirtualService;
use keel_ipvs::{Dest, Forward, Scheduler, Service, ServiceFlags, ServiceKey};

use crate::event::{CheckerActivity, Event, ServerAction};
use crate::spec::{DirectorSpec, RealServerSpec, VirtualServerSpec, check_proto};
use crate::status::{RealServerStatus, VirtualServerStatus};
use crate::sync::SyncCtl;

/// A change of the host's addresses (`ha_suspend` follows them): what keel-vip's
/// `LinkWatcher` reports, by interface index.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AddressEvent {
    /// An address appeared on an interface.
    Added {
        /// Interface index.
        ifindex: u32,
        /// The address.
        addr: IpAddr,
    },
    /// An address left an interface.
    Removed {
        /// Interface index.
        ifindex: u32,
        /// The address.
        addr: IpAddr,
    },
    /// Every address of the host now (at start, or after lost events).
    Snapshot(Vec<(u32, IpAddr)>),
}

/// A health verdict the embedder reports for a real server with
/// [`RealServerSpec::external`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verdict {
    /// The virtual server's label.
    pub virtual_server: String,
    /// The real server.
    pub server: SocketAddr,
    /// Up or down.
    pub up: bool,
}

impl Verdict {
    /// `server` of `virtual_server` is up (or down).
    pub fn new(virtual_server: impl Into<String>, server: SocketAddr, up: bool) -> Self {
        Verdict {
            virtual_server: virtual_server.into(),
            server,
            up,
        }
    }
}

#[derive(Debug, Clone)]
struct Rs {
    spec: RealServerSpec,
    label: String,
    health: RealServerHealth,
    /// The embedder's verdict (`Some` with `external`).
    external: Option<bool>,
}

impl Rs {
    fn alive(&self) -> bool {
        self.health.alive() && self.external.unwrap_or(true)
    }
    fn weight(&self) -> u32 {
        u32::try_from(self.health.weight().max(0)).unwrap_or(u32::MAX)
    }
}

#[derive(Debug, Clone)]
struct Vs {
    spec: VirtualServerSpec,
    /// `ha_suspend`'s addresses (`None` without it).
    ha_addrs: Option<Vec<IpAddr>>,
    quorum_up: bool,
    /// The checks run (false while `ha_suspend` and no address of it is local).
    active: bool,
    reals: Vec<Rs>,
}

fn rs_label(addr: SocketAddr, vs: &VirtualServerSpec) -> String {
    format!(
        "[{}]:{}:{}",
        addr.ip(),
        check_proto(vs.protocol).as_str(),
        addr.port()
    )
}

/// With DR and TUN the kernel forwards to the service's port.
fn dest_port(fwd: Forward, key: &ServiceKey, port: u16) -> u16 {
    match (fwd, key) {
        (Forward::Masq, _) => port,
        (_, ServiceKey::Addr { port: p, .. }) => *p,
        _ => port,
    }
}

impl Vs {
    /// keepalived's per-checker line for every checker of this virtual server.
    fn checker_lines(&self, activity: CheckerActivity, out: &mut Vec<Event>) {
        for r in &self.reals {
            for _ in &r.spec.checks {
                out.push(Event::Checker {
                    activity,
                    server: r.label.clone(),
                    virtual_server: self.spec.label.clone(),
                });
            }
        }
    }

    fn weight_sum(&self) -> i64 {
        self.reals
            .iter()
            .filter(|r| r.alive())
            .map(|r| i64::from(r.weight()))
            .sum()
    }

    fn sorry_active(&self) -> bool {
        self.spec.sorry_server.is_some() && !self.quorum_up
    }

    fn sorry_event(&self, active: bool, out: &mut Vec<Event>) {
        if let Some(s) = self.spec.sorry_server {
            out.push(Event::SorryServer {
                active,
                inhibit: self.spec.sorry_server_inhibit,
                server: rs_label(s, &self.spec),
                virtual_server: self.spec.label.clone(),
            });
        }
    }

    /// keepalived's `update_quorum_state`.
    fn update_quorum(&mut self, out: &mut Vec<Event>) {
        let sum = self.weight_sum();
        let q = i64::from(self.spec.quorum);
        let h = i64::from(self.spec.hysteresis);
        let threshold = if self.quorum_up { q - h } else { q + h };
        let up = if !self.quorum_up && sum >= threshold {
            true
        } else if self.quorum_up && (sum == 0 || sum < threshold) {
            false
        } else {
            return;
        };
        self.quorum_up = up;
        out.push(Event::Quorum {
            up,
            quorum: self.spec.quorum,
            hysteresis: self.spec.hysteresis,
            threshold,
            weight: sum,
            virtual_server: self.spec.label.clone(),
        });
        self.sorry_event(!up, out);
        let script = if up {
            &self.spec.quorum_up
        } else {
            &self.spec.quorum_down
        };
        out.extend(script.clone().map(Event::RunScript));
    }

    fn desired(&self) -> impl Iterator<Item = VirtualService> + '_ {
        self.spec.services.iter().map(|k| self.desired_one(*k))
    }

    fn desired_one(&self, key: ServiceKey) -> VirtualService {
        let sorry_active = self.sorry_active();
        let fwd = self.spec.forward;
        let mut dests = Vec::new();
        for r in &self.reals {
            let d = Dest::new(
                r.spec.addr.ip(),
                dest_port(fwd, &key, r.spec.addr.port()),
                fwd,
            );
            if r.alive() && !sorry_active {
                dests.push(d.weight(r.weight()));
            } else if r.spec.inhibit_on_failure || self.spec.anycast {
                dests.push(d.weight(0));
            }
        }
        if self.spec.anycast {
            // one order on every director: mh builds its table in dest order
            dests.sort_by_key(|d| (d.addr, d.port));
        }
        if let Some(s) = self.spec.sorry_server {
            let d = Dest::new(s.ip(), dest_port(fwd, &key, s.port()), fwd);
            if sorry_active {
                dests.push(d.weight(1));
            } else if self.spec.sorry_server_inhibit {
                dests.push(d.weight(0));
            }
        }
        // A sorry server that is also a real server: keep one entry (the active one).
        let mut seen = BTreeSet::new();
        dests.reverse();
        dests.retain(|d| seen.insert((d.addr, d.port)));
        dests.reverse();
        let mut service = Service::new(key, self.spec.scheduler.as_str());
        service.persistence = self.spec.persistence;
        if self.spec.anycast && self.spec.scheduler == Scheduler::Mh {
            // mh-fallback (SCHED1) and mh-port (SCHED2): without mh-port every
            // connection of one client address lands on one real server
            service.flags = ServiceFlags::SCHED1 | ServiceFlags::SCHED2;
        }
        VirtualService { service, dests }
    }
}

/// Stable check ids across reloads: (virtual server, real server, checker index) → id.
#[derive(Debug, Default, Clone)]
struct Ids {
    map: HashMap<(String, SocketAddr, usize), u64>,
    next: u64,
}

impl Ids {
    fn get(&mut self, vs: &str, addr: SocketAddr, i: usize) -> CheckId {
        let next = &mut self.next;
        CheckId(
            *self.map.entry((vs.to_owned(), addr, i)).or_insert_with(|| {
                *next += 1;
                *next
            }),
        )
    }
}

/// Health, quorum, `ha_suspend` and the wanted IPVS table of every virtual server, and
/// the sync daemon following its VRRP instance (no I/O; see the crate docs).
#[derive(Debug, Default)]
pub struct Director {
    vss: Vec<Vs>,
    by_check: HashMap<CheckId, (usize, usize)>,
    ids: Ids,
    transitions: BTreeMap<String, u64>,
    owned: BTreeSet<ServiceKey>,
    sync: SyncCtl,
    local: BTreeSet<(u32, IpAddr)>,
}

impl Director {
    /// An empty director (call [`Director::configure`]).
    pub fn new() -> Self {
        Director::default()
    }

    /// Services an earlier run created: removed by the next reconcile unless the
    /// configuration still wants them.
    pub fn adopt(&mut self, keys: impl IntoIterator<Item = ServiceKey>) {
        self.owned.extend(keys);
    }

    /// The services keel may delete: every one it ever wanted, plus adopted ones
    /// ([`keel_ipvs::reconcile::Options::owned`]).
    pub fn owned(&self) -> &BTreeSet<ServiceKey> {
        &self.owned
    }

    /// Take a (new) spec. Real servers whose checks and weight did not change keep
    /// their health and check ids; virtual servers keep their quorum and `ha_suspend`
    /// state. Returns the events (quorum at start, sync daemon operations, ...).
    pub fn configure(&mut self, spec: &DirectorSpec) -> Vec<Event> {
        let mut old: HashMap<(String, SocketAddr), Rs> = HashMap::new();
        let mut old_vs: HashMap<String, (bool, bool)> = HashMap::new();
        for vs in self.vss.drain(..) {
            old_vs.insert(vs.spec.label.clone(), (vs.quorum_up, vs.active));
            for r in vs.reals {
                old.insert((vs.spec.label.clone(), r.spec.addr), r);
            }
        }
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        for v in &spec.virtual_servers {
            if v.services.is_empty() {
                out.push(Event::Skipped(format!(
                    "virtual server {} has no service: skipped",
                    v.label
                )));
                continue;
            }
            // Two virtual servers on one group differ only by protocol.
            let id_key = format!("{}/{}", v.label, check_proto(v.protocol).as_str());
            if !seen.insert(id_key.clone()) {
                out.push(Event::Skipped(format!(
                    "virtual server {} is defined twice: skipped",
                    v.label
                )));
                continue;
            }
            let mut reals = Vec::new();
            for r in &v.real_servers {
                let label = rs_label(r.addr, v);
                let mut rspec = r.clone();
                for (i, c) in rspec.checks.iter_mut().enumerate() {
                    c.id = self.ids.get(&id_key, r.addr, i);
                    c.target = r.addr;
                    c.proto = check_proto(v.protocol);
                    c.virtual_server = Some(v.label.clone());
                }
                let keep = old
                    .remove(&(v.label.clone(), r.addr))
                    .filter(|o| o.spec.checks == rspec.checks && o.spec.weight == rspec.weight);
                let (health, external) = match keep {
                    Some(o) => (
                        o.health,
                        rspec.external.then(|| o.external.unwrap_or(!v.alpha)),
                    ),
                    None => {
                        let mut h = RealServerHealth::new(i64::from(rspec.weight));
                        for c in &rspec.checks {
                            h.add_check(c.id, c.alpha);
                        }
                        (h, rspec.external.then_some(!v.alpha))
                    }
                };
                reals.push(Rs {
                    spec: rspec,
                    label,
                    health,
                    external,
                });
            }
            let fwmark = v
                .services
                .iter()
                .any(|k| matches!(k, ServiceKey::Fwmark { .. }));
            if v.ha_suspend && fwmark {
                out.push(Event::HaSuspendCleared {
                    virtual_server: v.label.clone(),
                });
            }
            let ha_addrs = (v.ha_suspend && !fwmark).then(|| v.addrs());
            let (quorum_up, active) = old_vs.get(&v.label).copied().unwrap_or((true, true));
            let mut vs = Vs {
                spec: VirtualServerSpec {
                    real_servers: Vec::new(),
                    ..v.clone()
                },
                ha_addrs,
                quorum_up,
                active: true,
                reals,
            };
            if let Some(addrs) = &vs.ha_addrs {
                match old_vs.get(&v.label) {
                    Some(_) => vs.active = active,
                    None => {
                        // keepalived's register_checkers_thread: one line per checker.
                        vs.active = addrs.iter().any(|a| self.is_local(*a));
                        let what = if vs.active {
                            CheckerActivity::Activated
                        } else {
                            CheckerActivity::Deactivated
                        };
                        vs.checker_lines(what, &mut out);
                    }
                }
            }
            vs.update_quorum(&mut out);
            self.owned.extend(vs.spec.services.iter().copied());
            self.vss.push(vs);
        }
        self.by_check.clear();
        for (i, vs) in self.vss.iter().enumerate() {
            for (j, r) in vs.reals.iter().enumerate() {
                for c in &r.spec.checks {
                    self.by_check.insert(c.id, (i, j));
                }
            }
        }
        out.extend(self.sync.configure(spec.sync_daemon.as_ref()));
        out
    }

    /// Every check to run ([`keel_check::Checker::sync`]'s input): those of suspended
    /// (`ha_suspend`) virtual servers are left out.
    pub fn checks(&self) -> Vec<RealServerCheck> {
        self.vss
            .iter()
            .filter(|v| v.active)
            .flat_map(|v| v.reals.iter().flat_map(|r| r.spec.checks.iter().cloned()))
            .collect()
    }

    /// Whether some virtual server has `ha_suspend` (then feed [`Director::address`]).
    pub fn uses_ha_suspend(&self) -> bool {
        self.vss.iter().any(|v| v.ha_addrs.is_some())
    }

    fn is_local(&self, a: IpAddr) -> bool {
        self.local.iter().any(|(_, x)| *x == a)
    }

    /// The host's addresses changed: `ha_suspend` virtual servers whose address (any
    /// member's, for a group) appeared are activated, those whose addresses are all
    /// gone are suspended. [`Director::checks`] changed when the events are not empty.
    /// Health is kept while suspended; the restarted checks' first verdict decides.
    pub fn address(&mut self, ev: &AddressEvent) -> Vec<Event> {
        match ev {
            AddressEvent::Added { ifindex, addr } => {
                self.local.insert((*ifindex, *addr));
            }
            AddressEvent::Removed { ifindex, addr } => {
                self.local.remove(&(*ifindex, *addr));
            }
            AddressEvent::Snapshot(all) => self.local = all.iter().copied().collect(),
        }
        let mut out = Vec::new();
        let local: BTreeSet<IpAddr> = self.local.iter().map(|(_, a)| *a).collect();
        for vs in &mut self.vss {
            let Some(addrs) = &vs.ha_addrs else {
                continue;
            };
            let want = addrs.iter().any(|a| local.contains(a));
            if want != vs.active {
                vs.active = want;
                let what = if want {
                    CheckerActivity::Activated
                } else {
                    CheckerActivity::Suspended
                };
                vs.checker_lines(what, &mut out);
            }
        }
        out
    }

    /// Apply one keel-check event.
    pub fn check_event(&mut self, ev: &keel_check::Event) -> Vec<Event> {
        let mut out = Vec::new();
        match ev {
            keel_check::Event::Transition(t) => out.push(Event::Check(t.clone())),
            keel_check::Event::AttemptFailed { reason, .. } => {
                out.extend(reason.attempt_line().map(Event::AttemptFailed));
            }
            _ => {}
        }
        let Some(&(i, j)) = self.by_check.get(&ev.id()) else {
            return out;
        };
        if !self.vss[i].active {
            // A verdict of a check stopped by ha_suspend, still in the queue.
            return Vec::new();
        }
        let was_alive = self.vss[i].reals[j].alive();
        if self.vss[i].reals[j].health.handle(ev).is_none() {
            return out;
        }
        self.changed(i, j, was_alive, &mut out);
        out
    }

    /// Apply a verdict of the embedder for a real server with
    /// [`RealServerSpec::external`] (ignored for others).
    pub fn verdict(&mut self, v: &Verdict) -> Vec<Event> {
        let found = self.vss.iter().enumerate().find_map(|(i, vs)| {
            (vs.spec.label == v.virtual_server)
                .then(|| {
                    vs.reals
                        .iter()
                        .position(|r| r.spec.addr == v.server && r.external.is_some())
                        .map(|j| (i, j))
                })
                .flatten()
        });
        let Some((i, j)) = found else {
            return Vec::new();
        };
        let r = &mut self.vss[i].reals[j];
        if r.external == Some(v.up) {
            return Vec::new();
        }
        let was_alive = r.alive();
        r.external = Some(v.up);
        let mut out = vec![Event::Verdict {
            server: r.label.clone(),
            virtual_server: v.virtual_server.clone(),
            up: v.up,
        }];
        self.changed(i, j, was_alive, &mut out);
        out
    }

    /// A real server's health or weight changed: keepalived's `perform_svr_state`.
    fn changed(&mut self, i: usize, j: usize, was_alive: bool, out: &mut Vec<Event>) {
        let vs = &mut self.vss[i];
        *self.transitions.entry(vs.spec.label.clone()).or_default() += 1;
        let r = &vs.reals[j];
        let alive = r.alive();
        if alive != was_alive {
            let action = match (alive, r.spec.inhibit_on_failure) {
                (true, false) => ServerAction::Added,
                (true, true) => ServerAction::Enabled,
                (false, false) => ServerAction::Removed,
                (false, true) => ServerAction::Disabled,
            };
            out.push(Event::Server {
                action,
                server: r.label.clone(),
                virtual_server: vs.spec.label.clone(),
            });
            let s = if alive {
                &r.spec.notify_up
            } else {
                &r.spec.notify_down
            };
            out.extend(s.clone().map(Event::RunScript));
        }
        vs.update_quorum(out);
    }

    /// A VRRP instance changed state (drives the sync daemon).
    pub fn vrrp_state(&mut self, instance: &str, state: State) -> Vec<Event> {
        self.sync.vrrp_state(instance, state)
    }

    /// Record that starting the `state` sync daemon failed (it does not run).
    pub fn sync_start_failed(&mut self, state: keel_ipvs::SyncState) {
        self.sync.start_failed(state);
    }

    /// The IPVS table keel wants now.
    pub fn desired(&self) -> Vec<VirtualService> {
        self.vss.iter().flat_map(Vs::desired).collect()
    }

    /// Shutting down: `omega`'s scripts (notify_down of live real servers, quorum_down)
    /// and stopping the sync daemons. The caller then removes [`Director::owned`].
    pub fn shutdown(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        for vs in self.vss.iter().filter(|v| v.spec.omega) {
            for r in vs.reals.iter().filter(|r| r.alive()) {
                out.extend(r.spec.notify_down.clone().map(Event::RunScript));
            }
            if vs.quorum_up {
                out.extend(vs.spec.quorum_down.clone().map(Event::RunScript));
            }
        }
        out.extend(self.sync.shutdown());
        out
    }

    /// The status of every virtual server (`programmed`: whether IPVS is there).
    pub fn status(&self, programmed: bool) -> Vec<VirtualServerStatus> {
        self.vss
            .iter()
            .map(|vs| {
                let d = vs.desired_one(vs.spec.services[0]);
                VirtualServerStatus {
                    service: vs.spec.label.clone(),
                    scheduler: vs.spec.scheduler.as_str().to_owned(),
                    persistence_s: vs.spec.persistence.map(|p| p.timeout),
                    quorum_up: vs.quorum_up,
                    sorry_active: vs.sorry_active(),
                    programmed,
                    transitions: self.transitions.get(&vs.spec.label).copied().unwrap_or(0),
                    suspended: !vs.active,
                    real_servers: vs
                        .reals
                        .iter()
                        .map(|r| RealServerStatus {
                            server: r.label.clone(),
                            alive: r.alive(),
                            weight: r.spec.weight,
                            effective_weight: r.health.weight(),
                            checkers: r.spec.checks.len() + usize::from(r.external.is_some()),
                            ipvs_weight: d
                                .dests
                                .iter()
                                .find(|x| x.addr == r.spec.addr.ip())
                                .map(|x| x.weight),
                            counters: None,
                        })
                        .collect(),
                }
            })
            .collect()
    }

    /// The services of each virtual server, in status order (for counters).
    pub(crate) fn services(&self) -> impl Iterator<Item = (&[ServiceKey], Vec<IpAddr>)> {
        self.vss.iter().map(|v| {
            (
                v.spec.services.as_slice(),
                v.reals.iter().map(|r| r.spec.addr.ip()).collect(),
            )
        })
    }
}
