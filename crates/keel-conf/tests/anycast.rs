//! keel's anycast keywords: `keel_anycast { speaker ... }` in global_defs
//! and `announce` per virtual_server (keel extensions).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use keel_conf::{AnycastSpeaker, LoadOptions, load_str, print};

fn load(text: &str) -> keel_conf::Config {
    let l = load_str("keel.conf", text, &LoadOptions::default());
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    l.config
}

#[test]
fn speakers_and_announce_parse_and_print_back() {
    let forms = [
        (
            "gobgp 127.0.0.1:50051",
            AnycastSpeaker::GoBgp {
                addr: "127.0.0.1:50051".into(),
            },
        ),
        (
            "bird /run/bird/bird.ctl",
            AnycastSpeaker::Bird {
                socket: "/run/bird/bird.ctl".into(),
                include: "/run/keel/anycast-v4.conf".into(),
            },
        ),
        (
            "exabgp",
            AnycastSpeaker::ExaBgp {
                cmd: "/run/keel/exabgp.cmd".into(),
                ack: "/run/keel/exabgp.ack".into(),
            },
        ),
        ("kernel 100", AnycastSpeaker::Kernel { table: 100 }),
    ];
    for (words, want) in forms {
        let text = format!(
            "global_defs {{\n    keel_anycast {{\n        speaker {words}\n    }}\n}}\n\
             virtual_server 203.0.113.10 80 {{\n    lb_algo mh\n    lb_kind DR\n    \
             announce min_healthy 2 withdraw_delay 1.5 require_master\n    \
             real_server 192.0.2.11 80 {{\n    }}\n}}\n"
        );
        let cfg = load(&text);
        assert_eq!(cfg.global.keel_anycast.as_ref(), Some(&want));
        let a = cfg.virtual_servers[0].announce.clone().unwrap();
        assert_eq!(a.min_healthy, 2);
        assert_eq!(a.withdraw_delay, Duration::from_millis(1500));
        assert!(a.require_master);
        let again = load(&print(&cfg));
        assert_eq!(again.global.keel_anycast, cfg.global.keel_anycast);
        assert_eq!(
            again.virtual_servers[0].announce,
            cfg.virtual_servers[0].announce
        );
    }
}

#[test]
fn bare_announce_takes_the_defaults() {
    let cfg = load(
        "global_defs {\n    keel_anycast {\n        speaker kernel 7\n    }\n}\n\
         virtual_server 203.0.113.10 80 {\n    lb_algo mh\n    announce\n}\n",
    );
    let a = cfg.virtual_servers[0].announce.clone().unwrap();
    assert_eq!(
        (a.min_healthy, a.withdraw_delay, a.require_master),
        (1, Duration::ZERO, false)
    );
}

#[test]
fn bad_gobgp_address_points_at_the_word() {
    let l = load_str(
        "keel.conf",
        "global_defs {\n    keel_anycast {\n        speaker gobgp localhost\n    }\n}\n",
        &LoadOptions::default(),
    );
    let d = &l.diagnostics[0];
    assert_eq!((d.line, d.col), (3, 23), "{d}");
    assert!(d.to_string().contains("HOST:PORT"), "{d}");
}
