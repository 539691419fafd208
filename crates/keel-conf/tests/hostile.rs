//! Hostile or careless configurations (issue 17, items 8–10): the cost of one load is
//! bounded and linear in what it reads, diagnostics quote capped excerpts, `-f` refuses
//! what is not a regular file, and an instance cannot advertise more than 255 addresses.
#![allow(clippy::unwrap_used)]

use keel_conf::*;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

mod common;
use common::TempDir;

fn opts() -> LoadOptions {
    LoadOptions {
        config_id: Some("main".into()),
        check_environment: false,
    }
}

fn summary(l: &Loaded) -> Vec<(Severity, Code, u32, u32, String)> {
    l.diagnostics
        .iter()
        .map(|d| (d.severity, d.code, d.line, d.col, d.message.clone()))
        .collect()
}

fn instance_with_vips(n: usize) -> String {
    let mut s = String::from(
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n",
    );
    for i in 0..n {
        writeln!(s, "        10.{}.{}.1", i / 256, i % 256).unwrap();
    }
    s.push_str("    }\n}\n");
    s
}

/// Item 10: an advert's address count is one byte. 255 VIPs load; the 256th is an error
/// at its own line, pointing to virtual_ipaddress_excluded.
#[test]
fn more_than_255_vips_is_an_error() {
    let ok = load_str("t.conf", &instance_with_vips(255), &opts());
    assert!(ok.diagnostics.is_empty(), "{:#?}", ok.diagnostics);
    let l = load_str("t.conf", &instance_with_vips(256), &opts());
    // VIP i sits on line 5 + i.
    assert_eq!(
        summary(&l),
        vec![(
            Severity::Error,
            Code::InvalidValue,
            5 + 255,
            9,
            "vrrp_instance VI_1 has 256 virtual addresses; a VRRP advert carries at most 255"
                .into()
        )]
    );
    assert!(
        l.diagnostics[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("virtual_ipaddress_excluded")
    );
    assert_eq!(l.exit_code(), 3);
}

/// Item 9: a diagnostic about a huge line quotes at most a capped excerpt of it.
#[test]
fn diagnostics_quote_capped_excerpts() {
    let t = TempDir::new();
    // One 5 MiB line (over the 4 MiB line limit), then a normal one with a typo.
    let mut text = "x".repeat(5 << 20);
    text.push_str("\nglobal_defs {\n    router_idd R1\n}\n");
    let p = t.write("big.conf", &text);
    let l = load_file(&p, &opts());
    assert_eq!(
        summary(&l)
            .into_iter()
            .map(|(s, c, line, col, _)| (s, c, line, col))
            .collect::<Vec<_>>(),
        vec![
            (Severity::Error, Code::Syntax, 1, 0),
            (Severity::Error, Code::UnknownKeyword, 3, 5),
        ]
    );
    assert_eq!(
        l.diagnostics[0].message,
        "line longer than 4194304 bytes (ignored)"
    );
    let d = &l.diagnostics[0];
    assert!(d.source_line.len() <= 520, "{} bytes", d.source_line.len());
    assert!(d.source_line.ends_with(" …"));
    assert!(d.to_string().len() < 2048, "{} bytes", d.to_string().len());
    // The next line is still quoted in full, caret in place.
    assert!(
        l.diagnostics[1]
            .to_string()
            .contains("3 |     router_idd R1\n  |     ^^^^^^^^^^"),
        "{}",
        l.diagnostics[1]
    );
}

/// Item 9: a caret past the end of an excerpt is not drawn (and never as long as `len`).
#[test]
fn caret_beyond_excerpt_is_not_drawn() {
    let mut line = "    router_id ".to_string();
    line.push_str(&"a".repeat(3000));
    line.push_str(" extra");
    let text = format!("global_defs {{\n{line}\n}}\n");
    let l = load_str("t.conf", &text, &opts());
    assert_eq!(
        summary(&l),
        vec![(
            Severity::Error,
            Code::InvalidValue,
            2,
            3016,
            "unexpected argument 'extra' after 'router_id'".into()
        )]
    );
    let shown = l.diagnostics[0].to_string();
    assert!(!shown.contains('^'), "{shown}");
    assert!(shown.len() < 1024, "{} bytes", shown.len());
}

/// Item 9: `-f` on a FIFO is refused at once (it used to block in open(2) waiting for
/// a writer).
#[test]
fn main_file_must_be_regular() {
    let t = TempDir::new();
    let fifo = t.0.join("fifo.conf");
    let st = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(st.success());
    let (tx, rx) = std::sync::mpsc::channel();
    let f = fifo.clone();
    std::thread::spawn(move || {
        let _ = tx.send(load_file(&f, &opts()));
    });
    let l = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("loading a FIFO must not block");
    assert_eq!(
        summary(&l),
        vec![(
            Severity::Error,
            Code::Missing,
            0,
            0,
            format!("{} is not a regular file", fifo.display())
        )]
    );
    // A directory likewise.
    let l = load_file(&t.0, &opts());
    assert_eq!(
        summary(&l),
        vec![(
            Severity::Error,
            Code::Missing,
            0,
            0,
            format!("{} is a directory", t.0.display())
        )]
    );
}

fn vrrp_script(i: usize) -> String {
    format!("vrrp_script s{i} {{\n    script /bin/true\n}}\n")
}

/// Item 8: a glob over many files costs time linear in their number (it used to be
/// quadratic: 10k files 3.5 s, 30k files 30.6 s of CPU in a release build). 20,000 files
/// load, in order, in well under the time the quadratic version needed.
#[test]
fn large_glob_is_linear() {
    let t = TempDir::new();
    let n = 20_000;
    for i in 0..n {
        t.write(&format!("d/f{i:05}.conf"), &vrrp_script(i));
    }
    let main = t.write("k.conf", "include d/*.conf\n");
    let t0 = Instant::now();
    let l = load_file(&main, &opts());
    let took = t0.elapsed();
    assert!(l.diagnostics.is_empty(), "{:?}", &l.diagnostics[..3]);
    assert_eq!(l.config.vrrp_scripts.len(), n);
    assert_eq!(l.config.vrrp_scripts[n - 1].name, format!("s{}", n - 1));
    assert_eq!(l.files.len(), n + 1);
    assert!(took < Duration::from_secs(30), "{took:?} for {n} files");
}

/// Item 8: the files one load includes are bounded. Each level includes the next twice,
/// so 18 levels would read 2^18 files; the load stops at 100,000 with one error.
#[test]
fn total_includes_are_bounded() {
    let t = TempDir::new();
    let levels = 18;
    for i in 0..levels {
        t.write(
            &format!("l{i}.conf"),
            &format!("include l{n}.conf\ninclude l{n}.conf\n", n = i + 1),
        );
    }
    t.write(&format!("l{levels}.conf"), "! leaf\n");
    let l = load_file(&t.0.join("l0.conf"), &opts());
    let s = summary(&l);
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!((s[0].0, s[0].1, s[0].3), (Severity::Error, Code::Syntax, 1));
    assert!(
        s[0].4.ends_with(
            ": the includes of one load match more than 100000 files; the rest are not read"
        ),
        "{}",
        s[0].4
    );
}

/// Item 8: brace alternatives of all include lines together are bounded (16,384); the
/// line that goes over says so (once), and nothing after it expands.
#[test]
fn brace_alternatives_are_bounded() {
    let t = TempDir::new();
    let digits = "{0,1,2,3,4,5,6,7,8,9,a,b,c,d,e,f}";
    // 16^3 = 4096 alternatives per line: four lines use the budget, the fifth is over.
    let line = format!("include nothing/{digits}{digits}{digits}.conf\n");
    let main = t.write("k.conf", &line.repeat(6));
    let l = load_file(&main, &opts());
    let s = summary(&l);
    let errors: Vec<_> = s.iter().filter(|d| d.0 == Severity::Error).collect();
    // Reported once: the sixth line is not read either.
    assert_eq!(errors.len(), 1, "{s:?}");
    for (e, line) in errors.iter().zip([5]) {
        assert_eq!((e.1, e.2, e.3), (Code::Syntax, line, 1));
        assert_eq!(
            e.4,
            format!(
                "include nothing/{digits}{digits}{digits}.conf: include patterns expand to more than 16384 brace alternatives; the rest are not read"
            )
        );
    }
    // The first four lines matched nothing (a warning each, as keepalived); the fifth
    // and sixth were not tried.
    assert_eq!(
        s.iter()
            .filter(|d| d.0 == Severity::Warning && d.1 == Code::Missing)
            .count(),
        4
    );
}

/// Item 8: glob matches of one load are bounded too, with the same kind of error. The
/// limit is 100,000; this test uses a pattern that matches the same directory many
/// times through brace alternatives to reach it cheaply.
#[test]
fn glob_matches_are_bounded() {
    let t = TempDir::new();
    for i in 0..100 {
        t.write(&format!("d/f{i:03}.conf"), "! empty\n");
    }
    // {a,...} x 1024 alternatives of the same 100 files = 102,400 matches.
    let alts: Vec<String> = (0..1024).map(|i| format!("x{i}")).collect();
    for a in &alts {
        std::os::unix::fs::symlink(t.0.join("d"), t.0.join(a)).unwrap();
    }
    let main = t.write(
        "k.conf",
        &format!("include {{{}}}/*.conf\n", alts.join(",")),
    );
    let l = load_file(&main, &opts());
    let s = summary(&l);
    assert_eq!(s.len(), 1, "{:?}", &s[..s.len().min(3)]);
    assert_eq!(
        (s[0].0, s[0].1, s[0].2, s[0].3),
        (Severity::Error, Code::Syntax, 1, 1)
    );
    assert!(
        s[0].4.ends_with(
            ": the includes of one load match more than 100000 files; the rest are not read"
        ),
        "{}",
        s[0].4
    );
    // 100,000 files were read, no more.
    assert_eq!(l.files.len(), 1 + 100_000);
}
