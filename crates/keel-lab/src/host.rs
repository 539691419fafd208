//! What the lab does on the host itself: run commands with visible progress,
//! install the Debian packages a tier needs, build keeld.
use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The workspace root (two levels above this crate).
pub fn root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.ancestors().nth(2).map_or(here.clone(), PathBuf::from)
}

/// Print a step header.
pub fn step(msg: &str) {
    eprintln!("\n==> {msg}");
}

/// A command line as text, for messages.
pub fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Run a command in the workspace root; fail with its command line.
pub fn run(cmd: &mut Command) -> Result<()> {
    cmd.current_dir(root());
    eprintln!("    $ {}", show(cmd));
    let st = cmd
        .status()
        .with_context(|| format!("cannot start {}", show(cmd)))?;
    if !st.success() {
        bail!("{} failed: {st}", show(cmd));
    }
    Ok(())
}

/// Run a command that must succeed; its stdout (stderr goes to ours).
pub fn output(c: &mut Command) -> Result<String> {
    let o = c
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot start {}", show(c)))?;
    if !o.status.success() {
        bail!("{} failed: {}", show(c), o.status);
    }
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// `cargo` with the same toolchain that runs us.
pub fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Build keeld (release or debug) and return the binary's path.
pub fn build_keeld(release: bool) -> Result<PathBuf> {
    step("building keeld");
    let mut c = cargo();
    c.args(["build", "-p", "keeld"]);
    if release {
        c.arg("--release");
    }
    run(&mut c)?;
    Ok(root().join(if release {
        "target/release/keeld"
    } else {
        "target/debug/keeld"
    }))
}

/// keepalived as Debian installs it.
pub const KEEPALIVED: &str = "/usr/sbin/keepalived";

/// Install every package of `pkgs` (package, a file it installs) whose file is
/// missing.
pub fn ensure_packages(pkgs: &[(&str, &str)]) -> Result<()> {
    let missing: Vec<&str> = pkgs
        .iter()
        .filter(|(_, f)| !std::path::Path::new(f).exists())
        .map(|(p, _)| *p)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    step(&format!(
        "installing missing Debian packages: {}",
        missing.join(" ")
    ));
    if !keel_testkit::is_root() {
        eprintln!("    not root: cannot install them; the tiers that need them will skip");
        return Ok(());
    }
    run(Command::new("apt-get").args(["update", "-q"]))?;
    run(Command::new("apt-get")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(&missing))
}

/// Poll `child` every `poll` until it exits or `within` passes: its exit
/// status, or `None` (still running).
pub fn wait_exit(child: &mut Child, within: Duration, poll: Duration) -> Option<ExitStatus> {
    let t = Instant::now();
    while t.elapsed() < within {
        if let Ok(Some(st)) = child.try_wait() {
            return Some(st);
        }
        std::thread::sleep(poll);
    }
    None
}
