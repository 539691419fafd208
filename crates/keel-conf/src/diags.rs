//! Diagnostics as they are collected (file ids, no source text yet).

use crate::diag::{Code, Severity};

/// A diagnostic before its file name and source line are filled in.
#[derive(Debug, Clone)]
pub(crate) struct RawDiag {
    pub severity: Severity,
    pub code: Code,
    pub file: u32,
    pub line: u32,
    pub col: u32,
    pub len: u32,
    pub message: String,
    pub hint: Option<String>,
}

/// A position to report at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Pos {
    pub file: u32,
    pub line: u32,
    pub col: u32,
    pub len: u32,
}

/// Collected diagnostics.
#[derive(Debug, Default)]
pub(crate) struct Diags {
    pub list: Vec<RawDiag>,
}

/// Upper bound on diagnostics kept (a fuzzed or garbage file must not use unbounded memory).
pub(crate) const MAX_DIAGS: usize = 10_000;

impl Diags {
    pub fn push(
        &mut self,
        severity: Severity,
        code: Code,
        at: Pos,
        message: String,
        hint: Option<String>,
    ) {
        if self.list.len() >= MAX_DIAGS {
            return;
        }
        self.list.push(RawDiag {
            severity,
            code,
            file: at.file,
            line: at.line,
            col: at.col,
            len: at.len,
            message,
            hint,
        });
    }
    pub fn error(&mut self, code: Code, at: Pos, message: impl Into<String>) {
        self.push(Severity::Error, code, at, message.into(), None);
    }
    pub fn error_hint(
        &mut self,
        code: Code,
        at: Pos,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.push(Severity::Error, code, at, message.into(), Some(hint.into()));
    }
    pub fn warn(&mut self, code: Code, at: Pos, message: impl Into<String>) {
        self.push(Severity::Warning, code, at, message.into(), None);
    }
    pub fn warn_hint(
        &mut self,
        code: Code,
        at: Pos,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.push(
            Severity::Warning,
            code,
            at,
            message.into(),
            Some(hint.into()),
        );
    }
    pub fn note_hint(
        &mut self,
        code: Code,
        at: Pos,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.push(Severity::Note, code, at, message.into(), Some(hint.into()));
    }
}
