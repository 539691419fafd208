//! The driver: one tokio task owning the [`Director`] core, a keel-check
//! [`Checker`](keel_check::Checker), an IPVS backend and (for `ha_suspend`) a
//! keel-vip [`LinkWatcher`](keel_vip::LinkWatcher). Talk to it through a
//! [`DriverHandle`]; it reports through a channel of [`Report`]s.
use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keel_check::{Checker, CheckerOptions};
use keel_election::State;
use keel_ipvs::reconcile::{Options, Plan};
use keel_ipvs::{ServiceKey, SyncDaemon, SyncState};
use keel_vip::{LinkEvent, LinkWatcher};
use tokio::io::unix::AsyncFd;
use tokio::sync::{mpsc, oneshot};

use crate::backend::IpvsBackend;
use crate::core::{AddressEvent, Director, Verdict};
use crate::event::{Event, sync_role};
use crate::owned;
use crate::spec::DirectorSpec;
use crate::status::{VirtualServerStatus, add_counters};

/// Where the IPVS table lives.
#[derive(Debug)]
#[non_exhaustive]
pub enum IpvsSource {
    /// The kernel (keel-ipvs over generic netlink). Without the `ip_vs` module the
    /// driver reports [`DriverError::NoIpvs`] and keeps checking without a table.
    Kernel,
    /// Another backend (e.g. [`crate::FakeIpvs`]).
    Backend(Box<dyn IpvsBackend>),
}

/// Where `ha_suspend` learns the host's addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AddressSource {
    /// The driver's own rtnetlink address watch (keel-vip's `LinkWatcher`), opened
    /// while some virtual server has `ha_suspend`.
    Netlink,
    /// The embedder calls [`DriverHandle::address`].
    Embedder,
}

/// How the driver runs.
#[derive(Debug)]
#[non_exhaustive]
pub struct DriverOptions {
    /// The IPVS table.
    pub ipvs: IpvsSource,
    /// `ha_suspend`'s addresses.
    pub addresses: AddressSource,
    /// The checker's options.
    pub checker: CheckerOptions,
    /// Where to keep the services keel created, so that a later run removes those no
    /// longer configured (`None`: not kept).
    pub owned_file: Option<PathBuf>,
    /// How often the status's kernel counters are refreshed.
    pub counters_every: Duration,
}

impl Default for DriverOptions {
    fn default() -> Self {
        DriverOptions {
            ipvs: IpvsSource::Kernel,
            addresses: AddressSource::Netlink,
            checker: CheckerOptions::default(),
            owned_file: None,
            counters_every: Duration::from_secs(2),
        }
    }
}

impl DriverOptions {
    /// The kernel's IPVS, netlink addresses, default checker options.
    pub fn new() -> Self {
        DriverOptions::default()
    }

    /// Builder: the IPVS backend.
    pub fn ipvs(mut self, backend: impl IpvsBackend) -> Self {
        self.ipvs = IpvsSource::Backend(Box::new(backend));
        self
    }

    /// Builder: the address source.
    pub fn addresses(mut self, a: AddressSource) -> Self {
        self.addresses = a;
        self
    }

    /// Builder: the checker options.
    pub fn checker(mut self, c: CheckerOptions) -> Self {
        self.checker = c;
        self
    }

    /// Builder: the file of services keel created.
    pub fn owned_file(mut self, p: impl Into<PathBuf>) -> Self {
        self.owned_file = Some(p.into());
        self
    }
}

/// Why something the driver did failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriverError {
    /// IPVS cannot be opened: nothing is programmed.
    #[error("{source}; {}", if *.sync_only { "lvs_sync_daemon is not started" } else { "virtual_server blocks are not programmed" })]
    NoIpvs {
        /// Why.
        source: keel_ipvs::Error,
        /// Only a sync daemon was wanted.
        sync_only: bool,
    },
    /// `net.ipv4.vs.sloppy_tcp=1` (needed by announced virtual servers) failed.
    #[error("net.ipv4.vs.sloppy_tcp=1 for the announced virtual servers: {0}")]
    SloppyTcp(std::io::Error),
    /// `lvs_flush` failed.
    #[error("lvs_flush: {0}")]
    Flush(keel_ipvs::Error),
    /// Programming the table failed.
    #[error("IPVS reconcile failed: {0}")]
    Reconcile(keel_ipvs::Error),
    /// Removing keel's services at shutdown failed.
    #[error("cannot remove keel's IPVS services: {0}")]
    Cleanup(keel_ipvs::Error),
    /// Starting or syncing the checks failed.
    #[error("cannot start the health checks: {0}")]
    Checks(keel_check::Error),
    /// A sync daemon did not start.
    #[error("cannot start the IPVS {} sync daemon on {interface}: {source}", sync_role(*.state))]
    SyncStart {
        /// Master or backup.
        state: SyncState,
        /// Its interface.
        interface: String,
        /// Why.
        source: keel_ipvs::Error,
    },
    /// A sync daemon did not stop.
    #[error("cannot stop the IPVS {} sync daemon: {source}", sync_role(*.state))]
    SyncStop {
        /// Master or backup.
        state: SyncState,
        /// Why.
        source: keel_ipvs::Error,
    },
    /// The address watch failed (`ha_suspend` stays as it is).
    #[error("ha_suspend: cannot watch the local addresses: {0}")]
    Watch(keel_vip::Error),
    /// The file of owned services cannot be written.
    #[error("cannot write {path}: {source}")]
    OwnedFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// How serious a [`Report`] is (for the embedder's log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Level {
    /// Normal operation.
    Info,
    /// Something odd, handled.
    Warning,
    /// Something failed.
    Error,
}

/// What the driver reports.
#[derive(Debug)]
#[non_exhaustive]
pub enum Report {
    /// An event of the core. [`Event::RunScript`] is for the embedder to run; the
    /// sync daemon events are carried out by the driver (and reported below).
    Event(Event),
    /// A plan applied to the IPVS table (one line per operation).
    Programmed(Plan),
    /// `lvs_flush` emptied the table at start.
    Flushed,
    /// A sync daemon started.
    SyncStarted(SyncDaemon),
    /// A sync daemon stopped.
    SyncStopped(SyncState),
    /// One was already running (from an earlier run): it is restarted.
    SyncReplaced(SyncState),
    /// A reload changed the checks.
    ChecksReloaded {
        /// Started.
        added: usize,
        /// Restarted with new settings.
        changed: usize,
        /// Stopped.
        removed: usize,
        /// Left running.
        unchanged: usize,
    },
    /// At shutdown: the services keel added were removed (this many operations).
    Cleaned(usize),
    /// Something failed.
    Error(DriverError),
}

impl Report {
    /// How serious it is.
    pub fn level(&self) -> Level {
        match self {
            Report::SyncReplaced(_) | Report::Error(DriverError::SyncStop { .. }) => Level::Warning,
            Report::Error(_) => Level::Error,
            _ => Level::Info,
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Report::Event(e) => e.fmt(f),
            Report::Programmed(p) => f.write_str(p.to_string().trim_end()),
            Report::Flushed => f.write_str("Flushed the IPVS table (lvs_flush)"),
            Report::SyncStarted(d) => write!(
                f,
                "Started the IPVS {} sync daemon on {} (syncid {})",
                sync_role(d.state),
                d.interface,
                d.sync_id
            ),
            Report::SyncStopped(s) => write!(f, "Stopped the IPVS {} sync daemon", sync_role(*s)),
            Report::SyncReplaced(s) => write!(
                f,
                "an IPVS {} sync daemon was already running: restarting it",
                sync_role(*s)
            ),
            Report::ChecksReloaded {
                added,
                changed,
                removed,
                unchanged,
            } => write!(
                f,
                "Health checks reloaded: {added} added, {changed} changed, {removed} removed, {unchanged} unchanged"
            ),
            Report::Cleaned(n) => write!(f, "Removed {n} IPVS service(s) keel added"),
            Report::Error(e) => e.fmt(f),
        }
    }
}

#[derive(Debug)]
enum Cmd {
    Reload(Box<DirectorSpec>),
    VrrpState(String, State),
    Verdict(Verdict),
    Address(AddressEvent),
    Shutdown(oneshot::Sender<()>),
}

/// A running driver. Cheap to clone; every method is non-blocking except
/// [`DriverHandle::shutdown`].
#[derive(Debug, Clone)]
pub struct DriverHandle {
    tx: mpsc::UnboundedSender<Cmd>,
    status: Arc<Mutex<Vec<VirtualServerStatus>>>,
}

impl DriverHandle {
    /// Start a driver for `spec` on the current tokio runtime; it reports to `reports`
    /// (dropped reports are lost, the driver keeps going).
    ///
    /// # Panics
    /// Outside a tokio runtime (as `tokio::spawn`).
    pub fn spawn(
        spec: DirectorSpec,
        opts: DriverOptions,
        reports: mpsc::UnboundedSender<Report>,
    ) -> DriverHandle {
        let (tx, rx) = mpsc::unbounded_channel();
        let status = Arc::new(Mutex::new(Vec::new()));
        tokio::spawn(run(spec, opts, rx, reports, status.clone()));
        DriverHandle { tx, status }
    }

    /// A new spec (reload): the checks, table and sync daemon follow with the
    /// smallest change.
    pub fn reload(&self, spec: DirectorSpec) {
        let _ = self.tx.send(Cmd::Reload(Box::new(spec)));
    }

    /// A VRRP instance changed state (drives the sync daemon).
    pub fn vrrp_state(&self, instance: &str, state: State) {
        let _ = self.tx.send(Cmd::VrrpState(instance.to_owned(), state));
    }

    /// The embedder's health verdict for a real server with `external` health.
    pub fn verdict(&self, v: Verdict) {
        let _ = self.tx.send(Cmd::Verdict(v));
    }

    /// A local-address change ([`AddressSource::Embedder`]).
    pub fn address(&self, ev: AddressEvent) {
        let _ = self.tx.send(Cmd::Address(ev));
    }

    /// Stop: the checks end, `omega` scripts are reported, keel's services are removed
    /// and the sync daemons stopped. Waits up to 5 s.
    pub async fn shutdown(&self) {
        let (t, r) = oneshot::channel();
        if self.tx.send(Cmd::Shutdown(t)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(5), r).await;
        }
    }

    /// The virtual servers' status (as of the last change or counter refresh).
    pub fn status(&self) -> Vec<VirtualServerStatus> {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

struct Task {
    d: Director,
    ipvs: Option<Box<dyn IpvsBackend>>,
    checker: Checker,
    watch: Option<AsyncFd<LinkWatcher>>,
    addresses: AddressSource,
    owned_file: Option<PathBuf>,
    written: Option<BTreeSet<ServiceKey>>,
    reports: mpsc::UnboundedSender<Report>,
    status: Arc<Mutex<Vec<VirtualServerStatus>>>,
}

impl Task {
    fn report(&self, r: Report) {
        let _ = self.reports.send(r);
    }

    /// Report events, carrying out the sync daemon's.
    fn events(&mut self, evs: Vec<Event>) {
        for e in evs {
            match e {
                Event::StopSyncDaemon(st) => {
                    let Some(ipvs) = self.ipvs.as_mut() else {
                        continue;
                    };
                    let r = match ipvs.stop_sync_daemon(st) {
                        Ok(()) => Report::SyncStopped(st),
                        Err(source) => Report::Error(DriverError::SyncStop { state: st, source }),
                    };
                    self.report(r);
                }
                Event::StartSyncDaemon(d) => {
                    let Some(ipvs) = self.ipvs.as_mut() else {
                        continue;
                    };
                    let mut r = ipvs.start_sync_daemon(&d);
                    // EEXIST / EBUSY: one is left from an earlier run: replace it.
                    let errno = r.as_ref().err().and_then(keel_ipvs::Error::errno);
                    if errno == Some(keel_ipvs::Errno::EEXIST)
                        || errno == Some(keel_ipvs::Errno::EBUSY)
                    {
                        let _ = self.reports.send(Report::SyncReplaced(d.state));
                        let _ = ipvs.stop_sync_daemon(d.state);
                        r = ipvs.start_sync_daemon(&d);
                    }
                    match r {
                        Ok(()) => self.report(Report::SyncStarted(d)),
                        Err(source) => {
                            self.d.sync_start_failed(d.state);
                            self.report(Report::Error(DriverError::SyncStart {
                                state: d.state,
                                interface: d.interface.clone(),
                                source,
                            }));
                        }
                    }
                }
                e => self.report(Report::Event(e)),
            }
        }
    }

    fn reconcile(&mut self) {
        let Some(ipvs) = self.ipvs.as_mut() else {
            return;
        };
        let opts = Options {
            owned: self.d.owned().clone(),
            all: false,
        };
        let r = ipvs.reconcile(&self.d.desired(), &opts);
        match r {
            Ok(p) if !p.is_empty() => self.report(Report::Programmed(p)),
            Ok(_) => {}
            Err(e) => self.report(Report::Error(DriverError::Reconcile(e))),
        }
        self.write_owned();
    }

    /// Keep the services keel has in the table now (for a later run).
    fn write_owned(&mut self) {
        let Some(path) = self.owned_file.clone() else {
            return;
        };
        let now: BTreeSet<ServiceKey> = self.d.desired().iter().map(|v| v.service.key).collect();
        if self.written.as_ref() == Some(&now) {
            return;
        }
        match owned::write(&path, &now) {
            Ok(()) => self.written = Some(now),
            Err(source) => self.report(Report::Error(DriverError::OwnedFile { path, source })),
        }
    }

    fn sync_checks(&mut self, reload: bool) {
        match self.checker.sync(self.d.checks()) {
            Ok(s)
                if reload
                    && !(s.added.is_empty()
                        && s.replaced.is_empty()
                        && s.removed.is_empty()
                        && s.unchanged.is_empty()) =>
            {
                self.report(Report::ChecksReloaded {
                    added: s.added.len(),
                    changed: s.replaced.len(),
                    removed: s.removed.len(),
                    unchanged: s.unchanged.len(),
                })
            }
            Ok(_) => {}
            Err(e) => self.report(Report::Error(DriverError::Checks(e))),
        }
    }

    fn publish(&mut self) {
        let mut st = self.d.status(self.ipvs.is_some());
        if let Some(Ok(list)) = self.ipvs.as_mut().map(|i| i.list()) {
            add_counters(&mut st, self.d.services(), &list);
        }
        if let Ok(mut s) = self.status.lock() {
            *s = st;
        }
    }

    /// Open the address watch when `spec` needs it and feed the host's addresses.
    fn watch_for(&mut self, spec: &DirectorSpec) {
        let wanted = spec.virtual_servers.iter().any(|v| v.ha_suspend);
        if !wanted || self.addresses != AddressSource::Netlink {
            self.watch = None;
            return;
        }
        if self.watch.is_some() {
            return;
        }
        let mut w = match LinkWatcher::new() {
            Ok(w) => w,
            Err(e) => return self.report(Report::Error(DriverError::Watch(e))),
        };
        match w.resync() {
            Ok(ev) => {
                let evs = self.link_events(vec![ev]);
                self.events(evs);
            }
            Err(e) => return self.report(Report::Error(DriverError::Watch(e))),
        }
        // Deprecated for I/O safety (an fd closed or replaced while registered): the
        // watcher owns its netlink socket for its whole life and the AsyncFd owns the
        // watcher, so that cannot happen; the unsafe `register` would need an unsafe
        // module in this crate for nothing.
        #[allow(deprecated)]
        let w = AsyncFd::with_interest(w, tokio::io::Interest::READABLE);
        match w {
            Ok(w) => self.watch = Some(w),
            Err(e) => self.report(Report::Error(DriverError::Watch(keel_vip::Error::Io {
                op: keel_vip::Op::Watch,
                source: e,
            }))),
        }
    }

    fn link_events(&mut self, evs: Vec<LinkEvent>) -> Vec<Event> {
        let mut out = Vec::new();
        for ev in evs {
            let a = match ev {
                LinkEvent::AddressAdded(v) => AddressEvent::Added {
                    ifindex: v.ifindex,
                    addr: v.addr,
                },
                LinkEvent::AddressRemoved(v) => AddressEvent::Removed {
                    ifindex: v.ifindex,
                    addr: v.addr,
                },
                LinkEvent::Resynced { addresses, .. } => {
                    AddressEvent::Snapshot(addresses.iter().map(|v| (v.ifindex, v.addr)).collect())
                }
                _ => continue,
            };
            out.extend(self.d.address(&a));
        }
        out
    }

    /// After events that may have changed the table or the checks.
    fn settle(&mut self, evs: Vec<Event>, before: &[keel_ipvs::reconcile::VirtualService]) {
        let checks_changed = evs.iter().any(|e| matches!(e, Event::Checker { .. }));
        self.events(evs);
        if checks_changed {
            self.sync_checks(false);
        }
        if self.d.desired() != before {
            self.reconcile();
        }
        self.publish();
    }
}

async fn readable(w: &mut Option<AsyncFd<LinkWatcher>>) -> Result<Vec<LinkEvent>, keel_vip::Error> {
    let Some(w) = w.as_mut() else {
        return std::future::pending().await;
    };
    loop {
        let mut g = w
            .readable_mut()
            .await
            .map_err(|source| keel_vip::Error::Io {
                op: keel_vip::Op::Watch,
                source,
            })?;
        let evs = g.get_inner_mut().recv()?;
        g.clear_ready();
        if !evs.is_empty() {
            return Ok(evs);
        }
    }
}

async fn run(
    spec: DirectorSpec,
    opts: DriverOptions,
    mut rx: mpsc::UnboundedReceiver<Cmd>,
    reports: mpsc::UnboundedSender<Report>,
    status: Arc<Mutex<Vec<VirtualServerStatus>>>,
) {
    let ipvs: Option<Box<dyn IpvsBackend>> = match opts.ipvs {
        IpvsSource::Backend(b) => Some(b),
        IpvsSource::Kernel => match keel_ipvs::Ipvs::new() {
            Ok(i) => Some(Box::new(i)),
            Err(source) => {
                let _ = reports.send(Report::Error(DriverError::NoIpvs {
                    source,
                    sync_only: spec.virtual_servers.is_empty(),
                }));
                None
            }
        },
    };
    let (etx, mut erx) = mpsc::channel(1024);
    let mut t = Task {
        d: Director::new(),
        ipvs,
        checker: Checker::new(etx, opts.checker),
        watch: None,
        addresses: opts.addresses,
        owned_file: opts.owned_file,
        written: None,
        reports,
        status,
    };
    if let (true, Some(ipvs)) = (spec.flush_at_start, t.ipvs.as_mut()) {
        let r = match ipvs.flush() {
            Ok(()) => Report::Flushed,
            Err(e) => Report::Error(DriverError::Flush(e)),
        };
        t.report(r);
    }
    if t.ipvs.is_some() && spec.virtual_servers.iter().any(|v| v.anycast) {
        // A flow an ECMP router moves to this director mid-stream must be
        // scheduled here too, not reset by the local stack.
        if let Err(e) = enable_sloppy_tcp() {
            t.report(Report::Error(DriverError::SloppyTcp(e)));
        }
    }
    if let Some(path) = &t.owned_file {
        // Services an earlier run created: the first reconcile removes those no
        // longer configured.
        t.d.adopt(owned::read(path));
    }
    t.watch_for(&spec);
    let evs = t.d.configure(&spec);
    t.events(evs);
    t.reconcile();
    t.sync_checks(false);
    t.publish();
    let mut refresh = tokio::time::interval(opts.counters_every);
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = refresh.tick(), if t.ipvs.is_some() => t.publish(),
            r = readable(&mut t.watch) => match r {
                Ok(evs) => {
                    let before = t.d.desired();
                    let out = t.link_events(evs);
                    t.settle(out, &before);
                }
                Err(e) => {
                    t.watch = None;
                    t.report(Report::Error(DriverError::Watch(e)));
                }
            },
            Some(ev) = erx.recv() => {
                let before = t.d.desired();
                let mut out = t.d.check_event(&ev);
                // Drain what is already queued before touching the kernel.
                while let Ok(ev) = erx.try_recv() {
                    out.extend(t.d.check_event(&ev));
                }
                t.settle(out, &before);
            }
            cmd = rx.recv() => match cmd {
                Some(Cmd::Reload(spec)) => {
                    t.watch_for(&spec);
                    let evs = t.d.configure(&spec);
                    t.events(evs);
                    t.reconcile();
                    t.sync_checks(true);
                    t.publish();
                }
                Some(Cmd::VrrpState(name, st)) => {
                    let evs = t.d.vrrp_state(&name, st);
                    t.events(evs);
                }
                Some(Cmd::Verdict(v)) => {
                    let before = t.d.desired();
                    let out = t.d.verdict(&v);
                    t.settle(out, &before);
                }
                Some(Cmd::Address(a)) => {
                    let before = t.d.desired();
                    let out = t.d.address(&a);
                    t.settle(out, &before);
                }
                Some(Cmd::Shutdown(done)) => {
                    let evs = t.d.shutdown();
                    // Scripts first, then the table, then the sync daemons.
                    let (sync, other): (Vec<Event>, Vec<Event>) =
                        evs.into_iter().partition(|e| matches!(e, Event::StopSyncDaemon(_)));
                    t.events(other);
                    if let (Some(ipvs), false) = (t.ipvs.as_mut(), t.d.owned().is_empty()) {
                        let opts = Options { owned: t.d.owned().clone(), all: false };
                        let r = match ipvs.reconcile(&[], &opts) {
                            Ok(p) => Report::Cleaned(p.ops.len()),
                            Err(e) => Report::Error(DriverError::Cleanup(e)),
                        };
                        t.report(r);
                        if let Some(path) = &t.owned_file {
                            let _ = std::fs::remove_file(path);
                        }
                    }
                    t.events(sync);
                    t.checker.shutdown().await;
                    let _ = done.send(());
                    return;
                }
                None => return,
            },
        }
    }
}

/// Set `net.ipv4.vs.sloppy_tcp=1` in the caller's network namespace: IPVS
/// then schedules a TCP flow on any packet, not only on a SYN, so a flow an
/// ECMP router moves to this director (active/active, keel-anycast) reaches
/// the same real server instead of being reset by the local TCP stack.
pub fn enable_sloppy_tcp() -> std::io::Result<()> {
    std::fs::write("/proc/sys/net/ipv4/vs/sloppy_tcp", "1\n")
}
