//! `cargo xtask vm build | run | test`: keel's IPVS test VM.
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
use crate::util::{cargo, is_root, root, show, step};
use anyhow::{Context, Result, bail};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const INIT: &str = include_str!("vm/init.sh");

/// Kernel modules wanted in the guest; dependencies are added automatically.
/// `?` marks optional ones (absent in some kernels).
const MODULES: &[&str] = &[
    // libcrc32c finds crc32c through a crypto alias: load an implementation.
    "crc32c_generic",
    "ip_vs",
    "ip_vs_rr",
    "ip_vs_wrr",
    "ip_vs_lc",
    "ip_vs_wlc",
    "ip_vs_lblc",
    "ip_vs_lblcr",
    "ip_vs_dh",
    "ip_vs_sh",
    "ip_vs_sed",
    "ip_vs_nq",
    "ip_vs_fo",
    "ip_vs_ovf",
    "ip_vs_mh",
    "?ip_vs_twos",
    "?ip_vs_pe_sip",
    "virtio_pci",
    "9pnet_virtio",
    "9p",
    "veth",
    "dummy",
    // keeld's LVS-DR cluster test (crates/keeld/tests/director_vm.rs) needs a bridge.
    "bridge",
];

/// Debian packages unpacked for the guest's user space (besides the kernel).
const USER_PKGS: &[&str] = &[
    "busybox-static",
    "ipvsadm",
    "libnl-3-200",
    "libnl-genl-3-200",
    "libpopt0",
];

#[derive(clap::Args, Debug)]
pub struct VmArgs {
    #[command(subcommand)]
    cmd: VmCmd,
}

#[derive(clap::Subcommand, Debug)]
enum VmCmd {
    /// Download the Debian kernel + tools and build the initramfs (idempotent).
    Build,
    /// Boot the VM and run a command in it; exits with the command's status.
    Run(RunArgs),
    /// Build keel-ipvs's tests and run the kernel (`--ignored`) tests in one boot.
    Test,
}

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

pub fn main(a: VmArgs) -> Result<()> {
    match a.cmd {
        VmCmd::Build => build().map(|_| ()),
        VmCmd::Run(r) => {
            ensure_built()?;
            let rc = if r.cmd.is_empty() {
                interactive(&r)?
            } else {
                run_vm(&r)?
            };
            std::process::exit(rc);
        }
        VmCmd::Test => test(),
    }
}

fn vm_dir() -> PathBuf {
    root().join("target/vm")
}

// ---------------------------------------------------------------- build ----

/// Build unless the artifacts are there and newer than this xtask's build inputs.
pub fn ensure_built() -> Result<()> {
    let d = vm_dir();
    if d.join("vmlinux").exists()
        && d.join("initramfs.cpio").exists()
        && std::fs::read_to_string(d.join("init.stamp"))
            .ok()
            .as_deref()
            == Some(stamp().as_str())
    {
        return Ok(());
    }
    build()
}

fn stamp() -> String {
    format!("{INIT}\n{MODULES:?}\n{USER_PKGS:?}")
}

fn cmd_out(c: &mut Command) -> Result<String> {
    let o = c
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot start {}", show(c)))?;
    if !o.status.success() {
        bail!("{} failed: {}", show(c), o.status);
    }
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

fn apt_update() -> Result<()> {
    if !is_root() {
        bail!("apt-get update needs root");
    }
    step("apt-get update (package lists missing or stale)");
    crate::util::run(Command::new("apt-get").args(["update", "-q"]))
}

fn kernel_package() -> Result<String> {
    let find = || -> Option<String> {
        let out = Command::new("apt-cache")
            .args(["depends", "linux-image-amd64"])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Depends: "))
            .find(|p| p.starts_with("linux-image-"))
            .map(str::to_owned)
    };
    if let Ok(k) = std::env::var("KEEL_VM_KERNEL_PKG") {
        return Ok(k);
    }
    if let Some(k) = find() {
        return Ok(k);
    }
    apt_update()?;
    find().context("cannot resolve linux-image-amd64 to a kernel package")
}

fn find_deb(dir: &Path, pkg: &str) -> Option<PathBuf> {
    let prefix = format!("{pkg}_");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().map(|n| n.to_string_lossy().into_owned());
            n.is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".deb"))
        })
        .collect();
    v.sort();
    v.pop()
}

fn download(debs: &Path, pkg: &str) -> Result<PathBuf> {
    if let Some(p) = find_deb(debs, pkg) {
        return Ok(p);
    }
    step(&format!("apt-get download {pkg}"));
    let dl = || {
        Command::new("apt-get")
            .args(["download", "-q", pkg])
            .current_dir(debs)
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if !dl() {
        apt_update()?;
        if !dl() {
            bail!("apt-get download {pkg} failed");
        }
    }
    find_deb(debs, pkg).with_context(|| format!("{pkg}: no .deb after download"))
}

fn unpack(deb: &Path, dest: &Path) -> Result<()> {
    std::fs::create_dir_all(dest)?;
    crate::util::run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(dest))
}

/// Decompress `data` with an external tool (xz, zstd, gzip).
fn decompress(tool: &str, data: &[u8]) -> Option<Vec<u8>> {
    let mut child = Command::new(tool)
        .args(["-dc"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    let owned = data.to_vec();
    let w = std::thread::spawn(move || {
        let _ = stdin.write_all(&owned);
    });
    let mut out = Vec::new();
    let _ = child.stdout.take()?.read_to_end(&mut out);
    let _ = child.wait();
    let _ = w.join();
    Some(out)
}

/// Find the compressed payload inside a bzImage and return the ELF vmlinux.
fn extract_vmlinux(img: &[u8]) -> Option<Vec<u8>> {
    let magics: [(&[u8], &str); 3] = [
        (b"\xfd7zXZ\x00", "xz"),
        (b"\x28\xb5\x2f\xfd", "zstd"),
        (b"\x1f\x8b\x08", "gzip"),
    ];
    for (magic, tool) in magics {
        for off in img
            .windows(magic.len())
            .enumerate()
            .filter(|(_, w)| *w == magic)
            .map(|(i, _)| i)
        {
            if let Some(out) = decompress(tool, &img[off..])
                && out.starts_with(b"\x7fELF")
            {
                return Some(out);
            }
        }
    }
    None
}

/// An initramfs being assembled: path (no leading /) -> entry.
#[derive(Default)]
struct Cpio {
    entries: BTreeMap<String, Entry>,
}

enum Entry {
    Dir,
    File { mode: u32, data: Vec<u8> },
    Link(String),
}

impl Cpio {
    fn dir(&mut self, p: &str) {
        let mut acc = String::new();
        for part in p.split('/').filter(|s| !s.is_empty()) {
            if !acc.is_empty() {
                acc.push('/');
            }
            acc.push_str(part);
            self.entries.entry(acc.clone()).or_insert(Entry::Dir);
        }
    }
    fn parent(&mut self, p: &str) {
        if let Some((d, _)) = p.rsplit_once('/') {
            self.dir(d);
        }
    }
    fn file(&mut self, p: &str, mode: u32, data: Vec<u8>) {
        self.parent(p);
        self.entries.insert(p.into(), Entry::File { mode, data });
    }
    fn link(&mut self, p: &str, target: &str) {
        self.parent(p);
        self.entries.insert(p.into(), Entry::Link(target.into()));
    }
    fn copy(&mut self, p: &str, host: &Path) -> Result<()> {
        let data = std::fs::read(host).with_context(|| format!("read {}", host.display()))?;
        self.file(p, 0o755, data);
        Ok(())
    }
    /// "newc" format, as the kernel's initramfs unpacker reads it.
    fn write(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut ino = 1u32;
        let mut put = |name: &str, mode: u32, data: &[u8]| {
            let namez = name.len() + 1;
            let hdr = format!(
                "070701{ino:08X}{mode:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{namez:08X}{:08X}",
                0,
                0,
                1,
                0,
                data.len(),
                0,
                0,
                0,
                0,
                0
            );
            ino += 1;
            out.extend_from_slice(hdr.as_bytes());
            out.extend_from_slice(name.as_bytes());
            out.push(0);
            while out.len() % 4 != 0 {
                out.push(0);
            }
            out.extend_from_slice(data);
            while out.len() % 4 != 0 {
                out.push(0);
            }
        };
        for (p, e) in &self.entries {
            match e {
                Entry::Dir => put(p, 0o040755, &[]),
                Entry::File { mode, data } => put(p, 0o100000 | mode, data),
                Entry::Link(t) => put(p, 0o120777, t.as_bytes()),
            }
        }
        put("TRAILER!!!", 0, &[]);
        out
    }
}

/// Module file contents, decompressed when needed.
fn ko_bytes(p: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(p)?;
    let name = p.to_string_lossy();
    let tool = if name.ends_with(".ko.xz") {
        "xz"
    } else if name.ends_with(".ko.zst") {
        "zstd"
    } else if name.ends_with(".ko.gz") {
        "gzip"
    } else {
        return Ok(raw);
    };
    decompress(tool, &raw).with_context(|| format!("cannot decompress {name}"))
}

/// The `depends=` field of a module's .modinfo section.
fn ko_depends(ko: &[u8]) -> Vec<String> {
    let key = b"\0depends=";
    let Some(i) = ko.windows(key.len()).position(|w| w == key) else {
        return Vec::new();
    };
    let rest = &ko[i + key.len()..];
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    String::from_utf8_lossy(&rest[..end])
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.replace('-', "_"))
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
}

/// Shared libraries `bin` needs (via ldd), with `extra` searched first.
fn libs_of(bin: &Path, extra: &str) -> Result<Vec<PathBuf>> {
    let out = cmd_out(Command::new("ldd").arg(bin).env("LD_LIBRARY_PATH", extra))?;
    let mut v = Vec::new();
    for l in out.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() >= 3 && f[1] == "=>" && f[2].starts_with('/') {
            v.push(PathBuf::from(f[2]));
        } else if f.first().is_some_and(|s| s.starts_with("/lib64/")) {
            v.push(PathBuf::from(f[0]));
        }
    }
    Ok(v)
}

pub fn build() -> Result<()> {
    let t0 = Instant::now();
    let vm = vm_dir();
    let debs = vm.join("cache/debs");
    std::fs::create_dir_all(&debs)?;
    step("building the IPVS test VM (target/vm)");
    let kpkg = kernel_package()?;
    let kdeb = download(&debs, &kpkg)?;
    let mut udebs = Vec::new();
    for p in USER_PKGS {
        udebs.push(download(&debs, p)?);
    }

    // unpack (the kernel once per .deb: it is large)
    let kx = vm.join("cache/kernel");
    let from = kx.join(".from");
    if std::fs::read_to_string(&from).ok().as_deref() != Some(&*kdeb.to_string_lossy()) {
        let _ = std::fs::remove_dir_all(&kx);
        unpack(&kdeb, &kx)?;
        std::fs::write(&from, kdeb.to_string_lossy().as_bytes())?;
    }
    let ux = vm.join("cache/user");
    let _ = std::fs::remove_dir_all(&ux);
    for d in &udebs {
        unpack(d, &ux)?;
    }
    let kver = std::fs::read_dir(kx.join("lib/modules"))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .next()
        .context("no lib/modules/<version> in the kernel package")?;
    eprintln!("    kernel {kver}");

    // kernel: uncompressed ELF for the PVH boot
    let vmlinuz = std::fs::read(kx.join(format!("boot/vmlinuz-{kver}")))?;
    let vmlinux = extract_vmlinux(&vmlinuz).context("cannot extract vmlinux from vmlinuz")?;
    std::fs::write(vm.join("vmlinux"), vmlinux)?;
    std::fs::write(vm.join("kernel.release"), &kver)?;

    let mut c = Cpio::default();
    for d in [
        "bin",
        "sbin",
        "etc",
        "proc",
        "sys",
        "dev",
        "tmp",
        "run",
        "mnt",
        "usr",
        "vm",
        "root",
        "lib64",
        "lib/x86_64-linux-gnu",
    ] {
        c.dir(d);
    }
    c.link("var/run", "../run");
    c.dir("etc/iproute2");
    c.file("init", 0o755, INIT.as_bytes().to_vec());

    // busybox + one link per applet; /bin/sh is dash (Debian's static busybox
    // sh always prefers its own applets, e.g. its limited `ip`).
    let bb = ux.join("bin/busybox");
    c.copy("bin/busybox", &bb)?;
    for a in cmd_out(Command::new(&bb).arg("--list"))?.split_whitespace() {
        if a != "busybox" && a != "sh" {
            c.link(&format!("bin/{a}"), "busybox");
        }
    }
    c.link("sbin/modprobe", "../bin/busybox");

    // modules: resolve dependencies from each .ko's depends=
    let msrc = kx.join(format!("lib/modules/{kver}"));
    let mut files = Vec::new();
    walk(&msrc.join("kernel"), &mut files);
    let mut by_name: BTreeMap<String, PathBuf> = BTreeMap::new();
    for f in files {
        let n = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some((stem, _)) = n.split_once(".ko") {
            by_name.insert(stem.replace('-', "_"), f);
        }
    }
    let builtin: BTreeSet<String> = std::fs::read_to_string(msrc.join("modules.builtin"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            l.rsplit('/')
                .next()?
                .split_once(".ko")
                .map(|(s, _)| s.replace('-', "_"))
        })
        .collect();
    let mut seen = BTreeSet::new();
    let mut order: Vec<(String, PathBuf, Vec<u8>)> = Vec::new();
    fn visit(
        m: &str,
        optional: bool,
        by_name: &BTreeMap<String, PathBuf>,
        builtin: &BTreeSet<String>,
        seen: &mut BTreeSet<String>,
        order: &mut Vec<(String, PathBuf, Vec<u8>)>,
    ) -> Result<()> {
        if !seen.insert(m.to_string()) || builtin.contains(m) {
            return Ok(());
        }
        let Some(p) = by_name.get(m) else {
            if optional {
                eprintln!("    (optional module {m} not in this kernel)");
                return Ok(());
            }
            bail!("module {m} not found in the kernel package");
        };
        let data = ko_bytes(p)?;
        for d in ko_depends(&data) {
            visit(&d, false, by_name, builtin, seen, order)?;
        }
        order.push((m.to_string(), p.clone(), data));
        Ok(())
    }
    for m in MODULES {
        let (opt, name) = match m.strip_prefix('?') {
            Some(n) => (true, n),
            None => (false, *m),
        };
        visit(name, opt, &by_name, &builtin, &mut seen, &mut order)?;
    }
    let mut load = String::new();
    let mut dep = String::new();
    let names: Vec<&str> = order.iter().map(|(n, _, _)| n.as_str()).collect();
    for (_, p, data) in &order {
        let rel = p.strip_prefix(&msrc)?.to_string_lossy().into_owned();
        let rel = format!(
            "{}.ko",
            rel.split_once(".ko").map(|(s, _)| s).unwrap_or(&rel)
        );
        let deps: Vec<String> = ko_depends(data)
            .iter()
            .filter_map(|d| by_name.get(d))
            .filter_map(|p| p.strip_prefix(&msrc).ok())
            .map(|r| {
                let r = r.to_string_lossy();
                format!("{}.ko", r.split_once(".ko").map(|(s, _)| s).unwrap_or(&r))
            })
            .collect();
        dep.push_str(&format!("{rel}: {}\n", deps.join(" ")));
        load.push_str(&rel);
        load.push('\n');
        c.file(&format!("lib/modules/{kver}/{rel}"), 0o644, data.clone());
    }
    c.file(
        &format!("lib/modules/{kver}/modules.dep"),
        0o644,
        dep.into_bytes(),
    );
    for f in ["modules.builtin", "modules.order"] {
        if let Ok(d) = std::fs::read(msrc.join(f)) {
            c.file(&format!("lib/modules/{kver}/{f}"), 0o644, d);
        }
    }
    c.file("etc/modules-load", 0o644, load.into_bytes());
    c.file("etc/kernel-release", 0o644, kver.clone().into_bytes());
    eprintln!("    {} modules: {}", names.len(), names.join(" "));

    // dynamically linked tools and the glibc runtime for test binaries
    let extra = format!(
        "{}:{}",
        ux.join("usr/lib/x86_64-linux-gnu").display(),
        ux.join("lib/x86_64-linux-gnu").display()
    );
    let mut libs = BTreeSet::new();
    let bins: [(&str, PathBuf); 4] = [
        ("bin/sh", PathBuf::from("/usr/bin/dash")),
        ("sbin/ipvsadm", ux.join("sbin/ipvsadm")),
        ("sbin/ip", PathBuf::from("/usr/bin/ip")),
        ("sbin/genl", PathBuf::from("/usr/sbin/genl")),
    ];
    for (dst, src) in &bins {
        if !src.exists() && dst.ends_with("genl") {
            continue;
        }
        c.copy(dst, src)?;
        libs.extend(libs_of(src, &extra)?);
    }
    for l in [
        "libc.so.6",
        "libm.so.6",
        "libgcc_s.so.1",
        "libpthread.so.0",
        "libdl.so.2",
        "librt.so.1",
        "libutil.so.1",
        "libresolv.so.2",
    ] {
        let p = Path::new("/lib/x86_64-linux-gnu").join(l);
        if p.exists() {
            libs.insert(p);
        }
    }
    for l in libs {
        let name = l
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let data = std::fs::read(&l).with_context(|| format!("read {}", l.display()))?;
        if name.starts_with("ld-linux") {
            c.file(&format!("lib64/{name}"), 0o755, data);
        } else {
            c.file(&format!("lib/x86_64-linux-gnu/{name}"), 0o755, data);
        }
    }
    c.file(
        "etc/passwd",
        0o644,
        b"root:x:0:0:root:/root:/bin/sh\n".to_vec(),
    );
    c.file("etc/group", 0o644, b"root:x:0:\n".to_vec());
    c.file(
        "etc/hosts",
        0o644,
        b"127.0.0.1 localhost\n::1 localhost\n".to_vec(),
    );
    let cpio = c.write();
    std::fs::write(vm.join("initramfs.cpio"), &cpio)?;
    std::fs::write(vm.join("init.stamp"), stamp())?;
    eprintln!(
        "    initramfs {} KiB, built in {:.1} s",
        cpio.len() / 1024,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

// ------------------------------------------------------------------ run ----

/// POSIX-sh single quoting.
fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn kvm_usable() -> bool {
    let dev = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok();
    dev && (Path::new("/sys/module/kvm_intel").exists()
        || Path::new("/sys/module/kvm_amd").exists())
}

fn abs(p: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(p).with_context(|| format!("no such directory {}", p.display()))
}

/// Boot the VM, run `a.cmd` and return its exit status (124 timeout, 125 VM died).
pub fn run_vm(a: &RunArgs) -> Result<i32> {
    let vm = vm_dir();
    let workdir = abs(&a.workdir.clone().unwrap_or(std::env::current_dir()?))?;
    if workdir == Path::new("/") {
        bail!("cannot share / as the work directory");
    }
    let mut dirs = vec![workdir.clone()];
    for s in &a.shares {
        dirs.push(abs(s)?);
    }
    if let Some(c0) = a.cmd.first()
        && c0.starts_with('/')
        && let Some(parent) = Path::new(c0).parent()
    {
        dirs.push(abs(parent)?);
    }
    dirs.sort();
    dirs.dedup();
    let mut keep: Vec<PathBuf> = Vec::new();
    for d in dirs {
        if !keep.iter().any(|k| d.starts_with(k)) {
            keep.push(d);
        }
    }

    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let ctl = std::env::temp_dir().join(format!("keel-vm.{}.{nanos}", std::process::id()));
    std::fs::create_dir_all(&ctl)?;
    let _guard = RmDir(ctl.clone());

    let mut qemu = Command::new("qemu-system-x86_64");
    if kvm_usable() && std::env::var("KEEL_VM_ACCEL").as_deref() != Ok("tcg") {
        qemu.args(["-accel", "kvm", "-cpu", "host"]);
    } else {
        qemu.args(["-accel", "tcg,thread=multi", "-cpu", "max"]);
    }
    let esc = |p: &Path| p.to_string_lossy().replace(',', ",,");
    let mut shares = String::new();
    for (i, d) in keep.iter().enumerate() {
        qemu.arg("-virtfs").arg(format!(
            "local,path={},mount_tag=keelsh{i},security_model=none,id=keelsh{i}",
            esc(d)
        ));
        shares.push_str(&format!("keelsh{i} {}\n", d.display()));
    }
    qemu.arg("-virtfs").arg(format!(
        "local,path={},mount_tag=keelctl,security_model=none,id=keelctl",
        esc(&ctl)
    ));
    if !a.no_host_usr {
        qemu.args([
            "-virtfs",
            "local,path=/usr,mount_tag=keelusr,security_model=none,readonly=on,id=keelusr",
        ]);
    }
    std::fs::write(ctl.join("shares"), shares)?;
    std::fs::write(
        ctl.join("env"),
        format!("VM_WORKDIR={}\n", q(&workdir.to_string_lossy())),
    )?;
    let mut script = String::new();
    for v in [
        "RUST_BACKTRACE",
        "RUST_LOG",
        "RUST_TEST_THREADS",
        "NO_COLOR",
        "CI",
    ] {
        if let Ok(val) = std::env::var(v) {
            script.push_str(&format!("export {v}={}\n", q(&val)));
        }
    }
    for e in &a.envs {
        match e.split_once('=') {
            Some((k, v)) => script.push_str(&format!("export {k}={}\n", q(v))),
            None => {
                if let Ok(v) = std::env::var(e) {
                    script.push_str(&format!("export {e}={}\n", q(&v)));
                }
            }
        }
    }
    script.push_str(&a.cmd.iter().map(|s| q(s)).collect::<Vec<_>>().join(" "));
    script.push('\n');
    std::fs::write(ctl.join("cmd.sh"), script)?;

    qemu.args(["-smp", "1", "-m", &a.mem])
        .args([
            "-M",
            "q35",
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
        ])
        .args(["-no-reboot", "-serial", "stdio"])
        .arg("-kernel")
        .arg(vm.join("vmlinux"))
        .arg("-initrd")
        .arg(vm.join("initramfs.cpio"))
        .args([
            "-append",
            "console=ttyS0 quiet loglevel=3 panic=-1 tsc=reliable",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = qemu.spawn().context("cannot start qemu-system-x86_64")?;
    let console = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let verbose = a.verbose;
    let out = child.stdout.take().context("qemu stdout")?;
    let log = console.clone();
    let reader = std::thread::spawn(move || {
        let mut on = false;
        for line in BufReader::new(out).split(b'\n').map_while(|l| l.ok()) {
            let line = String::from_utf8_lossy(&line)
                .trim_end_matches('\r')
                .to_string();
            if let Ok(mut l) = log.lock() {
                l.push(line.clone());
            }
            if line.contains("@@KEEL-VM-STATUS=") {
                let before = &line[..line.find("@@KEEL-VM-STATUS=").unwrap_or(0)];
                if on && !before.is_empty() {
                    println!("{before}");
                }
                on = false;
                continue;
            }
            if on || verbose {
                println!("{line}");
            }
            if line.contains("@@KEEL-VM-START") {
                on = true;
            }
        }
    });
    let err = child.stderr.take().context("qemu stderr")?;
    let log2 = console.clone();
    let ereader = std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(|l| l.ok()) {
            if let Ok(mut l) = log2.lock() {
                l.push(format!("qemu: {line}"));
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(a.timeout);
    let timed_out = loop {
        if child.try_wait()?.is_some() {
            break false;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break true;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = reader.join();
    let _ = ereader.join();
    if timed_out {
        eprintln!("keel vm: timed out after {} s", a.timeout);
        return Ok(124);
    }
    if let Some(rc) = std::fs::read_to_string(ctl.join("status"))
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
    {
        return Ok(rc);
    }
    eprintln!("keel vm: the VM exited without reporting a status; console tail:");
    if let Ok(l) = console.lock() {
        for line in l
            .iter()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
        {
            eprintln!("  | {line}");
        }
    }
    Ok(125)
}

/// An interactive shell in the VM: no control share, console on this terminal.
fn interactive(a: &RunArgs) -> Result<i32> {
    let vm = vm_dir();
    let mut qemu = Command::new("qemu-system-x86_64");
    if kvm_usable() {
        qemu.args(["-accel", "kvm", "-cpu", "host"]);
    } else {
        qemu.args(["-accel", "tcg,thread=multi", "-cpu", "max"]);
    }
    if !a.no_host_usr {
        qemu.args([
            "-virtfs",
            "local,path=/usr,mount_tag=keelusr,security_model=none,readonly=on,id=keelusr",
        ]);
    }
    qemu.args(["-smp", "1", "-m", &a.mem])
        .args([
            "-M",
            "q35",
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
        ])
        .args(["-no-reboot", "-serial", "mon:stdio"])
        .arg("-kernel")
        .arg(vm.join("vmlinux"))
        .arg("-initrd")
        .arg(vm.join("initramfs.cpio"))
        .args([
            "-append",
            "console=ttyS0 quiet loglevel=3 panic=-1 tsc=reliable",
        ]);
    let st = qemu.status().context("cannot start qemu-system-x86_64")?;
    Ok(st.code().unwrap_or(125))
}

struct RmDir(PathBuf);
impl Drop for RmDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ----------------------------------------------------------------- test ----

/// Test executables of `cargo test -p PKG --no-run` (from its JSON messages).
pub fn test_binaries(pkg: &str, extra: &[&str]) -> Result<Vec<String>> {
    let mut c = cargo();
    c.current_dir(root())
        .args(["test", "-p", pkg, "--no-run", "--message-format=json"])
        .args(extra);
    let out = cmd_out(&mut c)?;
    let mut v = Vec::new();
    for line in out.lines() {
        // test harnesses only (examples are built too, with "test":false)
        if !line.contains("\"reason\":\"compiler-artifact\"") || !line.contains("\"test\":true") {
            continue;
        }
        let key = "\"executable\":\"";
        if let Some(i) = line.find(key) {
            let rest = &line[i + key.len()..];
            if let Some(end) = rest.find('"') {
                v.push(rest[..end].to_string());
            }
        }
    }
    if v.is_empty() {
        bail!("cargo test -p {pkg} --no-run produced no test binaries");
    }
    Ok(v)
}

/// Run keel-ipvs's kernel tests (the `#[ignore]`d ones) inside one VM boot.
pub fn test() -> Result<()> {
    ensure_built()?;
    step("building keel-ipvs test binaries");
    let mut bins = test_binaries("keel-ipvs", &[])?;
    // keeld as an LVS director: the guide's LVS-DR cluster (its keeld binary is
    // under the shared work dir).
    bins.extend(keeld_director_vm()?);
    let mut script = String::from(
        "# generated by cargo xtask vm test\nfailed=0\nipvsadm -ln >/dev/null || { echo 'ipvsadm -ln failed in the VM'; exit 1; }\n",
    );
    for b in &bins {
        script.push_str(&format!(
            "echo \"==> {b} --ignored\"\n{} --ignored --test-threads=1 || failed=1\n",
            q(b)
        ));
    }
    script.push_str("exit $failed\n");
    let path = vm_dir().join("vm-test.sh");
    std::fs::write(&path, script)?;
    step(&format!(
        "running {} test binaries' kernel tests in the IPVS VM",
        bins.len()
    ));
    let t0 = Instant::now();
    let mut a = RunArgs::new(vec!["sh".into(), path.to_string_lossy().into_owned()]);
    a.workdir = Some(root());
    a.shares = bins
        .iter()
        .filter_map(|b| Path::new(b).parent().map(Path::to_path_buf))
        .collect();
    a.timeout = 900;
    let rc = run_vm(&a)?;
    eprintln!("    VM tier took {:.1} s", t0.elapsed().as_secs_f64());
    if rc != 0 {
        bail!("VM tests failed (exit status {rc})");
    }
    Ok(())
}

/// keeld's LVS-DR cluster test executable (the keeld binary it runs is under the
/// shared work dir; cargo also reports that binary, which is not a test harness).
fn keeld_director_vm() -> Result<Vec<String>> {
    let v: Vec<String> = test_binaries("keeld", &["--test", "director_vm"])?
        .into_iter()
        .filter(|b| {
            Path::new(b)
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("director_vm-"))
        })
        .collect();
    if v.is_empty() {
        bail!("no director_vm test binary for keeld");
    }
    Ok(v)
}

/// `cargo xtask demo --lvs`: the guide's LVS-DR cluster (keeld's director_vm
/// test) in one VM boot, with its timeline printed.
pub fn lvs_demo() -> Result<()> {
    ensure_built()?;
    step("building keeld and its LVS-DR cluster test");
    let bins = keeld_director_vm()?;
    let mut script = String::from("# generated by cargo xtask demo --lvs\n");
    for b in &bins {
        script.push_str(&format!(
            "{} --ignored --nocapture --test-threads=1\n",
            q(b)
        ));
    }
    let path = vm_dir().join("lvs-demo.sh");
    std::fs::write(&path, script)?;
    step("LVS-DR cluster: client, director1 (MASTER), director2 (BACKUP), real1, real2");
    let mut a = RunArgs::new(vec!["sh".into(), path.to_string_lossy().into_owned()]);
    a.workdir = Some(root());
    a.timeout = 300;
    let rc = run_vm(&a)?;
    if rc != 0 {
        bail!("LVS demo failed (exit status {rc})");
    }
    Ok(())
}

/// `cargo xtask bench ipvs [-- SERVICES DESTS]`: keel-ipvs vs ipvsadm in bulk,
/// measured in one VM boot (release build of the `ipvs_bench` example).
pub fn bench(args: &[String]) -> Result<()> {
    ensure_built()?;
    step("building the ipvs_bench example (release)");
    crate::util::run(cargo().args([
        "build",
        "--release",
        "-p",
        "keel-ipvs",
        "--example",
        "ipvs_bench",
    ]))?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let bin = abs(&target.join("release/examples"))?.join("ipvs_bench");
    let mut cmd = vec![bin.to_string_lossy().into_owned()];
    cmd.extend(args.iter().cloned());
    step(
        "running ipvs_bench in the IPVS VM (TCG emulation: absolute times are slow, ratios matter)",
    );
    let mut a = RunArgs::new(cmd);
    a.workdir = Some(root());
    a.timeout = 1200;
    a.mem = "1G".into();
    let rc = run_vm(&a)?;
    if rc != 0 {
        bail!("ipvs_bench failed in the VM (exit status {rc})");
    }
    Ok(())
}
