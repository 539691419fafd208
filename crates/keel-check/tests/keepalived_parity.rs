//! The same configuration through keepalived 2.2.7's checker (with the IPVS shim the
//! bench uses, benches/shim/ipvs-shim.c) and through keel-conf + `keel_check::conf` +
//! keel-check: DNS_CHECK, UDP_CHECK, PING_CHECK and SMTP_CHECK against real servers in
//! another namespace, one healthy and one failing server each; the first-verdict lines
//! must be the same, line for line. Root only; about 10 s.
#![cfg(feature = "conf")]
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use keel_check::{CheckId, Checker, CheckerOptions, Event, Proto, RealServerCheck};
use keel_testkit::Netns;

mod common;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const SRV: &str = "192.0.2.2";

const CONF: &str = "global_defs {
  router_id keel_parity
}
virtual_server 192.0.2.250 53 {
  delay_loop 60
  lb_algo rr
  lb_kind NAT
  protocol UDP
  real_server 192.0.2.2 53 {
    DNS_CHECK {
      type A
      name example.org
      connect_timeout 2
      warmup 0
    }
  }
  real_server 192.0.2.2 5353 {
    DNS_CHECK {
      connect_timeout 2
      warmup 0
    }
  }
  real_server 192.0.2.2 7 {
    UDP_CHECK {
      payload 6b 65 65 6c
      require_reply 6b 65
      connect_timeout 2
      warmup 0
    }
  }
  real_server 192.0.2.2 8 {
    UDP_CHECK {
      connect_timeout 2
      warmup 0
    }
  }
  real_server 192.0.2.2 9 {
    PING_CHECK {
      connect_timeout 2
      warmup 0
    }
  }
  real_server 192.0.2.9 9 {
    PING_CHECK {
      connect_timeout 2
      warmup 0
    }
  }
}
virtual_server 192.0.2.250 80 {
  delay_loop 60
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 192.0.2.2 80 {
    HTTP_GET {
      connect_timeout 2
      warmup 0
      url {
        path /
        regex \"all ok\"
      }
    }
  }
  real_server 192.0.2.2 8080 {
    HTTP_GET {
      connect_port 80
      connect_timeout 2
      warmup 0
      url {
        path /
        regex \"all ok\"
        regex_no_match
      }
    }
  }
}
virtual_server 192.0.2.250 25 {
  delay_loop 60
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 192.0.2.2 25 {
    SMTP_CHECK {
      helo_name parity.example.org
      connect_timeout 2
      warmup 0
    }
  }
  real_server 192.0.2.2 26 {
    SMTP_CHECK {
      connect_timeout 2
      warmup 0
    }
  }
}
";

/// The lines both checkers write for these checkers (after keepalived's time stamp).
const MARKS: [&str; 9] = [
    "DNS_CHECK (",
    "UDP connection to ",
    "UDP_CHECK on ",
    "ICMP connection to ",
    "ICMP CHECK on ",
    "SMTP_CHECK ",
    "Remote SMTP server ",
    "Remote Web server ",
    "HTTP_CHECK on ",
];

fn checker_lines(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text
        .lines()
        .filter_map(|l| {
            MARKS
                .iter()
                .filter_map(|m| l.find(m))
                .min()
                .map(|i| l[i..].trim_end().to_owned())
        })
        .collect();
    v.sort();
    v
}

fn shim() -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/shim/ipvs-shim.c");
    let out = std::env::temp_dir().join(format!("keel-parity-shim-{}.so", std::process::id()));
    let ok = Command::new("cc")
        .args(["-O2", "-Wall", "-shared", "-fPIC", "-o"])
        .arg(&out)
        .arg(src)
        .arg("-ldl")
        .status()
        .unwrap();
    assert!(ok.success(), "building the shim failed");
    out
}

/// UDP echo on :7, a minimal SMTP server on :25 and an HTTP server on :80 (body
/// "all ok here"), in the servers' namespace.
fn servers(srv: &Netns) {
    let (udp, tcp, web) = srv.enter(|| {
        (
            std::net::UdpSocket::bind((SRV, 7)).unwrap(),
            std::net::TcpListener::bind((SRV, 25)).unwrap(),
            std::net::TcpListener::bind((SRV, 80)).unwrap(),
        )
    });
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        while let Ok((mut c, _)) = web.accept() {
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.ends_with(b"\r\n\r\n") {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let _ = c.write_all(
                b"HTTP/1.0 200 OK\r\nContent-Length: 11\r\nConnection: close\r\n\r\nall ok here",
            );
        }
    });
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = udp.recv_from(&mut buf) {
            let _ = udp.send_to(&buf[..n], from);
        }
    });
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                tcp.set_nonblocking(true).unwrap();
                let l = tokio::net::TcpListener::from_std(tcp).unwrap();
                while let Ok((s, _)) = l.accept().await {
                    tokio::spawn(async move {
                        let mut s = BufReader::new(s);
                        let _ = s.get_mut().write_all(b"220 mx ready\r\n").await;
                        let mut line = String::new();
                        while s.read_line(&mut line).await.unwrap_or(0) > 0 {
                            let r: &[u8] = if line.starts_with("QUIT") {
                                b"221 bye\r\n"
                            } else {
                                b"250 hello\r\n"
                            };
                            let _ = s.get_mut().write_all(r).await;
                            line.clear();
                        }
                    });
                }
            });
    });
}

fn keepalived(chk: &Netns, dir: &Path) -> String {
    let shim = shim();
    let conf = dir.join("keepalived.conf");
    std::fs::write(&conf, CONF).unwrap();
    let log = dir.join("ka.log");
    let logf = std::fs::File::create(&log).unwrap();
    let pid = dir.join("ka.pid");
    let mut cmd = chk.command(&["env"]);
    cmd.arg(format!("LD_PRELOAD={}", shim.display()))
        .arg(format!(
            "KEEL_IPVS_SHIM_LOG={}",
            dir.join("shim.log").display()
        ))
        .args(["keepalived", "-n", "-l", "-C", "-f"])
        .arg(&conf)
        .arg("-p")
        .arg(&pid)
        .arg("-c")
        .arg(dir.join("kc.pid"))
        .stdin(Stdio::null())
        .stdout(logf.try_clone().unwrap())
        .stderr(logf);
    let mut child = cmd.spawn().unwrap();
    let t = Instant::now();
    let mut text = String::new();
    while t.elapsed() < Duration::from_secs(30) {
        text = std::fs::read_to_string(&log).unwrap_or_default();
        if checker_lines(&text).len() >= 9 {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(500));
    if let Ok(p) = std::fs::read_to_string(&pid) {
        let _ = Command::new("kill").args(["-TERM", p.trim()]).status();
    }
    let stop = Instant::now();
    while stop.elapsed() < Duration::from_secs(10) && !matches!(child.try_wait(), Ok(Some(_))) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_file(shim);
    std::fs::read_to_string(&log).unwrap_or(text)
}

fn keel(chk: &Netns) -> Vec<String> {
    chk.enter(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let l = keel_conf::load_str("parity.conf", CONF, &Default::default());
                assert!(!l.has_errors(), "{:#?}", l.diagnostics);
                let (tx, mut rx) = tokio::sync::mpsc::channel(64);
                let mut ck = Checker::new(
                    tx,
                    CheckerOptions {
                        seed: Some(3),
                        bootstrap_delay: Duration::ZERO,
                        ..CheckerOptions::default()
                    },
                );
                let mut n = 0;
                for vs in &l.config.virtual_servers {
                    for rs in &vs.real_servers {
                        for c in &rs.checkers {
                            n += 1;
                            let spec = keel_check::conf::check_spec(c, vs).unwrap();
                            let mut k = RealServerCheck::new(
                                CheckId(n),
                                SocketAddr::new(rs.addr, rs.port),
                                spec,
                            );
                            k.proto = match vs.protocol {
                                keel_conf::Protocol::Udp => Proto::Udp,
                                _ => Proto::Tcp,
                            };
                            k.delay_loop = c.effective_delay_loop(vs, rs);
                            k.retry = Some(c.effective_retry(vs));
                            k.delay_before_retry = Some(c.effective_delay_before_retry_in(vs, rs));
                            k.warmup = c.warmup;
                            ck.add(k).unwrap();
                        }
                    }
                }
                let mut lines = Vec::new();
                for _ in 0..n {
                    match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
                        Ok(Some(Event::Transition(t))) => lines.extend(t.reason.log_line()),
                        Ok(Some(_)) => {}
                        _ => break,
                    }
                }
                ck.shutdown().await;
                lines.sort();
                lines
            })
    })
}

#[test]
fn first_verdicts_match_keepalived_line_for_line() {
    if !keel_testkit::require_root("keepalived parity")
        || !keel_testkit::require_tool("keepalived parity", "keepalived")
        || !keel_testkit::require_tool("keepalived parity", "dnsmasq")
        || !keel_testkit::require_tool("keepalived parity", "cc")
    {
        return;
    }
    let chk = Netns::new("parc");
    let srv = Netns::new("pars");
    chk.veth_to(&srv, "c0", "s0");
    chk.run_ok(&["ip", "addr", "add", "192.0.2.1/24", "dev", "c0"]);
    srv.run_ok(&["ip", "addr", "add", &format!("{SRV}/24"), "dev", "s0"]);
    let mut dns = common::dnsmasq(srv.name());
    servers(&srv);
    let dir = std::env::temp_dir().join(format!("keel-parity-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let ka_text = keepalived(&chk, &dir);
    let ka = checker_lines(&ka_text);
    let ours = keel(&chk);
    let _ = dns.kill();
    let _ = dns.wait();
    eprintln!("keepalived: {ka:#?}\nkeel: {ours:#?}");
    // one line per checker except the healthy DNS_CHECK (keepalived logs none)
    assert_eq!(ka.len(), 9, "keepalived's log:\n{ka_text}");
    assert_eq!(ours, ka, "keel's first verdicts vs keepalived's");
    let _ = std::fs::remove_dir_all(&dir);
}
