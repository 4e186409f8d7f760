//! Rate-limited logging: one line per kind of problem per interval, counting the ones left out,
//! so a flood of bad datagrams or failed uploads cannot flood the log.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// When each kind of problem was last logged, and how many were not logged since.
#[derive(Debug)]
pub(crate) struct LogLimit {
    every: Duration,
    last: HashMap<&'static str, (Instant, u64)>,
}

impl LogLimit {
    pub(crate) fn new(every: Duration) -> Self {
        Self {
            every,
            last: HashMap::new(),
        }
    }

    /// Whether to log a problem of this kind now: at most one line per kind per interval.
    /// Returns the number of occurrences not logged since the last line.
    pub(crate) fn allow(&mut self, key: &'static str, now: Instant) -> Option<u64> {
        match self.last.get_mut(key) {
            Some((last, skipped)) if now.duration_since(*last) < self.every => {
                *skipped += 1;
                None
            }
            Some((last, skipped)) => {
                let n = *skipped;
                *last = now;
                *skipped = 0;
                Some(n)
            }
            None => {
                self.last.insert(key, (now, 0));
                Some(0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_kind_per_interval_with_the_count_left_out() {
        let mut limit = LogLimit::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(limit.allow("a", t0), Some(0));
        assert_eq!(limit.allow("a", t0 + Duration::from_secs(1)), None);
        assert_eq!(limit.allow("a", t0 + Duration::from_secs(2)), None);
        assert_eq!(limit.allow("b", t0 + Duration::from_secs(2)), Some(0));
        assert_eq!(limit.allow("a", t0 + Duration::from_secs(10)), Some(2));
    }
}
