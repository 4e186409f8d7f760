//! A daemon address whose host name never resolves (`.invalid`, reserved by RFC 2606): the
//! service answers exactly as without instrumentation, the name is tried in the background (never
//! on the request path), one warning says so, and every finished document is counted as dropped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Instant;

use common::{Diagnostics, same_answers, serve, settled_stats, traced_app};
use tracing::Level;
use xray_core::Recorder;
use xray_core::daemon::DaemonAddress;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_is_unaffected_and_every_document_is_dropped_and_counted() {
    let diagnostics = Diagnostics::capture();
    let address: DaemonAddress = "xray-daemon.invalid:2000".parse().unwrap();
    let built = Instant::now();
    let recorder = Recorder::builder()
        .daemon_address(address)
        .sample_all()
        .ignore_env()
        .build()
        .unwrap();
    // Resolution happens on a background thread: building does not wait for DNS.
    assert!(built.elapsed().as_millis() < 500, "{:?}", built.elapsed());

    let plain = serve(common::app()).await;
    let traced = serve(traced_app(recorder.clone())).await;
    let requests = same_answers(plain, traced, 40).await as u64;
    let stats = settled_stats(&recorder, requests);
    let warnings = diagnostics.at_least(Level::WARN);
    println!(
        "{requests} requests, sent {} dropped {}, {} diagnostics ({} warnings or worse)",
        stats.sent,
        stats.dropped,
        diagnostics.all().len(),
        warnings.len()
    );
    assert_eq!(stats.sent, 0, "{stats:?}");
    assert_eq!(stats.dropped, requests, "{stats:?}");
    // "cannot resolve ..." once, and the rate-limited "could not send ... dropped".
    assert!((1..=2).contains(&warnings.len()), "{warnings:#?}");
    assert!(diagnostics.all().len() <= 3, "{:#?}", diagnostics.all());
}
