//! The typed configuration model.
//!
//! Every value carries keepalived's default when the keyword is absent. Every item keeps
//! the [`Span`] of the keyword that introduced it. Spans never take part in equality: two
//! models that say the same thing are equal wherever the text was written.

use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Where an item was written: file, 1-based line and column.
#[derive(Debug, Clone)]
pub struct Span {
    /// The file holding the text.
    pub file: Arc<Path>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column (characters).
    pub col: u32,
}

impl Default for Span {
    fn default() -> Self {
        static EMPTY: std::sync::OnceLock<Arc<Path>> = std::sync::OnceLock::new();
        Span {
            file: EMPTY.get_or_init(|| Arc::from(Path::new(""))).clone(),
            line: 0,
            col: 0,
        }
    }
}

impl PartialEq for Span {
    /// Always true: spans are not part of a model's meaning.
    fn eq(&self, _: &Span) -> bool {
        true
    }
}
impl Eq for Span {}

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// `global_defs`.
    pub global: GlobalDefs,
    /// `vrrp_instance` blocks, in file order.
    pub vrrp_instances: Vec<VrrpInstance>,
    /// `vrrp_sync_group` blocks.
    pub sync_groups: Vec<SyncGroup>,
    /// `vrrp_script` blocks.
    pub vrrp_scripts: Vec<VrrpScript>,
    /// `virtual_server` blocks.
    pub virtual_servers: Vec<VirtualServer>,
    /// `virtual_server_group` blocks.
    pub virtual_server_groups: Vec<VirtualServerGroup>,
    /// `track_file` blocks (used by FILE_CHECK).
    pub track_files: Vec<TrackFile>,
}

/// `track_file NAME { file PATH; weight W [reverse]; init_file [VALUE] [overwrite] }`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrackFile {
    /// The block's name.
    pub name: String,
    /// `file`.
    pub file: String,
    /// `weight` (default 1).
    pub weight: Option<i32>,
    /// `weight W reverse`.
    pub reverse: bool,
    /// `init_file [VALUE] [overwrite]`: `(VALUE, overwrite)`.
    pub init: Option<(i32, bool)>,
    /// Where the block was written.
    pub span: Span,
}

/// keel's `keel_stop_mode` (not a keepalived keyword): what SIGTERM does to
/// the instances that are master.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StopMode {
    /// keepalived's behaviour: a priority-0 advert and the VIPs removed at once.
    #[default]
    Resign,
    /// Make-before-break: priority 0, but the VIPs stay until the new master
    /// advertises (or Master_Down_Interval passes).
    Handover,
}

impl StopMode {
    /// The keyword's argument: `resign` or `handover`.
    pub fn as_str(self) -> &'static str {
        match self {
            StopMode::Resign => "resign",
            StopMode::Handover => "handover",
        }
    }
}

/// VRRP protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum VrrpVersion {
    /// RFC 3768 (keepalived's default).
    #[default]
    V2,
    /// RFC 5798.
    V3,
}

impl VrrpVersion {
    /// 2 or 3.
    pub fn number(self) -> u8 {
        match self {
            VrrpVersion::V2 => 2,
            VrrpVersion::V3 => 3,
        }
    }
}

/// A user (and optional group) scripts run as.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScriptUser {
    /// User name.
    pub user: String,
    /// Group name.
    pub group: Option<String>,
}

/// A script to run: the command text as written (keepalived splits it like a shell
/// would, honouring quotes) and an optional user/group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Script {
    /// Command line as one string (program and its arguments).
    pub command: String,
    /// Run-as user and group, when given after the command.
    pub user: Option<ScriptUser>,
    /// Where it was written.
    pub span: Span,
}

/// `smtp_server HOST [PORT]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SmtpServer {
    /// Host name or address.
    pub host: String,
    /// Port (default 25).
    pub port: u16,
}

/// `lvs_sync_daemon INTERFACE [VRRP_INSTANCE | inst VRRP_INSTANCE] [id ID] [maxlen LEN]
/// [port PORT] [ttl TTL] [group IP]` (keepalived 2.2.7's forms; also the old positional
/// `INTERFACE VRRP_INSTANCE SYNC_ID`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LvsSyncDaemon {
    /// Interface the sync daemon uses.
    pub interface: String,
    /// VRRP instance whose state drives master/backup. `None`: keepalived's checker
    /// runs the master and the backup daemon together.
    pub vrrp_instance: Option<String>,
    /// Sync id (default: the instance's VRID).
    pub id: Option<u8>,
    /// Maximum message length.
    pub maxlen: Option<u16>,
    /// UDP port.
    pub port: Option<u16>,
    /// Multicast TTL.
    pub ttl: Option<u8>,
    /// Multicast group.
    pub group: Option<IpAddr>,
    /// Where it was written.
    pub span: Span,
}

/// `lvs_timeouts [tcp T] [tcpfin T] [udp T]` (seconds).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LvsTimeouts {
    /// TCP session timeout.
    pub tcp: Option<Duration>,
    /// TCP session timeout after FIN.
    pub tcpfin: Option<Duration>,
    /// UDP timeout.
    pub udp: Option<Duration>,
}

/// `global_defs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalDefs {
    /// `router_id` (default: host name, resolved by the daemon).
    pub router_id: Option<String>,
    /// `vrrp_version` (default 2).
    pub vrrp_version: VrrpVersion,
    /// `script_user USER [GROUP]`.
    pub script_user: Option<ScriptUser>,
    /// `enable_script_security`.
    pub enable_script_security: bool,
    /// `vrrp_garp_master_delay` (default 5 s).
    pub vrrp_garp_master_delay: Duration,
    /// `vrrp_garp_master_repeat` (default 5).
    pub vrrp_garp_master_repeat: u32,
    /// `vrrp_garp_master_refresh` (default none).
    pub vrrp_garp_master_refresh: Option<Duration>,
    /// `vrrp_garp_master_refresh_repeat` (default 1).
    pub vrrp_garp_master_refresh_repeat: u32,
    /// `vrrp_garp_lower_prio_delay` (default: garp master delay).
    pub vrrp_garp_lower_prio_delay: Option<Duration>,
    /// `vrrp_garp_lower_prio_repeat` (default: garp master repeat).
    pub vrrp_garp_lower_prio_repeat: Option<u32>,
    /// `vrrp_garp_interval` (default 0).
    pub vrrp_garp_interval: Duration,
    /// `vrrp_gna_interval` (default 0).
    pub vrrp_gna_interval: Duration,
    /// `vrrp_min_garp`.
    pub vrrp_min_garp: bool,
    /// `vrrp_strict`.
    pub vrrp_strict: bool,
    /// `vrrp_skip_check_adv_addr`.
    pub vrrp_skip_check_adv_addr: bool,
    /// `vrrp_check_unicast_src`.
    pub vrrp_check_unicast_src: bool,
    /// `lvs_sync_daemon`.
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,
    /// `lvs_timeouts`.
    pub lvs_timeouts: LvsTimeouts,
    /// `lvs_flush`: flush the IPVS table at startup.
    pub lvs_flush: bool,
    /// `keel_stop_mode resign|handover` (a keel extension; keepalived logs it
    /// as an unknown keyword and goes on). `None` when not written.
    pub keel_stop_mode: Option<StopMode>,
    /// `keel_metrics_listen ADDR:PORT` (a keel extension): serve Prometheus
    /// metrics over HTTP there. `None` when not written (no listener).
    pub keel_metrics_listen: Option<std::net::SocketAddr>,
    /// `keel_anycast { speaker ... }` (a keel extension): the BGP speaker
    /// that announces the virtual servers marked `announce`.
    pub keel_anycast: Option<AnycastSpeaker>,
    /// `notification_email { ... }`.
    pub notification_email: Vec<String>,
    /// `notification_email_from`.
    pub notification_email_from: Option<String>,
    /// `smtp_server`.
    pub smtp_server: Option<SmtpServer>,
    /// `smtp_helo_name`.
    pub smtp_helo_name: Option<String>,
    /// `smtp_connect_timeout` (default 30 s).
    pub smtp_connect_timeout: Duration,
    /// `smtp_alert` (global default for every instance/server).
    pub smtp_alert: bool,
    /// `dynamic_interfaces`.
    pub dynamic_interfaces: bool,
    /// Where `global_defs` was written (default span when absent).
    pub span: Span,
}

impl Default for GlobalDefs {
    fn default() -> Self {
        GlobalDefs {
            router_id: None,
            vrrp_version: VrrpVersion::V2,
            script_user: None,
            enable_script_security: false,
            vrrp_garp_master_delay: Duration::from_secs(5),
            vrrp_garp_master_repeat: 5,
            vrrp_garp_master_refresh: None,
            vrrp_garp_master_refresh_repeat: 1,
            vrrp_garp_lower_prio_delay: None,
            vrrp_garp_lower_prio_repeat: None,
            vrrp_garp_interval: Duration::ZERO,
            vrrp_gna_interval: Duration::ZERO,
            vrrp_min_garp: false,
            vrrp_strict: false,
            vrrp_skip_check_adv_addr: false,
            vrrp_check_unicast_src: false,
            lvs_sync_daemon: None,
            lvs_timeouts: LvsTimeouts::default(),
            lvs_flush: false,
            keel_stop_mode: None,
            keel_metrics_listen: None,
            keel_anycast: None,
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_helo_name: None,
            smtp_connect_timeout: Duration::from_secs(30),
            smtp_alert: false,
            dynamic_interfaces: false,
            span: Span::default(),
        }
    }
}

// The VRRP instance's `state MASTER|BACKUP` hint is keel-election's type (the
// crate that runs the instance): one type in the whole workspace.
pub use keel_election::InitialState;

/// VRRPv2 authentication type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AuthType {
    /// Simple text password.
    #[default]
    Pass,
    /// IPSEC AH.
    Ah,
}

/// `authentication { auth_type ...; auth_pass ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Authentication {
    /// `auth_type`.
    pub auth_type: AuthType,
    /// `auth_pass`, truncated to 8 bytes as keepalived does (a warning says so).
    pub auth_pass: String,
    /// Where the block was written.
    pub span: Span,
}

// The address scope is keel-vip's type (the crate that puts addresses and
// routes in the kernel): one type in the whole workspace.
pub use keel_vip::Scope;

/// One line of `virtual_ipaddress` / `virtual_ipaddress_excluded`:
/// `ADDR[/PREFIX] [brd ADDR] [dev IFNAME] [scope SCOPE] [label LABEL] [no_track]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VirtualIp {
    /// Address.
    pub addr: Option<IpAddr>,
    /// Prefix length (default /32 or /128).
    pub prefix_len: u8,
    /// `brd`.
    pub brd: Option<Ipv4Addr>,
    /// `dev` (default: the instance's interface).
    pub dev: Option<String>,
    /// `scope`.
    pub scope: Scope,
    /// `label`.
    pub label: Option<String>,
    /// `no_track`.
    pub no_track: bool,
    /// Where it was written.
    pub span: Span,
}

impl VirtualIp {
    /// The address and prefix as a network value, when the address is set.
    pub fn net(&self) -> Option<IpNet> {
        self.addr.and_then(|a| IpNet::new(a, self.prefix_len).ok())
    }
}

/// One line of `virtual_routes`: `[src ADDR] DEST [via|gw ADDR] [dev IF] [scope S] [table T] [metric M]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VirtualRoute {
    /// Destination network (`default` is 0.0.0.0/0).
    pub dst: Option<IpNet>,
    /// `src`.
    pub src: Option<IpAddr>,
    /// `via` / `gw`.
    pub via: Option<IpAddr>,
    /// `dev`.
    pub dev: Option<String>,
    /// `scope`.
    pub scope: Option<Scope>,
    /// `table`.
    pub table: Option<u32>,
    /// `metric`.
    pub metric: Option<u32>,
    /// `blackhole` (the route type keyword before the destination).
    pub blackhole: bool,
    /// Where it was written.
    pub span: Span,
}

/// A `track_interface` entry: `IFNAME [weight W]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrackInterface {
    /// Interface name.
    pub name: String,
    /// Weight (none = the instance goes to FAULT when the interface is down).
    pub weight: Option<i32>,
    /// `weight W reverse`.
    pub reverse: bool,
    /// Where it was written.
    pub span: Span,
}

/// A `track_script` entry: `SCRIPT_NAME [weight W [reverse]]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrackScript {
    /// Name of a `vrrp_script`.
    pub name: String,
    /// Weight overriding the script's own.
    pub weight: Option<i32>,
    /// `reverse`.
    pub reverse: bool,
    /// Where it was written.
    pub span: Span,
}

/// Notification scripts of an instance or sync group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Notify {
    /// `notify` (called with TYPE NAME STATE PRIORITY).
    pub notify: Option<Script>,
    /// `notify_master`.
    pub master: Option<Script>,
    /// `notify_backup`.
    pub backup: Option<Script>,
    /// `notify_fault`.
    pub fault: Option<Script>,
    /// `notify_stop`.
    pub stop: Option<Script>,
}

/// `vrrp_instance NAME { ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VrrpInstance {
    /// Instance name.
    pub name: String,
    /// `state` (default BACKUP).
    pub state: InitialState,
    /// `interface`.
    pub interface: Option<String>,
    /// `virtual_router_id` (required; 0 when missing, with an error).
    pub virtual_router_id: u8,
    /// `priority` (default 100; 255 = address owner).
    pub priority: u8,
    /// `advert_int` (default 1 s).
    pub advert_int: Duration,
    /// `version` (default: `global_defs` `vrrp_version`).
    pub version: Option<VrrpVersion>,
    /// `authentication`.
    pub authentication: Option<Authentication>,
    /// `virtual_ipaddress`.
    pub virtual_ipaddress: Vec<VirtualIp>,
    /// `virtual_ipaddress_excluded`.
    pub virtual_ipaddress_excluded: Vec<VirtualIp>,
    /// `virtual_routes`.
    pub virtual_routes: Vec<VirtualRoute>,
    /// `unicast_src_ip`.
    pub unicast_src_ip: Option<IpAddr>,
    /// `unicast_peer { ... }`.
    pub unicast_peers: Vec<IpAddr>,
    /// `nopreempt`.
    pub nopreempt: bool,
    /// `preempt_delay` (default 0).
    pub preempt_delay: Duration,
    /// `track_interface { ... }`.
    pub track_interfaces: Vec<TrackInterface>,
    /// `track_script { ... }`.
    pub track_scripts: Vec<TrackScript>,
    /// `notify*` scripts.
    pub notify: Notify,
    /// `garp_master_delay` (default: `global_defs`).
    pub garp_master_delay: Option<Duration>,
    /// `garp_master_repeat` (default: `global_defs`).
    pub garp_master_repeat: Option<u32>,
    /// `garp_master_refresh` (default: `global_defs`).
    pub garp_master_refresh: Option<Duration>,
    /// `garp_master_refresh_repeat` (default: `global_defs`).
    pub garp_master_refresh_repeat: Option<u32>,
    /// `use_vmac [NAME] [MAC]`: `Some("")` means the default name `vrrp.VRID`.
    pub use_vmac: Option<String>,
    /// The MAC of `use_vmac NAME MAC` (a five-octet MAC takes the VRID as its last).
    pub use_vmac_addr: Option<[u8; 6]>,
    /// `vmac_xmit_base`.
    pub vmac_xmit_base: bool,
    /// `accept` (Some(true)) / `no_accept` (Some(false)); default: accept unless vrrp_strict.
    pub accept: Option<bool>,
    /// `dont_track_primary`.
    pub dont_track_primary: bool,
    /// `smtp_alert [BOOL]`.
    pub smtp_alert: Option<bool>,
    /// Where the block was written.
    pub span: Span,
}

impl Default for VrrpInstance {
    fn default() -> Self {
        VrrpInstance {
            name: String::new(),
            state: InitialState::Backup,
            interface: None,
            virtual_router_id: 0,
            priority: 100,
            advert_int: Duration::from_secs(1),
            version: None,
            authentication: None,
            virtual_ipaddress: Vec::new(),
            virtual_ipaddress_excluded: Vec::new(),
            virtual_routes: Vec::new(),
            unicast_src_ip: None,
            unicast_peers: Vec::new(),
            nopreempt: false,
            preempt_delay: Duration::ZERO,
            track_interfaces: Vec::new(),
            track_scripts: Vec::new(),
            notify: Notify::default(),
            garp_master_delay: None,
            garp_master_repeat: None,
            garp_master_refresh: None,
            garp_master_refresh_repeat: None,
            use_vmac: None,
            use_vmac_addr: None,
            vmac_xmit_base: false,
            accept: None,
            dont_track_primary: false,
            smtp_alert: None,
            span: Span::default(),
        }
    }
}

impl VrrpInstance {
    /// The version this instance speaks, given the global default.
    pub fn effective_version(&self, global: &GlobalDefs) -> VrrpVersion {
        self.version.unwrap_or(global.vrrp_version)
    }
}

/// `vrrp_sync_group NAME { group { ... } ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncGroup {
    /// Group name.
    pub name: String,
    /// Member instance names.
    pub group: Vec<String>,
    /// `notify*` scripts.
    pub notify: Notify,
    /// `track_interface`.
    pub track_interfaces: Vec<TrackInterface>,
    /// `track_script`.
    pub track_scripts: Vec<TrackScript>,
    /// `smtp_alert`.
    pub smtp_alert: Option<bool>,
    /// Where the block was written.
    pub span: Span,
}

/// `vrrp_script NAME { ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VrrpScript {
    /// Script name (referenced by `track_script`).
    pub name: String,
    /// `script` command line.
    pub script: String,
    /// `interval` (default 1 s).
    pub interval: Duration,
    /// `timeout` (default: the interval).
    pub timeout: Option<Duration>,
    /// `weight` (default 0), in -253..=253.
    pub weight: i32,
    /// `weight W reverse`.
    pub weight_reverse: bool,
    /// `rise` (default 1).
    pub rise: u32,
    /// `fall` (default 1).
    pub fall: u32,
    /// `user USER [GROUP]`.
    pub user: Option<ScriptUser>,
    /// `init_fail`.
    pub init_fail: bool,
    /// Where the block was written.
    pub span: Span,
}

impl Default for VrrpScript {
    fn default() -> Self {
        VrrpScript {
            name: String::new(),
            script: String::new(),
            interval: Duration::from_secs(1),
            timeout: None,
            weight: 0,
            weight_reverse: false,
            rise: 1,
            fall: 1,
            user: None,
            init_fail: false,
            span: Span::default(),
        }
    }
}

// The IPVS scheduler and protocol are keel-ipvs's (the crate that speaks to the
// kernel): one type each in the whole workspace.
pub use keel_ipvs::{Protocol, Scheduler};

// The forwarding method (`lb_kind` / `lvs_method`, with a tunnel's encapsulation
// and checksum options) is keel-ipvs's: `NAT` is `Forward::Masq`, `DR`
// `Forward::Route`, `TUN type KIND [port P] [csum]` `Forward::Tunnel`.
pub use keel_ipvs::{Forward, TunnelFlags, TunnelType};

/// How a virtual server is addressed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VsAddr {
    /// `virtual_server IP PORT`.
    Ip {
        /// Virtual address.
        addr: IpAddr,
        /// Port (0 = all ports, with persistence).
        port: u16,
    },
    /// `virtual_server fwmark N`.
    Fwmark(u32),
    /// `virtual_server group NAME`.
    Group(String),
}

impl Default for VsAddr {
    fn default() -> Self {
        VsAddr::Ip {
            addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: 0,
        }
    }
}

/// `sorry_server IP PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SorryServer {
    /// Address.
    pub addr: IpAddr,
    /// Port (0 when not given: keepalived then uses the virtual server's port, except
    /// for NAT).
    pub port: u16,
}

/// `virtual_server ... { ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualServer {
    /// Address, fwmark or group.
    pub addr: VsAddr,
    /// `delay_loop` (default 60 s): default check interval of its checkers.
    pub delay_loop: Duration,
    /// `lb_algo` / `lvs_sched` (default wlc).
    pub lb_algo: Scheduler,
    /// `lb_kind` / `lvs_method` with its tunnel options (default NAT, `Forward::Masq`).
    pub lb_kind: Forward,
    /// `persistence_timeout` (seconds; `persistence_timeout` without value = 360).
    pub persistence_timeout: Option<u32>,
    /// `persistence_granularity`: an IPv4 netmask, or for an IPv6 service a prefix
    /// length (1..128), held as the IPv6 netmask it stands for.
    pub persistence_granularity: Option<IpAddr>,
    /// `protocol` (default TCP).
    pub protocol: Protocol,
    /// `sorry_server`.
    pub sorry_server: Option<SorryServer>,
    /// `sorry_server_inhibit`.
    pub sorry_server_inhibit: bool,
    /// `alpha`.
    pub alpha: bool,
    /// `omega`.
    pub omega: bool,
    /// `quorum` (default 1).
    pub quorum: u32,
    /// `announce ...` (a keel extension): announce the virtual address over
    /// BGP through `keel_anycast` while healthy.
    pub announce: Option<Announce>,
    /// `hysteresis` (default 0).
    pub hysteresis: u32,
    /// `quorum_up` (boxed, like every per-server script, to keep large models small).
    pub quorum_up: Option<Box<Script>>,
    /// `quorum_down`.
    pub quorum_down: Option<Box<Script>>,
    /// `inhibit_on_failure` (default for its real servers).
    pub inhibit_on_failure: bool,
    /// `ha_suspend`.
    pub ha_suspend: bool,
    /// `virtualhost` (default for its HTTP/SSL checkers).
    pub virtualhost: Option<String>,
    /// `retry` (default for its checkers).
    pub retry: Option<u32>,
    /// `delay_before_retry` (default for its checkers).
    pub delay_before_retry: Option<Duration>,
    /// `connect_timeout` (default for its checkers).
    pub connect_timeout: Option<Duration>,
    /// `warmup` (default for its checkers).
    pub warmup: Option<Duration>,
    /// `real_server` blocks.
    pub real_servers: Vec<RealServer>,
    /// Where the block was written.
    pub span: Span,
}

impl Default for VirtualServer {
    fn default() -> Self {
        VirtualServer {
            addr: VsAddr::default(),
            delay_loop: Duration::from_secs(60),
            lb_algo: Scheduler::Wlc,
            lb_kind: Forward::Masq,
            persistence_timeout: None,
            persistence_granularity: None,
            protocol: Protocol::Tcp,
            sorry_server: None,
            sorry_server_inhibit: false,
            alpha: false,
            omega: false,
            quorum: 1,
            hysteresis: 0,
            announce: None,
            quorum_up: None,
            quorum_down: None,
            inhibit_on_failure: false,
            ha_suspend: false,
            virtualhost: None,
            retry: None,
            delay_before_retry: None,
            connect_timeout: None,
            warmup: None,
            real_servers: Vec::new(),
            span: Span::default(),
        }
    }
}

/// `real_server IP PORT { ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealServer {
    /// Address.
    pub addr: IpAddr,
    /// Port.
    pub port: u16,
    /// `weight` (default 1).
    pub weight: i32,
    /// `inhibit_on_failure` (default: the virtual server's).
    pub inhibit_on_failure: Option<bool>,
    /// `notify_up` (boxed to keep 40,000-server models small).
    pub notify_up: Option<Box<Script>>,
    /// `notify_down`.
    pub notify_down: Option<Box<Script>>,
    /// `smtp_alert`.
    pub smtp_alert: Option<bool>,
    /// `delay_loop` (default: the virtual server's).
    pub delay_loop: Option<Duration>,
    /// Health checkers.
    pub checkers: Vec<Checker>,
    /// Where the block was written.
    pub span: Span,
}

impl Default for RealServer {
    fn default() -> Self {
        RealServer {
            addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: 0,
            weight: 1,
            inhibit_on_failure: None,
            notify_up: None,
            notify_down: None,
            smtp_alert: None,
            delay_loop: None,
            checkers: Vec::new(),
            span: Span::default(),
        }
    }
}

/// One `url { ... }` of HTTP_GET / SSL_GET.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Url {
    /// `path`.
    pub path: String,
    /// `digest` (hex MD5 of the body).
    pub digest: Option<String>,
    /// `status_code` (ranges allowed, e.g. `200-299`); empty = 200..=299 is accepted.
    pub status_code: Vec<(u16, u16)>,
    /// `virtualhost` for this URL.
    pub virtualhost: Option<String>,
    /// `regex` ... (boxed: rare).
    pub regex: Option<Box<UrlRegex>>,
    /// Where the block was written.
    pub span: Span,
}

/// HTTP_GET / SSL_GET specifics.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpCheck {
    /// `url` blocks.
    pub urls: Vec<Url>,
    /// `virtualhost` (Host header).
    pub virtualhost: Option<String>,
    /// `enable_sni` (SSL_GET).
    pub enable_sni: bool,
    /// `http_protocol` as written (`1.0`, `1.0C`, `1.1`).
    pub http_protocol: Option<String>,
    /// `fast_recovery`.
    pub fast_recovery: bool,
}

/// `regex` and its companions in a `url` block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UrlRegex {
    /// `regex` pattern.
    pub pattern: String,
    /// `regex_no_match`.
    pub no_match: bool,
    /// `regex_options`.
    pub options: Vec<String>,
    /// `regex_min_offset`.
    pub min_offset: Option<u64>,
    /// `regex_max_offset`.
    pub max_offset: Option<u64>,
}

/// DNS_CHECK specifics.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DnsCheck {
    /// `type` as written (upper-cased; default SOA).
    pub qtype: Option<String>,
    /// `name` (default: the root).
    pub name: Option<String>,
}

/// SMTP_CHECK specifics (each `host` block became a checker of its own).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SmtpCheck {
    /// `helo_name`.
    pub helo_name: Option<String>,
}

/// UDP_CHECK specifics.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UdpCheck {
    /// `payload`, as written (hex).
    pub payload: Option<String>,
    /// `require_reply`; `Some(pattern)` where a hex pattern was given.
    pub require_reply: bool,
    /// `require_reply HEX`.
    pub reply: Option<String>,
    /// `min_reply_length`.
    pub min_reply_length: Option<u16>,
    /// `max_reply_length`.
    pub max_reply_length: Option<u16>,
}

/// FILE_CHECK specifics.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileCheck {
    /// `track_file NAME`.
    pub track_file: String,
    /// `weight W [reverse|noreverse]` (default: the track_file's).
    pub weight: Option<(i32, bool)>,
    /// The `track_file` block it names, resolved when the configuration was read.
    pub resolved: Option<TrackFile>,
}

/// MISC_CHECK specifics.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MiscCheck {
    /// `misc_path` command line.
    pub path: String,
    /// `misc_timeout`.
    pub timeout: Option<Duration>,
    /// `misc_dynamic`: exit status 2..255 sets the weight to status-2.
    pub dynamic: bool,
    /// `user USER [GROUP]`.
    pub user: Option<ScriptUser>,
}

/// Which kind of checker (the larger settings are boxed to keep large models small).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CheckKind {
    /// TCP_CHECK.
    #[default]
    Tcp,
    /// HTTP_GET.
    Http(Box<HttpCheck>),
    /// SSL_GET.
    Ssl(Box<HttpCheck>),
    /// MISC_CHECK.
    Misc(Box<MiscCheck>),
    /// DNS_CHECK.
    Dns(Box<DnsCheck>),
    /// SMTP_CHECK.
    Smtp(Box<SmtpCheck>),
    /// UDP_CHECK.
    Udp(Box<UdpCheck>),
    /// PING_CHECK.
    Ping,
    /// FILE_CHECK.
    File(Box<FileCheck>),
}

impl CheckKind {
    /// The block keyword: `TCP_CHECK`, `HTTP_GET`, `SSL_GET`, `MISC_CHECK`.
    pub fn keyword(&self) -> &'static str {
        match self {
            CheckKind::Tcp => "TCP_CHECK",
            CheckKind::Http(_) => "HTTP_GET",
            CheckKind::Ssl(_) => "SSL_GET",
            CheckKind::Misc(_) => "MISC_CHECK",
            CheckKind::Dns(_) => "DNS_CHECK",
            CheckKind::Smtp(_) => "SMTP_CHECK",
            CheckKind::Udp(_) => "UDP_CHECK",
            CheckKind::Ping => "PING_CHECK",
            CheckKind::File(_) => "FILE_CHECK",
        }
    }
}

/// A health checker of a real server. `None` fields inherit from the virtual server and
/// then from keepalived's defaults (see the `effective_*` methods).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Checker {
    /// Kind and kind-specific settings.
    pub kind: CheckKind,
    /// `connect_ip` (default: the real server's address).
    pub connect_ip: Option<IpAddr>,
    /// `connect_port` (default: the real server's port).
    pub connect_port: Option<u16>,
    /// `bindto`.
    pub bindto: Option<IpAddr>,
    /// `bind_port`.
    pub bind_port: Option<u16>,
    /// `connect_timeout` (default 5 s).
    pub connect_timeout: Option<Duration>,
    /// `retry` (alias `nb_get_retry`; default 1, MISC_CHECK 0).
    pub retry: Option<u32>,
    /// `delay_before_retry` (default 1 s, HTTP_GET/SSL_GET 3 s).
    pub delay_before_retry: Option<Duration>,
    /// `warmup`.
    pub warmup: Option<Duration>,
    /// `delay_loop` (default: the real server's, then the virtual server's).
    pub delay_loop: Option<Duration>,
    /// `fwmark` on the check's socket.
    pub fwmark: Option<u32>,
    /// Where the block was written.
    pub span: Span,
}

impl Checker {
    /// keepalived's default retry count for this kind (1; MISC_CHECK and FILE_CHECK 0,
    /// DNS_CHECK 3).
    pub fn default_retry(&self) -> u32 {
        match self.kind {
            CheckKind::Misc(_) | CheckKind::File(_) => 0,
            CheckKind::Dns(_) => 3,
            _ => 1,
        }
    }

    /// keepalived's default delay before retry for this kind (1 s, HTTP_GET/SSL_GET 3 s;
    /// DNS_CHECK's is its `delay_loop`, see [`Checker::effective_delay_before_retry_in`]).
    pub fn default_delay_before_retry(&self) -> Duration {
        match self.kind {
            CheckKind::Http(_) | CheckKind::Ssl(_) => Duration::from_secs(3),
            _ => Duration::from_secs(1),
        }
    }

    /// Delay before retry after applying defaults, DNS_CHECK's included (its default
    /// is the check's `delay_loop`).
    pub fn effective_delay_before_retry_in(&self, vs: &VirtualServer, rs: &RealServer) -> Duration {
        match (
            self.delay_before_retry.or(vs.delay_before_retry),
            &self.kind,
        ) {
            (Some(d), _) => d,
            (None, CheckKind::Dns(_)) => self.effective_delay_loop(vs, rs),
            (None, _) => self.default_delay_before_retry(),
        }
    }

    /// Retry count after applying the virtual server's and keepalived's defaults.
    pub fn effective_retry(&self, vs: &VirtualServer) -> u32 {
        self.retry
            .or(vs.retry)
            .unwrap_or_else(|| self.default_retry())
    }

    /// Delay before retry after applying defaults.
    pub fn effective_delay_before_retry(&self, vs: &VirtualServer) -> Duration {
        self.delay_before_retry
            .or(vs.delay_before_retry)
            .unwrap_or_else(|| self.default_delay_before_retry())
    }

    /// Connect timeout after applying defaults (5 s).
    pub fn effective_connect_timeout(&self, vs: &VirtualServer) -> Duration {
        self.connect_timeout
            .or(vs.connect_timeout)
            .unwrap_or(Duration::from_secs(5))
    }

    /// Check interval after applying defaults.
    pub fn effective_delay_loop(&self, vs: &VirtualServer, rs: &RealServer) -> Duration {
        self.delay_loop.or(rs.delay_loop).unwrap_or(vs.delay_loop)
    }
}

/// One entry of a `virtual_server_group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VsgEntry {
    /// `IP[-LASTOCTET] PORT` (a range of addresses that differ in the last byte/group).
    Range {
        /// First address.
        addr: IpAddr,
        /// Last value of the final octet (IPv4) or group (IPv6), if a range.
        range_end: Option<u16>,
        /// Port.
        port: u16,
    },
    /// `fwmark N`.
    Fwmark(u32),
}

/// `virtual_server_group NAME { ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VirtualServerGroup {
    /// Group name.
    pub name: String,
    /// Entries.
    pub entries: Vec<VsgEntry>,
    /// Where the block was written.
    pub span: Span,
}

/// keel's `keel_anycast { speaker ... }` (not a keepalived keyword).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AnycastSpeaker {
    /// `speaker gobgp HOST:PORT`: gobgpd's gRPC API.
    GoBgp {
        /// `HOST:PORT` of the API.
        addr: String,
    },
    /// `speaker bird SOCKET [INCLUDE]`: BIRD 2's control socket and the
    /// include file keel writes (default `/run/keel/anycast-v4.conf`).
    Bird {
        /// The control socket.
        socket: std::path::PathBuf,
        /// The include file of static routes.
        include: std::path::PathBuf,
    },
    /// `speaker exabgp [CMD_FIFO ACK_FIFO]`: an ExaBGP API process (default
    /// `/run/keel/exabgp.cmd` and `/run/keel/exabgp.ack`).
    ExaBgp {
        /// keel writes commands here.
        cmd: std::path::PathBuf,
        /// keel reads acknowledgements here.
        ack: std::path::PathBuf,
    },
    /// `speaker kernel TABLE`: a route in routing table TABLE.
    Kernel {
        /// The routing table.
        table: u32,
    },
}

/// keel's `announce` option of a virtual server (not a keepalived keyword).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Announce {
    /// `min_healthy N` (default 1): fewest healthy real servers to announce.
    pub min_healthy: u32,
    /// `withdraw_delay SECS` (default 0).
    pub withdraw_delay: Duration,
    /// `require_master`: announce only while a VRRP instance is master.
    pub require_master: bool,
}

impl Default for Announce {
    fn default() -> Announce {
        Announce {
            min_healthy: 1,
            withdraw_delay: Duration::ZERO,
            require_master: false,
        }
    }
}
