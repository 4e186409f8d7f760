//! The time source of sampling decisions, injectable so that tests can simulate hours of traffic
//! without sleeping.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use once_cell::sync::Lazy;

/// Tells the time to samplers.
///
/// Samplers read the clock once per decision, so implementations must be cheap. Reservoirs count
/// per whole second of [`now`](Clock::now); centralized quotas and the rule cache expire by it.
///
/// # Examples
///
/// A clock a test moves by hand:
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::time::Duration;
/// use xray_core::sampling::Clock;
///
/// #[derive(Debug, Default)]
/// struct ManualClock(AtomicU64);
///
/// impl Clock for ManualClock {
///     fn now(&self) -> Duration {
///         Duration::from_millis(self.0.load(Ordering::Relaxed))
///     }
/// }
///
/// let clock = ManualClock::default();
/// clock.0.fetch_add(1_500, Ordering::Relaxed);
/// assert_eq!(clock.now().as_secs(), 1);
/// ```
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The time elapsed since the Unix epoch.
    fn now(&self) -> Duration;
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> Duration {
        (**self).now()
    }
}

/// The system's wall clock, read cheaply.
///
/// A precise `SystemTime::now()` costs about as much as the rest of a sampling decision, so this
/// clock reads the coarse monotonic clock (a few nanoseconds, millisecond resolution) and adds the
/// wall-clock offset taken at first use. The offset is re-read at least once a minute (by the
/// first reading after the minute is up, and by the centralized sampler's poller on every poll),
/// so a stepped wall clock is followed within a minute.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

static MONO_BASE: Lazy<coarsetime::Instant> =
    Lazy::new(coarsetime::Instant::now_without_cache_update);
/// Nanoseconds since the Unix epoch at `MONO_BASE`.
static WALL_AT_BASE: Lazy<AtomicU64> = Lazy::new(|| AtomicU64::new(wall_at_base()));
/// Monotonic nanoseconds (since `MONO_BASE`) after which the next reading re-reads the offset.
static NEXT_RESYNC: AtomicU64 = AtomicU64::new(RESYNC_EVERY_NANOS);
const RESYNC_EVERY_NANOS: u64 = 60_000_000_000;

fn wall_at_base() -> u64 {
    let wall = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mono = coarsetime::Instant::now_without_cache_update().duration_since(*MONO_BASE);
    let wall = u64::try_from(wall.as_nanos()).unwrap_or(u64::MAX);
    wall.saturating_sub(mono.as_nanos())
}

impl SystemClock {
    /// Re-reads the wall-clock offset (called from the poller thread, never per decision).
    pub(crate) fn resync() {
        WALL_AT_BASE.store(wall_at_base(), Ordering::Relaxed);
    }

    #[cold]
    fn resync_due(mono: u64, due: u64) {
        // One reader wins the right to resync; the others keep the old offset for this reading.
        if NEXT_RESYNC
            .compare_exchange(
                due,
                mono + RESYNC_EVERY_NANOS,
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_ok()
        {
            Self::resync();
        }
    }
}

impl Clock for SystemClock {
    #[inline]
    fn now(&self) -> Duration {
        let mono = coarsetime::Instant::now_without_cache_update()
            .duration_since(*MONO_BASE)
            .as_nanos();
        let due = NEXT_RESYNC.load(Ordering::Relaxed);
        if mono >= due {
            Self::resync_due(mono, due);
        }
        let base = WALL_AT_BASE.load(Ordering::Relaxed);
        Duration::from_nanos(base.saturating_add(mono))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_wall_clock() {
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let ours = SystemClock.now();
        let diff = ours.abs_diff(wall);
        // The coarse clock ticks every few milliseconds (one jiffy); allow generous slack.
        assert!(diff < Duration::from_millis(100), "off by {diff:?}");
        SystemClock::resync();
        let again = SystemClock.now();
        assert!(again.abs_diff(wall) < Duration::from_secs(1));
    }
}
