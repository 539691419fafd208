//! The status interface: a Unix socket answering one request per connection
//! (a line: `status` or `handover [INSTANCE]`) with one JSON document, and
//! the `keeld status` client that prints it for a person.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};

/// The whole daemon.
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
    /// Worst timer lateness seen, in milliseconds.
    pub max_timer_late_ms: f64,
    /// How late each instance's timers were handled, every expiry since start
    /// (startup included): counts per bucket (`le_ms`: upper bound in ms, `None` =
    /// above the last). Wake-ups fall on a 1 ms grid, so up to 1 ms is normal.
    #[serde(default)]
    pub timer_late_hist: Vec<LateBucket>,
    /// Every vrrp_instance.
    pub instances: Vec<InstanceStatus>,
    /// Every vrrp_script.
    pub scripts: Vec<ScriptStatus>,
    /// LVS virtual servers (keeld as a director).
    #[serde(default)]
    pub virtual_servers: Vec<crate::director::VirtualServerStatus>,
}

/// Upper bounds (µs) of the timer lateness histogram's buckets.
pub const LATE_BOUNDS_US: [u64; 9] = [
    100, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000,
];

/// One bucket of the timer lateness histogram.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LateBucket {
    /// Upper bound in milliseconds (inclusive); `None` for the overflow bucket.
    pub le_ms: Option<f64>,
    /// Instance timer expiries that were handled this late.
    pub count: u64,
}

/// The histogram from the daemon's counts (one more than `LATE_BOUNDS_US`).
pub fn late_hist(counts: &[u64]) -> Vec<LateBucket> {
    counts
        .iter()
        .enumerate()
        .map(|(i, &count)| LateBucket {
            le_ms: LATE_BOUNDS_US.get(i).map(|&us| us as f64 / 1000.0),
            count,
        })
        .collect()
}

/// One vrrp_instance.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InstanceStatus {
    /// `VI_1`.
    pub name: String,
    /// Interface name.
    pub interface: String,
    /// virtual_router_id.
    pub vrid: u8,
    /// 2 or 3.
    pub version: u8,
    /// INIT, BACKUP, MASTER or FAULT (keepalived's words).
    pub state: String,
    /// Configured priority.
    pub base_priority: u8,
    /// Priority after tracking weights.
    pub effective_priority: u8,
    /// Current master's address when known (ours when master).
    pub master_addr: Option<String>,
    /// Configured virtual addresses.
    pub vips: Vec<String>,
    /// Whether the VIPs are on the interface (we are master).
    pub vips_held: bool,
    /// Advertisement interval in milliseconds.
    pub advert_int_ms: u64,
    /// Protocol counters (adverts sent/received, transitions, ...).
    pub counters: BTreeMap<String, u64>,
    /// Dropped received packets by reason (`auth`, `vrid`, `ttl`, `truncated`, `checksum`, ...).
    pub dropped: BTreeMap<String, u64>,
    /// Milliseconds until the next protocol timer fires, if one is armed.
    pub next_timer_ms: Option<f64>,
    /// Seconds since the last state change.
    pub in_state_s: f64,
}

/// One vrrp_script.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScriptStatus {
    /// Script name.
    pub name: String,
    /// Current result.
    pub up: bool,
    /// Runs so far.
    pub runs: u64,
}

/// A request read from the status socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `status`
    Status,
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
            "handover" => Some(Request::Handover(w.next().map(str::to_owned))),
            "resume" => Some(Request::Resume(w.next().map(str::to_owned))),
            _ => None,
        }
    }
}

/// A request with the channel for its answer.
pub type Query = (Request, oneshot::Sender<String>);

/// Listen on `path` (removing a stale socket first) and forward each request
/// to the daemon's loop through `tx`; the loop answers with JSON text.
pub fn serve(path: &Path, tx: mpsc::Sender<Query>) -> std::io::Result<()> {
    let _ = std::fs::remove_file(path);
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let listener = tokio::net::UnixListener::bind(path)?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut line = String::new();
                let mut r = BufReader::new(r);
                let read =
                    tokio::time::timeout(Duration::from_secs(2), r.read_line(&mut line)).await;
                let reply = match (read, Request::parse(&line)) {
                    (Ok(Ok(_)), Some(req)) => {
                        let (otx, orx) = oneshot::channel();
                        if tx.send((req, otx)).await.is_err() {
                            return;
                        }
                        orx.await.unwrap_or_default()
                    }
                    _ => "{\"error\":\"unknown request; try 'status'\"}".to_owned(),
                };
                let _ = w.write_all(reply.as_bytes()).await;
                let _ = w.write_all(b"\n").await;
                let _ = w.shutdown().await;
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
    use std::fmt::Write as _;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "keeld {} pid {}  config {}  up {:.0}s  reloads {} (refused {})  worst timer lateness {:.1} ms",
        s.version,
        s.pid,
        s.config_file,
        s.uptime_s,
        s.reloads,
        s.reload_failures,
        s.max_timer_late_ms
    );
    if s.timer_late_hist.iter().any(|b| b.count > 0) {
        o.push_str("timer lateness:");
        for b in &s.timer_late_hist {
            match b.le_ms {
                Some(le) => {
                    let _ = write!(o, "  <={le} ms {}", b.count);
                }
                None => {
                    let _ = write!(o, "  more {}", b.count);
                }
            }
        }
        o.push('\n');
    }
    let _ = writeln!(
        o,
        "{:<12} {:<8} {:>4} {:>2} {:<7} {:>9} {:<16} {:>9}  VIPs",
        "INSTANCE", "IFACE", "VRID", "V", "STATE", "PRIO", "MASTER", "IN STATE"
    );
    for i in &s.instances {
        let _ = writeln!(
            o,
            "{:<12} {:<8} {:>4} {:>2} {:<7} {:>4}/{:<4} {:<16} {:>8.1}s  {}{}",
            i.name,
            i.interface,
            i.vrid,
            i.version,
            i.state,
            i.effective_priority,
            i.base_priority,
            i.master_addr.as_deref().unwrap_or("-"),
            i.in_state_s,
            i.vips.join(","),
            if i.vips_held { " (held)" } else { "" }
        );
        let counters: Vec<String> = i.counters.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(o, "    counters: {}", counters.join(" "));
        let dropped: Vec<String> = i
            .dropped
            .iter()
            .filter(|(_, v)| **v > 0)
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !dropped.is_empty() {
            let _ = writeln!(o, "    dropped:  {}", dropped.join(" "));
        }
        if let Some(t) = i.next_timer_ms {
            let _ = writeln!(o, "    next timer in {t:.1} ms");
        }
    }
    for sc in &s.scripts {
        let _ = writeln!(
            o,
            "script {:<16} {}  runs {}",
            sc.name,
            if sc.up { "OK" } else { "FAILED" },
            sc.runs
        );
    }
    o.push_str(&crate::director::render(&s.virtual_servers));
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Status {
        let mut counters = BTreeMap::new();
        counters.insert("adverts_sent".to_owned(), 12);
        let mut dropped = BTreeMap::new();
        dropped.insert("auth".to_owned(), 3);
        dropped.insert("ttl".to_owned(), 0);
        Status {
            pid: 42,
            version: "0.1.0".into(),
            config_file: "/etc/keepalived/keepalived.conf".into(),
            uptime_s: 5.0,
            reloads: 1,
            reload_failures: 0,
            max_timer_late_ms: 0.4,
            timer_late_hist: late_hist(&[5, 2, 0, 0, 0, 0, 0, 0, 0, 1]),
            instances: vec![InstanceStatus {
                name: "VI_1".into(),
                interface: "eth0".into(),
                vrid: 51,
                version: 2,
                state: "MASTER".into(),
                base_priority: 100,
                effective_priority: 100,
                master_addr: Some("192.0.2.10".into()),
                vips: vec!["192.0.2.250".into()],
                vips_held: true,
                advert_int_ms: 1000,
                counters,
                dropped,
                next_timer_ms: Some(800.0),
                in_state_s: 4.0,
            }],
            scripts: vec![],
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
        let back: Status = serde_json::from_str(&j).unwrap();
        assert_eq!(back, s);
        let t = render(&s);
        assert!(t.contains("VI_1"), "{t}");
        assert!(t.contains("MASTER"), "{t}");
        assert!(t.contains("192.0.2.250 (held)"), "{t}");
        assert!(t.contains("dropped:  auth=3"), "{t}");
        assert!(!t.contains("ttl=0"), "{t}");
        assert!(
            t.contains("timer lateness:  <=0.1 ms 5  <=0.5 ms 2  <=1 ms 0") && t.contains("more 1"),
            "{t}"
        );
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
            serve(&p2, tx).unwrap();
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
}
