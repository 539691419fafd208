//! Add and remove a VIP with [`FakeVips`], the in-memory [`VipControl`] used
//! by tests: no root, no kernel.
//!
//! ```sh
//! cargo run -p keel-vip --example fake_vips
//! ```
//!
//! Code written against `&mut dyn VipControl` (or a generic `V: VipControl`)
//! runs unchanged on [`keel_vip::Netlink`]; see the `netlink_vip` example.
use keel_vip::{Errno, Error, FakeVips, Outcome, Vip, VipControl};

/// What a daemon does on becoming master / backup: the same code for both
/// implementations of the trait.
fn become_master(vips: &mut dyn VipControl, list: &[Vip]) -> Result<(), Error> {
    for (vip, outcome) in list.iter().zip(vips.add_many(list)?) {
        println!("  add {}/{}: {:?}", vip.addr, vip.prefix_len, outcome?);
    }
    Ok(())
}

fn become_backup(vips: &mut dyn VipControl, list: &[Vip]) -> Result<(), Error> {
    for (vip, outcome) in list.iter().zip(vips.del_many(list)?) {
        println!("  del {}/{}: {:?}", vip.addr, vip.prefix_len, outcome?);
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ifindex = 2; // FakeVips does not check that the interface exists
    let list = [
        Vip::new("192.0.2.250".parse()?, ifindex).with_label("eth0:1"), // /32
        Vip::new("2001:db8::250".parse()?, ifindex),                    // /128, nodad
    ];
    let mut fake = FakeVips::new();
    // An address someone else configured: listed, but not stamped as keel's.
    fake.preload(Vip::new("192.0.2.10".parse()?, ifindex).with_prefix(24));

    println!("master:");
    become_master(&mut fake, &list)?;
    println!("master again (idempotent):");
    become_master(&mut fake, &list)?;
    println!(
        "on ifindex {ifindex}: {:?}",
        addrs(&fake.list(Some(ifindex))?)
    );
    println!(
        "keel's own (list_stamped): {:?}",
        addrs(&fake.list_stamped(None)?)
    );

    // Errors are typed: a kernel errno comes back as Error::Kernel.
    fake.fail_next(Errno::EPERM);
    match fake.del(&list[0]) {
        Err(e) => println!("injected failure: {e} (errno {:?})", e.errno()),
        Ok(o) => println!("unexpected: {o:?}"),
    }

    println!("backup:");
    become_backup(&mut fake, &list)?;
    println!(
        "on ifindex {ifindex}: {:?}",
        addrs(&fake.list(Some(ifindex))?)
    );
    assert_eq!(fake.del(&list[0])?, Outcome::AlreadyAbsent);
    Ok(())
}

fn addrs(v: &[Vip]) -> Vec<String> {
    v.iter()
        .map(|v| format!("{}/{}", v.addr, v.prefix_len))
        .collect()
}
