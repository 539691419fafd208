//! Which part of a configuration each of keepalived's halves (`-P`, `-C`) acts on.
use super::*;

fn cfg(text: &str) -> conf::Config {
    let l = keel_conf::load_str("t.conf", text, &keel_conf::LoadOptions::default());
    assert!(!l.has_errors(), "{:?}", l.diagnostics);
    l.config
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
";

const GROUP: &str = "
virtual_server_group web {
    192.0.2.250 80
}
virtual_server group web {
    real_server 192.0.2.12 80 { TCP_CHECK { } }
}
";

const BOTH: Roles = Roles {
    checkers: true,
    vrrp: true,
};
const P: Roles = Roles {
    checkers: false,
    vrrp: true,
};
const C: Roles = Roles {
    checkers: true,
    vrrp: false,
};

#[test]
fn roles_select_what_the_director_sees() {
    let full = cfg(&format!("global_defs {{\n lvs_flush\n}}\n{SYNCD}{GROUP}"));
    let both = view_for(&full, BOTH);
    assert_eq!(both.virtual_servers.len(), 1);
    assert!(both.global.lvs_sync_daemon.is_some() && both.global.lvs_flush);
    // -P: the sync daemon only.
    let p = view_for(&full, P);
    assert!(p.virtual_servers.is_empty() && p.virtual_server_groups.is_empty());
    assert!(p.global.lvs_sync_daemon.is_some() && !p.global.lvs_flush);
    // -C: the virtual servers, no sync daemon.
    let c = view_for(&full, C);
    assert_eq!(c.virtual_servers.len(), 1);
    assert!(c.global.lvs_sync_daemon.is_none() && c.global.lvs_flush);
    // A sync daemon without an instance belongs to the checkers (keepalived's
    // checker process): kept by -C, dropped by -P.
    let untied = cfg(&SYNCD.replacen("eth1 VI_1 maxlen", "eth1 maxlen", 1));
    assert!(view_for(&untied, C).global.lvs_sync_daemon.is_some());
    assert!(view_for(&untied, P).global.lvs_sync_daemon.is_none());
}

#[test]
fn only_the_checkers_keep_a_file_of_owned_services() {
    let sock = Path::new("/run/keeld.sock");
    assert_eq!(
        Director::new(BOTH, sock).owned_file,
        Some(PathBuf::from("/run/keeld.ipvs"))
    );
    assert_eq!(Director::new(P, sock).owned_file, None);
}
