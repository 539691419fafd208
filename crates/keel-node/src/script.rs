//! Scripts: who they run as, and vrrp_script bookkeeping. Running them,
//! `enable_script_security` and the environment are keel-script's
//! ([`keel_script::run`], [`keel_script::check`]), shared with MISC_CHECK.
//!
//! * `Users` (feature `conf`): keepalived's rules for who a script runs as: its own `user`,
//!   else `script_user`, else `keepalived_script` when it exists, else root
//!   (with keepalived's warning), and under `enable_script_security` no falling
//!   back to root. A user or group that does not exist is a configuration error
//!   (`user_diagnostics`), under `-t`, at start and on reload.
//! * [`Tracker`]: rise/fall/init_fail bookkeeping of a vrrp_script.
#[cfg(feature = "conf")]
use keel_conf as conf;
#[cfg(feature = "conf")]
use keel_script::{DefaultUser, User, UserError};
pub use keel_script::{Line, Outcome};

#[cfg(feature = "conf")]
/// Who scripts run as, for one configuration.
#[derive(Debug, Clone)]
pub struct Users {
    default: Result<DefaultUser, UserError>,
}

#[cfg(feature = "conf")]
impl Users {
    /// Resolve the default user of `cfg`.
    pub fn new(cfg: &conf::Config) -> Users {
        let g = cfg
            .global
            .script_user
            .as_ref()
            .map(|u| (u.user.as_str(), u.group.as_deref()));
        Users {
            default: DefaultUser::resolve(g, cfg.global.enable_script_security),
        }
    }

    /// keepalived's warning when scripts fall back to running as root.
    pub fn warning(&self) -> Option<&'static str> {
        matches!(self.default, Ok(DefaultUser::Ourselves)).then_some(DefaultUser::WARNING)
    }

    /// The user a script with `explicit` (its own `user`) runs as; `Ok(None)`:
    /// as keeld itself.
    pub fn resolve(&self, explicit: Option<&conf::ScriptUser>) -> Result<Option<User>, UserError> {
        match explicit {
            Some(u) => User::lookup(&u.user, u.group.as_deref()).map(Some),
            None => match &self.default {
                Ok(d) => Ok(d.user().cloned()),
                Err(e) => Err(e.clone()),
            },
        }
    }
}

#[cfg(feature = "conf")]
/// Every script of a configuration with its position and own user.
fn scripts(cfg: &conf::Config) -> Vec<(&conf::Span, Option<&conf::ScriptUser>, String)> {
    let mut out = Vec::new();
    for s in &cfg.vrrp_scripts {
        out.push((&s.span, s.user.as_ref(), format!("vrrp_script {}", s.name)));
    }
    let notifies = cfg
        .vrrp_instances
        .iter()
        .map(|i| &i.notify)
        .chain(cfg.sync_groups.iter().map(|g| &g.notify));
    for n in notifies {
        for s in [&n.notify, &n.master, &n.backup, &n.fault, &n.stop]
            .into_iter()
            .flatten()
        {
            out.push((
                &s.span,
                s.user.as_ref(),
                format!("notify script {}", s.command),
            ));
        }
    }
    for vs in &cfg.virtual_servers {
        for s in [&vs.quorum_up, &vs.quorum_down].into_iter().flatten() {
            out.push((
                &s.span,
                s.user.as_ref(),
                format!("quorum script {}", s.command),
            ));
        }
        for rs in &vs.real_servers {
            for s in [&rs.notify_up, &rs.notify_down].into_iter().flatten() {
                out.push((
                    &s.span,
                    s.user.as_ref(),
                    format!("notify script {}", s.command),
                ));
            }
            for c in &rs.checkers {
                if let conf::CheckKind::Misc(m) = &c.kind {
                    out.push((&c.span, m.user.as_ref(), format!("MISC_CHECK {}", m.path)));
                }
            }
        }
    }
    out
}

#[cfg(feature = "conf")]
fn error(span: &conf::Span, message: String, hint: &str) -> conf::Diagnostic {
    conf::Diagnostic {
        severity: conf::Severity::Error,
        code: conf::Code::Environment,
        file: span.file.to_path_buf(),
        line: span.line,
        col: span.col,
        message,
        source_line: String::new(),
        hint: Some(hint.to_owned()),
        len: 0,
    }
}

#[cfg(feature = "conf")]
/// Configuration errors for script users and groups that do not exist (issue 17:
/// an unknown `user` used to run the script as root, silently). keepalived
/// removes such scripts; keel refuses the configuration, so `keeld -t` says so
/// before a start.
pub fn user_diagnostics(cfg: &conf::Config) -> Vec<conf::Diagnostic> {
    let users = Users::new(cfg);
    let mut out = Vec::new();
    let all = scripts(cfg);
    if let (Some(g), Err(e)) = (&cfg.global.script_user, &users.default) {
        out.push(error(
            &cfg.global.span,
            format!("script_user {}: {e}", g.user),
            "create the user (and group) or name an existing one",
        ));
    }
    let mut default_reported = cfg.global.script_user.is_some();
    for (span, explicit, what) in all {
        match (explicit, users.resolve(explicit)) {
            (Some(u), Err(e)) => out.push(error(
                span,
                format!("{what}: user {}: {e}", u.user),
                "create the user (and group) or name an existing one",
            )),
            (None, Err(_)) if !default_reported => {
                default_reported = true;
                out.push(error(
                    span,
                    format!(
                        "Unable to set default user {} for script ({what})",
                        keel_script::DEFAULT_USER
                    ),
                    "enable_script_security does not run scripts as root by default: create the \
                     keepalived_script user or set script_user",
                ));
            }
            _ => {}
        }
    }
    out
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

    #[cfg(feature = "conf")]
    fn load(text: &str) -> conf::Config {
        let l = conf::load_str("k.conf", text, &conf::LoadOptions::default());
        assert!(!l.has_errors(), "{:?}", l.diagnostics);
        l.config
    }

    #[cfg(feature = "conf")]
    /// Issue 17 item 4: an unknown `user` / `script_user` ran the script as
    /// root, silently.
    #[test]
    fn unknown_users_are_configuration_errors() {
        let cfg = load(
            "vrrp_script chk {\n  script /bin/true\n  user no-such-user-keel\n}\n\
             vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 1\n  priority 100\n\
             virtual_ipaddress {\n    192.0.2.1\n  }\n\
             notify_master \"/bin/true\" nobody no-such-group-keel\n}\n",
        );
        let d = user_diagnostics(&cfg);
        let msgs: Vec<String> = d
            .iter()
            .map(|d| format!("{}: {}", d.line, d.message))
            .collect();
        assert_eq!(
            msgs,
            [
                "1: vrrp_script chk: user no-such-user-keel: script user 'no-such-user-keel' does not exist",
                "12: notify script /bin/true: user nobody: script group 'no-such-group-keel' does not exist",
            ]
        );
        assert!(d.iter().all(conf::Diagnostic::is_error));
        let cfg = load(
            "global_defs {\n  script_user no-such-user-keel\n}\nvrrp_script chk {\n  script /bin/true\n}\n",
        );
        let d = user_diagnostics(&cfg);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(
            d[0].message.starts_with("script_user no-such-user-keel"),
            "{d:?}"
        );
        let cfg = load(
            "global_defs {\n  script_user nobody\n}\nvrrp_script chk {\n  script /bin/true\n}\n",
        );
        assert!(user_diagnostics(&cfg).is_empty());
        let u = Users::new(&cfg).resolve(None).unwrap().unwrap();
        assert_eq!(u.name, "nobody");
    }

    #[test]
    #[cfg(feature = "conf")]
    fn default_user_is_keepalived_script_then_root() {
        let have = User::lookup(keel_script::DEFAULT_USER, None).is_ok();
        let cfg = load("vrrp_script chk {\n  script /bin/true\n}\n");
        let users = Users::new(&cfg);
        assert_eq!(users.resolve(None).unwrap().is_some(), have);
        assert_eq!(users.warning().is_some(), !have);
        assert!(user_diagnostics(&cfg).is_empty());
        let cfg = load(
            "global_defs {\n  enable_script_security\n}\nvrrp_script chk {\n  script /bin/true\n}\n",
        );
        let d = user_diagnostics(&cfg);
        if have {
            assert!(d.is_empty(), "{d:?}");
        } else {
            assert_eq!(d.len(), 1, "{d:?}");
            assert!(
                d[0].message
                    .starts_with("Unable to set default user keepalived_script for script"),
                "{d:?}"
            );
        }
    }
}
