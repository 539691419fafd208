//! One node of a lab: a namespace with `eth0` on the lab's bridge and the VRRP
//! daemon under test running in it (keeld or keepalived), its configuration,
//! log, pid files and status socket in the lab's directory.
use crate::{Daemon, VIP, host, procfs};
use anyhow::{Context, Result};
use keel_testkit::Netns;
use keel_vip::VipControl;
use std::io::{Read, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::Duration;

/// A node: its namespace and the daemon it runs.
#[derive(Debug)]
pub struct Node {
    /// The node's namespace.
    pub ns: Netns,
    /// The daemon [`Node::start`] runs.
    pub daemon: Daemon,
    /// The daemon's main process, while it runs.
    pub child: Option<Child>,
    /// The keeld binary run when `daemon` is keeld.
    pub keeld: PathBuf,
    /// Extra command-line arguments for the daemon (e.g. `--stop-mode handover`).
    pub args: Vec<String>,
    /// Detailed logging (`-D`; on unless turned off).
    pub detail: bool,
    /// Run the daemon under `chrt -f PRIO` (SCHED_FIFO), as `vrrp_rt_priority` would.
    pub rt: Option<u8>,
    /// Log to the console (`-l`, into the node's log file; on unless turned
    /// off: then the daemon logs to `/dev/log`).
    pub console: bool,
    /// A command the daemon's command line is appended to (e.g. `unshare -m
    /// sh -c SCRIPT sh`, for a mount namespace of the test's own).
    pub wrap: Vec<String>,
    /// Write the pid files here instead of the lab directory (keeld's status
    /// socket stays in the lab directory).
    pub pid_dir: Option<PathBuf>,
    idx: usize,
    dir: PathBuf,
    /// rtnetlink from inside the namespace: far cheaper to poll than `ip`.
    nl: Mutex<keel_vip::Netlink>,
}

impl Node {
    /// Node `idx` (0-based) in `ns`, with its files in `dir`.
    pub fn new(ns: Netns, idx: usize, dir: PathBuf, keeld: PathBuf) -> Result<Node> {
        let nl = ns
            .enter(keel_vip::Netlink::new)
            .context("rtnetlink socket in a node namespace")?;
        Ok(Node {
            ns,
            daemon: Daemon::Keeld,
            child: None,
            keeld,
            args: Vec::new(),
            detail: true,
            rt: None,
            console: true,
            wrap: Vec::new(),
            pid_dir: None,
            idx,
            dir,
            nl: Mutex::new(nl),
        })
    }

    /// Node 0 alone in a new namespace named after `tag`: dummy `links` up (the
    /// first is `eth0`, given 192.0.2.10/24), its files in a fresh temporary
    /// directory ([`Node::dir`]; the caller removes it).
    pub fn standalone(tag: &str, links: &[&str], keeld: PathBuf) -> Result<Node> {
        let ns = Netns::new(tag);
        for l in links {
            ns.run_ok(&["ip", "link", "add", l, "type", "dummy"]);
            ns.run_ok(&["ip", "link", "set", l, "up"]);
        }
        ns.run_ok(&["ip", "addr", "add", "192.0.2.10/24", "dev", "eth0"]);
        let dir = std::env::temp_dir().join(format!("keel-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Node::new(ns, 0, dir, keeld)
    }

    /// The directory of the node's files.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// 0-based index.
    pub fn idx(&self) -> usize {
        self.idx
    }

    /// `node1`, `node2`, ...
    pub fn name(&self) -> String {
        format!("node{}", self.idx + 1)
    }

    /// A file of this node in the lab directory: `node<N><suffix>`.
    pub fn file(&self, suffix: &str) -> PathBuf {
        self.dir.join(format!("node{}{suffix}", self.idx + 1))
    }

    /// The configuration file.
    pub fn conf_path(&self) -> PathBuf {
        self.file(".conf")
    }

    /// The daemon's log (stdout and stderr, appended across restarts).
    pub fn log_path(&self) -> PathBuf {
        self.file(".log")
    }

    /// The chaos configuration's tracker fails while this file exists.
    pub fn flag_path(&self) -> PathBuf {
        self.file(".down")
    }

    /// keeld's status socket (next to its main pid file).
    pub fn socket(&self) -> PathBuf {
        self.file("-main.sock")
    }

    /// Pid file `k` (`main`, `vrrp`, `check`).
    pub fn pid_file(&self, k: &str) -> PathBuf {
        let name = format!("node{}-{k}.pid", self.idx + 1);
        match &self.pid_dir {
            Some(d) => d.join(name),
            None => self.dir.join(name),
        }
    }

    /// The log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Whether the namespace holds the VIP.
    pub fn holds_vip(&self) -> bool {
        let vip: IpAddr = VIP
            .parse()
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        let Ok(mut nl) = self.nl.lock() else {
            return false;
        };
        nl.list(None).is_ok_and(|l| l.iter().any(|v| v.addr == vip))
    }

    /// Remove the VIP from `eth0` by hand, as a reboot would after a crash
    /// (a killed daemon's kernel keeps it).
    pub fn drop_vip(&self) {
        let _ = self
            .ns
            .run(&["ip", "addr", "del", &format!("{VIP}/32"), "dev", "eth0"]);
    }

    /// Start the daemon: `-n [-l] [-D] -f CONF -p MAIN -r VRRP` (keepalived also
    /// `-c CHECK -P`) plus [`Node::args`], output appended to the log.
    pub fn start(&mut self) -> Result<()> {
        let keepalived = self.daemon == Daemon::Keepalived;
        if keepalived {
            // keepalived 2.2.7 takes a pid file naming a zombie (its SIGKILLed
            // VRRP child not yet reaped by init) for a running daemon and exits
            // 0 ("daemon is already running"): clear its files first, as an
            // admin restarting it after a crash would. (keeld ignores zombies.)
            for k in ["main", "vrrp", "check"] {
                let _ = std::fs::remove_file(self.pid_file(k));
            }
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        let prog = match self.daemon {
            Daemon::Keeld => self.keeld.clone(),
            Daemon::Keepalived => PathBuf::from(host::KEEPALIVED),
        };
        let mut cmd = self.ns.command(&[]);
        if let Some(p) = self.rt {
            cmd.args(["chrt", "-f", &p.to_string()]);
        }
        cmd.args(&self.wrap).arg(&prog).arg("-n");
        if self.console {
            cmd.arg("-l");
        }
        if self.pid_dir.is_some() && !keepalived {
            cmd.arg("--status-socket").arg(self.socket());
        }
        if self.detail {
            cmd.arg("-D");
        }
        cmd.arg("-f").arg(self.conf_path());
        cmd.arg("-p").arg(self.pid_file("main"));
        cmd.arg("-r").arg(self.pid_file("vrrp"));
        if keepalived {
            cmd.arg("-c").arg(self.pid_file("check")).arg("-P");
        }
        cmd.args(&self.args);
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        self.child = Some(
            cmd.spawn()
                .with_context(|| format!("cannot start {}", prog.display()))?,
        );
        Ok(())
    }

    /// The daemon's main pid, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The daemon's processes: its main one, and with `all` every process of
    /// the namespace with the daemon's name (keepalived's VRRP child, or a
    /// main process that is no longer our child).
    pub fn pids(&self, all: bool) -> Vec<u32> {
        let mut v: Vec<u32> = self.pid().into_iter().collect();
        if all {
            let comm = match self.daemon {
                Daemon::Keepalived => "keepalived".to_owned(),
                Daemon::Keeld => self.keeld.file_name().map_or_else(
                    || "keeld".to_owned(),
                    |n| n.to_string_lossy().chars().take(15).collect(),
                ),
            };
            for p in procfs::pids_named(&self.ns, &comm) {
                if !v.contains(&p) {
                    v.push(p);
                }
            }
        }
        v
    }

    /// Send signal `sig` (`TERM`, `HUP`, `KILL`, ...). STOP, CONT and KILL
    /// go to every process of the daemon, so that a crash is a crash; the
    /// others to the main process only, as systemd sends them.
    pub fn signal(&self, sig: &str) {
        let all = matches!(sig, "STOP" | "CONT" | "KILL");
        let Some(num) = signum(sig) else { return };
        for p in self.pids(all) {
            if let Ok(p) = i32::try_from(p) {
                let _ = keel_testkit::signal(p, num);
            }
        }
    }

    /// Wait up to `within` for the daemon to exit: its exit status, or
    /// `None` if it still runs (it is left running).
    pub fn reap(&mut self, within: Duration) -> Option<ExitStatus> {
        let st = host::wait_exit(self.child.as_mut()?, within, Duration::from_millis(5))?;
        self.child = None;
        Some(st)
    }

    /// Stop the daemon as an admin would (SIGTERM, resumed first if stopped);
    /// killed when it has not exited within `within`.
    pub fn stop(&mut self, within: Duration) {
        self.signal("CONT");
        self.signal("TERM");
        if self.reap(within).is_none() {
            self.kill();
        }
    }

    /// Kill the daemon (every process of it) and reap it.
    pub fn kill(&mut self) {
        self.signal("CONT");
        self.signal("KILL");
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// keeld's status (JSON) from its socket, `None` if it does not answer
    /// within `to`.
    pub fn status(&self, to: Duration) -> Option<serde_json::Value> {
        let mut s = std::os::unix::net::UnixStream::connect(self.socket()).ok()?;
        s.set_read_timeout(Some(to)).ok()?;
        s.set_write_timeout(Some(to)).ok()?;
        s.write_all(b"status\n").ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        serde_json::from_str(&out).ok()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The number of a signal by its name without `SIG`.
pub fn signum(name: &str) -> Option<i32> {
    Some(match name {
        "TERM" => libc::SIGTERM,
        "HUP" => libc::SIGHUP,
        "INT" => libc::SIGINT,
        "KILL" => libc::SIGKILL,
        "STOP" => libc::SIGSTOP,
        "CONT" => libc::SIGCONT,
        "USR1" => libc::SIGUSR1,
        "USR2" => libc::SIGUSR2,
        _ => return None,
    })
}
