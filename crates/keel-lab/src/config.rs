//! Configurations for the daemons under test: the guide's hot-standby pair
//! mapped onto the lab's addresses, a fast VRRPv3 pair, and the chaos run's
//! three-node configuration.
use crate::VIP;
use std::path::Path;

const GUIDE_MASTER: &str = include_str!("../../../docs/examples/guide/hot-standby-master.conf");
const GUIDE_BACKUP: &str = include_str!("../../../docs/examples/guide/hot-standby-backup.conf");

/// A configuration of the guide with only the interface renamed to `eth0`
/// and its 192.168.161.0/24 addresses mapped onto 192.0.2.0/24.
pub fn adapt_guide(text: &str) -> String {
    text.replace("ens33", "eth0")
        .replace("192.168.161.250", VIP)
        .replace("192.168.161.", "192.0.2.")
}

/// The guide's hot-standby configuration (`docs/examples/guide`) of its
/// master or its backup, adapted to the lab.
pub fn guide(master: bool) -> String {
    adapt_guide(if master { GUIDE_MASTER } else { GUIDE_BACKUP })
}

/// A VRRPv3 configuration (advert_int 0.1, `state BACKUP`) for fast tests,
/// with `extra` lines inside the instance.
pub fn v3(prio: u8, extra: &str) -> String {
    format!(
        "global_defs {{\n  router_id R{prio}\n}}\nvrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priority {prio}\n  advert_int 0.1\n  version 3\n{extra}  virtual_ipaddress {{\n    {VIP}\n  }}\n}}\n"
    )
}

/// The chaos node configuration: the guide's instance (VRID 51, one VIP),
/// `state BACKUP`, a tracker script that fails while `flag` exists;
/// VRRPv3 advert_int 0.1 when `v3`, else VRRPv2 advert_int 1 with PASS auth.
pub fn chaos(v3: bool, node: usize, prio: u8, flag: &Path) -> String {
    let (ver, adv, auth) = if v3 {
        ("3", "0.1", String::new())
    } else {
        (
            "2",
            "1",
            "  authentication {\n    auth_type PASS\n    auth_pass 123.123\n  }\n".to_owned(),
        )
    };
    format!(
        "global_defs {{\n  router_id CHAOS{n}\n  enable_script_security\n  script_user root\n}}\n\
         vrrp_script chk {{\n  script \"/usr/bin/test ! -e {flag}\"\n  interval 1\n  weight -25\n  fall 1\n  rise 1\n}}\n\
         vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priority {prio}\n  advert_int {adv}\n  version {ver}\n{auth}  track_script {{\n    chk\n  }}\n  virtual_ipaddress {{\n    {VIP}\n  }}\n}}\n",
        n = node + 1,
        flag = flag.display(),
    )
}

/// The flood's node configuration: [`chaos`] (VRRPv2, VRID 51, the VIP,
/// PASS auth) plus `more` instances `VF_<vrid>` on the VRIDs of
/// [`flood_vrids`], same priority and password, each with one VIP
/// `203.0.113.<vrid>` (node1 is master of all of them).
pub fn flood(node: usize, prio: u8, flag: &Path, more: usize) -> String {
    let mut c = chaos(false, node, prio, flag);
    for vrid in flood_vrids(more) {
        c.push_str(&format!(
            "vrrp_instance VF_{vrid} {{\n  state BACKUP\n  interface eth0\n  virtual_router_id {vrid}\n  priority {prio}\n  advert_int 1\n  authentication {{\n    auth_type PASS\n    auth_pass 123.123\n  }}\n  virtual_ipaddress {{\n    203.0.113.{vrid}/32\n  }}\n}}\n"
        ));
    }
    c
}

/// The VRIDs of [`flood`]'s extra instances: the first `more` of 1..=255
/// other than 51.
pub fn flood_vrids(more: usize) -> Vec<u8> {
    (1..=255u8).filter(|v| *v != 51).take(more).collect()
}

/// A configuration keeld must refuse, made from a good one (bad priority,
/// unbalanced braces, VRID out of range).
pub fn broken(good: &str, variant: u64) -> String {
    match variant % 3 {
        0 => good.replacen("priority ", "priority banana ", 1),
        1 => format!("{good}\nvrrp_instance VI_2 {{\n  interface eth0\n"),
        _ => good.replacen("virtual_router_id 51", "virtual_router_id 300", 1),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn guide_is_mapped_onto_documentation_addresses() {
        for master in [true, false] {
            let c = super::guide(master);
            assert!(c.contains("interface eth0") && c.contains(crate::VIP));
            assert!(!c.contains("192.168.161.") && !c.contains("ens33"));
        }
        assert!(super::broken(&super::v3(100, ""), 2).contains("virtual_router_id 300"));
    }
}
