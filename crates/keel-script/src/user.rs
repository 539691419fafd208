//! Users scripts run as, and keepalived's default script user.
use nix::unistd::{Group, User as NixUser};

/// keepalived's default script user: scripts without `user` / `script_user` run
/// as this user when it exists.
pub const DEFAULT_USER: &str = "keepalived_script";

/// A user (and group) a script runs as, resolved from the system's user database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// User name.
    pub name: String,
    /// uid.
    pub uid: u32,
    /// gid (the user's primary group, or the group given).
    pub gid: u32,
    /// Home directory (`HOME` of the script).
    pub home: String,
}

/// Why a user or group cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UserError {
    /// No such user.
    #[error("script user '{0}' does not exist")]
    NoUser(String),
    /// No such group.
    #[error("script group '{0}' does not exist")]
    NoGroup(String),
    /// The user database could not be read.
    #[error("cannot look up '{name}': {errno}")]
    Lookup {
        /// The user or group name.
        name: String,
        /// The error.
        errno: nix::errno::Errno,
    },
}

impl User {
    /// Look `name` up (and `group`, which replaces the user's primary group).
    /// A leading `:` on the group (keepalived's "also set supplementary
    /// groups") is accepted and ignored: scripts run without supplementary groups.
    pub fn lookup(name: &str, group: Option<&str>) -> Result<User, UserError> {
        let u = NixUser::from_name(name)
            .map_err(|errno| UserError::Lookup {
                name: name.to_owned(),
                errno,
            })?
            .ok_or_else(|| UserError::NoUser(name.to_owned()))?;
        let mut gid = u.gid.as_raw();
        if let Some(g) = group
            .map(|g| g.trim_start_matches(':'))
            .filter(|g| !g.is_empty())
        {
            gid = Group::from_name(g)
                .map_err(|errno| UserError::Lookup {
                    name: g.to_owned(),
                    errno,
                })?
                .ok_or_else(|| UserError::NoGroup(g.to_owned()))?
                .gid
                .as_raw();
        }
        Ok(User {
            name: u.name,
            uid: u.uid.as_raw(),
            gid,
            home: u.dir.to_string_lossy().into_owned(),
        })
    }

    /// The user this process runs as (what a script without a user runs as).
    pub fn current() -> User {
        let uid = nix::unistd::getuid();
        let gid = nix::unistd::getgid().as_raw();
        match NixUser::from_uid(uid) {
            Ok(Some(u)) => User {
                name: u.name,
                uid: uid.as_raw(),
                gid,
                home: u.dir.to_string_lossy().into_owned(),
            },
            _ => User {
                name: uid.to_string(),
                uid: uid.as_raw(),
                gid,
                home: "/".into(),
            },
        }
    }

    /// True for uid 0 or gid 0: what the script may change must be safe from
    /// non-root users (keepalived's `need_script_protection`).
    pub fn is_root(&self) -> bool {
        self.uid == 0 || self.gid == 0
    }
}

/// Who a script without its own `user` runs as, keepalived's way.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DefaultUser {
    /// `script_user` from global_defs, or `keepalived_script` when it exists.
    User(User),
    /// Neither: scripts run as this process's user. keepalived logs
    /// [`DefaultUser::WARNING`] when it takes this path.
    Ourselves,
}

impl DefaultUser {
    /// keepalived's log line when `keepalived_script` does not exist.
    pub const WARNING: &'static str = "Script user 'keepalived_script' does not exist";

    /// Resolve the default: `script_user` (an error when it does not exist),
    /// else `keepalived_script`, else ourselves. Under script security there is
    /// no falling back: without `keepalived_script` it is an error, as in
    /// keepalived ("Unable to set default user keepalived_script for script").
    pub fn resolve(
        script_user: Option<(&str, Option<&str>)>,
        script_security: bool,
    ) -> Result<DefaultUser, UserError> {
        if let Some((u, g)) = script_user {
            return User::lookup(u, g).map(DefaultUser::User);
        }
        match User::lookup(DEFAULT_USER, None) {
            Ok(u) => Ok(DefaultUser::User(u)),
            Err(UserError::NoUser(_)) if !script_security => Ok(DefaultUser::Ourselves),
            Err(e) => Err(e),
        }
    }

    /// The user, `None` for ourselves.
    pub fn user(&self) -> Option<&User> {
        match self {
            DefaultUser::User(u) => Some(u),
            DefaultUser::Ourselves => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        let root = User::lookup("root", None).unwrap();
        assert_eq!((root.uid, root.gid), (0, 0));
        assert!(root.is_root());
        let nobody = User::lookup("nobody", Some("nogroup")).unwrap();
        assert_ne!(nobody.uid, 0);
        assert!(!nobody.is_root());
        assert_eq!(
            User::lookup("no-such-user-keel", None),
            Err(UserError::NoUser("no-such-user-keel".into()))
        );
        assert_eq!(
            User::lookup("root", Some("no-such-group-keel")),
            Err(UserError::NoGroup("no-such-group-keel".into()))
        );
        assert_eq!(
            User::lookup("root", Some(":")).map(|u| u.gid),
            Ok(0),
            "':' alone keeps the primary group"
        );
    }

    #[test]
    fn default_user_falls_back_like_keepalived() {
        let have = User::lookup(DEFAULT_USER, None).is_ok();
        let d = DefaultUser::resolve(None, false).unwrap();
        assert_eq!(d.user().is_some(), have);
        let s = DefaultUser::resolve(None, true);
        if have {
            assert!(s.is_ok());
        } else {
            assert_eq!(s, Err(UserError::NoUser(DEFAULT_USER.into())));
        }
        assert_eq!(
            DefaultUser::resolve(Some(("no-such-user-keel", None)), false),
            Err(UserError::NoUser("no-such-user-keel".into()))
        );
        assert_eq!(
            DefaultUser::resolve(Some(("nobody", None)), true)
                .unwrap()
                .user()
                .map(|u| u.name.as_str()),
            Some("nobody")
        );
    }
}
