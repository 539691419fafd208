//! The daemon: loads the configuration, runs a keel-node [`Driver`] on one
//! tokio current-thread loop beside signals, the status socket and the
//! director, and logs the node's events in keepalived's words.
use crate::log::RateLimit;
use crate::runtime::{load_conf, on_runtime, signals};
use crate::status::{self, Query, Request, Status};
use keel_election::{Input, State};
use keel_node::conf::{self as plan, RealHost};
use keel_node::{Driver, Event, Level, NodeSpec};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tracing::{error, info, warn};

/// How long notify_stop scripts may delay the exit.
const STOP_GRACE: Duration = Duration::from_millis(500);

/// How long a reload may parse before it is given up (the running
/// configuration keeps going meanwhile and afterwards).
const RELOAD_PARSE_LIMIT: Duration = Duration::from_secs(60);

/// A reload's parse, done off the loop: the configuration and its node
/// specification, or why not.
type Parsed = Result<(keel_conf::Config, NodeSpec), String>;

/// What the daemon needs from the command line.
#[derive(Debug, Clone)]
pub struct Options {
    /// Configuration file.
    pub conf: PathBuf,
    /// `-i`.
    pub config_id: Option<String>,
    /// Status socket.
    pub status_socket: PathBuf,
    /// Who may use it.
    pub status_access: status::Access,
    /// What SIGTERM does to masters (`--stop-mode`); `None`: the
    /// configuration's `keel_stop_mode`, else resign.
    pub stop_mode: Option<crate::cli::StopMode>,
    /// `--metrics-listen` (else the configuration's `keel_metrics_listen`).
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// keepalived's halves the director runs (`-P`: no checkers).
    pub director: crate::director::Roles,
}

struct Daemon {
    /// The LVS director (virtual servers, sync daemon).
    director: crate::director::Director,
    opts: Options,
    started: Instant,
    driver: Driver,
    rl: RateLimit,
    reloads: u64,
    reload_failures: u64,
    /// A reload is parsing; another SIGHUP came meanwhile.
    reloading: bool,
    reload_again: bool,
    reload_tx: mpsc::Sender<Parsed>,
    /// `keel_stop_mode` of the running configuration.
    conf_stop_mode: Option<crate::cli::StopMode>,
}

/// Run the daemon until SIGTERM/SIGINT. Returns the process exit code.
pub fn run(opts: Options) -> u8 {
    on_runtime(main_loop(opts))
}

/// Log one node event in keepalived's words (rate-limited where it may
/// repeat at packet rate); a state change also goes to the director.
fn log_event(rl: &mut RateLimit, director: &mut crate::director::Director, ev: &Event) {
    if let Event::StateChanged { instance, to, .. } = ev {
        director.vrrp_state(instance, *to);
        return;
    }
    let sup = match ev.rate_key() {
        Some(k) => match rl.check(&k, Instant::now()) {
            Some(n) => n,
            None => return,
        },
        None => 0,
    };
    let text = match ev {
        Event::Dropped { .. } | Event::Election(_) if sup > 0 => {
            format!("{ev} ({sup} similar suppressed)")
        }
        _ => ev.to_string(),
    };
    match (ev.level(), ev.is_vrrp()) {
        (Level::Info, true) => info!(target: "vrrp", "{text}"),
        (Level::Warning, true) => warn!(target: "vrrp", "{text}"),
        (Level::Info, false) => info!("{text}"),
        (Level::Warning, false) => warn!("{text}"),
        (_, true) => error!(target: "vrrp", "{text}"),
        (_, false) => error!("{text}"),
    }
}

/// The node's specification of `cfg`, its notes and problems logged and
/// `enable_script_security` applied.
fn spec_of(cfg: &keel_conf::Config) -> NodeSpec {
    let mut p = plan::build(cfg, &RealHost);
    for n in &p.notes {
        warn!(target: "vrrp", "{n}");
    }
    for e in &p.problems {
        error!(target: "vrrp", "{e} - instance disabled");
    }
    check_scripts_security(&mut p);
    p
}

/// Under `enable_script_security`, refuse (disable) every script a
/// non-root user could change, saying why.
fn check_scripts_security(p: &mut NodeSpec) {
    let refuse = |line: &str, why: &keel_script::Insecure| {
        warn!("Unsafe permissions found for script '{line}' - disabling. ({why})");
    };
    if p.script_security {
        for s in &mut p.scripts {
            if let Err(why) = keel_script::check(&s.cmd, s.run_as.as_ref()) {
                refuse(&s.line, &why);
                s.disabled = true;
            }
        }
        for inst in &mut p.instances {
            let n = &mut inst.notify;
            for slot in [
                &mut n.generic,
                &mut n.master,
                &mut n.backup,
                &mut n.fault,
                &mut n.stop,
            ] {
                if let Some(ns) = slot
                    && let Err(why) = keel_script::check(&ns.cmd, ns.run_as.as_ref())
                {
                    refuse(&ns.line, &why);
                    *slot = None;
                }
            }
        }
    }
    let any = !p.scripts.is_empty()
        || p.instances.iter().any(|i| {
            let n = &i.notify;
            n.generic.is_some()
                || n.master.is_some()
                || n.backup.is_some()
                || n.fault.is_some()
                || n.stop.is_some()
        });
    if any && !p.script_security {
        warn!("SECURITY VIOLATION - scripts are being executed but script_security not enabled.");
    }
}

async fn main_loop(opts: Options) -> u8 {
    info!(
        "Starting keeld v{} (keepalived-compatible VRRP)",
        env!("CARGO_PKG_VERSION")
    );
    let cfg = match load_conf(&opts.conf, opts.config_id.clone()) {
        Ok(c) => c,
        Err(_) => {
            error!(
                "Configuration file {} has errors: not starting",
                opts.conf.display()
            );
            return 3;
        }
    };
    let (qtx, mut qrx) = mpsc::channel::<Query>(8);
    if let Some(a) = opts.metrics_listen.or(cfg.global.keel_metrics_listen) {
        match status::serve_metrics(a, qtx.clone()) {
            Ok(()) => info!("serving metrics on http://{a}/metrics"),
            Err(e) => warn!("cannot serve metrics on {a}: {e}"),
        }
    }
    let (reload_tx, mut reload_rx) = mpsc::channel::<Parsed>(1);
    if let Err(e) = status::serve(&opts.status_socket, opts.status_access, qtx) {
        warn!(
            "cannot open status socket {}: {e}",
            opts.status_socket.display()
        );
    }
    let (mut io, errors) = keel_node::Io::real();
    for (part, e) in errors {
        match part {
            keel_node::io::Part::Vips => {
                error!("cannot open rtnetlink: {e}; VIPs will not be managed");
            }
            _ => error!("cannot open the gratuitous ARP/NA socket: {e}"),
        }
    }
    let mut rl = RateLimit::default();
    let mut director = crate::director::Director::new(opts.director, &opts.status_socket);
    for ev in keel_node::cleanup_stale_vips(io.vips.as_mut()) {
        log_event(&mut rl, &mut director, &ev);
    }
    let p = spec_of(&cfg);
    let conf_stop_mode = cfg.global.keel_stop_mode;
    log_stop_mode(opts.stop_mode, conf_stop_mode);
    let driver = match Driver::new(p, io) {
        Ok(d) => d,
        Err(e) => {
            error!("cannot create the timer: {e}");
            return 2;
        }
    };
    let mut d = Daemon {
        director,
        opts: opts.clone(),
        started: Instant::now(),
        driver,
        rl,
        reloads: 0,
        reload_failures: 0,
        reloading: false,
        reload_again: false,
        reload_tx,
        conf_stop_mode,
    };
    d.director.start(&cfg);
    // The parsed configuration is not needed any more (reloads read the file).
    drop(cfg);
    keel_node::sys::trim_heap();
    crate::notify::ready();

    let Some((mut term, mut int, mut hup, mut usr1, mut usr2)) = signals() else {
        return 2;
    };
    // keepalived's JSON dump signal (`keepalived --signum=JSON`: SIGRTMIN+2)
    let mut json = signal(SignalKind::from_raw(libc::SIGRTMIN() + 2)).ok();
    // SIGTERM with --stop-mode handover: masters hand over first; exit once
    // none is still handing over (a second SIGTERM exits at once).
    let mut handing_over = false;
    loop {
        if handing_over && !d.any_handing_over() {
            break;
        }
        tokio::select! {
            biased;
            _ = term.recv() => {
                if handing_over || !d.stop_with_handover() {
                    break;
                }
                handing_over = true;
            }
            _ = int.recv() => break,
            _ = hup.recv() => d.reload(),
            Some(parsed) = reload_rx.recv() => d.reloaded(parsed),
            _ = usr1.recv() => d.dump(),
            _ = usr2.recv() => d.dump_stats(false),
            Some(_) = async { json.as_mut()?.recv().await } => d.dump_stats(true),
            Some((req, reply)) = qrx.recv() => {
                let _ = reply.send(d.answer(&req));
            }
            ev = d.driver.next_event() => log_event(&mut d.rl, &mut d.director, &ev),
        }
    }
    crate::notify::stopping();
    let Daemon {
        driver,
        mut rl,
        mut director,
        ..
    } = d;
    for ev in driver.shutdown(STOP_GRACE).await {
        log_event(&mut rl, &mut director, &ev);
    }
    director.shutdown().await;
    let _ = status::remove_ours(&opts.status_socket);
    info!("Stopped keeld");
    0
}

/// Log what SIGTERM will do and why.
fn log_stop_mode(cli: Option<crate::cli::StopMode>, conf: Option<crate::cli::StopMode>) {
    let m = cli.or(conf).unwrap_or_default();
    let from = if cli.is_some() {
        "--stop-mode"
    } else if conf.is_some() {
        "keel_stop_mode"
    } else {
        "default"
    };
    info!("SIGTERM stop mode: {} ({from})", m.as_str());
}

impl Daemon {
    fn any_handing_over(&self) -> bool {
        self.driver
            .node()
            .instances()
            .iter()
            .any(|i| i.election().handing_over())
    }

    /// SIGHUP: parse the file on a blocking thread, so adverts and timers
    /// keep their pace however long the parse takes; [`Daemon::reloaded`]
    /// applies the result. One parse at a time: a SIGHUP meanwhile reloads
    /// once more after it. A parse past [`RELOAD_PARSE_LIMIT`] is given up.
    fn reload(&mut self) {
        if self.reloading {
            self.reload_again = true;
            return;
        }
        info!("Reloading");
        crate::notify::reloading();
        self.reloading = true;
        let (conf, id) = (self.opts.conf.clone(), self.opts.config_id.clone());
        let tx = self.reload_tx.clone();
        tokio::spawn(async move {
            let parse = tokio::task::spawn_blocking(move || {
                let cfg = load_conf(&conf, id).map_err(|n| format!("{n} error(s)"))?;
                let p = spec_of(&cfg);
                Ok((cfg, p))
            });
            let parsed = match tokio::time::timeout(RELOAD_PARSE_LIMIT, parse).await {
                Ok(Ok(parsed)) => parsed,
                Ok(Err(e)) => Err(format!("parser failed: {e}")),
                Err(_) => Err(format!("parse took over {RELOAD_PARSE_LIMIT:?}")),
            };
            let _ = tx.send(parsed).await;
        });
    }

    /// A reload's parse is done: apply it, or keep the running configuration.
    fn reloaded(&mut self, parsed: Parsed) {
        self.reloading = false;
        match parsed {
            Err(why) => {
                self.reload_failures += 1;
                error!(
                    "Reload of {} failed ({why}): keeping the running configuration",
                    self.opts.conf.display()
                );
            }
            Ok((cfg, p)) => {
                self.reloads += 1;
                if cfg.global.keel_stop_mode != self.conf_stop_mode {
                    self.conf_stop_mode = cfg.global.keel_stop_mode;
                    log_stop_mode(self.opts.stop_mode, self.conf_stop_mode);
                }
                self.driver.reload(p);
                self.director.reload(&cfg);
                drop(cfg);
                keel_node::sys::trim_heap();
                info!("Reload finished");
            }
        }
        crate::notify::ready();
        if std::mem::take(&mut self.reload_again) {
            self.reload();
        }
    }

    // ---------------------------------------------------------------- status

    fn status(&self) -> Status {
        let now = Instant::now();
        let node = self.driver.node();
        Status {
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            config_file: self.opts.conf.display().to_string(),
            uptime_s: now.duration_since(self.started).as_secs_f64(),
            reloads: self.reloads,
            reload_failures: self.reload_failures,
            log_dropped: crate::log::SYSLOG_DROPPED.load(std::sync::atomic::Ordering::Relaxed),
            node: node.status(now),
            virtual_servers: self.director.status(),
        }
    }

    fn answer(&mut self, req: &Request) -> String {
        match req {
            Request::Status => serde_json::to_string(&self.status())
                .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")),
            Request::Metrics => status::metrics_text(&self.status()),
            Request::Handover(name) => self.handover(name.as_deref()),
            Request::Resume(name) => self.resume(name.as_deref()),
        }
    }

    /// The instances a command names (all when `None`), or the error answer.
    fn pick(&self, name: Option<&str>) -> Result<Vec<usize>, String> {
        let insts = self.driver.node().instances();
        let picked: Vec<usize> = (0..insts.len())
            .filter(|&i| name.is_none_or(|n| insts[i].name() == n))
            .collect();
        if picked.is_empty() {
            let n = name.unwrap_or_default();
            return Err(
                serde_json::json!({ "error": format!("no vrrp_instance {n}") }).to_string(),
            );
        }
        Ok(picked)
    }

    /// The JSON answer of `handover` / `resume`: each picked instance's state.
    fn instances_answer(&self, key: &str, picked: &[usize]) -> String {
        let list: Vec<serde_json::Value> = picked
            .iter()
            .map(|&i| {
                let inst = &self.driver.node().instances()[i];
                let vi = inst.election();
                serde_json::json!({
                    "instance": inst.name(),
                    "state": vi.state().as_str(),
                    "handing_over": vi.handing_over(),
                    "held": vi.held(),
                })
            })
            .collect();
        serde_json::json!({ key: list }).to_string()
    }

    /// `resume [INSTANCE]`: end the hold of a handover, so the instance
    /// preempts again (all when `None`).
    fn resume(&mut self, name: Option<&str>) -> String {
        let picked = match self.pick(name) {
            Ok(p) => p,
            Err(answer) => return answer,
        };
        let now = Instant::now();
        let node = self.driver.node_mut();
        for &i in &picked {
            let inst = &node.instances()[i];
            if inst.election().held() {
                info!(
                    "({}) resume requested: preemption applies again",
                    inst.name()
                );
            }
            node.input(now, i, Input::Resume);
        }
        self.instances_answer("resume", &picked)
    }

    /// `handover [INSTANCE]`: make-before-break switchover of the named
    /// instance (all when `None`); a JSON answer listing each one's state.
    fn handover(&mut self, name: Option<&str>) -> String {
        let picked = match self.pick(name) {
            Ok(p) => p,
            Err(answer) => return answer,
        };
        let now = Instant::now();
        let node = self.driver.node_mut();
        for &i in &picked {
            let inst = &node.instances()[i];
            if inst.election().state() == State::Master {
                info!("({}) handover requested", inst.name());
            }
            node.input(now, i, Input::Handover);
        }
        self.instances_answer("handover", &picked)
    }

    /// What SIGTERM does: `--stop-mode`, else `keel_stop_mode`, else resign.
    fn stop_mode(&self) -> crate::cli::StopMode {
        self.opts
            .stop_mode
            .or(self.conf_stop_mode)
            .unwrap_or_default()
    }

    /// SIGTERM: with `--stop-mode handover`, start a handover on every
    /// master; true when at least one is now handing over (exit waits).
    fn stop_with_handover(&mut self) -> bool {
        if self.stop_mode() != crate::cli::StopMode::Handover {
            return false;
        }
        let now = Instant::now();
        let node = self.driver.node_mut();
        for i in 0..node.instances().len() {
            if node.instances()[i].election().state() == State::Master {
                node.input(now, i, Input::Handover);
            }
        }
        let n = node
            .instances()
            .iter()
            .filter(|i| i.election().handing_over())
            .count();
        if n > 0 {
            info!("SIGTERM: handing over {n} instance(s) before stopping");
        }
        n > 0
    }

    fn dump(&self) {
        let text = status::render(&self.status());
        for l in text.lines() {
            info!("{l}");
        }
        if let Err(e) =
            crate::files::write_fresh(Path::new("/tmp/keepalived.data"), text.as_bytes())
        {
            warn!("cannot write /tmp/keepalived.data: {e}");
        }
    }

    /// SIGUSR2: statistics to /tmp/keepalived.stats; the JSON signal: the
    /// instances to /tmp/keepalived.json; both in keepalived 2.2.7's formats.
    fn dump_stats(&self, json: bool) {
        let s = self.driver.node().status(Instant::now());
        let (path, text) = match json {
            false => (
                "/tmp/keepalived.stats",
                keel_node::status::keepalived_stats(&s),
            ),
            true => (
                "/tmp/keepalived.json",
                keel_node::status::keepalived_json(&s),
            ),
        };
        match crate::files::write_fresh(Path::new(path), text.as_bytes()) {
            Ok(()) => info!("statistics written to {path}"),
            Err(e) => warn!("cannot write {path}: {e}"),
        }
    }
}
