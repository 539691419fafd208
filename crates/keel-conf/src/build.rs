//! Builds the typed model from statements, with per-value checks.

use crate::diag::{Code, Severity};
use crate::diags::{Diags, Pos};
use crate::keywords::{self, Block, MANY, Opens, Status};
use crate::model::*;
use crate::stmt::{Ev, Reader, Stmt};
use crate::values::{parse_addr_prefix, parse_bool, parse_int, parse_secs};
use std::net::IpAddr;
use std::time::Duration;

/// Positions of individual keywords, kept for checks that need the whole model.
#[derive(Debug, Default, Clone)]
pub(crate) struct InstPos {
    pub head: Pos,
    pub vrid: Option<Pos>,
    pub advert: Option<Pos>,
    pub auth: Option<Pos>,
    pub interface: Option<Pos>,
    pub version: Option<Pos>,
    pub vips: Vec<Pos>,
    pub track_scripts: Vec<Pos>,
    pub track_ifs: Vec<Pos>,
    pub vip_devs: Vec<(usize, Pos)>,
    pub state: Option<Pos>,
    pub nopreempt: Option<Pos>,
    pub preempt_delay: Option<Pos>,
    pub unicast_peer: Option<Pos>,
    /// `mcast_dst_ip` (a keyword keel does not implement, read only so that the
    /// duplicate-VRID check treats instances as keepalived does).
    pub mcast_dst: Option<IpAddr>,
}

/// Side information for the checks in `check.rs`.
#[derive(Debug, Default)]
pub(crate) struct Side {
    pub inst: Vec<InstPos>,
    pub sync_members: Vec<Vec<Pos>>,
    pub sync_heads: Vec<Pos>,
    pub sync_track_ifs: Vec<Vec<Pos>>,
    pub script_heads: Vec<Pos>,
    pub script_has_script: Vec<bool>,
    pub vs_heads: Vec<Pos>,
    pub rs_heads: Vec<Vec<Pos>>,
    pub vsg_heads: Vec<Pos>,
    pub sync_daemon: Option<(Pos, Option<Pos>)>,
    pub vrrp_version: Option<Pos>,
}

pub(crate) struct Builder<'r, 'a> {
    pub r: &'r mut Reader<'a>,
    pub cfg: Config,
    pub side: Side,
    /// The last `mcast_dst_ip` seen in a vrrp_instance (see [`InstPos::mcast_dst`]).
    mcast_dst: Option<IpAddr>,
    /// The instance's `use_vmac` MAC had five octets (the sixth is the VRID).
    vmac_five: bool,
}

fn pos_span(files: &[std::sync::Arc<std::path::Path>], p: Pos) -> Span {
    Span {
        file: files
            .get(p.file as usize)
            .cloned()
            .unwrap_or_else(|| Span::default().file),
        line: p.line,
        col: p.col,
    }
}

// ---- value helpers --------------------------------------------------------------------

fn bad(d: &mut Diags, st: &Stmt, i: usize, msg: String) {
    d.error(Code::InvalidValue, st.arg_pos(i), msg);
}

fn num(st: &Stmt, d: &mut Diags, i: usize, min: i64, max: i64) -> Option<i64> {
    let s = st.arg(i)?;
    match parse_int(s) {
        Some(v) if (min..=max).contains(&v) => Some(v),
        Some(v) => {
            d.error_hint(
                Code::InvalidValue,
                st.arg_pos(i),
                format!("{} {v} is out of range", st.word(0)),
                format!("{} takes {min}..{max}", st.word(0)),
            );
            None
        }
        None => {
            bad(
                d,
                st,
                i,
                format!(
                    "'{s}' is not a whole number ({} takes {min}..{max})",
                    st.word(0)
                ),
            );
            None
        }
    }
}

fn secs(st: &Stmt, d: &mut Diags, i: usize) -> Option<Duration> {
    let s = st.arg(i)?;
    match parse_secs(s) {
        Some(v) => Some(v),
        None => {
            d.error_hint(
                Code::InvalidValue,
                st.arg_pos(i),
                format!("'{s}' is not a time in seconds"),
                "write seconds, optionally with a fraction, e.g. 3 or 0.5",
            );
            None
        }
    }
}

fn ip(st: &Stmt, d: &mut Diags, i: usize) -> Option<IpAddr> {
    let s = st.arg(i)?;
    match s.parse::<IpAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            bad(d, st, i, format!("'{s}' is not an IP address"));
            None
        }
    }
}

fn port(st: &Stmt, d: &mut Diags, i: usize) -> Option<u16> {
    num(st, d, i, 0, 65535).map(|v| v as u16)
}

/// The words after `lb_kind METHOD` (keepalived's svr_forwarding_handler): `type ipip|gue|gre`,
/// `port P` (GUE only, required for it), `nocsum|csum|remcsum`. None (with a diagnostic)
/// when they are wrong; keepalived then keeps the previous tunnel settings. Read for any
/// method, as keepalived does (their diagnostics), and kept with TUN only.
fn tunnel_options(st: &Stmt, d: &mut Diags, prev: Forward) -> Option<Forward> {
    let (mut kind, mut tport, mut checksum) = (TunnelType::Ipip, 0, TunnelFlags::NOCSUM);
    let mut port_at = None;
    let mut i = 1;
    while i < st.nargs() {
        let w = st.arg(i).unwrap_or("");
        match w {
            "type" | "port" if i + 1 >= st.nargs() => {
                d.error(Code::Missing, st.arg_pos(i), format!("'{w}' needs a value"));
                return None;
            }
            "type" => {
                kind = match st.arg(i + 1).unwrap_or("") {
                    "ipip" => TunnelType::Ipip,
                    "gue" => TunnelType::Gue,
                    "gre" => TunnelType::Gre,
                    k => {
                        d.error_hint(
                            Code::InvalidValue,
                            st.arg_pos(i + 1),
                            format!("unknown tunnel type '{k}'"),
                            "tunnel types: ipip gue gre",
                        );
                        return None;
                    }
                };
                i += 2;
            }
            "port" => {
                tport = num(st, d, i + 1, 1, 65535)? as u16;
                port_at = Some(st.arg_pos(i));
                i += 2;
            }
            "nocsum" | "csum" | "remcsum" => {
                checksum = match w {
                    "csum" => TunnelFlags::CSUM,
                    "remcsum" => TunnelFlags::REMCSUM,
                    _ => TunnelFlags::NOCSUM,
                };
                i += 1;
            }
            _ => {
                bad(d, st, i, format!("unknown tunnel option '{w}'"));
                return None;
            }
        }
    }
    if st.nargs() <= 1 {
        return Some(prev);
    }
    let at = port_at.unwrap_or(st.arg_pos(1));
    let problem = match (kind, tport != 0, checksum) {
        (TunnelType::Gue, false, _) => Some("a gue tunnel needs 'port P'"),
        (TunnelType::Ipip | TunnelType::Gre, true, _) => Some("only a gue tunnel takes a port"),
        (TunnelType::Ipip, _, c) if c != TunnelFlags::NOCSUM => {
            Some("ipip tunnels have no checksum option")
        }
        (TunnelType::Gre, _, TunnelFlags::REMCSUM) => {
            Some("gre tunnels have no remote checksum option")
        }
        _ => None,
    };
    if let Some(p) = problem {
        d.error(Code::InvalidValue, at, p);
        return None;
    }
    Some(Forward::Tunnel {
        kind,
        port: tport,
        flags: checksum,
    })
}

/// `persistence_granularity`: a netmask for IPv4, a prefix length (1..128) for IPv6
/// (keepalived's pgr_handler: the family is the service's, or for fwmark/group services
/// IPv4 when the value has a '.'). The IPv6 length is kept as the netmask it stands for.
fn granularity(st: &Stmt, d: &mut Diags, addr: &VsAddr) -> Option<IpAddr> {
    let s = st.arg(0)?;
    let v6 = match addr {
        VsAddr::Ip { addr, .. } => addr.is_ipv6(),
        _ => !s.contains('.'),
    };
    if v6 && let Some(n) = parse_int(s) {
        if !(1..=128).contains(&n) {
            bad(
                d,
                st,
                0,
                format!("IPv6 persistence_granularity {n} is not 1..128"),
            );
            return None;
        }
        return Some(IpAddr::V6(std::net::Ipv6Addr::from(
            u128::MAX << (128 - n as u32),
        )));
    }
    ip(st, d, 0)
}

/// A VMAC's MAC address: six octets, or five (the sixth is then the VRID, set later as
/// 0). Refused as keepalived does: multicast, or the VRRP range 00:00:5e:00:01/02:xx.
fn vmac_addr(w: &str) -> Result<([u8; 6], bool), String> {
    let parts: Vec<&str> = w.trim_end_matches(':').split(':').collect();
    let mut m = [0u8; 6];
    if !(5..=6).contains(&parts.len()) {
        return Err(format!("'{w}' is not a MAC address"));
    }
    for (o, p) in m.iter_mut().zip(&parts) {
        *o = u8::from_str_radix(p, 16)
            .ok()
            .filter(|_| (1..=2).contains(&p.len()))
            .ok_or_else(|| format!("'{w}' is not a MAC address"))?;
    }
    if m[0] & 1 != 0 {
        return Err(format!("VMAC address {w} is a multicast address"));
    }
    if m[..4] == [0, 0, 0x5e, 0] && (m[4] == 1 || m[4] == 2) {
        return Err(format!(
            "VMAC address {w} is in the VRRP range 00:00:5e:00:01/02:xx (RFC 5798)"
        ));
    }
    Ok((m, parts.len() == 5))
}

/// `garp_master_refresh` / `vrrp_garp_master_refresh`: whole seconds, as keepalived
/// reads them (read_unsigned_strvec: `1.0` is refused).
fn whole_secs(st: &Stmt, d: &mut Diags) -> Option<Duration> {
    let s = st.arg(0)?;
    match s.parse::<u32>() {
        Ok(n) => Some(Duration::from_secs(u64::from(n))),
        Err(_) => {
            d.error_hint(
                Code::InvalidValue,
                st.arg_pos(0),
                format!("'{s}' is not a whole number of seconds"),
                "keepalived 2.2.7 reads this value as an integer (0 = no refresh)",
            );
            None
        }
    }
}

/// `vrrp_garp_interval` / `vrrp_gna_interval`: 0.000001..4294.967295 s (keepalived
/// refuses 0).
fn gap_secs(st: &Stmt, d: &mut Diags) -> Option<Duration> {
    let v = secs(st, d, 0)?;
    if v < Duration::from_micros(1) || v > Duration::from_micros(u64::from(u32::MAX)) {
        d.error_hint(
            Code::InvalidValue,
            st.arg_pos(0),
            format!(
                "{} '{}' is out of range",
                st.word(0),
                st.arg(0).unwrap_or("")
            ),
            "takes 0.000001 to 4294.967295 seconds",
        );
        return None;
    }
    Some(v)
}

/// Optional `<BOOL>` argument: absent means true.
fn opt_bool(st: &Stmt, d: &mut Diags, i: usize) -> bool {
    match st.arg(i) {
        None => true,
        Some(s) => match parse_bool(s) {
            Some(b) => b,
            None => {
                d.error_hint(
                    Code::InvalidValue,
                    st.arg_pos(i),
                    format!("'{s}' is not a boolean"),
                    "use on|off|true|false|yes|no, or nothing for on",
                );
                true
            }
        },
    }
}

/// The connection keywords of a checker (and of an SMTP_CHECK `host`).
fn conn_keyword(c: &mut Checker, name: &str, st: &Stmt, d: &mut Diags) {
    match name {
        "connect_ip" => c.connect_ip = ip(st, d, 0),
        "connect_port" => c.connect_port = port(st, d, 0),
        "bindto" => c.bindto = ip(st, d, 0),
        "bind_port" => c.bind_port = port(st, d, 0),
        "connect_timeout" => c.connect_timeout = secs(st, d, 0),
        "fwmark" => c.fwmark = num(st, d, 0, 0, u32::MAX as i64).map(|v| v as u32),
        _ => {}
    }
}

/// FILE_CHECK's keywords.
fn file_check_keyword(c: &mut Checker, name: &str, st: &Stmt, d: &mut Diags) {
    let CheckKind::File(f) = &mut c.kind else {
        return;
    };
    match name {
        "track_file" => f.track_file = st.arg(0).unwrap_or("").to_string(),
        "weight" => {
            let Some(w) = num(st, d, 0, i64::from(i32::MIN) + 1, i64::from(i32::MAX)) else {
                return;
            };
            let reverse = match st.arg(1) {
                Some("reverse") => true,
                Some("noreverse") | None => false,
                Some(x) => {
                    bad(d, st, 1, format!("unknown track file weight option {x}"));
                    return;
                }
            };
            f.weight = Some((w as i32, reverse));
        }
        _ => {}
    }
}

/// keepalived's `read_hex_str`: hex digit pairs, blanks between octets, `x` wildcards
/// where allowed.
fn hex_ok(s: &str, wildcards: bool) -> bool {
    let ok = |c: char| c.is_ascii_hexdigit() || (wildcards && (c == 'x' || c == 'X'));
    let words: Vec<&str> = s.split_whitespace().collect();
    !words.is_empty() && words.iter().all(|w| w.chars().all(ok))
}

fn words_from(st: &Stmt, i: usize) -> String {
    st.rest(i)
}

fn script_user(st: &Stmt, i: usize) -> Option<ScriptUser> {
    st.arg(i).map(|u| ScriptUser {
        user: u.to_string(),
        group: st.arg(i + 1).map(str::to_string),
    })
}

fn did_you_mean(word: &str, options: &[&str]) -> Option<String> {
    let mut best: Option<(usize, &str)> = None;
    for o in options {
        let dist = keywords::edit_distance(&word.to_ascii_lowercase(), &o.to_ascii_lowercase());
        if best.is_none_or(|(b, _)| dist < b) {
            best = Some((dist, o));
        }
    }
    best.filter(|(dd, _)| *dd <= 2)
        .map(|(_, o)| format!("did you mean '{o}'?"))
}

fn scope(s: &str) -> Option<Scope> {
    Some(match s {
        "global" | "0" => Scope::Global,
        "site" | "200" => Scope::Site,
        "link" | "253" => Scope::Link,
        "host" | "254" => Scope::Host,
        "nowhere" | "255" => Scope::Nowhere,
        n => Scope::Other(n.parse().ok()?),
    })
}

impl<'r, 'a> Builder<'r, 'a> {
    pub fn new(r: &'r mut Reader<'a>) -> Self {
        Builder {
            r,
            cfg: Config::default(),
            side: Side::default(),
            mcast_dst: None,
            vmac_five: false,
        }
    }

    fn span(&self, p: Pos) -> Span {
        pos_span(&self.r.pre.files, p)
    }

    /// Next valid statement of `block` opened at `open`; None at its end. Unknown,
    /// unsupported and malformed statements are reported and skipped here.
    fn next_in(&mut self, block: Block, open: Pos) -> Option<&'static str> {
        loop {
            match self.r.next(block, false) {
                Ev::Eof => {
                    if block != Block::Top {
                        self.r.diags.error_hint(
                            Code::Syntax,
                            open,
                            format!("{} block is never closed", block.name()),
                            "add the missing '}'",
                        );
                    }
                    return None;
                }
                Ev::End(p) => {
                    if block == Block::Top {
                        self.r
                            .diags
                            .error(Code::Syntax, p, "unexpected '}' (no block is open)");
                        continue;
                    }
                    return None;
                }
                Ev::Stmt => {}
            }
            if let Some(name) = self.validate(block) {
                return Some(name);
            }
        }
    }

    /// Check the current statement against the keyword table.
    fn validate(&mut self, block: Block) -> Option<&'static str> {
        let r = &mut *self.r;
        let st = &r.stmt;
        let d = &mut r.diags;
        let p0 = st.pos(0);
        let has_block = st.has_block;
        let Some(kw) = st.kw else {
            let word = st.word(0).to_string();
            let elsewhere: Vec<Block> = keywords::blocks_of(&word)
                .into_iter()
                .filter(|b| *b != block)
                .collect();
            let hint = if let Some(s) = keywords::suggest(block, &word) {
                Some(format!("did you mean '{s}'?"))
            } else {
                elsewhere
                    .first()
                    .map(|b| format!("'{word}' belongs in a {} block", b.name()))
            };
            let msg = if word.is_empty() {
                format!("empty keyword in {}", block.name())
            } else if st.is_quoted(0) {
                format!("unexpected quoted string \"{word}\" in {}", block.name())
            } else {
                format!("unknown keyword '{word}' in {}", block.name())
            };
            d.push(Severity::Error, Code::UnknownKeyword, p0, msg, hint);
            if has_block {
                r.skip_block(p0);
            }
            return None;
        };
        match kw.status {
            Status::Unsupported => {
                if kw.name == "mcast_dst_ip" && block == Block::VrrpInstance {
                    self.mcast_dst = st.arg(0).and_then(|a| a.parse().ok());
                }
                d.warn_hint(
                    Code::Unsupported,
                    p0,
                    format!(
                        "'{}' (in {}) is not supported by keel; ignored",
                        kw.name,
                        block.name()
                    ),
                    "keepalived knows this keyword; keel does not implement it yet",
                );
                if has_block {
                    r.skip_block(p0);
                }
                return None;
            }
            Status::Alias { of } if kw.name == "nb_get_retry" => {
                d.note_hint(
                    Code::UnknownKeyword,
                    p0,
                    format!("'nb_get_retry' accepted as '{of}'"),
                    "nb_get_retry is the old name of retry (keepalived 2.x rejects it as unknown)",
                );
            }
            _ => {}
        }
        let canonical = match kw.status {
            Status::Alias { of } => keywords::lookup(block, of).map_or(kw.name, |k| k.name),
            _ => kw.name,
        };
        let n = st.nargs();
        if n < kw.min_args as usize {
            d.error_hint(
                Code::Missing,
                st.pos(n + 1),
                format!(
                    "'{}' needs {} argument{}",
                    kw.name,
                    kw.min_args,
                    if kw.min_args == 1 { "" } else { "s" }
                ),
                format!("{}: {}", kw.name, kw.doc),
            );
            if has_block {
                r.skip_block(p0);
            }
            return None;
        }
        if kw.max_args != MANY && n > kw.max_args as usize {
            let i = kw.max_args as usize;
            d.error_hint(
                Code::InvalidValue,
                st.arg_pos(i),
                format!(
                    "unexpected argument '{}' after '{}'",
                    st.arg(i).unwrap_or(""),
                    kw.name
                ),
                format!("{}: {}", kw.name, kw.doc),
            );
        }
        match kw.opens {
            Opens::Nothing if has_block => {
                d.error(
                    Code::Syntax,
                    p0,
                    format!("'{}' does not take a block", kw.name),
                );
                r.skip_block(p0);
                return None;
            }
            Opens::Block(_) | Opens::List if !has_block => {
                d.error_hint(
                    Code::Syntax,
                    st.pos(n + 1),
                    format!("expected '{{' after '{}'", kw.name),
                    format!("'{}' opens a block: {} {{ ... }}", kw.name, kw.name),
                );
                return None;
            }
            _ => {}
        }
        Some(canonical)
    }

    /// Next line of a list block; None at its end.
    fn next_item(&mut self, open: Pos, what: &str) -> bool {
        loop {
            match self.r.next(Block::Top, true) {
                Ev::Eof => {
                    self.r.diags.error_hint(
                        Code::Syntax,
                        open,
                        format!("{what} block is never closed"),
                        "add the missing '}'",
                    );
                    return false;
                }
                Ev::End(_) => return false,
                Ev::Stmt => {
                    if self.r.stmt.has_block {
                        let p = self.r.stmt.pos(0);
                        self.r.diags.error(
                            Code::Syntax,
                            p,
                            format!("unexpected block inside {what}"),
                        );
                        self.r.skip_block(p);
                        continue;
                    }
                    return true;
                }
            }
        }
    }

    // ---- top level ----------------------------------------------------------------------

    pub fn run(&mut self) {
        while let Some(name) = self.next_in(Block::Top, Pos::default()) {
            let head = self.r.stmt.pos(0);
            match name {
                "global_defs" => self.global_defs(head),
                "vrrp_instance" => self.vrrp_instance(head),
                "vrrp_sync_group" => self.sync_group(head),
                "vrrp_script" => self.vrrp_script(head),
                "virtual_server" => self.virtual_server(head),
                "virtual_server_group" => self.vs_group(head),
                "track_file" => self.track_file(head),
                _ => {}
            }
        }
        self.cfg.virtual_servers.shrink_to_fit();
        self.cfg.vrrp_instances.shrink_to_fit();
    }

    // ---- global_defs --------------------------------------------------------------------

    fn global_defs(&mut self, head: Pos) {
        let mut g = std::mem::take(&mut self.cfg.global);
        g.span = self.span(head);
        while let Some(name) = self.next_in(Block::GlobalDefs, head) {
            if name == "notification_email" {
                let open = self.r.stmt.pos(0);
                while self.next_item(open, "notification_email") {
                    let st = &self.r.stmt;
                    for i in 0..st.len() {
                        g.notification_email.push(st.word(i).to_string());
                    }
                }
                continue;
            }
            if name == "keel_anycast" {
                let open = self.r.stmt.pos(0);
                while self.next_item(open, "keel_anycast") {
                    let r = &mut *self.r;
                    if let Some(s) = anycast_speaker(&r.stmt, &mut r.diags) {
                        g.keel_anycast = Some(s);
                    }
                }
                continue;
            }
            let r = &mut *self.r;
            let st = &r.stmt;
            let d = &mut r.diags;
            match name {
                "router_id" => g.router_id = st.arg(0).map(str::to_string),
                "vrrp_version" => {
                    self.side.vrrp_version = Some(st.arg_pos(0));
                    match st.arg(0) {
                        Some("2") => g.vrrp_version = VrrpVersion::V2,
                        Some("3") => g.vrrp_version = VrrpVersion::V3,
                        Some(v) => bad(d, st, 0, format!("vrrp_version must be 2 or 3, not '{v}'")),
                        None => {}
                    }
                }
                "script_user" => g.script_user = script_user(st, 0),
                "enable_script_security" => g.enable_script_security = true,
                "vrrp_garp_master_delay" => {
                    if let Some(v) = secs(st, d, 0) {
                        g.vrrp_garp_master_delay = v
                    }
                }
                "vrrp_garp_master_repeat" => {
                    if let Some(v) = num(st, d, 0, 1, 1_000_000) {
                        g.vrrp_garp_master_repeat = v as u32
                    }
                }
                "vrrp_garp_master_refresh" => {
                    g.vrrp_garp_master_refresh = whole_secs(st, d).filter(|v| !v.is_zero())
                }
                "vrrp_garp_master_refresh_repeat" => {
                    if let Some(v) = num(st, d, 0, 1, 1_000_000) {
                        g.vrrp_garp_master_refresh_repeat = v as u32
                    }
                }
                "vrrp_garp_lower_prio_delay" => g.vrrp_garp_lower_prio_delay = secs(st, d, 0),
                "vrrp_garp_lower_prio_repeat" => {
                    g.vrrp_garp_lower_prio_repeat = num(st, d, 0, 0, 1_000_000).map(|v| v as u32)
                }
                "vrrp_garp_interval" => {
                    if let Some(v) = gap_secs(st, d) {
                        g.vrrp_garp_interval = v
                    }
                }
                "vrrp_gna_interval" => {
                    if let Some(v) = gap_secs(st, d) {
                        g.vrrp_gna_interval = v
                    }
                }
                "vrrp_min_garp" => g.vrrp_min_garp = opt_bool(st, d, 0),
                "vrrp_strict" => g.vrrp_strict = true,
                "vrrp_skip_check_adv_addr" => g.vrrp_skip_check_adv_addr = opt_bool(st, d, 0),
                "vrrp_check_unicast_src" => g.vrrp_check_unicast_src = true,
                "lvs_flush" => g.lvs_flush = true,
                "keel_stop_mode" => match st.arg(0) {
                    Some("resign") => g.keel_stop_mode = Some(StopMode::Resign),
                    Some("handover") => g.keel_stop_mode = Some(StopMode::Handover),
                    Some(v) => bad(
                        d,
                        st,
                        0,
                        format!("keel_stop_mode must be resign or handover, not '{v}'"),
                    ),
                    None => {}
                },
                "keel_metrics_listen" => match st.arg(0).map(str::parse) {
                    Some(Ok(a)) => g.keel_metrics_listen = Some(a),
                    Some(Err(_)) => bad(
                        d,
                        st,
                        0,
                        "keel_metrics_listen takes ADDRESS:PORT ([ADDRESS]:PORT for IPv6)".into(),
                    ),
                    None => {}
                },
                "notification_email_from" => {
                    g.notification_email_from = st.arg(0).map(str::to_string)
                }
                "smtp_server" => {
                    let host = st.arg(0).unwrap_or("").to_string();
                    let port = if st.nargs() > 1 {
                        port(st, d, 1).unwrap_or(25)
                    } else {
                        25
                    };
                    g.smtp_server = Some(SmtpServer { host, port });
                }
                "smtp_helo_name" => g.smtp_helo_name = st.arg(0).map(str::to_string),
                "smtp_connect_timeout" => {
                    if let Some(v) = secs(st, d, 0) {
                        g.smtp_connect_timeout = v
                    }
                }
                "smtp_alert" => g.smtp_alert = opt_bool(st, d, 0),
                "dynamic_interfaces" => {
                    // keepalived 2.2.7 takes one option, allow_if_changes.
                    if st.arg(0) == Some("allow_if_changes") {
                        g.dynamic_interfaces = true;
                        d.warn_hint(
                            Code::Unsupported,
                            st.arg_pos(0),
                            "'dynamic_interfaces allow_if_changes' is not supported by keel; read as 'dynamic_interfaces'",
                            "keepalived lets a VMAC's underlying interface change; keel does not",
                        );
                    } else {
                        g.dynamic_interfaces = opt_bool(st, d, 0);
                    }
                }
                "lvs_timeouts" => {
                    let mut i = 0;
                    while i < st.nargs() {
                        let k = st.arg(i).unwrap_or("");
                        if !matches!(k, "tcp" | "tcpfin" | "udp") {
                            d.push(
                                Severity::Error,
                                Code::InvalidValue,
                                st.arg_pos(i),
                                format!("unknown lvs_timeouts option '{k}'"),
                                did_you_mean(k, &["tcp", "tcpfin", "udp"])
                                    .or(Some("options: tcp T, tcpfin T, udp T".into())),
                            );
                            i += 1;
                            continue;
                        }
                        if st.arg(i + 1).is_none() {
                            d.error(
                                Code::Missing,
                                st.arg_pos(i + 1),
                                format!("lvs_timeouts {k} needs a value"),
                            );
                            break;
                        }
                        let v = secs(st, d, i + 1);
                        match k {
                            "tcp" => g.lvs_timeouts.tcp = v,
                            "tcpfin" => g.lvs_timeouts.tcpfin = v,
                            _ => g.lvs_timeouts.udp = v,
                        }
                        i += 2;
                    }
                }
                "lvs_sync_daemon" => {
                    let mut sd = LvsSyncDaemon {
                        interface: st.arg(0).unwrap_or("").to_string(),
                        span: pos_span(&r.pre.files, st.pos(0)),
                        ..Default::default()
                    };
                    let mut inst_pos = None;
                    let mut i = 1;
                    while i < st.nargs() {
                        let k = st.arg(i).unwrap_or("");
                        if st.arg(i + 1).is_none()
                            && matches!(k, "inst" | "id" | "maxlen" | "port" | "ttl" | "group")
                        {
                            d.error(
                                Code::Missing,
                                st.arg_pos(i + 1),
                                format!("lvs_sync_daemon {k} needs a value"),
                            );
                            break;
                        }
                        match k {
                            "inst" => {
                                sd.vrrp_instance = st.arg(i + 1).map(str::to_string);
                                inst_pos = Some(st.arg_pos(i + 1));
                            }
                            "id" => sd.id = num(st, d, i + 1, 0, 255).map(|v| v as u8),
                            "maxlen" => {
                                sd.maxlen = num(st, d, i + 1, 1, 65535 - 20 - 8).map(|v| v as u16)
                            }
                            "port" => sd.port = num(st, d, i + 1, 1, 65535).map(|v| v as u16),
                            "ttl" => sd.ttl = num(st, d, i + 1, 1, 255).map(|v| v as u8),
                            "group" => sd.group = ip(st, d, i + 1),
                            // keepalived's older positional forms: INTERFACE VRRP_INSTANCE
                            // [SYNC_ID].
                            _ if i == 1 => {
                                sd.vrrp_instance = Some(k.to_string());
                                inst_pos = Some(st.arg_pos(i));
                                i += 1;
                                continue;
                            }
                            _ if i == 2 && k.bytes().all(|b| b.is_ascii_digit()) => {
                                sd.id = num(st, d, i, 0, 255).map(|v| v as u8);
                                d.push(
                                    Severity::Warning,
                                    Code::InvalidValue,
                                    st.arg_pos(i),
                                    "Please use keyword \"id\" before lvs_sync_daemon SYNCID"
                                        .to_string(),
                                    None,
                                );
                                i += 1;
                                continue;
                            }
                            _ => {
                                d.push(
                                    Severity::Error,
                                    Code::InvalidValue,
                                    st.arg_pos(i),
                                    format!("unknown lvs_sync_daemon option '{k}'"),
                                    did_you_mean(
                                        k,
                                        &["inst", "id", "maxlen", "port", "ttl", "group"],
                                    ),
                                );
                                i += 1;
                                continue;
                            }
                        }
                        i += 2;
                    }
                    self.side.sync_daemon = Some((st.arg_pos(0), inst_pos));
                    g.lvs_sync_daemon = Some(sd);
                }
                _ => {}
            }
        }
        self.cfg.global = g;
    }

    // ---- vrrp_instance ------------------------------------------------------------------

    /// `KEYWORD SCRIPT [USER [GROUP]]`. As keepalived (notify_script_init), an unquoted
    /// `notify_master /bin/bash a.sh 3 4 5` runs `/bin/bash` as user `a.sh`, group `3`,
    /// and drops the rest: said as a warning, since it is rarely what was meant.
    fn notify_script(&mut self) -> Script {
        let r = &mut *self.r;
        let st = &r.stmt;
        if st.nargs() > 3 {
            r.diags.warn_hint(
                Code::InvalidValue,
                st.arg_pos(3),
                format!(
                    "'{}' runs '{}' as user '{}' group '{}'; the words after them are ignored",
                    st.word(0),
                    st.arg(0).unwrap_or(""),
                    st.arg(1).unwrap_or(""),
                    st.arg(2).unwrap_or(""),
                ),
                format!(
                    "to pass arguments, quote the command line: {} \"{}\"",
                    st.word(0),
                    st.rest(0)
                ),
            );
        }
        Script {
            command: st.arg(0).unwrap_or("").to_string(),
            user: script_user(st, 1),
            span: pos_span(&r.pre.files, st.pos(0)),
        }
    }

    fn vrrp_instance(&mut self, head: Pos) {
        self.mcast_dst = None;
        let mut v = VrrpInstance {
            name: self.r.stmt.arg(0).unwrap_or("").to_string(),
            span: self.span(head),
            ..Default::default()
        };
        let mut ipos = InstPos {
            head,
            ..Default::default()
        };
        while let Some(name) = self.next_in(Block::VrrpInstance, head) {
            let kwpos = self.r.stmt.pos(0);
            match name {
                "authentication" => {
                    ipos.auth = Some(kwpos);
                    v.authentication = Some(self.authentication(kwpos));
                    continue;
                }
                "virtual_ipaddress" | "virtual_ipaddress_excluded" => {
                    let mut list = Vec::new();
                    while self.next_item(kwpos, name) {
                        if let Some(vip) = self.vip() {
                            if name == "virtual_ipaddress" {
                                ipos.vips.push(self.r.stmt.pos(0));
                                if vip.dev.is_some() {
                                    ipos.vip_devs.push((
                                        v.virtual_ipaddress.len() + list.len(),
                                        self.r.stmt.pos(0),
                                    ));
                                }
                            }
                            list.push(vip);
                        }
                    }
                    if name == "virtual_ipaddress" {
                        v.virtual_ipaddress.extend(list);
                    } else {
                        v.virtual_ipaddress_excluded.extend(list);
                    }
                    continue;
                }
                "virtual_routes" => {
                    while self.next_item(kwpos, name) {
                        if let Some(rt) = self.route() {
                            v.virtual_routes.push(rt);
                        }
                    }
                    continue;
                }
                "unicast_peer" => {
                    ipos.unicast_peer = Some(kwpos);
                    while self.next_item(kwpos, name) {
                        let r = &mut *self.r;
                        let st = &r.stmt;
                        match st.word(0).parse::<IpAddr>() {
                            Ok(a) => v.unicast_peers.push(a),
                            Err(_) => r.diags.error(
                                Code::InvalidValue,
                                st.pos(0),
                                format!("'{}' is not an IP address", st.word(0)),
                            ),
                        }
                        if st.len() > 1 {
                            r.diags.warn(
                                Code::Unsupported,
                                st.pos(1),
                                format!(
                                    "unicast_peer option '{}' is not supported by keel; ignored",
                                    st.word(1)
                                ),
                            );
                        }
                    }
                    continue;
                }
                "track_interface" => {
                    while self.next_item(kwpos, name) {
                        ipos.track_ifs.push(self.r.stmt.pos(0));
                        let (n, w, rev) = self.track_item("track_interface");
                        v.track_interfaces.push(TrackInterface {
                            name: n,
                            weight: w,
                            reverse: rev,
                            span: self.span(self.r.stmt.pos(0)),
                        });
                    }
                    continue;
                }
                "track_script" => {
                    while self.next_item(kwpos, name) {
                        ipos.track_scripts.push(self.r.stmt.pos(0));
                        let (n, w, rev) = self.track_item("track_script");
                        v.track_scripts.push(TrackScript {
                            name: n,
                            weight: w,
                            reverse: rev,
                            span: self.span(self.r.stmt.pos(0)),
                        });
                    }
                    continue;
                }
                "notify" | "notify_master" | "notify_backup" | "notify_fault" | "notify_stop" => {
                    let s = Some(self.notify_script());
                    match name {
                        "notify" => v.notify.notify = s,
                        "notify_master" => v.notify.master = s,
                        "notify_backup" => v.notify.backup = s,
                        "notify_fault" => v.notify.fault = s,
                        _ => v.notify.stop = s,
                    }
                    continue;
                }
                _ => {}
            }
            let r = &mut *self.r;
            let st = &r.stmt;
            let d = &mut r.diags;
            match name {
                "state" => match st.arg(0).inspect(|_| ipos.state = Some(st.pos(0))) {
                    Some("MASTER") => v.state = InitialState::Master,
                    Some("BACKUP") => v.state = InitialState::Backup,
                    Some(s) => d.push(
                        Severity::Error,
                        Code::InvalidValue,
                        st.arg_pos(0),
                        format!("state must be MASTER or BACKUP, not '{s}'"),
                        did_you_mean(s, &["MASTER", "BACKUP"]),
                    ),
                    None => {}
                },
                "interface" => {
                    ipos.interface = Some(st.arg_pos(0));
                    v.interface = st.arg(0).map(str::to_string);
                }
                "virtual_router_id" => {
                    ipos.vrid = Some(st.arg_pos(0));
                    if let Some(x) = num(st, d, 0, 1, 255) {
                        v.virtual_router_id = x as u8;
                    }
                }
                "priority" => {
                    if let Some(x) = st.arg(0).and_then(parse_int) {
                        if x == 0 {
                            d.error_hint(
                                Code::InvalidValue,
                                st.arg_pos(0),
                                "priority 0 is reserved (it means 'master is leaving')",
                                "priority takes 1..254, or 255 for the address owner",
                            );
                        } else if let Some(x) = num(st, d, 0, 1, 255) {
                            v.priority = x as u8;
                        }
                    } else {
                        num(st, d, 0, 1, 255);
                    }
                }
                "advert_int" => {
                    ipos.advert = Some(st.arg_pos(0));
                    if let Some(x) = secs(st, d, 0) {
                        v.advert_int = x;
                    }
                }
                "version" => {
                    ipos.version = Some(st.arg_pos(0));
                    match st.arg(0) {
                        Some("2") => v.version = Some(VrrpVersion::V2),
                        Some("3") => v.version = Some(VrrpVersion::V3),
                        Some(s) => bad(d, st, 0, format!("version must be 2 or 3, not '{s}'")),
                        None => {}
                    }
                }
                "unicast_src_ip" => v.unicast_src_ip = ip(st, d, 0),
                "nopreempt" => {
                    ipos.nopreempt = Some(st.pos(0));
                    v.nopreempt = true;
                }
                "preempt" => v.nopreempt = false,
                "preempt_delay" => {
                    ipos.preempt_delay = Some(st.pos(0));
                    if let Some(x) = secs(st, d, 0) {
                        if x > Duration::from_secs(1000) {
                            d.error_hint(
                                Code::InvalidValue,
                                st.arg_pos(0),
                                "preempt_delay is out of range",
                                "preempt_delay takes 0..1000 seconds",
                            );
                        } else {
                            v.preempt_delay = x;
                        }
                    }
                }
                "garp_master_delay" => v.garp_master_delay = secs(st, d, 0),
                "garp_master_repeat" => {
                    v.garp_master_repeat = num(st, d, 0, 1, 1_000_000).map(|x| x as u32)
                }
                "garp_master_refresh" => v.garp_master_refresh = whole_secs(st, d),
                "garp_master_refresh_repeat" => {
                    v.garp_master_refresh_repeat = num(st, d, 0, 1, 1_000_000).map(|x| x as u32)
                }
                "use_vmac" => {
                    // keepalived's vrrp_vmac_handler: up to two words, NAME and/or MAC
                    // (a word with ':' is the MAC; five octets take the VRID as sixth).
                    let mut name = String::new();
                    for i in 0..st.nargs().min(2) {
                        let w = st.arg(i).unwrap_or("");
                        if !w.contains(':') {
                            name = w.to_string();
                            continue;
                        }
                        match vmac_addr(w) {
                            Ok((m, five)) => {
                                v.use_vmac_addr = Some(m);
                                self.vmac_five = five;
                                d.warn_hint(
                                    Code::Unsupported,
                                    st.arg_pos(i),
                                    "a VMAC with its own MAC address is not supported by keel; the VMAC gets the standard 00:00:5e:00:01:VRID",
                                    "keepalived 2.2.7 reads it; keel ignores it",
                                );
                            }
                            Err(e) => bad(d, st, i, e),
                        }
                    }
                    v.use_vmac = Some(name);
                }
                "vmac_xmit_base" => v.vmac_xmit_base = true,
                "accept" => v.accept = Some(true),
                "no_accept" => v.accept = Some(false),
                "dont_track_primary" => v.dont_track_primary = true,
                "smtp_alert" => v.smtp_alert = Some(opt_bool(st, d, 0)),
                _ => {}
            }
        }
        // A five-octet VMAC address ends in the VRID (keepalived's VRRP_VMAC_MAC_USE_VRID).
        if let Some(m) = v.use_vmac_addr.as_mut()
            && m[5] == 0
            && self.vmac_five
        {
            m[5] = v.virtual_router_id;
        }
        self.vmac_five = false;
        self.cfg.vrrp_instances.push(v);
        ipos.mcast_dst = self.mcast_dst.take();
        self.side.inst.push(ipos);
    }

    fn authentication(&mut self, open: Pos) -> Authentication {
        let mut a = Authentication {
            span: self.span(open),
            ..Default::default()
        };
        let mut have_pass = false;
        while let Some(name) = self.next_in(Block::Authentication, open) {
            let r = &mut *self.r;
            let st = &r.stmt;
            let d = &mut r.diags;
            match name {
                "auth_type" => match st.arg(0) {
                    Some("PASS") => a.auth_type = AuthType::Pass,
                    Some("AH") => a.auth_type = AuthType::Ah,
                    Some(s) => d.push(
                        Severity::Error,
                        Code::InvalidValue,
                        st.arg_pos(0),
                        format!("auth_type must be PASS or AH, not '{s}'"),
                        did_you_mean(s, &["PASS", "AH"]),
                    ),
                    None => {}
                },
                "auth_pass" => {
                    let p = st.arg(0).unwrap_or("");
                    have_pass = true;
                    if p.len() > 8 {
                        let mut cut = 8;
                        while !p.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        d.warn_hint(
                            Code::InvalidValue,
                            st.arg_pos(0),
                            format!(
                                "auth_pass is {} bytes long; only the first 8 are used",
                                p.len()
                            ),
                            format!("keepalived truncates it to '{}'", &p[..cut]),
                        );
                        a.auth_pass = p[..cut].to_string();
                    } else {
                        a.auth_pass = p.to_string();
                    }
                }
                _ => {}
            }
        }
        if !have_pass {
            self.r.diags.error_hint(
                Code::Missing,
                open,
                "authentication block has no auth_pass",
                "add auth_pass PASSWORD (at most 8 characters)",
            );
        }
        a
    }

    /// One `virtual_ipaddress` line.
    fn vip(&mut self) -> Option<VirtualIp> {
        let r = &mut *self.r;
        let st = &r.stmt;
        let d = &mut r.diags;
        let (addr, prefix_len) = match parse_addr_prefix(st.word(0)) {
            Ok(x) => x,
            Err(e) => {
                d.error(Code::InvalidValue, st.pos(0), e);
                return None;
            }
        };
        let mut v = VirtualIp {
            addr: Some(addr),
            prefix_len,
            span: pos_span(&r.pre.files, st.pos(0)),
            ..Default::default()
        };
        let mut i = 1;
        while i < st.len() {
            let k = st.word(i);
            let val = if i + 1 < st.len() {
                Some(st.word(i + 1))
            } else {
                None
            };
            let takes = matches!(
                k,
                "brd" | "broadcast" | "dev" | "scope" | "label" | "preferred_lft" | "track_group"
            );
            if takes && val.is_none() {
                d.error(Code::Missing, st.pos(i + 1), format!("'{k}' needs a value"));
                break;
            }
            let vpos = st.pos(i + 1);
            match k {
                // `brd +` / `brd -` (as iproute2): all host bits set / cleared, for
                // prefixes up to /30 (keepalived's alloc_ipaddress).
                "brd" | "broadcast" if addr.is_ipv4() && matches!(val, Some("+" | "-")) => {
                    if let IpAddr::V4(a) = addr
                        && prefix_len <= 30
                    {
                        let host = u32::MAX.checked_shr(u32::from(prefix_len)).unwrap_or(0);
                        let b = if val == Some("+") {
                            u32::from(a) | host
                        } else {
                            u32::from(a) & !host
                        };
                        v.brd = Some(std::net::Ipv4Addr::from(b));
                    } else {
                        d.warn(
                            Code::InvalidValue,
                            vpos,
                            format!(
                                "prefix length /{prefix_len} is too long for a computed broadcast; 'brd {}' ignored",
                                val.unwrap_or("")
                            ),
                        );
                    }
                }
                "brd" | "broadcast" => match val.and_then(|s| s.parse::<std::net::Ipv4Addr>().ok())
                {
                    Some(b) if addr.is_ipv4() => v.brd = Some(b),
                    _ => d.error(
                        Code::InvalidValue,
                        vpos,
                        format!("'{}' is not an IPv4 broadcast address", val.unwrap_or("")),
                    ),
                },
                "dev" => v.dev = val.map(str::to_string),
                "scope" => match val.and_then(scope) {
                    Some(s) => v.scope = s,
                    None => d.push(
                        Severity::Error,
                        Code::InvalidValue,
                        vpos,
                        format!("unknown scope '{}'", val.unwrap_or("")),
                        did_you_mean(
                            val.unwrap_or(""),
                            &["global", "site", "link", "host", "nowhere"],
                        ),
                    ),
                },
                "label" => v.label = val.map(str::to_string),
                "no_track" => {
                    v.no_track = true;
                    i += 1;
                    continue;
                }
                "preferred_lft" | "track_group" => {
                    d.warn(
                        Code::Unsupported,
                        st.pos(i),
                        format!("virtual_ipaddress option '{k}' is not supported by keel; ignored"),
                    );
                }
                "home" | "-nodad" | "nodad" | "noprefixroute" | "autojoin" => {
                    d.warn(
                        Code::Unsupported,
                        st.pos(i),
                        format!("virtual_ipaddress option '{k}' is not supported by keel; ignored"),
                    );
                    i += 1;
                    continue;
                }
                _ => {
                    d.push(
                        Severity::Error,
                        Code::InvalidValue,
                        st.pos(i),
                        format!("unknown virtual_ipaddress option '{k}'"),
                        did_you_mean(k, &["brd", "dev", "scope", "label", "no_track"])
                            .or_else(|| Some("options: brd ADDR, dev IFNAME, scope SCOPE, label LABEL, no_track".into())),
                    );
                    // The rest of the line cannot be read reliably after an unknown option.
                    break;
                }
            }
            i += 2;
        }
        Some(v)
    }

    /// One `virtual_routes` line.
    fn route(&mut self) -> Option<VirtualRoute> {
        let r = &mut *self.r;
        let st = &r.stmt;
        let d = &mut r.diags;
        let mut rt = VirtualRoute {
            span: pos_span(&r.pre.files, st.pos(0)),
            ..Default::default()
        };
        let mut i = 0;
        // keepalived's rule (vrrp_iproute.c alloc_route): the family comes from `inet` /
        // `inet6`, `via inet6 ADDR`, or the addresses; `default` takes it from them and is
        // IPv4 when nothing says otherwise.
        let mut family: Option<bool> = None; // Some(true) = IPv6
        let mut default_dst = false;
        let mut mixed = false;
        let mut fam = |v6: bool, family: &mut Option<bool>| match family {
            None => *family = Some(v6),
            Some(f) if *f != v6 => mixed = true,
            _ => {}
        };
        while i < st.len() {
            let k = st.word(i);
            let mut val = if i + 1 < st.len() {
                Some(st.word(i + 1))
            } else {
                None
            };
            let mut vpos = st.pos(i + 1);
            let mut width = 2;
            if matches!(k, "via" | "gw")
                && let Some(f @ ("inet" | "inet6")) = val
            {
                fam(f == "inet6", &mut family);
                val = (i + 2 < st.len()).then(|| st.word(i + 2));
                vpos = st.pos(i + 2);
                width = 3;
            }
            let need = |d: &mut Diags| -> bool {
                if val.is_none() {
                    d.error(Code::Missing, vpos, format!("'{k}' needs a value"));
                    false
                } else {
                    true
                }
            };
            match k {
                "src" | "via" | "gw" => {
                    if !need(d) {
                        break;
                    }
                    match val.unwrap_or("").parse::<IpAddr>() {
                        Ok(a) => {
                            fam(a.is_ipv6(), &mut family);
                            if k == "src" {
                                rt.src = Some(a);
                            } else {
                                rt.via = Some(a);
                            }
                        }
                        Err(_) => d.error(
                            Code::InvalidValue,
                            vpos,
                            format!("'{}' is not an IP address", val.unwrap_or("")),
                        ),
                    }
                    i += width;
                }
                // keepalived 2.2.7 steps over the word after `inet` / `inet6` too (its
                // alloc_route increments twice), so `inet6 default via X` has no
                // destination there: read the same way.
                "inet" | "inet6" => {
                    fam(k == "inet6", &mut family);
                    i += 2;
                }
                "dev" => {
                    if !need(d) {
                        break;
                    }
                    rt.dev = val.map(str::to_string);
                    i += 2;
                }
                "scope" => {
                    if !need(d) {
                        break;
                    }
                    rt.scope = val.and_then(scope);
                    if rt.scope.is_none() {
                        d.error(
                            Code::InvalidValue,
                            vpos,
                            format!("unknown scope '{}'", val.unwrap_or("")),
                        );
                    }
                    i += 2;
                }
                "table" | "metric" => {
                    if !need(d) {
                        break;
                    }
                    let n = val
                        .and_then(parse_int)
                        .filter(|n| (0..=u32::MAX as i64).contains(n))
                        .map(|n| n as u32);
                    if n.is_none() {
                        d.error(
                            Code::InvalidValue,
                            vpos,
                            format!("'{}' is not a number", val.unwrap_or("")),
                        );
                    }
                    if k == "table" {
                        rt.table = n;
                    } else {
                        rt.metric = n;
                    }
                    i += 2;
                }
                "blackhole" if rt.dst.is_none() => {
                    rt.blackhole = true;
                    i += 1;
                }
                "to" => i += 1,
                "default" | "any" | "all" if rt.dst.is_none() => {
                    rt.dst = Some(ipnet::IpNet::V4(ipnet::Ipv4Net::default()));
                    default_dst = true;
                    i += 1;
                }
                "default6" if rt.dst.is_none() => {
                    d.note_hint(
                        Code::InvalidValue,
                        st.pos(i),
                        "'default6' is deprecated",
                        "write ::/0 (keepalived 2.2.7 reads 'inet6 default' as a route with no destination)",
                    );
                    rt.dst = Some(ipnet::IpNet::V6(ipnet::Ipv6Net::default()));
                    default_dst = true;
                    fam(true, &mut family);
                    i += 1;
                }
                "unreachable" | "prohibit" | "throw" | "local" | "broadcast" | "unicast"
                | "multicast" | "nat" | "anycast" => {
                    d.warn(
                        Code::Unsupported,
                        st.pos(i),
                        format!("route type '{k}' is not supported by keel; ignored"),
                    );
                    i += 1;
                }
                _ if rt.dst.is_none() => {
                    match parse_addr_prefix(k) {
                        Ok((a, p)) => {
                            fam(a.is_ipv6(), &mut family);
                            rt.dst = ipnet::IpNet::new(a, p).ok().map(|n| n.trunc());
                        }
                        Err(e) => d.error(Code::InvalidValue, st.pos(i), e),
                    }
                    i += 1;
                }
                _ => {
                    d.warn(
                        Code::Unsupported,
                        st.pos(i),
                        format!("virtual_routes option '{k}' is not supported by keel; ignored"),
                    );
                    i += if val.is_some() { 2 } else { 1 };
                }
            }
        }
        if rt.dst.is_none() {
            d.error(Code::Missing, st.pos(0), "virtual route has no destination");
            return None;
        }
        if mixed {
            // keepalived: "Cannot mix IPv4 and IPv6 addresses for route", route dropped.
            d.error(
                Code::Conflict,
                st.pos(0),
                "a route cannot mix IPv4 and IPv6 addresses",
            );
            return None;
        }
        if default_dst && family == Some(true) {
            rt.dst = Some(ipnet::IpNet::V6(ipnet::Ipv6Net::default()));
        }
        Some(rt)
    }

    /// `NAME [weight W [reverse]]` of track_interface / track_script.
    fn track_item(&mut self, what: &str) -> (String, Option<i32>, bool) {
        let r = &mut *self.r;
        let st = &r.stmt;
        let d = &mut r.diags;
        let name = st.word(0).to_string();
        let mut weight = None;
        let mut reverse = false;
        let mut i = 1;
        while i < st.len() {
            match st.word(i) {
                "weight" => {
                    if i + 1 >= st.len() {
                        d.error(Code::Missing, st.pos(i + 1), "'weight' needs a value");
                        break;
                    }
                    match parse_int(st.word(i + 1)) {
                        Some(w) if (-254..=254).contains(&w) => weight = Some(w as i32),
                        _ => d.error_hint(
                            Code::InvalidValue,
                            st.pos(i + 1),
                            format!("{what} weight '{}' is out of range", st.word(i + 1)),
                            "weight takes -254..254",
                        ),
                    }
                    i += 2;
                }
                "reverse" => {
                    reverse = true;
                    i += 1;
                }
                w => {
                    d.push(
                        Severity::Error,
                        Code::InvalidValue,
                        st.pos(i),
                        format!("unexpected '{w}' in {what}"),
                        did_you_mean(w, &["weight", "reverse"])
                            .or(Some(format!("{what} lines are: NAME [weight W [reverse]]"))),
                    );
                    i += 1;
                }
            }
        }
        (name, weight, reverse)
    }

    // ---- vrrp_sync_group ----------------------------------------------------------------

    fn sync_group(&mut self, head: Pos) {
        let mut g = SyncGroup {
            name: self.r.stmt.arg(0).unwrap_or("").to_string(),
            span: self.span(head),
            ..Default::default()
        };
        let mut members = Vec::new();
        let mut track_ifs = Vec::new();
        while let Some(name) = self.next_in(Block::VrrpSyncGroup, head) {
            let kwpos = self.r.stmt.pos(0);
            match name {
                "group" => {
                    while self.next_item(kwpos, "group") {
                        let st = &self.r.stmt;
                        for i in 0..st.len() {
                            g.group.push(st.word(i).to_string());
                            members.push(st.pos(i));
                        }
                    }
                }
                "track_interface" => {
                    while self.next_item(kwpos, name) {
                        track_ifs.push(self.r.stmt.pos(0));
                        let (n, w, rev) = self.track_item(name);
                        g.track_interfaces.push(TrackInterface {
                            name: n,
                            weight: w,
                            reverse: rev,
                            span: self.span(self.r.stmt.pos(0)),
                        });
                    }
                }
                "track_script" => {
                    while self.next_item(kwpos, name) {
                        let (n, w, rev) = self.track_item(name);
                        g.track_scripts.push(TrackScript {
                            name: n,
                            weight: w,
                            reverse: rev,
                            span: self.span(self.r.stmt.pos(0)),
                        });
                    }
                }
                "notify" | "notify_master" | "notify_backup" | "notify_fault" | "notify_stop" => {
                    let s = Some(self.notify_script());
                    match name {
                        "notify" => g.notify.notify = s,
                        "notify_master" => g.notify.master = s,
                        "notify_backup" => g.notify.backup = s,
                        "notify_fault" => g.notify.fault = s,
                        _ => g.notify.stop = s,
                    }
                }
                "smtp_alert" => {
                    let r = &mut *self.r;
                    g.smtp_alert = Some(opt_bool(&r.stmt, &mut r.diags, 0));
                }
                _ => {}
            }
        }
        self.cfg.sync_groups.push(g);
        self.side.sync_members.push(members);
        self.side.sync_heads.push(head);
        self.side.sync_track_ifs.push(track_ifs);
    }

    // ---- vrrp_script --------------------------------------------------------------------

    fn vrrp_script(&mut self, head: Pos) {
        let mut s = VrrpScript {
            name: self.r.stmt.arg(0).unwrap_or("").to_string(),
            span: self.span(head),
            ..Default::default()
        };
        let mut has_script = false;
        while let Some(name) = self.next_in(Block::VrrpScript, head) {
            let r = &mut *self.r;
            let st = &r.stmt;
            let d = &mut r.diags;
            match name {
                "script" => {
                    has_script = true;
                    s.script = words_from(st, 0);
                }
                "interval" => {
                    if let Some(v) = secs(st, d, 0) {
                        if v.is_zero() {
                            bad(d, st, 0, "interval must be more than 0".into());
                        } else {
                            s.interval = v;
                        }
                    }
                }
                "timeout" => s.timeout = secs(st, d, 0),
                "weight" => {
                    if let Some(w) = num(st, d, 0, -253, 253) {
                        s.weight = w as i32;
                    }
                    match st.arg(1) {
                        Some("reverse") => s.weight_reverse = true,
                        Some(x) => d.push(
                            Severity::Error,
                            Code::InvalidValue,
                            st.arg_pos(1),
                            format!("unexpected '{x}' after weight"),
                            did_you_mean(x, &["reverse"]),
                        ),
                        None => {}
                    }
                }
                "rise" => {
                    if let Some(v) = num(st, d, 0, 1, u32::MAX as i64) {
                        s.rise = v as u32
                    }
                }
                "fall" => {
                    if let Some(v) = num(st, d, 0, 1, u32::MAX as i64) {
                        s.fall = v as u32
                    }
                }
                "user" => s.user = script_user(st, 0),
                "init_fail" => s.init_fail = true,
                _ => {}
            }
        }
        self.cfg.vrrp_scripts.push(s);
        self.side.script_heads.push(head);
        self.side.script_has_script.push(has_script);
    }

    // ---- virtual_server -----------------------------------------------------------------

    fn virtual_server(&mut self, head: Pos) {
        let mut announce_at: Option<Pos> = None;
        let addr = {
            let r = &mut *self.r;
            let st = &r.stmt;
            let d = &mut r.diags;
            match st.arg(0) {
                Some("fwmark") => match st.arg(1) {
                    None => {
                        d.error(
                            Code::Missing,
                            st.arg_pos(1),
                            "virtual_server fwmark needs a mark",
                        );
                        None
                    }
                    Some(_) => num(st, d, 1, 1, u32::MAX as i64).map(|m| VsAddr::Fwmark(m as u32)),
                },
                Some("group") => match st.arg(1) {
                    None => {
                        d.error(
                            Code::Missing,
                            st.arg_pos(1),
                            "virtual_server group needs a group name",
                        );
                        None
                    }
                    Some(g) => Some(VsAddr::Group(g.to_string())),
                },
                Some(a) => match a.parse::<IpAddr>() {
                    Ok(addr) => {
                        let port = if st.nargs() > 1 {
                            port(st, d, 1)
                        } else {
                            Some(0)
                        };
                        port.map(|port| VsAddr::Ip { addr, port })
                    }
                    Err(_) => {
                        d.error_hint(
                            Code::InvalidValue,
                            st.arg_pos(0),
                            format!("'{a}' is not an IP address"),
                            "virtual_server takes IP PORT, fwmark N or group NAME",
                        );
                        None
                    }
                },
                None => None,
            }
        };
        let mut vs = VirtualServer {
            addr: addr.unwrap_or_default(),
            span: self.span(head),
            ..Default::default()
        };
        let mut rs_heads = Vec::new();
        // The tunnel settings of the last `lb_kind` (kept across methods, as keepalived).
        let mut tunnel = Forward::TUNNEL;
        while let Some(name) = self.next_in(Block::VirtualServer, head) {
            if name == "real_server" {
                let p = self.r.stmt.pos(0);
                if let Some(rs) = self.real_server(p) {
                    vs.real_servers.push(rs);
                    rs_heads.push(p);
                }
                continue;
            }
            if name == "quorum_up" || name == "quorum_down" {
                let s = Some(Box::new(self.notify_script()));
                if name == "quorum_up" {
                    vs.quorum_up = s;
                } else {
                    vs.quorum_down = s;
                }
                continue;
            }
            let r = &mut *self.r;
            let st = &r.stmt;
            let d = &mut r.diags;
            match name {
                "delay_loop" => {
                    if let Some(v) = secs(st, d, 0) {
                        if v.is_zero() {
                            bad(d, st, 0, "delay_loop must be more than 0".into());
                        } else {
                            vs.delay_loop = v;
                        }
                    }
                }
                "lb_algo" => {
                    let s = st.arg(0).unwrap_or("");
                    match Scheduler::from_name(s) {
                        Some(x) => vs.lb_algo = x,
                        None => {
                            let names: Vec<&str> =
                                Scheduler::ALL.iter().map(|x| x.as_str()).collect();
                            d.push(
                                Severity::Error,
                                Code::InvalidValue,
                                st.arg_pos(0),
                                format!("unknown scheduler '{s}'"),
                                did_you_mean(s, &names)
                                    .or(Some(format!("schedulers: {}", names.join(" ")))),
                            );
                        }
                    }
                }
                "lb_kind" => {
                    // keepalived keeps the tunnel settings across methods.
                    if matches!(vs.lb_kind, Forward::Tunnel { .. }) {
                        tunnel = vs.lb_kind;
                    }
                    match st.arg(0).unwrap_or("") {
                        "NAT" => vs.lb_kind = Forward::Masq,
                        "DR" => vs.lb_kind = Forward::Route,
                        "TUN" => vs.lb_kind = tunnel,
                        s => {
                            d.push(
                                Severity::Error,
                                Code::InvalidValue,
                                st.arg_pos(0),
                                format!("unknown forwarding method '{s}'"),
                                did_you_mean(s, &["NAT", "DR", "TUN"])
                                    .or(Some("methods: NAT DR TUN".into())),
                            );
                            continue;
                        }
                    }
                    if let Some(t) = tunnel_options(st, d, tunnel) {
                        tunnel = t;
                        if matches!(vs.lb_kind, Forward::Tunnel { .. }) {
                            vs.lb_kind = t;
                        }
                    }
                }
                "persistence_timeout" => {
                    if st.nargs() == 0 {
                        vs.persistence_timeout = Some(360);
                    } else if let Some(v) = num(st, d, 0, 1, u32::MAX as i64) {
                        vs.persistence_timeout = Some(v as u32);
                    }
                }
                "persistence_granularity" => {
                    vs.persistence_granularity = granularity(st, d, &vs.addr);
                }
                // keepalived compares without case (strcasecmp).
                "protocol" => match st.arg(0).unwrap_or("").to_ascii_uppercase().as_str() {
                    "TCP" => vs.protocol = Protocol::Tcp,
                    "UDP" => vs.protocol = Protocol::Udp,
                    "SCTP" => vs.protocol = Protocol::Sctp,
                    _ => d.push(
                        Severity::Error,
                        Code::InvalidValue,
                        st.arg_pos(0),
                        format!("unknown protocol '{}'", st.arg(0).unwrap_or("")),
                        did_you_mean(st.arg(0).unwrap_or(""), &["TCP", "UDP", "SCTP"])
                            .or(Some("protocols: TCP UDP SCTP".into())),
                    ),
                },
                "sorry_server" => {
                    // The port is optional (keepalived then uses the virtual server's).
                    let p = if st.nargs() > 1 {
                        port(st, d, 1)
                    } else {
                        Some(0)
                    };
                    if let (Some(a), Some(p)) = (ip(st, d, 0), p) {
                        vs.sorry_server = Some(SorryServer { addr: a, port: p });
                    }
                }
                "sorry_server_inhibit" => vs.sorry_server_inhibit = true,
                "announce" => {
                    announce_at = Some(st.pos(0));
                    vs.announce = announce(st, d);
                }
                "alpha" => vs.alpha = true,
                "omega" => vs.omega = true,
                "quorum" => {
                    if let Some(v) = num(st, d, 0, 1, u32::MAX as i64) {
                        vs.quorum = v as u32
                    }
                }
                "hysteresis" => {
                    if let Some(v) = num(st, d, 0, 0, u32::MAX as i64) {
                        vs.hysteresis = v as u32
                    }
                }
                "inhibit_on_failure" => vs.inhibit_on_failure = opt_bool(st, d, 0),
                "ha_suspend" => vs.ha_suspend = true,
                "virtualhost" => vs.virtualhost = st.arg(0).map(str::to_string),
                "retry" => vs.retry = num(st, d, 0, 0, u32::MAX as i64).map(|v| v as u32),
                "delay_before_retry" => vs.delay_before_retry = secs(st, d, 0),
                "connect_timeout" => vs.connect_timeout = secs(st, d, 0),
                "warmup" => vs.warmup = secs(st, d, 0),
                _ => {}
            }
        }
        if let (Some(at), Some(_), false) = (announce_at, &vs.announce, vs.lb_algo == Scheduler::Mh)
        {
            self.r.diags.warn_hint(
                Code::Conflict,
                at,
                format!(
                    "an announced (anycast) virtual server should use lb_algo mh, not {}: \
                     every director must pick the same real server for a flow",
                    vs.lb_algo.as_str()
                ),
                "write 'lb_algo mh' (keel then sets mh-fallback, mh-port and sloppy_tcp)",
            );
        }
        vs.real_servers.shrink_to_fit();
        self.cfg.virtual_servers.push(vs);
        self.side.vs_heads.push(head);
        self.side.rs_heads.push(rs_heads);
    }

    fn real_server(&mut self, head: Pos) -> Option<RealServer> {
        let (addr, port) = {
            let r = &mut *self.r;
            let st = &r.stmt;
            let d = &mut r.diags;
            (
                ip(st, d, 0),
                if st.nargs() > 1 {
                    port(st, d, 1)
                } else {
                    Some(0)
                },
            )
        };
        let mut rs = RealServer {
            span: self.span(head),
            ..Default::default()
        };
        while let Some(name) = self.next_in(Block::RealServer, head) {
            match name {
                "TCP_CHECK" | "HTTP_GET" | "SSL_GET" | "MISC_CHECK" | "DNS_CHECK"
                | "SMTP_CHECK" | "UDP_CHECK" | "PING_CHECK" | "FILE_CHECK" => {
                    let p = self.r.stmt.pos(0);
                    let (c, hosts) = self.checker(name, p);
                    rs.checkers.push(c);
                    rs.checkers.extend(hosts);
                    continue;
                }
                "notify_up" | "notify_down" => {
                    let s = Some(Box::new(self.notify_script()));
                    if name == "notify_up" {
                        rs.notify_up = s;
                    } else {
                        rs.notify_down = s;
                    }
                    continue;
                }
                _ => {}
            }
            let r = &mut *self.r;
            let st = &r.stmt;
            let d = &mut r.diags;
            match name {
                "weight" => {
                    if let Some(w) = num(st, d, 0, 0, 65535) {
                        rs.weight = w as i32
                    }
                }
                "inhibit_on_failure" => rs.inhibit_on_failure = Some(opt_bool(st, d, 0)),
                "smtp_alert" => rs.smtp_alert = Some(opt_bool(st, d, 0)),
                "delay_loop" => rs.delay_loop = secs(st, d, 0),
                _ => {}
            }
        }
        rs.checkers.shrink_to_fit();
        rs.addr = addr?;
        rs.port = port?;
        Some(rs)
    }

    /// A checker block; SMTP_CHECK's `host` blocks come back as checkers of their own
    /// (keepalived 2.2.7 makes one checker per host).
    fn checker(&mut self, kind: &str, head: Pos) -> (Checker, Vec<Checker>) {
        let (block, kind) = match kind {
            "HTTP_GET" => (Block::HttpGet, CheckKind::Http(Box::default())),
            "SSL_GET" => (Block::HttpGet, CheckKind::Ssl(Box::default())),
            "MISC_CHECK" => (Block::MiscCheck, CheckKind::Misc(Box::default())),
            "DNS_CHECK" => (Block::DnsCheck, CheckKind::Dns(Box::default())),
            "SMTP_CHECK" => (Block::SmtpCheck, CheckKind::Smtp(Box::default())),
            "UDP_CHECK" => (Block::UdpCheck, CheckKind::Udp(Box::default())),
            "PING_CHECK" => (Block::PingCheck, CheckKind::Ping),
            "FILE_CHECK" => (Block::FileCheck, CheckKind::File(Box::default())),
            _ => (Block::TcpCheck, CheckKind::Tcp),
        };
        let mut c = Checker {
            kind,
            span: self.span(head),
            ..Default::default()
        };
        let mut has_path = false;
        let mut hosts: Vec<Checker> = Vec::new();
        while let Some(name) = self.next_in(block, head) {
            if name == "url" {
                let p = self.r.stmt.pos(0);
                let u = self.url(p);
                if let CheckKind::Http(h) | CheckKind::Ssl(h) = &mut c.kind {
                    h.urls.push(u);
                }
                continue;
            }
            if name == "host" && block == Block::SmtpCheck {
                let p = self.r.stmt.pos(0);
                let mut h = Checker {
                    span: self.span(p),
                    ..Default::default()
                };
                while let Some(k) = self.next_in(Block::SmtpHost, p) {
                    let r = &mut *self.r;
                    conn_keyword(&mut h, k, &r.stmt, &mut r.diags);
                }
                hosts.push(h);
                continue;
            }
            let r = &mut *self.r;
            let st = &r.stmt;
            let d = &mut r.diags;
            if block == Block::FileCheck {
                // FILE_CHECK has its own `weight`, and none of the connection keywords
                file_check_keyword(&mut c, name, st, d);
                continue;
            }
            match name {
                "connect_ip" => c.connect_ip = ip(st, d, 0),
                "connect_port" => c.connect_port = port(st, d, 0),
                "bindto" => c.bindto = ip(st, d, 0),
                "bind_port" => c.bind_port = port(st, d, 0),
                "connect_timeout" => c.connect_timeout = secs(st, d, 0),
                "fwmark" => c.fwmark = num(st, d, 0, 0, u32::MAX as i64).map(|v| v as u32),
                "retry" => c.retry = num(st, d, 0, 0, u32::MAX as i64).map(|v| v as u32),
                "delay_before_retry" => c.delay_before_retry = secs(st, d, 0),
                "warmup" => c.warmup = secs(st, d, 0),
                "delay_loop" => c.delay_loop = secs(st, d, 0),
                "virtualhost" => {
                    if let CheckKind::Http(h) | CheckKind::Ssl(h) = &mut c.kind {
                        h.virtualhost = st.arg(0).map(str::to_string);
                    }
                }
                "enable_sni" => {
                    if let CheckKind::Http(h) | CheckKind::Ssl(h) = &mut c.kind {
                        h.enable_sni = true;
                    }
                }
                "misc_path" => {
                    has_path = true;
                    if let CheckKind::Misc(m) = &mut c.kind {
                        m.path = words_from(st, 0);
                    }
                }
                "misc_timeout" => {
                    let t = secs(st, d, 0);
                    if let CheckKind::Misc(m) = &mut c.kind {
                        m.timeout = t;
                    }
                }
                "misc_dynamic" => {
                    if let CheckKind::Misc(m) = &mut c.kind {
                        m.dynamic = true;
                    }
                }
                "user" => {
                    if let CheckKind::Misc(m) = &mut c.kind {
                        m.user = script_user(st, 0);
                    }
                }
                "http_protocol" => {
                    let v = st.arg(0).unwrap_or("");
                    if let CheckKind::Http(h) | CheckKind::Ssl(h) = &mut c.kind {
                        match v {
                            "1.0" | "1.1" => h.http_protocol = Some(v.to_owned()),
                            "1.0C" | "1.0c" => h.http_protocol = Some("1.0C".to_owned()),
                            _ => bad(
                                d,
                                st,
                                0,
                                format!("'{v}' is not an http_protocol (1.0, 1.0C, 1.1)"),
                            ),
                        }
                    }
                }
                "fast_recovery" => {
                    let on = opt_bool(st, d, 0);
                    if let CheckKind::Http(h) | CheckKind::Ssl(h) = &mut c.kind {
                        h.fast_recovery = on;
                    }
                }
                "type" => {
                    const TYPES: [&str; 9] = [
                        "A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA", "RRSIG", "DNSKEY",
                    ];
                    let v = st.arg(0).unwrap_or("").to_ascii_uppercase();
                    if let CheckKind::Dns(x) = &mut c.kind {
                        if TYPES.contains(&v.as_str()) {
                            x.qtype = Some(v);
                        } else {
                            d.push(
                                Severity::Error,
                                Code::InvalidValue,
                                st.arg_pos(0),
                                format!("unknown DNS check type '{}'", st.arg(0).unwrap_or("")),
                                did_you_mean(&v, &TYPES),
                            );
                        }
                    }
                }
                "name" => {
                    let v = st.arg(0).unwrap_or("");
                    let empty_label = (v.starts_with('.') && v != ".") || v.contains("..");
                    if let CheckKind::Dns(x) = &mut c.kind {
                        if empty_label {
                            bad(d, st, 0, format!("DNS_CHECK name '{v}' has an empty label"));
                        } else if x.name.is_some() {
                            bad(d, st, 0, "DNS_CHECK name already specified".into());
                        } else {
                            x.name = Some(v.to_owned());
                        }
                    }
                }
                "helo_name" => {
                    if let CheckKind::Smtp(x) = &mut c.kind {
                        x.helo_name = st.arg(0).map(str::to_owned);
                    }
                }
                "payload" | "require_reply" => {
                    let text = words_from(st, 0);
                    let wild = name == "require_reply";
                    if !text.is_empty() && !hex_ok(&text, wild) {
                        bad(d, st, 0, format!("'{text}' is not a hex string"));
                    } else if let CheckKind::Udp(x) = &mut c.kind {
                        let v = (!text.is_empty()).then_some(text);
                        if wild {
                            x.require_reply = true;
                            x.reply = v;
                        } else if v.is_none() {
                            bad(d, st, 0, "UDP_CHECK payload requires a payload".into());
                        } else {
                            x.payload = v;
                        }
                    }
                }
                "min_reply_length" | "max_reply_length" => {
                    let v = num(st, d, 0, 0, 65535).map(|v| v as u16);
                    if let CheckKind::Udp(x) = &mut c.kind {
                        if name == "min_reply_length" {
                            x.min_reply_length = v;
                        } else {
                            x.max_reply_length = v;
                        }
                    }
                }
                _ => {}
            }
        }
        if matches!(c.kind, CheckKind::Misc(_)) && !has_path {
            self.r.diags.error_hint(
                Code::Missing,
                head,
                "MISC_CHECK has no misc_path",
                "add misc_path \"/path/to/script args\"",
            );
        }
        if let CheckKind::File(f) = &mut c.kind {
            // keepalived looks the track_file up while reading: it must come first
            f.resolved = (self.cfg.track_files.iter())
                .find(|t| t.name == f.track_file)
                .cloned();
            if f.track_file.is_empty() {
                self.r.diags.error_hint(
                    Code::Missing,
                    head,
                    "FILE_CHECK has no track_file specified",
                    "add track_file NAME (a track_file NAME { file PATH } block)",
                );
            } else if f.resolved.is_none() {
                self.r.diags.error_hint(
                    Code::Missing,
                    head,
                    format!("track_file {} not found", f.track_file),
                    "define it earlier, in a top-level track_file NAME { file PATH } block",
                );
            }
        }
        if hosts.is_empty() {
            return (c, hosts);
        }
        self.r.diags.warn_hint(
            Code::Conflict,
            head,
            "The SMTP_CHECK host block is deprecated",
            "write one SMTP_CHECK per server instead (keepalived checks each host as its own checker)",
        );
        // keepalived: without connection options of its own the checker takes the first
        // host's; every other host becomes a checker with the same settings.
        let own = c.connect_ip.is_some()
            || c.connect_port.is_some()
            || c.bindto.is_some()
            || c.bind_port.is_some()
            || c.fwmark.is_some()
            || c.connect_timeout.is_some();
        let with_host = |h: &Checker| Checker {
            connect_ip: h.connect_ip,
            connect_port: h.connect_port,
            bindto: h.bindto,
            bind_port: h.bind_port,
            connect_timeout: h.connect_timeout,
            fwmark: h.fwmark,
            span: h.span.clone(),
            ..c.clone()
        };
        let mut rest = hosts.iter();
        let main = if own {
            c.clone()
        } else {
            rest.next().map_or_else(|| c.clone(), with_host)
        };
        let extra = rest.map(with_host).collect();
        (main, extra)
    }

    // ---- track_file ---------------------------------------------------------------------

    fn track_file(&mut self, head: Pos) {
        let mut t = TrackFile {
            name: self.r.stmt.arg(0).unwrap_or("").to_string(),
            span: self.span(head),
            ..Default::default()
        };
        let mut has_file = false;
        while let Some(name) = self.next_in(Block::TrackFile, head) {
            let r = &mut *self.r;
            let st = &r.stmt;
            let d = &mut r.diags;
            match name {
                "file" => {
                    has_file = true;
                    t.file = st.arg(0).unwrap_or("").to_string();
                }
                "weight" => {
                    if let Some(w) = num(st, d, 0, -254, 254) {
                        t.weight = Some(w as i32);
                    }
                    match st.arg(1) {
                        Some("reverse") => t.reverse = true,
                        Some("noreverse") | None => t.reverse = false,
                        Some(x) => bad(d, st, 1, format!("unexpected '{x}' after weight")),
                    }
                }
                "init_file" => {
                    let (mut value, mut overwrite) = (0, false);
                    for i in 0..st.nargs() {
                        match st.arg(i).unwrap_or("") {
                            "overwrite" => overwrite = true,
                            w => match parse_int(w) {
                                Some(v) if i == 0 && (-254..=254).contains(&v) => value = v as i32,
                                _ => bad(d, st, i, format!("'{w}' is not an init_file value")),
                            },
                        }
                    }
                    t.init = Some((value, overwrite));
                }
                _ => {}
            }
        }
        if !has_file {
            self.r.diags.error_hint(
                Code::Missing,
                head,
                format!("No file set for track_file {}", t.name),
                "add file /path/to/file",
            );
        }
        self.cfg.track_files.push(t);
    }

    fn url(&mut self, head: Pos) -> Url {
        let mut u = Url {
            span: self.span(head),
            ..Default::default()
        };
        let mut has_path = false;
        while let Some(name) = self.next_in(Block::Url, head) {
            let r = &mut *self.r;
            let st = &r.stmt;
            let d = &mut r.diags;
            match name {
                "path" => {
                    has_path = true;
                    u.path = st.arg(0).unwrap_or("").to_string();
                }
                "digest" => {
                    let s = st.arg(0).unwrap_or("");
                    if s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
                        u.digest = Some(s.to_ascii_lowercase());
                    } else {
                        bad(
                            d,
                            st,
                            0,
                            format!("digest '{s}' is not 32 hex digits (an MD5 sum)"),
                        );
                    }
                }
                "status_code" => {
                    for i in 0..st.nargs() {
                        let s = st.arg(i).unwrap_or("");
                        let (a, b) = s.split_once('-').unwrap_or((s, s));
                        match (a.parse::<u16>(), b.parse::<u16>()) {
                            (Ok(a), Ok(b))
                                if (100..=599).contains(&a) && (a..=599).contains(&b) =>
                            {
                                u.status_code.push((a, b))
                            }
                            _ => bad(
                                d,
                                st,
                                i,
                                format!("'{s}' is not a status code or range (100..599)"),
                            ),
                        }
                    }
                }
                "virtualhost" => u.virtualhost = st.arg(0).map(str::to_string),
                "regex" => u.regex.get_or_insert_default().pattern = st.rest(0),
                "regex_no_match" => u.regex.get_or_insert_default().no_match = true,
                "regex_options" => {
                    u.regex.get_or_insert_default().options = (0..st.nargs())
                        .filter_map(|i| st.arg(i))
                        .map(str::to_owned)
                        .collect()
                }
                "regex_min_offset" => {
                    if let Some(v) = num(st, d, 0, 0, i64::from(u32::MAX)) {
                        u.regex.get_or_insert_default().min_offset = Some(v as u64);
                    }
                }
                "regex_max_offset" => {
                    if let Some(v) = num(st, d, 0, 0, i64::from(u32::MAX)) {
                        u.regex.get_or_insert_default().max_offset = Some(v as u64);
                    }
                }
                _ => {}
            }
        }
        if u.regex.as_ref().is_some_and(|r| r.pattern.is_empty()) {
            self.r.diags.error_hint(
                Code::Missing,
                head,
                "regex options without a regex",
                "add regex \"PATTERN\" or remove the regex_* keywords",
            );
            u.regex = None;
        }
        if !has_path {
            self.r.diags.error_hint(
                Code::Missing,
                head,
                "url block has no path",
                "add path /some/url",
            );
        }
        u
    }

    // ---- virtual_server_group -----------------------------------------------------------

    fn vs_group(&mut self, head: Pos) {
        let name = self.r.stmt.arg(0).unwrap_or("").to_string();
        let mut g = VirtualServerGroup {
            name,
            span: self.span(head),
            ..Default::default()
        };
        while self.next_item(head, "virtual_server_group") {
            let r = &mut *self.r;
            let st = &r.stmt;
            let d = &mut r.diags;
            let w0 = st.word(0);
            if w0 == "fwmark" {
                match st.word(1).parse::<u32>() {
                    Ok(m) => g.entries.push(VsgEntry::Fwmark(m)),
                    Err(_) => d.error(
                        Code::InvalidValue,
                        st.pos(1),
                        format!("'{}' is not a fwmark", st.word(1)),
                    ),
                }
                continue;
            }
            let (a, end) = match w0.split_once('-') {
                Some((a, e)) => (a, Some(e)),
                None => (w0, None),
            };
            let addr = match a.parse::<IpAddr>() {
                Ok(x) => x,
                Err(_) => {
                    d.error(
                        Code::InvalidValue,
                        st.pos(0),
                        format!("'{a}' is not an IP address"),
                    );
                    continue;
                }
            };
            let range_end = match end {
                None => None,
                Some(e) => {
                    let v = if addr.is_ipv4() {
                        e.parse::<u8>().ok().map(u16::from)
                    } else {
                        u16::from_str_radix(e, 16).ok()
                    };
                    if v.is_none() {
                        d.error(
                            Code::InvalidValue,
                            st.pos(0),
                            format!("'{e}' is not a valid range end"),
                        );
                        continue;
                    }
                    v
                }
            };
            let port = if st.len() > 1 {
                match st.word(1).parse::<u16>() {
                    Ok(p) => p,
                    Err(_) => {
                        d.error(
                            Code::InvalidValue,
                            st.pos(1),
                            format!("'{}' is not a port", st.word(1)),
                        );
                        continue;
                    }
                }
            } else {
                0
            };
            g.entries.push(VsgEntry::Range {
                addr,
                range_end,
                port,
            });
        }
        self.cfg.virtual_server_groups.push(g);
        self.side.vsg_heads.push(head);
    }
}

/// One `keel_anycast` line: `speaker gobgp ADDR | bird SOCKET [INCLUDE] |
/// exabgp [CMD_FIFO ACK_FIFO] | kernel TABLE`.
fn anycast_speaker(st: &Stmt, d: &mut Diags) -> Option<AnycastSpeaker> {
    const FORMS: &str = "speaker gobgp HOST:PORT | bird SOCKET [INCLUDE] | exabgp [CMD_FIFO ACK_FIFO] | kernel TABLE";
    if st.word(0) != "speaker" {
        d.error_hint(
            Code::UnknownKeyword,
            st.pos(0),
            format!("'{}' is not a keel_anycast keyword", st.word(0)),
            FORMS,
        );
        return None;
    }
    let path = |i: usize, def: &str| std::path::PathBuf::from(st.arg(i).unwrap_or(def));
    match st.arg(0) {
        Some("gobgp") => match st.arg(1) {
            Some(a)
                if a.rsplit_once(':')
                    .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok()) =>
            {
                Some(AnycastSpeaker::GoBgp {
                    addr: a.to_string(),
                })
            }
            Some(a) => {
                bad(
                    d,
                    st,
                    1,
                    format!("'{a}' is not HOST:PORT (gobgpd's -api-hosts, e.g. 127.0.0.1:50051)"),
                );
                None
            }
            None => {
                d.error(
                    Code::Missing,
                    st.arg_pos(1),
                    "speaker gobgp needs gobgpd's API address, e.g. 127.0.0.1:50051",
                );
                None
            }
        },
        Some("bird") => match st.arg(1) {
            Some(_) => Some(AnycastSpeaker::Bird {
                socket: path(1, ""),
                include: path(2, "/run/keel/anycast-v4.conf"),
            }),
            None => {
                d.error(
                    Code::Missing,
                    st.arg_pos(1),
                    "speaker bird needs BIRD's control socket, e.g. /run/bird/bird.ctl",
                );
                None
            }
        },
        Some("exabgp") => Some(AnycastSpeaker::ExaBgp {
            cmd: path(1, "/run/keel/exabgp.cmd"),
            ack: path(2, "/run/keel/exabgp.ack"),
        }),
        Some("kernel") => {
            if st.arg(1).is_none() {
                d.error(
                    Code::Missing,
                    st.arg_pos(1),
                    "speaker kernel needs a routing table number",
                );
                return None;
            }
            num(st, d, 1, 1, i64::from(u32::MAX))
                .map(|t| AnycastSpeaker::Kernel { table: t as u32 })
        }
        Some(v) => {
            d.error_hint(
                Code::InvalidValue,
                st.arg_pos(0),
                format!("unknown speaker '{v}'"),
                FORMS,
            );
            None
        }
        None => {
            d.error_hint(Code::Missing, st.arg_pos(0), "speaker needs a kind", FORMS);
            None
        }
    }
}

/// A virtual server's `announce [min_healthy N] [withdraw_delay SECS] [require_master]`.
fn announce(st: &Stmt, d: &mut Diags) -> Option<Announce> {
    let mut a = Announce::default();
    let mut i = 0;
    while let Some(w) = st.arg(i) {
        let needs_value = matches!(w, "min_healthy" | "withdraw_delay");
        if needs_value && st.arg(i + 1).is_none() {
            d.error(
                Code::Missing,
                st.arg_pos(i + 1),
                format!("announce {w} needs a value"),
            );
            return None;
        }
        match w {
            "min_healthy" => a.min_healthy = num(st, d, i + 1, 1, i64::from(u32::MAX))? as u32,
            "withdraw_delay" => a.withdraw_delay = secs(st, d, i + 1)?,
            "require_master" => a.require_master = true,
            other => {
                d.error_hint(
                    Code::InvalidValue,
                    st.arg_pos(i),
                    format!("announce does not take '{other}'"),
                    "announce [min_healthy N] [withdraw_delay SECS] [require_master]",
                );
                return None;
            }
        }
        i += if needs_value { 2 } else { 1 };
    }
    Some(a)
}
