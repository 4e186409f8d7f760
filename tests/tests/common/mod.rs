//! Helpers shared by the fault-injection, privacy and context tests: a capture of the `xray`
//! diagnostics, a small axum app served with and without the X-Ray layer, a loopback HTTP client,
//! and a real UDP socket that keeps every datagram it receives.

#![allow(dead_code)] // each test binary uses a subset
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::routing::get;
use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use xray_core::emit::EmitStats;
use xray_core::{Recorder, XrayFutureExt};
use xray_tower::server::XrayLayer;

// === diagnostics ===

/// One `xray` diagnostic.
#[derive(Debug, Clone)]
pub(crate) struct Diagnostic {
    pub(crate) level: Level,
    pub(crate) target: String,
    pub(crate) text: String,
}

static EVENTS: Mutex<Vec<Diagnostic>> = Mutex::new(Vec::new());

struct Capture;

impl<S: Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn enabled(&self, metadata: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        metadata.target().starts_with("xray")
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        struct Text(String);
        impl Visit for Text {
            fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
                let _ = write!(self.0, "{}={value:?} ", field.name());
            }
        }
        let mut text = Text(String::new());
        event.record(&mut text);
        EVENTS.lock().unwrap().push(Diagnostic {
            level: *event.metadata().level(),
            target: event.metadata().target().to_owned(),
            text: text.0,
        });
    }
}

/// Counts the `xray` diagnostics logged from now on, on every thread (the subscriber is global,
/// installed once per test process; nextest runs each test in its own process).
#[derive(Debug)]
pub(crate) struct Diagnostics {
    start: usize,
}

impl Diagnostics {
    pub(crate) fn capture() -> Self {
        static INSTALLED: OnceLock<()> = OnceLock::new();
        INSTALLED.get_or_init(|| {
            let subscriber = tracing_subscriber::registry().with(Capture);
            tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        });
        Self {
            start: EVENTS.lock().unwrap().len(),
        }
    }

    /// Everything logged since `capture` (or the last `restart`), except the context-missing
    /// errors of the uninstrumented twin of the app (its `/work` handler asks for subsegments
    /// with no segment, which the global recorder reports, as it should).
    pub(crate) fn all(&self) -> Vec<Diagnostic> {
        EVENTS.lock().unwrap()[self.start..]
            .iter()
            .filter(|d| !d.text.contains("no current X-Ray segment"))
            .cloned()
            .collect()
    }

    /// Diagnostics at `level` or more severe.
    pub(crate) fn at_least(&self, level: Level) -> Vec<Diagnostic> {
        self.all()
            .into_iter()
            .filter(|d| d.level <= level)
            .collect()
    }

    /// Counts from here on.
    pub(crate) fn restart(&mut self) {
        self.start = EVENTS.lock().unwrap().len();
    }
}

// === the app ===

/// A small service: `/hello`, `/status/{code}`, `/work` (nested subsegments in spawned tasks),
/// `/stream` (a body in several frames).
pub(crate) fn app() -> Router {
    Router::new()
        .route("/hello", get(|| async { "Hello, world!" }))
        .route(
            "/status/{code}",
            get(|Path(code): Path<u16>| async move {
                let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
                (status, format!("status {code}\n"))
            }),
        )
        .route("/work", get(work))
        .route(
            "/stream",
            get(|| async {
                let frames =
                    (0..8).map(|i| Ok::<_, std::io::Error>(Bytes::from(format!("chunk {i};"))));
                Body::from_stream(futures_util::stream::iter(frames))
            }),
        )
}

async fn work() -> String {
    // Two tasks, each with a nested subsegment, under the request's segment when traced.
    let a = tokio::spawn(
        async {
            let outer = xray_core::begin_subsegment("task-a");
            let inner = outer.begin_subsegment("task-a-inner");
            tokio::task::yield_now().await;
            drop(inner);
            drop(outer);
            1
        }
        .in_current_entity(),
    );
    let b = tokio::spawn(
        async {
            let _outer = xray_core::begin_subsegment("task-b");
            tokio::task::yield_now().await;
            2
        }
        .in_current_entity(),
    );
    let sum = a.await.unwrap_or(0) + b.await.unwrap_or(0);
    format!("work {sum}\n")
}

/// The app with the X-Ray layer recording through `recorder`.
pub(crate) fn traced_app(recorder: Recorder) -> Router {
    app().layer(XrayLayer::new("fault-test").recorder(recorder))
}

/// Serves `router` on an ephemeral loopback port in the background.
pub(crate) async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    addr
}

/// The requests the fault tests send, in order.
pub(crate) const PATHS: [&str; 6] = [
    "/hello",
    "/status/404",
    "/status/503",
    "/work",
    "/stream",
    "/missing",
];

/// A loopback HTTP/1 client.
#[derive(Clone)]
pub(crate) struct HttpClient(Client<HttpConnector, Empty<Bytes>>);

impl HttpClient {
    pub(crate) fn new() -> Self {
        Self(Client::builder(TokioExecutor::new()).build_http())
    }

    /// GET `path` at `addr`: status and whole body.
    pub(crate) async fn get(&self, addr: SocketAddr, path: &str) -> (u16, Bytes) {
        let uri = format!("http://{addr}{path}").parse().unwrap();
        let response = self.0.get(uri).await.expect("the server answers");
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, body)
    }
}

impl Default for HttpClient {
    fn default() -> Self {
        Self::new()
    }
}

/// Sends `rounds` rounds of [`PATHS`] to both servers and asserts every answer of the traced one
/// equals the plain one's. Returns how many requests the traced server answered.
pub(crate) async fn same_answers(plain: SocketAddr, traced: SocketAddr, rounds: usize) -> usize {
    let client = HttpClient::new();
    let mut n = 0;
    for _ in 0..rounds {
        for path in PATHS {
            let expected = client.get(plain, path).await;
            let got = client.get(traced, path).await;
            assert_eq!(
                got, expected,
                "GET {path}: instrumentation changed the response"
            );
            n += 1;
        }
    }
    n
}

/// Flushes and waits (at most 10 s) until every one of `documents` finished documents is counted
/// as sent or dropped, then returns the counters.
pub(crate) fn settled_stats(recorder: &Recorder, documents: u64) -> EmitStats {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        recorder.flush();
        let stats = recorder.emit_stats();
        if stats.sent + stats.dropped >= documents || Instant::now() > deadline {
            return stats;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

// === a UDP daemon stand-in that keeps raw datagrams ===

/// A real UDP socket on loopback; a thread keeps every datagram it receives.
#[derive(Clone)]
pub(crate) struct UdpCapture {
    addr: SocketAddr,
    datagrams: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl UdpCapture {
    pub(crate) fn bind() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        let datagrams = Arc::new(Mutex::new(Vec::new()));
        let store = Arc::clone(&datagrams);
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 70_000];
            while let Ok(n) = socket.recv(&mut buf) {
                store.lock().unwrap().push(buf[..n].to_vec());
            }
        });
        Self { addr, datagrams }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(crate) fn datagrams(&self) -> Vec<Vec<u8>> {
        self.datagrams.lock().unwrap().clone()
    }

    /// Waits until `n` datagrams arrived (at most `timeout`) and returns all of them.
    pub(crate) fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        while self.datagrams.lock().unwrap().len() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        self.datagrams()
    }
}

/// The JSON document of a daemon datagram, checking the header line.
pub(crate) fn document_of(datagram: &[u8]) -> serde_json::Value {
    let header = xray_core::emit::DAEMON_HEADER;
    assert!(
        datagram.starts_with(header),
        "no daemon header: {:?}",
        String::from_utf8_lossy(&datagram[..datagram.len().min(80)])
    );
    serde_json::from_slice(&datagram[header.len()..]).expect("every datagram is one JSON document")
}

/// The number of entities in a document (itself and every embedded subsegment).
pub(crate) fn entities(doc: &serde_json::Value) -> usize {
    1 + doc["subsegments"]
        .as_array()
        .map_or(0, |a| a.iter().map(entities).sum())
}
