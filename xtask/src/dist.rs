//! `cargo xtask dist [--out DIR]`: what a package of keeld ships besides the binary:
//! the man page `keeld.8` and shell completions (bash, zsh, fish), generated from
//! keeld's own clap definition (`crates/keeld/src/cli.rs`, compiled here as it is, so
//! they cannot drift), and the systemd unit.
use crate::util::{root, step};
use anyhow::{Context, Result};
use clap::CommandFactory;
use std::path::PathBuf;

#[allow(dead_code, clippy::all)]
#[path = "../../crates/keeld/src/cli.rs"]
mod keeld_cli;

#[derive(clap::Args, Debug)]
pub struct DistArgs {
    /// Output directory (default target/dist).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn main(a: DistArgs) -> Result<()> {
    let out = a.out.unwrap_or_else(|| root().join("target/dist"));
    std::fs::create_dir_all(out.join("completions"))?;
    let cmd = keeld_cli::Cli::command().name("keeld");

    let mut man = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .section("8")
        .render(&mut man)
        .context("rendering the man page")?;
    std::fs::write(out.join("keeld.8"), man)?;

    for (shell, file) in [
        (clap_complete::Shell::Bash, "keeld.bash"),
        (clap_complete::Shell::Zsh, "_keeld"),
        (clap_complete::Shell::Fish, "keeld.fish"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut cmd.clone(), "keeld", &mut buf);
        std::fs::write(out.join("completions").join(file), buf)?;
    }
    std::fs::copy(
        root().join("crates/keeld/dist/keeld.service"),
        out.join("keeld.service"),
    )?;
    step(&format!(
        "wrote {0}/keeld.8, {0}/completions/{{keeld.bash,_keeld,keeld.fish}}, {0}/keeld.service\n    \
         install: man -l {0}/keeld.8 to read; cp {0}/keeld.8 /usr/local/share/man/man8/",
        out.display()
    ));
    Ok(())
}
