//! Sync groups (keepalived `vrrp_sync_group`): members move together.
//!
//! * one member becomes Master → every Backup member is made Master (and a
//!   member that starts or leaves Fault while another is Master joins it);
//! * one member falls from Master to Backup → every Master member goes Backup;
//! * one member enters Fault on its own (link / weight-0 tracker) → every other
//!   member goes to Fault until no member has a fault of its own any more.

use crate::{Action, Input, Instance, Instant, State};
use std::collections::VecDeque;

/// A sans-IO sync group owning its member instances.
#[derive(Debug)]
pub struct SyncGroup {
    members: Vec<Instance>,
    queue: VecDeque<(usize, Action)>,
}

impl SyncGroup {
    /// A group of `members` (indices are their positions).
    pub fn new(members: Vec<Instance>) -> Self {
        SyncGroup {
            members,
            queue: VecDeque::new(),
        }
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
        self.members[i].handle(now, input);
        self.drain(i);
        self.propagate(now, before);
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

    fn drain(&mut self, i: usize) {
        while let Some(a) = self.members[i].poll_action() {
            self.queue.push_back((i, a));
        }
    }

    fn propagate(&mut self, now: Instant, mut before: Vec<State>) {
        // Each round moves members only towards the state a changed member
        // reached, so this settles in a few rounds; the bound is a safety net.
        for _ in 0..=self.members.len() * 4 {
            // Fault: members with an own fault drag the others along.
            for j in 0..self.members.len() {
                let others_fault = self
                    .members
                    .iter()
                    .enumerate()
                    .any(|(k, m)| k != j && m.state() != State::Initialize && m.own_fault());
                if self.members[j].state() != State::Initialize
                    && others_fault != self.group_fault_of(j)
                {
                    self.members[j].handle(now, Input::SyncFault(others_fault));
                    self.drain(j);
                }
            }
            let after: Vec<State> = self.members.iter().map(Instance::state).collect();
            let mut changed = false;
            for (k, (b, a)) in before.iter().zip(&after).enumerate() {
                if b == a {
                    continue;
                }
                let target = match (b, a) {
                    (_, State::Master) => Some(Input::SyncMaster),
                    (State::Master, State::Backup) => Some(Input::SyncBackup),
                    _ => None,
                };
                if *a == State::Backup
                    && *b != State::Master
                    && self
                        .members
                        .iter()
                        .enumerate()
                        .any(|(j, m)| j != k && m.state() == State::Master)
                {
                    // Joined (startup / fault recovery) while the group is master: join it.
                    self.members[k].handle(now, Input::SyncMaster);
                    self.drain(k);
                    changed = true;
                    continue;
                }
                if let Some(input) = target {
                    for j in 0..self.members.len() {
                        if j != k {
                            let s0 = self.members[j].state();
                            self.members[j].handle(now, input.clone());
                            self.drain(j);
                            changed |= self.members[j].state() != s0;
                        }
                    }
                }
            }
            before = after;
            if !changed {
                break;
            }
        }
    }

    fn group_fault_of(&self, j: usize) -> bool {
        self.members[j].sync_fault_flag()
    }
}
