//! The flood's packets: pools of hostile VRRP packets of each kind, each
//! with the verdict keeld must reach, computed with keel-packet's own receive
//! checks in keeld's order.
use crate::GROUP;
use crate::advert::{checksum, v2_advert};
use keel_packet::rx::{Delivery, IpMeta};
use keel_packet::{Auth, ChecksumMode, VrrpPacket, VrrpRepr};
use std::net::{IpAddr, Ipv4Addr};

/// The kinds of hostile input (`--kinds`); see docs/chaos.md.
pub const KINDS: [&str; 9] = [
    "random",
    "checksum",
    "auth",
    "ttl",
    "vrid",
    "foreign",
    "addrcount",
    "truncated",
    "offlink",
];
const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
const FOREIGN: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);
/// The `offlink` kind's sender: a host on another subnet whose packets a
/// router forwarded (TTL 64), unicast to node1's own address.
const OFFLINK: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 66);
/// node1's address (the `offlink` kind's destination).
const NODE1: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
/// Packets prepared per kind.
pub const POOL: usize = 512;

/// One prepared packet: IPv4 header + payload, where it goes, and what
/// keeld should call it.
#[derive(Debug)]
pub struct Pkt {
    /// The IPv4 packet.
    pub bytes: Vec<u8>,
    /// Its destination: the VRRP group (every node), or node1's address.
    pub dst: Ipv4Addr,
    /// What keeld must call it: a drop counter, or `ACCEPTED`.
    pub verdict: &'static str,
}

/// What a keeld configured with VRID 51 and the VRIDs `vrids` (no unicast
/// peers) and PASS "123.123" must do with a packet.
fn verdict(src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, payload: &[u8], vrids: &[u8]) -> &'static str {
    let meta = IpMeta {
        src: IpAddr::V4(src),
        dst: IpAddr::V4(dst),
        ttl,
        protocol: 112,
    };
    // Instances without unicast peers accept multicast only (issue 17).
    if let Err(e) = keel_packet::rx::check(&meta, Delivery::Multicast) {
        return e.counter_name();
    }
    // keeld drops a multicast advert whose source is on none of the interface's
    // subnets (the nodes' eth0 is 192.0.2.0/24), before parsing it.
    if src.octets()[..3] != [192, 0, 2] {
        return "source";
    }
    let pkt = match VrrpPacket::new_checked(payload) {
        Ok(p) => p,
        Err(e) => return e.counter_name(),
    };
    if pkt.vrid() != 51 && !vrids.contains(&pkt.vrid()) {
        return "vrid";
    }
    let repr = match VrrpRepr::parse(&pkt, IpAddr::V4(src), IpAddr::V4(dst), ChecksumMode::Rfc) {
        Ok(r) => r,
        Err(e) => return e.counter_name(),
    };
    if repr.auth != Auth::simple_text(b"123.123") {
        return "auth";
    }
    "ACCEPTED"
}

/// `POOL` packets of `kind` (each claiming priority 200, above the master's)
/// for nodes that also run instances on `vrids`.
pub fn pool(kind: &str, rng: &mut fastrand::Rng, vrids: &[u8]) -> Vec<Pkt> {
    (0..POOL)
        .map(|_| {
            let mut dst = GROUP;
            let (src, ttl, payload) = match kind {
                "random" => {
                    let n = rng.usize(1..=80);
                    (CLIENT, 255, (0..n).map(|_| rng.u8(..)).collect::<Vec<u8>>())
                }
                "checksum" => {
                    let mut a = v2_advert(51, 200, b"123.123", CLIENT);
                    a[6] ^= 1 << rng.u32(0..8);
                    (CLIENT, 255, a)
                }
                "auth" => (CLIENT, 255, v2_advert(51, 200, b"wrong!", CLIENT)),
                "ttl" => (CLIENT, 254, v2_advert(51, 200, b"123.123", CLIENT)),
                "vrid" => {
                    // A VRID no instance has (with all 255 taken, 51's neighbour).
                    let v = loop {
                        let v = rng.u8(1..=255);
                        if v != 51 && !vrids.contains(&v) || vrids.len() >= 254 {
                            break v;
                        }
                    };
                    (CLIENT, 255, v2_advert(v, 200, b"123.123", CLIENT))
                }
                "foreign" => (FOREIGN, 255, v2_advert(51, 254, b"123.123", FOREIGN)),
                "offlink" => {
                    dst = NODE1;
                    let v = if vrids.is_empty() || rng.bool() {
                        51
                    } else {
                        vrids[rng.usize(..vrids.len())]
                    };
                    // (A VRRPv2 checksum covers no pseudo-header: valid as is.)
                    (OFFLINK, 64, v2_advert(v, 200, b"123.123", OFFLINK))
                }
                "addrcount" => {
                    let mut a = v2_advert(51, 200, b"123.123", CLIENT);
                    a[3] = rng.u8(2..=255);
                    a[6] = 0;
                    a[7] = 0;
                    let c = checksum(&a);
                    a[6..8].copy_from_slice(&c.to_be_bytes());
                    (CLIENT, 255, a)
                }
                _ => {
                    let a = v2_advert(51, 200, b"123.123", CLIENT);
                    let n = rng.usize(1..a.len());
                    (CLIENT, 255, a[..n].to_vec())
                }
            };
            Pkt {
                verdict: verdict(src, dst, ttl, &payload, vrids),
                bytes: crate::advert::ip_packet_to(src, dst, ttl, &payload),
                dst,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_of_the_crafted_kinds() {
        let mut rng = fastrand::Rng::with_seed(3);
        let one = |k: &str, rng: &mut fastrand::Rng| -> Vec<&'static str> {
            let mut v: Vec<&'static str> =
                pool(k, rng, &[1, 2, 3]).iter().map(|p| p.verdict).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        assert_eq!(one("checksum", &mut rng), ["checksum"]);
        assert_eq!(one("auth", &mut rng), ["auth"]);
        assert_eq!(one("ttl", &mut rng), ["ttl"]);
        assert_eq!(one("vrid", &mut rng), ["vrid"]);
        assert_eq!(one("addrcount", &mut rng), ["length"]);
        assert_eq!(one("truncated", &mut rng), ["length"]);
        // A valid advert from outside the subnet passes every packet-level check:
        // only the daemon can refuse it.
        assert_eq!(one("foreign", &mut rng), ["source"]);
        // Unicast from off-link to node1's address: no instance takes unicast.
        assert_eq!(one("offlink", &mut rng), ["destination"]);
        assert!(!one("random", &mut rng).contains(&"ACCEPTED"));
    }
}
