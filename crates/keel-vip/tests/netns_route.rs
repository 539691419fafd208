//! virtual_routes and use_vmac against the real kernel.

use keel_testkit::{Netns, require_root};
use keel_vip::{
    Announcer, Errno, Error, Netlink, Outcome, RouteKind, Vip, VipControl, VirtualRoute, Vmac,
    VmacMode,
};
use serde_json::Value;

fn json(ns: &Netns, argv: &[&str]) -> Value {
    serde_json::from_str(&ns.run_ok(argv)).expect("ip -j output is JSON")
}

fn routes(ns: &Netns, family: &str, table: &str) -> Vec<Value> {
    json(ns, &["ip", "-j", family, "route", "show", "table", table])
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn find<'a>(rs: &'a [Value], dst: &str) -> Option<&'a Value> {
    rs.iter().find(|r| r["dst"] == dst)
}

#[test]
fn virtual_routes_add_delete() {
    if !require_root("keel-vip virtual routes") {
        return;
    }
    let a = Netns::new("vroute");
    let b = Netns::new("vroute");
    a.veth_to(&b, "va", "vb");
    a.run_ok(&["ip", "addr", "add", "192.0.2.1/24", "dev", "va"]);
    a.run_ok(&["ip", "addr", "add", "2001:db8::1/64", "dev", "va", "nodad"]);
    let (mut nl, va) = a.enter(|| {
        (
            Netlink::new().expect("netlink"),
            keel_vip::link_by_name("va").expect("va").index,
        )
    });
    let vip = Vip::new("192.0.2.250".parse().unwrap(), va);
    nl.add(&vip).expect("vip");

    let mut via = VirtualRoute::new("198.51.100.0".parse().unwrap(), 24);
    via.gateway = Some("192.0.2.2".parse().unwrap());
    via.ifindex = Some(va);
    via.src = Some(vip.addr);
    via.metric = Some(50);
    let mut dev = VirtualRoute::new("203.0.113.0".parse().unwrap(), 25);
    dev.ifindex = Some(va);
    let mut bh = VirtualRoute::new("203.0.113.128".parse().unwrap(), 25);
    bh.kind = RouteKind::Blackhole;
    bh.table = 1000;
    let mut v6 = VirtualRoute::new("2001:db8:1::".parse().unwrap(), 48);
    v6.gateway = Some("2001:db8::2".parse().unwrap());
    v6.ifindex = Some(va);

    for r in [&via, &dev, &bh, &v6] {
        assert_eq!(nl.add_route(r).expect("add"), Outcome::Done, "{r:?}");
        assert_eq!(
            nl.add_route(r).expect("re-add"),
            Outcome::AlreadyPresent,
            "{r:?}"
        );
    }

    let main4 = routes(&a, "-4", "main");
    let r = find(&main4, "198.51.100.0/24").expect("via route");
    assert_eq!(r["gateway"], "192.0.2.2");
    assert_eq!(r["dev"], "va");
    assert_eq!(r["prefsrc"], "192.0.2.250");
    assert_eq!(r["metric"], 50);
    assert_eq!(r["protocol"], "107", "stamped with keel's proto: {r}");
    let r = find(&main4, "203.0.113.0/25").expect("dev route");
    assert_eq!(
        (r["dev"].as_str(), r["scope"].as_str()),
        (Some("va"), Some("link"))
    );
    let t1000 = routes(&a, "-4", "1000");
    let r = find(&t1000, "203.0.113.128/25").expect("blackhole in table 1000");
    assert_eq!(r["type"], "blackhole");
    let main6 = routes(&a, "-6", "main");
    let r = find(&main6, "2001:db8:1::/48").expect("v6 route");
    assert_eq!(r["gateway"], "2001:db8::2");

    // Someone else's identical route is not keel's to delete.
    a.run_ok(&["ip", "route", "add", "198.51.100.128/25", "dev", "va"]);
    let mut foreign = VirtualRoute::new("198.51.100.128".parse().unwrap(), 25);
    foreign.ifindex = Some(va);
    assert_eq!(
        nl.del_route(&foreign).expect("del foreign"),
        Outcome::AlreadyAbsent
    );
    assert!(find(&routes(&a, "-4", "main"), "198.51.100.128/25").is_some());

    for r in [&via, &dev, &bh, &v6] {
        assert_eq!(nl.del_route(r).expect("del"), Outcome::Done, "{r:?}");
        assert_eq!(
            nl.del_route(r).expect("re-del"),
            Outcome::AlreadyAbsent,
            "{r:?}"
        );
    }
    assert!(find(&routes(&a, "-4", "main"), "198.51.100.0/24").is_none());
    assert!(find(&routes(&a, "-4", "main"), "203.0.113.0/25").is_none());
    assert!(find(&routes(&a, "-4", "1000"), "203.0.113.128/25").is_none());
    assert!(find(&routes(&a, "-6", "main"), "2001:db8:1::/48").is_none());
}

#[test]
fn vmac_create_announce_delete() {
    if !require_root("keel-vip use_vmac") {
        return;
    }
    let a = Netns::new("vmac");
    let b = Netns::new("vmac");
    a.veth_to(&b, "va", "vb");
    b.run_ok(&["ip", "addr", "add", "192.0.2.2/24", "dev", "vb"]);
    let (mut nl, va, ann) = a.enter(|| {
        (
            Netlink::new().expect("netlink"),
            keel_vip::link_by_name("va").expect("va").index,
            Announcer::new().expect("packet socket"),
        )
    });
    let spec = Vmac::new(va, 51, false);
    let (o, link) = nl.add_vmac(&spec).expect("vmac");
    assert_eq!(o, Outcome::Done);
    assert_eq!(link.name, "vrrp.51");
    assert_eq!(link.mac, Some([0, 0, 0x5e, 0, 1, 51]));
    assert!(link.up);
    let (o2, link2) = nl.add_vmac(&spec).expect("again");
    assert_eq!((o2, link2.index), (Outcome::AlreadyPresent, link.index));

    let d = json(&a, &["ip", "-j", "-d", "link", "show", "vrrp.51"]);
    let d = &d[0];
    assert_eq!(d["address"], "00:00:5e:00:01:33");
    assert_eq!(d["link"], "va");
    assert_eq!(d["linkinfo"]["info_kind"], "macvlan");
    assert_eq!(d["linkinfo"]["info_data"]["mode"], "private");
    assert!(
        d["flags"]
            .as_array()
            .expect("flags")
            .iter()
            .any(|f| f == "UP")
    );
    assert_eq!(d["inet6_addr_gen_mode"], "none");
    let ll = a.run_ok(&["ip", "-6", "addr", "show", "dev", "vrrp.51"]);
    assert!(
        !ll.contains("fe80"),
        "no link-local from the virtual MAC: {ll}"
    );

    // IPv6 VMAC in bridge mode.
    let mut spec6 = Vmac::new(va, 51, true);
    spec6.mode = VmacMode::Bridge;
    let (_, l6) = nl.add_vmac(&spec6).expect("vmac6");
    let d6 = json(&a, &["ip", "-j", "-d", "link", "show", "vrrp6.51"]);
    assert_eq!(d6[0]["address"], "00:00:5e:00:02:33");
    assert_eq!(d6[0]["linkinfo"]["info_data"]["mode"], "bridge");

    // Another interface under the name: not "already present".
    let clash = Vmac {
        name: "va".into(),
        ..spec.clone()
    };
    assert!(matches!(
        nl.add_vmac(&clash),
        Err(Error::Kernel { errno, .. }) if errno == Errno::EEXIST
    ));

    // A GARP from the VMAC: the neighbour learns the virtual MAC.
    b.run_ok(&[
        "ip",
        "neigh",
        "add",
        "192.0.2.250",
        "lladdr",
        "02:00:00:00:00:99",
        "dev",
        "vb",
        "nud",
        "stale",
    ]);
    ann.garp(link.index, spec.mac(), "192.0.2.250".parse().unwrap())
        .expect("garp");
    let mut learned = String::new();
    for _ in 0..100 {
        let n = json(
            &b,
            &["ip", "-j", "neigh", "show", "192.0.2.250", "dev", "vb"],
        );
        learned = n[0]["lladdr"].as_str().unwrap_or("").to_owned();
        if learned == "00:00:5e:00:01:33" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(learned, "00:00:5e:00:01:33");

    assert!(matches!(nl.del_vmac(va), Err(Error::NotMacvlan(n)) if n == "va"));
    assert_eq!(nl.del_vmac(link.index).expect("del"), Outcome::Done);
    assert_eq!(
        nl.del_vmac(link.index).expect("re-del"),
        Outcome::AlreadyAbsent
    );
    assert_eq!(nl.del_vmac(l6.index).expect("del6"), Outcome::Done);
    assert!(!a.run(&["ip", "link", "show", "vrrp.51"]).status.success());
    assert!(a.run(&["ip", "link", "show", "va"]).status.success());
}
