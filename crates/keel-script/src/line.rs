//! Script lines: how keepalived splits them, and which programs a line runs.
use std::fmt;

/// A parsed script line.
///
/// A line without shell syntax runs directly (split like a shell splits quoted
/// words); a line with shell syntax (`|`, `&&`, `$`, redirections, globs, ...) runs
/// as `/bin/sh -c LINE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    argv: Vec<String>,
    shell: bool,
    text: String,
}

/// Why a script line cannot be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Nothing but white space.
    #[error("empty script line")]
    Empty,
    /// A quote is not closed.
    #[error("unbalanced quotes in script line")]
    Unbalanced,
}

/// The shell used for lines with shell syntax.
pub const SHELL: &str = "/bin/sh";

const SHELL_CHARS: &[char] = &[
    '|', '&', ';', '<', '>', '(', ')', '$', '`', '*', '?', '[', ']', '~', '{', '}', '\n', '#',
];

impl Line {
    /// Parse a keepalived script line (`"/usr/bin/check arg 'two words'"`).
    pub fn parse(line: &str) -> Result<Line, ParseError> {
        let (words, shell) = split(line)?;
        if words.is_empty() {
            return Err(ParseError::Empty);
        }
        let text = line.trim().to_owned();
        if shell {
            return Ok(Line {
                argv: vec![SHELL.into(), "-c".into(), text.clone()],
                shell: true,
                text,
            });
        }
        Ok(Line {
            argv: words,
            shell: false,
            text,
        })
    }

    /// The argv a run starts with: `argv[0]` is the program, or `/bin/sh` for
    /// shell lines (then `["/bin/sh", "-c", LINE]`).
    pub fn argv(&self) -> &[String] {
        &self.argv
    }

    /// True when the line needs a shell.
    pub fn needs_shell(&self) -> bool {
        self.shell
    }

    /// The line as written (trimmed).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The program the line starts: its first word (also for shell lines), as
    /// keepalived's log lines name a script.
    pub fn program(&self) -> &str {
        if self.shell {
            self.text.split_whitespace().next().unwrap_or(SHELL)
        } else {
            self.argv.first().map_or("", String::as_str)
        }
    }

    /// The argv with `extra` words appended (generic notify's `INSTANCE VI_1
    /// MASTER 100`). For shell lines the words are appended to the command text,
    /// single-quoted, so the shell passes them through unchanged (as keepalived).
    pub fn argv_with(&self, extra: &[String]) -> Vec<String> {
        let mut argv = self.argv.clone();
        if self.shell {
            if let Some(l) = argv.get_mut(2) {
                for e in extra {
                    l.push_str(" '");
                    l.push_str(&e.replace('\'', "'\\''"));
                    l.push('\'');
                }
            }
        } else {
            argv.extend(extra.iter().cloned());
        }
        argv
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Split like a shell splits words; also say whether unquoted shell syntax was seen.
fn split(line: &str) -> Result<(Vec<String>, bool), ParseError> {
    let mut argv = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut shell = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if quote.is_none() && quote_or_escape(c, &mut quote, &mut chars, &mut cur, &mut in_word) {
            continue;
        }
        match quote {
            Some('"') if c == '$' || c == '`' => {
                shell = true;
                cur.push(c);
            }
            Some(q) => in_quotes(c, q, &mut quote, &mut chars, &mut cur),
            None => match c {
                c if c.is_whitespace() && c != '\n' => {
                    if in_word {
                        argv.push(std::mem::take(&mut cur));
                        in_word = false;
                    }
                }
                c => {
                    if SHELL_CHARS.contains(&c) {
                        shell = true;
                    }
                    cur.push(c);
                    in_word = true;
                }
            },
        }
    }
    if quote.is_some() {
        return Err(ParseError::Unbalanced);
    }
    if in_word {
        argv.push(cur);
    }
    Ok((argv, shell))
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// One character inside `q` quotes: it closes them, starts a backslash escape (in
/// double quotes), or joins the word.
fn in_quotes(c: char, q: char, quote: &mut Option<char>, chars: &mut Chars<'_>, cur: &mut String) {
    if c == q {
        *quote = None;
    } else if q == '"' && c == '\\' {
        if let Some(n) = chars.next() {
            cur.push(n);
        }
    } else {
        cur.push(c);
    }
}

/// Outside quotes: an opening quote or a backslash escape (a backslash-newline
/// joins lines); false for any other character.
fn quote_or_escape(
    c: char,
    quote: &mut Option<char>,
    chars: &mut Chars<'_>,
    cur: &mut String,
    in_word: &mut bool,
) -> bool {
    match c {
        '\'' | '"' => {
            *quote = Some(c);
            *in_word = true;
            true
        }
        '\\' => {
            if let Some(n) = chars.next()
                && n != '\n'
            {
                cur.push(n);
                *in_word = true;
            }
            true
        }
        _ => false,
    }
}

/// A shell construct that hides which programs a line runs, so script security
/// cannot vouch for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Opaque {
    /// `$(...)` or backquotes.
    #[error("command substitution ({0}) runs commands script security cannot see")]
    Substitution(&'static str),
    /// A command name that is only known at run time (`$CMD`, a glob, `~`).
    #[error("the command name '{0}' is only known at run time")]
    ComputedName(String),
    /// `eval`, a here-document, a brace group or function definition.
    #[error("'{0}' runs text script security cannot see")]
    Construct(String),
    /// An interpreter that reads its program from standard input or a pipe.
    #[error("'{0}' reads its program from standard input")]
    Stdin(String),
    /// Quotes or parentheses do not match.
    #[error("the shell syntax cannot be followed ({0})")]
    Syntax(&'static str),
}

/// Shell builtins that run no file.
const BUILTINS: &[&str] = &[
    ":", "true", "false", "exit", "return", "cd", "echo", "printf", "test", "[", "export", "unset",
    "set", "shift", "read", "wait", "trap", "kill", "pwd", "umask", "ulimit", "local", "readonly",
    "break", "continue", "type", "times", "getopts", "alias", "unalias", "hash",
];

/// Wrappers that run their argument as a command (`env X=1 prog`, `nice -n 5 prog`).
const WRAPPERS: &[&str] = &[
    "env", "nice", "nohup", "command", "exec", "setsid", "timeout", "stdbuf", "ionice", "chrt",
    "taskset", "flock", "runuser", "sudo", "su", "xargs", "time", "builtin",
];

/// Interpreters: their first non-option argument is a program too.
const INTERPRETERS: &[&str] = &[
    "sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "busybox", "python", "python2", "python3",
    "perl", "ruby", "php", "lua", "node", "tclsh", "awk", "gawk", "mawk", "sed",
];

fn base(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

fn is_shell(p: &str) -> bool {
    matches!(
        base(p),
        "sh" | "bash" | "dash" | "ash" | "zsh" | "ksh" | "mksh"
    )
}

/// Every program a line runs: for a plain line its program (and, for an
/// interpreter or wrapper, the script or command it is given); for a shell line
/// `/bin/sh` and the program of every simple command in it. `Err` names a
/// construct that hides what would run.
pub fn programs(line: &Line) -> Result<Vec<String>, Opaque> {
    let mut out = Vec::new();
    if line.shell {
        out.push(SHELL.to_owned());
        shell_programs(&line.text, &mut out, 0)?;
    } else {
        command_programs(&line.argv, &mut out, 0)?;
    }
    out.dedup();
    Ok(out)
}

/// A word of a shell line: its text and whether any part was unquoted-expandable.
struct Word {
    text: String,
    /// Unquoted `$`, glob characters or `~` appear in it.
    computed: bool,
}

fn shell_programs(text: &str, out: &mut Vec<String>, depth: u32) -> Result<(), Opaque> {
    if depth > 4 {
        return Err(Opaque::Construct("sh -c nested too deep".into()));
    }
    if text.contains('`') {
        return Err(Opaque::Substitution("`...`"));
    }
    let mut cmds: Vec<Vec<Word>> = vec![Vec::new()];
    let mut cur = String::new();
    let mut computed = false;
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars().peekable();
    let end_word = |cmds: &mut Vec<Vec<Word>>, cur: &mut String, computed: &mut bool| {
        if let Some(c) = cmds.last_mut() {
            c.push(Word {
                text: std::mem::take(cur),
                computed: *computed,
            });
        }
        *computed = false;
    };
    while let Some(c) = chars.next() {
        if quote.is_none() && quote_or_escape(c, &mut quote, &mut chars, &mut cur, &mut in_word) {
            continue;
        }
        match quote {
            Some('"') if c == '$' => {
                if chars.peek() == Some(&'(') {
                    return Err(Opaque::Substitution("$(...)"));
                }
                cur.push(c);
            }
            Some(q) => in_quotes(c, q, &mut quote, &mut chars, &mut cur),
            None => match c {
                '#' if !in_word => {
                    // a comment to the end of the line
                    for n in chars.by_ref() {
                        if n == '\n' {
                            break;
                        }
                    }
                    cmds.push(Vec::new());
                }
                ';' | '&' | '|' | '\n' | '(' | ')' => {
                    if in_word {
                        end_word(&mut cmds, &mut cur, &mut computed);
                        in_word = false;
                    }
                    if c == '(' && cmds.last().is_some_and(|w| !w.is_empty()) {
                        return Err(Opaque::Construct("function definition".into()));
                    }
                    cmds.push(Vec::new());
                }
                '<' | '>' => {
                    if c == '<' && chars.peek() == Some(&'<') {
                        return Err(Opaque::Construct("here-document".into()));
                    }
                    if chars.peek() == Some(&'(') {
                        return Err(Opaque::Substitution("process substitution"));
                    }
                    if in_word {
                        // `2>file`: the digits were a file descriptor
                        if !cur.chars().all(|d| d.is_ascii_digit()) {
                            end_word(&mut cmds, &mut cur, &mut computed);
                        } else {
                            cur.clear();
                            computed = false;
                        }
                        in_word = false;
                    }
                    // the redirection target is a word to skip: mark it
                    while chars.peek().is_some_and(|n| matches!(n, '>' | '&' | '|')) {
                        chars.next();
                    }
                    if let Some(c) = cmds.last_mut() {
                        c.push(Word {
                            text: "\0redir".into(),
                            computed: false,
                        });
                    }
                }
                '$' => {
                    if chars.peek() == Some(&'(') {
                        return Err(Opaque::Substitution("$(...)"));
                    }
                    computed = true;
                    cur.push(c);
                    in_word = true;
                }
                '*' | '?' | '[' | '~' => {
                    computed = true;
                    cur.push(c);
                    in_word = true;
                }
                '{' | '}' if !in_word => {
                    return Err(Opaque::Construct(c.to_string()));
                }
                c if c.is_whitespace() => {
                    if in_word {
                        end_word(&mut cmds, &mut cur, &mut computed);
                        in_word = false;
                    }
                }
                c => {
                    cur.push(c);
                    in_word = true;
                }
            },
        }
    }
    if quote.is_some() {
        return Err(Opaque::Syntax("unbalanced quotes"));
    }
    if in_word {
        end_word(&mut cmds, &mut cur, &mut computed);
    }
    for words in cmds {
        // drop redirections and their targets
        let mut plain: Vec<Word> = Vec::new();
        let mut skip = false;
        for w in words {
            if w.text == "\0redir" {
                skip = true;
                continue;
            }
            if skip {
                skip = false;
                continue;
            }
            plain.push(w);
        }
        // leading assignments
        let first = plain.iter().position(|w| !is_assignment(&w.text));
        let Some(first) = first else { continue };
        let cmd = &plain[first..];
        if let Some(w) = cmd.first()
            && w.computed
        {
            return Err(Opaque::ComputedName(w.text.clone()));
        }
        let argv: Vec<String> = cmd.iter().map(|w| w.text.clone()).collect();
        if matches!(
            argv.first().map(String::as_str),
            Some("eval" | "source" | "." | "if" | "then" | "else" | "elif" | "fi" | "for")
                | Some("while" | "until" | "do" | "done" | "case" | "esac" | "function" | "!")
        ) {
            let w = argv.first().map(String::as_str).unwrap_or_default();
            if w == "." || w == "source" {
                // runs a file: check it like a program
                match argv.get(1) {
                    Some(f) if !cmd.get(1).is_some_and(|w| w.computed) => {
                        out.push(f.clone());
                        continue;
                    }
                    _ => return Err(Opaque::ComputedName(argv.join(" "))),
                }
            }
            return Err(Opaque::Construct(w.to_owned()));
        }
        command_programs(&argv, out, depth)?;
    }
    Ok(())
}

fn is_assignment(w: &str) -> bool {
    match w.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit())
        }
        None => false,
    }
}

/// The programs one simple command (already split into words) runs.
fn command_programs(argv: &[String], out: &mut Vec<String>, depth: u32) -> Result<(), Opaque> {
    let Some(prog) = argv.first() else {
        return Ok(());
    };
    let name = base(prog);
    if !prog.contains('/') && BUILTINS.contains(&name) {
        return Ok(());
    }
    out.push(prog.clone());
    let rest = &argv[1..];
    if WRAPPERS.contains(&name) {
        // the first word that is not an option, an assignment (env) or a
        // duration (timeout) is the command
        let mut i = 0;
        let mut skipped_duration = false;
        while let Some(w) = rest.get(i) {
            if w == "--" {
                i += 1;
                break;
            }
            if w.starts_with('-') || is_assignment(w) {
                i += 1;
                // options with a separate value
                if matches!(
                    (name, w.as_str()),
                    ("nice", "-n")
                        | ("timeout", "-s" | "-k" | "--signal" | "--kill-after")
                        | ("runuser" | "sudo" | "su", "-u" | "-g" | "-c")
                        | ("ionice", "-c" | "-n")
                        | ("chrt" | "taskset", _)
                ) {
                    if name == "su" && w == "-c" {
                        // su -c 'shell text'
                        if let Some(t) = rest.get(i) {
                            return shell_programs(t, out, depth + 1);
                        }
                    }
                    i += 1;
                }
                continue;
            }
            if name == "timeout" && !skipped_duration {
                skipped_duration = true;
                i += 1;
                continue;
            }
            if name == "su" {
                // su USER: the rest is the user's shell
                return Err(Opaque::Construct("su without -c".into()));
            }
            break;
        }
        if i >= rest.len() {
            if name == "xargs" {
                return Err(Opaque::Stdin("xargs".into()));
            }
            return Ok(());
        }
        return command_programs(&rest[i..], out, depth);
    }
    if INTERPRETERS.contains(&name) || name.starts_with("python") {
        // `sh -c TEXT`: the text is a shell line
        let mut i = 0;
        while let Some(w) = rest.get(i) {
            if is_shell(prog) && w == "-c" {
                return match rest.get(i + 1) {
                    Some(t) => shell_programs(t, out, depth + 1),
                    None => Err(Opaque::Syntax("sh -c without a command")),
                };
            }
            if (name.starts_with("python") || name == "perl" || name == "ruby" || name == "node")
                && matches!(w.as_str(), "-c" | "-e" | "-m")
            {
                // inline program text: nothing more on disk to check
                return Ok(());
            }
            if name.ends_with("awk") || name == "sed" {
                // awk/sed programs are inline unless -f FILE
                if w == "-f"
                    && let Some(f) = rest.get(i + 1)
                {
                    out.push(f.clone());
                }
                return Ok(());
            }
            if w.starts_with('-') && w != "-" {
                i += 1;
                continue;
            }
            if w == "-" {
                return Err(Opaque::Stdin(prog.clone()));
            }
            out.push(w.clone());
            return Ok(());
        }
        if name.ends_with("awk") || name == "sed" {
            return Ok(());
        }
        return Err(Opaque::Stdin(prog.clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progs(l: &str) -> Result<Vec<String>, Opaque> {
        programs(&Line::parse(l).unwrap())
    }

    #[test]
    fn plain_lines_run_without_shell() {
        let c = Line::parse("/usr/bin/check  arg 'two words' \"x y\"").unwrap();
        assert!(!c.needs_shell());
        assert_eq!(c.argv(), ["/usr/bin/check", "arg", "two words", "x y"]);
        assert_eq!(c.program(), "/usr/bin/check");
    }

    #[test]
    fn shell_syntax_needs_a_shell() {
        for l in [
            "killall -0 haproxy || exit 1",
            "test -f /x && true",
            "echo $HOME",
            "ls *.conf",
            "echo \"$HOME\"",
        ] {
            let c = Line::parse(l).unwrap();
            assert!(c.needs_shell(), "{l}");
            assert_eq!(c.argv()[0], "/bin/sh");
            assert_eq!(c.argv()[2], l);
        }
        let c = Line::parse("echo 'a|b'").unwrap();
        assert!(!c.needs_shell(), "quoted metacharacters are literal");
        assert_eq!(c.argv(), ["echo", "a|b"]);
        assert_eq!(Line::parse("echo 'unbalanced"), Err(ParseError::Unbalanced));
        assert_eq!(Line::parse("   "), Err(ParseError::Empty));
    }

    #[test]
    fn extra_words_are_quoted_for_the_shell() {
        let l = Line::parse("printf '%s,' > /dev/null").unwrap();
        let a = l.argv_with(&["it's".into()]);
        assert_eq!(a[2], "printf '%s,' > /dev/null 'it'\\''s'");
        let l = Line::parse("/bin/echo a").unwrap();
        assert_eq!(l.argv_with(&["b".into()]), ["/bin/echo", "a", "b"]);
    }

    #[test]
    fn every_program_of_a_shell_line_is_found() {
        // the finding of issue 17 item 3: only the first word was checked
        assert_eq!(
            progs("/bin/true && /tmp/x/ww2.sh").unwrap(),
            ["/bin/sh", "/bin/true", "/tmp/x/ww2.sh"]
        );
        assert_eq!(
            progs("a | b; c & d || e\nf").unwrap(),
            ["/bin/sh", "a", "b", "c", "d", "e", "f"]
        );
        assert_eq!(
            progs("X=1 /usr/bin/chk 2>/dev/null >/tmp/out < /etc/in").unwrap(),
            ["/bin/sh", "/usr/bin/chk"]
        );
        assert_eq!(
            progs("test -f /x && exit 1").unwrap(),
            ["/bin/sh"],
            "builtins run no file"
        );
        assert_eq!(
            progs("(cd /a && ./run) > /dev/null").unwrap(),
            ["/bin/sh", "./run"]
        );
        assert_eq!(
            progs("echo $HOME | /usr/bin/logger").unwrap(),
            ["/bin/sh", "/usr/bin/logger"]
        );
        // interpreters and wrappers: the script they run is a program too
        assert_eq!(
            progs("/bin/bash -x /tmp/x/s.sh arg").unwrap(),
            ["/bin/bash", "/tmp/x/s.sh"]
        );
        assert_eq!(
            progs("env A=1 nice -n 5 timeout -s KILL 3 /opt/chk").unwrap(),
            ["env", "nice", "timeout", "/opt/chk"]
        );
        assert_eq!(
            progs("sh -c '/bin/true; /tmp/y'").unwrap(),
            ["sh", "/bin/true", "/tmp/y"]
        );
        assert_eq!(
            progs(". /etc/x.sh && f").unwrap(),
            ["/bin/sh", "/etc/x.sh", "f"]
        );
        assert_eq!(progs("python3 -c 'print(1)'").unwrap(), ["python3"]);
    }

    #[test]
    fn hidden_commands_are_named() {
        for (l, want) in [
            ("echo `id`", "command substitution (`...`)"),
            ("x=$(cat /tmp/f); echo $x", "command substitution ($(...))"),
            (
                "$CMD arg && true",
                "the command name '$CMD' is only known at run time",
            ),
            ("/tmp/*/run.sh || true", "is only known at run time"),
            ("eval \"$X\" || true", "'eval' runs text"),
            (
                "cat /tmp/f | sh",
                "'sh' reads its program from standard input",
            ),
            ("sh < /tmp/f", "reads its program from standard input"),
            ("cat <<EOF | true", "here-document"),
            ("f() { x; }; f", "function definition"),
            ("if true; then /bin/x; fi", "'if' runs text"),
        ] {
            let e = progs(l).unwrap_err().to_string();
            assert!(e.contains(want), "{l}: {e}");
        }
    }
}
