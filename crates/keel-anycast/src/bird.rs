//! BIRD 2 backend: an include file of static routes plus `configure`
//! over BIRD's control socket, the way anycast-healthchecker drives BIRD.
//!
//! keel writes one `route PREFIX blackhole;` line per announced prefix
//! into an include file (atomically: temporary file, then rename) and asks
//! BIRD to `configure`. The user's BIRD configuration includes the file
//! in a static protocol and exports that protocol to its BGP sessions:
//!
//! ```text
//! protocol static keel_anycast4 {
//!     ipv4;
//!     include "/run/keel/anycast-v4.conf";
//! }
//! protocol bgp router1 {
//!     local as 65001; neighbor 198.51.100.1 as 65000;
//!     ipv4 { import none; export where proto = "keel_anycast4"; next hop self; };
//! }
//! ```
//!
//! (BIRD 2.0.12 reads `include` only at the start of a line.)
//!
//! Because the routes live in a file BIRD reads at start, a restarted BIRD
//! announces them again by itself; keel reconnects and re-applies anyway.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use crate::{Error, Prefix, Speaker, SpeakerEvent};

/// Announces through BIRD 2's control socket.
#[derive(Debug)]
pub struct Bird {
    socket: PathBuf,
    include4: PathBuf,
    include6: Option<PathBuf>,
    routes: BTreeSet<Prefix>,
    conn: Option<BufReader<UnixStream>>,
}

impl Bird {
    /// BIRD's control socket (`/run/bird/bird.ctl`) and the include file
    /// keel owns for IPv4 prefixes.
    pub fn new(socket: impl Into<PathBuf>, include_v4: impl Into<PathBuf>) -> Bird {
        Bird {
            socket: socket.into(),
            include4: include_v4.into(),
            include6: None,
            routes: BTreeSet::new(),
            conn: None,
        }
    }

    /// The include file for IPv6 prefixes (none by default: announcing an
    /// IPv6 prefix is then an error).
    pub fn with_ipv6_include(mut self, path: impl Into<PathBuf>) -> Bird {
        self.include6 = Some(path.into());
        self
    }

    /// Send one command, return BIRD's reply lines (code, text). An error
    /// code (8000 and above) is an error.
    pub async fn command(&mut self, cmd: &str) -> Result<Vec<(u16, String)>, Error> {
        let conn = self.conn.as_mut().ok_or(Error::Closed)?;
        let line = format!("{cmd}\n");
        conn.get_mut()
            .write_all(line.as_bytes())
            .await
            .map_err(|e| Error::io("bird control socket", e))?;
        let out = read_reply(conn).await?;
        if let Some((code, msg)) = out.iter().find(|(c, _)| *c >= 8000) {
            return Err(Error::Bird {
                code: *code,
                message: msg.clone(),
            });
        }
        Ok(out)
    }

    async fn write_file(path: &Path, lines: &str) -> Result<(), Error> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        tokio::fs::write(&tmp, lines)
            .await
            .map_err(|e| Error::io(format!("write {}", Path::new(&tmp).display()), e))?;
        tokio::fs::rename(&tmp, path)
            .await
            .map_err(|e| Error::io(format!("rename to {}", path.display()), e))
    }

    async fn apply(&mut self) -> Result<(), Error> {
        let render = |v4: bool| {
            let mut s = String::from("# written by keel-anycast: do not edit\n");
            for p in self.routes.iter().filter(|p| p.is_ipv4() == v4) {
                s.push_str(&format!("route {p} blackhole;\n"));
            }
            s
        };
        Self::write_file(&self.include4, &render(true)).await?;
        if let Some(p6) = &self.include6 {
            Self::write_file(p6, &render(false)).await?;
        }
        self.command("configure").await.map(drop)
    }
}

/// Read one reply: lines `DDDD-text` (more follow), ` text` (continued)
/// and a last `DDDD text`.
async fn read_reply(conn: &mut BufReader<UnixStream>) -> Result<Vec<(u16, String)>, Error> {
    let mut out = Vec::new();
    let mut code = 0u16;
    loop {
        let mut line = String::new();
        let n = conn
            .read_line(&mut line)
            .await
            .map_err(|e| Error::io("bird control socket", e))?;
        if n == 0 {
            return Err(Error::Closed);
        }
        let line = line.trim_end_matches('\n');
        if let Some(rest) = line.strip_prefix(' ') {
            out.push((code, rest.to_owned()));
            continue;
        }
        let (num, sep, text) = match (line.get(..4), line.get(4..5), line.get(5..)) {
            (Some(n), Some(s), t) => (n, s, t.unwrap_or("")),
            _ => return Err(Error::Protocol(format!("bird: `{line}`"))),
        };
        code = num
            .parse()
            .map_err(|_| Error::Protocol(format!("bird: `{line}`")))?;
        out.push((code, text.to_owned()));
        if sep == " " {
            return Ok(out);
        }
    }
}

impl Speaker for Bird {
    async fn connect(&mut self) -> Result<(), Error> {
        self.conn = None;
        let s = UnixStream::connect(&self.socket)
            .await
            .map_err(|e| Error::io(format!("connect {}", self.socket.display()), e))?;
        let mut conn = BufReader::new(s);
        let hello = read_reply(&mut conn).await?;
        if hello.first().map(|l| l.0) != Some(1) {
            return Err(Error::Protocol(format!("bird greeting {hello:?}")));
        }
        self.conn = Some(conn);
        Ok(())
    }

    async fn announce(&mut self, prefix: Prefix) -> Result<(), Error> {
        if !prefix.is_ipv4() && self.include6.is_none() {
            return Err(Error::Protocol(format!(
                "{prefix}: no include file for IPv6 prefixes"
            )));
        }
        self.routes.insert(prefix);
        self.apply().await
    }

    async fn withdraw(&mut self, prefix: Prefix) -> Result<(), Error> {
        self.routes.remove(&prefix);
        self.apply().await
    }

    async fn watch(&mut self) -> Result<SpeakerEvent, Error> {
        let Some(conn) = self.conn.as_mut() else {
            return std::future::pending().await;
        };
        // BIRD sends nothing unasked: readable means closed (BIRD exited).
        loop {
            let buf = conn
                .fill_buf()
                .await
                .map_err(|e| Error::io("bird control socket", e))?;
            if buf.is_empty() {
                self.conn = None;
                return Err(Error::Closed);
            }
            let n = buf.len();
            conn.consume(n);
        }
    }

    fn kind(&self) -> &'static str {
        "bird"
    }
}
