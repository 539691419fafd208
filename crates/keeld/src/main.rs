//! keeld: keel's reference daemon, a drop-in for keepalived's VRRP side.
//!
//! Same configuration file, same command-line flags, same log lines. One
//! process, one tokio current-thread runtime that owns the raw VRRP sockets,
//! the netlink link watcher, the timers, the signals and a status socket.
#![warn(clippy::print_stdout, clippy::print_stderr)]
// TEMPORARY while the runtime is being wired (removed in the runtime commit).
#![allow(dead_code)]

mod cli;
mod log;
mod pidfile;
mod script;
mod status;
mod sys;

use clap::Parser;
use cli::{Cli, Cmd};
use std::process::ExitCode;

#[allow(clippy::print_stdout, clippy::print_stderr)]
fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.cmd {
        Some(Cmd::Status { socket, json }) => {
            return match status::query(socket, "status") {
                Ok(text) if *json => {
                    println!("{}", text.trim_end());
                    ExitCode::SUCCESS
                }
                Ok(text) => match serde_json::from_str::<status::Status>(&text) {
                    Ok(s) => {
                        print!("{}", status::render(&s));
                        ExitCode::SUCCESS
                    }
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
        Some(Cmd::Handover { instance, .. }) => {
            eprintln!(
                "keeld handover{}: not implemented yet",
                instance
                    .as_deref()
                    .map(|i| format!(" {i}"))
                    .unwrap_or_default()
            );
            return ExitCode::from(2);
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
        facility: cli.log_facility.map_or(3, |f| 16 + f),
    });
    tracing::error!("keeld runtime not available yet");
    ExitCode::from(1)
}

fn config_test(_cli: &Cli) -> u8 {
    3
}
