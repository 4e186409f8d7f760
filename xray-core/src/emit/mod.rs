//! Sending documents to the X-Ray daemon.
//!
//! An [`Emitter`] receives finished documents as ready-made daemon datagrams: the header line
//! `{"format": "json", "version": 1}`, a newline, and one JSON document. The recorder serializes,
//! enforces the size limit (streaming subsegments out, then truncating metadata, never sending a
//! datagram over [`MAX_DATAGRAM_BYTES`]) and counts what was sent and dropped (see
//! [`EmitStats`]); the emitter only moves bytes.
//!
//! - [`UdpEmitter`] speaks the daemon protocol to `AWS_XRAY_DAEMON_ADDRESS`: the X-Ray daemon, the
//!   OpenTelemetry collector's `awsxrayreceiver` and the CloudWatch agent all accept it. Sends are
//!   non-blocking: a full socket buffer drops the document (counted) rather than stall a request.
//! - [`MemoryEmitter`] keeps documents in memory for tests.

pub(crate) mod json;
mod memory;
pub(crate) mod pack;
mod udp;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

pub use self::memory::MemoryEmitter;
pub use self::udp::{DEFAULT_FLUSH_INTERVAL, MAX_PENDING_BYTES, UdpEmitter};

/// The protocol header line every datagram starts with (the form the X-Ray developer guide, Go
/// and Java use), newline included.
pub const DAEMON_HEADER: &[u8] = b"{\"format\": \"json\", \"version\": 1}\n";

/// The largest datagram (header line included) ever sent. The daemon reads 64 KiB per datagram
/// and IPv4 UDP carries at most 65,507 bytes; staying at 64,000 leaves room on every path.
pub const MAX_DATAGRAM_BYTES: usize = 64_000;

/// One document as it goes on the wire: the daemon header line followed by the JSON document.
#[derive(Debug, Clone, Copy)]
pub struct Datagram<'a> {
    bytes: &'a [u8],
}

impl<'a> Datagram<'a> {
    /// Wraps a full datagram (header line and document).
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// The whole datagram: header line, newline, document.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The JSON document alone.
    pub fn document(&self) -> &'a [u8] {
        self.bytes.get(DAEMON_HEADER.len()..).unwrap_or(&[])
    }
}

/// Moves finished documents somewhere. Implementations must be cheap and must not block: they run
/// on the thread that ended the segment, usually a request's.
pub trait Emitter: Send + Sync + fmt::Debug + 'static {
    /// Sends one datagram.
    ///
    /// # Errors
    ///
    /// An error means the document was not sent; the recorder counts it as dropped and logs a
    /// rate-limited warning. It never reaches the application.
    fn send(&self, datagram: Datagram<'_>) -> Result<(), EmitError>;

    /// Sends whatever the emitter buffered, before returning. Emitters that send at once need not
    /// implement this; emitters that wrap another must forward it (and
    /// [`undelivered`](Self::undelivered)).
    fn flush(&self) {}

    /// How many documents `send` accepted that the emitter later failed to deliver (a buffering
    /// emitter learns of failures after `send` returned). The recorder moves them from `sent` to
    /// `dropped` in [`EmitStats`].
    fn undelivered(&self) -> u64 {
        0
    }
}

impl<E: Emitter + ?Sized> Emitter for std::sync::Arc<E> {
    fn send(&self, datagram: Datagram<'_>) -> Result<(), EmitError> {
        (**self).send(datagram)
    }

    fn flush(&self) {
        (**self).flush();
    }

    fn undelivered(&self) -> u64 {
        (**self).undelivered()
    }
}

/// Why a document was not sent.
#[derive(Debug)]
pub struct EmitError {
    kind: EmitErrorKind,
}

#[derive(Debug)]
enum EmitErrorKind {
    Io(std::io::Error),
    NotReady(&'static str),
    Other(Box<dyn std::error::Error + Send + Sync>),
}

impl EmitError {
    /// An I/O error from the transport.
    pub fn io(err: std::io::Error) -> Self {
        Self {
            kind: EmitErrorKind::Io(err),
        }
    }

    /// Any other failure of a custom emitter.
    pub fn other(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            kind: EmitErrorKind::Other(err.into()),
        }
    }

    pub(crate) fn not_ready(why: &'static str) -> Self {
        Self {
            kind: EmitErrorKind::NotReady(why),
        }
    }

    /// Whether the transport reported that its buffer was full (`EAGAIN`).
    pub fn is_would_block(&self) -> bool {
        matches!(&self.kind, EmitErrorKind::Io(e) if e.kind() == std::io::ErrorKind::WouldBlock)
    }
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            EmitErrorKind::Io(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                f.write_str("socket send buffer full")
            }
            EmitErrorKind::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                f.write_str("nothing listens at the daemon address (connection refused)")
            }
            EmitErrorKind::Io(_) => f.write_str("send failed"),
            EmitErrorKind::NotReady(why) => f.write_str(why),
            EmitErrorKind::Other(_) => f.write_str("emitter failed"),
        }
    }
}

impl std::error::Error for EmitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            EmitErrorKind::Io(e) => Some(e),
            EmitErrorKind::NotReady(_) => None,
            EmitErrorKind::Other(e) => Some(&**e),
        }
    }
}

/// Counters of what a recorder did with finished documents. Every document that was ready to
/// send ends up either in `sent` or in `dropped`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EmitStats {
    /// Documents handed to the transport successfully.
    pub sent: u64,
    /// Documents that were not sent: transport errors, full buffers, or too large even after
    /// streaming and truncation.
    pub dropped: u64,
    /// Of `sent` and `dropped`, documents that were subsegments streamed out of their segment.
    pub streamed: u64,
    /// Documents that had metadata or long strings removed to fit in a datagram.
    pub truncated: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) sent: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) streamed: AtomicU64,
    pub(crate) truncated: AtomicU64,
}

impl Counters {
    /// The counters, with `undelivered` documents (accepted, then lost by the emitter) moved from
    /// `sent` to `dropped`.
    pub(crate) fn snapshot(&self, undelivered: u64) -> EmitStats {
        let sent = self.sent.load(Ordering::Relaxed);
        let undelivered = undelivered.min(sent);
        EmitStats {
            sent: sent - undelivered,
            dropped: self.dropped.load(Ordering::Relaxed) + undelivered,
            streamed: self.streamed.load(Ordering::Relaxed),
            truncated: self.truncated.load(Ordering::Relaxed),
        }
    }
}
