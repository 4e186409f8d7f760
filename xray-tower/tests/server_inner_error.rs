//! An error from the inner service (not axum: axum services cannot fail) is a fault with the
//! error as the cause, on a real hyper server.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

mod common;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tower::{BoxError, ServiceBuilder, service_fn};
use xray_core::Entity;
use xray_tower::server::{PeerAddr, XrayLayer};

use common::*;

#[derive(Debug)]
struct Broken;

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the database is on fire")
    }
}

impl std::error::Error for Broken {}

async fn handle(
    req: http::Request<hyper::body::Incoming>,
) -> Result<http::Response<Full<Bytes>>, BoxError> {
    assert!(req.extensions().get::<Entity>().unwrap().is_sampled());
    if req.uri().path() == "/fail" {
        Err(Box::new(Broken))
    } else {
        Ok(http::Response::new(Full::new(Bytes::from_static(b"fine"))))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inner_error_is_a_fault_with_cause() {
    let (recorder, emitter) = recorder();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, peer) = listener.accept().await.unwrap();
            let service = ServiceBuilder::new()
                .map_request(move |mut req: http::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(PeerAddr(peer));
                    req
                })
                .layer(XrayLayer::new("hyper-service").recorder(recorder.clone()))
                .service(service_fn(handle));
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                    .await;
            });
        }
    });

    let fine = http_get(addr, "/ok", &[]).await;
    assert_eq!(fine.body, "fine");
    let docs = documents(&emitter, 1).await;
    assert_eq!(
        docs[0]
            .http
            .as_ref()
            .unwrap()
            .request
            .as_ref()
            .unwrap()
            .client_ip
            .as_deref(),
        Some("127.0.0.1")
    );
    emitter.clear();

    // hyper closes the connection when the service fails: the client sees an error.
    let failed = client()
        .request(
            http::Request::get(format!("http://{addr}/fail"))
                .body(Full::default())
                .unwrap(),
        )
        .await;
    assert!(failed.is_err());
    let docs = documents(&emitter, 1).await;
    let doc = &docs[0];
    assert!(doc.fault);
    assert!(doc.end_time.is_some());
    let exceptions = doc.cause.as_ref().unwrap().exceptions();
    assert_eq!(
        exceptions[0].message.as_deref(),
        Some("the database is on fire")
    );
    assert!(doc.http.as_ref().unwrap().response.is_none());
}
