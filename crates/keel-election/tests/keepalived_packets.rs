//! keepalived 2.2.7's own packets (the golden bytes of keepalived-facts.md),
//! parsed by keel-packet and fed to the machine: the guide's backup accepts
//! them, and reacts to the priority-0 ones exactly as RFC 5798 §6.4.2 says.
#![allow(clippy::unwrap_used)]

use keel_election::{
    Action, Advert, AuthConfig, Input, Instance, InstanceConfig, Instant, State, Version,
};
use keel_packet::{ChecksumMode, MCAST_V4, VrrpPacket, VrrpRepr};
use std::net::IpAddr;
use std::time::Duration;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn advert(bytes: &str, src: IpAddr) -> Advert {
    let b = hex(bytes);
    let p = VrrpPacket::new_checked(&b[..]).unwrap();
    let r = VrrpRepr::parse(&p, src, IpAddr::V4(MCAST_V4), ChecksumMode::Rfc).unwrap();
    Advert::from(&r)
}

fn backup(version: Version) -> Instance {
    let mut c = InstanceConfig::new("VI_1", 51, 99, "192.0.2.11".parse().unwrap());
    c.vips = vec!["192.0.2.250".parse().unwrap()];
    c.version = version;
    if version == Version::V2 {
        c.auth = AuthConfig::pass("123.123");
    } else {
        c.adver_int_cs = 10;
    }
    let mut i = Instance::new(c);
    i.handle(Instant::ZERO, Input::Startup);
    while i.poll_action().is_some() {}
    i
}

#[test]
fn guide_backup_follows_keepalived_v2_and_takes_over_on_its_priority_zero() {
    let master: IpAddr = "192.0.2.10".parse().unwrap();
    let mut i = backup(Version::V2);
    let t1 = Instant::from_millis(1000);
    i.handle(
        t1,
        Input::Advert {
            src: master,
            advert: advert("213364010101ee3cc00002fa3132332e31323300", master),
        },
    );
    assert_eq!(i.poll_action(), None, "accepted silently");
    assert_eq!(
        i.poll_timeout(),
        Some(t1 + Duration::from_micros(3_613_281))
    );
    assert_eq!(i.master_addr(), Some(master));
    let t2 = Instant::from_millis(1500);
    i.handle(
        t2,
        Input::Advert {
            src: master,
            advert: advert("213300010101523dc00002fa3132332e31323300", master),
        },
    );
    assert_eq!(i.poll_timeout(), Some(t2 + Duration::from_micros(613_281)));
    i.handle(t2 + Duration::from_micros(613_281), Input::Timeout);
    assert_eq!(i.state(), State::Master);
    let c = i.counters();
    assert_eq!(
        (c.adverts_rx, c.priority_zero_rx, c.auth_failures),
        (2, 1, 0)
    );
}

#[test]
fn guide_backup_follows_keepalived_v3_and_takes_over_on_its_priority_zero() {
    let master: IpAddr = "192.0.2.10".parse().unwrap();
    let mut i = backup(Version::V3);
    let t1 = Instant::from_millis(100);
    i.handle(
        t1,
        Input::Advert {
            src: master,
            advert: advert("31336401000a052dc00002fa", master),
        },
    );
    assert_eq!(i.poll_action(), None);
    // v3, 0.1 s: master-down 361.328 ms.
    assert_eq!(i.poll_timeout(), Some(t1 + Duration::from_micros(361_328)));
    let t2 = Instant::from_millis(150);
    i.handle(
        t2,
        Input::Advert {
            src: master,
            advert: advert("31330001000a692dc00002fa", master),
        },
    );
    assert_eq!(i.poll_timeout(), Some(t2 + Duration::from_micros(61_328)));
}

#[test]
fn returning_master_discards_keepalived_v2_priority_99() {
    let peer: IpAddr = "192.0.2.11".parse().unwrap();
    let mut c = InstanceConfig::new("VI_1", 51, 100, "192.0.2.10".parse().unwrap());
    c.vips = vec!["192.0.2.250".parse().unwrap()];
    c.auth = AuthConfig::pass("123.123");
    let mut i = Instance::new(c);
    i.handle(Instant::ZERO, Input::Startup);
    while i.poll_action().is_some() {}
    i.handle(
        Instant::from_millis(500),
        Input::Advert {
            src: peer,
            advert: advert("213363010101ef3cc00002fa3132332e31323300", peer),
        },
    );
    match i.poll_action() {
        Some(Action::Log(l)) => {
            assert_eq!(
                l.to_string(),
                "(VI_1) received lower priority (99) advert from 192.0.2.11 - discarding"
            )
        }
        other => panic!("{other:?}"),
    }
}
