//! The server layer on a real axum server: what each request's segment holds, the response
//! header, sampling decisions from the incoming header.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

mod common;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use http::StatusCode;
use xray_core::Recorder;
use xray_core::model::Document;
use xray_tower::server::XrayLayer;

use common::*;

fn app(recorder: Recorder) -> Router {
    Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route(
            "/status/{code}",
            get(|Path(code): Path<u16>| async move {
                StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
            }),
        )
        .route(
            "/work",
            get(|| async {
                let sub = xray_core::begin_subsegment("work");
                tokio::task::yield_now().await;
                sub.end();
                "done"
            }),
        )
        .layer(XrayLayer::new("test-service").recorder(recorder))
}

fn http_request(doc: &Document) -> &xray_core::model::HttpRequest {
    doc.http.as_ref().unwrap().request.as_ref().unwrap()
}

fn status_of(doc: &Document) -> Option<u16> {
    doc.http.as_ref()?.response.as_ref()?.status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_trace_without_incoming_header() {
    let (recorder, emitter) = recorder();
    let addr = serve(app(recorder)).await;

    let got = http_get(addr, "/hello?secret=1", &[("user-agent", "test-agent/1.0")]).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, "hello");

    let docs = documents(&emitter, 1).await;
    let doc = &docs[0];
    assert_eq!(doc.name, "test-service");
    assert!(doc.parent_id.is_none());
    assert!(doc.end_time.is_some());
    assert!(!doc.error && !doc.fault && !doc.throttle);
    let req = http_request(doc);
    assert_eq!(req.method.as_deref(), Some("GET"));
    assert_eq!(req.url, Some(format!("http://{addr}/hello")));
    assert_eq!(req.user_agent.as_deref(), Some("test-agent/1.0"));
    assert_eq!(req.client_ip.as_deref(), PEER_IP);
    assert_eq!(req.x_forwarded_for, None);
    let res = doc.http.as_ref().unwrap().response.as_ref().unwrap();
    assert_eq!(res.status, Some(200));
    assert_eq!(res.content_length, Some(5));

    // The caller learns the new trace id; no sampling decision was asked for.
    let expected = format!("Root={}", doc.trace_id.unwrap());
    assert_eq!(got.trace_header(), Some(expected.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continues_the_incoming_trace() {
    let (recorder, emitter) = recorder_sampling_nothing();
    let addr = serve(app(recorder)).await;
    let incoming = format!("Root={ROOT};Parent={PARENT};Sampled=1;Lineage=a87bd80c:1");

    let got = http_get(
        addr,
        "/hello",
        &[
            ("x-amzn-trace-id", incoming.as_str()),
            ("x-forwarded-for", "203.0.113.7, 10.0.0.1"),
        ],
    )
    .await;

    // Sampled=1 wins over a sampler that samples nothing.
    let docs = documents(&emitter, 1).await;
    let doc = &docs[0];
    assert_eq!(doc.trace_id.unwrap().to_string(), ROOT);
    assert_eq!(doc.parent_id.unwrap().to_string(), PARENT);
    let req = http_request(doc);
    assert_eq!(req.client_ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(req.x_forwarded_for, Some(true));
    // Java and Python answer with the root only when no decision was requested.
    assert_eq!(got.trace_header(), Some(format!("Root={ROOT}").as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sampled_zero_records_nothing_but_answers() {
    let (recorder, emitter) = recorder();
    let addr = serve(app(recorder)).await;
    let incoming = format!("Root={ROOT};Parent={PARENT};Sampled=0");

    let got = http_get(addr, "/work", &[("x-amzn-trace-id", incoming.as_str())]).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, "done");
    assert_eq!(got.trace_header(), Some(format!("Root={ROOT}").as_str()));
    no_more_documents(&emitter, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sampled_requested_reports_the_decision() {
    for (sample, expected) in [(true, "1"), (false, "0")] {
        let (recorder, emitter) = if sample {
            recorder()
        } else {
            recorder_sampling_nothing()
        };
        let addr = serve(app(recorder)).await;
        let incoming = format!("Root={ROOT};Parent={PARENT};Sampled=?");
        let got = http_get(addr, "/hello", &[("x-amzn-trace-id", incoming.as_str())]).await;
        assert_eq!(
            got.trace_header(),
            Some(format!("Root={ROOT};Sampled={expected}").as_str())
        );
        if sample {
            let docs = documents(&emitter, 1).await;
            assert_eq!(docs[0].parent_id.unwrap().to_string(), PARENT);
        } else {
            no_more_documents(&emitter, 0).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_header_starts_a_new_trace() {
    let (recorder, emitter) = recorder();
    let addr = serve(app(recorder)).await;
    let got = http_get(
        addr,
        "/hello",
        &[("x-amzn-trace-id", "Root=nonsense;Parent=zz;Sampled=0")],
    )
    .await;
    assert_eq!(got.status, 200);
    let docs = documents(&emitter, 1).await;
    assert!(docs[0].parent_id.is_none());
    assert_ne!(docs[0].trace_id.unwrap().to_string(), ROOT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_classes_set_the_flags() {
    let (recorder, emitter) = recorder();
    let addr = serve(app(recorder)).await;
    let cases = [
        (200, false, false, false),
        (204, false, false, false),
        (302, false, false, false),
        (404, true, false, false),
        (429, true, true, false),
        (500, false, false, true),
        (503, false, false, true),
    ];
    for (code, ..) in cases {
        let got = http_get(addr, &format!("/status/{code}"), &[]).await;
        assert_eq!(got.status.as_u16(), code);
    }
    let docs = documents(&emitter, cases.len()).await;
    for (code, error, throttle, fault) in cases {
        let doc = docs
            .iter()
            .find(|d| status_of(d) == Some(code))
            .unwrap_or_else(|| panic!("no document with status {code}"));
        assert_eq!(
            (doc.error, doc.throttle, doc.fault),
            (error, throttle, fault),
            "status {code}"
        );
        assert_eq!(
            http_request(doc).url,
            Some(format!("http://{addr}/status/{code}"))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_subsegments_attach_to_the_segment() {
    let (recorder, emitter) = recorder();
    let addr = serve(app(recorder)).await;
    http_get(addr, "/work", &[]).await;
    let docs = documents(&emitter, 1).await;
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].subsegments.len(), 1);
    assert_eq!(docs[0].subsegments[0].name, "work");
    assert!(docs[0].subsegments[0].end_time.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_is_otherwise_unchanged() {
    let plain = Router::new().route(
        "/r",
        get(|| async {
            (
                StatusCode::CREATED,
                [("x-custom", "1"), ("content-type", "text/plain")],
                "body bytes",
            )
        }),
    );
    let (recorder, _emitter) = recorder();
    let traced = plain
        .clone()
        .layer(XrayLayer::new("svc").recorder(recorder));
    let a = http_get(serve(plain).await, "/r", &[]).await;
    let b = http_get(serve(traced).await, "/r", &[]).await;
    assert_eq!(a.status, b.status);
    assert_eq!(a.body, b.body);
    let strip = |h: &http::HeaderMap| {
        let mut h = h.clone();
        h.remove("date");
        h.remove("x-amzn-trace-id");
        h
    };
    assert_eq!(strip(&a.headers), strip(&b.headers));
    assert!(a.trace_header().is_none());
    assert!(b.trace_header().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn application_trace_header_is_kept() {
    let (recorder, _emitter) = recorder();
    let app = Router::new()
        .route(
            "/own",
            get(|| async { ([("x-amzn-trace-id", "Root=mine")], "x") }),
        )
        .layer(XrayLayer::new("svc").recorder(recorder));
    let got = http_get(serve(app).await, "/own", &[]).await;
    assert_eq!(got.trace_header(), Some("Root=mine"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_recorder_changes_nothing() {
    let app = Router::new()
        .route(
            "/hello",
            get(|| async {
                // No context-missing noise either: the disabled segment is current.
                assert!(xray_core::context::current().is_some());
                "hello"
            }),
        )
        .layer(XrayLayer::new("svc").recorder(Recorder::disabled()));
    let got = http_get(serve(app).await, "/hello", &[]).await;
    assert_eq!(got.status, 200);
    assert!(got.trace_header().is_none());
}
