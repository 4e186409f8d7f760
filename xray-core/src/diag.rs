//! Rate-limited diagnostics, so a missing daemon or a context-less background job produces one
//! line a minute instead of one per request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use once_cell::sync::Lazy;

static START: Lazy<Instant> = Lazy::new(Instant::now);

/// Allows one event per period and counts the ones it suppressed in between.
#[derive(Debug)]
pub(crate) struct RateLimit {
    period_ms: u64,
    /// Milliseconds since `START` before which events are suppressed; `u64::MAX` = never logged.
    next_ms: AtomicU64,
    suppressed: AtomicU64,
}

impl RateLimit {
    pub(crate) const fn new(period: Duration) -> Self {
        Self {
            period_ms: period.as_millis() as u64,
            next_ms: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(n)` when this event may be logged, `n` being how many were suppressed since the
    /// last one that was.
    pub(crate) fn allow(&self) -> Option<u64> {
        let now = START.elapsed().as_millis() as u64;
        let next = self.next_ms.load(Ordering::Relaxed);
        if now >= next
            && self
                .next_ms
                .compare_exchange(
                    next,
                    now + self.period_ms,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Ordering::Relaxed));
        }
        self.suppressed.fetch_add(1, Ordering::Relaxed);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_per_period() {
        let r = RateLimit::new(Duration::from_secs(3600));
        assert_eq!(r.allow(), Some(0));
        assert_eq!(r.allow(), None);
        assert_eq!(r.allow(), None);
        let fast = RateLimit::new(Duration::from_millis(0));
        assert_eq!(fast.allow(), Some(0));
        assert!(fast.allow().is_some());
    }
}
