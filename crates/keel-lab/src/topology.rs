//! The lab: `n` nodes and a client, each with an `eth0` on a bridge that
//! lives in its own namespace (the switch), on 192.0.2.0/24: node i at
//! 192.0.2.(10+i), the client at 192.0.2.100, a UDP responder on every node
//! answering probes with the node's name.
//!
//! ```text
//!   node1  eth0 192.0.2.10  ─┐
//!   node2  eth0 192.0.2.11  ─┼─ bridge br0 (switch namespace; port br0p<i>)
//!   ...                      │            VIP 192.0.2.250
//!   client eth0 192.0.2.100 ─┘
//! ```
use crate::{Daemon, PORT, VIP, node::Node};
use anyhow::{Context, Result, bail};
use keel_testkit::Netns;
use keel_testkit::probe::{Prober, Responder};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The address of node `i` (0-based).
pub fn node_addr(i: usize) -> String {
    format!("192.0.2.{}", 10 + i)
}

/// A node namespace with `ifaces` veth interfaces `s<k>`
/// (198.51.100.(8k+1)/29) whose other ends `k<k>` (198.51.100.(8k+2)/29) sit
/// in a sink namespace: many interfaces without dummy devices (which this
/// host's kernel lacks). Returns (node, sink).
pub fn fan_out(tag: &str, ifaces: usize) -> (Netns, Netns) {
    let node = Netns::new(&format!("{tag}-node"));
    let sink = Netns::new(&format!("{tag}-sink"));
    for k in 0..ifaces {
        let (s, kk) = (format!("s{k}"), format!("k{k}"));
        node.veth_to(&sink, &s, &kk);
        let a = |host: usize| format!("198.51.100.{}/29", 8 * k + host);
        node.run_ok(&["ip", "addr", "add", &a(1), "dev", &s]);
        sink.run_ok(&["ip", "addr", "add", &a(2), "dev", &kk]);
    }
    (node, sink)
}

/// The client's address.
pub const CLIENT: &str = "192.0.2.100";

/// Nodes and a client on a bridge; see the module docs.
#[derive(Debug)]
pub struct Lab {
    /// Configurations, logs, pid files and sockets of the nodes.
    pub dir: PathBuf,
    /// The nodes, node1 first.
    pub nodes: Vec<Node>,
    /// The client namespace.
    pub client: Netns,
    /// The bridge's namespace (bridge `br0`, node i's port `br0p<i>`).
    pub switch: Netns,
    /// Lines written by [`Lab::say`] and [`Lab::note`].
    pub timeline: Vec<String>,
    _responders: Vec<Responder>,
    t0: Instant,
    /// A temporary directory, removed on drop (unless a test panics).
    temporary: bool,
}

static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl Lab {
    /// A lab of `n` nodes running keeld binary `keeld` (until told otherwise),
    /// with its files in a temporary directory. Namespace names start with
    /// `tag`. Panics when the lab cannot be built (a test's assertion).
    pub fn new(tag: &str, n: usize, keeld: impl Into<PathBuf>) -> Lab {
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("keel-lab-{tag}-{}-{seq}", std::process::id()));
        let mut lab = Lab::in_dir(tag, n, keeld.into(), &dir)
            .unwrap_or_else(|e| panic!("building the lab {tag}: {e:#}"));
        lab.temporary = true;
        lab
    }

    /// A lab whose files go to `dir` (emptied first, kept afterwards).
    pub fn in_dir(tag: &str, n: usize, keeld: PathBuf, dir: &Path) -> Result<Lab> {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let switch = Netns::new(&format!("{tag}-sw"));
        let nss: Vec<Netns> = (0..n)
            .map(|i| Netns::new(&format!("{tag}-n{}", i + 1)))
            .collect();
        let client = Netns::new(&format!("{tag}-c"));
        let mut members: Vec<(&Netns, &str)> = nss.iter().map(|ns| (ns, "eth0")).collect();
        members.push((&client, "eth0"));
        switch.bridge("br0", &members);
        for (i, ns) in nss.iter().enumerate() {
            ns.run_ok(&[
                "ip",
                "addr",
                "add",
                &format!("{}/24", node_addr(i)),
                "dev",
                "eth0",
            ]);
        }
        client.run_ok(&["ip", "addr", "add", &format!("{CLIENT}/24"), "dev", "eth0"]);
        let responders = nss
            .iter()
            .enumerate()
            .map(|(i, ns)| Responder::start(ns, PORT, &format!("node{}", i + 1)))
            .collect();
        let mut nodes = Vec::new();
        for (i, ns) in nss.into_iter().enumerate() {
            nodes.push(Node::new(ns, i, dir.to_path_buf(), keeld.clone())?);
        }
        Ok(Lab {
            dir: dir.to_path_buf(),
            nodes,
            client,
            switch,
            timeline: Vec::new(),
            _responders: responders,
            t0: Instant::now(),
            temporary: false,
        })
    }

    /// Node i's configuration file.
    pub fn conf_path(&self, i: usize) -> PathBuf {
        self.nodes[i].conf_path()
    }

    /// Write node i's configuration.
    pub fn write_conf(&self, i: usize, text: &str) {
        let p = self.conf_path(i);
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("writing {}: {e}", p.display()));
    }

    /// Node i's log file.
    pub fn log_path(&self, i: usize) -> PathBuf {
        self.nodes[i].log_path()
    }

    /// Node i's log so far.
    pub fn log(&self, i: usize) -> String {
        self.nodes[i].log()
    }

    /// How often `needle` occurs in node i's log.
    pub fn count_in_log(&self, i: usize, needle: &str) -> usize {
        self.log(i).matches(needle).count()
    }

    /// Node i's keeld status socket.
    pub fn socket(&self, i: usize) -> PathBuf {
        self.nodes[i].socket()
    }

    /// Start `daemon` on node i; panics when it cannot start.
    pub fn start(&mut self, i: usize, daemon: Daemon) {
        self.nodes[i].daemon = daemon;
        self.nodes[i]
            .start()
            .unwrap_or_else(|e| panic!("starting node{}: {e:#}", i + 1));
    }

    /// Send a signal to node i's daemon (see [`Node::signal`]).
    pub fn signal(&self, i: usize, sig: &str) {
        self.nodes[i].signal(sig);
    }

    /// Wait up to `within` for node i's daemon to exit: its exit code. Kills
    /// it when it does not exit in time (`None`).
    pub fn reap(&mut self, i: usize, within: Duration) -> Option<i32> {
        let st = self.nodes[i].reap(within);
        if st.is_none() {
            self.nodes[i].kill();
        }
        st?.code()
    }

    /// Whether node i holds the VIP.
    pub fn holds_vip(&self, i: usize) -> bool {
        self.nodes[i].holds_vip()
    }

    /// The nodes holding the VIP.
    pub fn holders(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.holds_vip(i))
            .collect()
    }

    /// Poll `f` every 5 ms until true or `within` passed; the time it took.
    pub fn wait(&self, within: Duration, mut f: impl FnMut(&Lab) -> bool) -> Option<Duration> {
        let t = Instant::now();
        while t.elapsed() < within {
            if f(self) {
                return Some(t.elapsed());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        None
    }

    /// Node i's keeld status (JSON); panics when it does not answer in 5 s.
    pub fn status(&self, i: usize) -> serde_json::Value {
        self.nodes[i]
            .status(Duration::from_secs(5))
            .unwrap_or_else(|| panic!("node{} keeld does not answer on its status socket", i + 1))
    }

    /// The state of node i's first instance (`MASTER`, `BACKUP`, ...).
    pub fn state(&self, i: usize) -> String {
        self.status(i)["instances"][0]["state"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// Panic with every node's log when `cond` is false.
    pub fn check(&self, cond: bool, what: &str) {
        if !cond {
            for i in 0..self.nodes.len() {
                eprintln!("----- node{} log -----\n{}", i + 1, self.log(i));
            }
            panic!("{what}");
        }
    }

    /// Fail when a node's log shows a panic.
    pub fn no_panics(&self) -> Result<()> {
        let panicked: Vec<String> = self
            .nodes
            .iter()
            .filter(|n| n.log().contains("panicked"))
            .map(Node::name)
            .collect();
        if !panicked.is_empty() {
            bail!(
                "the daemon panicked on {panicked:?} (see their logs in {})",
                self.dir.display()
            );
        }
        Ok(())
    }

    /// Probes every `interval` from the client to the VIP's responders.
    pub fn prober(&self, interval: Duration) -> Prober {
        let target = std::net::SocketAddr::new(
            VIP.parse()
                .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
            PORT,
        );
        Prober::start(&self.client, target, interval)
    }

    /// Print `msg` with the time since the lab was built, and keep it.
    pub fn say(&mut self, msg: &str) {
        let line = format!("[{:8.3}s] {msg}", self.t0.elapsed().as_secs_f64());
        eprintln!("{line}");
        self.timeline.push(line);
    }

    /// Keep `msg` on the timeline without printing it.
    pub fn note(&mut self, msg: &str) {
        let line = format!("[{:8.3}s]   {msg}", self.t0.elapsed().as_secs_f64());
        self.timeline.push(line);
    }

    /// Stop every daemon ([`Node::stop`]: SIGCONT, SIGTERM, up to `within` each to
    /// exit, else killed).
    pub fn stop_all(&mut self, within: Duration) {
        for n in &mut self.nodes {
            n.stop(within);
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // The nodes kill their daemons, the namespaces whatever is left in them.
        if self.temporary && !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
