//! Every document this workspace's SDK emits reaches the receiver over real UDP, passes the
//! parser unchanged (no repair, nothing lost), and is reassembled into the tree it was recorded
//! as, also when a low streaming threshold sends most subsegments as independent documents
//! before their parents.

mod support;

use std::collections::HashMap;

use serde_json::Value;
use xray_core::TraceId;
use xray_core::model::{Document, Namespace};
use xray_local::{Trace, TraceNode};

use support::{WAIT, receiver, recorder};

/// Records `traces` traces of the shape
/// orders → handler → (step-0..3 → io), and orders → DynamoDB (aws), annotated.
fn record(recorder: &xray_core::Recorder, traces: usize) {
    for t in 0..traces {
        let segment = recorder.begin_segment("orders");
        segment.annotate("request", t as u64);
        segment.add_metadata("payload", &serde_json::json!({"items": [1, 2, 3]}));
        {
            let handler = segment.begin_subsegment("handler");
            for s in 0..3 {
                let step = handler.begin_subsegment(&format!("step-{s}"));
                step.annotate("step", s);
                step.begin_subsegment("io").end();
                step.end();
            }
            handler.end();
        }
        let call = segment.begin_subsegment("DynamoDB");
        call.set_namespace(Namespace::Aws);
        call.update(|d| {
            d.aws_mut().operation = Some("GetItem".into());
            d.set_http_status(200);
        });
        call.end();
        segment.set_http_status(200);
        segment.end();
    }
}

/// The tree as `depth:name` lines, children by start time.
fn shape(trace: &Trace) -> Vec<String> {
    trace
        .iter()
        .with_depth()
        .map(|(n, d)| format!("{d}:{}", n.name()))
        .collect()
}

/// Independent subsegments hang from the entity their `parent_id` names.
fn check_links(node: &TraceNode) {
    for child in node.children() {
        if let Some(parent) = child.document().parent_id {
            assert_eq!(parent, node.id(), "{} under the wrong parent", child.name());
        }
        check_links(child);
    }
}

/// The entity's JSON as sent, without its embedded subsegments.
fn flat(doc: &Document) -> Value {
    let mut v = serde_json::to_value(doc).expect("documents serialize");
    if let Some(fields) = v.as_object_mut() {
        fields.remove("subsegments");
    }
    v
}

async fn round_trip(streaming_threshold: usize) {
    let rx = receiver().await;
    let (recorder, memory) = recorder(&rx, streaming_threshold);
    let traces = 20;
    record(&recorder, traces);

    let received = rx
        .wait_for_traces(traces, WAIT)
        .await
        .expect("all traces finish");
    let sent = recorder.emit_stats();
    assert_eq!(sent.dropped, 0, "the SDK dropped documents: {sent:?}");
    let stats = rx.stats();
    assert_eq!(stats.documents, sent.sent, "{stats}");
    assert_eq!(stats.datagrams, memory.datagrams().len() as u64);
    assert_eq!(stats.rejected.total(), 0, "{stats}");
    assert_eq!(stats.repaired, 0, "{stats}");
    assert_eq!(stats.subsegments, sent.streamed);
    if streaming_threshold < 5 {
        assert!(sent.streamed > 0, "the test must exercise streaming");
    }

    // Every entity of every sent document arrived unchanged.
    let by_trace: HashMap<TraceId, &Trace> = received.iter().map(|t| (t.trace_id(), t)).collect();
    let mut entities = 0;
    for doc in memory.documents() {
        let trace = by_trace[&doc
            .trace_id
            .expect("top-level documents carry the trace id")];
        let mut check = |d: &Document| {
            let node = trace
                .find(d.id)
                .unwrap_or_else(|| panic!("{} ({}) missing", d.name, d.id));
            assert_eq!(flat(node.document()), flat(d));
            entities += 1;
        };
        doc.walk(&mut check);
    }
    let held: usize = received.iter().map(Trace::entity_count).sum();
    assert_eq!(entities, held);
    assert_eq!(held, traces * 9);

    // And each trace is the tree it was recorded as.
    let expected = [
        "0:orders",
        "1:handler",
        "2:step-0",
        "3:io",
        "2:step-1",
        "3:io",
        "2:step-2",
        "3:io",
        "1:DynamoDB",
    ];
    for trace in &received {
        assert!(trace.is_complete() && trace.is_finished());
        assert!(trace.orphans().is_empty());
        assert_eq!(trace.roots().len(), 1);
        let got = shape(trace);
        assert_eq!(got, expected, "{trace}");
        let root = &trace.roots()[0];
        assert_eq!(root.document().parent_id, None);
        assert!(root.annotations().contains_key("request"));
        check_links(root);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_segments_round_trip() {
    round_trip(100).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_subsegments_are_reattached() {
    round_trip(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subsegment_streamed_on_its_own() {
    round_trip(0).await;
}
