//! Group 3: Parameters Per Virtual Router (RFC 3768 §6.1, RFC 5798 §6.1).

use crate::common::*;
use keel_election::sim::Sim;
use keel_election::{Input, Instance, InstanceConfig, Instant, NewMasterReason, State};
use std::time::Duration;

/// Gaps between consecutive adverts of `node`.
fn gaps(sim: &Sim, node: usize) -> Vec<u64> {
    let times: Vec<u64> = sent(sim, node).iter().map(|(t, _)| t.as_micros()).collect();
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

/// Test VRRP.3.1: Advertisement_Interval. The Master advertises every
/// Advertisement_Interval, drift-free; VRRPv2 intervals are whole seconds
/// (keepalived rounds `advert_int 0.5` up to 1 s), VRRPv3 ones centiseconds.
#[test]
fn case_3_1_advertisement_interval() {
    // v2, 1 s: first advert at takeover (3.609375 s), then every 1 s.
    let sim = lan(vec![v2(DUT, 100), v2(PEER, 99)], Duration::from_secs(20));
    assert_eq!(sent(&sim, 0)[0], (at(3_609_375), 100));
    assert_eq!(gaps(&sim, 0), [1_000_000; 16]);

    // v2, 3 s: takeover after 3 × 3 s + 609.375 ms, then every 3 s.
    let three = |addr: &str, prio: u8| {
        let mut c = v2(addr, prio);
        c.adver_int_cs = 300;
        c
    };
    let sim = lan(
        vec![three(DUT, 100), three(PEER, 99)],
        Duration::from_secs(40),
    );
    assert_eq!(sent(&sim, 0)[0], (at(9_609_375), 100));
    assert_eq!(gaps(&sim, 0), [3_000_000; 10]);
    assert_eq!(sim.masters(), [0]);

    // v3, 50 cs: takeover after 3 × 0.5 s + 156 × 0.5 s / 256, then every 0.5 s.
    let sim = lan(
        vec![v3(DUT, 100, 50), v3(PEER, 99, 50)],
        Duration::from_secs(10),
    );
    assert_eq!(sent(&sim, 0)[0], (at(1_804_687), 100));
    assert_eq!(gaps(&sim, 0), [500_000; 16]);

    // v2 cannot say 0.5 s: the interval becomes 1 s, as keepalived does it.
    let mut c = v2(DUT, 100);
    c.adver_int_cs = 50;
    assert_eq!(Instance::new(c).config().adver_int_cs, 100);
}

/// Test VRRP.3.2: Skew_Time. VRRPv2: (256 - Priority) / 256 s; VRRPv3:
/// (256 - Priority) × Master_Adver_Interval / 256. It is what a Backup waits
/// after a priority-0 advert, so the best Backup answers first and the
/// others hear it before their own skew ends.
#[test]
fn case_3_2_skew_time() {
    let cases: [(InstanceConfig, u64); 10] = [
        (v2(DUT, 1), 996_093),        // 255/256 s
        (v2(DUT, 50), 804_687),       // 206/256 s
        (v2(DUT, 99), 613_281),       // 157/256 s
        (v2(DUT, 100), 609_375),      // 156/256 s
        (v2(DUT, 150), 414_062),      // 106/256 s
        (v2(DUT, 200), 218_750),      // 56/256 s
        (v2(DUT, 254), 7_812),        // 2/256 s
        (v3(DUT, 100, 100), 609_375), // 156 × 1 s / 256
        (v3(DUT, 100, 50), 304_687),  // 156 × 0.5 s / 256
        (v3(DUT, 200, 10), 21_875),   // 56 × 0.1 s / 256
    ];
    for (cfg, skew) in cases {
        let what = format!("{:?} priority {}", cfg.version, cfg.base_priority);
        let peer = cfg.clone();
        let mut vi = started(cfg, Instant::ZERO);
        vi.handle(
            at(1_000_000),
            Input::Advert {
                src: ip(PEER),
                advert: advert(&peer, 0),
            },
        );
        drain(&mut vi);
        assert_eq!(vi.poll_timeout(), Some(at(1_000_000 + skew)), "{what}");
        vi.handle(at(1_000_000 + skew), Input::Timeout);
        assert_eq!(vi.state(), State::Master, "{what}");
    }

    // Three routers: the Master (254) stops; 150 answers after 414.062 ms,
    // and 100 (skew 609.375 ms) hears it in time and stays Backup.
    let mut sim = lan(
        vec![v2("192.0.2.30", 254), v2(DUT, 150), v2(PEER, 100)],
        Duration::from_secs(10),
    );
    assert_eq!(sim.masters(), [0]);
    let t = at(10_400_000);
    sim.run_until(t);
    sim.stop(0);
    sim.run_for(Duration::from_secs(10));
    assert_eq!(
        moves(&sim, 1).last(),
        Some(&(at(10_814_062), State::Backup, State::Master))
    );
    assert_eq!(moves(&sim, 2), [(at(0), State::Initialize, State::Backup)]);
    assert_eq!(sim.masters(), [1]);
}

/// Crash the Master (node 0) right after one of its adverts; how long until
/// node 1 becomes Master.
fn takeover_after_crash(master: InstanceConfig, backup: InstanceConfig) -> Duration {
    let int = u64::from(master.adver_int_cs) * 10_000;
    let mut sim = lan(vec![master, backup], Duration::from_secs(30));
    assert_eq!(sim.masters(), [0]);
    let (last, _) = *sent(&sim, 0).last().unwrap();
    let t = at(last.as_micros() + int);
    sim.run_until(t);
    assert_eq!(sent(&sim, 0).last().unwrap().0, t);
    sim.crash(0);
    sim.run_for(Duration::from_secs(30));
    let (when, from, to) = *moves(&sim, 1).last().unwrap();
    assert_eq!((from, to), (State::Backup, State::Master));
    when.saturating_duration_since(t)
}

/// Test VRRP.3.3: Master_Down_Interval = 3 × Master_Adver_Interval +
/// Skew_Time: how long a Backup waits after the last advert of a Master that
/// went silent. VRRPv3 Backups use the interval the Master advertises.
#[test]
fn case_3_3_master_down_interval() {
    let with = |mut c: InstanceConfig, cs: u16| {
        c.adver_int_cs = cs;
        c
    };
    let cases: [(InstanceConfig, InstanceConfig, u64); 6] = [
        // 3 × 1 s + 157/256 s
        (v2(PEER, 100), v2(DUT, 99), 3_613_281),
        // 3 × 3 s + 157/256 s (v2 skew does not scale)
        (with(v2(PEER, 100), 300), with(v2(DUT, 99), 300), 9_613_281),
        // 3 × 1 s + 255/256 s
        (v2(PEER, 2), v2(DUT, 1), 3_996_093),
        // 3 × 0.1 s + 157 × 0.1 s / 256
        (v3(PEER, 100, 10), v3(DUT, 99, 10), 361_328),
        // 3 × 1 s + 56 × 1 s / 256
        (v3(PEER, 254, 100), v3(DUT, 200, 100), 3_218_750),
        // Backup configured 1 s, Master advertises 0.5 s: 3 × 0.5 s + 156 × 0.5 s / 256
        (v3(PEER, 200, 50), v3(DUT, 100, 100), 1_804_687),
    ];
    for (m, b, want) in cases {
        let what = format!(
            "{:?} {} cs, backup {} at {} cs",
            m.version, m.adver_int_cs, b.base_priority, b.adver_int_cs
        );
        assert_eq!(takeover_after_crash(m, b), us(want), "{what}");
    }
}

/// Test VRRP.3.4: Preempt_Mode. With preemption (the default) a higher
/// priority Backup discards the lower Master's adverts and takes over when
/// its Master_Down_Timer fires; the lower Master yields on its first advert.
/// Without it the higher router stays Backup. The address owner (255)
/// preempts whatever its setting.
#[test]
fn case_3_4_preempt_mode() {
    let start_late = |dut: InstanceConfig| -> (Sim, usize) {
        let mut sim = lan(vec![v2(PEER, 99)], Duration::from_secs(10));
        assert_eq!(sim.masters(), [0]);
        let d = sim.add_node(dut);
        sim.start(d);
        sim.run_for(Duration::from_secs(60));
        (sim, d)
    };

    // Preempt: Master 3 × 1 s + 156/256 s after start, the old Master yields then.
    let (sim, d) = start_late(v2(DUT, 100));
    assert_eq!(
        moves(&sim, d),
        [
            (at(10_000_000), State::Initialize, State::Backup),
            (at(13_609_375), State::Backup, State::Master)
        ]
    );
    assert_eq!(
        moves(&sim, 0).last(),
        Some(&(at(13_609_375), State::Master, State::Backup))
    );
    assert_eq!(sim.masters(), [d]);
    assert_eq!(
        sim.instance(d).unwrap().counters().new_master_reason,
        NewMasterReason::Preempted
    );

    // No preempt: the higher router stays Backup behind the lower Master.
    let mut cfg = v2(DUT, 100);
    cfg.nopreempt = true;
    let (sim, d) = start_late(cfg);
    assert_eq!(
        moves(&sim, d),
        [(at(10_000_000), State::Initialize, State::Backup)]
    );
    assert_eq!(sim.masters(), [0]);
    assert_eq!(moves(&sim, 0).len(), 2, "{:?}", moves(&sim, 0));

    // The owner preempts even with nopreempt set: Master at start.
    let mut cfg = v2(DUT, 255);
    cfg.nopreempt = true;
    let (sim, d) = start_late(cfg);
    assert_eq!(
        moves(&sim, d),
        [(at(10_000_000), State::Initialize, State::Master)]
    );
    assert_eq!(
        moves(&sim, 0).last(),
        Some(&(at(10_000_000), State::Master, State::Backup))
    );
    assert_eq!(sim.masters(), [d]);
}
