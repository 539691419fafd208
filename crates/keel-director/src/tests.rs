#![cfg(feature = "conf")]
//! The director's pure logic: configuration → checks and desired IPVS table,
//! transitions → table and keepalived's log lines, quorum/hysteresis/sorry server.
//! The core on keepalived.conf text (the `conf` feature): the rules keeld relies on.
use std::net::IpAddr;
use std::time::Duration;

use keel_check::{self as kc, CheckId, CheckKind, Event, Reason, Transition};
use keel_election::State;
use keel_ipvs::reconcile::{self, VirtualService};
use keel_ipvs::{Dest, Forward, Service, ServiceKey};

use crate::conf::group_range;
use crate::{AddressEvent, Director, DirectorSpec, render};

type Note = crate::Event;

fn cfg(text: &str) -> DirectorSpec {
    let l = keel_conf::load_str("t.conf", text, &keel_conf::LoadOptions::default());
    assert!(!l.has_errors(), "{:?}", l.diagnostics);
    let (spec, errors) = DirectorSpec::from_config(&l.config);
    assert!(errors.is_empty(), "{errors:?}");
    spec
}

const GUIDE: &str = "
virtual_server 192.0.2.250 80 {
    delay_loop 15
    lb_algo rr
    lb_kind DR
    persistence_timeout 50
    protocol TCP
    real_server 192.0.2.12 80 {
        weight 1
        TCP_CHECK {
            connect_port 80
            connect_timeout 3
            nb_get_retry 3
            delay_before_retry 4
        }
    }
    real_server 192.0.2.13 80 {
        weight 2
        TCP_CHECK {
            connect_timeout 3
        }
    }
}
";

fn tr(id: CheckId, up: bool) -> Event {
    Event::Transition(Transition {
        id,
        up,
        was_up: !up,
        reason: Reason {
            kind: CheckKind::Tcp,
            server: "[192.0.2.12]:tcp:80".into(),
            virtual_server: None,
            script: None,
            url: None,
            error: if up {
                None
            } else {
                Some(kc::ProbeError::ConnectTimeout)
            },
            retry: 3,
            first: false,
        },
    })
}

fn logs(n: &[Note]) -> Vec<String> {
    n.iter().filter_map(Note::log_line).collect()
}

fn scripts(n: &[Note]) -> Vec<String> {
    n.iter()
        .filter_map(|n| match n {
            Note::RunScript(s) => Some(s.command.clone()),
            _ => None,
        })
        .collect()
}

fn weights(d: &Director) -> Vec<(String, u32)> {
    d.desired()
        .iter()
        .flat_map(|v| v.dests.iter().map(|d| (d.addr.to_string(), d.weight)))
        .collect()
}

#[test]
fn guide_model_to_checks_and_table() {
    let mut d = Director::new();
    let notes = d.configure(&cfg(GUIDE));
    assert!(notes.is_empty(), "{notes:?}");
    let checks = d.checks();
    assert_eq!(checks.len(), 2);
    let c = &checks[0];
    assert_eq!(c.target, "192.0.2.12:80".parse().unwrap());
    assert_eq!(c.delay_loop, Duration::from_secs(15));
    assert_eq!(c.retry, Some(3));
    assert_eq!(c.delay_before_retry, Some(Duration::from_secs(4)));
    assert_eq!(c.server_label(), "[192.0.2.12]:tcp:80");
    match &c.spec {
        kc::CheckSpec::Tcp { conn } => {
            assert_eq!(conn.connect_port, Some(80));
            assert_eq!(conn.connect_timeout, Duration::from_secs(3));
        }
        s => panic!("not TCP: {s:?}"),
    }
    assert_eq!(checks[1].retry, Some(1), "keepalived's default retry");
    assert_ne!(checks[0].id, checks[1].id);

    let want = d.desired();
    assert_eq!(want.len(), 1);
    let key = ServiceKey::tcp("192.0.2.250".parse().unwrap(), 80);
    assert_eq!(want[0].service, Service::new(key, "rr").persistent(50));
    assert_eq!(
        want[0].dests,
        vec![
            Dest::new("192.0.2.12".parse().unwrap(), 80, Forward::Route).weight(1),
            Dest::new("192.0.2.13".parse().unwrap(), 80, Forward::Route).weight(2),
        ]
    );
    // Against an empty kernel: one service, two dests; against itself: nothing.
    let p = reconcile::plan(&want, &[], &reconcile::Options::default());
    assert_eq!(p.ops.len(), 3);
    assert!(reconcile::plan(&want, &want, &reconcile::Options::default()).is_empty());
}

#[test]
fn dr_dest_port_is_the_service_port_nat_keeps_its_own() {
    let mut d = Director::new();
    d.configure(&cfg(
        "virtual_server 192.0.2.250 80 { lb_kind DR\n real_server 192.0.2.12 443 { } }
         virtual_server 192.0.2.251 80 { lb_kind NAT\n real_server 192.0.2.12 8080 { } }",
    ));
    let want = d.desired();
    assert_eq!(want[0].dests[0].port, 80);
    assert_eq!(want[1].dests[0].port, 8080);
    assert_eq!(want[1].dests[0].forward, Forward::Masq);
    assert_eq!(want[0].service.scheduler, "wlc", "keepalived's default");
}

#[test]
fn tunnel_types_reach_ipvs() {
    let mut d = Director::new();
    d.configure(&cfg(
        "virtual_server 192.0.2.250 80 { lb_kind TUN type gue port 6080 csum\n real_server 192.0.2.12 80 { } }
         virtual_server 192.0.2.251 80 { lb_kind TUN\n real_server 192.0.2.12 80 { } }",
    ));
    let want = d.desired();
    assert_eq!(
        want[0].dests[0].forward,
        Forward::Tunnel {
            kind: keel_ipvs::TunnelType::Gue,
            port: 6080,
            flags: keel_ipvs::TunnelFlags::CSUM,
        }
    );
    assert_eq!(want[1].dests[0].forward, Forward::TUNNEL);
}

#[test]
fn failed_server_removed_then_restored_with_keepalived_lines() {
    let mut d = Director::new();
    d.configure(&cfg(GUIDE));
    let id = d.checks()[0].id;
    let n = d.check_event(&tr(id, false));
    assert_eq!(
        logs(&n),
        vec![
            "TCP_CHECK on service [192.0.2.12]:tcp:80 failed after 3 retries.",
            "Removing service [192.0.2.12]:tcp:80 from VS [192.0.2.250]:tcp:80",
        ]
    );
    assert_eq!(weights(&d), vec![("192.0.2.13".to_string(), 2)]);
    // The plan against the previous table deletes exactly that dest.
    let before = {
        let mut d2 = Director::new();
        d2.configure(&cfg(GUIDE));
        d2.desired()
    };
    let p = reconcile::plan(&d.desired(), &before, &reconcile::Options::default());
    assert_eq!(p.ops.len(), 1);
    assert!(
        p.to_string()
            .starts_with("delete destination 192.0.2.12:80"),
        "{p}"
    );
    // A repeated down changes nothing.
    assert_eq!(logs(&d.check_event(&tr(id, false))).len(), 1);
    let n = d.check_event(&tr(id, true));
    assert_eq!(
        logs(&n)[1],
        "Adding service [192.0.2.12]:tcp:80 to VS [192.0.2.250]:tcp:80"
    );
    assert_eq!(weights(&d).len(), 2);
}

#[test]
fn inhibit_on_failure_sets_weight_zero() {
    let mut d = Director::new();
    d.configure(&cfg(
        "virtual_server 192.0.2.250 80 { real_server 192.0.2.12 80 { weight 5\n inhibit_on_failure\n TCP_CHECK { } } }",
    ));
    let id = d.checks()[0].id;
    let n = d.check_event(&tr(id, false));
    assert!(
        logs(&n).contains(
            &"Disabling service [192.0.2.12]:tcp:80 of VS [192.0.2.250]:tcp:80".to_string()
        )
    );
    assert_eq!(weights(&d), vec![("192.0.2.12".to_string(), 0)]);
    d.check_event(&tr(id, true));
    assert_eq!(weights(&d), vec![("192.0.2.12".to_string(), 5)]);
}

const SORRY: &str = "
virtual_server 192.0.2.250 80 {
    lb_kind NAT
    quorum 2
    hysteresis 1
    sorry_server 192.0.2.99 80
    quorum_up \"/bin/quorum up\"
    quorum_down \"/bin/quorum down\"
    real_server 192.0.2.12 80 { weight 1\n notify_down \"/bin/n down 12\"\n notify_up \"/bin/n up 12\"\n TCP_CHECK { } }
    real_server 192.0.2.13 80 { weight 1\n TCP_CHECK { } }
    real_server 192.0.2.14 80 { weight 1\n TCP_CHECK { } }
}
";

#[test]
fn quorum_with_hysteresis_and_sorry_server() {
    let mut d = Director::new();
    assert!(d.configure(&cfg(SORRY)).is_empty(), "3 >= 2: quorum up");
    let ids: Vec<CheckId> = d.checks().iter().map(|c| c.id).collect();
    // 2 alive: threshold while up is quorum - hysteresis = 1, still up.
    let n = d.check_event(&tr(ids[0], false));
    assert_eq!(scripts(&n), vec!["/bin/n down 12"]);
    assert!(!logs(&n).iter().any(|l| l.contains("quorum")));
    // 1 alive: 1 >= 1, still up (hysteresis).
    let n = d.check_event(&tr(ids[1], false));
    assert!(!logs(&n).iter().any(|l| l.contains("quorum")), "{n:?}");
    assert_eq!(weights(&d), vec![("192.0.2.14".to_string(), 1)]);
    // 0 alive: lost.
    let n = d.check_event(&tr(ids[2], false));
    assert!(
        logs(&n).contains(&"Lost quorum 2-1=1 > 0 for VS [192.0.2.250]:tcp:80".to_string()),
        "{n:?}"
    );
    assert!(logs(&n).contains(
        &"Adding sorry server [192.0.2.99]:tcp:80 to VS [192.0.2.250]:tcp:80".to_string()
    ));
    assert_eq!(scripts(&n), vec!["/bin/quorum down"]);
    assert_eq!(weights(&d), vec![("192.0.2.99".to_string(), 1)]);
    // 1 alive: threshold while down is quorum + hysteresis = 3: still down, sorry stays.
    let n = d.check_event(&tr(ids[0], true));
    assert_eq!(scripts(&n), vec!["/bin/n up 12"]);
    assert_eq!(weights(&d), vec![("192.0.2.99".to_string(), 1)]);
    d.check_event(&tr(ids[1], true));
    assert_eq!(weights(&d), vec![("192.0.2.99".to_string(), 1)]);
    // 3 alive: gained.
    let n = d.check_event(&tr(ids[2], true));
    assert!(
        logs(&n).contains(&"Gained quorum 2+1=3 <= 3 for VS [192.0.2.250]:tcp:80".to_string()),
        "{n:?}"
    );
    assert!(logs(&n).contains(
        &"Removing sorry server [192.0.2.99]:tcp:80 from VS [192.0.2.250]:tcp:80".to_string()
    ));
    assert_eq!(scripts(&n), vec!["/bin/quorum up"]);
    assert_eq!(weights(&d).len(), 3);
    assert!(!weights(&d).iter().any(|(a, _)| a == "192.0.2.99"));
    let st = d.status(false);
    assert!(st[0].quorum_up && !st[0].sorry_active && !st[0].programmed);
    assert_eq!(st[0].transitions, 6);
}

#[test]
fn default_quorum_lost_when_no_server_is_up() {
    let mut d = Director::new();
    d.configure(&cfg(GUIDE));
    let ids: Vec<CheckId> = d.checks().iter().map(|c| c.id).collect();
    d.check_event(&tr(ids[0], false));
    let n = d.check_event(&tr(ids[1], false));
    assert!(logs(&n).contains(&"Lost quorum 1-0=1 > 0 for VS [192.0.2.250]:tcp:80".to_string()));
    assert!(d.desired()[0].dests.is_empty());
    let n = d.check_event(&tr(ids[1], true));
    assert!(
        logs(&n).contains(&"Gained quorum 1+0=1 <= 2 for VS [192.0.2.250]:tcp:80".to_string()),
        "{n:?}"
    );
}

#[test]
fn alpha_starts_down_and_loses_quorum_at_start() {
    let mut d = Director::new();
    let n = d.configure(&cfg(
        "virtual_server 192.0.2.250 80 { alpha\n sorry_server 192.0.2.99 80\n real_server 192.0.2.12 80 { TCP_CHECK { } } }",
    ));
    assert!(
        logs(&n)
            .iter()
            .any(|l| l.starts_with("Lost quorum 1-0=1 > 0")),
        "{n:?}"
    );
    assert!(d.checks()[0].alpha);
    assert_eq!(weights(&d), vec![("192.0.2.99".to_string(), 1)]);
}

#[test]
fn reload_keeps_ids_and_health_of_unchanged_servers() {
    let mut d = Director::new();
    d.configure(&cfg(GUIDE));
    let before = d.checks();
    d.check_event(&tr(before[0].id, false));
    // Same file plus a third real server.
    let more = GUIDE.replacen(
        "real_server 192.0.2.13",
        "real_server 192.0.2.14 80 { TCP_CHECK { } }\n    real_server 192.0.2.13",
        1,
    );
    d.configure(&cfg(&more));
    let after = d.checks();
    assert_eq!(after.len(), 3);
    for c in &before {
        assert!(after.contains(c), "unchanged check kept with its id: {c:?}");
    }
    let st = d.status(true);
    let rs: Vec<(&str, bool)> = st[0]
        .real_servers
        .iter()
        .map(|r| (r.server.as_str(), r.alive))
        .collect();
    assert_eq!(
        rs,
        vec![
            ("[192.0.2.12]:tcp:80", false),
            ("[192.0.2.14]:tcp:80", true),
            ("[192.0.2.13]:tcp:80", true)
        ]
    );
    // A removed virtual server leaves the desired table; it stays owned for the reconcile.
    d.configure(&cfg(
        "virtual_server 192.0.2.251 80 { real_server 192.0.2.12 80 { } }",
    ));
    let key = ServiceKey::tcp("192.0.2.250".parse().unwrap(), 80);
    assert!(d.owned().contains(&key));
    let old = vec![VirtualService {
        service: Service::new(key, "rr"),
        dests: vec![],
    }];
    let p = reconcile::plan(
        &d.desired(),
        &old,
        &reconcile::Options {
            owned: d.owned().clone(),
            all: false,
        },
    );
    assert!(
        p.to_string()
            .starts_with("delete service TCP 192.0.2.250:80"),
        "{p}"
    );
}

#[test]
fn omega_runs_down_scripts_at_shutdown() {
    let mut d = Director::new();
    d.configure(&cfg(&SORRY.replacen(
        "lb_kind NAT",
        "lb_kind NAT\n omega",
        1,
    )));
    assert_eq!(
        scripts(&d.shutdown()),
        vec!["/bin/n down 12", "/bin/quorum down"]
    );
    let mut d = Director::new();
    d.configure(&cfg(SORRY));
    assert!(d.shutdown().is_empty());
}

#[test]
fn status_renders_virtual_servers() {
    let mut d = Director::new();
    d.configure(&cfg(GUIDE));
    let id = d.checks()[0].id;
    d.check_event(&tr(id, false));
    let text = render(&d.status(true));
    assert!(
        text.contains("[192.0.2.250]:tcp:80 rr persistent 50s quorum up"),
        "{text}"
    );
    assert!(
        text.contains("[192.0.2.12]:tcp:80  DOWN  weight 1/1  ipvs -"),
        "{text}"
    );
    assert!(
        text.contains("[192.0.2.13]:tcp:80  UP    weight 2/2  ipvs 2"),
        "{text}"
    );
}

const GROUP: &str = "
virtual_server_group web {
    192.0.2.250 80
    192.0.2.240-242 8080
    fwmark 7
}
virtual_server group web {
    lb_algo wrr
    lb_kind DR
    persistence_timeout 30
    real_server 192.0.2.12 80 { weight 2\n TCP_CHECK { } }
    real_server 192.0.2.13 80 { weight 1\n TCP_CHECK { } }
}
";

fn keys(d: &Director) -> Vec<String> {
    d.desired()
        .iter()
        .map(|v| match v.service.key {
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => format!("{protocol:?} {addr}:{port}"),
            ServiceKey::Fwmark { mark, .. } => format!("FWM {mark}"),
        })
        .collect()
}

#[test]
fn group_expands_to_one_service_per_address_and_fwmark() {
    let mut d = Director::new();
    let notes = d.configure(&cfg(GROUP));
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(
        keys(&d),
        vec![
            "Tcp 192.0.2.250:80",
            "Tcp 192.0.2.240:8080",
            "Tcp 192.0.2.241:8080",
            "Tcp 192.0.2.242:8080",
            "FWM 7",
        ]
    );
    let want = d.desired();
    for v in &want {
        assert_eq!(v.service.scheduler, "wrr");
        assert_eq!(v.service.persistence.map(|p| p.timeout), Some(30));
        let dests: Vec<(String, u16, u32)> = v
            .dests
            .iter()
            .map(|x| (x.addr.to_string(), x.port, x.weight))
            .collect();
        // DR: the kernel forwards to the member's port (a fwmark keeps the server's).
        let port = match v.service.key {
            ServiceKey::Addr { port, .. } => port,
            ServiceKey::Fwmark { .. } => 80,
        };
        assert_eq!(
            dests,
            vec![
                ("192.0.2.12".to_string(), port, 2),
                ("192.0.2.13".to_string(), port, 1)
            ],
            "{:?}",
            v.service.key
        );
    }
    // Every member is owned (removed at shutdown), and checked once per real server.
    assert_eq!(d.owned().len(), 5);
    assert_eq!(d.checks().len(), 2);
    let st = d.status(false);
    assert_eq!(st.len(), 1);
    assert_eq!(st[0].service, "[web]:0", "keepalived's FMT_VS for a group");
}

#[test]
fn group_dead_server_leaves_every_member_and_returns_to_every_member() {
    let mut d = Director::new();
    d.configure(&cfg(GROUP));
    let id = d.checks()[0].id;
    let n = d.check_event(&tr(id, false));
    assert_eq!(
        logs(&n)[1],
        "Removing service [192.0.2.12]:tcp:80 from VS [web]:0"
    );
    for v in d.desired() {
        let addrs: Vec<String> = v.dests.iter().map(|x| x.addr.to_string()).collect();
        assert_eq!(addrs, vec!["192.0.2.13"], "{:?}", v.service.key);
    }
    // One plan against the full table: one delete per member, nothing else.
    let full = {
        let mut d2 = Director::new();
        d2.configure(&cfg(GROUP));
        d2.desired()
    };
    let p = reconcile::plan(&d.desired(), &full, &reconcile::Options::default());
    assert_eq!(p.ops.len(), 5, "{p}");
    assert!(
        p.to_string()
            .lines()
            .all(|l| l.starts_with("delete destination 192.0.2.12:")),
        "{p}"
    );
    d.check_event(&tr(id, true));
    assert_eq!(d.desired(), full);
}

#[test]
fn group_quorum_and_sorry_server_apply_to_every_member() {
    let mut d = Director::new();
    d.configure(&cfg(&GROUP.replacen(
        "lb_kind DR",
        "lb_kind DR\n sorry_server 192.0.2.99 80",
        1,
    )));
    let ids: Vec<CheckId> = d.checks().iter().map(|c| c.id).collect();
    d.check_event(&tr(ids[0], false));
    let n = d.check_event(&tr(ids[1], false));
    assert!(
        logs(&n).contains(&"Lost quorum 1-0=1 > 0 for VS [web]:0".to_string()),
        "{n:?}"
    );
    assert!(
        logs(&n).contains(&"Adding sorry server [192.0.2.99]:tcp:80 to VS [web]:0".to_string())
    );
    for v in d.desired() {
        let addrs: Vec<String> = v.dests.iter().map(|x| x.addr.to_string()).collect();
        assert_eq!(addrs, vec!["192.0.2.99"], "{:?}", v.service.key);
    }
}

#[test]
fn group_reload_adds_and_removes_members_only() {
    let mut d = Director::new();
    d.configure(&cfg(GROUP));
    let before = d.desired();
    let ids = d.checks();
    // Drop the range, add an address: the real servers' checks are unchanged.
    d.configure(&cfg(&GROUP.replacen(
        "192.0.2.240-242 8080",
        "192.0.2.251 80",
        1,
    )));
    assert_eq!(d.checks(), ids, "checks kept with their ids");
    let p = reconcile::plan(
        &d.desired(),
        &before,
        &reconcile::Options {
            owned: d.owned().clone(),
            all: false,
        },
    );
    let text = p.to_string();
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("delete service"))
            .count(),
        3,
        "{text}"
    );
    assert!(text.contains("add service TCP 192.0.2.251:80"), "{text}");
    assert!(!text.contains("192.0.2.250:80"), "{text}");
}

#[test]
fn group_range_expansion() {
    let v4 = |s: &str| s.parse::<IpAddr>().unwrap();
    assert_eq!(
        group_range(v4("192.0.2.1"), None),
        Some(vec![v4("192.0.2.1")])
    );
    assert_eq!(
        group_range(v4("192.0.2.9"), Some(11)),
        Some(vec![v4("192.0.2.9"), v4("192.0.2.10"), v4("192.0.2.11")])
    );
    assert_eq!(
        group_range(v4("192.0.2.9"), Some(9)),
        Some(vec![v4("192.0.2.9")])
    );
    assert_eq!(group_range(v4("192.0.2.9"), Some(8)), None);
    assert_eq!(group_range(v4("192.0.2.9"), Some(300)), None);
    assert_eq!(
        group_range(v4("2001:db8::fe"), Some(0x100)),
        Some(vec![
            v4("2001:db8::fe"),
            v4("2001:db8::ff"),
            v4("2001:db8::100")
        ])
    );
    assert_eq!(group_range(v4("2001:db8::2"), Some(1)), None);
}

#[test]
fn group_with_bad_range_is_skipped_with_a_note() {
    let text = GROUP.replacen("192.0.2.240-242", "192.0.2.240-239", 1);
    let l = keel_conf::load_str("t.conf", &text, &keel_conf::LoadOptions::default());
    let (spec, errors) = DirectorSpec::from_config(&l.config);
    let errors: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        errors,
        vec![
            "virtual_server_group web: address range end is less than address range start (192.0.2.240-239): skipped"
        ]
    );
    assert!(DirectorSpec::try_from(&l.config).is_err());
    let mut d = Director::new();
    assert!(d.configure(&spec).is_empty());
    assert!(d.desired().is_empty());
    assert!(d.checks().is_empty());
}

const SYNCD: &str = "
global_defs {
    lvs_sync_daemon eth1 VI_1 maxlen 1400 port 8849 ttl 2 group 239.0.0.81
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress { 192.0.2.250 }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    priority 100
    virtual_ipaddress { 192.0.2.251 }
}
";

fn daemon(st: keel_ipvs::SyncState, id: u32) -> keel_ipvs::SyncDaemon {
    let mut d = keel_ipvs::SyncDaemon::new(st, "eth1", id);
    d.max_len = Some(1400);
    d.port = Some(8849);
    d.ttl = Some(2);
    d.group = Some("239.0.0.81".parse().unwrap());
    d
}

#[test]
fn sync_daemon_follows_the_instance_state() {
    use keel_ipvs::SyncState::{Backup, Master};
    let mut s = Director::new();
    // Nothing runs until the instance reports a state.
    assert!(s.configure(&cfg(SYNCD)).is_empty());
    // Another instance does not drive it.
    assert!(s.vrrp_state("VI_2", State::Master).is_empty());
    // BACKUP at start: the backup daemon, sync id = the instance's VRID.
    assert_eq!(
        s.vrrp_state("VI_1", State::Backup),
        vec![Note::StartSyncDaemon(daemon(Backup, 51))]
    );
    assert!(s.vrrp_state("VI_1", State::Backup).is_empty());
    // MASTER: stop backup, start master (keepalived's ipvs_syncd_master).
    assert_eq!(
        s.vrrp_state("VI_1", State::Master),
        vec![
            Note::StopSyncDaemon(Backup),
            Note::StartSyncDaemon(daemon(Master, 51))
        ]
    );
    // FAULT: stop master, start backup (ipvs_syncd_backup).
    assert_eq!(
        s.vrrp_state("VI_1", State::Fault),
        vec![
            Note::StopSyncDaemon(Master),
            Note::StartSyncDaemon(daemon(Backup, 51))
        ]
    );
    // FAULT -> BACKUP: the backup daemon keeps running.
    assert!(s.vrrp_state("VI_1", State::Backup).is_empty());
    s.vrrp_state("VI_1", State::Master);
    // INIT (shutdown of the instance) changes nothing; shutdown stops what runs.
    assert!(s.vrrp_state("VI_1", State::Initialize).is_empty());
    assert_eq!(s.shutdown(), vec![Note::StopSyncDaemon(Master)]);
    assert!(s.shutdown().is_empty());
}

#[test]
fn sync_daemon_reload_restarts_only_on_change() {
    use keel_ipvs::SyncState::{Backup, Master};
    let mut s = Director::new();
    s.vrrp_state("VI_1", State::Master);
    s.vrrp_state("VI_2", State::Backup);
    assert_eq!(
        s.configure(&cfg(SYNCD)),
        vec![Note::StartSyncDaemon(daemon(Master, 51))],
        "a state reported before the configuration is used"
    );
    // Same line: nothing.
    assert!(s.configure(&cfg(SYNCD)).is_empty());
    // Another id: restarted with it.
    let with_id = SYNCD.replacen("VI_1 maxlen", "VI_1 id 7 maxlen", 1);
    assert_eq!(
        s.configure(&cfg(&with_id)),
        vec![
            Note::StopSyncDaemon(Master),
            Note::StartSyncDaemon(daemon(Master, 7))
        ]
    );
    // Now driven by VI_2 (BACKUP): its VRID and its role.
    let by_vi2 = SYNCD.replacen("eth1 VI_1", "eth1 VI_2", 1);
    assert_eq!(
        s.configure(&cfg(&by_vi2)),
        vec![
            Note::StopSyncDaemon(Master),
            Note::StartSyncDaemon(daemon(Backup, 52))
        ]
    );
    // Line removed: stopped (keepalived leaves it running).
    let none = SYNCD.replacen(
        "lvs_sync_daemon eth1 VI_1 maxlen 1400 port 8849 ttl 2 group 239.0.0.81",
        "",
        1,
    );
    assert_eq!(s.configure(&cfg(&none)), vec![Note::StopSyncDaemon(Backup)]);
    assert!(s.vrrp_state("VI_1", State::Master).is_empty());
}

#[test]
fn sync_daemon_failed_start_is_retried_on_the_next_transition() {
    use keel_ipvs::SyncState::{Backup, Master};
    let mut s = Director::new();
    s.configure(&cfg(SYNCD));
    assert_eq!(
        s.vrrp_state("VI_1", State::Backup),
        vec![Note::StartSyncDaemon(daemon(Backup, 51))]
    );
    s.sync_start_failed(Backup);
    // Nothing to stop; the master daemon is started.
    assert_eq!(
        s.vrrp_state("VI_1", State::Master),
        vec![Note::StartSyncDaemon(daemon(Master, 51))]
    );
}

const HA: &str = "
virtual_server 192.0.2.250 80 {
    ha_suspend
    real_server 192.0.2.12 80 { TCP_CHECK { } HTTP_GET { url { path / } } }
    real_server 192.0.2.13 80 { TCP_CHECK { } }
}
virtual_server 192.0.2.251 80 {
    real_server 192.0.2.14 80 { TCP_CHECK { } }
}
";

fn local(v: &[&str]) -> AddressEvent {
    AddressEvent::Snapshot(v.iter().map(|a| (1, a.parse().unwrap())).collect())
}

fn targets(d: &Director) -> Vec<String> {
    d.checks().iter().map(|c| c.target.to_string()).collect()
}

#[test]
fn ha_suspend_runs_checks_only_while_the_vip_is_local() {
    let mut d = Director::new();
    let n = d.configure(&cfg(HA));
    assert_eq!(
        logs(&n),
        vec![
            "Deactivating healthchecker for service [192.0.2.12]:tcp:80 for VS [192.0.2.250]:tcp:80",
            "Deactivating healthchecker for service [192.0.2.12]:tcp:80 for VS [192.0.2.250]:tcp:80",
            "Deactivating healthchecker for service [192.0.2.13]:tcp:80 for VS [192.0.2.250]:tcp:80",
        ],
        "one line per checker, as keepalived's register_checkers_thread"
    );
    assert!(d.uses_ha_suspend());
    // Suspended: only the other virtual server's check runs; the table is unchanged.
    assert_eq!(targets(&d), vec!["192.0.2.14:80"]);
    assert_eq!(weights(&d).len(), 3);
    assert!(d.status(true)[0].suspended && !d.status(true)[1].suspended);
    assert!(render(&d.status(true)).contains("CHECKS SUSPENDED (ha_suspend)"));
    // Another address: nothing.
    assert!(d.address(&local(&["192.0.2.10"])).is_empty());
    // The VIP arrives: activated.
    let n = d.address(&local(&["192.0.2.10", "192.0.2.250"]));
    assert_eq!(logs(&n).len(), 3);
    assert!(logs(&n)[0].starts_with("Activating healthchecker for service [192.0.2.12]:tcp:80"));
    assert_eq!(
        targets(&d),
        vec![
            "192.0.2.12:80",
            "192.0.2.12:80",
            "192.0.2.13:80",
            "192.0.2.14:80"
        ]
    );
    assert!(d.address(&local(&["192.0.2.250"])).is_empty());
    // A failure while active is applied.
    let id13 = d.checks()[2].id;
    d.check_event(&tr(id13, false));
    assert_eq!(weights(&d).len(), 2);
    // The VIP leaves: suspended; a verdict still queued from the stopped check is dropped.
    let n = d.address(&local(&[]));
    assert_eq!(
        logs(&n)[2],
        "Suspending healthchecker for service [192.0.2.13]:tcp:80 for VS [192.0.2.250]:tcp:80"
    );
    assert!(d.check_event(&tr(id13, true)).is_empty());
    assert_eq!(weights(&d).len(), 2, "health kept while suspended");
    // A reload keeps the suspended state (no new Deactivating lines).
    assert!(d.configure(&cfg(HA)).is_empty());
    assert_eq!(targets(&d), vec!["192.0.2.14:80"]);
    d.address(&local(&["192.0.2.250"]));
    assert!(d.configure(&cfg(HA)).is_empty());
    assert_eq!(targets(&d).len(), 4, "and the active state");
}

#[test]
fn ha_suspend_group_member_address_activates_and_fwmark_clears_it() {
    let mut d = Director::new();
    d.configure(&cfg(&GROUP.replacen("    fwmark 7\n", "", 1).replacen(
        "lb_kind DR",
        "lb_kind DR\n ha_suspend",
        1,
    )));
    assert!(d.checks().is_empty());
    d.address(&local(&["192.0.2.241"]));
    assert_eq!(d.checks().len(), 2);
    let mut d = Director::new();
    let n = d.configure(&cfg(&GROUP.replacen(
        "lb_kind DR",
        "lb_kind DR\n ha_suspend",
        1,
    )));
    assert_eq!(
        logs(&n),
        vec!["Virtual server [web]:0: cannot use ha_suspend with fwmarks - clearing ha_suspend"]
    );
    assert!(!d.uses_ha_suspend());
    assert_eq!(d.checks().len(), 2);
}

#[test]
fn sync_daemon_without_instance_runs_master_and_backup() {
    use keel_ipvs::SyncState::{Backup, Master};
    // keepalived's checker: IPVS_MASTER_BACKUP at start, sync id 0 unless given.
    let untied = SYNCD.replacen("eth1 VI_1 maxlen", "eth1 maxlen", 1);
    let mut s = Director::new();
    assert_eq!(
        s.configure(&cfg(&untied)),
        vec![
            Note::StartSyncDaemon(daemon(Master, 0)),
            Note::StartSyncDaemon(daemon(Backup, 0))
        ]
    );
    // VRRP states do not move it; the same line again changes nothing.
    assert!(s.vrrp_state("VI_1", State::Master).is_empty());
    assert!(s.configure(&cfg(&untied)).is_empty());
    // `inst VI_1` ties it to the instance (MASTER now): only the master daemon.
    let tied = untied.replacen("eth1 maxlen", "eth1 inst VI_1 maxlen", 1);
    assert_eq!(
        s.configure(&cfg(&tied)),
        vec![
            Note::StopSyncDaemon(Master),
            Note::StopSyncDaemon(Backup),
            Note::StartSyncDaemon(daemon(Master, 51))
        ]
    );
    s.configure(&cfg(&untied));
    assert_eq!(
        s.shutdown(),
        vec![Note::StopSyncDaemon(Master), Note::StopSyncDaemon(Backup)]
    );
}

/// Every line the director logs, against keepalived 2.2.7's format strings
/// (`check/ipwrapper.c`: "%sing service %s %s VS %s" with Add/Remov/Enabl/Disabl and
/// to/from/of, "%s sorry server %s to|from VS %s", "Gained quorum %u+%u=%ld <= %ld for
/// VS %s", "%s %u-%u=%ld > %ld for VS %s"; `check/check_api.c`: "%sctivating
/// healthchecker for service %s for VS %s", "%sing healthchecker ...").
#[test]
fn log_lines_are_keepalived_2_2_7s() {
    use crate::{CheckerActivity as A, ServerAction as S};
    let (rs, vs) = ("[192.0.2.12]:tcp:80", "[192.0.2.250]:tcp:80");
    let server = |action| Note::Server {
        action,
        server: rs.into(),
        virtual_server: vs.into(),
    };
    let sorry = |active, inhibit| Note::SorryServer {
        active,
        inhibit,
        server: "[192.0.2.99]:tcp:80".into(),
        virtual_server: vs.into(),
    };
    let checker = |activity| Note::Checker {
        activity,
        server: rs.into(),
        virtual_server: vs.into(),
    };
    let quorum = |up, threshold, weight| Note::Quorum {
        up,
        quorum: 2,
        hysteresis: 1,
        threshold,
        weight,
        virtual_server: vs.into(),
    };
    let table = [
        (
            server(S::Added),
            "Adding service [192.0.2.12]:tcp:80 to VS [192.0.2.250]:tcp:80",
        ),
        (
            server(S::Removed),
            "Removing service [192.0.2.12]:tcp:80 from VS [192.0.2.250]:tcp:80",
        ),
        (
            server(S::Enabled),
            "Enabling service [192.0.2.12]:tcp:80 of VS [192.0.2.250]:tcp:80",
        ),
        (
            server(S::Disabled),
            "Disabling service [192.0.2.12]:tcp:80 of VS [192.0.2.250]:tcp:80",
        ),
        (
            sorry(true, false),
            "Adding sorry server [192.0.2.99]:tcp:80 to VS [192.0.2.250]:tcp:80",
        ),
        (
            sorry(true, true),
            "Enabling sorry server [192.0.2.99]:tcp:80 to VS [192.0.2.250]:tcp:80",
        ),
        (
            sorry(false, false),
            "Removing sorry server [192.0.2.99]:tcp:80 from VS [192.0.2.250]:tcp:80",
        ),
        (
            sorry(false, true),
            "Disabling sorry server [192.0.2.99]:tcp:80 from VS [192.0.2.250]:tcp:80",
        ),
        (
            quorum(true, 3, 3),
            "Gained quorum 2+1=3 <= 3 for VS [192.0.2.250]:tcp:80",
        ),
        (
            quorum(false, 1, 0),
            "Lost quorum 2-1=1 > 0 for VS [192.0.2.250]:tcp:80",
        ),
        (
            checker(A::Activated),
            "Activating healthchecker for service [192.0.2.12]:tcp:80 for VS [192.0.2.250]:tcp:80",
        ),
        (
            checker(A::Deactivated),
            "Deactivating healthchecker for service [192.0.2.12]:tcp:80 for VS [192.0.2.250]:tcp:80",
        ),
        (
            checker(A::Suspended),
            "Suspending healthchecker for service [192.0.2.12]:tcp:80 for VS [192.0.2.250]:tcp:80",
        ),
        (
            Note::HaSuspendCleared {
                virtual_server: "[web]:0".into(),
            },
            "Virtual server [web]:0: cannot use ha_suspend with fwmarks - clearing ha_suspend",
        ),
    ];
    for (ev, line) in table {
        assert_eq!(ev.to_string(), line);
        assert!(!ev.is_action());
    }
}

/// The director emits those lines from real transitions (not only their Display):
/// an inhibited real server is disabled/enabled "of" its VS and stays at weight 0.
#[test]
fn inhibited_server_lines_come_from_transitions() {
    let mut d = Director::new();
    d.configure(&cfg(
        "virtual_server 192.0.2.250 80 { real_server 192.0.2.12 80 { inhibit_on_failure\n TCP_CHECK { } }\n real_server 192.0.2.13 80 { TCP_CHECK { } } }",
    ));
    let id = d.checks()[0].id;
    let n = d.check_event(&tr(id, false));
    assert_eq!(
        logs(&n)[1],
        "Disabling service [192.0.2.12]:tcp:80 of VS [192.0.2.250]:tcp:80"
    );
    assert_eq!(
        weights(&d),
        vec![("192.0.2.12".to_string(), 0), ("192.0.2.13".to_string(), 1)]
    );
    let n = d.check_event(&tr(id, true));
    assert_eq!(
        logs(&n)[1],
        "Enabling service [192.0.2.12]:tcp:80 of VS [192.0.2.250]:tcp:80"
    );
    // Without inhibit the dead server leaves the table.
    let id13 = d.checks()[1].id;
    d.check_event(&tr(id13, false));
    assert_eq!(weights(&d), vec![("192.0.2.12".to_string(), 1)]);
}

#[test]
fn sorry_server_inhibit_stays_at_weight_zero_while_the_quorum_holds() {
    let mut d = Director::new();
    d.configure(&cfg(&SORRY.replacen(
        "sorry_server 192.0.2.99 80",
        "sorry_server 192.0.2.99 80\n sorry_server_inhibit",
        1,
    )));
    let sorry = |d: &Director| {
        weights(d)
            .into_iter()
            .find(|(a, _)| a == "192.0.2.99")
            .map(|(_, w)| w)
    };
    assert_eq!(sorry(&d), Some(0));
    let ids: Vec<CheckId> = d.checks().iter().map(|c| c.id).collect();
    for id in &ids {
        d.check_event(&tr(*id, false));
    }
    assert_eq!(sorry(&d), Some(1), "quorum lost: the sorry server serves");
    assert_eq!(weights(&d).len(), 1);
    let mut n = Vec::new();
    for id in &ids {
        n.extend(d.check_event(&tr(*id, true)));
    }
    assert!(logs(&n).contains(
        &"Disabling sorry server [192.0.2.99]:tcp:80 from VS [192.0.2.250]:tcp:80".to_string()
    ));
    assert_eq!(sorry(&d), Some(0));
}

#[test]
fn external_health_with_alpha_starts_down_and_follows_verdicts() {
    use crate::{RealServerSpec, Verdict, VirtualServerSpec};
    let mut vs = VirtualServerSpec::new(
        ServiceKey::tcp("192.0.2.250".parse().unwrap(), 80),
        Forward::Route,
    )
    .real_server(RealServerSpec::new("192.0.2.12:80".parse().unwrap()).external());
    vs.alpha = true;
    let mut d = Director::new();
    let n = d.configure(&DirectorSpec::new(vec![vs]));
    assert!(logs(&n)[0].starts_with("Lost quorum 1-0=1 > 0"), "{n:?}");
    assert!(weights(&d).is_empty());
    let up = Verdict::new(
        "[192.0.2.250]:tcp:80",
        "192.0.2.12:80".parse().unwrap(),
        true,
    );
    let n = d.verdict(&up);
    assert_eq!(
        logs(&n)[1],
        "Adding service [192.0.2.12]:tcp:80 to VS [192.0.2.250]:tcp:80"
    );
    assert_eq!(weights(&d), vec![("192.0.2.12".to_string(), 1)]);
    assert!(
        d.verdict(&up).is_empty(),
        "the same verdict again changes nothing"
    );
    let other = Verdict::new(
        "[192.0.2.251]:tcp:80",
        "192.0.2.12:80".parse().unwrap(),
        false,
    );
    assert!(d.verdict(&other).is_empty(), "not ours");
}

#[test]
fn roles_select_what_the_director_sees() {
    use crate::Roles;
    let load = |t: &str| {
        let l = keel_conf::load_str("t.conf", t, &keel_conf::LoadOptions::default());
        assert!(!l.has_errors(), "{:?}", l.diagnostics);
        l.config
    };
    let group = "virtual_server_group web {\n 192.0.2.250 80\n}\n\
                 virtual_server group web {\n real_server 192.0.2.12 80 { TCP_CHECK { } }\n}\n";
    let full = load(&format!("global_defs {{\n lvs_flush\n}}\n{SYNCD}{group}"));
    let (p_roles, c_roles) = (Roles::new(false, true), Roles::new(true, false));
    let both = Roles::BOTH.view(&full);
    assert_eq!(both.virtual_servers.len(), 1);
    assert!(both.global.lvs_sync_daemon.is_some() && both.global.lvs_flush);
    // -P: the sync daemon only.
    let p = p_roles.view(&full);
    assert!(p.virtual_servers.is_empty() && p.virtual_server_groups.is_empty());
    assert!(p.global.lvs_sync_daemon.is_some() && !p.global.lvs_flush);
    let (spec, _) = DirectorSpec::from_config_for(&full, p_roles);
    assert!(spec.virtual_servers.is_empty() && spec.sync_daemon.is_some());
    // -C: the virtual servers, no sync daemon.
    let c = c_roles.view(&full);
    assert_eq!(c.virtual_servers.len(), 1);
    assert!(c.global.lvs_sync_daemon.is_none() && c.global.lvs_flush);
    // A sync daemon without an instance belongs to the checkers (keepalived's
    // checker process): kept by -C, dropped by -P.
    let untied = load(&SYNCD.replacen("eth1 VI_1 maxlen", "eth1 maxlen", 1));
    assert!(c_roles.view(&untied).global.lvs_sync_daemon.is_some());
    assert!(p_roles.view(&untied).global.lvs_sync_daemon.is_none());
}

#[test]
fn misc_check_without_user_runs_as_the_default_script_user() {
    use crate::{ConfError, Roles};
    let text = |user: &str| {
        format!(
            "global_defs {{\n script_user {user}\n}}\n\
             virtual_server 192.0.2.250 80 {{\n real_server 192.0.2.12 80 {{\n  \
             MISC_CHECK {{\n   misc_path /bin/true\n  }}\n }}\n}}\n"
        )
    };
    let load = |t: &str| {
        let l = keel_conf::load_str("t.conf", t, &keel_conf::LoadOptions::default());
        assert!(!l.has_errors(), "{:?}", l.diagnostics);
        l.config
    };
    let (spec, errors) = DirectorSpec::from_config_for(&load(&text("root")), Roles::BOTH);
    assert!(errors.is_empty(), "{errors:?}");
    let kc::CheckSpec::Misc(m) = &spec.virtual_servers[0].real_servers[0].checks[0].spec else {
        panic!("not a MISC_CHECK");
    };
    assert_eq!(m.user.as_ref().map(|u| u.uid), Some(0));
    // A default user that does not exist: the check is left out, with keepalived's line.
    let (spec, errors) =
        DirectorSpec::from_config_for(&load(&text("keel-no-such-user")), Roles::BOTH);
    assert!(spec.virtual_servers[0].real_servers[0].checks.is_empty());
    assert!(
        matches!(&errors[..], [ConfError::MiscUser { server, .. }] if server == "[192.0.2.12]:tcp:80"),
        "{errors:?}"
    );
    assert!(errors[0].to_string().ends_with("- ignoring the checker"));
}

#[test]
fn announced_virtual_server_keeps_one_order_and_mh_flags() {
    let text = |announce: &str| {
        format!(
            "global_defs {{ keel_anycast {{\n speaker kernel 100\n }} }}\n\
             virtual_server 203.0.113.10 80 {{ lb_algo mh\n lb_kind DR\n alpha\n {announce}\n \
             real_server 192.0.2.13 80 {{ TCP_CHECK {{ }} }}\n \
             real_server 192.0.2.12 80 {{ TCP_CHECK {{ }} }} }}"
        )
    };
    let mut d = Director::new();
    d.configure(&cfg(&text("announce")));
    let want = d.desired();
    assert_eq!(
        want[0].service.flags,
        keel_ipvs::ServiceFlags::SCHED1 | keel_ipvs::ServiceFlags::SCHED2,
        "mh-fallback,mh-port"
    );
    // alpha: both down, yet both stay (weight 0) in address order
    assert_eq!(
        weights(&d),
        [("192.0.2.12".into(), 0), ("192.0.2.13".into(), 0)]
    );
    // the same virtual server without announce: keepalived's behaviour
    let mut plain = Director::new();
    plain.configure(&cfg(&text("")));
    assert!(weights(&plain).is_empty());
    assert_eq!(
        plain.desired()[0].service.flags,
        keel_ipvs::ServiceFlags::default()
    );
}
