//! What a node reports: events as data. `Display` gives keepalived's wording
//! (what keeld logs); [`Event::level`] and [`Event::rate_key`] say how loud
//! and which events a log should rate-limit together.
use crate::script::Outcome;
use keel_election::{LogEvent, LogKind, LogLevel, State};
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

/// How loud an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Level {
    /// Normal operation.
    Info,
    /// Something unexpected from outside (a bad packet, a late timer).
    Warning,
    /// Something the node could not do.
    Error,
}

/// One thing that happened in a node.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// The election core's own report (keepalived's protocol log lines).
    Election(LogEvent),
    /// An instance changed state.
    StateChanged {
        /// Instance name.
        instance: String,
        /// Previous state.
        from: State,
        /// New state.
        to: State,
    },
    /// A received packet was dropped and counted under `kind`.
    Dropped {
        /// Instance name.
        instance: String,
        /// Counter name (`ttl`, `auth`, `vrid`, `source`, ...; see [`keel_packet::Error::counter_name`]).
        kind: &'static str,
        /// Sender, when the IP header could be read.
        from: Option<IpAddr>,
        /// Why, in keepalived's words where it has some.
        detail: String,
    },
    /// A received packet no instance has (its VRID is nobody's, or its IP
    /// header was malformed) was dropped and counted once on the socket
    /// ([`crate::Node::unmatched_dropped`]).
    DroppedUnmatched {
        /// Interface name of the socket.
        ifname: String,
        /// Counter name, as for [`Event::Dropped`].
        kind: &'static str,
        /// Sender, when the IP header could be read.
        from: Option<IpAddr>,
        /// Why.
        detail: String,
    },
    /// An instance timer was handled later than the warning threshold.
    TimerLate {
        /// How late.
        late: Duration,
    },
    /// A VIP could not be added or removed.
    VipFailed {
        /// Instance name.
        instance: String,
        /// True when adding.
        add: bool,
        /// The address.
        addr: IpAddr,
        /// The error.
        error: String,
    },
    /// A virtual route could not be added or removed.
    RouteFailed {
        /// Instance name.
        instance: String,
        /// True when adding.
        add: bool,
        /// Destination.
        dst: IpAddr,
        /// Prefix length.
        prefix_len: u8,
        /// The error.
        error: String,
    },
    /// A gratuitous ARP / unsolicited NA burst was queued for a VIP.
    GratuitousQueued {
        /// Instance name.
        instance: String,
        /// IPv6 (neighbour adverts) or IPv4 (ARPs).
        v6: bool,
        /// Interface name.
        dev: String,
        /// The VIP.
        addr: IpAddr,
    },
    /// One gratuitous ARP / unsolicited NA was sent.
    Announced {
        /// Interface name.
        dev: String,
        /// The VIP.
        addr: IpAddr,
    },
    /// A gratuitous ARP / NA could not be sent.
    AnnounceFailed {
        /// Instance name.
        instance: String,
        /// The VIP.
        addr: IpAddr,
        /// The error.
        error: String,
    },
    /// An advert could not be encoded.
    AdvertFailed {
        /// Instance name.
        instance: String,
        /// The error.
        error: String,
    },
    /// An advert could not be sent (reported by the driver).
    SendFailed {
        /// Instance name.
        instance: String,
        /// Destination.
        dst: IpAddr,
        /// The error.
        error: String,
    },
    /// The instance's VRRP socket could not be opened: the instance does not run.
    SocketFailed {
        /// Instance name.
        instance: String,
        /// Interface name.
        ifname: String,
        /// The error.
        error: String,
    },
    /// The election refused the instance's configuration: it does not run.
    InvalidInstance {
        /// Instance name.
        instance: String,
        /// The error.
        error: String,
    },
    /// The interface an instance runs on went up or down.
    Link {
        /// Interface name.
        ifname: String,
        /// Up and running.
        up: bool,
    },
    /// A reload changed this instance's configuration (its state is kept).
    Updated {
        /// Instance name.
        instance: String,
    },
    /// A reload removed this instance: it resigns.
    Removed {
        /// Instance name.
        instance: String,
    },
    /// A VIP stamped by an earlier run was removed at start.
    StaleVipRemoved {
        /// The address.
        addr: IpAddr,
        /// Prefix length.
        prefix_len: u8,
        /// Interface index.
        ifindex: u32,
    },
    /// Cleaning up stale VIPs failed.
    StaleVipFailed {
        /// What failed, with the error.
        error: String,
    },
    /// A tracking script overran its timeout.
    ScriptTimedOut {
        /// Script name.
        script: String,
    },
    /// A tracking script changed result.
    ScriptChanged {
        /// Script name.
        script: String,
        /// New result.
        up: bool,
        /// The run that decided it.
        outcome: Outcome,
    },
    /// The driver could not do something (watch links, arm its timer).
    Failed {
        /// What, with the error.
        error: String,
    },
    /// A notify script failed (reported by the driver).
    NotifyFailed {
        /// The script line.
        line: String,
        /// How it ended.
        outcome: Outcome,
    },
}

impl Event {
    /// How loud the event is.
    pub fn level(&self) -> Level {
        match self {
            Event::Election(e) if e.level() == LogLevel::Warning => Level::Warning,
            Event::Dropped { .. }
            | Event::DroppedUnmatched { .. }
            | Event::TimerLate { .. }
            | Event::AnnounceFailed { .. }
            | Event::SendFailed { .. }
            | Event::StaleVipRemoved { .. }
            | Event::ScriptTimedOut { .. }
            | Event::NotifyFailed { .. } => Level::Warning,
            Event::VipFailed { .. }
            | Event::RouteFailed { .. }
            | Event::AdvertFailed { .. }
            | Event::SocketFailed { .. }
            | Event::InvalidInstance { .. }
            | Event::Failed { .. } => Level::Error,
            Event::StaleVipFailed { .. } => Level::Warning,
            _ => Level::Info,
        }
    }

    /// Warnings that may repeat at packet rate share a key: a log keeps at
    /// most one line per key per second (keeld does). `None`: log every one.
    pub fn rate_key(&self) -> Option<String> {
        match self {
            // Warnings, and what any advert may cause (a forged flood of
            // priority-0 or lower-priority adverts must not flood the log).
            Event::Election(e)
                if e.level() == LogLevel::Warning
                    || matches!(
                        e.kind,
                        LogKind::MasterReceivedZero
                            | LogKind::MasterReceivedLower { .. }
                            | LogKind::BackupReceivedZero
                            | LogKind::DiscardLower { .. }
                    ) =>
            {
                Some(format!(
                    "{}:{:?}",
                    e.instance,
                    std::mem::discriminant(&e.kind)
                ))
            }
            Event::Dropped { instance, kind, .. } => Some(format!("{instance}:{kind}")),
            Event::DroppedUnmatched { ifname, kind, .. } => Some(format!("{ifname}:*:{kind}")),
            Event::TimerLate { .. } => Some("timer-late".into()),
            Event::AnnounceFailed { instance, .. } => Some(format!("{instance}:garp")),
            Event::SendFailed { instance, .. } => Some(format!("{instance}:send")),
            _ => None,
        }
    }

    /// True for events of the VRRP side (keepalived logs them as
    /// `Keepalived_vrrp`); false for process-level ones.
    pub fn is_vrrp(&self) -> bool {
        !matches!(self, Event::StaleVipFailed { .. } | Event::Failed { .. })
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Election(e) => write!(f, "{e}"),
            Event::StateChanged { instance, from, to } => {
                write!(f, "({instance}) {} -> {}", from.as_str(), to.as_str())
            }
            Event::Dropped {
                instance,
                from,
                detail,
                ..
            } => {
                let from = from.map(|a| format!(" from {a}")).unwrap_or_default();
                write!(f, "({instance}) dropped advert{from}: {detail}")
            }
            Event::DroppedUnmatched {
                ifname,
                from,
                detail,
                ..
            } => {
                let from = from.map(|a| format!(" from {a}")).unwrap_or_default();
                write!(f, "({ifname}) dropped advert{from}: {detail}")
            }
            Event::TimerLate { late } => write!(
                f,
                "timer fired {:.1} ms late (scheduling delay; may cause false failovers)",
                late.as_secs_f64() * 1000.0
            ),
            Event::VipFailed {
                instance,
                add,
                addr,
                error,
            } => write!(
                f,
                "({instance}) cannot {} VIP {addr}: {error}",
                if *add { "add" } else { "remove" }
            ),
            Event::RouteFailed {
                instance,
                add,
                dst,
                prefix_len,
                error,
            } => write!(
                f,
                "({instance}) cannot {} virtual route {dst}/{prefix_len}: {error}",
                if *add { "add" } else { "remove" }
            ),
            Event::GratuitousQueued {
                instance,
                v6,
                dev,
                addr,
            } => {
                let what = if *v6 {
                    "Unsolicited Neighbour Adverts"
                } else {
                    "gratuitous ARPs"
                };
                write!(
                    f,
                    "({instance}) Sending/queueing {what} on {dev} for {addr}"
                )
            }
            Event::Announced { dev, addr } => match addr {
                IpAddr::V4(a) => write!(f, "Sending gratuitous ARP on {dev} for {a}"),
                IpAddr::V6(a) => write!(f, "Sending unsolicited Neighbour Advert on {dev} for {a}"),
            },
            Event::AnnounceFailed {
                instance,
                addr,
                error,
            } => write!(
                f,
                "({instance}) cannot send gratuitous message for {addr}: {error}"
            ),
            Event::AdvertFailed { instance, error } => {
                write!(f, "({instance}) cannot build advert: {error}")
            }
            Event::SendFailed {
                instance,
                dst,
                error,
            } => write!(f, "({instance}) cannot send advert to {dst}: {error}"),
            Event::SocketFailed {
                instance,
                ifname,
                error,
            } => write!(
                f,
                "({instance}) cannot open VRRP socket on {ifname}: {error}"
            ),
            Event::InvalidInstance { instance, error } => write!(f, "({instance}) {error}"),
            Event::Link { ifname, up } => write!(
                f,
                "Netlink reports {ifname} {}",
                if *up { "up" } else { "down" }
            ),
            Event::Updated { instance } => {
                write!(f, "({instance}) configuration changed: updating")
            }
            Event::Removed { instance } => {
                write!(f, "({instance}) removed from the configuration: stopping")
            }
            Event::StaleVipRemoved {
                addr,
                prefix_len,
                ifindex,
            } => write!(
                f,
                "Removed stale VIP {addr}/{prefix_len} (ifindex {ifindex}) left by a previous keel run"
            ),
            Event::StaleVipFailed { error } | Event::Failed { error } => write!(f, "{error}"),
            Event::ScriptTimedOut { script } => write!(f, "Script `{script}` timed out"),
            Event::ScriptChanged {
                script, up: true, ..
            } => write!(f, "VRRP_Script({script}) succeeded"),
            Event::ScriptChanged {
                script, outcome, ..
            } => write!(f, "VRRP_Script({script}) failed ({outcome})"),
            Event::NotifyFailed { line, outcome } => {
                write!(f, "notify script '{line}' {outcome}")
            }
        }
    }
}
