//! keel-conf's model → [`CheckSpec`] (feature `conf`).
//!
//! ```
//! use keel_check::{CheckSpec, conf};
//! let text = "virtual_server 192.0.2.1 53 {\n protocol UDP\n real_server 192.0.2.10 53 {\n \
//!             DNS_CHECK {\n type A\n name example.org\n }\n }\n}\n";
//! let cfg = keel_conf::load_str("k.conf", text, &Default::default()).config;
//! let vs = &cfg.virtual_servers[0];
//! let spec = conf::check_spec(&vs.real_servers[0].checkers[0], vs).unwrap();
//! let CheckSpec::Dns { dns, .. } = spec else { panic!() };
//! assert_eq!(dns.name, "example.org");
//! ```

use std::time::Duration;

use keel_conf as kc;

use crate::Error;
use crate::spec::{
    BodyRegex, CheckSpec, ConnectOpts, DnsSpec, DnsType, FileSpec, HexPattern, HttpProtocol,
    HttpSpec, Md5Digest, MiscSpec, SmtpSpec, StatusCodes, TlsSni, TlsSpec, TlsVerify, UdpSpec,
    UrlSpec,
};

/// A checker block alone: no inheritance from its virtual server (`connect_timeout`
/// defaults to 5 s, `virtualhost` is the checker's own). Use [`check_spec`] to apply
/// the virtual server's settings as keepalived does.
impl TryFrom<&kc::Checker> for CheckSpec {
    type Error = Error;

    fn try_from(c: &kc::Checker) -> Result<Self, Error> {
        spec(c, c.connect_timeout.unwrap_or(Duration::from_secs(5)), None)
    }
}

/// A checker of a real server of `vs`, with keepalived's inheritance (the virtual
/// server's `connect_timeout` and `virtualhost`). MISC_CHECK's `user` is looked up on
/// this host ([`keel_script::User::lookup`]).
pub fn check_spec(c: &kc::Checker, vs: &kc::VirtualServer) -> Result<CheckSpec, Error> {
    spec(
        c,
        c.effective_connect_timeout(vs),
        vs.virtualhost.as_deref(),
    )
}

fn spec(
    c: &kc::Checker,
    connect_timeout: Duration,
    vs_vhost: Option<&str>,
) -> Result<CheckSpec, Error> {
    let conn = ConnectOpts {
        connect_ip: c.connect_ip,
        connect_port: c.connect_port,
        bindto: c.bindto,
        bind_port: c.bind_port,
        connect_timeout,
    };
    Ok(match &c.kind {
        kc::CheckKind::Tcp => CheckSpec::Tcp { conn },
        kc::CheckKind::Http(h) => CheckSpec::Http {
            conn,
            http: http(h, vs_vhost)?,
        },
        kc::CheckKind::Ssl(h) => CheckSpec::Ssl {
            conn,
            http: http(h, vs_vhost)?,
            tls: TlsSpec {
                sni: if h.enable_sni {
                    TlsSni::FromVirtualhost
                } else {
                    TlsSni::Off
                },
                verify: TlsVerify::Off,
            },
        },
        kc::CheckKind::Misc(m) => {
            let mut spec = MiscSpec::new(m.path.clone());
            spec.timeout = m.timeout;
            spec.dynamic = m.dynamic;
            // keepalived drops a MISC_CHECK whose user does not exist; running it
            // as ourselves (root) instead would be issue 17's finding 4. Without a
            // `user` the caller applies its default (script_user, keepalived_script).
            spec.user = match &m.user {
                Some(u) => Some(
                    keel_script::User::lookup(&u.user, u.group.as_deref())
                        .map_err(Error::ScriptUser)?,
                ),
                None => None,
            };
            CheckSpec::Misc(spec)
        }
        kc::CheckKind::Dns(d) => CheckSpec::Dns {
            conn,
            dns: DnsSpec {
                qtype: d
                    .qtype
                    .as_deref()
                    .and_then(DnsType::parse)
                    .unwrap_or_default(),
                name: d.name.clone().unwrap_or_default(),
            },
        },
        kc::CheckKind::Smtp(s) => CheckSpec::Smtp {
            conn,
            smtp: match &s.helo_name {
                Some(h) => SmtpSpec {
                    helo_name: h.clone(),
                },
                None => SmtpSpec::default(),
            },
        },
        kc::CheckKind::Udp(u) => {
            let mut udp = UdpSpec::new();
            udp.payload = match &u.payload {
                Some(p) => Some(HexPattern::parse(p, false)?.data),
                None => None,
            };
            udp.require_reply = u.require_reply;
            udp.reply = match &u.reply {
                Some(r) => Some(HexPattern::parse(r, true)?),
                None => None,
            };
            if let Some(v) = u.min_reply_length {
                udp.min_reply_length = v;
            }
            if let Some(v) = u.max_reply_length {
                udp.max_reply_length = v;
            }
            CheckSpec::Udp { conn, udp }
        }
        kc::CheckKind::Ping => CheckSpec::Ping { conn },
        kc::CheckKind::File(f) => {
            let t = f
                .resolved
                .as_ref()
                .ok_or_else(|| Error::UnknownTrackFile(f.track_file.clone()))?;
            let mut spec = FileSpec::new(&t.file);
            spec.name.clone_from(&t.name);
            (spec.weight, spec.reverse) = f.weight.unwrap_or((t.weight.unwrap_or(1), t.reverse));
            spec.init = t.init;
            CheckSpec::File(spec)
        }
    })
}

fn http(h: &kc::HttpCheck, vs_vhost: Option<&str>) -> Result<HttpSpec, Error> {
    let mut urls = Vec::with_capacity(h.urls.len());
    for u in &h.urls {
        let mut url = UrlSpec::new(u.path.clone());
        if !u.status_code.is_empty() {
            url.status_code = StatusCodes::from_ranges(u.status_code.iter().map(|(a, b)| *a..=*b));
        }
        url.digest = u.digest.as_deref().map(Md5Digest::from_hex).transpose()?;
        url.virtualhost.clone_from(&u.virtualhost);
        if let Some(r) = &u.regex {
            let options: Vec<&str> = r.options.iter().map(String::as_str).collect();
            let mut re = BodyRegex::new(&r.pattern, &options)?;
            re.no_match = r.no_match;
            re.min_offset = r
                .min_offset
                .map_or(0, |v| usize::try_from(v).unwrap_or(usize::MAX));
            re.max_offset = r
                .max_offset
                .map(|v| usize::try_from(v).unwrap_or(usize::MAX));
            url.regex = Some(re);
        }
        urls.push(url);
    }
    Ok(HttpSpec {
        urls,
        virtualhost: h
            .virtualhost
            .clone()
            .or_else(|| vs_vhost.map(str::to_owned)),
        protocol: match h.http_protocol.as_deref() {
            Some("1.1") => HttpProtocol::Http11,
            Some("1.0C") => HttpProtocol::Http10Close,
            _ => HttpProtocol::Http10,
        },
        fast_recovery: h.fast_recovery,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const TEXT: &str = r#"
track_file wfile {
    file /run/keel-weight
    weight 5 reverse
    init_file 2 overwrite
}
virtual_server 192.0.2.250 80 {
    connect_timeout 7
    virtualhost vs.example.org
    real_server 192.0.2.10 80 {
        DNS_CHECK {
            type mx
            name example.org.
            connect_port 53
        }
        SMTP_CHECK {
            helo_name director.example.org
            host {
                connect_ip 192.0.2.11
                connect_port 25
            }
            host {
                connect_ip 192.0.2.12
                connect_port 2525
                connect_timeout 2
            }
        }
        UDP_CHECK {
            payload 01 02 ab
            require_reply 01 xx
            max_reply_length 10
        }
        PING_CHECK {
            retry 4
        }
        FILE_CHECK {
            track_file wfile
        }
        FILE_CHECK {
            track_file wfile
            weight 3 noreverse
        }
        HTTP_GET {
            http_protocol 1.0C
            fast_recovery
            url {
                path /health
                status_code 200-204 302
                regex "^ok"
                regex_options caseless
                regex_max_offset 10
            }
        }
    }
}
"#;

    #[test]
    fn every_new_checker_maps() {
        let l = keel_conf::load_str("t.conf", TEXT, &Default::default());
        assert!(!l.has_errors(), "{:#?}", l.diagnostics);
        let vs = &l.config.virtual_servers[0];
        let cs = &vs.real_servers[0].checkers;
        let specs: Vec<CheckSpec> = cs.iter().map(|c| check_spec(c, vs).unwrap()).collect();
        let CheckSpec::Dns { conn, dns } = &specs[0] else {
            panic!("{:?}", specs[0])
        };
        assert_eq!(
            (dns.qtype, dns.name.as_str()),
            (DnsType::Mx, "example.org.")
        );
        assert_eq!(conn.connect_port, Some(53));
        assert_eq!(conn.connect_timeout, Duration::from_secs(7), "inherited");
        // SMTP_CHECK with two hosts and no connection options of its own: two checkers
        let smtp: Vec<_> = specs
            .iter()
            .filter_map(|s| match s {
                CheckSpec::Smtp { conn, smtp } => Some((conn.clone(), smtp.helo_name.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(smtp.len(), 2);
        assert_eq!(smtp[0].0.connect_ip, Some("192.0.2.11".parse().unwrap()));
        assert_eq!(smtp[1].0.connect_port, Some(2525));
        assert_eq!(smtp[1].0.connect_timeout, Duration::from_secs(2));
        assert_eq!(smtp[1].1, "director.example.org");
        let udp = specs
            .iter()
            .find_map(|s| match s {
                CheckSpec::Udp { udp, .. } => Some(udp),
                _ => None,
            })
            .unwrap();
        assert_eq!(udp.payload.as_deref(), Some(&[1u8, 2, 0xab][..]));
        assert!(udp.require_reply && udp.reply_ok(&[1, 9, 9]) && !udp.reply_ok(&[2]));
        assert!(!udp.reply_ok(&[1; 11]), "max_reply_length");
        let files: Vec<&FileSpec> = specs
            .iter()
            .filter_map(|s| match s {
                CheckSpec::File(f) => Some(f),
                _ => None,
            })
            .collect();
        assert_eq!((files[0].weight, files[0].reverse), (5, true));
        assert_eq!((files[1].weight, files[1].reverse), (3, false));
        assert_eq!(files[0].init, Some((2, true)));
        assert_eq!(files[0].path, std::path::Path::new("/run/keel-weight"));
        assert!(specs.iter().any(|s| matches!(s, CheckSpec::Ping { .. })));
        let http = specs
            .iter()
            .find_map(|s| match s {
                CheckSpec::Http { http, .. } => Some(http),
                _ => None,
            })
            .unwrap();
        assert_eq!(http.protocol, HttpProtocol::Http10Close);
        assert!(http.fast_recovery);
        assert_eq!(http.virtualhost.as_deref(), Some("vs.example.org"));
        let url = &http.urls[0];
        assert!(url.status_code.contains(302) && !url.status_code.contains(205));
        let re = url.regex.as_ref().unwrap();
        assert!(re.passes(b"OK fine") && !re.passes(b"not ok"));
        // the checker alone: no inheritance
        let alone = CheckSpec::try_from(&cs[0]).unwrap();
        let CheckSpec::Dns { conn, .. } = alone else {
            panic!()
        };
        assert_eq!(conn.connect_timeout, Duration::from_secs(5));
    }

    #[test]
    fn careless_configs_are_errors() {
        for (text, want) in [
            (
                "virtual_server 192.0.2.1 80 {\n real_server 192.0.2.2 80 {\n FILE_CHECK {\n track_file nope\n }\n }\n}\n",
                "track_file nope not found",
            ),
            (
                "virtual_server 192.0.2.1 80 {\n real_server 192.0.2.2 80 {\n DNS_CHECK {\n type BOGUS\n }\n }\n}\n",
                "unknown DNS check type",
            ),
            (
                "virtual_server 192.0.2.1 80 {\n real_server 192.0.2.2 80 {\n UDP_CHECK {\n payload 0g\n }\n }\n}\n",
                "not a hex string",
            ),
            (
                "virtual_server 192.0.2.1 80 {\n real_server 192.0.2.2 80 {\n DNS_CHECK {\n name a..b\n }\n }\n}\n",
                "empty label",
            ),
        ] {
            let l = keel_conf::load_str("t.conf", text, &Default::default());
            assert!(
                l.diagnostics.iter().any(|d| d.to_string().contains(want)),
                "{want}: {:#?}",
                l.diagnostics
            );
        }
        // a regex that does not compile is the mapping's error
        let text = "virtual_server 192.0.2.1 80 {\n real_server 192.0.2.2 80 {\n HTTP_GET {\n url {\n path /\n regex \"(\"\n }\n }\n }\n}\n";
        let l = keel_conf::load_str("t.conf", text, &Default::default());
        let vs = &l.config.virtual_servers[0];
        assert_eq!(
            check_spec(&vs.real_servers[0].checkers[0], vs),
            Err(Error::InvalidRegex("(".into()))
        );
    }

    /// Issue 17 item 4: a MISC_CHECK whose user does not exist ran as root.
    #[test]
    fn unknown_misc_user_is_an_error() {
        let text = "virtual_server 192.0.2.1 80 {\n real_server 192.0.2.2 80 {\n MISC_CHECK {\n misc_path /bin/true\n user no-such-user-keel\n }\n }\n}\n";
        let l = keel_conf::load_str("t.conf", text, &Default::default());
        let vs = &l.config.virtual_servers[0];
        assert_eq!(
            check_spec(&vs.real_servers[0].checkers[0], vs),
            Err(Error::ScriptUser(keel_script::UserError::NoUser(
                "no-such-user-keel".into()
            )))
        );
    }
}
