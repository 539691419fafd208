//! Property test of sync groups on the simulated LAN: 2–4 routers, each
//! running VI_1 (VRID 51) and VI_2 (VRID 52) in one sync group, random but
//! consistent priorities (the routers' order is the same on both VRIDs, as a
//! sync group is meant to be configured), random router crashes / stops /
//! restarts, per-interface link faults, weight-0 tracker changes, partitions
//! and loss.
//!
//! Inconsistent priorities (router A wins VRID 51, router B wins VRID 52) are
//! a misconfiguration: keel then prefers Backup (see scenarios.rs), but two
//! groups that time out in exact lockstep keep colliding, as keepalived's do
//! when no timer jitter separates them.
//!
//! After the LAN has been stable for a Master_Down_Interval plus the group's
//! re-check time (3 intervals + minimum skew) plus one interval:
//! * the members of each router are in the same state (they move together);
//! * each VRID has exactly one master, and it is the same router for both
//!   (unless no router can be master: then none is);
//! * nothing changes state during a further quiet window (no thrashing).
#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used, clippy::needless_range_loop)]

use keel_election::sim::Sim;
use keel_election::{Input, InstanceConfig, Instant, State, Track, TrackId, Version, timing};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(500)
}

#[derive(Clone, Debug)]
enum Op {
    CrashRouter(usize),
    StopRouter(usize),
    RestartRouter(usize),
    LinkDown(usize, usize),
    LinkUp(usize, usize),
    Track(usize, usize, bool),
    Partition(Vec<bool>),
    Heal,
    Loss(u32),
}

fn op(n: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..n).prop_map(Op::CrashRouter),
        (0..n).prop_map(Op::StopRouter),
        (0..n).prop_map(Op::RestartRouter),
        (0..n, 0..2usize).prop_map(|(r, k)| Op::LinkDown(r, k)),
        (0..n, 0..2usize).prop_map(|(r, k)| Op::LinkUp(r, k)),
        (0..n, 0..2usize, any::<bool>()).prop_map(|(r, k, up)| Op::Track(r, k, up)),
        proptest::collection::vec(any::<bool>(), n).prop_map(Op::Partition),
        Just(Op::Heal),
        (0u32..300_000).prop_map(Op::Loss),
    ]
}

#[derive(Clone, Debug)]
struct Scenario {
    v3: bool,
    int_cs: u16,
    prios: Vec<[u8; 2]>,
    weights: Vec<[i32; 2]>,
    ops: Vec<(u64, Op)>,
    seed: u64,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (2usize..=4, any::<bool>(), 10u16..=100).prop_flat_map(|(n, v3, int_cs)| {
        (
            // Consistent priorities: one router order for both VRIDs (router
            // r's rank), per-VRID bases and steps. Steps are both positive
            // (strict order) or both 0 (all tied: the address decides, the
            // same way on both VRIDs).
            Just((0..n).collect::<Vec<usize>>()).prop_shuffle(),
            (
                1u8..=100,
                1u8..=100,
                prop_oneof![Just((0u8, 0u8)), (1u8..=30, 1u8..=30)],
            ),
            // Trackers are weight 0 only (Fault while down), so that they
            // cannot make the members' priorities disagree.
            proptest::collection::vec(any::<[bool; 2]>(), n),
            proptest::collection::vec((0u64..40_000, op(n)), 0..10),
            any::<u64>(),
        )
            .prop_map(move |(rank, (b1, b2, (s1, s2)), tracked, mut ops, seed)| {
                ops.sort_by_key(|(t, _)| *t);
                let prios = rank
                    .iter()
                    .map(|&r| [b1 + s1 * r as u8, b2 + s2 * r as u8])
                    .collect();
                let weights = tracked
                    .iter()
                    .map(|t| t.map(|on| if on { 0 } else { 1 }))
                    .collect();
                Scenario {
                    v3,
                    int_cs: if v3 { int_cs } else { 100 },
                    prios,
                    weights,
                    ops,
                    seed,
                }
            })
    })
}

fn run(s: &Scenario) -> Result<(), TestCaseError> {
    let n = s.prios.len();
    let mut sim = Sim::new(s.seed);
    sim.set_recording(false);
    sim.set_default_link(Duration::from_micros(300), 0);
    let mut node = vec![[0usize; 2]; n];
    for r in 0..n {
        for (k, vrid) in [51u8, 52].into_iter().enumerate() {
            let mut c = InstanceConfig::new(
                &format!("VI_{}", k + 1),
                vrid,
                s.prios[r][k],
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10 + r as u8)),
            );
            c.version = if s.v3 { Version::V3 } else { Version::V2 };
            c.adver_int_cs = s.int_cs;
            c.vips = vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 250 + k as u8))];
            // weight 1 stands for "not tracked" (no effect while up, and the
            // tracker is only ever reported for tracked members).
            if s.weights[r][k] == 0 {
                c.tracks = vec![Track::new(TrackId(1), 0)];
            }
            node[r][k] = sim.add_node(c);
        }
        sim.add_sync_group(&node[r]);
    }
    sim.start_all();
    for (at, op) in &s.ops {
        sim.run_until(Instant::from_millis(5_000 + at));
        match op {
            Op::CrashRouter(r) => node[*r].iter().for_each(|&i| sim.crash(i)),
            Op::StopRouter(r) => node[*r].iter().for_each(|&i| sim.stop(i)),
            Op::RestartRouter(r) => node[*r].iter().for_each(|&i| sim.restart(i)),
            Op::LinkDown(r, k) => sim.input(node[*r][*k], Input::LinkDown),
            Op::LinkUp(r, k) => sim.input(node[*r][*k], Input::LinkUp),
            Op::Track(r, k, up) => sim.track(node[*r][*k], TrackId(1), *up),
            Op::Partition(side) => {
                for (r, &b) in side.iter().enumerate() {
                    node[r]
                        .iter()
                        .for_each(|&i| sim.set_partition(i, u32::from(b)));
                }
            }
            Op::Heal => sim.heal(),
            Op::Loss(ppm) => sim.set_default_loss(*ppm),
        }
    }
    sim.heal();
    sim.set_default_loss(0);
    let v = if s.v3 { Version::V3 } else { Version::V2 };
    let int = timing::adver_interval(s.int_cs);
    let settle = timing::master_down_interval(v, 1, s.int_cs)
        + int * 3
        + timing::skew_time(v, 255, s.int_cs)
        + int * 2;
    sim.run_for(settle);
    check(&sim, &node)?;
    let seen = sim.transitions().len();
    sim.run_for(int * 30);
    prop_assert_eq!(
        sim.transitions().len(),
        seen,
        "thrashing: {:?}",
        &sim.transitions()[seen..]
    );
    check(&sim, &node)
}

fn check(sim: &Sim, node: &[[usize; 2]]) -> Result<(), TestCaseError> {
    let mut master_routers = Vec::new();
    let mut eligible = false;
    for (r, pair) in node.iter().enumerate() {
        let st = pair.map(|i| sim.state(i));
        let running = pair
            .iter()
            .all(|&i| sim.alive(i) && sim.state(i) != State::Initialize);
        if running {
            prop_assert_eq!(st[0], st[1], "router {} members disagree", r);
            if !pair.iter().any(|&i| sim.instance(i).unwrap().own_fault()) {
                eligible = true;
            }
        }
        if st.contains(&State::Master) {
            master_routers.push(r);
        }
    }
    for k in 0..2 {
        let masters: Vec<usize> = (0..node.len())
            .filter(|&r| sim.state(node[r][k]) == State::Master)
            .collect();
        if eligible {
            prop_assert_eq!(
                masters.len(),
                1,
                "VRID {} masters on routers {:?}",
                51 + k,
                masters
            );
        }
    }
    if eligible {
        prop_assert_eq!(
            master_routers.len(),
            1,
            "master routers {:?}",
            master_routers
        );
    }
    Ok(())
}

#[test]
fn sync_groups_settle_together_without_thrashing() {
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    runner.run(&scenario(), |s| run(&s)).unwrap();
}
