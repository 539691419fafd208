//! IPVS bulk benchmark: keel vs ipvsadm on the same rules, in one run.
//!
//! Needs root and a kernel with IPVS; run it in the test VM with
//! `cargo xtask bench ipvs` (which builds it in release mode and boots the VM).
//! It changes the IPVS table of the current network namespace (flushes it).
//!
//! `ipvs_bench [SERVICES] [DESTS_PER_SERVICE]` (default 10000 4):
//! in one fresh network namespace keel applies the rules from empty
//! (reconcile), lists everything, and reconciles again (must send zero write
//! requests); in another fresh one `ipvsadm -R` applies the same rules and
//! `ipvsadm -Sn` lists them. Both tables must print identically in `ipvsadm -Sn`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]
use keel_ipvs::reconcile::{Options, VirtualService};
use keel_ipvs::{Dest, Forward, Ipvs, Service, ServiceKey};
use keel_testkit::Netns;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::process::Stdio;
use std::time::Instant;

const REPEAT: usize = 3;

fn target(n: usize, per: usize) -> Vec<VirtualService> {
    (0..n)
        .map(|i| {
            let vip = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1 + (i % 250) as u8));
            let port = 1000 + (i / 250) as u16;
            VirtualService {
                service: Service::new(ServiceKey::tcp(vip, port), "wlc"),
                dests: (0..per)
                    .map(|j| {
                        let rip = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1 + j as u8));
                        // ipvsadm gives DR destinations the service's port
                        Dest::new(rip, port, Forward::Route).weight(1)
                    })
                    .collect(),
            }
        })
        .collect()
}

fn rules(t: &[VirtualService]) -> String {
    let mut s = String::new();
    for v in t {
        let ServiceKey::Addr { addr, port, .. } = v.service.key else {
            unreachable!()
        };
        s.push_str(&format!("-A -t {addr}:{port} -s wlc\n"));
        for d in &v.dests {
            s.push_str(&format!(
                "-a -t {addr}:{port} -r {}:{} -g -w 1\n",
                d.addr, d.port
            ));
        }
    }
    s
}

fn ipvsadm(ns: &Netns, args: &[&str], stdin: Option<&str>) -> String {
    let mut c = ns
        .command(&[&["ipvsadm"], args].concat())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("ipvsadm");
    let mut i = c.stdin.take().unwrap();
    if let Some(s) = stdin {
        i.write_all(s.as_bytes()).unwrap();
    }
    drop(i);
    let o = c.wait_with_output().unwrap();
    assert!(o.status.success(), "ipvsadm {args:?}: {}", o.status);
    String::from_utf8(o.stdout).unwrap()
}

/// `-Sn` output as sorted per-service blocks (hash order is not stable).
fn blocks(out: &str) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for l in out.lines() {
        match v.last_mut() {
            Some(b) if l.starts_with("-a ") => {
                b.push('\n');
                b.push_str(l);
            }
            _ => v.push(l.to_string()),
        }
    }
    for b in &mut v {
        let mut lines: Vec<&str> = b.lines().collect();
        lines[1..].sort();
        *b = lines.join("\n");
    }
    v.sort();
    v
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(10_000);
    let per = args.get(1).copied().unwrap_or(4);
    let t = target(n, per);
    let text = rules(&t);
    println!(
        "IPVS bench: {n} services x {per} destinations ({} rules)",
        text.lines().count()
    );
    // Each tool gets a fresh network namespace (IPVS state is per netns): a
    // flushed table leaves its destinations in the kernel's trash list for a
    // while, and every later add scans that list, so sharing one would skew
    // whichever tool runs second. Each table is flushed after its run, which
    // also stops its rate estimators.

    // keel
    let ns_k = Netns::new("bench-keel");
    let mut ipvs = ns_k.enter(Ipvs::new).expect("IPVS");
    let opts = Options::default();
    let c0 = ipvs.counters();
    let t0 = Instant::now();
    let plan = ipvs.reconcile(&t, &opts, false).expect("apply");
    let keel_apply = t0.elapsed().as_secs_f64();
    let c1 = ipvs.counters();
    assert_eq!(plan.ops.len(), n * (1 + per));
    // Listing is repeated (REPEAT times, best and all samples reported): the
    // emulated VM shares a loaded host, single samples are noisy.
    let mut keel_lists = Vec::new();
    let mut listed = Vec::new();
    for _ in 0..REPEAT {
        let t0 = Instant::now();
        listed = ipvs.list().expect("list");
        keel_lists.push(t0.elapsed().as_secs_f64());
    }
    let keel_list = keel_lists.iter().copied().fold(f64::MAX, f64::min);
    let t0 = Instant::now();
    let svcs = ipvs.services().expect("services");
    let keel_svc_dump = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    for s in svcs.iter().take(1000) {
        ipvs.dests(&s.service.key).expect("dests");
    }
    let keel_1000_dests = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    for _ in 0..1000 {
        ipvs.info().expect("info");
    }
    let keel_1000_info = t0.elapsed().as_secs_f64();
    assert_eq!(listed.len(), n);
    assert_eq!(listed.iter().map(|(_, d)| d.len()).sum::<usize>(), n * per);
    let c2 = ipvs.counters();
    let t0 = Instant::now();
    let noop = ipvs.reconcile(&t, &opts, false).expect("no-op reconcile");
    let keel_noop = t0.elapsed().as_secs_f64();
    let noop_writes = ipvs.counters().writes - c2.writes;
    let keel_table = blocks(&ipvsadm(&ns_k, &["-Sn"], None));
    ipvs.flush().expect("flush");

    // ipvsadm
    let ns_a = Netns::new("bench-adm");
    let t0 = Instant::now();
    ipvsadm(&ns_a, &["-R"], Some(&text));
    let adm_apply = t0.elapsed().as_secs_f64();
    let mut adm_lists = Vec::new();
    let mut adm_out = String::new();
    for _ in 0..REPEAT {
        let t0 = Instant::now();
        adm_out = ipvsadm(&ns_a, &["-Sn"], None);
        adm_lists.push(t0.elapsed().as_secs_f64());
    }
    let adm_list = adm_lists.iter().copied().fold(f64::MAX, f64::min);
    assert_eq!(adm_out.lines().count(), text.lines().count());
    let reference = blocks(&adm_out);
    ipvsadm(&ns_a, &["-C"], None);
    if let Some((a, b)) = keel_table.iter().zip(&reference).find(|(a, b)| a != b) {
        panic!("keel's table differs from ipvsadm's:\nkeel:\n{a}\nipvsadm:\n{b}");
    }
    assert_eq!(keel_table.len(), reference.len());
    println!(
        "tables identical in ipvsadm -Sn ({} services)",
        reference.len()
    );

    println!(
        "apply : ipvsadm -R  {adm_apply:8.3} s | keel reconcile from empty {keel_apply:8.3} s \
         ({} writes in {} sends) | ratio {:.1}x",
        c1.writes - c0.writes,
        c1.sends - c0.sends,
        adm_apply / keel_apply
    );
    println!(
        "list  : ipvsadm -Sn {adm_list:8.3} s | keel list                 {keel_list:8.3} s | ratio {:.1}x \
         (best of {REPEAT}; ipvsadm {adm_lists:.3?}, keel {keel_lists:.3?})",
        adm_list / keel_list
    );
    println!(
        "        of which: services dump {keel_svc_dump:.3} s, 1000 dests dumps {keel_1000_dests:.3} s; 1000 info round trips {keel_1000_info:.3} s"
    );
    println!(
        "no-op : keel reconcile {keel_noop:.3} s (reads only), plan ops {}, write requests {noop_writes}",
        noop.ops.len()
    );
    if noop_writes != 0 || !noop.is_empty() {
        println!("FAIL: a no-op reconcile sent write requests");
        std::process::exit(1);
    }
}
