//! The node's typed input: what an embedder builds by hand (or gets from a
//! keepalived.conf with the `conf` feature): one [`InstanceSpec`] per VRRP
//! instance, one [`ScriptSpec`] per tracked script, together a [`NodeSpec`].
use keel_election::{InstanceConfig, TrackId};
use keel_script::{Line, User};
use keel_vip::Vip;
use std::time::Duration;

/// Track ids of scripts start here (interfaces use their ifindex).
pub const SCRIPT_TRACK_BASE: u32 = 1 << 24;

/// A notify script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyScript {
    /// Parsed command line.
    pub cmd: Line,
    /// The line as written (for logs and the security check).
    pub line: String,
    /// User to run as (`None`: as the node's process).
    pub run_as: Option<User>,
}

/// Notify scripts of one instance. Boxed: most instances have none, and an
/// unboxed `NotifyScript` is 72 bytes per slot in each of 5,000 instances.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notifies {
    /// `notify` (gets `INSTANCE name STATE prio`).
    pub generic: Option<Box<NotifyScript>>,
    /// `notify_master`.
    pub master: Option<Box<NotifyScript>>,
    /// `notify_backup`.
    pub backup: Option<Box<NotifyScript>>,
    /// `notify_fault`.
    pub fault: Option<Box<NotifyScript>>,
    /// `notify_stop`.
    pub stop: Option<Box<NotifyScript>>,
}

/// A tracked interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedIf {
    /// Election track id.
    pub id: TrackId,
    /// Interface index.
    pub ifindex: u32,
    /// Name.
    pub name: String,
    /// `reverse`: up counts as down.
    pub reverse: bool,
}

/// A tracked script (by vrrp_script name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedScript {
    /// Election track id.
    pub id: TrackId,
    /// vrrp_script name.
    pub script: String,
    /// `reverse`.
    pub reverse: bool,
}

/// One vrrp_instance ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InstanceSpec {
    /// Instance name.
    pub name: String,
    /// Interface name.
    pub ifname: String,
    /// Interface index.
    pub ifindex: u32,
    /// IPv6 instance.
    pub v6: bool,
    /// The state machine's configuration.
    pub election: InstanceConfig,
    /// VIPs with their interfaces.
    pub vips: Vec<(Vip, String)>,
    /// Tracked interfaces.
    pub track_ifs: Vec<TrackedIf>,
    /// Tracked scripts.
    pub track_scripts: Vec<TrackedScript>,
    /// Notify scripts.
    pub notify: Notifies,
    /// `vrrp_sync_group` this instance belongs to: (name, members).
    pub sync_group: Option<(String, Vec<String>)>,
    /// `virtual_routes`, added after the VIPs on becoming master.
    pub routes: Vec<keel_vip::VirtualRoute>,
}

/// One vrrp_script ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScriptSpec {
    /// Name.
    pub name: String,
    /// The line.
    pub line: String,
    /// Parsed.
    pub cmd: Line,
    /// Period.
    pub interval: Duration,
    /// Timeout per run.
    pub timeout: Duration,
    /// rise.
    pub rise: u32,
    /// fall.
    pub fall: u32,
    /// init_fail.
    pub init_fail: bool,
    /// User (`None`: as the node's process).
    pub run_as: Option<User>,
    /// Refused by enable_script_security: never run.
    pub disabled: bool,
}

/// Everything the runtime needs from a configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeSpec {
    /// Instances that can run.
    pub instances: Vec<InstanceSpec>,
    /// Scripts.
    pub scripts: Vec<ScriptSpec>,
    /// `enable_script_security`.
    pub script_security: bool,
    /// Problems that keep an instance or script from running (logged).
    pub problems: Vec<String>,
    /// Non-fatal notes (logged).
    pub notes: Vec<String>,
}

impl InstanceSpec {
    /// An instance on interface `ifname` (index `ifindex`) running
    /// `election`, with no VIPs, tracks, notify scripts or routes yet. The
    /// address family follows `election.primary_addr`.
    pub fn new(ifname: &str, ifindex: u32, election: InstanceConfig) -> InstanceSpec {
        InstanceSpec {
            name: election.name.clone(),
            ifname: ifname.to_owned(),
            ifindex,
            v6: election.primary_addr.is_ipv6(),
            election,
            vips: Vec::new(),
            track_ifs: Vec::new(),
            track_scripts: Vec::new(),
            notify: Notifies::default(),
            sync_group: None,
            routes: Vec::new(),
        }
    }

    /// Add a VIP on `dev` (the election's address list follows).
    #[must_use]
    pub fn with_vip(mut self, vip: Vip, dev: &str) -> InstanceSpec {
        if !self.election.vips.contains(&vip.addr) {
            self.election.vips.push(vip.addr);
        }
        self.vips.push((vip, dev.to_owned()));
        self
    }
}

impl ScriptSpec {
    /// A tracking script run every `interval` (timeout: the interval),
    /// rise 1, fall 1.
    pub fn new(name: &str, cmd: Line, interval: Duration) -> ScriptSpec {
        ScriptSpec {
            name: name.to_owned(),
            line: cmd.argv().join(" "),
            cmd,
            interval,
            timeout: interval,
            rise: 1,
            fall: 1,
            init_fail: false,
            run_as: None,
            disabled: false,
        }
    }
}

impl NodeSpec {
    /// A node running `instances`.
    pub fn new(instances: Vec<InstanceSpec>) -> NodeSpec {
        NodeSpec {
            instances,
            ..NodeSpec::default()
        }
    }
}
