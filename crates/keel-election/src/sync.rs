//! Sync groups (keepalived `vrrp_sync_group`): members move together.
//!
//! * a member whose Master_Down_Timer expires only *wants* Master; the group
//!   becomes Master when every running member wants it (keepalived's
//!   `vrrp_sync_can_goto_master`: "prefer backup state to avoid thrashing");
//! * one member becomes Master (owner at startup, or the group decided) →
//!   every Backup member is made Master (and a member that starts or leaves
//!   Fault while another is Master joins it);
//! * one member falls from Master to Backup → every Master member goes Backup;
//! * one member enters Fault on its own (link / weight-0 tracker) → every other
//!   member goes to Fault until no member has a fault of its own any more.
//!
//! Track objects that matter to the whole group (keepalived's sync-group
//! `track_interface` / `track_script`) should be given to every member, so
//! that the members' priorities move together too.

use crate::{Action, Input, Instance, Instant, State};
use std::collections::VecDeque;

/// What sync-group propagation needs from a group's members: the
/// [`SyncGroup`] below, the simulator's nodes, or a daemon that keeps its
/// instances elsewhere (exported as `SyncMembers`).
pub trait Members {
    /// How many members the group has (indices `0..count()`).
    fn count(&self) -> usize;
    /// Member `i`; `None` when it is not running at all (crashed).
    fn member(&self, i: usize) -> Option<&Instance>;
    /// Give `input` to member `i`. The caller collects the member's actions
    /// (`poll_action`) afterwards, as it would for any other input.
    fn feed(&mut self, now: Instant, i: usize, input: Input);
}

fn state_of<M: Members>(m: &M, i: usize) -> State {
    m.member(i).map_or(State::Initialize, Instance::state)
}

/// Propagate the state changes since `before` (each member's state before the
/// last input) through the group, by feeding the members `SyncMaster`,
/// `SyncBackup` and `SyncFault` inputs by the rules in the module doc
/// (exported as `propagate_sync`).
pub fn propagate<M: Members>(m: &mut M, now: Instant, mut before: Vec<State>) {
    let n = m.count();
    // Each round only moves members towards a state another member reached,
    // so this settles in a few rounds; the bound is a safety net.
    for _ in 0..=n * 4 {
        // Fault: members with a fault of their own drag the others along.
        for j in 0..n {
            let others_fault = (0..n).any(|k| {
                k != j
                    && m.member(k)
                        .is_some_and(|x| x.state() != State::Initialize && x.own_fault())
            });
            let needs = m.member(j).is_some_and(|x| {
                x.state() != State::Initialize && x.sync_fault_flag() != others_fault
            });
            if needs {
                m.feed(now, j, Input::SyncFault(others_fault));
            }
        }
        // Master only when every running member wants it (or the group
        // already is master): keepalived's "prefer backup state to avoid thrashing".
        let running: Vec<usize> = (0..n)
            .filter(|&i| state_of(m, i) != State::Initialize)
            .collect();
        let group_master = running.iter().any(|&i| state_of(m, i) == State::Master);
        let all_want = !running.is_empty()
            && running
                .iter()
                .all(|&i| m.member(i).is_some_and(Instance::wants_master));
        for &i in &running {
            if (all_want || group_master) && m.member(i).is_some_and(Instance::wants_master) {
                m.feed(now, i, Input::SyncMaster);
            }
        }
        let after: Vec<State> = (0..n).map(|i| state_of(m, i)).collect();
        let mut changed = false;
        for k in 0..n {
            let (b, a) = (before[k], after[k]);
            if b == a {
                continue;
            }
            if a == State::Backup
                && b != State::Master
                && (0..n).any(|j| j != k && state_of(m, j) == State::Master)
            {
                // Joined (startup / fault recovery) while the group is master: join it.
                m.feed(now, k, Input::SyncMaster);
                changed = true;
                continue;
            }
            let target = match (b, a) {
                (_, State::Master) => Input::SyncMaster,
                (State::Master, State::Backup) => Input::SyncBackup,
                _ => continue,
            };
            for j in (0..n).filter(|&j| j != k) {
                let s0 = state_of(m, j);
                m.feed(now, j, target.clone());
                changed |= state_of(m, j) != s0;
            }
        }
        before = after;
        if !changed {
            break;
        }
    }
}

/// A sans-IO sync group owning its member instances.
#[derive(Clone, Debug)]
pub struct SyncGroup {
    members: Vec<Instance>,
    queue: VecDeque<(usize, Action)>,
}

impl Members for SyncGroup {
    fn count(&self) -> usize {
        self.members.len()
    }
    fn member(&self, i: usize) -> Option<&Instance> {
        self.members.get(i)
    }
    fn feed(&mut self, now: Instant, i: usize, input: Input) {
        if let Some(m) = self.members.get_mut(i) {
            m.handle(now, input);
            while let Some(a) = m.poll_action() {
                self.queue.push_back((i, a));
            }
        }
    }
}

impl SyncGroup {
    /// A group of `members` (indices are their positions).
    pub fn new(members: Vec<Instance>) -> Self {
        let mut g = SyncGroup {
            members,
            queue: VecDeque::new(),
        };
        for i in 0..g.members.len() {
            g.feed(Instant::ZERO, i, Input::SyncGrouped(true));
        }
        g
    }

    /// The members.
    pub fn members(&self) -> &[Instance] {
        &self.members
    }

    /// One member, or `None` if out of range.
    pub fn member(&self, i: usize) -> Option<&Instance> {
        self.members.get(i)
    }

    /// Give `input` to member `i` (ignored if out of range), then propagate
    /// its state change to the rest of the group.
    pub fn handle(&mut self, now: Instant, i: usize, input: Input) {
        if i >= self.members.len() {
            return;
        }
        let before: Vec<State> = self.members.iter().map(Instance::state).collect();
        self.feed(now, i, input);
        propagate(self, now, before);
    }

    /// Give `input` to every member (e.g. `Startup`, `Shutdown`, `Timeout`).
    pub fn handle_all(&mut self, now: Instant, input: &Input) {
        for i in 0..self.members.len() {
            self.handle(now, i, input.clone());
        }
    }

    /// Next action, with the index of the member it belongs to.
    pub fn poll_action(&mut self) -> Option<(usize, Action)> {
        self.queue.pop_front()
    }

    /// Earliest deadline of all members.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.members.iter().filter_map(Instance::poll_timeout).min()
    }
}
