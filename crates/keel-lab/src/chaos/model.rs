//! The chaos run's model of the lab (who runs, who is connected to whom, the
//! priorities) and the seeded schedule of faults.
//!
//! Expected VIP holders: a node is *eligible* when its daemon runs, is not
//! frozen and its link is up. Two eligible nodes are *connected* when no
//! partition rule drops the frames between their bridge ports. Going down the
//! eligible nodes by (effective priority, address), a node must be master
//! exactly when none of the higher nodes it is connected to is master: in a
//! whole network that is the single highest node; in a partition each side
//! has its own master; with a non-transitive cut (A and B cannot hear each
//! other but both hear C) both A and B are masters and C is not.
pub const N: usize = 3;

/// A fault's target: a fixed node, or whichever node the model says is the
/// master at that moment (decided from the model, so replays match).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Master,
    Node(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Kill(Target),
    Freeze(Target),
    LinkDown(Target),
    Isolate(Target),
    Cut(usize, usize),
    Loss { node: Option<usize>, pct: u8 },
    Tracker(Target),
    Reload { node: usize, prio: u8 },
    BadReload { node: usize, variant: u64 },
    Stop(Target),
    Restart(Target),
}

impl Fault {
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Kill(_) => "SIGKILL + restart",
            Fault::Freeze(_) => "SIGSTOP/SIGCONT",
            Fault::LinkDown(_) => "link down/up",
            Fault::Isolate(_) => "partition: isolate a node",
            Fault::Cut(..) => "partition: cut one pair",
            Fault::Loss { .. } => "random loss",
            Fault::Tracker(_) => "tracker fails/recovers",
            Fault::Reload { .. } => "SIGHUP valid config",
            Fault::BadReload { .. } => "SIGHUP invalid config",
            Fault::Stop(_) => "SIGTERM, later start",
            Fault::Restart(_) => "restart (SIGTERM + start)",
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Step {
    pub fault: Fault,
    /// How long the fault is held after its effect was checked.
    pub hold_ms: u64,
}

impl Step {
    pub fn describe(&self) -> String {
        format!("{:?}, hold {} ms", self.fault, self.hold_ms)
    }
}

#[derive(Clone, Debug)]
pub struct Model {
    pub running: [bool; N],
    pub frozen: [bool; N],
    pub stopped_gracefully: [bool; N],
    pub link: [bool; N],
    cut: [[bool; N]; N],
    pub loss: Option<(Option<usize>, u8)>,
    pub base: [u8; N],
    pub tracker_down: [bool; N],
}

pub const BASE: [u8; N] = [100, 90, 80];
pub const WEIGHT: u8 = 25;

impl Default for Model {
    fn default() -> Model {
        Model::new()
    }
}

impl Model {
    pub fn new() -> Model {
        Model {
            running: [false; N],
            frozen: [false; N],
            stopped_gracefully: [false; N],
            link: [true; N],
            cut: [[false; N]; N],
            loss: None,
            base: BASE,
            tracker_down: [false; N],
        }
    }

    pub fn eff(&self, i: usize) -> u8 {
        if self.tracker_down[i] {
            self.base[i].saturating_sub(WEIGHT).max(1)
        } else {
            self.base[i]
        }
    }

    pub fn eligible(&self, i: usize) -> bool {
        self.running[i] && !self.frozen[i] && self.link[i]
    }

    pub fn set_cut(&mut self, a: usize, b: usize, on: bool) {
        self.cut[a][b] = on;
        self.cut[b][a] = on;
    }

    pub fn clear_cuts(&mut self) {
        self.cut = [[false; N]; N];
    }

    pub fn cut_list(&self) -> Vec<(usize, usize)> {
        let mut v = Vec::new();
        for a in 0..N {
            for b in a + 1..N {
                if self.cut[a][b] {
                    v.push((a, b));
                }
            }
        }
        v
    }

    /// Which nodes must hold the VIP (see the module docs).
    pub fn expected(&self) -> [bool; N] {
        let mut order: Vec<usize> = (0..N).filter(|&i| self.eligible(i)).collect();
        // Higher effective priority first; ties go to the higher address,
        // and node i's address is 192.0.2.(10 + i).
        order.sort_by_key(|&i| std::cmp::Reverse((self.eff(i), i)));
        let mut m = [false; N];
        for (k, &i) in order.iter().enumerate() {
            m[i] = !order[..k].iter().any(|&j| m[j] && !self.cut[i][j]);
        }
        m
    }

    /// The master of the whole network, if any (the highest expected holder).
    pub fn top(&self) -> Option<usize> {
        let e = self.expected();
        (0..N).filter(|&i| e[i]).max_by_key(|&i| (self.eff(i), i))
    }
}

/// The seeded schedule: step k depends on the seed (and the flags that
/// change which faults are possible) only.
#[derive(Debug)]
pub struct Schedule {
    rng: fastrand::Rng,
    base: [u8; N],
    keepalived: Option<usize>,
    soak: bool,
}

impl Schedule {
    pub fn new(seed: u64, keepalived: Option<usize>, soak: bool) -> Schedule {
        Schedule {
            rng: fastrand::Rng::with_seed(seed),
            base: BASE,
            keepalived,
            soak,
        }
    }

    fn target(&mut self, process_fault: bool) -> Target {
        // In a soak node1 is the witness whose RSS and fds are compared from
        // start to end: it is never killed, stopped or restarted.
        if process_fault && self.soak {
            return Target::Node(self.rng.usize(1..N));
        }
        if self.rng.bool() {
            Target::Master
        } else {
            Target::Node(self.rng.usize(0..N))
        }
    }

    pub fn next_step(&mut self) -> Step {
        let hold_ms = self.rng.u64(0..=1500);
        let keeld_nodes: Vec<usize> = (0..N).filter(|&i| Some(i) != self.keepalived).collect();
        let fault = match self.rng.u32(0..100) {
            0..12 => Fault::Kill(self.target(true)),
            12..22 => Fault::Freeze(self.target(false)),
            22..32 => Fault::LinkDown(self.target(false)),
            32..40 => Fault::Isolate(self.target(false)),
            40..46 => {
                let a = self.rng.usize(0..N);
                let b = (a + self.rng.usize(1..N)) % N;
                Fault::Cut(a.min(b), a.max(b))
            }
            46..54 => Fault::Loss {
                node: if self.rng.bool() {
                    None
                } else {
                    Some(self.rng.usize(0..N))
                },
                pct: self.rng.u8(5..=30),
            },
            54..66 => Fault::Tracker(self.target(false)),
            66..74 => {
                let node = self.rng.usize(0..N);
                // Distinct multiples of 10: with the tracker weight of 25 no two
                // effective priorities can ever tie.
                let taken: Vec<u8> = (0..N)
                    .filter(|&j| j != node)
                    .map(|j| self.base[j])
                    .collect();
                let choices: Vec<u8> = (5..=15u8)
                    .map(|x| x * 10)
                    .filter(|p| !taken.contains(p))
                    .collect();
                let prio = choices[self.rng.usize(0..choices.len())];
                self.base[node] = prio;
                Fault::Reload { node, prio }
            }
            74..82 => Fault::BadReload {
                node: keeld_nodes[self.rng.usize(0..keeld_nodes.len())],
                variant: self.rng.u64(0..3),
            },
            82..91 => Fault::Stop(self.target(true)),
            _ => Fault::Restart(self.target(true)),
        };
        Step { fault, hold_ms }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_network_has_one_master_the_highest() {
        let mut m = Model::new();
        m.running = [true; N];
        assert_eq!(m.expected(), [true, false, false]);
        m.tracker_down[0] = true; // 75 < 80 < 90
        assert_eq!(m.expected(), [false, true, false]);
        m.frozen[1] = true;
        assert_eq!(m.expected(), [false, false, true]);
        m.frozen[1] = false;
        m.link[1] = false;
        assert_eq!(m.expected(), [false, false, true]);
    }

    #[test]
    fn partitions() {
        let mut m = Model::new();
        m.running = [true; N];
        m.set_cut(0, 1, true);
        m.set_cut(0, 2, true);
        assert_eq!(
            m.expected(),
            [true, true, false],
            "isolated node1 and the rest"
        );
        m.clear_cuts();
        m.set_cut(0, 1, true);
        assert_eq!(
            m.expected(),
            [true, true, false],
            "non-transitive cut: both top masters"
        );
        m.clear_cuts();
        m.set_cut(0, 2, true);
        assert_eq!(
            m.expected(),
            [true, false, true],
            "node3 hears only the silent backup"
        );
        assert_eq!(m.top(), Some(0));
        assert_eq!(m.cut_list(), vec![(0, 2)]);
    }

    #[test]
    fn schedule_is_a_function_of_the_seed() {
        let a: Vec<String> = {
            let mut s = Schedule::new(42, None, false);
            (0..200).map(|_| s.next_step().describe()).collect()
        };
        let b: Vec<String> = {
            let mut s = Schedule::new(42, None, false);
            (0..200).map(|_| s.next_step().describe()).collect()
        };
        assert_eq!(a, b);
        let c: Vec<String> = {
            let mut s = Schedule::new(43, None, false);
            (0..200).map(|_| s.next_step().describe()).collect()
        };
        assert_ne!(a, c);
        // Every kind of fault shows up in 200 steps.
        let kinds: std::collections::BTreeSet<&str> = {
            let mut s = Schedule::new(42, None, false);
            (0..200).map(|_| s.next_step().fault.kind()).collect()
        };
        assert_eq!(kinds.len(), 11, "{kinds:?}");
    }

    #[test]
    fn soak_never_kills_the_witness_and_keepalived_gets_no_bad_reload() {
        let mut s = Schedule::new(7, Some(2), true);
        for _ in 0..2000 {
            match s.next_step().fault {
                Fault::Kill(t) | Fault::Stop(t) | Fault::Restart(t) => {
                    assert!(matches!(t, Target::Node(1 | 2)), "{t:?}");
                }
                Fault::BadReload { node, .. } => assert_ne!(node, 2),
                _ => {}
            }
        }
    }

    #[test]
    fn reload_priorities_never_tie() {
        let mut s = Schedule::new(9, None, false);
        let mut m = Model::new();
        m.running = [true; N];
        for _ in 0..2000 {
            if let Fault::Reload { node, prio } = s.next_step().fault {
                m.base[node] = prio;
            }
            for mask in 0..8u8 {
                for i in 0..N {
                    m.tracker_down[i] = mask & (1 << i) != 0;
                }
                let mut e: Vec<u8> = (0..N).map(|i| m.eff(i)).collect();
                e.sort_unstable();
                e.dedup();
                assert_eq!(e.len(), N, "tie in {:?}", m.base);
            }
        }
    }
}
