//! `cargo xtask demo`: the guide's hot-standby pair live in network
//! namespaces (`keel_lab::demo`), or with `--lvs` its LVS-DR cluster in the
//! IPVS VM.
use crate::util::{is_root, root};
use anyhow::{Result, bail};
use keel_lab::Daemon;
use keel_lab::host::{KEEPALIVED, build_keeld};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Which daemon runs on the two nodes.
    #[arg(long, value_enum, default_value_t = Daemon::Keeld)]
    pub daemon: Daemon,
    /// Use a debug build of keeld (faster to build, same behaviour).
    #[arg(long)]
    pub debug: bool,
    /// The guide's LVS-DR cluster instead (two keeld directors, two real servers,
    /// a client) in the IPVS VM: the narrated run of keeld's director_vm test.
    #[arg(long)]
    pub lvs: bool,
}

pub fn main(a: DemoArgs) -> Result<()> {
    if !is_root() {
        bail!("cargo xtask demo needs root (it creates network namespaces); run it as root");
    }
    if a.lvs {
        return crate::vm::lvs_demo();
    }
    let keeld = match a.daemon {
        Daemon::Keeld => build_keeld(!a.debug)?,
        Daemon::Keepalived => {
            crate::deps::ensure(&[("keepalived", KEEPALIVED)])?;
            PathBuf::from(KEEPALIVED)
        }
    };
    keel_lab::demo::run(a.daemon, keeld, &root().join("target/demo"))
}
