//! `-C` alone (keepalived's `--check`): the checkers without VRRP. The virtual
//! servers are checked and programmed into IPVS as in the full daemon, but no
//! vrrp_instance runs: no VRRP socket, no VIP, no stale-VIP cleanup (a `keeld -P`
//! may own VIPs on this host), no `lvs_sync_daemon` (keepalived's VRRP process
//! drives it). SIGHUP reloads, SIGTERM/SIGINT stop (removing what keel added to
//! IPVS), SIGUSR1/SIGUSR2 log the virtual servers' state, and the status socket
//! answers `status` like the full daemon.
use std::path::PathBuf;
use std::time::Instant;

use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::status::{self, Query, Request, Status};

/// What `-C` needs from the command line.
#[derive(Debug, Clone)]
pub struct Options {
    /// Configuration file.
    pub conf: PathBuf,
    /// `-i`.
    pub config_id: Option<String>,
    /// Status socket.
    pub status_socket: PathBuf,
    /// Who may use it.
    pub status_access: crate::status::Access,
}

const ROLES: super::Roles = super::Roles::new(true, false);

/// Run until SIGTERM/SIGINT; the process exit code.
pub fn run(opts: Options) -> u8 {
    crate::runtime::on_runtime(main_loop(opts))
}

/// Load and log diagnostics; `None` when the file has errors.
fn load(opts: &Options) -> Option<keel_conf::Config> {
    crate::runtime::load_conf(&opts.conf, opts.config_id.clone()).ok()
}

struct State {
    opts: Options,
    director: super::Director,
    started: Instant,
    reloads: u64,
    reload_failures: u64,
}

impl State {
    fn answer(&self, req: &Request) -> String {
        match req {
            Request::Status | Request::Metrics => {
                let s = Status {
                    pid: std::process::id(),
                    version: env!("CARGO_PKG_VERSION").to_owned(),
                    config_file: self.opts.conf.display().to_string(),
                    uptime_s: self.started.elapsed().as_secs_f64(),
                    reloads: self.reloads,
                    reload_failures: self.reload_failures,
                    log_dropped: crate::log::SYSLOG_DROPPED
                        .load(std::sync::atomic::Ordering::Relaxed),
                    node: Default::default(),
                    virtual_servers: self.director.status(),
                };
                if *req == Request::Metrics {
                    return status::metrics_text(&s);
                }
                serde_json::to_string(&s).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
            }
            Request::Handover(_) | Request::Resume(_) => serde_json::json!({
                "error": "no vrrp_instance runs: keeld runs the checkers only (-C)"
            })
            .to_string(),
        }
    }
}

fn dump(director: &super::Director) {
    let text = super::render(&director.status());
    info!(
        "Virtual servers ({}):",
        text.lines().filter(|l| !l.starts_with(' ')).count()
    );
    for l in text.lines() {
        info!("{l}");
    }
}

async fn main_loop(opts: Options) -> u8 {
    info!(
        "Starting keeld v{} (checkers only: virtual servers, no VRRP)",
        env!("CARGO_PKG_VERSION")
    );
    let Some(cfg) = load(&opts) else {
        error!(
            "Configuration file {} has errors: not starting",
            opts.conf.display()
        );
        return 3;
    };
    if cfg.virtual_servers.is_empty() {
        info!("No virtual_server in the configuration: nothing to check");
    }
    let (qtx, mut qrx) = mpsc::channel::<Query>(8);
    if let Err(e) = status::serve(&opts.status_socket, opts.status_access, qtx) {
        warn!(
            "cannot open status socket {}: {e}",
            opts.status_socket.display()
        );
    }
    let mut director = super::Director::new(ROLES, &opts.status_socket);
    director.start(&cfg);
    crate::notify::ready();
    let Some((mut term, mut int, mut hup, mut usr1, mut usr2)) = crate::runtime::signals() else {
        return 2;
    };
    let mut st = State {
        opts: opts.clone(),
        director,
        started: Instant::now(),
        reloads: 0,
        reload_failures: 0,
    };
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => {
                crate::notify::reloading();
                info!("Reloading");
                match load(&opts) {
                    Some(cfg) => {
                        st.reloads += 1;
                        st.director.reload(&cfg);
                    }
                    None => {
                        st.reload_failures += 1;
                        error!(
                            "Reload of {} failed: keeping the running configuration",
                            opts.conf.display()
                        );
                    }
                }
                crate::notify::ready();
            }
            // keepalived -C dumps its checker data on SIGUSR1: log the virtual servers
            // (SIGUSR2 too; either would otherwise end the process).
            _ = usr1.recv() => dump(&st.director),
            _ = usr2.recv() => dump(&st.director),
            Some((req, reply)) = qrx.recv() => {
                let _ = reply.send(st.answer(&req));
            }
        }
    }
    crate::notify::stopping();
    st.director.shutdown().await;
    let _ = status::remove_ours(&opts.status_socket);
    info!("Stopped keeld");
    0
}
