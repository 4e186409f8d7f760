//! `XrayMiddleware` on a reqwest client, calling a real axum server on loopback.
#![cfg(feature = "reqwest")]
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

mod common;

use axum::Router;
use axum::routing::get;
use http::HeaderMap;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use xray_core::XrayFutureExt;
use xray_core::model::Namespace;
use xray_tower::reqwest::XrayMiddleware;

use common::*;

fn client() -> ClientWithMiddleware {
    ClientBuilder::new(reqwest::Client::new())
        .with(XrayMiddleware::new())
        .build()
}

async fn echo_backend() -> std::net::SocketAddr {
    serve(
        Router::new()
            .route(
                "/echo",
                get(|headers: HeaderMap| async move {
                    headers
                        .get("x-amzn-trace-id")
                        .map_or("none".to_owned(), |v| v.to_str().unwrap().to_owned())
                }),
            )
            .route("/teapot", get(|| async { http::StatusCode::IM_A_TEAPOT })),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_reqwest_calls() {
    let addr = echo_backend().await;
    let (recorder, emitter) = recorder();
    let segment = recorder.begin_segment("caller");
    let url = format!("http://alice:secret@127.0.0.1:{}/echo?q=1", addr.port());
    let (echoed, teapot) = async {
        let echoed = client()
            .get(&url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let teapot = client()
            .get(format!("http://{addr}/teapot"))
            .send()
            .await
            .unwrap()
            .status();
        (echoed, teapot)
    }
    .in_entity(segment.entity().clone())
    .await;
    assert_eq!(teapot, 418);
    segment.end();

    let docs = documents(&emitter, 1).await;
    let subs = &docs[0].subsegments;
    assert_eq!(subs.len(), 2);
    let call = &subs[0];
    assert_eq!(call.name, "127.0.0.1");
    assert_eq!(call.namespace, Some(Namespace::Remote));
    let http = call.http.as_ref().unwrap();
    assert_eq!(
        http.request.as_ref().unwrap().url,
        Some(format!("http://127.0.0.1:{}/echo", addr.port()))
    );
    assert_eq!(http.response.as_ref().unwrap().status, Some(200));
    assert!(!serde_json::to_string(&docs[0]).unwrap().contains("secret"));
    assert_eq!(
        echoed,
        format!(
            "Root={};Parent={};Sampled=1",
            docs[0].trace_id.unwrap(),
            call.id
        )
    );
    assert!(subs[1].error && !subs[1].fault);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_segment_the_request_is_untouched() {
    let addr = echo_backend().await;
    let echoed = client()
        .get(format!("http://{addr}/echo"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(echoed, "none");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_call_is_a_fault() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (recorder, emitter) = recorder();
    let segment = recorder.begin_segment("caller");
    let result = client()
        .get(format!("http://127.0.0.1:{port}/"))
        .send()
        .in_entity(segment.entity().clone())
        .await;
    assert!(result.is_err());
    segment.end();
    let docs = documents(&emitter, 1).await;
    assert!(docs[0].subsegments[0].fault);
    assert!(docs[0].subsegments[0].cause.is_some());
}
