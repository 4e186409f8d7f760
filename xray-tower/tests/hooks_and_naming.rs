//! The `on_request`/`on_response` hooks and the naming strategies.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

mod common;

use axum::Router;
use axum::body::Body;
use axum::extract::MatchedPath;
use axum::routing::get;
use http::{Request, Response};
use xray_core::emit::MemoryEmitter;
use xray_core::{Entity, Recorder};
use xray_tower::server::XrayLayer;

use common::*;

fn recorder_with_env(vars: &'static [(&'static str, &'static str)]) -> (Recorder, MemoryEmitter) {
    let emitter = MemoryEmitter::new();
    let recorder = Recorder::builder()
        .emitter(emitter.clone())
        .sample_all()
        .env_lookup(move |k| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| (*v).to_owned())
        })
        .build()
        .unwrap();
    (recorder, emitter)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_annotate_route_and_response() {
    let (recorder, emitter) = recorder();
    let layer = XrayLayer::new("svc")
        .recorder(recorder)
        .on_request(|request: &Request<Body>, segment: &Entity| {
            if let Some(route) = request.extensions().get::<MatchedPath>() {
                segment.annotate("route", route.as_str());
            }
        })
        .on_response(|response: &Response<Body>, segment: &Entity| {
            if let Some(cache) = response.headers().get("x-cache") {
                segment.annotate("cache", cache.to_str().unwrap());
            }
        });
    let app = Router::new()
        .route(
            "/orders/{id}",
            get(|| async { ([("x-cache", "HIT")], "order") }),
        )
        .layer(layer);
    let addr = serve(app).await;

    http_get(addr, "/orders/7", &[]).await;
    let docs = documents(&emitter, 1).await;
    assert_eq!(docs[0].annotations["route"], "/orders/{id}".into());
    assert_eq!(docs[0].annotations["cache"], "HIT".into());

    // Hooks do not run for unsampled requests.
    emitter.clear();
    let incoming = format!("Root={ROOT};Parent={PARENT};Sampled=0");
    let got = http_get(addr, "/orders/8", &[("x-amzn-trace-id", incoming.as_str())]).await;
    assert_eq!(got.body, "order");
    no_more_documents(&emitter, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracing_name_overrides_the_fixed_name() {
    let (recorder, emitter) = recorder_with_env(&[("AWS_XRAY_TRACING_NAME", "from-env")]);
    let app = Router::new()
        .route("/", get(|| async { "x" }))
        .layer(XrayLayer::new("in-code").recorder(recorder));
    http_get(serve(app).await, "/", &[]).await;
    assert_eq!(documents(&emitter, 1).await[0].name, "from-env");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamic_naming_uses_recognized_hosts() {
    let (recorder, emitter) = recorder();
    let app = Router::new()
        .route("/", get(|| async { "x" }))
        .layer(XrayLayer::dynamic("fallback", "*.example.com").recorder(recorder));
    let addr = serve(app).await;
    http_get(addr, "/", &[("host", "api.example.com")]).await;
    assert_eq!(documents(&emitter, 1).await[0].name, "api.example.com");
    emitter.clear();
    http_get(addr, "/", &[("host", "evil.org")]).await;
    assert_eq!(documents(&emitter, 1).await[0].name, "fallback");

    // AWS_XRAY_TRACING_NAME replaces the fallback only.
    let (recorder, emitter) = recorder_with_env(&[("AWS_XRAY_TRACING_NAME", "from-env")]);
    let app = Router::new()
        .route("/", get(|| async { "x" }))
        .layer(XrayLayer::dynamic("fallback", "*.example.com").recorder(recorder));
    let addr = serve(app).await;
    http_get(addr, "/", &[("host", "evil.org")]).await;
    assert_eq!(documents(&emitter, 1).await[0].name, "from-env");
    emitter.clear();
    http_get(addr, "/", &[("host", "shop.example.com")]).await;
    assert_eq!(documents(&emitter, 1).await[0].name, "shop.example.com");
}
