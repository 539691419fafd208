//! keel's benchmarks live in `benches/benches/*.rs`; run them with `cargo xtask bench`.
