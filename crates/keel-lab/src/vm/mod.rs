//! The IPVS test VM (`cargo xtask vm build | run | test`).
//!
//! The host kernel may lack IPVS, so kernel tests run in a stock Debian kernel
//! booted with qemu on a tiny initramfs:
//!
//! * `vm build`: `apt-get download` of the kernel (`linux-image-amd64`'s
//!   dependency), `busybox-static`, `ipvsadm` and its libraries into
//!   `target/vm/cache`; unpack with `dpkg-deb -x`; extract the uncompressed
//!   `vmlinux` (qemu boots it through the PVH entry: no in-guest
//!   decompression, which costs seconds under TCG); write `target/vm/initramfs.cpio`
//!   (busybox, dash as `/bin/sh`, `ip`, `genl`, `ipvsadm`, glibc, the IPVS
//!   modules with their dependencies resolved from each `.ko`'s `depends=`).
//! * `vm run [OPTIONS] -- CMD...`: boot, share directories over virtio-9p at
//!   the same path as on the host, run CMD in the guest and exit with its
//!   status (124 on timeout, 125 if the VM died; then the console tail is
//!   printed).
//! * `vm test`: build the keel-ipvs test binaries and run their kernel tests
//!   (`--ignored`) inside ONE boot.
//!
//! KVM is used only when a real `kvm_intel`/`kvm_amd` module is loaded (a
//! `kvm_pvm` /dev/kvm cannot boot a stock kernel); otherwise TCG.
//!
//! [`image`] builds the kernel and initramfs (with [`cpio`]); [`qemu`] boots
//! them and runs a command.
pub mod cpio;
pub mod image;
pub mod qemu;

pub use image::{build, ensure_built};
pub use qemu::{q, run};

use crate::host::root;
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// Working directory of the command, shared into the guest (default: current dir).
    #[arg(short = 'd', long)]
    pub workdir: Option<PathBuf>,
    /// One more host directory to share at the same path (repeatable).
    #[arg(short = 's', long = "share")]
    pub shares: Vec<PathBuf>,
    /// Environment variable for the guest, NAME=VALUE or NAME (taken from here).
    #[arg(short = 'e', long = "env")]
    pub envs: Vec<String>,
    /// Hard timeout of the whole run in seconds (exit status 124).
    #[arg(short = 't', long, default_value_t = 300)]
    pub timeout: u64,
    /// Guest memory.
    #[arg(short = 'm', long, default_value = "512M")]
    pub mem: String,
    /// Do not mount the host's /usr read-only on the guest's /usr.
    #[arg(long)]
    pub no_host_usr: bool,
    /// Also print the boot log.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// The command (after `--`). Without one: an interactive shell on the
    /// serial console (needs a terminal; Ctrl-A X quits qemu).
    #[arg(last = true)]
    pub cmd: Vec<String>,
}

impl RunArgs {
    pub fn new(cmd: Vec<String>) -> Self {
        RunArgs {
            workdir: None,
            shares: Vec::new(),
            envs: Vec::new(),
            timeout: 300,
            mem: "512M".into(),
            no_host_usr: false,
            verbose: false,
            cmd,
        }
    }
}

/// Where the VM's artifacts live (`target/vm`).
pub fn dir() -> PathBuf {
    root().join("target/vm")
}
