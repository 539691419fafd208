//! TCP_CHECK, HTTP_GET, DNS_CHECK, SMTP_CHECK, UDP_CHECK, PING_CHECK and FILE_CHECK
//! against real servers of their kind in a network namespace of their own, the checker
//! in another one, joined by a veth pair: each goes pass -> fail -> pass with keepalived
//! 2.2.7's lines.
//! Root only (skips loudly otherwise; fails under CI=true).
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use keel_check::{
    CheckId, CheckSpec, Checker, CheckerOptions, ConnectOpts, DnsSpec, DnsType, Event, FileSpec,
    HexPattern, HttpSpec, Proto, RealServerCheck, SmtpSpec, Transition, UdpSpec, UrlSpec,
    WeightOffset,
};
use keel_testkit::{Netns, require_root, require_tool};

mod common;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio::time::timeout;

const CHK: &str = "192.0.2.1";
const SRV: &str = "192.0.2.2";

/// The checker's and the servers' namespaces, joined by a veth pair.
fn pair(tag: &str) -> (Netns, Netns) {
    let chk = Netns::new(&format!("{tag}c"));
    let srv = Netns::new(&format!("{tag}s"));
    chk.veth_to(&srv, "c0", "s0");
    chk.run_ok(&["ip", "addr", "add", &format!("{CHK}/24"), "dev", "c0"]);
    srv.run_ok(&["ip", "addr", "add", &format!("{SRV}/24"), "dev", "s0"]);
    for (ns, dev, a) in [
        (&chk, "c0", "2001:db8::1/64"),
        (&srv, "s0", "2001:db8::2/64"),
    ] {
        // link down/up must not take the address away (the ping test)
        ns.run_ok(&[
            "sysctl",
            "-qw",
            &format!("net.ipv6.conf.{dev}.keep_addr_on_down=1"),
        ]);
        ns.run_ok(&["ip", "addr", "add", a, "dev", dev, "nodad"]);
    }
    (chk, srv)
}

/// Run `f` on a current-thread runtime on a thread inside `ns`.
fn run_in<F, Fut>(ns: &Netns, f: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    ns.enter(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f());
    });
}

fn check(spec: CheckSpec, target: SocketAddr) -> RealServerCheck {
    let mut c = RealServerCheck::new(CheckId(1), target, spec);
    c.proto = Proto::Udp;
    c.virtual_server = Some("[192.0.2.250]:udp:53".into());
    c.delay_loop = Duration::from_millis(500);
    c.retry = Some(1);
    c.delay_before_retry = Some(Duration::from_millis(300));
    c.warmup = Some(Duration::ZERO);
    c
}

fn conn() -> ConnectOpts {
    ConnectOpts {
        connect_timeout: Duration::from_secs(1),
        ..ConnectOpts::default()
    }
}

fn start(c: RealServerCheck) -> (Checker, mpsc::Receiver<Event>) {
    let (tx, rx) = mpsc::channel(64);
    let mut ck = Checker::new(
        tx,
        CheckerOptions {
            seed: Some(7),
            bootstrap_delay: Duration::ZERO,
            ..CheckerOptions::default()
        },
    );
    ck.add(c).unwrap();
    (ck, rx)
}

async fn transition(rx: &mut mpsc::Receiver<Event>) -> Transition {
    loop {
        match timeout(Duration::from_secs(20), rx.recv()).await {
            Ok(Some(Event::Transition(t))) => return t,
            Ok(Some(_)) => continue,
            Ok(None) => panic!("checker stopped"),
            Err(_) => panic!("no transition within 20 s"),
        }
    }
}

/// The next transition: its direction and keepalived's line (`None`: it logs none).
async fn expect(rx: &mut mpsc::Receiver<Event>, up: bool, line: Option<&str>) {
    let t = transition(rx).await;
    eprintln!(
        "{} -> {:?}",
        if t.up { "up" } else { "down" },
        t.reason.log_line()
    );
    assert_eq!(t.up, up, "{t:?}");
    assert_eq!(t.reason.log_line().as_deref(), line, "{t:?}");
}

// ---------------------------------------------------------------- TCP_CHECK

#[test]
fn tcp_check_refused_and_link_down() {
    if !require_root("TCP_CHECK across veth") {
        return;
    }
    let (chk, srv) = pair("tcp");
    let srv_name = srv.name().to_owned();
    let bind = move |srv: &Netns| srv.enter(|| std::net::TcpListener::bind((SRV, 80)).unwrap());
    let first = bind(&srv);
    run_in(&chk, move || async move {
        // the kernel completes handshakes into the backlog: no accept loop needed
        let mut c = check(
            CheckSpec::Tcp { conn: conn() },
            format!("{SRV}:80").parse().unwrap(),
        );
        c.proto = Proto::Tcp;
        let (ck, mut rx) = start(c);
        let up = "TCP connection to [192.0.2.2]:tcp:80 success.";
        let down = "TCP_CHECK on service [192.0.2.2]:tcp:80 failed after 1 retries.";
        expect(&mut rx, true, Some(up)).await;
        drop(first); // the server's kernel now answers with a RST
        expect(&mut rx, false, Some(down)).await;
        let again = bind(&srv);
        expect(&mut rx, true, Some(up)).await;
        // link down: no answer at all, connect_timeout (1 s) runs out
        keel_testkit::sh_ok(&["ip", "-n", &srv_name, "link", "set", "s0", "down"]);
        expect(&mut rx, false, Some(down)).await;
        keel_testkit::sh_ok(&["ip", "-n", &srv_name, "link", "set", "s0", "up"]);
        expect(&mut rx, true, Some(up)).await;
        ck.shutdown().await;
        drop(again);
    });
}

// ---------------------------------------------------------------- HTTP_GET

/// A minimal HTTP server: reads a request, answers with the status in `status`.
async fn http_server(listener: std::net::TcpListener, status: Arc<AtomicU8>) {
    use tokio::io::AsyncReadExt;
    listener.set_nonblocking(true).unwrap();
    let l = tokio::net::TcpListener::from_std(listener).unwrap();
    while let Ok((mut s, _)) = l.accept().await {
        let code = match status.load(Ordering::SeqCst) {
            0 => "200 OK",
            _ => "503 Service Unavailable",
        };
        tokio::spawn(async move {
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let reply = format!("HTTP/1.0 {code}\r\nContent-Length: 2\r\n\r\nok");
            let _ = s.write_all(reply.as_bytes()).await;
        });
    }
}

#[test]
fn http_get_status_and_link_down() {
    if !require_root("HTTP_GET across veth") {
        return;
    }
    let (chk, srv) = pair("http");
    let srv_name = srv.name().to_owned();
    let listener = srv.enter(|| std::net::TcpListener::bind((SRV, 80)).unwrap());
    run_in(&chk, move || async move {
        let status = Arc::new(AtomicU8::new(0));
        tokio::spawn(http_server(listener, status.clone()));
        let mut http = HttpSpec::default();
        http.urls.push(UrlSpec::new("/health"));
        let mut c = check(
            CheckSpec::Http { conn: conn(), http },
            format!("{SRV}:80").parse().unwrap(),
        );
        c.proto = Proto::Tcp;
        let (ck, mut rx) = start(c);
        let up = "Remote Web server [192.0.2.2]:tcp:80 succeed on service.";
        let down = "HTTP_CHECK on service [192.0.2.2]:tcp:80 failed after 1 retries.";
        expect(&mut rx, true, Some(up)).await;
        status.store(1, Ordering::SeqCst);
        expect(&mut rx, false, Some(down)).await;
        status.store(0, Ordering::SeqCst);
        expect(&mut rx, true, Some(up)).await;
        keel_testkit::sh_ok(&["ip", "-n", &srv_name, "link", "set", "s0", "down"]);
        expect(&mut rx, false, Some(down)).await;
        keel_testkit::sh_ok(&["ip", "-n", &srv_name, "link", "set", "s0", "up"]);
        expect(&mut rx, true, Some(up)).await;
        ck.shutdown().await;
    });
}

// ---------------------------------------------------------------- DNS_CHECK

#[test]
fn dns_check_against_dnsmasq() {
    if !require_root("DNS_CHECK vs dnsmasq") || !require_tool("DNS_CHECK vs dnsmasq", "dnsmasq") {
        return;
    }
    let (chk, srv) = pair("dns");
    let srv_name = srv.name().to_owned();
    run_in(&chk, move || async move {
        let mut server = common::dnsmasq(&srv_name);
        let spec = CheckSpec::Dns {
            conn: conn(),
            dns: DnsSpec {
                qtype: DnsType::A,
                name: "example.org".into(),
            },
        };
        let mut c = check(spec, format!("{SRV}:53").parse().unwrap());
        c.retry = None; // DNS_CHECK's default: 3
        c.delay_before_retry = Some(Duration::from_millis(200));
        let (ck, mut rx) = start(c);
        // The first verdict is always reported; keepalived logs no line of its own
        // when a DNS_CHECK comes up.
        expect(&mut rx, true, None).await;
        server.kill().unwrap();
        server.wait().unwrap();
        // no listener: the server's kernel answers port unreachable
        expect(
            &mut rx,
            false,
            Some(
                "DNS_CHECK ([192.0.2.2]:udp:53) failed to read socket; errno 111 \
                 (Connection refused) after 3 retries",
            ),
        )
        .await;
        let mut server = common::dnsmasq(&srv_name);
        expect(&mut rx, true, None).await;
        ck.shutdown().await;
        let _ = server.kill();
        let _ = server.wait();
    });
}

// ---------------------------------------------------------------- SMTP_CHECK

/// A minimal SMTP server: `mode` 0 answers 220 / 250 / 221, 1 greets with 554, 2 answers
/// HELO with 550. Logs the HELO lines it got.
async fn smtp_server(
    listener: std::net::TcpListener,
    mode: Arc<AtomicU8>,
    helos: mpsc::Sender<String>,
) {
    listener.set_nonblocking(true).unwrap();
    let l = tokio::net::TcpListener::from_std(listener).unwrap();
    while let Ok((s, _)) = l.accept().await {
        let mode = mode.clone();
        let helos = helos.clone();
        tokio::spawn(async move {
            let m = mode.load(Ordering::SeqCst);
            let mut s = BufReader::new(s);
            let banner: &[u8] = if m == 1 {
                b"554 go away\r\n"
            } else {
                b"220-mx.example.org ESMTP\r\n220 ready\r\n"
            };
            if s.get_mut().write_all(banner).await.is_err() || m == 1 {
                return;
            }
            let mut line = String::new();
            if s.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let _ = helos.send(line.trim_end().to_owned()).await;
            let reply: &[u8] = if m == 2 {
                b"550 no\r\n"
            } else {
                b"250 hello\r\n"
            };
            let _ = s.get_mut().write_all(reply).await;
            line.clear();
            if s.read_line(&mut line).await.unwrap_or(0) > 0 && line.starts_with("QUIT") {
                let _ = s.get_mut().write_all(b"221 bye\r\n").await;
            }
        });
    }
}

#[test]
fn smtp_check_against_a_server() {
    if !require_root("SMTP_CHECK") {
        return;
    }
    let (chk, srv) = pair("smtp");
    let listener = srv.enter(|| std::net::TcpListener::bind((SRV, 25)).unwrap());
    run_in(&chk, move || async move {
        let mode = Arc::new(AtomicU8::new(0));
        let (htx, mut hrx) = mpsc::channel(64);
        tokio::spawn(smtp_server(listener, mode.clone(), htx));
        let spec = CheckSpec::Smtp {
            conn: conn(),
            smtp: SmtpSpec {
                helo_name: "director.example.org".into(),
            },
        };
        let mut c = check(spec, format!("{SRV}:25").parse().unwrap());
        c.proto = Proto::Tcp;
        let (ck, mut rx) = start(c);
        expect(
            &mut rx,
            true,
            Some("Remote SMTP server [192.0.2.2]:tcp:25 succeed on service."),
        )
        .await;
        assert_eq!(hrx.recv().await.unwrap(), "HELO director.example.org");
        let up = "Remote SMTP server [192.0.2.2]:tcp:25 succeed on service.";
        for (m, ok, line) in [
            (
                1,
                false,
                "SMTP_CHECK Bad greeting banner from server [192.0.2.2]:25",
            ),
            (0, true, up),
            (
                2,
                false,
                "SMTP_CHECK Bad HELO response from server [192.0.2.2]:25",
            ),
            (0, true, up),
        ] {
            mode.store(m, Ordering::SeqCst);
            expect(&mut rx, ok, Some(line)).await;
        }
        ck.shutdown().await;
    });
}

// ---------------------------------------------------------------- UDP_CHECK

/// A UDP echo server that answers while `on`; dropped (port unreachable) otherwise.
async fn udp_echo(sock: std::net::UdpSocket) {
    sock.set_nonblocking(true).unwrap();
    let s = tokio::net::UdpSocket::from_std(sock).unwrap();
    let mut buf = [0u8; 2048];
    while let Ok((n, from)) = s.recv_from(&mut buf).await {
        let _ = s.send_to(&buf[..n], from).await;
    }
}

#[test]
fn udp_check_against_an_echo_server() {
    if !require_root("UDP_CHECK") {
        return;
    }
    let (chk, srv) = pair("udp");
    let first = srv.enter(|| std::net::UdpSocket::bind((SRV, 7)).unwrap());
    run_in(&chk, move || async move {
        let echo = tokio::spawn(udp_echo(first));
        let mut udp = UdpSpec::new();
        udp.payload = Some(HexPattern::parse("6b 65 65 6c", false).unwrap().data);
        udp.require_reply = true;
        udp.reply = Some(HexPattern::parse("6b 65 xx 6c", true).unwrap());
        let spec = CheckSpec::Udp { conn: conn(), udp };
        let (ck, mut rx) = start(check(spec, format!("{SRV}:7").parse().unwrap()));
        expect(
            &mut rx,
            true,
            Some("UDP connection to [192.0.2.2]:udp:7 success."),
        )
        .await;
        echo.abort();
        let _ = echo.await; // the socket closes: the server's kernel answers port unreachable
        expect(
            &mut rx,
            false,
            Some("UDP_CHECK on service [192.0.2.2]:udp:7 failed after 1 retries."),
        )
        .await;
        let again = srv.enter(|| std::net::UdpSocket::bind((SRV, 7)).unwrap());
        let echo = tokio::spawn(udp_echo(again));
        expect(
            &mut rx,
            true,
            Some("UDP connection to [192.0.2.2]:udp:7 success."),
        )
        .await;
        echo.abort();
        ck.shutdown().await;
    });
}

// ---------------------------------------------------------------- PING_CHECK

fn ping_case(tag: &str, dgram: bool, v6: bool) {
    let (chk, srv) = pair(tag);
    if dgram {
        chk.run_ok(&["sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647"]);
    }
    let srv_name = srv.name().to_owned();
    let (target, label): (SocketAddr, &str) = if v6 {
        ("[2001:db8::2]:0".parse().unwrap(), "[2001:db8::2]:tcp:0")
    } else {
        (format!("{SRV}:0").parse().unwrap(), "[192.0.2.2]:tcp:0")
    };
    let label = label.to_owned();
    // The path must carry a ping before the checker starts: on a loaded
    // machine a fresh veth's first neighbour exchange can outlast the
    // checker's 1 s timeout, and the first verdict would be a failure the
    // network, not the checker, caused.
    let dst = target.ip().to_string();
    let ready = (0..20).any(|_| chk.run(&["ping", "-c1", "-W1", &dst]).status.success());
    assert!(
        ready,
        "{dst} does not answer ping from the checker's namespace"
    );
    run_in(&chk, move || async move {
        let mut c = check(CheckSpec::Ping { conn: conn() }, target);
        c.proto = Proto::Tcp;
        c.virtual_server = Some("[192.0.2.250]:tcp:0".into());
        let (ck, mut rx) = start(c);
        let up = format!("ICMP connection to {label} success.");
        expect(&mut rx, true, Some(&up)).await;
        keel_testkit::sh_ok(&["ip", "-n", &srv_name, "link", "set", "s0", "down"]);
        let down =
            format!("ICMP CHECK on service {label} of [192.0.2.250]:tcp:0 failed after 1 retries.");
        expect(&mut rx, false, Some(&down)).await;
        keel_testkit::sh_ok(&["ip", "-n", &srv_name, "link", "set", "s0", "up"]);
        expect(&mut rx, true, Some(&up)).await;
        ck.shutdown().await;
    });
}

#[test]
fn ping_check_raw_socket_link_down_up() {
    if require_root("PING_CHECK raw") {
        ping_case("pingr", false, false);
    }
}

#[test]
fn ping_check_datagram_socket_link_down_up() {
    if require_root("PING_CHECK dgram") {
        ping_case("pingd", true, false);
    }
}

#[test]
fn ping_check_icmpv6_link_down_up() {
    if require_root("PING_CHECK v6") {
        ping_case("ping6", false, true);
    }
}

// ---------------------------------------------------------------- FILE_CHECK

#[test]
fn file_check_follows_the_file() {
    let dir = std::env::temp_dir().join(format!("keel-file-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("weight");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let p = path.clone();
    rt.block_on(async move {
        let mut f = FileSpec::new(&p);
        f.name = "wfile".into();
        f.weight = 10;
        f.init = Some((0, false));
        f.poll = Duration::from_millis(100);
        let (ck, mut rx) = start(check(CheckSpec::File(f), "192.0.2.2:80".parse().unwrap()));
        // init_file created the file with 0: up, no offset, and keepalived logs nothing
        expect(&mut rx, true, None).await;
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "0\n");
        let set = |v: &str| {
            let mut w = std::fs::File::create(&p).unwrap();
            w.write_all(v.as_bytes()).unwrap();
        };
        set("3\n");
        let o = offset(&mut rx).await;
        assert_eq!(o, 30);
        set(&format!("{}\n", i64::from(i32::MIN) / 10 - 1));
        expect(&mut rx, false, None).await;
        set("-2");
        let o = offset(&mut rx).await;
        assert_eq!(o, -20);
        expect(&mut rx, true, None).await;
        ck.shutdown().await;
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

async fn offset(rx: &mut mpsc::Receiver<Event>) -> i32 {
    match timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap()
    {
        Event::Offset(WeightOffset { offset, .. }) => offset,
        e => panic!("expected an offset, got {e:?}"),
    }
}
