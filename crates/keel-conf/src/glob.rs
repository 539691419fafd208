//! Minimal glob(3) for `include`: `*`, `?`, `[...]` per path component and csh-style
//! `{a,b}` brace expansion. Results are sorted per brace alternative; hidden files are
//! matched only by patterns starting with `.`.

use std::path::{Path, PathBuf};

/// What all the `include` patterns of one load may cost together: the brace
/// alternatives tried, the directory entries looked at and the paths matched. Each
/// counter only grows; [`glob`] stops (and says which limit it met) when one runs out, so
/// a hostile or mistaken pattern costs bounded work however many files exist.
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    /// Brace alternatives left.
    pub alternatives: usize,
    /// Directory entries left to look at.
    pub entries: usize,
    /// Matches left.
    pub matches: usize,
    /// Whether running out was reported (once per load).
    pub reported: bool,
}

/// Brace alternatives one load may expand (all include lines together).
pub(crate) const MAX_ALTERNATIVES: usize = 16_384;
/// Directory entries one load may read while matching include patterns.
pub(crate) const MAX_ENTRIES: usize = 1_000_000;
/// Paths all include lines of one load may match together (every include counted each
/// time it is read, so this bounds the files one load includes).
pub(crate) const MAX_MATCHES: usize = 100_000;

impl Default for Budget {
    fn default() -> Self {
        Budget {
            alternatives: MAX_ALTERNATIVES,
            entries: MAX_ENTRIES,
            matches: MAX_MATCHES,
            reported: false,
        }
    }
}

/// Which limit of the [`Budget`] a pattern ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exhausted {
    Alternatives,
    Entries,
    Matches,
}

impl Exhausted {
    /// What ran out, for a diagnostic.
    pub fn describe(self) -> String {
        match self {
            Exhausted::Alternatives => {
                format!(
                    "include patterns expand to more than {MAX_ALTERNATIVES} brace alternatives"
                )
            }
            Exhausted::Entries => {
                format!("include patterns make keel read more than {MAX_ENTRIES} directory entries")
            }
            Exhausted::Matches => {
                format!("the includes of one load match more than {MAX_MATCHES} files")
            }
        }
    }
}

/// Expand `pattern` into the existing paths it matches, within `budget`. On running out,
/// returns what was found so far and which limit was met.
pub(crate) fn glob(pattern: &str, budget: &mut Budget) -> (Vec<PathBuf>, Option<Exhausted>) {
    let mut out = Vec::new();
    let alts = expand_braces(pattern, 0);
    let mut over = None;
    // A pattern without braces is one file or glob: the included-files limit bounds those.
    if alts.len() > 1 {
        if alts.len() > budget.alternatives {
            budget.alternatives = 0;
            return (out, Some(Exhausted::Alternatives));
        }
        budget.alternatives -= alts.len();
    }
    for alt in alts {
        let mut found = match glob_one(&alt, budget) {
            Ok(f) => f,
            Err((f, e)) => {
                over = Some(e);
                f
            }
        };
        found.sort();
        out.extend(found);
        if over.is_some() {
            break;
        }
    }
    (out, over)
}

/// csh brace expansion (nested allowed). Limits the number of alternatives.
pub(crate) fn expand_braces(p: &str, depth: usize) -> Vec<String> {
    if depth > 8 {
        return vec![p.to_string()];
    }
    let b = p.as_bytes();
    let Some(open) = b.iter().position(|c| *c == b'{') else {
        return vec![p.to_string()];
    };
    let mut d = 0;
    let mut close = None;
    let mut commas = Vec::new();
    for (i, c) in b.iter().enumerate().skip(open) {
        match c {
            b'{' => d += 1,
            b'}' => {
                d -= 1;
                if d == 0 {
                    close = Some(i);
                    break;
                }
            }
            b',' if d == 1 => commas.push(i),
            _ => {}
        }
    }
    let Some(close) = close else {
        return vec![p.to_string()];
    };
    let (pre, post) = (&p[..open], &p[close + 1..]);
    let mut bounds = vec![open];
    bounds.extend(commas);
    bounds.push(close);
    let mut out = Vec::new();
    for w in bounds.windows(2) {
        let mid = &p[w[0] + 1..w[1]];
        for e in expand_braces(&format!("{pre}{mid}{post}"), depth + 1) {
            if out.len() < 4096 {
                out.push(e);
            }
        }
    }
    out
}

fn has_magic(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// One brace-free pattern. Linear in the entries of the directories it reads: each
/// directory is listed once, names sorted once, each name matched and (for a last
/// component) checked to be a file once.
fn glob_one(pattern: &str, budget: &mut Budget) -> Result<Vec<PathBuf>, (Vec<PathBuf>, Exhausted)> {
    if !has_magic(pattern) {
        let p = PathBuf::from(pattern);
        if !p.exists() {
            return Ok(Vec::new());
        }
        if budget.matches == 0 {
            return Err((Vec::new(), Exhausted::Matches));
        }
        budget.matches -= 1;
        return Ok(vec![p]);
    }
    let absolute = pattern.starts_with('/');
    let comps: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
    let mut cur: Vec<PathBuf> = vec![if absolute {
        PathBuf::from("/")
    } else {
        PathBuf::new()
    }];
    for (i, comp) in comps.iter().enumerate() {
        let last = i + 1 == comps.len();
        let mut next = Vec::new();
        for base in &cur {
            if !has_magic(comp) {
                let p = base.join(comp);
                if (last && p.exists()) || (!last && p.is_dir()) {
                    next.push(p);
                }
                continue;
            }
            let dir: &Path = if base.as_os_str().is_empty() {
                Path::new(".")
            } else {
                base
            };
            let Ok(rd) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut names: Vec<(String, Option<std::fs::FileType>)> = Vec::new();
            for e in rd {
                if budget.entries == 0 {
                    return Err((Vec::new(), Exhausted::Entries));
                }
                budget.entries -= 1;
                let Ok(e) = e else { continue };
                let n = e.file_name().to_string_lossy().to_string();
                if n.starts_with('.') && !comp.starts_with('.') {
                    continue;
                }
                if wildmatch(comp.as_bytes(), n.as_bytes()) {
                    // The entry's type comes with the directory listing (no stat), except
                    // for symbolic links, which are followed below.
                    names.push((n, e.file_type().ok()));
                }
            }
            names.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            for (n, ft) in names {
                let p = base.join(&n);
                let keep = match ft {
                    Some(t) if !t.is_symlink() => {
                        if last {
                            t.is_file()
                        } else {
                            t.is_dir()
                        }
                    }
                    _ => {
                        if last {
                            p.is_file()
                        } else {
                            p.is_dir()
                        }
                    }
                };
                if keep {
                    if last {
                        if budget.matches == 0 {
                            return Err((next, Exhausted::Matches));
                        }
                        budget.matches -= 1;
                    }
                    next.push(p);
                }
            }
        }
        cur = next;
        if cur.is_empty() {
            break;
        }
    }
    if !has_magic(comps.last().copied().unwrap_or("")) {
        cur.retain(|p| p.is_file());
        let n = cur.len().min(budget.matches);
        if n < cur.len() {
            budget.matches = 0;
            cur.truncate(n);
            return Err((cur, Exhausted::Matches));
        }
        budget.matches -= n;
    }
    Ok(cur)
}

/// fnmatch-style matching of one component.
pub(crate) fn wildmatch(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let (mut star_p, mut star_s) = (usize::MAX, 0);
    while si < s.len() {
        if pi < p.len() {
            match p[pi] {
                b'*' => {
                    star_p = pi;
                    star_s = si;
                    pi += 1;
                    continue;
                }
                b'?' => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                b'[' => {
                    if let Some((ok, len)) = class(&p[pi..], s[si]) {
                        if ok {
                            pi += len;
                            si += 1;
                            continue;
                        }
                    } else if s[si] == b'[' {
                        pi += 1;
                        si += 1;
                        continue;
                    }
                }
                c => {
                    if c == s[si] {
                        pi += 1;
                        si += 1;
                        continue;
                    }
                }
            }
        }
        if star_p != usize::MAX {
            pi = star_p + 1;
            star_s += 1;
            si = star_s;
            continue;
        }
        return false;
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// Match a `[...]` class at the start of `p` against `c`: (matched, class length).
fn class(p: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let neg = matches!(p.get(1), Some(b'!') | Some(b'^'));
    if neg {
        i += 1;
    }
    let mut ok = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == b']' && !first {
            return Some((ok != neg, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == b'-' && p[i + 2] != b']' {
            if p[i] <= c && c <= p[i + 2] {
                ok = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                ok = true;
            }
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildmatch(b"*.conf", b"a.conf"));
        assert!(!wildmatch(b"*.conf", b"a.conf~"));
        assert!(wildmatch(b"a?c", b"abc"));
        assert!(wildmatch(b"[a-c]x", b"bx"));
        assert!(!wildmatch(b"[!a-c]x", b"bx"));
        assert!(wildmatch(b"*", b""));
    }

    #[test]
    fn braces() {
        assert_eq!(expand_braces("a{b,c}d", 0), vec!["abd", "acd"]);
        assert_eq!(
            expand_braces("{foo/{,cat,dog},bar}", 0),
            vec!["foo/", "foo/cat", "foo/dog", "bar"]
        );
        assert_eq!(expand_braces("x{y", 0), vec!["x{y"]);
    }
}
