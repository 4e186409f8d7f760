//! The daemon's tasks share one log limiter.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::log_limit::LogLimit;

/// Allows one log line per key per interval, from any task.
#[derive(Debug)]
pub(crate) struct LogLimiter(Mutex<LogLimit>);

impl LogLimiter {
    pub(crate) fn new(every: Duration) -> Self {
        Self(Mutex::new(LogLimit::new(every)))
    }

    pub(crate) fn allow(&self, key: &'static str) -> bool {
        let mut limit = self.0.lock().unwrap_or_else(|e| e.into_inner());
        limit.allow(key, Instant::now()).is_some()
    }
}
