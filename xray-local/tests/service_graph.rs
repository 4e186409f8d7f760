//! The service graph of two instrumented services talking over real UDP to the receiver: a
//! node per service and per inferred downstream (AWS service, database, HTTP host), the
//! instrumented downstream replacing its inferred node, and per-edge counts, error/fault/
//! throttle rates and latencies taken from the callers' subsegments.

mod support;

use std::time::Duration;

use xray_core::model::{Document, Namespace};
use xray_core::{Recorder, TraceHeader};
use xray_local::{CallStats, NodeKind, ServiceGraph, Style};

use support::{WAIT, after, receiver, recorder, start_of};

const STATUSES: [u16; 6] = [200, 200, 404, 429, 500, 200];

/// One request: frontend → backend (instrumented) → DynamoDB + SQL; frontend → api.example.com.
fn request(frontend: &Recorder, backend: &Recorder, i: usize) {
    let status = STATUSES[i];
    let segment = frontend.begin_segment("frontend");
    let t0 = start_of(&segment);

    let call = segment.begin_subsegment("backend");
    call.set_namespace(Namespace::Remote);
    call.update(|d| {
        d.http_request_mut().method = Some("GET".into());
        d.http_request_mut().url = Some("http://backend.local/items".into());
    });
    let header: TraceHeader = call.trace_header().expect("a sampled call has a header");
    {
        let served = backend
            .segment("backend")
            .trace_header(Some(&header))
            .begin();
        let bt = start_of(&served);
        let dynamo = served.begin_subsegment("DynamoDB");
        dynamo.set_namespace(Namespace::Aws);
        dynamo.update(|d| {
            d.aws_mut().operation = Some("GetItem".into());
            d.set_http_status(if i == 3 { 429 } else { 200 });
        });
        // The HTTP request inside the AWS call is part of the same call, not a second edge.
        let inner = dynamo.begin_subsegment("dynamodb.us-east-1.amazonaws.com");
        inner.set_namespace(Namespace::Remote);
        inner.update(|d| d.http_request_mut().method = Some("POST".into()));
        inner.end_at(after(bt, 2));
        dynamo.end_at(after(bt, 3 + i as u64));
        for q in 0..2u64 {
            let query = served.begin_subsegment("app@localhost");
            query.set_namespace(Namespace::Remote);
            query.update(|d| {
                d.sql_mut().database_type = Some("SQLite".into());
                d.sql_mut().sanitized_query = Some("SELECT * FROM items WHERE id = ?".into());
            });
            query.end_at(after(bt, 4 + q));
        }
        served.set_http_status(status);
        served.end_at(after(bt, 8));
    }
    call.set_http_status(status);
    call.end_at(after(t0, 10 + 5 * i as u64));

    let api = segment.begin_subsegment("api.example.com");
    api.set_namespace(Namespace::Remote);
    api.update(|d| {
        d.http_request_mut().url = Some("https://api.example.com/rates".into());
        d.set_http_status(if i == 4 { 503 } else { 200 });
    });
    api.end_at(after(t0, 40));
    segment.set_http_status(status);
    segment.end_at(after(t0, 50 + i as u64));
}

/// Average and nearest-rank p95 of the durations of every sent entity named `name`.
fn expected_latency(docs: &[Document], name: &str) -> (Duration, Duration) {
    let mut micros = Vec::new();
    for doc in docs {
        doc.walk(&mut |d: &Document| {
            if d.name == name {
                micros.push(
                    d.end_time
                        .expect("ended")
                        .duration_since(d.start_time)
                        .as_micros() as u64,
                );
            }
        });
    }
    micros.sort_unstable();
    let avg = micros.iter().sum::<u64>() / micros.len() as u64;
    let rank = (micros.len() * 95).div_ceil(100);
    (
        Duration::from_micros(avg),
        Duration::from_micros(micros[rank - 1]),
    )
}

fn counts(s: &CallStats) -> (u64, u64, u64, u64, u64) {
    (s.requests(), s.ok(), s.errors(), s.faults(), s.throttles())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_of_two_services_and_their_downstreams() {
    let rx = receiver().await;
    let (frontend, sent_front) = recorder(&rx, 20);
    let backend = Recorder::builder()
        .daemon_address(rx.daemon_address())
        .origin("AWS::ECS::Container")
        .sample_all()
        .ignore_env()
        .build()
        .unwrap();
    for i in 0..STATUSES.len() {
        request(&frontend, &backend, i);
    }
    let traces = rx.wait_for_traces(STATUSES.len(), WAIT).await.unwrap();
    assert!(
        traces
            .iter()
            .all(|t| t.is_complete() && t.segments().count() == 2)
    );

    let graph = rx.service_graph();
    assert_eq!(graph, ServiceGraph::from_traces(&traces));
    let ids: Vec<(&str, NodeKind, Option<&str>)> = graph
        .nodes()
        .iter()
        .map(|n| (n.id(), n.kind(), n.node_type()))
        .collect();
    assert_eq!(
        ids,
        [
            ("client", NodeKind::Client, Some("client")),
            (
                "service:backend[AWS::ECS::Container]",
                NodeKind::Service,
                Some("AWS::ECS::Container")
            ),
            ("service:frontend", NodeKind::Service, None),
            ("aws:DynamoDB", NodeKind::Aws, Some("AWS::DynamoDB")),
            (
                "database:app@localhost",
                NodeKind::Database,
                Some("Database::SQL")
            ),
            ("http:api.example.com", NodeKind::Http, Some("remote")),
        ],
        "the instrumented backend replaces the inferred http:backend node"
    );
    let edges: Vec<(&str, &str)> = graph.edges().iter().map(|e| (e.from(), e.to())).collect();
    assert_eq!(
        edges,
        [
            ("client", "service:frontend"),
            ("service:backend[AWS::ECS::Container]", "aws:DynamoDB"),
            (
                "service:backend[AWS::ECS::Container]",
                "database:app@localhost"
            ),
            ("service:frontend", "service:backend[AWS::ECS::Container]"),
            ("service:frontend", "http:api.example.com"),
        ]
    );

    let n = STATUSES.len() as u64;
    let errors = STATUSES.iter().filter(|s| (400..500).contains(*s)).count() as u64;
    let throttles = STATUSES.iter().filter(|s| **s == 429).count() as u64;
    let faults = STATUSES.iter().filter(|s| **s >= 500).count() as u64;
    let entry = graph.edge("client", "service:frontend").unwrap().stats();
    assert_eq!(
        counts(entry),
        (n, n - errors - faults, errors, faults, throttles)
    );
    assert_eq!(entry.error_rate(), errors as f64 / n as f64);
    assert_eq!(entry.fault_rate(), faults as f64 / n as f64);
    assert_eq!(entry.throttle_rate(), throttles as f64 / n as f64);

    // The call edge uses the caller's subsegment: its flags and the latency it measured.
    let call = graph.edge_between("frontend", "backend").unwrap().stats();
    assert_eq!(counts(call), counts(entry));
    let (avg, p95) = expected_latency(&sent_front.documents(), "backend");
    assert_eq!((call.avg(), call.p95()), (Some(avg), Some(p95)));
    assert!(p95 > avg, "distinct durations: p95 {p95:?}, avg {avg:?}");

    let dynamo = graph.edge_between("backend", "DynamoDB").unwrap().stats();
    assert_eq!(counts(dynamo), (n, n - 1, 1, 0, 1));
    assert_eq!(graph.node("aws:DynamoDB").unwrap().stats(), dynamo);
    let db = graph
        .edge_between("backend", "app@localhost")
        .unwrap()
        .stats();
    assert_eq!(counts(db), (2 * n, 2 * n, 0, 0, 0));
    let api = graph
        .edge_between("frontend", "api.example.com")
        .unwrap()
        .stats();
    assert_eq!(counts(api), (n, n - 1, 0, 1, 0));

    // Service nodes count their own segments.
    let backend_node = graph.node_named("backend").unwrap();
    assert_eq!(backend_node.stats().requests(), n);
    assert_eq!(graph.node("client").unwrap().stats(), entry);
    assert_eq!(graph.unattributed_calls(), 0);
    assert_eq!(graph.trace_count(), STATUSES.len());

    // JSON: stable names, rates and latencies.
    let json = graph.to_json();
    assert_eq!(json["traces"], STATUSES.len());
    let edge = &json["edges"][0];
    assert_eq!(edge["from"], "client");
    assert_eq!(edge["stats"]["requests"], n);
    assert_eq!(edge["stats"]["errors"], errors);
    assert!(edge["stats"]["avg_ms"].as_f64().unwrap() >= 50.0);
    assert!(edge["stats"]["p95_ms"].is_number());
    assert_eq!(json["nodes"][3]["type"], "AWS::DynamoDB");
    assert_eq!(json["nodes"][3]["kind"], "aws");

    // Text: one row per node and edge, no escapes in plain style, colors on request.
    let text = graph.to_string();
    for row in [
        "client → frontend",
        "frontend → backend",
        "backend → DynamoDB",
        "backend → app@localhost",
        "frontend → api.example.com",
    ] {
        assert!(text.contains(row), "{row} missing from\n{text}");
    }
    assert!(!text.contains('\x1b'));
    assert!(graph.render(Style::Color).contains("\x1b["));
    println!("{text}");
    println!("{}", traces[3]);
}
