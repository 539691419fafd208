//! VIP add/delete/list against the real kernel, in throw-away namespaces.

use keel_testkit::{Netns, require_root};
use keel_vip::{Error, Netlink, Outcome, Scope, Vip, VipControl};
use serde_json::Value;

/// `ip -j addr show dev IF` in `ns`: the addr_info entries.
fn ip_addrs(ns: &Netns, dev: &str) -> Vec<Value> {
    let out = ns.run_ok(&["ip", "-j", "addr", "show", "dev", dev]);
    let v: Value = serde_json::from_str(&out).expect("ip -j output is JSON");
    v[0]["addr_info"].as_array().cloned().unwrap_or_default()
}

fn find<'a>(addrs: &'a [Value], local: &str) -> Option<&'a Value> {
    addrs.iter().find(|a| a["local"] == local)
}

#[test]
fn add_list_delete_in_namespace() {
    if !require_root("keel-vip add/del in netns") {
        return;
    }
    let a = Netns::new("vipaddr");
    let b = Netns::new("vipaddr");
    a.veth_to(&b, "va", "vb");
    // Someone else's address: listed, but not stamped as keel's.
    a.run_ok(&["ip", "addr", "add", "198.51.100.7/24", "dev", "va"]);

    let (mut nl, va) = a.enter(|| {
        let nl = Netlink::new().expect("netlink socket");
        let va = keel_vip::link_by_name("va").expect("va exists");
        (nl, va)
    });
    assert_eq!(va.name, "va");
    assert!(va.up);
    assert!(va.mac.is_some());
    assert_eq!(va.kind.as_deref(), Some("veth"));
    assert_eq!(nl.link_by_index(va.index).expect("by index").name, "va");

    let v4 = Vip::new("192.0.2.250".parse().unwrap(), va.index).with_label("va:1");
    let v4b = Vip::new("192.0.2.251".parse().unwrap(), va.index)
        .with_prefix(24)
        .with_scope(Scope::Link)
        .with_broadcast("192.0.2.255".parse().unwrap());
    let v6 = Vip::new("2001:db8::250".parse().unwrap(), va.index);

    for v in [&v4, &v4b, &v6] {
        assert_eq!(nl.add(v).expect("add"), Outcome::Done, "{v}");
        assert_eq!(nl.add(v).expect("re-add"), Outcome::AlreadyPresent, "{v}");
    }

    let ip = ip_addrs(&a, "va");
    let e = find(&ip, "192.0.2.250").expect("v4 VIP in ip -j addr");
    assert_eq!(e["prefixlen"], 32);
    assert_eq!(e["label"], "va:1");
    assert_eq!(e["scope"], "global");
    let e = find(&ip, "192.0.2.251").expect("second v4 VIP");
    assert_eq!(e["prefixlen"], 24);
    assert_eq!(e["scope"], "link");
    assert_eq!(e["broadcast"], "192.0.2.255");
    let e = find(&ip, "2001:db8::250").expect("v6 VIP in ip -j addr");
    assert_eq!(e["prefixlen"], 128);
    assert_eq!(e["scope"], "global");
    assert_eq!(e["nodad"], true, "IPv6 VIP must have nodad: {e}");
    assert!(e.get("tentative").is_none(), "nodad: never tentative: {e}");

    // list() reads back exactly what we asked for.
    let listed = nl.list(Some(va.index)).expect("list");
    for v in [&v4, &v4b, &v6] {
        assert!(listed.contains(v), "{v} missing from {listed:?}");
    }
    assert!(listed.iter().any(|v| v.addr.to_string() == "198.51.100.7"));
    // The stamp (IFA_PROTO) tells keel's addresses from the others.
    // (Kernels before 5.18 drop IFA_PROTO: then nothing is stamped.)
    let mut stamped = nl.list_stamped(Some(va.index)).expect("list_stamped");
    stamped.sort_by_key(|v| v.addr);
    let mut want = vec![v4.clone(), v4b.clone(), v6.clone()];
    want.sort_by_key(|v| v.addr);
    if !keel_vip::stamps_supported() {
        want.clear();
    }
    assert_eq!(stamped, want);
    // Another namespace's socket sees none of it.
    assert!(nl.list(Some(9999)).expect("list other").is_empty());

    for v in [&v4, &v4b, &v6] {
        assert_eq!(nl.del(v).expect("del"), Outcome::Done, "{v}");
        assert_eq!(nl.del(v).expect("re-del"), Outcome::AlreadyAbsent, "{v}");
    }
    let ip = ip_addrs(&a, "va");
    for gone in ["192.0.2.250", "192.0.2.251", "2001:db8::250"] {
        assert!(find(&ip, gone).is_none(), "{gone} still there: {ip:?}");
    }
    assert!(
        find(&ip, "198.51.100.7").is_some(),
        "foreign address untouched"
    );
    assert!(nl.list_stamped(None).expect("list_stamped").is_empty());
}

#[test]
fn batch_add_delete() {
    if !require_root("keel-vip batch in netns") {
        return;
    }
    let a = Netns::new("vipbatch");
    let b = Netns::new("vipbatch");
    a.veth_to(&b, "va", "vb");
    let (mut nl, idx) = a.enter(|| {
        let nl = Netlink::new().expect("netlink");
        (nl, keel_vip::link_by_name("va").expect("va").index)
    });
    let vips: Vec<Vip> = (1..=200u8)
        .map(|i| Vip::new(format!("203.0.113.{i}").parse().unwrap(), idx))
        .collect();
    // One already there: reported per VIP, the rest still done.
    assert_eq!(nl.add(&vips[7]).expect("add"), Outcome::Done);
    let r = nl.add_batch(&vips).expect("batch add");
    assert_eq!(r.len(), 200);
    for (i, o) in r.iter().enumerate() {
        let want = if i == 7 {
            Outcome::AlreadyPresent
        } else {
            Outcome::Done
        };
        assert_eq!(o.as_ref().expect("per-vip ok"), &want, "vip {i}");
    }
    let ip = ip_addrs(&a, "va");
    assert_eq!(
        ip.iter().filter(|e| e["family"] == "inet").count(),
        200,
        "all 200 addresses present"
    );
    let r = nl.del_many(&vips).expect("batch del (trait)");
    assert!(r.iter().all(|o| matches!(o, Ok(Outcome::Done))));
    assert!(ip_addrs(&a, "va").iter().all(|e| e["family"] != "inet"));
}

#[test]
fn missing_interface_is_named_in_error() {
    if !require_root("keel-vip missing interface") {
        return;
    }
    let a = Netns::new("vipnone");
    let (by_name, by_index, add) = a.enter(|| {
        let mut nl = Netlink::new().expect("netlink");
        let by_name = keel_vip::link_by_name("nosuch0");
        let by_index = nl.link_by_index(9999);
        let add = nl.add(&Vip::new("192.0.2.250".parse().unwrap(), 9999));
        (by_name, by_index, add)
    });
    let e = by_name.expect_err("nosuch0 must not exist");
    assert!(matches!(&e, Error::NoSuchInterface(n) if n == "nosuch0"));
    assert!(e.to_string().contains("nosuch0"), "{e}");
    assert!(matches!(by_index, Err(Error::NoSuchIndex(9999))));
    assert!(matches!(add, Err(Error::NoSuchIndex(9999))), "{add:?}");
}
