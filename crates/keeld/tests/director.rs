//! keeld with `virtual_server` blocks on a kernel without IPVS (this host): it logs
//! one clear error, keeps running, and still checks the real servers (keepalived's
//! log lines, quorum, `keeld status`). With IPVS loaded it programs the table instead.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use keel_testkit::Netns;
use std::net::TcpListener;
use std::process::Stdio;
use std::time::Duration;

const KEELD: &str = env!("CARGO_BIN_EXE_keeld");

fn wait(within: Duration, f: impl FnMut() -> bool) -> bool {
    keel_testkit::wait_until(within, f).is_some()
}

#[test]
fn checks_run_and_keeld_stays_up_without_ipvs() {
    if !keel_testkit::require_root("keeld director without IPVS (namespaces)") {
        return;
    }
    let ns = Netns::new("kdir");
    ns.run_ok(&["ip", "addr", "add", "192.0.2.12/32", "dev", "lo"]);
    let listen = |ns: &Netns| ns.enter(|| TcpListener::bind("192.0.2.12:80").unwrap());
    let mut web = Some(listen(&ns));
    let dir = std::env::temp_dir().join(format!("keel-kdir-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("k.conf");
    let marker = dir.join("quorum-down");
    std::fs::write(
        &conf,
        format!(
            "virtual_server 192.0.2.250 80 {{\n  delay_loop 1\n  lb_algo rr\n  lb_kind DR\n  quorum_down \"/usr/bin/touch {}\"\n  real_server 192.0.2.12 80 {{\n    weight 3\n    TCP_CHECK {{\n      connect_timeout 1\n      retry 1\n      delay_before_retry 1\n    }}\n  }}\n}}\n",
            marker.display()
        ),
    )
    .unwrap();
    let log_path = dir.join("k.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let sock = dir.join("k.sock");
    let mut child = ns
        .command(&[KEELD, "-n", "-l", "-D", "-f"])
        .arg(&conf)
        .arg("-p")
        .arg(dir.join("k.pid"))
        .arg("-r")
        .arg(dir.join("k.vpid"))
        .arg("--status-socket")
        .arg(&sock)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let read = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let has_ipvs = ns
        .run(&["sh", "-c", "test -e /proc/net/ip_vs"])
        .status
        .success();
    let status = || {
        ns.run(&[KEELD, "status", "--socket", sock.to_str().unwrap()])
            .stdout
    };
    let status = move || String::from_utf8_lossy(&status()).into_owned();

    let ok = wait(Duration::from_secs(8), || {
        read().contains("TCP connection to [192.0.2.12]:tcp:80 success.")
    });
    assert!(ok, "no first verdict:\n{}", read());
    if has_ipvs {
        let t = ns.run_ok(&["ipvsadm", "-ln"]);
        assert!(t.contains("192.0.2.12:80"), "{t}");
    } else {
        let l = read();
        assert_eq!(
            l.matches("IPVS is not available: load the ip_vs module; virtual_server blocks are not programmed")
                .count(),
            1,
            "{l}"
        );
        assert!(
            status().contains("NOT PROGRAMMED (no IPVS)"),
            "{}",
            status()
        );
    }
    let st = status();
    assert!(st.contains("[192.0.2.250]:tcp:80 rr quorum up"), "{st}");
    assert!(st.contains("[192.0.2.12]:tcp:80  UP    weight 3/3"), "{st}");

    // The real server stops: down after retry + 1 failed attempts, quorum lost.
    web.take();
    let down = wait(Duration::from_secs(8), || {
        read().contains("Lost quorum 1-0=1 > 0 for VS [192.0.2.250]:tcp:80")
    });
    let l = read();
    assert!(down, "{l}");
    assert!(
        l.contains("TCP_CHECK on service [192.0.2.12]:tcp:80 failed after 1 retries."),
        "{l}"
    );
    assert!(
        l.contains("Removing service [192.0.2.12]:tcp:80 from VS [192.0.2.250]:tcp:80"),
        "{l}"
    );
    assert!(
        wait(Duration::from_secs(3), || marker.exists()),
        "quorum_down did not run"
    );
    let st = status();
    assert!(st.contains("quorum LOST"), "{st}");
    assert!(st.contains("[192.0.2.12]:tcp:80  DOWN"), "{st}");

    // Back.
    web = Some(listen(&ns));
    let up = wait(Duration::from_secs(8), || {
        read().contains("Gained quorum 1+0=1 <= 3 for VS [192.0.2.250]:tcp:80")
    });
    assert!(up, "{}", read());
    assert!(read().contains("Adding service [192.0.2.12]:tcp:80 to VS [192.0.2.250]:tcp:80"));
    assert!(
        child.try_wait().unwrap().is_none(),
        "keeld exited:\n{}",
        read()
    );
    let _ = std::process::Command::new("kill")
        .arg(child.id().to_string())
        .status();
    let _ = child.wait();
    drop(web);
    let _ = std::fs::remove_dir_all(&dir);
}
