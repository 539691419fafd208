//! The driver: one task per speaker that keeps the speaker's routes equal
//! to the wanted set, watches the session and reconnects with backoff.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep_until, timeout};

use crate::{Backoff, Error, Prefix, Speaker, SpeakerEvent};

/// How long one speaker operation may take before the session counts as
/// lost.
const OP_TIMEOUT: Duration = Duration::from_secs(5);

/// What the driver reports (as data: the embedder logs it).
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// The session to the speaker is (again) open; every wanted prefix is
    /// being re-announced.
    Connected {
        /// The speaker kind.
        speaker: &'static str,
    },
    /// The session failed or could not be opened; retried after `retry_in`.
    SessionLost {
        /// What failed.
        error: Error,
        /// Delay before the next attempt.
        retry_in: Duration,
    },
    /// The speaker accepted the announcement.
    Announced(Prefix),
    /// The speaker accepted the withdrawal.
    Withdrawn(Prefix),
    /// Something the speaker reported (a BGP peer's state).
    Speaker(SpeakerEvent),
}

/// The driver's state as the status page and metrics show it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Status {
    /// The session to the speaker is open.
    pub connected: bool,
    /// Prefixes the speaker accepted and has not been told to withdraw.
    pub announced: BTreeSet<Prefix>,
    /// Prefixes keel wants announced.
    pub wanted: BTreeSet<Prefix>,
    /// Sessions lost (or failed to open) since start.
    pub session_losses: u64,
    /// The last session error, as text.
    pub last_error: Option<String>,
}

#[derive(Debug)]
enum Command {
    Announce(Prefix),
    Withdraw(Prefix),
}

/// Tells the driver what to announce. Dropping every handle makes the
/// driver withdraw everything it announced and return.
#[derive(Debug, Clone)]
pub struct Handle {
    tx: mpsc::UnboundedSender<Command>,
    status: watch::Receiver<Status>,
}

impl Handle {
    /// Want `prefix` announced.
    pub fn announce(&self, prefix: Prefix) {
        // A send fails only once the driver has returned: nothing to do.
        let _ = self.tx.send(Command::Announce(prefix));
    }

    /// Want `prefix` withdrawn.
    pub fn withdraw(&self, prefix: Prefix) {
        let _ = self.tx.send(Command::Withdraw(prefix));
    }

    /// The driver's status now.
    pub fn status(&self) -> Status {
        self.status.borrow().clone()
    }

    /// A receiver that sees every status change.
    pub fn subscribe(&self) -> watch::Receiver<Status> {
        self.status.clone()
    }
}

/// Drives one [`Speaker`]: build it with [`Driver::new`], spawn
/// [`Driver::run`], steer it through the [`Handle`], read [`Event`]s.
#[derive(Debug)]
pub struct Driver<S> {
    speaker: S,
    rx: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<Event>,
    status: watch::Sender<Status>,
    backoff: Backoff,
    wanted: BTreeSet<Prefix>,
    /// Maybe present at the speaker: announced, not yet confirmed withdrawn.
    applied: BTreeSet<Prefix>,
    connected: bool,
}

impl<S: Speaker> Driver<S> {
    /// A driver for `speaker`, its handle and its event stream.
    pub fn new(speaker: S) -> (Driver<S>, Handle, mpsc::UnboundedReceiver<Event>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (etx, erx) = mpsc::unbounded_channel();
        let (stx, srx) = watch::channel(Status::default());
        let d = Driver {
            speaker,
            rx,
            events: etx,
            status: stx,
            backoff: Backoff::default(),
            wanted: BTreeSet::new(),
            applied: BTreeSet::new(),
            connected: false,
        };
        (d, Handle { tx, status: srx }, erx)
    }

    /// Use `backoff` between reconnection attempts (default 100 ms → 10 s).
    pub fn with_backoff(mut self, backoff: Backoff) -> Driver<S> {
        self.backoff = backoff;
        self
    }

    fn emit(&self, e: Event) {
        // Nobody listening is fine: events are informational.
        let _ = self.events.send(e);
    }

    fn publish(&self) {
        let (connected, announced, wanted) =
            (self.connected, self.applied.clone(), self.wanted.clone());
        self.status.send_modify(|s| {
            s.connected = connected;
            s.announced = announced;
            s.wanted = wanted;
        });
    }

    fn lost(&mut self, error: Error) -> Instant {
        self.connected = false;
        let retry_in = self.backoff.next_delay();
        let text = error.to_string();
        self.status.send_modify(|s| {
            s.session_losses += 1;
            s.last_error = Some(text);
        });
        self.publish();
        self.emit(Event::SessionLost { error, retry_in });
        Instant::now() + retry_in
    }

    async fn op<F: Future<Output = Result<(), Error>>>(
        what: &'static str,
        f: F,
    ) -> Result<(), Error> {
        timeout(OP_TIMEOUT, f)
            .await
            .unwrap_or(Err(Error::Timeout(what)))
    }

    /// Make the speaker's set equal to the wanted set.
    async fn reconcile(&mut self) -> Result<(), Error> {
        let extra: Vec<Prefix> = self.applied.difference(&self.wanted).copied().collect();
        for p in extra {
            Self::op("withdraw", self.speaker.withdraw(p)).await?;
            self.applied.remove(&p);
            self.emit(Event::Withdrawn(p));
        }
        let missing: Vec<Prefix> = self.wanted.difference(&self.applied).copied().collect();
        for p in missing {
            self.applied.insert(p);
            Self::op("announce", self.speaker.announce(p)).await?;
            self.emit(Event::Announced(p));
        }
        self.publish();
        Ok(())
    }

    /// Run until every [`Handle`] is dropped; then withdraw what was
    /// announced (best effort) and return.
    pub async fn run(mut self) {
        let mut retry_at = Some(Instant::now());
        loop {
            if let Some(at) = retry_at.filter(|at| *at <= Instant::now()) {
                let _ = at;
                match Self::op("connect", self.speaker.connect()).await {
                    Ok(()) => {
                        self.connected = true;
                        self.backoff.reset();
                        retry_at = None;
                        self.emit(Event::Connected {
                            speaker: self.speaker.kind(),
                        });
                        // After a reconnect the speaker may have lost
                        // everything (restart): announce all again.
                        let again: Vec<Prefix> =
                            self.applied.intersection(&self.wanted).copied().collect();
                        for p in again {
                            self.applied.remove(&p);
                        }
                        if let Err(e) = self.reconcile().await {
                            retry_at = Some(self.lost(e));
                        }
                    }
                    Err(e) => retry_at = Some(self.lost(e)),
                }
                continue;
            }
            let connected = self.connected;
            let wake = retry_at.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                cmd = self.rx.recv() => {
                    let Some(cmd) = cmd else { break };
                    match cmd {
                        Command::Announce(p) => { self.wanted.insert(p); }
                        Command::Withdraw(p) => { self.wanted.remove(&p); }
                    }
                    // take every queued command before talking to the speaker
                    while let Ok(cmd) = self.rx.try_recv() {
                        match cmd {
                            Command::Announce(p) => { self.wanted.insert(p); }
                            Command::Withdraw(p) => { self.wanted.remove(&p); }
                        }
                    }
                    self.publish();
                    if connected && let Err(e) = self.reconcile().await {
                        retry_at = Some(self.lost(e));
                    }
                }
                ev = self.speaker.watch(), if connected => match ev {
                    Ok(ev) => self.emit(Event::Speaker(ev)),
                    Err(e) => retry_at = Some(self.lost(e)),
                },
                () = sleep_until(wake), if !connected => {}
            }
        }
        if self.connected {
            self.wanted.clear();
            let _ = self.reconcile().await;
        }
    }
}
