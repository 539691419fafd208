//! keepalived 2.2.7's checker on this host, through the IPVS shim that
//! `cargo xtask bench check` LD_PRELOADs into it (benches/shim/ipvs-shim.c): a smoke
//! test of the benchmark's set-up, and a parity check of keel-check's log lines against
//! keepalived's on the same real servers.
//!
//! 20 real servers with TCP_CHECK (`delay_loop 1`) against one listener in a fresh
//! namespace: keepalived's checker must really connect (the listener counts at least two
//! checks per real server), the shim must report that it faked the IPVS set-up, and the
//! first-verdict lines keel-check produces for the same servers must be the ones
//! keepalived logged. About 5 s.

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use keel_check::{CheckId, CheckSpec, Checker, CheckerOptions, Event, RealServerCheck};
use keel_testkit::Netns;

const N: u8 = 20;

fn shim_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/shim/ipvs-shim.c")
}

fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let t = Instant::now();
    while t.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

/// keel-check's first verdict lines for the same real servers, in this namespace.
fn keel_lines(ns: &Netns, port: u16) -> Vec<String> {
    let mut lines = ns.enter(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let (tx, mut rx) = tokio::sync::mpsc::channel(64);
            let mut checker = Checker::new(
                tx,
                CheckerOptions {
                    seed: Some(1),
                    bootstrap_delay: Duration::ZERO,
                    ..CheckerOptions::default()
                },
            );
            for i in 1..=N {
                let mut spec = CheckSpec::tcp();
                if let CheckSpec::Tcp { conn } = &mut spec {
                    conn.connect_ip = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
                    conn.connect_port = Some(port);
                }
                let rs = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, i)), 80);
                let mut c = RealServerCheck::new(CheckId(u64::from(i)), rs, spec);
                c.delay_loop = Duration::from_secs(1);
                checker.add(c).expect("add");
            }
            let mut out = Vec::new();
            while out.len() < usize::from(N) {
                match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
                    Ok(Some(Event::Transition(t))) => out.push(t.to_string()),
                    Ok(Some(_)) => {}
                    _ => break,
                }
            }
            checker.shutdown().await;
            out
        })
    });
    lines.sort();
    lines
}

#[test]
fn keepalived_checker_runs_through_the_ipvs_shim() {
    if !keel_testkit::require_root("keepalived's checker in a namespace")
        || !keel_testkit::require_tool("keepalived's checker through the IPVS shim", "keepalived")
        || !keel_testkit::require_tool("the IPVS shim", "cc")
    {
        return;
    }
    let dir = std::env::temp_dir().join(format!("keel-shim-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let shim = dir.join("ipvs-shim.so");
    let built = Command::new("cc")
        .args(["-O2", "-Wall", "-shared", "-fPIC", "-o"])
        .arg(&shim)
        .arg(shim_source())
        .arg("-ldl")
        .status()
        .expect("cc");
    assert!(built.success(), "building the shim failed");

    let ns = Netns::new("kashim");
    let listener = ns.enter(|| TcpListener::bind("127.0.0.1:0").expect("bind"));
    let port = listener.local_addr().expect("addr").port();
    let accepts = Arc::new(AtomicU64::new(0));
    {
        let accepts = accepts.clone();
        std::thread::spawn(move || {
            while let Ok((c, _)) = listener.accept() {
                drop(c);
                accepts.fetch_add(1, Ordering::Relaxed);
            }
        });
    }

    let mut conf = String::from(
        "global_defs {\n  router_id keel_shim_test\n}\n\
         virtual_server 192.0.2.250 80 {\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n",
    );
    for i in 1..=N {
        conf.push_str(&format!(
            "  real_server 192.0.2.{i} 80 {{\n    weight 1\n    TCP_CHECK {{\n      \
             connect_ip 127.0.0.1\n      connect_port {port}\n      connect_timeout 3\n    }}\n  }}\n"
        ));
    }
    conf.push_str("}\n");
    let conf_path = dir.join("keepalived.conf");
    std::fs::write(&conf_path, conf).expect("conf");
    let (main_pid, shim_log, log) = (dir.join("ka.pid"), dir.join("shim.log"), dir.join("ka.log"));
    let logf = std::fs::File::create(&log).expect("log");
    let mut cmd = ns.command(&["env"]);
    cmd.arg(format!("LD_PRELOAD={}", shim.display()))
        .arg(format!("KEEL_IPVS_SHIM_LOG={}", shim_log.display()))
        .arg("keepalived")
        .args(["-n", "-l", "-C", "-f"])
        .arg(&conf_path)
        .arg("-p")
        .arg(&main_pid)
        .arg("-c")
        .arg(dir.join("kc.pid"))
        .stdin(Stdio::null())
        .stdout(logf.try_clone().expect("log"))
        .stderr(logf);
    let mut child = cmd.spawn().expect("keepalived");
    let checked = wait_for(Duration::from_secs(25), || {
        accepts.load(Ordering::Relaxed) >= 2 * u64::from(N)
    });
    let seen = accepts.load(Ordering::Relaxed);
    if let Ok(pid) = std::fs::read_to_string(&main_pid) {
        let _ = Command::new("kill").args(["-TERM", pid.trim()]).status();
    }
    let exited = wait_for(Duration::from_secs(10), || {
        matches!(child.try_wait(), Ok(Some(_)))
    });
    if !exited {
        let _ = child.kill();
        let _ = child.wait();
    }
    let mut text = String::new();
    let _ = std::fs::File::open(&log).and_then(|mut f| f.read_to_string(&mut text));
    assert!(
        checked,
        "keepalived's checker made {seen} connections in 25 s (want >= {}); its log:\n{text}",
        2 * N
    );
    // The shim writes a line at the checker's first check and one when it exits.
    wait_for(Duration::from_secs(5), || {
        std::fs::read_to_string(&shim_log).is_ok_and(|s| s.contains("at exit"))
    });
    let faked = std::fs::read_to_string(&shim_log).unwrap_or_default();
    assert!(
        faked.contains("genl IPVS 1, getsockopt 1 (info 1)")
            && faked.contains(&format!("add service 1, add dest {N}")),
        "the shim's report: {faked:?}"
    );

    let mut ka: Vec<String> = text
        .lines()
        .filter_map(|l| l.split_once(": TCP connection to ").map(|x| x.1))
        .map(|rest| format!("TCP connection to {rest}"))
        .collect();
    ka.sort();
    assert_eq!(ka.len(), usize::from(N), "keepalived's log:\n{text}");
    assert_eq!(
        keel_lines(&ns, port),
        ka,
        "keel-check's lines vs keepalived's"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
