//! The status interface: a Unix socket answering one request per connection
//! (a line: `status` or `handover [INSTANCE]`) with one JSON document, and
//! the `keeld status` client that prints it for a person.
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};

use keel_node::status::NodeStatus;
#[cfg(test)]
use keel_node::status::{InstanceStatus, late_hist};

/// The whole daemon: its own facts, the node's snapshot and the director's.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Status {
    /// keeld's pid.
    pub pid: u32,
    /// keeld's version.
    pub version: String,
    /// Configuration file in use.
    pub config_file: String,
    /// Seconds since start.
    pub uptime_s: f64,
    /// Successful reloads so far.
    pub reloads: u64,
    /// Reloads refused because the new file had errors.
    pub reload_failures: u64,
    /// Syslog lines dropped, never waited for, while `/dev/log` was full.
    #[serde(default)]
    pub log_dropped: u64,
    /// Every vrrp_instance and vrrp_script, timer lateness.
    #[serde(flatten)]
    pub node: NodeStatus,
    /// LVS virtual servers (keeld as a director).
    #[serde(default)]
    pub virtual_servers: Vec<crate::director::VirtualServerStatus>,
}

/// A request read from the status socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `status`
    Status,
    /// `metrics`: the Prometheus text.
    Metrics,
    /// `handover [INSTANCE]`
    Handover(Option<String>),
    /// `resume [INSTANCE]`: end the hold a handover left.
    Resume(Option<String>),
}

impl Request {
    /// Parse one request line.
    pub fn parse(line: &str) -> Option<Request> {
        let mut w = line.split_whitespace();
        match w.next()? {
            "status" => Some(Request::Status),
            "metrics" => Some(Request::Metrics),
            "handover" => Some(Request::Handover(w.next().map(str::to_owned))),
            "resume" => Some(Request::Resume(w.next().map(str::to_owned))),
            _ => None,
        }
    }
}

impl Request {
    /// True for requests that change what the daemon does (uid 0 only).
    pub fn changes_state(&self) -> bool {
        !matches!(self, Request::Status | Request::Metrics)
    }
}

/// A request with the channel for its answer.
pub type Query = (Request, oneshot::Sender<String>);

/// Longest request line read (`handover` + an instance name fit easily).
pub const MAX_REQUEST: u64 = 512;
/// Connections served at once; more are closed at once.
pub const MAX_CONNECTIONS: usize = 16;
/// Time a client has to send its request, and to take the answer.
pub const IO_TIMEOUT: Duration = Duration::from_secs(2);

/// Who may use the status socket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Access {
    /// `--status-group`: members may connect (the socket is 0660 and this
    /// group's) and ask for `status`; without it the socket is 0600 (root only).
    /// State-changing requests (`handover`, `resume`) are uid 0's whatever this is.
    pub group: Option<u32>,
}

/// Why the status socket cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Something that is not a socket of ours is at the path; it is left alone.
    #[error("{0} exists and is not a socket keeld owns; not removed")]
    NotOurs(PathBuf),
    /// A live daemon answers on it.
    #[error("{0} is in use by a running daemon")]
    InUse(PathBuf),
    /// I/O.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Remove `path` if it is a socket owned by us (a stale one, or ours at exit);
/// anything else is left alone.
pub fn remove_ours(path: &Path) -> Result<(), ServeError> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
        Ok(md) => {
            if !md.file_type().is_socket() || md.uid() != nix_uid() {
                return Err(ServeError::NotOurs(path.to_owned()));
            }
            std::fs::remove_file(path)?;
            Ok(())
        }
    }
}

fn nix_uid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// Bind `path` with its final mode and group already set: the socket is made under
/// a temporary name, chmod-ed (0600, or 0660 with [`Access::group`]) and renamed
/// into place, so it is never reachable with the umask's mode.
fn bind(path: &Path, access: Access) -> Result<tokio::net::UnixListener, ServeError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)?;
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(ServeError::InUse(path.to_owned()));
    }
    remove_ours(path)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let _ = remove_ours(&tmp);
    let listener = std::os::unix::net::UnixListener::bind(&tmp)?;
    let placed = (|| {
        let mode = if access.group.is_some() { 0o660 } else { 0o600 };
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
        if let Some(g) = access.group {
            std::os::unix::fs::lchown(&tmp, None, Some(g))?;
        }
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.into());
    }
    listener.set_nonblocking(true)?;
    Ok(tokio::net::UnixListener::from_std(listener)?)
}

/// Listen on `path` and forward each request to the daemon's loop through `tx`;
/// the loop answers with JSON text.
///
/// Hardened against local users: the socket is 0600 (0660 for
/// [`Access::group`]); the peer's credentials (SO_PEERCRED) decide what it may
/// ask; a request line is capped at [`MAX_REQUEST`] bytes and reading it and
/// writing the answer each time out after [`IO_TIMEOUT`]; at most
/// [`MAX_CONNECTIONS`] are served at once; accept errors back off (up to 1 s),
/// and a reserve descriptor lets keeld shed a connection when it runs out of
/// descriptors instead of spinning.
pub fn serve(path: &Path, access: Access, tx: mpsc::Sender<Query>) -> Result<(), ServeError> {
    let listener = bind(path, access)?;
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    tokio::spawn(async move {
        let mut reserve = std::fs::File::open("/dev/null").ok();
        let mut backoff = Duration::from_millis(5);
        loop {
            let stream = match listener.accept().await {
                Ok((s, _)) => {
                    backoff = Duration::from_millis(5);
                    s
                }
                Err(e) => {
                    let out_of_fds = matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE));
                    if out_of_fds && reserve.take().is_some() {
                        // free one descriptor, take the waiting client and close it
                        if let Ok((s, _)) = listener.accept().await {
                            drop(s);
                        }
                        reserve = std::fs::File::open("/dev/null").ok();
                    }
                    tracing::warn!("status socket: accept failed: {e}; retrying in {backoff:?}");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                    continue;
                }
            };
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                drop(stream);
                continue;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let _permit = permit;
                handle(stream, access, tx).await;
            });
        }
    });
    Ok(())
}

fn error_json(msg: &str) -> String {
    serde_json::json!({ "error": msg }).to_string()
}

/// May a peer with `uid`/`gid` ask for `req`?
fn allowed(req: &Request, uid: u32, gid: u32, access: Access) -> bool {
    if uid == 0 {
        return true;
    }
    !req.changes_state() && access.group.is_some_and(|g| g == gid || in_group(uid, g))
}

/// Is `uid` a supplementary member of `gid`?
fn in_group(uid: u32, gid: u32) -> bool {
    use nix::unistd::{Gid, Group, Uid, User};
    let (Ok(Some(u)), Ok(Some(g))) = (
        User::from_uid(Uid::from_raw(uid)),
        Group::from_gid(Gid::from_raw(gid)),
    ) else {
        return false;
    };
    g.mem.contains(&u.name)
}

async fn handle(stream: tokio::net::UnixStream, access: Access, tx: mpsc::Sender<Query>) {
    use tokio::io::AsyncReadExt;
    let cred = stream.peer_cred().ok();
    let (r, mut w) = stream.into_split();
    let mut line = String::new();
    let mut r = BufReader::new(r.take(MAX_REQUEST));
    let read = tokio::time::timeout(IO_TIMEOUT, r.read_line(&mut line)).await;
    let reply = match (read, Request::parse(&line)) {
        (Ok(Ok(_)), _) if !line.ends_with('\n') && line.len() as u64 >= MAX_REQUEST => {
            error_json("request too long")
        }
        (Ok(Ok(_)), Some(req)) => {
            let permitted = cred.is_some_and(|c| allowed(&req, c.uid(), c.gid(), access));
            if !permitted {
                error_json(if req.changes_state() {
                    "permission denied: handover and resume need uid 0"
                } else {
                    "permission denied"
                })
            } else {
                let (otx, orx) = oneshot::channel();
                if tx.send((req, otx)).await.is_err() {
                    return;
                }
                orx.await.unwrap_or_default()
            }
        }
        _ => error_json("unknown request; try 'status'"),
    };
    let _ = tokio::time::timeout(IO_TIMEOUT, async {
        w.write_all(reply.as_bytes()).await?;
        w.write_all(b"\n").await?;
        w.shutdown().await
    })
    .await;
}

/// The metrics of a status snapshot in the Prometheus/OpenMetrics text format
/// (prometheus-client): the libraries' families plus `keepalived_up` and
/// `keel_reloads_total{result}`. One snapshot: a scrape sees one moment.
pub fn metrics_text(s: &Status) -> String {
    use keel_node::metrics::prometheus_client::{self as pc, metrics::counter::Counter};
    let mut reg = pc::registry::Registry::default();
    let up = pc::metrics::gauge::Gauge::<i64>::default();
    up.set(1);
    reg.register("keepalived_up", "keeld is running", up);
    let reloads = pc::metrics::family::Family::<[(&str, &str); 1], Counter>::default();
    reloads
        .get_or_create(&[("result", "accepted")])
        .inc_by(s.reloads);
    reloads
        .get_or_create(&[("result", "refused")])
        .inc_by(s.reload_failures);
    reg.register("keel_reloads", "Configuration reloads", reloads);
    keel_node::metrics::register(&mut reg, s.node.clone());
    keel_director::metrics::register(&mut reg, &s.virtual_servers);
    let mut out = String::new();
    let _ = pc::encoding::text::encode(&mut out, &reg);
    out
}

/// Serve `GET /metrics` over HTTP/1 (hyper) on `addr`: each scrape is one
/// [`Request::Metrics`] to the daemon's loop; other paths get 404. Connections
/// are bounded like the status socket's.
pub fn serve_metrics(addr: std::net::SocketAddr, tx: mpsc::Sender<Query>) -> std::io::Result<()> {
    use http_body_util::Full;
    use hyper::body::Bytes;
    let l = std::net::TcpListener::bind(addr)?;
    l.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(l)?;
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            let (Ok(permit), tx) = (slots.clone().try_acquire_owned(), tx.clone()) else {
                continue;
            };
            let svc = hyper::service::service_fn(move |req: hyper::Request<_>| {
                let tx = tx.clone();
                async move {
                    let (code, body) = if req.uri().path() == "/metrics" {
                        let (otx, orx) = oneshot::channel();
                        let _ = tx.send((Request::Metrics, otx)).await;
                        (200, orx.await.unwrap_or_default())
                    } else {
                        (404, "try /metrics\n".to_owned())
                    };
                    hyper::Response::builder()
                        .status(code)
                        .header(
                            "content-type",
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )
                        .body(Full::new(Bytes::from(body)))
                }
            });
            tokio::spawn(async move {
                let _permit = permit;
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(IO_TIMEOUT)
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc);
                let _ = tokio::time::timeout(IO_TIMEOUT * 5, conn).await;
            });
        }
    });
    Ok(())
}

/// Errors of the status client.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Cannot reach the daemon.
    #[error("cannot connect to {path}: {source} (is keeld running? see --socket)")]
    Connect {
        /// Socket path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// I/O after connecting.
    #[error("status socket: {0}")]
    Io(#[from] std::io::Error),
    /// The answer was not the expected JSON.
    #[error("bad answer from keeld: {0}")]
    Json(#[from] serde_json::Error),
}

/// Send one request line, return the raw answer.
pub fn query(path: &Path, request: &str) -> Result<String, ClientError> {
    let mut s =
        std::os::unix::net::UnixStream::connect(path).map_err(|source| ClientError::Connect {
            path: path.to_owned(),
            source,
        })?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(request.as_bytes())?;
    s.write_all(b"\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

/// Fetch and decode the daemon's status.
#[cfg(test)]
pub fn fetch(path: &Path) -> Result<Status, ClientError> {
    Ok(serde_json::from_str(&query(path, "status")?)?)
}

/// The status as a table for a person.
pub fn render(s: &Status) -> String {
    format!(
        "keeld {} pid {}  config {}  up {:.0}s  reloads {} (refused {})  worst timer lateness {:.1} ms\n{}{}",
        s.version,
        s.pid,
        s.config_file,
        s.uptime_s,
        s.reloads,
        s.reload_failures,
        s.node.max_timer_late_ms,
        keel_node::status::render(&s.node),
        crate::director::render(&s.virtual_servers)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Status {
        let mut node = NodeStatus::default();
        node.max_timer_late_ms = 0.4;
        node.timer_late_hist = late_hist(&[5, 2, 0, 0, 0, 0, 0, 0, 0, 1]);
        let mut vi = InstanceStatus::default();
        vi.name = "VI_1".into();
        vi.state = "MASTER".into();
        vi.vips = vec!["192.0.2.250/32".into()];
        vi.vips_held = true;
        vi.counters.insert("adverts_tx".into(), 12);
        node.instances.push(vi);
        Status {
            pid: 42,
            version: "0.1.0".into(),
            config_file: "/etc/keepalived/keepalived.conf".into(),
            uptime_s: 5.0,
            reloads: 1,
            reload_failures: 0,
            log_dropped: 0,
            node,
            virtual_servers: vec![],
        }
    }

    #[test]
    fn requests_parse() {
        assert_eq!(Request::parse("status\n"), Some(Request::Status));
        assert_eq!(
            Request::parse("handover VI_1"),
            Some(Request::Handover(Some("VI_1".into())))
        );
        assert_eq!(Request::parse("handover"), Some(Request::Handover(None)));
        assert_eq!(
            Request::parse("resume VI_2"),
            Some(Request::Resume(Some("VI_2".into())))
        );
        assert_eq!(Request::parse("bogus"), None);
        assert_eq!(Request::parse(""), None);
    }

    #[test]
    fn json_round_trip_and_render() {
        let s = sample();
        let j = serde_json::to_string(&s).unwrap();
        assert!(
            j.contains("\"instances\":[{\"name\":\"VI_1\""),
            "flat as before: {j}"
        );
        let back: Status = serde_json::from_str(&j).unwrap();
        assert_eq!(back, s);
        let t = render(&s);
        assert!(t.starts_with("keeld 0.1.0 pid 42"), "{t}");
        assert!(t.contains("192.0.2.250/32 (held)"), "{t}");
    }

    #[test]
    fn socket_round_trip() {
        let dir = std::env::temp_dir().join(format!("keeld-status-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("s.sock");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let p2 = path.clone();
        let got = rt.block_on(async move {
            let (tx, mut rx) = mpsc::channel::<Query>(4);
            serve(&p2, Access::default(), tx).unwrap();
            let answer = serde_json::to_string(&sample()).unwrap();
            tokio::spawn(async move {
                while let Some((req, reply)) = rx.recv().await {
                    assert_eq!(req, Request::Status);
                    let _ = reply.send(answer.clone());
                }
            });
            tokio::task::spawn_blocking(move || fetch(&p2).unwrap())
                .await
                .unwrap()
        });
        assert_eq!(got, sample());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A daemon stand-in: serves `path` with `access`, answers `status` with the
    /// sample and anything else with `{"done":true}`; runs until the test ends.
    fn daemon(path: &Path, access: Access) {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let path = path.to_owned();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let (tx, mut rx) = mpsc::channel::<Query>(4);
                ready_tx
                    .send(serve(&path, access, tx).map_err(|e| e.to_string()))
                    .unwrap();
                let answer = serde_json::to_string(&sample()).unwrap();
                while let Some((req, reply)) = rx.recv().await {
                    let _ = reply.send(if req == Request::Status {
                        answer.clone()
                    } else {
                        "{\"done\":true}".into()
                    });
                }
            });
        });
        ready_rx.recv().unwrap().unwrap();
    }

    fn test_dir(tag: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let d = std::env::temp_dir().join(format!("keeld-st-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        d
    }

    /// Issue 17 item 6: the socket's mode came from the umask, and start-up
    /// deleted whatever was at the path.
    #[test]
    fn socket_is_private_and_only_ours_is_replaced() {
        use std::os::unix::fs::{FileTypeExt, PermissionsExt};
        let d = test_dir("own");
        let path = d.join("k.sock");
        // a regular file (or a link to one) at the path is refused and left alone
        std::fs::write(&path, "precious").unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (tx, _rx) = mpsc::channel::<Query>(1);
        let e = rt.block_on(async { serve(&path, Access::default(), tx.clone()) });
        assert!(matches!(e, Err(ServeError::NotOurs(_))), "{e:?}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
        let link = d.join("l.sock");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let e = rt.block_on(async { serve(&link, Access::default(), tx.clone()) });
        assert!(matches!(e, Err(ServeError::NotOurs(_))), "{e:?}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
        // a stale socket of ours is replaced; the new one is 0600 whatever the umask
        let stale = d.join("s.sock");
        drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
        daemon(&stale, Access::default());
        let md = std::fs::symlink_metadata(&stale).unwrap();
        assert!(md.file_type().is_socket());
        assert_eq!(md.permissions().mode() & 0o777, 0o600);
        assert_eq!(fetch(&stale).unwrap(), sample());
        // a live one is not taken over
        let (tx2, _rx2) = mpsc::channel::<Query>(1);
        let e = rt.block_on(async { serve(&stale, Access::default(), tx2) });
        assert!(matches!(e, Err(ServeError::InUse(_))), "{e:?}");
        assert_eq!(fetch(&stale).unwrap(), sample());
        let _ = std::fs::remove_dir_all(&d);
    }

    /// Runs a request as another user: this test binary re-run as uid/gid 65534
    /// with `as_client` (ignored unless asked for) doing the query.
    fn query_as_nobody(path: &Path, req: &str) -> String {
        use std::os::unix::process::CommandExt;
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "status::tests::as_client",
                "--ignored",
                "--nocapture",
            ])
            .env("KEELD_TEST_SOCK", path)
            .env("KEELD_TEST_REQ", req)
            .uid(65534)
            .gid(65534)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines()
            .find_map(|l| l.strip_prefix("ANSWER:"))
            .unwrap_or_else(|| panic!("no answer: {text}"))
            .to_owned()
    }

    #[test]
    #[ignore = "helper of query_as_nobody"]
    #[allow(clippy::print_stdout)]
    fn as_client() {
        let (Some(p), Some(r)) = (
            std::env::var_os("KEELD_TEST_SOCK"),
            std::env::var("KEELD_TEST_REQ").ok(),
        ) else {
            return;
        };
        match query(Path::new(&p), &r) {
            Ok(a) => println!("ANSWER:{}", a.trim_end()),
            Err(e) => println!("ANSWER:ERR {e}"),
        }
    }

    /// Issue 17 item 6: anyone who could connect could ask for handover/resume.
    #[test]
    fn peer_credentials_decide() {
        if !keel_testkit::require_root("status socket peer credentials (a client as uid 65534)") {
            return;
        }
        let d = test_dir("cred");
        let private = d.join("p.sock");
        daemon(&private, Access::default());
        let a = query_as_nobody(&private, "status");
        assert!(
            a.starts_with("ERR cannot connect") && a.contains("Permission denied"),
            "{a}"
        );
        let shared = d.join("g.sock");
        daemon(&shared, Access { group: Some(65534) });
        let a = query_as_nobody(&shared, "status");
        assert!(
            a.contains("\"VI_1\""),
            "members of the status group read the status: {a}"
        );
        for req in ["handover", "resume VI_1"] {
            let a = query_as_nobody(&shared, req);
            assert_eq!(
                a, "{\"error\":\"permission denied: handover and resume need uid 0\"}",
                "{req}"
            );
        }
        assert_eq!(
            query(&shared, "handover").unwrap().trim(),
            "{\"done\":true}"
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    /// Issue 17 item 7: one client sending an endless line grew keeld to 2.8 GB;
    /// idle clients were never dropped and their number had no bound.
    #[test]
    fn requests_and_connections_are_bounded() {
        use std::io::{Read, Write};
        let d = test_dir("lim");
        let path = d.join("s.sock");
        daemon(&path, Access::default());
        // an endless request line: answered after MAX_REQUEST bytes, not stored
        let mut c = std::os::unix::net::UnixStream::connect(&path).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        c.set_write_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let chunk = vec![b'x'; 64 * 1024];
        let mut sent = 0usize;
        while sent < 64 << 20 {
            match c.write(&chunk) {
                Ok(n) => sent += n,
                Err(_) => break,
            }
        }
        assert!(
            sent < 16 << 20,
            "the daemon kept reading: {sent} bytes taken"
        );
        let mut a = String::new();
        let _ = c.read_to_string(&mut a);
        assert_eq!(a.trim(), "{\"error\":\"request too long\"}");
        // MAX_CONNECTIONS idle clients: the next one is closed at once...
        let idle: Vec<_> = (0..MAX_CONNECTIONS)
            .map(|_| std::os::unix::net::UnixStream::connect(&path).unwrap())
            .collect();
        std::thread::sleep(Duration::from_millis(100));
        let mut extra = std::os::unix::net::UnixStream::connect(&path).unwrap();
        extra
            .set_read_timeout(Some(Duration::from_secs(1)))
            .unwrap();
        let _ = extra.write_all(b"status\n");
        let mut got = Vec::new();
        match extra.read_to_end(&mut got) {
            Ok(0) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            other => panic!("the connection over the limit was served: {other:?} {got:?}"),
        }
        // ...and the idle ones time out, so service comes back
        let t0 = std::time::Instant::now();
        let mut idle = idle;
        let mut b = [0u8; 64];
        for s in &mut idle {
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let _ = s.read(&mut b);
        }
        assert!(
            t0.elapsed() < IO_TIMEOUT + Duration::from_secs(2),
            "{:?}",
            t0.elapsed()
        );
        assert_eq!(fetch(&path).unwrap(), sample());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    #[ignore = "helper of accept_errors_back_off"]
    #[allow(clippy::print_stdout)]
    fn emfile_server() {
        let Some(p) = std::env::var_os("KEELD_TEST_SOCK") else {
            return;
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let (tx, _rx) = mpsc::channel::<Query>(4);
            serve(Path::new(&p), Access::default(), tx).unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
            // use up every descriptor left
            let mut hog = Vec::new();
            while let Ok(f) = std::fs::File::open("/dev/null") {
                hog.push(f);
            }
            println!("READY {}", hog.len());
            tokio::time::sleep(Duration::from_secs(3)).await;
        });
    }

    /// Issue 17 item 7: at the descriptor limit, accept failed with EMFILE and was
    /// retried at once: 99 % CPU. Now the loop backs off and sheds the waiting
    /// client with its reserve descriptor.
    #[test]
    fn accept_errors_back_off() {
        use std::io::{BufRead, Read};
        if !keel_testkit::require_tool("the EMFILE server (prlimit)", "prlimit") {
            return;
        }
        let d = test_dir("emfile");
        let path = d.join("s.sock");
        let mut child = std::process::Command::new("prlimit")
            .arg("--nofile=64:64")
            .arg(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "status::tests::emfile_server",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("KEELD_TEST_SOCK", &path)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while out.read_line(&mut line).unwrap() > 0 && !line.contains("READY") {
            line.clear();
        }
        assert!(line.contains("READY"), "{line}");
        // clients wait in the backlog while the server has no descriptor left
        let mut clients: Vec<_> = (0..4)
            .map(|_| std::os::unix::net::UnixStream::connect(&path).unwrap())
            .collect();
        let cpu = |pid: u32| -> u64 {
            let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let f: Vec<&str> = s
                .rsplit_once(')')
                .map_or("", |x| x.1)
                .split_whitespace()
                .collect();
            f.get(11).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0)
                + f.get(12).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0)
        };
        let t0 = cpu(child.id());
        std::thread::sleep(Duration::from_millis(1500));
        let ticks = cpu(child.id()) - t0;
        // the first client is shed (closed without an answer)
        let c = &mut clients[0];
        c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut got = Vec::new();
        let shed = matches!(c.read_to_end(&mut got), Ok(0)) || got.is_empty();
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(&d);
        // clock ticks are 10 ms: a busy loop would take ~150 in 1.5 s
        assert!(
            ticks < 30,
            "the accept loop used {ticks} ticks of CPU in 1.5 s"
        );
        assert!(shed, "the waiting client was not shed: {got:?}");
    }
}
