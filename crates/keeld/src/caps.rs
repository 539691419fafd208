//! Dropping the capabilities keeld does not need, right after start.
//!
//! keeld keeps, of what it was given:
//! * `CAP_NET_ADMIN`: addresses, routes, macvlans, IPVS, forced socket buffer sizes;
//! * `CAP_NET_RAW`: raw VRRP sockets, AF_PACKET gratuitous ARP, `SO_BINDTODEVICE`;
//! * `CAP_NET_BIND_SERVICE`: health checks with a low `bind_port`;
//! * `CAP_SETUID`, `CAP_SETGID`: running scripts as `script_user`;
//! * `CAP_KILL`: ending a script that overruns its timeout.
//!
//! Everything else leaves the effective, permitted, inheritable and ambient sets,
//! and the bounding set too (when keeld may change it, i.e. has `CAP_SETPCAP`): a
//! script that runs as root gets its capabilities from the bounding set at
//! `execve`, so notify and tracking scripts run as root get at most [`KEEP`]
//! (network administration, raw sockets, low ports, changing user, signals), never
//! `CAP_SYS_ADMIN`, `CAP_SYS_MODULE`, `CAP_DAC_OVERRIDE` and the rest. keepalived
//! leaves the bounding set alone; a script that needs more than this has to get it
//! from a service of its own (e.g. `systemctl restart`, which asks PID 1).
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
    if caps::has_cap(None, CapSet::Effective, Capability::CAP_SETPCAP)? {
        for c in caps::read(None, CapSet::Bounding)? {
            if !KEEP.contains(&c) {
                caps::drop(None, CapSet::Bounding, c)?;
            }
        }
    }
    caps::clear(None, CapSet::Ambient)?;
    caps::clear(None, CapSet::Inheritable)?;
    caps::set(None, CapSet::Effective, &keep)?;
    caps::set(None, CapSet::Permitted, &keep)?;
    let mut names: Vec<String> = keep.iter().map(ToString::to_string).collect();
    names.sort();
    Ok(names)
}
