//! The client layer around hyper-util's client, calling a real axum server on loopback.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

mod common;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt, Full};
use tower::{ServiceBuilder, ServiceExt};
use xray_core::model::{Document, Namespace};
use xray_core::{Segment, XrayFutureExt};
use xray_tower::client::{XrayClientLayer, XrayClientService};

use common::*;

/// A downstream service without X-Ray that echoes the trace header it received.
async fn backend() -> SocketAddr {
    let app = Router::new()
        .route(
            "/echo",
            get(|headers: HeaderMap| async move {
                headers
                    .get("x-amzn-trace-id")
                    .map_or("none".to_owned(), |v| v.to_str().unwrap().to_owned())
            }),
        )
        .route(
            "/status/{code}",
            get(|Path(code): Path<u16>| async move { StatusCode::from_u16(code).unwrap() }),
        );
    serve(app).await
}

fn traced_client() -> XrayClientService<HttpClient> {
    ServiceBuilder::new()
        .layer(XrayClientLayer::new())
        .service(client())
}

/// Sends a GET through the traced client and returns status and body.
async fn call(uri: &str, headers: &[(&str, &str)]) -> Result<(StatusCode, String), String> {
    let mut request = http::Request::get(uri);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = traced_client()
        .oneshot(request.body(Full::<Bytes>::default()).unwrap())
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Ok((status, String::from_utf8(body.to_vec()).unwrap()))
}

async fn in_segment<F: std::future::Future>(segment: &Segment, f: F) -> F::Output {
    f.in_entity(segment.entity().clone()).await
}

fn only_subsegment(docs: &[Document]) -> &Document {
    assert_eq!(docs.len(), 1, "{docs:#?}");
    assert_eq!(docs[0].subsegments.len(), 1, "{docs:#?}");
    &docs[0].subsegments[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_a_remote_subsegment_and_propagates_the_header() {
    let addr = backend().await;
    let (recorder, emitter) = recorder();
    let segment = recorder.begin_segment("caller");
    let uri = format!(
        "http://user:hunter2@127.0.0.1:{}/echo?token=abc",
        addr.port()
    );
    let (status, echoed) = in_segment(&segment, call(&uri, &[])).await.unwrap();
    assert_eq!(status, 200);
    segment.end();

    let docs = documents(&emitter, 1).await;
    let sub = only_subsegment(&docs);
    assert_eq!(sub.name, "127.0.0.1");
    assert_eq!(sub.namespace, Some(Namespace::Remote));
    assert!(sub.end_time.is_some());
    let http = sub.http.as_ref().unwrap();
    let request = http.request.as_ref().unwrap();
    assert_eq!(request.method.as_deref(), Some("GET"));
    // No credentials, no query string.
    assert_eq!(
        request.url,
        Some(format!("http://127.0.0.1:{}/echo", addr.port()))
    );
    assert!(!serde_json::to_string(&docs[0]).unwrap().contains("hunter2"));
    let response = http.response.as_ref().unwrap();
    assert_eq!(response.status, Some(200));
    assert!(response.content_length.is_some());

    let expected = format!(
        "Root={};Parent={};Sampled=1",
        docs[0].trace_id.unwrap(),
        sub.id
    );
    assert_eq!(echoed, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_keys_travel_downstream() {
    let addr = backend().await;
    let (recorder, emitter) = recorder();
    let incoming = header(&format!(
        "Root={ROOT};Parent={PARENT};Sampled=1;Lineage=a87bd80c:1"
    ));
    let segment = recorder
        .segment("caller")
        .trace_header(Some(&incoming))
        .begin();
    let uri = format!("http://{addr}/echo");

    // From the incoming request's header.
    let (_, echoed) = in_segment(&segment, call(&uri, &[])).await.unwrap();
    assert!(
        echoed.starts_with(&format!("Root={ROOT};Parent=")),
        "{echoed}"
    );
    assert!(
        echoed.ends_with(";Sampled=1;Lineage=a87bd80c:1"),
        "{echoed}"
    );

    // A header already on the request keeps its own extra keys.
    let own = format!("Root={ROOT};Lineage=10:1234abcd:3");
    let (_, echoed) = in_segment(&segment, call(&uri, &[("x-amzn-trace-id", own.as_str())]))
        .await
        .unwrap();
    assert!(
        echoed.ends_with(";Sampled=1;Lineage=10:1234abcd:3"),
        "{echoed}"
    );
    segment.end();

    let docs = documents(&emitter, 1).await;
    let parents: Vec<String> = docs[0]
        .subsegments
        .iter()
        .map(|s| s.id.to_string())
        .collect();
    assert_eq!(parents.len(), 2);
    assert!(echoed.contains(&format!("Parent={}", parents[1])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_classes_set_the_flags() {
    let addr = backend().await;
    let (recorder, emitter) = recorder();
    let segment = recorder.begin_segment("caller");
    for code in [200u16, 404, 429, 500] {
        let (status, _) = in_segment(&segment, call(&format!("http://{addr}/status/{code}"), &[]))
            .await
            .unwrap();
        assert_eq!(status.as_u16(), code);
    }
    segment.end();
    let docs = documents(&emitter, 1).await;
    let flags: Vec<(Option<u16>, bool, bool, bool)> = docs[0]
        .subsegments
        .iter()
        .map(|s| {
            let status = s.http.as_ref().unwrap().response.as_ref().unwrap().status;
            (status, s.error, s.throttle, s.fault)
        })
        .collect();
    assert_eq!(
        flags,
        vec![
            (Some(200), false, false, false),
            (Some(404), true, false, false),
            (Some(429), true, true, false),
            (Some(500), false, false, true),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsampled_sends_the_decision_and_records_nothing() {
    let addr = backend().await;
    let (recorder, emitter) = recorder_sampling_nothing();
    let segment = recorder.begin_segment("caller");
    assert!(!segment.is_sampled());
    let (_, echoed) = in_segment(&segment, call(&format!("http://{addr}/echo"), &[]))
        .await
        .unwrap();
    let sent = header(&echoed);
    assert_eq!(Some(sent.root()), segment.trace_id());
    assert_eq!(sent.sampled(), Some(xray_core::header::Sampled::No));
    assert!(sent.parent().is_some());
    segment.end();
    no_more_documents(&emitter, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_segment_the_request_is_untouched() {
    let addr = backend().await;
    let (_, echoed) = call(&format!("http://{addr}/echo"), &[]).await.unwrap();
    assert_eq!(echoed, "none");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_call_is_a_fault() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (recorder, emitter) = recorder();
    let segment = recorder.begin_segment("caller");
    let result = in_segment(&segment, call(&format!("http://127.0.0.1:{port}/x"), &[])).await;
    assert!(result.is_err());
    segment.end();
    let docs = documents(&emitter, 1).await;
    let sub = only_subsegment(&docs);
    assert!(sub.fault);
    assert!(
        sub.cause.as_ref().unwrap().exceptions()[0]
            .message
            .is_some()
    );
    assert!(sub.http.as_ref().unwrap().response.is_none());
}
