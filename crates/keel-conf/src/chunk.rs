//! Reading a file as lines, a large chunk at a time: UTF-8 is checked once per chunk and
//! lines are found with `str::find` (memchr), without a read call or allocation per line.

use std::fs::File;
use std::io::Read;

const CHUNK: usize = 128 << 10;
/// Longest raw line accepted.
pub(crate) const MAX_RAW_LINE: usize = 4 << 20;

/// Why a line could not be read.
#[derive(Debug)]
pub(crate) enum LineError {
    /// Longer than [`MAX_RAW_LINE`]; it is skipped.
    TooLong,
    /// The read failed.
    Io(std::io::Error),
}

pub(crate) struct ChunkReader {
    f: File,
    /// Complete, valid lines (each ending in `\n`, except at end of file).
    pub text: String,
    pos: usize,
    tail: Vec<u8>,
    chunk: Vec<u8>,
    eof: bool,
    skip_to_nl: bool,
    /// Set when invalid UTF-8 was replaced since the last [`ChunkReader::take_lossy`].
    lossy: bool,
    /// Whether [`ChunkReader::text`] contains a `$` (else no line of it needs substitution).
    pub has_dollar: bool,
}

impl ChunkReader {
    pub fn new(f: File) -> Self {
        ChunkReader {
            f,
            text: String::new(),
            pos: 0,
            tail: Vec::new(),
            chunk: Vec::new(),
            eof: false,
            skip_to_nl: false,
            lossy: false,
            has_dollar: true,
        }
    }

    /// Whether invalid UTF-8 was met (and replaced) since the last call.
    pub fn take_lossy(&mut self) -> bool {
        std::mem::take(&mut self.lossy)
    }

    fn push_valid(&mut self, upto: usize) {
        match std::str::from_utf8(&self.tail[..upto]) {
            Ok(s) => self.text.push_str(s),
            Err(_) => {
                self.lossy = true;
                self.text
                    .push_str(&String::from_utf8_lossy(&self.tail[..upto]));
            }
        }
        self.tail.drain(..upto);
    }

    /// The byte range in [`ChunkReader::text`] of the next line (without its `\n`).
    pub fn next_line(&mut self) -> Result<Option<(usize, usize)>, LineError> {
        loop {
            if let Some(i) = self.text[self.pos..].find('\n') {
                let r = (self.pos, self.pos + i);
                self.pos += i + 1;
                return Ok(Some(r));
            }
            if self.eof {
                if self.pos < self.text.len() {
                    let r = (self.pos, self.text.len());
                    self.pos = self.text.len();
                    return Ok(Some(r));
                }
                return Ok(None);
            }
            // Everything complete has been handed out: refill.
            self.text.clear();
            self.pos = 0;
            if self.chunk.is_empty() {
                self.chunk = vec![0; CHUNK];
            }
            let n = loop {
                match self.f.read(&mut self.chunk) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(LineError::Io(e)),
                }
            };
            if n == 0 {
                self.eof = true;
                if !self.skip_to_nl {
                    let all = self.tail.len();
                    self.push_valid(all);
                }
                self.has_dollar = self.text.contains('$');
                self.tail.clear();
                continue;
            }
            let mut new = &self.chunk[..n];
            if self.skip_to_nl {
                match new.iter().position(|b| *b == b'\n') {
                    Some(i) => {
                        self.skip_to_nl = false;
                        new = &new[i + 1..];
                    }
                    None => continue,
                }
            }
            self.tail.extend_from_slice(new);
            if let Some(nl) = self.tail.iter().rposition(|b| *b == b'\n') {
                self.push_valid(nl + 1);
                self.has_dollar = self.text.contains('$');
            } else if self.tail.len() > MAX_RAW_LINE {
                self.tail.clear();
                self.skip_to_nl = true;
                return Err(LineError::TooLong);
            }
        }
    }
}
