//! keeld's wiring of keel-director: the configuration's `virtual_server` blocks and
//! `lvs_sync_daemon` go to a [`keel_director::DriverHandle`]; its reports become
//! keepalived's log lines and its scripts run through keeld's script runner.
//!
//! [`Roles`] selects keepalived's halves: `-P` runs no checker (only a sync daemon
//! tied to an instance), `-C` runs the checkers without VRRP ([`only`]: no instances,
//! so only a sync daemon written without one, as in keepalived). The services keel
//! created are kept in a file next to the status socket (`*.ipvs`), so that a later
//! run removes those no longer configured.
use std::path::{Path, PathBuf};
use std::time::Duration;

use keel_conf::model as conf;
use keel_director::{
    AddressSource, DirectorSpec, DriverHandle, DriverOptions, Event, Level, Report,
};
use keel_election::State;
use tokio::sync::mpsc;
use tracing::{error, info, warn};

pub use keel_director::{Roles, VirtualServerStatus, render};

/// The director of one keeld: started when the configuration has something for it.
#[derive(Debug)]
pub struct Director {
    roles: Roles,
    owned_file: Option<PathBuf>,
    handle: Option<DriverHandle>,
    /// Every instance's last state (instances may report before the director starts).
    states: Vec<(String, State)>,
}

impl Director {
    /// A director for `roles`; `status_socket` names its file of owned services.
    pub fn new(roles: Roles, status_socket: &Path) -> Self {
        Director {
            roles,
            owned_file: roles.checkers.then(|| status_socket.with_extension("ipvs")),
            handle: None,
            states: Vec::new(),
        }
    }

    fn spec(&self, cfg: &conf::Config) -> DirectorSpec {
        let (spec, skipped) = DirectorSpec::from_config_for(cfg, self.roles);
        for s in skipped {
            info!(target: "check", "{s}");
        }
        spec
    }

    /// Start the driver when the configuration has virtual servers or a sync daemon.
    /// Must be called from within the daemon's tokio runtime.
    pub fn start(&mut self, cfg: &conf::Config) {
        let spec = self.spec(cfg);
        if spec.is_empty() || self.handle.is_some() {
            return;
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let mut opts = DriverOptions::new().addresses(AddressSource::Netlink);
        if let Some(f) = &self.owned_file {
            opts = opts.owned_file(f);
        }
        let h = DriverHandle::spawn(spec, opts, tx);
        for (name, st) in &self.states {
            h.vrrp_state(name, *st);
        }
        tokio::spawn(log_reports(rx));
        self.handle = Some(h);
    }

    /// SIGHUP: the new configuration (starts the driver if the old one had nothing).
    pub fn reload(&mut self, cfg: &conf::Config) {
        match &self.handle {
            Some(h) => h.reload(self.spec(cfg)),
            None => self.start(cfg),
        }
    }

    /// A VRRP instance changed state (drives `lvs_sync_daemon`).
    pub fn vrrp_state(&mut self, instance: &str, state: State) {
        match self.states.iter_mut().find(|(n, _)| n == instance) {
            Some(e) => e.1 = state,
            None => self.states.push((instance.to_owned(), state)),
        }
        if let Some(h) = &self.handle {
            h.vrrp_state(instance, state);
        }
    }

    /// Stop the checks, remove what keel added to IPVS and stop the sync daemon.
    pub async fn shutdown(&self) {
        if let Some(h) = &self.handle {
            h.shutdown().await;
            // The last reports are logged by log_reports; give it a turn.
            tokio::task::yield_now().await;
        }
    }

    /// The virtual servers' status (empty without virtual servers).
    pub fn status(&self) -> Vec<VirtualServerStatus> {
        self.handle.as_ref().map(|h| h.status()).unwrap_or_default()
    }
}

async fn log_reports(mut rx: mpsc::UnboundedReceiver<Report>) {
    while let Some(r) = rx.recv().await {
        match r {
            Report::Event(Event::RunScript(s)) => run_script(s),
            Report::Event(e) => {
                if let Some(l) = e.log_line() {
                    info!(target: "check", "{l}");
                }
            }
            Report::Programmed(p) => {
                for l in p.to_string().lines() {
                    info!(target: "check", "{l}");
                }
            }
            r => match r.level() {
                Level::Info => info!("{r}"),
                Level::Warning => warn!("{r}"),
                _ => error!("{r}"),
            },
        }
    }
}

fn run_script(s: keel_director::Script) {
    let Ok(cmd) = keel_script::Line::parse(&s.command) else {
        warn!("cannot parse script {:?}", s.command);
        return;
    };
    // Its own user, else keepalived_script when it exists (load refused unknown
    // users: script::user_diagnostics).
    let run_as = match &s.user {
        Some(u) => keel_script::User::lookup(u, s.group.as_deref()).map(Some),
        None => keel_script::DefaultUser::resolve(None, false).map(|d| d.user().cloned()),
    };
    let run_as = match run_as {
        Ok(u) => u,
        Err(e) => {
            warn!("script {:?} not run: {e}", s.command);
            return;
        }
    };
    tokio::spawn(async move {
        let spec = keel_script::Spec::new(cmd, run_as, Duration::from_secs(10));
        let out = keel_script::run(&spec, &[]).await;
        if !out.ok() {
            warn!("script {:?} failed: {out}", s.command);
        }
    });
}

pub mod only;

#[cfg(test)]
#[test]
fn only_the_checkers_keep_a_file_of_owned_services() {
    let sock = Path::new("/run/keeld.sock");
    let owned = |r| Director::new(r, sock).owned_file;
    let want = Some(PathBuf::from("/run/keeld.ipvs"));
    assert_eq!(owned(Roles::BOTH), want);
    assert_eq!(owned(Roles::new(false, true)), None);
}
