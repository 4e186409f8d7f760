use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A point in time as X-Ray writes it: Unix epoch seconds as a JSON number with microsecond
/// precision, e.g. `1480615200.010123`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use xray_core::model::Timestamp;
///
/// let start = Timestamp::from_secs_f64(1480615200.010);
/// let end = start + Duration::from_millis(5);
/// assert_eq!(end.duration_since(start), Duration::from_millis(5));
/// assert_eq!(serde_json::to_string(&end)?, "1480615200.015");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, PartialOrd, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(f64);

impl Timestamp {
    /// The current wall-clock time.
    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now())
    }

    /// Converts a `SystemTime`, rounding to whole microseconds.
    pub fn from_system_time(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Self::from_micros(d.as_micros() as u64),
            Err(_) => Self(0.0),
        }
    }

    /// From whole microseconds since the epoch.
    pub fn from_micros(micros: u64) -> Self {
        // Dividing the exact integer keeps the float at the nearest value to the microsecond,
        // which prints with at most six decimals.
        Self(micros as f64 / 1e6)
    }

    /// From fractional seconds since the epoch.
    pub const fn from_secs_f64(secs: f64) -> Self {
        Self(secs)
    }

    /// Seconds since the epoch.
    pub const fn as_secs_f64(self) -> f64 {
        self.0
    }

    /// Microseconds since the epoch, rounded.
    pub fn as_micros(self) -> u64 {
        (self.0 * 1e6).round().max(0.0) as u64
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn duration_since(self, earlier: Timestamp) -> Duration {
        Duration::from_micros(self.as_micros().saturating_sub(earlier.as_micros()))
    }
}

impl std::ops::Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, d: Duration) -> Timestamp {
        Timestamp::from_micros(self.as_micros().saturating_add(d.as_micros() as u64))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({:.6})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_microseconds() {
        let t = Timestamp::from_micros(1_732_743_129_123_456);
        assert_eq!(serde_json::to_string(&t).unwrap(), "1732743129.123456");
        let now = Timestamp::now();
        let text = serde_json::to_string(&now).unwrap();
        let decimals = text.split('.').nth(1).map_or(0, str::len);
        assert!(decimals <= 6, "{text}");
        assert!(!text.contains('e') && !text.contains('"'));
    }

    #[test]
    fn parses_exponent_form() {
        let t: Timestamp = serde_json::from_str("1.478293361271E9").unwrap();
        assert_eq!(t.as_micros(), 1_478_293_361_271_000);
    }
}
