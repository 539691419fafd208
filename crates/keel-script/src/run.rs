//! Running a script: its own process group, a timeout that ends the whole group,
//! a user, a clean environment.
use crate::line::Line;
use crate::secure::SCRIPT_PATH;
use crate::user::User;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::Duration;

/// Variables passed through from this process's environment to scripts (when
/// set); everything else is left out.
pub const PASSED_ENV: &[&str] = &["LANG", "LANGUAGE", "TZ"];

/// How to run one script.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Spec {
    /// The line.
    pub line: Line,
    /// Run as this user (`None`: as this process).
    pub user: Option<User>,
    /// Killed (the whole process group) after this long.
    pub timeout: Duration,
    /// After the timeout's SIGTERM, how long the script has to exit before every
    /// process left in its group gets SIGKILL.
    pub grace: Duration,
}

impl Spec {
    /// A spec with keepalived's 2 s grace between SIGTERM and SIGKILL.
    pub fn new(line: Line, user: Option<User>, timeout: Duration) -> Spec {
        Spec {
            line,
            user,
            timeout,
            grace: Duration::from_secs(2),
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Exited with this code (0 = success).
    Exited(i32),
    /// Killed by this signal.
    Signaled(i32),
    /// Overran its timeout; its process group was killed.
    TimedOut,
    /// Could not start.
    SpawnFailed(std::io::ErrorKind),
}

impl Outcome {
    /// True for exit code 0.
    pub fn ok(&self) -> bool {
        matches!(self, Outcome::Exited(0))
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Exited(c) => write!(f, "exited with status {c}"),
            Outcome::Signaled(s) => write!(f, "killed by signal {s}"),
            Outcome::TimedOut => f.write_str("timed out"),
            Outcome::SpawnFailed(k) => write!(f, "could not start: {k}"),
        }
    }
}

/// The environment a script gets: `PATH` ([`SCRIPT_PATH`]), `HOME`, `USER`,
/// `LOGNAME` and `SHELL=/bin/sh` of the user it runs as, and [`PASSED_ENV`]
/// and `LC_*` from this process. Nothing else of this process's environment
/// (no `LD_*`, no `NOTIFY_SOCKET`, no credentials a service manager passed).
pub fn environment(user: Option<&User>) -> Vec<(String, String)> {
    let me;
    let u = match user {
        Some(u) => u,
        None => {
            me = User::current();
            &me
        }
    };
    let mut env = vec![
        ("PATH".to_owned(), SCRIPT_PATH.to_owned()),
        ("HOME".to_owned(), u.home.clone()),
        ("USER".to_owned(), u.name.clone()),
        ("LOGNAME".to_owned(), u.name.clone()),
        ("SHELL".to_owned(), "/bin/sh".to_owned()),
    ];
    for (k, v) in std::env::vars_os() {
        let (Some(k), Some(v)) = (k.to_str(), v.to_str()) else {
            continue;
        };
        if PASSED_ENV.contains(&k) || k.starts_with("LC_") {
            env.push((k.to_owned(), v.to_owned()));
        }
    }
    env
}

/// Sends SIGKILL to the process group when dropped (a run whose future is
/// dropped, e.g. on reload, leaves nothing behind).
struct Group(Option<i32>);

impl Group {
    fn signal(&self, sig: Signal) {
        if let Some(pg) = self.0 {
            // ESRCH (nobody left) is the normal end.
            let _ = killpg(Pid::from_raw(pg), sig);
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.signal(Signal::SIGKILL);
    }
}

/// Run `spec` with `extra` words appended (generic notify's arguments): stdin,
/// stdout and stderr on /dev/null, working directory `/`, in a new process group,
/// as [`Spec::user`], with [`environment`]. On timeout the group gets SIGTERM, and
/// SIGKILL once the script has exited or [`Spec::grace`] has passed, so no child
/// outlives a timed-out script.
pub async fn run(spec: &Spec, extra: &[String]) -> Outcome {
    let argv = spec.line.argv_with(extra);
    let Some((prog, args)) = argv.split_first() else {
        return Outcome::SpawnFailed(std::io::ErrorKind::InvalidInput);
    };
    let mut c = tokio::process::Command::new(prog);
    c.args(args)
        .env_clear()
        .envs(environment(spec.user.as_ref()))
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(u) = &spec.user {
        // std drops supplementary groups when it changes the uid as root
        c.uid(u.uid).gid(u.gid);
    }
    let mut child = match c.spawn() {
        Ok(ch) => ch,
        Err(e) => return Outcome::SpawnFailed(e.kind()),
    };
    let mut group = Group(child.id().and_then(|p| i32::try_from(p).ok()));
    match tokio::time::timeout(spec.timeout, child.wait()).await {
        Ok(Ok(st)) => {
            // A script that exits normally may leave background jobs on purpose.
            group.0 = None;
            match (st.code(), st.signal()) {
                (Some(c), _) => Outcome::Exited(c),
                (None, Some(s)) => Outcome::Signaled(s),
                _ => Outcome::Exited(-1),
            }
        }
        Ok(Err(e)) => {
            group.0 = None;
            Outcome::SpawnFailed(e.kind())
        }
        Err(_) => {
            group.signal(Signal::SIGTERM);
            if tokio::time::timeout(spec.grace, child.wait())
                .await
                .is_err()
            {
                let _ = child.start_kill();
                let _ = child.wait().await;
            }
            // Dropping `group` now SIGKILLs whatever is left in it.
            drop(group);
            Outcome::TimedOut
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    fn spec(l: &str, t: Duration) -> Spec {
        Spec::new(Line::parse(l).unwrap(), None, t)
    }

    #[test]
    fn exit_codes_timeout_and_extra_args() {
        rt().block_on(async {
            let t = Duration::from_secs(5);
            assert_eq!(run(&spec("true", t), &[]).await, Outcome::Exited(0));
            assert_eq!(
                run(&spec("sh -c 'exit 3'", t), &[]).await,
                Outcome::Exited(3)
            );
            let t0 = std::time::Instant::now();
            let slow = spec("sleep 5", Duration::from_millis(100));
            assert_eq!(run(&slow, &[]).await, Outcome::TimedOut);
            assert!(t0.elapsed() < Duration::from_secs(2));
            let extra: Vec<String> = ["INSTANCE", "VI_1", "MASTER", "100"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
            let out = std::env::temp_dir().join(format!("keel-script-n-{}", std::process::id()));
            let chk = spec(&format!("printf '%s,' > {}", out.display()), t);
            assert!(chk.line.needs_shell());
            assert_eq!(run(&chk, &extra).await, Outcome::Exited(0));
            assert_eq!(
                std::fs::read_to_string(&out).unwrap(),
                "INSTANCE,VI_1,MASTER,100,"
            );
            let _ = std::fs::remove_file(&out);
            assert_eq!(
                run(&spec("/nonexistent/x", t), &[]).await,
                Outcome::SpawnFailed(std::io::ErrorKind::NotFound)
            );
        });
    }

    /// Issue 17 item 5: a timed-out script was killed without its children
    /// (8 orphans after one timeout). Children that ignore SIGTERM too.
    #[test]
    fn a_timeout_leaves_no_orphans() {
        let pids = std::env::temp_dir().join(format!("keel-script-pids-{}", std::process::id()));
        let _ = std::fs::remove_file(&pids);
        let line = format!(
            "trap '' TERM; for i in 1 2 3 4 5 6 7 8; do sh -c 'echo $$ >> {}; trap \"\" TERM; exec sleep 30' & done; wait",
            pids.display()
        );
        let mut s = spec(&line, Duration::from_millis(500));
        s.grace = Duration::from_millis(300);
        let t0 = std::time::Instant::now();
        assert_eq!(rt().block_on(run(&s, &[])), Outcome::TimedOut);
        assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
        let text = std::fs::read_to_string(&pids).unwrap_or_default();
        let _ = std::fs::remove_file(&pids);
        let started: Vec<i32> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
        assert_eq!(started.len(), 8, "{text}");
        std::thread::sleep(Duration::from_millis(200));
        let alive: Vec<i32> = started.into_iter().filter(|p| running(*p)).collect();
        for p in &alive {
            let _ = nix::sys::signal::kill(Pid::from_raw(*p), Signal::SIGKILL);
        }
        assert!(
            alive.is_empty(),
            "children of the timed-out script still running: {alive:?}"
        );
    }

    /// Alive and not a zombie.
    fn running(pid: i32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            s.rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().next())
                .is_some_and(|st| st != "Z" && st != "X")
        })
    }

    /// Issue 17 item 12: scripts inherited keeld's whole environment.
    #[test]
    fn scripts_get_a_clean_environment() {
        let out = std::env::temp_dir().join(format!("keel-script-env-{}", std::process::id()));
        let line = format!("env > {}", out.display());
        let s = spec(&line, Duration::from_secs(5));
        assert_eq!(rt().block_on(run(&s, &[])), Outcome::Exited(0));
        let text = std::fs::read_to_string(&out).unwrap();
        let _ = std::fs::remove_file(&out);
        let names: Vec<&str> = text.lines().filter_map(|l| l.split('=').next()).collect();
        for n in &names {
            assert!(
                [
                    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "PWD", "SHLVL", "_"
                ]
                .contains(n)
                    || PASSED_ENV.contains(n)
                    || n.starts_with("LC_"),
                "unexpected variable {n} in {names:?}"
            );
        }
        assert!(text.contains(&format!("PATH={SCRIPT_PATH}\n")), "{text}");
        // CARGO_* are in this test's environment and must not leak
        assert!(std::env::var_os("CARGO_PKG_NAME").is_some());
        assert!(!text.contains("CARGO"), "{text}");
    }

    #[test]
    fn runs_as_the_user() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("SKIP: needs root to change user");
            return;
        }
        let nobody = User::lookup("nobody", Some("nogroup")).unwrap();
        let t = Duration::from_secs(5);
        let who = Line::parse(&format!(
            "test \"$(id -u):$(id -g):$(id -G):$HOME\" = {}:{}:{}:{}",
            nobody.uid, nobody.gid, nobody.gid, nobody.home
        ))
        .unwrap();
        let s = Spec::new(who, Some(nobody), t);
        assert_eq!(rt().block_on(run(&s, &[])), Outcome::Exited(0));
    }
}
