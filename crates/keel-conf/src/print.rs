//! The canonical printer: model back to keepalived.conf text.
//!
//! Values equal to keepalived's defaults are left out; everything else is printed in a
//! fixed order with four-space indentation. Words that need it are quoted.

use crate::model::*;
use crate::values::fmt_secs;
use std::fmt::Write;
use std::net::IpAddr;

/// Quote a word when the lexer would otherwise split or drop part of it.
fn q(s: &str) -> String {
    let plain = !s.is_empty()
        && !s.starts_with(['@', '$', '~', '"'])
        && !s.contains(|c: char| {
            c.is_whitespace() || matches!(c, '{' | '}' | '!' | '#' | '"' | '\\' | '$')
        });
    if plain {
        s.to_string()
    } else {
        format!("\"{s}\"")
    }
}

struct P {
    out: String,
    depth: usize,
}

impl P {
    fn line(&mut self, s: &str) {
        for _ in 0..self.depth {
            self.out.push_str("    ");
        }
        self.out.push_str(s);
        self.out.push('\n');
    }
    fn open(&mut self, s: &str) {
        self.line(&format!("{s} {{"));
        self.depth += 1;
    }
    fn close(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        self.line("}");
    }
    fn opt<T>(&mut self, kw: &str, v: &Option<T>, f: impl Fn(&T) -> String) {
        if let Some(x) = v {
            self.line(&format!("{kw} {}", f(x)));
        }
    }
    fn flag(&mut self, kw: &str, on: bool) {
        if on {
            self.line(kw);
        }
    }
    fn script(&mut self, kw: &str, s: &Option<impl std::ops::Deref<Target = Script>>) {
        if let Some(s) = s {
            let mut l = format!("{kw} {}", q(&s.command));
            if let Some(u) = &s.user {
                let _ = write!(l, " {}", q(&u.user));
                if let Some(g) = &u.group {
                    let _ = write!(l, " {}", q(g));
                }
            }
            self.line(&l);
        }
    }
    fn notify(&mut self, n: &Notify) {
        self.script("notify", &n.notify.as_ref());
        self.script("notify_master", &n.master.as_ref());
        self.script("notify_backup", &n.backup.as_ref());
        self.script("notify_fault", &n.fault.as_ref());
        self.script("notify_stop", &n.stop.as_ref());
    }
    fn tracks(&mut self, ifs: &[TrackInterface], scripts: &[TrackScript]) {
        if !ifs.is_empty() {
            self.open("track_interface");
            for t in ifs {
                self.line(&track(&t.name, t.weight, t.reverse));
            }
            self.close();
        }
        if !scripts.is_empty() {
            self.open("track_script");
            for t in scripts {
                self.line(&track(&t.name, t.weight, t.reverse));
            }
            self.close();
        }
    }
}

fn track(name: &str, weight: Option<i32>, reverse: bool) -> String {
    let mut l = q(name);
    if let Some(w) = weight {
        let _ = write!(l, " weight {w}");
    }
    if reverse {
        l.push_str(" reverse");
    }
    l
}

fn user(u: &ScriptUser) -> String {
    match &u.group {
        Some(g) => format!("{} {}", q(&u.user), q(g)),
        None => q(&u.user),
    }
}

fn scope(s: &Scope) -> String {
    match s {
        Scope::Global => "global".into(),
        Scope::Site => "site".into(),
        Scope::Link => "link".into(),
        Scope::Host => "host".into(),
        Scope::Nowhere => "nowhere".into(),
        Scope::Other(n) => n.to_string(),
    }
}

fn vip(v: &VirtualIp) -> String {
    let mut l = match v.addr {
        Some(a) => format!("{a}/{}", v.prefix_len),
        None => String::from("0.0.0.0/32"),
    };
    if let Some(b) = v.brd {
        let _ = write!(l, " brd {b}");
    }
    if let Some(d) = &v.dev {
        let _ = write!(l, " dev {}", q(d));
    }
    if v.scope != Scope::Global {
        let _ = write!(l, " scope {}", scope(&v.scope));
    }
    if let Some(x) = &v.label {
        let _ = write!(l, " label {}", q(x));
    }
    if v.no_track {
        l.push_str(" no_track");
    }
    l
}

fn route(r: &VirtualRoute) -> String {
    let mut l = String::new();
    if r.blackhole {
        l.push_str("blackhole ");
    }
    if let Some(s) = r.src {
        let _ = write!(l, "src {s} ");
    }
    match r.dst {
        Some(d) => {
            let _ = write!(l, "{d}");
        }
        None => l.push_str("0.0.0.0/0"),
    }
    if let Some(v) = r.via {
        let _ = write!(l, " via {v}");
    }
    if let Some(d) = &r.dev {
        let _ = write!(l, " dev {}", q(d));
    }
    if let Some(s) = &r.scope {
        let _ = write!(l, " scope {}", scope(s));
    }
    if let Some(t) = r.table {
        let _ = write!(l, " table {t}");
    }
    if let Some(m) = r.metric {
        let _ = write!(l, " metric {m}");
    }
    l
}

fn global(p: &mut P, g: &GlobalDefs) {
    let d = GlobalDefs::default();
    if *g == d {
        return;
    }
    p.open("global_defs");
    p.opt("router_id", &g.router_id, |s| q(s));
    if g.vrrp_version != d.vrrp_version {
        p.line(&format!("vrrp_version {}", g.vrrp_version.number()));
    }
    p.opt("script_user", &g.script_user, user);
    p.flag("enable_script_security", g.enable_script_security);
    if g.vrrp_garp_master_delay != d.vrrp_garp_master_delay {
        p.line(&format!(
            "vrrp_garp_master_delay {}",
            fmt_secs(g.vrrp_garp_master_delay)
        ));
    }
    if g.vrrp_garp_master_repeat != d.vrrp_garp_master_repeat {
        p.line(&format!(
            "vrrp_garp_master_repeat {}",
            g.vrrp_garp_master_repeat
        ));
    }
    p.opt(
        "vrrp_garp_master_refresh",
        &g.vrrp_garp_master_refresh,
        |x| fmt_secs(*x),
    );
    if g.vrrp_garp_master_refresh_repeat != d.vrrp_garp_master_refresh_repeat {
        p.line(&format!(
            "vrrp_garp_master_refresh_repeat {}",
            g.vrrp_garp_master_refresh_repeat
        ));
    }
    p.opt(
        "vrrp_garp_lower_prio_delay",
        &g.vrrp_garp_lower_prio_delay,
        |x| fmt_secs(*x),
    );
    p.opt(
        "vrrp_garp_lower_prio_repeat",
        &g.vrrp_garp_lower_prio_repeat,
        |x| x.to_string(),
    );
    if g.vrrp_garp_interval != d.vrrp_garp_interval {
        p.line(&format!(
            "vrrp_garp_interval {}",
            fmt_secs(g.vrrp_garp_interval)
        ));
    }
    if g.vrrp_gna_interval != d.vrrp_gna_interval {
        p.line(&format!(
            "vrrp_gna_interval {}",
            fmt_secs(g.vrrp_gna_interval)
        ));
    }
    p.flag("vrrp_min_garp", g.vrrp_min_garp);
    p.flag("vrrp_strict", g.vrrp_strict);
    p.flag("vrrp_skip_check_adv_addr", g.vrrp_skip_check_adv_addr);
    p.flag("vrrp_check_unicast_src", g.vrrp_check_unicast_src);
    if let Some(sd) = &g.lvs_sync_daemon {
        let mut l = format!("lvs_sync_daemon {}", q(&sd.interface));
        match &sd.vrrp_instance {
            // An instance named like an option needs keepalived 2.2's `inst`.
            Some(i) if ["inst", "id", "maxlen", "port", "ttl", "group"].contains(&i.as_str()) => {
                let _ = write!(l, " inst {}", q(i));
            }
            Some(i) => {
                let _ = write!(l, " {}", q(i));
            }
            None => {}
        }
        if let Some(x) = sd.id {
            let _ = write!(l, " id {x}");
        }
        if let Some(x) = sd.maxlen {
            let _ = write!(l, " maxlen {x}");
        }
        if let Some(x) = sd.port {
            let _ = write!(l, " port {x}");
        }
        if let Some(x) = sd.ttl {
            let _ = write!(l, " ttl {x}");
        }
        if let Some(x) = sd.group {
            let _ = write!(l, " group {x}");
        }
        p.line(&l);
    }
    let t = &g.lvs_timeouts;
    if *t != LvsTimeouts::default() {
        let mut l = String::from("lvs_timeouts");
        for (k, v) in [("tcp", t.tcp), ("tcpfin", t.tcpfin), ("udp", t.udp)] {
            if let Some(v) = v {
                let _ = write!(l, " {k} {}", fmt_secs(v));
            }
        }
        p.line(&l);
    }
    p.flag("lvs_flush", g.lvs_flush);
    p.opt("keel_stop_mode", &g.keel_stop_mode, |m| {
        m.as_str().to_owned()
    });
    p.opt("keel_metrics_listen", &g.keel_metrics_listen, |a| {
        a.to_string()
    });
    if let Some(s) = &g.keel_anycast {
        p.open("keel_anycast");
        p.line(&match s {
            AnycastSpeaker::GoBgp { addr } => format!("speaker gobgp {addr}"),
            AnycastSpeaker::Bird { socket, include } => format!(
                "speaker bird {} {}",
                q(&socket.to_string_lossy()),
                q(&include.to_string_lossy())
            ),
            AnycastSpeaker::ExaBgp { cmd, ack } => format!(
                "speaker exabgp {} {}",
                q(&cmd.to_string_lossy()),
                q(&ack.to_string_lossy())
            ),
            AnycastSpeaker::Kernel { table } => format!("speaker kernel {table}"),
        });
        p.close();
    }
    if !g.notification_email.is_empty() {
        p.open("notification_email");
        for e in &g.notification_email {
            p.line(&q(e));
        }
        p.close();
    }
    p.opt("notification_email_from", &g.notification_email_from, |s| {
        q(s)
    });
    p.opt("smtp_server", &g.smtp_server, |s| {
        format!("{} {}", q(&s.host), s.port)
    });
    p.opt("smtp_helo_name", &g.smtp_helo_name, |s| q(s));
    if g.smtp_connect_timeout != d.smtp_connect_timeout {
        p.line(&format!(
            "smtp_connect_timeout {}",
            fmt_secs(g.smtp_connect_timeout)
        ));
    }
    p.flag("smtp_alert", g.smtp_alert);
    p.flag("dynamic_interfaces", g.dynamic_interfaces);
    p.close();
}

fn instance(p: &mut P, v: &VrrpInstance) {
    let d = VrrpInstance::default();
    p.open(&format!("vrrp_instance {}", q(&v.name)));
    if v.state == InitialState::Master {
        p.line("state MASTER");
    } else {
        p.line("state BACKUP");
    }
    p.opt("interface", &v.interface, |s| q(s));
    if v.virtual_router_id != 0 {
        p.line(&format!("virtual_router_id {}", v.virtual_router_id));
    }
    p.line(&format!("priority {}", v.priority));
    p.line(&format!("advert_int {}", fmt_secs(v.advert_int)));
    p.opt("version", &v.version, |x| x.number().to_string());
    if let Some(a) = &v.authentication {
        p.open("authentication");
        p.line(match a.auth_type {
            AuthType::Pass => "auth_type PASS",
            AuthType::Ah => "auth_type AH",
        });
        p.line(&format!("auth_pass {}", q(&a.auth_pass)));
        p.close();
    }
    for (kw, list) in [
        ("virtual_ipaddress", &v.virtual_ipaddress),
        ("virtual_ipaddress_excluded", &v.virtual_ipaddress_excluded),
    ] {
        if !list.is_empty() {
            p.open(kw);
            for x in list {
                p.line(&vip(x));
            }
            p.close();
        }
    }
    if !v.virtual_routes.is_empty() {
        p.open("virtual_routes");
        for r in &v.virtual_routes {
            p.line(&route(r));
        }
        p.close();
    }
    p.opt("unicast_src_ip", &v.unicast_src_ip, |a| a.to_string());
    if !v.unicast_peers.is_empty() {
        p.open("unicast_peer");
        for a in &v.unicast_peers {
            p.line(&a.to_string());
        }
        p.close();
    }
    p.flag("nopreempt", v.nopreempt);
    if v.preempt_delay != d.preempt_delay {
        p.line(&format!("preempt_delay {}", fmt_secs(v.preempt_delay)));
    }
    p.tracks(&v.track_interfaces, &v.track_scripts);
    p.notify(&v.notify);
    p.opt("garp_master_delay", &v.garp_master_delay, |x| fmt_secs(*x));
    p.opt("garp_master_repeat", &v.garp_master_repeat, |x| {
        x.to_string()
    });
    p.opt("garp_master_refresh", &v.garp_master_refresh, |x| {
        fmt_secs(*x)
    });
    p.opt(
        "garp_master_refresh_repeat",
        &v.garp_master_refresh_repeat,
        |x| x.to_string(),
    );
    let mac = v
        .use_vmac_addr
        .map(|m| {
            let h: Vec<String> = m.iter().map(|b| format!("{b:02x}")).collect();
            format!(" {}", h.join(":"))
        })
        .unwrap_or_default();
    match &v.use_vmac {
        Some(n) if n.is_empty() && mac.is_empty() => p.line("use_vmac"),
        // A MAC alone would be read as the name: give the default name with it.
        Some(n) if n.is_empty() => p.line(&format!("use_vmac vrrp.{}{mac}", v.virtual_router_id)),
        Some(n) => p.line(&format!("use_vmac {}{mac}", q(n))),
        None => {}
    }
    p.flag("vmac_xmit_base", v.vmac_xmit_base);
    match v.accept {
        Some(true) => p.line("accept"),
        Some(false) => p.line("no_accept"),
        None => {}
    }
    p.flag("dont_track_primary", v.dont_track_primary);
    p.opt("smtp_alert", &v.smtp_alert, |b| b.to_string());
    p.close();
}

fn checker(p: &mut P, c: &Checker) {
    p.open(c.kind.keyword());
    p.opt("connect_ip", &c.connect_ip, |a| a.to_string());
    p.opt("connect_port", &c.connect_port, |a| a.to_string());
    p.opt("bindto", &c.bindto, |a| a.to_string());
    p.opt("bind_port", &c.bind_port, |a| a.to_string());
    p.opt("connect_timeout", &c.connect_timeout, |x| fmt_secs(*x));
    p.opt("fwmark", &c.fwmark, |a| a.to_string());
    p.opt("retry", &c.retry, |a| a.to_string());
    p.opt("delay_before_retry", &c.delay_before_retry, |x| {
        fmt_secs(*x)
    });
    p.opt("warmup", &c.warmup, |x| fmt_secs(*x));
    p.opt("delay_loop", &c.delay_loop, |x| fmt_secs(*x));
    match &c.kind {
        CheckKind::Tcp => {}
        CheckKind::Http(h) | CheckKind::Ssl(h) => {
            p.opt("virtualhost", &h.virtualhost, |s| q(s));
            p.flag("enable_sni", h.enable_sni);
            for u in &h.urls {
                p.open("url");
                p.line(&format!("path {}", q(&u.path)));
                p.opt("digest", &u.digest, |s| q(s));
                if !u.status_code.is_empty() {
                    let codes: Vec<String> = u
                        .status_code
                        .iter()
                        .map(|&(a, b)| {
                            if a == b {
                                a.to_string()
                            } else {
                                format!("{a}-{b}")
                            }
                        })
                        .collect();
                    p.line(&format!("status_code {}", codes.join(" ")));
                }
                p.opt("virtualhost", &u.virtualhost, |s| q(s));
                if let Some(r) = &u.regex {
                    p.line(&format!("regex {}", q(&r.pattern)));
                    p.flag("regex_no_match", r.no_match);
                    if !r.options.is_empty() {
                        p.line(&format!("regex_options {}", r.options.join(" ")));
                    }
                    p.opt("regex_min_offset", &r.min_offset, |x| x.to_string());
                    p.opt("regex_max_offset", &r.max_offset, |x| x.to_string());
                }
                p.close();
            }
            p.opt("http_protocol", &h.http_protocol, |s| s.clone());
            p.flag("fast_recovery", h.fast_recovery);
        }
        CheckKind::Dns(x) => {
            p.opt("type", &x.qtype, |s| s.clone());
            p.opt("name", &x.name, |s| q(s));
        }
        CheckKind::Smtp(x) => p.opt("helo_name", &x.helo_name, |s| q(s)),
        CheckKind::Udp(x) => {
            p.opt("payload", &x.payload, |s| s.clone());
            if x.require_reply {
                match &x.reply {
                    Some(r) => p.line(&format!("require_reply {r}")),
                    None => p.line("require_reply"),
                }
            }
            p.opt("min_reply_length", &x.min_reply_length, |v| v.to_string());
            p.opt("max_reply_length", &x.max_reply_length, |v| v.to_string());
        }
        CheckKind::Ping => {}
        CheckKind::File(f) => {
            p.line(&format!("track_file {}", q(&f.track_file)));
            if let Some((w, rev)) = f.weight {
                p.line(&format!("weight {w}{}", if rev { " reverse" } else { "" }));
            }
        }
        CheckKind::Misc(m) => {
            p.line(&format!("misc_path {}", q(&m.path)));
            p.opt("misc_timeout", &m.timeout, |x| fmt_secs(*x));
            p.flag("misc_dynamic", m.dynamic);
            p.opt("user", &m.user, user);
        }
    }
    p.close();
}

fn virtual_server(p: &mut P, vs: &VirtualServer) {
    let d = VirtualServer::default();
    let head = match &vs.addr {
        VsAddr::Ip { addr, port } => format!("virtual_server {addr} {port}"),
        VsAddr::Fwmark(m) => format!("virtual_server fwmark {m}"),
        VsAddr::Group(g) => format!("virtual_server group {}", q(g)),
    };
    p.open(&head);
    p.line(&format!("delay_loop {}", fmt_secs(vs.delay_loop)));
    p.line(&format!("lb_algo {}", vs.lb_algo.as_str()));
    p.line(&lb_kind(vs.lb_kind));
    p.opt("persistence_timeout", &vs.persistence_timeout, |x| {
        x.to_string()
    });
    p.opt(
        "persistence_granularity",
        &vs.persistence_granularity,
        |x| match x {
            // An IPv6 service's granularity is written as a prefix length.
            IpAddr::V6(m) => u128::from(*m).leading_ones().to_string(),
            IpAddr::V4(m) => m.to_string(),
        },
    );
    p.line(&format!("protocol {}", vs.protocol.as_str()));
    p.opt("sorry_server", &vs.sorry_server, |s| {
        if s.port == 0 {
            s.addr.to_string()
        } else {
            format!("{} {}", s.addr, s.port)
        }
    });
    p.flag("sorry_server_inhibit", vs.sorry_server_inhibit);
    p.flag("alpha", vs.alpha);
    p.flag("omega", vs.omega);
    if let Some(a) = &vs.announce {
        let mut l = format!(
            "announce min_healthy {} withdraw_delay {}",
            a.min_healthy,
            a.withdraw_delay.as_secs_f64()
        );
        if a.require_master {
            l.push_str(" require_master");
        }
        p.line(&l);
    }
    if vs.quorum != d.quorum {
        p.line(&format!("quorum {}", vs.quorum));
    }
    if vs.hysteresis != d.hysteresis {
        p.line(&format!("hysteresis {}", vs.hysteresis));
    }
    p.script("quorum_up", &vs.quorum_up.as_deref());
    p.script("quorum_down", &vs.quorum_down.as_deref());
    p.flag("inhibit_on_failure", vs.inhibit_on_failure);
    p.flag("ha_suspend", vs.ha_suspend);
    p.opt("virtualhost", &vs.virtualhost, |s| q(s));
    p.opt("retry", &vs.retry, |x| x.to_string());
    p.opt("delay_before_retry", &vs.delay_before_retry, |x| {
        fmt_secs(*x)
    });
    p.opt("connect_timeout", &vs.connect_timeout, |x| fmt_secs(*x));
    p.opt("warmup", &vs.warmup, |x| fmt_secs(*x));
    for rs in &vs.real_servers {
        p.open(&format!("real_server {} {}", rs.addr, rs.port));
        p.line(&format!("weight {}", rs.weight));
        p.opt("inhibit_on_failure", &rs.inhibit_on_failure, |b| {
            b.to_string()
        });
        p.script("notify_up", &rs.notify_up.as_deref());
        p.script("notify_down", &rs.notify_down.as_deref());
        p.opt("smtp_alert", &rs.smtp_alert, |b| b.to_string());
        p.opt("delay_loop", &rs.delay_loop, |x| fmt_secs(*x));
        for c in &rs.checkers {
            checker(p, c);
        }
        p.close();
    }
    p.close();
}

pub(crate) fn print(cfg: &Config) -> String {
    let mut p = P {
        out: String::new(),
        depth: 0,
    };
    global(&mut p, &cfg.global);
    for s in &cfg.vrrp_scripts {
        p.open(&format!("vrrp_script {}", q(&s.name)));
        p.line(&format!("script {}", q(&s.script)));
        p.line(&format!("interval {}", fmt_secs(s.interval)));
        p.opt("timeout", &s.timeout, |x| fmt_secs(*x));
        if s.weight != 0 || s.weight_reverse {
            p.line(&format!(
                "weight {}{}",
                s.weight,
                if s.weight_reverse { " reverse" } else { "" }
            ));
        }
        p.line(&format!("rise {}", s.rise));
        p.line(&format!("fall {}", s.fall));
        p.opt("user", &s.user, user);
        p.flag("init_fail", s.init_fail);
        p.close();
    }
    for v in &cfg.vrrp_instances {
        instance(&mut p, v);
    }
    for g in &cfg.sync_groups {
        p.open(&format!("vrrp_sync_group {}", q(&g.name)));
        p.open("group");
        for m in &g.group {
            p.line(&q(m));
        }
        p.close();
        p.notify(&g.notify);
        p.tracks(&g.track_interfaces, &g.track_scripts);
        p.opt("smtp_alert", &g.smtp_alert, |b| b.to_string());
        p.close();
    }
    for t in &cfg.track_files {
        p.open(&format!("track_file {}", q(&t.name)));
        p.line(&format!("file {}", q(&t.file)));
        if let Some(w) = t.weight {
            p.line(&format!(
                "weight {w}{}",
                if t.reverse { " reverse" } else { "" }
            ));
        }
        match t.init {
            Some((v, true)) => p.line(&format!("init_file {v} overwrite")),
            Some((v, false)) => p.line(&format!("init_file {v}")),
            None => {}
        }
        p.close();
    }
    for g in &cfg.virtual_server_groups {
        p.open(&format!("virtual_server_group {}", q(&g.name)));
        for e in &g.entries {
            match e {
                VsgEntry::Fwmark(m) => p.line(&format!("fwmark {m}")),
                VsgEntry::Range {
                    addr,
                    range_end,
                    port,
                } => {
                    let r = match (range_end, addr.is_ipv4()) {
                        (Some(e), true) => format!("-{e}"),
                        (Some(e), false) => format!("-{e:x}"),
                        (None, _) => String::new(),
                    };
                    p.line(&format!("{addr}{r} {port}"));
                }
            }
        }
        p.close();
    }
    for vs in &cfg.virtual_servers {
        virtual_server(&mut p, vs);
    }
    p.out
}

/// `lb_kind NAT|DR|TUN [type KIND [port P] [csum|remcsum]]`. keel-ipvs's `Local` and
/// `Bypass`, which keepalived.conf cannot write, print as ipvsadm names them (and do
/// not parse back).
fn lb_kind(f: Forward) -> String {
    let (kind, port, flags) = match f {
        Forward::Masq => return "lb_kind NAT".into(),
        Forward::Route => return "lb_kind DR".into(),
        Forward::Tunnel { kind, port, flags } => (kind, port, flags),
        other => return format!("lb_kind {other:?}"),
    };
    let mut s = String::from("lb_kind TUN");
    if f != Forward::TUNNEL {
        let _ = write!(s, " type {}", kind.as_str());
        if port != 0 {
            let _ = write!(s, " port {port}");
        }
        if flags == TunnelFlags::CSUM {
            s.push_str(" csum");
        } else if flags == TunnelFlags::REMCSUM {
            s.push_str(" remcsum");
        }
    }
    s
}
