use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Duration;

use super::{Datagram, EmitError, Emitter};
use crate::daemon::{DaemonAddress, Endpoint};
use crate::diag::RateLimit;

/// How long the background sender waits between batches.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_millis(10);
/// The most bytes waiting for the background sender; past this, documents are dropped (and
/// counted) rather than letting a stalled network grow memory.
pub const MAX_PENDING_BYTES: usize = 4 * 1024 * 1024;
/// With this many documents waiting, the background sender is woken before its interval.
const WAKE_AT: usize = 64;

/// Sends datagrams to the daemon over UDP.
///
/// Two modes:
///
/// - [`UdpEmitter::new`] (the recorder's default outside Lambda): `send` appends the datagram to
///   a buffer and returns; a background thread sends everything buffered every
///   [`DEFAULT_FLUSH_INTERVAL`] (or as soon as 64 documents wait). The request path pays a
///   `memcpy`, not a system call, and the daemon is woken once per batch instead of once per
///   document — on a small VM that wake-up is most of what a UDP send costs. At most
///   [`MAX_PENDING_BYTES`] wait; beyond that documents are dropped and counted. Call
///   [`Recorder::flush`](crate::Recorder::flush) before a short-lived program exits.
/// - [`UdpEmitter::synchronous`] (the default in AWS Lambda, where the process is frozen between
///   invocations): `send` sends at once, one system call per document.
///
/// Either way the socket is non-blocking and connected to the daemon address, so sending never
/// waits: when the socket buffer is full the document is dropped and counted. A daemon address
/// given as a host name is resolved on a background thread (retrying until it resolves, so a
/// daemon whose DNS name appears after the application starts is found); until then documents
/// are dropped and counted.
///
/// # Examples
///
/// ```no_run
/// use xray_core::{Recorder, daemon::DaemonAddress, emit::UdpEmitter};
///
/// let emitter = UdpEmitter::new(&"127.0.0.1:2000".parse::<DaemonAddress>()?);
/// let recorder = Recorder::builder().emitter(emitter).build()?;
/// // ... at the end of a short-lived program:
/// recorder.flush();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct UdpEmitter {
    inner: Arc<Inner>,
}

struct Inner {
    target: Endpoint,
    socket: OnceLock<UdpSocket>,
    /// Shared with the sender thread, which must not keep `Inner` alive while it waits: dropping
    /// the last emitter flushes at once.
    batch: Option<Arc<Batch>>,
}

/// The background mode's state.
struct Batch {
    pending: Mutex<Pending>,
    /// Held while a batch is on its way, so `flush` returns only after everything queued
    /// before it was sent, and batches go out in order.
    sending: Mutex<Spare>,
    wake: Condvar,
    stop: AtomicBool,
    /// Documents accepted by `send` that the background sender then failed to send.
    undelivered: AtomicU64,
    errors: RateLimit,
    interval: Duration,
}

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

/// The buffer the sender swaps in, so the steady state allocates nothing.
#[derive(Default)]
struct Spare(Pending);

impl UdpEmitter {
    /// Creates an emitter for the UDP endpoint of `address` that sends from a background thread
    /// in batches.
    ///
    /// This never fails: problems (an unresolvable name, no network, no thread) are logged; the
    /// emitter then sends synchronously, or drops documents until the name resolves.
    pub fn new(address: &DaemonAddress) -> Self {
        Self::with_interval(address, DEFAULT_FLUSH_INTERVAL)
    }

    /// Like [`UdpEmitter::new`], with another interval between batches.
    pub fn with_interval(address: &DaemonAddress, interval: Duration) -> Self {
        let batch = Batch {
            pending: Mutex::new(Pending::default()),
            sending: Mutex::new(Spare::default()),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
            undelivered: AtomicU64::new(0),
            errors: RateLimit::new(Duration::from_secs(60)),
            interval,
        };
        let batch = Arc::new(batch);
        let emitter = Self::build(address, Some(batch.clone()));
        let weak = Arc::downgrade(&emitter.inner);
        let spawned = std::thread::Builder::new()
            .name("xray-emitter".into())
            .spawn(move || background_sender(weak, batch));
        match spawned {
            Ok(_) => emitter,
            Err(err) => {
                tracing::error!(target: "xray", error = %err, "could not start the X-Ray sender thread; sending synchronously");
                Self::synchronous(address)
            }
        }
    }

    /// Creates an emitter that sends each document as it is handed over (one system call per
    /// document, nothing buffered).
    pub fn synchronous(address: &DaemonAddress) -> Self {
        Self::build(address, None)
    }

    fn build(address: &DaemonAddress, batch: Option<Arc<Batch>>) -> Self {
        let inner = Arc::new(Inner {
            target: address.udp().clone(),
            socket: OnceLock::new(),
            batch,
        });
        match inner.target.socket_addr() {
            Some(addr) => inner.connect(addr),
            None => {
                let weak = Arc::downgrade(&inner);
                let spawned = std::thread::Builder::new()
                    .name("xray-resolve".into())
                    .spawn(move || resolve_loop(weak));
                if let Err(err) = spawned {
                    tracing::error!(target: "xray", error = %err, "could not start the daemon address resolver");
                }
            }
        }
        Self { inner }
    }

    /// The configured daemon endpoint.
    pub fn target(&self) -> &Endpoint {
        &self.inner.target
    }

    /// The resolved socket address of the daemon, once known.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.inner.socket.get().and_then(|s| s.peer_addr().ok())
    }

    /// Whether documents are sent from a background thread.
    pub fn is_batched(&self) -> bool {
        self.inner.batch.is_some()
    }
}

impl Inner {
    fn connect(&self, addr: SocketAddr) {
        let bind: SocketAddr = if addr.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(bind)
            .and_then(|s| s.connect(addr).map(|()| s))
            .and_then(|s| s.set_nonblocking(true).map(|()| s));
        match socket {
            Ok(s) => {
                let _ = self.socket.set(s);
                tracing::debug!(target: "xray", daemon = %addr, "UDP emitter ready");
            }
            Err(err) => {
                tracing::error!(target: "xray", daemon = %addr, error = %err, "could not open the UDP socket for the X-Ray daemon; segments will be dropped");
            }
        }
    }

    fn send_now(&self, bytes: &[u8]) -> Result<(), EmitError> {
        let socket = self
            .socket
            .get()
            .ok_or(EmitError::not_ready("daemon address not resolved yet"))?;
        socket.send(bytes).map(|_| ()).map_err(EmitError::io)
    }

    /// Sends everything pending, in order, on the calling thread.
    fn flush(&self, batch: &Batch) {
        let mut spare = lock(&batch.sending);
        {
            let mut pending = lock(&batch.pending);
            if pending.ends.is_empty() {
                return;
            }
            std::mem::swap(&mut *pending, &mut spare.0);
        }
        let mut start = 0;
        for &end in &spare.0.ends {
            if let Err(err) = self.send_now(&spare.0.bytes[start..end]) {
                batch.undelivered.fetch_add(1, Ordering::Relaxed);
                if let Some(suppressed) = batch.errors.allow() {
                    tracing::warn!(
                        target: "xray",
                        daemon = %self.target,
                        error = %err,
                        source = ?std::error::Error::source(&err).map(ToString::to_string),
                        suppressed,
                        "could not send a segment to the X-Ray daemon; dropped"
                    );
                }
            }
            start = end;
        }
        spare.0.bytes.clear();
        spare.0.ends.clear();
        if spare.0.bytes.capacity() > MAX_PENDING_BYTES / 4 {
            spare.0.bytes.shrink_to(64 * 1024);
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(batch) = &self.batch {
            batch.stop.store(true, Ordering::Relaxed);
            batch.wake.notify_all();
            self.flush(batch);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing in these critical sections can panic half-way; a poisoned lock still holds
    // consistent data.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn background_sender(weak: Weak<Inner>, batch: Arc<Batch>) {
    loop {
        {
            let pending = lock(&batch.pending);
            if pending.ends.len() < WAKE_AT && !batch.stop.load(Ordering::Relaxed) {
                let _ = batch.wake.wait_timeout(pending, batch.interval);
            }
        }
        if batch.stop.load(Ordering::Relaxed) {
            return;
        }
        let Some(inner) = weak.upgrade() else {
            return;
        };
        inner.flush(&batch);
        // `inner` is dropped before the next wait, so the emitter can go away between batches.
    }
}

fn resolve_loop(weak: Weak<Inner>) {
    let mut delay = Duration::from_millis(500);
    let mut logged = false;
    loop {
        let Some(inner) = weak.upgrade() else {
            return;
        };
        let target = format!("{}:{}", inner.target.host(), inner.target.port());
        match target.to_socket_addrs().map(|mut it| it.next()) {
            Ok(Some(addr)) => {
                inner.connect(addr);
                return;
            }
            Ok(None) | Err(_) if !logged => {
                tracing::warn!(target: "xray", daemon = %target, "cannot resolve the X-Ray daemon address yet; segments are dropped until it resolves (retrying)");
                logged = true;
            }
            _ => {}
        }
        drop(inner);
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}

impl Emitter for UdpEmitter {
    fn send(&self, datagram: Datagram<'_>) -> Result<(), EmitError> {
        let Some(batch) = &self.inner.batch else {
            return self.inner.send_now(datagram.bytes());
        };
        if self.inner.socket.get().is_none() {
            return Err(EmitError::not_ready("daemon address not resolved yet"));
        }
        let bytes = datagram.bytes();
        let mut pending = lock(&batch.pending);
        if pending.bytes.len() + bytes.len() > MAX_PENDING_BYTES {
            return Err(EmitError::not_ready(
                "too many documents waiting to be sent (the sender thread is behind)",
            ));
        }
        pending.bytes.extend_from_slice(bytes);
        let end = pending.bytes.len();
        pending.ends.push(end);
        if pending.ends.len() == WAKE_AT {
            batch.wake.notify_one();
        }
        Ok(())
    }

    fn flush(&self) {
        if let Some(batch) = &self.inner.batch {
            self.inner.flush(batch);
        }
    }

    fn undelivered(&self) -> u64 {
        self.inner
            .batch
            .as_ref()
            .map_or(0, |b| b.undelivered.load(Ordering::Relaxed))
    }
}

impl fmt::Debug for UdpEmitter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpEmitter")
            .field("target", &self.inner.target)
            .field("ready", &self.inner.socket.get().is_some())
            .field("batched", &self.inner.batch.is_some())
            .finish()
    }
}
