//! keel-conf against keepalived 2.2.7 itself on the sample configurations the
//! Debian package ships (`/usr/share/doc/keepalived/samples`): on every sample,
//! the lines `keepalived -t` reports as an unknown keyword are exactly the lines
//! keel-conf reports as `unknown-keyword`, and keel-conf reports no error where
//! `keepalived -t` accepts the file.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use keel_conf::{Code, LoadOptions};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

const SAMPLES: &str = "/usr/share/doc/keepalived/samples";

/// Line numbers of keepalived's "(FILE: Line N) Unknown keyword 'X'" reports.
fn keepalived_unknown_lines(text: &str) -> BTreeSet<u32> {
    text.lines()
        .filter(|l| l.contains("Unknown keyword"))
        .filter_map(|l| l.split("Line ").nth(1)?.split(')').next()?.parse().ok())
        .collect()
}

#[test]
fn samples_agree_with_keepalived() {
    if !keel_testkit::require_tool("keepalived sample configurations", "keepalived") {
        return;
    }
    let Ok(dir) = std::fs::read_dir(SAMPLES) else {
        // Minimal images drop /usr/share/doc; nothing to compare with then.
        eprintln!("SKIP: {SAMPLES} is absent (documentation not installed)");
        return;
    };
    let mut files: Vec<_> = dir
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("keepalived.conf"))
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 20,
        "only {} samples in {SAMPLES}",
        files.len()
    );
    for f in &files {
        let out = Command::new("keepalived")
            .args(["-t", "-f"])
            .arg(f)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let l = keel_conf::load_file(
            f,
            &LoadOptions {
                config_id: None,
                check_environment: false,
            },
        );
        let keel: BTreeSet<u32> = l
            .diagnostics
            .iter()
            .filter(|d| d.code == Code::UnknownKeyword && d.file == Path::new(f))
            .map(|d| d.line)
            .collect();
        assert_eq!(
            keel,
            keepalived_unknown_lines(&text),
            "{}: unknown keywords differ\nkeel: {:#?}\nkeepalived: {text}",
            f.display(),
            l.diagnostics
        );
        if out.status.success() {
            let errors: Vec<String> = l
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| d.to_string())
                .collect();
            assert!(
                errors.is_empty(),
                "{}: keepalived -t accepts it, keel-conf does not:\n{}",
                f.display(),
                errors.join("\n")
            );
        }
    }
    eprintln!("{} keepalived samples compared", files.len());
}
