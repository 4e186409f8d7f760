//! `xray-local daemon`: a drop-in replacement for the AWS X-Ray daemon.
//!
//! Needs the `daemon` feature (on by default).
//!
//! [`Daemon`] listens where the official daemon does (UDP and TCP on `127.0.0.1:2000`),
//! accepts exactly the datagrams it accepts (a `{"format": "json", "version": 1}` header line,
//! then the document; anything else is rejected and counted by [`DatagramRejectKind`]), holds
//! the documents in a bounded buffer and uploads them to X-Ray with `PutTraceSegments`, at most
//! 50 per call and at least once a second, through the AWS SDK for Rust (credentials and region
//! from the standard `aws-config` chain).
//!
//! - **Retries.** Throttling, 5xx answers, timeouts and connection failures are retried with
//!   exponential backoff (100 ms doubling to 5 s, jittered) for as long as the daemon runs;
//!   documents X-Ray returns in `UnprocessedTraceSegments` are sent again up to 3 times, then
//!   counted as `unprocessed`. Nothing is lost without being counted: see [`DaemonMetrics`].
//! - **Buffer.** The budget ([`DaemonBuilder::buffer_bytes`]) covers every document held, queued
//!   or in an upload being retried. The default is the official daemon's: 1% of the host's
//!   memory, at least 3 MiB. When a new document does not fit, the oldest queued ones are
//!   dropped, as the official daemon's ring buffer does, and counted as `dropped`. (The
//!   official daemon reserves a 64 KiB slot per document; this buffer counts the documents'
//!   real size, so the same budget holds many more small documents.)
//! - **Shutdown.** [`Daemon::shutdown`] stops receiving, uploads what is held, and gives up at a
//!   deadline, counting what is left as `failed`.
//! - **Sampling proxy.** On TCP, every request but `GET /metrics` is an X-Ray API call from an
//!   SDK (`POST /GetSamplingRules`, `POST /SamplingTargets`, ...): it is signed with SigV4 for
//!   service `xray` and forwarded, body unchanged, to the regional endpoint (or the endpoint
//!   URL), and X-Ray's answer is passed back.
//! - **Metrics.** `GET /metrics` on the TCP address serves [`DaemonMetrics`] in the Prometheus
//!   text format, and [`DaemonBuilder::log_every`] logs them as one line (target `xray`, level
//!   info) when they changed.
//!
//! # The command line
//!
//! `xray-local daemon` runs a [`Daemon`] with the official daemon's option names
//! (`xray-local daemon --help` lists them all):
//!
//! | Official daemon | `xray-local daemon` | Builder |
//! |---|---|---|
//! | `-b/--bind ADDR` | the same | [`DaemonBuilder::udp`] |
//! | `-t/--bind-tcp ADDR` | the same | [`DaemonBuilder::tcp`] |
//! | `-n/--region REGION` | the same | [`DaemonBuilder::region`] |
//! | `-m/--buffer-memory MB` | the same (minimum 3) | [`DaemonBuilder::buffer_bytes`] |
//! | `-l/--log-level dev…prod` | the same (`prod` is info, `dev` trace) | `tracing` filter |
//! | `-o/--local-mode` | accepted, no effect | |
//! | `Endpoint` (config file) | `--endpoint-url URL` (or `AWS_ENDPOINT_URL`) | [`DaemonBuilder::endpoint_url`] |
//! | `Concurrency` (config file) | `--concurrency N` | [`DaemonBuilder::concurrency`] |
//! | `-c`, `-r`, `-a`, `-p`, `-f` | refused with an explanation | |
//! | | `--local`: also show traces and the service graph here | [`DaemonBuilder::forward_to`] |
//! | | `--no-upload` (with `--local`) | [`DaemonBuilder::upload`] |
//! | | `--metrics-every SECS` (default 60, 0 never) | [`DaemonBuilder::log_every`] |
//! | | `--shutdown-timeout SECS` (default 10) | [`Daemon::shutdown`] |
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use xray_local::daemon::Daemon;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let daemon = Daemon::builder()
//!     .region("eu-west-1")
//!     .start()
//!     .await?;
//! println!("listening on udp://{}", daemon.udp_addr());
//! // ... services send segments ...
//! let metrics = daemon.shutdown(Duration::from_secs(10)).await;
//! println!("{metrics}");
//! # Ok(()) }
//! ```

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_xray::config::retry::RetryConfig;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

mod buffer;
mod frame;
mod metrics;
mod proxy;
mod throttle;
mod upload;

pub use aws_credential_types::Credentials;
pub use metrics::{DaemonMetrics, DatagramRejectKind};

use self::buffer::Buffer;
use self::metrics::Counters;
use self::throttle::LogLimiter;

/// The official daemon's address, for UDP and TCP.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:2000";
/// The most documents `PutTraceSegments` takes in one call.
pub const MAX_BATCH: usize = 50;
/// The smallest buffer budget the official daemon accepts (3 MiB).
pub const MIN_BUFFER_BYTES: usize = 3 * 1024 * 1024;

const UDP_RECV_BUFFER: usize = 4 * 1024 * 1024;
/// At shutdown, the receiver stops after this long without a datagram.
const DRAIN_QUIET: Duration = Duration::from_millis(50);

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
    /// A socket could not be bound.
    #[error("cannot listen on {protocol}://{address}: {source}")]
    Bind {
        /// `udp` or `tcp`.
        protocol: &'static str,
        /// The address asked for.
        address: String,
        /// The I/O error.
        source: io::Error,
    },
    /// Neither `region` nor the `aws-config` chain (`AWS_REGION`, profile, instance metadata)
    /// named a region.
    #[error("no AWS region: pass --region (-n) or set AWS_REGION")]
    NoRegion,
    /// The HTTPS client could not be set up.
    #[error("{0}")]
    Tls(String),
}

/// Configures and starts a [`Daemon`].
#[derive(Debug, Clone)]
pub struct DaemonBuilder {
    udp: String,
    tcp: Option<String>,
    region: Option<String>,
    endpoint_url: Option<String>,
    credentials: Option<Credentials>,
    buffer_bytes: Option<usize>,
    batch_size: usize,
    flush_every: Duration,
    concurrency: usize,
    backoff: (Duration, Duration),
    forward_to: Option<SocketAddr>,
    upload: bool,
    log_every: Option<Duration>,
}

impl Default for DaemonBuilder {
    fn default() -> Self {
        Self {
            udp: DEFAULT_ADDRESS.to_owned(),
            tcp: Some(DEFAULT_ADDRESS.to_owned()),
            region: None,
            endpoint_url: None,
            credentials: None,
            buffer_bytes: None,
            batch_size: MAX_BATCH,
            flush_every: Duration::from_secs(1),
            concurrency: 8,
            backoff: (Duration::from_millis(100), Duration::from_secs(5)),
            forward_to: None,
            upload: true,
            log_every: None,
        }
    }
}

impl DaemonBuilder {
    /// The UDP address for segment documents (default `127.0.0.1:2000`; port 0 for any).
    pub fn udp(mut self, address: impl Into<String>) -> Self {
        self.udp = address.into();
        self
    }

    /// The TCP address for the sampling proxy and `/metrics` (default `127.0.0.1:2000`), or
    /// `None` for no TCP listener.
    pub fn tcp(mut self, address: Option<String>) -> Self {
        self.tcp = address;
        self
    }

    /// The AWS region (default: the `aws-config` chain).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// The X-Ray endpoint for uploads and the sampling proxy (default: the `aws-config` chain's
    /// `AWS_ENDPOINT_URL`, else `https://xray.<region>.amazonaws.com`).
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint_url = Some(url.into());
        self
    }

    /// Fixed credentials instead of the `aws-config` chain (tests, or credentials obtained
    /// elsewhere).
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// The buffer budget in bytes of documents held (default: 1% of the host's memory, at least
    /// [`MIN_BUFFER_BYTES`], as the official daemon).
    pub fn buffer_bytes(mut self, bytes: usize) -> Self {
        self.buffer_bytes = Some(bytes);
        self
    }

    /// Documents per `PutTraceSegments` call (default and maximum 50).
    pub fn batch_size(mut self, documents: usize) -> Self {
        self.batch_size = documents.clamp(1, MAX_BATCH);
        self
    }

    /// The longest a document waits for its batch to fill (default 1 s).
    pub fn flush_every(mut self, every: Duration) -> Self {
        self.flush_every = every;
        self
    }

    /// Uploads in flight at once (default 8, the official daemon's `Concurrency`).
    pub fn concurrency(mut self, uploads: usize) -> Self {
        self.concurrency = uploads.max(1);
        self
    }

    /// The first and the longest wait between retries (default 100 ms and 5 s).
    pub fn retry_backoff(mut self, first: Duration, longest: Duration) -> Self {
        self.backoff = (first, longest.max(first));
        self
    }

    /// Also sends every datagram received, as it is, to this UDP address (a
    /// [`LocalReceiver`](crate::LocalReceiver), for `--local`).
    pub fn forward_to(mut self, address: SocketAddr) -> Self {
        self.forward_to = Some(address);
        self
    }

    /// Whether to upload to X-Ray (default `true`). Without upload no AWS configuration is
    /// loaded and the proxy answers 503; datagrams are still checked, counted and forwarded.
    pub fn upload(mut self, upload: bool) -> Self {
        self.upload = upload;
        self
    }

    /// Logs the metrics this often (target `xray`, level info) when they changed.
    pub fn log_every(mut self, every: Duration) -> Self {
        self.log_every = Some(every);
        self
    }

    /// Binds the sockets, loads the AWS configuration and starts the daemon's tasks on the
    /// current tokio runtime.
    ///
    /// # Errors
    ///
    /// See [`DaemonError`].
    pub async fn start(self) -> Result<Daemon, DaemonError> {
        let counters = Arc::new(Counters::default());
        let logs = Arc::new(LogLimiter::new(Duration::from_secs(10)));
        let budget = self.buffer_bytes.unwrap_or_else(default_buffer_bytes);
        let buffer = Arc::new(Buffer::new(
            budget,
            self.batch_size,
            self.flush_every,
            Arc::clone(&counters),
        ));
        let udp = bind_udp(&self.udp).await?;
        let udp_addr = udp.local_addr().map_err(|source| DaemonError::Bind {
            protocol: "udp",
            address: self.udp.clone(),
            source,
        })?;
        let tcp =
            match &self.tcp {
                Some(address) => Some(TcpListener::bind(address.as_str()).await.map_err(
                    |source| DaemonError::Bind {
                        protocol: "tcp",
                        address: address.clone(),
                        source,
                    },
                )?),
                None => None,
            };
        let tcp_addr = tcp.as_ref().and_then(|l| l.local_addr().ok());

        let (deadline_tx, deadline) = watch::channel(None);
        let mut tasks = Vec::new();
        let mut uploaders = Vec::new();
        let mut region = self.region.clone().unwrap_or_default();
        let mut credentials = None;
        let mut endpoint = self.endpoint_url.clone();
        if self.upload {
            let https = aws_smithy_http_client::Builder::new()
                .tls_provider(Provider::Rustls(CryptoMode::Ring))
                .build_https();
            let mut loader =
                aws_config::defaults(BehaviorVersion::latest()).http_client(https.clone());
            if let Some(r) = &self.region {
                loader = loader.region(aws_config::Region::new(r.clone()));
            }
            if let Some(c) = &self.credentials {
                loader = loader.credentials_provider(c.clone());
            }
            let sdk = loader.load().await;
            region = sdk.region().ok_or(DaemonError::NoRegion)?.to_string();
            credentials = sdk.credentials_provider();
            endpoint = endpoint.or_else(|| sdk.endpoint_url().map(str::to_owned));
            let mut config = aws_sdk_xray::config::Builder::from(&sdk)
                .http_client(https)
                // Retries are ours: for as long as the daemon runs, not 3 attempts.
                .retry_config(RetryConfig::disabled())
                .timeout_config(
                    TimeoutConfig::builder()
                        .connect_timeout(Duration::from_secs(3))
                        .operation_timeout(Duration::from_secs(10))
                        .build(),
                );
            if let Some(url) = &endpoint {
                config = config.endpoint_url(url.clone());
            }
            let client = aws_sdk_xray::Client::from_conf(config.build());
            for _ in 0..self.concurrency {
                let uploader = Arc::new(upload::Uploader {
                    client: client.clone(),
                    buffer: Arc::clone(&buffer),
                    counters: Arc::clone(&counters),
                    deadline: deadline.clone(),
                    backoff_min: self.backoff.0,
                    backoff_max: self.backoff.1,
                    logs: Arc::clone(&logs),
                });
                uploaders.push(tokio::spawn(uploader.run()));
            }
        }
        if let Some(listener) = tcp {
            let endpoint = endpoint
                .unwrap_or_else(|| regional_endpoint(&region))
                .trim_end_matches('/')
                .to_owned();
            tracing::info!(target: "xray", %endpoint, "sampling proxy forwards to the X-Ray endpoint");
            let proxy = Arc::new(proxy::Proxy {
                endpoint,
                region: region.clone(),
                credentials: credentials.map(SharedCredentialsProvider::new),
                cached: std::sync::Mutex::new(None),
                client: proxy::https_client().map_err(DaemonError::Tls)?,
                counters: Arc::clone(&counters),
                buffer: Arc::clone(&buffer),
                logs: Arc::clone(&logs),
            });
            tasks.push(tokio::spawn(proxy::serve(listener, proxy)));
        }
        let forward = match self.forward_to {
            Some(to) => {
                let from = if to.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
                let socket = UdpSocket::bind(from)
                    .await
                    .map_err(|source| DaemonError::Bind {
                        protocol: "udp",
                        address: from.to_owned(),
                        source,
                    })?;
                Some((socket, to))
            }
            None => None,
        };
        let accept = self.upload.then(|| Arc::clone(&buffer));
        let receiver = tokio::spawn(receive(
            udp,
            accept,
            forward,
            Arc::clone(&counters),
            Arc::clone(&logs),
            deadline.clone(),
        ));
        if let Some(every) = self.log_every {
            let (counters, buffer) = (Arc::clone(&counters), Arc::clone(&buffer));
            tasks.push(tokio::spawn(async move {
                let mut last = None;
                let mut timer = tokio::time::interval_at(Instant::now() + every, every);
                loop {
                    timer.tick().await;
                    let (q, b, f) = buffer.levels();
                    let now = counters.snapshot(q, b, f);
                    if last.as_ref() != Some(&now) {
                        tracing::info!(target: "xray", "daemon: {now}");
                        last = Some(now);
                    }
                }
            }));
        }
        tracing::info!(target: "xray", udp = %udp_addr, tcp = ?tcp_addr, %region, budget,
            upload = self.upload, "X-Ray daemon started");
        Ok(Daemon {
            udp_addr,
            tcp_addr,
            counters,
            buffer,
            tasks,
            receiver: Some(receiver),
            uploaders,
            deadline: deadline_tx,
        })
    }
}

/// A running daemon: listens, buffers, uploads and proxies until [`shutdown`](Self::shutdown)
/// (or until dropped, which stops it at once without flushing).
#[derive(Debug)]
pub struct Daemon {
    udp_addr: SocketAddr,
    tcp_addr: Option<SocketAddr>,
    counters: Arc<Counters>,
    buffer: Arc<Buffer>,
    tasks: Vec<JoinHandle<()>>,
    receiver: Option<JoinHandle<()>>,
    uploaders: Vec<JoinHandle<()>>,
    deadline: watch::Sender<Option<Instant>>,
}

impl Daemon {
    /// A builder with the official daemon's defaults.
    pub fn builder() -> DaemonBuilder {
        DaemonBuilder::default()
    }

    /// The UDP address segment documents are received on.
    pub fn udp_addr(&self) -> SocketAddr {
        self.udp_addr
    }

    /// The TCP address of the sampling proxy and `/metrics`, if any.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp_addr
    }

    /// The counters now.
    pub fn metrics(&self) -> DaemonMetrics {
        let (queued, bytes, in_flight) = self.buffer.levels();
        self.counters.snapshot(queued, bytes, in_flight)
    }

    /// Stops receiving, uploads everything held, and returns the final metrics. Uploads still
    /// unfinished after `timeout` (retries included) are abandoned and counted as `failed`.
    pub async fn shutdown(mut self, timeout: Duration) -> DaemonMetrics {
        let deadline = Instant::now() + timeout;
        // The receiver reads what the kernel still holds, then stops.
        let _ = self.deadline.send(Some(deadline));
        if let Some(receiver) = self.receiver.take() {
            let _ = receiver.await;
        }
        for task in std::mem::take(&mut self.tasks) {
            task.abort();
            let _ = task.await;
        }
        self.buffer.close();
        let mut late = Vec::new();
        for mut task in std::mem::take(&mut self.uploaders) {
            if late.is_empty() && tokio::time::timeout_at(deadline, &mut task).await.is_ok() {
                continue;
            }
            task.abort();
            late.push(task);
        }
        for task in late {
            let _ = task.await;
        }
        let (_, _, in_flight) = self.buffer.levels();
        let lost = self.buffer.abandon() + in_flight;
        if lost > 0 {
            Counters::add(&self.counters.failed, lost);
            tracing::error!(target: "xray", documents = lost,
                "shutdown deadline passed before these documents were uploaded");
        }
        let metrics = self.counters.snapshot(0, 0, 0);
        tracing::info!(target: "xray", "daemon stopped: {metrics}");
        metrics
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        for task in self
            .tasks
            .iter()
            .chain(&self.uploaders)
            .chain(&self.receiver)
        {
            task.abort();
        }
    }
}

async fn bind_udp(address: &str) -> Result<UdpSocket, DaemonError> {
    let failed = |source| DaemonError::Bind {
        protocol: "udp",
        address: address.to_owned(),
        source,
    };
    let mut last = None;
    for candidate in tokio::net::lookup_host(address).await.map_err(failed)? {
        use socket2::{Domain, Protocol, Socket, Type};
        let bound = (|| {
            let socket = Socket::new(
                Domain::for_address(candidate),
                Type::DGRAM,
                Some(Protocol::UDP),
            )?;
            // Bursts from many services must not overflow the kernel's queue between reads.
            let _ = socket.set_recv_buffer_size(UDP_RECV_BUFFER);
            socket.set_nonblocking(true)?;
            socket.bind(&candidate.into())?;
            UdpSocket::from_std(socket.into())
        })();
        match bound {
            Ok(socket) => return Ok(socket),
            Err(e) => last = Some(e),
        }
    }
    Err(failed(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolved to nothing",
        )
    })))
}

async fn receive(
    socket: UdpSocket,
    buffer: Option<Arc<Buffer>>,
    forward: Option<(UdpSocket, SocketAddr)>,
    counters: Arc<Counters>,
    logs: Arc<LogLimiter>,
    mut stop: watch::Receiver<Option<Instant>>,
) {
    use std::sync::atomic::Ordering::Relaxed;
    // The largest UDP payload there is.
    let mut datagram = vec![0u8; 65_536];
    let mut stopping = false;
    loop {
        let read = if stopping {
            // Shutting down: read until the socket has been quiet for a moment, so datagrams
            // sent just before the signal (some still in the kernel's backlog) are uploaded too.
            match tokio::time::timeout(DRAIN_QUIET, socket.recv_from(&mut datagram)).await {
                Ok(read) => read,
                Err(_) => return,
            }
        } else {
            tokio::select! {
                read = socket.recv_from(&mut datagram) => read,
                changed = stop.changed() => {
                    stopping = changed.is_err() || stop.borrow().is_some();
                    continue;
                }
            }
        };
        let (len, peer) = match read {
            Ok(read) => read,
            Err(e) => {
                if logs.allow("recv") {
                    tracing::warn!(target: "xray", error = %e, "UDP receive failed");
                }
                if stopping {
                    return;
                }
                continue;
            }
        };
        counters.received.fetch_add(1, Relaxed);
        let bytes = &datagram[..len];
        if let Some((socket, to)) = &forward {
            let _ = socket.try_send_to(bytes, *to);
        }
        match frame::document(bytes) {
            Ok(doc) => {
                if let Some(buffer) = &buffer {
                    buffer.push(doc.to_owned());
                }
            }
            Err(kind) => {
                counters.reject(kind);
                if logs.allow(kind.as_str()) {
                    tracing::warn!(target: "xray", %peer, bytes = len, reason = %kind,
                        "datagram rejected (the official daemon rejects it too)");
                }
            }
        }
    }
}

/// 1% of the host's memory, at least 3 MiB: the official daemon's default.
fn default_buffer_bytes() -> usize {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        })
        .unwrap_or(0);
    (total / 100).max(MIN_BUFFER_BYTES)
}

fn regional_endpoint(region: &str) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else if region.starts_with("us-iso-") {
        "c2s.ic.gov"
    } else if region.starts_with("us-isob-") {
        "sc2s.sgov.gov"
    } else {
        "amazonaws.com"
    };
    format!("https://xray.{region}.{suffix}")
}
