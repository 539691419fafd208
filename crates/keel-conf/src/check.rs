//! Checks that need the whole model: versions and advert intervals, duplicate VRIDs,
//! address families, references between blocks, and the host's interfaces.

use crate::build::Side;
use crate::diag::{Code, Severity};
use crate::diags::Diags;
use crate::model::*;
use std::collections::HashMap;
use std::time::Duration;

/// Interface, VRID, IPv6?, version.
type VridKey = (String, u8, bool, VrrpVersion);

/// What tells instances sharing a VRID apart (keepalived's duplicate-VRID rule).
struct VridUser {
    peers: Vec<std::net::IpAddr>,
    src: Option<std::net::IpAddr>,
    mcast: Option<std::net::IpAddr>,
}

/// Most addresses one VRRP advert carries (its count field is one byte).
const MAX_ADVERT_ADDRS: usize = 255;

fn interface_exists(name: &str) -> bool {
    !name.is_empty()
        && !name.contains('/')
        && std::path::Path::new("/sys/class/net").join(name).exists()
}

pub(crate) fn check(cfg: &mut Config, side: &Side, d: &mut Diags, check_env: bool) {
    let global_version = cfg.global.vrrp_version;
    if cfg.global.keel_anycast.is_none() {
        for (vs, head) in cfg.virtual_servers.iter().zip(&side.vs_heads) {
            if vs.announce.is_some() {
                d.error_hint(
                    Code::Missing,
                    *head,
                    "virtual_server has 'announce' but global_defs has no keel_anycast speaker",
                    "add global_defs { keel_anycast { speaker gobgp 127.0.0.1:50051 } } (or bird, exabgp, kernel)",
                );
            }
        }
    }
    // Per instance.
    let mut by_vrid: HashMap<VridKey, Vec<(usize, VridUser)>> = HashMap::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    for (i, v) in cfg.vrrp_instances.iter_mut().enumerate() {
        let Some(p) = side.inst.get(i) else { continue };
        let version = v.version.unwrap_or(global_version);
        if let Some(first) = by_name.get(&v.name) {
            let fl = side.inst.get(*first).map_or(0, |x| x.head.line);
            d.error_hint(
                Code::Conflict,
                p.head,
                format!("vrrp_instance {} is defined twice", v.name),
                format!("first defined at line {fl}"),
            );
        } else {
            by_name.insert(v.name.clone(), i);
        }
        if p.vrid.is_none() {
            d.error_hint(
                Code::Missing,
                p.head,
                format!("vrrp_instance {} has no virtual_router_id", v.name),
                "add virtual_router_id 1..255 (the same on every node of the group)",
            );
        }
        if v.interface.is_none() {
            d.error_hint(
                Code::Missing,
                p.head,
                format!("vrrp_instance {} has no interface", v.name),
                "add interface IFNAME",
            );
        }
        // advert_int per version.
        if let Some(ap) = p.advert {
            let a = v.advert_int;
            match version {
                VrrpVersion::V2 => {
                    if a.subsec_nanos() != 0 || a.is_zero() {
                        let up =
                            Duration::from_secs(a.as_secs() + u64::from(a.subsec_nanos() != 0))
                                .max(Duration::from_secs(1));
                        d.warn_hint(
                            Code::InvalidValue,
                            ap,
                            format!(
                                "VRRPv2 advert_int is whole seconds; {} is rounded up to {} s",
                                crate::values::fmt_secs(a),
                                up.as_secs()
                            ),
                            "use version 3 for sub-second adverts",
                        );
                        v.advert_int = up;
                    }
                    if v.advert_int > Duration::from_secs(255) {
                        d.error_hint(
                            Code::InvalidValue,
                            ap,
                            "advert_int is out of range for VRRPv2",
                            "VRRPv2 advert_int takes 1..255 seconds",
                        );
                        v.advert_int = Duration::from_secs(1);
                    }
                }
                VrrpVersion::V3 => {
                    let cs = a.as_micros().div_ceil(10_000);
                    if cs == 0 || cs > 4095 {
                        d.error_hint(
                            Code::InvalidValue,
                            ap,
                            "advert_int is out of range for VRRPv3",
                            "VRRPv3 advert_int takes 0.01..40.95 seconds",
                        );
                        v.advert_int = Duration::from_secs(1);
                    } else if a.as_micros() % 10_000 != 0 {
                        let up = Duration::from_millis(cs as u64 * 10);
                        d.warn_hint(
                            Code::InvalidValue,
                            ap,
                            format!(
                                "VRRPv3 advert_int has centisecond resolution; rounded up to {}",
                                crate::values::fmt_secs(up)
                            ),
                            "write a multiple of 0.01",
                        );
                        v.advert_int = up;
                    }
                }
            }
        }
        // What keepalived does to contradictory settings (vrrp.c), said as warnings; the
        // model is changed the same way so it describes what will run.
        let strict = cfg.global.vrrp_strict;
        if strict {
            if let (Some(ap), Some(_)) = (p.auth, &v.authentication) {
                d.warn_hint(
                    Code::Conflict,
                    ap,
                    "vrrp_strict does not allow authentication; it is ignored",
                    "remove the authentication block or vrrp_strict",
                );
                v.authentication = None;
            }
            if let (Some(up), false) = (p.unicast_peer, v.unicast_peers.is_empty()) {
                d.warn_hint(
                    Code::Conflict,
                    up,
                    "vrrp_strict does not allow unicast peers (keepalived refuses them on multicast-capable interfaces)",
                    "remove unicast_peer or vrrp_strict",
                );
            }
            let owner = v.priority == 255;
            if (v.state == InitialState::Master) != owner {
                let at = p.state.unwrap_or(p.head);
                d.warn_hint(
                    Code::Conflict,
                    at,
                    format!(
                        "vrrp_strict: state {} must match being the address owner (priority 255)",
                        if owner { "BACKUP" } else { "MASTER" }
                    ),
                    format!(
                        "the instance starts as {}",
                        if owner { "MASTER" } else { "BACKUP" }
                    ),
                );
                v.state = if owner {
                    InitialState::Master
                } else {
                    InitialState::Backup
                };
            }
        }
        // keepalived (vrrp.c): "Initial state master is incompatible with AH
        // authentication - clearing".
        if v.state == InitialState::Master
            && v.authentication
                .as_ref()
                .is_some_and(|a| a.auth_type == AuthType::Ah)
        {
            d.warn_hint(
                Code::Conflict,
                p.state.unwrap_or(p.head),
                "state MASTER does not work with AH authentication; the instance starts as BACKUP",
                "keepalived 2.2.7 clears it too",
            );
            v.state = InitialState::Backup;
        }
        if v.priority == 255 && v.nopreempt {
            d.warn(Code::Conflict, p.nopreempt.unwrap_or(p.head), "nopreempt has no effect with priority 255 (the address owner always preempts); ignored");
            v.nopreempt = false;
        }
        if v.state == InitialState::Master {
            if v.nopreempt {
                d.warn_hint(
                    Code::Conflict,
                    p.nopreempt.unwrap_or(p.head),
                    "nopreempt does not work with state MASTER; ignored",
                    "use state BACKUP on every node with nopreempt",
                );
                v.nopreempt = false;
            }
            if !v.preempt_delay.is_zero() {
                d.warn_hint(
                    Code::Conflict,
                    p.preempt_delay.unwrap_or(p.head),
                    "preempt_delay does not work with state MASTER; ignored",
                    "use state BACKUP on every node with preempt_delay",
                );
                v.preempt_delay = Duration::ZERO;
            }
        }
        if strict && !v.preempt_delay.is_zero() {
            d.warn(
                Code::Conflict,
                p.preempt_delay.unwrap_or(p.head),
                "preempt_delay is not allowed with vrrp_strict; ignored",
            );
            v.preempt_delay = Duration::ZERO;
        }
        // keepalived 2.2.7 reports this as a configuration error ("VRRP version 3 does
        // not support authentication"); IPv6 instances are always VRRPv3.
        let v6 = v
            .virtual_ipaddress
            .first()
            .and_then(|x| x.addr)
            .is_some_and(|a| a.is_ipv6());
        if let (Some(ap), true, true) = (
            p.auth,
            version == VrrpVersion::V3 || v6,
            v.authentication.is_some(),
        ) {
            d.error_hint(
                Code::Conflict,
                ap,
                if v6 {
                    "an IPv6 instance is VRRPv3, which has no authentication"
                } else {
                    "VRRPv3 has no authentication"
                },
                "remove the authentication block (or use version 2 with IPv4)",
            );
        }
        // Address families.
        let fam = v
            .virtual_ipaddress
            .first()
            .and_then(|x| x.addr)
            .map(|a| a.is_ipv6());
        if let Some(f) = fam {
            for (j, vip) in v.virtual_ipaddress.iter().enumerate().skip(1) {
                if vip.addr.map(|a| a.is_ipv6()) != Some(f) {
                    let at = p.vips.get(j).copied().unwrap_or(p.head);
                    d.error_hint(
                        Code::Conflict,
                        at,
                        format!("vrrp_instance {} mixes IPv4 and IPv6 virtual addresses", v.name),
                        "one VRRP instance advertises one family; put the other family in its own instance or in virtual_ipaddress_excluded",
                    );
                    break;
                }
            }
        }
        // The advert's address count is one byte: an instance advertising more than 255
        // addresses could never send an advert (every peer would take over).
        if v.virtual_ipaddress.len() > MAX_ADVERT_ADDRS {
            let at = p.vips.get(MAX_ADVERT_ADDRS).copied().unwrap_or(p.head);
            d.error_hint(
                Code::InvalidValue,
                at,
                format!(
                    "vrrp_instance {} has {} virtual addresses; a VRRP advert carries at most {MAX_ADVERT_ADDRS}",
                    v.name,
                    v.virtual_ipaddress.len()
                ),
                "move the addresses that need not be advertised to virtual_ipaddress_excluded (they move with the instance all the same)",
            );
        }
        // Duplicate VRID on one interface (per family and version), by keepalived's
        // rule (vrrp.c): unicast and multicast instances are separate VRID spaces; two
        // unicast instances conflict only when they share a peer (and source address);
        // two multicast instances only when they use the same group (mcast_dst_ip).
        if let (Some(ifname), Some(f)) = (&v.interface, fam)
            && v.virtual_router_id != 0
        {
            let key = (ifname.clone(), v.virtual_router_id, f, version);
            let earlier = by_vrid.entry(key).or_default();
            for &(first, ref o) in earlier.iter() {
                let fl = side.inst.get(first).map_or(0, |x| x.head.line);
                let at = p.vrid.unwrap_or(p.head);
                let unicast = !v.unicast_peers.is_empty();
                let other_unicast = !o.peers.is_empty();
                if unicast != other_unicast {
                    continue;
                }
                if unicast {
                    let src_differs =
                        matches!((v.unicast_src_ip, o.src), (Some(a), Some(b)) if a != b);
                    if src_differs || !v.unicast_peers.iter().any(|a| o.peers.contains(a)) {
                        continue;
                    }
                } else if p.mcast_dst != o.mcast {
                    d.warn_hint(
                        Code::Conflict,
                        at,
                        format!(
                            "virtual_router_id {} is also used on {} by the instance at line {fl}; keepalived keeps them apart by mcast_dst_ip, which keel does not implement",
                            v.virtual_router_id, ifname
                        ),
                        "keel sends both to the standard group, where they collide: give one of them its own VRID",
                    );
                    break;
                }
                d.error_hint(
                    Code::Conflict,
                    at,
                    format!("virtual_router_id {} is already used on {} by another instance", v.virtual_router_id, ifname),
                    format!("instance at line {fl} uses it; each instance on an interface needs its own VRID"),
                );
                break;
            }
            earlier.push((
                i,
                VridUser {
                    peers: v.unicast_peers.clone(),
                    src: v.unicast_src_ip,
                    mcast: p.mcast_dst,
                },
            ));
        }
        if let Some(up) = v.unicast_src_ip
            && let Some(peer) = v.unicast_peers.iter().find(|a| a.is_ipv4() != up.is_ipv4())
        {
            d.error(
                Code::Conflict,
                p.head,
                format!("unicast_src_ip {up} and unicast_peer {peer} are of different families"),
            );
        }
        // Environment.
        if check_env && !cfg.global.dynamic_interfaces {
            if let (Some(ifname), Some(ip)) = (&v.interface, p.interface)
                && !interface_exists(ifname)
            {
                d.push(
                    Severity::Warning,
                    Code::Environment,
                    ip,
                    format!("interface {ifname} does not exist on this host"),
                    Some("keeld disables the instance until the interface exists and it is reloaded (SIGHUP)".into()),
                );
            }
            for (j, t) in v.track_interfaces.iter().enumerate() {
                if !interface_exists(&t.name) {
                    let at = side.inst[i].track_ifs.get(j).copied().unwrap_or(p.head);
                    d.warn(
                        Code::Environment,
                        at,
                        format!("tracked interface {} does not exist on this host", t.name),
                    );
                }
            }
            for &(j, at) in &p.vip_devs {
                if let Some(dev) = v.virtual_ipaddress.get(j).and_then(|x| x.dev.as_ref())
                    && !interface_exists(dev)
                {
                    d.warn(
                        Code::Environment,
                        at,
                        format!("interface {dev} does not exist on this host"),
                    );
                }
            }
        }
    }
    // Track scripts must exist.
    let scripts: HashMap<&str, usize> = cfg
        .vrrp_scripts
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    for (i, v) in cfg.vrrp_instances.iter().enumerate() {
        for (j, t) in v.track_scripts.iter().enumerate() {
            if !scripts.contains_key(t.name.as_str()) {
                let at = side
                    .inst
                    .get(i)
                    .and_then(|p| p.track_scripts.get(j))
                    .copied()
                    .unwrap_or_default();
                let names: Vec<&str> = scripts.keys().copied().collect();
                let hint = near(&t.name, &names)
                    .map(|n| format!("did you mean '{n}'?"))
                    .unwrap_or("define it with vrrp_script NAME { script ... }".into());
                d.error_hint(
                    Code::Missing,
                    at,
                    format!("track_script {} is not a defined vrrp_script", t.name),
                    hint,
                );
            }
        }
    }
    for (i, s) in cfg.vrrp_scripts.iter().enumerate() {
        if !side.script_has_script.get(i).copied().unwrap_or(true) {
            d.error_hint(
                Code::Missing,
                side.script_heads[i],
                format!("vrrp_script {} has no script", s.name),
                "add script \"/path/to/check args\"",
            );
        }
    }
    // Sync groups.
    let names: Vec<&str> = cfg.vrrp_instances.iter().map(|v| v.name.as_str()).collect();
    let mut member_of: HashMap<&str, &str> = HashMap::new();
    for (i, g) in cfg.sync_groups.iter().enumerate() {
        if g.group.is_empty() {
            d.error(
                Code::Missing,
                side.sync_heads[i],
                format!("vrrp_sync_group {} has no group members", g.name),
            );
        }
        for (j, m) in g.group.iter().enumerate() {
            let at = side
                .sync_members
                .get(i)
                .and_then(|x| x.get(j))
                .copied()
                .unwrap_or_default();
            if !names.contains(&m.as_str()) {
                let hint = near(m, &names)
                    .map(|n| format!("did you mean '{n}'?"))
                    .unwrap_or("members are vrrp_instance names".into());
                d.error_hint(
                    Code::Missing,
                    at,
                    format!("sync group member {m} is not a defined vrrp_instance"),
                    hint,
                );
            } else if let Some(other) = member_of.get(m.as_str()) {
                d.error(
                    Code::Conflict,
                    at,
                    format!("vrrp_instance {m} is already in sync group {other}"),
                );
            } else {
                member_of.insert(m, &g.name);
            }
        }
    }
    // lvs_sync_daemon instance.
    if let (Some(sd), Some((_, Some(ip)))) = (&cfg.global.lvs_sync_daemon, side.sync_daemon)
        && let Some(inst) = &sd.vrrp_instance
        && !names.contains(&inst.as_str())
    {
        d.error(
            Code::Missing,
            ip,
            format!("lvs_sync_daemon refers to unknown vrrp_instance {inst}"),
        );
    }
    if check_env
        && !cfg.global.dynamic_interfaces
        && let (Some(sd), Some((ip, _))) = (&cfg.global.lvs_sync_daemon, side.sync_daemon)
        && !interface_exists(&sd.interface)
    {
        d.warn(
            Code::Environment,
            ip,
            format!("interface {} does not exist on this host", sd.interface),
        );
    }
    if check_env && !cfg.global.dynamic_interfaces {
        for (i, g) in cfg.sync_groups.iter().enumerate() {
            for (j, t) in g.track_interfaces.iter().enumerate() {
                let at = side.sync_track_ifs.get(i).and_then(|v| v.get(j)).copied();
                if let Some(at) = at
                    && !interface_exists(&t.name)
                {
                    d.warn(
                        Code::Environment,
                        at,
                        format!("tracked interface {} does not exist on this host", t.name),
                    );
                }
            }
        }
    }
    // Virtual servers.
    let groups: Vec<&str> = cfg
        .virtual_server_groups
        .iter()
        .map(|g| g.name.as_str())
        .collect();
    let mut seen: HashMap<(&VsAddr, Protocol), usize> = HashMap::new();
    for (i, vs) in cfg.virtual_servers.iter().enumerate() {
        let head = side.vs_heads.get(i).copied().unwrap_or_default();
        if let VsAddr::Group(g) = &vs.addr
            && !groups.contains(&g.as_str())
        {
            // keepalived 2.2.7 drops such a service without a word (-t exits 0); keeld
            // skips it too, and says so.
            d.warn_hint(
                Code::Missing,
                head,
                format!("virtual_server group {g} is not a defined virtual_server_group"),
                "this virtual_server is ignored until the group is defined",
            );
        }
        let key = (&vs.addr, vs.protocol);
        if let Some(&first) = seen.get(&key) {
            let fl = side.vs_heads.get(first).map_or(0, |p| p.line);
            d.error_hint(
                Code::Conflict,
                head,
                "this virtual_server is defined twice",
                format!("first defined at line {fl}"),
            );
        } else {
            seen.insert(key, i);
        }
        // Small lists (the usual case) are searched; long ones hashed.
        let mut rs_seen: HashMap<(std::net::IpAddr, u16), usize> = HashMap::new();
        let small = vs.real_servers.len() <= 32;
        for (j, rs) in vs.real_servers.iter().enumerate() {
            let dup = if small {
                vs.real_servers[..j]
                    .iter()
                    .position(|o| (o.addr, o.port) == (rs.addr, rs.port))
            } else {
                rs_seen.get(&(rs.addr, rs.port)).copied()
            };
            if let Some(first) = dup {
                let heads = side.rs_heads.get(i);
                let at = heads.and_then(|h| h.get(j)).copied().unwrap_or(head);
                let fl = heads.and_then(|h| h.get(first)).map_or(0, |p| p.line);
                d.error_hint(
                    Code::Conflict,
                    at,
                    format!("real_server {} {} is listed twice", rs.addr, rs.port),
                    format!("first at line {fl}"),
                );
            } else if !small {
                rs_seen.insert((rs.addr, rs.port), j);
            }
            if let VsAddr::Ip { addr, .. } = vs.addr
                && addr.is_ipv4() != rs.addr.is_ipv4()
                && !matches!(vs.lb_kind, Forward::Tunnel { .. })
            {
                let at = side
                    .rs_heads
                    .get(i)
                    .and_then(|h| h.get(j))
                    .copied()
                    .unwrap_or(head);
                d.error(
                    Code::Conflict,
                    at,
                    "real_server and virtual_server are of different address families",
                );
            }
        }
    }
}

fn near<'s>(name: &str, options: &[&'s str]) -> Option<&'s str> {
    options
        .iter()
        .map(|o| (crate::keywords::edit_distance(name, o), *o))
        .filter(|(dist, _)| *dist <= 2)
        .min()
        .map(|(_, o)| o)
}
