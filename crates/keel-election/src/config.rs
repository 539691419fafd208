//! Instance configuration (what keepalived's `vrrp_instance` block says,
//! reduced to what the election needs).

use std::net::IpAddr;
use std::time::Duration;

/// VRRP protocol version (keel-packet's type, re-exported).
pub use keel_packet::Version;

/// keepalived's `state MASTER|BACKUP` hint.
///
/// Measured keepalived behaviour (and keel's): the hint does not make a node
/// master at startup; every instance starts in Backup and waits its
/// Master_Down_Interval, except the address owner (priority 255) which goes
/// straight to Master (RFC 5798 §6.4.1). The hint is kept so that a
/// configuration round-trips and for `Reload` comparison.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum InitialState {
    /// `state BACKUP` (keepalived's default).
    #[default]
    Backup,
    /// `state MASTER`.
    Master,
}

/// v2 authentication configured on the instance (ignored for v3, as keepalived does).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AuthConfig {
    /// No authentication (auth type 0).
    #[default]
    None,
    /// `auth_type PASS`: the 8-byte key, NUL padded.
    Pass([u8; 8]),
}

impl AuthConfig {
    /// A PASS key from a password string: truncated to 8 bytes, NUL padded,
    /// exactly as keepalived puts it on the wire.
    pub fn pass(password: &str) -> Self {
        let mut key = [0u8; 8];
        for (k, b) in key.iter_mut().zip(password.as_bytes()) {
            *k = *b;
        }
        AuthConfig::Pass(key)
    }
}

/// Identifier of a tracked object (interface, script, sync-group tracker),
/// chosen by the daemon.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TrackId(pub u32);

/// A tracked object and its weight (keepalived `track_interface`/`track_script`).
///
/// * `weight > 0`: added to the priority while the object is **up**.
/// * `weight < 0`: added (i.e. subtracted) while the object is **down**.
/// * `weight == 0`: the instance goes to Fault while the object is down.
///
/// The effective priority is clamped to 1..=254; an owner (base 255) is never changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Track {
    /// Which object.
    pub id: TrackId,
    /// Its weight (see the type docs).
    pub weight: i32,
    /// Initial status before the daemon reports one (keepalived assumes up).
    pub initially_up: bool,
}

impl Track {
    /// A tracked object that starts up.
    pub fn new(id: TrackId, weight: i32) -> Self {
        Track {
            id,
            weight,
            initially_up: true,
        }
    }
}

/// Configuration of one VRRP instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceConfig {
    /// keepalived's instance name (`VI_1`); appears in every log line.
    pub name: String,
    /// Virtual router id, 1..=255.
    pub vrid: u8,
    /// Protocol version.
    pub version: Version,
    /// Configured priority, 1..=255 (255 = address owner).
    pub base_priority: u8,
    /// Advertisement interval in centiseconds (v2: rounded up to whole seconds, as keepalived does).
    pub adver_int_cs: u16,
    /// The virtual addresses (compared with the address list of received adverts).
    pub vips: Vec<IpAddr>,
    /// This router's primary address on the interface: the advert source and the tie-breaker.
    pub primary_addr: IpAddr,
    /// keepalived's `state` hint (see [`InitialState`]).
    pub initial: InitialState,
    /// `nopreempt`: a Backup never takes over from a lower-priority master.
    pub nopreempt: bool,
    /// `preempt_delay`: after startup or after first seeing a lower-priority
    /// master, keep accepting its adverts for this long before preempting.
    pub preempt_delay: Duration,
    /// v2 authentication.
    pub auth: AuthConfig,
    /// `unicast_peer`: when non-empty, adverts go to each peer instead of multicast.
    pub unicast_peers: Vec<IpAddr>,
    /// `garp_master_delay`: second gratuitous burst this long after becoming
    /// master (keepalived default 5 s; `None` = no second burst).
    pub garp_master_delay: Option<Duration>,
    /// `garp_master_repeat`: gratuitous messages per burst (keepalived default 5).
    pub garp_repeat: u32,
    /// `garp_master_refresh`: periodic gratuitous refresh while master (`None` = off).
    pub garp_refresh: Option<Duration>,
    /// `garp_master_refresh_repeat` (keepalived default 1).
    pub garp_refresh_repeat: u32,
    /// `garp_interval`: spacing between the messages of one burst (default 0).
    pub garp_interval: Duration,
    /// `vrrp_lower_prio_no_advert`: a master that hears a lower-priority advert
    /// does NOT answer it at once (keepalived default false: it answers).
    pub lower_prio_no_advert: bool,
    /// Tracked objects and their weights.
    pub tracks: Vec<Track>,
}

impl InstanceConfig {
    /// The defaults keepalived applies, for the given name, vrid, priority and primary address:
    /// v2, advert_int 1 s, no VIPs, Backup hint, preemption on, no auth, multicast,
    /// garp_master_delay 5 s, garp_master_repeat 5.
    pub fn new(name: &str, vrid: u8, base_priority: u8, primary_addr: IpAddr) -> Self {
        InstanceConfig {
            name: name.to_owned(),
            vrid,
            version: Version::V2,
            base_priority,
            adver_int_cs: 100,
            vips: Vec::new(),
            primary_addr,
            initial: InitialState::Backup,
            nopreempt: false,
            preempt_delay: Duration::ZERO,
            auth: AuthConfig::None,
            unicast_peers: Vec::new(),
            garp_master_delay: Some(Duration::from_secs(5)),
            garp_repeat: 5,
            garp_refresh: None,
            garp_refresh_repeat: 1,
            garp_interval: Duration::ZERO,
            lower_prio_no_advert: false,
            tracks: Vec::new(),
        }
    }

    /// Checks the values the state machine relies on.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.vrid == 0 {
            return Err(ConfigError::VridZero);
        }
        if self.base_priority == 0 {
            return Err(ConfigError::PriorityZero);
        }
        let max = match self.version {
            Version::V2 => 255 * 100,
            Version::V3 => 4095,
        };
        if self.adver_int_cs == 0 || self.adver_int_cs > max {
            return Err(ConfigError::BadAdverInt(self.adver_int_cs));
        }
        if self
            .vips
            .iter()
            .any(|v| v.is_ipv4() != self.primary_addr.is_ipv4())
        {
            return Err(ConfigError::MixedFamilies);
        }
        if self.version == Version::V2 && !self.primary_addr.is_ipv4() {
            return Err(ConfigError::V2NeedsIpv4);
        }
        Ok(())
    }

    /// A copy with the values keepalived corrects silently put right:
    /// vrid/priority 0 → 1, interval 0 → 1 (v3) / 100 (v2), v2 interval
    /// rounded up to whole seconds (keepalived: `advert_int 0.1` → 1 s), v3 capped at 4095 cs.
    pub fn normalized(mut self) -> Self {
        self.vrid = self.vrid.max(1);
        self.base_priority = self.base_priority.max(1);
        match self.version {
            Version::V2 => {
                let secs = self.adver_int_cs.div_ceil(100).clamp(1, 255);
                self.adver_int_cs = secs * 100;
            }
            Version::V3 => self.adver_int_cs = self.adver_int_cs.clamp(1, 4095),
        }
        self
    }

    /// Fields whose change makes the instance a different virtual router
    /// (a `Reload` then restarts it instead of keeping its state).
    pub(crate) fn same_router(&self, other: &InstanceConfig) -> bool {
        self.vrid == other.vrid
            && self.version == other.version
            && self.primary_addr == other.primary_addr
            && self.name == other.name
    }
}

/// Why a configuration cannot drive an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `virtual_router_id` must be 1..=255.
    #[error("virtual router id 0 is invalid")]
    VridZero,
    /// `priority` must be 1..=255.
    #[error("priority 0 is reserved for the shutdown advert")]
    PriorityZero,
    /// Interval out of range (v2: 1..=255 s, v3: 1..=4095 cs).
    #[error("advertisement interval {0} cs is out of range")]
    BadAdverInt(u16),
    /// VIPs and primary address are not all of one family.
    #[error("virtual addresses and primary address mix IPv4 and IPv6")]
    MixedFamilies,
    /// VRRPv2 is IPv4 only.
    #[error("VRRPv2 supports IPv4 only")]
    V2NeedsIpv4,
}
