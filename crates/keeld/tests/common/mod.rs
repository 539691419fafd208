//! keeld's namespace tests run in keel-lab's lab (the workspace's one `Lab`)
//! with the keeld binary cargo built for them: nodes and a client on a
//! bridge, 192.0.2.0/24, node i at 192.0.2.(10+i), client at 192.0.2.100.
#![allow(dead_code, unused_imports)]

pub use keel_lab::advert::{send_vrrp, v2_advert, vrrp_sender};
pub use keel_lab::config::{guide as guide_conf, v3 as v3_conf};
pub use keel_lab::{AdvertLog, Daemon, Lab, PORT, Tcpdump, VIP};

/// The keeld under test.
pub const KEELD: &str = env!("CARGO_BIN_EXE_keeld");
