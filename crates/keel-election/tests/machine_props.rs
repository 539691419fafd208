//! Property tests of one instance fed arbitrary input sequences (any advert
//! field values, any order, including reloads and sync-group inputs): it never
//! panics and its outputs stay consistent.
//!
//! * VIPs are held exactly while Master: `AddVips` / `RemoveVips` alternate,
//!   starting with `AddVips`, and "held" equals `state() == Master` after every input.
//! * Every `StateChanged` chains (`from` = the previous `to`) and matches `state()`.
//! * A deadline exists exactly in Backup and Master, and never lies in the past
//!   after a `Timeout` at that time has been handled.
//! * The effective priority is in 1..=254, or 255 for an owner.
//! * A priority-0 advert is sent only when leaving Master.
#![allow(clippy::unwrap_used)]

use keel_election::{
    Action, Advert, AdvertAuth, AuthConfig, Input, Instance, InstanceConfig, Instant, State, Track,
    TrackId, Version,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600)
}

fn a4(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
}

fn base_cfg(prio: u8, v3: bool, pass: bool) -> InstanceConfig {
    let mut c = InstanceConfig::new("VI_P", 51, prio, a4(11));
    c.version = if v3 { Version::V3 } else { Version::V2 };
    c.adver_int_cs = 100;
    c.vips = vec![a4(250)];
    if pass {
        c.auth = AuthConfig::pass("secret");
    }
    c.tracks = vec![
        Track::new(TrackId(1), -30),
        Track::new(TrackId(2), 0),
        Track::new(TrackId(3), 40),
    ];
    c
}

fn advert() -> impl Strategy<Value = Input> {
    (
        prop_oneof![Just(a4(10)), Just(a4(11)), Just(a4(12)), Just(a4(9))],
        any::<bool>(),
        prop_oneof![Just(51u8), any::<u8>()],
        prop_oneof![Just(0u8), Just(255u8), any::<u8>()],
        prop_oneof![Just(100u16), Just(50u16), 0u16..5000],
        prop_oneof![
            Just(AdvertAuth::None),
            Just(AdvertAuth::Pass(*b"secret\0\0")),
            Just(AdvertAuth::Pass(*b"wrong\0\0\0")),
            Just(AdvertAuth::Ah),
            any::<u8>().prop_map(AdvertAuth::Unknown),
        ],
        prop_oneof![
            Just(vec![a4(250)]),
            proptest::collection::vec(any::<[u8; 4]>().prop_map(IpAddr::from), 0..3)
        ],
    )
        .prop_map(
            |(src, v3, vrid, priority, adver_int_cs, auth, addrs)| Input::Advert {
                src,
                advert: Advert {
                    version: if v3 { Version::V3 } else { Version::V2 },
                    vrid,
                    priority,
                    adver_int_cs,
                    auth,
                    addrs,
                },
            },
        )
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        3 => advert(),
        4 => Just(Input::Timeout),
        1 => Just(Input::Startup),
        1 => Just(Input::Shutdown),
        1 => Just(Input::LinkUp),
        1 => Just(Input::LinkDown),
        2 => (1u32..=4, any::<bool>()).prop_map(|(id, up)| Input::TrackChanged { id: TrackId(id), up }),
        1 => (1u32..=3, -300i32..=300).prop_map(|(id, weight)| Input::TrackWeight { id: TrackId(id), weight }),
        1 => (1u8..=255, any::<bool>()).prop_map(|(p, v3)| Input::Reload(Box::new(base_cfg(p, v3, true)))),
        1 => Just(Input::SyncMaster),
        1 => Just(Input::SyncBackup),
        1 => any::<bool>().prop_map(Input::SyncFault),
        1 => any::<bool>().prop_map(Input::SyncGrouped),
    ]
}

fn run(prio: u8, v3: bool, steps: &[(u64, Input)]) -> Result<(), TestCaseError> {
    let mut i = Instance::new(base_cfg(prio, v3, true));
    let mut now = Instant::ZERO;
    let mut held = false;
    let mut state = State::Initialize;
    for (dt, inp) in steps {
        // Timeouts are delivered at the deadline (as a driver would), other inputs after `dt`.
        now = match inp {
            Input::Timeout => i.poll_timeout().unwrap_or(now).max(now),
            _ => now + Duration::from_micros(*dt),
        };
        let was = i.state();
        let is_timeout = matches!(inp, Input::Timeout);
        i.handle(now, inp.clone());
        while let Some(a) = i.poll_action() {
            match a {
                Action::AddVips => {
                    prop_assert!(!held, "AddVips twice");
                    held = true;
                }
                Action::RemoveVips => {
                    prop_assert!(held, "RemoveVips without AddVips");
                    held = false;
                }
                Action::StateChanged { from, to, .. } => {
                    prop_assert_eq!(from, state);
                    prop_assert_ne!(from, to);
                    state = to;
                }
                Action::SendAdvert { priority: 0, .. } => {
                    prop_assert_eq!(
                        was,
                        State::Master,
                        "priority 0 sent while not leaving Master"
                    );
                }
                _ => {}
            }
        }
        prop_assert_eq!(state, i.state());
        prop_assert_eq!(held, i.state() == State::Master);
        let p = i.effective_priority();
        prop_assert!(
            p >= 1 && (p <= 254 || i.config().base_priority == 255),
            "priority {}",
            p
        );
        let deadline = i.poll_timeout();
        prop_assert_eq!(
            deadline.is_some(),
            matches!(i.state(), State::Backup | State::Master)
        );
        if is_timeout {
            prop_assert!(
                deadline.is_none_or(|d| d > now),
                "deadline {:?} not after {:?}",
                deadline,
                now
            );
        }
    }
    Ok(())
}

#[test]
fn arbitrary_input_sequences_keep_outputs_consistent() {
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let strat = (
        prop_oneof![Just(100u8), Just(255u8), 1u8..=255],
        any::<bool>(),
        proptest::collection::vec((0u64..3_000_000, input()), 1..40),
    );
    runner
        .run(&strat, |(prio, v3, steps)| run(prio, v3, &steps))
        .unwrap();
}
