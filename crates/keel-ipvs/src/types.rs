//! The typed IPVS model: services, destinations, statistics, daemons.
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

/// Address family of a service or destination (`AF_INET` = 2, `AF_INET6` = 10 on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// IPv4.
    Inet,
    /// IPv6.
    Inet6,
}

impl Family {
    /// The family of an address.
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Inet,
            IpAddr::V6(_) => Family::Inet6,
        }
    }
    pub(crate) fn raw(self) -> u16 {
        match self {
            Family::Inet => 2,
            Family::Inet6 => 10,
        }
    }
    pub(crate) fn from_raw(v: u16) -> Option<Family> {
        match v {
            2 => Some(Family::Inet),
            10 => Some(Family::Inet6),
            _ => None,
        }
    }
}

/// Transport protocol of an address+port service (IP protocol numbers 6, 17, 132).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// TCP (6); ipvsadm `-t`.
    Tcp,
    /// UDP (17); ipvsadm `-u`.
    Udp,
    /// SCTP (132); ipvsadm `--sctp-service`.
    Sctp,
}

impl Protocol {
    pub(crate) fn raw(self) -> u16 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
        }
    }
    pub(crate) fn from_raw(v: u16) -> Option<Protocol> {
        match v {
            6 => Some(Protocol::Tcp),
            17 => Some(Protocol::Udp),
            132 => Some(Protocol::Sctp),
            _ => None,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Protocol {
    /// `TCP`, `UDP`, `SCTP` (as keepalived.conf's `protocol` and ipvsadm write it).
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }
}

/// An IPVS scheduler the kernel ships (`ip_vs_NAME` modules); [`Service::scheduler`]
/// takes its [`Scheduler::as_str`] name (the kernel reports any loaded scheduler by
/// name, so the wire field stays a string).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Scheduler {
    /// Round robin.
    Rr,
    /// Weighted round robin.
    Wrr,
    /// Least connection.
    Lc,
    /// Weighted least connection (ipvsadm's and keepalived's default).
    #[default]
    Wlc,
    /// Locality-based least connection.
    Lblc,
    /// Locality-based least connection with replication.
    Lblcr,
    /// Destination hashing.
    Dh,
    /// Source hashing.
    Sh,
    /// Shortest expected delay.
    Sed,
    /// Never queue.
    Nq,
    /// Weighted failover.
    Fo,
    /// Weighted overflow.
    Ovf,
    /// Maglev hashing.
    Mh,
    /// Weighted random twos choice.
    Twos,
}

impl Scheduler {
    /// Every scheduler, in a stable order.
    pub const ALL: [Scheduler; 14] = [
        Scheduler::Rr,
        Scheduler::Wrr,
        Scheduler::Lc,
        Scheduler::Wlc,
        Scheduler::Lblc,
        Scheduler::Lblcr,
        Scheduler::Dh,
        Scheduler::Sh,
        Scheduler::Sed,
        Scheduler::Nq,
        Scheduler::Fo,
        Scheduler::Ovf,
        Scheduler::Mh,
        Scheduler::Twos,
    ];

    /// The kernel's name (`rr`, `wlc`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Scheduler::Rr => "rr",
            Scheduler::Wrr => "wrr",
            Scheduler::Lc => "lc",
            Scheduler::Wlc => "wlc",
            Scheduler::Lblc => "lblc",
            Scheduler::Lblcr => "lblcr",
            Scheduler::Dh => "dh",
            Scheduler::Sh => "sh",
            Scheduler::Sed => "sed",
            Scheduler::Nq => "nq",
            Scheduler::Fo => "fo",
            Scheduler::Ovf => "ovf",
            Scheduler::Mh => "mh",
            Scheduler::Twos => "twos",
        }
    }

    /// Parse a kernel scheduler name.
    pub fn from_name(s: &str) -> Option<Scheduler> {
        Scheduler::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl fmt::Display for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What identifies a virtual service in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceKey {
    /// Protocol + virtual address + port.
    Addr {
        /// TCP, UDP or SCTP.
        protocol: Protocol,
        /// Virtual IP address.
        addr: IpAddr,
        /// Virtual port (host order here; big-endian on the wire).
        port: u16,
    },
    /// Firewall mark (`-f`), for one address family.
    Fwmark {
        /// Family of the marked traffic.
        family: Family,
        /// The mark (host order on the wire).
        mark: u32,
    },
}

impl ServiceKey {
    /// A TCP service key.
    pub fn tcp(addr: IpAddr, port: u16) -> Self {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr,
            port,
        }
    }
    /// A UDP service key.
    pub fn udp(addr: IpAddr, port: u16) -> Self {
        ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr,
            port,
        }
    }
    /// An SCTP service key.
    pub fn sctp(addr: IpAddr, port: u16) -> Self {
        ServiceKey::Addr {
            protocol: Protocol::Sctp,
            addr,
            port,
        }
    }
    /// A firewall-mark service key.
    pub fn fwmark(family: Family, mark: u32) -> Self {
        ServiceKey::Fwmark { family, mark }
    }
    /// The key's address family.
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Addr { addr, .. } => Family::of(addr),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }
}

impl fmt::Display for ServiceKey {
    /// ipvsadm's style: `TCP 192.0.2.250:80`, `UDP [2001:db8::1]:53`, `FWM 7`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr {
                protocol,
                addr: IpAddr::V4(a),
                port,
            } => {
                write!(f, "{protocol} {a}:{port}")
            }
            ServiceKey::Addr {
                protocol,
                addr: IpAddr::V6(a),
                port,
            } => {
                write!(f, "{protocol} [{a}]:{port}")
            }
            ServiceKey::Fwmark {
                family: Family::Inet,
                mark,
            } => write!(f, "FWM {mark}"),
            ServiceKey::Fwmark {
                family: Family::Inet6,
                mark,
            } => write!(f, "FWM {mark} IPv6"),
        }
    }
}

/// Service flags other than persistence (which is [`Service::persistence`]).
/// Host order `u32` on the wire, sent as `struct ip_vs_flags { flags, mask }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ServiceFlags(pub u32);

impl ServiceFlags {
    /// No flags.
    pub const NONE: ServiceFlags = ServiceFlags(0);
    /// One-packet scheduling (`-o`, `IP_VS_SVC_F_ONEPACKET`).
    pub const ONE_PACKET: ServiceFlags = ServiceFlags(0x0004);
    /// Scheduler flag 1 (`sh-fallback` / `mh-fallback`).
    pub const SCHED1: ServiceFlags = ServiceFlags(0x0008);
    /// Scheduler flag 2 (`sh-port` / `mh-port`).
    pub const SCHED2: ServiceFlags = ServiceFlags(0x0010);
    /// Scheduler flag 3.
    pub const SCHED3: ServiceFlags = ServiceFlags(0x0020);
    /// Alias of [`Self::SCHED1`] for the sh scheduler.
    pub const SH_FALLBACK: ServiceFlags = Self::SCHED1;
    /// Alias of [`Self::SCHED2`] for the sh scheduler.
    pub const SH_PORT: ServiceFlags = Self::SCHED2;
    /// Every flag this type carries.
    pub const ALL: ServiceFlags = ServiceFlags(0x003c);
    pub(crate) const PERSISTENT: u32 = 0x0001;

    /// True if every bit of `other` is set.
    pub fn contains(self, other: ServiceFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for ServiceFlags {
    type Output = ServiceFlags;
    fn bitor(self, rhs: ServiceFlags) -> ServiceFlags {
        ServiceFlags(self.0 | rhs.0)
    }
}

/// Persistence (`-p`): connections from one client (network) stick to one real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Persistence {
    /// Timeout in seconds (host-order `u32` on the wire).
    pub timeout: u32,
    /// Client network prefix length (`-M`): 32/128 = per client address.
    /// On the wire: IPv4 as a big-endian netmask, IPv6 as the prefix length (host order).
    pub prefix_len: u8,
}

impl Persistence {
    /// Persistence for `timeout` seconds, per client address.
    pub fn seconds(timeout: u32) -> Self {
        Persistence {
            timeout,
            prefix_len: 32,
        }
    }
}

/// A virtual service.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Service {
    /// What identifies it.
    pub key: ServiceKey,
    /// Scheduler name: rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos
    /// (NUL-terminated string on the wire, at most 15 bytes).
    pub scheduler: String,
    /// Flags (one-packet, scheduler flags).
    pub flags: ServiceFlags,
    /// Persistence, if any.
    pub persistence: Option<Persistence>,
    /// Persistence engine name (e.g. `sip`), NUL-terminated string on the wire.
    pub pe_name: Option<String>,
}

impl Service {
    /// A service with scheduler `sched` and no persistence.
    pub fn new(key: ServiceKey, sched: &str) -> Self {
        Service {
            key,
            scheduler: sched.to_string(),
            flags: ServiceFlags::NONE,
            persistence: None,
            pe_name: None,
        }
    }
    /// Builder: persistence for `timeout` seconds (per client address; IPv6 keys use /128).
    pub fn persistent(mut self, timeout: u32) -> Self {
        let prefix_len = match self.key.family() {
            Family::Inet => 32,
            Family::Inet6 => 128,
        };
        self.persistence = Some(Persistence {
            timeout,
            prefix_len,
        });
        self
    }
}

/// Tunnel encapsulation of the TUN forwarding method (`u8` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum TunnelType {
    /// IP-in-IP (0; the default, as ipvsadm's).
    #[default]
    Ipip,
    /// Generic UDP encapsulation (1), needs a port.
    Gue,
    /// GRE (2).
    Gre,
}

impl TunnelType {
    /// `ipip`, `gue`, `gre` (ipvsadm's and keepalived's words).
    pub fn as_str(self) -> &'static str {
        match self {
            TunnelType::Ipip => "ipip",
            TunnelType::Gue => "gue",
            TunnelType::Gre => "gre",
        }
    }
}

/// Tunnel checksum options (host-order `u16` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TunnelFlags(pub u16);

impl TunnelFlags {
    /// No checksum (`nocsum`, 0).
    pub const NOCSUM: TunnelFlags = TunnelFlags(0);
    /// Checksum (`csum`).
    pub const CSUM: TunnelFlags = TunnelFlags(1);
    /// Remote checksum offload (`remcsum`).
    pub const REMCSUM: TunnelFlags = TunnelFlags(2);
}

/// Forwarding method (`u32` on the wire, `IP_VS_CONN_F_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Forward {
    /// NAT (`-m`, "Masq", 0).
    Masq,
    /// Local node (1).
    Local,
    /// Tunnelling (`-i`, "Tunnel", 2) with its encapsulation.
    Tunnel {
        /// Encapsulation.
        kind: TunnelType,
        /// GUE destination port (big-endian on the wire); 0 for ipip/gre.
        port: u16,
        /// Checksum options.
        flags: TunnelFlags,
    },
    /// Direct routing (`-g`, "Route", 3).
    Route,
    /// Cache bypass (4).
    Bypass,
}

impl Forward {
    /// Plain IP-in-IP tunnelling (ipvsadm `-i`).
    pub const TUNNEL: Forward = Forward::Tunnel {
        kind: TunnelType::Ipip,
        port: 0,
        flags: TunnelFlags::NOCSUM,
    };
}

/// A real server (destination) of a service.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dest {
    /// Address (raw bytes in network order on the wire; family attribute u16).
    pub addr: IpAddr,
    /// Port (big-endian on the wire). Only NAT can change the port: with
    /// route/tunnel forwarding packets keep the service's port, and ipvsadm
    /// always stores the service's port for them; keel sends what it is given.
    pub port: u16,
    /// Forwarding method.
    pub forward: Forward,
    /// Weight (host-order `u32`; 0 = quiesced).
    pub weight: u32,
    /// Upper connection threshold, 0 = none (host-order `u32`).
    pub upper_threshold: u32,
    /// Lower connection threshold, 0 = none (host-order `u32`).
    pub lower_threshold: u32,
}

impl Dest {
    /// A destination with weight 1 and no thresholds.
    pub fn new(addr: IpAddr, port: u16, forward: Forward) -> Self {
        Dest {
            addr,
            port,
            forward,
            weight: 1,
            upper_threshold: 0,
            lower_threshold: 0,
        }
    }
    /// Builder: set the weight.
    pub fn weight(mut self, w: u32) -> Self {
        self.weight = w;
        self
    }
}

/// Traffic counters and rates of a service or destination. Taken from the
/// kernel's 64-bit stats attribute when present (all `u64`, host order),
/// else from the legacy one (`u32` counters and rates, `u64` bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Connections scheduled.
    pub conns: u64,
    /// Incoming packets.
    pub in_pkts: u64,
    /// Outgoing packets.
    pub out_pkts: u64,
    /// Incoming bytes.
    pub in_bytes: u64,
    /// Outgoing bytes.
    pub out_bytes: u64,
    /// Connection rate (per second).
    pub cps: u64,
    /// Incoming packet rate.
    pub in_pps: u64,
    /// Outgoing packet rate.
    pub out_pps: u64,
    /// Incoming byte rate.
    pub in_bps: u64,
    /// Outgoing byte rate.
    pub out_bps: u64,
}

/// A service as listed by the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEntry {
    /// Its configuration.
    pub service: Service,
    /// Its counters.
    pub stats: Stats,
}

/// A destination as listed by the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestEntry {
    /// Its configuration.
    pub dest: Dest,
    /// Active connections.
    pub active_conns: u32,
    /// Inactive connections.
    pub inactive_conns: u32,
    /// Persistent connection templates.
    pub persist_conns: u32,
    /// Its counters.
    pub stats: Stats,
}

/// `ipvsadm --version`-like information (`u32` host order attributes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    /// IPVS version as `0x00MMmmpp` (1.2.1 = 0x010201).
    pub version: u32,
    /// Connection hash table size.
    pub conn_tab_size: u32,
}

impl Info {
    /// The version as (major, minor, patch).
    pub fn version_triple(&self) -> (u8, u8, u8) {
        let v = self.version;
        ((v >> 16) as u8, (v >> 8) as u8, v as u8)
    }
}

/// Connection timeouts in seconds (`u32` host order); 0 in a set request = unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timeouts {
    /// Established TCP.
    pub tcp: u32,
    /// TCP after FIN.
    pub tcp_fin: u32,
    /// UDP.
    pub udp: u32,
}

/// Role of a connection-synchronisation daemon (`u32` on the wire: 1 master, 2 backup).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SyncState {
    /// Sends connection state.
    Master,
    /// Receives it.
    Backup,
}

impl SyncState {
    pub(crate) fn raw(self) -> u32 {
        match self {
            SyncState::Master => 1,
            SyncState::Backup => 2,
        }
    }
}

/// A connection sync daemon (the kernel's director-to-director state sync).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncDaemon {
    /// Master or backup.
    pub state: SyncState,
    /// Multicast interface name (NUL-terminated string, < 16 bytes).
    pub interface: String,
    /// Sync id (`u32` host order; the kernel uses the low 8 bits).
    pub sync_id: u32,
    /// Maximum UDP payload (`u16` host order); `None` = kernel default.
    pub max_len: Option<u16>,
    /// Multicast group: IPv4 as 4 network-order bytes, IPv6 as 16; `None` = 224.0.0.81.
    pub group: Option<IpAddr>,
    /// Multicast UDP port (`u16` host order); `None` = 8848.
    pub port: Option<u16>,
    /// Multicast TTL (`u8`); `None` = 1.
    pub ttl: Option<u8>,
}

impl SyncDaemon {
    /// A daemon with kernel defaults for everything but role, interface and id.
    pub fn new(state: SyncState, interface: &str, sync_id: u32) -> Self {
        SyncDaemon {
            state,
            interface: interface.into(),
            sync_id,
            max_len: None,
            group: None,
            port: None,
            ttl: None,
        }
    }
}

pub(crate) fn v4_mask(prefix: u8) -> Ipv4Addr {
    let p = u32::from(prefix.min(32));
    let m = if p == 0 { 0 } else { u32::MAX << (32 - p) };
    Ipv4Addr::from(m)
}

pub(crate) fn v4_prefix(mask: Ipv4Addr) -> u8 {
    u32::from(mask).leading_ones() as u8
}
