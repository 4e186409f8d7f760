//! No daemon: nothing listens at the daemon address, so every other send comes back as ICMP port
//! unreachable (`ECONNREFUSED` on the connected socket). The service answers exactly as without
//! instrumentation, logs a bounded number of diagnostics, and every finished document is counted
//! as sent or dropped — with the batching emitter (the default) and the synchronous one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::UdpSocket;

use common::{Diagnostics, same_answers, serve, settled_stats, traced_app};
use tracing::Level;
use xray_core::Recorder;
use xray_core::daemon::DaemonAddress;
use xray_core::emit::UdpEmitter;

const ROUNDS: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_is_unaffected_and_every_document_is_counted() {
    let mut diagnostics = Diagnostics::capture();
    // A port nobody listens on: bound, then released.
    let nowhere = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let address = DaemonAddress::new(nowhere.into());
    let plain = serve(common::app()).await;

    for (mode, emitter) in [
        ("batched", UdpEmitter::new(&address)),
        ("synchronous", UdpEmitter::synchronous(&address)),
    ] {
        diagnostics.restart();
        let recorder = Recorder::builder()
            .emitter(emitter)
            .sample_all()
            .ignore_env()
            .build()
            .unwrap();
        let traced = serve(traced_app(recorder.clone())).await;

        let requests = same_answers(plain, traced, ROUNDS).await as u64;
        let stats = settled_stats(&recorder, requests);
        let warnings = diagnostics.at_least(Level::WARN);
        println!(
            "{mode}: {requests} requests, sent {} dropped {}, {} diagnostics ({} warnings or worse)",
            stats.sent,
            stats.dropped,
            diagnostics.all().len(),
            warnings.len()
        );
        // One segment per request (`/work` has 3 subsegments, under the streaming threshold).
        assert_eq!(stats.sent + stats.dropped, requests, "{mode}: {stats:?}");
        assert!(
            stats.dropped > 0,
            "{mode}: ICMP port unreachable was never seen: {stats:?}"
        );
        // Rate limited: one line per kind of failure and minute, not one per request.
        assert!((1..=2).contains(&warnings.len()), "{mode}: {warnings:#?}");
        assert!(
            diagnostics.all().len() <= 4,
            "{mode}: {:#?}",
            diagnostics.all()
        );
    }
}
