//! Logging: tracing events written with keepalived's text and ident
//! (`Keepalived_vrrp[PID]: (VI_1) Entering MASTER STATE`) to stderr
//! (`-l`) or to syslog/journald through `/dev/log`, plus a per-kind rate
//! limiter (at most one line per kind per second).
//!
//! Events with target `vrrp` carry the `Keepalived_vrrp` ident (like
//! keepalived's VRRP child); everything else carries `Keepalived`.
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::net::UnixDatagram;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::prelude::*;

/// Where log lines go.
#[derive(Debug, Clone, Copy)]
pub struct LogOptions {
    /// Write to stderr.
    pub console: bool,
    /// Write to syslog (`/dev/log`).
    pub syslog: bool,
    /// Debug-level detail.
    pub detail: bool,
    /// Syslog facility number (3 = daemon, 16..=23 = local0..local7).
    pub facility: u8,
}

/// Syslog lines dropped because `/dev/log` was full (its reader stalled):
/// the event loop never waits for the logger. The subscriber is process-wide
/// by nature (tracing's global default), so its counter is too.
pub static SYSLOG_DROPPED: AtomicU64 = AtomicU64::new(0);

struct KeelLayer {
    console: bool,
    syslog: Option<Mutex<UnixDatagram>>,
    facility: u8,
    pid: u32,
}

#[derive(Default)]
struct MsgVisitor {
    msg: String,
    extra: String,
}

impl Visit for MsgVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.msg.push_str(value);
        } else {
            let _ = write!(self.extra, " {}={}", field.name(), value);
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.msg, "{value:?}");
        } else {
            let _ = write!(self.extra, " {}={:?}", field.name(), value);
        }
    }
}

fn severity(l: &Level) -> u8 {
    match *l {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

/// Ident for a tracing target, like keepalived's process names.
pub fn ident(target: &str) -> &'static str {
    if target == "vrrp" {
        "Keepalived_vrrp"
    } else if target == "check" {
        "Keepalived_healthcheckers"
    } else {
        "Keepalived"
    }
}

impl<S: Subscriber> Layer<S> for KeelLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut v = MsgVisitor::default();
        event.record(&mut v);
        let meta = event.metadata();
        let id = ident(meta.target());
        let text = format!("{}{}", v.msg, v.extra);
        if self.console {
            let line = format!("{} {}[{}]: {}\n", timestamp_utc(), id, self.pid, text);
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
        if let Some(sock) = &self.syslog {
            let pri = u32::from(self.facility) * 8 + u32::from(severity(meta.level()));
            let line = format!("<{pri}>{} {}[{}]: {}", syslog_time(), id, self.pid, text);
            if let Ok(s) = sock.lock()
                && s.send(line.as_bytes()).is_err()
            {
                SYSLOG_DROPPED.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Install the global subscriber. Falls back to stderr when `/dev/log` is
/// not there, so messages are never silently lost.
pub fn init(o: LogOptions) {
    let syslog = if o.syslog {
        UnixDatagram::unbound()
            .and_then(|s| s.connect("/dev/log").map(|()| s))
            .and_then(|s| s.set_nonblocking(true).map(|()| s))
            .ok()
            .map(Mutex::new)
    } else {
        None
    };
    let console = o.console || syslog.is_none();
    let layer = KeelLayer {
        console,
        syslog,
        facility: o.facility,
        pid: std::process::id(),
    };
    let level = if o.detail { Level::DEBUG } else { Level::INFO };
    let filter = tracing_subscriber::filter::Targets::new()
        .with_target("vrrp", level)
        .with_target("check", level)
        .with_target("keeld", level)
        .with_default(Level::WARN);
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .try_init();
}

/// `2026-11-26T11:44:22.123456Z` from the system clock.
pub fn timestamp_utc() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let (y, mo, da, h, mi, s) = civil(d.as_secs());
    format!(
        "{y:04}-{mo:02}-{da:02}T{h:02}:{mi:02}:{s:02}.{:06}Z",
        d.subsec_micros()
    )
}

fn syslog_time() -> String {
    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let (_, mo, da, h, mi, s) = civil(d.as_secs());
    let m = MON
        .get((mo as usize).wrapping_sub(1))
        .copied()
        .unwrap_or("Jan");
    format!("{m} {da:>2} {h:02}:{mi:02}:{s:02}")
}

/// (year, month, day, hour, min, sec) of a Unix time (UTC), Howard Hinnant's
/// days-to-civil algorithm.
fn civil(secs: u64) -> (i64, u32, u32, u32, u32, u32) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        ((rem % 3600) / 60) as u32,
        (rem % 60) as u32,
    )
}

/// At most one line per kind per `window` (one second in the daemon).
/// `check` says whether to log now and how many were suppressed since the
/// last line of that kind.
#[derive(Debug)]
pub struct RateLimit {
    window: Duration,
    kinds: HashMap<String, (Instant, u64)>,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self::new(Duration::from_secs(1))
    }
}

impl RateLimit {
    /// A limiter with the given window.
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            kinds: HashMap::new(),
        }
    }

    /// `Some(suppressed)` when a line of `kind` may be logged at `now`
    /// (with the number of lines dropped since the previous one), `None`
    /// when it must be dropped.
    pub fn check(&mut self, kind: &str, now: Instant) -> Option<u64> {
        match self.kinds.get_mut(kind) {
            Some((last, dropped)) => {
                if now.saturating_duration_since(*last) >= self.window {
                    *last = now;
                    let d = *dropped;
                    *dropped = 0;
                    Some(d)
                } else {
                    *dropped += 1;
                    None
                }
            }
            None => {
                self.kinds.insert(kind.to_owned(), (now, 0));
                Some(0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        // 2026-11-26 11:44:22 UTC
        assert_eq!(civil(1_795_693_462), (2026, 11, 26, 11, 44, 22));
        // leap day 2024-02-29 12:00:00
        assert_eq!(civil(1_709_208_000), (2024, 2, 29, 12, 0, 0));
    }

    #[test]
    fn rate_limit_one_per_kind_per_window() {
        let mut r = RateLimit::new(Duration::from_secs(1));
        let t0 = Instant::now();
        assert_eq!(r.check("auth", t0), Some(0));
        assert_eq!(r.check("auth", t0 + Duration::from_millis(10)), None);
        assert_eq!(r.check("auth", t0 + Duration::from_millis(999)), None);
        // another kind is independent
        assert_eq!(r.check("ttl", t0 + Duration::from_millis(20)), Some(0));
        assert_eq!(r.check("auth", t0 + Duration::from_millis(1000)), Some(2));
        assert_eq!(r.check("auth", t0 + Duration::from_millis(1500)), None);
    }

    #[test]
    fn idents() {
        assert_eq!(ident("vrrp"), "Keepalived_vrrp");
        assert_eq!(ident("keeld"), "Keepalived");
    }
}
