//! The statement reader: turns lexed lines into statements (a keyword, its arguments on
//! the same line, and whether a block follows), using the keyword table to split lines
//! such as `authentication { auth_type PASS auth_pass x }`.

use crate::diag::Code;
use crate::diags::{Diags, Pos};
use crate::keywords::{self, Block, Keyword, MANY, Opens};
use crate::lex::{self, Tok, Token};
use crate::pre::{Origin, Pre};

/// One word of a statement.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Word {
    start: u32,
    end: u32,
    pub col: u32,
    pub len: u32,
    pub quoted: bool,
}

/// A statement: words (keyword first), position, and whether a `{` block follows.
#[derive(Debug, Default)]
pub(crate) struct Stmt {
    buf: String,
    words: Vec<Word>,
    pub file: u32,
    pub line: u32,
    pub has_block: bool,
    pub kw: Option<&'static Keyword>,
}

impl Stmt {
    pub fn len(&self) -> usize {
        self.words.len()
    }
    /// Word `i` (0 = the keyword).
    pub fn word(&self, i: usize) -> &str {
        self.words
            .get(i)
            .map_or("", |w| &self.buf[w.start as usize..w.end as usize])
    }
    /// Argument `i` (0-based, after the keyword).
    pub fn arg(&self, i: usize) -> Option<&str> {
        self.words
            .get(i + 1)
            .map(|w| &self.buf[w.start as usize..w.end as usize])
    }
    pub fn nargs(&self) -> usize {
        self.words.len().saturating_sub(1)
    }
    pub fn is_quoted(&self, i: usize) -> bool {
        self.words.get(i).is_some_and(|w| w.quoted)
    }
    /// Position of word `i`.
    pub fn pos(&self, i: usize) -> Pos {
        match self.words.get(i) {
            Some(w) => Pos {
                file: self.file,
                line: self.line,
                col: w.col,
                len: w.len,
            },
            None => {
                // Just after the last word.
                let (col, len) = self.words.last().map_or((1, 1), |w| (w.col + w.len, 1));
                Pos {
                    file: self.file,
                    line: self.line,
                    col,
                    len,
                }
            }
        }
    }
    /// Position of argument `i`.
    pub fn arg_pos(&self, i: usize) -> Pos {
        self.pos(i + 1)
    }
    /// Arguments from `i` joined by single spaces.
    pub fn rest(&self, i: usize) -> String {
        (i + 1..self.words.len())
            .map(|j| self.word(j))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// What the reader found next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ev {
    /// A statement, in [`Reader::stmt`].
    Stmt,
    /// A `}` closing the current block.
    End(Pos),
    /// End of input.
    Eof,
}

/// Reads statements from the preprocessor.
pub(crate) struct Reader<'a> {
    pub pre: Pre<'a>,
    pub diags: Diags,
    toks: Vec<Token>,
    ti: usize,
    text: String,
    origin: Origin,
    file: u32,
    line: u32,
    /// Sequence number of the loaded line (to tell "same line").
    seq: u64,
    /// The current statement.
    pub stmt: Stmt,
    /// For an ASCII line copied verbatim: the column offset (byte = column).
    ascii_prefix: Option<u32>,
    /// The current line was lexed by the fast path (no escapes in its words).
    line_fast: bool,
    eof: bool,
}

impl<'a> Reader<'a> {
    pub fn new(pre: Pre<'a>, diags: Diags) -> Self {
        Reader {
            pre,
            diags,
            toks: Vec::new(),
            ti: 0,
            text: String::new(),
            origin: Origin::Exact { prefix_chars: 0 },
            file: 0,
            line: 0,
            seq: 0,
            stmt: Stmt::default(),
            ascii_prefix: None,
            line_fast: true,
            eof: false,
        }
    }

    /// Make sure a token is available; false at end of input.
    fn fill(&mut self) -> bool {
        while self.ti >= self.toks.len() {
            if self.eof || !self.pre.next_line(&mut self.diags) {
                self.eof = true;
                return false;
            }
            std::mem::swap(&mut self.text, &mut self.pre.out);
            self.origin = self.pre.origin.clone();
            self.ascii_prefix = match self.origin {
                Origin::Exact { prefix_chars } if self.text.is_ascii() => Some(prefix_chars),
                _ => None,
            };
            self.file = self.pre.file;
            self.line = self.pre.line;
            self.seq += 1;
            self.line_fast = lex::lex_line(&self.text, &mut self.toks);
            self.ti = 0;
        }
        true
    }

    fn tok_pos(&self, t: Token) -> Pos {
        if let (Some(prefix), Tok::Word | Tok::Open | Tok::Close) = (self.ascii_prefix, t.kind) {
            return Pos {
                file: self.file,
                line: self.line,
                col: prefix + t.start + 1,
                len: (t.end - t.start).max(1),
            };
        }
        let col = self.origin.col(&self.text, t.start as usize);
        let s = &self.text[t.start as usize..t.end as usize];
        let len = if s.is_ascii() {
            s.len()
        } else {
            s.chars().count()
        } as u32;
        let len = if t.kind == Tok::Quoted { len + 2 } else { len };
        let col = if t.kind == Tok::Quoted || t.kind == Tok::BadQuote {
            col.saturating_sub(1).max(1)
        } else {
            col
        };
        Pos {
            file: self.file,
            line: self.line,
            col,
            len: len.max(1),
        }
    }

    fn push_word(&mut self, t: Token) {
        let p = self.tok_pos(t);
        let raw = &self.text[t.start as usize..t.end as usize];
        let start = self.stmt.buf.len() as u32;
        match t.kind {
            Tok::Word if !self.line_fast => self.stmt.buf.push_str(&lex::unescape(raw)),
            _ => self.stmt.buf.push_str(raw),
        }
        let end = self.stmt.buf.len() as u32;
        self.stmt.words.push(Word {
            start,
            end,
            col: p.col,
            len: p.len,
            quoted: t.kind != Tok::Word,
        });
        if t.kind == Tok::BadQuote {
            self.diags.error_hint(
                Code::Syntax,
                p,
                "unterminated quoted string",
                "add the closing '\"' on the same line",
            );
        }
    }

    /// Next statement in `block`. In a list block (`list`), every line is one item whose
    /// words are all arguments-like values (the first word is in `word(0)`).
    pub fn next(&mut self, block: Block, list: bool) -> Ev {
        loop {
            if !self.fill() {
                return Ev::Eof;
            }
            let t = self.toks[self.ti];
            match t.kind {
                Tok::Close => {
                    self.ti += 1;
                    return Ev::End(self.tok_pos(t));
                }
                Tok::Open => {
                    let p = self.tok_pos(t);
                    self.ti += 1;
                    self.diags.error_hint(
                        Code::Syntax,
                        p,
                        "unexpected '{' (no keyword opens a block here)",
                        "a '{' must follow a keyword that opens a block",
                    );
                    self.skip_block(p);
                    continue;
                }
                _ => {}
            }
            // A statement starts.
            self.stmt.buf.clear();
            self.stmt.words.clear();
            self.stmt.file = self.file;
            self.stmt.line = self.line;
            self.stmt.has_block = false;
            self.push_word(t);
            self.ti += 1;
            let kw = if list {
                None
            } else {
                keywords::lookup_ref(block, self.stmt.word(0))
            };
            self.stmt.kw = kw;
            let max = kw.map_or(MANY, |k| k.max_args) as usize;
            while let Some(&n) = self.toks.get(self.ti) {
                if !matches!(n.kind, Tok::Word | Tok::Quoted | Tok::BadQuote) {
                    break;
                }
                if !list && max != MANY as usize && self.stmt.nargs() >= max && n.kind == Tok::Word
                {
                    let w = &self.text[n.start as usize..n.end as usize];
                    if keywords::lookup_ref(block, w).is_some() {
                        break;
                    }
                }
                self.push_word(n);
                self.ti += 1;
            }
            let opens = kw.map_or(Opens::Nothing, |k| k.opens);
            match self.toks.get(self.ti) {
                Some(n) if n.kind == Tok::Open => {
                    self.ti += 1;
                    self.stmt.has_block = true;
                }
                None if opens != Opens::Nothing || (kw.is_none() && !list) => {
                    // The '{' may be on the next line.
                    let seq = self.seq;
                    if self.fill() && self.seq != seq && self.toks[self.ti].kind == Tok::Open {
                        self.ti += 1;
                        self.stmt.has_block = true;
                    }
                }
                _ => {}
            }
            return Ev::Stmt;
        }
    }

    /// Skip to the `}` matching an already consumed `{` opened at `open`.
    pub fn skip_block(&mut self, open: Pos) {
        let mut depth = 1usize;
        loop {
            if !self.fill() {
                self.diags.error_hint(
                    Code::Syntax,
                    open,
                    "block is never closed",
                    "add the missing '}'",
                );
                return;
            }
            let t = self.toks[self.ti];
            self.ti += 1;
            match t.kind {
                Tok::Open => depth += 1,
                Tok::Close => {
                    depth -= 1;
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }
}
