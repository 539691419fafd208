//! Skew time and master-down interval (RFC 3768 §6.1, RFC 5798 §6.1).
//!
//! keepalived computes these in integer microseconds, truncating:
//! VRRPv2 `Skew_Time = (256 - Priority) / 256 s` (independent of the
//! interval); VRRPv3 `Skew_Time = ((256 - Priority) × Master_Adver_Interval) / 256`;
//! both `Master_Down_Interval = 3 × interval + Skew_Time`. [`skew_time`] and
//! [`master_down_interval`] return exactly what keepalived uses (e.g. 613 281 µs
//! for priority 99 in VRRPv2). The `_cs` forms are the RFC 5798 formulas in
//! whole centiseconds (truncated), as the RFC writes them.

use crate::Version;
use std::time::Duration;

/// Microseconds per centisecond.
const US_PER_CS: u64 = 10_000;

/// Skew time in whole microseconds (truncated), as keepalived computes it.
///
/// `adver_int_cs` is the (master's) advertisement interval in centiseconds;
/// VRRPv2 ignores it, as RFC 3768 does.
pub const fn skew_time(version: Version, priority: u8, adver_int_cs: u16) -> Duration {
    let weight = 256 - priority as u64;
    let us = match version {
        Version::V2 => weight * 1_000_000 / 256,
        Version::V3 => weight * adver_int_cs as u64 * US_PER_CS / 256,
    };
    Duration::from_micros(us)
}

/// Master-down interval, `3 × adver_int + skew_time`, in whole microseconds.
pub const fn master_down_interval(version: Version, priority: u8, adver_int_cs: u16) -> Duration {
    let skew = skew_time(version, priority, adver_int_cs).as_micros() as u64;
    Duration::from_micros(3 * adver_int_cs as u64 * US_PER_CS + skew)
}

/// RFC 5798 skew time in centiseconds: `((256 - priority) × adver_int_cs) / 256`, truncated.
pub const fn skew_time_cs(priority: u8, adver_int_cs: u16) -> u32 {
    (256 - priority as u32) * adver_int_cs as u32 / 256
}

/// RFC 5798 master-down interval in centiseconds: `3 × adver_int_cs + skew_time_cs`.
pub const fn master_down_interval_cs(priority: u8, adver_int_cs: u16) -> u32 {
    3 * adver_int_cs as u32 + skew_time_cs(priority, adver_int_cs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalived_measured_values() {
        // keepalived-facts.md: v2, advert 1 s, prio 99: skew 613 ms, down 3613 ms.
        assert_eq!(
            skew_time(Version::V2, 99, 100),
            Duration::from_micros(613_281)
        );
        assert_eq!(
            master_down_interval(Version::V2, 99, 100),
            Duration::from_micros(3_613_281)
        );
        // v2 skew does not depend on the interval.
        assert_eq!(
            skew_time(Version::V2, 99, 500),
            Duration::from_micros(613_281)
        );
        // v3, advert 0.1 s, prio 99: skew 61.3 ms, down 361 ms.
        assert_eq!(
            skew_time(Version::V3, 99, 10),
            Duration::from_micros(61_328)
        );
        assert_eq!(
            master_down_interval(Version::V3, 99, 10),
            Duration::from_micros(361_328)
        );
    }

    #[test]
    fn extremes() {
        assert_eq!(
            skew_time(Version::V2, 255, 100),
            Duration::from_micros(3_906)
        );
        assert_eq!(skew_time(Version::V2, 0, 100), Duration::from_secs(1));
        assert_eq!(
            skew_time(Version::V3, 0, 4095),
            Duration::from_millis(40_950)
        );
        assert_eq!(
            master_down_interval(Version::V3, 0, 4095),
            Duration::from_millis(4 * 40_950)
        );
        assert_eq!(skew_time_cs(0, 4095), 4095);
        assert_eq!(master_down_interval_cs(0, 4095), 4 * 4095);
    }

    #[test]
    fn centisecond_forms() {
        // 157 × 100 / 256 = 61.33 -> 61 cs; 157 × 10 / 256 = 6.13 -> 6 cs.
        assert_eq!(skew_time_cs(99, 100), 61);
        assert_eq!(master_down_interval_cs(99, 100), 361);
        assert_eq!(skew_time_cs(99, 10), 6);
        assert_eq!(master_down_interval_cs(99, 10), 36);
        assert_eq!(skew_time_cs(255, 100), 0);
    }

    #[test]
    fn cs_form_is_the_truncated_us_form_for_v3() {
        for prio in [0u8, 1, 50, 99, 100, 254, 255] {
            for adv in [1u16, 7, 10, 100, 333, 4095] {
                let us = skew_time(Version::V3, prio, adv).as_micros() as u64;
                assert_eq!(
                    u64::from(skew_time_cs(prio, adv)),
                    us / 10_000,
                    "prio {prio} adv {adv}"
                );
            }
        }
    }
}
