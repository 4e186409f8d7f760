//! The daemon's counters: what came in, what went out, what was lost and why.

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use serde::Serialize;

/// Why the daemon rejected a datagram (the official daemon's reasons, plus one of ours).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DatagramRejectKind {
    /// No newline, or nothing after the first newline.
    MissingHeaderOrDocument,
    /// The first line is not a `{"format": "json", "version": 1}` header.
    InvalidHeader,
    /// The document is not UTF-8 (the AWS SDK for Rust sends documents as strings).
    NotUtf8,
}

impl DatagramRejectKind {
    /// Every kind, in the order reports list them.
    pub const ALL: [DatagramRejectKind; 3] = [
        DatagramRejectKind::MissingHeaderOrDocument,
        DatagramRejectKind::InvalidHeader,
        DatagramRejectKind::NotUtf8,
    ];

    /// The stable snake_case name used in metrics, e.g. `invalid_header`.
    pub const fn as_str(self) -> &'static str {
        match self {
            DatagramRejectKind::MissingHeaderOrDocument => "missing_header_or_document",
            DatagramRejectKind::InvalidHeader => "invalid_header",
            DatagramRejectKind::NotUtf8 => "not_utf8",
        }
    }
}

impl fmt::Display for DatagramRejectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Live counters, shared by the daemon's tasks.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) received: AtomicU64,
    pub(crate) rejected: [AtomicU64; 3],
    pub(crate) accepted: AtomicU64,
    pub(crate) uploaded: AtomicU64,
    pub(crate) batches: AtomicU64,
    pub(crate) largest_batch: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) unprocessed: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) proxied: AtomicU64,
    pub(crate) proxy_errors: AtomicU64,
}

impl Counters {
    pub(crate) fn reject(&self, kind: DatagramRejectKind) {
        let i = DatagramRejectKind::ALL
            .iter()
            .position(|k| *k == kind)
            .unwrap_or(0);
        self.rejected[i].fetch_add(1, Relaxed);
    }

    pub(crate) fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Relaxed);
    }

    pub(crate) fn snapshot(
        &self,
        queued: usize,
        queued_bytes: usize,
        in_flight: usize,
    ) -> DaemonMetrics {
        let rejected = DatagramRejectKind::ALL
            .iter()
            .zip(&self.rejected)
            .map(|(k, c)| (*k, c.load(Relaxed)))
            .collect();
        DaemonMetrics {
            received: self.received.load(Relaxed),
            rejected,
            accepted: self.accepted.load(Relaxed),
            queued: queued as u64,
            queued_bytes: queued_bytes as u64,
            in_flight: in_flight as u64,
            uploaded: self.uploaded.load(Relaxed),
            batches: self.batches.load(Relaxed),
            largest_batch: self.largest_batch.load(Relaxed),
            retries: self.retries.load(Relaxed),
            dropped: self.dropped.load(Relaxed),
            unprocessed: self.unprocessed.load(Relaxed),
            failed: self.failed.load(Relaxed),
            proxied: self.proxied.load(Relaxed),
            proxy_errors: self.proxy_errors.load(Relaxed),
        }
    }
}

/// A snapshot of the daemon's counters ([`Daemon::metrics`](super::Daemon::metrics)).
///
/// Every accepted document ends up in exactly one of `uploaded`, `dropped`, `unprocessed` and
/// `failed`, or is still `queued` or `in_flight`:
/// `accepted == uploaded + dropped + unprocessed + failed + queued + in_flight`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DaemonMetrics {
    /// Datagrams read from the UDP socket.
    pub received: u64,
    /// Datagrams rejected, by reason.
    pub rejected: Vec<(DatagramRejectKind, u64)>,
    /// Documents put in the buffer.
    pub accepted: u64,
    /// Documents waiting in the buffer now.
    pub queued: u64,
    /// Bytes of the documents waiting in the buffer now.
    pub queued_bytes: u64,
    /// Documents in an upload (or waiting to retry one) now.
    pub in_flight: u64,
    /// Documents X-Ray accepted.
    pub uploaded: u64,
    /// Successful `PutTraceSegments` calls.
    pub batches: u64,
    /// The most documents sent in one call (never more than 50).
    pub largest_batch: u64,
    /// Calls retried after throttling, a 5xx answer, a timeout or a connection error, and
    /// documents sent again after X-Ray returned them as unprocessed.
    pub retries: u64,
    /// Documents dropped because the buffer was full (the oldest waiting document goes).
    pub dropped: u64,
    /// Documents X-Ray still returned as unprocessed after the last retry.
    pub unprocessed: u64,
    /// Documents lost to an error that retrying cannot fix (e.g. credentials refused), or still
    /// unsent when the shutdown deadline passed.
    pub failed: u64,
    /// Requests forwarded by the sampling proxy.
    pub proxied: u64,
    /// Proxy requests that got no answer from X-Ray (answered 502 to the SDK).
    pub proxy_errors: u64,
}

impl DaemonMetrics {
    /// Datagrams rejected, all reasons together.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.iter().map(|(_, n)| n).sum()
    }

    /// The Prometheus text exposition of these metrics, as served on `GET /metrics`.
    pub fn to_prometheus(&self) -> String {
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, kind: &str, value: u64| {
            let _ = write!(
                out,
                "# HELP xray_daemon_{name} {help}\n# TYPE xray_daemon_{name} {kind}\nxray_daemon_{name} {value}\n"
            );
        };
        counter(
            "received_total",
            "Datagrams received.",
            "counter",
            self.received,
        );
        counter(
            "accepted_total",
            "Documents buffered.",
            "counter",
            self.accepted,
        );
        counter(
            "queued",
            "Documents waiting in the buffer.",
            "gauge",
            self.queued,
        );
        counter(
            "queued_bytes",
            "Bytes waiting in the buffer.",
            "gauge",
            self.queued_bytes,
        );
        counter(
            "in_flight",
            "Documents being uploaded.",
            "gauge",
            self.in_flight,
        );
        counter(
            "uploaded_total",
            "Documents accepted by X-Ray.",
            "counter",
            self.uploaded,
        );
        counter(
            "batches_total",
            "Successful PutTraceSegments calls.",
            "counter",
            self.batches,
        );
        counter(
            "retries_total",
            "Retried calls and documents.",
            "counter",
            self.retries,
        );
        counter(
            "dropped_total",
            "Documents dropped, buffer full.",
            "counter",
            self.dropped,
        );
        counter(
            "unprocessed_total",
            "Documents X-Ray returned as unprocessed after the last retry.",
            "counter",
            self.unprocessed,
        );
        counter(
            "failed_total",
            "Documents lost to errors or shutdown.",
            "counter",
            self.failed,
        );
        counter(
            "proxied_total",
            "Sampling proxy requests.",
            "counter",
            self.proxied,
        );
        counter(
            "proxy_errors_total",
            "Sampling proxy requests without answer.",
            "counter",
            self.proxy_errors,
        );
        out.push_str("# HELP xray_daemon_rejected_total Datagrams rejected.\n# TYPE xray_daemon_rejected_total counter\n");
        for (kind, n) in &self.rejected {
            let _ = writeln!(out, "xray_daemon_rejected_total{{reason=\"{kind}\"}} {n}");
        }
        out
    }
}

impl fmt::Display for DaemonMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "received {}, rejected {}, queued {} ({} bytes), in flight {}, uploaded {} in {} batches (largest {}), \
             retried {}, dropped {}, unprocessed {}, failed {}, proxied {} ({} errors)",
            self.received,
            self.rejected_total(),
            self.queued,
            self.queued_bytes,
            self.in_flight,
            self.uploaded,
            self.batches,
            self.largest_batch,
            self.retries,
            self.dropped,
            self.unprocessed,
            self.failed,
            self.proxied,
            self.proxy_errors,
        )
    }
}
