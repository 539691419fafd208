//! keel-conf against keepalived 2.2.7 itself.
//!
//! * On the sample configurations the Debian package ships
//!   (`/usr/share/doc/keepalived/samples`): the lines `keepalived -t` reports as an
//!   unknown keyword are exactly the lines keel-conf reports as `unknown-keyword`, and
//!   keel-conf reports no error where `keepalived -t` accepts the file.
//! * On every configuration the repository carries (keel-conf's tests, docs/examples,
//!   the fuzz seeds) and those samples: `keepalived -t` and keel's check agree on
//!   "runs / does not run", except where [`ALLOWED`] states the reason.
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

/// How `keepalived -t` (2.2.7) judged a file, from its exit status (config_test_exit):
/// 0 clean, 4 cannot run (file not found, bad interface, fatal), 5 configuration errors
/// it runs despite (the offending parts dropped), 6 script security.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ka {
    Clean,
    RunsWithErrors,
    CannotRun,
}

/// An intended difference: keel refuses (exit 3) a file keepalived runs with errors
/// (exit 5) when every keel error matches `code` and, if given, starts with `message`.
/// Each states why keel refuses rather than drop the part as keepalived does.
struct Allowed {
    code: Code,
    message: &'static str,
    reason: &'static str,
}

const ALLOWED: &[Allowed] = &[
    Allowed {
        code: Code::UnknownKeyword,
        message: "",
        reason: "an unknown keyword is an error in keel: keepalived logs it and runs without the line, so a typo silently changes behaviour (docs/migrating.md, exit codes)",
    },
    Allowed {
        code: Code::Syntax,
        message: "",
        reason: "unbalanced braces, bad quotes, bad ~SEQ, include cycles: keepalived guesses where a block ends and runs what it guessed",
    },
    Allowed {
        code: Code::InvalidValue,
        message: "",
        reason: "a value that does not parse or is out of range: keepalived logs it and runs with the default, which keel will not guess",
    },
    Allowed {
        code: Code::Missing,
        message: "",
        reason: "a required part is absent (interface, VRID, a script's command, a file an include names): keepalived drops the instance or check and runs the rest; keel refuses to run half a configuration",
    },
    Allowed {
        code: Code::Conflict,
        message: "",
        reason: "contradictory settings keepalived resolves by dropping one side with an error (duplicate VRID, mixed families, v3 authentication, a name defined twice): keel names both places and refuses",
    },
];

/// Files on which keel and keepalived 2.2.7 differ on purpose in another way (matched by
/// the end of the file name, so a fuzz seed copied from a test matches too), and why.
const ALLOWED_FILES: &[(&str, &str)] = &[
    (
        "41-block-keyword-without-brace.conf",
        "keepalived silently reads the lines after `virtual_ipaddress` without '{' as its block, up to the instance's '}' (-t exits 0); keel asks for the brace",
    ),
    (
        "43-include-cycle.conf",
        "keepalived follows an include cycle until it runs out of file descriptors (\"Too many open files - skipping\", -t exits 0); keel refuses the cycle",
    ),
    (
        "51-nb-get-retry-is-an-alias.conf",
        "keel reads the guide's nb_get_retry as retry (a note); keepalived 2.x rejects it as unknown and runs with the default retry count",
    ),
    ("keepalived.conf.fwmark", FWMARK_PROTOCOL),
    ("sample-fwmark.conf", FWMARK_PROTOCOL),
];

const FWMARK_PROTOCOL: &str = "keepalived warns that 'protocol' is ignored for a fwmark service; keel keeps it, without a warning, as the service's label";

/// keepalived 2.2.7's verdict on `file`, run in the file's directory (its relative
/// includes resolve from there).
fn keepalived_t(file: &Path) -> (Ka, String) {
    let out = Command::new("keepalived")
        .args(["-t", "-f"])
        .arg(file)
        .current_dir(file.parent().unwrap_or(Path::new("/")))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let ka = match out.status.code() {
        Some(0) => Ka::Clean,
        Some(4) => Ka::CannotRun,
        _ => Ka::RunsWithErrors,
    };
    (ka, text)
}

fn repo_configs() -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut out = Vec::new();
    for dir in [
        "crates/keel-conf/tests/broken",
        "crates/keel-conf/tests/data",
        "crates/keel-conf/tests/forms",
        "docs/examples/guide",
        "fuzz/seeds/conf",
        SAMPLES,
    ] {
        let d = root.join(dir);
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if p.is_file()
                && (n.ends_with(".conf")
                    || n.starts_with("keepalived.conf")
                    || dir.starts_with("fuzz"))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Every configuration the repository carries, and keepalived's samples: keepalived 2.2.7
/// and keel agree on whether it runs.
///
/// * keepalived clean (exit 0) → keel has no error;
/// * keepalived cannot run it (exit 4) → keel has an error;
/// * keepalived runs it with errors (exit 5/6) → keel says something (a warning or an
///   error); where keel refuses it, every keel error is covered by an [`ALLOWED`]
///   reason.
#[test]
fn every_repo_config_agrees_with_keepalived() {
    if !keel_testkit::require_tool(
        "keepalived -t on the repository's configurations",
        "keepalived",
    ) {
        return;
    }
    let files = repo_configs();
    assert!(
        files.len() >= 100,
        "only {} configurations found",
        files.len()
    );
    let mut disagreements = Vec::new();
    let mut used = vec![0usize; ALLOWED.len()];
    let mut tally = std::collections::BTreeMap::<String, usize>::new();
    for f in &files {
        let (ka, ka_text) = keepalived_t(f);
        let l = keel_conf::load_file(
            f,
            &LoadOptions {
                config_id: None,
                check_environment: true,
            },
        );
        let errors: Vec<&keel_conf::Diagnostic> =
            l.diagnostics.iter().filter(|d| d.is_error()).collect();
        let name = f.to_string_lossy();
        if let Some((_, reason)) = ALLOWED_FILES.iter().find(|(n, _)| name.ends_with(n)) {
            *tally
                .entry(format!("allowed by file: {reason}"))
                .or_default() += 1;
            continue;
        }
        let why = match ka {
            Ka::Clean if !errors.is_empty() => {
                Some("keepalived -t runs it cleanly, keel refuses it")
            }
            Ka::CannotRun if errors.is_empty() => Some("keepalived -t cannot run it, keel would"),
            Ka::RunsWithErrors if !l.has_warnings() => {
                Some("keepalived -t reports errors, keel says nothing")
            }
            Ka::RunsWithErrors if !errors.is_empty() => {
                let mut all = true;
                for e in &errors {
                    match ALLOWED
                        .iter()
                        .position(|a| a.code == e.code && e.message.starts_with(a.message))
                    {
                        Some(i) => used[i] += 1,
                        None => all = false,
                    }
                }
                (!all).then_some("keel refuses what keepalived runs, for a reason not in ALLOWED")
            }
            _ => None,
        };
        *tally
            .entry(format!(
                "keepalived {ka:?} / keel {}",
                if errors.is_empty() { "runs" } else { "refuses" }
            ))
            .or_default() += 1;
        if let Some(why) = why {
            disagreements.push(format!(
                "{}: {why}\n  keel:\n{}\n  keepalived -t:\n{}",
                f.display(),
                l.diagnostics
                    .iter()
                    .map(|d| format!(
                        "    {}: {}",
                        d.line,
                        d.to_string().lines().next().unwrap_or("")
                    ))
                    .collect::<Vec<_>>()
                    .join("\n"),
                ka_text
                    .lines()
                    .take(8)
                    .map(|x| format!("    {x}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
    }
    eprintln!(
        "{} configurations compared with keepalived -t: {tally:?}",
        files.len()
    );
    for (a, n) in ALLOWED.iter().zip(&used) {
        eprintln!(
            "  allowed ({n} errors): {:?} {:?}: {}",
            a.code, a.message, a.reason
        );
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements with keepalived 2.2.7:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    let unused: Vec<&str> = ALLOWED
        .iter()
        .zip(&used)
        .filter(|(_, n)| **n == 0)
        .map(|(a, _)| a.reason)
        .collect();
    assert!(
        unused.is_empty(),
        "allow-list entries no file needs: {unused:?}"
    );
}
