//! The keyword table, as data: every keyword keepalived knows, the block it belongs to,
//! whether keel supports it, how many arguments it takes and what block it opens.
//!
//! ```
//! use keel_conf::keywords::{lookup, Block, Status};
//! let k = lookup(Block::TcpCheck, "nb_get_retry").unwrap();
//! assert_eq!(k.status, Status::Alias { of: "retry" });
//! assert_eq!(lookup(Block::GlobalDefs, "vrrp_iptables").unwrap().status, Status::Unsupported);
//! assert!(lookup(Block::VrrpInstance, "prioritty").is_none());
//! ```

use std::collections::HashMap;
use std::sync::OnceLock;

/// A block (or the top level) in which keywords are looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Block {
    /// Outside any block.
    Top,
    /// `global_defs { }`.
    GlobalDefs,
    /// `vrrp_instance NAME { }`.
    VrrpInstance,
    /// `authentication { }` inside a `vrrp_instance`.
    Authentication,
    /// `vrrp_sync_group NAME { }`.
    VrrpSyncGroup,
    /// `vrrp_script NAME { }`.
    VrrpScript,
    /// `virtual_server ... { }`.
    VirtualServer,
    /// `real_server IP PORT { }`.
    RealServer,
    /// `TCP_CHECK { }`.
    TcpCheck,
    /// `HTTP_GET { }` and `SSL_GET { }`.
    HttpGet,
    /// `url { }` inside HTTP_GET/SSL_GET.
    Url,
    /// `MISC_CHECK { }`.
    MiscCheck,
    /// `DNS_CHECK { }`.
    DnsCheck,
    /// `SMTP_CHECK { }`.
    SmtpCheck,
    /// `host { }` inside SMTP_CHECK (deprecated by keepalived: one checker per host).
    SmtpHost,
    /// `UDP_CHECK { }`.
    UdpCheck,
    /// `PING_CHECK { }`.
    PingCheck,
    /// `FILE_CHECK { }`.
    FileCheck,
    /// `track_file NAME { }` at the top level.
    TrackFile,
}

impl Block {
    /// Every block, in a stable order.
    pub const ALL: [Block; 19] = [
        Block::Top,
        Block::GlobalDefs,
        Block::VrrpInstance,
        Block::Authentication,
        Block::VrrpSyncGroup,
        Block::VrrpScript,
        Block::VirtualServer,
        Block::RealServer,
        Block::TcpCheck,
        Block::HttpGet,
        Block::Url,
        Block::MiscCheck,
        Block::DnsCheck,
        Block::SmtpCheck,
        Block::SmtpHost,
        Block::UdpCheck,
        Block::PingCheck,
        Block::FileCheck,
        Block::TrackFile,
    ];

    /// The keyword that opens the block as written in a configuration (`top level` for
    /// [`Block::Top`]).
    pub fn name(self) -> &'static str {
        match self {
            Block::Top => "top level",
            Block::GlobalDefs => "global_defs",
            Block::VrrpInstance => "vrrp_instance",
            Block::Authentication => "authentication",
            Block::VrrpSyncGroup => "vrrp_sync_group",
            Block::VrrpScript => "vrrp_script",
            Block::VirtualServer => "virtual_server",
            Block::RealServer => "real_server",
            Block::TcpCheck => "TCP_CHECK",
            Block::HttpGet => "HTTP_GET/SSL_GET",
            Block::Url => "url",
            Block::MiscCheck => "MISC_CHECK",
            Block::DnsCheck => "DNS_CHECK",
            Block::SmtpCheck => "SMTP_CHECK",
            Block::SmtpHost => "host",
            Block::UdpCheck => "UDP_CHECK",
            Block::PingCheck => "PING_CHECK",
            Block::FileCheck => "FILE_CHECK",
            Block::TrackFile => "track_file",
        }
    }
}

/// Whether keel implements a keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Parsed into the typed model.
    Supported,
    /// Known to keepalived, not implemented by keel: reported as `unsupported`.
    Unsupported,
    /// Another name of a supported keyword (accepted with a note).
    Alias {
        /// The keyword it stands for.
        of: &'static str,
    },
}

/// What follows a keyword's arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Opens {
    /// Nothing: a plain statement.
    Nothing,
    /// A block of keywords.
    Block(Block),
    /// A block whose lines are values (addresses, names, ...), one item per line.
    List,
    /// A block keel does not read (the keyword is unsupported); its contents are skipped.
    Skip,
}

/// Maximum argument count meaning "any number".
pub const MANY: u8 = u8::MAX;

/// One keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keyword {
    /// The keyword as written.
    pub name: &'static str,
    /// The block it belongs to.
    pub block: Block,
    /// Whether keel implements it.
    pub status: Status,
    /// Fewest arguments on its line.
    pub min_args: u8,
    /// Most arguments on its line ([`MANY`] = no limit). Past this, a word that is itself
    /// a keyword of the block starts a new statement on the same line.
    pub max_args: u8,
    /// What it opens.
    pub opens: Opens,
    /// One-line description (empty for unsupported keywords).
    pub doc: &'static str,
}

const fn s(name: &'static str, block: Block, min: u8, max: u8, doc: &'static str) -> Keyword {
    Keyword {
        name,
        block,
        status: Status::Supported,
        min_args: min,
        max_args: max,
        opens: Opens::Nothing,
        doc,
    }
}
const fn b(
    name: &'static str,
    block: Block,
    min: u8,
    max: u8,
    opens: Opens,
    doc: &'static str,
) -> Keyword {
    Keyword {
        name,
        block,
        status: Status::Supported,
        min_args: min,
        max_args: max,
        opens,
        doc,
    }
}
const fn a(name: &'static str, block: Block, of: &'static str, min: u8, max: u8) -> Keyword {
    Keyword {
        name,
        block,
        status: Status::Alias { of },
        min_args: min,
        max_args: max,
        opens: Opens::Nothing,
        doc: "",
    }
}

use Block as B;

/// Supported keywords and aliases.
pub static SUPPORTED: &[Keyword] = &[
    // top level
    b(
        "global_defs",
        B::Top,
        0,
        0,
        Opens::Block(B::GlobalDefs),
        "global definitions",
    ),
    b(
        "vrrp_instance",
        B::Top,
        1,
        1,
        Opens::Block(B::VrrpInstance),
        "a VRRP instance",
    ),
    b(
        "vrrp_sync_group",
        B::Top,
        1,
        1,
        Opens::Block(B::VrrpSyncGroup),
        "instances that change state together",
    ),
    b(
        "vrrp_script",
        B::Top,
        1,
        1,
        Opens::Block(B::VrrpScript),
        "a tracking script",
    ),
    b(
        "virtual_server",
        B::Top,
        1,
        2,
        Opens::Block(B::VirtualServer),
        "an IPVS virtual service: IP PORT, fwmark N or group NAME",
    ),
    b(
        "virtual_server_group",
        B::Top,
        1,
        1,
        Opens::List,
        "addresses/ranges/fwmarks sharing one virtual_server",
    ),
    // global_defs
    s(
        "router_id",
        B::GlobalDefs,
        1,
        1,
        "name of this node (default: host name)",
    ),
    s(
        "vrrp_version",
        B::GlobalDefs,
        1,
        1,
        "default VRRP version, 2 or 3 (default 2)",
    ),
    s(
        "script_user",
        B::GlobalDefs,
        1,
        2,
        "user [group] scripts run as",
    ),
    s(
        "enable_script_security",
        B::GlobalDefs,
        0,
        0,
        "refuse scripts writable by non-root when run as root",
    ),
    s(
        "vrrp_garp_master_delay",
        B::GlobalDefs,
        1,
        1,
        "delay of the second gratuitous ARP burst after becoming master (s, default 5)",
    ),
    s(
        "vrrp_garp_master_repeat",
        B::GlobalDefs,
        1,
        1,
        "gratuitous ARPs per burst (default 5)",
    ),
    s(
        "vrrp_garp_master_refresh",
        B::GlobalDefs,
        1,
        1,
        "interval of gratuitous ARP refreshes while master (s, default none)",
    ),
    s(
        "vrrp_garp_master_refresh_repeat",
        B::GlobalDefs,
        1,
        1,
        "gratuitous ARPs per refresh (default 1)",
    ),
    s(
        "vrrp_garp_lower_prio_delay",
        B::GlobalDefs,
        1,
        1,
        "delay of gratuitous ARPs after a lower-priority advert (s)",
    ),
    s(
        "vrrp_garp_lower_prio_repeat",
        B::GlobalDefs,
        1,
        1,
        "gratuitous ARPs after a lower-priority advert",
    ),
    s(
        "vrrp_garp_interval",
        B::GlobalDefs,
        1,
        1,
        "spacing between gratuitous ARPs (s, default 0)",
    ),
    s(
        "vrrp_gna_interval",
        B::GlobalDefs,
        1,
        1,
        "spacing between unsolicited neighbour adverts (s, default 0)",
    ),
    s(
        "vrrp_min_garp",
        B::GlobalDefs,
        0,
        1,
        "one gratuitous ARP, no repeats or refreshes",
    ),
    s("vrrp_strict", B::GlobalDefs, 0, 0, "strict RFC conformance"),
    s(
        "vrrp_skip_check_adv_addr",
        B::GlobalDefs,
        0,
        1,
        "do not check addresses of adverts from the current master",
    ),
    s(
        "vrrp_check_unicast_src",
        B::GlobalDefs,
        0,
        0,
        "always on in keel: an instance with unicast peers accepts adverts from them only",
    ),
    s(
        "lvs_sync_daemon",
        B::GlobalDefs,
        1,
        13,
        "INTERFACE [VRRP_INSTANCE | inst VRRP_INSTANCE] [id ID] [maxlen LEN] [port PORT] [ttl TTL] [group IP]",
    ),
    s(
        "lvs_timeouts",
        B::GlobalDefs,
        2,
        6,
        "[tcp T] [tcpfin T] [udp T]",
    ),
    s(
        "lvs_flush",
        B::GlobalDefs,
        0,
        0,
        "flush the IPVS table at startup",
    ),
    s(
        "keel_metrics_listen",
        B::GlobalDefs,
        1,
        1,
        "keel only: ADDRESS:PORT to serve Prometheus metrics on over HTTP (GET /metrics); off when absent",
    ),
    s(
        "keel_stop_mode",
        B::GlobalDefs,
        1,
        1,
        "keel only: what SIGTERM does to masters, resign (keepalived's default) or handover (make-before-break)",
    ),
    b(
        "keel_anycast",
        B::GlobalDefs,
        0,
        0,
        Opens::List,
        "keel only: the BGP speaker announcing virtual servers marked `announce`: speaker gobgp ADDR | bird SOCKET [INCLUDE] | exabgp [CMD_FIFO ACK_FIFO] | kernel TABLE",
    ),
    b(
        "notification_email",
        B::GlobalDefs,
        0,
        0,
        Opens::List,
        "e-mail recipients, one per line",
    ),
    s(
        "notification_email_from",
        B::GlobalDefs,
        1,
        1,
        "e-mail sender",
    ),
    s("smtp_server", B::GlobalDefs, 1, 2, "HOST [PORT]"),
    s("smtp_helo_name", B::GlobalDefs, 1, 1, "name for SMTP HELO"),
    s(
        "smtp_connect_timeout",
        B::GlobalDefs,
        1,
        1,
        "SMTP connect timeout (s, default 30)",
    ),
    s(
        "smtp_alert",
        B::GlobalDefs,
        0,
        1,
        "send e-mail alerts by default",
    ),
    s(
        "dynamic_interfaces",
        B::GlobalDefs,
        0,
        1,
        "allow interfaces that do not exist yet",
    ),
    // vrrp_instance
    s(
        "state",
        B::VrrpInstance,
        1,
        1,
        "MASTER or BACKUP (default BACKUP)",
    ),
    s(
        "interface",
        B::VrrpInstance,
        1,
        1,
        "interface adverts are sent on",
    ),
    s("virtual_router_id", B::VrrpInstance, 1, 1, "VRID, 1..255"),
    s(
        "priority",
        B::VrrpInstance,
        1,
        1,
        "1..254, 255 = address owner (default 100)",
    ),
    s(
        "advert_int",
        B::VrrpInstance,
        1,
        1,
        "advert interval (s; v2 whole seconds, v3 down to 0.01, default 1)",
    ),
    s("version", B::VrrpInstance, 1, 1, "VRRP version 2 or 3"),
    b(
        "authentication",
        B::VrrpInstance,
        0,
        0,
        Opens::Block(B::Authentication),
        "VRRPv2 authentication",
    ),
    b(
        "virtual_ipaddress",
        B::VrrpInstance,
        0,
        0,
        Opens::List,
        "ADDR[/PREFIX] [brd A] [dev IF] [scope S] [label L], one per line",
    ),
    b(
        "virtual_ipaddress_excluded",
        B::VrrpInstance,
        0,
        0,
        Opens::List,
        "addresses managed but not sent in adverts",
    ),
    b(
        "virtual_routes",
        B::VrrpInstance,
        0,
        0,
        Opens::List,
        "routes added with the addresses",
    ),
    s(
        "unicast_src_ip",
        B::VrrpInstance,
        1,
        1,
        "source address of unicast adverts",
    ),
    a("mcast_src_ip", B::VrrpInstance, "unicast_src_ip", 1, 1),
    b(
        "unicast_peer",
        B::VrrpInstance,
        0,
        0,
        Opens::List,
        "unicast peers, one per line",
    ),
    s(
        "nopreempt",
        B::VrrpInstance,
        0,
        0,
        "a higher priority backup does not take over",
    ),
    s("preempt", B::VrrpInstance, 0, 0, "preempt (the default)"),
    s(
        "preempt_delay",
        B::VrrpInstance,
        1,
        1,
        "seconds to wait before preempting after startup",
    ),
    b(
        "track_interface",
        B::VrrpInstance,
        0,
        0,
        Opens::List,
        "IFNAME [weight W], one per line",
    ),
    b(
        "track_script",
        B::VrrpInstance,
        0,
        0,
        Opens::List,
        "SCRIPT [weight W [reverse]], one per line",
    ),
    s(
        "notify",
        B::VrrpInstance,
        1,
        MANY,
        "script called on every state change",
    ),
    s(
        "notify_master",
        B::VrrpInstance,
        1,
        MANY,
        "script called on becoming master",
    ),
    s(
        "notify_backup",
        B::VrrpInstance,
        1,
        MANY,
        "script called on becoming backup",
    ),
    s(
        "notify_fault",
        B::VrrpInstance,
        1,
        MANY,
        "script called on entering fault",
    ),
    s(
        "notify_stop",
        B::VrrpInstance,
        1,
        MANY,
        "script called on stop",
    ),
    s(
        "garp_master_delay",
        B::VrrpInstance,
        1,
        1,
        "delay of the second gratuitous ARP burst (s)",
    ),
    s(
        "garp_master_repeat",
        B::VrrpInstance,
        1,
        1,
        "gratuitous ARPs per burst",
    ),
    s(
        "garp_master_refresh",
        B::VrrpInstance,
        1,
        1,
        "gratuitous ARP refresh interval while master (s)",
    ),
    s(
        "garp_master_refresh_repeat",
        B::VrrpInstance,
        1,
        1,
        "gratuitous ARPs per refresh",
    ),
    s(
        "use_vmac",
        B::VrrpInstance,
        0,
        2,
        "use a VRRP virtual MAC interface [NAME] [MAC]",
    ),
    s(
        "vmac_xmit_base",
        B::VrrpInstance,
        0,
        0,
        "send adverts on the base interface",
    ),
    s(
        "accept",
        B::VrrpInstance,
        0,
        0,
        "accept packets to the VIPs when master",
    ),
    s(
        "no_accept",
        B::VrrpInstance,
        0,
        0,
        "drop packets to the VIPs (strict mode default)",
    ),
    s(
        "dont_track_primary",
        B::VrrpInstance,
        0,
        0,
        "ignore faults of the instance's interface",
    ),
    s(
        "smtp_alert",
        B::VrrpInstance,
        0,
        1,
        "send e-mail on state changes",
    ),
    // authentication
    s("auth_type", B::Authentication, 1, 1, "PASS or AH"),
    s(
        "auth_pass",
        B::Authentication,
        1,
        1,
        "password, at most 8 characters",
    ),
    // vrrp_sync_group
    b(
        "group",
        B::VrrpSyncGroup,
        0,
        0,
        Opens::List,
        "member instances, one per line",
    ),
    s(
        "notify",
        B::VrrpSyncGroup,
        1,
        MANY,
        "script called on every state change",
    ),
    s(
        "notify_master",
        B::VrrpSyncGroup,
        1,
        MANY,
        "script called on becoming master",
    ),
    s(
        "notify_backup",
        B::VrrpSyncGroup,
        1,
        MANY,
        "script called on becoming backup",
    ),
    s(
        "notify_fault",
        B::VrrpSyncGroup,
        1,
        MANY,
        "script called on entering fault",
    ),
    s(
        "notify_stop",
        B::VrrpSyncGroup,
        1,
        MANY,
        "script called on stop",
    ),
    b(
        "track_interface",
        B::VrrpSyncGroup,
        0,
        0,
        Opens::List,
        "IFNAME [weight W], one per line",
    ),
    b(
        "track_script",
        B::VrrpSyncGroup,
        0,
        0,
        Opens::List,
        "SCRIPT [weight W [reverse]], one per line",
    ),
    s(
        "smtp_alert",
        B::VrrpSyncGroup,
        0,
        1,
        "send e-mail on state changes",
    ),
    // vrrp_script
    s("script", B::VrrpScript, 1, MANY, "command line to run"),
    s(
        "interval",
        B::VrrpScript,
        1,
        1,
        "seconds between runs (default 1)",
    ),
    s(
        "timeout",
        B::VrrpScript,
        1,
        1,
        "seconds before a run counts as failed",
    ),
    s(
        "weight",
        B::VrrpScript,
        1,
        2,
        "priority change W (-253..253) [reverse]",
    ),
    s(
        "rise",
        B::VrrpScript,
        1,
        1,
        "successes before OK (default 1)",
    ),
    s(
        "fall",
        B::VrrpScript,
        1,
        1,
        "failures before KO (default 1)",
    ),
    s("user", B::VrrpScript, 1, 2, "USER [GROUP] to run as"),
    s(
        "init_fail",
        B::VrrpScript,
        0,
        0,
        "start in the failed state",
    ),
    // virtual_server
    s(
        "delay_loop",
        B::VirtualServer,
        1,
        1,
        "seconds between checks (default 60)",
    ),
    s(
        "lb_algo",
        B::VirtualServer,
        1,
        1,
        "IPVS scheduler: rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos",
    ),
    a("lvs_sched", B::VirtualServer, "lb_algo", 1, 1),
    s(
        "lb_kind",
        B::VirtualServer,
        1,
        MANY,
        "forwarding method: NAT DR TUN [type ipip|gue|gre] [port P] [nocsum|csum|remcsum]",
    ),
    a("lvs_method", B::VirtualServer, "lb_kind", 1, MANY),
    s(
        "persistence_timeout",
        B::VirtualServer,
        0,
        1,
        "persistence in seconds (no value = 360)",
    ),
    s(
        "persistence_granularity",
        B::VirtualServer,
        1,
        1,
        "netmask of persistence",
    ),
    s("protocol", B::VirtualServer, 1, 1, "TCP UDP SCTP"),
    s(
        "sorry_server",
        B::VirtualServer,
        1,
        2,
        "IP [PORT] used when every real server is down",
    ),
    s(
        "announce",
        B::VirtualServer,
        0,
        5,
        "keel only: announce the address over BGP (keel_anycast) while healthy: [min_healthy N] [withdraw_delay SECS] [require_master]",
    ),
    s(
        "sorry_server_inhibit",
        B::VirtualServer,
        0,
        0,
        "keep the sorry server with weight 0",
    ),
    // keepalived ignores any argument after alpha / omega.
    s(
        "alpha",
        B::VirtualServer,
        0,
        MANY,
        "real servers start down",
    ),
    s(
        "omega",
        B::VirtualServer,
        0,
        MANY,
        "run quorum_down on shutdown",
    ),
    s(
        "quorum",
        B::VirtualServer,
        1,
        1,
        "minimum total weight of live servers (default 1)",
    ),
    s(
        "hysteresis",
        B::VirtualServer,
        1,
        1,
        "hysteresis around quorum (default 0)",
    ),
    s(
        "quorum_up",
        B::VirtualServer,
        1,
        MANY,
        "script run when quorum is gained",
    ),
    s(
        "quorum_down",
        B::VirtualServer,
        1,
        MANY,
        "script run when quorum is lost",
    ),
    s(
        "inhibit_on_failure",
        B::VirtualServer,
        0,
        1,
        "set weight 0 instead of removing failed servers",
    ),
    s(
        "ha_suspend",
        B::VirtualServer,
        0,
        0,
        "suspend checks while the address is absent",
    ),
    s(
        "virtualhost",
        B::VirtualServer,
        1,
        1,
        "default Host header for HTTP checks",
    ),
    s("retry", B::VirtualServer, 1, 1, "default checker retries"),
    s(
        "delay_before_retry",
        B::VirtualServer,
        1,
        1,
        "default checker delay before retry (s)",
    ),
    s(
        "connect_timeout",
        B::VirtualServer,
        1,
        1,
        "default checker connect timeout (s)",
    ),
    s(
        "warmup",
        B::VirtualServer,
        1,
        1,
        "default checker warmup (s)",
    ),
    b(
        "real_server",
        B::VirtualServer,
        1,
        2,
        Opens::Block(B::RealServer),
        "a real server: IP [PORT] (no port: fwmark services)",
    ),
    // real_server
    s("weight", B::RealServer, 1, 1, "IPVS weight (default 1)"),
    s(
        "inhibit_on_failure",
        B::RealServer,
        0,
        1,
        "set weight 0 instead of removing when failed",
    ),
    s(
        "notify_up",
        B::RealServer,
        1,
        MANY,
        "script run when the server comes up",
    ),
    s(
        "notify_down",
        B::RealServer,
        1,
        MANY,
        "script run when the server goes down",
    ),
    s("smtp_alert", B::RealServer, 0, 1, "send e-mail on changes"),
    s("delay_loop", B::RealServer, 1, 1, "seconds between checks"),
    b(
        "TCP_CHECK",
        B::RealServer,
        0,
        0,
        Opens::Block(B::TcpCheck),
        "TCP connect check",
    ),
    b(
        "HTTP_GET",
        B::RealServer,
        0,
        0,
        Opens::Block(B::HttpGet),
        "HTTP GET check",
    ),
    b(
        "SSL_GET",
        B::RealServer,
        0,
        0,
        Opens::Block(B::HttpGet),
        "HTTPS GET check",
    ),
    b(
        "MISC_CHECK",
        B::RealServer,
        0,
        0,
        Opens::Block(B::MiscCheck),
        "script check",
    ),
    b(
        "DNS_CHECK",
        B::RealServer,
        0,
        0,
        Opens::Block(B::DnsCheck),
        "DNS query check (UDP)",
    ),
    b(
        "SMTP_CHECK",
        B::RealServer,
        0,
        0,
        Opens::Block(B::SmtpCheck),
        "SMTP banner/HELO check",
    ),
    b(
        "UDP_CHECK",
        B::RealServer,
        0,
        0,
        Opens::Block(B::UdpCheck),
        "UDP datagram check",
    ),
    b(
        "PING_CHECK",
        B::RealServer,
        0,
        0,
        Opens::Block(B::PingCheck),
        "ICMP echo check",
    ),
    b(
        "FILE_CHECK",
        B::RealServer,
        0,
        0,
        Opens::Block(B::FileCheck),
        "up/down and weight from a track_file",
    ),
    // track_file NAME { } (top level)
    b(
        "track_file",
        B::Top,
        1,
        1,
        Opens::Block(B::TrackFile),
        "a file whose number sets weights",
    ),
    s("file", B::TrackFile, 1, 1, "path of the file"),
    s(
        "weight",
        B::TrackFile,
        1,
        2,
        "WEIGHT [reverse]: multiplier of the file's value (default 1)",
    ),
    s(
        "init_file",
        B::TrackFile,
        0,
        2,
        "[VALUE] [overwrite]: create the file at start (value default 0)",
    ),
    // DNS_CHECK specifics
    s(
        "type",
        B::DnsCheck,
        1,
        1,
        "query type: A NS CNAME SOA MX TXT AAAA RRSIG DNSKEY (default SOA)",
    ),
    s("name", B::DnsCheck, 1, 1, "query name (default: the root)"),
    // SMTP_CHECK specifics
    s(
        "helo_name",
        B::SmtpCheck,
        1,
        1,
        "HELO argument (default smtpchecker.keepalived.org)",
    ),
    b(
        "host",
        B::SmtpCheck,
        0,
        0,
        Opens::Block(B::SmtpHost),
        "another server to check (deprecated: one checker each)",
    ),
    // UDP_CHECK specifics
    s("payload", B::UdpCheck, 1, MANY, "datagram to send (hex)"),
    s(
        "require_reply",
        B::UdpCheck,
        0,
        MANY,
        "a reply is needed; optional hex pattern (x = any nibble)",
    ),
    s(
        "min_reply_length",
        B::UdpCheck,
        1,
        1,
        "shortest acceptable reply (with a pattern)",
    ),
    s(
        "max_reply_length",
        B::UdpCheck,
        1,
        1,
        "longest acceptable reply (with a pattern)",
    ),
    // FILE_CHECK specifics
    s(
        "track_file",
        B::FileCheck,
        1,
        1,
        "name of a track_file block",
    ),
    s(
        "weight",
        B::FileCheck,
        1,
        2,
        "WEIGHT [reverse|noreverse] (default: the track_file's)",
    ),
    // HTTP_GET / SSL_GET specifics
    s("virtualhost", B::HttpGet, 1, 1, "Host header"),
    s("enable_sni", B::HttpGet, 0, 0, "send SNI (SSL_GET)"),
    s(
        "http_protocol",
        B::HttpGet,
        1,
        1,
        "request version: 1.0 (default), 1.0C, 1.1",
    ),
    s(
        "fast_recovery",
        B::HttpGet,
        0,
        1,
        "check the next URL at once while recovering",
    ),
    b(
        "url",
        B::HttpGet,
        0,
        0,
        Opens::Block(B::Url),
        "a URL to fetch",
    ),
    s("path", B::Url, 1, 1, "URL path"),
    s("digest", B::Url, 1, 1, "MD5 of the expected body (hex)"),
    s(
        "status_code",
        B::Url,
        1,
        MANY,
        "accepted status codes or ranges (default 200-299)",
    ),
    s("virtualhost", B::Url, 1, 1, "Host header for this URL"),
    s("regex", B::Url, 1, 1, "pattern the body must match"),
    s(
        "regex_no_match",
        B::Url,
        0,
        0,
        "the body must not match regex",
    ),
    s(
        "regex_options",
        B::Url,
        1,
        MANY,
        "PCRE2 options (caseless multiline dotall extended ungreedy utf ...)",
    ),
    s(
        "regex_min_offset",
        B::Url,
        1,
        1,
        "the match starts at or after this body offset",
    ),
    s(
        "regex_max_offset",
        B::Url,
        1,
        1,
        "the match starts at or before this body offset",
    ),
    // MISC_CHECK specifics
    s("misc_path", B::MiscCheck, 1, MANY, "command line to run"),
    s(
        "misc_timeout",
        B::MiscCheck,
        1,
        1,
        "seconds before the script is killed",
    ),
    s(
        "misc_dynamic",
        B::MiscCheck,
        0,
        0,
        "exit status 2..255 sets the weight to status - 2",
    ),
    s("user", B::MiscCheck, 1, 2, "USER [GROUP] to run as"),
];

/// Checker settings shared by TCP_CHECK, HTTP_GET/SSL_GET and MISC_CHECK.
pub static CHECKER_COMMON: &[(&str, u8, u8, &str)] = &[
    (
        "connect_ip",
        1,
        1,
        "address to check (default: the real server's)",
    ),
    (
        "connect_port",
        1,
        1,
        "port to check (default: the real server's)",
    ),
    ("bindto", 1, 1, "source address"),
    ("bind_port", 1, 1, "source port"),
    ("connect_timeout", 1, 1, "connect timeout (s, default 5)"),
    ("fwmark", 1, 1, "fwmark on the check's socket"),
    (
        "retry",
        1,
        1,
        "retries before failing (default 1, MISC_CHECK 0)",
    ),
    (
        "delay_before_retry",
        1,
        1,
        "delay between retries (s, default 1, HTTP 3)",
    ),
    ("warmup", 1, 1, "random delay before the first check (s)"),
    ("delay_loop", 1, 1, "seconds between checks"),
];

/// Keywords keepalived 2.4 knows that keel does not implement, per block. The ones marked
/// `{` open a block whose contents are skipped.
pub static UNSUPPORTED: &[(Block, &str)] = &[
    (
        B::Top,
        "linkbeat_use_polling net_namespace net_namespace_ipvs namespace_with_ipsets use_pid_dir instance child_wait_time track_group{ static_ipaddress{ static_routes{ static_rules{ garp_group{ linkbeat_interfaces{ vrrp_track_process{ interface_up_down_delays{ SSL{ bfd_instance{ vrrp_track_file{",
    ),
    (
        B::GlobalDefs,
        "process_names process_name vrrp_process_name checker_process_name lvs_process_name bfd_process_name use_symlink_paths set_supplementary_groups startup_script startup_script_timeout shutdown_script shutdown_script_timeout max_auto_priority min_auto_priority_delay smtp_alert_vrrp smtp_alert_checker checker_log_all_failures no_email_faults default_interface disable_local_igmp v3_checksum_as_v2 lvs_flush_on_stop lvs_flush_onstop vrrp_mcast_group4 vrrp_mcast_group6 vrrp_down_timer_adverts vrrp_garp_extra_if vrrp_vmac_garp_intvl vrrp_lower_prio_no_advert vrrp_higher_prio_send_advert vrrp_iptables vrrp_ipsets nftables nftables_priority nftables_ifindex vrrp_priority vrrp_no_swap vrrp_rt_priority vrrp_cpu_affinity vrrp_rlimit_rttime vrrp_rlimit_rtime nftables_ipvs nftables_ipvs_priority nftables_ipvs_start_fwmark nftables_counters notify_fifo notify_fifo_script vrrp_notify_fifo vrrp_notify_fifo_script vrrp_notify_priority_changes fifo_write_vrrp_states_on_reload lvs_notify_fifo lvs_notify_fifo_script checker_priority checker_no_swap checker_rt_priority checker_cpu_affinity checker_rlimit_rttime checker_rlimit_rtime bfd_priority bfd_no_swap bfd_rt_priority bfd_cpu_affinity bfd_rlimit_rttime bfd_rlimit_rtime snmp_socket enable_traps enable_snmp_vrrp enable_snmp_keepalived enable_snmp_rfc enable_snmp_rfcv2 enable_snmp_rfcv3 enable_snmp_checker snmp_vs_stats_update_interval snmp_rs_stats_update_interval enable_dbus dbus_service_name dbus_no_interface_name vrrp_netlink_cmd_rcv_bufs vrrp_netlink_cmd_rcv_bufs_force vrrp_netlink_monitor_rcv_bufs vrrp_netlink_monitor_rcv_bufs_force process_monitor_rcv_bufs process_monitor_rcv_bufs_force lvs_netlink_cmd_rcv_bufs lvs_netlink_cmd_rcv_bufs_force lvs_netlink_monitor_rcv_bufs lvs_netlink_monitor_rcv_bufs_force rs_init_notifies no_checker_emails vrrp_rx_bufs_policy vrrp_rx_bufs_multiplier vrrp_startup_delay vrrp_delay_after_boot log_unknown_vrids vrrp_owner_ignore_adverts vmac_prefix vmac_addr_prefix umask random_seed reload_check_config reload_time_file reload_repeat reload_file include_check config_save_dir tmp_config_directory data_use_instance json_version iproute_usr_dir iproute_etc_dir state_dump_file stats_dump_file json_dump_file",
    ),
    (
        B::VrrpInstance,
        "use_vmac_addr use_ipvlan unicast_fault_no_peer check_unicast_src old_unicast_checksum native_ipv6 vrf track_file{ track_process{ track_bfd{ mcast_dst_ip track_src_ip unicast_ttl no_virtual_ipaddress promote_secondaries linkbeat_use_polling v3_checksum_as_v2 virtual_rules{ skip_check_adv_addr strict_mode debug notify_deleted notify_master_rx_lower_pri notify_priority_changes lvs_sync_daemon_interface garp_lower_prio_delay garp_lower_prio_repeat down_timer_adverts timer_expired_backup thread_timer_expired garp_extra_if vmac_garp_intvl lower_prio_no_advert higher_prio_send_advert owner_ignore_adverts kernel_rx_buf_size auth_hmac{",
    ),
    (
        B::VrrpSyncGroup,
        "track_file{ track_process{ track_bfd{ global_tracking sync_group_tracking_weight notify_priority_changes",
    ),
    (
        B::VirtualServer,
        "ip_family hashed ops flag-1 flag-2 flag-3 sh-port sh-fallback mh-port mh-fallback persistence_engine smtp_alert snmp_name weight sorry_server_lvs_method",
    ),
    (
        B::RealServer,
        "lvs_method uthreshold lthreshold alpha retry delay_before_retry warmup connect_timeout virtualhost snmp_name BFD_CHECK{",
    ),
    (B::TcpCheck, "bind_if alpha log_all_failures"),
    (
        B::HttpGet,
        "bind_if alpha log_all_failures sni_name tls_compliant",
    ),
    (B::Url, "regex_stack tls_compliant"),
    (B::MiscCheck, "alpha log_all_failures"),
    (B::DnsCheck, "bind_if alpha log_all_failures"),
    (B::SmtpCheck, "bind_if alpha log_all_failures"),
    (B::SmtpHost, "bind_if"),
    (B::UdpCheck, "bind_if alpha log_all_failures"),
    (B::PingCheck, "bind_if alpha log_all_failures"),
    (B::VrrpScript, ""),
];

/// A multiply-rotate hash over 8-byte words (FxHash-like): the keys are short keyword
/// strings, looked up once per statement.
#[derive(Default, Clone, Copy)]
struct Fx(u64);

impl Fx {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut c = bytes.chunks_exact(8);
        for w in &mut c {
            let mut a = [0u8; 8];
            a.copy_from_slice(w);
            self.add(u64::from_le_bytes(a));
        }
        let r = c.remainder();
        let mut a = [0u8; 8];
        a[..r.len()].copy_from_slice(r);
        self.add(u64::from_le_bytes(a));
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
}

type Index = HashMap<
    &'static str,
    [Option<&'static Keyword>; Block::ALL.len()],
    std::hash::BuildHasherDefault<Fx>,
>;

fn table() -> &'static [Keyword] {
    static TABLE: OnceLock<Vec<Keyword>> = OnceLock::new();
    TABLE.get_or_init(build_table)
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut m = Index::default();
        for k in table() {
            let slots = m.entry(k.name).or_insert([None; Block::ALL.len()]);
            let slot = &mut slots[k.block as usize];
            if slot.is_none() {
                *slot = Some(k);
            }
        }
        m
    })
}

/// The whole table: supported keywords, aliases and unsupported keywords, every block.
pub fn all() -> Vec<Keyword> {
    table().to_vec()
}

fn build_table() -> Vec<Keyword> {
    let mut v: Vec<Keyword> = SUPPORTED.to_vec();
    for blk in [
        B::TcpCheck,
        B::HttpGet,
        B::MiscCheck,
        B::DnsCheck,
        B::SmtpCheck,
        B::UdpCheck,
        B::PingCheck,
    ] {
        for &(name, min, max, doc) in CHECKER_COMMON {
            v.push(s(name, blk, min, max, doc));
        }
        v.push(a("nb_get_retry", blk, "retry", 1, 1));
    }
    // a `host` block takes the connection keywords only
    for &(name, min, max, doc) in &CHECKER_COMMON[..6] {
        v.push(s(name, B::SmtpHost, min, max, doc));
    }
    for &(blk, names) in UNSUPPORTED {
        for w in names.split_whitespace() {
            let (name, opens) = match w.strip_suffix('{') {
                Some(n) => (n, Opens::Skip),
                None => (w, Opens::Nothing),
            };
            v.push(Keyword {
                name,
                block: blk,
                status: Status::Unsupported,
                min_args: 0,
                max_args: MANY,
                opens,
                doc: "",
            });
        }
    }
    v
}

/// Look a keyword up in a block.
pub fn lookup(block: Block, name: &str) -> Option<Keyword> {
    lookup_ref(block, name).copied()
}

/// [`lookup`] without the copy.
pub(crate) fn lookup_ref(block: Block, name: &str) -> Option<&'static Keyword> {
    index().get(name).and_then(|slots| slots[block as usize])
}

/// Blocks (other than `block`) in which `name` is a keyword.
pub fn blocks_of(name: &str) -> Vec<Block> {
    Block::ALL
        .into_iter()
        .filter(|b| lookup_ref(*b, name).is_some())
        .collect()
}

/// The closest keyword of `block` to `name` (edit distance), if reasonably close.
pub fn suggest(block: Block, name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let mut best: Option<(usize, &'static str)> = None;
    for k in table().iter().filter(|k| k.block == block) {
        let d = edit_distance(&lower, &k.name.to_ascii_lowercase());
        if best.is_none_or(|(bd, bn)| d < bd || (d == bd && k.name < bn)) {
            best = Some((d, k.name));
        }
    }
    let limit = (name.chars().count() / 3).clamp(1, 3);
    best.filter(|&(d, _)| d <= limit).map(|(_, n)| n)
}

/// Optimal-string-alignment edit distance (transpositions count as one edit).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    // Long words are never "close" to a keyword; bound the quadratic work.
    if a.len() > 64 || b.len() > 64 || a.len().abs_diff(b.len()) > 8 {
        return a.len().abs_diff(b.len()).max(9);
    }
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, v) in d[0].iter_mut().enumerate() {
        *v = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[n][m]
}
