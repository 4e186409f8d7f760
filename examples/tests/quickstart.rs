//! The quickstart's flow (`examples/src/quickstart.rs`), checked through the service graph the
//! local receiver builds from the traces it received over real UDP: the service, its SQLite
//! database, DynamoDB when an emulator is configured, and per-edge counts with the error, fault
//! and throttle figures of `/status/404`, `/status/429` and `/status/500`.
//!
//! `/chain` calls the service itself, so X-Ray's rule — an instrumented callee takes the place
//! of the inferred node — makes it a self-edge. A second test points `/chain` at a server that
//! sends no segments, which X-Ray shows as a remote HTTP host node.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use examples::db::DB_FILE;
use examples::quickstart::{QUIET_PERIOD, Quickstart, REQUESTS, Reply, WAIT};
use examples::server::{self, AppState, SEGMENT_NAME};
use http::StatusCode;
use tokio::net::TcpListener;
use xray_core::Recorder;
use xray_local::{CallStats, LocalReceiver, NodeKind, ServiceGraph, Trace};

/// `(errors, faults, throttles)` X-Ray derives from response statuses: 4xx is an error, 429
/// also a throttle, 5xx a fault.
fn flags_of(statuses: impl IntoIterator<Item = StatusCode>) -> (u64, u64, u64) {
    statuses.into_iter().fold((0, 0, 0), |(e, f, t), s| {
        (
            e + u64::from(s.is_client_error()),
            f + u64::from(s.is_server_error()),
            t + u64::from(s == StatusCode::TOO_MANY_REQUESTS),
        )
    })
}

fn figures(stats: &CallStats) -> (u64, u64, u64, u64) {
    (
        stats.requests(),
        stats.errors(),
        stats.faults(),
        stats.throttles(),
    )
}

fn count(path: &str) -> u64 {
    REQUESTS.iter().filter(|p| **p == path).count() as u64
}

/// The path (without query) of the request that started `trace`.
fn path_of(trace: &Trace) -> String {
    let url = trace.roots()[0].http_url().expect("the segment has a URL");
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme[after_scheme.find('/').unwrap_or(after_scheme.len())..].to_owned()
}

fn aws_endpoint() -> Option<String> {
    std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|url| !url.is_empty())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quickstart_graph_has_the_service_its_database_and_the_status_figures() {
    let quickstart = Quickstart::start().await.unwrap();
    let mut replies: Vec<(&str, Reply)> = Vec::new();
    for path in REQUESTS {
        replies.push((path, quickstart.get(path).await.unwrap()));
    }
    // What the routes promise, so that the figures below are about the right requests.
    for (path, reply) in &replies {
        if let Some(code) = path.strip_prefix("/status/") {
            assert_eq!(reply.status.as_str(), code, "{path}");
        }
    }

    let traces = quickstart.wait_for_traces(REQUESTS.len()).await.unwrap();
    assert_eq!(traces.len(), REQUESTS.len(), "one trace per request");
    assert!(traces.iter().all(Trace::is_complete));
    assert_eq!(quickstart.receiver.stats().rejected.total(), 0);
    assert_eq!(quickstart.recorder.emit_stats().dropped, 0);
    let graph = ServiceGraph::from_traces(&traces);
    assert_eq!(graph.unattributed_calls(), 0);
    let chains = count("/chain");

    // The service: its own segments, the /hello of every /chain included.
    let service = graph.node_named(SEGMENT_NAME).expect("the service node");
    assert_eq!(service.kind(), NodeKind::Service);
    assert_eq!(
        service.stats().requests(),
        REQUESTS.len() as u64 + chains,
        "{graph}"
    );

    // client → service: one call per request, flagged as the statuses say.
    let entry = graph.edge_between("client", SEGMENT_NAME).expect("{graph}");
    let (errors, faults, throttles) = flags_of(replies.iter().map(|(_, r)| r.status));
    assert!(errors > 0 && faults > 0 && throttles > 0);
    assert_eq!(
        figures(entry.stats()),
        (REQUESTS.len() as u64, errors, faults, throttles),
        "{graph}"
    );

    // The same edge for each /status request alone: 404 an error, 429 an error and a
    // throttle, 500 a fault.
    for (code, flags) in [
        (404, (1, 0, 0)), // (errors, faults, throttles) per request
        (429, (1, 0, 1)),
        (500, (0, 1, 0)),
    ] {
        let path = format!("/status/{code}");
        let n = count(&path);
        assert!(n > 0, "{path} is one of the quickstart's requests");
        let only: Vec<Trace> = traces
            .iter()
            .filter(|t| path_of(t) == path)
            .cloned()
            .collect();
        let sub = ServiceGraph::from_traces(&only);
        let edge = sub.edge_between("client", SEGMENT_NAME).expect("{sub}");
        assert_eq!(
            figures(edge.stats()),
            (n, flags.0 * n, flags.1 * n, flags.2 * n),
            "{path}: {sub}"
        );
    }

    // /chain calls the service itself: a self-edge, no inferred HTTP node, no errors.
    let own = graph
        .edge_between(SEGMENT_NAME, SEGMENT_NAME)
        .expect("{graph}");
    assert_eq!(figures(own.stats()), (chains, 0, 0, 0), "{graph}");
    assert!(
        graph.nodes().iter().all(|n| n.kind() != NodeKind::Http),
        "{graph}"
    );

    // The SQLite database: one query per /db request, none failed (a 404 for an unknown name
    // is the service's answer, not a database error).
    let db_requests = REQUESTS.iter().filter(|p| p.starts_with("/db")).count() as u64;
    let db = graph.node_named(DB_FILE).expect("the database node");
    assert_eq!(db.kind(), NodeKind::Database);
    assert_eq!(db.node_type(), Some("Database::SQL"));
    let queries = graph.edge_between(SEGMENT_NAME, DB_FILE).expect("{graph}");
    assert_eq!(figures(queries.stats()), (db_requests, 0, 0, 0), "{graph}");

    // DynamoDB, when an emulator is there.
    let aws = replies.iter().find(|(p, _)| *p == "/aws").unwrap();
    if aws_endpoint().is_some() {
        assert_eq!(aws.1.status, StatusCode::OK, "{}", aws.1.body);
        let dynamodb = graph.node_named("DynamoDB").expect("the DynamoDB node");
        assert_eq!(dynamodb.kind(), NodeKind::Aws);
        assert_eq!(dynamodb.node_type(), Some("AWS::DynamoDB"));
        let calls = graph
            .edge_between(SEGMENT_NAME, "DynamoDB")
            .expect("{graph}");
        assert_eq!(figures(calls.stats()), (count("/aws"), 0, 0, 0), "{graph}");
    } else {
        assert!(
            std::env::var("XRAY_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "XRAY_REQUIRE_SERVICES=1 but AWS_ENDPOINT_URL is not set"
        );
        eprintln!("skipped (the DynamoDB node): AWS_ENDPOINT_URL not set");
        assert_eq!(aws.1.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(graph.nodes().iter().all(|n| n.kind() != NodeKind::Aws));
    }

    // What the quickstart prints renders every node.
    let text = graph.to_string();
    for node in graph.nodes() {
        assert!(text.contains(node.name()), "{text}");
    }
    quickstart.recorder.shutdown();
}

/// The statuses the untraced upstream answers, one per call, in order.
const UPSTREAM_STATUSES: [u16; 5] = [200, 404, 429, 500, 200];

async fn upstream_hello(State(calls): State<Arc<AtomicUsize>>) -> StatusCode {
    let i = calls.fetch_add(1, Ordering::Relaxed) % UPSTREAM_STATUSES.len();
    StatusCode::from_u16(UPSTREAM_STATUSES[i]).unwrap()
}

async fn serve_in_background(listener: TcpListener, app: Router) -> SocketAddr {
    let addr = listener.local_addr().unwrap();
    tokio::spawn(server::serve(listener, app, std::future::pending()));
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_to_an_untraced_server_is_a_remote_http_host() {
    let receiver = LocalReceiver::builder()
        .quiet_period(QUIET_PERIOD)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let recorder = Recorder::builder()
        .daemon_address(receiver.daemon_address())
        .sample_all()
        .ignore_env()
        .build()
        .unwrap();

    // A server that sends no segments, like a third-party API.
    let upstream = Router::new()
        .route("/hello", get(upstream_hello))
        .with_state(Arc::new(AtomicUsize::new(0)));
    let upstream =
        serve_in_background(TcpListener::bind("127.0.0.1:0").await.unwrap(), upstream).await;
    // The example service, its /chain pointed at the upstream.
    let state = AppState {
        http: server::http_client(),
        base_url: format!("http://{upstream}"),
    };
    let service = serve_in_background(
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        server::router(state, Some(recorder.clone())),
    )
    .await;

    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<bytes::Bytes>>();
    let mut statuses = Vec::new();
    for _ in UPSTREAM_STATUSES {
        let uri = format!("http://{service}/chain").parse().unwrap();
        let response = client.get(uri).await.unwrap();
        statuses.push(response.status());
        http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap();
    }
    // /chain answers with the upstream's status.
    let expected: Vec<StatusCode> = UPSTREAM_STATUSES
        .iter()
        .map(|s| StatusCode::from_u16(*s).unwrap())
        .collect();
    assert_eq!(statuses, expected);

    recorder.flush();
    let traces = receiver
        .wait_for_traces(UPSTREAM_STATUSES.len(), WAIT)
        .await
        .unwrap();
    let graph = ServiceGraph::from_traces(&traces);

    let host = graph.node_named("127.0.0.1").expect("the HTTP host node");
    assert_eq!(host.kind(), NodeKind::Http);
    assert_eq!(host.node_type(), Some("remote"));
    let (errors, faults, throttles) = flags_of(expected.iter().copied());
    let calls = graph
        .edge_between(SEGMENT_NAME, "127.0.0.1")
        .expect("{graph}");
    assert_eq!(
        figures(calls.stats()),
        (UPSTREAM_STATUSES.len() as u64, errors, faults, throttles),
        "{graph}"
    );
    // The caller passes the statuses on, so its own figures are the same.
    let entry = graph.edge_between("client", SEGMENT_NAME).expect("{graph}");
    assert_eq!(figures(entry.stats()), figures(calls.stats()), "{graph}");
    assert!(graph.edge_between(SEGMENT_NAME, SEGMENT_NAME).is_none());
    recorder.shutdown();
}
