//! keepalived.conf's model (keel-conf) as the director's spec (feature `conf`).
//!
//! ```
//! use keel_director::{DirectorSpec, VirtualServerSpec};
//!
//! let text = "virtual_server 192.0.2.250 80 {
//!     lb_kind DR
//!     real_server 192.0.2.12 80 { TCP_CHECK { } }
//! }";
//! let cfg = keel_conf::load_str("t.conf", text, &keel_conf::LoadOptions::default()).config;
//! let vs = VirtualServerSpec::try_from(&cfg.virtual_servers[0])?;
//! assert_eq!(vs.label, "[192.0.2.250]:tcp:80");
//! let spec = DirectorSpec::try_from(&cfg)?;
//! assert_eq!(spec.virtual_servers, vec![vs]);
//! # Ok::<(), keel_director::ConfError>(())
//! ```
use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

use keel_check::RealServerCheck;
use keel_conf::model as conf;
use keel_ipvs::{Family, Persistence, ServiceKey, SyncDaemon, SyncState};

use crate::spec::{
    DirectorSpec, RealServerSpec, Script, SyncDaemonSpec, VirtualServerSpec, check_proto,
};

/// Why a virtual server of the configuration is left out. `Display` is keel's log line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfError {
    /// `virtual_server group NAME` without that group.
    #[error("virtual_server group {0}: no virtual_server_group {0}: skipped")]
    NoGroup(String),
    /// `ADDR-END` with END below ADDR's last part.
    #[error(
        "virtual_server_group {name}: address range end is less than address range start ({addr}-{end}): skipped"
    )]
    BadRange {
        /// The group.
        name: String,
        /// The first address.
        addr: IpAddr,
        /// The given end.
        end: u16,
    },
    /// A group without members.
    #[error("virtual server group {0} has no entries: skipped")]
    EmptyGroup(String),
    /// A checker keel-check cannot run (left out by [`DirectorSpec::from_config`]).
    #[error("{keyword} on {server} of VS {virtual_server}: {error} - ignoring the checker")]
    Checker {
        /// `HTTP_GET`, `DNS_CHECK`, ...
        keyword: &'static str,
        /// The real server's label.
        server: String,
        /// The virtual server's label.
        virtual_server: String,
        /// Why.
        error: keel_check::Error,
    },
    /// A MISC_CHECK without `user` whose default script user cannot be used (left
    /// out by [`DirectorSpec::from_config_for`]).
    #[error("MISC_CHECK on {server} of VS {virtual_server}: {error} - ignoring the checker")]
    MiscUser {
        /// The real server's label.
        server: String,
        /// The virtual server's label.
        virtual_server: String,
        /// Why.
        error: keel_script::UserError,
    },
    /// `TryFrom<&VirtualServer>` on `virtual_server group NAME`: the groups are needed
    /// ([`virtual_server`] or `DirectorSpec::try_from(&Config)`).
    #[error("virtual_server group {0}: convert it with its virtual_server_group")]
    NeedsGroups(String),
}

impl From<&conf::Script> for Script {
    fn from(s: &conf::Script) -> Script {
        Script {
            command: s.command.clone(),
            user: s.user.as_ref().map(|u| u.user.clone()),
            group: s.user.as_ref().and_then(|u| u.group.clone()),
        }
    }
}

impl TryFrom<&conf::VirtualServer> for VirtualServerSpec {
    type Error = ConfError;
    fn try_from(vs: &conf::VirtualServer) -> Result<Self, ConfError> {
        if let conf::VsAddr::Group(name) = &vs.addr {
            return Err(ConfError::NeedsGroups(name.clone()));
        }
        virtual_server(vs, &[])
    }
}

impl TryFrom<&conf::Config> for DirectorSpec {
    type Error = ConfError;
    /// Every virtual server and the sync daemon; the first virtual server that cannot
    /// be converted is the error ([`DirectorSpec::from_config`] skips it instead).
    fn try_from(cfg: &conf::Config) -> Result<Self, ConfError> {
        let (spec, mut errors) = DirectorSpec::from_config(cfg);
        match errors.is_empty() {
            true => Ok(spec),
            false => Err(errors.remove(0)),
        }
    }
}

/// Which of keepalived's halves a process runs: `checkers` (virtual servers,
/// keepalived's checker process; off with `-P`) and `vrrp` (the VRRP-driven sync
/// daemon, keepalived's VRRP process; off with `-C`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Roles {
    /// Virtual servers, `lvs_flush` and a sync daemon without an instance.
    pub checkers: bool,
    /// A sync daemon tied to an instance.
    pub vrrp: bool,
}

impl Roles {
    /// Both halves (one keepalived process doing everything).
    pub const BOTH: Roles = Roles {
        checkers: true,
        vrrp: true,
    };

    /// The halves to run.
    pub const fn new(checkers: bool, vrrp: bool) -> Roles {
        Roles { checkers, vrrp }
    }

    /// The part of `cfg` these halves act on. Without the checkers (`-P`): no
    /// virtual server, no `lvs_flush`, no sync daemon without an instance. Without
    /// VRRP (`-C`): no sync daemon tied to an instance.
    pub fn view(self, cfg: &conf::Config) -> conf::Config {
        let mut c = cfg.clone();
        if !self.checkers {
            c.virtual_servers.clear();
            c.virtual_server_groups.clear();
            c.global.lvs_flush = false;
        }
        // keepalived: the VRRP process runs a sync daemon tied to an instance, the
        // checker process one without (master and backup together).
        let tied = c
            .global
            .lvs_sync_daemon
            .as_ref()
            .is_some_and(|s| s.vrrp_instance.is_some());
        if (tied && !self.vrrp) || (!tied && !self.checkers) {
            c.global.lvs_sync_daemon = None;
        }
        c
    }
}

impl DirectorSpec {
    /// What a keepalived process with `roles` runs: [`DirectorSpec::from_config`] of
    /// the part of `cfg` they act on, with every MISC_CHECK written without `user`
    /// given the default script user (`script_user`, else `keepalived_script`, else
    /// root unless `enable_script_security`), as keepalived does; a check without a
    /// usable one is left out ([`ConfError::MiscUser`]).
    pub fn from_config_for(cfg: &conf::Config, roles: Roles) -> (DirectorSpec, Vec<ConfError>) {
        let (mut spec, mut errors) = DirectorSpec::from_config(&roles.view(cfg));
        let g = cfg
            .global
            .script_user
            .as_ref()
            .map(|u| (u.user.as_str(), u.group.as_deref()));
        let default = keel_script::DefaultUser::resolve(g, cfg.global.enable_script_security);
        for vs in &mut spec.virtual_servers {
            let label = vs.label.clone();
            for rs in &mut vs.real_servers {
                rs.checks.retain_mut(|c| {
                    let keel_check::CheckSpec::Misc(m) = &mut c.spec else {
                        return true;
                    };
                    match (&m.user, &default) {
                        (Some(_), _) => true,
                        (None, Ok(d)) => {
                            m.user = d.user().cloned();
                            true
                        }
                        (None, Err(error)) => {
                            errors.push(ConfError::MiscUser {
                                server: format!(
                                    "[{}]:{}:{}",
                                    c.target.ip(),
                                    c.proto.as_str(),
                                    c.target.port()
                                ),
                                virtual_server: label.clone(),
                                error: error.clone(),
                            });
                            false
                        }
                    }
                });
            }
        }
        (spec, errors)
    }

    /// Every virtual server that converts, the `lvs_sync_daemon` and `lvs_flush`,
    /// with the reasons the others (and checkers keel-check cannot run) were left out
    /// (keeld logs them).
    pub fn from_config(cfg: &conf::Config) -> (DirectorSpec, Vec<ConfError>) {
        let mut errors = Vec::new();
        let virtual_servers = cfg
            .virtual_servers
            .iter()
            .filter_map(|v| {
                let mut ignored = Vec::new();
                let r = convert(v, &cfg.virtual_server_groups, &mut ignored);
                errors.append(&mut ignored);
                r.map_err(|e| errors.push(e)).ok()
            })
            .collect();
        let spec = DirectorSpec {
            virtual_servers,
            sync_daemon: sync_daemon(cfg),
            flush_at_start: cfg.global.lvs_flush,
        };
        (spec, errors)
    }
}

/// `lvs_sync_daemon`: the sync id defaults to its instance's virtual_router_id (0
/// without an instance), as in keepalived.
fn sync_daemon(cfg: &conf::Config) -> Option<SyncDaemonSpec> {
    let s = cfg.global.lvs_sync_daemon.as_ref()?;
    let id = s.id.map(u32::from).unwrap_or_else(|| {
        cfg.vrrp_instances
            .iter()
            .find(|i| s.vrrp_instance.as_ref() == Some(&i.name))
            .map_or(0, |i| u32::from(i.virtual_router_id))
    });
    let mut d = SyncDaemon::new(SyncState::Backup, &s.interface, id);
    d.max_len = s.maxlen;
    d.port = s.port;
    d.ttl = s.ttl;
    d.group = s.group;
    Some(SyncDaemonSpec::new(d, s.vrrp_instance.clone()))
}

/// One virtual server, its `virtual_server_group` (if any) expanded from `groups`; a
/// checker keel-check cannot run is an error ([`DirectorSpec::from_config`] leaves
/// such a checker out instead).
pub fn virtual_server(
    vs: &conf::VirtualServer,
    groups: &[conf::VirtualServerGroup],
) -> Result<VirtualServerSpec, ConfError> {
    let mut ignored = Vec::new();
    let spec = convert(vs, groups, &mut ignored)?;
    match ignored.is_empty() {
        true => Ok(spec),
        false => Err(ignored.remove(0)),
    }
}

/// `ignored`: the checkers left out.
fn convert(
    vs: &conf::VirtualServer,
    groups: &[conf::VirtualServerGroup],
    ignored: &mut Vec<ConfError>,
) -> Result<VirtualServerSpec, ConfError> {
    let (services, label, protocol) = vs_keys(vs, groups)?;
    let mut persistence = None;
    if let Some(t) = vs.persistence_timeout {
        let full = match services[0].family() {
            Family::Inet => 32,
            Family::Inet6 => 128,
        };
        let prefix_len = match vs.persistence_granularity {
            Some(IpAddr::V4(m)) => u32::from(m).leading_ones() as u8,
            _ => full,
        };
        persistence = Some(Persistence {
            timeout: t,
            prefix_len,
        });
    }
    let proto = check_proto(protocol);
    let mut real_servers = Vec::new();
    for r in &vs.real_servers {
        let addr = SocketAddr::new(r.addr, r.port);
        let mut checks = Vec::new();
        for c in &r.checkers {
            let spec = match keel_check::conf::check_spec(c, vs) {
                Ok(s) => s,
                Err(error) => {
                    ignored.push(ConfError::Checker {
                        keyword: c.kind.keyword(),
                        server: format!("[{}]:{}:{}", r.addr, proto.as_str(), r.port),
                        virtual_server: label.clone(),
                        error,
                    });
                    continue;
                }
            };
            // The id is the director's; 0 here.
            let mut k = RealServerCheck::new(keel_check::CheckId(0), addr, spec);
            k.proto = proto;
            k.virtual_server = Some(label.clone());
            k.delay_loop = c.effective_delay_loop(vs, r);
            k.retry = Some(c.effective_retry(vs));
            k.delay_before_retry = Some(c.effective_delay_before_retry_in(vs, r));
            k.warmup = c.warmup.or(vs.warmup);
            k.alpha = vs.alpha;
            checks.push(k);
        }
        real_servers.push(RealServerSpec {
            addr,
            weight: r.weight,
            inhibit_on_failure: r.inhibit_on_failure.unwrap_or(vs.inhibit_on_failure),
            notify_up: r.notify_up.as_deref().map(Script::from),
            notify_down: r.notify_down.as_deref().map(Script::from),
            checks,
            external: false,
        });
    }
    Ok(VirtualServerSpec {
        label,
        services,
        protocol,
        scheduler: vs.lb_algo,
        persistence,
        forward: vs.lb_kind,
        quorum: vs.quorum,
        hysteresis: vs.hysteresis,
        sorry_server: vs
            .sorry_server
            .as_ref()
            .map(|s| SocketAddr::new(s.addr, s.port)),
        sorry_server_inhibit: vs.sorry_server_inhibit,
        quorum_up: vs.quorum_up.as_deref().map(Script::from),
        quorum_down: vs.quorum_down.as_deref().map(Script::from),
        omega: vs.omega,
        alpha: vs.alpha,
        ha_suspend: vs.ha_suspend,
        real_servers,
        anycast: vs.announce.is_some(),
    })
}

type Keys = (Vec<ServiceKey>, String, Option<keel_ipvs::Protocol>);

/// The IPVS services of one virtual server, keepalived's label and the real
/// servers' protocol (`None` for a fwmark).
fn vs_keys(
    vs: &conf::VirtualServer,
    groups: &[conf::VirtualServerGroup],
) -> Result<Keys, ConfError> {
    let protocol = vs.protocol;
    let addr_key = |addr: IpAddr, port: u16| ServiceKey::Addr {
        protocol,
        addr,
        port,
    };
    // A fwmark service's family: the real servers' (keepalived's default is IPv4).
    let fwm_family = match vs.real_servers.first().map(|r| r.addr) {
        Some(IpAddr::V6(_)) => Family::Inet6,
        _ => Family::Inet,
    };
    let label = |addr: IpAddr, port: u16| {
        format!("[{addr}]:{}:{port}", check_proto(Some(protocol)).as_str())
    };
    match &vs.addr {
        conf::VsAddr::Ip { addr, port } => Ok((
            vec![addr_key(*addr, *port)],
            label(*addr, *port),
            Some(protocol),
        )),
        conf::VsAddr::Fwmark(m) => Ok((
            vec![ServiceKey::fwmark(fwm_family, *m)],
            format!("FWM {m}"),
            None,
        )),
        conf::VsAddr::Group(name) => {
            let Some(g) = groups.iter().find(|g| g.name == *name) else {
                return Err(ConfError::NoGroup(name.clone()));
            };
            let mut keys = Vec::new();
            for e in &g.entries {
                match e {
                    conf::VsgEntry::Fwmark(m) => keys.push(ServiceKey::fwmark(fwm_family, *m)),
                    conf::VsgEntry::Range {
                        addr,
                        range_end,
                        port,
                    } => match group_range(*addr, *range_end) {
                        Some(addrs) => keys.extend(addrs.into_iter().map(|a| addr_key(a, *port))),
                        None => {
                            return Err(ConfError::BadRange {
                                name: name.clone(),
                                addr: *addr,
                                end: range_end.unwrap_or(0),
                            });
                        }
                    },
                }
            }
            let mut seen = BTreeSet::new();
            keys.retain(|k| seen.insert(*k));
            if keys.is_empty() {
                return Err(ConfError::EmptyGroup(name.clone()));
            }
            // keepalived's FMT_VS for a group: the name and the (unset) port.
            Ok((keys, format!("[{name}]:0"), Some(protocol)))
        }
    }
}

/// The addresses of a `virtual_server_group` entry `ADDR[-END]`: END replaces the
/// last byte (IPv4) or the last 16-bit group (IPv6). `None` when END < start.
pub(crate) fn group_range(addr: IpAddr, end: Option<u16>) -> Option<Vec<IpAddr>> {
    let Some(end) = end else {
        return Some(vec![addr]);
    };
    match addr {
        IpAddr::V4(a) => {
            let o = a.octets();
            let end = u8::try_from(end).ok()?;
            (o[3] <= end).then(|| {
                (o[3]..=end)
                    .map(|x| IpAddr::from([o[0], o[1], o[2], x]))
                    .collect()
            })
        }
        IpAddr::V6(a) => {
            let mut g = a.segments();
            let first = g[7];
            (first <= end).then(|| {
                (first..=end)
                    .map(|x| {
                        g[7] = x;
                        IpAddr::from(g)
                    })
                    .collect()
            })
        }
    }
}
