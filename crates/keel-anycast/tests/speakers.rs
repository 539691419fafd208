//! Each backend against its real speaker, in network namespaces: a router
//! namespace runs BIRD 2 and peers over eBGP with the speaker in a
//! director namespace. keel announces → the route reaches the router's
//! kernel table; withdraws → it is gone; the speaker is killed and
//! restarted → keel reconnects and the route is back.
#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::missing_panics_doc)]

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use keel_anycast::{Bird, Driver, Event, ExaBgp, GoBgp, Handle, Kernel, Prefix, Speaker};
use keel_testkit::{Netns, require_root, require_tool};
use tokio::sync::mpsc::UnboundedReceiver;

const VIP: &str = "203.0.113.10/32";
const ROUTER: &str = "198.51.100.1";
const DIRECTOR: &str = "198.51.100.2";

/// One BGP peering for a speaker test: router (BIRD, AS 65000, exports
/// what it learns to its kernel) and director namespaces joined by a veth;
/// a scratch directory. Not the HA lab (`keel_lab::Lab` runs keeld nodes):
/// only the two namespaces a speaker backend needs.
struct Peering {
    router: Netns,
    director: Netns,
    dir: PathBuf,
    router_bird: Child,
}

impl Drop for Peering {
    fn drop(&mut self) {
        let _ = self.router_bird.kill();
        let _ = self.router_bird.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn spawn(ns: &Netns, argv: &[&str], log: &Path) -> Child {
    let log = std::fs::File::create(log).unwrap();
    ns.command(argv)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {argv:?}: {e}"))
}

/// `extra`: more BIRD config on the router (a kernel-mode test peers
/// differently); `None` = eBGP to the director.
fn lab(tag: &str, tool: &str) -> Option<Peering> {
    let what = format!("keel-anycast {tag}");
    if !require_root(&what) || !require_tool(&what, "bird") || !require_tool(&what, tool) {
        return None;
    }
    let router = Netns::new(&format!("acr{tag}"));
    let director = Netns::new(&format!("acd{tag}"));
    router.veth_to(&director, "r0", "d0");
    router.run_ok(&["ip", "addr", "add", &format!("{ROUTER}/24"), "dev", "r0"]);
    director.run_ok(&["ip", "addr", "add", &format!("{DIRECTOR}/24"), "dev", "d0"]);
    let dir = std::env::temp_dir().join(format!("keel-anycast-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("router.conf");
    std::fs::write(
        &conf,
        format!(
            "router id {ROUTER};
protocol device {{ scan time 1; }}
protocol kernel {{ ipv4 {{ import none; export all; }}; }}
protocol bgp director {{
    local {ROUTER} as 65000; neighbor {DIRECTOR} as 65001;
    hold time 3; keepalive time 1; connect retry time 1; connect delay time 1;
    error wait time 1, 2;
    ipv4 {{ import all; export none; }};
}}
"
        ),
    )
    .unwrap();
    let sock = dir.join("router.ctl");
    let router_bird = spawn(
        &router,
        &[
            "bird",
            "-f",
            "-c",
            conf.to_str().unwrap(),
            "-s",
            sock.to_str().unwrap(),
            "-P",
            dir.join("router.pid").to_str().unwrap(),
        ],
        &dir.join("router.log"),
    );
    Some(Peering {
        router,
        director,
        dir,
        router_bird,
    })
}

impl Peering {
    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_owned()
    }

    /// The VIP's route in the router's kernel (learnt over BGP).
    async fn router_has_route(&self) -> bool {
        let out = tokio::process::Command::new("ip")
            .args(["-n", self.router.name(), "route", "show", VIP])
            .output()
            .await
            .unwrap();
        let s = String::from_utf8_lossy(&out.stdout).into_owned();
        s.contains("203.0.113.10") && s.contains(DIRECTOR)
    }

    async fn wait_route(&self, present: bool, within: Duration) -> Option<Duration> {
        let t = Instant::now();
        while t.elapsed() < within {
            if self.router_has_route().await == present {
                return Some(t.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }

    fn logs(&self) -> String {
        let mut s = String::new();
        for e in std::fs::read_dir(&self.dir).unwrap().flatten() {
            if e.path().extension().is_some_and(|x| x == "log") {
                s += &format!(
                    "--- {}\n{}\n",
                    e.path().display(),
                    std::fs::read_to_string(e.path()).unwrap_or_default()
                );
            }
        }
        s
    }
}

/// Wait for an event matching `f` (other events are skipped).
async fn expect_event(
    events: &mut UnboundedReceiver<Event>,
    within: Duration,
    f: impl Fn(&Event) -> bool,
) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(e)) => {
                eprintln!("event: {e:?}");
                if f(&e) {
                    return true;
                }
            }
            _ => return false,
        }
    }
}

/// The scenario every backend runs: announce, withdraw, announce, kill
/// and restart the speaker (`restart`), route back.
async fn scenario(
    lab: &Peering,
    handle: &Handle,
    events: &mut UnboundedReceiver<Event>,
    mut restart: impl FnMut(),
) {
    let vip: Prefix = VIP.parse().unwrap();
    let logs = || lab.logs();
    assert!(
        expect_event(events, Duration::from_secs(20), |e| matches!(
            e,
            Event::Connected { .. }
        ))
        .await,
        "never connected to the speaker\n{}",
        logs()
    );
    handle.announce(vip);
    let t = lab.wait_route(true, Duration::from_secs(30)).await;
    eprintln!("announce -> route on the router: {t:?}");
    assert!(t.is_some(), "route never reached the router\n{}", logs());
    handle.withdraw(vip);
    let t = lab.wait_route(false, Duration::from_secs(30)).await;
    eprintln!("withdraw -> route gone on the router: {t:?}");
    assert!(t.is_some(), "route never left the router\n{}", logs());
    handle.announce(vip);
    assert!(
        lab.wait_route(true, Duration::from_secs(30))
            .await
            .is_some()
    );
    restart();
    assert!(
        expect_event(events, Duration::from_secs(20), |e| matches!(
            e,
            Event::SessionLost { .. }
        ))
        .await,
        "the speaker's loss was not reported\n{}",
        logs()
    );
    assert!(
        expect_event(events, Duration::from_secs(30), |e| matches!(
            e,
            Event::Connected { .. }
        ))
        .await,
        "no reconnection after the restart\n{}",
        logs()
    );
    assert!(
        expect_event(
            events,
            Duration::from_secs(10),
            |e| matches!(e, Event::Announced(p) if *p == vip)
        )
        .await,
        "not re-announced after the restart"
    );
    let t = lab.wait_route(true, Duration::from_secs(30)).await;
    eprintln!("speaker restarted -> route back on the router: {t:?}");
    assert!(t.is_some(), "route not back after the restart\n{}", logs());
    assert!(handle.status().connected);
}

/// Run `body` with a driver for the speaker `make` builds, on a runtime
/// inside the director namespace (the speaker's sockets belong to it).
fn in_director<S, F>(lab: &Arc<Peering>, make: impl FnOnce() -> S + Send + 'static, body: F)
where
    S: Speaker + 'static,
    F: AsyncFnOnce(Arc<Peering>, Handle, UnboundedReceiver<Event>) + Send + 'static,
{
    let lab2 = Arc::clone(lab);
    lab.director.enter(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let (driver, handle, events) = Driver::new(make());
            let task = tokio::spawn(driver.run());
            body(lab2, handle, events).await;
            task.abort();
        });
    });
}

/// A daemon that is killed (SIGKILL) with the test.
struct Daemon(Option<Child>);

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Daemon {
    fn restart(&mut self, start: impl Fn() -> Child) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.0 = Some(start());
    }
}

#[test]
fn gobgp_announces_withdraws_and_survives_restart() {
    let Some(lab) = lab("gobgp", "gobgpd") else {
        return;
    };
    let lab = Arc::new(lab);
    let conf = lab.path("gobgpd.toml");
    std::fs::write(
        &conf,
        format!(
            r#"[global.config]
  as = 65001
  router-id = "{DIRECTOR}"
  local-address-list = ["{DIRECTOR}"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "{ROUTER}"
    peer-as = 65000
  [neighbors.timers.config]
    connect-retry = 1
    hold-time = 3
    keepalive-interval = 1
"#
        ),
    )
    .unwrap();
    let l = Arc::clone(&lab);
    let start = move || {
        spawn(
            &l.director,
            &[
                "gobgpd",
                "-f",
                &conf,
                "-t",
                "toml",
                "--api-hosts",
                "127.0.0.1:50051",
            ],
            &l.dir.join("gobgpd.log"),
        )
    };
    let mut daemon = Daemon(Some(start()));
    in_director(
        &lab,
        || GoBgp::new("127.0.0.1:50051"),
        async move |lab, handle, mut events| {
            scenario(&lab, &handle, &mut events, || daemon.restart(&start)).await;
            // gobgpd's own RIB holds the path keel re-added (ListPath)
            let mut g = GoBgp::new("127.0.0.1:50051");
            g.connect().await.unwrap();
            let rib = g.list(true).await.unwrap();
            assert!(rib.contains(&VIP.parse().unwrap()), "{rib:?}");
        },
    );
}

/// BIRD in the director namespace: `proto` plus an eBGP session to the
/// router exporting the routes of protocol `export`. Returns its starter.
fn director_bird(lab: &Arc<Peering>, proto: &str, export: &str) -> impl Fn() -> Child + use<> {
    let conf = lab.path("director.conf");
    std::fs::write(
        &conf,
        format!(
            "router id {DIRECTOR};
protocol device {{ scan time 1; }}
{proto}
protocol bgp uplink {{
    local {DIRECTOR} as 65001; neighbor {ROUTER} as 65000;
    hold time 3; keepalive time 1; connect retry time 1; connect delay time 1;
    error wait time 1, 2;
    ipv4 {{ import none; export where proto = \"{export}\"; next hop self; }};
}}
"
        ),
    )
    .unwrap();
    let l = Arc::clone(lab);
    move || {
        let (sock, pid) = (l.path("director.ctl"), l.path("director.pid"));
        spawn(
            &l.director,
            &["bird", "-f", "-c", &conf, "-s", &sock, "-P", &pid],
            &l.dir.join("director-bird.log"),
        )
    }
}

#[test]
fn bird_announces_withdraws_and_survives_restart() {
    let Some(lab) = lab("bird", "birdc") else {
        return;
    };
    let lab = Arc::new(lab);
    let include = lab.path("anycast-v4.conf");
    std::fs::write(&include, "").unwrap();
    let sock = lab.path("director.ctl");
    let start = director_bird(
        &lab,
        &format!("protocol static keel_anycast4 {{\n    ipv4;\n    include \"{include}\";\n}}"),
        "keel_anycast4",
    );
    let mut daemon = Daemon(Some(start()));
    in_director(
        &lab,
        move || Bird::new(sock, include),
        async move |lab, handle, mut events| {
            scenario(&lab, &handle, &mut events, || daemon.restart(&start)).await;
        },
    );
}

#[test]
fn exabgp_announces_withdraws_and_survives_restart() {
    let Some(lab) = lab("exabgp", "exabgp") else {
        return;
    };
    let lab = Arc::new(lab);
    let (cmd, ack) = (lab.path("exabgp.cmd"), lab.path("exabgp.ack"));
    let bridge = lab.path("bridge.sh");
    std::fs::write(
        &bridge,
        format!(
            "#!/bin/sh\n# ExaBGP runs this: acks to keel, keel's commands to ExaBGP\n\
             exec 3>'{ack}'\ncat '{cmd}' 3>&- &\nreader=$!\ntrap 'kill $reader; exit' TERM\n\
             cat >&3\nkill $reader\n"
        ),
    )
    .unwrap();
    keel_testkit::sh_ok(&["chmod", "755", &bridge]);
    let conf = lab.path("exabgp.conf");
    std::fs::write(
        &conf,
        format!(
            "process keel {{
    run {bridge};
    encoder text;
}}
neighbor {ROUTER} {{
    router-id {DIRECTOR};
    local-address {DIRECTOR};
    local-as 65001;
    peer-as 65000;
    hold-time 3;
    api {{
        processes [ keel ];
        neighbor-changes;
    }}
}}
"
        ),
    )
    .unwrap();
    let l = Arc::clone(&lab);
    let start = move || {
        let mut c = l.director.command(&["exabgp", &conf]);
        c.env("exabgp_daemon_user", "root")
            .env("exabgp_daemon_daemonize", "false")
            .env("exabgp_log_destination", "stdout")
            .env("exabgp_api_ack", "true")
            .env("exabgp_tcp_bind", DIRECTOR);
        let log = std::fs::File::create(l.dir.join("exabgp.log")).unwrap();
        c.stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap()
    };
    let mut daemon = Daemon(Some(start()));
    in_director(
        &lab,
        move || ExaBgp::new(cmd, ack),
        async move |lab, handle, mut events| {
            scenario(&lab, &handle, &mut events, || daemon.restart(&start)).await;
        },
    );
}

#[test]
fn kernel_route_is_redistributed_by_bird() {
    let Some(lab) = lab("kernel", "birdc") else {
        return;
    };
    let lab = Arc::new(lab);
    let start = director_bird(
        &lab,
        "protocol kernel anycast { kernel table 100; learn; scan time 1; \
         ipv4 { import all; export none; }; }",
        "anycast",
    );
    let mut daemon = Daemon(Some(start()));
    in_director(
        &lab,
        || Kernel::new(100, 1),
        async move |lab, handle, mut events| {
            let vip: Prefix = VIP.parse().unwrap();
            assert!(
                expect_event(&mut events, Duration::from_secs(5), |e| matches!(
                    e,
                    Event::Connected { .. }
                ))
                .await
            );
            handle.announce(vip);
            let t = lab.wait_route(true, Duration::from_secs(30)).await;
            eprintln!("kernel route -> route on the router: {t:?}");
            assert!(
                t.is_some(),
                "route never reached the router\n{}",
                lab.logs()
            );
            let local = tokio::process::Command::new("ip")
                .args(["route", "show", "table", "100"])
                .output()
                .await
                .unwrap();
            assert!(String::from_utf8_lossy(&local.stdout).contains("203.0.113.10 dev lo"));
            handle.withdraw(vip);
            let t = lab.wait_route(false, Duration::from_secs(30)).await;
            eprintln!("kernel route removed -> gone on the router: {t:?}");
            assert!(t.is_some(), "route never left the router\n{}", lab.logs());
            handle.announce(vip);
            assert!(
                lab.wait_route(true, Duration::from_secs(30))
                    .await
                    .is_some()
            );
            // the speaker restarts: it learns the kernel route again
            daemon.restart(&start);
            let t = lab.wait_route(true, Duration::from_secs(30)).await;
            eprintln!("bird restarted -> route on the router: {t:?}");
            assert!(
                t.is_some(),
                "route not back after bird's restart\n{}",
                lab.logs()
            );
        },
    );
}
