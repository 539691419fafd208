//! An in-memory [`VipControl`] for tests of code that drives VIPs.

use crate::{Errno, Error, Op, Outcome, Vip, VipControl};

/// In-memory [`VipControl`]: behaves like the kernel for identity
/// (interface, address, prefix) and idempotency, validates VIPs the same
/// way, and records every call.
#[derive(Debug, Default, Clone)]
pub struct FakeVips {
    addrs: Vec<(Vip, bool)>,
    /// Every successful change, in order: `(true, vip)` = added, `(false, vip)` = deleted.
    pub journal: Vec<(bool, Vip)>,
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
}
