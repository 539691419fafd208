//! keeld as an LVS director: `virtual_server` / `real_server` blocks → keel-check
//! health checks → keel-ipvs reconcile.
//!
//! The pure part ([`Director`]) turns the configuration into checks and a desired IPVS
//! table and applies health transitions, quorum, hysteresis and sorry servers the way
//! keepalived 2.2.7 does (`ipwrapper.c`: `perform_svr_state`, `update_quorum_state`),
//! returning log lines and scripts to run ([`Note`]). A `virtual_server group NAME`
//! becomes one IPVS service per member of its `virtual_server_group` (`IP PORT`,
//! `IP-LAST PORT` ranges, `fwmark N`), each with the virtual server's real servers,
//! which are health-checked once: a dead real server leaves every member.
//! [`SyncCtl`] drives `lvs_sync_daemon` from its VRRP instance's state as keepalived's
//! VRRP process does (MASTER: the master daemon; BACKUP/FAULT: the backup daemon), or,
//! written without an instance, runs both as keepalived's checker process does.
//! `ha_suspend` leaves a virtual server's checks out while none of its addresses is
//! on this host ([`Director::set_local_addrs`]; keepalived's `update_checker_activity`).
//!
//! The I/O part is one tokio task ([`start`]) that owns the [`keel_check::Checker`]
//! and the [`keel_ipvs::Ipvs`] socket; the VRRP loop only calls [`start`], [`reload`],
//! [`vrrp_state`], [`shutdown`] and [`status`]. [`set_roles`] selects keepalived's
//! halves: `-P` runs no checker (only a sync daemon tied to an instance), `-C` runs the
//! checkers without VRRP ([`only`]: no instances, so only a sync daemon written without
//! one, as in keepalived).
//!
//! Without IPVS (no `ip_vs` module) the task logs one error and keeps checking, so
//! `keeld status` still shows the real servers' health; nothing is programmed.
//!
//! Differences from keepalived: after a reload that changes a real server's
//! checkers its health restarts from "up" (or "down" with `alpha`) until the
//! restarted checks report; a reload that removes the `lvs_sync_daemon` line stops
//! the daemon (keepalived leaves it running); keepalived logs nothing when it starts
//! or stops a sync daemon, keeld logs one line each; `ha_suspend` reads the host's
//! addresses every second and at every VRRP state change (keepalived follows netlink
//! address events), and a resumed check starts afresh (its first verdict decides,
//! where keepalived's checker resumes its retry count).
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use keel_check::{self as kc, CheckId, RealServerCheck, RealServerHealth};
use keel_conf::model as conf;
use keel_election::State;
use keel_ipvs::reconcile::{self, VirtualService};
use keel_ipvs::{Dest, Forward, Persistence, Service, ServiceKey};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};
use tracing::{error, info, warn};

/// What the director asks its caller to do besides programming IPVS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// Log this line (info).
    Log(String),
    /// Run this script (notify_up/down, quorum_up/down).
    Script(conf::Script),
}

/// One real server of a virtual server, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RsConf {
    addr: IpAddr,
    port: u16,
    label: String,
    weight: i32,
    inhibit: bool,
    notify_up: Option<conf::Script>,
    notify_down: Option<conf::Script>,
    checks: Vec<RealServerCheck>,
}

/// One virtual server, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
struct VsConf {
    /// The service's settings (scheduler, persistence); its key is the first of `keys`.
    service: Service,
    /// One IPVS service per key: one for a plain virtual server, one per address
    /// (and fwmark) of its `virtual_server_group`.
    keys: Vec<ServiceKey>,
    /// The real servers' protocol (for their labels and checks).
    proto: kc::Proto,
    label: String,
    forward: Forward,
    quorum: u32,
    hysteresis: u32,
    sorry: Option<(IpAddr, u16)>,
    sorry_inhibit: bool,
    quorum_up: Option<conf::Script>,
    quorum_down: Option<conf::Script>,
    omega: bool,
    /// `ha_suspend`: the addresses whose presence on this host enables the checks.
    ha_suspend: Option<Vec<IpAddr>>,
}

#[derive(Debug, Clone)]
struct Rs {
    conf: RsConf,
    health: RealServerHealth,
}

impl Rs {
    fn alive(&self) -> bool {
        self.health.alive()
    }
    fn weight(&self) -> u32 {
        u32::try_from(self.health.weight().max(0)).unwrap_or(u32::MAX)
    }
}

#[derive(Debug, Clone)]
struct Vs {
    conf: VsConf,
    quorum_up: bool,
    /// The checks run (false while `ha_suspend` and no address of it is local).
    active: bool,
    reals: Vec<Rs>,
}

impl Vs {
    /// keepalived's per-checker line (`register_checkers_thread`,
    /// `update_checker_activity`) for every checker of this virtual server.
    fn checker_lines(&self, verb: &str, notes: &mut Vec<Note>) {
        for r in &self.reals {
            for _ in &r.conf.checks {
                notes.push(Note::Log(format!(
                    "{verb} healthchecker for service {} for VS {}",
                    r.conf.label, self.conf.label
                )));
            }
        }
    }
}

impl Vs {
    fn weight_sum(&self) -> i64 {
        self.reals
            .iter()
            .filter(|r| r.alive())
            .map(|r| i64::from(r.weight()))
            .sum()
    }

    fn sorry_label(&self) -> Option<String> {
        let (a, p) = self.conf.sorry?;
        Some(rs_label(a, self.conf.proto, p))
    }

    /// keepalived's `update_quorum_state`.
    fn update_quorum(&mut self, notes: &mut Vec<Note>) {
        let sum = self.weight_sum();
        let q = i64::from(self.conf.quorum);
        let h = i64::from(self.conf.hysteresis);
        let threshold = if self.quorum_up { q - h } else { q + h };
        if !self.quorum_up && sum >= threshold {
            self.quorum_up = true;
            notes.push(Note::Log(format!(
                "Gained quorum {}+{}={threshold} <= {sum} for VS {}",
                self.conf.quorum, self.conf.hysteresis, self.conf.label
            )));
            if let Some(s) = self.sorry_label() {
                let verb = if self.conf.sorry_inhibit {
                    "Disabling"
                } else {
                    "Removing"
                };
                notes.push(Note::Log(format!(
                    "{verb} sorry server {s} from VS {}",
                    self.conf.label
                )));
            }
            notes.extend(self.conf.quorum_up.clone().map(Note::Script));
        } else if self.quorum_up && (sum == 0 || sum < threshold) {
            self.quorum_up = false;
            notes.push(Note::Log(format!(
                "Lost quorum {}-{}={threshold} > {sum} for VS {}",
                self.conf.quorum, self.conf.hysteresis, self.conf.label
            )));
            if let Some(s) = self.sorry_label() {
                let verb = if self.conf.sorry_inhibit {
                    "Enabling"
                } else {
                    "Adding"
                };
                notes.push(Note::Log(format!(
                    "{verb} sorry server {s} to VS {}",
                    self.conf.label
                )));
            }
            notes.extend(self.conf.quorum_down.clone().map(Note::Script));
        }
    }

    /// The IPVS entries this virtual server wants now: one service per key, each
    /// with every live real server (a group's members share the health checks).
    fn desired(&self) -> Vec<VirtualService> {
        self.conf
            .keys
            .iter()
            .map(|k| self.desired_one(*k))
            .collect()
    }

    fn desired_one(&self, key: ServiceKey) -> VirtualService {
        let sorry_active = self.conf.sorry.is_some() && !self.quorum_up;
        let mut dests = Vec::new();
        for r in &self.reals {
            let port = dest_port(self.conf.forward, &key, r.conf.port);
            let d = Dest::new(r.conf.addr, port, self.conf.forward);
            if r.alive() && !sorry_active {
                dests.push(d.weight(r.weight()));
            } else if r.conf.inhibit {
                dests.push(d.weight(0));
            }
        }
        if let Some((a, p)) = self.conf.sorry {
            let d = Dest::new(a, dest_port(self.conf.forward, &key, p), self.conf.forward);
            if sorry_active {
                dests.push(d.weight(1));
            } else if self.conf.sorry_inhibit {
                dests.push(d.weight(0));
            }
        }
        // A sorry server that is also a real server: keep one entry (the active one).
        let mut seen = BTreeSet::new();
        dests.reverse();
        dests.retain(|d| seen.insert((d.addr, d.port)));
        dests.reverse();
        VirtualService {
            service: Service {
                key,
                ..self.conf.service.clone()
            },
            dests,
        }
    }
}

/// Status of one real server.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RealServerStatus {
    /// `[192.0.2.12]:tcp:80`.
    pub server: String,
    /// Every checker is up.
    pub alive: bool,
    /// Configured weight.
    pub weight: i32,
    /// Effective weight (misc_dynamic may change it).
    pub effective_weight: i64,
    /// Number of checkers.
    pub checkers: usize,
    /// Weight in the desired IPVS table (`None`: not in it).
    pub ipvs_weight: Option<u32>,
    /// Kernel counters of its IPVS entry (refreshed every 2 s; `None` without one).
    #[serde(default)]
    pub counters: Option<DestCounters>,
}

/// A destination's IPVS counters.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct DestCounters {
    /// Connections scheduled since it was added.
    pub conns: u64,
    /// Active connections.
    pub active: u32,
    /// Inactive connections.
    pub inactive: u32,
    /// Incoming packets.
    pub in_pkts: u64,
}

/// Status of one virtual server.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VirtualServerStatus {
    /// `[192.0.2.250]:tcp:80`.
    pub service: String,
    /// Scheduler.
    pub scheduler: String,
    /// Persistence timeout in seconds.
    pub persistence_s: Option<u32>,
    /// Quorum is up.
    pub quorum_up: bool,
    /// The sorry server is in the table instead of the real servers.
    pub sorry_active: bool,
    /// Whether the table is programmed (false without IPVS).
    pub programmed: bool,
    /// Health transitions seen since start.
    pub transitions: u64,
    /// Its checks are suspended (`ha_suspend` and no address of it is local).
    #[serde(default)]
    pub suspended: bool,
    /// The real servers.
    pub real_servers: Vec<RealServerStatus>,
}

fn rs_label(addr: IpAddr, proto: kc::Proto, port: u16) -> String {
    format!("[{addr}]:{}:{port}", proto.as_str())
}

/// With DR and TUN the kernel forwards to the service's port.
fn dest_port(fwd: Forward, key: &ServiceKey, port: u16) -> u16 {
    match (fwd, key) {
        (Forward::Masq, _) => port,
        (_, ServiceKey::Addr { port: p, .. }) => *p,
        _ => port,
    }
}

/// The IPVS services of one virtual server: its key(s), keepalived's label and the
/// real servers' protocol. `Err` is a note saying why it is skipped.
fn vs_keys(
    vs: &conf::VirtualServer,
    groups: &[conf::VirtualServerGroup],
) -> Result<(Vec<ServiceKey>, String, kc::Proto), String> {
    let (ipvs_proto, proto) = match vs.protocol {
        conf::Protocol::Tcp => (keel_ipvs::Protocol::Tcp, kc::Proto::Tcp),
        conf::Protocol::Udp => (keel_ipvs::Protocol::Udp, kc::Proto::Udp),
        conf::Protocol::Sctp => (keel_ipvs::Protocol::Sctp, kc::Proto::Sctp),
    };
    let addr_key = |addr: IpAddr, port: u16| ServiceKey::Addr {
        protocol: ipvs_proto,
        addr,
        port,
    };
    // A fwmark service's family: the real servers' (keepalived's default is IPv4).
    let fwm_family = match vs.real_servers.first().map(|r| r.addr) {
        Some(IpAddr::V6(_)) => keel_ipvs::Family::Inet6,
        _ => keel_ipvs::Family::Inet,
    };
    match &vs.addr {
        conf::VsAddr::Ip { addr, port } => Ok((
            vec![addr_key(*addr, *port)],
            rs_label(*addr, proto, *port),
            proto,
        )),
        conf::VsAddr::Fwmark(m) => Ok((
            vec![ServiceKey::fwmark(fwm_family, *m)],
            format!("FWM {m}"),
            kc::Proto::None,
        )),
        conf::VsAddr::Group(name) => {
            let Some(g) = groups.iter().find(|g| g.name == *name) else {
                return Err(format!(
                    "virtual_server group {name}: no virtual_server_group {name}: skipped"
                ));
            };
            let mut keys = Vec::new();
            for e in &g.entries {
                match e {
                    conf::VsgEntry::Fwmark(m) => keys.push(ServiceKey::fwmark(fwm_family, *m)),
                    conf::VsgEntry::Range {
                        addr,
                        range_end,
                        port,
                    } => match group_range(*addr, *range_end) {
                        Some(addrs) => keys.extend(addrs.into_iter().map(|a| addr_key(a, *port))),
                        None => {
                            return Err(format!(
                                "virtual_server_group {name}: address range end is less than address range start ({addr}-{}): skipped",
                                range_end.unwrap_or(0)
                            ));
                        }
                    },
                }
            }
            let mut seen = BTreeSet::new();
            keys.retain(|k| seen.insert(*k));
            if keys.is_empty() {
                return Err(format!(
                    "virtual server group {name} has no entries: skipped"
                ));
            }
            // keepalived's FMT_VS for a group: the name and the (unset) port.
            Ok((keys, format!("[{name}]:0"), proto))
        }
    }
}

/// The addresses of a `virtual_server_group` entry `ADDR[-END]`: END replaces the
/// last byte (IPv4) or the last 16-bit group (IPv6). `None` when END < start.
fn group_range(addr: IpAddr, end: Option<u16>) -> Option<Vec<IpAddr>> {
    let Some(end) = end else {
        return Some(vec![addr]);
    };
    match addr {
        IpAddr::V4(a) => {
            let o = a.octets();
            let end = u8::try_from(end).ok()?;
            (o[3] <= end).then(|| {
                (o[3]..=end)
                    .map(|x| IpAddr::from([o[0], o[1], o[2], x]))
                    .collect()
            })
        }
        IpAddr::V6(a) => {
            let mut g = a.segments();
            let first = g[7];
            (first <= end).then(|| {
                (first..=end)
                    .map(|x| {
                        g[7] = x;
                        IpAddr::from(g)
                    })
                    .collect()
            })
        }
    }
}

/// Stable check ids across reloads: (virtual server, real server, checker index) → id.
#[derive(Debug, Default, Clone)]
struct Ids {
    map: HashMap<(String, IpAddr, u16, usize), u64>,
    next: u64,
}

impl Ids {
    fn get(&mut self, vs: &str, addr: IpAddr, port: u16, i: usize) -> CheckId {
        let next = &mut self.next;
        CheckId(
            *self
                .map
                .entry((vs.to_owned(), addr, port, i))
                .or_insert_with(|| {
                    *next += 1;
                    *next
                }),
        )
    }
}

/// Health, quorum and desired IPVS state of every virtual server (no I/O).
#[derive(Debug, Default)]
pub struct Director {
    vss: Vec<Vs>,
    by_check: HashMap<CheckId, (usize, usize)>,
    ids: Ids,
    transitions: BTreeMap<String, u64>,
    /// Keys of services ever desired (owned: deleted when no longer desired).
    pub owned: BTreeSet<ServiceKey>,
}

impl Director {
    /// Build from a configuration (keeps check ids and health of unchanged real servers
    /// from `self`). Returns the notes of the initial quorum evaluation.
    pub fn configure(&mut self, cfg: &conf::Config) -> Vec<Note> {
        let users = crate::script::Users::new(cfg);
        let mut old: HashMap<(String, IpAddr, u16), Rs> = HashMap::new();
        let mut old_quorum: HashMap<String, bool> = HashMap::new();
        let mut old_active: HashMap<String, bool> = HashMap::new();
        for vs in self.vss.drain(..) {
            old_quorum.insert(vs.conf.label.clone(), vs.quorum_up);
            old_active.insert(vs.conf.label.clone(), vs.active);
            for r in vs.reals {
                old.insert((vs.conf.label.clone(), r.conf.addr, r.conf.port), r);
            }
        }
        let mut notes = Vec::new();
        for v in &cfg.virtual_servers {
            let (keys, label, proto) = match vs_keys(v, &cfg.virtual_server_groups) {
                Ok(k) => k,
                Err(why) => {
                    notes.push(Note::Log(why));
                    continue;
                }
            };
            // Two virtual servers on one group differ only by protocol.
            let id_key = format!("{label}/{}", proto.as_str());
            let mut service = Service::new(keys[0], v.lb_algo.as_str());
            if let Some(t) = v.persistence_timeout {
                service = service.persistent(t);
                if let (Some(IpAddr::V4(m)), Some(p)) =
                    (v.persistence_granularity, service.persistence.as_mut())
                {
                    *p = Persistence {
                        timeout: t,
                        prefix_len: u32::from(m).leading_ones() as u8,
                    };
                }
            }
            let forward = match v.lb_kind {
                conf::ForwardMethod::Nat => Forward::Masq,
                conf::ForwardMethod::Dr => Forward::Route,
                conf::ForwardMethod::Tun => tunnel(&v.tunnel),
            };
            let mut reals = Vec::new();
            for r in &v.real_servers {
                let rlabel = rs_label(r.addr, proto, r.port);
                let mut checks: Vec<RealServerCheck> = Vec::with_capacity(r.checkers.len());
                for (i, c) in r.checkers.iter().enumerate() {
                    let spec = match kc::conf::check_spec(c, v) {
                        Ok(kc::CheckSpec::Misc(mut m)) if m.user.is_none() => {
                            // the default script user (script_user, keepalived_script)
                            match users.resolve(None) {
                                Ok(u) => m.user = u,
                                Err(e) => {
                                    notes.push(Note::Log(format!(
                                        "MISC_CHECK on {rlabel} of VS {label}: {e} - ignoring the checker"
                                    )));
                                    continue;
                                }
                            }
                            kc::CheckSpec::Misc(m)
                        }
                        Ok(s) => s,
                        Err(e) => {
                            notes.push(Note::Log(format!(
                                "{} on {rlabel} of VS {label}: {e} - ignoring the checker",
                                c.kind.keyword()
                            )));
                            continue;
                        }
                    };
                    let id = self.ids.get(&id_key, r.addr, r.port, i);
                    let mut k =
                        RealServerCheck::new(id, std::net::SocketAddr::new(r.addr, r.port), spec);
                    k.proto = proto;
                    k.virtual_server = Some(label.clone());
                    k.delay_loop = c.effective_delay_loop(v, r);
                    k.retry = Some(c.effective_retry(v));
                    k.delay_before_retry = Some(c.effective_delay_before_retry_in(v, r));
                    k.warmup = c.warmup.or(v.warmup);
                    k.alpha = v.alpha;
                    checks.push(k);
                }
                let rc = RsConf {
                    addr: r.addr,
                    port: r.port,
                    label: rlabel,
                    weight: r.weight,
                    inhibit: r.inhibit_on_failure.unwrap_or(v.inhibit_on_failure),
                    notify_up: r.notify_up.as_deref().cloned(),
                    notify_down: r.notify_down.as_deref().cloned(),
                    checks,
                };
                let keep = old
                    .remove(&(label.clone(), r.addr, r.port))
                    .filter(|o| o.conf.checks == rc.checks && o.conf.weight == rc.weight);
                let health = match keep {
                    Some(o) => o.health,
                    None => {
                        let mut h = RealServerHealth::new(i64::from(rc.weight));
                        for c in &rc.checks {
                            h.add_check(c.id, c.alpha);
                        }
                        h
                    }
                };
                reals.push(Rs { conf: rc, health });
            }
            let fwmark = keys.iter().any(|k| matches!(k, ServiceKey::Fwmark { .. }));
            if v.ha_suspend && fwmark {
                notes.push(Note::Log(format!(
                    "Virtual server {label}: cannot use ha_suspend with fwmarks - clearing ha_suspend"
                )));
            }
            let ha_suspend = (v.ha_suspend && !fwmark).then(|| {
                keys.iter()
                    .filter_map(|k| match k {
                        ServiceKey::Addr { addr, .. } => Some(*addr),
                        ServiceKey::Fwmark { .. } => None,
                    })
                    .collect::<Vec<IpAddr>>()
            });
            let mut vs = Vs {
                conf: VsConf {
                    service,
                    keys: keys.clone(),
                    proto,
                    label: label.clone(),
                    forward,
                    quorum: v.quorum,
                    hysteresis: v.hysteresis,
                    sorry: v.sorry_server.as_ref().map(|s| (s.addr, s.port)),
                    sorry_inhibit: v.sorry_server_inhibit,
                    quorum_up: v.quorum_up.as_deref().cloned(),
                    quorum_down: v.quorum_down.as_deref().cloned(),
                    omega: v.omega,
                    ha_suspend,
                },
                quorum_up: old_quorum.get(&label).copied().unwrap_or(true),
                active: true,
                reals,
            };
            if vs.conf.ha_suspend.is_some() {
                // Suspended until set_local_addrs finds an address (kept over a reload).
                match old_active.get(&label) {
                    Some(a) => vs.active = *a,
                    None => {
                        vs.active = false;
                        vs.checker_lines("Deactivating", &mut notes);
                    }
                }
            }
            vs.update_quorum(&mut notes);
            self.owned.extend(keys);
            self.vss.push(vs);
        }
        self.by_check.clear();
        for (i, vs) in self.vss.iter().enumerate() {
            for (j, r) in vs.reals.iter().enumerate() {
                for c in &r.conf.checks {
                    self.by_check.insert(c.id, (i, j));
                }
            }
        }
        notes
    }

    /// Every check to run ([`keel_check::Checker::sync`] input): those of suspended
    /// (`ha_suspend`) virtual servers are left out.
    pub fn checks(&self) -> Vec<RealServerCheck> {
        self.vss
            .iter()
            .filter(|v| v.active)
            .flat_map(|v| v.reals.iter().flat_map(|r| r.conf.checks.iter().cloned()))
            .collect()
    }

    /// Whether some virtual server has `ha_suspend` (the caller then reports the
    /// host's addresses with [`Director::set_local_addrs`]).
    pub fn uses_ha_suspend(&self) -> bool {
        self.vss.iter().any(|v| v.conf.ha_suspend.is_some())
    }

    /// The host's addresses now: `ha_suspend` virtual servers whose address (any
    /// member's, for a group) appeared are activated, those whose addresses are all
    /// gone are suspended, with keepalived's lines. Returns the notes; the checks to
    /// run ([`Director::checks`]) changed when they are not empty. Health is kept while
    /// suspended; the restarted checks' first verdict decides again.
    pub fn set_local_addrs(&mut self, local: &BTreeSet<IpAddr>) -> Vec<Note> {
        let mut notes = Vec::new();
        for vs in &mut self.vss {
            let Some(addrs) = &vs.conf.ha_suspend else {
                continue;
            };
            let want = addrs.iter().any(|a| local.contains(a));
            if want != vs.active {
                vs.active = want;
                vs.checker_lines(if want { "Activating" } else { "Suspending" }, &mut notes);
            }
        }
        notes
    }

    /// Apply one checker event: keepalived's log lines and scripts.
    pub fn handle(&mut self, ev: &kc::Event) -> Vec<Note> {
        let mut notes = Vec::new();
        if let kc::Event::Transition(t) = ev {
            notes.extend(t.reason.log_line().map(Note::Log));
        }
        if let kc::Event::AttemptFailed { reason, .. } = ev {
            notes.extend(reason.attempt_line().map(Note::Log));
        }
        let Some(&(i, j)) = self.by_check.get(&ev.id()) else {
            return notes;
        };
        let vs = &mut self.vss[i];
        if !vs.active {
            // A verdict of a check stopped by ha_suspend, still in the queue.
            return Vec::new();
        }
        let was_alive = vs.reals[j].alive();
        let Some((alive, _w)) = vs.reals[j].health.handle(ev) else {
            return notes;
        };
        *self.transitions.entry(vs.conf.label.clone()).or_default() += 1;
        let r = &vs.reals[j];
        if alive != was_alive {
            let sorry_active = vs.conf.sorry.is_some() && !vs.quorum_up;
            if !sorry_active || r.conf.inhibit {
                let verb = match (alive, r.conf.inhibit) {
                    (true, false) => "Adding",
                    (true, true) => "Enabling",
                    (false, false) => "Removing",
                    (false, true) => "Disabling",
                };
                notes.push(Note::Log(format!(
                    "{verb} service {} to VS {}",
                    r.conf.label, vs.conf.label
                )));
            }
            let s = if alive {
                &r.conf.notify_up
            } else {
                &r.conf.notify_down
            };
            notes.extend(s.clone().map(Note::Script));
        }
        vs.update_quorum(&mut notes);
        notes
    }

    /// The IPVS table keel wants now.
    pub fn desired(&self) -> Vec<VirtualService> {
        self.vss.iter().flat_map(Vs::desired).collect()
    }

    /// Scripts to run at shutdown (`omega`: notify_down of live real servers, quorum_down).
    pub fn shutdown_notes(&self) -> Vec<Note> {
        let mut notes = Vec::new();
        for vs in self.vss.iter().filter(|v| v.conf.omega) {
            for r in vs.reals.iter().filter(|r| r.alive()) {
                notes.extend(r.conf.notify_down.clone().map(Note::Script));
            }
            if vs.quorum_up {
                notes.extend(vs.conf.quorum_down.clone().map(Note::Script));
            }
        }
        notes
    }

    /// The status of every virtual server.
    pub fn status(&self, programmed: bool) -> Vec<VirtualServerStatus> {
        self.vss
            .iter()
            .map(|vs| {
                let d = vs.desired_one(vs.conf.keys[0]);
                VirtualServerStatus {
                    service: vs.conf.label.clone(),
                    scheduler: vs.conf.service.scheduler.clone(),
                    persistence_s: vs.conf.service.persistence.map(|p| p.timeout),
                    quorum_up: vs.quorum_up,
                    sorry_active: vs.conf.sorry.is_some() && !vs.quorum_up,
                    programmed,
                    transitions: self.transitions.get(&vs.conf.label).copied().unwrap_or(0),
                    suspended: !vs.active,
                    real_servers: vs
                        .reals
                        .iter()
                        .map(|r| RealServerStatus {
                            server: r.conf.label.clone(),
                            alive: r.alive(),
                            weight: r.conf.weight,
                            effective_weight: r.health.weight(),
                            checkers: r.conf.checks.len(),
                            ipvs_weight: d
                                .dests
                                .iter()
                                .find(|x| x.addr == r.conf.addr)
                                .map(|x| x.weight),
                            counters: None,
                        })
                        .collect(),
                }
            })
            .collect()
    }
}

/// The virtual servers as text for `keeld status`.
pub fn render(vss: &[VirtualServerStatus]) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    for v in vss {
        let _ = writeln!(
            o,
            "{} {}{} quorum {}{}{}{}  transitions {}",
            v.service,
            v.scheduler,
            v.persistence_s
                .map(|p| format!(" persistent {p}s"))
                .unwrap_or_default(),
            if v.quorum_up { "up" } else { "LOST" },
            if v.sorry_active {
                " (sorry server)"
            } else {
                ""
            },
            if v.programmed {
                ""
            } else {
                "  NOT PROGRAMMED (no IPVS)"
            },
            if v.suspended {
                "  CHECKS SUSPENDED (ha_suspend)"
            } else {
                ""
            },
            v.transitions
        );
        for r in &v.real_servers {
            let _ = writeln!(
                o,
                "    {}  {:<4}  weight {}/{}  ipvs {}",
                r.server,
                if r.alive { "UP" } else { "DOWN" },
                r.effective_weight,
                r.weight,
                r.ipvs_weight.map_or("-".to_owned(), |w| w.to_string())
            );
            if let Some(c) = r.counters {
                let _ = writeln!(
                    o,
                    "        conns {}  active {}  inactive {}  in_pkts {}",
                    c.conns, c.active, c.inactive, c.in_pkts
                );
            }
        }
    }
    o
}

// ------------------------------------------------------------ sync daemon

/// One action on the kernel's connection sync daemons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncOp {
    /// Stop the master or the backup daemon.
    Stop(keel_ipvs::SyncState),
    /// Start this daemon.
    Start(keel_ipvs::SyncDaemon),
}

/// `lvs_sync_daemon` following its VRRP instance, like keepalived's VRRP process
/// (`vrrp_state_become_master` / `vrrp_state_leave_master`, `reload_vrrp_thread`):
/// the instance becomes MASTER → stop the backup daemon, start the master one; it
/// leaves MASTER (BACKUP or FAULT) → stop master, start backup; it starts in BACKUP
/// or FAULT → start backup. INIT (shutdown, removal) changes nothing. Without an
/// instance (`lvs_sync_daemon IFACE`), the master and the backup daemon run
/// together from start to shutdown, sync id 0 unless given, like keepalived's
/// checker process (`start_check`, `IPVS_MASTER_BACKUP`). A reload that changes the
/// daemon's parameters (interface, instance, id, maxlen, port, ttl, group)
/// restarts it; shutdown stops what runs. No I/O: returns [`SyncOp`]s.
#[derive(Debug, Default)]
pub struct SyncCtl {
    /// The configured daemon (role ignored) and the instance that drives it.
    conf: Option<(keel_ipvs::SyncDaemon, Option<String>)>,
    /// Last MASTER/BACKUP/FAULT state reported per instance.
    states: HashMap<String, State>,
    /// What runs (as started by us).
    running: Vec<keel_ipvs::SyncDaemon>,
}

impl SyncCtl {
    /// Take the `lvs_sync_daemon` line of a configuration (`None` when absent).
    /// The sync id defaults to the instance's virtual_router_id, as in keepalived.
    pub fn configure(&mut self, cfg: &conf::Config) -> Vec<SyncOp> {
        self.conf = cfg.global.lvs_sync_daemon.as_ref().map(|s| {
            let id = s.id.map(u32::from).unwrap_or_else(|| {
                cfg.vrrp_instances
                    .iter()
                    .find(|i| s.vrrp_instance.as_ref() == Some(&i.name))
                    .map_or(0, |i| u32::from(i.virtual_router_id))
            });
            let mut d = keel_ipvs::SyncDaemon::new(keel_ipvs::SyncState::Backup, &s.interface, id);
            d.max_len = s.maxlen;
            d.port = s.port;
            d.ttl = s.ttl;
            d.group = s.group;
            (d, s.vrrp_instance.clone())
        });
        self.converge()
    }

    /// An instance changed state.
    pub fn vrrp_state(&mut self, instance: &str, state: State) -> Vec<SyncOp> {
        if state == State::Initialize {
            return Vec::new();
        }
        self.states.insert(instance.to_owned(), state);
        self.converge()
    }

    /// Stop what runs.
    pub fn shutdown(&mut self) -> Vec<SyncOp> {
        std::mem::take(&mut self.running)
            .into_iter()
            .map(|r| SyncOp::Stop(r.state))
            .collect()
    }

    /// Record that starting the `state` daemon failed (it does not run).
    pub fn start_failed(&mut self, state: keel_ipvs::SyncState) {
        self.running.retain(|r| r.state != state);
    }

    /// The daemons that should run now.
    fn wanted(&self) -> Vec<keel_ipvs::SyncDaemon> {
        let Some((d, inst)) = self.conf.as_ref() else {
            return Vec::new();
        };
        let roles = match inst.as_ref().map(|i| self.states.get(i)) {
            None => vec![keel_ipvs::SyncState::Master, keel_ipvs::SyncState::Backup],
            Some(Some(State::Master)) => vec![keel_ipvs::SyncState::Master],
            Some(Some(State::Backup | State::Fault)) => vec![keel_ipvs::SyncState::Backup],
            Some(Some(State::Initialize) | None) => Vec::new(),
        };
        roles
            .into_iter()
            .map(|state| keel_ipvs::SyncDaemon { state, ..d.clone() })
            .collect()
    }

    fn converge(&mut self) -> Vec<SyncOp> {
        let want = self.wanted();
        if want == self.running {
            return Vec::new();
        }
        let mut ops: Vec<SyncOp> = self.shutdown();
        ops.extend(want.iter().cloned().map(SyncOp::Start));
        self.running = want;
        ops
    }
}

// ------------------------------------------------------------------ the task

enum Cmd {
    Reload(Box<conf::Config>),
    VrrpState(String, State),
    Shutdown(oneshot::Sender<()>),
}

struct Handle {
    tx: mpsc::UnboundedSender<Cmd>,
    snapshot: Arc<Mutex<Vec<VirtualServerStatus>>>,
}

static HANDLE: OnceLock<Handle> = OnceLock::new();
static CHECKERS: AtomicBool = AtomicBool::new(true);
static VRRP: AtomicBool = AtomicBool::new(true);
/// Every instance's last state, kept before the task starts (VRRP instances
/// start before the director) and handed to it at start.
static STATES: Mutex<Vec<(String, State)>> = Mutex::new(Vec::new());

/// Which halves run: `checkers` (virtual servers, keepalived's checker process; off
/// with `-P`) and `vrrp` (the VRRP-driven sync daemon, keepalived's VRRP process;
/// off with `-C`). Call before [`start`].
pub fn set_roles(checkers: bool, vrrp: bool) {
    CHECKERS.store(checkers, Ordering::Relaxed);
    VRRP.store(vrrp, Ordering::Relaxed);
}

/// The part of a configuration the director acts on under the current roles.
fn view(cfg: &conf::Config) -> conf::Config {
    view_for(
        cfg,
        CHECKERS.load(Ordering::Relaxed),
        VRRP.load(Ordering::Relaxed),
    )
}

/// Without the checkers (`-P`): no virtual server, no `lvs_flush`, no sync daemon
/// without an instance. Without VRRP (`-C`): no sync daemon tied to an instance
/// (keepalived's VRRP process drives that one).
fn view_for(cfg: &conf::Config, checkers: bool, vrrp: bool) -> conf::Config {
    let mut c = cfg.clone();
    if !checkers {
        c.virtual_servers.clear();
        c.virtual_server_groups.clear();
        c.global.lvs_flush = false;
    }
    // keepalived: the VRRP process runs a sync daemon tied to an instance, the
    // checker process one without (master and backup together).
    let tied = c
        .global
        .lvs_sync_daemon
        .as_ref()
        .is_some_and(|s| s.vrrp_instance.is_some());
    if (tied && !vrrp) || (!tied && !checkers) {
        c.global.lvs_sync_daemon = None;
    }
    c
}

/// Start the director task (once) when the configuration has virtual servers or an
/// `lvs_sync_daemon`. Must be called from within the daemon's tokio runtime.
pub fn start(cfg: &conf::Config) {
    let cfg = view(cfg);
    if (cfg.virtual_servers.is_empty() && cfg.global.lvs_sync_daemon.is_none())
        || HANDLE.get().is_some()
    {
        return;
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let snapshot = Arc::new(Mutex::new(Vec::new()));
    if HANDLE
        .set(Handle {
            tx,
            snapshot: snapshot.clone(),
        })
        .is_err()
    {
        return;
    }
    tokio::spawn(run(cfg, rx, snapshot));
}

/// SIGHUP: hand the new configuration to the director (starts it if the old one had
/// nothing for it).
pub fn reload(cfg: &conf::Config) {
    match HANDLE.get() {
        Some(h) => {
            let _ = h.tx.send(Cmd::Reload(Box::new(view(cfg))));
        }
        None => start(cfg),
    }
}

/// A VRRP instance changed state (drives `lvs_sync_daemon`). Cheap; call on every
/// state change, before or after [`start`].
pub fn vrrp_state(instance: &str, state: State) {
    if let Ok(mut v) = STATES.lock() {
        match v.iter_mut().find(|(n, _)| n == instance) {
            Some(e) => e.1 = state,
            None => v.push((instance.to_owned(), state)),
        }
    }
    if let Some(h) = HANDLE.get() {
        let _ = h.tx.send(Cmd::VrrpState(instance.to_owned(), state));
    }
}

/// Stop the checks, remove what keel added to IPVS and stop the sync daemon.
pub async fn shutdown() {
    let Some(h) = HANDLE.get() else { return };
    let (t, r) = oneshot::channel();
    if h.tx.send(Cmd::Shutdown(t)).is_ok() {
        let _ = tokio::time::timeout(Duration::from_secs(5), r).await;
    }
}

/// The virtual servers' status (empty without virtual servers).
pub fn status() -> Vec<VirtualServerStatus> {
    HANDLE
        .get()
        .and_then(|h| h.snapshot.lock().ok().map(|s| s.clone()))
        .unwrap_or_default()
}

fn run_notes(notes: Vec<Note>) {
    for n in notes {
        match n {
            Note::Log(l) => info!(target: "check", "{l}"),
            Note::Script(s) => {
                let Ok(cmd) = keel_script::Line::parse(&s.command) else {
                    warn!("cannot parse script {:?}", s.command);
                    continue;
                };
                // Its own user, else keepalived_script when it exists (load refused
                // unknown users: script::user_diagnostics).
                let run_as = match &s.user {
                    Some(u) => keel_script::User::lookup(&u.user, u.group.as_deref()).map(Some),
                    None => {
                        keel_script::DefaultUser::resolve(None, false).map(|d| d.user().cloned())
                    }
                };
                let run_as = match run_as {
                    Ok(u) => u,
                    Err(e) => {
                        warn!("script {:?} not run: {e}", s.command);
                        continue;
                    }
                };
                tokio::spawn(async move {
                    let spec = keel_script::Spec::new(cmd, run_as, Duration::from_secs(10));
                    let out = keel_script::run(&spec, &[]).await;
                    if !out.ok() {
                        warn!("script {:?} failed: {out}", s.command);
                    }
                });
            }
        }
    }
}

struct Io {
    ipvs: Option<keel_ipvs::Ipvs>,
    syncd: SyncCtl,
}

fn role(s: keel_ipvs::SyncState) -> &'static str {
    match s {
        keel_ipvs::SyncState::Master => "master",
        keel_ipvs::SyncState::Backup => "backup",
    }
}

impl Io {
    fn reconcile(&mut self, d: &Director) {
        let Some(ipvs) = self.ipvs.as_mut() else {
            return;
        };
        let opts = reconcile::Options {
            owned: d.owned.clone(),
            all: false,
        };
        match ipvs.reconcile(&d.desired(), &opts, false) {
            Ok(p) if !p.is_empty() => {
                for l in p.to_string().lines() {
                    info!(target: "check", "{l}");
                }
            }
            Ok(_) => {}
            Err(e) => error!("IPVS reconcile failed: {e}"),
        }
    }

    /// Carry out the sync daemon's start/stop operations.
    fn sync(&mut self, ops: Vec<SyncOp>) {
        let Some(ipvs) = self.ipvs.as_mut() else {
            return;
        };
        for op in ops {
            match op {
                SyncOp::Stop(st) => match ipvs.stop_sync_daemon(st) {
                    Ok(()) => info!("Stopped the IPVS {} sync daemon", role(st)),
                    Err(e) => warn!("cannot stop the IPVS {} sync daemon: {e}", role(st)),
                },
                SyncOp::Start(d) => {
                    let mut r = ipvs.start_sync_daemon(&d);
                    // EEXIST / EBUSY: one is left from an earlier run (keeld killed,
                    // or started by hand): replace it.
                    let errno = r.as_ref().err().and_then(keel_ipvs::Error::errno);
                    if errno == Some(keel_ipvs::Errno::EEXIST)
                        || errno == Some(keel_ipvs::Errno::EBUSY)
                    {
                        warn!(
                            "an IPVS {} sync daemon was already running: restarting it",
                            role(d.state)
                        );
                        let _ = ipvs.stop_sync_daemon(d.state);
                        r = ipvs.start_sync_daemon(&d);
                    }
                    match r {
                        Ok(()) => info!(
                            "Started the IPVS {} sync daemon on {} (syncid {})",
                            role(d.state),
                            d.interface,
                            d.sync_id
                        ),
                        Err(e) => {
                            self.syncd.start_failed(d.state);
                            error!(
                                "cannot start the IPVS {} sync daemon on {}: {e}",
                                role(d.state),
                                d.interface
                            );
                        }
                    }
                }
            }
        }
    }
}

/// Merge the kernel's per-destination counters into the status.
fn add_counters(
    st: &mut [VirtualServerStatus],
    d: &Director,
    list: &[(keel_ipvs::ServiceEntry, Vec<keel_ipvs::DestEntry>)],
) {
    for (vs, s) in d.vss.iter().zip(st.iter_mut()) {
        // A group's members: the sum over its services.
        let entries: Vec<&keel_ipvs::DestEntry> = list
            .iter()
            .filter(|(e, _)| vs.conf.keys.contains(&e.service.key))
            .flat_map(|(_, dests)| dests.iter())
            .collect();
        if entries.is_empty() {
            continue;
        }
        for (r, rs) in vs.reals.iter().zip(s.real_servers.iter_mut()) {
            rs.counters = entries
                .iter()
                .filter(|e| e.dest.addr == r.conf.addr)
                .map(|e| DestCounters {
                    conns: e.stats.conns,
                    active: e.active_conns,
                    inactive: e.inactive_conns,
                    in_pkts: e.stats.in_pkts,
                })
                .reduce(|a, b| DestCounters {
                    conns: a.conns.saturating_add(b.conns),
                    active: a.active.saturating_add(b.active),
                    inactive: a.inactive.saturating_add(b.inactive),
                    in_pkts: a.in_pkts.saturating_add(b.in_pkts),
                });
        }
    }
}

/// `ha_suspend`: the host's addresses (one rtnetlink dump), handed to the director;
/// the checks are re-synced when a virtual server was activated or suspended.
fn ha_poll(d: &mut Director, nl: &mut Option<keel_vip::Netlink>, checker: &mut kc::Checker) {
    use keel_vip::VipControl as _;
    if !d.uses_ha_suspend() {
        return;
    }
    if nl.is_none() {
        match keel_vip::Netlink::with_stamp(0) {
            Ok(n) => *nl = Some(n),
            Err(e) => {
                error!("ha_suspend: cannot open rtnetlink: {e}");
                return;
            }
        }
    }
    let Some(n) = nl.as_mut() else { return };
    let local: BTreeSet<IpAddr> = match n.list(None) {
        Ok(v) => v.into_iter().map(|v| v.addr).collect(),
        Err(e) => {
            warn!("ha_suspend: cannot list local addresses: {e}");
            return;
        }
    };
    let notes = d.set_local_addrs(&local);
    if notes.is_empty() {
        return;
    }
    run_notes(notes);
    if let Err(e) = checker.sync(d.checks()) {
        error!("cannot restart the health checks: {e}");
    }
}

async fn run(
    cfg: conf::Config,
    mut rx: mpsc::UnboundedReceiver<Cmd>,
    snapshot: Arc<Mutex<Vec<VirtualServerStatus>>>,
) {
    let mut io = Io {
        ipvs: match keel_ipvs::Ipvs::new() {
            Ok(i) => Some(i),
            Err(e) => {
                let what = if cfg.virtual_servers.is_empty() {
                    "lvs_sync_daemon is not started"
                } else {
                    "virtual_server blocks are not programmed"
                };
                error!("{e}; {what}");
                None
            }
        },
        syncd: SyncCtl::default(),
    };
    if let (true, Some(ipvs)) = (cfg.global.lvs_flush, io.ipvs.as_mut()) {
        match ipvs.flush() {
            Ok(()) => info!("Flushed the IPVS table (lvs_flush)"),
            Err(e) => error!("lvs_flush: {e}"),
        }
    }
    // The states reported before the task ran, then the configured daemon.
    let early = STATES.lock().map(|v| v.clone()).unwrap_or_default();
    for (name, st) in early {
        io.syncd.vrrp_state(&name, st);
    }
    let ops = io.syncd.configure(&cfg);
    io.sync(ops);
    let (etx, mut erx) = mpsc::channel(1024);
    let mut checker = kc::Checker::new(etx, kc::CheckerOptions::default());
    let mut d = Director::default();
    let notes = d.configure(&cfg);
    run_notes(notes);
    io.reconcile(&d);
    let mut nl = None;
    ha_poll(&mut d, &mut nl, &mut checker);
    if let Err(e) = checker.sync(d.checks()) {
        error!("cannot start the health checks: {e}");
    }
    let publish = |d: &Director, io: &mut Io| {
        let mut st = d.status(io.ipvs.is_some());
        if let Some(Ok(list)) = io.ipvs.as_mut().map(|i| i.list()) {
            add_counters(&mut st, d, &list);
        }
        if let Ok(mut s) = snapshot.lock() {
            *s = st;
        }
    };
    publish(&d, &mut io);
    let mut refresh = tokio::time::interval(Duration::from_secs(2));
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // ha_suspend: the addresses are read again every second and at every VRRP
    // state change (the VIPs are on or off by the time the change reaches us).
    let mut addr_tick = tokio::time::interval(Duration::from_secs(1));
    addr_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = refresh.tick(), if io.ipvs.is_some() && !d.vss.is_empty() => publish(&d, &mut io),
            _ = addr_tick.tick(), if d.uses_ha_suspend() => {
                ha_poll(&mut d, &mut nl, &mut checker);
            }
            Some(ev) = erx.recv() => {
                let before = d.desired();
                run_notes(d.handle(&ev));
                // Drain what is already queued before touching the kernel.
                while let Ok(ev) = erx.try_recv() {
                    run_notes(d.handle(&ev));
                }
                if d.desired() != before {
                    io.reconcile(&d);
                }
                publish(&d, &mut io);
            }
            cmd = rx.recv() => match cmd {
                Some(Cmd::Reload(cfg)) => {
                    let notes = d.configure(&cfg);
                    run_notes(notes);
                    io.reconcile(&d);
                    d.owned = d.desired().iter().map(|v| v.service.key).collect();
                    let ops = io.syncd.configure(&cfg);
                    io.sync(ops);
                    ha_poll(&mut d, &mut nl, &mut checker);
                    match checker.sync(d.checks()) {
                        Ok(s) if s.added.is_empty() && s.replaced.is_empty() && s.removed.is_empty() && s.unchanged.is_empty() => {}
                        Ok(s) => info!(
                            "Health checks reloaded: {} added, {} changed, {} removed, {} unchanged",
                            s.added.len(), s.replaced.len(), s.removed.len(), s.unchanged.len()
                        ),
                        Err(e) => error!("cannot reload the health checks: {e}"),
                    }
                    publish(&d, &mut io);
                }
                Some(Cmd::VrrpState(name, st)) => {
                    let ops = io.syncd.vrrp_state(&name, st);
                    io.sync(ops);
                    ha_poll(&mut d, &mut nl, &mut checker);
                }
                Some(Cmd::Shutdown(done)) => {
                    run_notes(d.shutdown_notes());
                    checker.shutdown().await;
                    if let (Some(ipvs), false) = (io.ipvs.as_mut(), d.owned.is_empty()) {
                        let opts = reconcile::Options { owned: d.owned.clone(), all: false };
                        match ipvs.reconcile(&[], &opts, false) {
                            Ok(p) => info!("Removed {} IPVS service(s) keel added", p.ops.len()),
                            Err(e) => error!("cannot remove keel's IPVS services: {e}"),
                        }
                    }
                    let ops = io.syncd.shutdown();
                    io.sync(ops);
                    let _ = done.send(());
                    return;
                }
                None => return,
            },
        }
    }
}

pub mod only;

/// `lvs_method TUN type ipip|gue|gre [port P] [csum|remcsum]` as IPVS's tunnel forward.
fn tunnel(t: &conf::Tunnel) -> Forward {
    Forward::Tunnel {
        kind: match t.kind {
            conf::TunnelKind::Gue => keel_ipvs::TunnelType::Gue,
            conf::TunnelKind::Gre => keel_ipvs::TunnelType::Gre,
            _ => keel_ipvs::TunnelType::Ipip,
        },
        port: t.port,
        flags: match t.checksum {
            conf::TunnelChecksum::Csum => keel_ipvs::TunnelFlags::CSUM,
            conf::TunnelChecksum::Remote => keel_ipvs::TunnelFlags::REMCSUM,
            _ => keel_ipvs::TunnelFlags::NOCSUM,
        },
    }
}

#[cfg(test)]
mod tests;
