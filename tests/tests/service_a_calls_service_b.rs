//! End to end: service A (server layer + client layer) calls service B (server layer), both real
//! axum servers on loopback. One trace: B's segment names A's client subsegment as its parent.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tower::{ServiceBuilder, ServiceExt};
use xray_core::Recorder;
use xray_core::daemon::DaemonAddress;
use xray_core::emit::MemoryEmitter;
use xray_core::model::{Document, Namespace};
use xray_core::sampling::NeverSample;
use xray_tower::client::{XrayClientLayer, XrayClientService};
use xray_tower::server::XrayLayer;

const ROOT: &str = "1-5759e988-bd862e3fe1be46a994272793";
const PARENT: &str = "53995c3f42cd8ad8";
const WAIT: Duration = Duration::from_secs(5);

type TracedClient = XrayClientService<Client<HttpConnector, Empty<Bytes>>>;

#[derive(Clone)]
struct A {
    client: TracedClient,
    b: SocketAddr,
}

/// A: `/call` asks B for `/work` through the traced client and answers with what B said.
async fn call_b(State(a): State<A>) -> (StatusCode, String) {
    let request = http::Request::get(format!("http://{}/work?user=alice", a.b))
        .body(Empty::new())
        .unwrap();
    let response = a.client.oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

/// B: `/work` does some traced work and answers with the trace header it received.
async fn work(headers: HeaderMap) -> String {
    let sub = xray_core::begin_subsegment("b-work");
    sub.annotate("step", 1);
    sub.end();
    headers
        .get("x-amzn-trace-id")
        .map_or("none".to_owned(), |v| v.to_str().unwrap().to_owned())
}

async fn serve(router: Router) -> SocketAddr {
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

/// Starts B with `recorder_b`, then A with `recorder_a`; returns A's address.
async fn start(recorder_a: Recorder, recorder_b: Recorder) -> SocketAddr {
    let b = serve(
        Router::new()
            .route("/work", get(work))
            .layer(XrayLayer::new("service-b").recorder(recorder_b)),
    )
    .await;
    let client = ServiceBuilder::new()
        .layer(XrayClientLayer::new())
        .service(Client::builder(TokioExecutor::new()).build_http());
    serve(
        Router::new()
            .route("/call", get(call_b))
            .with_state(A { client, b })
            .layer(XrayLayer::new("service-a").recorder(recorder_a)),
    )
    .await
}

/// Calls A's `/call` from outside with a real hyper client.
async fn call_a(a: SocketAddr, trace_header: Option<&str>) -> (StatusCode, Option<String>, String) {
    let mut request = http::Request::get(format!("http://{a}/call"));
    if let Some(h) = trace_header {
        request = request.header("x-amzn-trace-id", h);
    }
    let client: Client<HttpConnector, Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let response = client
        .request(request.body(Empty::new()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let header = response
        .headers()
        .get("x-amzn-trace-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, header, String::from_utf8(body.to_vec()).unwrap())
}

fn memory_recorder(sample: bool) -> (Recorder, MemoryEmitter) {
    let emitter = MemoryEmitter::new();
    let builder = Recorder::builder().emitter(emitter.clone()).ignore_env();
    let builder = if sample {
        builder.sample_all()
    } else {
        builder.sampler(NeverSample)
    };
    (builder.build().unwrap(), emitter)
}

/// A recorder sending real UDP datagrams to a loopback socket.
fn udp_recorder() -> (Recorder, UdpSocket) {
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

async fn recv_document(socket: UdpSocket) -> Document {
    tokio::task::spawn_blocking(move || {
        let mut buf = vec![0u8; 65_536];
        let n = socket.recv(&mut buf).unwrap();
        let (header, doc) = std::str::from_utf8(&buf[..n])
            .unwrap()
            .split_once('\n')
            .unwrap();
        assert_eq!(header, r#"{"format": "json", "version": 1}"#);
        serde_json::from_str(doc).unwrap()
    })
    .await
    .unwrap()
}

async fn wait_for(emitter: &MemoryEmitter, n: usize) -> Vec<Document> {
    let emitter = emitter.clone();
    tokio::task::spawn_blocking(move || emitter.wait_for(n, WAIT))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_across_two_services() {
    let (recorder_a, socket_a) = udp_recorder();
    let (recorder_b, emitter_b) = memory_recorder(true);
    let a = start(recorder_a, recorder_b).await;

    let (status, response_header, received_by_b) = call_a(a, None).await;
    assert_eq!(status, 200);

    let seg_a = recv_document(socket_a).await;
    let seg_b = wait_for(&emitter_b, 1).await.remove(0);

    // One trace: A started it, B continued it.
    let trace_id = seg_a.trace_id.unwrap();
    assert_eq!(seg_b.trace_id, Some(trace_id));
    assert_eq!(response_header, Some(format!("Root={trace_id}")));
    assert!(seg_a.parent_id.is_none());
    assert_eq!(seg_a.name, "service-a");
    assert_eq!(seg_b.name, "service-b");

    // A's call to B is a remote subsegment, and B's parent.
    assert_eq!(seg_a.subsegments.len(), 1);
    let call = &seg_a.subsegments[0];
    assert_eq!(call.name, "127.0.0.1");
    assert_eq!(call.namespace, Some(Namespace::Remote));
    let call_http = call.http.as_ref().unwrap();
    assert!(
        call_http
            .request
            .as_ref()
            .unwrap()
            .url
            .as_deref()
            .unwrap()
            .ends_with("/work"),
        "{call_http:?}"
    );
    assert_eq!(call_http.response.as_ref().unwrap().status, Some(200));
    assert_eq!(seg_b.parent_id, Some(call.id));
    assert_eq!(
        received_by_b,
        format!("Root={trace_id};Parent={};Sampled=1", call.id)
    );

    // B's own work hangs under B.
    assert_eq!(seg_b.subsegments[0].name, "b-work");
    let b_request = seg_b.http.as_ref().unwrap().request.as_ref().unwrap();
    assert_eq!(b_request.client_ip.as_deref(), Some("127.0.0.1"));
    assert!(b_request.url.as_deref().unwrap().ends_with("/work"));

    // Times nest: B ran inside A's call.
    assert!(seg_b.start_time.as_secs_f64() >= call.start_time.as_secs_f64() - 0.001);
    assert!(seg_a.end_time.unwrap().as_secs_f64() >= call.end_time.unwrap().as_secs_f64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incoming_trace_and_lineage_flow_through() {
    let (recorder_a, emitter_a) = memory_recorder(false);
    let (recorder_b, emitter_b) = memory_recorder(false);
    let a = start(recorder_a, recorder_b).await;

    // Sampled=1 from upstream wins over samplers that say no, on both services.
    let incoming = format!("Root={ROOT};Parent={PARENT};Sampled=1;Lineage=a87bd80c:1");
    let (status, response_header, received_by_b) = call_a(a, Some(&incoming)).await;
    assert_eq!(status, 200);
    assert_eq!(response_header, Some(format!("Root={ROOT}")));

    let seg_a = wait_for(&emitter_a, 1).await.remove(0);
    let seg_b = wait_for(&emitter_b, 1).await.remove(0);
    assert_eq!(seg_a.trace_id.unwrap().to_string(), ROOT);
    assert_eq!(seg_a.parent_id.unwrap().to_string(), PARENT);
    assert_eq!(seg_b.trace_id.unwrap().to_string(), ROOT);
    let call = &seg_a.subsegments[0];
    assert_eq!(seg_b.parent_id, Some(call.id));
    assert_eq!(
        received_by_b,
        format!(
            "Root={ROOT};Parent={};Sampled=1;Lineage=a87bd80c:1",
            call.id
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsampled_decision_flows_through() {
    let (recorder_a, emitter_a) = memory_recorder(true);
    let (recorder_b, emitter_b) = memory_recorder(true);
    let a = start(recorder_a, recorder_b).await;

    let incoming = format!("Root={ROOT};Parent={PARENT};Sampled=0");
    let (status, _, received_by_b) = call_a(a, Some(&incoming)).await;
    assert_eq!(status, 200);
    let sent: xray_core::TraceHeader = received_by_b.parse().unwrap();
    assert_eq!(sent.root().to_string(), ROOT);
    assert_eq!(sent.sampled(), Some(xray_core::header::Sampled::No));

    // Neither service records anything, although both sample everything on their own.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(emitter_a.documents().is_empty());
    assert!(emitter_b.documents().is_empty());
}
