//! The IPVS generic netlink client.
use crate::error::{Command, Errno, Error, OpError};
use crate::sys;
use crate::types::*;
use crate::wire::{self, Msg, Op, Reply, Request, Writer};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_GENERIC};
use std::os::fd::AsRawFd;

/// Receive buffer per datagram: one page. The kernel sizes each dump
/// datagram by the largest buffer the socket has offered (up to 32 KiB), so a
/// small buffer keeps its allocations to one or two pages; measured in the VM,
/// 32 KiB buffers made every destination dump twice as slow. Every reply
/// fits (dumps are trimmed to this size, other replies are smaller than a
/// page); a larger datagram would be reported (MSG_TRUNC), never cut.
const RX_BUF: usize = 4 * 1024;
/// Write requests per `send()`. The error replies of failed requests must
/// fit in the socket's receive buffer, which the kernel fills while it
/// processes the batch.
pub const DEFAULT_BATCH: usize = 256;

/// Counters of what this client sent (to check e.g. that a no-op reconcile writes nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// Netlink requests of any kind.
    pub requests: u64,
    /// Write requests ([`Op`]s plus flush, zero, timeouts, daemons).
    pub writes: u64,
    /// `send()` calls.
    pub sends: u64,
}

/// A connection to the kernel's IPVS (in the current network namespace).
pub struct Ipvs {
    sock: Socket,
    family: u16,
    seq: u32,
    /// The datagrams of the last receive, concatenated (4-byte aligned).
    rx: Vec<u8>,
    bufs: Box<[Vec<u8>; sys::MAX_MSGS]>,
    w: Writer,
    counters: Counters,
    batch: usize,
}

impl std::fmt::Debug for Ipvs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ipvs")
            .field("family", &self.family)
            .field("seq", &self.seq)
            .field("counters", &self.counters)
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

impl Ipvs {
    /// Open a generic netlink socket and resolve the "IPVS" family.
    ///
    /// Fails with [`Error::Unavailable`] when the kernel has no IPVS
    /// ("IPVS is not available: load the ip_vs module").
    pub fn new() -> Result<Ipvs, Error> {
        let mut sock = Socket::new(NETLINK_GENERIC)?;
        sock.bind_auto()?;
        sock.connect(&SocketAddr::new(0, 0))?;
        // ACKs without the echoed request: smaller, more fit in the buffer.
        let _ = sock.set_cap_ack(true);
        let _ = sock.set_rx_buf_sz(4 * 1024 * 1024);
        let mut me = Ipvs {
            sock,
            family: 0,
            seq: 0,
            rx: Vec::with_capacity(RX_BUF),
            bufs: Box::new(std::array::from_fn(|_| vec![0; RX_BUF])),
            w: Writer::default(),
            counters: Counters::default(),
            batch: DEFAULT_BATCH,
        };
        me.family = me.resolve_family()?;
        Ok(me)
    }

    /// The generic netlink family id the kernel gave IPVS.
    pub fn family_id(&self) -> u16 {
        self.family
    }

    /// What this client has sent so far.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Set how many write requests go into one `send()` (1..=1024). Larger
    /// batches mean fewer system calls; the failures of one batch must fit in
    /// the socket's receive buffer, else [`Error::Overrun`].
    pub fn set_batch_size(&mut self, n: usize) {
        self.batch = n.clamp(1, 1024);
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    fn send_buf(&mut self) -> Result<(), Error> {
        let n = self.sock.send(&self.w.buf, 0)?;
        self.counters.sends += 1;
        if n != self.w.buf.len() {
            return Err(Error::Io(std::io::Error::other("short netlink send")));
        }
        Ok(())
    }

    /// Receive every datagram that is ready (waiting for the first) into `rx`.
    fn recv(&mut self) -> Result<(), Error> {
        let mut lens = [0usize; sys::MAX_MSGS];
        let n = loop {
            match sys::recv_many(self.sock.as_raw_fd(), &mut self.bufs, &mut lens) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if e.raw_os_error() == Some(105) => return Err(Error::Overrun), // ENOBUFS
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                    return Err(Error::Decode(wire::DecodeError::Truncated));
                }
                Err(e) => return Err(Error::Io(e)),
            }
        };
        self.rx.clear();
        for (b, &len) in self.bufs.iter().zip(lens.iter()).take(n) {
            self.rx.extend_from_slice(&b[..len]);
            while !self.rx.len().is_multiple_of(4) {
                self.rx.push(0);
            }
        }
        Ok(())
    }

    fn resolve_family(&mut self) -> Result<u16, Error> {
        let seq = self.next_seq();
        self.w.buf.clear();
        wire::encode_get_family(&mut self.w, seq, "IPVS");
        self.send_buf()?;
        loop {
            self.recv()?;
            for m in wire::messages(&self.rx) {
                let m = m?;
                if m.seq != seq {
                    continue;
                }
                if m.ty == wire::NLMSG_ERROR {
                    let (errno, _) = wire::parse_error(m.payload)?;
                    return Err(if errno == 2 {
                        Error::Unavailable
                    } else {
                        Error::Request {
                            command: Command::ResolveFamily,
                            errno: Errno(errno),
                        }
                    });
                }
                if m.ty == wire::GENL_ID_CTRL {
                    let (_, attrs) = wire::genl(m.payload)?;
                    return Ok(wire::parse_family_id(attrs)?);
                }
            }
        }
    }

    /// Send one non-batched request and collect its replies.
    fn transact(
        &mut self,
        req: &Request,
        command: Command,
        svc_family: Family,
    ) -> Result<Vec<Reply>, Error> {
        let seq = self.next_seq();
        self.w.buf.clear();
        wire::encode(&mut self.w, self.family, seq, req);
        self.counters.requests += 1;
        if !matches!(
            req,
            Request::GetService(_)
                | Request::GetServices
                | Request::GetDests(_)
                | Request::GetDaemons
                | Request::GetConfig
                | Request::GetInfo
        ) {
            self.counters.writes += 1;
        }
        self.send_buf()?;
        let dump = req.is_dump();
        let mut out = Vec::new();
        loop {
            self.recv()?;
            let mut done = false;
            let mut err = None;
            for m in wire::messages(&self.rx) {
                let m: Msg<'_> = m?;
                if m.seq != seq {
                    continue; // stale reply of an earlier, failed exchange
                }
                match m.ty {
                    wire::NLMSG_ERROR => {
                        let (errno, _) = wire::parse_error(m.payload)?;
                        if errno != 0 {
                            err = Some(errno);
                        }
                        if !dump || errno != 0 {
                            done = true;
                        }
                    }
                    wire::NLMSG_DONE => {
                        if m.payload.len() >= 4 {
                            let e = i32::from_ne_bytes([
                                m.payload[0],
                                m.payload[1],
                                m.payload[2],
                                m.payload[3],
                            ]);
                            if e < 0 {
                                err = Some(-e);
                            }
                        }
                        done = true;
                    }
                    wire::NLMSG_NOOP => {}
                    wire::NLMSG_OVERRUN => return Err(Error::Overrun),
                    _ => out.push(wire::parse_reply(m.payload, svc_family)?),
                }
            }
            if let Some(errno) = err {
                return Err(Error::Request {
                    command,
                    errno: Errno(errno),
                });
            }
            if done {
                return Ok(out);
            }
        }
    }

    /// Execute write operations, up to the batch size (default
    /// [`DEFAULT_BATCH`]) per `send()`. Only the last request of a batch asks
    /// for an ACK; the kernel handles a batch in order and answers every
    /// failed request with an error carrying its sequence number, so when the
    /// last ACK arrives every failure of the batch is known and matched to its
    /// operation. All operations are attempted; every failure is reported
    /// ([`Error::Op`] for a single operation, [`Error::Batch`] otherwise).
    pub fn execute(&mut self, ops: &[Op]) -> Result<(), Error> {
        let mut failures = Vec::new();
        for (ci, chunk) in ops.chunks(self.batch).enumerate() {
            self.w.buf.clear();
            let base = self.seq.wrapping_add(1);
            for (i, op) in chunk.iter().enumerate() {
                let seq = self.next_seq();
                wire::encode_op(&mut self.w, self.family, seq, op, i + 1 == chunk.len());
            }
            let last = self.seq;
            self.counters.requests += chunk.len() as u64;
            self.counters.writes += chunk.len() as u64;
            self.send_buf()?;
            let mut done = false;
            while !done {
                self.recv()?;
                for m in wire::messages(&self.rx) {
                    let m = m?;
                    if m.ty != wire::NLMSG_ERROR {
                        continue;
                    }
                    let (errno, _) = wire::parse_error(m.payload)?;
                    let idx = m.seq.wrapping_sub(base) as usize;
                    if idx >= chunk.len() {
                        continue; // not from this batch
                    }
                    if errno != 0 {
                        failures.push(OpError {
                            index: ci * self.batch + idx,
                            op: chunk[idx].clone(),
                            errno: Errno(errno),
                        });
                    }
                    if m.seq == last {
                        done = true;
                    }
                }
            }
        }
        match failures.len() {
            0 => Ok(()),
            1 if ops.len() == 1 => Err(Error::Op(Box::new(failures.remove(0)))),
            _ => Err(Error::Batch(failures)),
        }
    }

    // ------------------------------------------------------------ services

    /// Every service (with its stats).
    pub fn services(&mut self) -> Result<Vec<ServiceEntry>, Error> {
        let r = self.transact(&Request::GetServices, Command::GetServices, Family::Inet)?;
        Ok(r.into_iter()
            .filter_map(|r| match r {
                Reply::Service(s) => Some(s),
                _ => None,
            })
            .collect())
    }

    /// One service; `Err` with errno [`Errno::NO_SERVICE`] if absent.
    pub fn service(&mut self, key: &ServiceKey) -> Result<ServiceEntry, Error> {
        let r = self.transact(
            &Request::GetService(*key),
            Command::GetService,
            key.family(),
        )?;
        r.into_iter()
            .find_map(|r| match r {
                Reply::Service(s) => Some(s),
                _ => None,
            })
            .ok_or(Error::Request {
                command: Command::GetService,
                errno: Errno::NO_SERVICE,
            })
    }

    /// Add a service (`ipvsadm -A`).
    pub fn new_service(&mut self, s: &Service) -> Result<(), Error> {
        self.execute(&[Op::NewService(s.clone())])
    }

    /// Edit a service in place (`ipvsadm -E`).
    pub fn set_service(&mut self, s: &Service) -> Result<(), Error> {
        self.execute(&[Op::SetService(s.clone())])
    }

    /// Delete a service and its destinations (`ipvsadm -D`).
    pub fn del_service(&mut self, key: &ServiceKey) -> Result<(), Error> {
        self.execute(&[Op::DelService(*key)])
    }

    // -------------------------------------------------------- destinations

    /// The destinations of a service (with stats and connection counts).
    pub fn dests(&mut self, key: &ServiceKey) -> Result<Vec<DestEntry>, Error> {
        let r = self.transact(&Request::GetDests(*key), Command::GetDests, key.family())?;
        Ok(r.into_iter()
            .filter_map(|r| match r {
                Reply::Dest(d) => Some(d),
                _ => None,
            })
            .collect())
    }

    /// Add a destination (`ipvsadm -a`).
    pub fn new_dest(&mut self, key: &ServiceKey, d: &Dest) -> Result<(), Error> {
        self.execute(&[Op::NewDest(*key, d.clone())])
    }

    /// Edit a destination in place (`ipvsadm -e`).
    pub fn set_dest(&mut self, key: &ServiceKey, d: &Dest) -> Result<(), Error> {
        self.execute(&[Op::SetDest(*key, d.clone())])
    }

    /// Delete a destination (`ipvsadm -d`).
    pub fn del_dest(
        &mut self,
        key: &ServiceKey,
        addr: std::net::IpAddr,
        port: u16,
    ) -> Result<(), Error> {
        self.execute(&[Op::DelDest(*key, addr, port)])
    }

    /// Every service with its destinations (`ipvsadm -Sn`'s data).
    pub fn list(&mut self) -> Result<Vec<(ServiceEntry, Vec<DestEntry>)>, Error> {
        let svcs = self.services()?;
        let mut out = Vec::with_capacity(svcs.len());
        for s in svcs {
            let d = self.dests(&s.service.key)?;
            out.push((s, d));
        }
        Ok(out)
    }

    // ---------------------------------------------------------------- misc

    /// Remove every service (`ipvsadm -C`).
    pub fn flush(&mut self) -> Result<(), Error> {
        self.transact(&Request::Flush, Command::Flush, Family::Inet)
            .map(drop)
    }

    /// Zero the counters of one service or, with `None`, of all (`ipvsadm -Z`).
    pub fn zero(&mut self, key: Option<&ServiceKey>) -> Result<(), Error> {
        self.transact(&Request::Zero(key.copied()), Command::Zero, Family::Inet)
            .map(drop)
    }

    /// Version and connection table size.
    pub fn info(&mut self) -> Result<Info, Error> {
        let r = self.transact(&Request::GetInfo, Command::GetInfo, Family::Inet)?;
        r.into_iter()
            .find_map(|r| match r {
                Reply::Info(i) => Some(i),
                _ => None,
            })
            .ok_or(Error::Decode(wire::DecodeError::Missing("info")))
    }

    /// Connection timeouts (`ipvsadm -L --timeout`).
    pub fn timeouts(&mut self) -> Result<Timeouts, Error> {
        let r = self.transact(&Request::GetConfig, Command::GetTimeouts, Family::Inet)?;
        r.into_iter()
            .find_map(|r| match r {
                Reply::Config(t) => Some(t),
                _ => None,
            })
            .ok_or(Error::Decode(wire::DecodeError::Missing("timeouts")))
    }

    /// Set connection timeouts; a 0 field leaves that timeout unchanged (`ipvsadm --set`).
    pub fn set_timeouts(&mut self, t: &Timeouts) -> Result<(), Error> {
        self.transact(&Request::SetConfig(*t), Command::SetTimeouts, Family::Inet)
            .map(drop)
    }

    /// Start a connection sync daemon (`ipvsadm --start-daemon`).
    pub fn start_sync_daemon(&mut self, d: &SyncDaemon) -> Result<(), Error> {
        self.transact(
            &Request::NewDaemon(d.clone()),
            Command::StartDaemon,
            Family::Inet,
        )
        .map(drop)
    }

    /// Stop the master or backup sync daemon (`ipvsadm --stop-daemon`).
    pub fn stop_sync_daemon(&mut self, state: SyncState) -> Result<(), Error> {
        self.transact(
            &Request::DelDaemon(state),
            Command::StopDaemon,
            Family::Inet,
        )
        .map(drop)
    }

    /// Running sync daemons (`ipvsadm -L --daemon`).
    pub fn sync_daemons(&mut self) -> Result<Vec<SyncDaemon>, Error> {
        let r = self.transact(&Request::GetDaemons, Command::GetDaemons, Family::Inet)?;
        Ok(r.into_iter()
            .filter_map(|r| match r {
                Reply::Daemon(d) => Some(d),
                _ => None,
            })
            .collect())
    }
}
