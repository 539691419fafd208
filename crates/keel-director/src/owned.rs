//! The file of services keel created (so that a later run removes those no longer
//! configured): one service per line, `tcp ADDR PORT`, `udp ...`, `sctp ...`,
//! `fwmark inet|inet6 MARK`.
use std::collections::BTreeSet;
use std::io;
use std::path::Path;

use keel_ipvs::{Family, Protocol, ServiceKey};

pub(crate) fn format(k: &ServiceKey) -> String {
    match k {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => format!("{} {addr} {port}", protocol.as_str().to_ascii_lowercase()),
        ServiceKey::Fwmark { family, mark } => format!(
            "fwmark {} {mark}",
            match family {
                Family::Inet => "inet",
                Family::Inet6 => "inet6",
            }
        ),
    }
}

pub(crate) fn parse(line: &str) -> Option<ServiceKey> {
    let f: Vec<&str> = line.split_whitespace().collect();
    match f.as_slice() {
        ["fwmark", fam, mark] => Some(ServiceKey::Fwmark {
            family: match *fam {
                "inet" => Family::Inet,
                "inet6" => Family::Inet6,
                _ => return None,
            },
            mark: mark.parse().ok()?,
        }),
        [proto, addr, port] => Some(ServiceKey::Addr {
            protocol: match *proto {
                "tcp" => Protocol::Tcp,
                "udp" => Protocol::Udp,
                "sctp" => Protocol::Sctp,
                _ => return None,
            },
            addr: addr.parse().ok()?,
            port: port.parse().ok()?,
        }),
        _ => None,
    }
}

/// The services in the file (none when it is missing; unreadable lines are skipped).
pub(crate) fn read(path: &Path) -> Vec<ServiceKey> {
    std::fs::read_to_string(path)
        .map(|s| s.lines().filter_map(parse).collect())
        .unwrap_or_default()
}

/// Replace the file (written aside, then renamed).
pub(crate) fn write(path: &Path, keys: &BTreeSet<ServiceKey>) -> io::Result<()> {
    let mut text = String::from(
        "# services keel created (keel-director); removed when no longer configured\n",
    );
    for k in keys {
        text.push_str(&format(k));
        text.push('\n');
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_junk_is_skipped() {
        let keys = [
            ServiceKey::tcp("192.0.2.250".parse().unwrap(), 80),
            ServiceKey::udp("2001:db8::1".parse().unwrap(), 53),
            ServiceKey::sctp("192.0.2.1".parse().unwrap(), 9),
            ServiceKey::Fwmark {
                family: Family::Inet6,
                mark: 7,
            },
        ];
        for k in keys {
            assert_eq!(parse(&format(&k)), Some(k), "{}", format(&k));
        }
        for junk in [
            "",
            "# x",
            "tcp 192.0.2.1",
            "icmp 192.0.2.1 1",
            "fwmark ipx 1",
            "tcp x 80",
        ] {
            assert_eq!(parse(junk), None, "{junk}");
        }
    }
}
