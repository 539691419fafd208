//! keeld: keel's reference daemon, a drop-in for keepalived's VRRP side.
//!
//! Same configuration file, same command-line flags, same log lines. One
//! process, one tokio current-thread runtime that owns the raw VRRP sockets,
//! the netlink link watcher, the timers, the signals and a status socket.
#![warn(clippy::print_stdout, clippy::print_stderr)]

mod caps;
mod cli;
mod daemon;
mod director;
mod files;
mod log;
mod notify;
mod pidfile;
mod runtime;
mod status;

use keel_node::script;

use clap::Parser;
use cli::{Cli, Cmd};
use std::process::ExitCode;

#[allow(clippy::print_stdout, clippy::print_stderr)]
fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.cmd {
        Some(Cmd::Status {
            socket,
            json,
            metrics,
        }) => {
            let req = if *metrics { "metrics" } else { "status" };
            return match status::query(socket, req) {
                Ok(text) if *json || *metrics => {
                    stdout(&format!("{}\n", text.trim_end()), ExitCode::SUCCESS)
                }
                Ok(text) => match serde_json::from_str::<status::Status>(&text) {
                    Ok(s) => stdout(&status::render(&s), ExitCode::SUCCESS),
                    Err(e) => {
                        eprintln!("keeld status: bad answer from keeld: {e}");
                        ExitCode::from(1)
                    }
                },
                Err(e) => {
                    eprintln!("keeld status: {e}");
                    ExitCode::from(1)
                }
            };
        }
        Some(Cmd::Handover { instance, socket } | Cmd::Resume { instance, socket }) => {
            let word = if matches!(cli.cmd, Some(Cmd::Handover { .. })) {
                "handover"
            } else {
                "resume"
            };
            let req = match instance {
                Some(i) => format!("{word} {i}"),
                None => word.to_owned(),
            };
            return match status::query(socket, &req) {
                Ok(text) => {
                    let code = if text.contains("\"error\"") {
                        ExitCode::from(1)
                    } else {
                        ExitCode::SUCCESS
                    };
                    stdout(&format!("{}\n", text.trim_end()), code)
                }
                Err(e) => {
                    eprintln!("keeld {word}: {e}");
                    ExitCode::from(1)
                }
            };
        }
        None => {}
    }
    if cli.config_test.is_some() {
        return ExitCode::from(config_test(&cli));
    }
    log::init(log::LogOptions {
        console: cli.log_console,
        syslog: !cli.no_syslog && !cli.log_console,
        detail: cli.log_detail,
        facility: cli.log_facility.unwrap_or(3),
    });
    let (checkers, vrrp) = cli.roles();
    let _pids = match pidfile::PidFiles::create(&cli.pid_files()) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::from(1);
        }
    };
    // Before the runtime (and any other thread) starts: capabilities are per thread.
    match caps::drop_unneeded() {
        Ok(kept) => tracing::debug!("capabilities kept: {}", kept.join(" ")),
        Err(e) => tracing::warn!("cannot drop capabilities: {e}"),
    }
    let status_access = match cli
        .status_group
        .as_deref()
        .map(nix::unistd::Group::from_name)
    {
        None => status::Access::default(),
        Some(Ok(Some(g))) => status::Access {
            group: Some(g.gid.as_raw()),
        },
        Some(_) => {
            tracing::error!(
                "--status-group {}: no such group",
                cli.status_group.as_deref().unwrap_or_default()
            );
            return ExitCode::from(1);
        }
    };
    if !vrrp {
        return ExitCode::from(director::only::run(director::only::Options {
            conf: cli.use_file.clone(),
            config_id: cli.config_id.clone(),
            status_socket: cli.status_socket_path(),
            status_access,
        }));
    }
    ExitCode::from(daemon::run(daemon::Options {
        conf: cli.use_file.clone(),
        config_id: cli.config_id.clone(),
        status_socket: cli.status_socket_path(),
        status_access,
        stop_mode: cli.stop_mode,
        metrics_listen: cli.metrics_listen,
        director: director::Roles::new(checkers, vrrp),
    }))
}

/// Write `text` to stdout and return `code`. A reader that went away
/// (`keeld status | head -1`) is not an error: the output just ends (`println!`
/// panicked on EPIPE).
#[allow(clippy::print_stderr)]
fn stdout(text: &str, code: ExitCode) -> ExitCode {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    match o.write_all(text.as_bytes()).and_then(|()| o.flush()) {
        Ok(()) => code,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => code,
        Err(e) => {
            eprintln!("keeld: cannot write to standard output: {e}");
            ExitCode::from(1)
        }
    }
}

/// `-t`: load the file, print the diagnostics, exit like keepalived
/// (0 clean, non-zero when the configuration cannot run).
#[allow(clippy::print_stdout, clippy::print_stderr)]
fn config_test(cli: &Cli) -> u8 {
    let opts = keel_conf::LoadOptions {
        config_id: cli.config_id.clone(),
        check_environment: true,
    };
    let mut loaded = keel_conf::load_file(&cli.use_file, &opts);
    loaded
        .diagnostics
        .extend(script::user_diagnostics(&loaded.config));
    let code = u8::try_from(loaded.exit_code()).unwrap_or(1);
    match cli.format {
        cli::Format::Text => {
            // Repeated diagnostics of one kind are summarised after the first few
            // (the JSON report lists every one).
            eprint!("{}", keel_conf::Report::new(&loaded.diagnostics));
            if loaded.diagnostics.is_empty() {
                eprintln!("{}: configuration OK", cli.use_file.display());
            }
        }
        cli::Format::Json => {
            let diags: Vec<serde_json::Value> = loaded
                .diagnostics
                .iter()
                .map(|d| {
                    serde_json::json!({
                        "severity": d.severity.as_str(),
                        "code": d.code.as_str(),
                        "file": d.file.display().to_string(),
                        "line": d.line,
                        "col": d.col,
                        "message": d.message,
                        "source_line": d.source_line,
                        "hint": d.hint,
                    })
                })
                .collect();
            let out = serde_json::json!({
                "file": cli.use_file.display().to_string(),
                "ok": !loaded.has_errors(),
                "exit_code": code,
                "errors": loaded.diagnostics.iter().filter(|d| d.is_error()).count(),
                "diagnostics": diags,
            });
            if stdout(&format!("{out}\n"), ExitCode::SUCCESS) != ExitCode::SUCCESS {
                return 1;
            }
        }
    }
    code
}
