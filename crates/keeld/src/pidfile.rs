//! Pid files, keepalived-style: refuse to start when a live process holds
//! one, write our pid, remove on exit.
use std::path::{Path, PathBuf};

/// Errors writing pid files.
#[derive(Debug, thiserror::Error)]
pub enum PidError {
    /// Another live process owns the pid file.
    #[error("daemon is already running (pid {pid} in {path})")]
    Running {
        /// The pid file.
        path: PathBuf,
        /// The live pid.
        pid: u32,
    },
    /// Cannot write.
    #[error("cannot write pid file {path}: {source}")]
    Io {
        /// The pid file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// Pid files removed on drop.
#[derive(Debug, Default)]
pub struct PidFiles {
    paths: Vec<PathBuf>,
}

fn alive(pid: u32) -> bool {
    // /proc/PID exists for live processes and zombies in our pid namespace; a
    // zombie (state Z, e.g. a keeld killed with -9 whose parent has not reaped it
    // yet) is dead and must not block a restart.
    if pid == std::process::id() {
        return false;
    }
    match std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("stat")) {
        // Field 3, after the parenthesised command name (which may hold spaces).
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_none_or(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

impl PidFiles {
    /// Write our pid to each of `paths` (duplicates written once).
    pub fn create(paths: &[PathBuf]) -> Result<PidFiles, PidError> {
        let mut me = PidFiles::default();
        for p in paths {
            if me.paths.contains(p) {
                continue;
            }
            let old = std::fs::read_to_string(p)
                .ok()
                .and_then(|t| t.trim().parse::<u32>().ok());
            if let Some(pid) = old.filter(|pid| alive(*pid)) {
                return Err(PidError::Running {
                    path: p.clone(),
                    pid,
                });
            }
            if let Some(d) = p.parent() {
                let _ = std::fs::create_dir_all(d);
            }
            std::fs::write(p, format!("{}\n", std::process::id())).map_err(|source| {
                PidError::Io {
                    path: p.clone(),
                    source,
                }
            })?;
            me.paths.push(p.clone());
        }
        Ok(me)
    }
}

impl Drop for PidFiles {
    fn drop(&mut self) {
        for p in &self.paths {
            let _ = std::fs::remove_file(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_refuse_and_remove() {
        let dir = std::env::temp_dir().join(format!("keeld-pid-{}", std::process::id()));
        let a = dir.join("a.pid");
        let b = dir.join("b.pid");
        {
            let _p = PidFiles::create(&[a.clone(), b.clone(), a.clone()]).unwrap();
            let t = std::fs::read_to_string(&a).unwrap();
            assert_eq!(t.trim(), std::process::id().to_string());
            assert!(b.exists());
        }
        assert!(!a.exists() && !b.exists(), "removed on drop");
        // pid 1 is alive: refuse.
        std::fs::write(&a, "1\n").unwrap();
        let e = PidFiles::create(std::slice::from_ref(&a)).unwrap_err();
        assert!(matches!(e, PidError::Running { pid: 1, .. }), "{e}");
        // a dead pid is stale: overwrite.
        std::fs::write(&a, "999999999\n").unwrap();
        let _p = PidFiles::create(std::slice::from_ref(&a)).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_zombie_does_not_block_a_restart() {
        let dir = std::env::temp_dir().join(format!("keeld-zpid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = dir.join("a.pid");
        // A child that exits at once and is not reaped yet: a zombie.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let stat = format!("/proc/{}/stat", child.id());
        let t = std::time::Instant::now();
        while !std::fs::read_to_string(&stat).is_ok_and(|s| s.contains(") Z")) {
            assert!(t.elapsed().as_secs() < 5, "child never became a zombie");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        std::fs::write(&a, format!("{}\n", child.id())).unwrap();
        let p = PidFiles::create(std::slice::from_ref(&a));
        let _ = child.wait();
        assert!(p.is_ok(), "a zombie's pid file must count as stale");
        drop(p);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
