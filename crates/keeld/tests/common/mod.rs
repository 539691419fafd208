//! keeld's namespace tests run in keel-lab's lab (the workspace's one `Lab`)
//! with the keeld binary cargo built for them: nodes and a client on a
//! bridge, 192.0.2.0/24, node i at 192.0.2.(10+i), client at 192.0.2.100.
#![allow(dead_code, unused_imports)]

pub use keel_lab::advert::{send_vrrp, v2_advert, vrrp_sender};
pub use keel_lab::config::{guide as guide_conf, v3 as v3_conf};
pub use keel_lab::{AdvertLog, Daemon, Lab, PORT, Tcpdump, VIP};

/// The keeld under test.
pub const KEELD: &str = env!("CARGO_BIN_EXE_keeld");

/// The guide's hot standby (node1 priority 100 `state MASTER`, node2 99)
/// running keeld, once node1 holds the VIP.
pub fn guide_pair(tag: &str) -> Lab {
    let mut lab = Lab::new(tag, 2, KEELD);
    lab.write_conf(0, &guide_conf(true));
    lab.write_conf(1, &guide_conf(false));
    lab.start(0, Daemon::Keeld);
    lab.start(1, Daemon::Keeld);
    let t = lab.wait(std::time::Duration::from_secs(8), |l| l.holds_vip(0));
    lab.check(t.is_some(), "node1 never took the VIP");
    lab
}
