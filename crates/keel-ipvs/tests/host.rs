//! Runs on any host: family resolution reports a missing IPVS clearly.
use keel_ipvs::{Error, Ipvs};

#[test]
fn new_matches_kernel_ipvs_presence() {
    if !keel_testkit::require_root("IPVS family resolution") {
        return;
    }
    let have = std::path::Path::new("/proc/net/ip_vs").exists();
    match Ipvs::new() {
        Ok(i) => {
            assert!(i.family_id() >= 0x10, "a dynamic genl family id");
            // resolving may autoload ip_vs: then /proc/net/ip_vs exists now
            assert!(std::path::Path::new("/proc/net/ip_vs").exists());
        }
        Err(Error::Unavailable) => {
            assert!(!have, "IPVS is loaded but Ipvs::new said unavailable");
            assert_eq!(
                Error::Unavailable.to_string(),
                "IPVS is not available: load the ip_vs module"
            );
            eprintln!(
                "host kernel has no IPVS: Ipvs::new() -> {}",
                Error::Unavailable
            );
        }
        Err(e) => panic!("unexpected error: {e}"),
    }
}
