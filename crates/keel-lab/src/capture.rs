//! Watching the wire: a raw-socket listener that logs every VRRP advert it
//! sees in a namespace, and a tcpdump capture to a text file.
use anyhow::{Context, Result, bail};
use keel_testkit::Netns;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One advert seen on the wire: (when, source, vrid, priority).
pub type Seen = (Instant, Ipv4Addr, u8, u8);

/// Adverts seen on `eth0` of a namespace by a raw listener (joined to
/// 224.0.0.18 through the client's address).
#[derive(Debug)]
pub struct AdvertLog {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<Seen>>>,
    h: Option<JoinHandle<()>>,
}

impl AdvertLog {
    /// Start listening in `ns` (the lab's client); panics when it cannot.
    pub fn start(ns: &Netns) -> AdvertLog {
        let s = crate::advert::raw_socket(ns, |s| {
            s.join_multicast_v4_n(
                &crate::GROUP,
                &socket2::InterfaceIndexOrAddress::Address(Ipv4Addr::new(192, 0, 2, 100)),
            )?;
            s.set_read_timeout(Some(Duration::from_millis(50)))
        });
        let s: std::net::UdpSocket = s
            .unwrap_or_else(|e| panic!("raw VRRP listener in {}: {e}", ns.name()))
            .into();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (st, se) = (stop.clone(), seen.clone());
        let h = std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !st.load(Ordering::Relaxed) {
                if let Ok(n) = s.recv(&mut buf)
                    && n >= 20 + 8
                {
                    let ihl = usize::from(buf[0] & 15) * 4;
                    let src = Ipv4Addr::new(buf[12], buf[13], buf[14], buf[15]);
                    if let Ok(mut v) = se.lock() {
                        v.push((Instant::now(), src, buf[ihl + 1], buf[ihl + 2]));
                    }
                }
            }
        });
        AdvertLog {
            stop,
            seen,
            h: Some(h),
        }
    }

    /// Every advert so far.
    pub fn snapshot(&self) -> Vec<Seen> {
        self.seen.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// Largest gap between consecutive adverts from `src` sent in [t0, t1]
    /// (`Duration::MAX` with fewer than two).
    pub fn max_gap(&self, src: &str, t0: Instant, t1: Instant) -> Duration {
        let Ok(src) = src.parse::<Ipv4Addr>() else {
            return Duration::MAX;
        };
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
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.h.take() {
            let _ = h.join();
        }
    }
}

/// The VRRP adverts in the text of a `tcpdump -tt -n` capture: (kernel
/// receive time in seconds since the epoch, source, VRID, priority).
pub fn vrrp_adverts(text: &str) -> Vec<(f64, String, u8, u8)> {
    let field = |l: &str, k: &str| -> Option<u8> {
        l.split(k).nth(1)?.split(',').next()?.trim().parse().ok()
    };
    text.lines()
        .filter_map(|l| {
            let t: f64 = l.split_whitespace().next()?.parse().ok()?;
            let src = l
                .split(" IP ")
                .nth(1)?
                .split_whitespace()
                .next()?
                .to_owned();
            Some((t, src, field(l, "vrid ")?, field(l, "prio ")?))
        })
        .collect()
}

/// `tcpdump -tt -n ARGS` in a namespace, writing its text to a file.
#[derive(Debug)]
pub struct Tcpdump {
    child: Child,
    path: PathBuf,
}

impl Tcpdump {
    /// Start `tcpdump -tt -n` with `args` (interface, filter) in `ns`,
    /// writing to `path`.
    pub fn start(ns: &Netns, args: &[&str], path: &Path) -> Result<Tcpdump> {
        let mut argv = vec!["tcpdump", "-tt", "-n"];
        argv.extend_from_slice(args);
        let child = ns
            .command(&argv)
            .stdout(std::fs::File::create(path)?)
            .stderr(Stdio::null())
            .spawn()
            .context("starting tcpdump")?;
        Ok(Tcpdump {
            child,
            path: path.to_path_buf(),
        })
    }

    /// The capture so far.
    pub fn text(&self) -> String {
        std::fs::read_to_string(&self.path).unwrap_or_default()
    }

    /// Wait until the capture shows `needle` (tcpdump is up and sees traffic).
    pub fn wait_for(&self, needle: &str, within: Duration) -> Result<()> {
        if keel_testkit::wait_until(within, || self.text().contains(needle)).is_none() {
            bail!("tcpdump saw no {needle:?} within {within:?}");
        }
        Ok(())
    }

    /// Stop the capture; its text.
    pub fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.text()
    }
}

impl Drop for Tcpdump {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
