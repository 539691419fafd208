//! Two VRRP routers on a virtual clock: no sockets, no sleeping, no root.
//!
//! ```sh
//! cargo run -p keel-election --example two_routers
//! ```
//!
//! The guide's pair (VRID 51, priorities 100 and 99, `auth_pass 123.123`,
//! VIP 192.0.2.250) starts at t = 0. The driver below is all a daemon does
//! with an [`Instance`]: wake at `poll_timeout()`, feed `Input::Timeout`,
//! drain `poll_action()`, and deliver each `SendAdvert` to the peer. Adverts go
//! over the "wire" through keel-packet (emit, then parse), as keeld does.
//! At t = 10 s node1 stops gracefully (priority-0 advert) and node2 takes over.
use keel_election::{
    Action, Advert, AuthConfig, InitialState, Input, Instance, InstanceConfig, Instant,
};
use keel_packet::{AddrList, Auth, ChecksumMode, MCAST_V4, VrrpRepr};
use std::error::Error;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 250);

struct Router {
    name: &'static str,
    addr: Ipv4Addr,
    vi: Instance,
}

fn router(
    name: &'static str,
    addr: Ipv4Addr,
    prio: u8,
    initial: InitialState,
) -> Result<Router, Box<dyn Error>> {
    let mut cfg = InstanceConfig::new("VI_1", 51, prio, IpAddr::V4(addr));
    cfg.vips = vec![IpAddr::V4(VIP)];
    cfg.auth = AuthConfig::pass("123.123");
    cfg.initial = initial;
    Ok(Router {
        name,
        addr,
        vi: Instance::try_new(cfg)?,
    })
}

/// Emit the advert `r` would send with `priority`, as bytes on the wire, and
/// parse it back into what the receiver's machine gets.
fn wire(r: &Router, priority: u8) -> Result<Advert, keel_packet::Error> {
    let cfg = r.vi.config();
    let auth = match cfg.auth {
        AuthConfig::Pass(k) => Auth::SimpleText(k),
        AuthConfig::None => Auth::None,
    };
    let vips = [VIP];
    let repr = VrrpRepr {
        version: cfg.version,
        vrid: cfg.vrid,
        priority,
        adver_int: cfg.adver_int_cs,
        auth,
        addrs: AddrList::V4(&vips),
    };
    let (src, dst) = (IpAddr::V4(r.addr), IpAddr::V4(MCAST_V4));
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut buf, src, dst, ChecksumMode::Rfc)?;
    let parsed = VrrpRepr::parse_bytes(&buf, src, dst, ChecksumMode::Rfc)?;
    Ok(Advert::from(&parsed))
}

/// Drain `routers[i]`'s actions, print them, and deliver adverts to the other.
/// Adverts are printed only when `verbose` (there is one a second).
fn drain(
    routers: &mut [Router; 2],
    i: usize,
    now: Instant,
    verbose: bool,
) -> Result<(), Box<dyn Error>> {
    let mut out = Vec::new();
    while let Some(a) = routers[i].vi.poll_action() {
        out.push(a);
    }
    let ts = format!("{:>10}", now.to_string());
    for a in out {
        let who = routers[i].name;
        match a {
            Action::SendAdvert { priority, .. } => {
                if verbose || priority == 0 {
                    println!("{ts} {who}: send advert, priority {priority}");
                }
                let advert = wire(&routers[i], priority)?;
                let src = IpAddr::V4(routers[i].addr);
                let j = 1 - i;
                routers[j].vi.handle(now, Input::Advert { src, advert });
                drain(routers, j, now, verbose)?;
            }
            Action::Log(line) => println!("{ts} {who}: log \"{line}\""),
            other => println!("{ts} {who}: {other:?}"),
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut routers = [
        router(
            "node1",
            Ipv4Addr::new(192, 0, 2, 10),
            100,
            InitialState::Master,
        )?,
        router(
            "node2",
            Ipv4Addr::new(192, 0, 2, 11),
            99,
            InitialState::Backup,
        )?,
    ];
    let t0 = Instant::ZERO;
    for i in 0..2 {
        routers[i].vi.handle(t0, Input::Startup);
        drain(&mut routers, i, t0, true)?;
    }
    let stop_at = t0 + Duration::from_secs(10);
    let end = t0 + Duration::from_secs(16);
    let mut stopped = false;
    loop {
        // The earliest deadline of either router is the next thing that happens.
        let next = routers
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.vi.poll_timeout().map(|t| (t, i)))
            .min();
        let Some((t, i)) = next else { break };
        if !stopped && t >= stop_at {
            println!(
                "{:>10} node1: --- stopping (Input::Shutdown) ---",
                stop_at.to_string()
            );
            routers[0].vi.handle(stop_at, Input::Shutdown);
            drain(&mut routers, 0, stop_at, true)?;
            stopped = true;
            continue;
        }
        if t > end {
            break;
        }
        routers[i].vi.handle(t, Input::Timeout);
        drain(&mut routers, i, t, false)?;
    }
    for r in &routers {
        let c = r.vi.counters();
        println!(
            "{}: state {:?}, master {:?}, adverts sent {} received {}, became master {} time(s)",
            r.name,
            r.vi.state(),
            r.vi.master_addr(),
            c.adverts_tx,
            c.adverts_rx,
            c.master_transitions
        );
    }
    Ok(())
}
