//! Rate-limited logging: one line per kind of event per interval.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Allows one log line per key per `every`.
#[derive(Debug)]
pub(crate) struct LogLimiter {
    every: Duration,
    last: Mutex<HashMap<&'static str, Instant>>,
}

impl LogLimiter {
    pub(crate) fn new(every: Duration) -> Self {
        Self {
            every,
            last: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn allow(&self, key: &'static str) -> bool {
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        match last.get(key) {
            Some(at) if now.duration_since(*at) < self.every => false,
            _ => {
                last.insert(key, now);
                true
            }
        }
    }
}
