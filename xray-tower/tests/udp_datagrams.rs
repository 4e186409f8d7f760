//! What the daemon receives: real UDP datagrams on loopback for traced requests.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

mod common;

use axum::Router;
use axum::routing::get;
use xray_tower::server::XrayLayer;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_request_is_one_datagram_with_the_http_block() {
    let (recorder, socket) = udp_recorder();
    let app = Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route(
            "/fail",
            get(|| async { http::StatusCode::SERVICE_UNAVAILABLE }),
        )
        .layer(XrayLayer::new("udp-service").recorder(recorder.clone()));
    let addr = serve(app).await;

    let incoming = format!("Root={ROOT};Parent={PARENT};Sampled=1");
    let ok = http_get(
        addr,
        "/hello?q=secret",
        &[("x-amzn-trace-id", incoming.as_str())],
    )
    .await;
    assert_eq!(ok.status, 200);
    let socket = tokio::task::spawn_blocking(move || {
        let doc = recv_datagram(&socket);
        assert_eq!(doc["name"], "udp-service");
        assert_eq!(doc["trace_id"], ROOT);
        assert_eq!(doc["parent_id"], PARENT);
        assert_eq!(doc["http"]["request"]["method"], "GET");
        assert_eq!(
            doc["http"]["request"]["url"],
            format!("http://{addr}/hello")
        );
        assert_eq!(doc["http"]["request"]["client_ip"].as_str(), PEER_IP);
        assert_eq!(doc["http"]["response"]["status"], 200);
        assert_eq!(doc["http"]["response"]["content_length"], 5);
        assert_eq!(doc["aws"]["xray"]["sdk"], "X-Ray for Rust");
        assert!(doc.get("error").is_none() && doc.get("fault").is_none());
        socket
    })
    .await
    .unwrap();

    let failed = http_get(addr, "/fail", &[]).await;
    assert_eq!(failed.status, 503);
    tokio::task::spawn_blocking(move || {
        let doc = recv_datagram(&socket);
        assert_eq!(doc["http"]["response"]["status"], 503);
        assert_eq!(doc["fault"], true);
        // The response header names the same trace the datagram belongs to.
        assert_eq!(
            failed.trace_header().unwrap(),
            format!("Root={}", doc["trace_id"].as_str().unwrap())
        );
    })
    .await
    .unwrap();
    assert_eq!(recorder.emit_stats().sent, 2);
    assert_eq!(recorder.emit_stats().dropped, 0);
}
