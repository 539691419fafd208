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
    // The working corpus (git-ignored) first, so new finds go there; then the
    // committed seeds, read-only.
    let corpus = root().join("fuzz/corpus").join(&a.target);
    std::fs::create_dir_all(&corpus)?;
    let mut cmd = Command::new("cargo");
    cmd.env("RUSTC_BOOTSTRAP", "1")
        .args(["fuzz", "run", &a.target])
        .arg(&corpus);
    let seeds = root().join("fuzz/seeds").join(&a.target);
    if seeds.is_dir() {
        cmd.arg(&seeds);
    }
    cmd.arg("--").arg(format!("-max_total_time={}", a.secs));
    run(&mut cmd)
}
