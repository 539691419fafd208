//! The per-instance VRRP state machine.

use crate::action::{Action, Dest, LogEvent, LogKind, Notify, NotifyState, Reason};
use crate::advert::{Advert, AdvertAuth};
use crate::config::{AuthConfig, ConfigError, InstanceConfig, TrackId, Version};
use crate::counters::{Counters, NewMasterReason, RxError};
use crate::time::Instant;
use crate::timing;
use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::Arc;

/// A master repeats its gratuitous burst for a lower-priority master at most
/// this often.
const REANNOUNCE_HOLD: std::time::Duration = std::time::Duration::from_secs(1);

/// VRRP states (RFC 5798 §6.4) plus keepalived's Fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Not running (before `Startup`, after `Shutdown`).
    Initialize,
    /// Listening to a master; Master_Down_Timer armed.
    Backup,
    /// Owning the VIPs and advertising.
    Master,
    /// keepalived's FAULT: interface down, a weight-0 tracker down, or the sync group is faulty.
    Fault,
}

impl State {
    /// keepalived's upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Initialize => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        }
    }
}

/// An input event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Start the instance (RFC 5798 §6.4.1 Startup event).
    Startup,
    /// Stop it gracefully: a Master sends a priority-0 advert and removes its VIPs.
    Shutdown,
    /// An advert arrived from `src` (the IP source address of the packet).
    Advert {
        /// Sender's primary address.
        src: IpAddr,
        /// The advert.
        advert: Advert,
    },
    /// The time given to `handle` reached `poll_timeout()`.
    Timeout,
    /// The instance's interface came up.
    LinkUp,
    /// The instance's interface went down (→ Fault).
    LinkDown,
    /// A tracked object changed status.
    TrackChanged {
        /// Which.
        id: TrackId,
        /// New status.
        up: bool,
    },
    /// A tracked object's weight changed (keepalived `misc_dynamic`, dynamic track_script weights).
    TrackWeight {
        /// Which.
        id: TrackId,
        /// New weight.
        weight: i32,
    },
    /// Reload with a new configuration; state is kept when the router is the same.
    Reload(Box<InstanceConfig>),
    /// A receive error found before the machine (checksum, TTL, ...): counted only.
    RxError(RxError),
    /// Sync group: go to Master now (only acts in Backup).
    SyncMaster,
    /// Sync group: go to Backup now (only acts in Master).
    SyncBackup,
    /// Sync group: another member is (`true`) or is no longer (`false`) in Fault.
    SyncFault(bool),
    /// Sync group: this instance is (`true`) or is no longer a member of a
    /// group. A member whose Master_Down_Timer expires does not go Master on
    /// its own: it only "wants" Master ([`Instance::wants_master`]) and the
    /// group moves when every member wants it (keepalived: "prefer backup
    /// state to avoid thrashing"). [`crate::SyncGroup`] sends this itself.
    SyncGrouped(bool),
    /// Make-before-break switchover (keel extension, not in keepalived). A
    /// Master sends the RFC's priority-0 advert but KEEPS its VIPs and keeps
    /// serving, sending no further adverts, until it hears the first advert of
    /// a new master (any priority above 0), or until the longest
    /// Master_Down_Interval any backup can have (that of priority 1) passes
    /// with none; then it removes its VIPs and enters Backup with
    /// [`Reason::Handover`]. While handing over, [`Instance::handing_over`] is
    /// true. A Backup given `Handover` just stays where it is.
    ///
    /// Either way the instance is then *held* ([`Instance::held`]): it
    /// follows whatever master it hears as if `nopreempt` were set, so it
    /// does not preempt back. The hold ends with [`Input::Resume`] (the
    /// operator), with a restart of the instance (`Shutdown` then `Startup`,
    /// or a `Reload` that changes the router), or when the instance becomes
    /// Master again because the new master went silent (Master_Down_Timer:
    /// a held backup still protects against failure).
    Handover,
    /// End the hold left by [`Input::Handover`]: preemption applies again.
    Resume,
}

#[derive(Clone, Copy, Debug, Default)]
struct Timers {
    master_down: Option<Instant>,
    adver: Option<Instant>,
    garp_delay: Option<Instant>,
    garp_refresh: Option<Instant>,
    /// Deadline of a make-before-break handover (set only while Master).
    handover: Option<Instant>,
}

/// One VRRP instance (one virtual router on one interface). Sans-IO: feed it
/// inputs with [`Instance::handle`], drain [`Instance::poll_action`], and call
/// `handle(now, Input::Timeout)` once `now >= poll_timeout()`.
#[derive(Clone, Debug)]
pub struct Instance {
    cfg: InstanceConfig,
    name: Arc<str>,
    state: State,
    link_up: bool,
    track_up: Vec<bool>,
    group_fault: bool,
    grouped: bool,
    wants_master: bool,
    effective: u8,
    master_adver_int_cs: u16,
    master_addr: Option<IpAddr>,
    master_priority: u8,
    /// No second re-announce burst for a lower-priority master before this.
    reannounce_after: Option<Instant>,
    preempt_time: Option<Instant>,
    /// A lower-priority advert was discarded since the last accepted one.
    preempting: bool,
    /// Handed over: behave as nopreempt until `Resume` or a restart.
    held: bool,
    /// When a Master last answered a priority-0 or lower-priority advert
    /// (replies and their log lines are limited to one per interval).
    answered: Option<Instant>,
    timers: Timers,
    actions: VecDeque<Action>,
    counters: Counters,
}

impl Instance {
    /// A new instance in Initialize. The configuration is [normalized](InstanceConfig::normalized)
    /// first, so this never fails; use [`Instance::try_new`] to reject bad values instead.
    pub fn new(cfg: InstanceConfig) -> Self {
        let cfg = cfg.normalized();
        let name: Arc<str> = Arc::from(cfg.name.as_str());
        let track_up = cfg.tracks.iter().map(|t| t.initially_up).collect();
        let mut inst = Instance {
            master_adver_int_cs: cfg.adver_int_cs,
            cfg,
            name,
            state: State::Initialize,
            link_up: true,
            track_up,
            group_fault: false,
            grouped: false,
            wants_master: false,
            effective: 0,
            master_addr: None,
            master_priority: 0,
            reannounce_after: None,
            preempt_time: None,
            preempting: false,
            held: false,
            answered: None,
            timers: Timers::default(),
            actions: VecDeque::new(),
            counters: Counters::default(),
        };
        inst.effective = inst.compute_effective();
        inst
    }

    /// Like [`Instance::new`] but rejects invalid configurations.
    pub fn try_new(cfg: InstanceConfig) -> Result<Self, ConfigError> {
        cfg.validate()?;
        Ok(Instance::new(cfg))
    }

    /// The configuration in force (normalized).
    pub fn config(&self) -> &InstanceConfig {
        &self.cfg
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Base priority adjusted by tracker weights, clamped to 1..=254 (255 for the owner).
    pub fn effective_priority(&self) -> u8 {
        self.effective
    }

    /// Statistics.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The current master: ourselves when Master, the last accepted advert's
    /// sender when Backup, otherwise `None`.
    pub fn master_addr(&self) -> Option<IpAddr> {
        match self.state {
            State::Master => Some(self.cfg.primary_addr),
            State::Backup => self.master_addr,
            _ => None,
        }
    }

    /// The master's advertisement interval we currently use (v3 learns it from the master).
    pub fn master_adver_int_cs(&self) -> u16 {
        self.master_adver_int_cs
    }

    /// A sync-group member in Backup whose down timer expired and that waits
    /// for the rest of its group to want Master too.
    pub fn wants_master(&self) -> bool {
        self.wants_master && self.state == State::Backup
    }

    /// A Master that is handing over ([`Input::Handover`]): it sent priority 0,
    /// still holds its VIPs and waits for the new master's advert.
    pub fn handing_over(&self) -> bool {
        self.state == State::Master && self.timers.handover.is_some()
    }

    /// Held after a handover: follows any master without preempting, until
    /// [`Input::Resume`] or a restart.
    pub fn held(&self) -> bool {
        self.held
    }

    /// Whether the sync group currently holds this member in Fault.
    pub fn sync_fault_flag(&self) -> bool {
        self.group_fault
    }

    /// True when a fault condition of this instance itself holds (link down or
    /// a weight-0 tracker down), not counting sync-group faults.
    pub fn own_fault(&self) -> bool {
        !self.link_up
            || self
                .cfg
                .tracks
                .iter()
                .zip(&self.track_up)
                .any(|(t, up)| t.weight == 0 && !up)
    }

    /// The next action, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        let a = self.actions.pop_front();
        if a.is_none() && self.actions.capacity() > 0 {
            // Drained: free the queue. An idle instance then holds no buffer
            // (a transition's dozen actions would otherwise stay allocated
            // for the instance's life, over 1 KiB; it adds up at 5,000
            // instances), for one small allocation per busy turn.
            self.actions = VecDeque::new();
        }
        a
    }

    /// The earliest deadline, if any: call `handle(t, Input::Timeout)` at that time.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let t = &self.timers;
        [
            t.master_down,
            t.adver,
            t.garp_delay,
            t.garp_refresh,
            t.handover,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Process one input at time `now`.
    pub fn handle(&mut self, now: Instant, input: Input) {
        match input {
            Input::Startup => self.startup(now),
            Input::Shutdown => self.shutdown(),
            Input::Advert { src, advert } => self.receive(now, src, &advert),
            Input::Timeout => self.timeout(now),
            Input::LinkUp => {
                self.link_up = true;
                self.reevaluate(now);
            }
            Input::LinkDown => {
                self.link_up = false;
                self.reevaluate(now);
            }
            Input::TrackChanged { id, up } => {
                for (t, u) in self.cfg.tracks.iter().zip(self.track_up.iter_mut()) {
                    if t.id == id {
                        *u = up;
                    }
                }
                self.reevaluate(now);
            }
            Input::TrackWeight { id, weight } => {
                for t in self.cfg.tracks.iter_mut().filter(|t| t.id == id) {
                    t.weight = weight;
                }
                self.reevaluate(now);
            }
            Input::Reload(cfg) => self.reload(now, *cfg),
            Input::RxError(e) => {
                let c = &mut self.counters;
                match e {
                    RxError::Checksum => c.checksum_errors += 1,
                    RxError::Ttl => c.ttl_errors += 1,
                    RxError::Version => c.version_errors += 1,
                    RxError::PacketLength => c.packet_length_errors += 1,
                    RxError::InvalidType => c.invalid_type += 1,
                    RxError::Interval => c.interval_errors += 1,
                }
            }
            Input::SyncMaster => {
                if self.state == State::Backup {
                    self.become_master(now, Reason::SyncGroup);
                }
            }
            Input::SyncBackup => {
                if self.state == State::Master {
                    self.enter_backup(now, Reason::SyncGroup);
                }
            }
            Input::SyncGrouped(g) => {
                self.grouped = g;
                if !g {
                    self.wants_master = false;
                }
            }
            Input::SyncFault(f) => {
                self.group_fault = f;
                self.reevaluate(now);
            }
            Input::Handover => self.handover(now),
            Input::Resume => self.held = false,
        }
    }

    // ---- helpers -------------------------------------------------------

    fn log(&mut self, kind: LogKind) {
        self.actions.push_back(Action::Log(LogEvent {
            instance: self.name.clone(),
            kind,
        }));
    }

    fn notify(&mut self, state: NotifyState) {
        self.actions.push_back(Action::Notify(Notify {
            instance: self.name.clone(),
            state,
            priority: self.effective,
        }));
    }

    fn set_state(&mut self, to: State, reason: Reason) {
        let from = self.state;
        self.state = to;
        self.actions
            .push_back(Action::StateChanged { from, to, reason });
    }

    fn compute_effective(&self) -> u8 {
        let base = self.cfg.base_priority;
        if base == 255 {
            return 255;
        }
        let mut p = i64::from(base);
        for (t, up) in self.cfg.tracks.iter().zip(&self.track_up) {
            if (t.weight > 0 && *up) || (t.weight < 0 && !*up) {
                p += i64::from(t.weight);
            }
        }
        // Clamped to 1..=254, so the cast cannot truncate.
        p.clamp(1, 254) as u8
    }

    fn fault(&self) -> bool {
        self.own_fault() || self.group_fault
    }

    fn send_advert(&mut self, priority: u8) {
        let n = if self.cfg.unicast_peers.is_empty() {
            self.actions.push_back(Action::SendAdvert {
                priority,
                dst: Dest::Multicast,
            });
            1
        } else {
            for i in 0..self.cfg.unicast_peers.len() {
                let peer = self.cfg.unicast_peers[i];
                self.actions.push_back(Action::SendAdvert {
                    priority,
                    dst: Dest::Unicast(peer),
                });
            }
            self.cfg.unicast_peers.len() as u64
        };
        self.counters.adverts_tx += n;
        if priority == 0 {
            self.counters.priority_zero_tx += n;
        }
    }

    fn master_down_interval(&self) -> std::time::Duration {
        timing::master_down_interval(self.cfg.version, self.effective, self.master_adver_int_cs)
    }

    fn cancel_master_timers(&mut self) {
        self.timers.adver = None;
        self.timers.garp_delay = None;
        self.timers.garp_refresh = None;
        self.timers.handover = None;
    }

    /// Leave Master the graceful way: priority-0 advert, VIPs removed.
    fn resign(&mut self) {
        self.send_advert(0);
        self.log(LogKind::SentZeroPriority);
        self.log(LogKind::RemovingVips);
        self.actions.push_back(Action::RemoveVips);
        self.cancel_master_timers();
    }

    // ---- transitions ----------------------------------------------------

    fn handover(&mut self, now: Instant) {
        match self.state {
            State::Master if self.timers.handover.is_none() => {
                self.send_advert(0);
                self.log(LogKind::SentZeroPriority);
                self.log(LogKind::HandingOver);
                // No more adverts (they would reset the new master's down
                // timer) and no more gratuitous bursts; the VIPs stay.
                self.cancel_master_timers();
                // The longest Master_Down_Interval any backup can have
                // (priority 1): a backup that missed our priority-0 advert
                // still takes over before we let go.
                self.timers.handover = Some(
                    now + timing::master_down_interval(self.cfg.version, 1, self.cfg.adver_int_cs),
                );
                self.held = true;
            }
            State::Backup => self.held = true,
            _ => {}
        }
    }

    /// The handover ends: the new master spoke (or never did in time).
    fn handover_done(&mut self, now: Instant) {
        self.timers.handover = None;
        self.enter_backup(now, Reason::Handover);
        self.held = true;
    }

    fn startup(&mut self, now: Instant) {
        if self.state != State::Initialize {
            return;
        }
        self.effective = self.compute_effective();
        self.preempt_time = None;
        self.held = false;
        if self.fault() {
            self.enter_fault(Reason::Startup);
        } else if self.effective == 255 {
            self.become_master(now, Reason::Startup);
        } else {
            self.enter_backup(now, Reason::Startup);
        }
    }

    fn shutdown(&mut self) {
        match self.state {
            State::Initialize => return,
            State::Master => self.resign(),
            State::Backup | State::Fault => {}
        }
        self.timers = Timers::default();
        self.master_addr = None;
        self.preempt_time = None;
        self.set_state(State::Initialize, Reason::Shutdown);
        self.notify(NotifyState::Stop);
    }

    fn become_master(&mut self, now: Instant, reason: Reason) {
        let from = self.state;
        // keepalived: "If we are transitioning to master the old master needs to
        // remove the VIPs before we send the gratuitous ARPs, so send the advert first."
        self.send_advert(self.effective);
        self.set_state(State::Master, reason);
        self.log(LogKind::EnteringMaster);
        self.log(LogKind::SettingVips);
        self.actions.push_back(Action::AddVips);
        self.actions.push_back(Action::SendGratuitous {
            repeat: self.cfg.garp_repeat,
            delay: self.cfg.garp_interval,
        });
        self.timers.master_down = None;
        self.timers.adver = Some(now + timing::adver_interval(self.cfg.adver_int_cs));
        self.timers.garp_delay = self
            .cfg
            .garp_master_delay
            .filter(|d| !d.is_zero())
            .map(|d| now + d);
        self.timers.garp_refresh = self
            .cfg
            .garp_refresh
            .filter(|d| !d.is_zero())
            .map(|d| now + d);
        self.preempt_time = None;
        self.master_addr = Some(self.cfg.primary_addr);
        self.counters.master_transitions += 1;
        self.counters.new_master_reason = match (from, reason) {
            (State::Initialize, _) | (State::Fault, _) if self.effective == 255 => {
                NewMasterReason::Priority
            }
            _ if self.preempting => NewMasterReason::Preempted,
            _ => NewMasterReason::MasterNoResponse,
        };
        self.preempting = false;
        self.wants_master = false;
        self.held = false;
        self.notify(NotifyState::Master);
    }

    fn enter_backup(&mut self, now: Instant, reason: Reason) {
        let from = self.state;
        if from == State::Master {
            self.cancel_master_timers();
        }
        self.set_state(State::Backup, reason);
        self.log(LogKind::EnteringBackup {
            init: from == State::Initialize,
        });
        if from == State::Master {
            self.log(LogKind::RemovingVips);
            self.actions.push_back(Action::RemoveVips);
        }
        if from != State::Master {
            // Startup / fault recovery: our own interval until a master tells us otherwise.
            self.master_adver_int_cs = self.cfg.adver_int_cs;
            self.master_addr = None;
        }
        if from == State::Initialize && !self.cfg.preempt_delay.is_zero() {
            // keepalived: "Seconds after startup or seeing a lower priority master until preemption".
            self.preempt_time = Some(now + self.cfg.preempt_delay);
        }
        self.preempting = false;
        self.wants_master = false;
        self.timers.master_down = Some(now + self.master_down_interval());
        self.notify(NotifyState::Backup);
    }

    fn enter_fault(&mut self, reason: Reason) {
        let from = self.state;
        self.set_state(State::Fault, reason);
        self.log(LogKind::EnteringFault);
        if from == State::Master {
            // On link down the advert cannot leave; the driver logs/drops it.
            self.resign();
        }
        self.timers = Timers::default();
        self.master_addr = None;
        self.notify(NotifyState::Fault);
    }

    fn reevaluate(&mut self, now: Instant) {
        let new = self.compute_effective();
        if new != self.effective {
            let from = self.effective;
            let old_down = self.master_down_interval();
            self.effective = new;
            if self.state != State::Initialize {
                self.log(LogKind::PriorityChange { from, to: new });
            }
            // keepalived vrrp_set_effective_priority(): a running down timer
            // moves by the change of Skew_Time.
            if self.state == State::Backup
                && let Some(t) = self.timers.master_down
            {
                let new_down = self.master_down_interval();
                self.timers.master_down = Some(if new_down >= old_down {
                    t + (new_down - old_down)
                } else {
                    t - (old_down - new_down)
                });
            }
        }
        match self.state {
            State::Initialize => {}
            State::Fault if !self.fault() => {
                if self.effective == 255 {
                    self.become_master(now, Reason::FaultCleared);
                } else {
                    self.enter_backup(now, Reason::FaultCleared);
                }
            }
            State::Backup | State::Master if self.fault() => self.enter_fault(Reason::Fault),
            _ => {}
        }
    }

    fn timeout(&mut self, now: Instant) {
        if let Some(t) = self.timers.master_down
            && t <= now
            && self.state == State::Backup
            && self.grouped
        {
            // keepalived vrrp_sync_can_goto_master(): wait for the group,
            // re-checking after 3 intervals + the minimum skew.
            if !self.wants_master {
                self.log(LogKind::ReceiveTimeout);
            }
            self.wants_master = true;
            self.timers.master_down = Some(
                now + timing::adver_interval(self.master_adver_int_cs) * 3
                    + timing::skew_time(self.cfg.version, 255, self.master_adver_int_cs),
            );
            return;
        }
        if let Some(t) = self.timers.master_down
            && t <= now
            && self.state == State::Backup
        {
            self.timers.master_down = None;
            self.log(LogKind::ReceiveTimeout);
            self.become_master(now, Reason::MasterDown);
            return;
        }
        if self.state != State::Master {
            return;
        }
        if let Some(t) = self.timers.handover
            && t <= now
        {
            self.handover_done(now);
            return;
        }
        if let Some(t) = self.timers.adver
            && t <= now
        {
            self.send_advert(self.effective);
            let int = timing::adver_interval(self.cfg.adver_int_cs);
            self.timers.adver = Some(next_deadline(t, int, now));
        }
        if let Some(t) = self.timers.garp_delay
            && t <= now
        {
            self.timers.garp_delay = None;
            self.actions.push_back(Action::SendGratuitous {
                repeat: self.cfg.garp_repeat,
                delay: self.cfg.garp_interval,
            });
        }
        if let (Some(t), Some(every)) = (self.timers.garp_refresh, self.cfg.garp_refresh)
            && t <= now
        {
            self.timers.garp_refresh = Some(next_deadline(t, every, now));
            self.actions.push_back(Action::SendGratuitous {
                repeat: self.cfg.garp_refresh_repeat,
                delay: self.cfg.garp_interval,
            });
        }
    }

    /// The receive checks of RFC 3768 §7.1 / RFC 5798 §7.1 that belong to
    /// the machine. Returns false when the advert must be dropped.
    fn accept_checks(&mut self, src: IpAddr, adv: &Advert) -> bool {
        if adv.vrid != self.cfg.vrid {
            self.counters.vrid_errors += 1;
            return false;
        }
        if adv.version != self.cfg.version {
            self.counters.version_errors += 1;
            self.log(LogKind::WrongVersion {
                received: adv.version.number(),
                expected: self.cfg.version.number(),
            });
            return false;
        }
        if src == self.cfg.primary_addr {
            // Our own advert looped back.
            return false;
        }
        if self.cfg.version == Version::V2 {
            let expected = match self.cfg.auth {
                AuthConfig::None => 0,
                AuthConfig::Pass(_) => 1,
            };
            match (adv.auth, self.cfg.auth) {
                (AdvertAuth::Unknown(t), _) => {
                    self.counters.invalid_auth_type += 1;
                    self.log(LogKind::InvalidAuthType(t));
                    return false;
                }
                (AdvertAuth::None, AuthConfig::None) => {}
                (AdvertAuth::Pass(got), AuthConfig::Pass(want)) => {
                    // Constant-time comparison, as keepalived does.
                    let diff = got
                        .iter()
                        .zip(want.iter())
                        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
                    if diff != 0 {
                        self.counters.auth_failures += 1;
                        self.log(LogKind::InvalidPassword { from: src });
                        return false;
                    }
                }
                (got, _) => {
                    let received = match got {
                        AdvertAuth::None => 0,
                        AdvertAuth::Pass(_) => 1,
                        AdvertAuth::Ah => 2,
                        AdvertAuth::Unknown(t) => t,
                    };
                    self.counters.auth_type_mismatch += 1;
                    self.log(LogKind::AuthTypeMismatch { received, expected });
                    return false;
                }
            }
        }
        self.counters.adverts_rx += 1;
        if adv.priority == 0 {
            self.counters.priority_zero_rx += 1;
        }
        if adv.adver_int_cs != self.cfg.adver_int_cs {
            self.counters.interval_errors += 1;
            // v2 logs every dropped advert (keepalived does); v3 only when the
            // interval differs from the one we currently follow, so a master
            // with another interval does not log once per advert.
            let v3 = self.cfg.version == Version::V3;
            if !v3 || adv.adver_int_cs != self.master_adver_int_cs {
                self.log(LogKind::IntervalMismatch {
                    mine_cs: self.cfg.adver_int_cs,
                    received_cs: adv.adver_int_cs,
                    v3,
                });
            }
            if !v3 {
                // RFC 3768 §7.1: MUST discard.
                return false;
            }
        }
        if let Some(problem) = self.addr_list_problem(adv) {
            self.counters.address_list_errors += 1;
            self.log(problem);
            // RFC 3768 §7.1: v2 drops it unless sent by the owner; RFC 5798 only logs.
            if self.cfg.version == Version::V2 && adv.priority != 255 {
                return false;
            }
        }
        true
    }

    fn addr_list_problem(&self, adv: &Advert) -> Option<LogKind> {
        if adv.addrs.len() != self.cfg.vips.len() {
            return Some(LogKind::AddrCountMismatch {
                received: adv.addrs.len(),
                expected: self.cfg.vips.len(),
            });
        }
        self.cfg
            .vips
            .iter()
            .find(|v| !adv.addrs.contains(v))
            .map(|addr| LogKind::AddrMissing {
                vrid: self.cfg.vrid,
                addr: *addr,
            })
    }

    fn receive(&mut self, now: Instant, src: IpAddr, adv: &Advert) {
        if self.state == State::Initialize || !self.accept_checks(src, adv) {
            return;
        }
        match self.state {
            State::Backup => self.backup_rx(now, src, adv),
            State::Master => self.master_rx(now, src, adv),
            State::Initialize | State::Fault => {}
        }
    }

    /// RFC 5798 §6.4.2 "If an ADVERTISEMENT is received", with keepalived's preempt_delay.
    fn backup_rx(&mut self, now: Instant, src: IpAddr, adv: &Advert) {
        if adv.priority == 0 {
            self.log(LogKind::BackupReceivedZero);
            let skew =
                timing::skew_time(self.cfg.version, self.effective, self.master_adver_int_cs);
            self.timers.master_down = Some(now + skew);
            return;
        }
        let in_preempt_delay =
            !self.cfg.preempt_delay.is_zero() && self.preempt_time.is_none_or(|t| now < t);
        if self.cfg.nopreempt || self.held || adv.priority >= self.effective || in_preempt_delay {
            if self.cfg.version == Version::V3 {
                self.master_adver_int_cs = adv.adver_int_cs.max(1);
            }
            self.master_addr = Some(src);
            self.master_priority = adv.priority;
            self.preempting = false;
            self.wants_master = false;
            if !self.cfg.preempt_delay.is_zero() {
                if adv.priority >= self.effective {
                    self.preempt_time = None;
                } else if self.preempt_time.is_none() {
                    self.preempt_time = Some(now + self.cfg.preempt_delay);
                }
            }
            self.timers.master_down = Some(now + self.master_down_interval());
        } else {
            self.log(LogKind::DiscardLower {
                from: src,
                priority: adv.priority,
            });
            self.master_addr = Some(src);
            self.preempting = true;
        }
    }

    /// RFC 5798 §6.4.3 "If an ADVERTISEMENT is received", with keepalived's answer to lower priorities.
    fn master_rx(&mut self, now: Instant, src: IpAddr, adv: &Advert) {
        let ours = self.effective;
        if self.timers.handover.is_some() {
            // Handing over: a priority-0 advert (another router leaving too)
            // is not answered; any other advert is the new master's.
            if adv.priority != 0 {
                self.master_adver_int_cs = match self.cfg.version {
                    Version::V3 => adv.adver_int_cs.max(1),
                    Version::V2 => self.cfg.adver_int_cs,
                };
                self.master_addr = Some(src);
                self.master_priority = adv.priority;
                self.handover_done(now);
            }
            return;
        }
        if adv.priority == 0 {
            // Not answered (and the advert timer left alone) when already
            // answered within the interval: forged priority-0 adverts cannot
            // make us an amplifier, nor push our own adverts back.
            if self.may_answer(now) {
                self.log(LogKind::MasterReceivedZero);
                self.send_advert(ours);
                self.timers.adver = Some(now + timing::adver_interval(self.cfg.adver_int_cs));
            }
            return;
        }
        let higher_addr = src > self.cfg.primary_addr;
        if adv.priority > ours || (adv.priority == ours && higher_addr) {
            if adv.priority > ours {
                self.log(LogKind::MasterReceivedHigher {
                    from: src,
                    priority: adv.priority,
                    ours,
                });
            } else {
                self.log(LogKind::MasterReceivedSameHigherAddr {
                    from: src,
                    priority: adv.priority,
                });
            }
            self.master_adver_int_cs = match self.cfg.version {
                Version::V3 => adv.adver_int_cs.max(1),
                Version::V2 => self.cfg.adver_int_cs,
            };
            self.master_addr = Some(src);
            self.master_priority = adv.priority;
            self.counters.master_lost += 1;
            self.enter_backup(now, Reason::HigherPriority);
        } else if self.may_answer(now) {
            let forcing = !self.cfg.lower_prio_no_advert;
            self.log(LogKind::MasterReceivedLower {
                from: src,
                priority: adv.priority,
                ours,
                forcing,
            });
            if forcing {
                self.send_advert(ours);
            }
            // Another master of lower priority: a partition healed, or the
            // peer missed us. It will step down on our advert; the switches
            // and hosts it taught its MAC must learn ours again, so repeat
            // the gratuitous burst now (keepalived only does this with
            // `vrrp_garp_lower_prio_repeat` set). At most once per second.
            if self.reannounce_after.is_none_or(|t| now >= t) {
                self.reannounce_after = Some(now + REANNOUNCE_HOLD);
                self.actions.push_back(Action::SendGratuitous {
                    repeat: self.cfg.garp_repeat,
                    delay: self.cfg.garp_interval,
                });
            }
        }
    }

    /// A Master answers priority-0 and lower-priority adverts (a reply
    /// advert, a log line) at most once per advertisement interval: a flood
    /// of forged ones gets one reply per interval, not one each (issue 17
    /// item 11; keepalived 2.3.3 rate-limits these replies too). The adverts
    /// are still counted.
    fn may_answer(&mut self, now: Instant) -> bool {
        let int = timing::adver_interval(self.cfg.adver_int_cs);
        if self.answered.is_some_and(|t| now < t + int) {
            self.counters.answers_suppressed += 1;
            return false;
        }
        self.answered = Some(now);
        true
    }

    fn reload(&mut self, now: Instant, new: InstanceConfig) {
        let new = new.normalized();
        if new == self.cfg {
            return;
        }
        if !self.cfg.same_router(&new) {
            let running = self.state != State::Initialize;
            if running {
                self.shutdown();
            }
            // Runtime facts outside the configuration survive the restart.
            let counters = self.counters;
            let (link_up, grouped, group_fault) = (self.link_up, self.grouped, self.group_fault);
            let actions = std::mem::take(&mut self.actions);
            *self = Instance::new(new);
            self.counters = counters;
            (self.link_up, self.grouped, self.group_fault) = (link_up, grouped, group_fault);
            self.actions = actions;
            if running {
                self.startup(now);
                if let Some(Action::StateChanged { reason, .. }) = self
                    .actions
                    .iter_mut()
                    .rev()
                    .find(|a| matches!(a, Action::StateChanged { .. }))
                {
                    *reason = Reason::Reload;
                }
            }
            return;
        }
        // Same router: keep state, carry tracker status over by id.
        let old = std::mem::replace(&mut self.cfg, new);
        self.track_up = self
            .cfg
            .tracks
            .iter()
            .map(|t| {
                old.tracks
                    .iter()
                    .position(|o| o.id == t.id)
                    .map_or(t.initially_up, |i| self.track_up[i])
            })
            .collect();
        if self.cfg.version == Version::V2 || self.state != State::Backup {
            self.master_adver_int_cs = self.cfg.adver_int_cs;
        }
        if self.state == State::Master {
            // A handover in progress sends no adverts and no refresh bursts.
            let handing_over = self.timers.handover.is_some();
            if old.adver_int_cs != self.cfg.adver_int_cs && !handing_over {
                self.timers.adver = Some(now + timing::adver_interval(self.cfg.adver_int_cs));
            }
            if old.garp_refresh != self.cfg.garp_refresh && !handing_over {
                self.timers.garp_refresh = self
                    .cfg
                    .garp_refresh
                    .filter(|d| !d.is_zero())
                    .map(|d| now + d);
            }
            let added: Vec<IpAddr> = self
                .cfg
                .vips
                .iter()
                .filter(|v| !old.vips.contains(v))
                .copied()
                .collect();
            let removed: Vec<IpAddr> = old
                .vips
                .iter()
                .filter(|v| !self.cfg.vips.contains(v))
                .copied()
                .collect();
            if !added.is_empty() || !removed.is_empty() {
                self.actions
                    .push_back(Action::VipsChanged { added, removed });
            }
        }
        if self.cfg.preempt_delay.is_zero() {
            self.preempt_time = None;
        }
        self.reevaluate(now);
    }
}

/// The next periodic deadline after `t`: drift-free, but never in the past
/// when the driver was late.
fn next_deadline(t: Instant, every: std::time::Duration, now: Instant) -> Instant {
    let next = t + every;
    if next <= now { now + every } else { next }
}
