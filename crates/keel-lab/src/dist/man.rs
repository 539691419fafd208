//! The manual pages `cargo xtask dist` ships: `keeld(8)`, from keeld's own clap
//! definition plus the sections clap does not know (subcommands in full, signals,
//! files, exit status, environment), and `keel.conf(5)`, from keel-conf's keyword
//! table, so neither can drift from the code.
use clap::Command;
use keel_conf::keywords::{self, Block, Opens, Status};
use std::fmt::Write as _;

/// Escape text for roff: backslashes, and a leading `.` or `'` (a control line).
fn esc(s: &str) -> String {
    let s = s.replace('\\', "\\e").replace('-', "\\-");
    if s.starts_with('.') || s.starts_with('\'') {
        format!("\\&{s}")
    } else {
        s
    }
}

/// The text of every paragraph of a clap help string, joined into one line each.
fn help_text(h: Option<&clap::builder::StyledStr>) -> String {
    h.map(|h| {
        h.to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    })
    .unwrap_or_default()
}

const DESCRIPTION: &[&str] = &[
    "keeld is keel's daemon: keepalived rebuilt in Rust. It reads keepalived's \
     configuration file unchanged (see keel.conf(5) for the keywords keel supports), \
     takes keepalived's command line options, and writes keepalived's log lines.",
    "With VRRP instances configured it runs the VRRP election (RFC 5798, and VRRPv2) and \
     adds or removes the virtual IP addresses and routes of the instances it is master \
     of; with virtual servers configured it runs their health checks and keeps the \
     kernel's IPVS table in step. keeld is one process (it never forks) and tells \
     systemd when it is ready (sd_notify).",
    "Subcommands talk to a running keeld over its status socket.",
];

/// (signal, what keeld does)
const SIGNALS: &[(&str, &str)] = &[
    (
        "SIGHUP",
        "Re-read the configuration file. A file with errors is refused (logged) and the \
         running configuration stays.",
    ),
    (
        "SIGTERM, SIGINT",
        "Stop: masters send priority-0 advertisements and remove their virtual addresses \
         (and the IPVS entries keel added), then keeld exits 0. With --stop-mode handover \
         (or keel_stop_mode handover) a master keeps its addresses until the new master's \
         first advertisement.",
    ),
    (
        "SIGUSR1",
        "Write the state of every instance to /tmp/keepalived.data, as keepalived does.",
    ),
    (
        "SIGUSR2",
        "Write statistics to /tmp/keepalived.stats, as keepalived does.",
    ),
];

const FILES: &[(&str, &str)] = &[
    (
        "/etc/keepalived/keepalived.conf",
        "The configuration file (keepalived's), unless -f gives another; see keel.conf(5).",
    ),
    (
        "/etc/default/keeld",
        "DAEMON_ARGS, options keeld.service appends to keeld's command line.",
    ),
    (
        "/run/keeld.pid",
        "The pid file (-p). keeld.service uses /run/keeld/keeld.pid.",
    ),
    (
        "/run/keeld/keeld.sock",
        "The status socket (--status-socket); mode 0600 unless --status-group is given.",
    ),
    (
        "/tmp/keepalived.data, /tmp/keepalived.stats, /tmp/keepalived.json",
        "State dump (SIGUSR1), statistics (SIGUSR2) and JSON (SIGRTMIN+2), the last two \
         in keepalived 2.2.7's formats. Under keeld.service, /tmp is the \
         service's private /tmp (PrivateTmp=yes): operators find the files under \
         /tmp/systemd-private-*-keeld.service-*/tmp/ as root, or join it with \
         JoinsNamespaceOf=keeld.service.",
    ),
    ("/lib/systemd/system/keeld.service", "The systemd unit."),
];

const EXIT_STATUS: &[(&str, &str)] = &[
    (
        "0",
        "Success: the daemon stopped on SIGTERM/SIGINT, -t found no error, or a subcommand \
         succeeded.",
    ),
    (
        "1",
        "An error before the daemon ran: a pid file that cannot be written, an unknown \
         --status-group, or a subcommand that failed (no daemon, refused).",
    ),
    (
        "2",
        "A bad option or argument (a usage error), or the daemon could not start its \
         runtime (signals, timers, sockets).",
    ),
    (
        "3",
        "The configuration file has errors (keeld -t, or at start).",
    ),
];

const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "NOTIFY_SOCKET",
        "Set by systemd for Type=notify services: keeld sends READY=1 once every instance has \
         started, and RELOADING=1 / READY=1 around a reload.",
    ),
    (
        "DAEMON_ARGS",
        "Not read by keeld itself: keeld.service reads it from /etc/default/keeld and appends \
         it to the command line.",
    ),
];

fn tp_list(out: &mut String, section: &str, items: &[(&str, &str)]) {
    let _ = writeln!(out, ".SH {section}");
    for (term, text) in items {
        let _ = writeln!(out, ".TP\n\\fB{}\\fR\n{}", esc(term), esc(text));
    }
}

/// One argument as a `.TP` term: `-f, --use-file <FILE>`.
fn arg_term(a: &clap::Arg) -> String {
    let mut t = Vec::new();
    if let Some(s) = a.get_short() {
        t.push(format!("\\fB\\-{s}\\fR"));
    }
    if let Some(l) = a.get_long() {
        t.push(format!("\\fB\\-\\-{}\\fR", esc(l)));
    }
    let value = a
        .get_value_names()
        .and_then(|v| v.first())
        .map(|v| format!(" \\fI{}\\fR", esc(v)))
        .filter(|_| a.get_action().takes_values());
    let mut term = t.join(", ");
    if t.is_empty() {
        // a positional argument
        term = format!(
            "[\\fI{}\\fR]",
            esc(a
                .get_value_names()
                .and_then(|v| v.first())
                .map_or(a.get_id().as_str(), |v| v.as_str()))
        );
    } else if let Some(v) = value {
        term.push_str(&v);
    }
    term
}

/// `keeld(8)`.
pub fn keeld_8(cmd: &Command) -> std::io::Result<Vec<u8>> {
    let about = "keepalived rebuilt in Rust: VRRP hot standby and LVS load balancing";
    let man = clap_mangen::Man::new(cmd.clone().about(about))
        .section("8")
        .manual("System Manager's Manual")
        .source(format!("keeld {}", env!("CARGO_PKG_VERSION")));
    let mut buf = Vec::new();
    man.render_title(&mut buf)?;
    man.render_name_section(&mut buf)?;
    man.render_synopsis_section(&mut buf)?;
    let mut out = String::from(".SH DESCRIPTION\n");
    for (i, p) in DESCRIPTION.iter().enumerate() {
        if i > 0 {
            out.push_str(".PP\n");
        }
        let _ = writeln!(out, "{}", esc(p));
    }
    buf.extend_from_slice(out.as_bytes());
    man.render_options_section(&mut buf)?;

    let mut out = String::from(".SH SUBCOMMANDS\n");
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let args: Vec<_> = sub
            .get_arguments()
            .filter(|a| !a.is_hide_set() && a.get_id() != "help")
            .collect();
        let _ = writeln!(
            out,
            ".TP\n\\fBkeeld {}\\fR{}\n{}",
            esc(sub.get_name()),
            if args.is_empty() {
                ""
            } else {
                " [\\fIOPTIONS\\fR]"
            },
            esc(&help_text(sub.get_about()))
        );
        if !args.is_empty() {
            out.push_str(".RS\n");
            for a in args {
                let _ = writeln!(
                    out,
                    ".TP\n{}\n{}",
                    arg_term(a),
                    esc(&help_text(a.get_long_help().or(a.get_help())))
                );
            }
            out.push_str(".RE\n");
        }
    }
    tp_list(&mut out, "SIGNALS", SIGNALS);
    tp_list(&mut out, "FILES", FILES);
    tp_list(&mut out, "EXIT STATUS", EXIT_STATUS);
    tp_list(&mut out, "ENVIRONMENT", ENVIRONMENT);
    out.push_str(
        ".SH SEE ALSO\n\\fBkeel.conf\\fR(5), \\fBkeepalived\\fR(8), \\fBkeepalived.conf\\fR(5), \
         \\fBsystemd.service\\fR(5), \\fBipvsadm\\fR(8)\n.PP\n\
         /usr/share/doc/keeld/: operations.md, security.md, keywords.md.\n",
    );
    buf.extend_from_slice(out.as_bytes());
    Ok(buf)
}

/// `keel.conf(5)`: the keywords of keepalived.conf and what keel does with each.
pub fn keel_conf_5() -> String {
    let all = keywords::all();
    let mut out = String::new();
    let _ = writeln!(
        out,
        ".TH KEEL.CONF 5 \"\" \"keel {}\" \"File Formats Manual\"\n\
         .SH NAME\nkeel.conf \\- keepalived.conf as keeld reads it\n\
         .SH DESCRIPTION\n\
         keeld(8) reads keepalived's configuration file, by default \
         /etc/keepalived/keepalived.conf, in keepalived's grammar: blocks in braces, one \
         statement per line, include, @ conditionals and $ definitions. This page lists, \
         block by block, every keyword keepalived knows and what keel does with it; it is \
         generated from keel's keyword table, the one its parser uses. For what each \
         keyword means in detail, see keepalived.conf(5).\n\
         .PP\nA keyword is \\fBsupported\\fR (parsed and checked into keel's model), an \
         \\fBalias\\fR of a supported keyword (accepted with a note), or \\fBunsupported\\fR \
         (recognised, reported as an unsupported warning with its file:line:col, and \
         otherwise ignored; a block it opens is skipped). A keyword keepalived does not \
         know is an error. Run \\fBkeeld -t\\fR to check a file.",
        env!("CARGO_PKG_VERSION")
    );
    let own: Vec<_> = all
        .iter()
        .filter(|k| k.name.starts_with("keel_") || k.doc.starts_with("keel only"))
        .collect();
    out.push_str(
        ".SH KEEL'S OWN KEYWORDS\nkeepalived does not know these (it rejects them). \
         \\fBkeel_anycast\\fR and \\fBannounce\\fR make directors active/active: each \
         announces a virtual server's address over BGP through a speaker it already runs \
         (GoBGP, BIRD 2, ExaBGP, or a kernel route the speaker redistributes) while at \
         least min_healthy real servers are up; the router spreads flows with ECMP and \
         IPVS's mh scheduler picks the same real server on every director. \
         See docs/anycast.md.\n",
    );
    for k in &own {
        let _ = writeln!(
            out,
            ".TP\n\\fB{}\\fR (in {})\n{}",
            esc(k.name),
            esc(k.block.name()),
            esc(k.doc)
        );
    }
    for (heading, want) in [
        ("SUPPORTED KEYWORDS", 0),
        ("ALIASES", 1),
        ("UNSUPPORTED KEYWORDS", 2),
    ] {
        let _ = writeln!(out, ".SH {heading}");
        for block in Block::ALL {
            let mut ks: Vec<_> = all
                .iter()
                .filter(|k| k.block == block)
                .filter(|k| {
                    want == match k.status {
                        Status::Supported => 0,
                        Status::Alias { .. } => 1,
                        Status::Unsupported => 2,
                    }
                })
                .collect();
            if ks.is_empty() {
                continue;
            }
            ks.sort_by_key(|k| k.name);
            let _ = writeln!(out, ".SS {}", esc(block.name()));
            if want == 2 {
                let names: Vec<_> = ks
                    .iter()
                    .map(|k| format!("\\fB{}\\fR", esc(k.name)))
                    .collect();
                let _ = writeln!(out, "{}", names.join(", "));
                continue;
            }
            for k in ks {
                let args = match (k.min_args, k.max_args) {
                    (0, 0) => "no arguments".to_owned(),
                    (1, 1) => "1 argument".to_owned(),
                    (a, b) if a == b => format!("{a} arguments"),
                    (a, keywords::MANY) => format!("{a} or more arguments"),
                    (a, b) => format!("{a} to {b} arguments"),
                };
                let opens = match k.opens {
                    Opens::Block(b) if b != block => format!("; opens {}", b.name()),
                    Opens::List => "; opens a list".to_owned(),
                    _ => String::new(),
                };
                let what = match k.status {
                    Status::Alias { of } => format!("alias of {of}"),
                    _ => format!("{args}{opens}"),
                };
                let _ = writeln!(
                    out,
                    ".TP\n\\fB{}\\fR ({})\n{}",
                    esc(k.name),
                    esc(&what),
                    esc(k.doc)
                );
            }
        }
    }
    out.push_str(
        ".SH FILES\n/etc/keepalived/keepalived.conf\n\
         .SH SEE ALSO\n\\fBkeeld\\fR(8), \\fBkeepalived.conf\\fR(5)\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn keeld_8_has_every_section_and_subcommand() {
        let cmd = super::super::keeld_cli::Cli::command().name("keeld");
        let page = String::from_utf8(keeld_8(&cmd).expect("render")).expect("utf-8");
        for s in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH DESCRIPTION",
            ".SH OPTIONS",
            ".SH SUBCOMMANDS",
            ".SH SIGNALS",
            ".SH FILES",
            ".SH \"EXIT STATUS\"",
            ".SH ENVIRONMENT",
            ".SH \"SEE ALSO\"",
        ] {
            let s = s.replace('"', "");
            assert!(page.contains(&s), "missing {s}");
        }
        for sub in cmd.get_subcommands() {
            assert!(
                page.contains(&format!("keeld {}", sub.get_name())),
                "{}",
                sub.get_name()
            );
        }
        assert!(page.contains("\\-\\-use\\-file") || page.contains("use\\-file"));
    }

    #[test]
    fn keel_conf_5_lists_every_keyword() {
        let page = keel_conf_5();
        for k in keywords::all() {
            assert!(page.contains(&esc(k.name)), "{}", k.name);
        }
        assert!(page.contains("keel_stop_mode"));
        assert!(page.contains("\\fBannounce\\fR (in virtual_server)"));
    }
}
