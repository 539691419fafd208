//! keepalived's up/down rules for one checker, sans-IO.
//!
//! * A checker starts up, or down with `alpha`.
//! * The first result after start decides at once (keepalived sets `retry_it = retry`
//!   at start: "one failure is enough initially") and is always reported.
//! * Afterwards a success while down reports up; a failure while up is retried `retry`
//!   times, `delay_before_retry` apart, and only the `retry + 1`-th consecutive failure
//!   reports down. Any success in between resets the count.
//! * While down, failures are not retried: the next check is after `delay_loop`.

/// What the runner does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Next check after `delay_loop`.
    Loop,
    /// Next check after `delay_before_retry`.
    Retry,
}

/// A state change to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// New state.
    pub up: bool,
    /// Previous state.
    pub was_up: bool,
    /// This is the first verdict after start.
    pub first: bool,
}

/// The per-checker state (keepalived's `is_up`, `has_run`, `retry_it`).
#[derive(Debug, Clone)]
pub struct Tracker {
    retry: u32,
    is_up: bool,
    has_run: bool,
    retry_it: u32,
}

impl Tracker {
    /// A fresh checker: up unless `alpha`.
    pub fn new(retry: u32, alpha: bool) -> Self {
        Tracker {
            retry,
            is_up: !alpha,
            has_run: false,
            retry_it: retry,
        }
    }

    /// Current state.
    pub fn is_up(&self) -> bool {
        self.is_up
    }

    /// Feed one attempt's result.
    pub fn on_result(&mut self, ok: bool) -> (Option<Verdict>, Next) {
        let first = !self.has_run;
        self.has_run = true;
        let was_up = self.is_up;
        if ok {
            self.retry_it = 0;
            self.is_up = true;
            let v = (!was_up || first).then_some(Verdict {
                up: true,
                was_up,
                first,
            });
            return (v, Next::Loop);
        }
        if !(was_up || first) {
            return (None, Next::Loop);
        }
        if self.retry_it < self.retry {
            self.retry_it += 1;
            return (None, Next::Retry);
        }
        self.retry_it = 0;
        self.is_up = false;
        (
            Some(Verdict {
                up: false,
                was_up,
                first,
            }),
            Next::Loop,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(up: bool, was_up: bool, first: bool) -> Option<Verdict> {
        Some(Verdict { up, was_up, first })
    }

    #[test]
    fn first_failure_is_enough_initially() {
        let mut t = Tracker::new(3, false);
        assert_eq!(t.on_result(false), (v(false, true, true), Next::Loop));
        assert!(!t.is_up());
    }

    #[test]
    fn first_success_is_reported() {
        let mut t = Tracker::new(3, false);
        assert_eq!(t.on_result(true), (v(true, true, true), Next::Loop));
        assert_eq!(t.on_result(true), (None, Next::Loop));
        let mut a = Tracker::new(3, true);
        assert!(!a.is_up());
        assert_eq!(a.on_result(true), (v(true, false, true), Next::Loop));
    }

    #[test]
    fn down_after_retry_plus_one_failures_then_up_after_one_success() {
        let mut t = Tracker::new(2, false);
        t.on_result(true);
        assert_eq!(t.on_result(false), (None, Next::Retry));
        assert_eq!(t.on_result(false), (None, Next::Retry));
        assert_eq!(t.on_result(false), (v(false, true, false), Next::Loop));
        // down: failures are not retried and not reported again
        assert_eq!(t.on_result(false), (None, Next::Loop));
        assert_eq!(t.on_result(true), (v(true, false, false), Next::Loop));
    }

    #[test]
    fn success_in_between_resets_the_count() {
        let mut t = Tracker::new(1, false);
        t.on_result(true);
        assert_eq!(t.on_result(false), (None, Next::Retry));
        assert_eq!(t.on_result(true), (None, Next::Loop));
        assert_eq!(t.on_result(false), (None, Next::Retry));
        assert_eq!(t.on_result(false), (v(false, true, false), Next::Loop));
    }

    #[test]
    fn retry_zero_goes_down_at_once() {
        let mut t = Tracker::new(0, false);
        t.on_result(true);
        assert_eq!(t.on_result(false), (v(false, true, false), Next::Loop));
    }

    #[test]
    fn alpha_first_failure_is_reported_down() {
        let mut t = Tracker::new(1, true);
        assert_eq!(t.on_result(false), (v(false, false, true), Next::Loop));
        assert_eq!(t.on_result(false), (None, Next::Loop));
    }
}
