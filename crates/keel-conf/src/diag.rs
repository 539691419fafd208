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
