//! keel-election: 1,000 VRRP instances driven for a simulated hour on the
//! deterministic simulator; throughput in instance-events per second (one
//! event = one `Instance::handle` call: advert received, timer, fault, ...).
//!
//! `cargo xtask bench election`. 500 two-router virtual routers (priorities
//! 100/99, advert_int 1 s): 250 VRRPv2 over IPv4, 250 VRRPv3 over IPv6, each
//! its own LAN, 50 µs link delay. Every 5 minutes each router pair suffers one
//! scripted fault (graceful stop + restart, crash + restart, tracker down/up
//! making the backup preempt), staggered across pairs.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use keel_election::sim::Sim;
use keel_election::{Input, InstanceConfig, Instant, Track, TrackId, Version};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

const PAIRS: usize = 500;
const HOUR_S: u64 = 3600;

fn addr(pair: usize, node: usize) -> IpAddr {
    if pair < PAIRS / 2 {
        // 250 pairs × 2 = 500 IPv4 documentation addresses.
        let k = pair * 2 + node;
        let net = if k < 250 { [192, 0, 2] } else { [198, 51, 100] };
        IpAddr::V4(Ipv4Addr::new(net[0], net[1], net[2], (k % 250) as u8 + 1))
    } else {
        IpAddr::V6(Ipv6Addr::new(
            0x2001,
            0xdb8,
            0,
            pair as u16,
            0,
            0,
            0,
            node as u16 + 1,
        ))
    }
}

fn build() -> Sim {
    let mut sim = Sim::new(42);
    sim.set_recording(false);
    sim.set_default_link(Duration::from_micros(50), 0);
    for p in 0..PAIRS {
        for (node, prio) in [(0, 100u8), (1, 99u8)] {
            let mut c = InstanceConfig::new("VI_1", (p % 255) as u8 + 1, prio, addr(p, node));
            c.version = if p < PAIRS / 2 {
                Version::V2
            } else {
                Version::V3
            };
            c.vips = vec![if p < PAIRS / 2 {
                IpAddr::V4(Ipv4Addr::new(203, 0, 113, (p % 250) as u8 + 1))
            } else {
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xffff, p as u16, 0, 0, 0, 1))
            }];
            c.tracks = vec![Track::new(TrackId(1), -10)];
            let i = sim.add_node(c);
            sim.set_partition(i, p as u32);
        }
    }
    sim
}

/// One simulated hour; returns the number of instance-events.
fn hour() -> (u64, (u64, u64), usize) {
    let mut sim = build();
    sim.start_all();
    // Faults: pair p gets one every 300 s, offset by p; kind rotates.
    let mut script: Vec<(u64, usize, u8)> = Vec::new();
    for p in 0..PAIRS {
        let mut t = 20_000 + (p as u64 * 577) % 300_000;
        let mut kind = (p % 3) as u8;
        while t + 40_000 < HOUR_S * 1000 {
            script.push((t, p, kind));
            t += 300_000;
            kind = (kind + 1) % 3;
        }
    }
    let mut todo: Vec<(u64, usize, u8, bool)> = Vec::new();
    for &(t, p, k) in &script {
        todo.push((t, p, k, false));
        todo.push((t + 20_000, p, k, true));
    }
    todo.sort_unstable();
    for (t, p, kind, recover) in todo {
        sim.run_until(Instant::from_millis(t));
        let master = 2 * p;
        match (kind, recover) {
            (0, false) => sim.stop(master),
            (1, false) => sim.crash(master),
            (0 | 1, true) => sim.restart(master),
            (_, false) => sim.input(
                master,
                Input::TrackChanged {
                    id: TrackId(1),
                    up: false,
                },
            ),
            (_, true) => sim.input(
                master,
                Input::TrackChanged {
                    id: TrackId(1),
                    up: true,
                },
            ),
        }
    }
    sim.run_until(Instant::from_millis(HOUR_S * 1000));
    (sim.events(), sim.packets(), sim.transitions().len())
}

fn bench(c: &mut Criterion) {
    let (events, (sent, delivered), transitions) = hour();
    eprintln!(
        "election: 1000 instances, 1 simulated hour: {events} instance-events, {sent} adverts sent, {delivered} delivered, {transitions} state transitions"
    );
    let mut g = c.benchmark_group("election");
    // Each iteration is a whole simulated hour (~0.7 s): flat sampling, few samples.
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(30));
    g.throughput(Throughput::Elements(events));
    g.bench_function("1000_instances_1h", |b| b.iter(|| black_box(hour())));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
