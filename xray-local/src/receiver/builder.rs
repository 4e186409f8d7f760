//! Receiver settings and binding the socket.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{ToSocketAddrs, UdpSocket};
use tokio::sync::{broadcast, watch};

use super::{LocalReceiver, Shared, State, run};
use crate::datagram::DEFAULT_MAX_DATAGRAM_BYTES;
use crate::stats::ReceiverStats;
use crate::store::{Store, StoreConfig};

/// Asked of the kernel so bursts are not dropped before the task reads them (Linux caps it at
/// `net.core.rmem_max`).
const RECV_BUFFER_BYTES: usize = 4 * 1024 * 1024;

/// Configures a [`LocalReceiver`]. Made by [`LocalReceiver::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ReceiverBuilder {
    store: StoreConfig,
    max_datagram_bytes: usize,
}

impl Default for ReceiverBuilder {
    fn default() -> Self {
        Self {
            store: StoreConfig {
                quiet_period: Duration::from_millis(500),
                incomplete_timeout: Duration::from_secs(5),
                max_traces: 10_000,
                max_entities_per_trace: 10_000,
                max_age: None,
            },
            max_datagram_bytes: DEFAULT_MAX_DATAGRAM_BYTES,
        }
    }
}

impl ReceiverBuilder {
    /// How long a complete trace must go without new documents before it is finished (default
    /// 500 ms). Complete means every entity has ended and every parent and upstream caller it
    /// names has arrived; the quiet period leaves time for late segments of other services.
    pub fn quiet_period(mut self, quiet: Duration) -> Self {
        self.store.quiet_period = quiet;
        self
    }

    /// How long an incomplete trace may go without new documents before it is finished anyway
    /// (default 5 s): for subsegments whose parent never comes (a Lambda function's segment,
    /// which Lambda records) or a segment whose caller sends elsewhere.
    pub fn incomplete_timeout(mut self, timeout: Duration) -> Self {
        self.store.incomplete_timeout = timeout;
        self
    }

    /// The most traces kept (default 10,000); beyond it the least recently updated finished
    /// trace is forgotten.
    pub fn max_traces(mut self, max: usize) -> Self {
        self.store.max_traces = max.max(1);
        self
    }

    /// How long a finished trace is kept after its last document (default: no limit, only
    /// [`max_traces`](Self::max_traces) bounds the store); older ones are dropped at the next
    /// sweep and counted with the evicted traces.
    pub fn max_trace_age(mut self, max_age: Duration) -> Self {
        self.store.max_age = Some(max_age);
        self
    }

    /// The most entities kept per trace (default 10,000); more are dropped and counted.
    pub fn max_entities_per_trace(mut self, max: usize) -> Self {
        self.store.max_entities_per_trace = max.max(1);
        self
    }

    /// The largest datagram accepted (default 65,536 bytes, the daemon's buffer); larger ones
    /// are rejected as [`RejectKind::Oversized`](crate::RejectKind::Oversized).
    pub fn max_datagram_bytes(mut self, max: usize) -> Self {
        self.max_datagram_bytes = max;
        self
    }

    /// Binds the UDP socket and starts the receiver task on the current tokio runtime.
    ///
    /// `addr` may resolve to several addresses; the first that binds is used. Use port 0 for
    /// an ephemeral port and [`LocalReceiver::local_addr`] to learn it.
    ///
    /// # Errors
    ///
    /// The I/O error of resolving or binding the address (for example, the port is taken by a
    /// running X-Ray daemon).
    ///
    /// # Panics
    ///
    /// When called outside a tokio runtime (the receiver task needs one).
    pub async fn bind(self, addr: impl ToSocketAddrs) -> io::Result<LocalReceiver> {
        let mut last_error = None;
        for candidate in tokio::net::lookup_host(addr).await? {
            match bind_std(candidate) {
                Ok(socket) => return self.start(UdpSocket::from_std(socket)?),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "the address resolved to nothing",
            )
        }))
    }

    fn start(self, socket: UdpSocket) -> io::Result<LocalReceiver> {
        let local_addr = socket.local_addr()?;
        let tick = (self.store.quiet_period / 4)
            .clamp(Duration::from_millis(10), Duration::from_millis(250));
        let (finished_version, _) = watch::channel(0u64);
        let (events, _) = broadcast::channel(1024);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                store: Store::new(self.store),
                stats: ReceiverStats::default(),
                logs: crate::log_limit::LogLimit::new(super::LOG_EVERY),
            }),
            finished_version,
            events,
            max_datagram_bytes: self.max_datagram_bytes,
        });
        let task = tokio::spawn(run(socket, Arc::clone(&shared), tick));
        tracing::debug!(target: "xray", address = %local_addr, "local X-Ray receiver listening");
        Ok(LocalReceiver {
            shared,
            local_addr,
            task,
        })
    }
}

fn bind_std(addr: SocketAddr) -> io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if let Err(e) = socket.set_recv_buffer_size(RECV_BUFFER_BYTES) {
        tracing::debug!(target: "xray", error = %e, "could not enlarge the UDP receive buffer");
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    Ok(socket.into())
}
