//! What to direct: plain data an embedder builds by hand (or from keepalived.conf
//! with the `conf` feature). The IPVS types are keel-ipvs's, the checks keel-check's.
use std::net::{IpAddr, SocketAddr};

use keel_check::RealServerCheck;
use keel_ipvs::{Forward, Persistence, Protocol, Scheduler, ServiceKey, SyncDaemon};

/// Everything one director runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DirectorSpec {
    /// The virtual servers.
    pub virtual_servers: Vec<VirtualServerSpec>,
    /// The connection sync daemon (`lvs_sync_daemon`), if any.
    pub sync_daemon: Option<SyncDaemonSpec>,
    /// Flush the whole IPVS table when the driver starts (`lvs_flush`).
    pub flush_at_start: bool,
}

impl DirectorSpec {
    /// A director for these virtual servers, without a sync daemon.
    pub fn new(virtual_servers: Vec<VirtualServerSpec>) -> Self {
        DirectorSpec {
            virtual_servers,
            sync_daemon: None,
            flush_at_start: false,
        }
    }

    /// Whether there is nothing to do (no virtual server, no sync daemon).
    pub fn is_empty(&self) -> bool {
        self.virtual_servers.is_empty() && self.sync_daemon.is_none()
    }
}

/// A script to run (notify_up/down, quorum_up/down): the embedder runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Script {
    /// The command line as written.
    pub command: String,
    /// Run as this user (`None`: as ourselves).
    pub user: Option<String>,
    /// With this group (`None`: the user's).
    pub group: Option<String>,
}

impl Script {
    /// A script run as ourselves.
    pub fn new(command: impl Into<String>) -> Self {
        Script {
            command: command.into(),
            user: None,
            group: None,
        }
    }
}

/// One virtual server: one IPVS service per entry of `services` (one for a plain
/// virtual server, one per member of a `virtual_server_group`), all with the same
/// real servers, health-checked once.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VirtualServerSpec {
    /// Its name in events and status (keepalived's `[192.0.2.250]:tcp:80`, `[group]:0`,
    /// `FWM 7`); also what identifies it across reloads.
    pub label: String,
    /// The IPVS services (never empty).
    pub services: Vec<ServiceKey>,
    /// The real servers' protocol, for their labels (`None`: fwmark, `none`).
    pub protocol: Option<Protocol>,
    /// Scheduler.
    pub scheduler: Scheduler,
    /// Persistence.
    pub persistence: Option<Persistence>,
    /// Forwarding method of every real server.
    pub forward: Forward,
    /// `quorum`: the sum of live weights needed (default 1).
    pub quorum: u32,
    /// `hysteresis` around the quorum.
    pub hysteresis: u32,
    /// `sorry_server`: in the table (weight 1) while the quorum is lost.
    pub sorry_server: Option<SocketAddr>,
    /// `sorry_server_inhibit`: keep the sorry server at weight 0 instead of removing it.
    pub sorry_server_inhibit: bool,
    /// `quorum_up` script.
    pub quorum_up: Option<Script>,
    /// `quorum_down` script.
    pub quorum_down: Option<Script>,
    /// `omega`: run notify_down / quorum_down at shutdown.
    pub omega: bool,
    /// `alpha` for health reported by the embedder ([`RealServerSpec::external`]):
    /// such a real server starts down.
    pub alpha: bool,
    /// `ha_suspend`: run the checks only while an address of `services` is local.
    pub ha_suspend: bool,
    /// The real servers.
    pub real_servers: Vec<RealServerSpec>,
    /// Announced over BGP by keel-anycast (active/active directors): with the
    /// `mh` scheduler the service gets `mh-fallback,mh-port`, and real servers
    /// stay in the table in one stable order (a dead one at weight 0), so that
    /// every director maps a flow to the same real server. Also needs
    /// `net.ipv4.vs.sloppy_tcp=1` ([`crate::enable_sloppy_tcp`]).
    pub anycast: bool,
}

impl VirtualServerSpec {
    /// A virtual server on one service with keepalived's defaults (scheduler wlc, quorum
    /// 1, no persistence); its label is keepalived's.
    pub fn new(service: ServiceKey, forward: Forward) -> Self {
        let (label, protocol) = match service {
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => (
                format!("[{addr}]:{}:{port}", check_proto(Some(protocol)).as_str()),
                Some(protocol),
            ),
            ServiceKey::Fwmark { mark, .. } => (format!("FWM {mark}"), None),
        };
        VirtualServerSpec {
            label,
            services: vec![service],
            protocol,
            scheduler: Scheduler::default(),
            persistence: None,
            forward,
            quorum: 1,
            hysteresis: 0,
            sorry_server: None,
            sorry_server_inhibit: false,
            quorum_up: None,
            quorum_down: None,
            omega: false,
            alpha: false,
            ha_suspend: false,
            real_servers: Vec::new(),
            anycast: false,
        }
    }

    /// Builder: add a real server.
    pub fn real_server(mut self, rs: RealServerSpec) -> Self {
        self.real_servers.push(rs);
        self
    }

    /// The addresses whose presence on this host enables `ha_suspend`'s checks.
    pub(crate) fn addrs(&self) -> Vec<IpAddr> {
        self.services
            .iter()
            .filter_map(|k| match k {
                ServiceKey::Addr { addr, .. } => Some(*addr),
                ServiceKey::Fwmark { .. } => None,
            })
            .collect()
    }
}

/// One real server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RealServerSpec {
    /// Address and port (with DR/TUN the kernel forwards to the service's port).
    pub addr: SocketAddr,
    /// Configured weight.
    pub weight: i32,
    /// `inhibit_on_failure`: a dead server stays in the table with weight 0.
    pub inhibit_on_failure: bool,
    /// `notify_up` script.
    pub notify_up: Option<Script>,
    /// `notify_down` script.
    pub notify_down: Option<Script>,
    /// keel-check checks the driver runs (their `id`, `proto` and `virtual_server`
    /// are assigned by the director).
    pub checks: Vec<RealServerCheck>,
    /// Health the embedder reports itself ([`crate::Director::verdict`] /
    /// [`crate::DriverHandle::verdict`]), on top of `checks`.
    pub external: bool,
}

impl RealServerSpec {
    /// A real server with weight 1 and no check (always alive).
    pub fn new(addr: SocketAddr) -> Self {
        RealServerSpec {
            addr,
            weight: 1,
            inhibit_on_failure: false,
            notify_up: None,
            notify_down: None,
            checks: Vec::new(),
            external: false,
        }
    }

    /// Builder: the weight.
    pub fn weight(mut self, w: i32) -> Self {
        self.weight = w;
        self
    }

    /// Builder: add a keel-check check.
    pub fn check(mut self, c: RealServerCheck) -> Self {
        self.checks.push(c);
        self
    }

    /// Builder: health is reported by the embedder.
    pub fn external(mut self) -> Self {
        self.external = true;
        self
    }
}

/// `lvs_sync_daemon`: the daemon (its `state` is set by the director) and the VRRP
/// instance that drives it (`None`: master and backup run together).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncDaemonSpec {
    /// Interface, sync id, maxlen, port, ttl, group.
    pub daemon: SyncDaemon,
    /// The instance whose state selects master or backup.
    pub vrrp_instance: Option<String>,
}

impl SyncDaemonSpec {
    /// A sync daemon driven by `vrrp_instance` (or by nothing).
    pub fn new(daemon: SyncDaemon, vrrp_instance: Option<String>) -> Self {
        SyncDaemonSpec {
            daemon,
            vrrp_instance,
        }
    }
}

/// keel-check's protocol for log labels (`tcp`, `udp`, `sctp`, `none`).
pub(crate) fn check_proto(p: Option<Protocol>) -> keel_check::Proto {
    match p {
        Some(Protocol::Tcp) => keel_check::Proto::Tcp,
        Some(Protocol::Udp) => keel_check::Proto::Udp,
        Some(Protocol::Sctp) => keel_check::Proto::Sctp,
        None => keel_check::Proto::None,
    }
}
