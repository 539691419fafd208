//! A small synchronous rtnetlink request socket: sequence numbers, batching
//! of several requests per `send`, ACK matching, dumps.
//!
//! netlink-packet-route types are used here and in `netlink.rs` only; none of
//! them leaves the crate.

use std::collections::HashMap;
use std::io;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use crate::{Error, Op};

const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_DUMP_INTR: u16 = 16;
/// Bytes of requests sent per `send(2)`; the kernel handles them one after
/// the other and answers each with its own ACK.
const BATCH_BYTES: usize = 32 * 1024;
const RECV_TIMEOUT_SECS: i64 = 10;
const RX_BUF: usize = 256 * 1024;
/// Socket receive buffer (bytes) asked for: big enough for the ACKs of a
/// full batch and for large dumps.
pub(crate) const SOCK_RCVBUF: usize = 4 * 1024 * 1024;

/// The fixed netlink header fields we need, read without decoding the body.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawHeader {
    pub kind: u16,
    pub flags: u16,
    pub seq: u32,
}

/// Split a datagram into netlink messages (header, whole message bytes).
pub(crate) fn split(buf: &[u8]) -> impl Iterator<Item = (RawHeader, &[u8])> {
    let mut off = 0usize;
    std::iter::from_fn(move || {
        let rest = buf.get(off..)?;
        if rest.len() < NLMSG_HDRLEN {
            return None;
        }
        let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if len < NLMSG_HDRLEN || len > rest.len() {
            return None;
        }
        let hdr = RawHeader {
            kind: u16::from_ne_bytes([rest[4], rest[5]]),
            flags: u16::from_ne_bytes([rest[6], rest[7]]),
            seq: u32::from_ne_bytes([rest[8], rest[9], rest[10], rest[11]]),
        };
        off += (len + 3) & !3;
        Some((hdr, &rest[..len]))
    })
}

/// The error code of an NLMSG_ERROR message (0 = ACK, else a negative errno).
pub(crate) fn error_code(msg: &[u8]) -> Option<i32> {
    let b = msg.get(NLMSG_HDRLEN..NLMSG_HDRLEN + 4)?;
    Some(i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

pub(crate) fn decode(msg: &[u8]) -> Result<RouteNetlinkMessage, Error> {
    match NetlinkMessage::<RouteNetlinkMessage>::deserialize(msg) {
        Ok(m) => match m.payload {
            NetlinkPayload::InnerMessage(inner) => Ok(inner),
            _ => Err(Error::Decode("unexpected netlink control message")),
        },
        Err(_) => Err(Error::Decode("rtnetlink message the decoder rejects")),
    }
}

/// A connected NETLINK_ROUTE socket for requests and dumps.
#[derive(Debug)]
pub(crate) struct NlSocket {
    sock: Socket,
    seq: u32,
    rx: Vec<u8>,
    tx: Vec<u8>,
}

impl NlSocket {
    pub(crate) fn new() -> Result<Self, Error> {
        let io = |source| Error::Io {
            op: Op::Open,
            source,
        };
        let mut sock = Socket::new(NETLINK_ROUTE).map_err(io)?;
        sock.bind_auto().map_err(io)?;
        sock.connect(&SocketAddr::new(0, 0)).map_err(io)?;
        // ACKs carry only the request header, not the whole request.
        let _ = sock.set_cap_ack(true);
        crate::sys::set_rcvbuf(&sock, SOCK_RCVBUF);
        // The kernel always answers; a receive that waits this long means
        // something is badly wrong, and the caller gets an error, not a hang.
        crate::sys::set_recv_timeout(&sock, RECV_TIMEOUT_SECS).map_err(io)?;
        Ok(NlSocket {
            sock,
            seq: 0,
            rx: Vec::with_capacity(RX_BUF),
            tx: Vec::with_capacity(BATCH_BYTES + 4096),
        })
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        if self.seq == 0 {
            self.seq = 1;
        }
        self.seq
    }

    /// Serialize `msg` at the end of the transmit buffer; returns its sequence number.
    fn push(&mut self, msg: RouteNetlinkMessage, flags: u16) -> u32 {
        let seq = self.next_seq();
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = seq;
        let mut nl = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
        nl.finalize();
        let start = self.tx.len();
        self.tx.resize(start + nl.buffer_len(), 0);
        nl.serialize(&mut self.tx[start..]);
        // netlink messages are 4-byte aligned (finalize's length already is
        // for rtnetlink, but keep the stream aligned regardless).
        while !self.tx.len().is_multiple_of(4) {
            self.tx.push(0);
        }
        seq
    }

    fn flush(&mut self, op: Op) -> Result<(), Error> {
        if self.tx.is_empty() {
            return Ok(());
        }
        let r = self.sock.send(&self.tx, 0);
        self.tx.clear();
        match r {
            Ok(_) => Ok(()),
            Err(source) => Err(Error::Io { op, source }),
        }
    }

    fn recv(&mut self, op: Op) -> Result<(), Error> {
        loop {
            self.rx.clear();
            match self.sock.recv(&mut self.rx, 0) {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => return Err(Error::Io { op, source }),
            }
        }
    }

    /// Wait until every sequence number in `pending` has its ACK/NACK.
    /// Returns errno values (0 = success) keyed by sequence number.
    fn collect(&mut self, op: Op, pending: &[u32]) -> Result<HashMap<u32, i32>, Error> {
        let mut want: std::collections::HashSet<u32> = pending.iter().copied().collect();
        let mut got = HashMap::with_capacity(pending.len());
        while !want.is_empty() {
            self.recv(op)?;
            for (h, msg) in split(&self.rx) {
                if h.kind == NLMSG_ERROR && want.remove(&h.seq) {
                    let code = error_code(msg).ok_or(Error::Decode("short NLMSG_ERROR"))?;
                    got.insert(h.seq, -code);
                }
            }
        }
        Ok(got)
    }

    /// Send each request with NLM_F_ACK, several per `send(2)`, and return
    /// the errno of each (0 = success), in order.
    pub(crate) fn batch(
        &mut self,
        op: Op,
        msgs: impl IntoIterator<Item = (RouteNetlinkMessage, u16)>,
    ) -> Result<Vec<i32>, Error> {
        let mut order = Vec::new();
        let mut pending = Vec::new();
        let mut results = HashMap::new();
        for (msg, flags) in msgs {
            let seq = self.push(msg, flags | NLM_F_REQUEST | NLM_F_ACK);
            order.push(seq);
            pending.push(seq);
            if self.tx.len() >= BATCH_BYTES {
                self.flush(op)?;
                results.extend(self.collect(op, &pending)?);
                pending.clear();
            }
        }
        self.flush(op)?;
        results.extend(self.collect(op, &pending)?);
        Ok(order
            .iter()
            .map(|s| results.get(s).copied().unwrap_or(libc::EIO))
            .collect())
    }

    /// One request, one ACK: returns the errno (0 = success).
    pub(crate) fn request(
        &mut self,
        op: Op,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<i32, Error> {
        let r = self.batch(op, [(msg, flags)])?;
        Ok(r.first().copied().unwrap_or(libc::EIO))
    }

    /// A request whose answer is one message (e.g. RTM_GETLINK by name).
    /// Returns the errno on failure.
    pub(crate) fn get(
        &mut self,
        op: Op,
        msg: RouteNetlinkMessage,
    ) -> Result<Result<RouteNetlinkMessage, i32>, Error> {
        let seq = self.push(msg, NLM_F_REQUEST);
        self.flush(op)?;
        loop {
            self.recv(op)?;
            for (h, m) in split(&self.rx) {
                if h.seq != seq {
                    continue;
                }
                if h.kind == NLMSG_ERROR {
                    let code = error_code(m).ok_or(Error::Decode("short NLMSG_ERROR"))?;
                    return Ok(Err(if code == 0 { libc::ENODATA } else { -code }));
                }
                return decode(m).map(Ok);
            }
        }
    }

    /// Dump (NLM_F_DUMP) and decode every answer. Retries when the kernel
    /// says the dump was interrupted by a concurrent change.
    pub(crate) fn dump(
        &mut self,
        op: Op,
        msg: RouteNetlinkMessage,
    ) -> Result<Vec<RouteNetlinkMessage>, Error> {
        let mut attempts = 0;
        'retry: loop {
            attempts += 1;
            let seq = self.push(msg.clone(), NLM_F_REQUEST | NLM_F_DUMP);
            self.flush(op)?;
            let mut out = Vec::new();
            let mut interrupted = false;
            loop {
                self.recv(op)?;
                for (h, m) in split(&self.rx) {
                    if h.seq != seq {
                        continue;
                    }
                    if h.flags & NLM_F_DUMP_INTR != 0 {
                        interrupted = true;
                    }
                    match h.kind {
                        NLMSG_DONE => {
                            if interrupted && attempts < 5 {
                                continue 'retry;
                            }
                            return Ok(out);
                        }
                        NLMSG_ERROR => {
                            let code = error_code(m).ok_or(Error::Decode("short NLMSG_ERROR"))?;
                            return Err(Error::Kernel { op, errno: -code });
                        }
                        _ => out.push(decode(m)?),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_walks_aligned_messages_and_stops_on_garbage() {
        let mut buf = Vec::new();
        for (kind, seq, body) in [(2u16, 7u32, &[0u8, 0, 0, 0][..]), (3, 8, &[1, 2, 3][..])] {
            let len = (16 + body.len()) as u32;
            buf.extend_from_slice(&len.to_ne_bytes());
            buf.extend_from_slice(&kind.to_ne_bytes());
            buf.extend_from_slice(&0u16.to_ne_bytes());
            buf.extend_from_slice(&seq.to_ne_bytes());
            buf.extend_from_slice(&0u32.to_ne_bytes());
            buf.extend_from_slice(body);
            while buf.len() % 4 != 0 {
                buf.push(0);
            }
        }
        buf.extend_from_slice(&[0xff, 0xff, 0, 0]); // truncated header
        let v: Vec<_> = split(&buf).collect();
        assert_eq!(v.len(), 2);
        assert_eq!((v[0].0.kind, v[0].0.seq), (2, 7));
        assert_eq!(error_code(v[0].1), Some(0));
        assert_eq!((v[1].0.kind, v[1].0.seq, v[1].1.len()), (3, 8, 19));
        // A length field larger than the buffer ends the walk.
        let mut bad = buf[..16].to_vec();
        bad[0] = 200;
        assert_eq!(split(&bad).count(), 0);
        assert_eq!(split(&[]).count(), 0);
    }

    #[test]
    fn request_socket_gets_a_large_receive_buffer() {
        if !keel_testkit::require_root("keel-vip SO_RCVBUFFORCE") {
            return;
        }
        let s = NlSocket::new().expect("socket");
        // The kernel reports twice the requested size.
        assert!(crate::sys::rcvbuf(&s.sock).expect("getsockopt") >= SOCK_RCVBUF);
    }
}
