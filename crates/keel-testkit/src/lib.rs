//! Test support shared by keel's privileged test tiers. Not published.
//!
//! * [`require_root`] / [`require_tool`]: a test that needs root or an external
//!   program calls these first. Outside CI they print one loud line and return
//!   `false` (the test then returns early, i.e. it is skipped); with `CI=true`
//!   they panic, because in CI every tier must really run.
//! * [`Netns`]: a uniquely named network namespace that is deleted on drop,
//!   even when the test panics.
//! * [`sh`] / [`sh_ok`]: run a command and get its output, with the command
//!   line in the panic message when it fails.
//!
//! ```no_run
//! use keel_testkit::{require_root, Netns};
//! if !require_root("vip add/remove") { return; }
//! let a = Netns::new("vip");
//! let b = Netns::new("vip");
//! a.veth_to(&b, "va", "vb");
//! a.run_ok(&["ip", "addr", "add", "192.0.2.1/24", "dev", "va"]);
//! ```
#![allow(clippy::print_stderr, clippy::missing_panics_doc)]

pub mod probe;
mod sys;

use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// True when running in CI (`CI=true` or `CI=1`): skips become failures.
pub fn in_ci() -> bool {
    matches!(std::env::var("CI").as_deref(), Ok("true") | Ok("1"))
}

fn skip(what: &str, why: &str) -> bool {
    if in_ci() {
        panic!("{what}: {why}, and CI=true: privileged tiers must run in CI");
    }
    eprintln!("\n!!!!! SKIPPED {what}: {why} !!!!!\n");
    false
}

/// True when the effective user is root (the `Uid:` line of /proc/self/status).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// True when the process is root. Otherwise skip loudly (or panic in CI).
pub fn require_root(what: &str) -> bool {
    is_root() || skip(what, "needs root (network namespaces, raw sockets)")
}

/// True when `tool` is on PATH. Otherwise skip loudly (or panic in CI).
pub fn require_tool(what: &str, tool: &str) -> bool {
    if which(tool).is_some() {
        true
    } else {
        skip(
            what,
            &format!("`{tool}` is not installed (`cargo xtask test` installs it)"),
        )
    }
}

/// Full path of `tool` if it is on PATH.
pub fn which(tool: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// Poll `f` every 50 ms until it returns true or `within` has passed: how long
/// it took, or `None`.
pub fn wait_until(
    within: std::time::Duration,
    mut f: impl FnMut() -> bool,
) -> Option<std::time::Duration> {
    let t = std::time::Instant::now();
    while t.elapsed() < within {
        if f() {
            return Some(t.elapsed());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    None
}

/// SIGTERM, for [`signal`].
pub const SIGTERM: i32 = libc::SIGTERM;

/// Send signal `sig` (e.g. [`SIGTERM`]) to process `pid` with one
/// `kill(2)`, without forking a `kill` command, so the moment of the signal is
/// known to within microseconds (latency measurements).
pub fn signal(pid: i32, sig: i32) -> std::io::Result<()> {
    sys::kill(pid, sig)
}

/// Run a command; panic with the command line and its stderr if it cannot start.
pub fn sh(argv: &[&str]) -> Output {
    Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {argv:?}: {e}"))
}

/// Run a command that must succeed; return its stdout.
pub fn sh_ok(argv: &[&str]) -> String {
    let out = sh(argv);
    assert!(
        out.status.success(),
        "{argv:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A throw-away network namespace, deleted (with its interfaces) on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Create `keel-<tag>-<pid>-<n>` with `lo` up. Panics if `ip netns add` fails.
    pub fn new(tag: &str) -> Netns {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut name = format!("keel-{tag}-{}-{n}", std::process::id());
        name.truncate(60);
        sh_ok(&["ip", "netns", "add", &name]);
        let ns = Netns { name };
        ns.run_ok(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    /// The namespace's name (for `ip -n NAME` or `ip netns exec NAME`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Path of the namespace file (`/run/netns/NAME`), for `setns(2)`.
    pub fn path(&self) -> std::path::PathBuf {
        std::path::Path::new("/run/netns").join(&self.name)
    }

    /// Run `f` on a new thread that has joined this namespace (`setns(2)`), and
    /// return its result. Sockets created inside `f` (netlink, raw, UDP) belong
    /// to the namespace for their whole life, so they may be returned and used
    /// from any thread afterwards.
    pub fn enter<R, F>(&self, f: F) -> R
    where
        R: Send + 'static,
        F: FnOnce() -> R + Send + 'static,
    {
        let path = self.path();
        std::thread::spawn(move || {
            let file = std::fs::File::open(&path)
                .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
            if let Err(e) = sys::setns_net(&file) {
                panic!("setns({}) failed: {e}", path.display());
            }
            f()
        })
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
    }

    /// A `Command` that runs `argv` inside the namespace.
    pub fn command(&self, argv: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).args(argv);
        c
    }

    /// Run `argv` inside the namespace and return its output.
    pub fn run(&self, argv: &[&str]) -> Output {
        self.command(argv)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {argv:?} in {}: {e}", self.name))
    }

    /// Run `argv` inside the namespace; it must succeed. Returns stdout.
    pub fn run_ok(&self, argv: &[&str]) -> String {
        let out = self.run(argv);
        assert!(
            out.status.success(),
            "{argv:?} in netns {} failed ({}): {}",
            self.name,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Create a veth pair with `here` in this namespace and `there` in `other`, both up.
    pub fn veth_to(&self, other: &Netns, here: &str, there: &str) {
        self.run_ok(&[
            "ip",
            "link",
            "add",
            here,
            "type",
            "veth",
            "peer",
            "name",
            there,
            "netns",
            &other.name,
        ]);
        self.run_ok(&["ip", "link", "set", here, "up"]);
        other.run_ok(&["ip", "link", "set", there, "up"]);
    }

    /// Create a bridge `br` in this namespace (up) and, for each `(ns, ifname)`,
    /// a veth whose `ifname` end lives in `ns` and whose other end is enslaved to
    /// the bridge. Returns nothing; all interfaces are up.
    pub fn bridge(&self, br: &str, members: &[(&Netns, &str)]) {
        self.run_ok(&["ip", "link", "add", br, "type", "bridge"]);
        self.run_ok(&["ip", "link", "set", br, "up"]);
        for (i, (ns, ifname)) in members.iter().enumerate() {
            let port = format!("{br}p{i}");
            self.run_ok(&[
                "ip", "link", "add", &port, "type", "veth", "peer", "name", ifname, "netns",
                &ns.name,
            ]);
            self.run_ok(&["ip", "link", "set", &port, "master", br, "up"]);
            ns.run_ok(&["ip", "link", "set", ifname, "up"]);
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Kill anything still running inside, then delete the namespace.
        let _ = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
            .map(|o| {
                for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-9", pid]).status();
                }
            });
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netns_lifecycle_and_enter() {
        if !require_root("testkit netns") {
            return;
        }
        let a = Netns::new("tk");
        let b = Netns::new("tk");
        a.veth_to(&b, "ta", "tb");
        a.run_ok(&["ip", "addr", "add", "192.0.2.1/24", "dev", "ta"]);
        b.run_ok(&["ip", "addr", "add", "192.0.2.2/24", "dev", "tb"]);
        // A socket made inside `enter` binds to an address only that namespace has.
        let bound = a.enter(|| std::net::UdpSocket::bind("192.0.2.1:0").is_ok());
        assert!(bound, "socket created in netns must see its addresses");
        assert!(
            std::net::UdpSocket::bind("192.0.2.1:0").is_err(),
            "the host namespace must not have the test address"
        );
        let name = a.name().to_owned();
        drop(a);
        let list = sh_ok(&["ip", "netns", "list"]);
        assert!(
            !list.contains(&name),
            "netns {name} must be gone after drop"
        );
    }

    #[test]
    fn prober_measures_an_outage() {
        use crate::probe::{Prober, Responder};
        use std::time::{Duration, Instant};
        if !require_root("testkit prober") {
            return;
        }
        let node = Netns::new("pn");
        let client = Netns::new("pc");
        node.veth_to(&client, "pa", "pb");
        node.run_ok(&["ip", "addr", "add", "192.0.2.21/24", "dev", "pa"]);
        client.run_ok(&["ip", "addr", "add", "192.0.2.22/24", "dev", "pb"]);
        let _r = Responder::start(&node, 9000, "node");
        let p = Prober::start(
            &client,
            "192.0.2.21:9000".parse().unwrap(),
            Duration::from_millis(10),
        );
        std::thread::sleep(Duration::from_millis(400));
        let down = Instant::now();
        node.run_ok(&["ip", "link", "set", "pa", "down"]);
        std::thread::sleep(Duration::from_millis(300));
        node.run_ok(&["ip", "link", "set", "pa", "up"]);
        std::thread::sleep(Duration::from_millis(600));
        let log = p.stop();
        let before = log.lost_in(log.probes[0].sent, Some(down));
        assert!(
            before <= 1,
            "no loss expected before the link went down, got {before}"
        );
        assert_eq!(log.last_responder(down, None), Some("node"));
        let outage = log.outage_in(down, None);
        assert!(
            outage >= Duration::from_millis(250) && outage < Duration::from_millis(900),
            "outage {outage:?} should be about the 300 ms the link was down"
        );
        assert!(log.lost() >= 25, "lost {} probes", log.lost());
    }
}
