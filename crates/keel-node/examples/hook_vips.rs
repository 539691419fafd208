//! A custom VIP backend: instead of netlink, every VIP change calls a user
//! hook — how operators on clouds move an address through a provider's API.
//!
//! `hook_vips IFACE PRIORITY HOOK`: one instance, VRID 61, VIP
//! 192.0.2.240/24. Becoming master runs `HOOK add 192.0.2.240/24 IFACE`,
//! leaving it `HOOK del 192.0.2.240/24 IFACE`; the hook does the rest (call
//! an API, or `ip addr add` itself). Gratuitous ARPs and links stay real.
use keel_election::InstanceConfig;
use keel_node::{Driver, InstanceSpec, Io, NodeSpec, io::RealLinks, sys};
use keel_vip::{Error, Link, Op, Outcome, Vip, VipControl, VirtualRoute, Vmac};
use std::net::IpAddr;
use std::process::Command;
use std::time::Duration;

/// VIPs through a hook program.
struct Hook {
    program: String,
    ifname: String,
}

impl Hook {
    fn call(&self, word: &str, vip: &Vip, op: Op) -> Result<Outcome, Error> {
        let arg = format!("{}/{}", vip.addr, vip.prefix_len);
        match Command::new(&self.program)
            .args([word, &arg, &self.ifname])
            .status()
        {
            Ok(s) if s.success() => Ok(Outcome::Done),
            Ok(_) => Err(Error::Io {
                op,
                source: std::io::Error::other("hook failed"),
            }),
            Err(source) => Err(Error::Io { op, source }),
        }
    }
}

impl VipControl for Hook {
    fn add(&mut self, vip: &Vip) -> Result<Outcome, Error> {
        self.call("add", vip, Op::AddAddress)
    }
    fn del(&mut self, vip: &Vip) -> Result<Outcome, Error> {
        self.call("del", vip, Op::DeleteAddress)
    }
    fn list(&mut self, _: Option<u32>) -> Result<Vec<Vip>, Error> {
        Ok(Vec::new())
    }
    fn list_stamped(&mut self, _: Option<u32>) -> Result<Vec<Vip>, Error> {
        Ok(Vec::new())
    }
    fn add_route(&mut self, _: &VirtualRoute) -> Result<Outcome, Error> {
        Ok(Outcome::Done)
    }
    fn del_route(&mut self, _: &VirtualRoute) -> Result<Outcome, Error> {
        Ok(Outcome::Done)
    }
    fn add_vmac(&mut self, v: &Vmac) -> Result<(Outcome, Link), Error> {
        Err(Error::NoSuchInterface(v.name.clone()))
    }
    fn del_vmac(&mut self, _: u32) -> Result<Outcome, Error> {
        Ok(Outcome::AlreadyAbsent)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let [ifname, prio, hook] = a.as_slice() else {
        return Err("usage: hook_vips IFACE PRIORITY HOOK".into());
    };
    let ifindex = sys::if_index(ifname);
    let me = sys::if_addrs(ifname)
        .into_iter()
        .map(|(a, _)| a)
        .find(IpAddr::is_ipv4);
    let cfg = InstanceConfig::new("VI_HOOK", 61, prio.parse()?, me.ok_or("no IPv4 address")?);
    let vip = Vip::new("192.0.2.240".parse()?, ifindex).with_prefix(24);
    let spec = NodeSpec::new(vec![
        InstanceSpec::new(ifname, ifindex, cfg).with_vip(vip, ifname),
    ]);
    let vips = Hook {
        program: hook.clone(),
        ifname: ifname.clone(),
    };
    let io = Io::new(vips, keel_vip::Announcer::new()?, RealLinks);
    let mut driver = Driver::new(spec, io)?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        tokio::select! {
            _ = term.recv() => break,
            ev = driver.next_event() => println!("{ev}"),
        }
    }
    for ev in driver.shutdown(Duration::from_millis(500)).await {
        println!("{ev}");
    }
    Ok(())
}
