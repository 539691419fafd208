//! The health policy, sans-IO: health in, "announce" / "withdraw" out.
//!
//! [`Announcer`] reads no clock: every call takes `now`, and
//! [`Announcer::deadline`] says when to call [`Announcer::poll`] next.

use std::time::{Duration, Instant};

/// When a virtual server's prefix is announced.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Policy {
    /// Announce only while at least this many real servers are healthy
    /// (at least 1).
    pub min_healthy: usize,
    /// After health drops below `min_healthy`, keep announcing this long:
    /// a flapping check does not flap the route. Maintenance and a lost
    /// VRRP gate withdraw at once.
    pub withdraw_delay: Duration,
    /// Announce only while the node's VRRP instance is master
    /// (active/standby over BGP); `false` = active/active.
    pub require_master: bool,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            min_healthy: 1,
            withdraw_delay: Duration::ZERO,
            require_master: false,
        }
    }
}

impl Policy {
    /// Announce with at least `min_healthy` real servers up (0 is read as 1).
    pub fn new(min_healthy: usize) -> Policy {
        Policy {
            min_healthy: min_healthy.max(1),
            ..Policy::default()
        }
    }

    /// Set [`Policy::withdraw_delay`].
    pub fn with_withdraw_delay(mut self, d: Duration) -> Policy {
        self.withdraw_delay = d;
        self
    }

    /// Set [`Policy::require_master`].
    pub fn with_require_master(mut self, on: bool) -> Policy {
        self.require_master = on;
        self
    }
}

/// What the [`Announcer`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Announce the prefix now.
    Announce,
    /// Withdraw the prefix now.
    Withdraw(WithdrawReason),
}

/// Why a prefix is withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WithdrawReason {
    /// Fewer healthy real servers than the threshold (for longer than the
    /// withdraw delay).
    Unhealthy {
        /// Healthy real servers.
        healthy: usize,
        /// The threshold.
        min: usize,
    },
    /// The node was put in maintenance.
    Maintenance,
    /// The VRRP gate closed (the instance is no longer master).
    NotMaster,
}

/// One prefix's announce state machine.
#[derive(Debug, Clone)]
pub struct Announcer {
    policy: Policy,
    healthy: usize,
    maintenance: bool,
    master: bool,
    announced: bool,
    withdraw_at: Option<Instant>,
}

impl Announcer {
    /// Starts withdrawn, with no healthy real server and not master.
    pub fn new(policy: Policy) -> Announcer {
        Announcer {
            policy: Policy {
                min_healthy: policy.min_healthy.max(1),
                ..policy
            },
            healthy: 0,
            maintenance: false,
            master: false,
            announced: false,
            withdraw_at: None,
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// True while the prefix is (decided) announced.
    pub fn announced(&self) -> bool {
        self.announced
    }

    /// Number of healthy real servers now.
    pub fn set_healthy(&mut self, healthy: usize) {
        self.healthy = healthy;
    }

    /// Enter or leave maintenance.
    pub fn set_maintenance(&mut self, on: bool) {
        self.maintenance = on;
    }

    /// The VRRP instance's mastership (read only with `require_master`).
    pub fn set_master(&mut self, master: bool) {
        self.master = master;
    }

    /// When [`Announcer::poll`] must be called again even if nothing
    /// changes (a pending delayed withdrawal).
    pub fn deadline(&self) -> Option<Instant> {
        self.withdraw_at
    }

    /// Decide. Returns a change to make, if any; call after every input
    /// and at [`Announcer::deadline`].
    pub fn poll(&mut self, now: Instant) -> Option<Decision> {
        let p = &self.policy;
        let immediate = if self.maintenance {
            Some(WithdrawReason::Maintenance)
        } else if p.require_master && !self.master {
            Some(WithdrawReason::NotMaster)
        } else {
            None
        };
        let healthy = self.healthy >= p.min_healthy;
        if immediate.is_none() && healthy {
            self.withdraw_at = None;
            if self.announced {
                return None;
            }
            self.announced = true;
            return Some(Decision::Announce);
        }
        if !self.announced {
            self.withdraw_at = None;
            return None;
        }
        let reason = match immediate {
            Some(r) => r,
            None => {
                let at = *self.withdraw_at.get_or_insert(now + p.withdraw_delay);
                if now < at {
                    return None;
                }
                WithdrawReason::Unhealthy {
                    healthy: self.healthy,
                    min: p.min_healthy,
                }
            }
        };
        self.withdraw_at = None;
        self.announced = false;
        Some(Decision::Withdraw(reason))
    }
}

/// Exponential backoff for reconnecting to a speaker, sans-IO.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// First delay `initial`, doubling up to `max`.
    pub fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            initial,
            max: max.max(initial),
            next: initial,
        }
    }

    /// The delay before the next attempt; doubles the one after.
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        d
    }

    /// A success: start again from the initial delay.
    pub fn reset(&mut self) {
        self.next = self.initial;
    }
}

impl Default for Backoff {
    /// 100 ms doubling to 10 s.
    fn default() -> Backoff {
        Backoff::new(Duration::from_millis(100), Duration::from_secs(10))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announces_when_healthy_withdraws_after_delay() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut a = Announcer::new(Policy::new(2).with_withdraw_delay(3 * s));
        assert_eq!(a.poll(t0), None);
        a.set_healthy(1);
        assert_eq!(a.poll(t0), None, "below threshold: nothing");
        a.set_healthy(2);
        assert_eq!(a.poll(t0), Some(Decision::Announce));
        assert_eq!(a.poll(t0), None, "announced once");
        a.set_healthy(1);
        assert_eq!(a.poll(t0 + s), None, "delay running");
        assert_eq!(a.deadline(), Some(t0 + 4 * s));
        assert_eq!(a.poll(t0 + 3 * s), None);
        // recovers inside the delay: no flap
        a.set_healthy(3);
        assert_eq!(a.poll(t0 + 3 * s), None);
        assert_eq!(a.deadline(), None);
        a.set_healthy(0);
        assert_eq!(a.poll(t0 + 10 * s), None);
        assert_eq!(
            a.poll(t0 + 13 * s),
            Some(Decision::Withdraw(WithdrawReason::Unhealthy {
                healthy: 0,
                min: 2
            }))
        );
        assert!(!a.announced());
        assert_eq!(a.poll(t0 + 20 * s), None);
    }

    #[test]
    fn maintenance_and_gate_withdraw_at_once() {
        let t0 = Instant::now();
        let p = Policy::new(1)
            .with_withdraw_delay(Duration::from_secs(60))
            .with_require_master(true);
        let mut a = Announcer::new(p);
        a.set_healthy(5);
        assert_eq!(a.poll(t0), None, "not master yet");
        a.set_master(true);
        assert_eq!(a.poll(t0), Some(Decision::Announce));
        a.set_maintenance(true);
        assert_eq!(
            a.poll(t0),
            Some(Decision::Withdraw(WithdrawReason::Maintenance))
        );
        a.set_maintenance(false);
        assert_eq!(a.poll(t0), Some(Decision::Announce));
        a.set_master(false);
        assert_eq!(
            a.poll(t0),
            Some(Decision::Withdraw(WithdrawReason::NotMaster))
        );
    }

    #[test]
    fn zero_threshold_reads_as_one() {
        let mut a = Announcer::new(Policy {
            min_healthy: 0,
            ..Policy::default()
        });
        assert_eq!(a.poll(Instant::now()), None);
        assert_eq!(a.policy().min_healthy, 1);
    }

    #[test]
    fn backoff_doubles_to_max_and_resets() {
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(100), ms(350));
        let got: Vec<_> = (0..4).map(|_| b.next_delay()).collect();
        assert_eq!(got, [ms(100), ms(200), ms(350), ms(350)]);
        b.reset();
        assert_eq!(b.next_delay(), ms(100));
    }
}
