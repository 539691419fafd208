//! Scenario tests on the simulated LAN, named after the RFC sections and the
//! guide's two-node hot standby (keepalived-facts.md gives keepalived's numbers).
#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used)]

use keel_election::sim::Sim;
use keel_election::{
    Action, AuthConfig, Dest, InitialState, InstanceConfig, Instant, NewMasterReason, State, Track,
    TrackId, Version,
};
use std::net::IpAddr;
use std::time::Duration;

const A: &str = "192.0.2.10";
const B: &str = "192.0.2.11";
const VIP: &str = "192.0.2.250";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// The guide's configuration: VI_1, VRID 51, advert_int 1, PASS 123.123, one VIP.
fn guide(addr: &str, prio: u8, initial: InitialState) -> InstanceConfig {
    let mut c = InstanceConfig::new("VI_1", 51, prio, ip(addr));
    c.vips = vec![ip(VIP)];
    c.auth = AuthConfig::pass("123.123");
    c.initial = initial;
    c
}

/// Nodes 100 (`state MASTER`) and 99 (`state BACKUP`), started together and settled.
fn guide_pair() -> (Sim, usize, usize) {
    let mut sim = Sim::new(7);
    let a = sim.add_node(guide(A, 100, InitialState::Master));
    let b = sim.add_node(guide(B, 99, InitialState::Backup));
    sim.start_all();
    sim.run_for(Duration::from_secs(10));
    assert_eq!((sim.state(a), sim.state(b)), (State::Master, State::Backup));
    (sim, a, b)
}

/// When `node` last entered `to` at or after `since`.
fn entered(sim: &Sim, node: usize, to: State, since: Instant) -> Option<Instant> {
    sim.transitions()
        .iter()
        .find(|t| t.node == node && t.to == to && t.at >= since)
        .map(|t| t.at)
}

/// Time of the last advert `node` sent at or before now.
fn last_advert(sim: &Sim, node: usize) -> Instant {
    sim.records()
        .iter()
        .rev()
        .find(|r| r.node == node && matches!(r.action, Action::SendAdvert { .. }))
        .map(|r| r.at)
        .unwrap()
}

#[test]
fn guide_startup_state_master_still_waits_master_down_interval() {
    // keepalived-facts: "a `state MASTER` node still starts in BACKUP and waits its down timer".
    let mut sim = Sim::new(1);
    let a = sim.add_node(guide(A, 100, InitialState::Master));
    let b = sim.add_node(guide(B, 99, InitialState::Backup));
    sim.start_all();
    sim.run_for(Duration::from_secs(10));
    // 3 s + Skew_Time(100) = 3 s + 156/256 s.
    assert_eq!(
        entered(&sim, a, State::Master, Instant::ZERO),
        Some(Instant::from_micros(3_609_375))
    );
    assert_eq!(entered(&sim, b, State::Master, Instant::ZERO), None);
    assert_eq!(
        sim.log_lines(a),
        [
            "(VI_1) Entering BACKUP STATE (init)",
            "(VI_1) Receive advertisement timeout",
            "(VI_1) Entering MASTER STATE",
            "(VI_1) setting VIPs.",
        ]
    );
    assert_eq!(sim.log_lines(b), ["(VI_1) Entering BACKUP STATE (init)"]);
    assert_eq!(sim.vip_holders(), [a]);
}

#[test]
fn rfc5798_6_4_2_guide_graceful_stop_backup_takes_over_after_skew_time() {
    let (mut sim, a, b) = guide_pair();
    let t = sim.now() + us(123_456);
    sim.run_until(t);
    sim.stop(a);
    sim.run_for(Duration::from_secs(5));
    // Skew_Time(99) = 613.281 ms (keepalived measured 616/617/627 ms to the first advert).
    assert_eq!(entered(&sim, b, State::Master, t), Some(t + us(613_281)));
    let la = sim.log_lines(a);
    assert!(
        la.ends_with(&[
            "(VI_1) sent 0 priority".into(),
            "(VI_1) removing VIPs.".into()
        ]),
        "{la:?}"
    );
    assert!(
        sim.log_lines(b)
            .contains(&"(VI_1) Backup received priority 0 advertisement".into())
    );
    assert_eq!(sim.vip_holders(), [b]);
    assert_eq!(sim.instance(a).unwrap().counters().priority_zero_tx, 1);
    assert_eq!(sim.instance(b).unwrap().counters().priority_zero_rx, 1);
    assert_eq!(
        sim.instance(b).unwrap().counters().new_master_reason,
        NewMasterReason::MasterNoResponse
    );
}

#[test]
fn rfc5798_6_4_2_guide_crash_backup_takes_over_after_master_down_interval() {
    let (mut sim, a, b) = guide_pair();
    // Crash right after an advert: 3 × 1 s + 613 ms later the backup takes over.
    let t = last_advert(&sim, a) + Duration::from_secs(1);
    sim.run_until(t);
    assert_eq!(last_advert(&sim, a), t);
    sim.crash(a);
    sim.run_for(Duration::from_secs(10));
    assert_eq!(entered(&sim, b, State::Master, t), Some(t + us(3_613_281)));
    // Crash between adverts: less than that after the crash (keepalived: 2642..3575 ms).
    sim.restart(a);
    sim.run_for(Duration::from_secs(10));
    assert_eq!(sim.masters(), [a]);
    let t = last_advert(&sim, a) + us(400_000);
    sim.run_until(t);
    sim.crash(a);
    sim.run_for(Duration::from_secs(10));
    assert_eq!(entered(&sim, b, State::Master, t), Some(t + us(3_213_281)));
}

#[test]
fn rfc5798_6_4_2_guide_master_returns_and_preempts() {
    let (mut sim, a, b) = guide_pair();
    sim.stop(a);
    sim.run_for(Duration::from_secs(5));
    assert_eq!(sim.masters(), [b]);
    let t = sim.now();
    sim.restart(a);
    sim.run_for(Duration::from_secs(10));
    // The returning node discards the lower adverts, so its first down timer
    // (3 s + Skew_Time(100)) expires: keepalived measured 3643/3649/3668 ms.
    assert_eq!(entered(&sim, a, State::Master, t), Some(t + us(3_609_375)));
    assert_eq!(entered(&sim, b, State::Backup, t), Some(t + us(3_609_375)));
    let la = sim.log_lines(a);
    assert!(la.contains(
        &"(VI_1) received lower priority (99) advert from 192.0.2.11 - discarding".into()
    ));
    let lb = sim.log_lines(b);
    let tail = &lb[lb.len() - 3..];
    assert_eq!(
        tail,
        [
            "(VI_1) Master received advert from 192.0.2.10 with higher priority 100, ours 99",
            "(VI_1) Entering BACKUP STATE",
            "(VI_1) removing VIPs.",
        ]
    );
    assert_eq!(sim.vip_holders(), [a]);
    assert_eq!(
        sim.instance(a).unwrap().counters().new_master_reason,
        NewMasterReason::Preempted
    );
}

#[test]
fn guide_nopreempt_keeps_the_lower_priority_master() {
    let mut sim = Sim::new(3);
    let mut ca = guide(A, 100, InitialState::Backup);
    ca.nopreempt = true;
    let a = sim.add_node(ca);
    let b = sim.add_node(guide(B, 99, InitialState::Backup));
    sim.start(b);
    sim.run_for(Duration::from_secs(5));
    assert_eq!(sim.masters(), [b]);
    sim.start(a);
    sim.run_for(Duration::from_secs(60));
    assert_eq!(sim.masters(), [b]);
    assert_eq!(sim.state(a), State::Backup);
    assert_eq!(sim.instance(a).unwrap().master_addr(), Some(ip(B)));
}

#[test]
fn guide_preempt_delay_holds_then_preempts() {
    let mut sim = Sim::new(3);
    let mut ca = guide(A, 100, InitialState::Backup);
    ca.preempt_delay = Duration::from_secs(10);
    let a = sim.add_node(ca);
    let b = sim.add_node(guide(B, 99, InitialState::Backup));
    sim.start(b);
    sim.run_for(Duration::from_secs(5));
    let t = sim.now();
    sim.start(a);
    sim.run_for(Duration::from_secs(10));
    assert_eq!(sim.masters(), [b], "no preemption during preempt_delay");
    sim.run_for(Duration::from_secs(10));
    assert_eq!(sim.masters(), [a]);
    let took = entered(&sim, a, State::Master, t).unwrap() - t;
    // Last accepted advert is within 1 s before the delay ends; then 3 s + skew.
    assert!(
        took > Duration::from_secs(10) && took <= us(13_609_375),
        "{took:?}"
    );
}

#[test]
fn rfc5798_6_4_1_owner_255_goes_master_at_startup() {
    let (mut sim, a, _b) = guide_pair();
    let o = sim.add_node(guide("192.0.2.1", 255, InitialState::Backup));
    let t = sim.now();
    sim.start(o);
    assert_eq!(sim.state(o), State::Master, "no down timer for the owner");
    sim.run_for(Duration::from_millis(1));
    assert_eq!(sim.masters(), [o]);
    assert_eq!(entered(&sim, a, State::Backup, t), Some(t));
    let c = sim.instance(o).unwrap().counters();
    assert_eq!(
        (c.master_transitions, c.new_master_reason),
        (1, NewMasterReason::Priority)
    );
}

#[test]
fn rfc5798_6_4_3_equal_priority_higher_primary_address_wins() {
    let mut sim = Sim::new(5);
    let a = sim.add_node(guide(A, 100, InitialState::Backup));
    let b = sim.add_node(guide(B, 100, InitialState::Backup));
    sim.start_all();
    sim.run_for(Duration::from_secs(10));
    // Both time out together, both become master, the lower address yields.
    assert_eq!(sim.masters(), [b]);
    assert!(
        sim.log_lines(a).contains(
            &"(VI_1) Master received advert from 192.0.2.11 with same priority 100 but higher IP address than ours"
                .into()
        ),
        "{:?}",
        sim.log_lines(a)
    );
    assert_eq!(sim.vip_holders(), [b]);
}

fn v3(addr: &str, prio: u8, int_cs: u16) -> InstanceConfig {
    let mut c = InstanceConfig::new("VI_1", 51, prio, ip(addr));
    c.version = Version::V3;
    c.adver_int_cs = int_cs;
    c.vips = vec![ip(VIP)];
    c
}

#[test]
fn rfc5798_6_1_v3_advert_int_100ms_master_down_361ms() {
    let mut sim = Sim::new(9);
    let a = sim.add_node(v3(A, 100, 10));
    let b = sim.add_node(v3(B, 99, 10));
    sim.start_all();
    sim.run_for(Duration::from_secs(2));
    assert_eq!(sim.masters(), [a]);
    let t = last_advert(&sim, a);
    sim.run_until(t);
    sim.crash(a);
    sim.run_for(Duration::from_secs(2));
    assert_eq!(entered(&sim, b, State::Master, t), Some(t + us(361_328)));
    // Graceful: Skew_Time = 61.3 ms (keepalived: outage 60/60/70 ms).
    sim.restart(a);
    sim.run_for(Duration::from_secs(2));
    assert_eq!(sim.masters(), [a]);
    let t = sim.now();
    sim.stop(a);
    sim.run_for(Duration::from_secs(1));
    assert_eq!(entered(&sim, b, State::Master, t), Some(t + us(61_328)));
}

#[test]
fn rfc5798_6_4_2_v3_backup_learns_master_adver_interval() {
    let mut sim = Sim::new(9);
    let a = sim.add_node(v3(A, 100, 50));
    let b = sim.add_node(v3(B, 99, 100));
    sim.start_all();
    sim.run_for(Duration::from_secs(10));
    assert_eq!(sim.masters(), [a]);
    assert_eq!(sim.instance(b).unwrap().master_adver_int_cs(), 50);
    assert!(sim.instance(b).unwrap().counters().interval_errors > 0);
    let t = last_advert(&sim, a);
    sim.crash(a);
    sim.run_for(Duration::from_secs(10));
    // 3 × 0.5 s + (157 × 0.5 s)/256.
    assert_eq!(entered(&sim, b, State::Master, t), Some(t + us(1_806_640)));
}

#[test]
fn propagation_delay_adds_to_failover() {
    let mut sim = Sim::new(2);
    sim.set_default_link(Duration::from_millis(3), 0);
    let a = sim.add_node(guide(A, 100, InitialState::Master));
    let b = sim.add_node(guide(B, 99, InitialState::Backup));
    sim.start_all();
    sim.run_for(Duration::from_secs(10));
    let t = sim.now();
    sim.stop(a);
    sim.run_for(Duration::from_secs(5));
    assert_eq!(
        entered(&sim, b, State::Master, t),
        Some(t + us(3_000 + 613_281))
    );
}

#[test]
fn keepalived_fault_on_link_down_and_back() {
    let (mut sim, a, b) = guide_pair();
    let t = sim.now();
    sim.input(a, keel_election::Input::LinkDown);
    assert_eq!(sim.state(a), State::Fault);
    let la = sim.log_lines(a);
    assert_eq!(
        &la[la.len() - 3..],
        [
            "(VI_1) Entering FAULT STATE",
            "(VI_1) sent 0 priority",
            "(VI_1) removing VIPs."
        ]
    );
    sim.run_for(Duration::from_secs(10));
    // The priority-0 advert could not leave: the backup waits its down timer.
    let took = entered(&sim, b, State::Master, t).unwrap() - t;
    assert!(took > us(2_613_281) && took <= us(3_613_281), "{took:?}");
    // Adverts are ignored in Fault.
    assert_eq!(sim.state(a), State::Fault);
    let t = sim.now();
    sim.input(a, keel_election::Input::LinkUp);
    assert_eq!(sim.state(a), State::Backup);
    assert_eq!(
        sim.log_lines(a).last().unwrap(),
        "(VI_1) Entering BACKUP STATE"
    );
    sim.run_for(Duration::from_secs(10));
    assert_eq!(entered(&sim, a, State::Master, t), Some(t + us(3_609_375)));
    assert_eq!(sim.vip_holders(), [a]);
}

#[test]
fn keepalived_track_weight_lowers_priority_and_backup_preempts() {
    let mut sim = Sim::new(4);
    let mut ca = guide(A, 100, InitialState::Master);
    ca.tracks = vec![Track::new(TrackId(1), -20), Track::new(TrackId(2), 0)];
    let a = sim.add_node(ca);
    let b = sim.add_node(guide(B, 99, InitialState::Backup));
    sim.start_all();
    sim.run_for(Duration::from_secs(10));
    assert_eq!(sim.masters(), [a]);
    sim.track(a, TrackId(1), false);
    assert_eq!(sim.instance(a).unwrap().effective_priority(), 80);
    assert_eq!(
        sim.log_lines(a).last().unwrap(),
        "(VI_1) Changing effective priority from 100 to 80"
    );
    sim.run_for(Duration::from_secs(10));
    assert_eq!(sim.masters(), [b]);
    sim.track(a, TrackId(1), true);
    sim.run_for(Duration::from_secs(10));
    assert_eq!(sim.masters(), [a]);
    // Weight 0 → Fault.
    sim.track(a, TrackId(2), false);
    assert_eq!(sim.state(a), State::Fault);
    sim.run_for(Duration::from_secs(10));
    assert_eq!(sim.masters(), [b]);
    sim.track(a, TrackId(2), true);
    assert_eq!(sim.state(a), State::Backup);
}

#[test]
fn rfc3768_7_1_auth_mismatch_discarded_and_counted() {
    let mut sim = Sim::new(4);
    let a = sim.add_node(guide(A, 100, InitialState::Master));
    let mut cb = guide(B, 99, InitialState::Backup);
    cb.auth = AuthConfig::pass("wrong");
    let b = sim.add_node(cb);
    sim.start_all();
    sim.run_for(Duration::from_secs(10));
    // Neither accepts the other: both master (as keepalived would).
    assert_eq!(sim.masters(), [a, b]);
    assert!(sim.instance(a).unwrap().counters().auth_failures > 0);
    assert!(
        sim.log_lines(b)
            .contains(&"(VI_1) received an invalid passwd! (from 192.0.2.10)".into())
    );
}

#[test]
fn unicast_peers_get_one_advert_each() {
    let mut sim = Sim::new(4);
    let mut ca = guide(A, 100, InitialState::Master);
    ca.unicast_peers = vec![ip(B), ip("192.0.2.12")];
    let mut cb = guide(B, 99, InitialState::Backup);
    cb.unicast_peers = vec![ip(A), ip("192.0.2.12")];
    let mut cc = guide("192.0.2.12", 98, InitialState::Backup);
    cc.unicast_peers = vec![ip(A), ip(B)];
    let a = sim.add_node(ca);
    let b = sim.add_node(cb);
    let c = sim.add_node(cc);
    sim.start_all();
    sim.run_for(Duration::from_secs(10));
    assert_eq!(sim.masters(), [a]);
    let t = last_advert(&sim, a);
    let dsts: Vec<Dest> = sim
        .records()
        .iter()
        .filter(|r| r.node == a && r.at == t)
        .filter_map(|r| match r.action {
            Action::SendAdvert { dst, .. } => Some(dst),
            _ => None,
        })
        .collect();
    assert_eq!(
        dsts,
        [Dest::Unicast(ip(B)), Dest::Unicast(ip("192.0.2.12"))]
    );
    sim.crash(a);
    sim.run_for(Duration::from_secs(10));
    assert_eq!(sim.masters(), [b]);
    assert_eq!(sim.state(c), State::Backup);
}

#[test]
fn garp_second_burst_after_garp_master_delay_and_cancelled_on_leaving_master() {
    let (mut sim, a, b) = guide_pair();
    let became = entered(&sim, a, State::Master, Instant::ZERO).unwrap();
    let bursts: Vec<Instant> = sim
        .records()
        .iter()
        .filter(|r| r.node == a && matches!(r.action, Action::SendGratuitous { repeat: 5, .. }))
        .map(|r| r.at)
        .collect();
    assert_eq!(bursts, [became, became + Duration::from_secs(5)]);
    // b becomes master, then loses it well within 5 s to an owner (priority
    // 255) that starts: b's pending second burst must never fire.
    sim.stop(a);
    sim.run_for(Duration::from_secs(1));
    let tb = entered(&sim, b, State::Master, Instant::ZERO).unwrap();
    let o = sim.add_node(guide("192.0.2.1", 255, InitialState::Backup));
    sim.start(o);
    sim.run_for(Duration::from_secs(20));
    assert_eq!(sim.masters(), [o]);
    let b_bursts: Vec<Instant> = sim
        .records()
        .iter()
        .filter(|r| r.node == b && matches!(r.action, Action::SendGratuitous { .. }))
        .map(|r| r.at)
        .collect();
    assert_eq!(
        b_bursts,
        [tb],
        "keepalived would fire a second burst at {:?}",
        tb + Duration::from_secs(5)
    );
}

#[test]
fn guide_loss_only_delays_never_splits_for_long() {
    // 20 % loss on the link: an occasional spurious takeover is allowed, but
    // the 100 node is master again within an advert interval of any recovery.
    let mut sim = Sim::new(11);
    sim.set_default_link(Duration::from_micros(200), 200_000);
    let a = sim.add_node(guide(A, 100, InitialState::Master));
    let b = sim.add_node(guide(B, 99, InitialState::Backup));
    sim.start_all();
    sim.run_for(Duration::from_secs(600));
    let (sent, delivered) = sim.packets();
    assert!(delivered < sent, "loss must drop some adverts");
    let masters_b = sim
        .transitions()
        .iter()
        .filter(|t| t.node == b && t.to == State::Master)
        .count();
    // P(3 consecutive losses) = 0.8 %: a few takeovers in 600 adverts at most.
    assert!(masters_b < 20, "{masters_b}");
    sim.set_default_link(Duration::from_micros(200), 0);
    sim.run_for(Duration::from_secs(5));
    assert_eq!(sim.masters(), [a]);
}

/// Two routers, each with VI_1 (VRID 51) and VI_2 (VRID 52) in one sync group.
fn sync_pair() -> (Sim, [usize; 2], [usize; 2]) {
    let mut sim = Sim::new(21);
    let mut a = [0; 2];
    let mut b = [0; 2];
    for (k, vrid) in [51u8, 52].into_iter().enumerate() {
        let mut ca = guide(A, 100, InitialState::Master);
        ca.name = format!("VI_{}", k + 1);
        ca.vrid = vrid;
        let mut cb = guide(B, 99, InitialState::Backup);
        cb.name = format!("VI_{}", k + 1);
        cb.vrid = vrid;
        // Distinct VIPs per instance.
        let vip = ip(&format!("192.0.2.{}", 250 + k));
        ca.vips = vec![vip];
        cb.vips = vec![vip];
        a[k] = sim.add_node(ca);
        b[k] = sim.add_node(cb);
    }
    sim.add_sync_group(&a);
    sim.add_sync_group(&b);
    sim.start_all();
    sim.run_for(Duration::from_secs(10));
    (sim, a, b)
}

#[test]
fn keepalived_sync_group_moves_together_on_the_lan() {
    let (mut sim, a, b) = sync_pair();
    assert_eq!(sim.masters(), [a[0], a[1]]);
    // Only VI_2's interface goes down on router A: the whole group goes to
    // FAULT (VI_1 resigns with priority 0) and router B takes both.
    let t = sim.now();
    sim.input(a[1], keel_election::Input::LinkDown);
    assert_eq!(
        (sim.state(a[0]), sim.state(a[1])),
        (State::Fault, State::Fault)
    );
    sim.run_for(Duration::from_secs(10));
    assert_eq!(sim.masters(), [b[0], b[1]]);
    // VI_1's priority-0 advert left but VI_2's could not (its link is down):
    // B's VI_1 wants Master after Skew_Time, yet the group waits until B's
    // VI_2 times out too, then both move at the same instant.
    let t1 = entered(&sim, b[0], State::Master, t).unwrap();
    assert_eq!(entered(&sim, b[1], State::Master, t), Some(t1));
    assert!(t1 > t + us(613_281) && t1 <= t + us(3_613_281), "{t1:?}");
    assert!(
        sim.log_lines(a[0])
            .contains(&"(VI_1) sent 0 priority".into())
    );
    // Link back: A's group returns to BACKUP, then preempts both.
    sim.input(a[1], keel_election::Input::LinkUp);
    assert_eq!(
        (sim.state(a[0]), sim.state(a[1])),
        (State::Backup, State::Backup)
    );
    sim.run_for(Duration::from_secs(10));
    assert_eq!(sim.masters(), [a[0], a[1]]);
    assert_eq!(sim.vip_holders(), [a[0], a[1]]);
    // Nothing flaps afterwards.
    let seen = sim.transitions().len();
    sim.run_for(Duration::from_secs(60));
    assert_eq!(sim.transitions().len(), seen);
}

#[test]
fn keepalived_sync_group_prefers_backup_to_thrashing() {
    let (mut sim, a, b) = sync_pair();
    // B's VI_2 alone gets a higher priority (Reload to 120) while B's VI_1
    // still hears A's VI_1 at 100. B's VI_2 wants Master, but its group does
    // not, so nobody moves (keepalived: "prefer backup state to avoid thrashing").
    let mut c = sim.instance(b[1]).unwrap().config().clone();
    c.base_priority = 120;
    sim.input(b[1], keel_election::Input::Reload(Box::new(c)));
    let seen = sim.transitions().len();
    sim.run_for(Duration::from_secs(60));
    assert_eq!(
        sim.transitions().len(),
        seen,
        "{:?}",
        &sim.transitions()[seen..]
    );
    assert_eq!(sim.masters(), [a[0], a[1]]);
    assert!(sim.instance(b[1]).unwrap().wants_master());
    assert!(!sim.instance(b[0]).unwrap().wants_master());
    // Once B's VI_1 also outranks A's VI_1, the whole group B preempts.
    let mut c = sim.instance(b[0]).unwrap().config().clone();
    c.base_priority = 120;
    sim.input(b[0], keel_election::Input::Reload(Box::new(c)));
    sim.run_for(Duration::from_secs(10));
    assert_eq!(sim.masters(), [b[0], b[1]]);
    assert_eq!(sim.vip_holders(), [b[0], b[1]]);
}

#[test]
fn rfc5798_6_1_skew_time_lets_the_best_backup_answer_first() {
    // Three routers; the master stops. Both backups get the priority-0 advert;
    // Skew_Time(99) = 613.281 ms fires 3.9 ms before Skew_Time(98) = 617.187 ms,
    // so 98 hears 99's first advert in time and never becomes master.
    let mut sim = Sim::new(8);
    sim.set_default_link(Duration::from_micros(500), 0);
    let a = sim.add_node(guide(A, 100, InitialState::Master));
    let b = sim.add_node(guide(B, 99, InitialState::Backup));
    let c = sim.add_node(guide("192.0.2.12", 98, InitialState::Backup));
    sim.start_all();
    sim.run_for(Duration::from_secs(10));
    let t = sim.now();
    sim.stop(a);
    sim.run_for(Duration::from_secs(10));
    assert_eq!(
        entered(&sim, b, State::Master, t),
        Some(t + us(500 + 613_281))
    );
    assert_eq!(entered(&sim, c, State::Master, t), None);
    assert_eq!(sim.masters(), [b]);
    assert_eq!(sim.instance(c).unwrap().master_addr(), Some(ip(B)));
}
