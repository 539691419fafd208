//! LinkWatcher against the real kernel: link down/up and address events,
//! and recovery when the socket overflows.

use std::time::{Duration, Instant};

use keel_testkit::{Netns, require_root};
use keel_vip::{LinkEvent, LinkWatcher, Netlink, Vip};

/// Collect events until `done` says so (at most 3 s).
fn wait_for(w: &mut LinkWatcher, done: impl Fn(&[LinkEvent]) -> bool) -> Vec<LinkEvent> {
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut all = Vec::new();
    while Instant::now() < deadline {
        all.extend(w.recv().expect("recv"));
        if done(&all) {
            return all;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("events did not arrive; got {all:#?}");
}

fn link_state(e: &LinkEvent, index: u32) -> Option<(bool, bool)> {
    match e {
        LinkEvent::Link(l) if l.index == index => Some((l.up, l.running)),
        _ => None,
    }
}

#[test]
fn link_down_up_and_address_events() {
    if !require_root("keel-vip link watcher") {
        return;
    }
    let a = Netns::new("watch");
    let b = Netns::new("watch");
    a.veth_to(&b, "va", "vb");
    let (mut w, va) = a.enter(|| {
        let w = LinkWatcher::new().expect("watcher");
        (w, keel_vip::link_by_name("va").expect("va").index)
    });
    assert!(w.links().any(|l| l.name == "va"), "initial state was read");
    assert!(w.recv().expect("recv").is_empty(), "nothing happened yet");

    a.run_ok(&["ip", "link", "set", "va", "down"]);
    let ev = wait_for(&mut w, |e| {
        e.iter().any(|e| link_state(e, va) == Some((false, false)))
    });
    assert!(!ev.iter().any(|e| matches!(e, LinkEvent::Resynced { .. })));

    a.run_ok(&["ip", "link", "set", "va", "up"]);
    wait_for(&mut w, |e| {
        e.iter().any(|e| link_state(e, va) == Some((true, true)))
    });

    // Carrier loss from the other side: va stays up but stops running.
    b.run_ok(&["ip", "link", "set", "vb", "down"]);
    wait_for(&mut w, |e| {
        e.iter().any(|e| link_state(e, va) == Some((true, false)))
    });
    b.run_ok(&["ip", "link", "set", "vb", "up"]);
    wait_for(&mut w, |e| {
        e.iter().any(|e| link_state(e, va) == Some((true, true)))
    });

    a.run_ok(&[
        "ip",
        "addr",
        "add",
        "192.0.2.250/32",
        "dev",
        "va",
        "label",
        "va:1",
    ]);
    let want = Vip::new("192.0.2.250".parse().unwrap(), va).with_label("va:1");
    let w2 = want.clone();
    wait_for(&mut w, move |e| {
        e.contains(&LinkEvent::AddressAdded(w2.clone()))
    });
    a.run_ok(&["ip", "addr", "del", "192.0.2.250/32", "dev", "va"]);
    let w2 = want.clone();
    wait_for(&mut w, move |e| {
        e.contains(&LinkEvent::AddressRemoved(w2.clone()))
    });

    a.run_ok(&[
        "ip",
        "addr",
        "add",
        "2001:db8::250/128",
        "dev",
        "va",
        "nodad",
    ]);
    let want6 = Vip::new("2001:db8::250".parse().unwrap(), va);
    let w2 = want6.clone();
    wait_for(&mut w, move |e| {
        e.contains(&LinkEvent::AddressAdded(w2.clone()))
    });
    a.run_ok(&["ip", "addr", "del", "2001:db8::250/128", "dev", "va"]);
    let w2 = want6.clone();
    wait_for(&mut w, move |e| {
        e.contains(&LinkEvent::AddressRemoved(w2.clone()))
    });

    a.run_ok(&["ip", "link", "del", "va"]);
    wait_for(&mut w, |e| {
        e.iter().any(
            |e| matches!(e, LinkEvent::LinkRemoved { index, name } if *index == va && name == "va"),
        )
    });
    assert_eq!(w.overruns(), 0);
}

#[test]
fn overflow_resyncs_with_full_state() {
    if !require_root("keel-vip watcher overflow") {
        return;
    }
    let a = Netns::new("wover");
    let b = Netns::new("wover");
    a.veth_to(&b, "va", "vb");
    // A tiny buffer (the kernel's minimum) so that a burst overflows it.
    let (mut w, mut nl, va) = a.enter(|| {
        (
            LinkWatcher::with_rcvbuf(1).expect("watcher"),
            Netlink::new().expect("netlink"),
            keel_vip::link_by_name("va").expect("va").index,
        )
    });
    let vips: Vec<Vip> = (1..=100u8)
        .map(|i| Vip::new(format!("203.0.113.{i}").parse().unwrap(), va))
        .collect();
    for r in nl.add_batch(&vips).expect("batch") {
        r.expect("added");
    }
    let ev = wait_for(&mut w, |e| {
        e.iter().any(|e| matches!(e, LinkEvent::Resynced { .. }))
    });
    assert!(w.overruns() >= 1);
    let LinkEvent::Resynced { links, addresses } = ev
        .iter()
        .find(|e| matches!(e, LinkEvent::Resynced { .. }))
        .expect("resynced")
    else {
        unreachable!()
    };
    assert!(links.iter().any(|l| l.index == va && l.name == "va"));
    for v in &vips {
        assert!(addresses.contains(v), "{v} missing from the resync state");
    }
}
