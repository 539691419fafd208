//! What the checker reports: transitions with keepalived's log text, and weight changes.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use crate::spec::{CheckId, CheckKind};

/// Why one check attempt failed. Small and matchable; `Display` gives a short English text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    /// Could not create the socket.
    #[error("cannot create socket: {0}")]
    Socket(io::ErrorKind),
    /// Could not bind `bindto` / `bind_port`.
    #[error("cannot bind source address: {0}")]
    Bind(io::ErrorKind),
    /// The connection was refused or failed (`ConnectionRefused`, `HostUnreachable`, ...).
    #[error("connection failed: {0}")]
    Connect(io::ErrorKind),
    /// No connection within `connect_timeout`.
    #[error("connection timed out")]
    ConnectTimeout,
    /// TLS handshake failed (including certificate verification when enabled).
    #[error("TLS handshake failed")]
    Tls,
    /// The HTTP exchange failed (closed early, malformed response, read error).
    #[error("HTTP read error")]
    Http,
    /// No complete response within `connect_timeout`.
    #[error("HTTP read timed out")]
    HttpTimeout,
    /// The status code is not in `status_code`.
    #[error("HTTP status code {0} not accepted")]
    Status(u16),
    /// The body's MD5 differs from `digest`.
    #[error("MD5 digest mismatch")]
    Digest,
    /// The script could not be started.
    #[error("cannot run script: {0}")]
    Spawn(io::ErrorKind),
    /// The script exited with a failing status.
    #[error("script exited with status {0}")]
    Exit(i32),
    /// The script was killed by a signal it was not sent by us.
    #[error("script killed by signal {0}")]
    Signal(i32),
    /// The script ran longer than `misc_timeout` and was killed.
    #[error("script timed out")]
    ScriptTimeout,
    /// HTTP: the body did not match `regex` (or matched with `regex_no_match`).
    #[error("regex match failed")]
    Regex,
    /// DNS / UDP / PING: no (acceptable) reply within `connect_timeout`.
    #[error("no reply within the timeout")]
    ReplyTimeout,
    /// DNS / UDP / PING: receiving failed with this errno (ICMP unreachable:
    /// `ECONNREFUSED`, `EHOSTUNREACH`, ...).
    #[error("receive failed: {}", errno_text(*.0))]
    Recv(i32),
    /// DNS / UDP / PING: sending failed with this errno.
    #[error("send failed: {}", errno_text(*.0))]
    Send(i32),
    /// DNS: no route to the server (`connect()` of the UDP socket failed).
    #[error("network unreachable for {0}")]
    Unreachable(SocketAddr),
    /// DNS: the reply's RCODE is not NOERROR.
    #[error("DNS rcode {0}")]
    DnsRcode(u16),
    /// DNS: the reply does not parse as a DNS message.
    #[error("malformed DNS reply")]
    DnsMalformed,
    /// UDP: the reply does not match `require_reply` / the length bounds.
    #[error("reply data mismatch")]
    ReplyMismatch,
    /// PING: an ICMP message other than an echo reply came back.
    #[error("ICMP type {0} instead of an echo reply")]
    IcmpType(u8),
    /// SMTP_CHECK failed talking to `dest`.
    #[error("SMTP {what:?} at {dest}")]
    Smtp {
        /// The server as connected to.
        dest: SocketAddr,
        /// What went wrong.
        what: SmtpFailure,
    },
    /// FILE_CHECK: the file's value means "down" (keepalived's weight fault).
    #[error("tracked file value {0} is a fault")]
    FileFault(i64),
}

/// The stage at which an SMTP_CHECK failed (each has keepalived's own line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SmtpFailure {
    /// The socket could not be set up (socket, bind).
    Connect,
    /// The connection was refused or failed (keepalived's `connect_fail`).
    CouldNotConnect,
    /// The connection timed out.
    ConnectTimeout,
    /// No complete line within `connect_timeout`.
    ReadTimeout,
    /// Reading failed or the server closed the connection.
    Read,
    /// Writing timed out.
    WriteTimeout,
    /// Writing failed.
    Write,
    /// The greeting was not `220`.
    Banner,
    /// The answer to `HELO` was not `250`.
    Helo,
}

/// strerror(3)'s text for an errno.
fn errno_text(errno: i32) -> String {
    let s = io::Error::from_raw_os_error(errno).to_string();
    match s.rfind(" (os error") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

/// Why a real server changed state: everything keepalived puts in its log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// The checker type.
    pub kind: CheckKind,
    /// The real server as keepalived prints it (`[192.0.2.12]:tcp:80`).
    pub server: String,
    /// The virtual server label, if the caller gave one (MISC_CHECK text).
    pub virtual_server: Option<String>,
    /// MISC_CHECK: the program (argv\[0\] as configured).
    pub script: Option<String>,
    /// HTTP: the URL path that passed last (up) or failed (down).
    pub url: Option<String>,
    /// `None` when the check succeeded; otherwise the last attempt's error.
    pub error: Option<ProbeError>,
    /// The configured `retry`.
    pub retry: u32,
    /// True for the first verdict after start, which keepalived reports without retries.
    pub first: bool,
}

impl Reason {
    /// The per-attempt failure line keepalived logs with `log_all_failures`
    /// (e.g. `TCP connection to [192.0.2.12]:tcp:80 failed.`); `None` on success.
    pub fn attempt_line(&self) -> Option<String> {
        let err = self.error.as_ref()?;
        let s = &self.server;
        Some(match self.kind {
            CheckKind::Tcp => match err {
                ProbeError::ConnectTimeout => format!("TCP connection to {s} timeout."),
                _ => format!("TCP connection to {s} failed."),
            },
            CheckKind::Http | CheckKind::Ssl => {
                let what = match err {
                    ProbeError::ConnectTimeout => "Timeout connecting",
                    ProbeError::Socket(_) | ProbeError::Bind(_) | ProbeError::Connect(_) => {
                        "Error connecting"
                    }
                    ProbeError::Tls => "SSL handshake/communication error connecting to",
                    ProbeError::HttpTimeout => "Timeout WEB read",
                    ProbeError::Status(_) => "HTTP status code error to",
                    ProbeError::Digest => "MD5 digest error to",
                    ProbeError::Regex => "Regex match failed",
                    _ => "Read error with",
                };
                format!("{what} server {s}.")
            }
            CheckKind::Misc => self.misc_line(),
            CheckKind::Dns => format!("DNS_CHECK ({s}) {}", dns_text(err)),
            CheckKind::Smtp => smtp_text(err, s),
            CheckKind::Udp => match err {
                ProbeError::ReplyMismatch => format!("UDP check to {s} reply data mismatch."),
                _ => format!("UDP connection to {s} failed."),
            },
            CheckKind::Ping => match err {
                ProbeError::ReplyTimeout => format!("ICMP connection to address {s} timeout."),
                _ => format!("ICMP connection to {s} of {} failed.", self.vs_label()),
            },
            CheckKind::File => return None,
        })
    }

    fn vs_label(&self) -> &str {
        self.virtual_server.as_deref().unwrap_or("")
    }

    /// The line keepalived 2.2.7 logs for this transition, or `None` where it logs
    /// none of its own (DNS_CHECK going up, FILE_CHECK): the director's
    /// `Adding service ...` / `Removing service ...` lines are the only trace there.
    pub fn log_line(&self) -> Option<String> {
        let s = &self.server;
        let retries = self.retry > 0 && !self.first;
        match (self.kind, &self.error) {
            (CheckKind::Dns, None) | (CheckKind::File, _) => None,
            (CheckKind::Dns, Some(err)) => {
                let mut line = format!("DNS_CHECK ({s}) {}", dns_text(err));
                if !self.first {
                    line.push_str(&format!(" after {} retries", self.retry));
                }
                Some(line)
            }
            (CheckKind::Smtp, None) => Some(format!("Remote SMTP server {s} succeed on service.")),
            (CheckKind::Smtp, Some(err)) => Some(smtp_text(err, s)),
            (CheckKind::Udp, None) => Some(format!("UDP connection to {s} success.")),
            (CheckKind::Udp, Some(_)) if retries => Some(format!(
                "UDP_CHECK on service {s} failed after {} retries.",
                self.retry
            )),
            (CheckKind::Udp, Some(_)) => Some(format!("UDP_CHECK on service {s} failed.")),
            (CheckKind::Ping, None) => Some(format!("ICMP connection to {s} success.")),
            (CheckKind::Ping, Some(_)) if retries => Some(format!(
                "ICMP CHECK on service {s} of {} failed after {} retries.",
                self.vs_label(),
                self.retry
            )),
            (CheckKind::Ping, Some(_)) => Some(format!("ICMP CHECK on service {s} failed.")),
            _ => Some(self.classic_line()),
        }
    }

    fn misc_line(&self) -> String {
        let target = match &self.virtual_server {
            Some(vs) => format!("{} VS {vs}", self.server),
            None => self.server.clone(),
        };
        let script = self.script.as_deref().unwrap_or("");
        let Some(err) = &self.error else {
            return format!("Misc check for [{target}] by [{script}] succeeded.");
        };
        let retries = match self.retry {
            0 => " with retry disabled".to_owned(),
            1 => " after 1 retry".to_owned(),
            n => format!(" after {n} retries"),
        };
        match err {
            ProbeError::ScriptTimeout => {
                format!("Misc check for [{target}] by [{script}] timed out{retries}.")
            }
            ProbeError::Exit(c) => format!(
                "Misc check for [{target}] by [{script}] failed{retries} (exited with status {c})."
            ),
            ProbeError::Signal(c) => format!(
                "Misc check for [{target}] by [{script}] failed{retries} (due to signal {c})."
            ),
            _ => format!("Misc check for [{target}] by [{script}] failed{retries}."),
        }
    }
}

/// DNS_CHECK's failure text (after `DNS_CHECK (server) `).
fn dns_text(err: &ProbeError) -> String {
    match err {
        ProbeError::ReplyTimeout => "read timeout from socket".into(),
        ProbeError::Recv(e) => format!("failed to read socket; errno {e} ({})", errno_text(*e)),
        ProbeError::Send(_) => "failed to write socket.".into(),
        ProbeError::Unreachable(d) => format!("network unreachable for {}", pair(*d)),
        ProbeError::DnsRcode(r) => format!("read error occurred. (rcode = {r})"),
        ProbeError::Socket(_) | ProbeError::Bind(_) => "connection error.".into(),
        other => other.to_string(),
    }
}

/// keepalived's `inet_sockaddrtopair`: `[192.0.2.1]:25`.
fn pair(d: SocketAddr) -> String {
    format!("[{}]:{}", d.ip(), d.port())
}

/// SMTP_CHECK's line for a failure.
fn smtp_text(err: &ProbeError, server: &str) -> String {
    let ProbeError::Smtp { dest, what } = err else {
        return format!("SMTP_CHECK Error connecting to server {server}");
    };
    let d = pair(*dest);
    let what = match what {
        SmtpFailure::Connect => "Error connecting to server",
        SmtpFailure::CouldNotConnect => "Could not connect to server",
        SmtpFailure::ConnectTimeout => "Connection timeout to server",
        SmtpFailure::ReadTimeout => "Read timeout from server",
        SmtpFailure::Read => "Read failure from server",
        SmtpFailure::WriteTimeout => "Write timeout to server",
        SmtpFailure::Write => "Write failure to server",
        SmtpFailure::Banner => "Bad greeting banner from server",
        SmtpFailure::Helo => "Bad HELO response from server",
    };
    format!("SMTP_CHECK {what} {d}")
}

impl Reason {
    /// TCP_CHECK / HTTP_GET / SSL_GET / MISC_CHECK transition lines.
    fn classic_line(&self) -> String {
        let s = &self.server;
        let up = self.error.is_none();
        match self.kind {
            CheckKind::Tcp if up => format!("TCP connection to {s} success."),
            CheckKind::Http | CheckKind::Ssl if up => {
                format!("Remote Web server {s} succeed on service.")
            }
            CheckKind::Tcp | CheckKind::Http | CheckKind::Ssl => {
                let name = if self.kind == CheckKind::Tcp {
                    "TCP_CHECK"
                } else {
                    "HTTP_CHECK"
                };
                // keepalived 2.2.7's HTTP checker marks itself as run before it reports,
                // so even its first verdict says "after N retries" (measured against
                // keepalived in tests/keepalived_parity.rs); TCP_CHECK's does not.
                let http = self.kind != CheckKind::Tcp;
                if self.retry > 0 && (!self.first || http) {
                    format!("{name} on service {s} failed after {} retries.", self.retry)
                } else {
                    format!("{name} on service {s} failed.")
                }
            }
            CheckKind::Misc => self.misc_line(),
            k if up => format!("{} on service {s} succeeded.", k.keyword()),
            k => format!("{} on service {s} failed.", k.keyword()),
        }
    }
}

impl fmt::Display for Reason {
    /// keepalived 2.2.7's line for the transition ([`Reason::log_line`]), e.g.
    /// `TCP connection to [192.0.2.12]:tcp:80 success.` or
    /// `TCP_CHECK on service [192.0.2.12]:tcp:80 failed after 3 retries.`; where
    /// keepalived logs none, `DNS_CHECK on service ... succeeded.` (or `failed.`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.log_line() {
            Some(l) => f.write_str(&l),
            None if self.error.is_none() => write!(
                f,
                "{} on service {} succeeded.",
                self.kind.keyword(),
                self.server
            ),
            None => write!(
                f,
                "{} on service {} failed.",
                self.kind.keyword(),
                self.server
            ),
        }
    }
}

/// A real server's checker changed state (or gave its first verdict).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The check's id.
    pub id: CheckId,
    /// The new state.
    pub up: bool,
    /// The state before. Equal to `up` only for the first verdict after start, which is
    /// always reported (keepalived logs it too).
    pub was_up: bool,
    /// Why, with keepalived's log text as `Display`.
    pub reason: Reason,
}

impl fmt::Display for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.reason.fmt(f)
    }
}

/// MISC_CHECK with `misc_dynamic`: the weight the script asked for changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeightChange {
    /// The check's id.
    pub id: CheckId,
    /// `Some(exit_code - 2)` (0–253) after an exit code 2–255; `None` means "back to
    /// the configured weight" (after exit 0, or when the check went down).
    pub weight: Option<u8>,
}

/// FILE_CHECK: the weight the tracked file adds to the real server's changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeightOffset {
    /// The check's id.
    pub id: CheckId,
    /// Added to the real server's configured weight (0 while the checker is down).
    pub offset: i32,
}

/// One report from the [`Checker`](crate::Checker).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A check went up or down.
    Transition(Transition),
    /// A `misc_dynamic` weight changed (sent before the transition it comes with, if any).
    Weight(WeightChange),
    /// A FILE_CHECK's weight offset changed (sent before the transition it comes with,
    /// if any).
    Offset(WeightOffset),
    /// With `log_all_failures`: an attempt of an up check failed and will be retried.
    /// [`Reason::attempt_line`] gives keepalived's line.
    AttemptFailed {
        /// The check's id.
        id: CheckId,
        /// The failure (`first` is false, `error` is set).
        reason: Reason,
    },
}

impl Event {
    /// The check this event is about.
    pub fn id(&self) -> CheckId {
        match self {
            Event::Transition(t) => t.id,
            Event::Weight(w) => w.id,
            Event::Offset(o) => o.id,
            Event::AttemptFailed { id, .. } => *id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(kind: CheckKind, error: Option<ProbeError>, retry: u32, first: bool) -> Reason {
        Reason {
            kind,
            server: "[192.0.2.12]:tcp:80".into(),
            virtual_server: Some("[192.0.2.250]:tcp:80".into()),
            script: Some("/usr/local/bin/chk".into()),
            url: Some("/".into()),
            error,
            retry,
            first,
        }
    }

    #[test]
    fn keepalived_text() {
        let r = reason(CheckKind::Tcp, None, 3, false);
        assert_eq!(
            r.to_string(),
            "TCP connection to [192.0.2.12]:tcp:80 success."
        );
        assert_eq!(r.attempt_line(), None);
        let r = reason(
            CheckKind::Tcp,
            Some(ProbeError::Connect(io::ErrorKind::ConnectionRefused)),
            3,
            false,
        );
        assert_eq!(
            r.to_string(),
            "TCP_CHECK on service [192.0.2.12]:tcp:80 failed after 3 retries."
        );
        assert_eq!(
            r.attempt_line().unwrap(),
            "TCP connection to [192.0.2.12]:tcp:80 failed."
        );
        let r = reason(CheckKind::Tcp, Some(ProbeError::ConnectTimeout), 3, true);
        assert_eq!(
            r.to_string(),
            "TCP_CHECK on service [192.0.2.12]:tcp:80 failed."
        );
        assert_eq!(
            r.attempt_line().unwrap(),
            "TCP connection to [192.0.2.12]:tcp:80 timeout."
        );
        let r = reason(CheckKind::Http, None, 1, false);
        assert_eq!(
            r.to_string(),
            "Remote Web server [192.0.2.12]:tcp:80 succeed on service."
        );
        let r = reason(CheckKind::Ssl, Some(ProbeError::Status(503)), 1, false);
        assert_eq!(
            r.to_string(),
            "HTTP_CHECK on service [192.0.2.12]:tcp:80 failed after 1 retries."
        );
        assert_eq!(
            r.attempt_line().unwrap(),
            "HTTP status code error to server [192.0.2.12]:tcp:80."
        );
        let r = reason(CheckKind::Misc, Some(ProbeError::Exit(1)), 0, false);
        assert_eq!(
            r.to_string(),
            "Misc check for [[192.0.2.12]:tcp:80 VS [192.0.2.250]:tcp:80] by [/usr/local/bin/chk] failed with retry disabled (exited with status 1)."
        );
        let r = reason(CheckKind::Misc, Some(ProbeError::ScriptTimeout), 2, false);
        assert_eq!(
            r.to_string(),
            "Misc check for [[192.0.2.12]:tcp:80 VS [192.0.2.250]:tcp:80] by [/usr/local/bin/chk] timed out after 2 retries."
        );
        let r = reason(CheckKind::Misc, None, 2, false);
        assert_eq!(
            r.to_string(),
            "Misc check for [[192.0.2.12]:tcp:80 VS [192.0.2.250]:tcp:80] by [/usr/local/bin/chk] succeeded."
        );
    }
}
