//! The IPVS side of the driver: the kernel (keel-ipvs) or an in-memory table.
use std::sync::{Arc, Mutex};

use keel_ipvs::reconcile::{self, Options, Plan, VirtualService};
use keel_ipvs::{DestEntry, Error, ServiceEntry, Stats, SyncDaemon, SyncState};

/// What the driver needs from IPVS. Implemented by [`keel_ipvs::Ipvs`] (the kernel)
/// and [`FakeIpvs`] (a table in memory, for tests and dry runs).
pub trait IpvsBackend: Send + std::fmt::Debug + 'static {
    /// Turn the table into `desired`, touching only services in `opts`; the plan applied.
    fn reconcile(&mut self, desired: &[VirtualService], opts: &Options) -> Result<Plan, Error>;
    /// The table with its counters.
    fn list(&mut self) -> Result<Vec<(ServiceEntry, Vec<DestEntry>)>, Error>;
    /// Delete every service.
    fn flush(&mut self) -> Result<(), Error>;
    /// Start a connection sync daemon.
    fn start_sync_daemon(&mut self, d: &SyncDaemon) -> Result<(), Error>;
    /// Stop one.
    fn stop_sync_daemon(&mut self, state: SyncState) -> Result<(), Error>;
}

impl IpvsBackend for keel_ipvs::Ipvs {
    fn reconcile(&mut self, desired: &[VirtualService], opts: &Options) -> Result<Plan, Error> {
        keel_ipvs::Ipvs::reconcile(self, desired, opts, false)
    }
    fn list(&mut self) -> Result<Vec<(ServiceEntry, Vec<DestEntry>)>, Error> {
        keel_ipvs::Ipvs::list(self)
    }
    fn flush(&mut self) -> Result<(), Error> {
        keel_ipvs::Ipvs::flush(self)
    }
    fn start_sync_daemon(&mut self, d: &SyncDaemon) -> Result<(), Error> {
        keel_ipvs::Ipvs::start_sync_daemon(self, d)
    }
    fn stop_sync_daemon(&mut self, state: SyncState) -> Result<(), Error> {
        keel_ipvs::Ipvs::stop_sync_daemon(self, state)
    }
}

/// What a [`FakeIpvs`] holds (shared with its clones).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FakeTable {
    /// The services and their destinations.
    pub services: Vec<VirtualService>,
    /// Every plan applied, in order.
    pub plans: Vec<Plan>,
    /// The sync daemons running.
    pub sync_daemons: Vec<SyncDaemon>,
}

/// An IPVS table in memory that applies plans as the kernel would. Clones share it.
#[derive(Debug, Default, Clone)]
pub struct FakeIpvs {
    table: Arc<Mutex<FakeTable>>,
}

impl FakeIpvs {
    /// An empty table.
    pub fn new() -> Self {
        FakeIpvs::default()
    }

    /// A table holding `services` (e.g. left by an earlier run).
    pub fn with(services: Vec<VirtualService>) -> Self {
        let f = FakeIpvs::default();
        f.lock().services = services;
        f
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FakeTable> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of the table now.
    pub fn snapshot(&self) -> FakeTable {
        self.lock().clone()
    }
}

impl IpvsBackend for FakeIpvs {
    fn reconcile(&mut self, desired: &[VirtualService], opts: &Options) -> Result<Plan, Error> {
        let mut t = self.lock();
        let p = reconcile::plan(desired, &t.services, opts);
        if !p.is_empty() {
            let keep: Vec<VirtualService> = t
                .services
                .iter()
                .filter(|s| {
                    !desired.iter().any(|d| d.service.key == s.service.key)
                        && !opts.all
                        && !opts.owned.contains(&s.service.key)
                })
                .cloned()
                .collect();
            t.services = keep.into_iter().chain(desired.iter().cloned()).collect();
            t.plans.push(p.clone());
        }
        Ok(p)
    }

    fn list(&mut self) -> Result<Vec<(ServiceEntry, Vec<DestEntry>)>, Error> {
        Ok(self
            .lock()
            .services
            .iter()
            .map(|v| {
                (
                    ServiceEntry {
                        service: v.service.clone(),
                        stats: Stats::default(),
                    },
                    v.dests
                        .iter()
                        .map(|d| DestEntry {
                            dest: d.clone(),
                            active_conns: 0,
                            inactive_conns: 0,
                            persist_conns: 0,
                            stats: Stats::default(),
                        })
                        .collect(),
                )
            })
            .collect())
    }

    fn flush(&mut self) -> Result<(), Error> {
        self.lock().services.clear();
        Ok(())
    }

    fn start_sync_daemon(&mut self, d: &SyncDaemon) -> Result<(), Error> {
        self.lock().sync_daemons.push(d.clone());
        Ok(())
    }

    fn stop_sync_daemon(&mut self, state: SyncState) -> Result<(), Error> {
        self.lock().sync_daemons.retain(|d| d.state != state);
        Ok(())
    }
}
