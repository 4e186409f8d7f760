//! The segment as a request extension and through the axum extractor, with and without the
//! layer.
#![cfg(feature = "axum")]
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

mod common;

use axum::routing::get;
use axum::{Extension, Router};
use xray_core::Entity;
use xray_tower::extract::XraySegment;
use xray_tower::server::XrayLayer;

use common::*;

async fn annotate(XraySegment(segment): XraySegment) -> String {
    segment.annotate("customer_tier", "gold");
    segment.set_user("c-42");
    segment.trace_id().unwrap().to_string()
}

async fn optional(segment: Option<XraySegment>) -> String {
    match segment {
        Some(s) if s.is_sampled() => format!("sampled {}", s.trace_id().unwrap()),
        Some(_) => "not sampled".to_owned(),
        None => "no layer".to_owned(),
    }
}

async fn extension(Extension(entity): Extension<Entity>) -> String {
    entity.id().unwrap().to_string()
}

fn routes() -> Router {
    Router::new()
        .route("/annotate", get(annotate))
        .route("/optional", get(optional))
        .route("/extension", get(extension))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extractor_and_extension_give_the_segment() {
    let (recorder, emitter) = recorder();
    let addr = serve(routes().layer(XrayLayer::new("svc").recorder(recorder))).await;

    let got = http_get(addr, "/annotate", &[]).await;
    let docs = documents(&emitter, 1).await;
    assert_eq!(got.body, docs[0].trace_id.unwrap().to_string());
    assert_eq!(docs[0].annotations["customer_tier"], "gold".into());
    assert_eq!(docs[0].user.as_deref(), Some("c-42"));
    emitter.clear();

    let got = http_get(addr, "/extension", &[]).await;
    let docs = documents(&emitter, 1).await;
    assert_eq!(got.body, docs[0].id.to_string());
    emitter.clear();

    let got = http_get(addr, "/optional", &[]).await;
    let docs = documents(&emitter, 1).await;
    assert_eq!(got.body, format!("sampled {}", docs[0].trace_id.unwrap()));

    // Unsampled requests still get a segment (recording nothing).
    let incoming = format!("Root={ROOT};Parent={PARENT};Sampled=0");
    let got = http_get(addr, "/optional", &[("x-amzn-trace-id", incoming.as_str())]).await;
    assert_eq!(got.body, "not sampled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_layer() {
    let addr = serve(routes()).await;
    let got = http_get(addr, "/optional", &[]).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, "no layer");

    let got = http_get(addr, "/annotate", &[]).await;
    assert_eq!(got.status, 500);
    assert!(String::from_utf8_lossy(&got.body).contains("XrayLayer"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_tracing_still_provides_a_segment() {
    let app = routes().layer(XrayLayer::new("svc").recorder(xray_core::Recorder::disabled()));
    let addr = serve(app).await;
    let got = http_get(addr, "/optional", &[]).await;
    assert_eq!(got.body, "not sampled");
}
