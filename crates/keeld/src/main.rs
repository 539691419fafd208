//! keeld: the reference daemon (work in progress).
fn main() {}
