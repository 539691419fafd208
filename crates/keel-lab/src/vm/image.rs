//! Building the VM: the Debian kernel (as an uncompressed `vmlinux` for the
//! PVH boot) and an initramfs with busybox, dash, `ip`, `genl`, `ipvsadm`,
//! glibc and the IPVS modules with their dependencies.
use super::cpio::Cpio;
use crate::host::{output as cmd_out, run, step};
use anyhow::{Context, Result, bail};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const INIT: &str = include_str!("init.sh");

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

/// Build unless the artifacts are there and newer than this xtask's build inputs.
pub fn ensure_built() -> Result<()> {
    let d = super::dir();
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

fn apt_update() -> Result<()> {
    if !keel_testkit::is_root() {
        bail!("apt-get update needs root");
    }
    step("apt-get update (package lists missing or stale)");
    run(Command::new("apt-get").args(["update", "-q"]))
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
    run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(dest))
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

/// Download, unpack and assemble the VM into `target/vm`.
pub fn build() -> Result<()> {
    let t0 = Instant::now();
    let vm = super::dir();
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
    base_tree(&mut c, &ux)?;
    modules(&mut c, &kx, &kver)?;
    runtime(&mut c, &ux)?;
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

/// Directories, /init, busybox with a link per applet, /etc basics.
fn base_tree(c: &mut Cpio, ux: &Path) -> Result<()> {
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
    Ok(())
}

/// The IPVS (and test) modules with their dependencies, modules.dep and
/// the load order for /init.
fn modules(c: &mut Cpio, kx: &Path, kver: &str) -> Result<()> {
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
    c.file("etc/kernel-release", 0o644, kver.as_bytes().to_vec());
    eprintln!("    {} modules: {}", names.len(), names.join(" "));

    Ok(())
}

/// Add module `m` after its dependencies (from `depends=`) to `order`.
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

/// Dynamically linked tools (dash, ipvsadm, ip, genl) and the glibc
/// runtime for the test binaries.
fn runtime(c: &mut Cpio, ux: &Path) -> Result<()> {
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
    Ok(())
}
