//! What the machine asks its driver to do.

use crate::State;
use core::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// Where an advert goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dest {
    /// 224.0.0.18 / ff02::12.
    Multicast,
    /// A configured unicast peer.
    Unicast(IpAddr),
}

/// Why a state transition happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// `Startup` input (to Backup, or to Master for the owner).
    Startup,
    /// `Shutdown` input (to Initialize).
    Shutdown,
    /// Master_Down_Timer expired (no advert, a priority-0 advert, or we preempted).
    MasterDown,
    /// An advert with a higher priority (or equal priority and higher address) arrived while Master.
    HigherPriority,
    /// A fault condition appeared: link down, weight-0 tracker down, or sync-group fault.
    Fault,
    /// All fault conditions cleared.
    FaultCleared,
    /// Moved by its sync group.
    SyncGroup,
    /// Restarted by a `Reload` that changed the router's identity.
    Reload,
    /// A make-before-break handover finished (`Input::Handover`): Master → Backup.
    Handover,
}

/// keepalived's notify states (argument 3 of `notify` scripts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NotifyState {
    /// `MASTER`.
    Master,
    /// `BACKUP`.
    Backup,
    /// `FAULT`.
    Fault,
    /// `STOP` (the instance was shut down).
    Stop,
}

impl NotifyState {
    /// The word keepalived passes to notify scripts.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyState::Master => "MASTER",
            NotifyState::Backup => "BACKUP",
            NotifyState::Fault => "FAULT",
            NotifyState::Stop => "STOP",
        }
    }
}

/// A notification for scripts / FIFOs (`notify_master`, `notify` ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notify {
    /// Instance name.
    pub instance: Arc<str>,
    /// New state.
    pub state: NotifyState,
    /// Effective priority at the time.
    pub priority: u8,
}

/// An action for the driver. Drain them with `Instance::poll_action` after
/// every `handle`; their order is meaningful (advert before VIPs before
/// gratuitous ARP, as keepalived does).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send one advertisement with this priority (the rest of the packet comes
    /// from the configuration: vrid, version, interval, auth, VIPs).
    SendAdvert {
        /// Priority field (0 = we are leaving Master).
        priority: u8,
        /// Destination.
        dst: Dest,
    },
    /// Add the configured VIPs.
    AddVips,
    /// Remove the configured VIPs.
    RemoveVips,
    /// While Master, a `Reload` changed the VIP list: add / remove these.
    VipsChanged {
        /// Newly configured addresses.
        added: Vec<IpAddr>,
        /// Addresses no longer configured.
        removed: Vec<IpAddr>,
    },
    /// Send one burst of `repeat` gratuitous ARPs / unsolicited NAs per VIP,
    /// now, spaced by `delay` (keepalived's `garp_interval`; zero = back to back).
    /// The second burst after `garp_master_delay` and refresh bursts are
    /// separate actions emitted when their timers fire; leaving Master cancels them.
    SendGratuitous {
        /// Messages per VIP in this burst.
        repeat: u32,
        /// Spacing between the messages of the burst.
        delay: Duration,
    },
    /// The state changed.
    StateChanged {
        /// Previous state.
        from: State,
        /// New state.
        to: State,
        /// Why.
        reason: Reason,
    },
    /// Run notify scripts.
    Notify(Notify),
    /// A log line (Display gives keepalived's text).
    Log(LogEvent),
}

/// Severity of a log event (keepalived logs all of these at LOG_INFO).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Normal operation.
    Info,
    /// A peer or configuration problem.
    Warning,
}

/// A log event of one instance; `Display` gives keepalived 2.x's exact text
/// (without timestamp/ident prefix), e.g. `(VI_1) Entering MASTER STATE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEvent {
    /// Instance name.
    pub instance: Arc<str>,
    /// What happened.
    pub kind: LogKind,
}

/// The kinds of log events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogKind {
    /// `Entering BACKUP STATE` (with ` (init)` at startup).
    EnteringBackup {
        /// Entered from Initialize.
        init: bool,
    },
    /// `Entering MASTER STATE`.
    EnteringMaster,
    /// `Entering FAULT STATE`.
    EnteringFault,
    /// `Receive advertisement timeout`.
    ReceiveTimeout,
    /// `setting VIPs.`
    SettingVips,
    /// `removing VIPs.`
    RemovingVips,
    /// `sent 0 priority`.
    SentZeroPriority,
    /// `handing over: keeping VIPs until the new master advertises` (keel only).
    HandingOver,
    /// `Backup received priority 0 advertisement`.
    BackupReceivedZero,
    /// `Master received priority 0 message`.
    MasterReceivedZero,
    /// `received lower priority (P) advert from A - discarding`.
    DiscardLower {
        /// Sender.
        from: IpAddr,
        /// Its priority.
        priority: u8,
    },
    /// `Master received advert from A with higher priority P, ours O`.
    MasterReceivedHigher {
        /// Sender.
        from: IpAddr,
        /// Its priority.
        priority: u8,
        /// Ours.
        ours: u8,
    },
    /// `Master received advert from A with same priority P but higher IP address than ours`.
    MasterReceivedSameHigherAddr {
        /// Sender.
        from: IpAddr,
        /// The shared priority.
        priority: u8,
    },
    /// `Received advert from A with lower priority P, ours O, forcing new election`
    /// (without the last clause when `lower_prio_no_advert`).
    MasterReceivedLower {
        /// Sender.
        from: IpAddr,
        /// Its priority.
        priority: u8,
        /// Ours.
        ours: u8,
        /// Whether we answered with an advert.
        forcing: bool,
    },
    /// `Changing effective priority from A to B`.
    PriorityChange {
        /// Old effective priority.
        from: u8,
        /// New effective priority.
        to: u8,
    },
    /// `advertisement interval mismatch mine=M sec rcv'd=R sec` (v2; v3 in centiseconds).
    IntervalMismatch {
        /// Ours, cs.
        mine_cs: u16,
        /// Received, cs.
        received_cs: u16,
        /// Protocol version (selects the unit of the text).
        v3: bool,
    },
    /// `received an unexpected ip number count N, expected M!`
    AddrCountMismatch {
        /// Received.
        received: usize,
        /// Configured.
        expected: usize,
    },
    /// `ip address associated with VRID V not present in MASTER advert : A`
    AddrMissing {
        /// Our vrid.
        vrid: u8,
        /// A configured VIP missing from the advert.
        addr: IpAddr,
    },
    /// `received an invalid passwd! (from A)`: keepalived's line, plus the sender
    /// (a wrong password is either a misconfigured peer or someone guessing).
    InvalidPassword {
        /// The advert's IP source address.
        from: IpAddr,
    },
    /// `received a T auth, expecting E!`
    AuthTypeMismatch {
        /// Received auth type.
        received: u8,
        /// Configured auth type.
        expected: u8,
    },
    /// `Invalid auth type: T`
    InvalidAuthType(u8),
    /// `wrong version. Received R and expect E`
    WrongVersion {
        /// Received version.
        received: u8,
        /// Configured.
        expected: u8,
    },
}

impl LogEvent {
    /// Severity.
    pub fn level(&self) -> LogLevel {
        use LogKind::*;
        match self.kind {
            IntervalMismatch { .. }
            | AddrCountMismatch { .. }
            | AddrMissing { .. }
            | InvalidPassword { .. }
            | AuthTypeMismatch { .. }
            | InvalidAuthType(_)
            | WrongVersion { .. } => LogLevel::Warning,
            _ => LogLevel::Info,
        }
    }
}

impl fmt::Display for LogEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use LogKind::*;
        write!(f, "({}) ", self.instance)?;
        match &self.kind {
            EnteringBackup { init: true } => f.write_str("Entering BACKUP STATE (init)"),
            EnteringBackup { init: false } => f.write_str("Entering BACKUP STATE"),
            EnteringMaster => f.write_str("Entering MASTER STATE"),
            EnteringFault => f.write_str("Entering FAULT STATE"),
            ReceiveTimeout => f.write_str("Receive advertisement timeout"),
            SettingVips => f.write_str("setting VIPs."),
            RemovingVips => f.write_str("removing VIPs."),
            SentZeroPriority => f.write_str("sent 0 priority"),
            HandingOver => {
                f.write_str("handing over: keeping VIPs until the new master advertises")
            }
            BackupReceivedZero => f.write_str("Backup received priority 0 advertisement"),
            MasterReceivedZero => f.write_str("Master received priority 0 message"),
            DiscardLower { from, priority } => {
                write!(
                    f,
                    "received lower priority ({priority}) advert from {from} - discarding"
                )
            }
            MasterReceivedHigher {
                from,
                priority,
                ours,
            } => write!(
                f,
                "Master received advert from {from} with higher priority {priority}, ours {ours}"
            ),
            MasterReceivedSameHigherAddr { from, priority } => write!(
                f,
                "Master received advert from {from} with same priority {priority} but higher IP address than ours"
            ),
            MasterReceivedLower {
                from,
                priority,
                ours,
                forcing,
            } => write!(
                f,
                "Received advert from {from} with lower priority {priority}, ours {ours}{}",
                if *forcing {
                    ", forcing new election"
                } else {
                    ""
                }
            ),
            PriorityChange { from, to } => {
                write!(f, "Changing effective priority from {from} to {to}")
            }
            IntervalMismatch {
                mine_cs,
                received_cs,
                v3: false,
            } => write!(
                f,
                "advertisement interval mismatch mine={} sec rcv'd={} sec",
                mine_cs / 100,
                received_cs / 100
            ),
            IntervalMismatch {
                mine_cs,
                received_cs,
                v3: true,
            } => write!(
                f,
                "advertisement interval mismatch mine={}ms rcv'd={}ms",
                u32::from(*mine_cs) * 10,
                u32::from(*received_cs) * 10
            ),
            AddrCountMismatch { received, expected } => write!(
                f,
                "received an unexpected ip number count {received}, expected {expected}!"
            ),
            AddrMissing { vrid, addr } => write!(
                f,
                "ip address associated with VRID {vrid} not present in MASTER advert : {addr}"
            ),
            InvalidPassword { from } => write!(f, "received an invalid passwd! (from {from})"),
            AuthTypeMismatch { received, expected } => {
                write!(f, "received a {received} auth, expecting {expected}!")
            }
            InvalidAuthType(t) => write!(f, "Invalid auth type: {t}"),
            WrongVersion { received, expected } => {
                write!(
                    f,
                    "wrong version. Received {received} and expect {expected}"
                )
            }
        }
    }
}
