//! Every block with every supported keyword; keepalived's defaults; aliases; the keyword
//! table.
#![allow(clippy::unwrap_used)]

use keel_conf::keywords::{self, Block, Status};
use keel_conf::*;
use std::net::IpAddr;
use std::time::Duration;

fn load(text: &str) -> Loaded {
    let l = load_str(
        "t.conf",
        text,
        &LoadOptions {
            config_id: Some("main".into()),
            check_environment: false,
        },
    );
    assert!(!l.has_warnings(), "{:#?}", l.diagnostics);
    l
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn global_defs_every_keyword() {
    let l = load(
        "global_defs {
    router_id R1
    vrrp_version 3
    script_user keepalived_script users
    enable_script_security
    vrrp_garp_master_delay 10
    vrrp_garp_master_repeat 3
    vrrp_garp_master_refresh 60
    vrrp_garp_master_refresh_repeat 2
    vrrp_garp_lower_prio_delay 1.5
    vrrp_garp_lower_prio_repeat 4
    vrrp_garp_interval 0.001
    vrrp_gna_interval 0.000002
    vrrp_min_garp true
    vrrp_strict
    vrrp_skip_check_adv_addr
    vrrp_check_unicast_src
    lvs_sync_daemon eth1 VI_1 id 7 maxlen 1400 port 8848 ttl 2 group 224.0.0.81
    lvs_timeouts tcp 900 tcpfin 120 udp 300
    lvs_flush
    notification_email {
        ops@example.com
        noc@example.com
    }
    notification_email_from ka@example.com
    smtp_server 192.0.2.25 2525
    smtp_helo_name director1
    smtp_connect_timeout 5
    smtp_alert
    dynamic_interfaces
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
}
",
    );
    let g = &l.config.global;
    assert_eq!(g.router_id.as_deref(), Some("R1"));
    assert_eq!(g.vrrp_version, VrrpVersion::V3);
    assert_eq!(
        g.script_user,
        Some(ScriptUser {
            user: "keepalived_script".into(),
            group: Some("users".into())
        })
    );
    assert!(
        g.enable_script_security && g.vrrp_min_garp && g.vrrp_strict && g.vrrp_skip_check_adv_addr
    );
    assert!(g.vrrp_check_unicast_src && g.lvs_flush && g.smtp_alert && g.dynamic_interfaces);
    assert_eq!(g.vrrp_garp_master_delay, Duration::from_secs(10));
    assert_eq!(
        (g.vrrp_garp_master_repeat, g.vrrp_garp_master_refresh_repeat),
        (3, 2)
    );
    assert_eq!(g.vrrp_garp_master_refresh, Some(Duration::from_secs(60)));
    assert_eq!(
        g.vrrp_garp_lower_prio_delay,
        Some(Duration::from_millis(1500))
    );
    assert_eq!(g.vrrp_garp_lower_prio_repeat, Some(4));
    assert_eq!(g.vrrp_garp_interval, Duration::from_millis(1));
    assert_eq!(g.vrrp_gna_interval, Duration::from_micros(2));
    let sd = g.lvs_sync_daemon.as_ref().unwrap();
    assert_eq!(
        (sd.interface.as_str(), sd.vrrp_instance.as_deref()),
        ("eth1", Some("VI_1"))
    );
    assert_eq!(
        (sd.id, sd.maxlen, sd.port, sd.ttl, sd.group),
        (
            Some(7),
            Some(1400),
            Some(8848),
            Some(2),
            Some(ip("224.0.0.81"))
        )
    );
    assert_eq!(
        g.lvs_timeouts,
        LvsTimeouts {
            tcp: Some(Duration::from_secs(900)),
            tcpfin: Some(Duration::from_secs(120)),
            udp: Some(Duration::from_secs(300))
        }
    );
    assert_eq!(
        g.notification_email,
        vec!["ops@example.com", "noc@example.com"]
    );
    assert_eq!(g.notification_email_from.as_deref(), Some("ka@example.com"));
    assert_eq!(
        g.smtp_server,
        Some(SmtpServer {
            host: "192.0.2.25".into(),
            port: 2525
        })
    );
    assert_eq!(g.smtp_helo_name.as_deref(), Some("director1"));
    assert_eq!(g.smtp_connect_timeout, Duration::from_secs(5));
}

/// keepalived 2.2.7 accepts `lvs_sync_daemon` without an instance (its checker then
/// runs the master and the backup daemon), with `inst NAME`, and the old positional
/// `INTERFACE INSTANCE SYNC_ID` (with a warning).
#[test]
fn lvs_sync_daemon_forms() {
    let sd = |line: &str| {
        let text = format!(
            "global_defs {{\n  {line}\n}}\nvrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  virtual_ipaddress {{\n    192.0.2.250\n  }}\n}}\n"
        );
        let l = load_str(
            "t.conf",
            &text,
            &LoadOptions {
                config_id: None,
                check_environment: false,
            },
        );
        assert!(!l.has_errors(), "{line}: {:#?}", l.diagnostics);
        let warnings: Vec<String> = l.diagnostics.iter().map(|d| d.message.clone()).collect();
        (l.config.global.lvs_sync_daemon.unwrap(), warnings)
    };
    let (a, w) = sd("lvs_sync_daemon eth1");
    assert_eq!(
        (a.interface.as_str(), a.vrrp_instance, a.id),
        ("eth1", None, None)
    );
    assert!(w.is_empty(), "{w:?}");
    let (b, w) = sd("lvs_sync_daemon eth1 inst VI_1 id 5");
    assert_eq!((b.vrrp_instance.as_deref(), b.id), (Some("VI_1"), Some(5)));
    assert!(w.is_empty(), "{w:?}");
    let (c, w) = sd("lvs_sync_daemon eth1 VI_1 7");
    assert_eq!((c.vrrp_instance.as_deref(), c.id), (Some("VI_1"), Some(7)));
    assert_eq!(
        w,
        vec!["Please use keyword \"id\" before lvs_sync_daemon SYNCID".to_string()]
    );
    // An unknown instance is still an error, wherever it is named.
    let l = load_str(
        "t.conf",
        "global_defs {\n  lvs_sync_daemon eth1 inst NOPE\n}\n",
        &LoadOptions::default(),
    );
    assert!(
        l.diagnostics
            .iter()
            .any(|d| d.message == "lvs_sync_daemon refers to unknown vrrp_instance NOPE"),
        "{:#?}",
        l.diagnostics
    );
}

#[test]
fn global_defs_defaults() {
    let g = GlobalDefs::default();
    assert_eq!(g.vrrp_version, VrrpVersion::V2);
    assert_eq!(g.vrrp_garp_master_delay, Duration::from_secs(5));
    assert_eq!(
        (g.vrrp_garp_master_repeat, g.vrrp_garp_master_refresh_repeat),
        (5, 1)
    );
    assert_eq!(g.vrrp_garp_master_refresh, None);
    assert_eq!(g.smtp_connect_timeout, Duration::from_secs(30));
    let l = load("global_defs {\n}\n");
    assert_eq!(l.config.global, g);
}

#[test]
fn vrrp_instance_every_keyword() {
    let l = load(
        "vrrp_script chk {
    script \"/usr/bin/check web\"
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 254
    advert_int 2
    version 2
    authentication {
        auth_type AH
        auth_pass k3y
    }
    virtual_ipaddress {
        192.0.2.250/24 brd 192.0.2.255 dev eth1 scope link label eth1:vip
        192.0.2.251 no_track
    }
    virtual_ipaddress_excluded {
        2001:db8::1/64
    }
    virtual_routes {
        src 192.0.2.250 198.51.100.0/24 via 192.0.2.1 dev eth0 table 100 metric 5
        blackhole 203.0.113.0/24
        default via 192.0.2.254
    }
    unicast_src_ip 192.0.2.10
    unicast_peer {
        192.0.2.11
        192.0.2.12
    }
    nopreempt
    preempt_delay 30
    track_interface {
        eth1 weight -20
        eth2
    }
    track_script {
        chk weight 10 reverse
    }
    notify /usr/bin/notify.sh
    notify_master \"/usr/bin/master.sh arg\" root
    notify_backup /usr/bin/backup.sh
    notify_fault /usr/bin/fault.sh
    notify_stop /usr/bin/stop.sh
    garp_master_delay 1
    garp_master_repeat 2
    garp_master_refresh 30
    garp_master_refresh_repeat 3
    use_vmac vrrp51
    vmac_xmit_base
    no_accept
    dont_track_primary
    smtp_alert off
}
",
    );
    let v = &l.config.vrrp_instances[0];
    assert_eq!(
        (
            v.state,
            v.interface.as_deref(),
            v.virtual_router_id,
            v.priority
        ),
        (InitialState::Backup, Some("eth0"), 51, 254)
    );
    assert_eq!(
        (v.advert_int, v.version),
        (Duration::from_secs(2), Some(VrrpVersion::V2))
    );
    let a = v.authentication.as_ref().unwrap();
    assert_eq!((a.auth_type, a.auth_pass.as_str()), (AuthType::Ah, "k3y"));
    let vip = &v.virtual_ipaddress[0];
    assert_eq!((vip.addr, vip.prefix_len), (Some(ip("192.0.2.250")), 24));
    assert_eq!(vip.brd, Some("192.0.2.255".parse().unwrap()));
    assert_eq!(
        (vip.dev.as_deref(), &vip.scope, vip.label.as_deref()),
        (Some("eth1"), &Scope::Link, Some("eth1:vip"))
    );
    assert!(v.virtual_ipaddress[1].no_track);
    assert_eq!(v.virtual_ipaddress[1].prefix_len, 32);
    assert_eq!(
        v.virtual_ipaddress_excluded[0].net(),
        Some("2001:db8::1/64".parse().unwrap())
    );
    let r = &v.virtual_routes;
    assert_eq!(r[0].dst, Some("198.51.100.0/24".parse().unwrap()));
    assert_eq!(
        (
            r[0].src,
            r[0].via,
            r[0].dev.as_deref(),
            r[0].table,
            r[0].metric
        ),
        (
            Some(ip("192.0.2.250")),
            Some(ip("192.0.2.1")),
            Some("eth0"),
            Some(100),
            Some(5)
        )
    );
    assert!(r[1].blackhole);
    assert_eq!(r[2].dst, Some("0.0.0.0/0".parse().unwrap()));
    assert_eq!(v.unicast_src_ip, Some(ip("192.0.2.10")));
    assert_eq!(v.unicast_peers, vec![ip("192.0.2.11"), ip("192.0.2.12")]);
    assert!(v.nopreempt);
    assert_eq!(v.preempt_delay, Duration::from_secs(30));
    assert_eq!(
        (
            v.track_interfaces[0].name.as_str(),
            v.track_interfaces[0].weight
        ),
        ("eth1", Some(-20))
    );
    assert_eq!(v.track_interfaces[1].weight, None);
    assert_eq!(
        (v.track_scripts[0].weight, v.track_scripts[0].reverse),
        (Some(10), true)
    );
    assert_eq!(
        v.notify.notify.as_ref().unwrap().command,
        "/usr/bin/notify.sh"
    );
    let m = v.notify.master.as_ref().unwrap();
    assert_eq!(
        (m.command.as_str(), m.user.as_ref().unwrap().user.as_str()),
        ("/usr/bin/master.sh arg", "root")
    );
    assert!(v.notify.backup.is_some() && v.notify.fault.is_some() && v.notify.stop.is_some());
    assert_eq!(
        (v.garp_master_delay, v.garp_master_repeat),
        (Some(Duration::from_secs(1)), Some(2))
    );
    assert_eq!(
        (v.garp_master_refresh, v.garp_master_refresh_repeat),
        (Some(Duration::from_secs(30)), Some(3))
    );
    assert_eq!(v.use_vmac.as_deref(), Some("vrrp51"));
    assert!(v.vmac_xmit_base && v.dont_track_primary);
    assert_eq!((v.accept, v.smtp_alert), (Some(false), Some(false)));
}

#[test]
fn vrrp_instance_defaults() {
    let l = load("vrrp_instance V {\n interface eth0\n virtual_router_id 9\n}\n");
    let v = &l.config.vrrp_instances[0];
    assert_eq!(v.state, InitialState::Backup);
    assert_eq!(v.priority, 100);
    assert_eq!(v.advert_int, Duration::from_secs(1));
    assert_eq!(v.effective_version(&l.config.global), VrrpVersion::V2);
    assert_eq!(
        (v.nopreempt, v.preempt_delay, v.accept),
        (false, Duration::ZERO, None)
    );
    assert!(v.authentication.is_none() && v.use_vmac.is_none());
}

#[test]
fn v3_centisecond_advert_int() {
    let l = load(
        "vrrp_instance V {\n interface eth0\n virtual_router_id 9\n version 3\n advert_int 0.1\n}\n",
    );
    assert_eq!(
        l.config.vrrp_instances[0].advert_int,
        Duration::from_millis(100)
    );
}

#[test]
fn sync_group_and_script() {
    let l = load(
        "vrrp_script chk_web {
    script \"/usr/bin/curl -sf http://127.0.0.1/\"
    interval 2
    timeout 1
    weight -30 reverse
    rise 2
    fall 3
    user nobody nogroup
    init_fail
}
vrrp_instance A {\n interface eth0\n virtual_router_id 1\n}
vrrp_instance B {\n interface eth1\n virtual_router_id 2\n}
vrrp_sync_group G {
    group {
        A B
    }
    notify_master /usr/bin/m.sh
    notify_backup /usr/bin/b.sh
    notify_fault /usr/bin/f.sh
    notify_stop /usr/bin/s.sh
    notify /usr/bin/n.sh
    track_interface {
        eth3 weight 5
    }
    track_script {
        chk_web
    }
    smtp_alert
}
",
    );
    let s = &l.config.vrrp_scripts[0];
    assert_eq!(s.script, "/usr/bin/curl -sf http://127.0.0.1/");
    assert_eq!(
        (s.interval, s.timeout),
        (Duration::from_secs(2), Some(Duration::from_secs(1)))
    );
    assert_eq!(
        (s.weight, s.weight_reverse, s.rise, s.fall, s.init_fail),
        (-30, true, 2, 3, true)
    );
    assert_eq!(
        s.user,
        Some(ScriptUser {
            user: "nobody".into(),
            group: Some("nogroup".into())
        })
    );
    let g = &l.config.sync_groups[0];
    assert_eq!(g.group, vec!["A", "B"]);
    assert!(g.notify.master.is_some() && g.notify.backup.is_some() && g.notify.fault.is_some());
    assert!(g.notify.stop.is_some() && g.notify.notify.is_some());
    assert_eq!(g.track_interfaces[0].weight, Some(5));
    assert_eq!(g.track_scripts[0].name, "chk_web");
    assert_eq!(g.smtp_alert, Some(true));
    let d = VrrpScript::default();
    assert_eq!(
        (d.interval, d.weight, d.rise, d.fall),
        (Duration::from_secs(1), 0, 1, 1)
    );
}

#[test]
fn virtual_server_every_keyword_and_checkers() {
    let l = load(
        "virtual_server_group WEB {
    192.0.2.10-20 80
    2001:db8::1-a 443
    fwmark 7
}
virtual_server group WEB {
    lvs_sched wrr
    lvs_method TUN
}
virtual_server fwmark 12 {
    delay_loop 3
    persistence_timeout
    persistence_granularity 255.255.255.0
    protocol UDP
    real_server 192.0.2.30 {
        weight 2
    }
}
virtual_server 2001:db8::100 443 {
    delay_loop 10
    lb_algo mh
    lb_kind DR
    persistence_timeout 600
    protocol SCTP
    sorry_server 2001:db8::200 8443
    sorry_server_inhibit
    alpha
    omega
    quorum 3
    hysteresis 1
    quorum_up \"/usr/bin/up.sh vs\"
    quorum_down /usr/bin/down.sh
    inhibit_on_failure
    ha_suspend
    virtualhost www.example.com
    retry 4
    delay_before_retry 2
    connect_timeout 7
    warmup 5
    real_server 2001:db8::10 443 {
        weight 100
        inhibit_on_failure false
        notify_up /usr/bin/rs-up.sh
        notify_down /usr/bin/rs-down.sh
        smtp_alert
        delay_loop 20
        HTTP_GET {
            url {
                path /health
                digest 9b3a0c85a887a256d6939da88aabd8cd
                status_code 200 301-302
                virtualhost api.example.com
            }
            url {
                path /ready
            }
            virtualhost www.example.com
            connect_ip 2001:db8::11
            connect_port 8080
            bindto 2001:db8::1
            bind_port 40000
            connect_timeout 2
            fwmark 3
            nb_get_retry 5
            delay_before_retry 1.5
            warmup 4
            delay_loop 9
        }
        SSL_GET {
            enable_sni
            url {
                path /
            }
        }
        MISC_CHECK {
            misc_path \"/usr/bin/check.sh 443\"
            misc_timeout 8
            misc_dynamic
            user nobody
        }
        TCP_CHECK {
            retry 2
        }
    }
}
",
    );
    let c = &l.config;
    assert_eq!(
        c.virtual_server_groups[0].entries,
        vec![
            VsgEntry::Range {
                addr: ip("192.0.2.10"),
                range_end: Some(20),
                port: 80
            },
            VsgEntry::Range {
                addr: ip("2001:db8::1"),
                range_end: Some(10),
                port: 443
            },
            VsgEntry::Fwmark(7)
        ]
    );
    let g = &c.virtual_servers[0];
    assert_eq!(
        (&g.addr, g.lb_algo, g.lb_kind),
        (
            &VsAddr::Group("WEB".into()),
            Scheduler::Wrr,
            Forward::TUNNEL
        )
    );
    let f = &c.virtual_servers[1];
    assert_eq!(
        (&f.addr, f.delay_loop, f.persistence_timeout),
        (&VsAddr::Fwmark(12), Duration::from_secs(3), Some(360))
    );
    assert_eq!(
        (f.persistence_granularity, f.protocol),
        (Some(ip("255.255.255.0")), Protocol::Udp)
    );
    assert_eq!((f.real_servers[0].port, f.real_servers[0].weight), (0, 2));
    let vs = &c.virtual_servers[2];
    assert_eq!(
        vs.addr,
        VsAddr::Ip {
            addr: ip("2001:db8::100"),
            port: 443
        }
    );
    assert_eq!(
        (vs.lb_algo, vs.lb_kind, vs.protocol, vs.persistence_timeout),
        (Scheduler::Mh, Forward::Route, Protocol::Sctp, Some(600))
    );
    assert_eq!(
        vs.sorry_server,
        Some(SorryServer {
            addr: ip("2001:db8::200"),
            port: 8443
        })
    );
    assert!(
        vs.sorry_server_inhibit && vs.alpha && vs.omega && vs.inhibit_on_failure && vs.ha_suspend
    );
    assert_eq!((vs.quorum, vs.hysteresis), (3, 1));
    assert_eq!(vs.quorum_up.as_ref().unwrap().command, "/usr/bin/up.sh vs");
    assert_eq!(vs.quorum_down.as_ref().unwrap().command, "/usr/bin/down.sh");
    assert_eq!(vs.virtualhost.as_deref(), Some("www.example.com"));
    assert_eq!(
        (vs.retry, vs.delay_before_retry),
        (Some(4), Some(Duration::from_secs(2)))
    );
    assert_eq!(
        (vs.connect_timeout, vs.warmup),
        (Some(Duration::from_secs(7)), Some(Duration::from_secs(5)))
    );
    let rs = &vs.real_servers[0];
    assert_eq!(
        (rs.weight, rs.inhibit_on_failure, rs.smtp_alert),
        (100, Some(false), Some(true))
    );
    assert!(rs.notify_up.is_some() && rs.notify_down.is_some());
    assert_eq!(rs.delay_loop, Some(Duration::from_secs(20)));
    assert_eq!(rs.checkers.len(), 4);
    let http = &rs.checkers[0];
    let CheckKind::Http(h) = &http.kind else {
        panic!("{:?}", http.kind)
    };
    assert_eq!(h.urls.len(), 2);
    assert_eq!(h.urls[0].path, "/health");
    assert_eq!(
        h.urls[0].digest.as_deref(),
        Some("9b3a0c85a887a256d6939da88aabd8cd")
    );
    assert_eq!(h.urls[0].status_code, vec![(200, 200), (301, 302)]);
    assert_eq!(h.urls[0].virtualhost.as_deref(), Some("api.example.com"));
    assert_eq!(h.virtualhost.as_deref(), Some("www.example.com"));
    assert_eq!(
        (http.connect_ip, http.connect_port),
        (Some(ip("2001:db8::11")), Some(8080))
    );
    assert_eq!(
        (http.bindto, http.bind_port, http.fwmark),
        (Some(ip("2001:db8::1")), Some(40000), Some(3))
    );
    assert_eq!(http.retry, Some(5), "nb_get_retry is an alias of retry");
    assert_eq!(
        http.effective_delay_before_retry(vs),
        Duration::from_millis(1500)
    );
    assert_eq!(
        (http.warmup, http.delay_loop),
        (Some(Duration::from_secs(4)), Some(Duration::from_secs(9)))
    );
    let CheckKind::Ssl(s) = &rs.checkers[1].kind else {
        panic!()
    };
    assert!(s.enable_sni);
    let CheckKind::Misc(m) = &rs.checkers[2].kind else {
        panic!()
    };
    assert_eq!(
        (m.path.as_str(), m.timeout, m.dynamic),
        ("/usr/bin/check.sh 443", Some(Duration::from_secs(8)), true)
    );
    assert_eq!(m.user.as_ref().unwrap().user, "nobody");
    let tcp = &rs.checkers[3];
    assert_eq!(tcp.kind, CheckKind::Tcp);
    assert_eq!(tcp.effective_retry(vs), 2);
    // Inherited from the virtual server.
    assert_eq!(tcp.effective_connect_timeout(vs), Duration::from_secs(7));
    assert_eq!(tcp.effective_delay_before_retry(vs), Duration::from_secs(2));
    assert_eq!(tcp.effective_delay_loop(vs, rs), Duration::from_secs(20));
}

#[test]
fn checker_defaults() {
    let l = load(
        "virtual_server 192.0.2.1 80 {\n real_server 192.0.2.2 80 {\n  TCP_CHECK {\n  }\n  HTTP_GET {\n   url {\n    path /\n   }\n  }\n  MISC_CHECK {\n   misc_path /bin/true\n  }\n }\n}\n",
    );
    let vs = &l.config.virtual_servers[0];
    assert_eq!(
        (
            vs.delay_loop,
            vs.lb_algo,
            vs.lb_kind,
            vs.protocol,
            vs.quorum
        ),
        (
            Duration::from_secs(60),
            Scheduler::Wlc,
            Forward::Masq,
            Protocol::Tcp,
            1
        )
    );
    let rs = &vs.real_servers[0];
    assert_eq!(rs.weight, 1);
    let [tcp, http, misc] = &rs.checkers[..] else {
        panic!()
    };
    assert_eq!(
        (
            tcp.effective_retry(vs),
            tcp.effective_delay_before_retry(vs)
        ),
        (1, Duration::from_secs(1))
    );
    assert_eq!(
        http.effective_delay_before_retry(vs),
        Duration::from_secs(3)
    );
    assert_eq!(misc.effective_retry(vs), 0);
    assert_eq!(tcp.effective_connect_timeout(vs), Duration::from_secs(5));
    assert_eq!(tcp.effective_delay_loop(vs, rs), Duration::from_secs(60));
}

#[test]
fn aliases() {
    let l = load_str(
        "t",
        "virtual_server 192.0.2.1 80 {\n lvs_sched sh\n lvs_method DR\n}\nvrrp_instance V {\n interface eth0\n virtual_router_id 1\n mcast_src_ip 192.0.2.9\n}\n",
        &LoadOptions::default(),
    );
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    assert_eq!(
        (
            l.config.virtual_servers[0].lb_algo,
            l.config.virtual_servers[0].lb_kind
        ),
        (Scheduler::Sh, Forward::Route)
    );
    assert_eq!(
        l.config.vrrp_instances[0].unicast_src_ip,
        Some(ip("192.0.2.9"))
    );
}

#[test]
fn keyword_table_is_consistent() {
    let all = keywords::all();
    assert!(all.len() > 350, "{}", all.len());
    for k in &all {
        if let Status::Alias { of } = k.status {
            let target = keywords::lookup(k.block, of).unwrap();
            assert_eq!(target.status, Status::Supported, "{} -> {of}", k.name);
        }
        if k.status == Status::Supported {
            assert!(!k.doc.is_empty(), "{} has no doc", k.name);
        }
        assert!(k.min_args <= k.max_args, "{}", k.name);
        // The first entry for a (block, name) is the one looked up.
        assert!(keywords::lookup(k.block, k.name).is_some());
    }
    // The supported and unsupported sets do not overlap.
    for k in all.iter().filter(|k| k.status == Status::Unsupported) {
        let s = keywords::lookup(k.block, k.name).unwrap();
        assert_eq!(
            s.status,
            Status::Unsupported,
            "{} is both supported and unsupported in {:?}",
            k.name,
            k.block
        );
    }
    assert_eq!(
        keywords::suggest(Block::VrrpInstance, "prioritty"),
        Some("priority")
    );
    assert_eq!(
        keywords::suggest(Block::VrrpInstance, "virtual_rotuer_id"),
        Some("virtual_router_id")
    );
    assert_eq!(keywords::suggest(Block::VrrpInstance, "zzzzzz"), None);
}

#[test]
fn every_unsupported_keyword_is_reported_with_its_location() {
    for k in keywords::all()
        .into_iter()
        .filter(|k| k.status == Status::Unsupported && k.block == Block::GlobalDefs)
    {
        let text = format!("global_defs {{\n    {} x\n}}\n", k.name);
        let l = load_str("t", &text, &LoadOptions::default());
        let d: Vec<_> = l
            .diagnostics
            .iter()
            .map(|d| (d.code, d.line, d.col))
            .collect();
        assert_eq!(d, vec![(Code::Unsupported, 2, 5)], "{}", k.name);
    }
}
