//! Command line, compatible with keepalived 2.x where unit files and scripts
//! depend on it, plus keel's own `--format json`, `--status-socket` and the
//! `status` / `handover` subcommands.
use clap::{ArgAction, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Default configuration file (keepalived's).
pub const DEFAULT_CONF: &str = "/etc/keepalived/keepalived.conf";
/// Default main pid file.
pub const DEFAULT_PID: &str = "/run/keeld.pid";
/// Default status socket (in the unit's RuntimeDirectory, /run/keeld).
pub const DEFAULT_STATUS_SOCKET: &str = "/run/keeld/keeld.sock";

/// keeld: VRRP hot standby and LVS load balancing, a drop-in for keepalived.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "keeld",
    version,
    disable_version_flag = true,
    args_conflicts_with_subcommands = true,
    about = "keeld: keepalived rebuilt in Rust (VRRP hot standby of virtual IPs)"
)]
pub struct Cli {
    /// Use the specified configuration file.
    #[arg(short = 'f', long = "use-file", value_name = "FILE", default_value = DEFAULT_CONF)]
    pub use_file: PathBuf,

    /// Check the configuration for obvious errors and exit
    /// (keepalived's optional LOG_FILE argument is accepted and ignored).
    #[arg(short = 't', long = "config-test", num_args = 0..=1, require_equals = true,
          value_name = "LOG_FILE", default_missing_value = "")]
    pub config_test: Option<String>,

    /// Output format of --config-test.
    #[arg(long = "format", value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Don't fork the daemon process (keeld never forks; accepted for compatibility).
    #[arg(short = 'n', long = "dont-fork")]
    pub dont_fork: bool,

    /// Log messages to the local console (stderr) instead of syslog.
    #[arg(short = 'l', long = "log-console")]
    pub log_console: bool,

    /// Detailed log messages (debug level).
    #[arg(short = 'D', long = "log-detail")]
    pub log_detail: bool,

    /// Syslog facility: 0-7 or local0-local7 (LOG_LOCAL0-7), user or daemon
    /// (the default), as keepalived takes it. Stored as the syslog facility code.
    #[arg(short = 'S', long = "log-facility", value_name = "0-7|local0-7|user|daemon",
          value_parser = parse_facility)]
    pub log_facility: Option<u8>,

    /// Don't log via syslog.
    #[arg(short = 'G', long = "no-syslog")]
    pub no_syslog: bool,

    /// Only run with the VRRP subsystem (no virtual servers, no health checks).
    #[arg(short = 'P', long = "vrrp")]
    pub vrrp: bool,

    /// Only run with the health-checker subsystem (virtual servers and IPVS; no
    /// VRRP instances, no VIPs).
    #[arg(short = 'C', long = "check")]
    pub check: bool,

    /// Use the specified pid file for the parent process.
    #[arg(short = 'p', long = "pid", value_name = "FILE")]
    pub pid: Option<PathBuf>,

    /// Use the specified pid file for the VRRP process (keeld is one process:
    /// the same pid is written).
    #[arg(short = 'r', long = "vrrp_pid", value_name = "FILE")]
    pub vrrp_pid: Option<PathBuf>,

    /// Use the specified pid file for the checkers process.
    #[arg(short = 'c', long = "checkers_pid", value_name = "FILE")]
    pub checkers_pid: Option<PathBuf>,

    /// Skip any configuration lines beginning '@' that don't match id.
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    pub config_id: Option<String>,

    /// Unix socket answering status queries (JSON). Default: the main pid
    /// file's path with `.sock` instead of `.pid` when -p is given (so two
    /// daemons on one host don't collide), else /run/keeld/keeld.sock. Mode
    /// 0600: only root may connect, unless --status-group is given.
    #[arg(long = "status-socket", value_name = "PATH")]
    pub status_socket: Option<PathBuf>,

    /// Let members of GROUP read the status (`keeld status`): the socket
    /// becomes 0660 and GROUP's. `handover` and `resume` stay uid 0's.
    #[arg(long = "status-group", value_name = "GROUP")]
    pub status_group: Option<String>,

    /// What SIGTERM does to a master: `resign` (keepalived: priority-0 advert,
    /// VIPs removed at once) or `handover` (make-before-break: priority-0
    /// advert, VIPs kept until the new master's first advert, then exit;
    /// see docs/handover.md). Overrides `keel_stop_mode` in global_defs;
    /// without either, `resign`.
    #[arg(long = "stop-mode", value_name = "MODE", value_parser = stop_mode_arg())]
    pub stop_mode: Option<StopMode>,

    /// Serve Prometheus metrics on ADDR:PORT over HTTP (`GET /metrics`).
    /// Overrides `keel_metrics_listen` in global_defs; without either, none.
    #[arg(long = "metrics-listen", value_name = "ADDR:PORT")]
    pub metrics_listen: Option<std::net::SocketAddr>,

    /// Display the version and exit.
    #[arg(short = 'v', long = "version", action = ArgAction::Version)]
    pub version: Option<bool>,

    #[command(subcommand)]
    pub cmd: Option<Cmd>,
}

impl Cli {
    /// The status socket path in effect.
    pub fn status_socket_path(&self) -> PathBuf {
        if let Some(p) = &self.status_socket {
            return p.clone();
        }
        match &self.pid {
            Some(pid) => pid.with_extension("sock"),
            None => PathBuf::from(DEFAULT_STATUS_SOCKET),
        }
    }

    /// Which subsystems run, `(checkers, vrrp)`, as keepalived's `-C` / `-P`
    /// select them (both when neither or both are given).
    pub fn roles(&self) -> (bool, bool) {
        match (self.check, self.vrrp) {
            (true, false) => (true, false),
            (false, true) => (false, true),
            _ => (true, true),
        }
    }

    /// Pid files to write: main (-p or the default), vrrp (-r), checkers (-c).
    pub fn pid_files(&self) -> Vec<PathBuf> {
        let mut v = vec![
            self.pid
                .clone()
                .unwrap_or_else(|| PathBuf::from(DEFAULT_PID)),
        ];
        v.extend(self.vrrp_pid.iter().cloned());
        v.extend(self.checkers_pid.iter().cloned());
        v
    }
}

/// Output format for `-t`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// rustc-like diagnostics for a person.
    Text,
    /// One JSON object: diagnostics and exit code.
    Json,
}

/// What SIGTERM does to the instances that are master: keel-conf's
/// `keel_stop_mode` values, also taken by `--stop-mode`.
pub use keel_conf::StopMode;

fn stop_mode_arg() -> impl clap::builder::TypedValueParser<Value = StopMode> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new([
        StopMode::Resign.as_str(),
        StopMode::Handover.as_str(),
    ])
    .map(|s| {
        if s == StopMode::Handover.as_str() {
            StopMode::Handover
        } else {
            StopMode::Resign
        }
    })
}

/// Subcommands talking to a running keeld.
#[derive(Subcommand, Debug, Clone)]
pub enum Cmd {
    /// Print the state of a running keeld (from its status socket).
    Status {
        /// Status socket of the daemon.
        #[arg(long = "socket", value_name = "PATH", default_value = DEFAULT_STATUS_SOCKET)]
        socket: PathBuf,
        /// Print the raw JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Print the Prometheus metrics (as served by --metrics-listen).
        #[arg(long, conflicts_with = "json")]
        metrics: bool,
    },
    /// Ask the master of INSTANCE (all when omitted) to hand over to a backup.
    Handover {
        /// vrrp_instance name.
        instance: Option<String>,
        /// Status socket of the daemon.
        #[arg(long = "socket", value_name = "PATH", default_value = DEFAULT_STATUS_SOCKET)]
        socket: PathBuf,
    },
    /// End the hold a handover left on INSTANCE (all when omitted): it preempts
    /// again like any backup (a higher priority takes the VIP back after
    /// Master_Down_Interval).
    Resume {
        /// vrrp_instance name.
        instance: Option<String>,
        /// Status socket of the daemon.
        #[arg(long = "socket", value_name = "PATH", default_value = DEFAULT_STATUS_SOCKET)]
        socket: PathBuf,
    },
}

/// `-S`: keepalived's forms, as the syslog facility code (LOG_USER 1, LOG_DAEMON 3,
/// LOG_LOCAL0..7 16..23).
fn parse_facility(s: &str) -> Result<u8, String> {
    let local = |n: &str| n.parse::<u8>().ok().filter(|n| *n <= 7).map(|n| 16 + n);
    match s {
        "user" => Ok(1),
        "daemon" => Ok(3),
        _ => s
            .strip_prefix("local")
            .map_or_else(|| local(s), local)
            .ok_or_else(|| format!("'{s}' is not 0-7, local0-local7, user or daemon")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn keepalived_unit_file_flags_parse() {
        let c = Cli::try_parse_from([
            "keeld",
            "-n",
            "-l",
            "-D",
            "-f",
            "/tmp/k.conf",
            "-p",
            "/tmp/a.pid",
            "-r",
            "/tmp/b.pid",
            "-c",
            "/tmp/c.pid",
            "-S",
            "7",
            "-i",
            "node1",
            "-P",
        ])
        .unwrap();
        assert!(c.dont_fork && c.log_console && c.log_detail && c.vrrp);
        assert_eq!(c.use_file, PathBuf::from("/tmp/k.conf"));
        assert_eq!(c.pid.as_deref(), Some(std::path::Path::new("/tmp/a.pid")));
        assert_eq!(
            c.vrrp_pid.as_deref(),
            Some(std::path::Path::new("/tmp/b.pid"))
        );
        assert_eq!(c.log_facility, Some(23)); // LOG_LOCAL7
        assert_eq!(c.config_id.as_deref(), Some("node1"));
        assert!(c.config_test.is_none());
        assert!(c.cmd.is_none());
        assert_eq!(c.status_socket_path(), PathBuf::from("/tmp/a.sock"));
        assert_eq!(c.pid_files().len(), 3);
        let c = Cli::try_parse_from(["keeld"]).unwrap();
        assert_eq!(c.status_socket_path(), PathBuf::from(DEFAULT_STATUS_SOCKET));
        assert_eq!(c.pid_files(), [PathBuf::from(DEFAULT_PID)]);
    }

    #[test]
    fn shipped_unit_puts_the_socket_where_status_looks() {
        let unit = include_str!("../dist/keeld.service");
        let exec = unit
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .unwrap();
        // $DAEMON_ARGS (from /etc/default/keeld) expands to no words when empty,
        // as shipped.
        let words = exec.split_whitespace().filter(|w| *w != "$DAEMON_ARGS");
        let c = Cli::try_parse_from(words).unwrap();
        assert_eq!(c.status_socket_path(), PathBuf::from(DEFAULT_STATUS_SOCKET));
        assert!(c.status_socket_path().starts_with("/run/keeld/"));
    }

    #[test]
    fn long_forms_and_config_test() {
        let c = Cli::try_parse_from([
            "keeld",
            "--use-file=/x.conf",
            "--config-test",
            "--format",
            "json",
            "--log-console",
            "--dont-fork",
        ])
        .unwrap();
        assert_eq!(c.config_test.as_deref(), Some(""));
        assert_eq!(c.format, Format::Json);
        let c = Cli::try_parse_from(["keeld", "-t", "-f", "/x.conf"]).unwrap();
        assert_eq!(c.config_test.as_deref(), Some(""));
        assert_eq!(c.use_file, PathBuf::from("/x.conf"));
    }

    #[test]
    fn check_and_vrrp_select_the_subsystems() {
        let roles = |a: &[&str]| {
            let mut v = vec!["keeld"];
            v.extend_from_slice(a);
            Cli::try_parse_from(v).unwrap().roles()
        };
        assert_eq!(roles(&[]), (true, true));
        assert_eq!(roles(&["-C"]), (true, false));
        assert_eq!(roles(&["--check"]), (true, false));
        assert_eq!(roles(&["-P"]), (false, true));
        assert_eq!(roles(&["-C", "-P"]), (true, true));
    }

    #[test]
    fn facility_out_of_range_is_rejected() {
        assert!(Cli::try_parse_from(["keeld", "-S", "8"]).is_err());
        assert!(Cli::try_parse_from(["keeld", "-S", "local8"]).is_err());
        assert!(Cli::try_parse_from(["keeld", "-S", "kern"]).is_err());
    }

    #[test]
    fn facility_names_as_keepalived_takes_them() {
        let f = |s: &str| {
            Cli::try_parse_from(["keeld", "-S", s])
                .unwrap()
                .log_facility
        };
        assert_eq!(f("0"), Some(16));
        assert_eq!(f("local3"), Some(19));
        assert_eq!(f("user"), Some(1));
        assert_eq!(f("daemon"), Some(3));
    }

    #[test]
    fn version_flags() {
        let e = Cli::try_parse_from(["keeld", "-v"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::DisplayVersion);
        let e = Cli::try_parse_from(["keeld", "-h"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::DisplayHelp);
    }

    #[test]
    fn subcommands() {
        let c = Cli::try_parse_from(["keeld", "status", "--socket", "/tmp/s"]).unwrap();
        assert!(
            matches!(c.cmd, Some(Cmd::Status { ref socket, json: false, .. }) if socket == std::path::Path::new("/tmp/s"))
        );
        let c = Cli::try_parse_from(["keeld", "--stop-mode", "handover"]).unwrap();
        assert_eq!(c.stop_mode, Some(StopMode::Handover));
        assert_eq!(Cli::try_parse_from(["keeld"]).unwrap().stop_mode, None);
        let c = Cli::try_parse_from(["keeld", "handover", "VI_1"]).unwrap();
        assert!(matches!(c.cmd, Some(Cmd::Handover { instance: Some(ref i), .. }) if i == "VI_1"));
        let c = Cli::try_parse_from(["keeld", "resume"]).unwrap();
        assert!(matches!(c.cmd, Some(Cmd::Resume { instance: None, .. })));
    }
}
