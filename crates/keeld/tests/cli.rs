//! The command line as scripts and unit files use it: `-t` exit codes and
//! diagnostics (text and JSON), `-v`, `-h`, the status client without a
//! daemon, and the handover client without a daemon.
#![allow(clippy::unwrap_used)]

use std::process::Command;

const KEELD: &str = env!("CARGO_BIN_EXE_keeld");

fn tmp(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("keeld-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const GOOD: &str = "global_defs {\n  router_id R1\n}\nvrrp_instance VI_1 {\n  state MASTER\n  interface lo\n  virtual_router_id 51\n  priority 100\n  advert_int 1\n  virtual_ipaddress {\n    192.0.2.250\n  }\n}\n";

#[test]
fn config_test_good_file_exits_zero() {
    let p = tmp("good.conf", GOOD);
    let out = Command::new(KEELD)
        .args(["-t", "-f"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(KEELD)
        .args(["-t", "--format", "json", "-f"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["errors"], 0);
}

#[test]
fn config_test_bad_file_reports_and_fails() {
    let bad = GOOD.replace("  priority 100\n", "  prioritty 100\n");
    let p = tmp("bad.conf", &bad);
    let out = Command::new(KEELD)
        .args(["-t", "-f"])
        .arg(&p)
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown keyword 'prioritty'"), "{err}");
    assert!(err.contains("bad.conf:8:3"), "{err}");
    assert!(err.contains("did you mean 'priority'?"), "{err}");
    let out = Command::new(KEELD)
        .args(["--config-test", "--format=json", "--use-file"])
        .arg(&p)
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "unknown-keyword");
    assert_eq!(d["line"], 8);
    assert_eq!(d["col"], 3);
    assert_eq!(v["exit_code"], out.status.code().unwrap());
}

#[test]
fn missing_file_cannot_run() {
    let out = Command::new(KEELD)
        .args(["-t", "-f", "/nonexistent/keepalived.conf"])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
}

#[test]
fn version_help_and_clients() {
    let out = Command::new(KEELD).arg("-v").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
    let out = Command::new(KEELD).arg("-h").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--use-file",
        "--config-test",
        "--dont-fork",
        "--log-console",
        "--log-detail",
        "--log-facility",
        "--vrrp",
        "--check",
        "--pid",
        "--vrrp_pid",
        "--checkers_pid",
        "--config-id",
    ] {
        assert!(help.contains(flag), "help lacks {flag}");
    }
    let out = Command::new(KEELD)
        .args(["status", "--socket", "/nonexistent/keeld.sock"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot connect"));
    let out = Command::new(KEELD)
        .args(["handover", "VI_1", "--socket", "/nonexistent/keeld.sock"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot connect"));
}

/// `keeld -t -f FILE` (FILE made from `text`): the exit code and stderr.
fn config_test(name: &str, text: &str) -> (Option<i32>, String) {
    let p = tmp(name, text);
    let out = Command::new(KEELD)
        .args(["-t", "-f"])
        .arg(&p)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Issue 17 item 4: an unknown `user` / `script_user` ran the script as root,
/// silently; now it is a configuration error under -t (and at start).
#[test]
fn config_test_refuses_unknown_script_users() {
    let conf = GOOD.replace(
        "vrrp_instance VI_1 {",
        "vrrp_script chk {\n  script /bin/true\n  user no-such-user-keel\n}\nvrrp_instance VI_1 {",
    );
    let (code, err) = config_test("user.conf", &conf);
    assert_ne!(code, Some(0));
    assert!(
        err.contains("vrrp_script chk: user no-such-user-keel: script user 'no-such-user-keel' does not exist"),
        "{err}"
    );
    assert!(err.contains("user.conf:4"), "{err}");
    let conf = GOOD.replace(
        "  router_id R1\n",
        "  router_id R1\n  script_user nobody no-such-group-keel\n",
    );
    let (code, err) = config_test("group.conf", &conf);
    assert_ne!(code, Some(0));
    assert!(
        err.contains("script group 'no-such-group-keel' does not exist"),
        "{err}"
    );
}

/// Issue 17 item 14: `keeld status | head -1` panicked when the reader had gone
/// (println! on EPIPE). A fake daemon answers; stdout is a pipe nobody reads.
#[test]
fn status_to_a_closed_pipe_does_not_panic() {
    let dir = std::env::temp_dir().join(format!("keeld-cli-pipe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("s.sock");
    let _ = std::fs::remove_file(&sock);
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    std::thread::spawn(move || {
        use std::io::{BufRead, Write};
        for c in listener.incoming().flatten() {
            let mut line = String::new();
            let _ = std::io::BufReader::new(&c).read_line(&mut line);
            let mut c = c;
            let _ = c.write_all(
                b"{\"pid\":1,\"version\":\"0\",\"config_file\":\"k.conf\",\"uptime_s\":1.0,\
                  \"reloads\":0,\"reload_failures\":0,\"max_timer_late_ms\":0.0,\
                  \"instances\":[],\"scripts\":[]}\n",
            );
        }
    });
    for args in [&["status"][..], &["status", "--json"][..]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(KEELD)
            .args(args)
            .arg("--socket")
            .arg(&sock)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
