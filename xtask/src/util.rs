//! Small helpers for running commands with visible progress (the lab's own,
//! so that xtask and keel-lab print and fail the same way).
pub use keel_lab::host::{cargo, root, run, step};
pub use keel_testkit::{in_ci, is_root};
