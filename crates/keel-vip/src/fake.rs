//! An in-memory [`VipControl`] for tests of code that drives VIPs.

use crate::{Errno, Error, Link, Op, Outcome, Vip, VipControl, VirtualRoute, Vmac};

/// In-memory [`VipControl`]: behaves like the kernel for identity
/// (interface, address, prefix) and idempotency, validates VIPs and routes
/// the same way, and records every call. VMACs become fake links numbered
/// from 1000.
#[derive(Debug, Default, Clone)]
pub struct FakeVips {
    addrs: Vec<(Vip, bool)>,
    /// Every successful change, in order: `(true, vip)` = added, `(false, vip)` = deleted.
    pub journal: Vec<(bool, Vip)>,
    /// Routes present, in the order they were added.
    pub routes: Vec<VirtualRoute>,
    /// VMAC interfaces present.
    pub vmacs: Vec<(Vmac, Link)>,
    fail_next: Option<Errno>,
}

impl FakeVips {
    /// Empty.
    pub fn new() -> FakeVips {
        FakeVips::default()
    }

    /// Put an address there as if someone else (not keel) had added it:
    /// `list` shows it, `list_stamped` does not.
    pub fn preload(&mut self, vip: Vip) {
        if !self.addrs.iter().any(|(v, _)| v.key() == vip.key()) {
            self.addrs.push((vip, false));
        }
    }

    /// Make the next `add` or `del` fail with `Error::Kernel { errno }`.
    pub fn fail_next(&mut self, errno: Errno) {
        self.fail_next = Some(errno);
    }

    fn injected(&mut self, op: Op) -> Result<(), Error> {
        match self.fail_next.take() {
            Some(errno) => Err(Error::Kernel { op, errno }),
            None => Ok(()),
        }
    }
}

impl VipControl for FakeVips {
    fn add(&mut self, vip: &Vip) -> Result<Outcome, Error> {
        vip.validate()?;
        self.injected(Op::AddAddress)?;
        if self.addrs.iter().any(|(v, _)| v.key() == vip.key()) {
            return Ok(Outcome::AlreadyPresent);
        }
        self.addrs.push((vip.clone(), true));
        self.journal.push((true, vip.clone()));
        Ok(Outcome::Done)
    }

    fn del(&mut self, vip: &Vip) -> Result<Outcome, Error> {
        vip.validate()?;
        self.injected(Op::DeleteAddress)?;
        match self.addrs.iter().position(|(v, _)| v.key() == vip.key()) {
            Some(i) => {
                let (v, _) = self.addrs.remove(i);
                self.journal.push((false, v));
                Ok(Outcome::Done)
            }
            None => Ok(Outcome::AlreadyAbsent),
        }
    }

    fn list(&mut self, ifindex: Option<u32>) -> Result<Vec<Vip>, Error> {
        Ok(self
            .addrs
            .iter()
            .filter(|(v, _)| ifindex.is_none_or(|i| v.ifindex == i))
            .map(|(v, _)| v.clone())
            .collect())
    }

    fn list_stamped(&mut self, ifindex: Option<u32>) -> Result<Vec<Vip>, Error> {
        Ok(self
            .addrs
            .iter()
            .filter(|(v, s)| *s && ifindex.is_none_or(|i| v.ifindex == i))
            .map(|(v, _)| v.clone())
            .collect())
    }

    fn add_route(&mut self, route: &VirtualRoute) -> Result<Outcome, Error> {
        route.validate()?;
        self.injected(Op::AddRoute)?;
        if self.routes.contains(route) {
            return Ok(Outcome::AlreadyPresent);
        }
        self.routes.push(route.clone());
        Ok(Outcome::Done)
    }

    fn del_route(&mut self, route: &VirtualRoute) -> Result<Outcome, Error> {
        route.validate()?;
        self.injected(Op::DeleteRoute)?;
        match self.routes.iter().position(|r| r == route) {
            Some(i) => {
                self.routes.remove(i);
                Ok(Outcome::Done)
            }
            None => Ok(Outcome::AlreadyAbsent),
        }
    }

    fn add_vmac(&mut self, vmac: &Vmac) -> Result<(Outcome, Link), Error> {
        if let Some((_, l)) = self.vmacs.iter().find(|(v, _)| v.name == vmac.name) {
            return Ok((Outcome::AlreadyPresent, l.clone()));
        }
        let index = 1000 + u32::try_from(self.vmacs.len()).unwrap_or(0);
        let link = Link {
            index,
            name: vmac.name.clone(),
            mac: Some(vmac.mac()),
            up: true,
            running: true,
            mtu: 1500,
            kind: Some("macvlan".into()),
            parent: Some(vmac.parent),
        };
        self.vmacs.push((vmac.clone(), link.clone()));
        Ok((Outcome::Done, link))
    }

    fn del_vmac(&mut self, index: u32) -> Result<Outcome, Error> {
        match self.vmacs.iter().position(|(_, l)| l.index == index) {
            Some(i) => {
                self.vmacs.remove(i);
                Ok(Outcome::Done)
            }
            None => Ok(Outcome::AlreadyAbsent),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InvalidVip;

    #[test]
    fn fake_is_idempotent_and_tracks_stamps() {
        let mut f = FakeVips::new();
        let a = Vip::new("192.0.2.250".parse().unwrap(), 2);
        let b = Vip::new("2001:db8::250".parse().unwrap(), 2);
        let foreign = Vip::new("198.51.100.1".parse().unwrap(), 3);
        f.preload(foreign.clone());
        assert_eq!(f.add(&a).unwrap(), Outcome::Done);
        assert_eq!(f.add(&a).unwrap(), Outcome::AlreadyPresent);
        assert_eq!(f.add(&b).unwrap(), Outcome::Done);
        assert_eq!(f.list(None).unwrap().len(), 3);
        assert_eq!(f.list(Some(3)).unwrap(), vec![foreign.clone()]);
        assert_eq!(f.list_stamped(None).unwrap(), vec![a.clone(), b.clone()]);
        // Same address, other prefix: a different address for the kernel too.
        assert_eq!(
            f.del(&a.clone().with_prefix(24)).unwrap(),
            Outcome::AlreadyAbsent
        );
        assert_eq!(f.del(&a).unwrap(), Outcome::Done);
        assert_eq!(f.del(&a).unwrap(), Outcome::AlreadyAbsent);
        assert_eq!(f.journal.len(), 3);
        f.fail_next(Errno::EPERM);
        assert!(matches!(
            f.add(&a),
            Err(Error::Kernel { op: Op::AddAddress, errno }) if errno == Errno::EPERM
        ));
        assert!(matches!(
            f.add(&a.clone().with_prefix(40)),
            Err(Error::Invalid(InvalidVip::PrefixTooLong { .. }))
        ));
    }

    #[test]
    fn fake_routes_and_vmacs() {
        let mut f = FakeVips::new();
        let mut r = VirtualRoute::new("203.0.113.0".parse().unwrap(), 24);
        r.ifindex = Some(2);
        assert_eq!(f.add_route(&r).unwrap(), Outcome::Done);
        assert_eq!(f.add_route(&r).unwrap(), Outcome::AlreadyPresent);
        assert_eq!(f.routes, vec![r.clone()]);
        assert_eq!(f.del_route(&r).unwrap(), Outcome::Done);
        assert_eq!(f.del_route(&r).unwrap(), Outcome::AlreadyAbsent);
        let v = Vmac::new(2, 51, false);
        let (o, l) = f.add_vmac(&v).unwrap();
        assert_eq!(o, Outcome::Done);
        assert_eq!(l.mac, Some([0, 0, 0x5e, 0, 1, 51]));
        assert_eq!(f.add_vmac(&v).unwrap().0, Outcome::AlreadyPresent);
        assert_eq!(f.del_vmac(l.index).unwrap(), Outcome::Done);
        assert_eq!(f.del_vmac(l.index).unwrap(), Outcome::AlreadyAbsent);
    }
}
