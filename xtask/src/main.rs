//! `cargo xtask`: the single entry point for keel's chores.
//!
//! * `cargo xtask test`  — everything CI runs (installs missing Debian packages first).
//! * `cargo xtask demo`  — the guide's hot-standby demo in network namespaces.
//! * `cargo xtask bench [NAME]` — benchmarks.
//! * `cargo xtask fuzz TARGET [SECS]` — a cargo-fuzz run on stable.
//! * `cargo xtask vm ...` — the IPVS test VM (Debian kernel in qemu).
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod bench;
mod chaos;
mod demo;
mod deps;
mod dist;
mod docs;
mod fuzz;
mod test;
mod util;
mod vm;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "cargo xtask", about = "keel project chores")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run every test tier (fmt, clippy, unit, privileged namespaces, VM).
    Test(test::TestArgs),
    /// Run a fuzz target with cargo-fuzz (installs it if missing).
    Fuzz(fuzz::FuzzArgs),
    /// The guide's hot-standby demo in network namespaces (root).
    Demo(demo::DemoArgs),
    /// Generate docs/keywords.md from keel-conf's keyword table (--check: verify).
    Docs(docs::DocsArgs),
    /// Seeded fault injection, soak and hostile-input flood against keeld (root).
    Chaos(chaos::ChaosArgs),
    /// keeld's .deb: man pages, completions, unit, stripped binary (--check: install test).
    Dist(dist::DistArgs),
    /// Run benchmarks (`cargo xtask bench NAME`).
    Bench(bench::BenchArgs),
    /// Install the Debian packages the tests need (what `test` does first).
    Deps,
    /// The IPVS test VM: `vm build`, `vm run -- CMD`, `vm test`.
    Vm(vm::VmArgs),
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Test(a) => test::main(a),
        Cmd::Fuzz(a) => fuzz::main(a),
        Cmd::Demo(a) => demo::main(a),
        Cmd::Docs(a) => docs::main(a),
        Cmd::Dist(a) => dist::main(a),
        Cmd::Bench(a) => bench::main(a),
        Cmd::Chaos(a) => chaos::main(a),
        Cmd::Deps => deps::ensure(deps::TEST_PACKAGES),
        Cmd::Vm(a) => vm::main(a),
    }
}
