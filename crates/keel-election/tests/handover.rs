//! Make-before-break handover (`Input::Handover`, a keel extension) on the
//! simulated LAN, seen as a client would: at every instant at least one
//! router holds the VIP, and the window in which both hold it is bounded by
//! one advert exchange (the link delay).
#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used)]

use keel_election::sim::Sim;
use keel_election::{
    Action, AuthConfig, InitialState, Input, InstanceConfig, Instant, Reason, State, Version,
};
use std::net::IpAddr;
use std::time::Duration;

const A: &str = "192.0.2.10";
const B: &str = "192.0.2.11";
const VIP: &str = "192.0.2.250";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn cfg(addr: &str, prio: u8, v3: bool) -> InstanceConfig {
    let mut c = InstanceConfig::new("VI_1", 51, prio, ip(addr));
    c.vips = vec![ip(VIP)];
    if v3 {
        c.version = Version::V3;
        c.adver_int_cs = 10;
    } else {
        c.auth = AuthConfig::pass("123.123");
    }
    c.initial = if prio == 100 {
        InitialState::Master
    } else {
        InitialState::Backup
    };
    c
}

/// A (100) master, B (99) backup, settled, with `delay` on every link.
fn pair(delay: Duration, v3: bool) -> (Sim, usize, usize) {
    let mut sim = Sim::new(11);
    sim.set_default_link(delay, 0);
    let a = sim.add_node(cfg(A, 100, v3));
    let b = sim.add_node(cfg(B, 99, v3));
    sim.start_all();
    sim.run_for(Duration::from_secs(10));
    assert_eq!((sim.state(a), sim.state(b)), (State::Master, State::Backup));
    assert_eq!(sim.vip_holders(), vec![a]);
    (sim, a, b)
}

/// VIP add/remove records since `since`, in order: (time, node, added).
fn vip_changes(sim: &Sim, since: Instant) -> Vec<(Instant, usize, bool)> {
    sim.records()
        .iter()
        .filter(|r| r.at >= since)
        .filter_map(|r| match r.action {
            Action::AddVips => Some((r.at, r.node, true)),
            Action::RemoveVips => Some((r.at, r.node, false)),
            _ => None,
        })
        .collect()
}

/// Replays VIP changes from `holders` and checks that after every instant
/// somebody holds the VIP. Returns the overlap (both holding) in total.
fn check_always_held(mut holders: Vec<usize>, changes: &[(Instant, usize, bool)]) -> Duration {
    let mut overlap = Duration::ZERO;
    let mut i = 0;
    let mut last = changes.first().map(|c| c.0);
    while i < changes.len() {
        let t = changes[i].0;
        if holders.len() > 1
            && let Some(l) = last
        {
            overlap += t - l;
        }
        // Everything that happens at the same instant is one step.
        while i < changes.len() && changes[i].0 == t {
            let (_, n, add) = changes[i];
            holders.retain(|&h| h != n);
            if add {
                holders.push(n);
            }
            i += 1;
        }
        assert!(!holders.is_empty(), "nobody holds the VIP after {t:?}");
        last = Some(t);
    }
    overlap
}

fn handover_case(delay: Duration, v3: bool) {
    let (mut sim, a, b) = pair(delay, v3);
    let t0 = sim.now();
    sim.input(a, Input::Handover);
    let inst = sim.instance(a).unwrap();
    assert!(inst.handing_over() && inst.held());
    assert_eq!(sim.state(a), State::Master);
    assert_eq!(sim.vip_holders(), vec![a], "the VIP stays until B speaks");
    sim.run_for(Duration::from_secs(30));
    assert_eq!((sim.state(a), sim.state(b)), (State::Backup, State::Master));
    assert_eq!(sim.vip_holders(), vec![b]);
    let changes = vip_changes(&sim, t0);
    // B adds, then A removes exactly one link delay later: the overlap is
    // one advert's flight.
    assert_eq!(changes.len(), 2, "{changes:?}");
    let (t_add, n_add, add) = changes[0];
    let (t_rm, n_rm, rm) = changes[1];
    assert!((n_add, add, n_rm, rm) == (b, true, a, false), "{changes:?}");
    assert_eq!(t_rm - t_add, delay);
    assert_eq!(check_always_held(vec![a], &changes), delay);
    // B took over Skew_Time after the priority-0 advert arrived.
    let skew = keel_election::timing::skew_time(
        if v3 { Version::V3 } else { Version::V2 },
        99,
        if v3 { 10 } else { 100 },
    );
    assert_eq!(t_add - t0, delay + skew);
    // A's exit reason is Handover and A sent nothing after its priority 0.
    let tr = sim
        .records()
        .iter()
        .find(|r| r.node == a && matches!(r.action, Action::StateChanged { .. }) && r.at >= t0)
        .unwrap();
    assert!(matches!(
        tr.action,
        Action::StateChanged {
            from: State::Master,
            to: State::Backup,
            reason: Reason::Handover
        }
    ));
    let a_adverts: Vec<u8> = sim
        .records()
        .iter()
        .filter(|r| r.node == a && r.at >= t0)
        .filter_map(|r| match r.action {
            Action::SendAdvert { priority, .. } => Some(priority),
            _ => None,
        })
        .collect();
    assert_eq!(a_adverts, vec![0]);
}

#[test]
fn handover_v2_zero_delay() {
    handover_case(Duration::ZERO, false);
}

#[test]
fn handover_v2_one_ms_link() {
    handover_case(Duration::from_millis(1), false);
}

#[test]
fn handover_v3_fast_interval_300us_link() {
    handover_case(Duration::from_micros(300), true);
}

/// The higher-priority router stays backup after handing over (it would
/// otherwise preempt within Master_Down_Interval), until `Resume`.
#[test]
fn held_backup_does_not_preempt_until_resume() {
    let (mut sim, a, b) = pair(Duration::from_micros(100), false);
    sim.input(a, Input::Handover);
    sim.run_for(Duration::from_secs(120));
    assert_eq!((sim.state(a), sim.state(b)), (State::Backup, State::Master));
    assert!(sim.instance(a).unwrap().held());
    let t = sim.now();
    sim.input(a, Input::Resume);
    assert!(!sim.instance(a).unwrap().held());
    sim.run_for(Duration::from_secs(10));
    assert_eq!((sim.state(a), sim.state(b)), (State::Master, State::Backup));
    let changes = vip_changes(&sim, t);
    check_always_held(vec![b], &changes);
}

/// A restart ends the hold: the returning 100 preempts as usual.
#[test]
fn restart_ends_the_hold() {
    let (mut sim, a, b) = pair(Duration::ZERO, false);
    sim.input(a, Input::Handover);
    sim.run_for(Duration::from_secs(5));
    sim.stop(a);
    assert_eq!(sim.vip_holders(), vec![b]);
    sim.start(a);
    assert!(!sim.instance(a).unwrap().held());
    sim.run_for(Duration::from_secs(10));
    assert_eq!((sim.state(a), sim.state(b)), (State::Master, State::Backup));
}

/// Stop mode: handover, then shut down once the handover is over. The
/// shutdown of a backup sends nothing and removes nothing.
#[test]
fn handover_then_shutdown_loses_nothing() {
    let (mut sim, a, b) = pair(Duration::from_micros(200), false);
    let t0 = sim.now();
    sim.input(a, Input::Handover);
    while sim.instance(a).unwrap().handing_over() {
        let next = sim.next_event().unwrap();
        sim.run_until(next);
    }
    sim.stop(a);
    sim.run_for(Duration::from_secs(10));
    assert_eq!(
        (sim.state(a), sim.state(b)),
        (State::Initialize, State::Master)
    );
    check_always_held(vec![a], &vip_changes(&sim, t0));
}

/// The priority-0 advert is lost: B takes over on its own down timer
/// (A sends no more adverts) and A still keeps the VIP until then, because
/// its deadline is the longest Master_Down_Interval (priority 1).
#[test]
fn lost_priority_zero_still_no_gap() {
    let (mut sim, a, b) = pair(Duration::from_micros(100), false);
    sim.set_link(a, b, Duration::from_micros(100), 1_000_000);
    let t0 = sim.now();
    sim.input(a, Input::Handover);
    sim.set_link(a, b, Duration::from_micros(100), 0);
    sim.run_for(Duration::from_secs(10));
    assert_eq!((sim.state(a), sim.state(b)), (State::Backup, State::Master));
    check_always_held(vec![a], &vip_changes(&sim, t0));
}

/// No peer at all: after the longest Master_Down_Interval A lets go, and as a
/// held backup that hears nobody it takes the VIP back one
/// Master_Down_Interval later (a hold never disables failover).
#[test]
fn no_peer_times_out_then_fails_back() {
    let mut sim = Sim::new(1);
    let a = sim.add_node(cfg(A, 100, false));
    sim.start_all();
    sim.run_for(Duration::from_secs(10));
    let t0 = sim.now();
    sim.input(a, Input::Handover);
    sim.run_for(Duration::from_secs(4));
    let changes = vip_changes(&sim, t0);
    assert_eq!(changes.len(), 1);
    let mdi1 = keel_election::timing::master_down_interval(Version::V2, 1, 100);
    assert_eq!(changes[0], (t0 + mdi1, a, false));
    assert_eq!(sim.state(a), State::Backup);
    sim.run_for(Duration::from_secs(10));
    assert_eq!(sim.state(a), State::Master);
    assert!(!sim.instance(a).unwrap().held());
}

/// Handover on a Backup only sets the hold; on Initialize it does nothing.
#[test]
fn handover_on_backup_or_stopped() {
    let (mut sim, a, b) = pair(Duration::ZERO, false);
    sim.input(b, Input::Handover);
    assert_eq!(sim.state(b), State::Backup);
    assert!(sim.instance(b).unwrap().held());
    sim.stop(a);
    sim.run_for(Duration::from_secs(5));
    assert_eq!(
        sim.state(b),
        State::Master,
        "a held backup still takes over"
    );
    sim.input(a, Input::Handover);
    assert_eq!(sim.state(a), State::Initialize);
}
