//! The async runner: one lightweight tokio task per check.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};
use tokio_rustls::TlsConnector;

use crate::Error;
use crate::event::{Event, ProbeError, Reason, Transition, WeightChange, WeightOffset};
use crate::probe::{self, Failure, Success, TlsClient};
use crate::spec::{CheckId, CheckKind, CheckSpec, RealServerCheck};
use crate::state::{Next, Tracker, Verdict};
use crate::tcpset::TcpSet;
use crate::{dgram, file, smtp};

/// Options of a [`Checker`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckerOptions {
    /// Seed of the `warmup` randomness; `None` picks one from the clock. Set it in tests
    /// to get the same start delays every run.
    pub seed: Option<u64>,
    /// Fixed delay before a new check's first attempt, before the random warmup
    /// (keepalived: 1 s).
    pub bootstrap_delay: Duration,
    /// TCP_CHECK closes its connection with a RST (zero `SO_LINGER`) instead of
    /// keepalived's FIN: fewer packets and no TIME_WAIT socket per check on the director,
    /// at the price of a "connection reset" on the real server. Off by default.
    pub tcp_reset_on_close: bool,
    /// Run each TCP_CHECK in a task of its own, as the other checkers, instead of all of
    /// them in one task with its own epoll instance (the default). Costs more user time
    /// per check; kept to compare the two (`cargo xtask bench check`).
    pub tcp_task_per_check: bool,
}

impl Default for CheckerOptions {
    fn default() -> Self {
        CheckerOptions {
            seed: None,
            bootstrap_delay: Duration::from_secs(1),
            tcp_reset_on_close: false,
            tcp_task_per_check: false,
        }
    }
}

/// What [`Checker::sync`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncSummary {
    /// New ids, started.
    pub added: Vec<CheckId>,
    /// Ids whose configuration changed, restarted from scratch.
    pub replaced: Vec<CheckId>,
    /// Ids no longer wanted, stopped.
    pub removed: Vec<CheckId>,
    /// Ids with the same configuration, left running with their state.
    pub unchanged: Vec<CheckId>,
}

#[derive(Debug)]
struct Running {
    check: RealServerCheck,
    task: Task,
}

/// Where a check runs.
#[derive(Debug)]
enum Task {
    /// A task of its own.
    Own(JoinHandle<()>),
    /// In the checker's [`TcpSet`] (TCP_CHECK), under this key.
    Tcp(u64),
}

/// Runs health checks and reports [`Event`]s on a tokio mpsc channel.
///
/// Each check is one task on the current tokio runtime (current-thread runtimes work),
/// except TCP_CHECKs, which all run in one task with an epoll instance of its own (at
/// thousands of checks per second a task per check cost more user time than keepalived's
/// whole checker); there is no thread per check. Dropping the `Checker` aborts all checks;
/// [`Checker::shutdown`] also waits until they have stopped (which kills running
/// MISC_CHECK scripts).
#[derive(Debug)]
pub struct Checker {
    events: mpsc::Sender<Event>,
    options: CheckerOptions,
    rng: SplitMix64,
    checks: HashMap<CheckId, Running>,
    runtime: Option<tokio::runtime::Handle>,
    /// The TCP_CHECKs' task, started with the first one.
    tcp: Option<TcpSet>,
    next_key: u64,
}

impl Checker {
    /// A checker that sends its events to `events`. Starts nothing yet.
    pub fn new(events: mpsc::Sender<Event>, options: CheckerOptions) -> Self {
        let seed = options.seed.unwrap_or_else(|| {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0);
            t ^ (u64::from(std::process::id()) << 32)
        });
        Checker {
            events,
            options,
            rng: SplitMix64(seed),
            checks: HashMap::new(),
            runtime: None,
            tcp: None,
            next_key: 0,
        }
    }

    /// Like [`Checker::new`], but checks run on `runtime` (e.g. a current-thread runtime
    /// on a dedicated thread), and `add`/`replace`/`sync` may be called from anywhere.
    pub fn with_runtime(
        runtime: tokio::runtime::Handle,
        events: mpsc::Sender<Event>,
        options: CheckerOptions,
    ) -> Self {
        let mut checker = Checker::new(events, options);
        checker.runtime = Some(runtime);
        checker
    }

    /// Start a check. Must be called from within a tokio runtime (unless the checker was
    /// made [`with_runtime`](Checker::with_runtime)).
    ///
    /// The first attempt runs after `bootstrap_delay` plus a random part of `warmup`;
    /// that delay is returned.
    pub fn add(&mut self, check: RealServerCheck) -> Result<Duration, Error> {
        if self.checks.contains_key(&check.id) {
            return Err(Error::DuplicateId(check.id));
        }
        let (task, delay) = self.spawn(&check)?;
        self.checks.insert(check.id, Running { check, task });
        Ok(delay)
    }

    /// Stop a check. Returns whether it existed. Events it already queued stay queued.
    pub fn remove(&mut self, id: CheckId) -> bool {
        match self.checks.remove(&id) {
            Some(r) => {
                self.stop(&r.task);
                true
            }
            None => false,
        }
    }

    /// Replace a check (or add it): the old task stops, the new one starts fresh.
    /// Returns the delay before its first attempt.
    pub fn replace(&mut self, check: RealServerCheck) -> Result<Duration, Error> {
        let (task, delay) = self.spawn(&check)?;
        if let Some(old) = self.checks.insert(check.id, Running { check, task }) {
            self.stop(&old.task);
        }
        Ok(delay)
    }

    /// Make the running set equal to `checks` (a reload): unchanged checks keep running
    /// undisturbed, changed ones restart, missing ones stop, new ones start.
    ///
    /// All new checks are validated before anything changes; on error nothing changed.
    /// Events already queued by a replaced or removed check may still arrive after this
    /// returns; a replaced check's first verdict (always reported) follows them.
    pub fn sync(
        &mut self,
        checks: impl IntoIterator<Item = RealServerCheck>,
    ) -> Result<SyncSummary, Error> {
        let mut wanted: HashMap<CheckId, RealServerCheck> = HashMap::new();
        for c in checks {
            let id = c.id;
            if wanted.insert(id, c).is_some() {
                return Err(Error::DuplicateId(id));
            }
        }
        for c in wanted.values() {
            if self.checks.get(&c.id).is_none_or(|r| r.check != *c) {
                prepare(c, false)?;
            }
        }
        let mut summary = SyncSummary::default();
        let gone: Vec<CheckId> = self
            .checks
            .keys()
            .filter(|id| !wanted.contains_key(id))
            .copied()
            .collect();
        for id in gone {
            self.remove(id);
            summary.removed.push(id);
        }
        for (id, c) in wanted {
            match self.checks.get(&id) {
                Some(r) if r.check == c => summary.unchanged.push(id),
                Some(_) => {
                    let _ = self.replace(c)?;
                    summary.replaced.push(id);
                }
                None => {
                    let _ = self.add(c)?;
                    summary.added.push(id);
                }
            }
        }
        for v in [
            &mut summary.added,
            &mut summary.replaced,
            &mut summary.removed,
            &mut summary.unchanged,
        ] {
            v.sort();
        }
        Ok(summary)
    }

    /// The configuration of a running check.
    pub fn get(&self, id: CheckId) -> Option<&RealServerCheck> {
        self.checks.get(&id).map(|r| &r.check)
    }

    /// Ids of the running checks, in no particular order.
    pub fn ids(&self) -> impl Iterator<Item = CheckId> + '_ {
        self.checks.keys().copied()
    }

    /// Number of running checks.
    pub fn len(&self) -> usize {
        self.checks.len()
    }

    /// True when no check runs.
    pub fn is_empty(&self) -> bool {
        self.checks.is_empty()
    }

    /// Stop every check and wait until their tasks have ended.
    pub async fn shutdown(mut self) {
        let tasks: Vec<JoinHandle<()>> = self
            .checks
            .drain()
            .filter_map(|(_, r)| match r.task {
                Task::Own(t) => Some(t),
                Task::Tcp(_) => None,
            })
            .collect();
        for t in &tasks {
            t.abort();
        }
        for t in tasks {
            let _ = t.await;
        }
        if let Some(tcp) = self.tcp.take() {
            tcp.shutdown().await;
        }
    }

    fn stop(&self, task: &Task) {
        match task {
            Task::Own(t) => t.abort(),
            Task::Tcp(key) => {
                if let Some(tcp) = &self.tcp {
                    tcp.remove(*key);
                }
            }
        }
    }

    fn spawn(&mut self, check: &RealServerCheck) -> Result<(Task, Duration), Error> {
        let handle = match &self.runtime {
            Some(h) => h.clone(),
            None => tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?,
        };
        let ident = self.rng.next() as u16;
        let prepared = prepare_with(check, self.options.tcp_reset_on_close, ident)?;
        let warmup = check.effective_warmup();
        let jitter = if warmup.is_zero() || check.spec.kind() == CheckKind::File {
            Duration::ZERO
        } else {
            let nanos = u64::try_from(warmup.as_nanos()).unwrap_or(u64::MAX);
            Duration::from_nanos(self.rng.next() % nanos.saturating_add(1))
        };
        // keepalived knows a tracked file's state at start
        let delay = if check.spec.kind() == CheckKind::File {
            Duration::ZERO
        } else {
            self.options.bootstrap_delay.saturating_add(jitter)
        };
        let first = later(Instant::now(), delay);
        if check.spec.kind() == CheckKind::Tcp && !self.options.tcp_task_per_check {
            if self.tcp.is_none() {
                // Without an epoll instance (out of file descriptors) TCP_CHECKs fall
                // back to a task each.
                self.tcp = TcpSet::start(&handle, self.events.clone()).ok();
            }
            if let Some(tcp) = &self.tcp {
                self.next_key += 1;
                tcp.add(self.next_key, prepared, first);
                return Ok((Task::Tcp(self.next_key), delay));
            }
        }
        let events = self.events.clone();
        Ok((Task::Own(handle.spawn(run(prepared, events, first))), delay))
    }
}

impl Drop for Checker {
    fn drop(&mut self) {
        for r in self.checks.values() {
            if let Task::Own(t) = &r.task {
                t.abort();
            }
        }
        if let Some(tcp) = &self.tcp {
            tcp.abort();
        }
    }
}

/// A check with everything precomputed that does not change between attempts.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) check: RealServerCheck,
    pub(crate) retry: u32,
    pub(crate) delay_before_retry: Duration,
    server: String,
    tls: Option<TlsClient>,
    script: Option<keel_script::Spec>,
    pub(crate) tcp_reset: bool,
    /// DNS_CHECK's query name.
    dns_name: Option<hickory_proto::rr::Name>,
    /// First DNS id / ICMP identifier of this check (then counted up per attempt).
    ident: u16,
}

fn prepare(check: &RealServerCheck, tcp_reset: bool) -> Result<Arc<Prepared>, Error> {
    prepare_with(check, tcp_reset, 0)
}

fn prepare_with(
    check: &RealServerCheck,
    tcp_reset: bool,
    ident: u16,
) -> Result<Arc<Prepared>, Error> {
    check.validate()?;
    let (tls, script) = match &check.spec {
        CheckSpec::Ssl { tls, .. } => {
            let config = probe::tls_config(&tls.verify)?;
            let client = TlsClient {
                connector: TlsConnector::from(config),
                sni: tls.sni.clone(),
            };
            (Some(client), None)
        }
        CheckSpec::Misc(m) => {
            // keepalived: no (or a zero) misc_timeout means delay_loop
            let timeout = m.timeout.filter(|t| !t.is_zero());
            let line = m.line().ok_or(Error::EmptyMiscPath(check.id))?;
            let spec =
                keel_script::Spec::new(line, m.user.clone(), timeout.unwrap_or(check.delay_loop));
            (None, Some(spec))
        }
        _ => (None, None),
    };
    Ok(Arc::new(Prepared {
        retry: check.effective_retry(),
        delay_before_retry: check.effective_delay_before_retry(),
        server: check.server_label(),
        check: check.clone(),
        tls,
        script,
        tcp_reset,
        dns_name: match &check.spec {
            CheckSpec::Dns { dns, .. } => crate::spec::dns_name(&dns.name),
            _ => None,
        },
        ident,
    }))
}

/// One attempt. TCP_CHECK's future is small and awaited in place; the others (HTTP with
/// hyper and rustls is kilobytes) are boxed, so that the common large-scale case does not
/// build and move a future sized for the largest probe on every check.
async fn attempt(p: &Prepared, n: u16) -> Result<Success, Failure> {
    let c = &p.check;
    match &c.spec {
        CheckSpec::Tcp { conn } => probe::tcp(conn, c.target, p.tcp_reset).await,
        _ => Box::pin(attempt_other(p, n)).await,
    }
}

async fn attempt_other(p: &Prepared, n: u16) -> Result<Success, Failure> {
    let c = &p.check;
    match &c.spec {
        CheckSpec::Dns { conn, dns } => match &p.dns_name {
            Some(name) => dgram::dns(conn, dns, name, c.target, p.ident.wrapping_add(n)).await,
            None => Err(ProbeError::DnsMalformed.into()),
        },
        CheckSpec::Smtp { conn, smtp } => smtp::smtp(conn, smtp, c.target).await,
        CheckSpec::Udp { conn, udp } => dgram::udp(conn, udp, c.target).await,
        CheckSpec::Ping { conn } => dgram::ping(conn, c.target, p.ident, n).await,
        CheckSpec::File(f) => file::file(f).await,
        CheckSpec::Tcp { conn } => probe::tcp(conn, c.target, p.tcp_reset).await,
        CheckSpec::Http { conn, http } => probe::http(conn, http, None, c.target).await,
        CheckSpec::Ssl { conn, http, .. } => {
            probe::http(conn, http, p.tls.as_ref(), c.target).await
        }
        CheckSpec::Misc(m) => match &p.script {
            Some(s) => probe::misc(m, s).await,
            None => Err(crate::ProbeError::Spawn(std::io::ErrorKind::InvalidInput).into()),
        },
    }
}

async fn run(p: Arc<Prepared>, events: mpsc::Sender<Event>, first: Instant) {
    let c = &p.check;
    let kind = c.spec.kind();
    let dynamic = matches!(&c.spec, CheckSpec::Misc(m) if m.dynamic);
    let mut tracker = Tracker::new(p.retry, c.alpha);
    let mut weight: Option<u8> = None;
    let mut offset = 0i32;
    let mut at = first;
    let mut n: u16 = 0;
    if let CheckSpec::File(f) = &c.spec {
        file::init(f).await;
    }
    loop {
        sleep_until(at).await;
        let start = Instant::now();
        n = n.wrapping_add(1);
        let result = attempt(&p, n).await;
        let (verdict, next) = tracker.on_result(result.is_ok());
        if kind == CheckKind::File {
            // keepalived: a tracked file's value sets the offset; a fault clears it.
            let new = match &result {
                Ok(Success::File(o)) => *o,
                _ if tracker.is_up() => offset,
                _ => 0,
            };
            if new != offset {
                offset = new;
                let ev = Event::Offset(WeightOffset { id: c.id, offset });
                if events.send(ev).await.is_err() {
                    return;
                }
            }
        }
        if dynamic {
            // keepalived: a success sets the script's weight, a final failure resets it.
            let new = match (&result, verdict) {
                (Ok(Success::Misc(code)), _) => code.checked_sub(2),
                (Err(_), Some(v)) if !v.up => None,
                _ => weight,
            };
            if new != weight {
                weight = new;
                let ev = Event::Weight(WeightChange { id: c.id, weight });
                if events.send(ev).await.is_err() {
                    return;
                }
            }
        }
        if let Some(ev) = report(&p, &tracker, &result, verdict)
            && events.send(ev).await.is_err()
        {
            return;
        }
        let delay = match (&c.spec, next) {
            (CheckSpec::File(f), _) => f.poll,
            (_, Next::Loop) => c.delay_loop,
            (_, Next::Retry) => p.delay_before_retry,
        };
        // keepalived times MISC_CHECK from the start of the run, the others from the end.
        let base = if kind == CheckKind::Misc {
            start
        } else {
            Instant::now()
        };
        at = later(base, delay);
    }
}

/// The event an attempt's result makes, if any: a transition, or with
/// `log_all_failures` a retried failure of an up check.
pub(crate) fn report(
    p: &Prepared,
    tracker: &Tracker,
    result: &Result<Success, Failure>,
    verdict: Option<Verdict>,
) -> Option<Event> {
    let c = &p.check;
    // log_all_failures: a failed attempt of an up check that will be retried
    let retried = verdict.is_none() && result.is_err() && tracker.is_up();
    if verdict.is_none() && !(retried && c.log_all_failures) {
        return None;
    }
    let (error, url) = match result {
        Ok(Success::Http(u)) => (None, Some(u.clone())),
        Ok(_) => (None, None),
        Err(f) => (Some(f.error.clone()), f.url.clone()),
    };
    let reason = Reason {
        kind: c.spec.kind(),
        server: p.server.clone(),
        virtual_server: c.virtual_server.clone(),
        script: match &c.spec {
            CheckSpec::Misc(m) => m.path.split_whitespace().next().map(str::to_owned),
            _ => None,
        },
        url,
        error,
        retry: p.retry,
        first: verdict.is_some_and(|v| v.first),
    };
    Some(match verdict {
        Some(v) => Event::Transition(Transition {
            id: c.id,
            up: v.up,
            was_up: v.was_up,
            reason,
        }),
        None => Event::AttemptFailed { id: c.id, reason },
    })
}

/// `at + delay` without overflow (huge delays mean "far in the future").
pub(crate) fn later(at: Instant, delay: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(86_400 * 365 * 30);
    at.checked_add(delay.min(FAR)).unwrap_or(at)
}

/// A small deterministic PRNG (SplitMix64) for warmup delays.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A TCP_CHECK task stays small: the large probes are boxed (see [`attempt`]).
    #[test]
    fn tcp_check_futures_stay_small() {
        let c = RealServerCheck::new(
            crate::spec::CheckId(1),
            "127.0.0.1:80".parse().unwrap(),
            CheckSpec::tcp(),
        );
        let p = prepare(&c, false).unwrap();
        assert!(std::mem::size_of_val(&attempt(&p, 0)) < 1024);
        let (tx, _rx) = mpsc::channel(1);
        assert!(std::mem::size_of_val(&run(p, tx, Instant::now())) < 2048);
    }
}
