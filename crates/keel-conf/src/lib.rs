//! keel-conf: reads keepalived.conf as keepalived does, into a typed model, with precise
//! diagnostics (`file:line:col`, the source line with a caret, and a hint).
//!
//! ```
//! use keel_conf::{load_str, LoadOptions, Code};
//!
//! let text = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    prioritty 100\n}\n";
//! let loaded = load_str("keepalived.conf", text, &LoadOptions::default());
//! assert_eq!(loaded.config.vrrp_instances[0].virtual_router_id, 51);
//! let d = &loaded.diagnostics[0];
//! assert_eq!((d.code, d.line, d.col), (Code::UnknownKeyword, 4, 5));
//! assert!(d.to_string().contains("did you mean 'priority'?"));
//! ```
//!
//! Pipeline:
//! 1. a line-based preprocessor (`include` with globs, `@id` / `@^id` lines, `$NAME`
//!    definitions and substitution, `~SEQ` / `~LST`) that keeps, for every character it
//!    hands on, the file, line and column it came from;
//! 2. the lexical grammar in `src/grammar.pest` (pest) splitting each line into words,
//!    quoted strings and braces. Lines with no `"` or `\` — nearly all of a real file —
//!    take a byte-table fast path that a property test holds equal to the grammar;
//! 3. a statement reader driven by the keyword table ([`keywords`]): each keyword's
//!    arity says where a statement ends, so `authentication { auth_type PASS auth_pass x }`
//!    on one line works;
//! 4. typed builders ([`model`]) with per-value checks, then whole-model checks (VRID
//!    ranges and duplicates, advert_int per version, address families, references
//!    between blocks, interfaces on this host).
//!
//! Every finding is a [`Diagnostic`] with a stable [`Code`]; [`print()`] writes a model
//! back as canonical keepalived.conf text (`parse(print(m)) == m` is property-tested).
//! Nothing here panics on any input or prints; the front end is fuzzed (`fuzz`, target
//! `conf`).
#![warn(clippy::print_stdout, clippy::print_stderr)]

mod build;
mod check;
mod chunk;
mod diag;
mod diags;
mod glob;
pub mod keywords;
mod lex;
pub mod model;
mod pre;
mod print;
mod stmt;
mod values;

pub use diag::{Code, Diagnostic, FULL_PER_KIND, Report, Severity};
pub use model::*;

use std::path::Path;

/// Options for loading a configuration.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Config id for `@id` lines (keepalived's `-i`); `None` = the host name's first label.
    pub config_id: Option<String>,
    /// Look interfaces up on this host (missing ones give `environment` warnings).
    pub check_environment: bool,
}

/// The result of loading: the model (always, as complete as the text allows) and the
/// diagnostics in the order found.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// The typed configuration.
    pub config: Config,
    /// Everything found wrong or noteworthy.
    pub diagnostics: Vec<Diagnostic>,
    /// Every file read, the main file first (for reload watching).
    pub files: Vec<std::path::PathBuf>,
}

impl Loaded {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Whether any diagnostic is a warning or an error.
    pub fn has_warnings(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity >= Severity::Warning)
    }

    /// keepalived-like exit status for `-t`: 0 when there is no error (notes and warnings
    /// such as `unsupported` or `environment` allowed), 3 ("configuration cannot run")
    /// when there is at least one error.
    pub fn exit_code(&self) -> i32 {
        if self.has_errors() { 3 } else { 0 }
    }
}

/// Load a configuration file (and everything it includes). Never panics.
pub fn load_file(path: &Path, opts: &LoadOptions) -> Loaded {
    let mut pre = pre::Pre::new(opts.config_id.clone().or_else(host_config_id));
    let mut diags = diags::Diags::default();
    pre.push_file(path, None, &mut diags);
    finish(pre, diags, opts)
}

/// Load a configuration from text; `name` is used as its file name in diagnostics and
/// relative includes are resolved from the current directory.
pub fn load_str(name: &str, text: &str, opts: &LoadOptions) -> Loaded {
    let mut pre = pre::Pre::new(opts.config_id.clone().or_else(host_config_id));
    let dir = std::env::current_dir().unwrap_or_default();
    pre.push_str(Path::new(name), text, dir);
    finish(pre, diags::Diags::default(), opts)
}

/// Limits for [`load_str_with`] (for fuzzing).
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most lines `~SEQ`/`~LST` and multi-line definitions may produce (default 2,000,000).
    pub max_generated_lines: usize,
    /// Whether `include` lines are followed.
    pub includes: bool,
}

/// [`load_str`] with explicit limits.
#[doc(hidden)]
pub fn load_str_with(name: &str, text: &str, opts: &LoadOptions, limits: &Limits) -> Loaded {
    let mut pre = pre::Pre::new(opts.config_id.clone().or_else(host_config_id));
    pre.max_generated = limits.max_generated_lines;
    pre.allow_includes = limits.includes;
    let dir = std::env::current_dir().unwrap_or_default();
    pre.push_str(Path::new(name), text, dir);
    finish(pre, diags::Diags::default(), opts)
}

/// Print a model as canonical keepalived.conf text.
pub fn print(cfg: &Config) -> String {
    print::print(cfg)
}

/// keepalived's default config id: the host name up to the first dot.
fn host_config_id() -> Option<String> {
    let h = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let h = h.trim();
    let first = h.split('.').next().unwrap_or(h);
    (!first.is_empty()).then(|| first.to_string())
}

fn finish(pre: pre::Pre<'_>, diags: diags::Diags, opts: &LoadOptions) -> Loaded {
    let mut reader = stmt::Reader::new(pre, diags);
    let (mut config, side) = {
        let mut b = build::Builder::new(&mut reader);
        b.run();
        (std::mem::take(&mut b.cfg), std::mem::take(&mut b.side))
    };
    check::check(
        &mut config,
        &side,
        &mut reader.diags,
        opts.check_environment,
    );
    let diagnostics = render(&reader.pre, reader.diags);
    let mut seen = std::collections::HashSet::new();
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    for f in &reader.pre.files {
        if seen.insert(f.clone()) {
            files.push(f.to_path_buf());
        }
    }
    Loaded {
        config,
        diagnostics,
        files,
    }
}

/// Most bytes of a source line a diagnostic quotes; longer lines are cut (with " …") so
/// that a huge one-line file cannot make the report huge.
pub(crate) const MAX_EXCERPT: usize = 512;

/// `line` cut to at most [`MAX_EXCERPT`] bytes on a character boundary, marked when cut.
fn excerpt(line: &str) -> String {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.len() <= MAX_EXCERPT {
        return line.to_string();
    }
    let mut end = MAX_EXCERPT;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{} …", &line[..end])
}

/// Read one line from `r` into `buf`, keeping at most `keep` bytes of it (the rest is
/// read and dropped). Returns false at the end of the input.
fn read_line_capped(r: &mut impl std::io::BufRead, buf: &mut Vec<u8>, keep: usize) -> bool {
    let mut any = false;
    loop {
        let (n, done) = match r.fill_buf() {
            Ok([]) => return any,
            Ok(avail) => {
                any = true;
                let (n, done) = match avail.iter().position(|b| *b == b'\n') {
                    Some(i) => (i + 1, true),
                    None => (avail.len(), false),
                };
                let room = keep.saturating_sub(buf.len());
                buf.extend_from_slice(&avail[..n.min(room)]);
                (n, done)
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return any,
        };
        r.consume(n);
        if done {
            return true;
        }
    }
}

/// Turn collected diagnostics into [`Diagnostic`]s with file names and (excerpts of)
/// source lines.
fn render(pre: &pre::Pre<'_>, diags: diags::Diags) -> Vec<Diagnostic> {
    use std::collections::{BTreeSet, HashMap};
    let mut want: HashMap<u32, BTreeSet<u32>> = HashMap::new();
    for d in &diags.list {
        if d.line > 0 {
            want.entry(d.file).or_default().insert(d.line);
        }
    }
    let mut lines: HashMap<(u32, u32), String> = HashMap::new();
    for (file, nums) in want {
        let Some(&last) = nums.iter().next_back() else {
            continue;
        };
        let mut put = |n: u32, l: &str| {
            if nums.contains(&n) {
                lines.insert((file, n), excerpt(l));
            }
        };
        if let Some(text) = pre.mem_text(file) {
            for (i, l) in text.split('\n').enumerate().take(last as usize) {
                put(i as u32 + 1, l);
            }
        } else if let Some(path) = pre.files.get(file as usize)
            && std::fs::metadata(path).is_ok_and(|m| m.is_file())
            && let Ok(f) = std::fs::File::open(path)
        {
            let mut r = std::io::BufReader::new(f);
            let mut buf = Vec::new();
            let mut n = 0u32;
            while n < last {
                buf.clear();
                // A little more than the excerpt, so that a cut line is marked as cut.
                if !read_line_capped(&mut r, &mut buf, MAX_EXCERPT + 8) {
                    break;
                }
                n += 1;
                put(n, &String::from_utf8_lossy(&buf));
            }
        }
    }
    diags
        .list
        .into_iter()
        .map(|d| Diagnostic {
            severity: d.severity,
            code: d.code,
            file: pre
                .files
                .get(d.file as usize)
                .map(|p| p.to_path_buf())
                .unwrap_or_default(),
            line: d.line,
            col: d.col,
            source_line: lines.get(&(d.file, d.line)).cloned().unwrap_or_default(),
            message: d.message,
            hint: d.hint,
            len: d.len,
        })
        .collect()
}
