//! The segment of a streamed response ends after the last chunk, and is still sent when the
//! client disconnects mid-body.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

mod common;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use bytes::Bytes;
use futures_util::stream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use xray_core::model::Timestamp;
use xray_tower::server::XrayLayer;

use common::*;

const CHUNKS: usize = 3;
const GAP: Duration = Duration::from_millis(150);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segment_ends_after_the_last_chunk() {
    let (recorder, emitter) = recorder();
    let last_chunk_at: Arc<Mutex<Option<Timestamp>>> = Arc::default();
    let marker = last_chunk_at.clone();
    let app = Router::new()
        .route(
            "/stream",
            get(move || {
                let marker = marker.clone();
                async move {
                    let chunks = stream::unfold(0usize, move |i| {
                        let marker = marker.clone();
                        async move {
                            if i == CHUNKS {
                                return None;
                            }
                            tokio::time::sleep(GAP).await;
                            // Work done while the body streams belongs to the request.
                            let sub = xray_core::begin_subsegment("produce-chunk");
                            sub.end();
                            if i + 1 == CHUNKS {
                                *marker.lock().unwrap() = Some(Timestamp::now());
                            }
                            Some((
                                Ok::<_, Infallible>(Bytes::from(format!("chunk{i};"))),
                                i + 1,
                            ))
                        }
                    });
                    Body::from_stream(chunks)
                }
            }),
        )
        .layer(XrayLayer::new("streamer").recorder(recorder));
    let addr = serve(app).await;

    let got = http_get(addr, "/stream", &[]).await;
    assert_eq!(got.body, "chunk0;chunk1;chunk2;");

    let docs = documents(&emitter, 1).await;
    let doc = &docs[0];
    let end = doc.end_time.unwrap();
    let last = last_chunk_at.lock().unwrap().unwrap();
    // The segment's clock is monotonic from its start, the marker reads the system clock: allow
    // them a millisecond of disagreement (a chunk is 150 ms).
    assert!(
        end.as_secs_f64() >= last.as_secs_f64() - 0.001,
        "segment ended at {end:?}, before the last chunk at {last:?}"
    );
    let took = end.as_secs_f64() - doc.start_time.as_secs_f64();
    assert!(
        took >= (GAP * CHUNKS as u32).as_secs_f64() * 0.9,
        "took {took}s"
    );
    let response = doc.http.as_ref().unwrap().response.as_ref().unwrap();
    assert_eq!(response.status, Some(200));
    // No length was known up front: the bytes sent are counted.
    assert_eq!(response.content_length, Some(got.body.len() as i64));
    assert_eq!(doc.subsegments.len(), CHUNKS);
    assert!(doc.subsegments.iter().all(|s| s.name == "produce-chunk"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segment_is_sent_when_the_client_disconnects_mid_body() {
    let (recorder, socket) = udp_recorder();
    let app = Router::new()
        .route(
            "/endless",
            get(|| async {
                let chunks = stream::unfold((), |()| async {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Some((Ok::<_, Infallible>(Bytes::from_static(b"tick\n")), ()))
                });
                Body::from_stream(chunks)
            }),
        )
        .layer(XrayLayer::new("endless").recorder(recorder));
    let addr = serve(app).await;

    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(b"GET /endless HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&seen).contains("tick") {
        let n = conn.read(&mut buf).await.unwrap();
        assert!(n > 0, "server closed early");
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(String::from_utf8_lossy(&seen).starts_with("HTTP/1.1 200 OK"));
    drop(conn);

    let doc = tokio::task::spawn_blocking(move || recv_datagram(&socket))
        .await
        .unwrap();
    assert_eq!(doc["name"], "endless");
    assert_eq!(doc["http"]["response"]["status"], 200);
    assert_eq!(doc["http"]["request"]["url"], "http://test/endless");
    assert!(doc["end_time"].as_f64().unwrap() > doc["start_time"].as_f64().unwrap());
    assert!(doc.get("in_progress").is_none());
    // The body never finished, so no length is claimed.
    assert!(doc["http"]["response"].get("content_length").is_none());
}
