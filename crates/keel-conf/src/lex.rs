//! Lexing of one logical line into words, quoted strings and braces.
//!
//! The grammar is `grammar.pest`. Lines without `"` or `\` (almost every line of a real
//! configuration) take a hand-written fast path that splits them the same way; a property
//! test (`fast_path_agrees_with_grammar`) checks the two agree on arbitrary such lines.

use pest::Parser;
use pest_derive::Parser;

#[derive(Parser)]
#[grammar = "grammar.pest"]
struct ConfGrammar;

/// A token kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    /// `{`.
    Open,
    /// `}`.
    Close,
    /// A bare word (may contain `\#`/`\!` escapes to undo).
    Word,
    /// The inside of a `"..."` word (start/end exclude the quotes).
    Quoted,
    /// An unterminated quote (start/end cover the rest of the line after the quote).
    BadQuote,
}

/// One token: kind and byte range in the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: Tok,
    pub start: u32,
    pub end: u32,
}

/// Lex one line (no `\n` inside) into `out` (cleared first). True when the fast path did
/// it (then no word has an escape to undo).
pub(crate) fn lex_line(line: &str, out: &mut Vec<Token>) -> bool {
    out.clear();
    if lex_fast(line.as_bytes(), out) {
        return true;
    }
    out.clear();
    lex_pest(line, out);
    false
}

/// Byte classes of the fast path: 0 word, 1 blank, 2 comment, 3 `{`, 4 `}`, 5 stop
/// (`"` or `\\`, which never reach the fast path).
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b' ' as usize] = 1;
    t[b'\t' as usize] = 1;
    t[b'\r' as usize] = 1;
    t[0x0b] = 1;
    t[0x0c] = 1;
    t[b'\n' as usize] = 1;
    t[b'!' as usize] = 2;
    t[b'#' as usize] = 2;
    t[b'{' as usize] = 3;
    t[b'}' as usize] = 4;
    t[b'"' as usize] = 5;
    t[b'\\' as usize] = 5;
    t
};

/// The fast path for lines without quotes or backslashes; false (with `out` partly
/// filled) when the line has one, so the grammar must lex it.
pub(crate) fn lex_fast(b: &[u8], out: &mut Vec<Token>) -> bool {
    let mut i = 0;
    while i < b.len() {
        match CLASS[b[i] as usize] {
            1 => i += 1,
            2 => {
                // A comment, unless a quote or backslash comes later (the grammar
                // decides then, as `\#` is not a comment).
                return !b[i..].iter().any(|c| *c == b'"' || *c == b'\\');
            }
            5 => return false,
            3 => {
                out.push(Token {
                    kind: Tok::Open,
                    start: i as u32,
                    end: i as u32 + 1,
                });
                i += 1;
            }
            4 => {
                out.push(Token {
                    kind: Tok::Close,
                    start: i as u32,
                    end: i as u32 + 1,
                });
                i += 1;
            }
            _ => {
                let s = i;
                i += 1;
                while i < b.len() && CLASS[b[i] as usize] == 0 {
                    i += 1;
                }
                out.push(Token {
                    kind: Tok::Word,
                    start: s as u32,
                    end: i as u32,
                });
            }
        }
    }
    true
}

/// Lex with the pest grammar.
pub(crate) fn lex_pest(line: &str, out: &mut Vec<Token>) {
    let pairs = match ConfGrammar::parse(Rule::chunk, line) {
        Ok(p) => p,
        // The grammar accepts every input; should it ever fail, treat the line as one word
        // so the caller reports something rather than nothing.
        Err(_) => {
            if !line.trim().is_empty() {
                out.push(Token {
                    kind: Tok::Word,
                    start: 0,
                    end: line.len() as u32,
                });
            }
            return;
        }
    };
    for p in pairs {
        let sp = p.as_span();
        let (kind, start, end) = match p.as_rule() {
            Rule::open => (Tok::Open, sp.start(), sp.end()),
            Rule::close => (Tok::Close, sp.start(), sp.end()),
            Rule::word => (Tok::Word, sp.start(), sp.end()),
            Rule::quoted => (Tok::Quoted, sp.start() + 1, sp.end() - 1),
            Rule::bad_quote => (Tok::BadQuote, sp.start() + 1, sp.end()),
            _ => continue,
        };
        out.push(Token {
            kind,
            start: start as u32,
            end: end as u32,
        });
    }
}

/// Undo `\#` and `\!` escapes of a bare word.
pub(crate) fn unescape(w: &str) -> std::borrow::Cow<'_, str> {
    if !w.contains('\\') {
        return std::borrow::Cow::Borrowed(w);
    }
    let mut s = String::with_capacity(w.len());
    let mut it = w.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\\' && matches!(it.peek(), Some('#') | Some('!')) {
            continue;
        }
        s.push(c);
    }
    std::borrow::Cow::Owned(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn toks(s: &str) -> Vec<(Tok, String)> {
        let mut v = Vec::new();
        lex_line(s, &mut v);
        v.into_iter()
            .map(|t| (t.kind, s[t.start as usize..t.end as usize].to_string()))
            .collect()
    }

    #[test]
    fn words_and_blanks() {
        assert_eq!(
            toks("  priority\t100 "),
            vec![(Tok::Word, "priority".into()), (Tok::Word, "100".into())]
        );
    }

    #[test]
    fn comments_anywhere() {
        assert_eq!(
            toks("priority 100 # the master"),
            vec![(Tok::Word, "priority".into()), (Tok::Word, "100".into())]
        );
        assert_eq!(toks("a!b"), vec![(Tok::Word, "a".into())]);
        assert_eq!(toks("! whole line"), vec![]);
    }

    #[test]
    fn braces_split_words() {
        assert_eq!(
            toks("authentication{auth_type PASS}"),
            vec![
                (Tok::Word, "authentication".into()),
                (Tok::Open, "{".into()),
                (Tok::Word, "auth_type".into()),
                (Tok::Word, "PASS".into()),
                (Tok::Close, "}".into())
            ]
        );
    }

    #[test]
    fn quotes_keep_blanks_braces_and_comment_chars() {
        assert_eq!(
            toks(r#"notify "/bin/x a{b} #c" root"#),
            vec![
                (Tok::Word, "notify".into()),
                (Tok::Quoted, "/bin/x a{b} #c".into()),
                (Tok::Word, "root".into())
            ]
        );
        assert_eq!(
            toks(r#"a"b""#),
            vec![(Tok::Word, "a".into()), (Tok::Quoted, "b".into())]
        );
    }

    #[test]
    fn unterminated_quote() {
        assert_eq!(
            toks(r#"script "abc"#),
            vec![(Tok::Word, "script".into()), (Tok::BadQuote, "abc".into())]
        );
    }

    #[test]
    fn escaped_comment_chars() {
        let t = toks(r"pass a\#b # c");
        assert_eq!(
            t,
            vec![(Tok::Word, "pass".into()), (Tok::Word, r"a\#b".into())]
        );
        assert_eq!(unescape(r"a\#b\!c\d"), r"a#b!c\d");
    }

    proptest! {
        #[test]
        fn fast_path_agrees_with_grammar(s in "[ \t\r\x0b\x0ca-zA-Z0-9_./:{}!#@$~=,é-]{0,40}") {
            let mut a = Vec::new();
            let mut b = Vec::new();
            prop_assert!(lex_fast(s.as_bytes(), &mut a));
            lex_pest(&s, &mut b);
            prop_assert_eq!(a, b);
        }

        #[test]
        fn grammar_never_fails(s in "[^\n]{0,60}") {
            prop_assert!(ConfGrammar::parse(Rule::chunk, &s).is_ok());
        }
    }
}
