//! Diagnostics: severity, stable codes, location, caret rendering.

use std::fmt;
use std::path::PathBuf;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Information only (for example "this old keyword was accepted as an alias").
    Note,
    /// The configuration runs, but probably not as the operator meant.
    Warning,
    /// The configuration (or this part of it) cannot be used as written.
    Error,
}

impl Severity {
    /// Lower-case name: `note`, `warning`, `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Stable diagnostic codes (their [`Code::as_str`] spelling is part of the interface).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    /// Lexical or block-structure problem: unbalanced braces, unterminated quote,
    /// bad `~SEQ`, include problems.
    Syntax,
    /// A keyword keepalived does not know in this block.
    UnknownKeyword,
    /// A keyword keepalived knows but keel does not implement.
    Unsupported,
    /// A value that does not parse or is out of range.
    InvalidValue,
    /// Something required is absent.
    Missing,
    /// Two parts of the configuration contradict each other.
    Conflict,
    /// The host does not match the configuration (e.g. missing interface).
    Environment,
}

impl Code {
    /// All codes, in a stable order.
    pub const ALL: [Code; 7] = [
        Code::Syntax,
        Code::UnknownKeyword,
        Code::Unsupported,
        Code::InvalidValue,
        Code::Missing,
        Code::Conflict,
        Code::Environment,
    ];

    /// Kebab-case spelling: `syntax`, `unknown-keyword`, `unsupported`, `invalid-value`,
    /// `missing`, `conflict`, `environment`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "syntax",
            Code::UnknownKeyword => "unknown-keyword",
            Code::Unsupported => "unsupported",
            Code::InvalidValue => "invalid-value",
            Code::Missing => "missing",
            Code::Conflict => "conflict",
            Code::Environment => "environment",
        }
    }

    /// Inverse of [`Code::as_str`].
    pub fn from_name(s: &str) -> Option<Code> {
        Code::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding about a configuration, pointing into the file that holds the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// How serious it is.
    pub severity: Severity,
    /// Stable code.
    pub code: Code,
    /// File holding the offending text (as opened: relative includes are joined to the
    /// including file's directory).
    pub file: PathBuf,
    /// 1-based line (0 when the diagnostic is about the file as a whole).
    pub line: u32,
    /// 1-based column in characters (0 when not applicable).
    pub col: u32,
    /// One-line message.
    pub message: String,
    /// The source line, without its line ending (empty when not applicable).
    pub source_line: String,
    /// Optional hint (e.g. `did you mean 'priority'?`).
    pub hint: Option<String>,
    /// How many characters the caret underlines (at least 1 when shown).
    pub len: u32,
}

impl Diagnostic {
    /// Whether this diagnostic is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// rustc-like rendering:
    ///
    /// ```text
    /// error[unknown-keyword]: unknown keyword 'prioritty' in vrrp_instance
    ///   --> keepalived.conf:5:5
    ///    |
    ///  5 |     prioritty 100
    ///    |     ^^^^^^^^^
    ///    = hint: did you mean 'priority'?
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}[{}]: {}", self.severity, self.code, self.message)?;
        let lineno = self.line.to_string();
        let pad = " ".repeat(lineno.len());
        if self.line > 0 {
            write!(f, "{pad}--> {}:{}", self.file.display(), self.line)?;
            if self.col > 0 {
                write!(f, ":{}", self.col)?;
            }
        } else {
            write!(f, "{pad}--> {}", self.file.display())?;
        }
        if self.line > 0 && !self.source_line.is_empty() {
            let src = self.source_line.trim_end();
            write!(f, "\n{pad} |\n{lineno} | {src}")?;
            // The source line is an excerpt (see `MAX_EXCERPT`): a caret is drawn only
            // under text it holds, and no longer than that text.
            let shown = src.chars().count();
            let at = self.col.saturating_sub(1) as usize;
            if self.col > 0 && at <= shown {
                // Reproduce tabs so the caret lines up whatever the tab width.
                let prefix: String = src
                    .chars()
                    .take(at)
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                let n = (self.len.max(1) as usize).min((shown - at).max(1));
                write!(f, "\n{pad} | {prefix}{}", "^".repeat(n))?;
            }
        }
        if let Some(h) = &self.hint {
            write!(f, "\n{pad} = hint: {h}")?;
        }
        Ok(())
    }
}

/// How many diagnostics of one kind [`Report`] shows in full before it summarises.
pub const FULL_PER_KIND: usize = 3;

/// The text report `keeld -t` prints: every diagnostic rendered as [`Diagnostic`]'s
/// `Display`, one after the other, except that of diagnostics of one kind (same
/// severity, code and message — e.g. 40,000 `'nb_get_retry' accepted as 'retry'`) only
/// the first [`FULL_PER_KIND`] are shown in full; one line then gives how many more
/// there are and where (file and line range). A JSON report should list them all.
///
/// ```
/// use keel_conf::{load_str, LoadOptions, Report};
/// let mut text = String::new();
/// for i in 0..10 {
///     text.push_str(&format!("virtual_server 192.0.2.{i} 80 {{\n real_server 192.0.2.100 80 {{\n  TCP_CHECK {{\n   nb_get_retry 3\n  }}\n }}\n}}\n"));
/// }
/// let l = load_str("k.conf", &text, &LoadOptions::default());
/// assert_eq!(l.diagnostics.len(), 10);
/// let r = Report::new(&l.diagnostics).to_string();
/// assert_eq!(r.matches("note[unknown-keyword]").count(), 4);
/// assert!(r.ends_with("note[unknown-keyword]: 'nb_get_retry' accepted as 'retry': 7 more like this, in k.conf lines 25..67 (--format json lists each)\n"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    diags: &'a [Diagnostic],
    per_kind: usize,
}

impl<'a> Report<'a> {
    /// A report of `diags` showing [`FULL_PER_KIND`] of each kind in full.
    pub fn new(diags: &'a [Diagnostic]) -> Self {
        Report {
            diags,
            per_kind: FULL_PER_KIND,
        }
    }

    /// Show `n` of each kind in full (at least 1).
    pub fn per_kind(mut self, n: usize) -> Self {
        self.per_kind = n.max(1);
        self
    }
}

/// Where the diagnostics of one kind beyond the first few are: per file, the count and
/// the first and last line.
#[derive(Default)]
struct Rest<'a> {
    count: usize,
    files: Vec<(&'a std::path::Path, usize, u32, u32)>,
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use std::collections::HashMap;
        type Kind<'k> = (Severity, Code, &'k str);
        let mut seen: HashMap<Kind<'_>, usize> = HashMap::new();
        let mut rest: Vec<(Kind<'_>, Rest<'_>)> = Vec::new();
        let mut rest_at: HashMap<Kind<'_>, usize> = HashMap::new();
        for d in self.diags {
            let k = (d.severity, d.code, d.message.as_str());
            let n = seen.entry(k).or_insert(0);
            *n += 1;
            if *n <= self.per_kind {
                writeln!(f, "{d}")?;
                continue;
            }
            let i = *rest_at.entry(k).or_insert_with(|| {
                rest.push((k, Rest::default()));
                rest.len() - 1
            });
            let r = &mut rest[i].1;
            r.count += 1;
            match r.files.last_mut() {
                Some((p, n, _, last)) if *p == d.file.as_path() => {
                    *n += 1;
                    *last = (*last).max(d.line);
                }
                _ => r.files.push((d.file.as_path(), 1, d.line, d.line)),
            }
        }
        for ((sev, code, msg), r) in &rest {
            write!(f, "{sev}[{code}]: {msg}: {} more like this, in ", r.count)?;
            const FILES: usize = 4;
            for (i, (p, n, first, last)) in r.files.iter().take(FILES).enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{}", p.display())?;
                if first == last {
                    write!(f, " line {first}")?;
                } else {
                    write!(f, " lines {first}..{last}")?;
                }
                if r.files.len() > 1 {
                    write!(f, " ({n})")?;
                }
            }
            if r.files.len() > FILES {
                write!(f, " and {} more files", r.files.len() - FILES)?;
            }
            writeln!(f, " (--format json lists each)")?;
        }
        Ok(())
    }
}
