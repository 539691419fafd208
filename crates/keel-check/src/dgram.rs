//! The datagram checkers: DNS_CHECK (hickory-proto messages), UDP_CHECK and PING_CHECK
//! (ICMP / ICMPv6 echo).

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::net::UdpSocket;
use tokio::time::timeout;

use crate::event::ProbeError;
use crate::probe::{Failure, Success};
use crate::spec::{ConnectOpts, DnsSpec, UdpSpec};

/// keepalived's filler for payloads nobody configured (`set_buf`).
pub(crate) fn filler(len: usize) -> Vec<u8> {
    b"keepalived check - "
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect()
}

fn errno(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
}

fn unspecified(dst: SocketAddr) -> IpAddr {
    if dst.is_ipv4() {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    } else {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    }
}

/// A UDP socket bound as `conn` says and connected to `dst` (so ICMP errors for it
/// come back as `recv` errors). `Err(None)`: connect failed.
async fn udp_connected(conn: &ConnectOpts, dst: SocketAddr) -> Result<UdpSocket, ProbeError> {
    let src = SocketAddr::new(
        conn.bindto.unwrap_or(unspecified(dst)),
        conn.bind_port.unwrap_or(0),
    );
    let sock = UdpSocket::bind(src)
        .await
        .map_err(|e| ProbeError::Bind(e.kind()))?;
    sock.connect(dst)
        .await
        .map_err(|e| ProbeError::Connect(e.kind()))?;
    Ok(sock)
}

/// DNS_CHECK: one query, healthy on a reply with our id and RCODE NOERROR.
pub(crate) async fn dns(
    conn: &ConnectOpts,
    spec: &DnsSpec,
    name: &Name,
    target: SocketAddr,
    id: u16,
) -> Result<Success, Failure> {
    let dst = conn.destination(target);
    let sock = match udp_connected(conn, dst).await {
        Err(ProbeError::Connect(_)) => return Err(ProbeError::Unreachable(dst).into()),
        r => r?,
    };
    let mut query = Message::new(id, MessageType::Query, OpCode::Query);
    query.metadata.recursion_desired = true;
    query.add_query(Query::query(
        name.clone(),
        RecordType::from(spec.qtype.code()),
    ));
    let bytes = query.to_vec().map_err(|_| ProbeError::DnsMalformed)?;
    let work = async {
        sock.send(&bytes)
            .await
            .map_err(|e| ProbeError::Send(errno(&e)))?;
        let mut buf = vec![0u8; 65_535];
        loop {
            let n = sock
                .recv(&mut buf)
                .await
                .map_err(|e| ProbeError::Recv(errno(&e)))?;
            // keepalived ignores datagrams that are not the answer to this query.
            let Ok(reply) = Message::from_vec(&buf[..n]) else {
                if n >= 2 && buf[..2] == id.to_be_bytes() {
                    return Err(ProbeError::DnsMalformed);
                }
                continue;
            };
            if reply.metadata.id != id || reply.metadata.message_type != MessageType::Response {
                continue;
            }
            return match reply.metadata.response_code {
                ResponseCode::NoError => Ok(Success::Dns),
                rc => Err(ProbeError::DnsRcode(u16::from(rc))),
            };
        }
    };
    match timeout(conn.connect_timeout, work).await {
        Err(_) => Err(ProbeError::ReplyTimeout.into()),
        Ok(r) => r.map_err(Failure::from),
    }
}

/// UDP_CHECK: send the payload; an ICMP error fails, silence passes unless a reply
/// is required, and a reply must match `require_reply HEX` when given.
pub(crate) async fn udp(
    conn: &ConnectOpts,
    spec: &UdpSpec,
    target: SocketAddr,
) -> Result<Success, Failure> {
    let dst = conn.destination(target);
    let sock = udp_connected(conn, dst).await?;
    let payload = match &spec.payload {
        Some(p) => std::borrow::Cow::Borrowed(p.as_slice()),
        None => std::borrow::Cow::Owned(filler(32)),
    };
    sock.send(&payload)
        .await
        .map_err(|e| ProbeError::Send(errno(&e)))?;
    let mut buf = vec![0u8; usize::from(spec.max_reply_length) + 1];
    match timeout(conn.connect_timeout, sock.recv(&mut buf)).await {
        Err(_) if spec.require_reply => Err(ProbeError::ReplyTimeout.into()),
        Err(_) => Ok(Success::Udp),
        Ok(Err(e)) => Err(ProbeError::Recv(errno(&e)).into()),
        // keepalived checks lengths only together with a reply pattern
        Ok(Ok(n)) if spec.reply.is_some() && !spec.reply_ok(&buf[..n]) => {
            Err(ProbeError::ReplyMismatch.into())
        }
        Ok(Ok(_)) => Ok(Success::Udp),
    }
}

/// The internet checksum (RFC 1071) of an ICMPv4 message.
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An ICMP socket to `dst`: the unprivileged datagram kind when the kernel allows it
/// (`net.ipv4.ping_group_range`), else raw (needs CAP_NET_RAW). Returns it and
/// whether it is raw.
fn icmp_socket(conn: &ConnectOpts, dst: IpAddr) -> Result<(Socket, bool), ProbeError> {
    let (domain, proto) = match dst {
        IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4),
        IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6),
    };
    let (sock, raw) = match Socket::new(domain, Type::DGRAM, Some(proto)) {
        Ok(s) => (s, false),
        Err(e) if matches!(e.kind(), ErrorKind::PermissionDenied) => (
            Socket::new(domain, Type::RAW, Some(proto))
                .map_err(|e| ProbeError::Socket(e.kind()))?,
            true,
        ),
        Err(e) => return Err(ProbeError::Socket(e.kind())),
    };
    sock.set_nonblocking(true)
        .map_err(|e| ProbeError::Socket(e.kind()))?;
    let _ = sock.set_recv_buffer_size(128 * 1024);
    if let Some(src) = conn.bindto {
        sock.bind(&SockAddr::from(SocketAddr::new(src, 0)))
            .map_err(|e| ProbeError::Bind(e.kind()))?;
    }
    // Connected: the kernel hands us only what comes from dst (raw sockets too).
    sock.connect(&SockAddr::from(SocketAddr::new(dst, 0)))
        .map_err(|e| ProbeError::Connect(e.kind()))?;
    Ok((sock, raw))
}

/// PING_CHECK: one echo request, success on the echo reply within `connect_timeout`.
pub(crate) async fn ping(
    conn: &ConnectOpts,
    target: SocketAddr,
    ident: u16,
    seq: u16,
) -> Result<Success, Failure> {
    let dst = conn.connect_ip.unwrap_or(target.ip());
    let (sock, raw) = icmp_socket(conn, dst)?;
    let v4 = dst.is_ipv4();
    let (request, reply) = if v4 { (8u8, 0u8) } else { (128u8, 129u8) };
    let mut pkt = vec![request, 0, 0, 0];
    pkt.extend_from_slice(&ident.to_be_bytes());
    pkt.extend_from_slice(&seq.to_be_bytes());
    pkt.extend_from_slice(&filler(128));
    if v4 {
        // Datagram sockets fill in the identifier and checksum themselves; raw ones
        // send what we wrote (ICMPv6 checksums are always the kernel's).
        let c = checksum(&pkt);
        pkt[2..4].copy_from_slice(&c.to_be_bytes());
    }
    // tokio's UdpSocket drives any connected datagram socket (ICMP ones too) without
    // our own reactor registration.
    let sock = UdpSocket::from_std(std::net::UdpSocket::from(sock))
        .map_err(|e| ProbeError::Socket(e.kind()))?;
    let work = async {
        sock.send(&pkt)
            .await
            .map_err(|e| ProbeError::Send(errno(&e)))?;
        let mut buf = [0u8; 1500];
        loop {
            let n = sock
                .recv(&mut buf)
                .await
                .map_err(|e| ProbeError::Recv(errno(&e)))?;
            let mut icmp = &buf[..n];
            if raw && v4 {
                // raw IPv4 sockets deliver the IP header too
                let ihl = usize::from(icmp.first().map_or(0, |b| b & 0x0f)) * 4;
                icmp = icmp.get(ihl..).unwrap_or(&[]);
            }
            if icmp.len() < 8 {
                continue;
            }
            let (ty, id, sq) = (
                icmp[0],
                u16::from_be_bytes([icmp[4], icmp[5]]),
                u16::from_be_bytes([icmp[6], icmp[7]]),
            );
            if raw {
                // A raw socket sees every ICMP message from dst (our own request
                // too, on loopback): only our echo reply counts.
                if ty == reply && id == ident && sq == seq {
                    return Ok(Success::Ping);
                }
                continue;
            }
            if sq != seq {
                continue;
            }
            return if ty == reply {
                Ok(Success::Ping)
            } else {
                Err(ProbeError::IcmpType(ty))
            };
        }
    };
    match timeout(conn.connect_timeout, work).await {
        Err(_) => Err(ProbeError::ReplyTimeout.into()),
        Ok(r) => r.map_err(Failure::from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filler_is_keepalived_text() {
        assert_eq!(&filler(21), b"keepalived check - ke");
    }

    #[test]
    fn icmp_checksum() {
        // echo request id 1 seq 1, no payload: checksum 0xf7fd
        assert_eq!(checksum(&[8, 0, 0, 0, 0, 1, 0, 1]), 0xf7fd);
    }
}
