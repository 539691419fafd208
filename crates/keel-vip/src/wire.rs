//! rtnetlink over keel's shared transport ([`keel_netlink`]):
//! netlink-packet-route encodes requests and decodes answers. Its types are
//! used here and in `netlink.rs`, `route.rs`, `watch.rs` only; none of them
//! leaves the crate.

use std::time::Duration;

use keel_netlink::{Config, Errno, Protocol, Socket};
use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NetlinkSerializable};
use netlink_packet_route::RouteNetlinkMessage;

use crate::{Error, Op};

/// Socket receive buffer (bytes) asked for: big enough for the error
/// replies of a full batch and for large dumps.
pub(crate) const SOCK_RCVBUF: usize = 4 * 1024 * 1024;
/// Bytes per received datagram. Dumps come in datagrams of at most 32 KiB;
/// a single RTM_NEWLINK answer can be larger (many VFs), hence 64 KiB.
const RX_BUF: usize = 64 * 1024;
/// The kernel always answers; a receive that waits this long means
/// something is badly wrong, and the caller gets an error, not a hang.
const RECV_TIMEOUT: Duration = Duration::from_secs(10);
/// Requests per `send(2)`: 1,000 VIPs in two sends.
const BATCH: usize = 512;

/// A NETLINK_ROUTE request socket in the current network namespace.
pub(crate) fn open() -> Result<Socket, Error> {
    let cfg = Config::default()
        .rx_buf(RX_BUF)
        .rcvbuf(SOCK_RCVBUF)
        .recv_timeout(RECV_TIMEOUT)
        .batch(BATCH);
    Socket::with_config(Protocol::Route, &cfg).map_err(transport(Op::Open))
}

/// Transport failures of `op`.
pub(crate) fn transport(op: Op) -> impl Fn(keel_netlink::Error) -> Error {
    move |source| Error::Netlink { op, source }
}

/// Append `msg` with header `flags` (the transport adds sequence numbers
/// and NLM_F_REQUEST / NLM_F_ACK / NLM_F_DUMP).
pub(crate) fn encode(buf: &mut Vec<u8>, msg: &RouteNetlinkMessage, flags: u16) {
    let start = keel_netlink::msg::begin(buf, msg.message_type(), flags, 0);
    let body = buf.len();
    buf.resize(body + msg.buffer_len(), 0);
    msg.serialize(&mut buf[body..]);
    keel_netlink::msg::finish(buf, start);
}

/// Decode one whole message (header included).
pub(crate) fn decode(msg: &[u8]) -> Result<RouteNetlinkMessage, Error> {
    match NetlinkMessage::<RouteNetlinkMessage>::deserialize(msg) {
        Ok(m) => match m.payload {
            NetlinkPayload::InnerMessage(inner) => Ok(inner),
            _ => Err(Error::Decode("unexpected netlink control message")),
        },
        Err(_) => Err(Error::Decode("rtnetlink message the decoder rejects")),
    }
}

/// Send each request, many per `send(2)`, and return the errno of each
/// (0 = success), in order.
pub(crate) fn batch(
    sock: &mut Socket,
    op: Op,
    msgs: &[(RouteNetlinkMessage, u16)],
) -> Result<Vec<i32>, Error> {
    let refused = sock
        .batch(msgs.len(), |i, buf| encode(buf, &msgs[i].0, msgs[i].1))
        .map_err(transport(op))?;
    let mut codes = vec![0; msgs.len()];
    for f in refused {
        codes[f.index] = f.errno.raw();
    }
    Ok(codes)
}

/// One request, one ACK: returns the errno (0 = success).
pub(crate) fn request(
    sock: &mut Socket,
    op: Op,
    msg: RouteNetlinkMessage,
    flags: u16,
) -> Result<i32, Error> {
    Ok(batch(sock, op, &[(msg, flags)])?
        .first()
        .copied()
        .unwrap_or(0))
}

/// A request whose answer is one message (e.g. RTM_GETLINK by name).
pub(crate) fn get(
    sock: &mut Socket,
    op: Op,
    msg: &RouteNetlinkMessage,
) -> Result<Result<RouteNetlinkMessage, Errno>, Error> {
    // Decoding errors are the caller's, not the transport's: decode to a
    // Result per message.
    let r = sock
        .request(|b| encode(b, msg, 0), |m| Ok(decode(m.bytes)))
        .map_err(transport(op))?;
    match r {
        Ok(v) => match v.into_iter().next() {
            Some(m) => m.map(Ok),
            None => Ok(Err(Errno(libc::ENODATA))),
        },
        Err(errno) => Ok(Err(errno)),
    }
}

/// Dump (NLM_F_DUMP) and decode every answer.
pub(crate) fn dump(
    sock: &mut Socket,
    op: Op,
    msg: &RouteNetlinkMessage,
) -> Result<Vec<RouteNetlinkMessage>, Error> {
    sock.dump(|b| encode(b, msg, 0), |m| Ok(decode(m.bytes)))
        .map_err(transport(op))?
        .map_err(|errno| Error::Kernel { op, errno })?
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_socket_gets_a_large_receive_buffer() {
        if !keel_testkit::require_root("keel-vip SO_RCVBUFFORCE") {
            return;
        }
        let s = open().expect("socket");
        // The kernel reports twice the requested size.
        assert!(s.receive_buffer().expect("getsockopt") >= SOCK_RCVBUF);
    }
}
