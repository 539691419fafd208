//! Desired-state reconcile: compute the minimal list of [`Op`]s that turns
//! the kernel's table into the desired one, and apply it.
//!
//! * A destination whose weight, thresholds or forwarding changed is edited
//!   in place ([`Op::SetDest`]), so its connections survive; likewise a
//!   service whose scheduler/flags/persistence changed ([`Op::SetService`]).
//! * Only services keel owns are touched: those in the desired state plus the
//!   keys in [`Options::owned`] (e.g. what keel created before a restart);
//!   with [`Options::all`] every other kernel service is deleted too.
//! * A reconcile whose target equals the kernel's state sends no write request.
use crate::client::Ipvs;
use crate::error::Error;
use crate::types::{Dest, Family, Service, ServiceFlags, ServiceKey};
use crate::wire::Op;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

/// A service with its destinations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualService {
    /// The service.
    pub service: Service,
    /// Its destinations.
    pub dests: Vec<Dest>,
}

/// What a reconcile may touch besides the desired services.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Kernel services keel owns: deleted when no longer desired.
    pub owned: BTreeSet<ServiceKey>,
    /// Manage every kernel service: delete all that are not desired.
    pub all: bool,
}

/// An ordered list of operations (deletions first, then edits, then additions).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The operations, in the order they are applied.
    pub ops: Vec<Op>,
}

impl Plan {
    /// True when nothing needs to change.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

impl fmt::Display for Plan {
    /// One line per operation; "no changes" when empty (a dry run prints this).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ops.is_empty() {
            return writeln!(f, "no changes");
        }
        for op in &self.ops {
            writeln!(f, "{op}")?;
        }
        Ok(())
    }
}

/// Compute the plan turning `current` into `desired` (pure; runs anywhere).
pub fn plan(desired: &[VirtualService], current: &[VirtualService], opts: &Options) -> Plan {
    let want: BTreeMap<ServiceKey, &VirtualService> =
        desired.iter().map(|v| (v.service.key, v)).collect();
    let have: BTreeMap<ServiceKey, &VirtualService> =
        current.iter().map(|v| (v.service.key, v)).collect();
    let (mut del_d, mut del_s, mut set_s, mut new_s, mut set_d, mut new_d) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for (k, h) in &have {
        if !want.contains_key(k) && (opts.all || opts.owned.contains(k)) {
            del_s.push(Op::DelService(*k));
        }
        let _ = h;
    }
    for (k, w) in &want {
        let wd: BTreeMap<(IpAddr, u16), &Dest> =
            w.dests.iter().map(|d| ((d.addr, d.port), d)).collect();
        match have.get(k) {
            None => {
                new_s.push(Op::NewService(w.service.clone()));
                new_d.extend(wd.values().map(|d| Op::NewDest(*k, (*d).clone())));
            }
            Some(h) => {
                if normalized(&h.service) != normalized(&w.service) {
                    set_s.push(Op::SetService(w.service.clone()));
                }
                let hd: BTreeMap<(IpAddr, u16), &Dest> =
                    h.dests.iter().map(|d| ((d.addr, d.port), d)).collect();
                for (dk, d) in &hd {
                    if !wd.contains_key(dk) {
                        del_d.push(Op::DelDest(*k, d.addr, d.port));
                    }
                }
                for (dk, d) in &wd {
                    match hd.get(dk) {
                        None => new_d.push(Op::NewDest(*k, (*d).clone())),
                        Some(old) if old != d => set_d.push(Op::SetDest(*k, (*d).clone())),
                        Some(_) => {}
                    }
                }
            }
        }
    }
    let mut ops = del_d;
    ops.extend(del_s);
    ops.extend(set_s);
    ops.extend(new_s);
    ops.extend(set_d);
    ops.extend(new_d);
    Plan { ops }
}

/// A service as the kernel will store it (flags it does not keep dropped,
/// prefix clamped to the family), so that a round trip compares equal.
fn normalized(s: &Service) -> Service {
    let mut s = s.clone();
    s.flags = ServiceFlags(s.flags.0 & ServiceFlags::ALL.0);
    if let Some(p) = &mut s.persistence {
        p.prefix_len = p.prefix_len.min(match s.key.family() {
            Family::Inet => 32,
            Family::Inet6 => 128,
        });
    }
    s.pe_name = s.pe_name.filter(|n| !n.is_empty());
    s
}

/// Apply a plan in batches (see [`Ipvs::execute`]).
pub fn apply(ipvs: &mut Ipvs, plan: &Plan) -> Result<(), Error> {
    ipvs.execute(&plan.ops).map(drop)
}

impl Ipvs {
    /// The kernel's services with their destinations, as reconcile sees them.
    pub fn current(&mut self) -> Result<Vec<VirtualService>, Error> {
        Ok(self
            .list()?
            .into_iter()
            .map(|(s, d)| VirtualService {
                service: s.service,
                dests: d.into_iter().map(|d| d.dest).collect(),
            })
            .collect())
    }

    /// Read the kernel's state, plan, and (unless `dry_run`) apply. Returns the plan.
    pub fn reconcile(
        &mut self,
        desired: &[VirtualService],
        opts: &Options,
        dry_run: bool,
    ) -> Result<Plan, Error> {
        let cur = self.current()?;
        let p = plan(desired, &cur, opts);
        if !dry_run {
            apply(self, &p)?;
        }
        Ok(p)
    }
}
