//! Prometheus metrics of a node (feature `metrics`), encoded by
//! prometheus-client from one [`NodeStatus`] snapshot: register the snapshot
//! as a collector and a scrape sees every instance as of one moment.
//!
//! Names follow mehdy/keepalived-exporter, so its dashboards keep working:
//! `keepalived_vrrp_state{iname,intf,vrid,ip_address}` (0 INIT, 1 BACKUP,
//! 2 MASTER, 3 FAULT), counters `keepalived_*_total{iname,intf,vrid,state}`,
//! `keepalived_script_status{name}` (1 good) and `keepalived_script_state{name}`
//! (1 running, 0 idle); keel's own are `keel_vrrp_dropped_total{iname,reason}`
//! and the `keel_timer_lateness_seconds` histogram.
//!
//! ```
//! use keel_node::status::NodeStatus;
//! let mut registry = prometheus_client::registry::Registry::default();
//! keel_node::metrics::register(&mut registry, NodeStatus::default());
//! let mut text = String::new();
//! prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
//! assert!(text.contains("# TYPE keel_timer_lateness_seconds histogram"));
//! ```
use crate::status::{InstanceStatus, NodeStatus};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

pub use prometheus_client;

/// keepalived-exporter's counters: (metric name without `_total`, help,
/// [`InstanceStatus::counters`] key).
pub const INSTANCE_COUNTERS: [(&str, &str, &str); 14] = [
    (
        "keepalived_advertisements_received",
        "Advertisements received",
        "adverts_rx",
    ),
    (
        "keepalived_advertisements_sent",
        "Advertisements sent",
        "adverts_tx",
    ),
    (
        "keepalived_become_master",
        "Became master",
        "master_transitions",
    ),
    (
        "keepalived_release_master",
        "Released master",
        "release_master",
    ),
    (
        "keepalived_packet_length_errors",
        "Packet length errors",
        "packet_length_errors",
    ),
    (
        "keepalived_advertisements_interval_errors",
        "Advertisement interval errors",
        "interval_errors",
    ),
    ("keepalived_ip_ttl_errors", "TTL errors", "ttl_errors"),
    (
        "keepalived_invalid_type_received",
        "Invalid type errors",
        "invalid_type",
    ),
    (
        "keepalived_address_list_errors",
        "Address list errors",
        "address_list_errors",
    ),
    (
        "keepalived_authentication_invalid",
        "Authentication invalid",
        "invalid_auth_type",
    ),
    (
        "keepalived_authentication_mismatch",
        "Authentication mismatch",
        "auth_type_mismatch",
    ),
    (
        "keepalived_authentication_failure",
        "Authentication failure",
        "auth_failures",
    ),
    (
        "keepalived_priority_zero_received",
        "Priority zero received",
        "priority_zero_rx",
    ),
    (
        "keepalived_priority_zero_sent",
        "Priority zero sent",
        "priority_zero_tx",
    ),
];

/// keepalived-exporter's number for a state word.
pub fn state_number(state: &str) -> u64 {
    match state {
        "BACKUP" => 1,
        "MASTER" => 2,
        "FAULT" => 3,
        _ => 0,
    }
}

/// Register `snapshot` in `registry`: every scrape encodes it as it is.
pub fn register(registry: &mut Registry, snapshot: NodeStatus) {
    registry.register_collector(Box::new(snapshot));
}

type Labels = Vec<(&'static str, String)>;

fn inst_labels(i: &InstanceStatus) -> Labels {
    vec![
        ("iname", i.name.clone()),
        ("intf", i.interface.clone()),
        ("vrid", i.vrid.to_string()),
        ("state", i.state.clone()),
    ]
}

/// One family: its rows (labels, value) encoded as `kind`.
fn family<V>(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    kind: MetricType,
    rows: impl IntoIterator<Item = (Labels, V)>,
) -> Result<(), std::fmt::Error>
where
    V: prometheus_client::encoding::EncodeGaugeValue
        + prometheus_client::encoding::EncodeCounterValue,
{
    let mut m = enc.encode_descriptor(name, help, None, kind)?;
    for (labels, v) in rows {
        let mut e = m.encode_family(&labels)?;
        match kind {
            MetricType::Counter => e.encode_counter::<NoLabelSet, V, u64>(&v, None)?,
            _ => e.encode_gauge(&v)?,
        }
    }
    Ok(())
}

impl Collector for NodeStatus {
    fn encode(&self, mut enc: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let insts = &self.instances;
        family(
            &mut enc,
            "keepalived_vrrp_state",
            "State of vrrp (0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT)",
            MetricType::Gauge,
            insts.iter().flat_map(|i| {
                i.vips.iter().map(move |v| {
                    let mut l = inst_labels(i);
                    l[3] = ("ip_address", v.split('/').next().unwrap_or(v).to_owned());
                    (l, state_number(&i.state))
                })
            }),
        )?;
        for (name, help, key) in INSTANCE_COUNTERS {
            family(
                &mut enc,
                name,
                help,
                MetricType::Counter,
                insts.iter().map(|i| {
                    let v = i.counters.get(key).copied().unwrap_or(0);
                    (inst_labels(i), v)
                }),
            )?;
        }
        family(
            &mut enc,
            "keepalived_gratuitous_arp_delay",
            "Gratuitous ARP delay (garp_master_delay, seconds)",
            MetricType::Counter,
            insts
                .iter()
                .map(|i| (inst_labels(i), i.garp_master_delay_s)),
        )?;
        let scripts = |f: fn(&crate::status::ScriptStatus) -> u64| {
            self.scripts
                .iter()
                .map(move |s| (vec![("name", s.name.clone())], f(s)))
        };
        family(
            &mut enc,
            "keepalived_script_status",
            "Tracking script result (1 good, 0 bad)",
            MetricType::Gauge,
            scripts(|s| u64::from(s.up)),
        )?;
        family(
            &mut enc,
            "keepalived_script_state",
            "Tracking script run state (1 running, 0 idle)",
            MetricType::Gauge,
            scripts(|s| u64::from(s.running)),
        )?;
        family(
            &mut enc,
            "keel_vrrp_dropped",
            "Received VRRP packets dropped, by reason",
            MetricType::Counter,
            insts.iter().flat_map(|i| {
                i.dropped
                    .iter()
                    .map(|(r, v)| (vec![("iname", i.name.clone()), ("reason", r.clone())], *v))
            }),
        )?;
        family(
            &mut enc,
            "keel_vrrp_dropped_unmatched",
            "Received VRRP packets no instance has, dropped, by reason",
            MetricType::Counter,
            self.dropped_unmatched
                .iter()
                .map(|(r, v)| (vec![("reason", r.clone())], *v)),
        )?;
        family(
            &mut enc,
            "keel_vrrp_priority",
            "Effective priority (after tracking)",
            MetricType::Gauge,
            insts
                .iter()
                .map(|i| (inst_labels(i), u64::from(i.effective_priority))),
        )?;
        // the lateness histogram: cumulative buckets in seconds
        let mut m = enc.encode_descriptor(
            "keel_timer_lateness_seconds",
            "How late instance timers were handled",
            None,
            MetricType::Histogram,
        )?;
        let buckets: Vec<(f64, u64)> = self
            .timer_late_hist
            .iter()
            .map(|b| (b.le_ms.map_or(f64::INFINITY, |ms| ms / 1000.0), b.count))
            .collect();
        let total = buckets.iter().map(|b| b.1).sum();
        let sum = self.timer_late_sum_ms / 1000.0;
        m.encode_histogram::<NoLabelSet>(sum, total, &buckets, None)?;
        family(
            &mut enc,
            "keel_timer_lateness_max_seconds",
            "Worst timer lateness seen",
            MetricType::Gauge,
            [(Vec::new(), self.max_timer_late_ms / 1000.0)],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{ScriptStatus, late_hist};

    #[test]
    fn names_labels_and_values() {
        let mut i = InstanceStatus {
            name: "VI_1".into(),
            interface: "veth0".into(),
            vrid: 51,
            state: "MASTER".into(),
            vips: vec!["192.0.2.250/32".into()],
            ..Default::default()
        };
        for k in crate::status::COUNTERS {
            i.counters.insert(k.into(), 7);
        }
        i.dropped.insert("auth".into(), 3);
        let mut s = NodeStatus::default();
        s.instances.push(i);
        s.scripts.push(ScriptStatus {
            name: "chk".into(),
            up: true,
            ..Default::default()
        });
        s.timer_late_hist = late_hist(&[5, 2, 0, 0, 0, 0, 0, 0, 0, 1]);
        s.timer_late_sum_ms = 250.0;
        let mut reg = Registry::default();
        register(&mut reg, s);
        let mut t = String::new();
        prometheus_client::encoding::text::encode(&mut t, &reg).unwrap();
        let l = r#"{iname="VI_1",intf="veth0",vrid="51",state="MASTER"}"#;
        for (name, _, _) in INSTANCE_COUNTERS {
            assert!(t.contains(&format!("{name}_total{l} 7\n")), "{name}: {t}");
        }
        assert!(t.contains(r#"keepalived_vrrp_state{iname="VI_1",intf="veth0",vrid="51",ip_address="192.0.2.250"} 2"#), "{t}");
        assert!(
            t.contains(r#"keepalived_script_status{name="chk"} 1"#),
            "{t}"
        );
        assert!(
            t.contains(r#"keepalived_script_state{name="chk"} 0"#),
            "{t}"
        );
        assert!(
            t.contains(r#"keel_vrrp_dropped_total{iname="VI_1",reason="auth"} 3"#),
            "{t}"
        );
        assert!(t.contains("keel_timer_lateness_seconds_sum 0.25\n"), "{t}");
        assert!(t.contains("keel_timer_lateness_seconds_count 8\n"), "{t}");
        assert!(
            t.contains(r#"keel_timer_lateness_seconds_bucket{le="0.0005"} 7"#),
            "{t}"
        );
        assert!(
            t.contains(r#"keel_timer_lateness_seconds_bucket{le="+Inf"} 8"#),
            "{t}"
        );
    }
}
