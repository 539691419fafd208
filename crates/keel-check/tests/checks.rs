//! Every checker against real servers on 127.0.0.1 (no namespaces needed: loopback only).
#![allow(clippy::unwrap_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use keel_check::{
    CheckId, CheckKind, CheckSpec, Checker, CheckerOptions, ConnectOpts, Event, HttpSpec,
    Md5Digest, MiscSpec, ProbeError, RealServerCheck, StatusCodes, TlsSni, TlsSpec, TlsVerify,
    Transition, UrlSpec, WeightChange,
};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout};

// ---------------------------------------------------------------- helpers

fn opts() -> CheckerOptions {
    CheckerOptions {
        seed: Some(42),
        bootstrap_delay: Duration::ZERO,
        ..CheckerOptions::default()
    }
}

fn checker() -> (Checker, mpsc::Receiver<Event>) {
    let (tx, rx) = mpsc::channel(256);
    (Checker::new(tx, opts()), rx)
}

fn check(id: u64, target: SocketAddr, spec: CheckSpec) -> RealServerCheck {
    let mut c = RealServerCheck::new(CheckId(id), target, spec);
    c.delay_loop = Duration::from_millis(200);
    c.delay_before_retry = Some(Duration::from_millis(100));
    c.warmup = Some(Duration::ZERO);
    c
}

fn fast_conn() -> ConnectOpts {
    ConnectOpts {
        connect_timeout: Duration::from_secs(2),
        ..ConnectOpts::default()
    }
}

async fn next_event(rx: &mut mpsc::Receiver<Event>) -> Event {
    timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("no event within 20 s")
        .expect("channel closed")
}

async fn next_transition(rx: &mut mpsc::Receiver<Event>) -> Transition {
    match next_event(rx).await {
        Event::Transition(t) => t,
        e => panic!("expected a transition, got {e:?}"),
    }
}

/// A port on 127.0.0.1 that nothing listens on.
async fn closed_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

/// Accepts and drops connections until the returned handle is aborted.
async fn tcp_server() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let h = tokio::spawn(async move {
        while let Ok(c) = l.accept().await {
            drop(c);
        }
    });
    (addr, h)
}

/// What the test HTTP server answers and what it saw.
#[derive(Debug)]
struct Web {
    status: u16,
    body: &'static str,
    /// (time, path, Host header, user agent) of each request
    log: Vec<(Instant, String, String, String)>,
    /// SNI names seen by the TLS server
    sni: Vec<Option<String>>,
}

type Shared = Arc<Mutex<Web>>;

fn web(status: u16, body: &'static str) -> Shared {
    Arc::new(Mutex::new(Web {
        status,
        body,
        log: Vec::new(),
        sni: Vec::new(),
    }))
}

async fn handle(
    state: Shared,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut w = state.lock().unwrap();
    let header = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    w.log.push((
        Instant::now(),
        req.uri().to_string(),
        header("host"),
        header("user-agent"),
    ));
    let mut resp = Response::new(Full::new(Bytes::from_static(w.body.as_bytes())));
    *resp.status_mut() = hyper::StatusCode::from_u16(w.status).unwrap();
    Ok(resp)
}

async fn http_server(state: Shared) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let st = state.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |r| handle(st.clone(), r));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(s), svc)
                    .await;
            });
        }
    });
    addr
}

fn http_spec(path: &str) -> HttpSpec {
    HttpSpec {
        urls: vec![UrlSpec::new(path)],
        ..HttpSpec::default()
    }
}

fn md5_hex(s: &str) -> String {
    use md5::Digest;
    md5::Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ---------------------------------------------------------------- TCP_CHECK

#[tokio::test]
async fn tcp_open_is_up_closed_is_down() {
    let (open, server) = tcp_server().await;
    let closed = closed_port().await;
    let (mut ck, mut rx) = checker();
    ck.add(check(1, open, CheckSpec::tcp())).unwrap();
    ck.add(check(2, closed, CheckSpec::tcp())).unwrap();
    let mut seen = Vec::new();
    for _ in 0..2 {
        seen.push(next_transition(&mut rx).await);
    }
    seen.sort_by_key(|t| t.id);
    assert!(seen[0].up && seen[0].was_up && seen[0].reason.first);
    assert_eq!(
        seen[0].to_string(),
        format!("TCP connection to [127.0.0.1]:tcp:{} success.", open.port())
    );
    assert!(!seen[1].up);
    assert_eq!(
        seen[1].reason.error,
        Some(ProbeError::Connect(std::io::ErrorKind::ConnectionRefused))
    );
    // first verdict: one failure is enough, keepalived prints no retry count
    assert_eq!(
        seen[1].to_string(),
        format!(
            "TCP_CHECK on service [127.0.0.1]:tcp:{} failed.",
            closed.port()
        )
    );
    assert_eq!(
        seen[1].reason.attempt_line().unwrap(),
        format!(
            "TCP connection to [127.0.0.1]:tcp:{} failed.",
            closed.port()
        )
    );
    // stop the server: check 1 goes down after retry+1 failures
    server.abort();
    let _ = server.await;
    let t = next_transition(&mut rx).await;
    assert_eq!((t.id, t.up, t.was_up), (CheckId(1), false, true));
    assert_eq!(
        t.to_string(),
        format!(
            "TCP_CHECK on service [127.0.0.1]:tcp:{} failed after 1 retries.",
            open.port()
        )
    );
    ck.shutdown().await;
}

#[tokio::test]
async fn tcp_connect_ip_port_and_bindto() {
    let (open, _server) = tcp_server().await;
    let (mut ck, mut rx) = checker();
    // target is a closed port, connect_port redirects to the open one; bind to 127.0.0.2
    let closed = closed_port().await;
    let conn = ConnectOpts {
        connect_ip: Some("127.0.0.1".parse().unwrap()),
        connect_port: Some(open.port()),
        bindto: Some("127.0.0.2".parse().unwrap()),
        ..fast_conn()
    };
    ck.add(check(1, closed, CheckSpec::Tcp { conn })).unwrap();
    let t = next_transition(&mut rx).await;
    assert!(t.up, "{t:?}");
    // the log names the real server, not the connect address
    assert!(t.to_string().contains(&format!(":tcp:{}", closed.port())));
    // an address we do not own cannot be bound
    let conn = ConnectOpts {
        bindto: Some("192.0.2.1".parse().unwrap()),
        ..fast_conn()
    };
    ck.add(check(2, open, CheckSpec::Tcp { conn })).unwrap();
    let t = next_transition(&mut rx).await;
    assert_eq!(t.id, CheckId(2));
    assert!(matches!(t.reason.error, Some(ProbeError::Bind(_))), "{t:?}");
    ck.shutdown().await;
}

#[tokio::test]
async fn tcp_connect_timeout() {
    // A listener with a full backlog that never accepts: further SYNs are dropped,
    // so connects time out.
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let l = sock.listen(0).unwrap();
    let addr = l.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        if let Ok(Ok(s)) = timeout(
            Duration::from_millis(200),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            fillers.push(s);
        }
    }
    let (mut ck, mut rx) = checker();
    let conn = ConnectOpts {
        connect_timeout: Duration::from_millis(300),
        ..ConnectOpts::default()
    };
    let start = Instant::now();
    ck.add(check(1, addr, CheckSpec::Tcp { conn })).unwrap();
    let t = next_transition(&mut rx).await;
    assert_eq!(t.reason.error, Some(ProbeError::ConnectTimeout), "{t:?}");
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert!(t.reason.attempt_line().unwrap().ends_with("timeout."));
    drop(l);
    ck.shutdown().await;
}

// ---------------------------------------------------------------- HTTP_GET

#[tokio::test]
async fn http_status_codes() {
    let state = web(200, "hello");
    let addr = http_server(state.clone()).await;
    let (mut ck, mut rx) = checker();
    let spec = CheckSpec::Http {
        conn: fast_conn(),
        http: http_spec("/health"),
    };
    let mut c = check(1, addr, spec);
    c.retry = Some(0);
    ck.add(c).unwrap();
    let t = next_transition(&mut rx).await;
    assert!(t.up);
    assert_eq!(
        t.to_string(),
        format!(
            "Remote Web server [127.0.0.1]:tcp:{} succeed on service.",
            addr.port()
        )
    );
    {
        let w = state.lock().unwrap();
        let (_, path, host, ua) = &w.log[0];
        assert_eq!(path, "/health");
        assert_eq!(host, &format!("127.0.0.1:{}", addr.port()));
        assert_eq!(ua, "KeepAliveClient");
    }
    state.lock().unwrap().status = 503;
    let t = next_transition(&mut rx).await;
    assert!(!t.up);
    assert_eq!(t.reason.error, Some(ProbeError::Status(503)));
    assert_eq!(t.reason.url.as_deref(), Some("/health"));
    assert_eq!(
        t.reason.attempt_line().unwrap(),
        format!(
            "HTTP status code error to server [127.0.0.1]:tcp:{}.",
            addr.port()
        )
    );
    state.lock().unwrap().status = 204;
    let t = next_transition(&mut rx).await;
    assert!(t.up && !t.was_up);
    ck.shutdown().await;
}

#[tokio::test]
async fn http_custom_status_codes_virtualhost_and_several_urls() {
    let state = web(404, "");
    let addr = http_server(state.clone()).await;
    let (mut ck, mut rx) = checker();
    let mut a = UrlSpec::new("/a");
    a.status_code = StatusCodes::parse("301 400-404").unwrap();
    let mut b = UrlSpec::new("/b");
    b.status_code = StatusCodes::parse("404").unwrap();
    b.virtualhost = Some("b.example".into());
    let spec = CheckSpec::Http {
        conn: fast_conn(),
        http: HttpSpec {
            urls: vec![a, b],
            virtualhost: Some("www.example".into()),
            ..HttpSpec::default()
        },
    };
    ck.add(check(1, addr, spec)).unwrap();
    let t = next_transition(&mut rx).await;
    assert!(t.up, "{t:?}");
    assert_eq!(t.reason.url.as_deref(), Some("/b"));
    let log: Vec<(String, String)> = state
        .lock()
        .unwrap()
        .log
        .iter()
        .map(|l| (l.1.clone(), l.2.clone()))
        .collect();
    assert_eq!(log[0], ("/a".into(), "www.example".into()));
    assert_eq!(log[1], ("/b".into(), "b.example".into()));
    ck.shutdown().await;
}

#[tokio::test]
async fn http_digest_match_and_mismatch() {
    let state = web(200, "the body");
    let addr = http_server(state.clone()).await;
    let (mut ck, mut rx) = checker();
    let mut good = UrlSpec::new("/");
    good.digest = Some(Md5Digest::from_hex(&md5_hex("the body")).unwrap());
    let mut bad = UrlSpec::new("/");
    bad.digest = Some(Md5Digest::from_hex(&md5_hex("another body")).unwrap());
    for (id, url) in [(1, good), (2, bad)] {
        let spec = CheckSpec::Http {
            conn: fast_conn(),
            http: HttpSpec {
                urls: vec![url],
                ..HttpSpec::default()
            },
        };
        ck.add(check(id, addr, spec)).unwrap();
    }
    let mut seen = [
        next_transition(&mut rx).await,
        next_transition(&mut rx).await,
    ];
    seen.sort_by_key(|t| t.id);
    assert!(seen[0].up, "{:?}", seen[0]);
    assert!(!seen[1].up);
    assert_eq!(seen[1].reason.error, Some(ProbeError::Digest));
    assert_eq!(
        seen[1].reason.attempt_line().unwrap(),
        format!(
            "MD5 digest error to server [127.0.0.1]:tcp:{}.",
            addr.port()
        )
    );
    ck.shutdown().await;
}

#[tokio::test]
async fn http_not_http_and_read_timeout() {
    // A server that answers garbage, and one that accepts but never answers.
    let garbage = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let g_addr = garbage.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut s, _)) = garbage.accept().await {
            let _ = s.write_all(b"SSH-2.0-nope\r\n").await;
        }
    });
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let s_addr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut keep = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            keep.push(s);
        }
    });
    let (mut ck, mut rx) = checker();
    let conn = ConnectOpts {
        connect_timeout: Duration::from_millis(300),
        ..ConnectOpts::default()
    };
    for (id, addr) in [(1, g_addr), (2, s_addr)] {
        let spec = CheckSpec::Http {
            conn: conn.clone(),
            http: http_spec("/"),
        };
        ck.add(check(id, addr, spec)).unwrap();
    }
    let mut seen = [
        next_transition(&mut rx).await,
        next_transition(&mut rx).await,
    ];
    seen.sort_by_key(|t| t.id);
    assert_eq!(
        seen[0].reason.error,
        Some(ProbeError::Http),
        "{:?}",
        seen[0]
    );
    assert_eq!(seen[1].reason.error, Some(ProbeError::HttpTimeout));
    assert!(
        seen[1]
            .reason
            .attempt_line()
            .unwrap()
            .starts_with("Timeout WEB read server")
    );
    ck.shutdown().await;
}

/// retry / delay_before_retry timing, observed from the server's request log.
#[tokio::test]
async fn http_retry_timing() {
    let state = web(200, "ok");
    let addr = http_server(state.clone()).await;
    let (mut ck, mut rx) = checker();
    let mut c = check(
        1,
        addr,
        CheckSpec::Http {
            conn: fast_conn(),
            http: http_spec("/"),
        },
    );
    c.delay_loop = Duration::from_millis(600);
    c.retry = Some(2);
    c.delay_before_retry = Some(Duration::from_millis(250));
    ck.add(c).unwrap();
    assert!(next_transition(&mut rx).await.up);
    state.lock().unwrap().status = 500;
    let flipped = state.lock().unwrap().log.len();
    let t = next_transition(&mut rx).await;
    assert!(!t.up);
    assert_eq!(
        t.to_string(),
        format!(
            "HTTP_CHECK on service [127.0.0.1]:tcp:{} failed after 2 retries.",
            addr.port()
        )
    );
    let log: Vec<Instant> = state.lock().unwrap().log.iter().map(|l| l.0).collect();
    // exactly retry + 1 = 3 failing requests before the down report
    let fails = &log[flipped..];
    assert_eq!(fails.len(), 3, "requests after the flip: {}", fails.len());
    for w in fails.windows(2) {
        let gap = w[1] - w[0];
        assert!(
            gap >= Duration::from_millis(250) && gap < Duration::from_millis(550),
            "retry gap {gap:?}"
        );
    }
    // while up, checks were delay_loop apart
    let gap = log[1] - log[0];
    assert!(gap >= Duration::from_millis(600), "loop gap {gap:?}");
    // one success brings it back
    state.lock().unwrap().status = 200;
    let before = state.lock().unwrap().log.len();
    let t = next_transition(&mut rx).await;
    assert!(t.up);
    assert_eq!(state.lock().unwrap().log.len(), before + 1);
    ck.shutdown().await;
}

// ---------------------------------------------------------------- SSL_GET

struct TlsServer {
    addr: SocketAddr,
    ca_pem: Vec<u8>,
}

async fn tls_server(state: Shared) -> TlsServer {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_der = key.cert.der().clone();
    let ca_pem = key.cert.pem().into_bytes();
    let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(key.key_pair.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert_der], key_der)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let acceptor = acceptor.clone();
            let st = state.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(s).await else {
                    return;
                };
                let sni = tls.get_ref().1.server_name().map(str::to_owned);
                st.lock().unwrap().sni.push(sni);
                let svc = service_fn(move |r| handle(st.clone(), r));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    TlsServer { addr, ca_pem }
}

fn ssl(tls: TlsSpec, vhost: Option<&str>) -> CheckSpec {
    CheckSpec::Ssl {
        conn: fast_conn(),
        http: HttpSpec {
            urls: vec![UrlSpec::new("/tls")],
            virtualhost: vhost.map(str::to_owned),
            ..HttpSpec::default()
        },
        tls,
    }
}

#[tokio::test]
async fn ssl_get_without_and_with_verification() {
    let state = web(200, "secure");
    let srv = tls_server(state.clone()).await;
    let (mut ck, mut rx) = checker();
    // 1: keepalived's default: no verification, no SNI
    ck.add(check(1, srv.addr, ssl(TlsSpec::default(), None)))
        .unwrap();
    let t = next_transition(&mut rx).await;
    assert!(t.up, "{t:?}");
    assert_eq!(t.reason.kind, CheckKind::Ssl);
    assert_eq!(state.lock().unwrap().sni, vec![None]);
    ck.remove(CheckId(1));
    // 2: enable_sni takes the virtualhost; verification against our CA passes
    let tls = TlsSpec {
        sni: TlsSni::FromVirtualhost,
        verify: TlsVerify::CaPem(srv.ca_pem.clone()),
    };
    ck.add(check(2, srv.addr, ssl(tls, Some("localhost"))))
        .unwrap();
    let t = next_transition(&mut rx).await;
    assert_eq!(t.id, CheckId(2));
    assert!(t.up, "{t:?}");
    assert_eq!(
        state.lock().unwrap().sni.last().unwrap().as_deref(),
        Some("localhost")
    );
    ck.remove(CheckId(2));
    // 3: verification with a name the certificate does not carry fails the handshake
    let tls = TlsSpec {
        sni: TlsSni::Name("other.example".into()),
        verify: TlsVerify::CaPem(srv.ca_pem.clone()),
    };
    ck.add(check(3, srv.addr, ssl(tls, None))).unwrap();
    let t = next_transition(&mut rx).await;
    assert_eq!(t.id, CheckId(3));
    assert!(!t.up);
    assert_eq!(t.reason.error, Some(ProbeError::Tls));
    // 4: a plain HTTP server is not a TLS server
    let plain = http_server(web(200, "")).await;
    ck.add(check(4, plain, ssl(TlsSpec::default(), None)))
        .unwrap();
    let t = next_transition(&mut rx).await;
    assert_eq!((t.id, t.up), (CheckId(4), false));
    assert_eq!(t.reason.error, Some(ProbeError::Tls));
    // a CA that is not PEM is refused up front
    let tls = TlsSpec {
        sni: TlsSni::Off,
        verify: TlsVerify::CaPem(b"not a cert".to_vec()),
    };
    assert_eq!(
        ck.add(check(5, srv.addr, ssl(tls, None))),
        Err(keel_check::Error::InvalidCa)
    );
    ck.shutdown().await;
}

// ---------------------------------------------------------------- MISC_CHECK

struct Scripts(std::path::PathBuf);

impl Scripts {
    fn new(tag: &str) -> Self {
        let d = std::env::temp_dir().join(format!("keel-check-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        Scripts(d)
    }
    fn script(&self, name: &str, body: &str) -> String {
        use std::os::unix::fs::PermissionsExt;
        let p = self.0.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p.to_string_lossy().into_owned()
    }
}

impl Drop for Scripts {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn misc(path: &str, dynamic: bool) -> CheckSpec {
    CheckSpec::Misc(MiscSpec {
        timeout: Some(Duration::from_secs(5)),
        dynamic,
        ..MiscSpec::new(path)
    })
}

const RS: &str = "192.0.2.12:80";

#[tokio::test]
async fn misc_exit_codes() {
    let s = Scripts::new("exit");
    let (mut ck, mut rx) = checker();
    let ok = s.script("ok", "exit 0");
    let fail = s.script("fail", "exit 1");
    let five = s.script("five", "exit 5");
    let rs: SocketAddr = RS.parse().unwrap();
    let mut c = check(1, rs, misc(&ok, false));
    c.virtual_server = Some("[192.0.2.250]:tcp:80".into());
    ck.add(c).unwrap();
    let t = next_transition(&mut rx).await;
    assert!(t.up);
    assert_eq!(
        t.to_string(),
        format!(
            "Misc check for [[192.0.2.12]:tcp:80 VS [192.0.2.250]:tcp:80] by [{ok}] succeeded."
        )
    );
    ck.add(check(2, rs, misc(&fail, false))).unwrap();
    let t = next_transition(&mut rx).await;
    assert_eq!((t.id, t.up), (CheckId(2), false));
    assert_eq!(t.reason.error, Some(ProbeError::Exit(1)));
    assert_eq!(
        t.to_string(),
        format!(
            "Misc check for [[192.0.2.12]:tcp:80] by [{fail}] failed with retry disabled (exited with status 1)."
        )
    );
    // without misc_dynamic every non-zero code is a failure
    ck.add(check(3, rs, misc(&five, false))).unwrap();
    let t = next_transition(&mut rx).await;
    assert_eq!((t.id, t.up), (CheckId(3), false));
    assert_eq!(t.reason.error, Some(ProbeError::Exit(5)));
    // a program that does not exist
    ck.add(check(4, rs, misc("/nonexistent/keel-check", false)))
        .unwrap();
    let t = next_transition(&mut rx).await;
    assert_eq!((t.id, t.up), (CheckId(4), false));
    assert_eq!(
        t.reason.error,
        Some(ProbeError::Spawn(std::io::ErrorKind::NotFound))
    );
    ck.shutdown().await;
}

#[tokio::test]
async fn misc_dynamic_weights() {
    let s = Scripts::new("dyn");
    let code = s.0.join("code");
    std::fs::write(&code, "12").unwrap();
    let path = s.script("w", &format!("exit $(cat {})", code.display()));
    let (mut ck, mut rx) = checker();
    let rs: SocketAddr = RS.parse().unwrap();
    ck.add(check(1, rs, misc(&path, true))).unwrap();
    // exit 12 → weight 10, then up
    assert_eq!(
        next_event(&mut rx).await,
        Event::Weight(WeightChange {
            id: CheckId(1),
            weight: Some(10)
        })
    );
    assert!(next_transition(&mut rx).await.up);
    std::fs::write(&code, "255").unwrap();
    assert_eq!(
        next_event(&mut rx).await,
        Event::Weight(WeightChange {
            id: CheckId(1),
            weight: Some(253)
        })
    );
    std::fs::write(&code, "0").unwrap();
    assert_eq!(
        next_event(&mut rx).await,
        Event::Weight(WeightChange {
            id: CheckId(1),
            weight: None
        })
    );
    std::fs::write(&code, "2").unwrap();
    assert_eq!(
        next_event(&mut rx).await,
        Event::Weight(WeightChange {
            id: CheckId(1),
            weight: Some(0)
        })
    );
    // exit 1: down, and the weight goes back to the configured one
    std::fs::write(&code, "1").unwrap();
    assert_eq!(
        next_event(&mut rx).await,
        Event::Weight(WeightChange {
            id: CheckId(1),
            weight: None
        })
    );
    let t = next_transition(&mut rx).await;
    assert!(!t.up);
    assert_eq!(t.reason.error, Some(ProbeError::Exit(1)));
    ck.shutdown().await;
}

#[tokio::test]
async fn misc_timeout_and_shell() {
    let s = Scripts::new("slow");
    let slow = s.script("slow", "sleep 30");
    let (mut ck, mut rx) = checker();
    let rs: SocketAddr = RS.parse().unwrap();
    let mut c = check(
        1,
        rs,
        CheckSpec::Misc(MiscSpec {
            path: slow.clone(),
            timeout: Some(Duration::from_millis(300)),
            ..MiscSpec::new(slow.clone())
        }),
    );
    c.delay_loop = Duration::from_secs(30);
    let start = Instant::now();
    ck.add(c).unwrap();
    let t = next_transition(&mut rx).await;
    let took = start.elapsed();
    assert_eq!(t.reason.error, Some(ProbeError::ScriptTimeout));
    assert!(
        t.to_string().contains("timed out with retry disabled."),
        "{t}"
    );
    // SIGTERM to the group ends `sleep` at once: well before the 2 s SIGKILL fallback
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(1900),
        "{took:?}"
    );
    // shell metacharacters: runs through /bin/sh -c
    ck.add(check(2, rs, misc("echo keel | grep -q keel", false)))
        .unwrap();
    let t = next_transition(&mut rx).await;
    assert_eq!((t.id, t.up), (CheckId(2), true), "{t:?}");
    ck.add(check(3, rs, misc("echo keel | grep -q nope", false)))
        .unwrap();
    let t = next_transition(&mut rx).await;
    assert_eq!((t.id, t.up), (CheckId(3), false), "{t:?}");
    ck.shutdown().await;
}

// ---------------------------------------------------------------- runner

#[tokio::test]
async fn warmup_is_seeded_and_bounded() {
    let delays = |seed| {
        let (tx, _rx) = mpsc::channel(1);
        let mut ck = Checker::new(
            tx,
            CheckerOptions {
                seed: Some(seed),
                bootstrap_delay: Duration::from_secs(1),
                ..CheckerOptions::default()
            },
        );
        let rs: SocketAddr = RS.parse().unwrap();
        let mut out = Vec::new();
        for id in 0..50 {
            let mut c = RealServerCheck::new(CheckId(id), rs, CheckSpec::tcp());
            c.delay_loop = Duration::from_secs(10);
            c.warmup = if id == 0 { Some(Duration::ZERO) } else { None };
            out.push(ck.add(c).unwrap());
        }
        out
    };
    let a = delays(7);
    assert_eq!(a, delays(7), "same seed, same warmup");
    assert_ne!(a, delays(8));
    assert_eq!(a[0], Duration::from_secs(1), "warmup 0 = bootstrap only");
    assert!(
        a.iter()
            .all(|d| *d >= Duration::from_secs(1) && *d <= Duration::from_secs(11))
    );
    // spread over the range, not bunched
    assert!(a[1..].iter().any(|d| *d < Duration::from_secs(4)));
    assert!(a[1..].iter().any(|d| *d > Duration::from_secs(8)));
}

#[tokio::test]
async fn first_attempt_waits_for_warmup() {
    let (addr, _server) = tcp_server().await;
    let (tx, mut rx) = mpsc::channel(8);
    let mut ck = Checker::new(
        tx,
        CheckerOptions {
            seed: Some(3),
            bootstrap_delay: Duration::from_millis(300),
            ..CheckerOptions::default()
        },
    );
    let mut c = check(1, addr, CheckSpec::tcp());
    c.warmup = Some(Duration::from_millis(400));
    let start = Instant::now();
    let planned = ck.add(c).unwrap();
    let t = next_transition(&mut rx).await;
    assert!(t.up);
    assert!(
        start.elapsed() >= planned,
        "{:?} < {planned:?}",
        start.elapsed()
    );
    ck.shutdown().await;
}

#[tokio::test]
async fn alpha_starts_down() {
    let (addr, _server) = tcp_server().await;
    let (mut ck, mut rx) = checker();
    let mut c = check(1, addr, CheckSpec::tcp());
    c.alpha = true;
    ck.add(c).unwrap();
    let t = next_transition(&mut rx).await;
    assert!(t.up && !t.was_up && t.reason.first);
}

#[tokio::test]
async fn sync_touches_only_what_changed() {
    let (a, _sa) = tcp_server().await;
    let (b, _sb) = tcp_server().await;
    let (mut ck, mut rx) = checker();
    let slow = |id, addr| {
        let mut c = check(id, addr, CheckSpec::tcp());
        c.delay_loop = Duration::from_secs(30);
        c
    };
    let s = ck.sync([slow(1, a), slow(2, a), slow(3, a)]).unwrap();
    assert_eq!(s.added, [CheckId(1), CheckId(2), CheckId(3)]);
    let mut first: Vec<CheckId> = Vec::new();
    for _ in 0..3 {
        first.push(next_transition(&mut rx).await.id);
    }
    first.sort();
    assert_eq!(first, [CheckId(1), CheckId(2), CheckId(3)]);
    // reload: 1 unchanged, 2 changed, 3 removed, 4 new
    let s = ck.sync([slow(1, a), slow(2, b), slow(4, b)]).unwrap();
    assert_eq!(s.unchanged, [CheckId(1)]);
    assert_eq!(s.replaced, [CheckId(2)]);
    assert_eq!(s.removed, [CheckId(3)]);
    assert_eq!(s.added, [CheckId(4)]);
    assert_eq!(ck.len(), 3);
    assert_eq!(ck.get(CheckId(2)).unwrap().target, b);
    let mut again: Vec<CheckId> = Vec::new();
    for _ in 0..2 {
        let t = next_transition(&mut rx).await;
        assert!(t.reason.first);
        again.push(t.id);
    }
    again.sort();
    assert_eq!(again, [CheckId(2), CheckId(4)], "check 1 must not restart");
    // nothing else arrives: check 1 kept its state and 30 s delay_loop
    assert!(
        timeout(Duration::from_millis(500), rx.recv())
            .await
            .is_err()
    );
    // invalid reload changes nothing
    let mut bad = slow(9, a);
    bad.delay_loop = Duration::ZERO;
    assert!(ck.sync([slow(1, a), bad]).is_err());
    assert_eq!(ck.len(), 3);
    assert!(matches!(
        ck.add(slow(1, a)),
        Err(keel_check::Error::DuplicateId(CheckId(1)))
    ));
    assert!(ck.remove(CheckId(4)));
    assert!(!ck.remove(CheckId(4)));
    ck.shutdown().await;
    // every sender is gone after shutdown: the channel ends
    assert!(rx.recv().await.is_none());
}

#[test]
fn works_on_a_current_thread_runtime_and_needs_one() {
    let (tx, _rx) = mpsc::channel(1);
    let mut ck = Checker::new(tx, opts());
    let rs: SocketAddr = RS.parse().unwrap();
    assert_eq!(
        ck.add(RealServerCheck::new(CheckId(1), rs, CheckSpec::tcp())),
        Err(keel_check::Error::NoRuntime)
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (addr, _s) = tcp_server().await;
        let (mut ck, mut rx) = checker();
        ck.add(check(1, addr, CheckSpec::tcp())).unwrap();
        assert!(next_transition(&mut rx).await.up);
        ck.shutdown().await;
    });
}

/// keepalived's timing with tokio's paused clock: the virtual times are exact.
/// (Loopback connects complete inside the connect call, so the auto-advancing clock does
/// not race the I/O.)
#[tokio::test(start_paused = true)]
async fn tcp_retry_timing_on_the_paused_clock() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let listener = TcpListener::from_std(listener).unwrap();
    let server = tokio::spawn(async move {
        while let Ok(c) = listener.accept().await {
            drop(c);
        }
    });
    let (mut ck, mut rx) = checker();
    let mut c = check(1, addr, CheckSpec::tcp());
    c.delay_loop = Duration::from_secs(10);
    c.retry = Some(3);
    c.delay_before_retry = Some(Duration::from_secs(2));
    let t0 = Instant::now();
    ck.add(c).unwrap();
    let t = next_transition(&mut rx).await;
    assert!(t.up);
    assert_eq!(t0.elapsed().as_secs(), 0);
    // the server goes away at t=5; attempts fail at 10, 12, 14, 16 → down at 16
    tokio::time::sleep(Duration::from_secs(5)).await;
    server.abort();
    let _ = server.await;
    let t = next_transition(&mut rx).await;
    assert!(!t.up);
    assert_eq!(
        t.reason.error,
        Some(ProbeError::Connect(std::io::ErrorKind::ConnectionRefused))
    );
    let down_at = t0.elapsed();
    assert!(
        down_at >= Duration::from_secs(16) && down_at < Duration::from_millis(16_100),
        "{down_at:?}"
    );
    // back at t=20; while down there are no retries, the next check is at 26
    tokio::time::sleep_until(t0 + Duration::from_secs(20)).await;
    let listener = TcpListener::bind(addr).await.unwrap();
    tokio::spawn(async move {
        while let Ok(c) = listener.accept().await {
            drop(c);
        }
    });
    let t = next_transition(&mut rx).await;
    assert!(t.up && !t.was_up);
    let up_at = t0.elapsed();
    assert!(
        up_at >= Duration::from_secs(26) && up_at < Duration::from_millis(26_100),
        "{up_at:?}"
    );
    ck.shutdown().await;
}

#[tokio::test]
async fn tcp_reset_on_close_sends_rst() {
    use tokio::io::AsyncReadExt;
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (seen_tx, mut seen_rx) = mpsc::channel(4);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let tx = seen_tx.clone();
            tokio::spawn(async move {
                let mut b = [0u8; 1];
                // FIN reads as Ok(0), RST as ConnectionReset
                let r = s.read(&mut b).await.map_err(|e| e.kind());
                let _ = tx.send(r).await;
            });
        }
    });
    for reset in [false, true] {
        let (tx, mut rx) = mpsc::channel(4);
        let mut ck = Checker::new(
            tx,
            CheckerOptions {
                tcp_reset_on_close: reset,
                ..opts()
            },
        );
        let mut c = check(1, addr, CheckSpec::tcp());
        c.delay_loop = Duration::from_secs(30); // exactly one connection per round
        ck.add(c).unwrap();
        assert!(next_transition(&mut rx).await.up);
        ck.shutdown().await;
        let got = seen_rx.recv().await.unwrap();
        if reset {
            assert_eq!(got, Err(std::io::ErrorKind::ConnectionReset));
        } else {
            assert_eq!(got, Ok(0));
        }
    }
}

/// The request on the wire, and an HTTP/1.0 answer whose body ends at EOF.
#[tokio::test]
async fn http_request_bytes_and_eof_body() {
    use keel_check::HttpProtocol;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (req_tx, mut req_rx) = mpsc::channel(8);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let tx = req_tx.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let _ = tx.send(String::from_utf8_lossy(&buf).into_owned()).await;
                let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\nno length").await;
            });
        }
    });
    let (mut ck, mut rx) = checker();
    for (id, protocol) in [(1, HttpProtocol::Http10), (2, HttpProtocol::Http11)] {
        let mut url = UrlSpec::new("/x?y=1");
        url.digest = Some(Md5Digest::from_hex(&md5_hex("no length")).unwrap());
        let spec = CheckSpec::Http {
            conn: fast_conn(),
            http: HttpSpec {
                urls: vec![url],
                virtualhost: None,
                protocol,
                ..HttpSpec::default()
            },
        };
        let mut c = check(id, addr, spec);
        c.delay_loop = Duration::from_secs(30);
        ck.add(c).unwrap();
        let t = next_transition(&mut rx).await;
        assert!(t.up, "{t:?}");
        let req = req_rx.recv().await.unwrap().to_ascii_lowercase();
        let version = if id == 1 { "1.0" } else { "1.1" };
        assert!(
            req.starts_with(&format!("get /x?y=1 http/{version}\r\n")),
            "{req}"
        );
        assert!(req.contains("user-agent: keepaliveclient\r\n"), "{req}");
        assert!(
            req.contains(&format!("host: 127.0.0.1:{}\r\n", addr.port())),
            "{req}"
        );
        assert_eq!(req.contains("connection: close"), id == 2, "{req}");
    }
    ck.shutdown().await;
}

#[tokio::test]
async fn log_all_failures_reports_retried_attempts() {
    let state = web(200, "ok");
    let addr = http_server(state.clone()).await;
    let (mut ck, mut rx) = checker();
    let mut c = check(
        1,
        addr,
        CheckSpec::Http {
            conn: fast_conn(),
            http: http_spec("/"),
        },
    );
    c.retry = Some(2);
    c.log_all_failures = true;
    ck.add(c).unwrap();
    assert!(next_transition(&mut rx).await.up);
    state.lock().unwrap().status = 500;
    for _ in 0..2 {
        match next_event(&mut rx).await {
            Event::AttemptFailed { id, reason } => {
                assert_eq!(id, CheckId(1));
                assert_eq!(reason.error, Some(ProbeError::Status(500)));
                assert_eq!(
                    reason.attempt_line().unwrap(),
                    format!(
                        "HTTP status code error to server [127.0.0.1]:tcp:{}.",
                        addr.port()
                    )
                );
            }
            e => panic!("expected AttemptFailed, got {e:?}"),
        }
    }
    let t = next_transition(&mut rx).await;
    assert!(!t.up);
    // while down, failures are not reported one by one
    assert!(
        timeout(Duration::from_millis(700), rx.recv())
            .await
            .is_err()
    );
    ck.shutdown().await;
}

#[tokio::test]
async fn misc_runs_as_user() {
    let s = Scripts::new("uid");
    let path = s.script(
        "uid",
        "[ \"$(id -u)\" = 65534 ] && [ \"$(id -g)\" = 65534 ]",
    );
    let (mut ck, mut rx) = checker();
    let rs: SocketAddr = RS.parse().unwrap();
    ck.add(check(1, rs, misc(&path, false))).unwrap();
    let t = next_transition(&mut rx).await;
    // as ourselves: root in CI, not 65534 either way
    assert!(!t.up, "{t:?}");
    let spec = CheckSpec::Misc(MiscSpec {
        user: Some(keel_script::User::lookup("nobody", Some("nogroup")).unwrap()),
        timeout: Some(Duration::from_secs(5)),
        ..MiscSpec::new(path.clone())
    });
    ck.add(check(2, rs, spec)).unwrap();
    let t = next_transition(&mut rx).await;
    assert_eq!(t.id, CheckId(2));
    let is_root = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"));
    if is_root {
        assert!(t.up, "{t:?}");
    } else {
        // switching user needs root: the spawn fails
        assert!(
            matches!(t.reason.error, Some(ProbeError::Spawn(_))),
            "{t:?}"
        );
    }
    ck.shutdown().await;
}

#[tokio::test]
async fn huge_durations_do_not_panic() {
    let (mut ck, _rx) = checker();
    let rs = closed_port().await; // loopback only, even if an attempt ever ran
    let mut c = RealServerCheck::new(CheckId(1), rs, CheckSpec::tcp());
    c.delay_loop = Duration::MAX;
    c.delay_before_retry = Some(Duration::MAX);
    let d = ck.add(c).unwrap();
    assert!(d <= Duration::MAX);
    let (tx, _rx2) = mpsc::channel(1);
    let mut ck2 = Checker::new(
        tx,
        CheckerOptions {
            bootstrap_delay: Duration::MAX,
            ..opts()
        },
    );
    let mut c = RealServerCheck::new(CheckId(1), rs, CheckSpec::tcp());
    c.warmup = Some(Duration::MAX);
    ck2.add(c).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(ck.len() + ck2.len(), 2);
}

#[tokio::test]
async fn ipv6_loopback() {
    let Ok(l) = TcpListener::bind("[::1]:0").await else {
        eprintln!("SKIPPED ipv6_loopback: no ::1 here");
        return;
    };
    let addr = l.local_addr().unwrap();
    drop(l);
    let state = web(200, "v6");
    let l = TcpListener::bind(addr).await.unwrap();
    let st = state.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let st = st.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |r| handle(st.clone(), r));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(s), svc)
                    .await;
            });
        }
    });
    let (mut ck, mut rx) = checker();
    ck.add(check(1, addr, CheckSpec::tcp())).unwrap();
    let t = next_transition(&mut rx).await;
    assert!(t.up, "{t:?}");
    assert_eq!(
        t.to_string(),
        format!("TCP connection to [::1]:tcp:{} success.", addr.port())
    );
    let spec = CheckSpec::Http {
        conn: fast_conn(),
        http: http_spec("/"),
    };
    ck.add(check(2, addr, spec)).unwrap();
    let t = next_transition(&mut rx).await;
    assert!(t.up, "{t:?}");
    let host = state.lock().unwrap().log[0].2.clone();
    assert_eq!(host, format!("[::1]:{}", addr.port()));
    ck.shutdown().await;
}

#[test]
fn with_runtime_runs_checks_on_a_dedicated_thread() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let handle = rt.handle().clone();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        rt.block_on(async {
            let _ = stop_rx.await;
        })
    });
    // a listener on that runtime
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    handle.spawn(async move {
        let (addr, server) = tcp_server().await;
        addr_tx.send(addr).unwrap();
        let _ = server.await;
    });
    let addr = addr_rx.recv().unwrap();
    // add from this plain thread
    let (tx, mut rx) = mpsc::channel(8);
    let mut ck = Checker::with_runtime(handle, tx, opts());
    ck.add(check(1, addr, CheckSpec::tcp())).unwrap();
    let ev = rx.blocking_recv().unwrap();
    assert!(matches!(ev, Event::Transition(t) if t.up));
    drop(ck);
    let _ = stop_tx.send(());
    thread.join().unwrap();
}
