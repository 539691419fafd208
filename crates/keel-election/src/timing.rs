//! Exact VRRP timer arithmetic, in microseconds.
//!
//! * RFC 5798 §6.1 (v3): `Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256`,
//!   `Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time`.
//! * RFC 3768 §6.1 (v2): `Skew_Time = (256 - Priority) / 256` seconds (independent
//!   of the advertisement interval), `Master_Down_Interval = 3 * Advertisement_Interval + Skew_Time`.
//!
//! Results are truncated to whole microseconds: priority 99 at 1 s gives
//! 613 281 µs (keepalived measured 613 ms), v3 at 0.1 s gives 61 328 µs and a
//! master-down interval of 361 328 µs.

use crate::Version;
use std::time::Duration;

/// Microseconds in one centisecond.
const US_PER_CS: u64 = 10_000;

/// An advertisement interval in centiseconds as a [`Duration`].
pub fn adver_interval(adver_int_cs: u16) -> Duration {
    Duration::from_micros(u64::from(adver_int_cs) * US_PER_CS)
}

/// Skew_Time for `priority` (use the effective priority) and the master's
/// advertisement interval in centiseconds (keel-packet's exact arithmetic).
pub fn skew_time(version: Version, priority: u8, master_adver_int_cs: u16) -> Duration {
    keel_packet::skew_time(version, priority, master_adver_int_cs)
}

/// Master_Down_Interval = 3 × Master_Adver_Interval + Skew_Time.
pub fn master_down_interval(version: Version, priority: u8, master_adver_int_cs: u16) -> Duration {
    keel_packet::master_down_interval(version, priority, master_adver_int_cs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalived_measured_values() {
        // keepalived-facts.md: prio 99 at 1 s: skew 613 ms, master-down 3613 ms.
        assert_eq!(
            skew_time(Version::V2, 99, 100),
            Duration::from_micros(613_281)
        );
        assert_eq!(
            master_down_interval(Version::V2, 99, 100),
            Duration::from_micros(3_613_281)
        );
        // v3 at 0.1 s: skew 61.3 ms, master-down 361 ms.
        assert_eq!(
            skew_time(Version::V3, 99, 10),
            Duration::from_micros(61_328)
        );
        assert_eq!(
            master_down_interval(Version::V3, 99, 10),
            Duration::from_micros(361_328)
        );
        // v2 skew does not scale with the interval (RFC 3768), v3 does (RFC 5798).
        assert_eq!(
            skew_time(Version::V2, 99, 300),
            Duration::from_micros(613_281)
        );
        assert_eq!(
            skew_time(Version::V3, 99, 300),
            Duration::from_micros(1_839_843)
        );
        // Owner and extreme values stay in range.
        assert_eq!(
            skew_time(Version::V3, 255, 4095),
            Duration::from_micros(159_960)
        );
        assert_eq!(skew_time(Version::V3, 0, 1), Duration::from_micros(10_000));
    }
}
