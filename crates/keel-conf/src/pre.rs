//! The preprocessor: reads files line by line and applies keepalived's line-level rules
//! (includes, `@id` / `@^id` lines, `$NAME=value` definitions and substitution, `~SEQ`),
//! keeping for every output position the file, line and column it came from.

use crate::chunk::{ChunkReader, LineError};
use crate::diag::Code;
use crate::diags::{Diags, Pos};
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

/// Most lines the `~SEQ` generator and multi-line definitions may produce in one load.
pub(crate) const MAX_GENERATED: usize = 2_000_000;
/// Deepest include nesting.
const MAX_INCLUDE_DEPTH: usize = 32;
/// Deepest recursive substitution.
const MAX_SUBST_DEPTH: usize = 16;
/// Longest line after substitution.
const MAX_LINE: usize = 1 << 20;
/// Most text all substitutions together may produce.
const MAX_SUBST_TOTAL: usize = 64 << 20;

/// How output columns map back to the source line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Output byte `i` is source character `prefix_chars + chars(out[..i]) + 1`.
    Exact { prefix_chars: u32 },
    /// Piecewise: (output byte start, source column, exact?) sorted by start.
    Mapped(Vec<(u32, u32, bool)>),
    /// Every output position maps to this source column.
    Anchor(u32),
}

impl Origin {
    /// Source column (1-based, characters) of output byte `pos` in `out`.
    pub fn col(&self, out: &str, pos: usize) -> u32 {
        let pos = pos.min(out.len());
        let chars = |a: usize, b: usize| -> u32 {
            let s = out.get(a..b).unwrap_or("");
            if s.is_ascii() {
                s.len() as u32
            } else {
                s.chars().count() as u32
            }
        };
        match self {
            Origin::Exact { prefix_chars } => prefix_chars + chars(0, pos) + 1,
            Origin::Anchor(c) => *c,
            Origin::Mapped(segs) => {
                let i = segs.partition_point(|s| s.0 as usize <= pos);
                match i.checked_sub(1).and_then(|i| segs.get(i)) {
                    Some(&(start, col, true)) => col + chars(start as usize, pos),
                    Some(&(_, col, false)) => col,
                    None => 1,
                }
            }
        }
    }
}

enum Reader<'a> {
    Mem { text: &'a str, pos: usize },
    File { r: Box<ChunkReader> },
}

struct OpenFile<'a> {
    id: u32,
    reader: Reader<'a>,
    line: u32,
    dir: PathBuf,
    canon: Option<PathBuf>,
    warned_utf8: bool,
}

enum Frame<'a> {
    Open(OpenFile<'a>),
    /// The files one include line matched, opened one after the other when reached
    /// (one frame per include line, so the stack stays as deep as the nesting).
    Later {
        paths: std::collections::VecDeque<PathBuf>,
        site: Pos,
    },
}

#[derive(Debug)]
enum Pending {
    /// A generated line to process as if read at `file:line`, every column at `col`.
    Line {
        text: String,
        file: u32,
        line: u32,
        col: u32,
    },
    /// Set a definition (the `~SEQ` variable).
    Set(String, String),
    /// A `~SEQ` in progress.
    Seq {
        var: String,
        next: i64,
        step: i64,
        last: i64,
        hex: bool,
        text: Rc<str>,
        file: u32,
        line: u32,
        col: u32,
    },
}

/// A definition's value and whether it spans several lines.
#[derive(Debug, Clone)]
struct Def {
    value: String,
}

/// Where the text of a file given as a string lives, for source lines in diagnostics.
pub(crate) enum FileSrc<'a> {
    Mem(&'a str),
    Disk,
}

/// The preprocessor.
pub(crate) struct Pre<'a> {
    /// Every file read, by id.
    pub files: Vec<Arc<Path>>,
    /// Where each file's text lives.
    pub srcs: Vec<FileSrc<'a>>,
    stack: Vec<Frame<'a>>,
    pending: Vec<Pending>,
    defs: HashMap<String, Def>,
    config_id: Option<String>,
    /// Multi-line definition being read: (name, value).
    multiline: Option<(String, String)>,
    generated: usize,
    gen_overflow: bool,
    /// Most generated lines allowed (default [`MAX_GENERATED`]).
    pub max_generated: usize,
    /// Whether `include` is followed (fuzzing turns it off).
    pub allow_includes: bool,
    /// Bytes produced by substitution so far.
    subst_total: usize,
    /// What include patterns may still cost in this load.
    glob_budget: crate::glob::Budget,
    /// False when the text the current line came from has no `$` at all.
    may_have_dollar: bool,
    /// The current output line.
    pub out: String,
    /// Its origin.
    pub origin: Origin,
    /// Its file and line.
    pub file: u32,
    pub line: u32,
    raw: String,
    scratch: String,
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c)
}

fn valid_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && !b[0].is_ascii_digit()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

impl<'a> Pre<'a> {
    /// A preprocessor with no input yet.
    pub fn new(config_id: Option<String>) -> Self {
        Pre {
            files: Vec::new(),
            srcs: Vec::new(),
            stack: Vec::new(),
            pending: Vec::new(),
            defs: HashMap::new(),
            config_id,
            multiline: None,
            generated: 0,
            gen_overflow: false,
            max_generated: MAX_GENERATED,
            allow_includes: true,
            subst_total: 0,
            glob_budget: crate::glob::Budget::default(),
            may_have_dollar: true,
            out: String::new(),
            origin: Origin::Exact { prefix_chars: 0 },
            file: 0,
            line: 0,
            raw: String::new(),
            scratch: String::new(),
        }
    }

    fn add_file(&mut self, path: &Path, src: FileSrc<'a>) -> u32 {
        self.files.push(Arc::from(path));
        self.srcs.push(src);
        (self.files.len() - 1) as u32
    }

    /// Start with text held in memory, named `name`; relative includes resolve from `dir`.
    pub fn push_str(&mut self, name: &Path, text: &'a str, dir: PathBuf) {
        let id = self.add_file(name, FileSrc::Mem(text));
        self.stack.push(Frame::Open(OpenFile {
            id,
            reader: Reader::Mem { text, pos: 0 },
            line: 0,
            dir,
            canon: None,
            warned_utf8: false,
        }));
    }

    /// Start with a file. Returns false (with a diagnostic) when it cannot be opened.
    pub fn push_file(&mut self, path: &Path, site: Option<Pos>, diags: &mut Diags) -> bool {
        let canon = std::fs::canonicalize(path).ok();
        if let (Some(c), Some(site)) = (&canon, site) {
            let mut chain: Vec<String> = Vec::new();
            let mut cycle = false;
            for f in &self.stack {
                if let Frame::Open(o) = f {
                    chain.push(self.files[o.id as usize].display().to_string());
                    if o.canon.as_ref() == Some(c) {
                        cycle = true;
                    }
                }
            }
            if cycle {
                chain.push(path.display().to_string());
                diags.error_hint(
                    Code::Syntax,
                    site,
                    format!("include cycle: {} is already being read", path.display()),
                    format!("include chain: {}", chain.join(" -> ")),
                );
                return false;
            }
        }
        let depth = self
            .stack
            .iter()
            .filter(|f| matches!(f, Frame::Open(_)))
            .count();
        if depth >= MAX_INCLUDE_DEPTH {
            if let Some(site) = site {
                diags.error(
                    Code::Syntax,
                    site,
                    format!("includes nested deeper than {MAX_INCLUDE_DEPTH}"),
                );
            }
            return false;
        }
        let id = self.add_file(path, FileSrc::Disk);
        let at = site.unwrap_or(Pos {
            file: id,
            ..Pos::default()
        });
        // Only regular files: opening a FIFO would block, a device could be endless.
        // Checked before opening (open(2) on a FIFO waits for a writer) and again on the
        // open file.
        let kind = |m: &std::fs::Metadata| {
            if m.is_dir() {
                Some("a directory")
            } else if !m.is_file() {
                Some("not a regular file")
            } else {
                None
            }
        };
        let opened = std::fs::metadata(path).and_then(|m| match kind(&m) {
            Some(k) => Ok(Err(k)),
            None => {
                let f = File::open(path)?;
                let m = f.metadata()?;
                Ok(kind(&m).map_or(Ok(f), Err))
            }
        });
        let file = match opened {
            Ok(Ok(f)) => f,
            Ok(Err(k)) => {
                diags.error(Code::Missing, at, format!("{} is {k}", path.display()));
                return false;
            }
            Err(e) => {
                diags.error(
                    Code::Missing,
                    at,
                    format!("cannot open {}: {}", path.display(), e),
                );
                return false;
            }
        };
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        self.stack.push(Frame::Open(OpenFile {
            id,
            reader: Reader::File {
                r: Box::new(ChunkReader::new(file)),
            },
            line: 0,
            dir,
            canon,
            warned_utf8: false,
        }));
        true
    }

    /// Read the next raw line from the file stack into `self.raw`. False at the end.
    fn read_raw(&mut self, diags: &mut Diags) -> bool {
        loop {
            let top = match self.stack.last_mut() {
                None => return false,
                Some(t) => t,
            };
            let of = match top {
                Frame::Later { paths, site } => {
                    let site = *site;
                    match paths.pop_front() {
                        Some(path) => {
                            self.push_file(&path, Some(site), diags);
                        }
                        None => {
                            self.stack.pop();
                        }
                    }
                    continue;
                }
                Frame::Open(of) => of,
            };
            self.raw.clear();
            let got = match &mut of.reader {
                Reader::Mem { text, pos } => {
                    if *pos >= text.len() {
                        false
                    } else {
                        let rest = &text[*pos..];
                        let n = rest.find('\n').map_or(rest.len(), |i| i + 1);
                        self.raw.push_str(&rest[..n]);
                        *pos += n;
                        self.may_have_dollar = true;
                        true
                    }
                }
                Reader::File { r } => match r.next_line() {
                    Ok(Some((a, b))) => {
                        self.raw.push_str(&r.text[a..b]);
                        self.may_have_dollar = r.has_dollar;
                        if r.take_lossy() && !of.warned_utf8 {
                            of.warned_utf8 = true;
                            diags.warn(
                                Code::Syntax,
                                Pos {
                                    file: of.id,
                                    line: of.line + 1,
                                    col: 0,
                                    len: 0,
                                },
                                "file is not valid UTF-8 (invalid bytes replaced)",
                            );
                        }
                        true
                    }
                    Ok(None) => false,
                    Err(LineError::TooLong) => {
                        diags.error(
                            Code::Syntax,
                            Pos {
                                file: of.id,
                                line: of.line + 1,
                                col: 0,
                                len: 0,
                            },
                            format!(
                                "line longer than {} bytes (ignored)",
                                crate::chunk::MAX_RAW_LINE
                            ),
                        );
                        true
                    }
                    Err(LineError::Io(e)) => {
                        diags.error(
                            Code::Syntax,
                            Pos {
                                file: of.id,
                                line: of.line + 1,
                                col: 0,
                                len: 0,
                            },
                            format!("read error: {e}"),
                        );
                        false
                    }
                },
            };
            if !got {
                self.stack.pop();
                continue;
            }
            of.line += 1;
            self.file = of.id;
            self.line = of.line;
            while self.raw.ends_with('\n') || self.raw.ends_with('\r') {
                self.raw.pop();
            }
            if self.raw.contains('\0') {
                diags.error(
                    Code::Syntax,
                    Pos {
                        file: of.id,
                        line: of.line,
                        col: 0,
                        len: 0,
                    },
                    "line contains a NUL byte (ignored)",
                );
                self.raw.clear();
            }
            return true;
        }
    }

    fn current_dir(&self) -> PathBuf {
        for f in self.stack.iter().rev() {
            if let Frame::Open(o) = f {
                return o.dir.clone();
            }
        }
        PathBuf::new()
    }

    /// Produce the next logical line into `self.out` / `self.origin` / `self.file` /
    /// `self.line`. False at the end of input.
    pub fn next_line(&mut self, diags: &mut Diags) -> bool {
        loop {
            // Generated lines first.
            if let Some(p) = self.pending.pop() {
                match p {
                    Pending::Set(k, v) => {
                        self.defs.insert(k, Def { value: v });
                        continue;
                    }
                    Pending::Seq {
                        var,
                        next,
                        step,
                        last,
                        hex,
                        text,
                        file,
                        line,
                        col,
                    } => {
                        let more = if step > 0 {
                            next.checked_add(step).filter(|n| *n <= last)
                        } else {
                            next.checked_add(step).filter(|n| *n >= last)
                        };
                        if let Some(n) = more {
                            self.pending.push(Pending::Seq {
                                var: var.clone(),
                                next: n,
                                step,
                                last,
                                hex,
                                text: text.clone(),
                                file,
                                line,
                                col,
                            });
                        }
                        let val = if hex {
                            format!("{next:x}")
                        } else {
                            next.to_string()
                        };
                        if !self.count_generated(
                            diags,
                            Pos {
                                file,
                                line,
                                col,
                                len: 1,
                            },
                        ) {
                            continue;
                        }
                        self.pending.push(Pending::Line {
                            text: text.to_string(),
                            file,
                            line,
                            col,
                        });
                        self.pending.push(Pending::Set(var, val));
                        continue;
                    }
                    Pending::Line {
                        text,
                        file,
                        line,
                        col,
                    } => {
                        self.file = file;
                        self.line = line;
                        self.may_have_dollar = true;
                        self.raw = text;
                        if self.process(Origin::Anchor(col), true, diags) {
                            return true;
                        }
                        continue;
                    }
                }
            }
            if !self.read_raw(diags) {
                if let Some((name, _)) = self.multiline.take() {
                    diags.error(
                        Code::Syntax,
                        Pos {
                            file: self.file,
                            line: self.line,
                            col: 1,
                            len: 1,
                        },
                        format!("multi-line definition ${name} runs to the end of the input"),
                    );
                }
                return false;
            }
            if self.multiline.is_some() {
                self.continue_multiline();
                continue;
            }
            if self.process(Origin::Exact { prefix_chars: 0 }, false, diags) {
                return true;
            }
        }
    }

    fn count_generated(&mut self, diags: &mut Diags, at: Pos) -> bool {
        self.generated += 1;
        if self.generated > self.max_generated {
            if !self.gen_overflow {
                self.gen_overflow = true;
                diags.error(
                    Code::Syntax,
                    at,
                    format!(
                        "generated lines exceed {}; the rest are dropped",
                        self.max_generated
                    ),
                );
            }
            self.pending.retain(|p| !matches!(p, Pending::Seq { .. }));
            return false;
        }
        true
    }

    /// One more line of a multi-line definition, by keepalived's rules (read_line and
    /// decomment in parser.c): an empty line ends it; a line that is blank or only a
    /// comment is skipped (it neither ends nor adds); a line ending in `\` continues it,
    /// even when the `\` ends a comment; any other line is its last.
    fn continue_multiline(&mut self) {
        if self.raw.is_empty() {
            if let Some((k, v)) = self.multiline.take() {
                self.defs.insert(k, Def { value: v });
            }
            return;
        }
        let line = strip_comment(&self.raw);
        let cont = ends_in_backslash(&self.raw);
        let t = line.trim_matches(|c: char| c == ' ' || c == '\t');
        let t = if cont {
            t.strip_suffix('\\')
                .unwrap_or(t)
                .trim_end_matches([' ', '\t'])
        } else {
            t
        };
        if t.is_empty() && !cont {
            return;
        }
        let (text, more) = (t, cont);
        if let Some((_, v)) = self.multiline.as_mut()
            && !text.is_empty()
        {
            if !v.is_empty() {
                v.push('\n');
            }
            v.push_str(text);
        }
        if !more && let Some((k, v)) = self.multiline.take() {
            self.defs.insert(k, Def { value: v });
        }
    }

    /// Apply the line rules to `self.raw`. Returns true when `self.out` holds a line for
    /// the lexer.
    fn process(&mut self, origin: Origin, generated: bool, diags: &mut Diags) -> bool {
        let raw = std::mem::take(&mut self.raw);
        let r = self.process_inner(&raw, origin, generated, diags);
        match r {
            Some(true) => {
                // Fast path: the raw line is the output line; keep the old output
                // buffer as the next raw buffer.
                self.raw = std::mem::replace(&mut self.out, raw);
                true
            }
            Some(false) => {
                self.raw = raw;
                true
            }
            None => {
                self.raw = raw;
                false
            }
        }
    }

    fn process_inner(
        &mut self,
        raw: &str,
        origin: Origin,
        generated: bool,
        diags: &mut Diags,
    ) -> Option<bool> {
        let bytes = raw.as_bytes();
        let start = bytes
            .iter()
            .position(|b| !is_blank(*b))
            .unwrap_or(bytes.len());
        if start == bytes.len() {
            return None;
        }
        let first = bytes[start];
        let fast = first != b'@'
            && first != b'~'
            && first != b'$'
            && !(self.may_have_dollar && bytes.contains(&b'$'))
            && !is_include(&raw[start..]);
        if fast {
            self.origin = origin;
            return Some(true);
        }
        let anchor = |o: &Origin, at: usize| -> u32 { o.col(raw, at) };
        let mut s = start;
        // Conditional lines.
        if bytes[s] == b'@' {
            let (neg, id_start) = if bytes.get(s + 1) == Some(&b'^') {
                (true, s + 2)
            } else {
                (false, s + 1)
            };
            let id_end = raw[id_start..].find([' ', '\t']).map(|i| id_start + i);
            let id_end = id_end?;
            let id = &raw[id_start..id_end];
            let matches = self.config_id.as_deref() == Some(id);
            if matches == neg {
                return None;
            }
            s = id_end;
            while s < bytes.len() && is_blank(bytes[s]) {
                s += 1;
            }
            if s >= bytes.len() {
                return None;
            }
        }
        // keepalived removes comments before it substitutes (decomment, then
        // replace_param): a `$NAME` in a comment is not expanded.
        let rest = strip_comment(&raw[s..]);
        let rest_col = anchor(&origin, s);
        // Definitions.
        if rest.starts_with('$')
            && let Some(eq) = rest.find('=')
        {
            let name = &rest[1..eq];
            if valid_name(name) {
                let value_raw = strip_comment(&rest[eq + 1..]);
                let v = value_raw.trim_matches(|c: char| c == ' ' || c == '\t');
                match v.strip_suffix('\\') {
                    Some(first) if !generated => {
                        self.multiline = Some((
                            name.to_string(),
                            first.trim_end_matches([' ', '\t']).to_string(),
                        ));
                    }
                    Some(first) => {
                        self.defs.insert(
                            name.to_string(),
                            Def {
                                value: first.trim_end().to_string(),
                            },
                        );
                    }
                    None => {
                        self.defs.insert(
                            name.to_string(),
                            Def {
                                value: v.to_string(),
                            },
                        );
                    }
                }
                return None;
            }
        }
        // Sequence generator.
        if rest.starts_with("~SEQ") || rest.starts_with("~LST") {
            let at = Pos {
                file: self.file,
                line: self.line,
                col: rest_col,
                len: 4,
            };
            // keepalived's add_seq substitutes definitions in the numbers:
            // `~SEQ(VAR, $START, $END)`.
            let subst;
            let (spec, shift) = match self.seq_params(rest, &at, diags) {
                Some(t) => {
                    subst = t;
                    let shift = subst.len() as isize - rest.len() as isize;
                    (parse_seq(&subst), shift)
                }
                None => (parse_seq(rest), 0),
            };
            // Offsets into `rest` of the text after the parameters.
            let unshift = |off: usize| (off as isize - shift).max(0) as usize;
            match spec.map(|sp| match sp {
                SeqSpec::Seq {
                    var,
                    start,
                    step,
                    end,
                    hex,
                    text_off,
                } => SeqSpec::Seq {
                    var,
                    start,
                    step,
                    end,
                    hex,
                    text_off: unshift(text_off),
                },
                SeqSpec::Lst {
                    vars,
                    sets,
                    text_off,
                } => SeqSpec::Lst {
                    vars,
                    sets,
                    text_off: unshift(text_off),
                },
            }) {
                Ok(SeqSpec::Seq {
                    var,
                    start,
                    step,
                    end,
                    hex,
                    text_off,
                }) => {
                    let text = &rest[text_off..];
                    let col = anchor(&origin, s + text_off);
                    if !text.trim().is_empty() {
                        self.pending.push(Pending::Seq {
                            var,
                            next: start,
                            step,
                            last: end,
                            hex,
                            text: Rc::from(text),
                            file: self.file,
                            line: self.line,
                            col,
                        });
                    }
                }
                Ok(SeqSpec::Lst {
                    vars,
                    sets,
                    text_off,
                }) => {
                    let text = &rest[text_off..];
                    let col = anchor(&origin, s + text_off);
                    for set in sets.iter().rev() {
                        if !self.count_generated(diags, at) {
                            break;
                        }
                        self.pending.push(Pending::Line {
                            text: text.to_string(),
                            file: self.file,
                            line: self.line,
                            col,
                        });
                        for (k, v) in vars.iter().zip(set.iter()).rev() {
                            self.pending.push(Pending::Set(k.clone(), v.clone()));
                        }
                    }
                }
                Err(msg) => diags.error_hint(
                    Code::Syntax,
                    at,
                    format!("invalid {} specification: {msg}", &rest[..4]),
                    "write ~SEQ(VAR, START, STEP, END), ~SEQ(VAR, START, END) or ~SEQ(VAR, END)",
                ),
            }
            return None;
        }
        // Substitution.
        let (text, new_origin) = if rest.contains('$') {
            let mut out = String::with_capacity(rest.len() + 16);
            let mut segs: Vec<(u32, u32, bool)> = Vec::new();
            let ok = self.substitute(
                rest,
                &mut out,
                &mut segs,
                &|i| anchor(&origin, s + i),
                0,
                diags,
            );
            if !ok {
                return None;
            }
            self.subst_total += out.len();
            if self.subst_total > MAX_SUBST_TOTAL {
                if self.subst_total - out.len() <= MAX_SUBST_TOTAL {
                    diags.error(
                        Code::Syntax,
                        Pos {
                            file: self.file,
                            line: self.line,
                            col: rest_col,
                            len: 1,
                        },
                        "substitutions produce more than 64 MiB of text; the rest are dropped",
                    );
                }
                return None;
            }
            if out.contains('\n') {
                // A multi-line definition: its lines are processed one by one, all
                // pointing at the place of use.
                let lines: Vec<&str> = out.split('\n').collect();
                for l in lines.into_iter().rev() {
                    if !self.count_generated(
                        diags,
                        Pos {
                            file: self.file,
                            line: self.line,
                            col: rest_col,
                            len: 1,
                        },
                    ) {
                        break;
                    }
                    self.pending.push(Pending::Line {
                        text: l.to_string(),
                        file: self.file,
                        line: self.line,
                        col: rest_col,
                    });
                }
                return None;
            }
            (out, Origin::Mapped(segs))
        } else {
            let o = match origin {
                Origin::Exact { prefix_chars } => {
                    let pre = &raw[..s];
                    let pc = if pre.is_ascii() {
                        pre.len() as u32
                    } else {
                        pre.chars().count() as u32
                    };
                    Origin::Exact {
                        prefix_chars: prefix_chars + pc,
                    }
                }
                o => o,
            };
            (rest.to_string(), o)
        };
        // Substituted text may start a new conditional or definition: process it again
        // (only when a substitution happened, and counted, so it cannot loop).
        let changed = matches!(&new_origin, Origin::Mapped(segs) if segs.iter().any(|x| !x.2));
        let is_def = text
            .strip_prefix('$')
            .and_then(|t| t.split_once('='))
            .is_some_and(|(n, _)| valid_name(n));
        if changed && (text.starts_with('@') || is_def) {
            let at = Pos {
                file: self.file,
                line: self.line,
                col: rest_col,
                len: 1,
            };
            if self.count_generated(diags, at) {
                self.pending.push(Pending::Line {
                    text,
                    file: self.file,
                    line: self.line,
                    col: rest_col,
                });
            }
            return None;
        }
        // Includes.
        if is_include(&text) {
            let site = Pos {
                file: self.file,
                line: self.line,
                col: rest_col,
                len: 7,
            };
            self.include(&text, site, diags);
            return None;
        }
        self.out.clear();
        self.out.push_str(&text);
        self.origin = new_origin;
        Some(false)
    }

    /// `~SEQ(VAR, ...)` with definitions among its numbers: the line with them
    /// substituted (None when there are none or the substitution failed).
    fn seq_params(&self, rest: &str, at: &Pos, diags: &mut Diags) -> Option<String> {
        if !rest.starts_with("~SEQ") {
            return None;
        }
        let close = rest.find(')')?;
        let comma = rest[..close].find(',')?;
        let params = &rest[comma + 1..close];
        if !params.contains('$') {
            return None;
        }
        let mut out = String::new();
        let mut segs = Vec::new();
        let col = at.col;
        if !self.substitute(params, &mut out, &mut segs, &|_| col, 1, diags) {
            return None;
        }
        if out.contains('\n') {
            diags.error(
                Code::Syntax,
                *at,
                "a ~SEQ number is a multi-line definition",
            );
            return None;
        }
        Some(format!("{}{}{}", &rest[..=comma], out, &rest[close..]))
    }

    /// Substitute `$NAME` / `${NAME}` in `src` into `out`.
    fn substitute(
        &self,
        src: &str,
        out: &mut String,
        segs: &mut Vec<(u32, u32, bool)>,
        col_of: &dyn Fn(usize) -> u32,
        depth: usize,
        diags: &mut Diags,
    ) -> bool {
        if depth > MAX_SUBST_DEPTH {
            diags.error(
                Code::Syntax,
                Pos { file: self.file, line: self.line, col: col_of(0), len: 1 },
                format!("definitions nest deeper than {MAX_SUBST_DEPTH} (a definition refers to itself?)"),
            );
            return false;
        }
        let b = src.as_bytes();
        let mut i = 0;
        let mut lit_start = 0;
        let top = depth == 0;
        let flush = |out: &mut String, segs: &mut Vec<(u32, u32, bool)>, from: usize, to: usize| {
            if from < to {
                if top {
                    segs.push((out.len() as u32, col_of(from), true));
                }
                out.push_str(&src[from..to]);
            }
        };
        while i < b.len() {
            if b[i] != b'$' {
                i += 1;
                continue;
            }
            let mut params: Option<&str> = None;
            let (name, end) = if b.get(i + 1) == Some(&b'{') {
                match src[i + 2..].find('}') {
                    Some(j) => {
                        let inner = &src[i + 2..i + 2 + j];
                        // `${NAME PARAMS}`: digits and spaces, not ending in a space
                        // (keepalived's find_definition; only _RANDOM takes them).
                        let (n, p) = inner.split_once(' ').unwrap_or((inner, ""));
                        if !p.is_empty() {
                            if !p.bytes().all(|c| c == b' ' || c.is_ascii_digit())
                                || p.ends_with(' ')
                            {
                                i += 1;
                                continue;
                            }
                            params = Some(p);
                        }
                        (n, i + 3 + j)
                    }
                    None => {
                        i += 1;
                        continue;
                    }
                }
            } else {
                let j = src[i + 1..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .map_or(b.len(), |j| i + 1 + j);
                // `$NAME` must be followed by a blank, ',', ')' or the end of the line.
                if j < b.len() && !is_blank(b[j]) && b[j] != b',' && b[j] != b')' {
                    i += 1;
                    continue;
                }
                (&src[i + 1..j], j)
            };
            let value: Option<String> = match (name, params) {
                (_, Some(p)) if name == "_RANDOM" && !self.defs.contains_key(name) => {
                    Some(random_in(p))
                }
                (_, Some(_)) => None,
                ("_PWD", _) if !self.defs.contains_key(name) => {
                    Some(self.current_dir().display().to_string())
                }
                ("_INSTANCE", _) if !self.defs.contains_key(name) => self.config_id.clone(),
                ("_RANDOM", _) if !self.defs.contains_key(name) => Some(random_in("")),
                // After substitution keepalived removes comments again, so `${_HASH}`
                // starts a comment as `#` does.
                ("_HASH", _) if !self.defs.contains_key(name) => Some("#".to_string()),
                ("_BANG", _) if !self.defs.contains_key(name) => Some("!".to_string()),
                _ => self.defs.get(name).map(|d| d.value.clone()),
            };
            let Some(value) = value else {
                i += 1;
                continue;
            };
            flush(out, segs, lit_start, i);
            if top {
                segs.push((out.len() as u32, col_of(i), false));
            }
            if value.contains('$') {
                let mut dummy = Vec::new();
                if !self.substitute(&value, out, &mut dummy, &|_| col_of(i), depth + 1, diags) {
                    return false;
                }
            } else {
                out.push_str(&value);
            }
            if out.len() > MAX_LINE {
                diags.error(
                    Code::Syntax,
                    Pos {
                        file: self.file,
                        line: self.line,
                        col: col_of(i),
                        len: 1,
                    },
                    "substitution makes the line longer than 1 MiB",
                );
                return false;
            }
            i = end;
            lit_start = end;
        }
        flush(out, segs, lit_start, b.len());
        if top && segs.is_empty() {
            segs.push((0, col_of(0), true));
        }
        true
    }

    fn include(&mut self, text: &str, site: Pos, diags: &mut Diags) {
        let kw_len = text.find([' ', '\t']).unwrap_or(text.len());
        let kind = &text[..kw_len];
        let mut pat = strip_comment(&text[kw_len..]).trim().to_string();
        if pat.len() >= 2 && pat.starts_with('"') && pat.ends_with('"') {
            pat = pat[1..pat.len() - 1].to_string();
        }
        if pat.is_empty() {
            diags.error(
                Code::Missing,
                site,
                format!("{kind} needs a file name or pattern"),
            );
            return;
        }
        if !self.allow_includes {
            diags.warn(Code::Unsupported, site, format!("{kind} is disabled here"));
            return;
        }
        let p = Path::new(&pat);
        let full = if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.current_dir().join(p)
        };
        let full_s = full.to_string_lossy().to_string();
        let (matches, over) = crate::glob::glob(&full_s, &mut self.glob_budget);
        if let Some(e) = over
            && !std::mem::replace(&mut self.glob_budget.reported, true)
        {
            diags.error_hint(
                Code::Syntax,
                site,
                format!("{kind} {pat}: {}; the rest are not read", e.describe()),
                "include fewer files (one file per service group), or narrower patterns",
            );
        }
        if matches.is_empty() {
            if over.is_some() {
                return;
            }
            let msg = format!("{kind} {pat}: no file matches {}", full.display());
            if kind == "include" || kind == "includer" {
                diags.warn(Code::Missing, site, msg);
            } else {
                diags.error(Code::Missing, site, msg);
            }
            return;
        }
        let (matches, special): (Vec<PathBuf>, Vec<PathBuf>) =
            matches.into_iter().partition(|m| m.is_file());
        for m in special {
            diags.error(
                Code::Syntax,
                site,
                format!("{kind}: {} is not a regular file", m.display()),
            );
        }
        self.stack.push(Frame::Later {
            paths: matches.into(),
            site,
        });
    }

    /// Whether the file with this id was given as text.
    pub fn mem_text(&self, id: u32) -> Option<&'a str> {
        match self.srcs.get(id as usize) {
            Some(FileSrc::Mem(t)) => Some(t),
            _ => None,
        }
    }

    #[allow(dead_code)]
    pub(crate) fn scratch(&mut self) -> &mut String {
        &mut self.scratch
    }
}

/// Whether a line ends in a `\` that escapes nothing (keepalived's decomment keeps such
/// a `\` even after a comment: the line continues a multi-line definition).
fn ends_in_backslash(s: &str) -> bool {
    let b = s.trim_end_matches([' ', '\t']).as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            if i + 1 == b.len() {
                return true;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

fn is_include(s: &str) -> bool {
    let b = s.as_bytes();
    if !s.starts_with("include") {
        return false;
    }
    match b.get(7) {
        Some(c) if is_blank(*c) => true,
        Some(c) if b"rmwba".contains(c) => b.get(8).is_some_and(|c| is_blank(*c)),
        _ => false,
    }
}

/// `${_RANDOM [MIN [MAX]]}`: a number in MIN..=MAX (default 0..=32767), as keepalived's
/// get_random. Seeded per call from the standard library's per-process random keys.
fn random_in(params: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut it = params
        .split_ascii_whitespace()
        .map(|w| w.parse::<u64>().ok());
    let min = it.next().flatten().unwrap_or(0);
    let max = it.next().flatten().unwrap_or(32767);
    if max <= min {
        return min.to_string();
    }
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(min ^ max.rotate_left(32));
    let span = max - min + 1;
    (min + h.finish() % span).to_string()
}

/// Remove a `!`/`#` comment outside double quotes.
pub(crate) fn strip_comment(s: &str) -> &str {
    let mut q = false;
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => q = !q,
            b'\\' => i += 1,
            b'!' | b'#' if !q => return &s[..i],
            _ => {}
        }
        i += 1;
    }
    s
}

enum SeqSpec {
    Seq {
        var: String,
        start: i64,
        step: i64,
        end: i64,
        hex: bool,
        text_off: usize,
    },
    Lst {
        vars: Vec<String>,
        sets: Vec<Vec<String>>,
        text_off: usize,
    },
}

fn parse_num(s: &str, hex: bool) -> Result<i64, String> {
    let t = s.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(x) => (true, x),
        None => (false, t),
    };
    let v = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        i64::from_str_radix(h, 16)
    } else if hex {
        i64::from_str_radix(t, 16).or_else(|_| t.parse())
    } else {
        t.parse()
    };
    let _ = hex;
    v.map(|v| if neg { -v } else { v })
        .map_err(|_| format!("'{}' is not a number", s.trim()))
}

fn parse_seq(s: &str) -> Result<SeqSpec, String> {
    let (hex, open) = if s.starts_with("~SEQx(") {
        (true, 5)
    } else if s.starts_with("~SEQ(") || s.starts_with("~LST(") {
        (false, 4)
    } else {
        return Err("expected '(' after the keyword".into());
    };
    // Find the matching ')'.
    let b = s.as_bytes();
    let mut depth = 0;
    let mut close = None;
    for (i, c) in b.iter().enumerate().skip(open) {
        match c {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            _ => {}
        }
    }
    let close = close.ok_or("missing ')'")?;
    let inner = &s[open + 1..close];
    let text_off = close + 1 + s[close + 1..].len() - s[close + 1..].trim_start().len();
    if s.starts_with("~LST") {
        return parse_lst(inner).map(|(vars, sets)| SeqSpec::Lst {
            vars,
            sets,
            text_off,
        });
    }
    let parts: Vec<&str> = inner.split(',').collect();
    let var = parts[0].trim().to_string();
    if !valid_name(&var) {
        return Err(format!("'{var}' is not a variable name"));
    }
    let nums: Vec<i64> = parts[1..]
        .iter()
        .map(|p| parse_num(p, false))
        .collect::<Result<_, _>>()?;
    let (start, step, end) = match nums.as_slice() {
        [end] => (
            if *end < 0 { -1 } else { 1 },
            if *end < 0 { -1 } else { 1 },
            *end,
        ),
        [start, end] => (*start, if end < start { -1 } else { 1 }, *end),
        [start, step, end] => (*start, *step, *end),
        _ => return Err("expected 1 to 3 numbers after the variable".into()),
    };
    if step == 0 {
        return Err("step must not be 0".into());
    }
    if (step > 0 && start > end) || (step < 0 && start < end) {
        return Err("the sequence is empty (step goes away from the end)".into());
    }
    Ok(SeqSpec::Seq {
        var,
        start,
        step,
        end,
        hex,
        text_off,
    })
}

fn parse_lst(inner: &str) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    // Split top-level items by ',' honouring {...} groups.
    let mut items = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in inner.chars() {
        match c {
            '{' => {
                depth += 1;
                cur.push(c)
            }
            '}' => {
                depth -= 1;
                cur.push(c)
            }
            ',' if depth == 0 => items.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    items.push(cur);
    let group = |s: &str| -> Vec<String> {
        let t = s.trim();
        let t = t
            .strip_prefix('{')
            .and_then(|x| x.strip_suffix('}'))
            .unwrap_or(t);
        t.split(',').map(|x| x.trim().to_string()).collect()
    };
    let vars = group(&items[0]);
    if vars.iter().any(|v| !valid_name(v)) {
        return Err(format!("'{}' is not a variable list", items[0].trim()));
    }
    let sets: Vec<Vec<String>> = items[1..].iter().map(|s| group(s)).collect();
    if sets.is_empty() {
        return Err("no values".into());
    }
    if sets.iter().any(|s| s.len() != vars.len()) {
        return Err("each value set needs one value per variable".into());
    }
    Ok((vars, sets))
}
