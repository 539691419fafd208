//! Parsers for keepalived value syntaxes (timers, numbers, booleans, addresses).

use std::net::IpAddr;
use std::time::Duration;

/// `<TIMER>`: seconds with an optional fraction, resolution one microsecond.
pub(crate) fn parse_secs(s: &str) -> Option<Duration> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    if secs > 1_000_000_000 {
        return None;
    }
    let mut micros: u32 = 0;
    for (i, d) in frac.bytes().enumerate() {
        if i >= 6 {
            break;
        }
        micros = micros * 10 + u32::from(d - b'0');
    }
    for _ in frac.len().min(6)..6 {
        micros *= 10;
    }
    Some(Duration::new(secs, micros * 1000))
}

/// Format a duration as keepalived seconds (`1`, `0.5`, `2.000001`).
pub(crate) fn fmt_secs(d: Duration) -> String {
    let micros = d.subsec_micros();
    if micros == 0 {
        d.as_secs().to_string()
    } else {
        let f = format!("{micros:06}");
        format!("{}.{}", d.as_secs(), f.trim_end_matches('0'))
    }
}

/// keepalived `<BOOL>`.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" => Some(true),
        "off" | "false" | "no" => Some(false),
        _ => None,
    }
}

/// A decimal integer (leading `+` not allowed).
pub(crate) fn parse_int(s: &str) -> Option<i64> {
    let t = s.strip_prefix('-').unwrap_or(s);
    if t.is_empty() || t.len() > 18 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `ADDR` or `ADDR/PREFIX`: address and prefix (default full length).
pub(crate) fn parse_addr_prefix(s: &str) -> Result<(IpAddr, u8), String> {
    let (a, p) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let addr: IpAddr = a
        .parse()
        .map_err(|_| format!("'{a}' is not an IP address"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match p {
        None => max,
        Some(p) => match p.parse::<u8>() {
            Ok(n) if n <= max => n,
            _ => {
                return Err(format!(
                    "'/{p}' is not a prefix length for {} (0..{max})",
                    if max == 32 { "IPv4" } else { "IPv6" }
                ));
            }
        },
    };
    Ok((addr, prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers() {
        assert_eq!(parse_secs("1"), Some(Duration::from_secs(1)));
        assert_eq!(parse_secs("0.1"), Some(Duration::from_millis(100)));
        assert_eq!(
            parse_secs("2.71828"),
            Some(Duration::from_micros(2_718_280))
        );
        assert_eq!(parse_secs(".5"), Some(Duration::from_millis(500)));
        assert_eq!(
            parse_secs("1.0000019"),
            Some(Duration::from_micros(1_000_001))
        );
        assert_eq!(parse_secs("x"), None);
        assert_eq!(parse_secs("-1"), None);
        assert_eq!(parse_secs(""), None);
        assert_eq!(fmt_secs(Duration::from_micros(2_000_100)), "2.0001");
        assert_eq!(fmt_secs(Duration::from_secs(3)), "3");
    }

    #[test]
    fn bools_ints_addrs() {
        assert_eq!(parse_bool("Yes"), Some(true));
        assert_eq!(parse_bool("off"), Some(false));
        assert_eq!(parse_bool("2"), None);
        assert_eq!(parse_int("-12"), Some(-12));
        assert_eq!(parse_int("+1"), None);
        assert_eq!(parse_addr_prefix("192.0.2.1/24").unwrap().1, 24);
        assert_eq!(parse_addr_prefix("2001:db8::1").unwrap().1, 128);
        assert!(parse_addr_prefix("192.0.2.1/33").is_err());
    }
}
