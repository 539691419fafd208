//! The driver on an in-memory IPVS table and embedder-fed addresses: no root, no VM.
#![allow(clippy::unwrap_used)]
use std::net::SocketAddr;
use std::time::Duration;

use keel_check::{CheckId, CheckSpec, CheckerOptions, RealServerCheck};
use keel_director::{
    AddressEvent, AddressSource, DirectorSpec, DriverHandle, DriverOptions, Event, FakeIpvs,
    RealServerSpec, Report, Verdict, VirtualServerSpec,
};
use keel_ipvs::reconcile::VirtualService;
use keel_ipvs::{Dest, Forward, Scheduler, Service, ServiceKey};
use tokio::sync::mpsc;

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn key(vip: &str) -> ServiceKey {
    ServiceKey::tcp(vip.parse().unwrap(), 80)
}

/// A DR virtual server whose real servers' health the embedder reports.
fn vs(vip: &str, reals: &[&str]) -> VirtualServerSpec {
    reals
        .iter()
        .fold(VirtualServerSpec::new(key(vip), Forward::Route), |v, r| {
            v.real_server(RealServerSpec::new(sa(r)).external())
        })
}

fn opts(ipvs: &FakeIpvs) -> DriverOptions {
    DriverOptions::new()
        .ipvs(ipvs.clone())
        .addresses(AddressSource::Embedder)
}

/// Reports until `f` matches one (its text), within 10 s.
async fn until(
    rx: &mut mpsc::UnboundedReceiver<Report>,
    f: impl Fn(&Report) -> bool,
) -> Vec<String> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(r)) => {
                seen.push(r.to_string());
                if f(&r) {
                    return seen;
                }
            }
            _ => panic!("not reported; saw {seen:#?}"),
        }
    }
}

fn dests(t: &FakeIpvs, vip: &str) -> Vec<(String, u32)> {
    t.snapshot()
        .services
        .iter()
        .filter(|v| v.service.key == key(vip))
        .flat_map(|v| v.dests.iter().map(|d| (d.addr.to_string(), d.weight)))
        .collect()
}

fn programmed(r: &Report) -> bool {
    matches!(r, Report::Programmed(_))
}

#[tokio::test]
async fn two_directors_in_one_process_keep_their_own_state() {
    let (t1, t2) = (FakeIpvs::new(), FakeIpvs::new());
    let (tx1, mut rx1) = mpsc::unbounded_channel();
    let (tx2, mut rx2) = mpsc::unbounded_channel();
    let reals = ["192.0.2.12:80", "192.0.2.13:80"];
    let d1 = DriverHandle::spawn(
        DirectorSpec::new(vec![vs("192.0.2.250", &reals)]),
        opts(&t1),
        tx1,
    );
    let d2 = DriverHandle::spawn(
        DirectorSpec::new(vec![vs("192.0.2.250", &reals)]),
        opts(&t2),
        tx2,
    );
    until(&mut rx1, programmed).await;
    until(&mut rx2, programmed).await;
    assert_eq!(dests(&t1, "192.0.2.250").len(), 2);
    // A real server dies for the first director only.
    d1.verdict(Verdict::new(
        "[192.0.2.250]:tcp:80",
        sa("192.0.2.12:80"),
        false,
    ));
    let seen = until(&mut rx1, programmed).await;
    assert!(
        seen.contains(
            &"Removing service [192.0.2.12]:tcp:80 from VS [192.0.2.250]:tcp:80".to_string()
        ),
        "{seen:?}"
    );
    assert_eq!(
        dests(&t1, "192.0.2.250"),
        vec![("192.0.2.13".to_string(), 1)]
    );
    assert_eq!(
        dests(&t2, "192.0.2.250").len(),
        2,
        "the other director is untouched"
    );
    assert!(!d1.status()[0].real_servers[0].alive);
    assert!(d2.status()[0].real_servers[0].alive);
    // And comes back.
    d1.verdict(Verdict::new(
        "[192.0.2.250]:tcp:80",
        sa("192.0.2.12:80"),
        true,
    ));
    until(&mut rx1, programmed).await;
    assert_eq!(dests(&t1, "192.0.2.250").len(), 2);
    d1.shutdown().await;
    assert!(
        t1.snapshot().services.is_empty(),
        "keel's services removed at shutdown"
    );
    assert_eq!(t2.snapshot().services.len(), 1);
    d2.shutdown().await;
}

#[tokio::test]
async fn reload_adds_removes_and_changes_with_the_minimal_diff() {
    let t = FakeIpvs::new();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let a = vs("192.0.2.250", &["192.0.2.12:80", "192.0.2.13:80"]);
    let b = vs("192.0.2.251", &["192.0.2.14:80"]);
    let d = DriverHandle::spawn(DirectorSpec::new(vec![a.clone(), b]), opts(&t), tx);
    until(&mut rx, programmed).await;
    // .250: scheduler changed, .13 removed, .15 added, .12 reweighted; .251 gone; .252 new.
    let mut a2 = vs("192.0.2.250", &["192.0.2.12:80", "192.0.2.15:80"]);
    a2.scheduler = Scheduler::Rr;
    a2.real_servers[0] = a2.real_servers[0].clone().weight(5);
    let c = vs("192.0.2.252", &["192.0.2.16:80"]);
    d.reload(DirectorSpec::new(vec![a2, c]));
    until(&mut rx, programmed).await;
    let plans = t.snapshot().plans;
    let last = plans.last().unwrap().to_string();
    let mut lines: Vec<&str> = last.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        vec![
            "add destination 192.0.2.15:80 to TCP 192.0.2.250:80 (weight 1)",
            "add destination 192.0.2.16:80 to TCP 192.0.2.252:80 (weight 1)",
            "add service TCP 192.0.2.252:80 (wlc)",
            "delete destination 192.0.2.13:80 of TCP 192.0.2.250:80",
            "delete service TCP 192.0.2.251:80",
            "edit destination 192.0.2.12:80 of TCP 192.0.2.250:80 (weight 5)",
            "edit service TCP 192.0.2.250:80 (rr)",
        ],
        "{last}"
    );
    d.shutdown().await;
}

#[tokio::test]
async fn services_of_an_earlier_run_no_longer_configured_are_removed_on_start() {
    let dir = std::env::temp_dir().join(format!("keel-director-owned-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("k.ipvs");
    std::fs::write(&file, "tcp 192.0.2.240 80\ntcp 192.0.2.250 80\n").unwrap();
    let svc = |vip: &str| VirtualService {
        service: Service::new(key(vip), "wlc"),
        dests: vec![Dest::new("192.0.2.12".parse().unwrap(), 80, Forward::Route)],
    };
    // .240 keel made last time, .241 someone else, .250 still configured.
    let t = FakeIpvs::with(vec![
        svc("192.0.2.240"),
        svc("192.0.2.241"),
        svc("192.0.2.250"),
    ]);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let d = DriverHandle::spawn(
        DirectorSpec::new(vec![vs("192.0.2.250", &["192.0.2.12:80"])]),
        opts(&t).owned_file(&file),
        tx,
    );
    let seen = until(&mut rx, programmed).await;
    let keys: Vec<ServiceKey> = t
        .snapshot()
        .services
        .iter()
        .map(|v| v.service.key)
        .collect();
    assert!(!keys.contains(&key("192.0.2.240")), "{seen:?}");
    assert!(keys.contains(&key("192.0.2.241")) && keys.contains(&key("192.0.2.250")));
    let owned = std::fs::read_to_string(&file).unwrap();
    assert!(
        owned.contains("tcp 192.0.2.250 80") && !owned.contains("192.0.2.240"),
        "{owned}"
    );
    d.shutdown().await;
    assert!(!file.exists(), "nothing of keel's is left");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn ha_suspend_follows_address_events() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = l.local_addr().unwrap();
    tokio::spawn(async move { while let Ok(_c) = l.accept().await {} });
    let mut check = RealServerCheck::new(CheckId(0), target, CheckSpec::tcp());
    check.delay_loop = Duration::from_secs(1);
    check.warmup = Some(Duration::ZERO);
    let mut v = VirtualServerSpec::new(key("192.0.2.250"), Forward::Masq)
        .real_server(RealServerSpec::new(target).check(check));
    v.ha_suspend = true;
    let t = FakeIpvs::new();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let checker = CheckerOptions {
        seed: Some(1),
        bootstrap_delay: Duration::ZERO,
        ..Default::default()
    };
    let d = DriverHandle::spawn(DirectorSpec::new(vec![v]), opts(&t).checker(checker), tx);
    let line = |verb: &str| {
        format!(
            "{verb} healthchecker for service [127.0.0.1]:tcp:{} for VS [192.0.2.250]:tcp:80",
            target.port()
        )
    };
    let seen = until(&mut rx, programmed).await;
    assert!(seen.contains(&line("Deactivating")), "{seen:?}");
    assert!(d.status()[0].suspended);
    // The VIP arrives: the check runs and reports.
    let vip = "192.0.2.250".parse().unwrap();
    d.address(AddressEvent::Added {
        ifindex: 2,
        addr: vip,
    });
    let seen = until(&mut rx, |r| matches!(r, Report::Event(Event::Check(_)))).await;
    assert!(seen.contains(&line("Activating")), "{seen:?}");
    assert!(!d.status()[0].suspended);
    // On another interface too, then gone from the first: still active.
    d.address(AddressEvent::Added {
        ifindex: 3,
        addr: vip,
    });
    d.address(AddressEvent::Removed {
        ifindex: 2,
        addr: vip,
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!d.status()[0].suspended);
    // Gone everywhere: suspended.
    d.address(AddressEvent::Removed {
        ifindex: 3,
        addr: vip,
    });
    until(&mut rx, |r| r.to_string() == line("Suspending")).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(d.status()[0].suspended);
    d.shutdown().await;
}
