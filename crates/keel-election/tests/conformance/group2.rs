//! Group 2: State Transition Diagram (RFC 3768 §6.4, RFC 5798 §6.4).

use crate::common::*;
use keel_election::{Action, Dest, Input, Instance, Instant, NewMasterReason, Reason, State};

fn is_advert(a: &Action) -> bool {
    matches!(a, Action::SendAdvert { .. })
}

fn is_garp(a: &Action) -> bool {
    matches!(a, Action::SendGratuitous { .. })
}

fn is_change(a: &Action) -> bool {
    matches!(a, Action::StateChanged { .. })
}

/// Test VRRP.2.1: The Initialize State. §6.4.1: on Startup the address
/// owner (priority 255) sends an advert, broadcasts gratuitous ARP, sets
/// Adver_Timer to Advertisement_Interval and becomes Master; any other
/// router sets Master_Down_Timer to Master_Down_Interval and becomes
/// Backup. Before Startup nothing is processed.
#[test]
fn case_2_1_initialize_state() {
    let t0 = at(5_000_000);
    let mut owner = Instance::new(v2(DUT, 255));
    assert_eq!(owner.state(), State::Initialize);
    assert_eq!(owner.poll_timeout(), None);
    // An advert before Startup is not processed: no action, no counter.
    owner.handle(
        at(4_000_000),
        Input::Advert {
            src: ip(PEER),
            advert: advert(&v2(PEER, 100), 100),
        },
    );
    assert!(drain(&mut owner).is_empty());
    assert_eq!(owner.counters().adverts_rx, 0);
    assert_eq!(owner.state(), State::Initialize);

    owner.handle(t0, Input::Startup);
    let acts = drain(&mut owner);
    assert_eq!(changes(&acts), [(State::Initialize, State::Master)]);
    assert!(acts.contains(&Action::StateChanged {
        from: State::Initialize,
        to: State::Master,
        reason: Reason::Startup
    }));
    assert_eq!(adverts(&acts), [255]);
    assert!(acts.contains(&Action::AddVips));
    // The advert goes out before the gratuitous ARPs (§6.4.1 order).
    assert!(pos(&acts, is_advert) < pos(&acts, is_garp));
    // Adver_Timer = Advertisement_Interval (1 s).
    assert_eq!(owner.poll_timeout(), Some(at(6_000_000)));
    assert_eq!(
        owner.counters().new_master_reason,
        NewMasterReason::Priority
    );

    let mut backup = Instance::new(v2(DUT, 100));
    backup.handle(t0, Input::Startup);
    let acts = drain(&mut backup);
    assert_eq!(changes(&acts), [(State::Initialize, State::Backup)]);
    assert!(adverts(&acts).is_empty());
    assert!(!acts.contains(&Action::AddVips));
    assert!(!acts.iter().any(is_garp));
    // Master_Down_Timer = 3 × 1 s + (256 - 100)/256 s = 3.609375 s.
    assert_eq!(backup.poll_timeout(), Some(at(8_609_375)));
}

/// Test VRRP.2.2: Packet Reception in the Backup State. §6.4.2: a Backup
/// must not answer ARP for the virtual addresses nor accept their traffic.
/// The machine's part: a Backup never takes the VIPs, never announces them
/// (gratuitous ARP) and never advertises. (The kernel side, addresses and
/// ARP, is keel-vip's, and is not exercised here.)
#[test]
fn case_2_2_packet_reception_in_backup_state() {
    // Node 0 (priority 100) becomes Master, node 1 (99) stays Backup.
    let mut sim = lan(vec![v2(PEER, 100), v2(DUT, 99)], std::time::Duration::ZERO);
    for s in 4..=30u64 {
        sim.run_until(at(s * 1_000_000));
        assert_eq!(sim.masters(), [0], "at {s} s");
        assert_eq!(sim.vip_holders(), [0], "at {s} s");
    }
    assert_eq!(moves(&sim, 1), [(at(0), State::Initialize, State::Backup)]);
    let backup_did: Vec<&Action> = sim
        .records()
        .iter()
        .filter(|r| r.node == 1)
        .map(|r| &r.action)
        .filter(|a| is_advert(a) || is_garp(a) || **a == Action::AddVips)
        .collect();
    assert!(backup_did.is_empty(), "{backup_did:?}");
}

/// Test VRRP.2.3: Master Down in the Backup State. §6.4.2: when
/// Master_Down_Timer fires the Backup sends an advert, broadcasts
/// gratuitous ARP, sets Adver_Timer and becomes Master.
#[test]
fn case_2_3_master_down_in_backup_state() {
    let mut sim = lan(
        vec![v2(PEER, 100), v2(DUT, 99)],
        std::time::Duration::from_secs(10),
    );
    // Node 0 is Master since 3.609375 s and advertises every second after it.
    let t = at(10_609_375);
    sim.run_until(t);
    assert_eq!(sent(&sim, 0).last(), Some(&(t, 100)));
    sim.crash(0);
    sim.run_for(std::time::Duration::from_secs(10));
    // Master_Down_Interval(99) = 3 s + 157/256 s = 3.613281 s after the last advert.
    let takeover = at(14_222_656);
    assert_eq!(
        moves(&sim, 1).last(),
        Some(&(takeover, State::Backup, State::Master))
    );
    let acts = actions_at(&sim, 1, takeover);
    assert!(acts.contains(&Action::StateChanged {
        from: State::Backup,
        to: State::Master,
        reason: Reason::MasterDown
    }));
    // Advert, then the state change, then the VIPs and their gratuitous ARPs.
    let advert_at = pos(&acts, is_advert);
    assert!(advert_at < pos(&acts, is_change));
    assert!(pos(&acts, is_change) < pos(&acts, |a| *a == Action::AddVips));
    assert!(pos(&acts, |a| *a == Action::AddVips) < pos(&acts, is_garp));
    assert_eq!(
        acts[advert_at],
        Action::SendAdvert {
            priority: 99,
            dst: Dest::Multicast
        }
    );
    // Adver_Timer: the next adverts follow every Advertisement_Interval.
    assert_eq!(
        sent(&sim, 1)[..3],
        [(takeover, 99), (at(15_222_656), 99), (at(16_222_656), 99)]
    );
    assert_eq!(
        sim.instance(1).unwrap().counters().new_master_reason,
        NewMasterReason::MasterNoResponse
    );
}

/// Test VRRP.2.4: Advertisement Reception in the Backup State. §6.4.2:
/// priority 0 sets Master_Down_Timer to Skew_Time; a priority at least ours
/// (or any, with preemption off) resets it to Master_Down_Interval; a lower
/// priority with preemption on is discarded. A Backup never answers.
#[test]
fn case_2_4_advertisement_reception_in_backup_state() {
    let peer = v2(PEER, 100);
    let mut vi = started(v2(DUT, 100), Instant::ZERO);
    assert_eq!(vi.poll_timeout(), Some(at(3_609_375)));
    let rx = |vi: &mut Instance, t: u64, src: &str, prio: u8| {
        vi.handle(
            at(t),
            Input::Advert {
                src: ip(src),
                advert: advert(&peer, prio),
            },
        );
        let acts = drain(vi);
        assert!(adverts(&acts).is_empty(), "a Backup never advertises");
        assert_eq!(vi.state(), State::Backup);
        vi.poll_timeout()
    };
    // Higher: reset to 1 s + 3.609375 s.
    assert_eq!(rx(&mut vi, 1_000_000, PEER, 150), Some(at(4_609_375)));
    assert_eq!(vi.master_addr(), Some(ip(PEER)));
    // Equal: reset too.
    assert_eq!(rx(&mut vi, 2_000_000, PEER, 100), Some(at(5_609_375)));
    // Lower with preemption: discarded, the timer keeps running.
    assert_eq!(rx(&mut vi, 3_000_000, LOW_PEER, 50), Some(at(5_609_375)));
    // Priority 0: Skew_Time(100) = 156/256 s = 609.375 ms.
    assert_eq!(rx(&mut vi, 4_000_000, PEER, 0), Some(at(4_609_375)));
    vi.handle(at(4_609_375), Input::Timeout);
    assert_eq!(changes(&drain(&mut vi)), [(State::Backup, State::Master)]);

    // Preemption off: a lower priority resets the timer like any other.
    let mut cfg = v2(DUT, 100);
    cfg.nopreempt = true;
    let mut vi = started(cfg, Instant::ZERO);
    assert_eq!(rx(&mut vi, 1_000_000, LOW_PEER, 50), Some(at(4_609_375)));
    assert_eq!(vi.master_addr(), Some(ip(LOW_PEER)));
}

/// Test VRRP.2.5: Packet Reception in the Master State. §6.4.3: the Master
/// answers ARP for the virtual addresses and takes their traffic. The
/// machine's part: the Master takes the VIPs once, announces them
/// (gratuitous ARP at the transition, and keepalived's second burst after
/// garp_master_delay, 5 s), keeps them and advertises every interval.
#[test]
fn case_2_5_packet_reception_in_master_state() {
    let mut sim = lan(vec![v2(DUT, 100), v2(PEER, 99)], std::time::Duration::ZERO);
    for s in 4..=30u64 {
        sim.run_until(at(s * 1_000_000));
        assert_eq!(sim.vip_holders(), [0], "at {s} s");
    }
    let did = |f: &dyn Fn(&Action) -> bool| -> Vec<Instant> {
        sim.records()
            .iter()
            .filter(|r| r.node == 0 && f(&r.action))
            .map(|r| r.at)
            .collect()
    };
    assert_eq!(did(&|a| *a == Action::AddVips), [at(3_609_375)]);
    assert!(did(&|a| *a == Action::RemoveVips).is_empty());
    assert_eq!(did(&is_garp), [at(3_609_375), at(8_609_375)]);
    let want: Vec<(Instant, u8)> = (0..27u64)
        .map(|k| (at(3_609_375 + k * 1_000_000), 100))
        .collect();
    assert_eq!(sent(&sim, 0), want);
}

/// Test VRRP.2.6: Shutdown Event in the Master State. §6.4.3: cancel
/// Adver_Timer, send an advert with priority 0, go to Initialize. The Backup
/// then takes over after its Skew_Time.
#[test]
fn case_2_6_shutdown_event_in_master_state() {
    let mut sim = lan(
        vec![v2(DUT, 100), v2(PEER, 99)],
        std::time::Duration::from_secs(10),
    );
    let t = at(10_400_000);
    sim.run_until(t);
    sim.stop(0);
    let acts = actions_at(&sim, 0, t);
    assert_eq!(adverts(&acts), [0]);
    assert!(acts.contains(&Action::RemoveVips));
    assert!(acts.contains(&Action::StateChanged {
        from: State::Master,
        to: State::Initialize,
        reason: Reason::Shutdown
    }));
    assert_eq!(sim.instance(0).unwrap().poll_timeout(), None);
    sim.run_for(std::time::Duration::from_secs(5));
    // Nothing more from the stopped router.
    assert_eq!(sent(&sim, 0).last(), Some(&(t, 0)));
    assert_eq!(sim.state(0), State::Initialize);
    // Skew_Time(99) = 157/256 s = 613.281 ms later the Backup is Master.
    assert_eq!(
        moves(&sim, 1).last(),
        Some(&(at(11_013_281), State::Backup, State::Master))
    );
}

/// Test VRRP.2.7: Advertisement Reception in the Master State. §6.4.3:
/// priority 0: send an advert at once and reset Adver_Timer; a higher
/// priority, or an equal one from a higher primary address: go Backup with
/// Master_Down_Timer = Master_Down_Interval; otherwise stay Master. (RFC:
/// discard a lower priority; keel, like keepalived by default, answers it
/// with an advert so that the lower router backs off at once;
/// `vrrp_lower_prio_no_advert` restores the RFC's silence.)
#[test]
fn case_2_7_advertisement_reception_in_master_state() {
    let peer = v2(PEER, 100);
    let rx = |vi: &mut Instance, t: u64, src: &str, prio: u8| -> Vec<Action> {
        vi.handle(
            at(t),
            Input::Advert {
                src: ip(src),
                advert: advert(&peer, prio),
            },
        );
        drain(vi)
    };
    // Master since 3.609375 s; next advert due at 4.609375 s.
    let mut vi = master(v2(DUT, 100));
    assert_eq!(vi.poll_timeout(), Some(at(4_609_375)));
    // Priority 0: answer now, Adver_Timer restarts from now.
    assert_eq!(adverts(&rx(&mut vi, 4_000_000, PEER, 0)), [100]);
    assert_eq!(vi.poll_timeout(), Some(at(5_000_000)));
    // keel answers at most once per advert interval (issue 17 item 11): a
    // lower priority within 1 s of that answer is counted, not answered.
    assert_eq!(adverts(&rx(&mut vi, 4_200_000, LOW_PEER, 50)), [0u8; 0]);
    assert_eq!(vi.counters().answers_suppressed, 1);
    // Lower priority: stay Master, answered, timer untouched.
    assert_eq!(adverts(&rx(&mut vi, 5_000_000, LOW_PEER, 50)), [100]);
    // Equal priority from a lower address: we win the tie.
    let acts = rx(&mut vi, 5_100_000, LOW_PEER, 100);
    assert!(changes(&acts).is_empty());
    assert_eq!(vi.state(), State::Master);
    assert_eq!(vi.poll_timeout(), Some(at(5_000_000)));
    // Equal priority from a higher address: Backup, 3.609375 s timer.
    let acts = rx(&mut vi, 5_200_000, PEER, 100);
    assert_eq!(changes(&acts), [(State::Master, State::Backup)]);
    assert!(acts.contains(&Action::RemoveVips));
    assert!(adverts(&acts).is_empty());
    assert_eq!(vi.poll_timeout(), Some(at(8_809_375)));
    assert_eq!(vi.master_addr(), Some(ip(PEER)));

    // Higher priority: Backup at once.
    let mut vi = master(v2(DUT, 100));
    let acts = rx(&mut vi, 4_000_000, LOW_PEER, 150);
    assert!(acts.contains(&Action::StateChanged {
        from: State::Master,
        to: State::Backup,
        reason: Reason::HigherPriority
    }));
    assert!(acts.contains(&Action::RemoveVips));
    assert_eq!(vi.poll_timeout(), Some(at(7_609_375)));

    // With vrrp_lower_prio_no_advert, a lower priority is discarded silently.
    let mut cfg = v2(DUT, 100);
    cfg.lower_prio_no_advert = true;
    let mut vi = master(cfg);
    let acts = rx(&mut vi, 4_200_000, LOW_PEER, 50);
    assert!(adverts(&acts).is_empty());
    assert!(changes(&acts).is_empty());
    assert_eq!(vi.poll_timeout(), Some(at(4_609_375)));
}
