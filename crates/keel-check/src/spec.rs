//! What to check: plain data, no I/O. The daemon fills these from its configuration
//! (after resolving keepalived's inheritance virtual server → real server → checker).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::time::Duration;

use crate::Error;

/// Caller-chosen identity of one check (one checker block of one real server).
///
/// keel-check never interprets it; it comes back in every [`Event`](crate::Event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CheckId(pub u64);

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The virtual server's protocol, used only to format keepalived's log text
/// (`[192.0.2.12]:tcp:80`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Proto {
    /// `tcp`
    #[default]
    Tcp,
    /// `udp`
    Udp,
    /// `sctp`
    Sctp,
    /// `none` (fwmark services)
    None,
}

impl Proto {
    /// keepalived's spelling: `tcp`, `udp`, `sctp`, `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Sctp => "sctp",
            Proto::None => "none",
        }
    }
}

/// Generic connection options shared by TCP_CHECK, HTTP_GET and SSL_GET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOpts {
    /// `connect_ip`: address to connect to (default: the real server's address).
    pub connect_ip: Option<IpAddr>,
    /// `connect_port`: port to connect to (default: the real server's port).
    pub connect_port: Option<u16>,
    /// `bindto`: source address of the connection.
    pub bindto: Option<IpAddr>,
    /// `bind_port`: source port of the connection.
    pub bind_port: Option<u16>,
    /// `connect_timeout` (keepalived's default: 5 s). For HTTP it also bounds the
    /// TLS handshake and, separately, the request/response exchange.
    pub connect_timeout: Duration,
}

impl Default for ConnectOpts {
    fn default() -> Self {
        ConnectOpts {
            connect_ip: None,
            connect_port: None,
            bindto: None,
            bind_port: None,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

impl ConnectOpts {
    /// The address actually connected to for a real server at `target`.
    pub fn destination(&self, target: SocketAddr) -> SocketAddr {
        SocketAddr::new(
            self.connect_ip.unwrap_or(target.ip()),
            self.connect_port.unwrap_or(target.port()),
        )
    }

    /// The local address to bind before connecting to `dst` (`bindto`,
    /// `bind_port`; the unspecified address of `dst`'s family when only the
    /// port is set), or `None` to let the kernel choose.
    pub fn source(&self, dst: SocketAddr) -> Option<SocketAddr> {
        if self.bindto.is_none() && self.bind_port.is_none() {
            return None;
        }
        let unspec = if dst.is_ipv4() {
            IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
        } else {
            IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
        };
        Some(SocketAddr::new(
            self.bindto.unwrap_or(unspec),
            self.bind_port.unwrap_or(0),
        ))
    }
}

/// A set of HTTP status codes (`status_code 200-299 400-499 503`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCodes(Vec<RangeInclusive<u16>>);

impl Default for StatusCodes {
    /// keepalived's default, `200-299`.
    fn default() -> Self {
        StatusCodes(vec![200..=299])
    }
}

impl StatusCodes {
    /// Codes from explicit ranges (an empty list matches nothing).
    pub fn from_ranges(ranges: impl IntoIterator<Item = RangeInclusive<u16>>) -> Self {
        StatusCodes(ranges.into_iter().collect())
    }

    /// Parse keepalived's syntax: space-separated `N` or `N-M`, each within 100–599.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let bad = || Error::InvalidStatusCode(s.to_owned());
        let mut out = Vec::new();
        for word in s.split_whitespace() {
            let (lo, hi) = match word.split_once('-') {
                Some((a, b)) => (a.parse::<u16>(), b.parse::<u16>()),
                None => (word.parse::<u16>(), word.parse::<u16>()),
            };
            let (lo, hi) = (lo.map_err(|_| bad())?, hi.map_err(|_| bad())?);
            if !(100..=599).contains(&lo) || !(100..=599).contains(&hi) || lo > hi {
                return Err(bad());
            }
            out.push(lo..=hi);
        }
        if out.is_empty() {
            return Err(bad());
        }
        Ok(StatusCodes(out))
    }

    /// Whether `code` is in the set.
    pub fn contains(&self, code: u16) -> bool {
        self.0.iter().any(|r| r.contains(&code))
    }
}

/// An MD5 digest of a response body (`digest 9b3a0c85a887a256d6939da88aabd8cd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Md5Digest(pub [u8; 16]);

impl Md5Digest {
    /// Parse 32 hex digits (either case).
    pub fn from_hex(s: &str) -> Result<Self, Error> {
        let bad = || Error::InvalidDigest(s.to_owned());
        let b = s.as_bytes();
        if b.len() != 32 {
            return Err(bad());
        }
        let mut out = [0u8; 16];
        for (i, pair) in b.chunks_exact(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16).ok_or_else(bad)?;
            let lo = (pair[1] as char).to_digit(16).ok_or_else(bad)?;
            out[i] = (hi * 16 + lo) as u8;
        }
        Ok(Md5Digest(out))
    }
}

impl fmt::Display for Md5Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// One `url { }` block of HTTP_GET / SSL_GET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlSpec {
    /// `path`, e.g. `/` or `/health?x=1` (sent as is in the request line).
    pub path: String,
    /// `status_code` (default 200-299).
    pub status_code: StatusCodes,
    /// `digest`: MD5 of the body, checked when present.
    pub digest: Option<Md5Digest>,
    /// `virtualhost` of this URL (overrides [`HttpSpec::virtualhost`]).
    pub virtualhost: Option<String>,
    /// `regex` (with `regex_no_match`, `regex_options`, `regex_min_offset`,
    /// `regex_max_offset`): a pattern the body must (or must not) match.
    pub regex: Option<BodyRegex>,
}

/// `regex` of a `url` block: keepalived 2.2.7 matches it against the body with PCRE2;
/// keel uses the `regex` crate (no look-around, no back-references).
#[derive(Debug, Clone)]
pub struct BodyRegex {
    /// The pattern as written.
    pub pattern: String,
    /// `regex_options`, as written (`caseless`, `multiline`, `dotall`, `extended`,
    /// `ungreedy`, `utf`, `ucp`; the other PCRE2 options are accepted and ignored).
    pub options: Vec<String>,
    /// `regex_no_match`: the URL fails when the pattern matches.
    pub no_match: bool,
    /// `regex_min_offset`: the match must start at or after this body offset.
    pub min_offset: usize,
    /// `regex_max_offset`: the match must start at or before this body offset.
    pub max_offset: Option<usize>,
    compiled: regex::bytes::Regex,
}

impl PartialEq for BodyRegex {
    fn eq(&self, other: &Self) -> bool {
        (
            &self.pattern,
            &self.options,
            self.no_match,
            self.min_offset,
            self.max_offset,
        ) == (
            &other.pattern,
            &other.options,
            other.no_match,
            other.min_offset,
            other.max_offset,
        )
    }
}

impl Eq for BodyRegex {}

impl BodyRegex {
    /// Compile `pattern` with keepalived's `regex_options` words.
    pub fn new(pattern: &str, options: &[&str]) -> Result<Self, Error> {
        let mut b = regex::bytes::RegexBuilder::new(pattern);
        b.unicode(false);
        for o in options {
            match *o {
                "caseless" => b.case_insensitive(true),
                "multiline" => b.multi_line(true),
                "dotall" => b.dot_matches_new_line(true),
                "extended" => b.ignore_whitespace(true),
                "ungreedy" => b.swap_greed(true),
                "utf" | "ucp" => b.unicode(true),
                _ => &mut b,
            };
        }
        let compiled = b
            .size_limit(1 << 20)
            .build()
            .map_err(|_| Error::InvalidRegex(pattern.to_owned()))?;
        Ok(BodyRegex {
            pattern: pattern.to_owned(),
            options: options.iter().map(|o| (*o).to_owned()).collect(),
            no_match: false,
            min_offset: 0,
            max_offset: None,
            compiled,
        })
    }

    /// How many body bytes the match needs to see (`None`: the whole body, capped by
    /// the checker at 1 MiB).
    pub fn window(&self) -> Option<usize> {
        self.max_offset
    }

    /// Whether the URL passes on this body (prefix): a match starting within
    /// `min_offset..=max_offset`, inverted by `no_match`.
    pub fn passes(&self, body: &[u8]) -> bool {
        let start = self.min_offset.min(body.len());
        let found = self
            .compiled
            .find_at(body, start)
            .is_some_and(|m| self.max_offset.is_none_or(|max| m.start() <= max));
        found != self.no_match
    }
}

impl UrlSpec {
    /// `path` with the default status codes and no digest.
    pub fn new(path: impl Into<String>) -> Self {
        UrlSpec {
            path: path.into(),
            status_code: StatusCodes::default(),
            digest: None,
            virtualhost: None,
            regex: None,
        }
    }
}

/// `http_protocol`: the request line's version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpProtocol {
    /// `1.0` (keepalived's default)
    #[default]
    Http10,
    /// `1.0C`: 1.0 plus `Connection: close`
    Http10Close,
    /// `1.1` (with `Connection: close`)
    Http11,
}

/// HTTP_GET / SSL_GET options.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpSpec {
    /// The `url` blocks, checked in order; all must pass.
    pub urls: Vec<UrlSpec>,
    /// `virtualhost` (the `Host:` header), already resolved from checker / real server /
    /// virtual server. Without one the header is `ip:port` of the connection.
    pub virtualhost: Option<String>,
    /// `http_protocol`.
    pub protocol: HttpProtocol,
    /// `fast_recovery`: keepalived 2.2.7 then checks the next URL at once (not after
    /// `delay_loop`) while a down checker has seen no failure. keel checks every URL
    /// on each attempt, which is what that achieves; kept for the record.
    pub fast_recovery: bool,
}

/// How SSL_GET treats the server's certificate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TlsVerify {
    /// Accept any certificate (keepalived's behaviour: it never verifies).
    #[default]
    Off,
    /// Verify the chain against these PEM-encoded CA certificates, and the name against
    /// the SNI name (or the connect IP address when no SNI name is sent).
    CaPem(Vec<u8>),
}

/// SSL_GET's Server Name Indication.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TlsSni {
    /// No SNI (keepalived's default).
    #[default]
    Off,
    /// `enable_sni`: send the URL's / checker's virtualhost as SNI (none if there is none).
    FromVirtualhost,
    /// Send this name.
    Name(String),
}

/// SSL_GET's TLS options.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsSpec {
    /// Server Name Indication.
    pub sni: TlsSni,
    /// Certificate verification (off by default, like keepalived).
    pub verify: TlsVerify,
}

/// MISC_CHECK options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiscSpec {
    /// `misc_path`: the command line. Split like a shell splits quoted words and run
    /// directly, unless it contains shell syntax (`$`, `|`, `;`, `&`, `<`, `>`, `*`,
    /// ...), then it runs as `/bin/sh -c misc_path` ([`keel_script::Line`]).
    pub path: String,
    /// `misc_timeout` (`None` or zero: the check's `delay_loop`, as in keepalived). On timeout the
    /// script's process group gets SIGTERM, then SIGKILL 2 s later; it counts as a failure.
    pub timeout: Option<Duration>,
    /// `misc_dynamic`: exit 0 = up, 1 = down, 2–255 = up with weight `code - 2`.
    /// Without it any non-zero exit is a failure.
    pub dynamic: bool,
    /// `user USER [GROUP]`, resolved ([`keel_script::User::lookup`]); `None` = our own.
    pub user: Option<keel_script::User>,
}

impl MiscSpec {
    /// A script with default options.
    pub fn new(path: impl Into<String>) -> Self {
        MiscSpec {
            path: path.into(),
            timeout: None,
            dynamic: false,
            user: None,
        }
    }

    /// The script line (see [`MiscSpec::path`]); `None` when it is empty or its
    /// quotes do not match.
    pub fn line(&self) -> Option<keel_script::Line> {
        keel_script::Line::parse(&self.path).ok()
    }
}

/// DNS_CHECK's query type (`type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum DnsType {
    /// `A`
    A,
    /// `NS`
    Ns,
    /// `CNAME`
    Cname,
    /// `SOA` (keepalived's default)
    #[default]
    Soa,
    /// `MX`
    Mx,
    /// `TXT`
    Txt,
    /// `AAAA`
    Aaaa,
    /// `RRSIG`
    Rrsig,
    /// `DNSKEY`
    Dnskey,
}

impl DnsType {
    /// Parse keepalived's spelling (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_uppercase().as_str() {
            "A" => DnsType::A,
            "NS" => DnsType::Ns,
            "CNAME" => DnsType::Cname,
            "SOA" => DnsType::Soa,
            "MX" => DnsType::Mx,
            "TXT" => DnsType::Txt,
            "AAAA" => DnsType::Aaaa,
            "RRSIG" => DnsType::Rrsig,
            "DNSKEY" => DnsType::Dnskey,
            _ => return None,
        })
    }

    /// The RR type number.
    pub fn code(self) -> u16 {
        match self {
            DnsType::A => 1,
            DnsType::Ns => 2,
            DnsType::Cname => 5,
            DnsType::Soa => 6,
            DnsType::Mx => 15,
            DnsType::Txt => 16,
            DnsType::Aaaa => 28,
            DnsType::Rrsig => 46,
            DnsType::Dnskey => 48,
        }
    }
}

/// DNS_CHECK options: one query over UDP; healthy on a reply with the query's id and
/// RCODE NOERROR (keepalived 2.2.7 looks at nothing else).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DnsSpec {
    /// `type` (default SOA).
    pub qtype: DnsType,
    /// `name` (default: the root, `.`).
    pub name: String,
}

/// SMTP_CHECK options: read the `220` banner, send `HELO helo_name`, expect `250`,
/// send `QUIT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSpec {
    /// `helo_name` (default `smtpchecker.keepalived.org`).
    pub helo_name: String,
}

impl Default for SmtpSpec {
    fn default() -> Self {
        SmtpSpec {
            helo_name: "smtpchecker.keepalived.org".into(),
        }
    }
}

/// UDP_CHECK options: send a datagram; an ICMP unreachable (port, host, network) is a
/// failure, silence until `connect_timeout` a success unless a reply is required.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UdpSpec {
    /// `payload` (hex). `None`: keepalived's 32 bytes of `keepalived check - ...`.
    pub payload: Option<Vec<u8>>,
    /// `require_reply`: a reply must arrive within `connect_timeout`.
    pub require_reply: bool,
    /// `require_reply HEX`: the reply's first bytes; `x` nibbles match anything.
    pub reply: Option<HexPattern>,
    /// `min_reply_length` (default 0).
    pub min_reply_length: u16,
    /// `max_reply_length` (default 255).
    pub max_reply_length: u16,
}

impl UdpSpec {
    /// A UDP_CHECK with keepalived's defaults.
    pub fn new() -> Self {
        UdpSpec {
            max_reply_length: 255,
            ..UdpSpec::default()
        }
    }

    /// Whether `reply` is acceptable (keepalived's `check_udp_reply`: length within
    /// bounds, and the pattern compared over the shorter of the two).
    pub fn reply_ok(&self, reply: &[u8]) -> bool {
        if reply.len() < usize::from(self.min_reply_length)
            || reply.len() > usize::from(self.max_reply_length)
        {
            return false;
        }
        self.reply.as_ref().is_none_or(|p| p.matches_prefix(reply))
    }
}

/// Bytes written in keepalived's hex syntax (`payload`, `require_reply`): pairs of hex
/// digits, spaces allowed between octets; in a reply pattern `x` is a wildcard nibble.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HexPattern {
    /// The octets (wildcard nibbles are 0).
    pub data: Vec<u8>,
    /// Bits that must match (1) per octet.
    pub mask: Vec<u8>,
}

impl HexPattern {
    /// Parse; `wildcards` allows `x`/`X`. A single digit before a space or the end is one
    /// octet (`1 23` = 01 23), as keepalived reads it.
    pub fn parse(s: &str, wildcards: bool) -> Result<Self, Error> {
        let bad = || Error::InvalidHex(s.to_owned());
        let nibble = |c: u8| -> Result<(u8, u8), Error> {
            match c {
                b'0'..=b'9' => Ok((c - b'0', 0xf)),
                b'a'..=b'f' => Ok((c - b'a' + 10, 0xf)),
                b'A'..=b'F' => Ok((c - b'A' + 10, 0xf)),
                b'x' | b'X' if wildcards => Ok((0, 0)),
                _ => Err(bad()),
            }
        };
        let (mut data, mut mask) = (Vec::new(), Vec::new());
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b' ' || b[i] == b'\t' {
                i += 1;
                continue;
            }
            let (mut v, mut m) = nibble(b[i])?;
            i += 1;
            if i < b.len() && b[i] != b' ' && b[i] != b'\t' {
                let (v2, m2) = nibble(b[i])?;
                (v, m) = ((v << 4) | v2, (m << 4) | m2);
                i += 1;
            }
            data.push(v);
            mask.push(m);
        }
        if data.is_empty() {
            return Err(bad());
        }
        Ok(HexPattern { data, mask })
    }

    /// Whether `got` matches over the shorter of the two lengths.
    pub fn matches_prefix(&self, got: &[u8]) -> bool {
        self.data
            .iter()
            .zip(&self.mask)
            .zip(got)
            .all(|((d, m), g)| (d ^ g) & m == 0)
    }
}

/// FILE_CHECK options (a `track_file` as a real-server checker): the file holds an
/// integer `v` (unreadable or empty: 0). With `weight` 0 the checker is down while
/// `v != 0` (reversed: while `v == 0`); otherwise `v * weight` (negated when
/// reversed), clamped to the `i32` range, is added to the real server's weight, and
/// `i32::MIN` (keepalived's `IPVS_WEIGHT_FAULT`) means down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    /// The `track_file` block's name (for log text).
    pub name: String,
    /// `file` path.
    pub path: std::path::PathBuf,
    /// FILE_CHECK `weight`, else the `track_file`'s (default 1).
    pub weight: i32,
    /// `reverse`.
    pub reverse: bool,
    /// `init_file [VALUE] [overwrite]`: write VALUE (default 0) at start when the file
    /// is missing, or always with `overwrite` (never when it exists and is not a
    /// regular file).
    pub init: Option<(i32, bool)>,
    /// How often the file is read (keepalived uses inotify; keel polls). Default 1 s.
    pub poll: Duration,
}

impl FileSpec {
    /// A FILE_CHECK of `path` with weight 1.
    pub fn new(path: impl Into<std::path::PathBuf>) -> Self {
        let path = path.into();
        FileSpec {
            name: path.display().to_string(),
            path,
            weight: 1,
            reverse: false,
            init: None,
            poll: Duration::from_secs(1),
        }
    }

    /// The weight offset for a file value, or `None` for "down" (keepalived's
    /// `IPVS_WEIGHT_FAULT`).
    pub fn status(&self, value: i64) -> Option<i32> {
        if self.weight == 0 {
            return ((value != 0) == self.reverse).then_some(0);
        }
        let mult = if self.reverse { -1 } else { 1 };
        let s = value
            .saturating_mul(i64::from(self.weight))
            .saturating_mul(mult);
        let s = i32::try_from(s).unwrap_or(if s < 0 { i32::MIN } else { i32::MAX });
        (s != i32::MIN).then_some(s)
    }
}

/// The kind of checker and its specific options.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckSpec {
    /// TCP_CHECK: a TCP connect that succeeds within `connect_timeout`.
    Tcp {
        /// Connection options.
        conn: ConnectOpts,
    },
    /// HTTP_GET.
    Http {
        /// Connection options.
        conn: ConnectOpts,
        /// URLs and request options.
        http: HttpSpec,
    },
    /// SSL_GET: HTTP_GET over TLS (rustls).
    Ssl {
        /// Connection options.
        conn: ConnectOpts,
        /// URLs and request options.
        http: HttpSpec,
        /// TLS options.
        tls: TlsSpec,
    },
    /// MISC_CHECK: run a program.
    Misc(MiscSpec),
    /// DNS_CHECK: a query over UDP.
    Dns {
        /// Connection options (`connect_port` defaults to the real server's port).
        conn: ConnectOpts,
        /// Query.
        dns: DnsSpec,
    },
    /// SMTP_CHECK: banner, HELO, QUIT.
    Smtp {
        /// Connection options.
        conn: ConnectOpts,
        /// HELO name.
        smtp: SmtpSpec,
    },
    /// UDP_CHECK: a datagram, and maybe a reply.
    Udp {
        /// Connection options.
        conn: ConnectOpts,
        /// Payload and reply rules.
        udp: UdpSpec,
    },
    /// PING_CHECK: one ICMP / ICMPv6 echo within `connect_timeout` (`connect_port` and
    /// `bind_port` are ignored).
    Ping {
        /// Connection options.
        conn: ConnectOpts,
    },
    /// FILE_CHECK: up/down and weight from a file's contents.
    File(FileSpec),
}

impl CheckSpec {
    /// A TCP_CHECK with default options.
    pub fn tcp() -> Self {
        CheckSpec::Tcp {
            conn: ConnectOpts::default(),
        }
    }

    /// Which checker this is.
    pub fn kind(&self) -> CheckKind {
        match self {
            CheckSpec::Tcp { .. } => CheckKind::Tcp,
            CheckSpec::Http { .. } => CheckKind::Http,
            CheckSpec::Ssl { .. } => CheckKind::Ssl,
            CheckSpec::Misc(_) => CheckKind::Misc,
            CheckSpec::Dns { .. } => CheckKind::Dns,
            CheckSpec::Smtp { .. } => CheckKind::Smtp,
            CheckSpec::Udp { .. } => CheckKind::Udp,
            CheckSpec::Ping { .. } => CheckKind::Ping,
            CheckSpec::File(_) => CheckKind::File,
        }
    }
}

/// The checker type, without options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CheckKind {
    /// TCP_CHECK
    Tcp,
    /// HTTP_GET
    Http,
    /// SSL_GET
    Ssl,
    /// MISC_CHECK
    Misc,
    /// DNS_CHECK
    Dns,
    /// SMTP_CHECK
    Smtp,
    /// UDP_CHECK
    Udp,
    /// PING_CHECK
    Ping,
    /// FILE_CHECK
    File,
}

impl CheckKind {
    /// keepalived's default `retry`: 1, except MISC_CHECK and FILE_CHECK 0 and
    /// DNS_CHECK 3.
    pub fn default_retry(self) -> u32 {
        match self {
            CheckKind::Misc | CheckKind::File => 0,
            CheckKind::Dns => 3,
            _ => 1,
        }
    }

    /// keepalived's default `delay_before_retry`: 3 s for HTTP_GET/SSL_GET, else 1 s;
    /// `None` for DNS_CHECK, whose default is its `delay_loop`.
    pub fn default_delay_before_retry(self) -> Option<Duration> {
        match self {
            CheckKind::Http | CheckKind::Ssl => Some(Duration::from_secs(3)),
            CheckKind::Dns => None,
            _ => Some(Duration::from_secs(1)),
        }
    }

    /// keepalived's block keyword (`TCP_CHECK`, `HTTP_GET`, ...).
    pub fn keyword(self) -> &'static str {
        match self {
            CheckKind::Tcp => "TCP_CHECK",
            CheckKind::Http => "HTTP_GET",
            CheckKind::Ssl => "SSL_GET",
            CheckKind::Misc => "MISC_CHECK",
            CheckKind::Dns => "DNS_CHECK",
            CheckKind::Smtp => "SMTP_CHECK",
            CheckKind::Udp => "UDP_CHECK",
            CheckKind::Ping => "PING_CHECK",
            CheckKind::File => "FILE_CHECK",
        }
    }
}

/// One checker of one real server, with its timing options resolved.
///
/// `None` options take keepalived's defaults for the checker type (see the accessors).
/// keepalived's old `nb_get_retry` keyword is an alias of [`retry`](Self::retry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealServerCheck {
    /// Caller's id, returned in events.
    pub id: CheckId,
    /// The real server's address and port (the default connect target, and the
    /// address shown in log text).
    pub target: SocketAddr,
    /// The virtual server's protocol, for log text only.
    pub proto: Proto,
    /// The virtual server as keepalived prints it (e.g. `[192.0.2.250]:tcp:80`), for
    /// MISC_CHECK's log text only.
    pub virtual_server: Option<String>,
    /// What to check.
    pub spec: CheckSpec,
    /// `delay_loop`: interval between checks (keepalived's default 60 s).
    pub delay_loop: Duration,
    /// `retry` (alias `nb_get_retry`): extra attempts before an up server is declared down.
    pub retry: Option<u32>,
    /// `delay_before_retry`: interval between those attempts.
    pub delay_before_retry: Option<Duration>,
    /// `warmup`: the first check starts after a random delay in `0..=warmup`
    /// (default `delay_loop`; zero disables), on top of the runner's bootstrap delay.
    pub warmup: Option<Duration>,
    /// `alpha`: start as down (otherwise start as up).
    pub alpha: bool,
    /// `log_all_failures`: also report each failed attempt of an up check (the ones
    /// that are retried) as [`Event::AttemptFailed`](crate::Event::AttemptFailed).
    pub log_all_failures: bool,
}

impl RealServerCheck {
    /// A check with keepalived's defaults (`delay_loop` 60 s, not alpha).
    pub fn new(id: CheckId, target: SocketAddr, spec: CheckSpec) -> Self {
        RealServerCheck {
            id,
            target,
            proto: Proto::Tcp,
            virtual_server: None,
            spec,
            delay_loop: Duration::from_secs(60),
            retry: None,
            delay_before_retry: None,
            warmup: None,
            alpha: false,
            log_all_failures: false,
        }
    }

    /// `retry`, or the checker type's default.
    pub fn effective_retry(&self) -> u32 {
        self.retry.unwrap_or(self.spec.kind().default_retry())
    }

    /// `delay_before_retry`, or the checker type's default.
    pub fn effective_delay_before_retry(&self) -> Duration {
        self.delay_before_retry
            .or(self.spec.kind().default_delay_before_retry())
            .unwrap_or(self.delay_loop)
    }

    /// `warmup`, or `delay_loop`.
    pub fn effective_warmup(&self) -> Duration {
        self.warmup.unwrap_or(self.delay_loop)
    }

    /// The real server as keepalived prints it: `[192.0.2.12]:tcp:80`.
    pub fn server_label(&self) -> String {
        format!(
            "[{}]:{}:{}",
            self.target.ip(),
            self.proto.as_str(),
            self.target.port()
        )
    }

    /// Check the options that can be wrong independently of the network.
    pub fn validate(&self) -> Result<(), Error> {
        if self.delay_loop.is_zero() {
            return Err(Error::ZeroDelayLoop(self.id));
        }
        match &self.spec {
            CheckSpec::Http { http, .. } | CheckSpec::Ssl { http, .. } if http.urls.is_empty() => {
                Err(Error::NoUrl(self.id))
            }
            CheckSpec::Misc(m) if m.line().is_none() => Err(Error::EmptyMiscPath(self.id)),
            CheckSpec::Dns { dns, .. } => dns_name(&dns.name)
                .map(|_| ())
                .ok_or_else(|| Error::InvalidDnsName(dns.name.clone())),
            CheckSpec::File(f) if f.poll.is_zero() => Err(Error::ZeroDelayLoop(self.id)),
            _ => Ok(()),
        }
    }
}

/// DNS_CHECK's `name` as a fully qualified name (keepalived: empty = the root; no
/// empty labels).
pub(crate) fn dns_name(name: &str) -> Option<hickory_proto::rr::Name> {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() {
        return (name.is_empty() || name == ".").then(hickory_proto::rr::Name::root);
    }
    if trimmed.split('.').any(str::is_empty) {
        return None;
    }
    let mut n = hickory_proto::rr::Name::from_ascii(trimmed).ok()?;
    n.set_fqdn(true);
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_parse() {
        let s = StatusCodes::parse("200 300-302 503").unwrap();
        assert!(s.contains(200) && s.contains(301) && s.contains(503));
        assert!(!s.contains(201) && !s.contains(303));
        assert!(StatusCodes::default().contains(204));
        assert!(!StatusCodes::default().contains(301));
        assert!(StatusCodes::parse("").is_err());
        assert!(StatusCodes::parse("99").is_err());
        assert!(StatusCodes::parse("300-200").is_err());
        assert!(StatusCodes::parse("2x0").is_err());
    }

    #[test]
    fn digest_hex() {
        let d = Md5Digest::from_hex("9B3A0c85a887a256d6939da88aabd8cd").unwrap();
        assert_eq!(d.0[0], 0x9b);
        assert_eq!(d.to_string(), "9b3a0c85a887a256d6939da88aabd8cd");
        assert!(Md5Digest::from_hex("9b3a").is_err());
        assert!(Md5Digest::from_hex("zz3a0c85a887a256d6939da88aabd8cd").is_err());
        assert!(Md5Digest::from_hex("é3a0c85a887a256d6939da88aabd8c").is_err());
    }

    #[test]
    fn misc_argv() {
        let argv = |p: &str| MiscSpec::new(p).line().map(|l| l.argv().to_vec());
        assert_eq!(
            argv("/usr/bin/check  -p 80").unwrap(),
            ["/usr/bin/check", "-p", "80"]
        );
        assert_eq!(
            argv("/usr/bin/check | grep ok").unwrap(),
            ["/bin/sh", "-c", "/usr/bin/check | grep ok"]
        );
        assert_eq!(argv("check 'a b'").unwrap(), ["check", "a b"]);
        assert!(argv("   ").is_none());
    }

    #[test]
    fn defaults_follow_keepalived() {
        let t = "192.0.2.12:80".parse().unwrap();
        let c = RealServerCheck::new(CheckId(1), t, CheckSpec::tcp());
        assert_eq!(c.effective_retry(), 1);
        assert_eq!(c.effective_delay_before_retry(), Duration::from_secs(1));
        assert_eq!(c.effective_warmup(), Duration::from_secs(60));
        assert_eq!(c.server_label(), "[192.0.2.12]:tcp:80");
        let m = RealServerCheck::new(CheckId(2), t, CheckSpec::Misc(MiscSpec::new("/bin/true")));
        assert_eq!(m.effective_retry(), 0);
        let h = RealServerCheck::new(
            CheckId(3),
            "[2001:db8::1]:443".parse().unwrap(),
            CheckSpec::Http {
                conn: ConnectOpts::default(),
                http: HttpSpec::default(),
            },
        );
        assert_eq!(h.effective_delay_before_retry(), Duration::from_secs(3));
        assert_eq!(h.server_label(), "[2001:db8::1]:tcp:443");
        assert_eq!(h.validate(), Err(Error::NoUrl(CheckId(3))));
    }
}
