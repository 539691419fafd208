//! Netlink message framing: headers, splitting datagrams, error messages.

use crate::Error;

/// Length of `struct nlmsghdr`.
pub const NLMSG_HDRLEN: usize = 16;
/// Message type: nothing (skip it).
pub const NLMSG_NOOP: u16 = 1;
/// Message type: an error or, with error 0, an ACK.
pub const NLMSG_ERROR: u16 = 2;
/// Message type: the end of a dump.
pub const NLMSG_DONE: u16 = 3;
/// Message type: data lost.
pub const NLMSG_OVERRUN: u16 = 4;
/// Flag: a request.
pub const NLM_F_REQUEST: u16 = 0x1;
/// Flag: part of a multi-part answer.
pub const NLM_F_MULTI: u16 = 0x2;
/// Flag: answer with an ACK.
pub const NLM_F_ACK: u16 = 0x4;
/// Flag (new requests): replace an existing object.
pub const NLM_F_REPLACE: u16 = 0x100;
/// Flag (new requests): fail if the object exists.
pub const NLM_F_EXCL: u16 = 0x200;
/// Flag (new requests): create the object if absent.
pub const NLM_F_CREATE: u16 = 0x400;
/// Flag (get requests): dump every object (`NLM_F_ROOT | NLM_F_MATCH`).
pub const NLM_F_DUMP: u16 = 0x300;
/// Flag on dump answers: the dump is inconsistent, a change interrupted it.
pub const NLM_F_DUMP_INTR: u16 = 0x10;

/// One netlink message inside a received datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Msg<'a> {
    /// `nlmsg_type`.
    pub kind: u16,
    /// `nlmsg_flags`.
    pub flags: u16,
    /// `nlmsg_seq`.
    pub seq: u32,
    /// The whole message, header included (`nlmsg_len` bytes).
    pub bytes: &'a [u8],
}

impl<'a> Msg<'a> {
    /// Everything after the 16-byte header.
    pub fn payload(&self) -> &'a [u8] {
        self.bytes.get(NLMSG_HDRLEN..).unwrap_or(&[])
    }

    /// For an NLMSG_ERROR message: the positive errno (0 for an ACK) and
    /// the sequence number of the request it answers. `None` if too short.
    pub fn error(&self) -> Option<(i32, u32)> {
        let p = self.payload();
        let e = i32::from_ne_bytes(p.get(..4)?.try_into().ok()?);
        let seq = u32::from_ne_bytes(p.get(12..16)?.try_into().ok()?);
        Some((e.saturating_neg(), seq))
    }

    /// For an NLMSG_DONE message: the positive errno a dump ended with (0
    /// when it completed, or when the kernel sent no code).
    pub fn done_errno(&self) -> i32 {
        self.payload()
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .map_or(0, |b| i32::from_ne_bytes(b).saturating_neg().max(0))
    }
}

/// Split a datagram (or several, concatenated at 4-byte boundaries) into
/// messages. A length field that runs past the buffer, or is shorter than a
/// header, yields one [`Error::Truncated`] and ends the walk.
pub fn messages(mut buf: &[u8]) -> impl Iterator<Item = Result<Msg<'_>, Error>> {
    std::iter::from_fn(move || {
        if buf.len() < NLMSG_HDRLEN {
            return None;
        }
        let len = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        if len < NLMSG_HDRLEN || len > buf.len() {
            buf = &[];
            return Some(Err(Error::Truncated));
        }
        let m = Msg {
            kind: u16::from_ne_bytes([buf[4], buf[5]]),
            flags: u16::from_ne_bytes([buf[6], buf[7]]),
            seq: u32::from_ne_bytes([buf[8], buf[9], buf[10], buf[11]]),
            bytes: &buf[..len],
        };
        buf = buf.get(align(len)..).unwrap_or(&[]);
        Some(Ok(m))
    })
}

/// `n` rounded up to netlink's 4-byte alignment.
pub const fn align(n: usize) -> usize {
    (n + 3) & !3
}

/// Append a netlink header (length 0 until [`finish`]) to `buf`; returns
/// where the message starts.
pub fn begin(buf: &mut Vec<u8>, kind: u16, flags: u16, seq: u32) -> usize {
    let start = buf.len();
    buf.extend_from_slice(&0u32.to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(&flags.to_ne_bytes());
    buf.extend_from_slice(&seq.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes());
    start
}

/// Set the length of the message that starts at `start` (everything
/// appended since) and pad the buffer to 4 bytes.
pub fn finish(buf: &mut Vec<u8>, start: usize) {
    let len = u32::try_from(buf.len() - start).unwrap_or(u32::MAX);
    if let Some(b) = buf.get_mut(start..start + 4) {
        b.copy_from_slice(&len.to_ne_bytes());
    }
    buf.resize(align(buf.len()), 0);
}

/// Set the flags and sequence number of the message starting at `start`,
/// keeping the flags it has (`flags` are ORed in).
pub(crate) fn stamp(buf: &mut [u8], start: usize, flags: u16, seq: u32) {
    if let Some(h) = buf.get_mut(start..start + NLMSG_HDRLEN) {
        let old = u16::from_ne_bytes([h[6], h[7]]);
        h[6..8].copy_from_slice(&(old | flags).to_ne_bytes());
        h[8..12].copy_from_slice(&seq.to_ne_bytes());
    }
}

/// Append an NLMSG_ERROR message (`errno` positive; 0 = ACK) answering the
/// request `seq`, as the kernel does with NETLINK_CAP_ACK. For tests and
/// fakes that speak netlink.
pub fn push_error(buf: &mut Vec<u8>, seq: u32, errno: i32) {
    let start = begin(buf, NLMSG_ERROR, 0x100, seq); // NLM_F_CAPPED
    buf.extend_from_slice(&errno.saturating_neg().to_ne_bytes());
    // The request's header (capped: no body).
    begin(buf, 0, NLM_F_REQUEST, seq);
    finish(buf, start);
}

/// Append an NLMSG_DONE message ending the dump `seq` (`errno` positive, 0
/// for a completed dump). For tests and fakes.
pub fn push_done(buf: &mut Vec<u8>, seq: u32, flags: u16, errno: i32) {
    let start = begin(buf, NLMSG_DONE, NLM_F_MULTI | flags, seq);
    buf.extend_from_slice(&errno.saturating_neg().to_ne_bytes());
    finish(buf, start);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_walks_aligned_messages_and_stops_on_garbage() {
        let mut buf = Vec::new();
        push_error(&mut buf, 7, 0);
        let s = begin(&mut buf, 30, NLM_F_MULTI, 8);
        buf.extend_from_slice(&[1, 2, 3]);
        finish(&mut buf, s);
        assert_eq!(buf.len() % 4, 0);
        buf.extend_from_slice(&[0xff, 0xff, 0, 0]); // a partial header: ignored
        let v: Vec<_> = messages(&buf).collect::<Result<_, _>>().expect("walk");
        assert_eq!(v.len(), 2);
        assert_eq!((v[0].kind, v[0].seq), (NLMSG_ERROR, 7));
        assert_eq!(v[0].error(), Some((0, 7)));
        assert_eq!((v[1].kind, v[1].seq, v[1].bytes.len()), (30, 8, 19));
        assert_eq!(v[1].payload(), &[1, 2, 3]);
        // A length field larger than the buffer: one Truncated, then nothing.
        let mut bad = buf[..16].to_vec();
        bad[0] = 200;
        let r: Vec<_> = messages(&bad).collect();
        assert!(matches!(r.as_slice(), [Err(Error::Truncated)]), "{r:?}");
        // Shorter than a header.
        bad[0] = 8;
        assert!(matches!(messages(&bad).next(), Some(Err(Error::Truncated))));
        assert_eq!(messages(&[]).count(), 0);
    }

    #[test]
    fn error_and_done_codes() {
        let mut buf = Vec::new();
        push_error(&mut buf, 9, libc::EEXIST);
        push_done(&mut buf, 10, 0, 0);
        push_done(&mut buf, 11, NLM_F_DUMP_INTR, libc::EINVAL);
        let v: Vec<_> = messages(&buf).collect::<Result<_, _>>().expect("walk");
        assert_eq!(v[0].error(), Some((libc::EEXIST, 9)));
        assert_eq!(v[1].done_errno(), 0);
        assert_eq!(v[2].done_errno(), libc::EINVAL);
        assert_ne!(v[2].flags & NLM_F_DUMP_INTR, 0);
        // An NLMSG_ERROR too short for its code.
        let short = Msg {
            kind: NLMSG_ERROR,
            flags: 0,
            seq: 1,
            bytes: &buf[..18],
        };
        assert_eq!(short.error(), None);
    }

    #[test]
    fn stamp_ors_flags_and_sets_seq() {
        let mut buf = Vec::new();
        let s = begin(&mut buf, 20, NLM_F_CREATE, 0);
        finish(&mut buf, s);
        stamp(&mut buf, s, NLM_F_REQUEST | NLM_F_ACK, 0xdead_beef);
        let m = messages(&buf).next().expect("one").expect("ok");
        assert_eq!(m.flags, NLM_F_CREATE | NLM_F_REQUEST | NLM_F_ACK);
        assert_eq!(m.seq, 0xdead_beef);
    }
}
