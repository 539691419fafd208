//! Scripts: vrrp_script checks and notify scripts.
//!
//! * A script line runs without a shell (split like a shell would split
//!   quoted words) unless it contains shell syntax, then `/bin/sh -c`.
//! * Each run has a timeout; a script that overruns is killed.
//! * Runs as `script_user` (and its group) when configured.
//! * `enable_script_security`: a script whose file, or any directory above
//!   it, a non-root user could change is refused, with the reason.
//! * [`Tracker`]: rise/fall/init_fail bookkeeping of a vrrp_script.
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How to start a script line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmdline {
    /// argv; `argv[0]` is the program (or `/bin/sh` for shell lines).
    pub argv: Vec<String>,
    /// True when the line needed a shell.
    pub shell: bool,
}

const SHELL_CHARS: &[char] = &[
    '|', '&', ';', '<', '>', '(', ')', '$', '`', '*', '?', '[', ']', '~', '{', '}', '\n', '#',
];

impl Cmdline {
    /// Parse a keepalived script line (`"/usr/bin/check arg 'two words'"`).
    /// `None` for an empty line or unbalanced quotes.
    pub fn parse(line: &str) -> Option<Cmdline> {
        let mut argv = Vec::new();
        let mut cur = String::new();
        let mut in_word = false;
        let mut quote: Option<char> = None;
        let mut shell = false;
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match quote {
                Some(q) if c == q => quote = None,
                Some('"') if c == '\\' => {
                    if let Some(n) = chars.next() {
                        cur.push(n);
                    }
                }
                Some('"') if c == '$' || c == '`' => {
                    shell = true;
                    cur.push(c);
                }
                Some(_) => cur.push(c),
                None => match c {
                    '\'' | '"' => {
                        quote = Some(c);
                        in_word = true;
                    }
                    '\\' => {
                        if let Some(n) = chars.next() {
                            cur.push(n);
                            in_word = true;
                        }
                    }
                    c if c.is_whitespace() => {
                        if in_word {
                            argv.push(std::mem::take(&mut cur));
                            in_word = false;
                        }
                    }
                    c => {
                        if SHELL_CHARS.contains(&c) {
                            shell = true;
                        }
                        cur.push(c);
                        in_word = true;
                    }
                },
            }
        }
        if quote.is_some() {
            return None;
        }
        if in_word {
            argv.push(cur);
        }
        if argv.is_empty() {
            return None;
        }
        if shell {
            return Some(Cmdline {
                argv: vec!["/bin/sh".into(), "-c".into(), line.trim().to_owned()],
                shell: true,
            });
        }
        Some(Cmdline { argv, shell: false })
    }

    /// The file to check for script security: the program, or for shell
    /// lines the first word.
    pub fn program(&self) -> &str {
        if self.shell {
            self.argv
                .get(2)
                .and_then(|l| l.split_whitespace().next())
                .unwrap_or("/bin/sh")
        } else {
            self.argv.first().map_or("", String::as_str)
        }
    }
}

/// Why a script is refused under `enable_script_security`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Insecure {
    /// The program cannot be found.
    #[error("cannot find {0}")]
    NotFound(PathBuf),
    /// Owned by a non-root user, who can rewrite it.
    #[error("{path} is owned by uid {uid}, not root")]
    Owner {
        /// File or directory.
        path: PathBuf,
        /// Owner.
        uid: u32,
    },
    /// Writable by a non-root group.
    #[error("{path} is writable by group {gid}")]
    GroupWritable {
        /// File or directory.
        path: PathBuf,
        /// Group.
        gid: u32,
    },
    /// Writable by everyone.
    #[error("{path} is writable by others")]
    WorldWritable {
        /// File or directory.
        path: PathBuf,
    },
}

/// Look a program name up on PATH like execvp would.
pub fn resolve(prog: &str) -> Option<PathBuf> {
    if prog.contains('/') {
        let p = PathBuf::from(prog);
        return p.exists().then_some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(prog))
        .find(|p| p.is_file())
}

/// Check that no non-root user can change `prog` (the file, each symlink
/// target, and every directory above it).
pub fn check_secure(prog: &str) -> Result<(), Insecure> {
    let path = resolve(prog).ok_or_else(|| Insecure::NotFound(PathBuf::from(prog)))?;
    let real = std::fs::canonicalize(&path).map_err(|_| Insecure::NotFound(path.clone()))?;
    let mut chain: Vec<PathBuf> = vec![real.clone()];
    let mut p: &Path = &real;
    while let Some(parent) = p.parent() {
        chain.push(parent.to_owned());
        p = parent;
    }
    for (i, item) in chain.iter().enumerate() {
        let md = std::fs::metadata(item).map_err(|_| Insecure::NotFound(item.clone()))?;
        let mode = md.mode();
        if md.uid() != 0 {
            return Err(Insecure::Owner {
                path: item.clone(),
                uid: md.uid(),
            });
        }
        let is_dir = i > 0;
        let sticky = is_dir && mode & 0o1000 != 0;
        if mode & 0o020 != 0 && md.gid() != 0 && !sticky {
            return Err(Insecure::GroupWritable {
                path: item.clone(),
                gid: md.gid(),
            });
        }
        if mode & 0o002 != 0 && !sticky {
            return Err(Insecure::WorldWritable { path: item.clone() });
        }
    }
    Ok(())
}

/// A user to run scripts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunAs {
    /// uid.
    pub uid: u32,
    /// gid.
    pub gid: u32,
}

/// Find `user` (and optional `group`) in /etc/passwd and /etc/group.
pub fn lookup_user(user: &str, group: Option<&str>) -> Option<RunAs> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let (uid, mut gid) = passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 3 && f[0] == user).then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
    })?;
    if let Some(g) = group {
        let groups = std::fs::read_to_string("/etc/group").ok()?;
        gid = groups.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[0] == g).then(|| f[2].parse().ok())?
        })?;
    }
    Some(RunAs { uid, gid })
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Exited with this code (0 = success).
    Exited(i32),
    /// Killed by this signal.
    Signaled(i32),
    /// Overran its timeout and was killed.
    TimedOut,
    /// Could not start.
    SpawnFailed(String),
}

impl Outcome {
    /// True for exit code 0.
    pub fn ok(&self) -> bool {
        matches!(self, Outcome::Exited(0))
    }
}

/// Run a script line with extra arguments appended (for generic notify),
/// as `run_as`, killed after `timeout`.
pub async fn run(
    cmd: &Cmdline,
    extra: &[String],
    run_as: Option<RunAs>,
    timeout: Duration,
) -> Outcome {
    use std::os::unix::process::ExitStatusExt;
    let mut argv = cmd.argv.clone();
    if cmd.shell {
        // Like keepalived: the extra words are appended to the line,
        // single-quoted so the shell passes them through unchanged.
        if let Some(l) = argv.get_mut(2) {
            for e in extra {
                l.push_str(" '");
                l.push_str(&e.replace('\'', "'\\''"));
                l.push('\'');
            }
        }
    } else {
        argv.extend(extra.iter().cloned());
    }
    let Some((prog, args)) = argv.split_first() else {
        return Outcome::SpawnFailed("empty command".into());
    };
    let mut c = tokio::process::Command::new(prog);
    c.args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Some(u) = run_as {
        c.uid(u.uid).gid(u.gid);
    }
    let mut child = match c.spawn() {
        Ok(ch) => ch,
        Err(e) => return Outcome::SpawnFailed(e.to_string()),
    };
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(st)) => match (st.code(), st.signal()) {
            (Some(c), _) => Outcome::Exited(c),
            (None, Some(s)) => Outcome::Signaled(s),
            _ => Outcome::Exited(-1),
        },
        Ok(Err(e)) => Outcome::SpawnFailed(e.to_string()),
        Err(_) => {
            let _ = child.start_kill();
            let _ = child.wait().await;
            Outcome::TimedOut
        }
    }
}

/// rise/fall bookkeeping of one vrrp_script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracker {
    rise: u32,
    fall: u32,
    up: bool,
    streak: u32,
    /// Runs so far.
    pub runs: u64,
}

impl Tracker {
    /// New tracker: starts failed with `init_fail`, else up.
    pub fn new(rise: u32, fall: u32, init_fail: bool) -> Tracker {
        Tracker {
            rise: rise.max(1),
            fall: fall.max(1),
            up: !init_fail,
            streak: 0,
            runs: 0,
        }
    }

    /// Current state.
    pub fn up(&self) -> bool {
        self.up
    }

    /// Feed one result; `Some(new_state)` when the state changes.
    pub fn feed(&mut self, ok: bool) -> Option<bool> {
        self.runs += 1;
        if ok == self.up {
            self.streak = 0;
            return None;
        }
        self.streak += 1;
        let need = if ok { self.rise } else { self.fall };
        if self.streak >= need {
            self.up = ok;
            self.streak = 0;
            Some(ok)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_run_without_shell() {
        let c = Cmdline::parse("/usr/bin/check  arg 'two words' \"x y\"").unwrap();
        assert!(!c.shell);
        assert_eq!(c.argv, ["/usr/bin/check", "arg", "two words", "x y"]);
        assert_eq!(c.program(), "/usr/bin/check");
    }

    #[test]
    fn shell_syntax_needs_a_shell() {
        for l in [
            "killall -0 haproxy || exit 1",
            "test -f /x && true",
            "echo $HOME",
            "ls *.conf",
            "echo \"$HOME\"",
        ] {
            let c = Cmdline::parse(l).unwrap();
            assert!(c.shell, "{l}");
            assert_eq!(c.argv[0], "/bin/sh");
            assert_eq!(c.argv[2], l);
        }
        let c = Cmdline::parse("echo 'a|b'").unwrap();
        assert!(!c.shell, "quoted metacharacters are literal");
        assert_eq!(c.argv, ["echo", "a|b"]);
        assert!(Cmdline::parse("echo 'unbalanced").is_none());
        assert!(Cmdline::parse("   ").is_none());
    }

    #[test]
    fn tracker_rise_fall_init_fail() {
        let mut t = Tracker::new(2, 3, false);
        assert!(t.up());
        assert_eq!(t.feed(false), None);
        assert_eq!(t.feed(false), None);
        assert_eq!(t.feed(true), None, "a success resets the fall streak");
        assert_eq!(t.feed(false), None);
        assert_eq!(t.feed(false), None);
        assert_eq!(t.feed(false), Some(false));
        assert_eq!(t.feed(true), None);
        assert_eq!(t.feed(true), Some(true));
        assert_eq!(t.runs, 8);
        let mut t = Tracker::new(1, 1, true);
        assert!(!t.up());
        assert_eq!(t.feed(true), Some(true));
    }

    #[test]
    fn security_check_reports_the_reason() {
        // /bin/sh is root-owned on any sane system.
        assert_eq!(check_secure("sh"), Ok(()));
        assert!(matches!(
            check_secure("/nonexistent/prog"),
            Err(Insecure::NotFound(_))
        ));
        let dir = std::env::temp_dir().join(format!("keeld-sec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("s.sh");
        std::fs::write(&f, "#!/bin/sh\nexit 0\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o757)).unwrap();
        let e = check_secure(f.to_str().unwrap()).unwrap_err();
        if nix_is_root() {
            assert_eq!(e, Insecure::WorldWritable { path: f.clone() });
            assert!(e.to_string().ends_with("s.sh is writable by others"), "{e}");
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
            // dir made by root in a sticky /tmp: fine
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
            assert_eq!(check_secure(f.to_str().unwrap()), Ok(()));
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
            assert_eq!(
                check_secure(f.to_str().unwrap()),
                Err(Insecure::WorldWritable { path: dir.clone() })
            );
        } else {
            assert!(matches!(e, Insecure::Owner { .. }));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn nix_is_root() -> bool {
        std::fs::metadata("/proc/self").map(|m| m.uid()).ok() == Some(0)
    }

    #[test]
    fn run_exit_codes_timeout_and_extra_args() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let t = Duration::from_secs(5);
            let ok = Cmdline::parse("true").unwrap();
            assert_eq!(run(&ok, &[], None, t).await, Outcome::Exited(0));
            let f = Cmdline::parse("sh -c 'exit 3'").unwrap();
            assert!(!f.shell);
            assert_eq!(run(&f, &[], None, t).await, Outcome::Exited(3));
            let slow = Cmdline::parse("sleep 5").unwrap();
            let t0 = std::time::Instant::now();
            assert_eq!(
                run(&slow, &[], None, Duration::from_millis(100)).await,
                Outcome::TimedOut
            );
            assert!(t0.elapsed() < Duration::from_secs(2));
            // generic notify args reach the script, shell or not
            let extra: Vec<String> = ["INSTANCE", "VI_1", "MASTER", "100"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
            let out = std::env::temp_dir().join(format!("keeld-notify-{}", std::process::id()));
            let chk = Cmdline::parse(&format!("printf '%s,' > {}", out.display())).unwrap();
            assert!(chk.shell);
            assert_eq!(run(&chk, &extra, None, t).await, Outcome::Exited(0));
            assert_eq!(
                std::fs::read_to_string(&out).unwrap(),
                "INSTANCE,VI_1,MASTER,100,"
            );
            let _ = std::fs::remove_file(&out);
            let chk = Cmdline::parse("test INSTANCE = INSTANCE").unwrap();
            // `test INSTANCE = INSTANCE INSTANCE VI_1 ...` is a syntax error -> 2
            assert_eq!(run(&chk, &extra, None, t).await, Outcome::Exited(2));
            // script_user: the child really runs as that user.
            if nix_is_root()
                && let Some(nobody) = lookup_user("nobody", None)
            {
                let who = Cmdline::parse(&format!("test \"$(id -u)\" = {}", nobody.uid)).unwrap();
                assert_eq!(run(&who, &[], Some(nobody), t).await, Outcome::Exited(0));
                let me = Cmdline::parse("test \"$(id -u)\" = 0").unwrap();
                assert_eq!(run(&me, &[], Some(nobody), t).await, Outcome::Exited(1));
            }
            let missing = Cmdline::parse("/nonexistent/x").unwrap();
            assert!(matches!(
                run(&missing, &[], None, t).await,
                Outcome::SpawnFailed(_)
            ));
        });
    }
}
