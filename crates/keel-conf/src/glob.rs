//! Minimal glob(3) for `include`: `*`, `?`, `[...]` per path component and csh-style
//! `{a,b}` brace expansion. Results are sorted per brace alternative; hidden files are
//! matched only by patterns starting with `.`.

use std::path::{Path, PathBuf};

/// Expand `pattern` into the existing paths it matches.
pub(crate) fn glob(pattern: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for alt in expand_braces(pattern, 0) {
        let mut found = glob_one(&alt);
        found.sort();
        out.extend(found);
    }
    out
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

fn glob_one(pattern: &str) -> Vec<PathBuf> {
    if !has_magic(pattern) {
        let p = PathBuf::from(pattern);
        return if p.exists() { vec![p] } else { Vec::new() };
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
            let mut names: Vec<String> = rd
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect();
            names.sort();
            for n in names {
                if n.starts_with('.') && !comp.starts_with('.') {
                    continue;
                }
                if wildmatch(comp.as_bytes(), n.as_bytes()) {
                    let p = base.join(&n);
                    if last || p.is_dir() {
                        next.push(p);
                    }
                }
            }
        }
        cur = next;
        if cur.is_empty() {
            break;
        }
    }
    cur.retain(|p| p.is_file());
    cur
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
