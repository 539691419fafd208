//! Prometheus metrics of a director (feature `metrics`), made with
//! prometheus-client from one status snapshot ([`crate::DriverHandle::status`]).
//!
//! node_exporter's IPVS names for the services keel manages (the totals are
//! the sums over keel's real servers, not the whole kernel table):
//! `node_ipvs_connections_total`, `node_ipvs_{incoming,outgoing}_{packets,bytes}_total`,
//! `node_ipvs_backend_connections_{active,inactive}` and `node_ipvs_backend_weight`
//! labelled `{local_address,local_port,remote_address,remote_port,proto,local_mark}`
//! (a fwmark service has an empty address, port 0 and its mark; a group's
//! service has its label as `local_address`). keel's own: `keel_real_server_up`,
//! `keel_real_server_checkers`, `keel_virtual_server_quorum_up`,
//! `keel_virtual_server_transitions_total`.
//!
//! ```
//! let mut registry = prometheus_client::registry::Registry::default();
//! keel_director::metrics::register(&mut registry, &[]);
//! let mut text = String::new();
//! prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
//! assert!(text.contains("# TYPE node_ipvs_connections counter"));
//! ```
use crate::status::{DestCounters, VirtualServerStatus};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

pub use prometheus_client;

type Labels = Vec<(&'static str, String)>;

/// (address, port, proto, mark) of a `[addr]:proto:port` or `FWM n` label.
fn parse(label: &str) -> (String, String, String, String) {
    if let Some(m) = label.strip_prefix("FWM ") {
        return (String::new(), "0".into(), String::new(), m.to_owned());
    }
    let parsed = label.strip_prefix('[').and_then(|r| {
        let (addr, rest) = r.split_once("]:")?;
        let (proto, port) = rest.split_once(':')?;
        Some((
            addr.to_owned(),
            port.to_owned(),
            proto.to_uppercase(),
            String::new(),
        ))
    });
    parsed.unwrap_or_else(|| (label.to_owned(), "0".into(), String::new(), String::new()))
}

/// Register the metrics of `vss` (one snapshot) in `registry`.
pub fn register(registry: &mut Registry, vss: &[VirtualServerStatus]) {
    let total: DestCounters = vss
        .iter()
        .flat_map(|v| v.real_servers.iter().filter_map(|r| r.counters))
        .fold(DestCounters::default(), DestCounters::add);
    for (name, help, v) in [
        (
            "node_ipvs_connections",
            "Connections scheduled (keel's services)",
            total.conns,
        ),
        (
            "node_ipvs_incoming_packets",
            "Incoming packets (keel's services)",
            total.in_pkts,
        ),
        (
            "node_ipvs_outgoing_packets",
            "Outgoing packets (keel's services)",
            total.out_pkts,
        ),
        (
            "node_ipvs_incoming_bytes",
            "Incoming bytes (keel's services)",
            total.in_bytes,
        ),
        (
            "node_ipvs_outgoing_bytes",
            "Outgoing bytes (keel's services)",
            total.out_bytes,
        ),
    ] {
        let c = Counter::<u64>::default();
        c.inc_by(v);
        registry.register(name, help, c);
    }
    let active = Family::<Labels, Gauge>::default();
    let inactive = Family::<Labels, Gauge>::default();
    let weight = Family::<Labels, Gauge>::default();
    let up = Family::<Labels, Gauge>::default();
    let checkers = Family::<Labels, Gauge>::default();
    let quorum = Family::<Labels, Gauge>::default();
    let transitions = Family::<Labels, Counter>::default();
    for v in vss {
        let vs = vec![("virtual_server", v.service.clone())];
        quorum.get_or_create(&vs).set(i64::from(v.quorum_up));
        transitions.get_or_create(&vs).inc_by(v.transitions);
        let (la, lp, proto, mark) = parse(&v.service);
        for r in &v.real_servers {
            let rs = vec![
                ("virtual_server", v.service.clone()),
                ("real_server", r.server.clone()),
            ];
            up.get_or_create(&rs).set(i64::from(r.alive));
            checkers
                .get_or_create(&rs)
                .set(i64::try_from(r.checkers).unwrap_or(i64::MAX));
            let (ra, rp, _, _) = parse(&r.server);
            let l = vec![
                ("local_address", la.clone()),
                ("local_port", lp.clone()),
                ("remote_address", ra),
                ("remote_port", rp),
                ("proto", proto.clone()),
                ("local_mark", mark.clone()),
            ];
            if let Some(w) = r.ipvs_weight {
                weight.get_or_create(&l).set(i64::from(w));
            }
            if let Some(c) = r.counters {
                active.get_or_create(&l).set(i64::from(c.active));
                inactive.get_or_create(&l).set(i64::from(c.inactive));
            }
        }
    }
    registry.register(
        "node_ipvs_backend_connections_active",
        "Active connections to a real server",
        active,
    );
    registry.register(
        "node_ipvs_backend_connections_inactive",
        "Inactive connections to a real server",
        inactive,
    );
    registry.register(
        "node_ipvs_backend_weight",
        "Weight of a real server in the IPVS table",
        weight,
    );
    registry.register(
        "keel_real_server_up",
        "Every checker of the real server is up",
        up,
    );
    registry.register(
        "keel_real_server_checkers",
        "Checkers of the real server",
        checkers,
    );
    registry.register("keel_virtual_server_quorum_up", "Quorum is up", quorum);
    registry.register(
        "keel_virtual_server_transitions",
        "Health transitions of the virtual server's real servers",
        transitions,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::RealServerStatus;

    #[test]
    fn node_exporter_labels() {
        let rs = RealServerStatus {
            server: "[192.0.2.12]:tcp:8080".into(),
            alive: true,
            weight: 3,
            effective_weight: 3,
            checkers: 1,
            ipvs_weight: Some(3),
            counters: Some(DestCounters {
                conns: 10,
                active: 2,
                inactive: 1,
                in_pkts: 40,
                out_pkts: 30,
                in_bytes: 4000,
                out_bytes: 3000,
            }),
        };
        let vs = VirtualServerStatus {
            service: "[192.0.2.250]:tcp:80".into(),
            scheduler: "rr".into(),
            persistence_s: None,
            quorum_up: true,
            sorry_active: false,
            programmed: true,
            transitions: 4,
            suspended: false,
            real_servers: vec![rs],
        };
        let mut reg = Registry::default();
        register(&mut reg, &[vs]);
        let mut t = String::new();
        prometheus_client::encoding::text::encode(&mut t, &reg).unwrap();
        let l = r#"{local_address="192.0.2.250",local_port="80",remote_address="192.0.2.12",remote_port="8080",proto="TCP",local_mark=""}"#;
        for want in [
            "node_ipvs_connections_total 10\n".to_owned(),
            "node_ipvs_incoming_packets_total 40\n".into(),
            "node_ipvs_outgoing_packets_total 30\n".into(),
            "node_ipvs_incoming_bytes_total 4000\n".into(),
            "node_ipvs_outgoing_bytes_total 3000\n".into(),
            format!("node_ipvs_backend_connections_active{l} 2\n"),
            format!("node_ipvs_backend_connections_inactive{l} 1\n"),
            format!("node_ipvs_backend_weight{l} 3\n"),
            "keel_virtual_server_transitions_total{virtual_server=\"[192.0.2.250]:tcp:80\"} 4\n"
                .into(),
        ] {
            assert!(t.contains(&want), "{want}: {t}");
        }
        assert_eq!(
            parse("FWM 7"),
            (String::new(), "0".into(), String::new(), "7".into())
        );
    }
}
