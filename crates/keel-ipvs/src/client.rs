//! The IPVS generic netlink client.
use crate::error::{Command, Error, OpError};
use crate::types::*;
use crate::wire::{self, Op, Reply, Request, Writer};
use keel_netlink::{Config, Errno, Msg, Outcome, Protocol, Socket};

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
pub const DEFAULT_BATCH: usize = keel_netlink::DEFAULT_BATCH;

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
#[derive(Debug)]
pub struct Ipvs {
    sock: Socket,
    family: u16,
    w: Writer,
    writes: u64,
}

/// Let the codec's [`Writer`] append straight to the transport's buffer.
fn encode_into(w: &mut Writer, buf: &mut Vec<u8>, f: impl FnOnce(&mut Writer)) {
    std::mem::swap(&mut w.buf, buf);
    f(w);
    std::mem::swap(&mut w.buf, buf);
}

/// Whether `errno` for `op` means the table already is as `op` wants: an
/// add of something present (EEXIST), a delete of something absent
/// (ESRCH for a service, ENOENT for a destination).
fn outcome(op: &Op, errno: Errno) -> Option<Outcome> {
    match (op, errno) {
        (Op::NewService(_) | Op::NewDest(..), Errno::EEXIST) => Some(Outcome::AlreadyPresent),
        (Op::DelService(_), Errno::ESRCH) | (Op::DelDest(..), Errno::ENOENT) => {
            Some(Outcome::AlreadyAbsent)
        }
        _ => None,
    }
}

impl Ipvs {
    /// Open a generic netlink socket and resolve the "IPVS" family.
    ///
    /// Fails with [`Error::Unavailable`] when the kernel has no IPVS
    /// ("IPVS is not available: load the ip_vs module").
    pub fn new() -> Result<Ipvs, Error> {
        let cfg = Config::default().rx_buf(RX_BUF);
        let mut me = Ipvs {
            sock: Socket::with_config(Protocol::Generic, &cfg)?,
            family: 0,
            w: Writer::default(),
            writes: 0,
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
        let c = self.sock.counters();
        Counters {
            requests: c.requests,
            writes: self.writes,
            sends: c.sends,
        }
    }

    /// Set how many write requests go into one `send()` (1..=1024; fewer
    /// when they fill [`keel_netlink::BATCH_BYTES`]). Larger batches mean
    /// fewer system calls; the failures of one batch must fit in the
    /// socket's receive buffer, else [`keel_netlink::Error::Overrun`].
    pub fn set_batch_size(&mut self, n: usize) {
        self.sock.set_batch_size(n);
    }

    fn resolve_family(&mut self) -> Result<u16, Error> {
        let w = &mut self.w;
        let ids = self.sock.request(
            |buf| encode_into(w, buf, |w| wire::encode_get_family(w, 0, "IPVS")),
            |m: Msg<'_>| -> Result<Option<u16>, Error> {
                if m.kind != wire::GENL_ID_CTRL {
                    return Ok(None);
                }
                let (_, attrs) = wire::genl(m.payload())?;
                Ok(Some(wire::parse_family_id(attrs)?))
            },
        )?;
        match ids {
            Ok(ids) => ids
                .into_iter()
                .flatten()
                .next()
                .ok_or(Error::Decode(wire::DecodeError::Missing("family id"))),
            Err(Errno::ENOENT) => Err(Error::Unavailable),
            Err(errno) => Err(Error::Request {
                command: Command::ResolveFamily,
                errno,
            }),
        }
    }

    /// Send one non-batched request and collect its replies.
    fn transact(
        &mut self,
        req: &Request,
        command: Command,
        svc_family: Family,
    ) -> Result<Vec<Reply>, Error> {
        if !matches!(
            req,
            Request::GetService(_)
                | Request::GetServices
                | Request::GetDests(_)
                | Request::GetDaemons
                | Request::GetConfig
                | Request::GetInfo
        ) {
            self.writes += 1;
        }
        let (family, w) = (self.family, &mut self.w);
        let encode = |buf: &mut Vec<u8>| encode_into(w, buf, |w| wire::encode(w, family, 0, req));
        let decode = |m: Msg<'_>| wire::parse_reply(m.payload(), svc_family).map_err(Error::Decode);
        let r = if req.is_dump() {
            self.sock.dump(encode, decode)?
        } else {
            self.sock.request(encode, decode)?
        };
        r.map_err(|errno| Error::Request { command, errno })
    }

    /// Execute write operations, up to the batch size (default
    /// [`DEFAULT_BATCH`]) per `send()`, and return each one's [`Outcome`].
    ///
    /// Only the last request of a batch asks for an ACK; the kernel handles
    /// a batch in order and answers every failed request with an error
    /// carrying its sequence number, so when the last ACK arrives every
    /// failure of the batch is known and matched to its operation. All
    /// operations are attempted.
    ///
    /// Idempotency, as in keel-vip: adding a service or destination that
    /// exists is [`Outcome::AlreadyPresent`] (its settings are not compared:
    /// [`Op::SetService`] / [`Op::SetDest`] change them), deleting one that
    /// is gone is [`Outcome::AlreadyAbsent`]. Every other refusal is a
    /// failure, and all are reported ([`Error::Op`] for a single operation,
    /// [`Error::Batch`] otherwise).
    pub fn execute(&mut self, ops: &[Op]) -> Result<Vec<Outcome>, Error> {
        let (family, w) = (self.family, &mut self.w);
        self.writes += ops.len() as u64;
        let refused = self.sock.batch(ops.len(), |i, buf| {
            encode_into(w, buf, |w| wire::encode_op(w, family, 0, &ops[i], false))
        })?;
        let mut outcomes = vec![Outcome::Done; ops.len()];
        let mut failures = Vec::new();
        for f in refused {
            let op = &ops[f.index];
            match outcome(op, f.errno) {
                Some(o) => outcomes[f.index] = o,
                None => failures.push(OpError {
                    index: f.index,
                    op: op.clone(),
                    errno: f.errno,
                }),
            }
        }
        match failures.len() {
            0 => Ok(outcomes),
            1 if ops.len() == 1 => Err(Error::Op(Box::new(failures.remove(0)))),
            _ => Err(Error::Batch(failures)),
        }
    }

    fn execute_one(&mut self, op: Op) -> Result<Outcome, Error> {
        let r = self.execute(std::slice::from_ref(&op))?;
        Ok(r.first().copied().unwrap_or(Outcome::Done))
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

    /// One service; `Err` with errno [`Errno::ESRCH`] if absent.
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
                errno: Errno::ESRCH,
            })
    }

    /// Add a service (`ipvsadm -A`). One with this key already there is
    /// [`Outcome::AlreadyPresent`] (whatever its settings).
    pub fn new_service(&mut self, s: &Service) -> Result<Outcome, Error> {
        self.execute_one(Op::NewService(s.clone()))
    }

    /// Edit a service in place (`ipvsadm -E`).
    pub fn set_service(&mut self, s: &Service) -> Result<(), Error> {
        self.execute_one(Op::SetService(s.clone())).map(drop)
    }

    /// Delete a service and its destinations (`ipvsadm -D`). A missing one
    /// is [`Outcome::AlreadyAbsent`].
    pub fn del_service(&mut self, key: &ServiceKey) -> Result<Outcome, Error> {
        self.execute_one(Op::DelService(*key))
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

    /// Add a destination (`ipvsadm -a`). One with this address and port
    /// already there is [`Outcome::AlreadyPresent`]; a missing service is
    /// an error (ESRCH).
    pub fn new_dest(&mut self, key: &ServiceKey, d: &Dest) -> Result<Outcome, Error> {
        self.execute_one(Op::NewDest(*key, d.clone()))
    }

    /// Edit a destination in place (`ipvsadm -e`).
    pub fn set_dest(&mut self, key: &ServiceKey, d: &Dest) -> Result<(), Error> {
        self.execute_one(Op::SetDest(*key, d.clone())).map(drop)
    }

    /// Delete a destination (`ipvsadm -d`). A missing destination is
    /// [`Outcome::AlreadyAbsent`]; a missing service is an error (ESRCH).
    pub fn del_dest(
        &mut self,
        key: &ServiceKey,
        addr: std::net::IpAddr,
        port: u16,
    ) -> Result<Outcome, Error> {
        self.execute_one(Op::DelDest(*key, addr, port))
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

    /// Start a connection sync daemon (`ipvsadm --start-daemon`). One
    /// already running in that role is an error (EEXIST or EBUSY), not
    /// [`Outcome::AlreadyPresent`]: its settings may differ, so the caller
    /// decides whether to stop and start it again.
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
