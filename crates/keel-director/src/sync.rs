//! `lvs_sync_daemon` following its VRRP instance (no I/O).
use std::collections::HashMap;

use keel_election::State;
use keel_ipvs::{SyncDaemon, SyncState};

use crate::event::Event;
use crate::spec::SyncDaemonSpec;

/// The connection sync daemon following its VRRP instance, like keepalived's VRRP
/// process (`vrrp_state_become_master` / `vrrp_state_leave_master`,
/// `reload_vrrp_thread`): the instance becomes MASTER → stop the backup daemon,
/// start the master one; it leaves MASTER (BACKUP or FAULT) → stop master, start
/// backup; it starts in BACKUP or FAULT → start backup. INIT (shutdown, removal)
/// changes nothing. Without an instance the master and the backup daemon run
/// together from start to shutdown, like keepalived's checker process (`start_check`,
/// `IPVS_MASTER_BACKUP`). A reload that changes the daemon's parameters restarts it;
/// shutdown stops what runs. Returns [`Event::StopSyncDaemon`] /
/// [`Event::StartSyncDaemon`].
#[derive(Debug, Default)]
pub(crate) struct SyncCtl {
    /// The configured daemon (role ignored) and the instance that drives it.
    conf: Option<SyncDaemonSpec>,
    /// Last MASTER/BACKUP/FAULT state reported per instance.
    states: HashMap<String, State>,
    /// What runs (as started by us).
    running: Vec<SyncDaemon>,
}

impl SyncCtl {
    pub(crate) fn configure(&mut self, spec: Option<&SyncDaemonSpec>) -> Vec<Event> {
        self.conf = spec.cloned();
        self.converge()
    }

    pub(crate) fn vrrp_state(&mut self, instance: &str, state: State) -> Vec<Event> {
        if state == State::Initialize {
            return Vec::new();
        }
        self.states.insert(instance.to_owned(), state);
        self.converge()
    }

    pub(crate) fn shutdown(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.running)
            .into_iter()
            .map(|r| Event::StopSyncDaemon(r.state))
            .collect()
    }

    pub(crate) fn start_failed(&mut self, state: SyncState) {
        self.running.retain(|r| r.state != state);
    }

    fn wanted(&self) -> Vec<SyncDaemon> {
        let Some(spec) = self.conf.as_ref() else {
            return Vec::new();
        };
        let roles = match spec.vrrp_instance.as_ref().map(|i| self.states.get(i)) {
            None => vec![SyncState::Master, SyncState::Backup],
            Some(Some(State::Master)) => vec![SyncState::Master],
            Some(Some(State::Backup | State::Fault)) => vec![SyncState::Backup],
            Some(_) => Vec::new(),
        };
        roles
            .into_iter()
            .map(|state| SyncDaemon {
                state,
                ..spec.daemon.clone()
            })
            .collect()
    }

    fn converge(&mut self) -> Vec<Event> {
        let want = self.wanted();
        if want == self.running {
            return Vec::new();
        }
        let mut ops = self.shutdown();
        ops.extend(want.iter().cloned().map(Event::StartSyncDaemon));
        self.running = want;
        ops
    }
}
