//! Netlink / generic netlink / IPVS attribute encoding and decoding.
//!
//! Netlink and generic-netlink headers and every integer attribute are in
//! host byte order unless the attribute table in `types.rs` says big-endian
//! (ports, IPv4 netmask, IPv4 multicast group, addresses as raw bytes).
use crate::types::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

// netlink
pub(crate) use keel_netlink::Msg;
pub(crate) use keel_netlink::msg::{NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
#[cfg(test)]
pub(crate) use keel_netlink::{messages, msg::NLM_F_MULTI};
const NLA_F_NESTED: u16 = 0x8000;
const NLA_TYPE_MASK: u16 = 0x3fff;

// generic netlink controller
pub(crate) const GENL_ID_CTRL: u16 = 0x10;
pub(crate) const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;

// IPVS commands
pub(crate) const IPVS_GENL_VERSION: u8 = 1;
const CMD_NEW_SERVICE: u8 = 1;
const CMD_SET_SERVICE: u8 = 2;
const CMD_DEL_SERVICE: u8 = 3;
const CMD_GET_SERVICE: u8 = 4;
const CMD_NEW_DEST: u8 = 5;
const CMD_SET_DEST: u8 = 6;
const CMD_DEL_DEST: u8 = 7;
const CMD_GET_DEST: u8 = 8;
const CMD_NEW_DAEMON: u8 = 9;
const CMD_DEL_DAEMON: u8 = 10;
const CMD_GET_DAEMON: u8 = 11;
const CMD_SET_CONFIG: u8 = 12;
const CMD_GET_CONFIG: u8 = 13;
const CMD_SET_INFO: u8 = 14;
const CMD_GET_INFO: u8 = 15;
const CMD_ZERO: u8 = 16;
const CMD_FLUSH: u8 = 17;

// first-level attributes
const A_SERVICE: u16 = 1;
const A_DEST: u16 = 2;
const A_DAEMON: u16 = 3;
const A_TIMEOUT_TCP: u16 = 4;
const A_TIMEOUT_TCP_FIN: u16 = 5;
const A_TIMEOUT_UDP: u16 = 6;

// service attributes
const SVC_AF: u16 = 1; // u16
const SVC_PROTOCOL: u16 = 2; // u16
const SVC_ADDR: u16 = 3; // raw address bytes (network order)
const SVC_PORT: u16 = 4; // be16
const SVC_FWMARK: u16 = 5; // u32
const SVC_SCHED_NAME: u16 = 6; // NUL-terminated string
const SVC_FLAGS: u16 = 7; // struct ip_vs_flags { u32 flags; u32 mask; }
const SVC_TIMEOUT: u16 = 8; // u32 seconds
const SVC_NETMASK: u16 = 9; // u32: v4 be32 mask, v6 prefix length
const SVC_STATS: u16 = 10; // nested stats
const SVC_PE_NAME: u16 = 11; // NUL-terminated string
const SVC_STATS64: u16 = 12; // nested stats (u64)

// destination attributes
const DEST_ADDR: u16 = 1; // raw address bytes
const DEST_PORT: u16 = 2; // be16
const DEST_FWD_METHOD: u16 = 3; // u32
const DEST_WEIGHT: u16 = 4; // u32
const DEST_U_THRESH: u16 = 5; // u32
const DEST_L_THRESH: u16 = 6; // u32
const DEST_ACTIVE_CONNS: u16 = 7; // u32
const DEST_INACT_CONNS: u16 = 8; // u32
const DEST_PERSIST_CONNS: u16 = 9; // u32
const DEST_STATS: u16 = 10;
const DEST_ADDR_FAMILY: u16 = 11; // u16
const DEST_STATS64: u16 = 12;
const DEST_TUN_TYPE: u16 = 13; // u8
const DEST_TUN_PORT: u16 = 14; // be16
const DEST_TUN_FLAGS: u16 = 15; // u16

// daemon attributes
const D_STATE: u16 = 1; // u32
const D_MCAST_IFN: u16 = 2; // string
const D_SYNC_ID: u16 = 3; // u32
const D_SYNC_MAXLEN: u16 = 4; // u16
const D_MCAST_GROUP: u16 = 5; // in_addr (network order)
const D_MCAST_GROUP6: u16 = 6; // in6_addr
const D_MCAST_PORT: u16 = 7; // u16
const D_MCAST_TTL: u16 = 8; // u8

// stats attributes (u32 or u64 by length)
const ST_CONNS: u16 = 1;
const ST_INPKTS: u16 = 2;
const ST_OUTPKTS: u16 = 3;
const ST_INBYTES: u16 = 4;
const ST_OUTBYTES: u16 = 5;
const ST_CPS: u16 = 6;
const ST_INPPS: u16 = 7;
const ST_OUTPPS: u16 = 8;
const ST_INBPS: u16 = 9;
const ST_OUTBPS: u16 = 10;

// info attributes
const INFO_VERSION: u16 = 1; // u32
const INFO_CONN_TAB_SIZE: u16 = 2; // u32

/// Why a message could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Shorter than its headers or lengths say.
    #[error("truncated netlink message")]
    Truncated,
    /// A required attribute is absent.
    #[error("missing attribute: {0}")]
    Missing(&'static str),
    /// An attribute has an impossible value or size.
    #[error("bad attribute: {0}")]
    Bad(&'static str),
    /// Not an IPVS command this crate knows.
    #[error("unknown IPVS command {0}")]
    UnknownCommand(u8),
}

type DResult<T> = Result<T, DecodeError>;

// ------------------------------------------------------------- writing ----

/// Appends netlink messages to a buffer.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    pub buf: Vec<u8>,
    msg_start: usize,
    nests: Vec<usize>,
}

impl Writer {
    pub fn begin(&mut self, ty: u16, flags: u16, seq: u32, cmd: u8, version: u8) {
        self.msg_start = keel_netlink::msg::begin(&mut self.buf, ty, flags, seq);
        self.buf.extend_from_slice(&[cmd, version, 0, 0]);
    }
    pub fn end(&mut self) {
        keel_netlink::msg::finish(&mut self.buf, self.msg_start);
    }
    fn attr(&mut self, ty: u16, data: &[u8]) {
        let len = (4 + data.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }
    fn u8(&mut self, ty: u16, v: u8) {
        self.attr(ty, &[v]);
    }
    fn u16(&mut self, ty: u16, v: u16) {
        self.attr(ty, &v.to_ne_bytes());
    }
    fn be16(&mut self, ty: u16, v: u16) {
        self.attr(ty, &v.to_be_bytes());
    }
    fn u32(&mut self, ty: u16, v: u32) {
        self.attr(ty, &v.to_ne_bytes());
    }
    #[cfg(test)]
    fn u64(&mut self, ty: u16, v: u64) {
        self.attr(ty, &v.to_ne_bytes());
    }
    fn str(&mut self, ty: u16, s: &str) {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.attr(ty, &v);
    }
    fn addr(&mut self, ty: u16, a: &IpAddr) {
        match a {
            IpAddr::V4(a) => self.attr(ty, &a.octets()),
            IpAddr::V6(a) => self.attr(ty, &a.octets()),
        }
    }
    fn nest(&mut self, ty: u16) {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&[0, 0]);
        self.buf
            .extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
    }
    fn unnest(&mut self) {
        if let Some(p) = self.nests.pop() {
            let len = (self.buf.len() - p) as u16;
            self.buf[p..p + 2].copy_from_slice(&len.to_ne_bytes());
        }
    }

    fn service_key(&mut self, k: &ServiceKey) {
        self.u16(SVC_AF, k.family().raw());
        match k {
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => {
                self.u16(SVC_PROTOCOL, protocol.raw());
                self.addr(SVC_ADDR, addr);
                self.be16(SVC_PORT, *port);
            }
            ServiceKey::Fwmark { mark, .. } => self.u32(SVC_FWMARK, *mark),
        }
    }
    fn service(&mut self, s: &Service) {
        self.service_key(&s.key);
        self.str(SVC_SCHED_NAME, &s.scheduler);
        if let Some(pe) = &s.pe_name {
            self.str(SVC_PE_NAME, pe);
        }
        let mut flags = s.flags.0 & ServiceFlags::ALL.0;
        let (timeout, prefix) = match s.persistence {
            Some(p) => {
                flags |= ServiceFlags::PERSISTENT;
                (p.timeout, p.prefix_len)
            }
            None => (0, 128),
        };
        let mut f = flags.to_ne_bytes().to_vec();
        f.extend_from_slice(&u32::MAX.to_ne_bytes());
        self.attr(SVC_FLAGS, &f);
        self.u32(SVC_TIMEOUT, timeout);
        match s.key.family() {
            Family::Inet => self.attr(SVC_NETMASK, &v4_mask(prefix).octets()),
            Family::Inet6 => self.u32(SVC_NETMASK, u32::from(prefix.min(128))),
        }
    }
    fn dest_key(&mut self, addr: &IpAddr, port: u16) {
        self.addr(DEST_ADDR, addr);
        self.be16(DEST_PORT, port);
        self.u16(DEST_ADDR_FAMILY, Family::of(addr).raw());
    }
    fn dest(&mut self, d: &Dest) {
        self.dest_key(&d.addr, d.port);
        let fwd = match d.forward {
            Forward::Masq => 0,
            Forward::Local => 1,
            Forward::Tunnel { .. } => 2,
            Forward::Route => 3,
            Forward::Bypass => 4,
        };
        self.u32(DEST_FWD_METHOD, fwd);
        self.u32(DEST_WEIGHT, d.weight);
        self.u32(DEST_U_THRESH, d.upper_threshold);
        self.u32(DEST_L_THRESH, d.lower_threshold);
        if let Forward::Tunnel { kind, port, flags } = d.forward {
            let k = match kind {
                TunnelType::Ipip => 0,
                TunnelType::Gue => 1,
                TunnelType::Gre => 2,
            };
            self.u8(DEST_TUN_TYPE, k);
            self.be16(DEST_TUN_PORT, port);
            self.u16(DEST_TUN_FLAGS, flags.0);
        }
    }
    fn daemon(&mut self, d: &SyncDaemon) {
        self.u32(D_STATE, d.state.raw());
        self.str(D_MCAST_IFN, &d.interface);
        self.u32(D_SYNC_ID, d.sync_id);
        if let Some(v) = d.max_len {
            self.u16(D_SYNC_MAXLEN, v);
        }
        match d.group {
            Some(IpAddr::V4(a)) => self.attr(D_MCAST_GROUP, &a.octets()),
            Some(IpAddr::V6(a)) => self.attr(D_MCAST_GROUP6, &a.octets()),
            None => {}
        }
        if let Some(v) = d.port {
            self.u16(D_MCAST_PORT, v);
        }
        if let Some(v) = d.ttl {
            self.u8(D_MCAST_TTL, v);
        }
    }
    #[cfg(test)]
    fn stats(&mut self, ty: u16, s: &Stats) {
        self.nest(ty);
        for (t, v) in [
            (ST_CONNS, s.conns),
            (ST_INPKTS, s.in_pkts),
            (ST_OUTPKTS, s.out_pkts),
            (ST_INBYTES, s.in_bytes),
            (ST_OUTBYTES, s.out_bytes),
            (ST_CPS, s.cps),
            (ST_INPPS, s.in_pps),
            (ST_OUTPPS, s.out_pps),
            (ST_INBPS, s.in_bps),
            (ST_OUTBPS, s.out_bps),
        ] {
            self.u64(t, v);
        }
        self.unnest();
    }
}

/// A write operation on the kernel's IPVS table (batchable).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Op {
    /// Add a service.
    NewService(Service),
    /// Edit a service in place (scheduler, flags, persistence, pe).
    SetService(Service),
    /// Delete a service and its destinations.
    DelService(ServiceKey),
    /// Add a destination to a service.
    NewDest(ServiceKey, Dest),
    /// Edit a destination in place (weight, thresholds, forwarding).
    SetDest(ServiceKey, Dest),
    /// Delete a destination (by address and port).
    DelDest(ServiceKey, IpAddr, u16),
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = |a: &IpAddr, p: &u16| match a {
            IpAddr::V4(a) => format!("{a}:{p}"),
            IpAddr::V6(a) => format!("[{a}]:{p}"),
        };
        match self {
            Op::NewService(s) => write!(f, "add service {} ({})", s.key, s.scheduler),
            Op::SetService(s) => write!(f, "edit service {} ({})", s.key, s.scheduler),
            Op::DelService(k) => write!(f, "delete service {k}"),
            Op::NewDest(k, x) => write!(
                f,
                "add destination {} to {k} (weight {})",
                d(&x.addr, &x.port),
                x.weight
            ),
            Op::SetDest(k, x) => write!(
                f,
                "edit destination {} of {k} (weight {})",
                d(&x.addr, &x.port),
                x.weight
            ),
            Op::DelDest(k, a, p) => write!(f, "delete destination {} of {k}", d(a, p)),
        }
    }
}

/// Every request this crate sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Request {
    #[cfg_attr(not(test), allow(dead_code))]
    Write(Op),
    GetService(ServiceKey),
    GetServices,
    GetDests(ServiceKey),
    NewDaemon(SyncDaemon),
    DelDaemon(SyncState),
    GetDaemons,
    SetConfig(Timeouts),
    GetConfig,
    GetInfo,
    Zero(Option<ServiceKey>),
    Flush,
}

impl Request {
    pub fn is_dump(&self) -> bool {
        matches!(
            self,
            Request::GetServices | Request::GetDests(_) | Request::GetDaemons
        )
    }
}

/// Encode a write. Without `ack` the kernel answers only on failure (an
/// NLMSG_ERROR carrying the request's sequence number).
pub(crate) fn encode_op(w: &mut Writer, family: u16, seq: u32, op: &Op, ack: bool) {
    let flags = if ack {
        NLM_F_REQUEST | NLM_F_ACK
    } else {
        NLM_F_REQUEST
    };
    let (cmd, key) = match op {
        Op::NewService(s) => (CMD_NEW_SERVICE, &s.key),
        Op::SetService(s) => (CMD_SET_SERVICE, &s.key),
        Op::DelService(k) => (CMD_DEL_SERVICE, k),
        Op::NewDest(k, _) => (CMD_NEW_DEST, k),
        Op::SetDest(k, _) => (CMD_SET_DEST, k),
        Op::DelDest(k, _, _) => (CMD_DEL_DEST, k),
    };
    w.begin(family, flags, seq, cmd, IPVS_GENL_VERSION);
    w.nest(A_SERVICE);
    match op {
        Op::NewService(s) | Op::SetService(s) => w.service(s),
        _ => w.service_key(key),
    }
    w.unnest();
    match op {
        Op::NewDest(_, d) | Op::SetDest(_, d) => {
            w.nest(A_DEST);
            w.dest(d);
            w.unnest();
        }
        Op::DelDest(_, a, p) => {
            w.nest(A_DEST);
            w.dest_key(a, *p);
            w.unnest();
        }
        _ => {}
    }
    w.end();
}

pub(crate) fn encode(w: &mut Writer, family: u16, seq: u32, req: &Request) {
    let ack = NLM_F_REQUEST | NLM_F_ACK;
    let dump = NLM_F_REQUEST | NLM_F_DUMP;
    match req {
        Request::Write(op) => return encode_op(w, family, seq, op, true),
        Request::GetService(k) => {
            w.begin(family, ack, seq, CMD_GET_SERVICE, IPVS_GENL_VERSION);
            w.nest(A_SERVICE);
            w.service_key(k);
            w.unnest();
        }
        Request::GetServices => w.begin(family, dump, seq, CMD_GET_SERVICE, IPVS_GENL_VERSION),
        Request::GetDests(k) => {
            w.begin(family, dump, seq, CMD_GET_DEST, IPVS_GENL_VERSION);
            w.nest(A_SERVICE);
            w.service_key(k);
            w.unnest();
        }
        Request::NewDaemon(d) => {
            w.begin(family, ack, seq, CMD_NEW_DAEMON, IPVS_GENL_VERSION);
            w.nest(A_DAEMON);
            w.daemon(d);
            w.unnest();
        }
        Request::DelDaemon(s) => {
            w.begin(family, ack, seq, CMD_DEL_DAEMON, IPVS_GENL_VERSION);
            w.nest(A_DAEMON);
            w.u32(D_STATE, s.raw());
            w.unnest();
        }
        Request::GetDaemons => w.begin(family, dump, seq, CMD_GET_DAEMON, IPVS_GENL_VERSION),
        Request::SetConfig(t) => {
            w.begin(family, ack, seq, CMD_SET_CONFIG, IPVS_GENL_VERSION);
            w.u32(A_TIMEOUT_TCP, t.tcp);
            w.u32(A_TIMEOUT_TCP_FIN, t.tcp_fin);
            w.u32(A_TIMEOUT_UDP, t.udp);
        }
        Request::GetConfig => w.begin(family, ack, seq, CMD_GET_CONFIG, IPVS_GENL_VERSION),
        Request::GetInfo => w.begin(family, ack, seq, CMD_GET_INFO, IPVS_GENL_VERSION),
        Request::Zero(k) => {
            w.begin(family, ack, seq, CMD_ZERO, IPVS_GENL_VERSION);
            if let Some(k) = k {
                w.nest(A_SERVICE);
                w.service_key(k);
                w.unnest();
            }
        }
        Request::Flush => w.begin(family, ack, seq, CMD_FLUSH, IPVS_GENL_VERSION),
    }
    w.end();
}

/// The generic-netlink controller request resolving a family name.
pub(crate) fn encode_get_family(w: &mut Writer, seq: u32, name: &str) {
    w.begin(GENL_ID_CTRL, NLM_F_REQUEST, seq, CTRL_CMD_GETFAMILY, 1);
    w.str(CTRL_ATTR_FAMILY_NAME, name);
    w.end();
}

// ------------------------------------------------------------- reading ----

/// Netlink attributes: (type without flags, payload).
pub(crate) fn attrs(mut buf: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if buf.len() < 4 {
            return None;
        }
        let len = u16::from_ne_bytes([buf[0], buf[1]]) as usize;
        let ty = u16::from_ne_bytes([buf[2], buf[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > buf.len() {
            return None;
        }
        let data = &buf[4..len];
        let adv = (len + 3) & !3;
        buf = if adv >= buf.len() { &[] } else { &buf[adv..] };
        Some((ty, data))
    })
}

fn get(buf: &[u8], ty: u16) -> Option<&[u8]> {
    attrs(buf).find(|(t, _)| *t == ty).map(|(_, d)| d)
}

fn u8_of(d: &[u8]) -> DResult<u8> {
    d.first().copied().ok_or(DecodeError::Truncated)
}
fn u16_of(d: &[u8]) -> DResult<u16> {
    Ok(u16::from_ne_bytes(
        d.get(..2)
            .ok_or(DecodeError::Truncated)?
            .try_into()
            .map_err(|_| DecodeError::Truncated)?,
    ))
}
fn be16_of(d: &[u8]) -> DResult<u16> {
    Ok(u16::from_be_bytes(
        d.get(..2)
            .ok_or(DecodeError::Truncated)?
            .try_into()
            .map_err(|_| DecodeError::Truncated)?,
    ))
}
fn u32_of(d: &[u8]) -> DResult<u32> {
    Ok(u32::from_ne_bytes(
        d.get(..4)
            .ok_or(DecodeError::Truncated)?
            .try_into()
            .map_err(|_| DecodeError::Truncated)?,
    ))
}
/// u32 or u64 by length.
fn uint_of(d: &[u8]) -> DResult<u64> {
    match d.len() {
        4 => u32_of(d).map(u64::from),
        8 => Ok(u64::from_ne_bytes(
            d.try_into().map_err(|_| DecodeError::Truncated)?,
        )),
        _ => Err(DecodeError::Bad("counter size")),
    }
}
fn str_of(d: &[u8]) -> DResult<String> {
    let end = d.iter().position(|&b| b == 0).unwrap_or(d.len());
    std::str::from_utf8(&d[..end])
        .map(str::to_owned)
        .map_err(|_| DecodeError::Bad("string is not UTF-8"))
}
fn addr_of(d: &[u8], f: Family) -> DResult<IpAddr> {
    match f {
        Family::Inet => {
            let b: [u8; 4] = d
                .get(..4)
                .ok_or(DecodeError::Truncated)?
                .try_into()
                .map_err(|_| DecodeError::Truncated)?;
            Ok(IpAddr::V4(Ipv4Addr::from(b)))
        }
        Family::Inet6 => {
            let b: [u8; 16] = d
                .get(..16)
                .ok_or(DecodeError::Truncated)?
                .try_into()
                .map_err(|_| DecodeError::Truncated)?;
            Ok(IpAddr::V6(Ipv6Addr::from(b)))
        }
    }
}
fn need<'a>(buf: &'a [u8], ty: u16, name: &'static str) -> DResult<&'a [u8]> {
    get(buf, ty).ok_or(DecodeError::Missing(name))
}

fn family_of(buf: &[u8]) -> DResult<Family> {
    Family::from_raw(u16_of(need(buf, SVC_AF, "service af")?)?)
        .ok_or(DecodeError::Bad("address family"))
}

pub(crate) fn parse_service_key(buf: &[u8]) -> DResult<ServiceKey> {
    let family = family_of(buf)?;
    if let Some(m) = get(buf, SVC_FWMARK) {
        let mark = u32_of(m)?;
        if mark != 0 {
            return Ok(ServiceKey::Fwmark { family, mark });
        }
    }
    let protocol = Protocol::from_raw(u16_of(need(buf, SVC_PROTOCOL, "service protocol")?)?)
        .ok_or(DecodeError::Bad("protocol"))?;
    let addr = addr_of(need(buf, SVC_ADDR, "service address")?, family)?;
    let port = be16_of(need(buf, SVC_PORT, "service port")?)?;
    Ok(ServiceKey::Addr {
        protocol,
        addr,
        port,
    })
}

pub(crate) fn parse_service(buf: &[u8]) -> DResult<Service> {
    let key = parse_service_key(buf)?;
    let scheduler = str_of(need(buf, SVC_SCHED_NAME, "scheduler")?)?;
    let pe_name = match get(buf, SVC_PE_NAME) {
        Some(d) => Some(str_of(d)?).filter(|s| !s.is_empty()),
        None => None,
    };
    let flags = u32_of(need(buf, SVC_FLAGS, "service flags")?)?;
    let timeout = u32_of(need(buf, SVC_TIMEOUT, "service timeout")?)?;
    let nm = need(buf, SVC_NETMASK, "service netmask")?;
    let prefix_len = match key.family() {
        Family::Inet => {
            let b: [u8; 4] = nm
                .get(..4)
                .ok_or(DecodeError::Truncated)?
                .try_into()
                .map_err(|_| DecodeError::Truncated)?;
            v4_prefix(Ipv4Addr::from(b))
        }
        Family::Inet6 => u32_of(nm)?.min(128) as u8,
    };
    let persistence = (flags & ServiceFlags::PERSISTENT != 0).then_some(Persistence {
        timeout,
        prefix_len,
    });
    Ok(Service {
        key,
        scheduler,
        flags: ServiceFlags(flags & ServiceFlags::ALL.0),
        persistence,
        pe_name,
    })
}

fn parse_stats(outer: &[u8], s32: u16, s64: u16) -> DResult<Stats> {
    let Some(buf) = get(outer, s64).or_else(|| get(outer, s32)) else {
        return Ok(Stats::default());
    };
    let mut s = Stats::default();
    for (t, d) in attrs(buf) {
        let v = match uint_of(d) {
            Ok(v) => v,
            Err(_) => continue, // padding attribute
        };
        match t {
            ST_CONNS => s.conns = v,
            ST_INPKTS => s.in_pkts = v,
            ST_OUTPKTS => s.out_pkts = v,
            ST_INBYTES => s.in_bytes = v,
            ST_OUTBYTES => s.out_bytes = v,
            ST_CPS => s.cps = v,
            ST_INPPS => s.in_pps = v,
            ST_OUTPPS => s.out_pps = v,
            ST_INBPS => s.in_bps = v,
            ST_OUTBPS => s.out_bps = v,
            _ => {}
        }
    }
    Ok(s)
}

pub(crate) fn parse_dest(buf: &[u8], svc_family: Family) -> DResult<Dest> {
    let family = match get(buf, DEST_ADDR_FAMILY) {
        Some(d) => Family::from_raw(u16_of(d)?).ok_or(DecodeError::Bad("address family"))?,
        None => svc_family,
    };
    let addr = addr_of(need(buf, DEST_ADDR, "dest address")?, family)?;
    let port = be16_of(need(buf, DEST_PORT, "dest port")?)?;
    let fwd = u32_of(need(buf, DEST_FWD_METHOD, "forwarding method")?)? & 7;
    let forward = match fwd {
        0 => Forward::Masq,
        1 => Forward::Local,
        2 => {
            let kind = match get(buf, DEST_TUN_TYPE).map(u8_of).transpose()?.unwrap_or(0) {
                0 => TunnelType::Ipip,
                1 => TunnelType::Gue,
                2 => TunnelType::Gre,
                _ => return Err(DecodeError::Bad("tunnel type")),
            };
            let port = get(buf, DEST_TUN_PORT)
                .map(be16_of)
                .transpose()?
                .unwrap_or(0);
            let flags = get(buf, DEST_TUN_FLAGS)
                .map(u16_of)
                .transpose()?
                .unwrap_or(0);
            Forward::Tunnel {
                kind,
                port,
                flags: TunnelFlags(flags),
            }
        }
        3 => Forward::Route,
        4 => Forward::Bypass,
        _ => return Err(DecodeError::Bad("forwarding method")),
    };
    Ok(Dest {
        addr,
        port,
        forward,
        weight: u32_of(need(buf, DEST_WEIGHT, "weight")?)?,
        upper_threshold: u32_of(need(buf, DEST_U_THRESH, "upper threshold")?)?,
        lower_threshold: u32_of(need(buf, DEST_L_THRESH, "lower threshold")?)?,
    })
}

pub(crate) fn parse_dest_entry(buf: &[u8], svc_family: Family) -> DResult<DestEntry> {
    let opt = |t| {
        get(buf, t)
            .map(u32_of)
            .transpose()
            .map(Option::unwrap_or_default)
    };
    Ok(DestEntry {
        dest: parse_dest(buf, svc_family)?,
        active_conns: opt(DEST_ACTIVE_CONNS)?,
        inactive_conns: opt(DEST_INACT_CONNS)?,
        persist_conns: opt(DEST_PERSIST_CONNS)?,
        stats: parse_stats(buf, DEST_STATS, DEST_STATS64)?,
    })
}

pub(crate) fn parse_daemon(buf: &[u8]) -> DResult<SyncDaemon> {
    let state = match u32_of(need(buf, D_STATE, "daemon state")?)? {
        1 => SyncState::Master,
        2 => SyncState::Backup,
        _ => return Err(DecodeError::Bad("daemon state")),
    };
    let group = match (get(buf, D_MCAST_GROUP), get(buf, D_MCAST_GROUP6)) {
        (Some(d), _) => Some(addr_of(d, Family::Inet)?),
        (None, Some(d)) => Some(addr_of(d, Family::Inet6)?),
        _ => None,
    };
    Ok(SyncDaemon {
        state,
        interface: str_of(need(buf, D_MCAST_IFN, "daemon interface")?)?,
        sync_id: u32_of(need(buf, D_SYNC_ID, "sync id")?)?,
        max_len: get(buf, D_SYNC_MAXLEN).map(u16_of).transpose()?,
        group,
        port: get(buf, D_MCAST_PORT).map(u16_of).transpose()?,
        ttl: get(buf, D_MCAST_TTL).map(u8_of).transpose()?,
    })
}

/// Split a generic netlink payload into (cmd, attributes).
pub(crate) fn genl(payload: &[u8]) -> DResult<(u8, &[u8])> {
    if payload.len() < 4 {
        return Err(DecodeError::Truncated);
    }
    Ok((payload[0], &payload[4..]))
}

pub(crate) fn parse_family_id(attrs_buf: &[u8]) -> DResult<u16> {
    u16_of(need(attrs_buf, CTRL_ATTR_FAMILY_ID, "family id")?)
}

/// A decoded reply message of the IPVS family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    Service(ServiceEntry),
    Dest(DestEntry),
    Daemon(SyncDaemon),
    Config(Timeouts),
    Info(Info),
}

/// Decode a reply; `svc_family` is the family of the service whose dests were asked for.
pub(crate) fn parse_reply(payload: &[u8], svc_family: Family) -> DResult<Reply> {
    // Top-level attribute numbers overlap between commands (INFO_VERSION ==
    // CMD_ATTR_SERVICE), so dispatch on the reply command first.
    let (cmd, a) = genl(payload)?;
    match cmd {
        CMD_SET_INFO => Ok(Reply::Info(Info {
            version: u32_of(need(a, INFO_VERSION, "version")?)?,
            conn_tab_size: u32_of(need(a, INFO_CONN_TAB_SIZE, "conn table size")?)?,
        })),
        CMD_SET_CONFIG => {
            let t = |ty| {
                get(a, ty)
                    .map(u32_of)
                    .transpose()
                    .map(Option::unwrap_or_default)
            };
            Ok(Reply::Config(Timeouts {
                tcp: t(A_TIMEOUT_TCP)?,
                tcp_fin: t(A_TIMEOUT_TCP_FIN)?,
                udp: t(A_TIMEOUT_UDP)?,
            }))
        }
        CMD_NEW_SERVICE => {
            let s = need(a, A_SERVICE, "service")?;
            Ok(Reply::Service(ServiceEntry {
                service: parse_service(s)?,
                stats: parse_stats(s, SVC_STATS, SVC_STATS64)?,
            }))
        }
        CMD_NEW_DEST => Ok(Reply::Dest(parse_dest_entry(
            need(a, A_DEST, "dest")?,
            svc_family,
        )?)),
        CMD_NEW_DAEMON => Ok(Reply::Daemon(parse_daemon(need(a, A_DAEMON, "daemon")?)?)),
        c => Err(DecodeError::UnknownCommand(c)),
    }
}

/// Decode a request this crate encoded (tests, tooling).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn decode_request(msg: &Msg<'_>) -> DResult<Request> {
    let (cmd, a) = genl(msg.payload())?;
    let dump = msg.flags & NLM_F_DUMP == NLM_F_DUMP;
    let svc = get(a, A_SERVICE);
    let key = || parse_service_key(svc.ok_or(DecodeError::Missing("service"))?);
    let svc_full = || parse_service(svc.ok_or(DecodeError::Missing("service"))?);
    let dest = || {
        let k = key()?;
        Ok::<_, DecodeError>((k, parse_dest(need(a, A_DEST, "dest")?, k.family())?))
    };
    Ok(match cmd {
        CMD_NEW_SERVICE => Request::Write(Op::NewService(svc_full()?)),
        CMD_SET_SERVICE => Request::Write(Op::SetService(svc_full()?)),
        CMD_DEL_SERVICE => Request::Write(Op::DelService(key()?)),
        CMD_GET_SERVICE if dump => Request::GetServices,
        CMD_GET_SERVICE => Request::GetService(key()?),
        CMD_NEW_DEST => {
            let (k, d) = dest()?;
            Request::Write(Op::NewDest(k, d))
        }
        CMD_SET_DEST => {
            let (k, d) = dest()?;
            Request::Write(Op::SetDest(k, d))
        }
        CMD_DEL_DEST => {
            let k = key()?;
            let d = need(a, A_DEST, "dest")?;
            let f = match get(d, DEST_ADDR_FAMILY) {
                Some(x) => {
                    Family::from_raw(u16_of(x)?).ok_or(DecodeError::Bad("address family"))?
                }
                None => k.family(),
            };
            Request::Write(Op::DelDest(
                k,
                addr_of(need(d, DEST_ADDR, "dest address")?, f)?,
                be16_of(need(d, DEST_PORT, "dest port")?)?,
            ))
        }
        CMD_GET_DEST => Request::GetDests(key()?),
        CMD_NEW_DAEMON => Request::NewDaemon(parse_daemon(need(a, A_DAEMON, "daemon")?)?),
        CMD_DEL_DAEMON => {
            let d = need(a, A_DAEMON, "daemon")?;
            Request::DelDaemon(match u32_of(need(d, D_STATE, "daemon state")?)? {
                1 => SyncState::Master,
                2 => SyncState::Backup,
                _ => return Err(DecodeError::Bad("daemon state")),
            })
        }
        CMD_GET_DAEMON => Request::GetDaemons,
        CMD_SET_CONFIG => match parse_reply(msg.payload(), Family::Inet)? {
            Reply::Config(t) => Request::SetConfig(t),
            _ => return Err(DecodeError::Bad("config")),
        },
        CMD_GET_CONFIG => Request::GetConfig,
        CMD_GET_INFO => Request::GetInfo,
        CMD_ZERO => Request::Zero(svc.map(parse_service_key).transpose()?),
        CMD_FLUSH => Request::Flush,
        c => return Err(DecodeError::UnknownCommand(c)),
    })
}

#[cfg(test)]
pub(crate) fn encode_reply(w: &mut Writer, family: u16, seq: u32, r: &Reply) {
    match r {
        Reply::Service(e) => {
            w.begin(family, NLM_F_MULTI, seq, CMD_NEW_SERVICE, 1);
            w.nest(A_SERVICE);
            w.service(&e.service);
            w.stats(SVC_STATS64, &e.stats);
            w.unnest();
        }
        Reply::Dest(e) => {
            w.begin(family, NLM_F_MULTI, seq, CMD_NEW_DEST, 1);
            w.nest(A_DEST);
            w.dest(&e.dest);
            w.u32(DEST_ACTIVE_CONNS, e.active_conns);
            w.u32(DEST_INACT_CONNS, e.inactive_conns);
            w.u32(DEST_PERSIST_CONNS, e.persist_conns);
            w.stats(DEST_STATS64, &e.stats);
            w.unnest();
        }
        Reply::Daemon(d) => {
            w.begin(family, NLM_F_MULTI, seq, CMD_NEW_DAEMON, 1);
            w.nest(A_DAEMON);
            w.daemon(d);
            w.unnest();
        }
        Reply::Config(t) => {
            w.begin(family, 0, seq, CMD_SET_CONFIG, 1);
            w.u32(A_TIMEOUT_TCP, t.tcp);
            w.u32(A_TIMEOUT_TCP_FIN, t.tcp_fin);
            w.u32(A_TIMEOUT_UDP, t.udp);
        }
        Reply::Info(i) => {
            w.begin(family, 0, seq, CMD_SET_INFO, 1);
            w.u32(INFO_VERSION, i.version);
            w.u32(INFO_CONN_TAB_SIZE, i.conn_tab_size);
        }
    }
    w.end();
}
