//! `cargo xtask fuzz TARGET [SECS]`: cargo-fuzz on the stable toolchain.
use crate::util::{cargo, root, run, step};
use anyhow::Result;
use std::process::Command;

#[derive(clap::Args, Debug)]
pub struct FuzzArgs {
    /// Fuzz target name (see fuzz/Cargo.toml); `list` lists them.
    pub target: String,
    /// How long to run, in seconds.
    #[arg(default_value_t = 60)]
    pub secs: u64,
}

pub fn main(a: FuzzArgs) -> Result<()> {
    let have = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !have {
        step("installing cargo-fuzz (cargo install cargo-fuzz --locked)");
        run(cargo().args(["install", "cargo-fuzz", "--locked"]))?;
    }
    // cargo-fuzz needs nightly flags; RUSTC_BOOTSTRAP lets stable accept them.
    // A cached failed probe would otherwise stick.
    let _ = std::fs::remove_file(root().join("fuzz/target/.rustc_info.json"));
    if a.target == "list" {
        return run(Command::new("cargo")
            .env("RUSTC_BOOTSTRAP", "1")
            .args(["fuzz", "list"]));
    }
    step(&format!("fuzzing {} for {} s", a.target, a.secs));
    run(Command::new("cargo").env("RUSTC_BOOTSTRAP", "1").args([
        "fuzz",
        "run",
        &a.target,
        "--",
        &format!("-max_total_time={}", a.secs),
    ]))
}
