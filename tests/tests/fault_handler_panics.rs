//! A handler that panics behind tower-http's `CatchPanicLayer`, with the X-Ray layer on either
//! side of it: the client gets CatchPanic's 500, and the segment is still sent, ended, marked
//! fault. Inside CatchPanic, the X-Ray layer sees the panic unwind through the request's future
//! and records it as the cause (exception type `panic`); outside it, the layer only sees the 500,
//! which makes the segment a fault, and the subsegment the handler had open carries the cause.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use common::{HttpClient, serve};
use tower_http::catch_panic::CatchPanicLayer;
use xray_core::Recorder;
use xray_core::emit::MemoryEmitter;
use xray_core::model::{Cause, Document};
use xray_core::segment::PANIC_EXCEPTION_TYPE;
use xray_tower::server::XrayLayer;

async fn panics() -> &'static str {
    let _open = xray_core::begin_subsegment("before-the-panic");
    tokio::task::yield_now().await;
    panic!("the handler failed");
}

fn routes() -> Router {
    Router::new()
        .route("/panic", get(panics))
        .route("/ok", get(|| async { "fine" }))
}

fn panic_cause(doc: &Document) -> bool {
    matches!(&doc.cause, Some(Cause::Details(c))
        if c.exceptions.iter().any(|e| e.kind.as_deref() == Some(PANIC_EXCEPTION_TYPE)))
}

async fn run(xray_inside_catch_panic: bool) -> (Vec<Document>, u16) {
    let emitter = MemoryEmitter::new();
    let recorder = Recorder::builder()
        .emitter(emitter.clone())
        .sample_all()
        .ignore_env()
        .build()
        .unwrap();
    let xray = XrayLayer::new("panics").recorder(recorder);
    // `Router::layer` wraps what is already there: the last layer added is the outermost.
    let app = if xray_inside_catch_panic {
        routes().layer(xray).layer(CatchPanicLayer::new())
    } else {
        routes().layer(CatchPanicLayer::new()).layer(xray)
    };
    let addr = serve(app).await;
    let client = HttpClient::new();
    let (status, _) = client.get(addr, "/panic").await;
    // The server keeps serving.
    assert_eq!(client.get(addr, "/ok").await, (200, "fine".into()));
    let docs = tokio::task::spawn_blocking(move || emitter.wait_for(2, Duration::from_secs(5)))
        .await
        .unwrap();
    (docs, status)
}

fn the_panicked_one(docs: &[Document]) -> &Document {
    assert_eq!(docs.len(), 2, "{docs:#?}");
    docs.iter()
        .find(|d| d.subsegments.iter().any(|s| s.name == "before-the-panic"))
        .expect("the /panic segment was sent")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xray_inside_catch_panic_records_the_panic_as_the_cause() {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let (docs, status) = run(true).await;
    std::panic::set_hook(hook);
    assert_eq!(status, 500);
    let segment = the_panicked_one(&docs);
    assert!(segment.end_time.is_some() && !segment.in_progress);
    assert!(segment.fault);
    assert!(panic_cause(segment), "{segment:#?}");
    let sub = &segment.subsegments[0];
    assert!(sub.fault && panic_cause(sub) && sub.end_time.is_some());
    let ok = docs.iter().find(|d| d.id != segment.id).unwrap();
    assert!(!ok.fault && ok.cause.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xray_outside_catch_panic_sees_the_500() {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let (docs, status) = run(false).await;
    std::panic::set_hook(hook);
    assert_eq!(status, 500);
    let segment = the_panicked_one(&docs);
    assert!(segment.end_time.is_some());
    assert!(segment.fault);
    let response = segment.http.as_ref().unwrap().response.as_ref().unwrap();
    assert_eq!(response.status, Some(500));
    // The subsegment the handler held was dropped by the unwinding: it carries the cause.
    let sub = &segment.subsegments[0];
    assert!(
        sub.fault && panic_cause(sub) && sub.end_time.is_some(),
        "{sub:#?}"
    );
}
