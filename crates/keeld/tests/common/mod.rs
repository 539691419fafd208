//! A lab for keeld's namespace tests: nodes and a client on a bridge,
//! 192.0.2.0/24, node i at 192.0.2.(10+i), client at 192.0.2.100, UDP echo
//! responders on the nodes, daemons (keeld or keepalived) started inside the
//! node namespaces with their logs in a temporary directory.
#![allow(
    dead_code,
    clippy::missing_panics_doc,
    clippy::print_stderr,
    clippy::unwrap_used
)]

use keel_testkit::Netns;
use keel_testkit::probe::Responder;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

pub const VIP: &str = "192.0.2.250";
pub const PORT: u16 = 9000;
pub const KEELD: &str = env!("CARGO_BIN_EXE_keeld");

/// Which daemon runs on a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Daemon {
    Keeld,
    Keepalived,
}

/// The guide's config (docs/examples/guide), interface renamed and
/// documentation addresses.
pub fn guide_conf(master: bool) -> String {
    let f = if master {
        "hot-standby-master.conf"
    } else {
        "hot-standby-backup.conf"
    };
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/examples/guide")
        .join(f);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    adapt(&text)
}

pub fn adapt(text: &str) -> String {
    text.replace("ens33", "eth0")
        .replace("192.168.161.250", VIP)
        .replace("192.168.161.", "192.0.2.")
}

/// A VRRPv3 pair config (advert_int 0.1) for fast tests.
pub fn v3_conf(prio: u8, extra: &str) -> String {
    format!(
        "global_defs {{\n  router_id R{prio}\n}}\nvrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priority {prio}\n  advert_int 0.1\n  version 3\n{extra}  virtual_ipaddress {{\n    {VIP}\n  }}\n}}\n"
    )
}

pub struct Node {
    pub ns: Netns,
    pub child: Option<Child>,
    pub daemon: Daemon,
}

pub struct Lab {
    pub dir: PathBuf,
    pub nodes: Vec<Node>,
    pub client: Netns,
    _switch: Netns,
    _responders: Vec<Responder>,
}

static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl Lab {
    pub fn new(tag: &str, n: usize) -> Lab {
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("keeld-{tag}-{}-{seq}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let switch = Netns::new(&format!("{tag}sw"));
        let nodes: Vec<Netns> = (0..n)
            .map(|i| Netns::new(&format!("{tag}n{}", i + 1)))
            .collect();
        let client = Netns::new(&format!("{tag}c"));
        let mut members: Vec<(&Netns, &str)> = nodes.iter().map(|ns| (ns, "eth0")).collect();
        members.push((&client, "eth0"));
        switch.bridge("br0", &members);
        for (i, ns) in nodes.iter().enumerate() {
            ns.run_ok(&[
                "ip",
                "addr",
                "add",
                &format!("192.0.2.{}/24", 10 + i),
                "dev",
                "eth0",
            ]);
        }
        client.run_ok(&["ip", "addr", "add", "192.0.2.100/24", "dev", "eth0"]);
        let responders = nodes
            .iter()
            .enumerate()
            .map(|(i, ns)| Responder::start(ns, PORT, &format!("node{}", i + 1)))
            .collect();
        Lab {
            dir,
            nodes: nodes
                .into_iter()
                .map(|ns| Node {
                    ns,
                    child: None,
                    daemon: Daemon::Keeld,
                })
                .collect(),
            client,
            _switch: switch,
            _responders: responders,
        }
    }

    pub fn conf_path(&self, i: usize) -> PathBuf {
        self.dir.join(format!("node{}.conf", i + 1))
    }

    pub fn write_conf(&self, i: usize, text: &str) {
        std::fs::write(self.conf_path(i), text).unwrap();
    }

    pub fn log_path(&self, i: usize) -> PathBuf {
        self.dir.join(format!("node{}.log", i + 1))
    }

    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.log_path(i)).unwrap_or_default()
    }

    pub fn socket(&self, i: usize) -> PathBuf {
        self.dir.join(format!("node{}-main.sock", i + 1))
    }

    pub fn start(&mut self, i: usize, daemon: Daemon) {
        let pid = |k: &str| self.dir.join(format!("node{}-{k}.pid", i + 1));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(i))
            .unwrap();
        let bin = match daemon {
            Daemon::Keeld => KEELD.to_owned(),
            Daemon::Keepalived => keel_testkit::which("keepalived")
                .map_or_else(|| "keepalived".to_owned(), |p| p.display().to_string()),
        };
        let mut cmd = self.nodes[i].ns.command(&[&bin]);
        cmd.args(["-n", "-l", "-D", "-f"]).arg(self.conf_path(i));
        cmd.arg("-p").arg(pid("main"));
        cmd.arg("-r").arg(pid("vrrp"));
        if daemon == Daemon::Keepalived {
            cmd.arg("-c").arg(pid("check"));
            cmd.arg("-P");
        }
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        self.nodes[i].child = Some(cmd.spawn().unwrap());
        self.nodes[i].daemon = daemon;
    }

    /// Send a signal to the daemon of node i (all processes of a keepalived).
    pub fn signal(&self, i: usize, sig: &str) {
        let pids: Vec<String> = match self.nodes[i].daemon {
            Daemon::Keeld => self.nodes[i]
                .child
                .as_ref()
                .map(|c| vec![c.id().to_string()])
                .unwrap_or_default(),
            Daemon::Keepalived => {
                let o = keel_testkit::sh(&["ip", "netns", "pids", self.nodes[i].ns.name()]);
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .filter(|p| {
                        std::fs::read_to_string(format!("/proc/{p}/comm"))
                            .is_ok_and(|c| c.trim() == "keepalived")
                    })
                    .map(str::to_owned)
                    .collect()
            }
        };
        for p in pids {
            let _ = std::process::Command::new("kill")
                .args([&format!("-{sig}"), &p])
                .status();
        }
    }

    /// Wait for node i's daemon to exit; its exit status code.
    pub fn reap(&mut self, i: usize, within: Duration) -> Option<i32> {
        let mut c = self.nodes[i].child.take()?;
        let t = Instant::now();
        while t.elapsed() < within {
            if let Ok(Some(st)) = c.try_wait() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = c.kill();
        let _ = c.wait();
        None
    }

    pub fn holds_vip(&self, i: usize) -> bool {
        // `ip -n` only does setns: much cheaper than `ip netns exec` when polling.
        let out = keel_testkit::sh(&[
            "ip",
            "-n",
            self.nodes[i].ns.name(),
            "-j",
            "addr",
            "show",
            "dev",
            "eth0",
        ]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        v.as_array().into_iter().flatten().any(|l| {
            l["addr_info"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|a| a["local"] == VIP)
        })
    }

    pub fn holders(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.holds_vip(i))
            .collect()
    }

    /// Poll `f` every 10 ms until true; the time it took.
    pub fn wait(&self, within: Duration, mut f: impl FnMut(&Lab) -> bool) -> Option<Duration> {
        let t = Instant::now();
        while t.elapsed() < within {
            if f(self) {
                return Some(t.elapsed());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// The status of node i's keeld (JSON).
    pub fn status(&self, i: usize) -> serde_json::Value {
        let out = std::process::Command::new(KEELD)
            .args(["status", "--json", "--socket"])
            .arg(self.socket(i))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "keeld status: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    pub fn state(&self, i: usize) -> String {
        self.status(i)["instances"][0]["state"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// Panic with the logs when `cond` is false.
    pub fn check(&self, cond: bool, what: &str) {
        if !cond {
            for i in 0..self.nodes.len() {
                eprintln!("----- node{} log -----\n{}", i + 1, self.log(i));
            }
            panic!("{what}");
        }
    }

    pub fn count_in_log(&self, i: usize, needle: &str) -> usize {
        self.log(i).matches(needle).count()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            if let Some(mut c) = n.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A raw VRRP sender in `ns` (multicast out of eth0 from the namespace's address).
pub fn vrrp_sender(ns: &Netns, ttl: u32) -> socket2::Socket {
    let s = ns.enter(move || {
        let s = socket2::Socket::new(
            socket2::Domain::IPV4,
            socket2::Type::RAW,
            Some(socket2::Protocol::from(112)),
        )?;
        s.bind_device(Some(b"eth0"))?;
        s.set_multicast_ttl_v4(ttl)?;
        s.set_ttl_v4(ttl)?;
        Ok::<_, std::io::Error>(s)
    });
    s.unwrap()
}

/// Send one VRRP payload to 224.0.0.18.
pub fn send_vrrp(s: &socket2::Socket, payload: &[u8]) {
    let dst: std::net::SocketAddr = "224.0.0.18:0".parse().unwrap();
    s.send_to(payload, &dst.into()).unwrap();
}

/// A valid guide advert (v2, VRID, PASS key) from `src`.
pub fn v2_advert(vrid: u8, prio: u8, pass: &[u8], src: &str) -> Vec<u8> {
    use keel_packet::{AddrList, Auth, ChecksumMode, Version, VrrpRepr};
    let vip: std::net::Ipv4Addr = VIP.parse().unwrap();
    let vips = [vip];
    let r = VrrpRepr {
        version: Version::V2,
        vrid,
        priority: prio,
        adver_int: 100,
        auth: Auth::simple_text(pass),
        addrs: AddrList::V4(&vips),
    };
    let mut buf = vec![0u8; r.buffer_len()];
    r.emit(
        &mut buf,
        src.parse().unwrap(),
        "224.0.0.18".parse().unwrap(),
        ChecksumMode::Rfc,
    )
    .unwrap();
    buf
}

/// One advert seen on the wire: (when, source, vrid, priority).
pub type Seen = (Instant, std::net::Ipv4Addr, u8, u8);

/// Adverts seen on the wire by a raw listener in `ns`.
pub struct AdvertLog {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    seen: std::sync::Arc<std::sync::Mutex<Vec<Seen>>>,
    h: Option<std::thread::JoinHandle<()>>,
}

impl AdvertLog {
    pub fn start(ns: &Netns) -> AdvertLog {
        let s = ns.enter(|| {
            let s = socket2::Socket::new(
                socket2::Domain::IPV4,
                socket2::Type::RAW,
                Some(socket2::Protocol::from(112)),
            )?;
            s.bind_device(Some(b"eth0"))?;
            s.join_multicast_v4_n(
                &"224.0.0.18".parse().unwrap(),
                &socket2::InterfaceIndexOrAddress::Address("192.0.2.100".parse().unwrap()),
            )?;
            s.set_read_timeout(Some(Duration::from_millis(50)))?;
            Ok::<_, std::io::Error>(s)
        });
        let s: std::net::UdpSocket = s.unwrap().into();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (st, se) = (stop.clone(), seen.clone());
        let h = std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !st.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(n) = s.recv(&mut buf)
                    && n >= 20 + 8
                {
                    let ihl = usize::from(buf[0] & 15) * 4;
                    let src = std::net::Ipv4Addr::new(buf[12], buf[13], buf[14], buf[15]);
                    se.lock()
                        .unwrap()
                        .push((Instant::now(), src, buf[ihl + 1], buf[ihl + 2]));
                }
            }
        });
        AdvertLog {
            stop,
            seen,
            h: Some(h),
        }
    }

    pub fn snapshot(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Largest gap between consecutive adverts from `src` sent in [t0, t1].
    pub fn max_gap(&self, src: &str, t0: Instant, t1: Instant) -> Duration {
        let src: std::net::Ipv4Addr = src.parse().unwrap();
        let times: Vec<Instant> = self
            .snapshot()
            .into_iter()
            .filter(|(t, s, _, _)| *s == src && *t >= t0 && *t <= t1)
            .map(|(t, _, _, _)| t)
            .collect();
        times
            .windows(2)
            .map(|w| w[1].duration_since(w[0]))
            .max()
            .unwrap_or(Duration::MAX)
    }
}

impl Drop for AdvertLog {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(h) = self.h.take() {
            let _ = h.join();
        }
    }
}
