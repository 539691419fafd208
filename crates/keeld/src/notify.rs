//! systemd readiness (`Type=notify`): `READY=1` once every instance has started,
//! `RELOADING=1` … `READY=1` around a reload, `STOPPING=1` on shutdown. Without
//! `NOTIFY_SOCKET` (not started by systemd) every call is a no-op.
use sd_notify::NotifyState;

fn send(states: &[NotifyState<'_>]) {
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return;
    }
    if let Err(e) = sd_notify::notify(false, states) {
        tracing::warn!("cannot notify systemd: {e}");
    }
}

/// Every instance has started.
pub fn ready() {
    send(&[NotifyState::Ready]);
}

/// A reload begins (follow with [`ready`] when it is done).
pub fn reloading() {
    send(&[NotifyState::Reloading]);
}

/// Shutdown begins.
pub fn stopping() {
    send(&[NotifyState::Stopping]);
}
