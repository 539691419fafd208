//! Run keepalived's scripts (vrrp_script, notify, MISC_CHECK) the safe way, one
//! runner for every caller.
//!
//! ```
//! use std::time::Duration;
//! use keel_script::{Line, Outcome, Spec, run};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A notify line with shell syntax runs under /bin/sh; extra words are quoted.
//! let line = Line::parse("test \"$1\" = MASTER || exit 2; exit 0")?;
//! assert!(line.needs_shell());
//! // Under enable_script_security every program it runs is checked first.
//! keel_script::check(&line, None)?;
//! let spec = Spec::new(line, None, Duration::from_secs(5));
//! assert_eq!(run(&spec, &[]).await, Outcome::Exited(2));
//!
//! // A script that overruns its timeout is killed with its whole process group.
//! let slow = Spec::new(Line::parse("sleep 10")?, None, Duration::from_millis(50));
//! assert_eq!(run(&slow, &[]).await, Outcome::TimedOut);
//! # Ok(())
//! # }
//! ```
//!
//! What a run gets ([`run`]):
//! * its own process group; on timeout SIGTERM to the group, then SIGKILL to
//!   whatever is left of it (no orphans);
//! * the user of [`Spec::user`] (uid, gid, no supplementary groups); who that is
//!   when the configuration names none is [`DefaultUser`]'s business
//!   (`script_user`, else keepalived's `keepalived_script`, else ourselves with
//!   keepalived's warning);
//! * a clean [`environment`]: `PATH`, `HOME`, `USER`, `LOGNAME`, `SHELL`, the locale
//!   and `TZ`; nothing else of the caller's;
//! * `/dev/null` for stdin, stdout and stderr, and `/` as working directory.
//!
//! [`check`] is `enable_script_security`: keepalived's rule (nothing a non-root user
//! can write, up to `/`) applied to every program a line runs ([`programs`]), and a
//! refusal naming the construct for lines that hide what they run.
//!
//! The crate never panics, never prints, and has no `unsafe`: signals and user
//! look-ups go through `nix`.
mod line;
mod run;
mod secure;
mod user;

pub use line::{Line, Opaque, ParseError, SHELL, programs};
pub use run::{Outcome, PASSED_ENV, Spec, environment, run};
pub use secure::{Insecure, SCRIPT_PATH, check, check_path, resolve};
pub use user::{DEFAULT_USER, DefaultUser, User, UserError};
