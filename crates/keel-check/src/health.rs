//! keepalived's view of a real server with several checkers (an optional helper for
//! directors): the real server is alive when every one of its checkers is up, and its
//! weight is the configured weight plus, for each `misc_dynamic` checker that asked for
//! a weight `w`, `w - configured` (so one dynamic checker sets the weight to `w`).

use std::collections::BTreeMap;

use crate::event::Event;
use crate::spec::CheckId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CheckState {
    up: bool,
    dynamic: Option<u8>,
    offset: i32,
}

/// Health and effective weight of one real server, fed with its checkers' [`Event`]s.
///
/// ```
/// use keel_check::{CheckId, Event, RealServerHealth, WeightChange};
/// let mut rs = RealServerHealth::new(1);
/// rs.add_check(CheckId(1), false);
/// rs.add_check(CheckId(2), false);
/// assert!(rs.alive());
/// let changed = rs.handle(&Event::Weight(WeightChange { id: CheckId(2), weight: Some(10) }));
/// assert_eq!(changed, Some((true, 10)));
/// assert_eq!(rs.weight(), 10);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealServerHealth {
    configured: i64,
    checks: BTreeMap<CheckId, CheckState>,
}

impl RealServerHealth {
    /// A real server with its configured `weight` and no checker yet (alive).
    pub fn new(weight: i64) -> Self {
        RealServerHealth {
            configured: weight,
            checks: BTreeMap::new(),
        }
    }

    /// Track a checker; it starts up, or down with `alpha` (like the checker itself).
    pub fn add_check(&mut self, id: CheckId, alpha: bool) {
        self.checks.insert(
            id,
            CheckState {
                up: !alpha,
                dynamic: None,
                offset: 0,
            },
        );
    }

    /// Stop tracking a checker (e.g. removed by a reload).
    pub fn remove_check(&mut self, id: CheckId) {
        self.checks.remove(&id);
    }

    /// Whether `id` is one of this real server's checkers.
    pub fn has_check(&self, id: CheckId) -> bool {
        self.checks.contains_key(&id)
    }

    /// Alive: every checker is up (a real server without checkers is alive).
    pub fn alive(&self) -> bool {
        self.checks.values().all(|c| c.up)
    }

    /// The effective weight (keepalived's `effective_weight`), which may be negative
    /// when several dynamic checkers disagree; clamp it as the IPVS layer requires.
    pub fn weight(&self) -> i64 {
        self.configured
            + self
                .checks
                .values()
                .filter_map(|c| c.dynamic)
                .map(|w| i64::from(w) - self.configured)
                .sum::<i64>()
            + self
                .checks
                .values()
                .map(|c| i64::from(c.offset))
                .sum::<i64>()
    }

    /// Apply one event. Returns the new `(alive, weight)` when either changed; events of
    /// other checkers are ignored.
    pub fn handle(&mut self, event: &Event) -> Option<(bool, i64)> {
        let before = (self.alive(), self.weight());
        let state = self.checks.get_mut(&event.id())?;
        match event {
            Event::Transition(t) => state.up = t.up,
            Event::Weight(w) => state.dynamic = w.weight,
            Event::Offset(o) => state.offset = o.offset,
            Event::AttemptFailed { .. } => {}
        }
        let after = (self.alive(), self.weight());
        (after != before).then_some(after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Reason, Transition, WeightChange};
    use crate::spec::CheckKind;

    fn tr(id: u64, up: bool) -> Event {
        Event::Transition(Transition {
            id: CheckId(id),
            up,
            was_up: !up,
            reason: Reason {
                kind: CheckKind::Tcp,
                server: String::new(),
                virtual_server: None,
                script: None,
                url: None,
                error: None,
                retry: 0,
                first: false,
            },
        })
    }

    fn w(id: u64, weight: Option<u8>) -> Event {
        Event::Weight(WeightChange {
            id: CheckId(id),
            weight,
        })
    }

    #[test]
    fn alive_when_all_checkers_up() {
        let mut rs = RealServerHealth::new(3);
        assert!(rs.alive());
        rs.add_check(CheckId(1), false);
        rs.add_check(CheckId(2), true);
        assert!(!rs.alive());
        assert_eq!(rs.handle(&tr(2, true)), Some((true, 3)));
        assert_eq!(rs.handle(&tr(1, false)), Some((false, 3)));
        assert_eq!(rs.handle(&tr(1, false)), None);
        assert_eq!(rs.handle(&tr(9, true)), None, "not ours");
        rs.remove_check(CheckId(1));
        assert!(rs.alive());
    }

    #[test]
    fn dynamic_weights_follow_keepalived() {
        let mut rs = RealServerHealth::new(5);
        rs.add_check(CheckId(1), false);
        rs.add_check(CheckId(2), false);
        assert_eq!(rs.handle(&w(1, Some(20))), Some((true, 20)));
        // two dynamic checkers: 5 + (20-5) + (8-5) = 23
        assert_eq!(rs.handle(&w(2, Some(8))), Some((true, 23)));
        assert_eq!(rs.handle(&w(1, None)), Some((true, 8)));
        assert_eq!(rs.handle(&w(2, None)), Some((true, 5)));
        let mut zero = RealServerHealth::new(100);
        zero.add_check(CheckId(1), false);
        zero.add_check(CheckId(2), false);
        zero.handle(&w(1, Some(0)));
        zero.handle(&w(2, Some(0)));
        assert_eq!(zero.weight(), -100);
    }
}
