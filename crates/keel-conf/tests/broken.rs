//! The corpus of deliberately broken configurations in `tests/broken/`: each file states,
//! in its first lines, exactly the diagnostics it must produce:
//!
//! ```text
//! ! expect: SEVERITY CODE [FILE:]LINE:COL      (one line per diagnostic)
//! ! options: check-environment                 (optional)
//! ```
//!
//! FILE is relative to `tests/broken/` and defaults to the file itself. The test fails on
//! any missing or additional diagnostic.
#![allow(clippy::unwrap_used)]

use keel_conf::*;
use std::path::{Path, PathBuf};

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct Exp {
    file: PathBuf,
    line: u32,
    col: u32,
    severity: String,
    code: String,
}

fn parse_expect(dir: &Path, file: &Path, text: &str) -> (Vec<Exp>, bool) {
    let mut out = Vec::new();
    let mut env = false;
    for l in text.lines() {
        if let Some(rest) = l.strip_prefix("! expect:") {
            let w: Vec<&str> = rest.split_whitespace().collect();
            assert_eq!(w.len(), 3, "{}: bad expect line {l:?}", file.display());
            let (f, lc) = match w[2]
                .rsplit_once(':')
                .and_then(|(a, c)| a.rsplit_once(':').map(|(f, l)| (f, format!("{l}:{c}"))))
            {
                Some((f, lc)) => (dir.join(f), lc),
                None => (file.to_path_buf(), w[2].to_string()),
            };
            let (line, col) = lc.split_once(':').unwrap();
            out.push(Exp {
                file: f,
                line: line.parse().unwrap(),
                col: col.parse().unwrap(),
                severity: w[0].into(),
                code: w[1].into(),
            });
        } else if l.starts_with("! options:") {
            env = l.contains("check-environment");
        }
    }
    out.sort();
    (out, env)
}

#[test]
fn broken_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "only {} broken configs", files.len());
    let mut failures = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let (want, env) = parse_expect(&dir, f, &text);
        assert!(!want.is_empty(), "{} states no expectation", f.display());
        let opts = LoadOptions {
            config_id: Some("main".into()),
            check_environment: env,
        };
        let l = load_file(f, &opts);
        let mut got: Vec<Exp> = l
            .diagnostics
            .iter()
            .map(|d| Exp {
                file: d.file.clone(),
                line: d.line,
                col: d.col,
                severity: d.severity.as_str().into(),
                code: d.code.as_str().into(),
            })
            .collect();
        got.sort();
        if got != want {
            let rendered: Vec<String> = l.diagnostics.iter().map(|d| d.to_string()).collect();
            failures.push(format!(
                "{}:\n  want {:?}\n  got  {:?}\n{}",
                f.file_name().unwrap().to_string_lossy(),
                want.iter()
                    .map(|e| format!("{} {} {}:{}", e.severity, e.code, e.line, e.col))
                    .collect::<Vec<_>>(),
                got.iter()
                    .map(|e| format!("{} {} {}:{}", e.severity, e.code, e.line, e.col))
                    .collect::<Vec<_>>(),
                rendered.join("\n")
            ));
        }
        // Every diagnostic renders with its source line and a caret.
        for d in &l.diagnostics {
            let s = d.to_string();
            assert!(
                s.starts_with(&format!("{}[{}]: ", d.severity, d.code)),
                "{s}"
            );
            if d.line > 0 && d.col > 0 {
                assert!(s.contains(&format!(":{}:{}", d.line, d.col)), "{s}");
                assert!(s.contains('^'), "{s}");
            }
        }
        let errors = l.has_errors();
        assert_eq!(l.exit_code() != 0, errors, "{}", f.display());
    }
    assert!(
        failures.is_empty(),
        "{} of {} broken configs differ:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
