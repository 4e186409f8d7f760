//! The real documents of the spec's example set (from the OpenTelemetry collector's X-Ray
//! fixtures, produced by the Go SDK and others) sent over UDP as the daemon receives them,
//! pretty-printed, one per datagram: all accepted without repair, and the Go SDK's DynamoDB
//! trace yields the expected graph.
//!
//! The spec directory is found through `XRAY_SPEC_DIR` or next to the repository
//! (`<repo>/../shared/spec`), as in xray-core's conformance tests. Where it is absent the test
//! says so and passes; `XRAY_REQUIRE_SPEC=1` turns that into a failure.

mod support;

use std::path::PathBuf;

use support::{HEADER, WAIT, receiver, send_raw};

fn spec_dir() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("XRAY_SPEC_DIR").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/spec")),
    ];
    let found = candidates
        .into_iter()
        .flatten()
        .find(|p| p.join("examples").is_dir());
    if found.is_none() {
        assert!(
            std::env::var_os("XRAY_REQUIRE_SPEC").is_none(),
            "XRAY_REQUIRE_SPEC is set but ../shared/spec was not found"
        );
        eprintln!("skipped: ../shared/spec not found (set XRAY_SPEC_DIR)");
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_examples_are_received() {
    let Some(dir) = spec_dir() else { return };
    let rx = receiver().await;
    let mut sent = 0;
    let mut entries: Vec<_> = std::fs::read_dir(dir.join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let text = std::fs::read(&path).unwrap();
        let datagram = if path.extension().is_some_and(|e| e == "json") {
            [HEADER.as_bytes(), &text].concat()
        } else {
            // Already a raw datagram: header line, newline, pretty-printed document.
            text
        };
        send_raw(rx.local_addr(), &[&datagram]);
        sent += 1;
    }
    assert!(sent >= 11, "only {sent} examples");
    assert!(support::eventually(|| rx.stats().datagrams == sent).await);
    let stats = rx.stats();
    assert_eq!(stats.documents, sent, "{stats}");
    assert_eq!((stats.rejected.total(), stats.repaired), (0, 0), "{stats}");

    // The Go SDK's DynamoDB sample: one segment, 17 nested subsegments, two DynamoDB calls of
    // which one failed.
    let trace_id = "1-5f29ab21-d4ebf299219a65bd5c31d6da".parse().unwrap();
    let finished = rx
        .wait_until(WAIT, |t| t.iter().any(|t| t.trace_id() == trace_id))
        .await
        .unwrap();
    let ddb = finished.iter().find(|t| t.trace_id() == trace_id).unwrap();
    assert!(ddb.is_complete());
    assert_eq!(ddb.entity_count(), 18);
    let graph = xray_local::ServiceGraph::from_traces([ddb]);
    let calls = graph.edge("service:DDB", "aws:dynamodb").unwrap().stats();
    assert_eq!(
        (calls.requests(), calls.faults(), calls.fault_rate()),
        (2, 1, 0.5)
    );
    assert_eq!(
        graph
            .edge("client", "service:DDB")
            .unwrap()
            .stats()
            .faults(),
        1
    );
}
