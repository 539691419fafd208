//! Booting the VM: one qemu command line for every boot, host directories
//! shared over virtio-9p at their own paths, a control share carrying the
//! command, its environment and (back) its exit status.
use super::RunArgs;
use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// POSIX-sh single quoting.
pub fn q(s: &str) -> String {
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

/// A virtfs share of `path` with `tag`.
fn virtfs(path: &Path, tag: &str, extra: &str) -> String {
    let path = path.to_string_lossy().replace(',', ",,");
    format!("local,path={path},mount_tag={tag},security_model=none{extra},id={tag}")
}

/// qemu as every boot runs it: KVM when a real KVM module is loaded (and
/// `KEEL_VM_ACCEL` is not `tcg`), else TCG; one CPU, `a.mem`, q35 without
/// defaults or display, no reboot, the kernel and initramfs, the host's /usr
/// read-only (unless `a.no_host_usr`), the serial console on `serial`.
fn qemu(a: &RunArgs, serial: &str) -> Command {
    let vm = super::dir();
    let mut c = Command::new("qemu-system-x86_64");
    if kvm_usable() && std::env::var("KEEL_VM_ACCEL").as_deref() != Ok("tcg") {
        c.args(["-accel", "kvm", "-cpu", "host"]);
    } else {
        c.args(["-accel", "tcg,thread=multi", "-cpu", "max"]);
    }
    if !a.no_host_usr {
        c.arg("-virtfs")
            .arg(virtfs(Path::new("/usr"), "keelusr", ",readonly=on"));
    }
    c.args(["-smp", "1", "-m", &a.mem])
        .args(["-M", "q35", "-nodefaults", "-no-user-config"])
        .args(["-display", "none", "-no-reboot", "-serial", serial])
        .arg("-kernel")
        .arg(vm.join("vmlinux"))
        .arg("-initrd")
        .arg(vm.join("initramfs.cpio"))
        .args([
            "-append",
            "console=ttyS0 quiet loglevel=3 panic=-1 tsc=reliable",
        ]);
    c
}

/// The directories to share: the work directory, `a.shares` and the
/// command's own directory, without those inside another.
fn shared_dirs(a: &RunArgs, workdir: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs = vec![workdir.to_path_buf()];
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
    Ok(keep)
}

/// The guest's script: the environment passed through, then the command.
fn script(a: &RunArgs) -> String {
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
    script
}

/// Boot the VM, run `a.cmd` and return its exit status (124 timeout, 125 VM died).
pub fn run(a: &RunArgs) -> Result<i32> {
    let workdir = abs(&a.workdir.clone().unwrap_or(std::env::current_dir()?))?;
    if workdir == Path::new("/") {
        bail!("cannot share / as the work directory");
    }
    let keep = shared_dirs(a, &workdir)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let ctl = std::env::temp_dir().join(format!("keel-vm.{}.{nanos}", std::process::id()));
    std::fs::create_dir_all(&ctl)?;
    let _guard = RmDir(ctl.clone());

    let mut qemu = qemu(a, "stdio");
    let mut shares = String::new();
    for (i, d) in keep.iter().enumerate() {
        qemu.arg("-virtfs")
            .arg(virtfs(d, &format!("keelsh{i}"), ""));
        shares.push_str(&format!("keelsh{i} {}\n", d.display()));
    }
    qemu.arg("-virtfs").arg(virtfs(&ctl, "keelctl", ""));
    std::fs::write(ctl.join("shares"), shares)?;
    std::fs::write(
        ctl.join("env"),
        format!("VM_WORKDIR={}\n", q(&workdir.to_string_lossy())),
    )?;
    std::fs::write(ctl.join("cmd.sh"), script(a))?;
    qemu.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = qemu.spawn().context("cannot start qemu-system-x86_64")?;
    let console = Arc::new(Mutex::new(Vec::<String>::new()));
    let readers = read_console(&mut child, &console, a.verbose)?;
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
    for r in readers {
        let _ = r.join();
    }
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
        let from = l.len().saturating_sub(40);
        for line in &l[from..] {
            eprintln!("  | {line}");
        }
    }
    Ok(125)
}

/// Threads that keep qemu's output in `console` and print the command's
/// part of it (between the init script's markers; everything with `verbose`).
fn read_console(
    child: &mut Child,
    console: &Arc<Mutex<Vec<String>>>,
    verbose: bool,
) -> Result<Vec<std::thread::JoinHandle<()>>> {
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
            if let Some(at) = line.find("@@KEEL-VM-STATUS=") {
                let before = &line[..at];
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
    let log = console.clone();
    let ereader = std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(|l| l.ok()) {
            if let Ok(mut l) = log.lock() {
                l.push(format!("qemu: {line}"));
            }
        }
    });
    Ok(vec![reader, ereader])
}

/// An interactive shell in the VM: no control share, console on this terminal.
pub fn interactive(a: &RunArgs) -> Result<i32> {
    let st = qemu(a, "mon:stdio")
        .status()
        .context("cannot start qemu-system-x86_64")?;
    Ok(st.code().unwrap_or(125))
}

struct RmDir(PathBuf);
impl Drop for RmDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
