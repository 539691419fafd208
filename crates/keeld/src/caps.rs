//! Dropping the capabilities keeld does not need, right after start.
//!
//! keeld keeps, of what it was given:
//! * `CAP_NET_ADMIN`: addresses, routes, macvlans, IPVS, forced socket buffer sizes;
//! * `CAP_NET_RAW`: raw VRRP sockets, AF_PACKET gratuitous ARP, `SO_BINDTODEVICE`;
//! * `CAP_NET_BIND_SERVICE`: health checks with a low `bind_port`;
//! * `CAP_SETUID`, `CAP_SETGID`: running scripts as `script_user`;
//! * `CAP_KILL`: ending a script that overruns its timeout.
//!
//! Everything else leaves the effective, permitted, inheritable and ambient sets.
//! The bounding set is left as the service manager gave it (the systemd unit
//! narrows it): a script that runs as root gets its capabilities from the bounding
//! set at `execve`, and operators' notify scripts expect root's usual powers, as
//! with keepalived.
//!
//! Capabilities are per thread: call [`drop_unneeded`] before any other thread
//! (the async runtime's included) exists, so every later thread inherits them.
use caps::{CapSet, Capability, CapsHashSet};

/// The capabilities keeld keeps (when it has them).
pub const KEEP: [Capability; 6] = [
    Capability::CAP_NET_ADMIN,
    Capability::CAP_NET_RAW,
    Capability::CAP_NET_BIND_SERVICE,
    Capability::CAP_SETUID,
    Capability::CAP_SETGID,
    Capability::CAP_KILL,
];

/// Reduce this thread's capabilities (the whole process's, when called before
/// threads start) to [`KEEP`]. Never adds one it does not have. Returns the names
/// kept, sorted, for the log.
pub fn drop_unneeded() -> Result<Vec<String>, caps::errors::CapsError> {
    let have = caps::read(None, CapSet::Permitted)?;
    let keep: CapsHashSet = KEEP.into_iter().filter(|c| have.contains(c)).collect();
    caps::clear(None, CapSet::Ambient)?;
    caps::clear(None, CapSet::Inheritable)?;
    caps::set(None, CapSet::Effective, &keep)?;
    caps::set(None, CapSet::Permitted, &keep)?;
    let mut names: Vec<String> = keep.iter().map(ToString::to_string).collect();
    names.sort();
    Ok(names)
}
