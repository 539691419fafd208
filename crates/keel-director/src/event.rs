//! What the director reports: events as data, whose `Display` is keepalived 2.2.7's
//! log line (`check/ipwrapper.c`, `check/check_api.c`).
use std::fmt;

use crate::spec::Script;
use keel_ipvs::SyncState;

/// What happened to a real server in the table (keepalived's `perform_svr_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerAction {
    /// Came up: added to the table.
    Added,
    /// Went down: removed from the table.
    Removed,
    /// Came up with `inhibit_on_failure`: its weight restored.
    Enabled,
    /// Went down with `inhibit_on_failure`: kept at weight 0.
    Disabled,
}

/// What happened to a check because of `ha_suspend` (`register_checkers_thread`,
/// `update_checker_activity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckerActivity {
    /// At start or when added, none of the virtual server's addresses is local.
    Deactivated,
    /// An address of the virtual server appeared.
    Activated,
    /// Its addresses are all gone.
    Suspended,
}

/// One event of the director.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A check's verdict (keel-check's text: `TCP_CHECK on service ... failed after 3
    /// retries.`; keepalived logs nothing for some, see [`Event::log_line`]).
    Check(keel_check::Transition),
    /// With `log_all_failures`: one failed attempt (keel-check's attempt line).
    AttemptFailed(String),
    /// The embedder reported a real server's health.
    Verdict {
        /// The real server's label.
        server: String,
        /// The virtual server's label.
        virtual_server: String,
        /// Up or down.
        up: bool,
    },
    /// A real server changed in the table.
    Server {
        /// What happened.
        action: ServerAction,
        /// The real server's label (`[192.0.2.12]:tcp:80`).
        server: String,
        /// The virtual server's label.
        virtual_server: String,
    },
    /// The quorum was gained or lost.
    Quorum {
        /// Gained (true) or lost.
        up: bool,
        /// `quorum`.
        quorum: u32,
        /// `hysteresis`.
        hysteresis: u32,
        /// The threshold crossed.
        threshold: i64,
        /// The live weight.
        weight: i64,
        /// The virtual server's label.
        virtual_server: String,
    },
    /// The sorry server went in (quorum lost) or out (quorum regained).
    SorryServer {
        /// In the table (true) or out.
        active: bool,
        /// `sorry_server_inhibit`: enabled/disabled rather than added/removed.
        inhibit: bool,
        /// The sorry server's label.
        server: String,
        /// The virtual server's label.
        virtual_server: String,
    },
    /// `ha_suspend` started or stopped a check.
    Checker {
        /// What happened.
        activity: CheckerActivity,
        /// The real server's label.
        server: String,
        /// The virtual server's label.
        virtual_server: String,
    },
    /// A virtual server was left out (the reason is the text).
    Skipped(String),
    /// `ha_suspend` on a virtual server with a fwmark: cleared.
    HaSuspendCleared {
        /// The virtual server's label.
        virtual_server: String,
    },
    /// Run this script (notify_up/down, quorum_up/down).
    RunScript(Script),
    /// Stop the master or backup connection sync daemon.
    StopSyncDaemon(SyncState),
    /// Start this connection sync daemon.
    StartSyncDaemon(keel_ipvs::SyncDaemon),
}

impl Event {
    /// The line to log, keepalived's: `None` for actions ([`Event::is_action`]) and for
    /// verdicts keepalived does not log (DNS_CHECK going up, FILE_CHECK).
    pub fn log_line(&self) -> Option<String> {
        match self {
            Event::Check(t) => t.reason.log_line(),
            e if e.is_action() => None,
            e => Some(e.to_string()),
        }
    }

    /// Whether this is an action for the driver or embedder (a script, a sync daemon)
    /// rather than something to log.
    pub fn is_action(&self) -> bool {
        matches!(
            self,
            Event::RunScript(_) | Event::StopSyncDaemon(_) | Event::StartSyncDaemon(_)
        )
    }
}

pub(crate) fn sync_role(s: SyncState) -> &'static str {
    match s {
        SyncState::Master => "master",
        SyncState::Backup => "backup",
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Check(t) => t.fmt(f),
            Event::AttemptFailed(l) | Event::Skipped(l) => f.write_str(l),
            Event::Verdict {
                server,
                virtual_server,
                up,
            } => write!(
                f,
                "Health of service {server} of VS {virtual_server} reported {}",
                if *up { "up" } else { "down" }
            ),
            // keepalived's "%sing service %s %s VS %s" (perform_svr_state).
            Event::Server {
                action,
                server,
                virtual_server,
            } => {
                let (verb, prep) = match action {
                    ServerAction::Added => ("Adding", "to"),
                    ServerAction::Removed => ("Removing", "from"),
                    ServerAction::Enabled => ("Enabling", "of"),
                    ServerAction::Disabled => ("Disabling", "of"),
                };
                write!(f, "{verb} service {server} {prep} VS {virtual_server}")
            }
            Event::Quorum {
                up: true,
                quorum,
                hysteresis,
                threshold,
                weight,
                virtual_server,
            } => write!(
                f,
                "Gained quorum {quorum}+{hysteresis}={threshold} <= {weight} for VS {virtual_server}"
            ),
            Event::Quorum {
                up: false,
                quorum,
                hysteresis,
                threshold,
                weight,
                virtual_server,
            } => write!(
                f,
                "Lost quorum {quorum}-{hysteresis}={threshold} > {weight} for VS {virtual_server}"
            ),
            Event::SorryServer {
                active,
                inhibit,
                server,
                virtual_server,
            } => {
                let (verb, prep) = match (active, inhibit) {
                    (true, false) => ("Adding", "to"),
                    (true, true) => ("Enabling", "to"),
                    (false, false) => ("Removing", "from"),
                    (false, true) => ("Disabling", "from"),
                };
                write!(f, "{verb} sorry server {server} {prep} VS {virtual_server}")
            }
            Event::Checker {
                activity,
                server,
                virtual_server,
            } => {
                let verb = match activity {
                    CheckerActivity::Deactivated => "Deactivating",
                    CheckerActivity::Activated => "Activating",
                    CheckerActivity::Suspended => "Suspending",
                };
                write!(
                    f,
                    "{verb} healthchecker for service {server} for VS {virtual_server}"
                )
            }
            Event::HaSuspendCleared { virtual_server } => write!(
                f,
                "Virtual server {virtual_server}: cannot use ha_suspend with fwmarks - clearing ha_suspend"
            ),
            Event::RunScript(s) => write!(f, "Running script {}", s.command),
            Event::StopSyncDaemon(s) => {
                write!(f, "Stopping the IPVS {} sync daemon", sync_role(*s))
            }
            Event::StartSyncDaemon(d) => write!(
                f,
                "Starting the IPVS {} sync daemon on {} (syncid {})",
                sync_role(d.state),
                d.interface,
                d.sync_id
            ),
        }
    }
}
