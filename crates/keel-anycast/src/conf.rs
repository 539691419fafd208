//! From keel-conf's model (`keel_anycast { speaker ... }`, `announce ...`),
//! with the `conf` feature.

use keel_conf::{Announce, AnycastSpeaker};

use crate::{AnySpeaker, Bird, ExaBgp, GoBgp, Kernel, Policy};

/// The loopback's interface index, where kernel-mode routes point.
const LO: u32 = 1;

impl From<&AnycastSpeaker> for AnySpeaker {
    fn from(s: &AnycastSpeaker) -> AnySpeaker {
        match s {
            AnycastSpeaker::GoBgp { addr } => AnySpeaker::GoBgp(Box::new(GoBgp::new(addr.clone()))),
            AnycastSpeaker::Bird { socket, include } => {
                AnySpeaker::Bird(Bird::new(socket.clone(), include.clone()))
            }
            AnycastSpeaker::ExaBgp { cmd, ack } => {
                AnySpeaker::ExaBgp(ExaBgp::new(cmd.clone(), ack.clone()))
            }
            AnycastSpeaker::Kernel { table } => AnySpeaker::Kernel(Kernel::new(*table, LO)),
            // keel-conf's enum grows with keel-anycast: a new kind lands in both
            #[allow(unreachable_patterns)]
            _ => AnySpeaker::Kernel(Kernel::new(254, LO)),
        }
    }
}

impl From<&Announce> for Policy {
    fn from(a: &Announce) -> Policy {
        Policy::new(a.min_healthy as usize)
            .with_withdraw_delay(a.withdraw_delay)
            .with_require_master(a.require_master)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Speaker;

    #[test]
    fn from_the_model() {
        let s = AnySpeaker::from(&AnycastSpeaker::Kernel { table: 100 });
        assert_eq!(s.kind(), "kernel");
        let mut a = Announce::default();
        a.min_healthy = 3;
        a.withdraw_delay = std::time::Duration::from_secs(2);
        let p = Policy::from(&a);
        assert_eq!((p.min_healthy, p.withdraw_delay.as_secs()), (3, 2));
        assert!(!p.require_master);
    }
}
