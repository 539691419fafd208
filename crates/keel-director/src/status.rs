//! The director's state as data (serde) and as `keeld status` text.
use serde::{Deserialize, Serialize};

/// Status of one real server.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RealServerStatus {
    /// `[192.0.2.12]:tcp:80`.
    pub server: String,
    /// Every checker is up.
    pub alive: bool,
    /// Configured weight.
    pub weight: i32,
    /// Effective weight (misc_dynamic may change it).
    pub effective_weight: i64,
    /// Number of checkers (an embedder-reported health counts as one).
    pub checkers: usize,
    /// Weight in the desired IPVS table (`None`: not in it).
    pub ipvs_weight: Option<u32>,
    /// Kernel counters of its IPVS entry (refreshed by the driver; `None` without one).
    #[serde(default)]
    pub counters: Option<DestCounters>,
}

/// A destination's IPVS counters (summed over a group's services).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct DestCounters {
    /// Connections scheduled since it was added.
    pub conns: u64,
    /// Active connections.
    pub active: u32,
    /// Inactive connections.
    pub inactive: u32,
    /// Incoming packets.
    pub in_pkts: u64,
    /// Outgoing packets.
    #[serde(default)]
    pub out_pkts: u64,
    /// Incoming bytes.
    #[serde(default)]
    pub in_bytes: u64,
    /// Outgoing bytes.
    #[serde(default)]
    pub out_bytes: u64,
}

impl DestCounters {
    pub(crate) fn add(self, b: DestCounters) -> DestCounters {
        DestCounters {
            conns: self.conns.saturating_add(b.conns),
            active: self.active.saturating_add(b.active),
            inactive: self.inactive.saturating_add(b.inactive),
            in_pkts: self.in_pkts.saturating_add(b.in_pkts),
            out_pkts: self.out_pkts.saturating_add(b.out_pkts),
            in_bytes: self.in_bytes.saturating_add(b.in_bytes),
            out_bytes: self.out_bytes.saturating_add(b.out_bytes),
        }
    }
}

/// Status of one virtual server.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VirtualServerStatus {
    /// `[192.0.2.250]:tcp:80`.
    pub service: String,
    /// Scheduler.
    pub scheduler: String,
    /// Persistence timeout in seconds.
    pub persistence_s: Option<u32>,
    /// Quorum is up.
    pub quorum_up: bool,
    /// The sorry server is in the table instead of the real servers.
    pub sorry_active: bool,
    /// Whether the table is programmed (false without IPVS).
    pub programmed: bool,
    /// Health transitions seen since start.
    pub transitions: u64,
    /// Its checks are suspended (`ha_suspend` and no address of it is local).
    #[serde(default)]
    pub suspended: bool,
    /// The real servers.
    pub real_servers: Vec<RealServerStatus>,
}

/// Merge the kernel's per-destination counters into the status (`services`: each
/// virtual server's services and real server addresses, in status order).
pub(crate) fn add_counters<'a>(
    st: &mut [VirtualServerStatus],
    services: impl Iterator<Item = (&'a [keel_ipvs::ServiceKey], Vec<std::net::IpAddr>)>,
    list: &[(keel_ipvs::ServiceEntry, Vec<keel_ipvs::DestEntry>)],
) {
    for ((keys, addrs), s) in services.zip(st.iter_mut()) {
        let entries: Vec<&keel_ipvs::DestEntry> = list
            .iter()
            .filter(|(e, _)| keys.contains(&e.service.key))
            .flat_map(|(_, dests)| dests.iter())
            .collect();
        if entries.is_empty() {
            continue;
        }
        for (addr, rs) in addrs.iter().zip(s.real_servers.iter_mut()) {
            rs.counters = entries
                .iter()
                .filter(|e| e.dest.addr == *addr)
                .map(|e| DestCounters {
                    conns: e.stats.conns,
                    active: e.active_conns,
                    inactive: e.inactive_conns,
                    in_pkts: e.stats.in_pkts,
                    out_pkts: e.stats.out_pkts,
                    in_bytes: e.stats.in_bytes,
                    out_bytes: e.stats.out_bytes,
                })
                .reduce(DestCounters::add);
        }
    }
}

/// The virtual servers as text (`keeld status`).
pub fn render(vss: &[VirtualServerStatus]) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    for v in vss {
        let _ = writeln!(
            o,
            "{} {}{} quorum {}{}{}{}  transitions {}",
            v.service,
            v.scheduler,
            v.persistence_s
                .map(|p| format!(" persistent {p}s"))
                .unwrap_or_default(),
            if v.quorum_up { "up" } else { "LOST" },
            if v.sorry_active {
                " (sorry server)"
            } else {
                ""
            },
            if v.programmed {
                ""
            } else {
                "  NOT PROGRAMMED (no IPVS)"
            },
            if v.suspended {
                "  CHECKS SUSPENDED (ha_suspend)"
            } else {
                ""
            },
            v.transitions
        );
        for r in &v.real_servers {
            let _ = writeln!(
                o,
                "    {}  {:<4}  weight {}/{}  ipvs {}",
                r.server,
                if r.alive { "UP" } else { "DOWN" },
                r.effective_weight,
                r.weight,
                r.ipvs_weight.map_or("-".to_owned(), |w| w.to_string())
            );
            if let Some(c) = r.counters {
                let _ = writeln!(
                    o,
                    "        conns {}  active {}  inactive {}  in_pkts {}",
                    c.conns, c.active, c.inactive, c.in_pkts
                );
            }
        }
    }
    o
}
