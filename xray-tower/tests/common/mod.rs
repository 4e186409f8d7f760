//! Shared helpers of the integration tests: a real axum server on loopback, a real hyper client,
//! an in-memory or UDP recorder.
#![allow(dead_code, unreachable_pub)]

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use axum::Router;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use xray_core::daemon::DaemonAddress;
use xray_core::emit::MemoryEmitter;
use xray_core::model::Document;
use xray_core::sampling::NeverSample;
use xray_core::{Recorder, TraceHeader};

pub const WAIT: Duration = Duration::from_secs(5);

/// A recorder that samples everything into memory.
pub fn recorder() -> (Recorder, MemoryEmitter) {
    let emitter = MemoryEmitter::new();
    let recorder = Recorder::builder()
        .emitter(emitter.clone())
        .sample_all()
        .ignore_env()
        .build()
        .unwrap();
    (recorder, emitter)
}

/// A recorder whose sampler says no (a header's `Sampled=1` still wins).
pub fn recorder_sampling_nothing() -> (Recorder, MemoryEmitter) {
    let emitter = MemoryEmitter::new();
    let recorder = Recorder::builder()
        .emitter(emitter.clone())
        .sampler(NeverSample)
        .ignore_env()
        .build()
        .unwrap();
    (recorder, emitter)
}

/// A recorder that samples everything and sends real UDP datagrams to a socket bound on
/// loopback, which is returned to read them.
pub fn udp_recorder() -> (Recorder, UdpSocket) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(WAIT)).unwrap();
    let recorder = Recorder::builder()
        .daemon_address(DaemonAddress::new(socket.local_addr().unwrap().into()))
        .sample_all()
        .ignore_env()
        .build()
        .unwrap();
    (recorder, socket)
}

/// Reads one datagram: checks the daemon header line and returns the document as JSON.
pub fn recv_datagram(socket: &UdpSocket) -> serde_json::Value {
    let mut buf = vec![0u8; 65_536];
    let n = socket
        .recv(&mut buf)
        .expect("a datagram within the timeout");
    let text = std::str::from_utf8(&buf[..n]).unwrap();
    let (header, doc) = text.split_once('\n').expect("header line");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(header).unwrap(),
        serde_json::json!({"format": "json", "version": 1})
    );
    serde_json::from_str(doc).unwrap()
}

/// Serves `router` on 127.0.0.1:0 (with the peer address as `ConnectInfo`) and returns the address.
pub async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// A response as the client saw it.
#[derive(Debug)]
pub struct Got {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Got {
    pub fn trace_header(&self) -> Option<&str> {
        self.headers
            .get("x-amzn-trace-id")
            .map(|v| v.to_str().unwrap())
    }
}

/// GETs `path` from `addr` with a real hyper client.
pub async fn http_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Got {
    let mut request = http::Request::get(format!("http://{addr}{path}"));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = client()
        .request(request.body(Full::default()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    Got {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

/// Waits (off the async threads) until `n` documents arrived.
pub async fn documents(emitter: &MemoryEmitter, n: usize) -> Vec<Document> {
    let emitter = emitter.clone();
    let docs = tokio::task::spawn_blocking(move || emitter.wait_for(n, WAIT))
        .await
        .unwrap();
    assert!(docs.len() >= n, "expected {n} documents, got {docs:#?}");
    docs
}

/// Asserts that nothing more than `n` documents arrive within a short while.
pub async fn no_more_documents(emitter: &MemoryEmitter, n: usize) {
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(emitter.documents().len(), n, "{:#?}", emitter.documents());
}

pub fn header(value: &str) -> TraceHeader {
    value.parse().unwrap()
}

pub const ROOT: &str = "1-5759e988-bd862e3fe1be46a994272793";
pub const PARENT: &str = "53995c3f42cd8ad8";

/// The client address the layer records for a local client: axum's `ConnectInfo` is only read
/// with the `axum` feature.
pub const PEER_IP: Option<&str> = if cfg!(feature = "axum") {
    Some("127.0.0.1")
} else {
    None
};
