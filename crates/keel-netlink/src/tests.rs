//! Batching, ACK matching, dump reassembly and ENOBUFS handling: on crafted
//! byte buffers (anywhere), and on real NETLINK_ROUTE sockets in throw-away
//! network namespaces (root).
#![allow(clippy::unwrap_used)]

use std::io;

use crate::msg::{self, NLM_F_DUMP_INTR, NLM_F_MULTI, push_done, push_error};
use crate::socket::{Acks, Exchange, recv_error};
use crate::{Errno, Error, Failure, Msg, Outcome};

/// A data message (type 100) answering `seq`, carrying `v`.
fn push_data(buf: &mut Vec<u8>, seq: u32, flags: u16, v: u32) {
    let s = msg::begin(buf, 100, NLM_F_MULTI | flags, seq);
    buf.extend_from_slice(&v.to_ne_bytes());
    msg::finish(buf, s);
}

fn value(m: Msg<'_>) -> Result<u32, Error> {
    let p = m.payload();
    p.get(..4)
        .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or(Error::Truncated)
}

fn f(index: usize, errno: i32) -> Failure {
    Failure {
        index,
        errno: Errno(errno),
    }
}

#[test]
fn acks_match_errors_mid_batch_by_sequence_number() {
    // Requests 10..=14 (indexes 5..=9 of the call); only 14 asked for an ACK.
    let mut a = Acks::new(10, 5, 5);
    let mut b = Vec::new();
    push_error(&mut b, 11, libc::EEXIST);
    push_error(&mut b, 9, libc::EPERM); // an earlier exchange's: ignored
    push_error(&mut b, 13, libc::ENODEV);
    a.feed(&b).unwrap();
    assert!(!a.done, "no answer to the last request yet");
    // The ACK of the last request comes in a later datagram.
    let mut b = Vec::new();
    push_error(&mut b, 14, 0);
    a.feed(&b).unwrap();
    assert!(a.done);
    assert_eq!(a.failures, vec![f(6, libc::EEXIST), f(8, libc::ENODEV)]);
}

#[test]
fn acks_end_on_an_error_of_the_last_request() {
    let mut a = Acks::new(1, 0, 2);
    let mut b = Vec::new();
    push_error(&mut b, 2, libc::EINVAL);
    a.feed(&b).unwrap();
    assert!(a.done);
    assert_eq!(a.failures, vec![f(1, libc::EINVAL)]);
}

#[test]
fn acks_across_sequence_number_wrap() {
    // Requests u32::MAX - 1, u32::MAX, 0, 1.
    let mut a = Acks::new(u32::MAX - 1, 0, 4);
    let mut b = Vec::new();
    push_error(&mut b, u32::MAX, libc::EEXIST);
    push_error(&mut b, 0, libc::EEXIST);
    push_error(&mut b, 2, 0); // beyond the batch: someone else's
    a.feed(&b).unwrap();
    assert!(!a.done);
    let mut b = Vec::new();
    push_error(&mut b, 1, 0);
    a.feed(&b).unwrap();
    assert!(a.done);
    assert_eq!(a.failures, vec![f(1, libc::EEXIST), f(2, libc::EEXIST)]);
}

#[test]
fn acks_report_overrun_and_truncation() {
    let mut b = Vec::new();
    let s = msg::begin(&mut b, msg::NLMSG_OVERRUN, 0, 1);
    msg::finish(&mut b, s);
    assert!(matches!(Acks::new(1, 0, 1).feed(&b), Err(Error::Overrun)));
    // An NLMSG_ERROR too short to hold its code.
    let mut b = Vec::new();
    let s = msg::begin(&mut b, msg::NLMSG_ERROR, 0, 1);
    msg::finish(&mut b, s);
    assert!(matches!(Acks::new(1, 0, 1).feed(&b), Err(Error::Truncated)));
    // A length running past the datagram.
    let mut b = Vec::new();
    push_error(&mut b, 1, 0);
    b.truncate(20);
    assert!(matches!(Acks::new(1, 0, 1).feed(&b), Err(Error::Truncated)));
}

#[test]
fn dump_reassembles_parts_across_datagrams_until_done() {
    let mut ex = Exchange::new(7, true);
    let mut out = Vec::new();
    let mut b = Vec::new();
    push_data(&mut b, 7, 0, 1);
    push_data(&mut b, 6, 0, 99); // stale: another exchange's
    push_data(&mut b, 7, 0, 2);
    push_error(&mut b, 7, 0); // an ACK does not end a dump
    assert_eq!(ex.feed(&b, &mut value, &mut out).unwrap(), None);
    let mut b = Vec::new();
    push_data(&mut b, 7, 0, 3);
    push_done(&mut b, 7, 0, 0);
    push_data(&mut b, 7, 0, 4); // after DONE: not part of the answer
    assert_eq!(ex.feed(&b, &mut value, &mut out).unwrap(), Some(0));
    assert_eq!(out, vec![1, 2, 3]);
    assert!(!ex.interrupted);
}

#[test]
fn dump_reports_interruption_and_errors() {
    let mut ex = Exchange::new(3, true);
    let mut out = Vec::new();
    let mut b = Vec::new();
    push_data(&mut b, 3, 0, 1);
    push_data(&mut b, 3, NLM_F_DUMP_INTR, 2);
    push_done(&mut b, 3, 0, 0);
    assert_eq!(ex.feed(&b, &mut value, &mut out).unwrap(), Some(0));
    assert!(ex.interrupted);
    // The flag on NLMSG_DONE alone counts too.
    let mut ex = Exchange::new(4, true);
    let mut b = Vec::new();
    push_done(&mut b, 4, NLM_F_DUMP_INTR, 0);
    assert_eq!(ex.feed(&b, &mut value, &mut out).unwrap(), Some(0));
    assert!(ex.interrupted);
    // An error code in NLMSG_DONE, or an NLMSG_ERROR, ends a dump.
    let mut ex = Exchange::new(5, true);
    let mut b = Vec::new();
    push_done(&mut b, 5, 0, libc::ESRCH);
    assert_eq!(
        ex.feed(&b, &mut value, &mut out).unwrap(),
        Some(libc::ESRCH)
    );
    let mut ex = Exchange::new(6, true);
    let mut b = Vec::new();
    push_data(&mut b, 6, 0, 1);
    push_error(&mut b, 6, libc::EINVAL);
    assert_eq!(
        ex.feed(&b, &mut value, &mut out).unwrap(),
        Some(libc::EINVAL)
    );
}

#[test]
fn request_answer_ends_with_its_ack() {
    let mut ex = Exchange::new(9, false);
    let mut out = Vec::new();
    let mut b = Vec::new();
    push_error(&mut b, 8, 0); // stale
    push_data(&mut b, 9, 0, 42);
    push_error(&mut b, 9, 0);
    assert_eq!(ex.feed(&b, &mut value, &mut out).unwrap(), Some(0));
    assert_eq!(out, vec![42]);
    // A decoder's error stops the walk and is the caller's.
    let mut ex = Exchange::new(9, false);
    let mut b = Vec::new();
    let s = msg::begin(&mut b, 100, 0, 9); // no body: `value` fails
    msg::finish(&mut b, s);
    assert!(matches!(
        ex.feed(&b, &mut value, &mut out),
        Err(Error::Truncated)
    ));
}

#[test]
fn receive_errors_map_to_transport_errors() {
    let e = |c| recv_error(io::Error::from_raw_os_error(c), 30);
    assert!(matches!(e(libc::ENOBUFS), Some(Error::Overrun)));
    assert!(e(libc::EINTR).is_none(), "EINTR is retried");
    assert!(matches!(e(libc::EAGAIN), Some(Error::Timeout(30))));
    assert!(matches!(e(libc::EBADF), Some(Error::Io(_))));
    let trunc = io::Error::new(io::ErrorKind::InvalidData, "x");
    assert!(matches!(recv_error(trunc, 1), Some(Error::Truncated)));
}

#[test]
fn outcomes_of_adds_and_deletes() {
    assert_eq!(Outcome::of_add(0), Ok(Outcome::Done));
    assert_eq!(Outcome::of_add(libc::EEXIST), Ok(Outcome::AlreadyPresent));
    assert_eq!(Outcome::of_add(libc::EPERM), Err(Errno::EPERM));
    assert_eq!(
        Outcome::of_delete(libc::ESRCH, Errno::ESRCH),
        Ok(Outcome::AlreadyAbsent)
    );
    assert_eq!(
        Outcome::of_delete(libc::ENOENT, Errno::ESRCH),
        Err(Errno::ENOENT)
    );
    assert_eq!(Errno::EEXIST.to_string(), "File exists (os error 17)");
}

// ------------------------------------------------ a real NETLINK_ROUTE ----

mod kernel {
    use std::net::Ipv4Addr;

    use keel_testkit::Netns;

    use crate::{Config, Errno, Error, Failure, Listener, Protocol, Socket, msg};

    const RTM_NEWADDR: u16 = 20;
    const RTM_DELADDR: u16 = 21;
    const RTM_GETADDR: u16 = 22;
    const IFA_ADDRESS: u16 = 1;
    const IFA_LOCAL: u16 = 2;
    const RTNLGRP_IPV4_IFADDR: u32 = 5;

    /// RTM_NEWADDR / RTM_DELADDR of `a`/32 on interface 1 (lo).
    fn addr(buf: &mut Vec<u8>, kind: u16, a: Ipv4Addr) {
        let flags = if kind == RTM_NEWADDR {
            msg::NLM_F_CREATE | msg::NLM_F_EXCL
        } else {
            0
        };
        let s = msg::begin(buf, kind, flags, 0);
        buf.extend_from_slice(&[libc::AF_INET as u8, 32, 0, 0]);
        buf.extend_from_slice(&1u32.to_ne_bytes());
        for t in [IFA_LOCAL, IFA_ADDRESS] {
            buf.extend_from_slice(&8u16.to_ne_bytes());
            buf.extend_from_slice(&t.to_ne_bytes());
            buf.extend_from_slice(&a.octets());
        }
        msg::finish(buf, s);
    }

    fn get_addrs(buf: &mut Vec<u8>) {
        let s = msg::begin(buf, RTM_GETADDR, 0, 0);
        buf.extend_from_slice(&[libc::AF_INET as u8, 0, 0, 0, 0, 0, 0, 0]);
        msg::finish(buf, s);
    }

    fn ip(i: usize) -> Ipv4Addr {
        let bases = [[192, 0, 2], [198, 51, 100], [203, 0, 113]];
        let b = bases[i / 250];
        Ipv4Addr::new(b[0], b[1], b[2], (i % 250) as u8 + 1)
    }

    /// Run `f` in a throw-away network namespace (root; skips loudly otherwise).
    fn in_netns(what: &str, tag: &str, f: impl FnOnce() + Send + 'static) {
        if keel_testkit::require_root(what) {
            Netns::new(tag).enter(f);
        }
    }

    fn count_addrs(s: &mut Socket) -> usize {
        s.dump(get_addrs, |m| Ok::<_, Error>(m.kind))
            .unwrap()
            .unwrap()
            .iter()
            .filter(|&&k| k == RTM_NEWADDR)
            .count()
    }

    #[test]
    fn batches_report_each_refused_request_and_dumps_span_datagrams() {
        in_netns("keel-netlink batches (namespace)", "nlbatch", || {
            // Small receive buffers: the dump below needs many datagrams.
            let cfg = Config::default().rx_buf(4096).batch(100);
            let mut s = Socket::with_config(Protocol::Route, &cfg).unwrap();
            // 600 adds, of which 3 repeat an earlier address: EEXIST for
            // exactly those, wherever they fall in the 6 sends.
            let mut want: Vec<usize> = (0..600).collect();
            for (at, dup) in [(150, 3), (420, 100), (599, 598)] {
                want.insert(at, dup);
            }
            want.truncate(600);
            let fails = s
                .batch(want.len(), |i, b| addr(b, RTM_NEWADDR, ip(want[i])))
                .unwrap();
            let dup_at: Vec<usize> = (0..want.len())
                .filter(|&i| want[..i].contains(&want[i]))
                .collect();
            assert_eq!(
                fails,
                dup_at
                    .iter()
                    .map(|&index| Failure {
                        index,
                        errno: Errno::EEXIST
                    })
                    .collect::<Vec<_>>()
            );
            assert_eq!(s.counters().sends, 6);
            assert_eq!(s.counters().requests, 600);
            // 598 distinct addresses plus lo's 127.0.0.1, over many
            // 4 KiB datagrams.
            assert_eq!(count_addrs(&mut s), 598 - 1 + 1 + 1);
            // A refused single request is Ok(Err(errno)), not an Error.
            let r = s
                .request(|b| addr(b, RTM_NEWADDR, ip(0)), |m| Ok::<_, Error>(m.kind))
                .unwrap();
            assert_eq!(r, Err(Errno::EEXIST));
            let r = s
                .request(|b| addr(b, RTM_DELADDR, ip(0)), |m| Ok::<_, Error>(m.kind))
                .unwrap();
            assert_eq!(r, Ok(vec![]));
        });
    }

    #[test]
    fn an_overflowing_receive_buffer_is_an_overrun_not_a_hang() {
        in_netns("keel-netlink ENOBUFS (namespace)", "nlnobufs", || {
            // The smallest receive buffer the kernel allows, and 500 deletes
            // of absent addresses in one send: 500 error replies cannot fit.
            let cfg = Config::default().rcvbuf(0).batch(1000);
            let mut s = Socket::with_config(Protocol::Route, &cfg).unwrap();
            let r = s.batch(500, |i, b| addr(b, RTM_DELADDR, ip(i)));
            assert!(matches!(r, Err(Error::Overrun)), "{r:?}");
            // The socket stays usable: stale answers are skipped by their
            // sequence numbers.
            let fails = s.batch(2, |i, b| addr(b, RTM_NEWADDR, ip(i))).unwrap();
            assert!(fails.is_empty(), "{fails:?}");
            assert_eq!(count_addrs(&mut s), 3);
        });
    }

    #[test]
    fn a_listener_sees_address_events() {
        in_netns("keel-netlink listener (namespace)", "nllisten", || {
            let mut l = Listener::open(Protocol::Route, &[RTNLGRP_IPV4_IFADDR], 1 << 20).unwrap();
            let mut buf = Vec::new();
            assert!(!l.recv(&mut buf).unwrap(), "nothing yet, and no blocking");
            assert!(l.receive_buffer().unwrap() >= 1 << 20);
            let mut s = Socket::open(Protocol::Route).unwrap();
            assert!(s.receive_buffer().unwrap() >= 4 << 20);
            let fails = s.batch(3, |i, b| addr(b, RTM_NEWADDR, ip(i))).unwrap();
            assert!(fails.is_empty());
            let mut kinds = Vec::new();
            while l.recv(&mut buf).unwrap() {
                kinds.extend(crate::messages(&buf).map(|m| m.unwrap().kind));
            }
            assert_eq!(kinds, vec![RTM_NEWADDR; 3]);
        });
    }

    #[test]
    fn a_listener_reports_lost_events_as_an_overrun() {
        in_netns(
            "keel-netlink listener ENOBUFS (namespace)",
            "nllost",
            || {
                // The smallest receive buffer: 300 events cannot all be queued.
                let mut l = Listener::open(Protocol::Route, &[RTNLGRP_IPV4_IFADDR], 0).unwrap();
                let mut s = Socket::open(Protocol::Route).unwrap();
                let fails = s.batch(300, |i, b| addr(b, RTM_NEWADDR, ip(i))).unwrap();
                assert!(fails.is_empty());
                let mut buf = Vec::new();
                let mut seen = 0;
                let overrun = loop {
                    match l.recv(&mut buf) {
                        Ok(true) => seen += 1,
                        Ok(false) => break false,
                        Err(Error::Overrun) => break true,
                        Err(e) => panic!("{e}"),
                    }
                };
                assert!(overrun, "300 events fit in the smallest buffer? saw {seen}");
                assert!(seen < 300);
                l.drain();
                assert!(!l.recv(&mut buf).unwrap(), "drained");
            },
        );
    }
}
