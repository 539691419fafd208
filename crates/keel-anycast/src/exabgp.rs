//! ExaBGP backend: keel is an ExaBGP API process. It writes
//! `announce route PREFIX next-hop self` / `withdraw route ...` lines and
//! reads ExaBGP's acknowledgements (`done` / `error`, ExaBGP 4's
//! `exabgp.api.ack`, on by default) and, with `neighbor-changes`, the
//! neighbours' state.
//!
//! ExaBGP starts its API processes itself (`process NAME { run ...; }`);
//! keeld is a daemon of its own, so the two meet through two FIFOs: the
//! process ExaBGP runs is a two-line bridge that first opens the ack FIFO
//! for writing, then copies the command FIFO to ExaBGP:
//!
//! ```text
//! process keel {
//!     run /bin/sh -c 'exec 3>/run/keel/exabgp.ack; exec cat /run/keel/exabgp.cmd <&- 2>&3 & exec cat >&3';
//!     encoder text;
//! }
//! ```
//!
//! (keel creates both FIFOs.) When ExaBGP exits or restarts, the bridge
//! dies with it, keel reads end-of-file on the ack FIFO, reconnects, and
//! announces everything again: a restarted ExaBGP has forgotten it.

use std::net::IpAddr;
use std::path::PathBuf;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::pipe;

use crate::{Error, Prefix, Speaker, SpeakerEvent};

/// Announces through an ExaBGP API process (see the module docs).
#[derive(Debug)]
pub struct ExaBgp {
    cmd: PathBuf,
    ack: PathBuf,
    tx: Option<pipe::Sender>,
    rx: Option<BufReader<pipe::Receiver>>,
    line: String,
}

impl ExaBgp {
    /// Command FIFO (keel writes) and ack FIFO (keel reads); created if
    /// missing.
    pub fn new(cmd_fifo: impl Into<PathBuf>, ack_fifo: impl Into<PathBuf>) -> ExaBgp {
        ExaBgp {
            cmd: cmd_fifo.into(),
            ack: ack_fifo.into(),
            tx: None,
            rx: None,
            line: String::new(),
        }
    }

    async fn send(&mut self, cmd: String) -> Result<(), Error> {
        let tx = self.tx.as_mut().ok_or(Error::Closed)?;
        tx.write_all(format!("{cmd}\n").as_bytes())
            .await
            .map_err(|e| Error::io("exabgp command fifo", e))?;
        loop {
            match self.next_line().await? {
                Line::Done => return Ok(()),
                Line::Error => return Err(Error::Refused(cmd)),
                // a neighbour change interleaved with the ack: not lost,
                // the next watch sees the state again on the next change
                Line::Peer(..) | Line::Other => {}
            }
        }
    }

    /// Read one line (cancel-safe: a partial line stays in `self.line`).
    async fn next_line(&mut self) -> Result<Line, Error> {
        let rx = self.rx.as_mut().ok_or(Error::Closed)?;
        let n = rx
            .read_line(&mut self.line)
            .await
            .map_err(|e| Error::io("exabgp ack fifo", e))?;
        if n == 0 && !self.line.ends_with('\n') {
            self.tx = None;
            self.rx = None;
            return Err(Error::Closed);
        }
        let line = std::mem::take(&mut self.line);
        Ok(parse_line(line.trim()))
    }
}

#[derive(Debug, PartialEq)]
enum Line {
    Done,
    Error,
    Peer(IpAddr, bool),
    Other,
}

/// ExaBGP 4.2's text encoder: `done`, `error`, and neighbour changes such
/// as `neighbor 198.51.100.1 local-ip ... up` / `... down`.
fn parse_line(l: &str) -> Line {
    match l {
        "done" => return Line::Done,
        "error" => return Line::Error,
        _ => {}
    }
    let mut w = l.split_whitespace();
    if w.next() != Some("neighbor") {
        return Line::Other;
    }
    let Some(Ok(addr)) = w.next().map(str::parse::<IpAddr>) else {
        return Line::Other;
    };
    let rest: Vec<&str> = w.collect();
    if rest.contains(&"up") {
        Line::Peer(addr, true)
    } else if rest.contains(&"down") {
        Line::Peer(addr, false)
    } else {
        Line::Other
    }
}

fn route(verb: &str, p: Prefix) -> String {
    format!("{verb} route {p} next-hop self")
}

impl Speaker for ExaBgp {
    async fn connect(&mut self) -> Result<(), Error> {
        self.tx = None;
        self.rx = None;
        self.line.clear();
        for f in [&self.cmd, &self.ack] {
            if !f.exists() {
                nix::unistd::mkfifo(f, nix::sys::stat::Mode::from_bits_truncate(0o600))
                    .map_err(|e| Error::io(format!("mkfifo {}", f.display()), e.into()))?;
            }
        }
        // ack first: the bridge opens it before it reads the commands, so
        // once the command FIFO has a reader the ack FIFO has its writer.
        let rx = pipe::OpenOptions::new()
            .open_receiver(&self.ack)
            .map_err(|e| Error::io(format!("open {}", self.ack.display()), e))?;
        // ENXIO until ExaBGP runs the bridge: retried with backoff.
        let tx = pipe::OpenOptions::new()
            .open_sender(&self.cmd)
            .map_err(|e| {
                Error::io(
                    format!("open {} (is exabgp running?)", self.cmd.display()),
                    e,
                )
            })?;
        self.rx = Some(BufReader::new(rx));
        self.tx = Some(tx);
        Ok(())
    }

    async fn announce(&mut self, prefix: Prefix) -> Result<(), Error> {
        self.send(route("announce", prefix)).await
    }

    async fn withdraw(&mut self, prefix: Prefix) -> Result<(), Error> {
        self.send(route("withdraw", prefix)).await
    }

    async fn watch(&mut self) -> Result<SpeakerEvent, Error> {
        if self.rx.is_none() {
            return std::future::pending().await;
        }
        loop {
            if let Line::Peer(addr, up) = self.next_line().await? {
                return Ok(SpeakerEvent::Peer { addr, up });
            }
        }
    }

    fn kind(&self) -> &'static str {
        "exabgp"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_exabgp_lines() {
        assert_eq!(parse_line("done"), Line::Done);
        assert_eq!(parse_line("error"), Line::Error);
        assert_eq!(
            parse_line(
                "neighbor 198.51.100.1 local-ip 198.51.100.2 local-as 65001 peer-as 65000 router-id 198.51.100.2 family-allowed in-open up"
            ),
            Line::Peer(
                "198.51.100.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
                true
            )
        );
        assert!(matches!(
            parse_line("neighbor 198.51.100.1 down"),
            Line::Peer(_, false)
        ));
        assert_eq!(parse_line("neighbor x up"), Line::Other);
        assert_eq!(parse_line(""), Line::Other);
        assert_eq!(
            route(
                "announce",
                "203.0.113.10"
                    .parse()
                    .unwrap_or(Prefix::host([0, 0, 0, 0].into()))
            ),
            "announce route 203.0.113.10/32 next-hop self"
        );
    }
}
