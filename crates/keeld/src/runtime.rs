//! What the daemon loops (VRRP and director-only) share: the runtime, the
//! signals they handle and configuration loading with logged diagnostics.
use keel_node::script;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tracing::{error, warn};

/// The signals a daemon loop handles: SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2
/// (`None`, logged, when they cannot be installed).
pub(crate) fn signals() -> Option<(Signal, Signal, Signal, Signal, Signal)> {
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
        signal(SignalKind::user_defined1()),
        signal(SignalKind::user_defined2()),
    ) {
        (Ok(a), Ok(b), Ok(c), Ok(d), Ok(e)) => Some((a, b, c, d, e)),
        _ => {
            error!("cannot install signal handlers");
            None
        }
    }
}

/// Run a daemon's main loop on a current-thread runtime; its exit code (2 when
/// the runtime cannot start).
pub(crate) fn on_runtime(main: impl std::future::Future<Output = u8>) -> u8 {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            error!("cannot start the runtime: {e}");
            return 2;
        }
    };
    rt.block_on(main)
}

/// Load `conf` and log its diagnostics; `Err(number of errors)` when it cannot run.
pub(crate) fn load_conf(
    conf: &std::path::Path,
    config_id: Option<String>,
) -> Result<keel_conf::Config, usize> {
    let lo = keel_conf::LoadOptions {
        config_id,
        check_environment: false,
    };
    let mut l = keel_conf::load_file(conf, &lo);
    l.diagnostics.extend(script::user_diagnostics(&l.config));
    for d in &l.diagnostics {
        let text = d.to_string();
        for line in text.lines() {
            if d.is_error() {
                error!("{line}");
            } else {
                warn!("{line}");
            }
        }
    }
    if l.has_errors() {
        Err(l.diagnostics.iter().filter(|d| d.is_error()).count())
    } else {
        Ok(l.config)
    }
}
