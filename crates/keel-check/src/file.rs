//! FILE_CHECK: a tracked file's value.

use crate::event::ProbeError;
use crate::probe::{Failure, Success};
use crate::spec::FileSpec;

/// keepalived's `strtol(buf, NULL, 0)` on the first 127 bytes: leading white space,
/// a sign, `0x` hex / `0` octal / decimal digits; no digits reads as 0.
pub(crate) fn parse_value(bytes: &[u8]) -> i64 {
    let b = &bytes[..bytes.len().min(127)];
    let mut i = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    let neg = match b.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let (radix, start) = match (b.get(i), b.get(i + 1)) {
        (Some(b'0'), Some(b'x' | b'X')) if b.get(i + 2).is_some_and(u8::is_ascii_hexdigit) => {
            (16, i + 2)
        }
        (Some(b'0'), _) => (8, i),
        _ => (10, i),
    };
    let mut v: i64 = 0;
    for c in &b[start..] {
        let Some(d) = char::from(*c).to_digit(radix) else {
            break;
        };
        v = v
            .saturating_mul(i64::from(radix))
            .saturating_add(i64::from(d));
    }
    if neg { -v } else { v }
}

/// Write `init_file`'s value (keepalived at start: when the file is missing, or always
/// with `overwrite`; never over something that is not a regular file).
pub(crate) async fn init(spec: &FileSpec) {
    let Some((value, overwrite)) = spec.init else {
        return;
    };
    match tokio::fs::metadata(&spec.path).await {
        Ok(m) if !overwrite || !m.is_file() => return,
        _ => {}
    }
    let _ = tokio::fs::write(&spec.path, format!("{value}\n")).await;
}

/// One read of the file: up with a weight offset, or down.
pub(crate) async fn file(spec: &FileSpec) -> Result<Success, Failure> {
    let value = match tokio::fs::read(&spec.path).await {
        Ok(b) => parse_value(&b),
        Err(_) => 0,
    };
    // keepalived ignores values outside the 32-bit range; keel reads them as the bound.
    let value = value.clamp(i64::from(i32::MIN), i64::from(i32::MAX) + 1);
    match spec.status(value) {
        Some(offset) => Ok(Success::File(offset)),
        None => Err(ProbeError::FileFault(value).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtol_like() {
        assert_eq!(parse_value(b"  42\n"), 42);
        assert_eq!(parse_value(b"-7"), -7);
        assert_eq!(parse_value(b"0x10"), 16);
        assert_eq!(parse_value(b"010"), 8);
        assert_eq!(parse_value(b"abc"), 0);
        assert_eq!(parse_value(b""), 0);
        assert_eq!(parse_value(b"12abc"), 12);
    }

    #[test]
    fn status_follows_keepalived() {
        let mut f = FileSpec::new("/nonexistent");
        f.weight = 0;
        assert_eq!(f.status(0), Some(0));
        assert_eq!(f.status(3), None);
        f.reverse = true;
        assert_eq!(f.status(0), None);
        assert_eq!(f.status(3), Some(0));
        f.reverse = false;
        f.weight = 10;
        assert_eq!(f.status(-2), Some(-20));
        f.reverse = true;
        assert_eq!(f.status(-2), Some(20));
        f.reverse = false;
        assert_eq!(f.status(i64::from(i32::MIN)), None);
    }
}
