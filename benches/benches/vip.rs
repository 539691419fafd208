//! Add and delete 1,000 VIPs on one interface in a throw-away namespace:
//! keel-vip one request at a time, keel-vip batched, and `ip -batch` doing
//! the same, in the same run. Needs root (skips loudly otherwise).
#![allow(clippy::unwrap_used, missing_docs)]

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{Criterion, criterion_group, criterion_main};
use keel_testkit::Netns;
use keel_vip::{Netlink, Outcome, Vip, VipControl};

const N: u32 = 1000;

/// The documentation ranges hold only 768 IPv4 addresses, so the 1,000
/// VIPs are 750 IPv4 /32s (.1-.250 of 192.0.2.0/24, 198.51.100.0/24,
/// 203.0.113.0/24) and 250 IPv6 /128s (2001:db8::, nodad).
fn vips(ifindex: u32) -> Vec<Vip> {
    let bases = [[192, 0, 2], [198, 51, 100], [203, 0, 113]];
    (0..N)
        .map(|i| {
            let addr: IpAddr = match bases.get((i / 250) as usize) {
                Some(b) => Ipv4Addr::new(b[0], b[1], b[2], (i % 250) as u8 + 1).into(),
                None => format!("2001:db8::{:x}", i + 1).parse().unwrap(),
            };
            Vip::new(addr, ifindex)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    if !keel_testkit::require_root("vip bench (namespaces)") {
        return;
    }
    let a = Netns::new("vipbench");
    let b = Netns::new("vipbench");
    a.veth_to(&b, "va", "vb");
    let (mut nl, idx) = a.enter(|| {
        (
            Netlink::new().unwrap(),
            keel_vip::link_by_name("va").unwrap().index,
        )
    });
    let vips = vips(idx);
    let mut add = String::new();
    let mut del = String::new();
    for v in &vips {
        add += &format!(
            "addr add {}/{} dev va{}\n",
            v.addr,
            v.prefix_len,
            if v.nodad { " nodad" } else { "" }
        );
        del += &format!("addr del {}/{} dev va\n", v.addr, v.prefix_len);
    }
    let dir = std::env::temp_dir().join(format!("keel-vip-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (add_file, del_file) = (dir.join("add"), dir.join("del"));
    std::fs::File::create(&add_file)
        .unwrap()
        .write_all(add.as_bytes())
        .unwrap();
    std::fs::File::create(&del_file)
        .unwrap()
        .write_all(del.as_bytes())
        .unwrap();

    let count = |a: &Netns| {
        a.run_ok(&["ip", "-o", "addr", "show", "dev", "va", "scope", "global"])
            .lines()
            .count()
    };

    let mut g = c.benchmark_group("vip_1000_add_del");
    g.sample_size(10);
    g.bench_function("keel_one_by_one", |bch| {
        bch.iter(|| {
            for v in &vips {
                assert_eq!(nl.add(v).unwrap(), Outcome::Done);
            }
            for v in &vips {
                assert_eq!(nl.del(v).unwrap(), Outcome::Done);
            }
        })
    });
    g.bench_function("keel_batched", |bch| {
        bch.iter(|| {
            assert!(
                nl.add_batch(&vips)
                    .unwrap()
                    .iter()
                    .all(|r| matches!(r, Ok(Outcome::Done)))
            );
            assert!(
                nl.del_batch(&vips)
                    .unwrap()
                    .iter()
                    .all(|r| matches!(r, Ok(Outcome::Done)))
            );
        })
    });
    let ns = a.name().to_owned();
    let (af, df) = (
        add_file.to_str().unwrap().to_owned(),
        del_file.to_str().unwrap().to_owned(),
    );
    g.bench_function("ip_batch", |bch| {
        bch.iter(|| {
            keel_testkit::sh_ok(&["ip", "-n", &ns, "-batch", &af]);
            keel_testkit::sh_ok(&["ip", "-n", &ns, "-batch", &df]);
        })
    });
    g.finish();
    // Sanity: every variant really added and removed everything.
    nl.add_batch(&vips).unwrap();
    assert_eq!(count(&a), N as usize);
    nl.del_batch(&vips).unwrap();
    assert_eq!(count(&a), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
