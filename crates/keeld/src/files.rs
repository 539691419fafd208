//! Writing files where others may have planted something (`/tmp`): never through a
//! symbolic link, never into a file someone else opened first.
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Write `data` to `path` by creating a fresh file beside it (`O_CREAT|O_EXCL|
/// O_NOFOLLOW`, mode 0600) and renaming it over `path`. A symbolic link planted at
/// `path` is replaced, not followed; in a sticky directory (`/tmp`) a file another
/// user planted at `path` makes the rename fail, and nothing is written anywhere else.
pub fn write_fresh(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.{nanos}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)?;
    let done = f.write_all(data).and_then(|()| std::fs::rename(&tmp, path));
    if done.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// Issue 17 item 13: the SIGUSR1/SIGUSR2 dumps in /tmp followed symlinks, so a
    /// local user could make keeld (root) overwrite any file.
    #[test]
    fn a_planted_link_is_replaced_not_followed() {
        let dir = std::env::temp_dir().join(format!("keeld-files-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let victim = dir.join("victim");
        std::fs::write(&victim, "precious\n").unwrap();
        let dump = dir.join("keepalived.data");
        std::os::unix::fs::symlink(&victim, &dump).unwrap();
        write_fresh(&dump, b"dump\n").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        let md = std::fs::symlink_metadata(&dump).unwrap();
        assert!(md.file_type().is_file());
        assert_eq!(md.permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_to_string(&dump).unwrap(), "dump\n");
        // again, over the regular file it left
        write_fresh(&dump, b"two\n").unwrap();
        assert_eq!(std::fs::read_to_string(&dump).unwrap(), "two\n");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            2,
            "no temporary left"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
