//! The guide's configurations check clean and give the model the daemon needs.
#![allow(clippy::unwrap_used)]

use keel_conf::*;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

fn load(name: &str) -> Loaded {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    load_file(&p, &LoadOptions::default())
}

#[test]
fn hot_standby_master_is_clean() {
    let l = load("hot-standby-master.conf");
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    assert_eq!(l.exit_code(), 0);
    assert_eq!(l.config.global.router_id.as_deref(), Some("HA_TEST_R1"));
    let v = &l.config.vrrp_instances[0];
    assert_eq!(v.name, "VI_1");
    assert_eq!(v.state, InitialState::Master);
    assert_eq!(v.interface.as_deref(), Some("ens33"));
    assert_eq!((v.virtual_router_id, v.priority), (51, 100));
    assert_eq!(v.advert_int, Duration::from_secs(1));
    let auth = v.authentication.as_ref().unwrap();
    assert_eq!(
        (auth.auth_type, auth.auth_pass.as_str()),
        (AuthType::Pass, "123.123")
    );
    assert_eq!(v.virtual_ipaddress.len(), 1);
    assert_eq!(
        v.virtual_ipaddress[0].addr,
        Some("192.168.161.250".parse::<IpAddr>().unwrap())
    );
    assert_eq!(v.virtual_ipaddress[0].prefix_len, 32);
    assert_eq!(v.span.line, 8);
    assert_eq!(v.span.col, 1);
}

#[test]
fn hot_standby_backup_is_clean() {
    let l = load("hot-standby-backup.conf");
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let v = &l.config.vrrp_instances[0];
    assert_eq!((v.state, v.priority), (InitialState::Backup, 99));
}

#[test]
fn lvs_dr_director_checks_clean_with_alias_notes() {
    let l = load("lvs-dr-director1.conf");
    assert_eq!(l.exit_code(), 0);
    assert!(!l.has_warnings());
    // Only the two nb_get_retry notes.
    assert_eq!(l.diagnostics.len(), 2, "{:?}", l.diagnostics);
    for (d, line) in l.diagnostics.iter().zip([37, 47]) {
        assert_eq!((d.severity, d.line, d.col), (Severity::Note, line, 13));
        assert_eq!(
            d.hint.as_deref(),
            Some("nb_get_retry is the old name of retry (keepalived 2.x rejects it as unknown)")
        );
    }
    let vs = &l.config.virtual_servers[0];
    assert_eq!(
        vs.addr,
        VsAddr::Ip {
            addr: "192.168.161.250".parse().unwrap(),
            port: 80
        }
    );
    assert_eq!(vs.delay_loop, Duration::from_secs(15));
    assert_eq!(
        (vs.lb_algo, vs.lb_kind, vs.protocol),
        (Scheduler::Rr, Forward::Route, Protocol::Tcp)
    );
    assert_eq!(vs.persistence_timeout, Some(50));
    assert_eq!(vs.real_servers.len(), 2);
    let rs = &vs.real_servers[1];
    assert_eq!(
        (rs.addr, rs.port, rs.weight),
        ("192.168.161.13".parse().unwrap(), 443, 1)
    );
    let c = &rs.checkers[0];
    assert_eq!(c.kind, CheckKind::Tcp);
    assert_eq!(c.connect_port, Some(80));
    assert_eq!(c.connect_timeout, Some(Duration::from_secs(3)));
    assert_eq!(c.retry, Some(3));
    assert_eq!(c.delay_before_retry, Some(Duration::from_secs(4)));
    assert_eq!(c.effective_delay_loop(vs, rs), Duration::from_secs(15));
}
