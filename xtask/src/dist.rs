//! `cargo xtask dist [--out DIR] [--no-deb] [--check]`: keeld's Debian package,
//! its man pages and shell completions (built by `keel_lab::dist`, which says how).
//! `--check` (run by `cargo xtask test`) installs the package into a temporary
//! root and checks it.
use crate::util::root;
use anyhow::Result;
use keel_lab::dist::{build_deb, check_deb, manuals, meta};
use std::path::PathBuf;

#[derive(clap::Args, Debug, Default)]
pub struct DistArgs {
    /// Output directory (default target/dist).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Only the man pages and completions: no release build, no .deb.
    #[arg(long)]
    pub no_deb: bool,
    /// Install the .deb into a temporary root and check it (CI).
    #[arg(long)]
    pub check: bool,
}

pub fn main(a: DistArgs) -> Result<()> {
    // The generated pages and completions always go to target/dist, where the
    // assets table takes them from; --out only moves the .deb.
    manuals(&root().join("target/dist"))?;
    let out = a.out.unwrap_or_else(|| root().join("target/dist"));
    std::fs::create_dir_all(&out)?;
    if a.no_deb {
        return Ok(());
    }
    let m = meta()?;
    let deb = build_deb(&out, &m)?;
    if a.check {
        check_deb(&out, &deb, &m)?;
    }
    Ok(())
}
