//! A small VRRP daemon without keepalived.conf: two instances built by hand,
//! run by keel-node's tokio driver, events printed as keepalived words them.
//!
//! `two_instances IFACE PRIORITY` (root: raw sockets, VIPs). VRID 51 holds
//! 192.0.2.250, VRID 52 holds 192.0.2.251, VRRPv2, advert_int 1 s, password
//! "keel"; both preempt. Stops (resigning) on SIGTERM or Ctrl-C.
use keel_election::{AuthConfig, InstanceConfig};
use keel_node::{Driver, InstanceSpec, Io, NodeSpec, sys};
use keel_vip::Vip;
use std::net::IpAddr;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};

fn instance(name: &str, vrid: u8, prio: u8, ifname: &str, me: IpAddr, vip: &str) -> InstanceSpec {
    let ifindex = sys::if_index(ifname);
    let mut cfg = InstanceConfig::new(name, vrid, prio, me);
    cfg.auth = AuthConfig::pass("keel");
    let vip = Vip::new(vip.parse().expect("a VIP"), ifindex);
    InstanceSpec::new(ifname, ifindex, cfg).with_vip(vip, ifname)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(ifname), Some(prio)) = (args.next(), args.next()) else {
        return Err("usage: two_instances IFACE PRIORITY".into());
    };
    let prio: u8 = prio.parse()?;
    // Our address: the interface's first IPv4 address.
    let me = sys::if_addrs(&ifname)
        .into_iter()
        .map(|(a, _)| a)
        .find(IpAddr::is_ipv4)
        .ok_or("no IPv4 address on the interface")?;
    let spec = NodeSpec::new(vec![
        instance("VI_1", 51, prio, &ifname, me, "192.0.2.250"),
        instance("VI_2", 52, prio, &ifname, me, "192.0.2.251"),
    ]);
    let (io, errors) = Io::real();
    if let Some((part, e)) = errors.first() {
        return Err(format!("cannot open {part:?}: {e}").into());
    }
    let mut driver = Driver::new(spec, io)?;
    let mut term = signal(SignalKind::terminate())?;
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
            ev = driver.next_event() => println!("{ev}"),
        }
    }
    for ev in driver.shutdown(Duration::from_millis(500)).await {
        println!("{ev}");
    }
    Ok(())
}
