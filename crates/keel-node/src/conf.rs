//! From keel-conf's model to what the node runs (feature `conf`): one
//! [`InstanceSpec`] per vrrp_instance (the keel-election config, the VIPs as
//! keel-vip values, the tracked objects, notify scripts) and one
//! [`ScriptSpec`] per vrrp_script.
use crate::script::Users;
use crate::spec::{
    InstanceSpec, NodeSpec, Notifies, NotifyScript, SCRIPT_TRACK_BASE, ScriptSpec, TrackedIf,
    TrackedScript,
};
use crate::sys;
use keel_conf as conf;
use keel_election::{AuthConfig, InstanceConfig, Track, TrackId, Version};
use keel_script::Line;
use keel_vip::Vip;
use std::net::IpAddr;
use std::time::Duration;

fn cs(d: Duration) -> u16 {
    u16::try_from(d.as_millis().div_ceil(10)).unwrap_or(u16::MAX)
}

/// Interface facts the plan needs; a trait so tests can fake a host.
pub trait Host {
    /// Index of `name` (0 = absent).
    fn index(&self, name: &str) -> u32;
    /// Addresses on `name`, primary IPv4 first.
    fn addrs(&self, name: &str) -> Vec<IpAddr>;
}

/// A `Host` that asks `host` for each interface's addresses once.
struct CachedHost<'a> {
    host: &'a dyn Host,
    addrs: std::cell::RefCell<std::collections::HashMap<String, Vec<IpAddr>>>,
}

impl Host for CachedHost<'_> {
    fn index(&self, name: &str) -> u32 {
        self.host.index(name)
    }
    fn addrs(&self, name: &str) -> Vec<IpAddr> {
        self.addrs
            .borrow_mut()
            .entry(name.to_owned())
            .or_insert_with(|| self.host.addrs(name))
            .clone()
    }
}

/// The real host (the current network namespace).
#[derive(Debug, Clone, Copy)]
pub struct RealHost;

impl Host for RealHost {
    fn index(&self, name: &str) -> u32 {
        sys::if_index(name)
    }
    fn addrs(&self, name: &str) -> Vec<IpAddr> {
        sys::if_addrs(name).into_iter().map(|(a, _)| a).collect()
    }
}

fn notify_script(
    s: Option<&conf::Script>,
    users: &Users,
    notes: &mut Vec<String>,
) -> Option<Box<NotifyScript>> {
    let s = s?;
    let run_as = match users.resolve(s.user.as_ref()) {
        Ok(u) => u,
        Err(e) => {
            // refused at load (script::user_diagnostics); a user removed since
            notes.push(format!("notify script '{}' not run: {e}", s.command));
            return None;
        }
    };
    Some(Box::new(NotifyScript {
        cmd: Line::parse(&s.command).ok()?,
        line: s.command.clone(),
        run_as,
    }))
}

fn has_notify(vi: &conf::VrrpInstance) -> bool {
    let n = &vi.notify;
    [&n.notify, &n.master, &n.backup, &n.fault, &n.stop]
        .iter()
        .any(|s| s.is_some())
}

/// Build the plan of a configuration on `host`.
pub fn build(cfg: &conf::Config, host: &dyn Host) -> NodeSpec {
    // One address lookup per interface, not per instance: getifaddrs dumps
    // every link and address, and 5,000 instances spent ~1 s of startup there.
    let cached = CachedHost {
        host,
        addrs: std::cell::RefCell::default(),
    };
    let host: &dyn Host = &cached;
    let mut out = NodeSpec {
        script_security: cfg.global.enable_script_security,
        ..NodeSpec::default()
    };
    let users = Users::new(cfg);
    if let Some(w) = users.warning()
        && (!cfg.vrrp_scripts.is_empty() || cfg.vrrp_instances.iter().any(has_notify))
    {
        out.notes.push(w.to_owned());
    }
    for s in &cfg.vrrp_scripts {
        let Ok(cmd) = Line::parse(&s.script) else {
            out.problems
                .push(format!("VRRP_Script({}) has no usable script line", s.name));
            continue;
        };
        let (run_as, disabled) = match users.resolve(s.user.as_ref()) {
            Ok(u) => (u, false),
            Err(e) => {
                out.problems.push(format!("VRRP_Script({}) {e}", s.name));
                (None, true)
            }
        };
        out.scripts.push(ScriptSpec {
            name: s.name.clone(),
            line: s.script.clone(),
            cmd,
            interval: s.interval.max(Duration::from_millis(10)),
            timeout: s
                .timeout
                .unwrap_or(s.interval)
                .max(Duration::from_millis(10)),
            rise: s.rise,
            fall: s.fall,
            init_fail: s.init_fail,
            run_as,
            disabled,
        });
    }
    for vi in &cfg.vrrp_instances {
        match instance(vi, cfg, host, &out.scripts, &users) {
            Ok((p, notes)) => {
                out.notes.extend(notes);
                out.instances.push(p);
            }
            Err(e) => out.problems.push(format!("({}) {e}", vi.name)),
        }
    }
    for g in &cfg.sync_groups {
        if !g.track_interfaces.is_empty() || !g.track_scripts.is_empty() {
            out.notes.push(format!(
                "vrrp_sync_group {}: group-level track_interface/track_script are not supported by keeld yet (put them on the members)",
                g.name
            ));
        }
        let n = &g.notify;
        if n.notify.is_some()
            || n.master.is_some()
            || n.backup.is_some()
            || n.fault.is_some()
            || n.stop.is_some()
        {
            out.notes.push(format!(
                "vrrp_sync_group {}: group notify scripts are not supported by keeld yet",
                g.name
            ));
        }
        let members: Vec<String> = g
            .group
            .iter()
            .filter(|m| out.instances.iter().any(|p| &p.name == *m))
            .cloned()
            .collect();
        for p in &mut out.instances {
            if members.contains(&p.name) {
                p.sync_group = Some((g.name.clone(), members.clone()));
            }
        }
    }
    out
}

fn instance(
    vi: &conf::VrrpInstance,
    cfg: &conf::Config,
    host: &dyn Host,
    scripts: &[ScriptSpec],
    users: &Users,
) -> Result<(InstanceSpec, Vec<String>), String> {
    let g = &cfg.global;
    let mut notes = Vec::new();
    let ifname = vi
        .interface
        .clone()
        .ok_or_else(|| "no interface specified".to_owned())?;
    let ifindex = host.index(&ifname);
    if ifindex == 0 {
        return Err(format!("interface {ifname} does not exist"));
    }
    let vip_addrs: Vec<&conf::VirtualIp> = vi
        .virtual_ipaddress
        .iter()
        .filter(|v| v.addr.is_some())
        .collect();
    let v6 = vip_addrs
        .first()
        .and_then(|v| v.addr)
        .is_some_and(|a| a.is_ipv6());
    let mut version = match vi.effective_version(g) {
        conf::VrrpVersion::V2 => Version::V2,
        conf::VrrpVersion::V3 => Version::V3,
    };
    if v6 && version == Version::V2 {
        notes.push(format!(
            "({}) IPv6 virtual addresses need VRRPv3: using version 3",
            vi.name
        ));
        version = Version::V3;
    }
    let addrs = host.addrs(&ifname);
    let primary = match vi.unicast_src_ip {
        Some(a) => a,
        None if v6 => addrs
            .iter()
            .copied()
            .find(|a| matches!(a, IpAddr::V6(x) if x.is_unicast_link_local()))
            .ok_or_else(|| format!("no IPv6 link-local address on {ifname}"))?,
        None => addrs
            .iter()
            .copied()
            .find(IpAddr::is_ipv4)
            .ok_or_else(|| format!("no IPv4 address on {ifname}"))?,
    };
    let mut e = InstanceConfig::new(&vi.name, vi.virtual_router_id, vi.priority, primary);
    e.version = version;
    e.adver_int_cs = cs(vi.advert_int);
    e.initial = vi.state;
    e.nopreempt = vi.nopreempt;
    e.preempt_delay = vi.preempt_delay;
    e.auth = match (&vi.authentication, version) {
        (Some(a), Version::V2) if a.auth_type == conf::AuthType::Pass => {
            AuthConfig::pass(&a.auth_pass)
        }
        (Some(_), Version::V2) => {
            notes.push(format!(
                "({}) auth_type AH is not supported: sending without authentication",
                vi.name
            ));
            AuthConfig::None
        }
        (Some(_), Version::V3) => {
            notes.push(format!(
                "({}) vrrp_version 3 does not support authentication. Ignoring.",
                vi.name
            ));
            AuthConfig::None
        }
        (None, _) => AuthConfig::None,
    };
    // With peers, the node accepts adverts from them only, whether or not
    // `vrrp_check_unicast_src` is set (keepalived checks only with it): the
    // keyword needs no mapping. Without peers, multicast only (issue 17).
    e.unicast_peers = vi.unicast_peers.clone();
    let delay = vi.garp_master_delay.unwrap_or(g.vrrp_garp_master_delay);
    e.garp_master_delay = (!delay.is_zero()).then_some(delay);
    e.garp_repeat = vi.garp_master_repeat.unwrap_or(g.vrrp_garp_master_repeat);
    e.garp_refresh = vi
        .garp_master_refresh
        .or(g.vrrp_garp_master_refresh)
        .filter(|d| !d.is_zero());
    e.garp_refresh_repeat = vi
        .garp_master_refresh_repeat
        .unwrap_or(g.vrrp_garp_master_refresh_repeat);
    e.garp_interval = g.vrrp_garp_interval;
    let mut vips = Vec::new();
    for v in vip_addrs {
        let Some(addr) = v.addr else { continue };
        if addr.is_ipv6() != v6 {
            notes.push(format!(
                "({}) virtual address {addr} is of the other family: ignored",
                vi.name
            ));
            continue;
        }
        let dev = v.dev.clone().unwrap_or_else(|| ifname.clone());
        let idx = host.index(&dev);
        if idx == 0 {
            return Err(format!("interface {dev} of VIP {addr} does not exist"));
        }
        let mut vip = Vip::new(addr, idx).with_prefix(v.prefix_len);
        if let Some(l) = &v.label {
            vip = vip.with_label(l.clone());
        }
        if let Some(b) = v.brd {
            vip = vip.with_broadcast(b);
        }
        vip.scope = v.scope;
        e.vips.push(addr);
        vips.push((vip, dev));
    }
    let mut track_ifs = Vec::new();
    for t in &vi.track_interfaces {
        let idx = host.index(&t.name);
        if idx == 0 {
            notes.push(format!(
                "({}) tracked interface {} does not exist: treated as down",
                vi.name, t.name
            ));
        }
        let id = if idx != 0 {
            TrackId((1 << 23) | idx)
        } else {
            TrackId((1 << 22) + track_ifs.len() as u32)
        };
        let mut tr = Track::new(id, t.weight.unwrap_or(0));
        tr.initially_up = idx != 0;
        e.tracks.push(tr);
        track_ifs.push(TrackedIf {
            id,
            ifindex: idx,
            name: t.name.clone(),
            reverse: t.reverse,
        });
    }
    let mut track_scripts = Vec::new();
    for t in &vi.track_scripts {
        let Some(pos) = scripts.iter().position(|s| s.name == t.name) else {
            notes.push(format!(
                "({}) track_script {} has no vrrp_script: ignored",
                vi.name, t.name
            ));
            continue;
        };
        let sc = cfg.vrrp_scripts.iter().find(|s| s.name == t.name);
        let weight = t.weight.or(sc.map(|s| s.weight)).unwrap_or(0);
        let reverse = t.reverse || sc.is_some_and(|s| s.weight_reverse);
        let id = TrackId(SCRIPT_TRACK_BASE + pos as u32);
        let mut tr = Track::new(id, weight);
        tr.initially_up = !scripts[pos].init_fail;
        e.tracks.push(tr);
        track_scripts.push(TrackedScript {
            id,
            script: t.name.clone(),
            reverse,
        });
    }
    if let Err(err) = e.validate() {
        return Err(err.to_string());
    }
    let mut routes = Vec::new();
    for r in &vi.virtual_routes {
        let Some(dst) = r.dst else { continue };
        let mut vr = keel_vip::VirtualRoute::new(dst.addr(), dst.prefix_len());
        vr.gateway = r.via;
        vr.src = r.src;
        vr.metric = r.metric;
        if let Some(t) = r.table {
            vr.table = t;
        }
        if let Some(dev) = &r.dev {
            let idx = host.index(dev);
            if idx == 0 {
                return Err(format!(
                    "interface {dev} of virtual route {dst} does not exist"
                ));
            }
            vr.ifindex = Some(idx);
        }
        vr.scope = r.scope;
        if r.blackhole {
            vr.kind = keel_vip::RouteKind::Blackhole;
        }
        if let Err(e) = vr.validate() {
            return Err(format!("virtual route {dst}: {e}"));
        }
        routes.push(vr);
    }
    let n = &vi.notify;
    let notify = Notifies {
        generic: notify_script(n.notify.as_ref(), users, &mut notes),
        master: notify_script(n.master.as_ref(), users, &mut notes),
        backup: notify_script(n.backup.as_ref(), users, &mut notes),
        fault: notify_script(n.fault.as_ref(), users, &mut notes),
        stop: notify_script(n.stop.as_ref(), users, &mut notes),
    };
    Ok((
        InstanceSpec {
            name: vi.name.clone(),
            ifname,
            ifindex,
            v6,
            election: e,
            vips,
            track_ifs,
            track_scripts,
            notify,
            sync_group: None,
            routes,
        },
        notes,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FakeHost;
    impl Host for FakeHost {
        fn index(&self, name: &str) -> u32 {
            match name {
                "eth0" => 2,
                "eth1" => 3,
                _ => 0,
            }
        }
        fn addrs(&self, name: &str) -> Vec<IpAddr> {
            match name {
                "eth0" => vec![
                    "192.0.2.10".parse().unwrap(),
                    "fe80::1".parse().unwrap(),
                    "192.0.2.99".parse().unwrap(),
                ],
                _ => vec![],
            }
        }
    }

    fn vip(a: &str) -> conf::VirtualIp {
        let addr: IpAddr = a.parse().unwrap();
        conf::VirtualIp {
            addr: Some(addr),
            prefix_len: if addr.is_ipv4() { 32 } else { 128 },
            ..Default::default()
        }
    }

    /// The guide's master config, as keel-conf's model.
    fn guide() -> conf::Config {
        conf::Config {
            vrrp_instances: vec![conf::VrrpInstance {
                name: "VI_1".into(),
                state: conf::InitialState::Master,
                interface: Some("eth0".into()),
                virtual_router_id: 51,
                priority: 100,
                advert_int: Duration::from_secs(1),
                authentication: Some(conf::Authentication {
                    auth_type: conf::AuthType::Pass,
                    auth_pass: "123.123".into(),
                    ..Default::default()
                }),
                virtual_ipaddress: vec![vip("192.0.2.250")],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn guide_master_config() {
        let p = build(&guide(), &FakeHost);
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        let i = &p.instances[0];
        assert_eq!((i.ifname.as_str(), i.ifindex, i.v6), ("eth0", 2, false));
        let e = &i.election;
        assert_eq!((e.vrid, e.base_priority, e.adver_int_cs), (51, 100, 100));
        assert_eq!(e.version, Version::V2);
        assert_eq!(e.initial, conf::InitialState::Master);
        assert_eq!(e.primary_addr, "192.0.2.10".parse::<IpAddr>().unwrap());
        assert_eq!(e.auth, AuthConfig::pass("123.123"));
        assert_eq!(e.vips, vec!["192.0.2.250".parse::<IpAddr>().unwrap()]);
        assert_eq!(e.garp_master_delay, Some(Duration::from_secs(5)));
        assert_eq!(e.garp_repeat, 5);
        assert_eq!(i.vips[0].0.prefix_len, 32);
        assert_eq!(i.vips[0].0.ifindex, 2);
    }

    #[test]
    fn v3_unicast_src_tracks_and_missing_interface() {
        let mut v = vip("192.0.2.251");
        v.prefix_len = 24;
        v.dev = Some("eth1".into());
        let cfg = conf::Config {
            vrrp_scripts: vec![conf::VrrpScript {
                name: "chk".into(),
                script: "/bin/true".into(),
                interval: Duration::from_secs(2),
                weight: -20,
                fall: 2,
                rise: 3,
                init_fail: true,
                ..Default::default()
            }],
            vrrp_instances: vec![
                conf::VrrpInstance {
                    name: "VI_1".into(),
                    interface: Some("eth0".into()),
                    virtual_router_id: 7,
                    priority: 90,
                    advert_int: Duration::from_millis(100),
                    version: Some(conf::VrrpVersion::V3),
                    unicast_src_ip: Some("192.0.2.99".parse().unwrap()),
                    unicast_peers: vec!["192.0.2.11".parse().unwrap()],
                    track_interfaces: vec![conf::TrackInterface {
                        name: "eth1".into(),
                        weight: Some(-10),
                        ..Default::default()
                    }],
                    track_scripts: vec![conf::TrackScript {
                        name: "chk".into(),
                        ..Default::default()
                    }],
                    notify: conf::Notify {
                        notify: Some(conf::Script {
                            command: "/bin/echo hi".into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                    virtual_ipaddress: vec![v],
                    ..Default::default()
                },
                conf::VrrpInstance {
                    name: "VI_2".into(),
                    interface: Some("nope0".into()),
                    virtual_router_id: 8,
                    virtual_ipaddress: vec![vip("192.0.2.252")],
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let p = build(&cfg, &FakeHost);
        assert_eq!(p.instances.len(), 1);
        assert_eq!(p.problems.len(), 1, "{:?}", p.problems);
        assert!(p.problems[0].contains("nope0"), "{:?}", p.problems);
        let i = &p.instances[0];
        let e = &i.election;
        assert_eq!(e.version, Version::V3);
        assert_eq!(e.adver_int_cs, 10);
        assert_eq!(e.primary_addr, "192.0.2.99".parse::<IpAddr>().unwrap());
        assert_eq!(
            e.unicast_peers,
            vec!["192.0.2.11".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(e.tracks.len(), 2);
        assert_eq!(e.tracks[0].weight, -10);
        assert_eq!(e.tracks[1].weight, -20);
        assert!(!e.tracks[1].initially_up, "init_fail");
        assert_eq!(i.vips[0].0.ifindex, 3);
        assert_eq!(i.vips[0].0.prefix_len, 24);
        assert_eq!(i.vips[0].1, "eth1");
        assert_eq!(p.scripts[0].rise, 3);
        assert_eq!(p.scripts[0].interval, Duration::from_secs(2));
        assert_eq!(
            i.notify.generic.as_ref().map(|n| n.cmd.argv().to_vec()),
            Some(vec!["/bin/echo".to_owned(), "hi".to_owned()])
        );
    }

    #[test]
    fn sync_group_membership() {
        let mut cfg = guide();
        let mut vi2 = cfg.vrrp_instances[0].clone();
        vi2.name = "VI_2".into();
        vi2.virtual_router_id = 52;
        cfg.vrrp_instances.push(vi2);
        cfg.sync_groups.push(conf::SyncGroup {
            name: "G1".into(),
            group: vec!["VI_1".into(), "VI_2".into(), "VI_missing".into()],
            ..Default::default()
        });
        let p = build(&cfg, &FakeHost);
        let want = Some(("G1".to_owned(), vec!["VI_1".to_owned(), "VI_2".to_owned()]));
        assert_eq!(p.instances[0].sync_group, want);
        assert_eq!(p.instances[1].sync_group, want);
        assert!(build(&guide(), &FakeHost).instances[0].sync_group.is_none());
    }

    #[test]
    fn ipv6_instance_uses_link_local_and_v3() {
        let cfg = conf::Config {
            vrrp_instances: vec![conf::VrrpInstance {
                name: "VI_6".into(),
                interface: Some("eth0".into()),
                virtual_router_id: 9,
                virtual_ipaddress: vec![vip("2001:db8::250")],
                ..Default::default()
            }],
            ..Default::default()
        };
        let p = build(&cfg, &FakeHost);
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        let i = &p.instances[0];
        assert!(i.v6);
        assert_eq!(i.election.version, Version::V3);
        assert_eq!(
            i.election.primary_addr,
            "fe80::1".parse::<IpAddr>().unwrap()
        );
    }
}
