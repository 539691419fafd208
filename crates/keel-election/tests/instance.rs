//! Unit behaviour of one `Instance`, driven by hand: receive rules, counters,
//! reload, tracking arithmetic, sync groups.

#![allow(clippy::unwrap_used)]

use keel_election::{
    Action, Advert, AdvertAuth, AuthConfig, Counters, Dest, Input, Instance, InstanceConfig,
    Instant, LogLevel, Reason, RxError, State, SyncGroup, Track, TrackId, Version,
};
use std::net::IpAddr;
use std::time::Duration;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const ME: &str = "192.0.2.11";
const PEER: &str = "192.0.2.10";
const VIP: &str = "192.0.2.250";

fn cfg(prio: u8) -> InstanceConfig {
    let mut c = InstanceConfig::new("VI_1", 51, prio, ip(ME));
    c.vips = vec![ip(VIP)];
    c.auth = AuthConfig::pass("123.123");
    c
}

fn advert(prio: u8) -> Advert {
    Advert {
        version: Version::V2,
        vrid: 51,
        priority: prio,
        adver_int_cs: 100,
        auth: AdvertAuth::Pass(*b"123.123\0"),
        addrs: vec![ip(VIP)],
    }
}

fn drain(i: &mut Instance) -> Vec<Action> {
    std::iter::from_fn(|| i.poll_action()).collect()
}

fn logs(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Log(l) => Some(l.to_string()),
            _ => None,
        })
        .collect()
}

fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn started(c: InstanceConfig) -> Instance {
    let mut i = Instance::new(c);
    i.handle(t(0), Input::Startup);
    drain(&mut i);
    i
}

fn master(c: InstanceConfig) -> Instance {
    let mut i = started(c);
    let due = i.poll_timeout().unwrap();
    i.handle(due, Input::Timeout);
    assert_eq!(i.state(), State::Master);
    drain(&mut i);
    i
}

fn rx(i: &mut Instance, ms: u64, a: Advert) -> Vec<Action> {
    i.handle(
        t(ms),
        Input::Advert {
            src: ip(PEER),
            advert: a,
        },
    );
    drain(i)
}

#[test]
fn initialize_ignores_everything_but_startup() {
    let mut i = Instance::new(cfg(99));
    assert_eq!(i.poll_timeout(), None);
    for input in [
        Input::Timeout,
        Input::Shutdown,
        Input::Advert {
            src: ip(PEER),
            advert: advert(100),
        },
    ] {
        i.handle(t(1), input);
    }
    assert_eq!(drain(&mut i), []);
    assert_eq!(i.state(), State::Initialize);
    assert_eq!(*i.counters(), Counters::default());
}

#[test]
fn startup_actions_in_order() {
    let mut i = Instance::new(cfg(99));
    i.handle(t(0), Input::Startup);
    let a = drain(&mut i);
    assert_eq!(
        a[0],
        Action::StateChanged {
            from: State::Initialize,
            to: State::Backup,
            reason: Reason::Startup
        }
    );
    assert_eq!(logs(&a), ["(VI_1) Entering BACKUP STATE (init)"]);
    assert!(
        matches!(a.last(), Some(Action::Notify(n)) if n.state.as_str() == "BACKUP" && n.priority == 99)
    );
    // A second Startup is ignored.
    i.handle(t(1), Input::Startup);
    assert_eq!(drain(&mut i), []);
}

#[test]
fn timeout_before_deadline_does_nothing() {
    let mut i = started(cfg(99));
    let due = i.poll_timeout().unwrap();
    i.handle(due - Duration::from_micros(1), Input::Timeout);
    assert_eq!(drain(&mut i), []);
    assert_eq!(i.state(), State::Backup);
}

#[test]
fn becoming_master_orders_advert_vips_garp() {
    let mut i = started(cfg(99));
    let due = i.poll_timeout().unwrap();
    i.handle(due, Input::Timeout);
    let a = drain(&mut i);
    let kinds: Vec<&str> = a
        .iter()
        .map(|a| match a {
            Action::SendAdvert { .. } => "advert",
            Action::StateChanged { .. } => "state",
            Action::AddVips => "addvips",
            Action::SendGratuitous { .. } => "garp",
            Action::Log(_) => "log",
            Action::Notify(_) => "notify",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "log", "advert", "state", "log", "log", "addvips", "garp", "notify"
        ]
    );
    assert_eq!(
        a[1],
        Action::SendAdvert {
            priority: 99,
            dst: Dest::Multicast
        }
    );
    assert_eq!(
        a[6],
        Action::SendGratuitous {
            repeat: 5,
            delay: Duration::ZERO
        }
    );
    // Next advert exactly one interval later.
    assert_eq!(i.poll_timeout(), Some(due + Duration::from_secs(1)));
    i.handle(due + Duration::from_secs(1), Input::Timeout);
    assert_eq!(
        drain(&mut i),
        [Action::SendAdvert {
            priority: 99,
            dst: Dest::Multicast
        }]
    );
    assert_eq!(i.counters().adverts_tx, 2);
    assert_eq!(i.counters().master_transitions, 1);
}

#[test]
fn wrong_vrid_and_version_and_own_adverts_are_ignored() {
    let mut i = started(cfg(99));
    let due = i.poll_timeout();
    let mut other = advert(100);
    other.vrid = 52;
    assert_eq!(rx(&mut i, 10, other), []);
    assert_eq!(i.counters().vrid_errors, 1);
    let mut v3 = advert(100);
    v3.version = Version::V3;
    v3.auth = AdvertAuth::None;
    assert_eq!(
        logs(&rx(&mut i, 20, v3)),
        ["(VI_1) wrong version. Received 3 and expect 2"]
    );
    assert_eq!(i.counters().version_errors, 1);
    i.handle(
        t(30),
        Input::Advert {
            src: ip(ME),
            advert: advert(100),
        },
    );
    assert_eq!(drain(&mut i), []);
    assert_eq!(i.poll_timeout(), due, "down timer untouched");
    assert_eq!(i.counters().adverts_rx, 0);
}

#[test]
fn rfc3768_auth_checks() {
    let mut i = started(cfg(99));
    let due = i.poll_timeout();
    let mut bad = advert(100);
    bad.auth = AdvertAuth::Pass(*b"123.124\0");
    assert_eq!(
        logs(&rx(&mut i, 10, bad)),
        ["(VI_1) received an invalid passwd! (from 192.0.2.10)"],
        "issue 17 item 14: the sender's address is in the line"
    );
    let mut none = advert(100);
    none.auth = AdvertAuth::None;
    assert_eq!(
        logs(&rx(&mut i, 20, none)),
        ["(VI_1) received a 0 auth, expecting 1!"]
    );
    let mut ah = advert(100);
    ah.auth = AdvertAuth::Ah;
    assert_eq!(
        logs(&rx(&mut i, 30, ah)),
        ["(VI_1) received a 2 auth, expecting 1!"]
    );
    let mut unk = advert(100);
    unk.auth = AdvertAuth::Unknown(7);
    assert_eq!(logs(&rx(&mut i, 40, unk)), ["(VI_1) Invalid auth type: 7"]);
    let c = i.counters();
    assert_eq!(
        (
            c.auth_failures,
            c.auth_type_mismatch,
            c.invalid_auth_type,
            c.adverts_rx
        ),
        (1, 2, 1, 0)
    );
    assert_eq!(
        i.poll_timeout(),
        due,
        "discarded adverts do not reset the down timer"
    );
    // The right key is accepted and resets the down timer.
    rx(&mut i, 50, advert(100));
    assert_eq!(
        i.poll_timeout(),
        Some(t(50) + Duration::from_micros(3_613_281))
    );
    assert_eq!(i.master_addr(), Some(ip(PEER)));
    // v3 ignores auth configuration entirely.
    let mut c3 = cfg(99);
    c3.version = Version::V3;
    let mut i3 = started(c3);
    let mut a3 = advert(100);
    a3.version = Version::V3;
    a3.auth = AdvertAuth::None;
    assert_eq!(rx(&mut i3, 10, a3), []);
    assert_eq!(i3.counters().adverts_rx, 1);
}

#[test]
fn rfc3768_interval_mismatch_dropped_in_v2_learned_in_v3() {
    let mut i = started(cfg(99));
    let due = i.poll_timeout();
    let mut slow = advert(100);
    slow.adver_int_cs = 200;
    let a = rx(&mut i, 10, slow);
    assert_eq!(
        logs(&a),
        ["(VI_1) advertisement interval mismatch mine=1 sec rcv'd=2 sec"]
    );
    assert_eq!(i.poll_timeout(), due);
    assert_eq!(i.counters().interval_errors, 1);
    if let [Action::Log(l)] = &a[..] {
        assert_eq!(l.level(), LogLevel::Warning);
    }

    let mut c3 = cfg(99);
    c3.version = Version::V3;
    let mut i3 = started(c3);
    let mut a3 = advert(100);
    a3.version = Version::V3;
    a3.auth = AdvertAuth::None;
    a3.adver_int_cs = 200;
    assert_eq!(
        logs(&rx(&mut i3, 10, a3)),
        ["(VI_1) advertisement interval mismatch mine=1000ms rcv'd=2000ms"]
    );
    assert_eq!(i3.master_adver_int_cs(), 200);
    // 3 × 2 s + 157 × 2 s / 256.
    assert_eq!(
        i3.poll_timeout(),
        Some(t(10) + Duration::from_micros(7_226_562))
    );
}

#[test]
fn rfc3768_address_list_mismatch_logged_dropped_unless_owner() {
    let mut i = started(cfg(99));
    let due = i.poll_timeout();
    let mut other = advert(100);
    other.addrs = vec![ip("192.0.2.251")];
    assert_eq!(
        logs(&rx(&mut i, 10, other.clone())),
        ["(VI_1) ip address associated with VRID 51 not present in MASTER advert : 192.0.2.250"]
    );
    assert_eq!(i.poll_timeout(), due);
    let mut two = advert(100);
    two.addrs.push(ip("192.0.2.251"));
    assert_eq!(
        logs(&rx(&mut i, 20, two)),
        ["(VI_1) received an unexpected ip number count 2, expected 1!"]
    );
    assert_eq!(i.counters().address_list_errors, 2);
    // From the owner it is logged but processed (RFC 3768 §7.1).
    other.priority = 255;
    rx(&mut i, 30, other.clone());
    assert_eq!(
        i.poll_timeout(),
        Some(t(30) + Duration::from_micros(3_613_281))
    );
    // v3: logged, counted, processed.
    let mut c3 = cfg(99);
    c3.version = Version::V3;
    let mut i3 = started(c3);
    other.version = Version::V3;
    other.auth = AdvertAuth::None;
    other.priority = 100;
    assert_eq!(rx(&mut i3, 10, other).len(), 1);
    assert_eq!(i3.counters().address_list_errors, 1);
    assert_eq!(i3.master_addr(), Some(ip(PEER)));
}

#[test]
fn rfc5798_6_4_3_master_answers_priority_zero_and_lower_adverts() {
    let mut i = master(cfg(99));
    let a = rx(&mut i, 5000, advert(0));
    assert_eq!(logs(&a), ["(VI_1) Master received priority 0 message"]);
    assert!(a.contains(&Action::SendAdvert {
        priority: 99,
        dst: Dest::Multicast
    }));
    assert_eq!(i.poll_timeout(), Some(t(6000)), "Adver_Timer reset");
    // Within one advert interval of that answer: counted, not answered
    // (issue 17 item 11), and the Adver_Timer is left alone.
    for k in 0..10 {
        assert!(rx(&mut i, 5100 + k, advert(0)).is_empty());
        assert!(rx(&mut i, 5100 + k, advert(50)).is_empty());
    }
    assert_eq!(i.poll_timeout(), Some(t(6000)));
    assert_eq!(i.counters().answers_suppressed, 20);
    assert_eq!(i.counters().priority_zero_rx, 11);
    let a = rx(&mut i, 6000, advert(50));
    assert_eq!(
        logs(&a),
        [
            "(VI_1) Received advert from 192.0.2.10 with lower priority 50, ours 99, forcing new election"
        ]
    );
    assert!(a.contains(&Action::SendAdvert {
        priority: 99,
        dst: Dest::Multicast
    }));
    // Another master (a healed partition): announce the VIPs again, by default.
    let burst = |a: &[Action]| {
        a.iter()
            .filter(|a| matches!(a, Action::SendGratuitous { .. }))
            .count()
    };
    assert_eq!(burst(&a), 1, "{a:?}");
    // Equal priority, lower address: we stay master too (a second later:
    // the re-announce is allowed once a second).
    let a = rx(&mut i, 7000, advert(99));
    assert_eq!(burst(&a), 1, "{a:?}");
    assert_eq!(i.state(), State::Master);
    assert!(logs(&a)[0].contains("lower priority 99, ours 99"));
    let mut quiet = cfg(99);
    quiet.lower_prio_no_advert = true;
    let mut q = master(quiet);
    let a = rx(&mut q, 5000, advert(50));
    assert_eq!(
        logs(&a),
        ["(VI_1) Received advert from 192.0.2.10 with lower priority 50, ours 99"]
    );
    assert!(!a.iter().any(|a| matches!(a, Action::SendAdvert { .. })));
}

#[test]
fn shutdown_from_each_state() {
    let mut m = master(cfg(99));
    m.handle(t(5000), Input::Shutdown);
    let a = drain(&mut m);
    assert_eq!(
        a[0],
        Action::SendAdvert {
            priority: 0,
            dst: Dest::Multicast
        }
    );
    assert_eq!(
        logs(&a),
        ["(VI_1) sent 0 priority", "(VI_1) removing VIPs."]
    );
    assert!(a.contains(&Action::RemoveVips));
    assert!(a.contains(&Action::StateChanged {
        from: State::Master,
        to: State::Initialize,
        reason: Reason::Shutdown
    }));
    assert!(matches!(a.last(), Some(Action::Notify(n)) if n.state.as_str() == "STOP"));
    assert_eq!(m.poll_timeout(), None);
    assert_eq!(m.counters().priority_zero_tx, 1);
    let mut b = started(cfg(99));
    b.handle(t(10), Input::Shutdown);
    let a = drain(&mut b);
    assert!(
        !a.iter()
            .any(|a| matches!(a, Action::SendAdvert { .. } | Action::RemoveVips))
    );
    assert_eq!(b.state(), State::Initialize);
    // And it can start again.
    b.handle(t(20), Input::Startup);
    assert_eq!(b.state(), State::Backup);
}

#[test]
fn unicast_peers_and_counters() {
    let mut c = cfg(99);
    c.unicast_peers = vec![ip(PEER), ip("192.0.2.12")];
    let mut m = master(c);
    m.handle(t(9000), Input::Shutdown);
    let sends: Vec<Action> = drain(&mut m)
        .into_iter()
        .filter(|a| matches!(a, Action::SendAdvert { .. }))
        .collect();
    assert_eq!(
        sends,
        [
            Action::SendAdvert {
                priority: 0,
                dst: Dest::Unicast(ip(PEER))
            },
            Action::SendAdvert {
                priority: 0,
                dst: Dest::Unicast(ip("192.0.2.12"))
            },
        ]
    );
    assert_eq!(m.counters().priority_zero_tx, 2);
    for e in [
        RxError::Checksum,
        RxError::Ttl,
        RxError::Ttl,
        RxError::PacketLength,
        RxError::InvalidType,
        RxError::Version,
    ] {
        m.handle(t(9001), Input::RxError(e));
    }
    let c = m.counters();
    assert_eq!(
        (
            c.checksum_errors,
            c.ttl_errors,
            c.packet_length_errors,
            c.invalid_type,
            c.version_errors
        ),
        (1, 2, 1, 1, 1)
    );
    assert_eq!(
        RxError::from_packet_error(keel_packet::Error::BadChecksum),
        Some(RxError::Checksum)
    );
    assert_eq!(
        RxError::from_packet_error(keel_packet::Error::BufferTooSmall),
        None
    );
}

#[test]
fn tracking_weights_clamp_and_owner_is_never_changed() {
    let mut c = cfg(100);
    c.tracks = vec![
        Track::new(TrackId(1), 200),
        Track::new(TrackId(2), -250),
        Track::new(TrackId(3), 5),
    ];
    let mut i = started(c.clone());
    assert_eq!(i.effective_priority(), 254, "100 + 200 + 5 clamped");
    i.handle(
        t(1),
        Input::TrackChanged {
            id: TrackId(1),
            up: false,
        },
    );
    assert_eq!(i.effective_priority(), 105);
    assert_eq!(
        logs(&drain(&mut i)),
        ["(VI_1) Changing effective priority from 254 to 105"]
    );
    i.handle(
        t(2),
        Input::TrackChanged {
            id: TrackId(2),
            up: false,
        },
    );
    assert_eq!(i.effective_priority(), 1, "clamped to 1, never 0");
    i.handle(
        t(3),
        Input::TrackWeight {
            id: TrackId(2),
            weight: -50,
        },
    );
    assert_eq!(i.effective_priority(), 55);
    // Unknown ids change nothing.
    i.handle(
        t(4),
        Input::TrackChanged {
            id: TrackId(9),
            up: false,
        },
    );
    assert_eq!(i.effective_priority(), 55);
    assert_eq!(i.state(), State::Backup);

    let mut owner = c;
    owner.base_priority = 255;
    let mut o = Instance::new(owner);
    o.handle(t(0), Input::Startup);
    assert_eq!(o.state(), State::Master);
    o.handle(
        t(1),
        Input::TrackChanged {
            id: TrackId(2),
            up: false,
        },
    );
    assert_eq!(o.effective_priority(), 255);
}

#[test]
fn startup_with_link_down_is_fault_and_fault_has_no_timers() {
    let mut i = Instance::new(cfg(99));
    i.handle(t(0), Input::LinkDown);
    i.handle(t(0), Input::Startup);
    assert_eq!(i.state(), State::Fault);
    assert_eq!(logs(&drain(&mut i)), ["(VI_1) Entering FAULT STATE"]);
    assert_eq!(i.poll_timeout(), None);
    rx(&mut i, 10, advert(100));
    assert_eq!(i.state(), State::Fault);
    i.handle(t(20), Input::LinkUp);
    let a = drain(&mut i);
    assert!(a.contains(&Action::StateChanged {
        from: State::Fault,
        to: State::Backup,
        reason: Reason::FaultCleared
    }));
    assert_eq!(
        i.poll_timeout(),
        Some(t(20) + Duration::from_micros(3_613_281))
    );
}

#[test]
fn reload_unchanged_keeps_everything_silently() {
    let mut m = master(cfg(99));
    let before = m.poll_timeout();
    m.handle(t(4000), Input::Reload(Box::new(cfg(99))));
    assert_eq!(drain(&mut m), []);
    assert_eq!((m.state(), m.poll_timeout()), (State::Master, before));
}

#[test]
fn reload_same_router_keeps_state_and_applies_changes() {
    let mut m = master(cfg(99));
    let mut c = cfg(90);
    c.vips = vec![ip(VIP), ip("192.0.2.251")];
    m.handle(t(4000), Input::Reload(Box::new(c)));
    let a = drain(&mut m);
    assert_eq!(m.state(), State::Master);
    assert_eq!(
        a,
        [
            Action::VipsChanged {
                added: vec![ip("192.0.2.251")],
                removed: vec![]
            },
            Action::Log(keel_election::LogEvent {
                instance: "VI_1".into(),
                kind: keel_election::LogKind::PriorityChange { from: 99, to: 90 }
            }),
        ]
    );
    assert_eq!(m.effective_priority(), 90);
}

#[test]
fn reload_other_router_restarts() {
    let mut m = master(cfg(99));
    let mut c = cfg(99);
    c.vrid = 52;
    m.handle(t(4000), Input::Reload(Box::new(c)));
    let a = drain(&mut m);
    assert!(a.contains(&Action::SendAdvert {
        priority: 0,
        dst: Dest::Multicast
    }));
    assert!(a.contains(&Action::StateChanged {
        from: State::Initialize,
        to: State::Backup,
        reason: Reason::Reload
    }));
    assert_eq!(m.state(), State::Backup);
    assert_eq!(m.config().vrid, 52);
}

#[test]
fn config_validation_and_normalisation() {
    let mut c = cfg(99);
    assert_eq!(c.validate(), Ok(()));
    c.vrid = 0;
    assert_eq!(
        Instance::try_new(c.clone()).err(),
        Some(keel_election::ConfigError::VridZero)
    );
    c.vrid = 51;
    c.adver_int_cs = 10; // v2 0.1 s: keepalived rounds up to 1 s
    assert_eq!(Instance::new(c.clone()).config().adver_int_cs, 100);
    c.vips = vec![ip("2001:db8::1")];
    assert_eq!(c.validate(), Err(keel_election::ConfigError::MixedFamilies));
}

fn member(name: &str, prio: u8, vrid: u8) -> Instance {
    let mut c = InstanceConfig::new(name, vrid, prio, ip(ME));
    c.vips = vec![ip(VIP)];
    Instance::new(c)
}

#[test]
fn sync_group_members_move_together() {
    let mut g = SyncGroup::new(vec![member("VI_1", 99, 51), member("VI_2", 99, 52)]);
    g.handle_all(t(0), &Input::Startup);
    assert!(g.members().iter().all(|m| m.state() == State::Backup));
    // VI_2 hears its master; VI_1 does not and times out: it only wants
    // Master while VI_2 still hears its master (no thrashing).
    let mut a = advert(100);
    a.vrid = 52;
    a.auth = AdvertAuth::None;
    g.handle(
        t(3000),
        1,
        Input::Advert {
            src: ip(PEER),
            advert: a.clone(),
        },
    );
    let due = g.member(0).unwrap().poll_timeout().unwrap();
    assert_eq!(due, t(0) + Duration::from_micros(3_613_281));
    while g.poll_action().is_some() {}
    g.handle(due, 0, Input::Timeout);
    assert!(g.members().iter().all(|m| m.state() == State::Backup));
    assert!(g.member(0).unwrap().wants_master());
    let lines: Vec<String> = std::iter::from_fn(|| g.poll_action())
        .filter_map(|(_, a)| match a {
            Action::Log(l) => Some(l.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(lines, ["(VI_1) Receive advertisement timeout"]);
    // Re-checked after 3 intervals + minimum skew, without logging again.
    let again = g.member(0).unwrap().poll_timeout().unwrap();
    assert_eq!(again, due + Duration::from_micros(3_003_906));
    // When VI_2's master falls silent too, the group goes Master together.
    let due2 = g.member(1).unwrap().poll_timeout().unwrap();
    assert_eq!(due2, t(3000) + Duration::from_micros(3_613_281));
    assert_eq!(g.poll_timeout(), Some(due2));
    g.handle(due2, 1, Input::Timeout);
    assert!(g.members().iter().all(|m| m.state() == State::Master));
    let acts: Vec<(usize, Action)> = std::iter::from_fn(|| g.poll_action()).collect();
    assert!(acts.contains(&(
        1,
        Action::StateChanged {
            from: State::Backup,
            to: State::Master,
            reason: Reason::SyncGroup
        }
    )));
    // A higher-priority advert on VI_2 sends the whole group back to Backup.
    a.priority = 120;
    g.handle(
        due + Duration::from_millis(10),
        1,
        Input::Advert {
            src: ip(PEER),
            advert: a,
        },
    );
    assert!(g.members().iter().all(|m| m.state() == State::Backup));
    // VI_1's link goes down: both Fault; back up: both Backup.
    g.handle(due + Duration::from_millis(20), 0, Input::LinkDown);
    assert!(
        g.members().iter().all(|m| m.state() == State::Fault),
        "{:?}",
        g.members().iter().map(Instance::state).collect::<Vec<_>>()
    );
    g.handle(due + Duration::from_millis(30), 0, Input::LinkUp);
    assert!(g.members().iter().all(|m| m.state() == State::Backup));
    assert!(g.poll_timeout().is_some());
}

#[test]
fn sync_group_member_joining_a_master_group_becomes_master() {
    let mut owner = InstanceConfig::new("VI_1", 51, 255, ip(ME));
    owner.vips = vec![ip(VIP)];
    let mut g = SyncGroup::new(vec![Instance::new(owner), member("VI_2", 99, 52)]);
    g.handle(t(0), 0, Input::Startup);
    assert_eq!(g.member(0).unwrap().state(), State::Master);
    assert_eq!(g.member(1).unwrap().state(), State::Initialize);
    g.handle(t(10), 1, Input::Startup);
    assert_eq!(g.member(1).unwrap().state(), State::Master);
    // Out-of-range members are ignored.
    g.handle(t(20), 7, Input::Shutdown);
    assert!(g.members().iter().all(|m| m.state() == State::Master));
}

#[test]
fn priority_change_in_backup_moves_the_down_timer_by_the_skew_change() {
    // keepalived vrrp_set_effective_priority(): sands shifted by the new ms_down_timer.
    let mut c = cfg(100);
    c.tracks = vec![Track::new(TrackId(1), -50)];
    let mut i = started(c);
    assert_eq!(
        i.poll_timeout(),
        Some(t(0) + Duration::from_micros(3_609_375))
    );
    i.handle(
        t(1000),
        Input::TrackChanged {
            id: TrackId(1),
            up: false,
        },
    );
    // Skew(50) = 206/256 s = 804.6875 ms.
    assert_eq!(
        i.poll_timeout(),
        Some(t(0) + Duration::from_micros(3_804_687))
    );
    i.handle(
        t(2000),
        Input::TrackChanged {
            id: TrackId(1),
            up: true,
        },
    );
    assert_eq!(
        i.poll_timeout(),
        Some(t(0) + Duration::from_micros(3_609_375))
    );
}

#[test]
fn garp_refresh_bursts_while_master_and_none_after() {
    let mut c = cfg(99);
    c.garp_master_delay = None;
    c.garp_refresh = Some(Duration::from_secs(2));
    c.garp_refresh_repeat = 2;
    let mut m = master(c);
    let became = t(0) + Duration::from_micros(3_613_281);
    let mut refresh = Vec::new();
    let mut now = became;
    while now < became + Duration::from_secs(7) {
        now = m.poll_timeout().unwrap();
        m.handle(now, Input::Timeout);
        for a in drain(&mut m) {
            if a == (Action::SendGratuitous {
                repeat: 2,
                delay: Duration::ZERO,
            }) {
                refresh.push(now);
            }
        }
    }
    let s = Duration::from_secs(1);
    assert_eq!(refresh, [became + s * 2, became + s * 4, became + s * 6]);
    // Leaving Master cancels it.
    m.handle(
        now,
        Input::Advert {
            src: ip(PEER),
            advert: advert(100),
        },
    );
    assert_eq!(m.state(), State::Backup);
    let next = m.poll_timeout().unwrap();
    assert_eq!(
        next,
        now + Duration::from_micros(3_613_281),
        "only the down timer is left"
    );
}
