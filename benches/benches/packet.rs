//! keel-packet: parse + checksum-verify and emit of VRRP advertisements, ns per packet.
//!
//! `cargo xtask bench packet`. Target: parse + verify of a one-address VRRPv3
//! packet under 20 ns. The v2 and v3 packets are keepalived 2.2.7's golden
//! bytes (VRID 51, priority 100, VIP 192.0.2.250, from 192.0.2.10).
//!
//! Two groups per operation: `packet/...` is criterion's usual wall-clock
//! time; `packet-cpu/...` measures the same loop in thread CPU time
//! (`CLOCK_THREAD_CPUTIME_ID`), which excludes the time the thread spends
//! descheduled — on a shared, oversubscribed machine that is the figure that
//! says what the code costs.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Bencher, Criterion, Throughput, criterion_group, criterion_main};
use keel_packet::{
    AddrList, Auth, ChecksumMode, MCAST_V4, MCAST_V6, Version, VrrpPacket, VrrpRepr,
};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

const V2: [u8; 20] = [
    0x21, 0x33, 0x64, 0x01, 0x01, 0x01, 0xee, 0x3c, 0xc0, 0x00, 0x02, 0xfa, b'1', b'2', b'3', b'.',
    b'1', b'2', b'3', 0,
];
const V3: [u8; 12] = [
    0x31, 0x33, 0x64, 0x01, 0x00, 0x0a, 0x05, 0x2d, 0xc0, 0x00, 0x02, 0xfa,
];

fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// Run `f` per iteration, timed by wall clock or by thread CPU time.
fn run<F: FnMut()>(b: &mut Bencher<'_>, cpu: bool, mut f: F) {
    if cpu {
        b.iter_custom(|iters| {
            let t0 = thread_cpu();
            for _ in 0..iters {
                f();
            }
            thread_cpu().saturating_sub(t0)
        });
    } else {
        b.iter(f);
    }
}

fn parse(c: &mut Criterion) {
    let src = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));
    let dst = IpAddr::V4(MCAST_V4);
    let src6 = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1));
    let dst6 = IpAddr::V6(MCAST_V6);
    let vip6 = [Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)];
    let r6 = VrrpRepr {
        version: Version::V3,
        vrid: 51,
        priority: 100,
        adver_int: 100,
        auth: Auth::None,
        addrs: AddrList::V6(&vip6),
    };
    let mut v3_ipv6 = [0u8; 24];
    r6.emit(&mut v3_ipv6, src6, dst6, ChecksumMode::Rfc)
        .unwrap();

    for (group, cpu) in [
        ("packet/parse+verify", false),
        ("packet-cpu/parse+verify", true),
    ] {
        let mut g = c.benchmark_group(group);
        g.throughput(Throughput::Elements(1));
        for (name, bytes, s, d) in [
            ("v2-ipv4-1addr", &V2[..], src, dst),
            ("v3-ipv4-1addr", &V3[..], src, dst),
            ("v3-ipv6-1addr", &v3_ipv6[..], src6, dst6),
        ] {
            // The bench measures the successful path, checksum verified.
            assert!(VrrpRepr::parse_bytes(bytes, s, d, ChecksumMode::Rfc).is_ok());
            g.bench_function(name, |b| {
                run(b, cpu, || {
                    let p = VrrpPacket::new_checked(black_box(bytes)).unwrap();
                    let r =
                        VrrpRepr::parse(&p, black_box(s), black_box(d), ChecksumMode::Rfc).unwrap();
                    black_box(r.priority);
                })
            });
        }
        g.finish();
    }
}

fn emit(c: &mut Criterion) {
    let src = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));
    let dst = IpAddr::V4(MCAST_V4);
    let vips = [Ipv4Addr::new(192, 0, 2, 250)];
    let v2 = VrrpRepr {
        version: Version::V2,
        vrid: 51,
        priority: 100,
        adver_int: 100,
        auth: Auth::simple_text(b"123.123"),
        addrs: AddrList::V4(&vips),
    };
    let v3 = VrrpRepr {
        version: Version::V3,
        adver_int: 10,
        auth: Auth::None,
        ..v2
    };
    for (group, cpu) in [("packet/emit", false), ("packet-cpu/emit", true)] {
        let mut g = c.benchmark_group(group);
        g.throughput(Throughput::Elements(1));
        for (name, r, want) in [
            ("v2-ipv4-1addr", v2, &V2[..]),
            ("v3-ipv4-1addr", v3, &V3[..]),
        ] {
            let mut buf = [0u8; 64];
            r.emit(&mut buf, src, dst, ChecksumMode::Rfc).unwrap();
            assert_eq!(
                &buf[..want.len()],
                want,
                "emit must reproduce the golden bytes"
            );
            g.bench_function(name, |b| {
                run(b, cpu, || {
                    black_box(&r)
                        .emit(&mut buf, black_box(src), black_box(dst), ChecksumMode::Rfc)
                        .unwrap();
                    black_box(&buf);
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, parse, emit);
criterion_main!(benches);
