//! Every TCP_CHECK of a [`Checker`](crate::Checker) in one task.
//!
//! At thousands of checks per second a tokio task per check spent more user time than
//! keepalived's whole checker (docs/check-bench.md): per attempt a timer-wheel entry for
//! the sleep and one for `connect_timeout`, a reactor registration (an allocation and a
//! slab slot) per socket, a wake-up and a poll of the task. Here one task owns all
//! TCP_CHECKs, like keepalived's single-threaded scheduler:
//!
//! * the sockets are registered with an epoll instance of our own ([`mio::Poll`]), which
//!   is itself registered once with tokio's reactor; closing a socket removes it from
//!   that epoll, so there is no deregistration call per check;
//! * due times sit in FIFO queues, one per distinct delay (`delay_loop`,
//!   `delay_before_retry`, `connect_timeout`): a time pushed as "now + d" is never earlier
//!   than the one before it, so the queues stay sorted without sorting; arbitrary first
//!   attempts (bootstrap delay + warmup) go to a binary heap; one tokio `Sleep` is set to
//!   the earliest of them;
//! * the clock is read once per wake-up, not per check.
//!
//! Semantics are the per-check task's: the same [`Tracker`], the same events and log
//! lines, the next attempt `delay_loop` (or `delay_before_retry`) after the end of the
//! previous one. When the event channel is full the whole set waits (backpressure), as a
//! task per check would each wait on its own send.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Token};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc::error::{SendError, TrySendError};
use tokio::sync::mpsc::{self, OwnedPermit};
use tokio::task::JoinHandle;
use tokio::time::{Instant, Sleep};

use crate::event::{Event, ProbeError};
use crate::probe::{Failure, Success};
use crate::runner::{Prepared, later, report};
use crate::spec::{CheckSpec, ConnectOpts};
use crate::state::{Next, Tracker};

/// What the [`Checker`](crate::Checker) tells the set.
#[derive(Debug)]
enum Cmd {
    Add {
        key: u64,
        prepared: Arc<Prepared>,
        first: Instant,
    },
    Remove {
        key: u64,
    },
}

/// The handle the [`Checker`](crate::Checker) keeps.
#[derive(Debug)]
pub(crate) struct TcpSet {
    cmds: mpsc::UnboundedSender<Cmd>,
    task: JoinHandle<()>,
}

impl TcpSet {
    /// Start the set's task on `runtime`, reporting to `events`.
    pub(crate) fn start(
        runtime: &tokio::runtime::Handle,
        events: mpsc::Sender<Event>,
    ) -> io::Result<TcpSet> {
        let _entered = runtime.enter();
        let poll = crate::sys::register_poll(mio::Poll::new()?)?;
        let (tx, rx) = mpsc::unbounded_channel();
        let mut engine = Engine {
            poll,
            ready: Events::with_capacity(1024),
            slots: Vec::new(),
            gens: Vec::new(),
            free: Vec::new(),
            keys: HashMap::new(),
            timers: Timers::default(),
            cmds: rx,
            events,
            outbox: VecDeque::new(),
            reserve: None,
            sleep: Box::pin(tokio::time::sleep_until(Instant::now())),
            armed: None,
        };
        let task = runtime.spawn(async move { std::future::poll_fn(|cx| engine.run(cx)).await });
        Ok(TcpSet { cmds: tx, task })
    }

    /// Start a check; its first attempt at `first`.
    pub(crate) fn add(&self, key: u64, prepared: Arc<Prepared>, first: Instant) {
        let _ = self.cmds.send(Cmd::Add {
            key,
            prepared,
            first,
        });
    }

    /// Stop a check (its socket, if connecting, is closed).
    pub(crate) fn remove(&self, key: u64) {
        let _ = self.cmds.send(Cmd::Remove { key });
    }

    /// Stop the task.
    pub(crate) fn abort(&self) {
        self.task.abort();
    }

    /// Stop the task and wait until it has ended.
    pub(crate) async fn shutdown(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// A due time: (when, slot, generation of the slot it was set for).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Due {
    at: Instant,
    slot: u32,
    generation: u32,
}

/// Due times: sorted FIFO queues per delay, and a heap for the rest.
#[derive(Debug, Default)]
struct Timers {
    fifos: Vec<(Duration, VecDeque<Due>)>,
    heap: BinaryHeap<Reverse<Due>>,
}

/// Distinct delays with a queue of their own; more go to the heap.
const MAX_FIFOS: usize = 16;

impl Timers {
    /// `now + delay`; `now` never goes backwards between calls.
    fn push_after(&mut self, now: Instant, delay: Duration, slot: u32, generation: u32) {
        let due = Due {
            at: later(now, delay),
            slot,
            generation,
        };
        let room = self.fifos.len() < MAX_FIFOS;
        match self.fifos.iter_mut().find(|f| f.0 == delay) {
            Some(f) if f.1.back().is_none_or(|b| b.at <= due.at) => f.1.push_back(due),
            None if room => self.fifos.push((delay, VecDeque::from([due]))),
            _ => self.heap.push(Reverse(due)),
        }
    }

    fn push_at(&mut self, due: Due) {
        self.heap.push(Reverse(due));
    }

    fn next(&self) -> Option<Instant> {
        let fifo = self.fifos.iter().filter_map(|f| f.1.front()).map(|d| d.at);
        fifo.chain(self.heap.peek().map(|d| d.0.at)).min()
    }

    fn pop_due(&mut self, now: Instant) -> Option<Due> {
        let mut best: Option<(Instant, Option<usize>)> = self.heap.peek().map(|d| (d.0.at, None));
        for (i, f) in self.fifos.iter().enumerate() {
            if let Some(d) = f.1.front()
                && best.is_none_or(|b| d.at < b.0)
            {
                best = Some((d.at, Some(i)));
            }
        }
        match best {
            Some((at, _)) if at > now => None,
            None => None,
            Some((_, None)) => self.heap.pop().map(|d| d.0),
            Some((_, Some(i))) => self.fifos.get_mut(i).and_then(|f| f.1.pop_front()),
        }
    }
}

/// One TCP_CHECK.
#[derive(Debug)]
struct Slot {
    p: Arc<Prepared>,
    dst: SocketAddr,
    tracker: Tracker,
    /// The connecting socket, while an attempt runs.
    sock: Option<Socket>,
}

type Reserve = Pin<Box<dyn Future<Output = Result<OwnedPermit<Event>, SendError<()>>> + Send>>;

struct Engine {
    poll: AsyncFd<mio::Poll>,
    ready: Events,
    slots: Vec<Option<Slot>>,
    /// Generation per slot index; a due time of another generation is stale.
    gens: Vec<u32>,
    free: Vec<u32>,
    keys: HashMap<u64, u32>,
    timers: Timers,
    cmds: mpsc::UnboundedReceiver<Cmd>,
    events: mpsc::Sender<Event>,
    /// Events not sent yet (the channel was full).
    outbox: VecDeque<Event>,
    reserve: Option<Reserve>,
    sleep: Pin<Box<Sleep>>,
    armed: Option<Instant>,
}

impl Engine {
    /// The task: returns when the event channel or the command channel closed.
    fn run(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            match self.flush(cx) {
                Poll::Ready(true) => {}
                Poll::Ready(false) => return Poll::Ready(()),
                Poll::Pending => return Poll::Pending,
            }
            let mut busy = false;
            loop {
                match self.cmds.poll_recv(cx) {
                    Poll::Ready(Some(cmd)) => {
                        busy = true;
                        self.command(cmd);
                    }
                    Poll::Ready(None) => return Poll::Ready(()),
                    Poll::Pending => break,
                }
            }
            if let Poll::Ready(Ok(mut guard)) = self.poll.poll_read_ready_mut(cx) {
                busy = true;
                let full = match guard
                    .get_inner_mut()
                    .poll(&mut self.ready, Some(Duration::ZERO))
                {
                    Ok(()) => self.ready.iter().count() >= self.ready.capacity(),
                    Err(e) => e.kind() == io::ErrorKind::Interrupted,
                };
                if !full {
                    guard.clear_ready();
                }
                drop(guard);
                let now = Instant::now();
                let ready = std::mem::replace(&mut self.ready, Events::with_capacity(0));
                for ev in ready.iter() {
                    self.connected(ev.token().0, now);
                }
                self.ready = ready;
            }
            let now = Instant::now();
            while let Some(due) = self.timers.pop_due(now) {
                busy = true;
                self.fire(due, now);
            }
            if busy {
                continue;
            }
            if let Some(at) = self.timers.next() {
                if self.armed != Some(at) {
                    self.sleep.as_mut().reset(at);
                    self.armed = Some(at);
                }
                if self.sleep.as_mut().poll(cx).is_ready() {
                    self.armed = None;
                    continue;
                }
            }
            return Poll::Pending;
        }
    }

    /// Send queued events. Ready(false): the receiver is gone.
    fn flush(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        while let Some(ev) = self.outbox.pop_front() {
            if let Some(reserve) = self.reserve.as_mut() {
                match reserve.as_mut().poll(cx) {
                    Poll::Pending => {
                        self.outbox.push_front(ev);
                        return Poll::Pending;
                    }
                    Poll::Ready(Err(_)) => return Poll::Ready(false),
                    Poll::Ready(Ok(permit)) => {
                        self.reserve = None;
                        permit.send(ev);
                        continue;
                    }
                }
            }
            match self.events.try_send(ev) {
                Ok(()) => {}
                Err(TrySendError::Closed(_)) => return Poll::Ready(false),
                Err(TrySendError::Full(ev)) => {
                    self.outbox.push_front(ev);
                    self.reserve = Some(Box::pin(self.events.clone().reserve_owned()));
                }
            }
        }
        Poll::Ready(true)
    }

    fn command(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Add {
                key,
                prepared,
                first,
            } => {
                let CheckSpec::Tcp { conn } = &prepared.check.spec else {
                    return;
                };
                let slot = Slot {
                    dst: conn.destination(prepared.check.target),
                    tracker: Tracker::new(prepared.retry, prepared.check.alpha),
                    p: prepared,
                    sock: None,
                };
                let i = match self.free.pop() {
                    Some(i) => i,
                    None => {
                        self.slots.push(None);
                        self.gens.push(0);
                        (self.slots.len() - 1) as u32
                    }
                };
                if let Some(old) = self.keys.insert(key, i) {
                    self.drop_slot(old);
                }
                if let Some(s) = self.slots.get_mut(i as usize) {
                    *s = Some(slot);
                }
                let generation = self.bump(i);
                self.timers.push_at(Due {
                    at: first,
                    slot: i,
                    generation,
                });
            }
            Cmd::Remove { key } => {
                if let Some(i) = self.keys.remove(&key) {
                    self.drop_slot(i);
                }
            }
        }
    }

    fn drop_slot(&mut self, i: u32) {
        if let Some(s) = self.slots.get_mut(i as usize).and_then(Option::take) {
            drop(s.sock);
            self.bump(i);
            self.free.push(i);
        }
    }

    /// A new generation for slot `i`: its older due times become stale.
    fn bump(&mut self, i: u32) -> u32 {
        match self.gens.get_mut(i as usize) {
            Some(g) => {
                *g = g.wrapping_add(1);
                *g
            }
            None => 0,
        }
    }

    /// A due time: start an attempt, or time out the running one.
    fn fire(&mut self, due: Due, now: Instant) {
        if self.gens.get(due.slot as usize) != Some(&due.generation) {
            return;
        }
        let Some(s) = self
            .slots
            .get_mut(due.slot as usize)
            .and_then(Option::as_mut)
        else {
            return;
        };
        if let Some(sock) = s.sock.take() {
            drop(sock);
            self.complete(due.slot, Err(ProbeError::ConnectTimeout), now);
            return;
        }
        let CheckSpec::Tcp { conn } = &s.p.check.spec else {
            return;
        };
        let timeout = conn.connect_timeout;
        match open(conn, s.dst, s.p.tcp_reset) {
            Ok(None) => self.complete(due.slot, Ok(()), now),
            Err(e) => self.complete(due.slot, Err(e), now),
            Ok(Some(sock)) => {
                let fd = sock.as_raw_fd();
                let token = Token(due.slot as usize);
                match self.poll.get_ref().registry().register(
                    &mut SourceFd(&fd),
                    token,
                    Interest::WRITABLE,
                ) {
                    Ok(()) => {
                        s.sock = Some(sock);
                        let generation = self.bump(due.slot);
                        self.timers.push_after(now, timeout, due.slot, generation);
                    }
                    Err(e) => self.complete(due.slot, Err(ProbeError::Socket(e.kind())), now),
                }
            }
        }
    }

    /// The socket of slot `i` is writable or failed: the connect ended.
    fn connected(&mut self, i: usize, now: Instant) {
        let Some(s) = self.slots.get_mut(i).and_then(Option::as_mut) else {
            return;
        };
        let Some(sock) = s.sock.take() else {
            return;
        };
        let result = match sock.take_error() {
            Ok(None) => Ok(()),
            Ok(Some(e)) | Err(e) => Err(ProbeError::Connect(e.kind())),
        };
        if result.is_ok() && s.p.tcp_reset {
            // Zero linger: close() sends RST and leaves no TIME_WAIT; it never blocks.
            let _ = sock.set_linger(Some(Duration::ZERO));
        }
        drop(sock);
        self.complete(i as u32, result, now);
    }

    /// An attempt of slot `i` ended: verdict, event, next attempt.
    fn complete(&mut self, i: u32, result: Result<(), ProbeError>, now: Instant) {
        let Some(s) = self.slots.get_mut(i as usize).and_then(Option::as_mut) else {
            return;
        };
        let result = result.map(|()| Success::Tcp).map_err(Failure::from);
        let (verdict, next) = s.tracker.on_result(result.is_ok());
        if let Some(ev) = report(&s.p, &s.tracker, &result, verdict) {
            self.outbox.push_back(ev);
        }
        let delay = match next {
            Next::Loop => s.p.check.delay_loop,
            Next::Retry => s.p.delay_before_retry,
        };
        let generation = self.bump(i);
        self.timers.push_after(now, delay, i, generation);
    }
}

/// A non-blocking socket with keepalived's connection options, connecting to `dst`:
/// `Ok(None)` when the connect completed at once (the socket is closed already),
/// `Ok(Some)` while it is in progress.
fn open(conn: &ConnectOpts, dst: SocketAddr, reset: bool) -> Result<Option<Socket>, ProbeError> {
    let sock = Socket::new(
        Domain::for_address(dst),
        Type::STREAM.nonblocking(),
        Some(Protocol::TCP),
    )
    .map_err(|e| ProbeError::Socket(e.kind()))?;
    if let Some(src) = conn.source(dst) {
        if conn.bind_port.is_some() {
            sock.set_reuse_address(true)
                .map_err(|e| ProbeError::Bind(e.kind()))?;
        }
        sock.bind(&src.into())
            .map_err(|e| ProbeError::Bind(e.kind()))?;
    }
    match sock.connect(&dst.into()) {
        Ok(()) => {
            if reset {
                let _ = sock.set_linger(Some(Duration::ZERO));
            }
            Ok(None)
        }
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok(Some(sock)),
        Err(e) => Err(ProbeError::Connect(e.kind())),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn timers_pop_in_time_order_across_queues_and_heap() {
        let t0 = Instant::now();
        let mut t = Timers::default();
        let ms = Duration::from_millis;
        t.push_after(t0, ms(30), 1, 1);
        t.push_after(t0, ms(10), 2, 1);
        t.push_at(Due {
            at: t0 + ms(20),
            slot: 3,
            generation: 1,
        });
        t.push_after(t0 + ms(1), ms(30), 4, 1);
        assert_eq!(t.next(), Some(t0 + ms(10)));
        assert!(t.pop_due(t0 + ms(9)).is_none());
        let order: Vec<u32> = std::iter::from_fn(|| t.pop_due(t0 + ms(100)))
            .map(|d| d.slot)
            .collect();
        assert_eq!(order, [2, 3, 1, 4]);
        assert_eq!(t.next(), None);
    }
}
