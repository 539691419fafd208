//! `enable_script_security`: refuse scripts a non-root user could change.
//!
//! keepalived's rule (`check_script_secure` in its notify.c): when a script runs
//! as root (uid or gid 0, or the file is set-uid/gid root), the file and every
//! directory above it must be owned by root and not writable by a non-root group or
//! by others (a directory with the sticky bit may be writable, since then only an
//! entry's owner can replace it). keel applies the rule to every program a line
//! runs ([`crate::programs`]): each simple command of a shell line, `/bin/sh`
//! itself, and the script an interpreter or wrapper is given. Lines whose commands
//! cannot be known before they run (command substitution, `eval`, `$CMD`, ...) are
//! refused with the construct named.
use crate::line::{Line, Opaque};
use crate::user::User;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

/// The `PATH` scripts run with, and the one programs are looked up on.
pub const SCRIPT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Why a script line is refused under `enable_script_security`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Insecure {
    /// A program cannot be found.
    #[error("cannot find {0}")]
    NotFound(PathBuf),
    /// Owned by a non-root user, who can rewrite or replace it.
    #[error("{path} is owned by uid {uid}, not root")]
    Owner {
        /// File, link or directory.
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
    /// Not a regular file (or a directory in the middle of the path is not one).
    #[error("{0} is not a regular file")]
    WrongType(PathBuf),
    /// The line hides what it runs.
    #[error(transparent)]
    Opaque(#[from] Opaque),
}

/// Look a program name up like execvp would, on [`SCRIPT_PATH`]; relative
/// names with a `/` are taken from `/` (scripts run in `/`).
pub fn resolve(prog: &str) -> Option<PathBuf> {
    if prog.contains('/') {
        let p = Path::new("/").join(prog);
        return p.symlink_metadata().is_ok().then_some(p);
    }
    std::env::split_paths(SCRIPT_PATH)
        .map(|d| d.join(prog))
        .find(|p| p.is_file())
}

/// Check every program `line` runs when run as `user` (`None`: as this process).
/// Programs that run as a non-root user are not checked, as in keepalived, unless
/// the file is set-uid or set-gid root.
pub fn check(line: &Line, user: Option<&User>) -> Result<(), Insecure> {
    let root = match user {
        Some(u) => u.is_root(),
        None => nix::unistd::geteuid().is_root() || nix::unistd::getegid().as_raw() == 0,
    };
    for prog in crate::line::programs(line)? {
        let path = resolve(&prog).ok_or_else(|| Insecure::NotFound(PathBuf::from(&prog)))?;
        let md = std::fs::metadata(&path).map_err(|_| Insecure::NotFound(path.clone()))?;
        let setid_root = (md.uid() == 0 && md.mode() & 0o4100 == 0o4100)
            || (md.gid() == 0 && md.mode() & 0o2010 == 0o2010);
        if root || setid_root {
            check_path(&path)?;
        }
    }
    Ok(())
}

/// Check one file: the path as written (each directory, and each symbolic link,
/// which whoever owns it can replace) and the file it resolves to, with every
/// directory above that.
pub fn check_path(path: &Path) -> Result<(), Insecure> {
    let mut prefix = PathBuf::new();
    let comps: Vec<Component<'_>> = path.components().collect();
    for (i, c) in comps.iter().enumerate() {
        prefix.push(c);
        let last = i + 1 == comps.len();
        let md = prefix
            .symlink_metadata()
            .map_err(|_| Insecure::NotFound(prefix.clone()))?;
        if md.file_type().is_symlink() {
            // a link's mode means nothing; its owner can replace it in a sticky dir
            if md.uid() != 0 {
                return Err(Insecure::Owner {
                    path: prefix,
                    uid: md.uid(),
                });
            }
            continue;
        }
        check_one(&prefix, &md, last)?;
    }
    let real = std::fs::canonicalize(path).map_err(|_| Insecure::NotFound(path.to_owned()))?;
    if real != path {
        let mut p: &Path = &real;
        let md = std::fs::metadata(p).map_err(|_| Insecure::NotFound(real.clone()))?;
        check_one(p, &md, true)?;
        while let Some(parent) = p.parent() {
            let md = std::fs::metadata(parent).map_err(|_| Insecure::NotFound(parent.into()))?;
            check_one(parent, &md, false)?;
            p = parent;
        }
    }
    Ok(())
}

fn check_one(path: &Path, md: &std::fs::Metadata, last: bool) -> Result<(), Insecure> {
    let ok_type = if last {
        md.file_type().is_file()
    } else {
        md.file_type().is_dir()
    };
    if !ok_type {
        return Err(Insecure::WrongType(path.to_owned()));
    }
    if md.uid() != 0 {
        return Err(Insecure::Owner {
            path: path.to_owned(),
            uid: md.uid(),
        });
    }
    let mode = md.mode();
    let sticky = !last && mode & 0o1000 != 0;
    if sticky {
        return Ok(());
    }
    if mode & 0o020 != 0 && md.gid() != 0 {
        return Err(Insecure::GroupWritable {
            path: path.to_owned(),
            gid: md.gid(),
        });
    }
    if mode & 0o002 != 0 {
        return Err(Insecure::WorldWritable {
            path: path.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn is_root() -> bool {
        nix::unistd::geteuid().is_root()
    }

    struct TempDir(PathBuf);
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn tempdir(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("keel-script-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        TempDir(d)
    }

    fn script(dir: &Path, name: &str, mode: u32) -> PathBuf {
        let f = dir.join(name);
        std::fs::write(&f, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(mode)).unwrap();
        f
    }

    fn line(s: &str) -> Line {
        Line::parse(s).unwrap()
    }

    #[test]
    fn system_programs_are_safe() {
        assert_eq!(check(&line("sh -c true"), None), Ok(()));
        assert_eq!(check(&line("true && /bin/true"), None), Ok(()));
        assert!(matches!(
            check(&line("/nonexistent/prog"), None),
            Err(Insecure::NotFound(_))
        ));
    }

    /// Issue 17 item 3: `script "/bin/true && /tmp/x/ww2.sh"` with a world-writable
    /// ww2.sh ran as root; only the first word was checked.
    #[test]
    fn every_program_of_a_line_is_checked() {
        if !is_root() {
            eprintln!("SKIP: needs root (files owned by root)");
            return;
        }
        let d = tempdir("every");
        let ww = script(&d.0, "ww2.sh", 0o757);
        let ok = script(&d.0, "ok.sh", 0o755);
        let want = Err(Insecure::WorldWritable { path: ww.clone() });
        for l in [
            format!("/bin/true && {}", ww.display()),
            format!("{} | {}", ok.display(), ww.display()),
            format!("/bin/sh {}", ww.display()),
            format!("env A=1 {}", ww.display()),
            format!("sh -c '/bin/true; {}'", ww.display()),
        ] {
            assert_eq!(check(&line(&l), None), want, "{l}");
        }
        assert_eq!(
            check(&line(&format!("/bin/true && {}", ok.display())), None),
            Ok(())
        );
        // not run as root: not checked (keepalived's rule)
        let nobody = User::lookup("nobody", Some("nogroup")).unwrap();
        assert_eq!(
            check(
                &line(&format!("/bin/true && {}", ww.display())),
                Some(&nobody)
            ),
            Ok(())
        );
        // hidden commands are refused with the construct named
        let e = check(&line("x=$(cat /tmp/f) && /bin/true"), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "command substitution ($(...)) runs commands script security cannot see"
        );
    }

    #[test]
    fn directories_and_links_above_count() {
        if !is_root() {
            eprintln!("SKIP: needs root (files owned by root)");
            return;
        }
        let d = tempdir("dirs");
        let f = script(&d.0, "s.sh", 0o755);
        assert_eq!(check_path(&f), Ok(()), "root dir in sticky /tmp is fine");
        std::fs::set_permissions(&d.0, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert_eq!(
            check_path(&f),
            Err(Insecure::WorldWritable { path: d.0.clone() })
        );
        std::fs::set_permissions(&d.0, std::fs::Permissions::from_mode(0o775)).unwrap();
        std::os::unix::fs::chown(&d.0, None, Some(65534)).unwrap();
        assert_eq!(
            check_path(&f),
            Err(Insecure::GroupWritable {
                path: d.0.clone(),
                gid: 65534
            })
        );
        std::fs::set_permissions(&d.0, std::fs::Permissions::from_mode(0o755)).unwrap();
        // a safe link to an unsafe file: the target is checked
        let sub = d.0.join("open");
        std::fs::create_dir(&sub).unwrap();
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o777)).unwrap();
        let bad = script(&sub, "t.sh", 0o755);
        let link = d.0.join("link.sh");
        std::os::unix::fs::symlink(&bad, &link).unwrap();
        assert_eq!(
            check_path(&link),
            Err(Insecure::WorldWritable { path: sub.clone() })
        );
        // a link owned by someone else can be replaced by them
        let link2 = d.0.join("link2.sh");
        std::os::unix::fs::symlink(&f, &link2).unwrap();
        std::os::unix::fs::lchown(&link2, Some(65534), None).unwrap();
        assert_eq!(
            check_path(&link2),
            Err(Insecure::Owner {
                path: link2.clone(),
                uid: 65534
            })
        );
        // file owned by a user
        std::os::unix::fs::chown(&f, Some(65534), None).unwrap();
        assert_eq!(
            check_path(&f),
            Err(Insecure::Owner {
                path: f.clone(),
                uid: 65534
            })
        );
        assert_eq!(check_path(&d.0), Err(Insecure::WrongType(d.0.clone())));
    }
}
