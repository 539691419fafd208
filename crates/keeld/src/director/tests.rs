//! The director's pure logic: configuration → checks and desired IPVS table,
//! transitions → table and keepalived's log lines, quorum/hysteresis/sorry server.
use super::*;
use keel_check::{CheckKind, Event, Reason, Transition};

fn cfg(text: &str) -> conf::Config {
    let l = keel_conf::load_str("t.conf", text, &keel_conf::LoadOptions::default());
    assert!(!l.has_errors(), "{:?}", l.diagnostics);
    l.config
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
    n.iter()
        .filter_map(|n| match n {
            Note::Log(l) => Some(l.clone()),
            Note::Script(_) => None,
        })
        .collect()
}

fn scripts(n: &[Note]) -> Vec<String> {
    n.iter()
        .filter_map(|n| match n {
            Note::Script(s) => Some(s.command.clone()),
            Note::Log(_) => None,
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
    let mut d = Director::default();
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
    let mut d = Director::default();
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
fn failed_server_removed_then_restored_with_keepalived_lines() {
    let mut d = Director::default();
    d.configure(&cfg(GUIDE));
    let id = d.checks()[0].id;
    let n = d.handle(&tr(id, false));
    assert_eq!(
        logs(&n),
        vec![
            "TCP_CHECK on service [192.0.2.12]:tcp:80 failed after 3 retries.",
            "Removing service [192.0.2.12]:tcp:80 to VS [192.0.2.250]:tcp:80",
        ]
    );
    assert_eq!(weights(&d), vec![("192.0.2.13".to_string(), 2)]);
    // The plan against the previous table deletes exactly that dest.
    let before = {
        let mut d2 = Director::default();
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
    assert_eq!(logs(&d.handle(&tr(id, false))).len(), 1);
    let n = d.handle(&tr(id, true));
    assert_eq!(
        logs(&n)[1],
        "Adding service [192.0.2.12]:tcp:80 to VS [192.0.2.250]:tcp:80"
    );
    assert_eq!(weights(&d).len(), 2);
}

#[test]
fn inhibit_on_failure_sets_weight_zero() {
    let mut d = Director::default();
    d.configure(&cfg(
        "virtual_server 192.0.2.250 80 { real_server 192.0.2.12 80 { weight 5\n inhibit_on_failure\n TCP_CHECK { } } }",
    ));
    let id = d.checks()[0].id;
    let n = d.handle(&tr(id, false));
    assert!(
        logs(&n).contains(
            &"Disabling service [192.0.2.12]:tcp:80 to VS [192.0.2.250]:tcp:80".to_string()
        )
    );
    assert_eq!(weights(&d), vec![("192.0.2.12".to_string(), 0)]);
    d.handle(&tr(id, true));
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
    let mut d = Director::default();
    assert!(d.configure(&cfg(SORRY)).is_empty(), "3 >= 2: quorum up");
    let ids: Vec<CheckId> = d.checks().iter().map(|c| c.id).collect();
    // 2 alive: threshold while up is quorum - hysteresis = 1, still up.
    let n = d.handle(&tr(ids[0], false));
    assert_eq!(scripts(&n), vec!["/bin/n down 12"]);
    assert!(!logs(&n).iter().any(|l| l.contains("quorum")));
    // 1 alive: 1 >= 1, still up (hysteresis).
    let n = d.handle(&tr(ids[1], false));
    assert!(!logs(&n).iter().any(|l| l.contains("quorum")), "{n:?}");
    assert_eq!(weights(&d), vec![("192.0.2.14".to_string(), 1)]);
    // 0 alive: lost.
    let n = d.handle(&tr(ids[2], false));
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
    let n = d.handle(&tr(ids[0], true));
    assert_eq!(scripts(&n), vec!["/bin/n up 12"]);
    assert_eq!(weights(&d), vec![("192.0.2.99".to_string(), 1)]);
    d.handle(&tr(ids[1], true));
    assert_eq!(weights(&d), vec![("192.0.2.99".to_string(), 1)]);
    // 3 alive: gained.
    let n = d.handle(&tr(ids[2], true));
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
    let mut d = Director::default();
    d.configure(&cfg(GUIDE));
    let ids: Vec<CheckId> = d.checks().iter().map(|c| c.id).collect();
    d.handle(&tr(ids[0], false));
    let n = d.handle(&tr(ids[1], false));
    assert!(logs(&n).contains(&"Lost quorum 1-0=1 > 0 for VS [192.0.2.250]:tcp:80".to_string()));
    assert!(d.desired()[0].dests.is_empty());
    let n = d.handle(&tr(ids[1], true));
    assert!(
        logs(&n).contains(&"Gained quorum 1+0=1 <= 2 for VS [192.0.2.250]:tcp:80".to_string()),
        "{n:?}"
    );
}

#[test]
fn alpha_starts_down_and_loses_quorum_at_start() {
    let mut d = Director::default();
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
    let mut d = Director::default();
    d.configure(&cfg(GUIDE));
    let before = d.checks();
    d.handle(&tr(before[0].id, false));
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
    assert!(d.owned.contains(&key));
    let old = vec![VirtualService {
        service: Service::new(key, "rr"),
        dests: vec![],
    }];
    let p = reconcile::plan(
        &d.desired(),
        &old,
        &reconcile::Options {
            owned: d.owned.clone(),
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
    let mut d = Director::default();
    d.configure(&cfg(&SORRY.replacen(
        "lb_kind NAT",
        "lb_kind NAT\n omega",
        1,
    )));
    assert_eq!(
        scripts(&d.shutdown_notes()),
        vec!["/bin/n down 12", "/bin/quorum down"]
    );
    let mut d = Director::default();
    d.configure(&cfg(SORRY));
    assert!(d.shutdown_notes().is_empty());
}

#[test]
fn status_renders_virtual_servers() {
    let mut d = Director::default();
    d.configure(&cfg(GUIDE));
    let id = d.checks()[0].id;
    d.handle(&tr(id, false));
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
