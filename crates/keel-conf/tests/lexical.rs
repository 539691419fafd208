//! keepalived's lexical rules: comments, quotes, braces, includes, definitions,
//! conditional lines and the ~SEQ generator. Each test states the rule it proves.
#![allow(clippy::unwrap_used)]

use keel_conf::*;
use std::net::IpAddr;
use std::path::Path;

mod common;
use common::TempDir;

fn opts() -> LoadOptions {
    LoadOptions {
        config_id: Some("main".into()),
        check_environment: false,
    }
}

fn load(text: &str) -> Loaded {
    load_str("test.conf", text, &opts())
}

fn codes(l: &Loaded) -> Vec<(Code, u32, u32)> {
    l.diagnostics
        .iter()
        .map(|d| (d.code, d.line, d.col))
        .collect()
}

fn vips(l: &Loaded) -> Vec<String> {
    l.config.vrrp_instances[0]
        .virtual_ipaddress
        .iter()
        .map(|v| v.addr.map(|a| a.to_string()).unwrap_or_default())
        .collect()
}

const INST: &str = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n";

#[test]
fn comments_start_with_bang_or_hash_anywhere() {
    let l = load(&format!(
        "! c1\n# c2\n{INST} priority 90 # trailing\n priority2 1 ! x\n}}\n"
    ));
    assert_eq!(l.config.vrrp_instances[0].priority, 90);
    assert_eq!(codes(&l), vec![(Code::UnknownKeyword, 7, 2)]);
}

#[test]
fn quoted_strings_keep_blanks_and_comment_chars() {
    let l = load(&format!(
        "{INST} notify_master \"/bin/echo a # b {{c}}\" root wheel\n}}\n"
    ));
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let s = l.config.vrrp_instances[0].notify.master.as_ref().unwrap();
    assert_eq!(s.command, "/bin/echo a # b {c}");
    assert_eq!(
        s.user,
        Some(ScriptUser {
            user: "root".into(),
            group: Some("wheel".into())
        })
    );
}

#[test]
fn escaped_comment_characters_are_literal() {
    let l = load(&format!(
        "{INST} authentication {{\n auth_type PASS\n auth_pass a\\#b\\!c\n }}\n}}\n"
    ));
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    assert_eq!(
        l.config.vrrp_instances[0]
            .authentication
            .as_ref()
            .unwrap()
            .auth_pass,
        "a#b!c"
    );
}

#[test]
fn unterminated_quote_is_a_syntax_error() {
    let l = load(&format!("{INST} notify \"/bin/x\n}}\n"));
    assert_eq!(codes(&l), vec![(Code::Syntax, 4, 9)]);
}

#[test]
fn one_line_authentication_block_keeps_the_password() {
    let l = load(&format!(
        "{INST} authentication {{ auth_type PASS auth_pass secret }}\n}}\n"
    ));
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let a = l.config.vrrp_instances[0].authentication.as_ref().unwrap();
    assert_eq!(
        (a.auth_type, a.auth_pass.as_str()),
        (AuthType::Pass, "secret")
    );
}

#[test]
fn whole_instance_on_one_line() {
    let l = load(
        "vrrp_instance V { interface eth0 virtual_router_id 7 priority 50 virtual_ipaddress { 192.0.2.1/24 } }\n",
    );
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let v = &l.config.vrrp_instances[0];
    assert_eq!((v.virtual_router_id, v.priority), (7, 50));
    assert_eq!(vips(&l), vec!["192.0.2.1"]);
    assert_eq!(v.virtual_ipaddress[0].prefix_len, 24);
}

#[test]
fn brace_on_the_next_line_and_glued_to_words() {
    let l = load(
        "global_defs\n{\n router_id A\n}\nvrrp_instance V{\n interface eth0\n virtual_router_id 2\n}\n",
    );
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    assert_eq!(l.config.global.router_id.as_deref(), Some("A"));
    assert_eq!(l.config.vrrp_instances[0].virtual_router_id, 2);
}

#[test]
fn crlf_line_endings_and_tabs() {
    let l = load("global_defs {\r\n\trouter_id\tB\r\n}\r\n");
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    assert_eq!(l.config.global.router_id.as_deref(), Some("B"));
}

#[test]
fn definitions_and_substitution() {
    let text = "$PRIO=150\n$NET=192.0.2\n$IF=eth1\nvrrp_instance V {\n interface $IF\n virtual_router_id 3\n priority $PRIO\n virtual_ipaddress {\n  ${NET}.10\n  $UNDEFINED\n }\n}\n";
    let l = load(text);
    let v = &l.config.vrrp_instances[0];
    assert_eq!((v.interface.as_deref(), v.priority), (Some("eth1"), 150));
    assert_eq!(vips(&l), vec!["192.0.2.10"]);
    // An undefined $NAME is left alone (and then is not an address).
    assert_eq!(codes(&l), vec![(Code::InvalidValue, 10, 3)]);
}

#[test]
fn substitution_is_recursive_at_use_time() {
    let text = "$BASE=192.0.2.${SUB}\n$SUB=5\nvrrp_instance V {\n interface eth0\n virtual_router_id 3\n virtual_ipaddress {\n  ${BASE}\n }\n}\n";
    let l = load(text);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    assert_eq!(vips(&l), vec!["192.0.2.5"]);
}

#[test]
fn self_referencing_definition_is_an_error_not_a_hang() {
    let l = load("$A=x $A\nglobal_defs {\n router_id $A\n}\n");
    assert!(
        codes(&l).contains(&(Code::Syntax, 3, 12)),
        "{:?}",
        l.diagnostics
    );
}

#[test]
fn multi_line_definitions_expand_to_lines() {
    let text = "$RS= \\\n real_server 192.0.2.${N} 80 { \\\n  weight 2 \\\n }\nvirtual_server 192.0.2.100 80 {\n $N=1\n $RS\n $N=2\n $RS\n}\n";
    let l = load(text);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let rs = &l.config.virtual_servers[0].real_servers;
    assert_eq!(rs.len(), 2);
    assert_eq!(rs[1].addr, "192.0.2.2".parse::<IpAddr>().unwrap());
    assert_eq!(rs[1].weight, 2);
}

#[test]
fn diagnostics_in_substituted_text_point_at_the_use() {
    let text =
        "$P=999\nvrrp_instance V {\n interface eth0\n virtual_router_id 3\n priority $P\n}\n";
    let l = load(text);
    assert_eq!(codes(&l), vec![(Code::InvalidValue, 5, 11)]);
}

#[test]
fn conditional_lines_follow_the_config_id() {
    let text = "global_defs {\n @main router_id M\n @backup router_id B\n}\nvrrp_instance V {\n interface eth0\n virtual_router_id 3\n unicast_peer {\n  @^main 192.0.2.1\n  @^backup 192.0.2.2\n }\n}\n";
    let l = load(text);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    assert_eq!(l.config.global.router_id.as_deref(), Some("M"));
    assert_eq!(
        l.config.vrrp_instances[0].unicast_peers,
        vec!["192.0.2.2".parse::<IpAddr>().unwrap()]
    );
    let other = load_str(
        "t",
        text,
        &LoadOptions {
            config_id: Some("backup".into()),
            ..opts()
        },
    );
    assert_eq!(other.config.global.router_id.as_deref(), Some("B"));
}

#[test]
fn conditional_line_columns_point_past_the_id() {
    let l = load("global_defs {\n @main routr_id M\n}\n");
    assert_eq!(codes(&l), vec![(Code::UnknownKeyword, 2, 8)]);
}

#[test]
fn seq_generates_lines() {
    let text = format!(
        "{INST} virtual_ipaddress {{\n  ~SEQ(N, 1, 2, 7) 192.0.2.${{N}}/24\n  ~SEQx(H, 9, 11) 2001:db8::${{H}}\n }}\n}}\n"
    );
    let l = load(&text);
    let got = vips(&l);
    assert_eq!(
        got[..4],
        ["192.0.2.1", "192.0.2.3", "192.0.2.5", "192.0.2.7"]
    );
    assert_eq!(got[4..], ["2001:db8::9", "2001:db8::a", "2001:db8::b"]);
    // The mixed families are reported once, at the ~SEQ line.
    assert_eq!(codes(&l), vec![(Code::Conflict, 6, 19)]);
}

#[test]
fn seq_with_defaults_and_nesting() {
    let text = format!(
        "{INST} virtual_ipaddress {{\n  ~SEQ(A, 2) ~SEQ(B, 1, 2) 192.0.${{A}}.${{B}}\n }}\n}}\n"
    );
    let l = load(&text);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    assert_eq!(
        vips(&l),
        vec!["192.0.1.1", "192.0.1.2", "192.0.2.1", "192.0.2.2"]
    );
}

#[test]
fn lst_generates_lines() {
    let text = format!(
        "{INST} virtual_ipaddress {{\n  ~LST({{X,Y}}, {{1,2}}, {{3,4}}) 192.0.${{X}}.${{Y}}\n }}\n}}\n"
    );
    let l = load(&text);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    assert_eq!(vips(&l), vec!["192.0.1.2", "192.0.3.4"]);
}

#[test]
fn bad_seq_is_a_syntax_error() {
    let l = load("~SEQ(N, 1, 0, 5) x\n~SEQ(1N, 3) x\n~SEQ(N, 3 x\n");
    assert_eq!(
        codes(&l),
        vec![
            (Code::Syntax, 1, 1),
            (Code::Syntax, 2, 1),
            (Code::Syntax, 3, 1)
        ]
    );
}

#[test]
fn huge_seq_is_capped() {
    let text = "~SEQ(N, 1, 1, 9000000000) ! nothing\n~SEQ(M, 1, 1, 9000000) priority 1\n";
    let l = load_str_with(
        "t",
        text,
        &opts(),
        &Limits {
            max_generated_lines: 10_000,
            includes: true,
        },
    );
    let d: Vec<_> = l
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::Syntax)
        .collect();
    assert_eq!(d.len(), 1, "{:?}", l.diagnostics);
    assert!(d[0].message.contains("exceed 10000"));
}

#[test]
fn include_relative_glob_nested() {
    let t = TempDir::new();
    t.write(
        "conf.d/b.conf",
        "vrrp_instance B {\n interface eth0\n virtual_router_id 2\n}\n",
    );
    t.write(
        "conf.d/a.conf",
        "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n}\ninclude ../sub/c.conf\n",
    );
    t.write("conf.d/ignored.txt", "garbage\n");
    t.write("sub/c.conf", "vrrp_script C {\n script /bin/true\n}\n");
    let main = t.write(
        "keepalived.conf",
        "global_defs {\n router_id X\n}\ninclude conf.d/*.conf\n",
    );
    let l = load_file(&main, &opts());
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let names: Vec<&str> = l
        .config
        .vrrp_instances
        .iter()
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(names, vec!["A", "B"]);
    assert_eq!(l.config.vrrp_scripts[0].name, "C");
    assert!(
        l.config.vrrp_instances[1]
            .span
            .file
            .ends_with("conf.d/b.conf")
    );
}

#[test]
fn include_brace_expansion() {
    let t = TempDir::new();
    t.write("x.conf", "vrrp_script X {\n script /bin/true\n}\n");
    t.write("y.conf", "vrrp_script Y {\n script /bin/true\n}\n");
    let main = t.write("k.conf", "include {y,x}.conf\n");
    let l = load_file(&main, &opts());
    let names: Vec<&str> = l
        .config
        .vrrp_scripts
        .iter()
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(names, vec!["Y", "X"]);
}

#[test]
fn diagnostics_point_into_the_included_file() {
    let t = TempDir::new();
    let inc = t.write("inc.conf", "\n\nglobal_defs {\n  routerid X\n}\n");
    let main = t.write("main.conf", "! main\ninclude inc.conf\n");
    let l = load_file(&main, &opts());
    assert_eq!(codes(&l), vec![(Code::UnknownKeyword, 4, 3)]);
    assert_eq!(l.diagnostics[0].file, inc);
    assert_eq!(l.diagnostics[0].source_line, "  routerid X");
    assert_eq!(
        l.diagnostics[0].hint.as_deref(),
        Some("did you mean 'router_id'?")
    );
}

#[test]
fn include_cycle_is_reported_not_followed() {
    let t = TempDir::new();
    t.write("a.conf", "include b.conf\nvrrp_script A {\n script x\n}\n");
    t.write("b.conf", "\ninclude a.conf\n");
    let main = t.0.join("a.conf");
    let l = load_file(&main, &opts());
    assert_eq!(codes(&l), vec![(Code::Syntax, 2, 1)]);
    assert!(l.diagnostics[0].message.contains("include cycle"));
    assert!(l.diagnostics[0].file.ends_with("b.conf"));
    assert_eq!(l.config.vrrp_scripts.len(), 1);
}

#[test]
fn include_of_nothing() {
    let t = TempDir::new();
    let main = t.write("m.conf", "include nothing-*.conf\nincludea none.conf\n");
    let l = load_file(&main, &opts());
    let got: Vec<(Severity, Code, u32)> = l
        .diagnostics
        .iter()
        .map(|d| (d.severity, d.code, d.line))
        .collect();
    assert_eq!(
        got,
        vec![
            (Severity::Warning, Code::Missing, 1),
            (Severity::Error, Code::Missing, 2)
        ]
    );
}

#[test]
fn missing_top_file() {
    let l = load_file(Path::new("/nonexistent/keel/keepalived.conf"), &opts());
    assert_eq!(codes(&l), vec![(Code::Missing, 0, 0)]);
    assert_ne!(l.exit_code(), 0);
    assert!(
        l.diagnostics[0]
            .to_string()
            .contains("--> /nonexistent/keel/keepalived.conf")
    );
}

#[test]
fn predefined_definitions() {
    let l =
        load("global_defs {\n router_id ${_INSTANCE}\n notification_email_from a${_HASH}b\n}\n");
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    assert_eq!(l.config.global.router_id.as_deref(), Some("main"));
    // keepalived removes comments again after substituting, so `${_HASH}` starts one
    // (keepalived 2.2.7: `virtual_router_id 5${_HASH}00` reads VRID 5).
    assert_eq!(
        l.config.global.notification_email_from.as_deref(),
        Some("a")
    );
}

#[test]
fn large_files_are_read_across_chunks() {
    let t = TempDir::new();
    let mut text = String::new();
    for i in 0..3000 {
        // Multi-byte characters land on chunk boundaries somewhere in here.
        text.push_str(&format!(
            "! ünïcödé comment {i}\r\nvrrp_script s{i} {{\r\n    script \"/bin/é {i}\"\r\n}}\r\n"
        ));
    }
    let main = t.write("big.conf", &text);
    let l = load_file(&main, &opts());
    assert!(l.diagnostics.is_empty(), "{:?}", &l.diagnostics[..1]);
    assert_eq!(l.config.vrrp_scripts.len(), 3000);
    assert_eq!(l.config.vrrp_scripts[2999].script, "/bin/é 2999");
    assert_eq!(l.config.vrrp_scripts[2999].span.line, 3000 * 4 - 2);
}

#[test]
fn invalid_utf8_is_replaced_with_a_warning() {
    let t = TempDir::new();
    let p = t.0.join("bad.conf");
    std::fs::write(&p, b"global_defs {\n router_id A\xffB\n}\n").unwrap();
    let l = load_file(&p, &opts());
    let got: Vec<(Severity, Code)> = l.diagnostics.iter().map(|d| (d.severity, d.code)).collect();
    assert_eq!(got, vec![(Severity::Warning, Code::Syntax)]);
    assert_eq!(l.config.global.router_id.as_deref(), Some("A\u{fffd}B"));
}

#[test]
fn overlong_line_is_skipped() {
    let t = TempDir::new();
    let mut text = String::from("global_defs {\n router_id A\n");
    text.push_str(&"x".repeat(5 << 20));
    text.push_str("\n}\n");
    let p = t.write("long.conf", &text);
    let l = load_file(&p, &opts());
    assert_eq!(codes(&l), vec![(Code::Syntax, 3, 0)]);
    assert_eq!(l.config.global.router_id.as_deref(), Some("A"));
}

#[test]
fn substituted_conditional_marker() {
    let l = load(
        "$IF_MAIN=@main\n$IF_B=@backup\nglobal_defs {\n $IF_B router_id B\n $IF_MAIN router_id M\n}\n",
    );
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    assert_eq!(l.config.global.router_id.as_deref(), Some("M"));
}

#[test]
fn unchanged_substitution_does_not_loop() {
    // `${A}` is undefined: the line must not be re-processed forever.
    let l = load("~SEQ(N, 1, 3) ${A}=x\n$B=$C=1\n$B\n");
    assert!(
        l.diagnostics.iter().all(|d| !d.message.contains("64 MiB")),
        "{:?}",
        l.diagnostics
    );
}

/// Inputs the fuzzer once found slow (seconds each); each must now load quickly.
#[test]
fn fuzz_regressions_are_fast() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz");
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let t = std::time::Instant::now();
        let _ = load_file(&p, &opts());
        assert!(
            t.elapsed() < std::time::Duration::from_secs(2),
            "{} took {:?}",
            p.display(),
            t.elapsed()
        );
    }
}

#[test]
fn loaded_lists_every_file_read() {
    let t = TempDir::new();
    t.write("a.conf", "\n");
    t.write("b.conf", "\n");
    let main = t.write("m.conf", "include a.conf\ninclude b.conf\ninclude a.conf\n");
    let l = load_file(&main, &opts());
    let names: Vec<String> = l
        .files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["m.conf", "a.conf", "b.conf"]);
}
