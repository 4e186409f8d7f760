//! Request statistics of nodes and edges.

use std::time::Duration;

use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};

use crate::trace::{TraceNode, millis};

/// Request statistics of a node or an edge.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallStats {
    errors: u64,
    faults: u64,
    throttles: u64,
    failed: u64,
    /// Microseconds, one per request.
    durations: Vec<u64>,
}

impl CallStats {
    pub(super) fn add(&mut self, node: &TraceNode) -> bool {
        let Some(d) = node.duration() else {
            return false;
        };
        self.durations
            .push(u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
        self.errors += u64::from(node.error());
        self.faults += u64::from(node.fault());
        self.throttles += u64::from(node.throttle());
        self.failed += u64::from(node.error() || node.fault());
        true
    }

    pub(super) fn merge(&mut self, other: &CallStats) {
        self.errors += other.errors;
        self.faults += other.faults;
        self.throttles += other.throttles;
        self.failed += other.failed;
        self.durations.extend_from_slice(&other.durations);
    }

    /// The number of requests.
    pub fn requests(&self) -> u64 {
        self.durations.len() as u64
    }

    /// Requests with neither `error` nor `fault`.
    pub fn ok(&self) -> u64 {
        self.requests() - self.failed
    }

    /// Requests with the `error` flag (4xx, 429 included).
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// Requests with the `fault` flag (5xx, exceptions).
    pub fn faults(&self) -> u64 {
        self.faults
    }

    /// Requests with the `throttle` flag (429, AWS throttling).
    pub fn throttles(&self) -> u64 {
        self.throttles
    }

    fn rate(&self, n: u64) -> f64 {
        if self.durations.is_empty() {
            0.0
        } else {
            n as f64 / self.durations.len() as f64
        }
    }

    /// `errors / requests`, from 0 to 1 (0 without requests).
    pub fn error_rate(&self) -> f64 {
        self.rate(self.errors)
    }

    /// `faults / requests`, from 0 to 1 (0 without requests).
    pub fn fault_rate(&self) -> f64 {
        self.rate(self.faults)
    }

    /// `throttles / requests`, from 0 to 1 (0 without requests).
    pub fn throttle_rate(&self) -> f64 {
        self.rate(self.throttles)
    }

    /// The average latency, unless there were no requests.
    pub fn avg(&self) -> Option<Duration> {
        if self.durations.is_empty() {
            return None;
        }
        let sum: u128 = self.durations.iter().map(|&d| u128::from(d)).sum();
        let avg = sum / self.durations.len() as u128;
        Some(Duration::from_micros(
            u64::try_from(avg).unwrap_or(u64::MAX),
        ))
    }

    /// The sum of the requests' latencies (X-Ray's `TotalResponseTime`).
    pub fn total_time(&self) -> Duration {
        let sum: u128 = self.durations.iter().map(|&d| u128::from(d)).sum();
        Duration::from_micros(u64::try_from(sum).unwrap_or(u64::MAX))
    }

    /// Each request's latency in microseconds, in the order they were counted.
    pub(crate) fn durations_micros(&self) -> &[u64] {
        &self.durations
    }

    /// The 95th-percentile latency (nearest rank), unless there were no requests.
    pub fn p95(&self) -> Option<Duration> {
        self.percentile(95)
    }

    /// The `p`th-percentile latency by the nearest-rank method (`p` from 1 to 100), unless
    /// there were no requests.
    pub fn percentile(&self, p: u8) -> Option<Duration> {
        if self.durations.is_empty() {
            return None;
        }
        let mut sorted = self.durations.clone();
        sorted.sort_unstable();
        let n = sorted.len();
        let rank = (usize::from(p.clamp(1, 100)) * n).div_ceil(100);
        let micros = sorted[rank.clamp(1, n) - 1];
        Some(Duration::from_micros(micros))
    }
}

impl Serialize for CallStats {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("CallStats", 10)?;
        st.serialize_field("requests", &self.requests())?;
        st.serialize_field("ok", &self.ok())?;
        st.serialize_field("errors", &self.errors)?;
        st.serialize_field("faults", &self.faults)?;
        st.serialize_field("throttles", &self.throttles)?;
        st.serialize_field("error_rate", &self.error_rate())?;
        st.serialize_field("fault_rate", &self.fault_rate())?;
        st.serialize_field("throttle_rate", &self.throttle_rate())?;
        st.serialize_field("avg_ms", &self.avg().map(millis))?;
        st.serialize_field("p95_ms", &self.p95().map(millis))?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut s = CallStats::default();
        assert_eq!((s.avg(), s.p95(), s.error_rate()), (None, None, 0.0));
        s.durations = (1..=20).map(|ms| ms * 1000).collect();
        assert_eq!(s.p95(), Some(Duration::from_millis(19)));
        assert_eq!(s.percentile(100), Some(Duration::from_millis(20)));
        assert_eq!(s.percentile(50), Some(Duration::from_millis(10)));
        assert_eq!(s.avg(), Some(Duration::from_micros(10_500)));
        s.durations = vec![7000];
        assert_eq!(s.p95(), Some(Duration::from_millis(7)));
    }
}
