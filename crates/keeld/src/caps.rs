//! Dropping the capabilities keeld does not need, right after start.
//!
//! keeld itself needs only `CAP_NET_ADMIN` (addresses, routes, macvlans, IPVS,
//! forced socket buffer sizes) and `CAP_NET_RAW` (raw VRRP sockets, AF_PACKET
//! gratuitous ARP, `SO_BINDTODEVICE`). When the configuration has scripts
//! (notify, vrrp_script, MISC_CHECK, quorum scripts) it also keeps
//! `CAP_SETUID`/`CAP_SETGID` (to run them as `script_user`) and `CAP_KILL` (to
//! end one that overruns its timeout).
//!
//! Everything else is removed from the effective, permitted and inheritable
//! sets and from the ambient set. The bounding set is cleared too when there are
//! no scripts; with scripts it is left as the service manager gave it, because a
//! script that runs as root gets its capabilities from the bounding set at
//! `execve`, and operators' notify scripts expect root's usual powers (as with
//! keepalived). The systemd unit narrows the bounding set itself.
//!
//! Capabilities are per thread: call [`drop_unneeded`] before any other thread
//! (the async runtime's included) exists, so every later thread inherits the
//! reduced sets.
use caps::{CapSet, Capability, CapsHashSet};

/// What was kept, for the log.
#[derive(Debug)]
pub struct Kept(pub Vec<String>);

/// Reduce this thread's (= the whole process's, when called before threads start)
/// capabilities to what keeld needs. Never adds a capability it does not have.
pub fn drop_unneeded(scripts: bool) -> Result<Kept, caps::errors::CapsError> {
    let mut want: CapsHashSet = [Capability::CAP_NET_ADMIN, Capability::CAP_NET_RAW]
        .into_iter()
        .collect();
    if scripts {
        want.extend([
            Capability::CAP_SETUID,
            Capability::CAP_SETGID,
            Capability::CAP_KILL,
        ]);
    }
    let have = caps::read(None, CapSet::Permitted)?;
    let keep: CapsHashSet = want.intersection(&have).copied().collect();
    caps::clear(None, CapSet::Ambient)?;
    caps::clear(None, CapSet::Inheritable)?;
    if !scripts {
        for c in caps::read(None, CapSet::Bounding)? {
            if !keep.contains(&c) {
                caps::drop(None, CapSet::Bounding, c)?;
            }
        }
    }
    caps::set(None, CapSet::Effective, &keep)?;
    caps::set(None, CapSet::Permitted, &keep)?;
    let mut names: Vec<String> = keep.iter().map(ToString::to_string).collect();
    names.sort();
    Ok(Kept(names))
}
