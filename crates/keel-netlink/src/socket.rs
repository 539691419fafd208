//! [`Socket`]: requests with ACK matching, batches, dumps.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use netlink_sys::SocketAddr;

use crate::msg::{
    self, Msg, NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR,
    NLMSG_NOOP, NLMSG_OVERRUN,
};
use crate::{Errno, Error, Protocol, sys};

/// Requests per `send(2)` unless [`Config::batch`] says otherwise.
pub const DEFAULT_BATCH: usize = 256;
/// A batch is also sent once its requests fill this many bytes, well under
/// the socket's send buffer (`net.core.wmem_default`, 208 KiB), which
/// bounds one netlink `send`.
pub const BATCH_BYTES: usize = 64 * 1024;
/// Attempts of a dump the kernel keeps flagging as interrupted.
pub const DUMP_ATTEMPTS: u32 = 5;

/// How a [`Socket`] is set up.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Bytes per receive buffer (four are offered to each `recvmmsg`). The
    /// kernel sizes dump datagrams by the largest buffer a socket offered
    /// (up to 32 KiB): small buffers keep its allocations small, large ones
    /// need fewer system calls per dump. A datagram larger than this is
    /// [`Error::Truncated`], never silently cut.
    pub rx_buf: usize,
    /// Socket receive buffer asked for (SO_RCVBUFFORCE, else SO_RCVBUF):
    /// the error replies of one whole batch must fit, else [`Error::Overrun`].
    pub rcvbuf: usize,
    /// A receive that waits this long fails with [`Error::Timeout`]: the
    /// kernel always answers, so this means something is badly wrong.
    pub recv_timeout: Duration,
    /// Requests per `send(2)` in [`Socket::batch`] (1..=1024).
    pub batch: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            rx_buf: 32 * 1024,
            rcvbuf: 4 * 1024 * 1024,
            recv_timeout: Duration::from_secs(30),
            batch: DEFAULT_BATCH,
        }
    }
}

impl Config {
    /// Set [`Config::rx_buf`] (at least 4 KiB).
    pub fn rx_buf(mut self, bytes: usize) -> Config {
        self.rx_buf = bytes.max(4096);
        self
    }
    /// Set [`Config::rcvbuf`].
    pub fn rcvbuf(mut self, bytes: usize) -> Config {
        self.rcvbuf = bytes;
        self
    }
    /// Set [`Config::recv_timeout`] (at least one second).
    pub fn recv_timeout(mut self, t: Duration) -> Config {
        self.recv_timeout = t.max(Duration::from_secs(1));
        self
    }
    /// Set [`Config::batch`] (clamped to 1..=1024).
    pub fn batch(mut self, n: usize) -> Config {
        self.batch = n.clamp(1, 1024);
        self
    }
}

/// Counters of what a [`Socket`] sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Counters {
    /// Requests (messages) sent.
    pub requests: u64,
    /// `send(2)` calls.
    pub sends: u64,
}

/// One refused request of a [`Socket::batch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    /// The request's position in the batch (the `i` its encoder was given).
    pub index: usize,
    /// What the kernel said.
    pub errno: Errno,
}

/// A connected netlink socket for requests and dumps, in the network
/// namespace current when it was opened.
///
/// Requests are written by the caller's encoders (one complete message
/// each, `nlmsg_len` set; [`msg::begin`] / [`msg::finish`] help); the
/// socket sets the sequence numbers and ORs in `NLM_F_REQUEST` and, as the
/// call needs, `NLM_F_ACK` or `NLM_F_DUMP`.
#[derive(Debug)]
pub struct Socket {
    sock: netlink_sys::Socket,
    seq: u32,
    tx: Vec<u8>,
    /// The datagrams of the last receive, concatenated (4-byte aligned).
    rx: Vec<u8>,
    bufs: Box<[Vec<u8>; sys::MAX_MSGS]>,
    batch: usize,
    timeout: u64,
    counters: Counters,
}

impl Socket {
    /// Open with [`Config::default`].
    pub fn open(protocol: Protocol) -> Result<Socket, Error> {
        Socket::with_config(protocol, &Config::default())
    }

    /// Open with `cfg`.
    pub fn with_config(protocol: Protocol, cfg: &Config) -> Result<Socket, Error> {
        let mut sock = netlink_sys::Socket::new(protocol.raw())?;
        sock.bind_auto()?;
        sock.connect(&SocketAddr::new(0, 0))?;
        // ACKs carry only the request's header, not the whole request:
        // smaller, so more of them fit in the receive buffer.
        let _ = sock.set_cap_ack(true);
        sys::set_rcvbuf(sock.as_raw_fd(), cfg.rcvbuf);
        let timeout = cfg.recv_timeout.as_secs().max(1);
        sys::set_recv_timeout(sock.as_raw_fd(), timeout)?;
        let rx_buf = cfg.rx_buf.max(4096);
        Ok(Socket {
            sock,
            seq: 0,
            tx: Vec::with_capacity(BATCH_BYTES + 4096),
            rx: Vec::with_capacity(rx_buf),
            bufs: Box::new(std::array::from_fn(|_| vec![0; rx_buf])),
            batch: cfg.batch.clamp(1, 1024),
            timeout,
            counters: Counters::default(),
        })
    }

    /// What this socket has sent so far.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Set how many requests [`Socket::batch`] puts in one `send(2)` (1..=1024).
    pub fn set_batch_size(&mut self, n: usize) {
        self.batch = n.clamp(1, 1024);
    }

    /// The receive buffer the kernel granted, as it reports it (doubled).
    pub fn receive_buffer(&self) -> io::Result<usize> {
        sys::rcvbuf(self.sock.as_raw_fd())
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Append one request from `encode`, padded, stamped with `flags` and
    /// a new sequence number; returns (start, seq).
    fn push(&mut self, flags: u16, encode: impl FnOnce(&mut Vec<u8>)) -> (usize, u32) {
        let start = self.tx.len();
        encode(&mut self.tx);
        self.tx.resize(msg::align(self.tx.len()), 0);
        let seq = self.next_seq();
        msg::stamp(&mut self.tx, start, flags, seq);
        self.counters.requests += 1;
        (start, seq)
    }

    fn send(&mut self) -> Result<(), Error> {
        let r = self.sock.send(&self.tx, 0);
        let len = self.tx.len();
        self.tx.clear();
        self.counters.sends += 1;
        match r {
            Ok(n) if n == len => Ok(()),
            Ok(_) => Err(Error::Io(io::Error::other("short netlink send"))),
            Err(e) => Err(Error::Io(e)),
        }
    }

    /// Receive every datagram that is ready (waiting for the first) into `rx`.
    fn recv(&mut self) -> Result<(), Error> {
        let mut lens = [0usize; sys::MAX_MSGS];
        let n = loop {
            match sys::recv_many(self.sock.as_raw_fd(), &mut self.bufs, &mut lens, false) {
                Ok(n) => break n,
                Err(e) => match recv_error(e, self.timeout) {
                    Some(Error::Overrun) => {
                        self.drain();
                        return Err(Error::Overrun);
                    }
                    Some(err) => return Err(err),
                    None => continue,
                },
            }
        };
        self.rx.clear();
        for (b, &len) in self.bufs.iter().zip(lens.iter()).take(n) {
            self.rx.extend_from_slice(&b[..len]);
            self.rx.resize(msg::align(self.rx.len()), 0);
        }
        Ok(())
    }

    /// Discard every queued answer (after an overrun: until the queue is
    /// empty the kernel drops new answers without reporting ENOBUFS again).
    fn drain(&mut self) {
        let mut lens = [0usize; sys::MAX_MSGS];
        loop {
            match sys::recv_many(self.sock.as_raw_fd(), &mut self.bufs, &mut lens, true) {
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    /// Send `n` requests, [`Config::batch`] per `send(2)` (or fewer when
    /// they fill [`BATCH_BYTES`]); `encode(i, buf)` appends request `i`.
    ///
    /// Only the last request of each `send` asks for an ACK. The kernel
    /// handles the requests of one `send` in order and answers each refused
    /// one with an NLMSG_ERROR carrying its sequence number, even without
    /// NLM_F_ACK; so when the last one's ACK (or error) arrives, every
    /// failure of that send is known. Returns the refused requests, in
    /// order; an `Err` is a socket failure (the rest was not sent).
    pub fn batch(
        &mut self,
        n: usize,
        mut encode: impl FnMut(usize, &mut Vec<u8>),
    ) -> Result<Vec<Failure>, Error> {
        let mut failures = Vec::new();
        let mut i = 0;
        while i < n {
            self.tx.clear();
            let first = i;
            let base = self.seq.wrapping_add(1);
            let mut last = 0;
            while i < n && i - first < self.batch && self.tx.len() < BATCH_BYTES {
                last = self.push(NLM_F_REQUEST, |b| encode(i, b)).0;
                i += 1;
            }
            let seq = self.seq;
            msg::stamp(&mut self.tx, last, NLM_F_ACK, seq);
            self.send()?;
            let mut acks = Acks::new(base, first, i - first);
            while !acks.done {
                self.recv()?;
                acks.feed(&self.rx)?;
            }
            failures.append(&mut acks.failures);
        }
        Ok(failures)
    }

    /// Send one request with NLM_F_ACK and decode the messages answering it
    /// until the ACK. `Ok(Err(errno))` when the kernel refused it.
    pub fn request<T, E: From<Error>>(
        &mut self,
        encode: impl FnOnce(&mut Vec<u8>),
        decode: impl FnMut(Msg<'_>) -> Result<T, E>,
    ) -> Result<Result<Vec<T>, Errno>, E> {
        let mut decode = decode;
        let mut out = Vec::new();
        self.tx.clear();
        let (_, seq) = self.push(NLM_F_REQUEST | NLM_F_ACK, encode);
        self.send()?;
        let mut ex = Exchange::new(seq, false);
        Ok(match self.exchange(&mut ex, &mut decode, &mut out)? {
            0 => Ok(out),
            e => Err(Errno(e)),
        })
    }

    /// Send a dump request (NLM_F_DUMP) and decode every message of the
    /// answer, across datagrams, until NLMSG_DONE. A dump the kernel flags
    /// as interrupted by a concurrent change (NLM_F_DUMP_INTR) is done
    /// again, up to [`DUMP_ATTEMPTS`] times, then [`Error::Interrupted`].
    pub fn dump<T, E: From<Error>>(
        &mut self,
        mut encode: impl FnMut(&mut Vec<u8>),
        mut decode: impl FnMut(Msg<'_>) -> Result<T, E>,
    ) -> Result<Result<Vec<T>, Errno>, E> {
        for _ in 0..DUMP_ATTEMPTS {
            let mut out = Vec::new();
            self.tx.clear();
            let (_, seq) = self.push(NLM_F_REQUEST | NLM_F_DUMP, &mut encode);
            self.send()?;
            let mut ex = Exchange::new(seq, true);
            let errno = self.exchange(&mut ex, &mut decode, &mut out)?;
            if errno != 0 {
                return Ok(Err(Errno(errno)));
            }
            if !ex.interrupted {
                return Ok(Ok(out));
            }
        }
        Err(Error::Interrupted(DUMP_ATTEMPTS).into())
    }

    fn exchange<T, E: From<Error>>(
        &mut self,
        ex: &mut Exchange,
        decode: &mut impl FnMut(Msg<'_>) -> Result<T, E>,
        out: &mut Vec<T>,
    ) -> Result<i32, E> {
        loop {
            self.recv()?;
            if let Some(errno) = ex.feed(&self.rx, decode, out)? {
                return Ok(errno);
            }
        }
    }
}

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl AsFd for Socket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

/// What a failed receive means: `None` = try again (EINTR).
pub(crate) fn recv_error(e: io::Error, timeout: u64) -> Option<Error> {
    match e.kind() {
        io::ErrorKind::Interrupted => None,
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Some(Error::Timeout(timeout)),
        io::ErrorKind::InvalidData => Some(Error::Truncated),
        _ if e.raw_os_error() == Some(libc::ENOBUFS) => Some(Error::Overrun),
        _ => Some(Error::Io(e)),
    }
}

/// The answers to one batch: requests `base ..= base + len - 1` (sequence
/// numbers, wrapping), only the last with NLM_F_ACK.
#[derive(Debug)]
pub(crate) struct Acks {
    base: u32,
    /// Index of the batch's first request among all of the call's.
    first: usize,
    len: usize,
    pub(crate) failures: Vec<Failure>,
    pub(crate) done: bool,
}

impl Acks {
    pub(crate) fn new(base: u32, first: usize, len: usize) -> Acks {
        Acks {
            base,
            first,
            len,
            failures: Vec::new(),
            done: len == 0,
        }
    }

    /// Read one receive's messages. Errors for other sequence numbers
    /// (stale answers of an earlier, failed exchange) are skipped.
    pub(crate) fn feed(&mut self, buf: &[u8]) -> Result<(), Error> {
        for m in msg::messages(buf) {
            let m = m?;
            match m.kind {
                NLMSG_OVERRUN => return Err(Error::Overrun),
                NLMSG_ERROR => {}
                _ => continue,
            }
            let (errno, _) = m.error().ok_or(Error::Truncated)?;
            let idx = m.seq.wrapping_sub(self.base) as usize;
            if idx >= self.len {
                continue;
            }
            if errno != 0 {
                self.failures.push(Failure {
                    index: self.first + idx,
                    errno: Errno(errno),
                });
            }
            if idx + 1 == self.len {
                self.done = true;
            }
        }
        Ok(())
    }
}

/// The answer to one request or dump, possibly spread over datagrams.
#[derive(Debug)]
pub(crate) struct Exchange {
    seq: u32,
    dump: bool,
    pub(crate) interrupted: bool,
}

impl Exchange {
    pub(crate) fn new(seq: u32, dump: bool) -> Exchange {
        Exchange {
            seq,
            dump,
            interrupted: false,
        }
    }

    /// Read one receive's messages, decoding the data ones into `out`.
    /// `Some(errno)` (0 = success) once the answer is complete: the ACK or
    /// error of a request, NLMSG_DONE or an error for a dump.
    pub(crate) fn feed<T, E: From<Error>>(
        &mut self,
        buf: &[u8],
        decode: &mut impl FnMut(Msg<'_>) -> Result<T, E>,
        out: &mut Vec<T>,
    ) -> Result<Option<i32>, E> {
        for m in msg::messages(buf) {
            let m = m?;
            if m.kind == NLMSG_OVERRUN {
                return Err(Error::Overrun.into());
            }
            if m.seq != self.seq {
                continue; // a stale answer of an earlier, failed exchange
            }
            if m.flags & NLM_F_DUMP_INTR != 0 {
                self.interrupted = true;
            }
            match m.kind {
                NLMSG_ERROR => {
                    let (errno, _) = m.error().ok_or(Error::Truncated)?;
                    if errno != 0 || !self.dump {
                        return Ok(Some(errno));
                    }
                }
                NLMSG_DONE => return Ok(Some(m.done_errno())),
                NLMSG_NOOP => {}
                _ => out.push(decode(m)?),
            }
        }
        Ok(None)
    }
}
