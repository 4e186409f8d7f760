//! Hand-written datagrams in awkward orders: in-progress documents replaced by their completed
//! versions, independent subsegments arriving before their parents, a late stale copy, and a
//! trace whose parent never comes.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use xray_core::model::Timestamp;
use xray_core::{SegmentId, TraceId};
use xray_local::{Event, LocalReceiver, Trace};

use support::{WAIT, datagram, eventually, receiver, send_raw};

struct Ids {
    trace: TraceId,
    segment: SegmentId,
    a: SegmentId,
    b: SegmentId,
    c: SegmentId,
    t0: f64,
}

impl Ids {
    fn new() -> Self {
        Self {
            trace: TraceId::new(),
            segment: SegmentId::new(),
            a: SegmentId::new(),
            b: SegmentId::new(),
            c: SegmentId::new(),
            t0: Timestamp::now().as_secs_f64(),
        }
    }

    fn independent(
        &self,
        name: &str,
        id: SegmentId,
        parent: SegmentId,
        start: f64,
        end: f64,
    ) -> Value {
        json!({
            "type": "subsegment", "trace_id": self.trace.to_string(), "parent_id": parent.to_string(),
            "name": name, "id": id.to_string(), "start_time": self.t0 + start, "end_time": self.t0 + end,
        })
    }
}

fn send(rx: &LocalReceiver, docs: &[Value]) {
    let datagrams: Vec<Vec<u8>> = docs.iter().map(|d| datagram(&d.to_string())).collect();
    let refs: Vec<&[u8]> = datagrams.iter().map(Vec::as_slice).collect();
    send_raw(rx.local_addr(), &refs);
}

fn shape(trace: &Trace) -> Vec<String> {
    trace
        .iter()
        .with_depth()
        .map(|(n, d)| format!("{d}:{}", n.name()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_progress_documents_are_replaced_by_completed_ones() {
    let rx = receiver().await;
    let ids = Ids::new();
    let in_progress = json!({
        "name": "checkout", "id": ids.segment.to_string(), "trace_id": ids.trace.to_string(),
        "start_time": ids.t0, "in_progress": true,
        "subsegments": [{"name": "payment", "id": ids.a.to_string(), "start_time": ids.t0 + 0.010, "in_progress": true}]
    });
    let mut card = ids.independent("card-api", ids.b, ids.a, 0.020, 0.050);
    card["namespace"] = json!("remote");
    card["http"] = json!({"request": {"method": "POST", "url": "https://card.example.com/charge"}, "response": {"status": 200}});
    send(&rx, &[in_progress.clone(), card]);

    // In progress: visible, but neither complete nor finished.
    let early = rx.wait_for_traces(1, Duration::from_millis(400)).await;
    let err = early.expect_err("an in-progress trace must not finish within the quiet period");
    assert_eq!((err.finished_traces(), err.open_traces()), (0, 1));
    let now = rx
        .trace(ids.trace)
        .expect("the trace is visible while in progress");
    assert!(!now.is_complete() && !now.is_finished());
    assert_eq!(shape(&now), ["0:checkout", "1:payment", "2:card-api"]);
    assert!(now.roots()[0].is_in_progress());
    assert_eq!(now.roots()[0].duration(), None);

    // The subsegment is streamed completed, then the segment completes without embedding it.
    let payment = ids.independent("payment", ids.a, ids.segment, 0.010, 0.060);
    let mut done = in_progress.clone();
    done.as_object_mut().unwrap().remove("in_progress");
    done.as_object_mut().unwrap().remove("subsegments");
    done["end_time"] = json!(ids.t0 + 0.100);
    done["http"] = json!({"response": {"status": 200}});
    send(&rx, &[payment, done]);

    let traces = rx
        .wait_for_traces(1, WAIT)
        .await
        .expect("the trace finishes");
    let trace = &traces[0];
    assert!(trace.is_complete(), "{trace}");
    assert_eq!(shape(trace), ["0:checkout", "1:payment", "2:card-api"]);
    let root = &trace.roots()[0];
    assert!(!root.is_in_progress());
    assert_eq!(root.duration(), Some(Duration::from_millis(100)));
    assert_eq!(
        root.children()[0].duration(),
        Some(Duration::from_millis(50))
    );
    assert_eq!(trace.entity_count(), 3);
    let stats = rx.stats();
    assert_eq!(stats.documents, 4);
    assert_eq!(stats.in_progress, 1);
    assert_eq!((stats.segments, stats.subsegments), (2, 2));
    assert_eq!(
        stats.replaced, 2,
        "payment and checkout replaced: {stats:?}"
    );

    // A stale in-progress copy arriving late changes nothing.
    send(&rx, &[in_progress]);
    assert!(eventually(|| rx.stats().ignored == 1).await);
    // Give a wrongly reopened trace the time to finish again before checking it did not.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let trace = rx.trace(ids.trace).unwrap();
    assert!(trace.is_complete() && trace.is_finished());
    assert_eq!(trace.entity_count(), 3);
    assert_eq!(rx.stats().traces_finished, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subsegments_arriving_before_their_parents_are_reattached() {
    let rx = receiver().await;
    let mut events = rx.subscribe();
    let ids = Ids::new();
    // Deepest first, as streaming produces them.
    send(
        &rx,
        &[
            ids.independent("c", ids.c, ids.b, 0.03, 0.04),
            ids.independent("b", ids.b, ids.a, 0.02, 0.05),
        ],
    );
    assert!(eventually(|| rx.trace(ids.trace).is_some_and(|t| t.entity_count() == 2)).await);
    let partial = rx.trace(ids.trace).unwrap();
    assert!(partial.roots().is_empty());
    assert_eq!(
        partial.orphans().len(),
        1,
        "c hangs from b: one orphan tree"
    );
    assert_eq!(shape(&partial), ["0:b", "1:c"]);
    assert!(!partial.is_finished());

    send(
        &rx,
        &[
            ids.independent("a", ids.a, ids.segment, 0.01, 0.06),
            json!({"name": "svc", "id": ids.segment.to_string(), "trace_id": ids.trace.to_string(),
                   "start_time": ids.t0, "end_time": ids.t0 + 0.1}),
        ],
    );
    let finished = loop {
        match tokio::time::timeout(WAIT, events.recv()).await {
            Ok(Some(Event::TraceFinished(t))) => break t,
            Ok(Some(_)) => {}
            other => panic!("no finished trace: {other:?}"),
        }
    };
    assert_eq!(finished.trace_id(), ids.trace);
    assert!(finished.is_complete() && finished.orphans().is_empty());
    assert_eq!(shape(&finished), ["0:svc", "1:a", "2:b", "3:c"]);
    assert_eq!(rx.stats().traces_finished, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_whose_parent_never_comes_finishes_after_the_timeout() {
    let rx = LocalReceiver::builder()
        .quiet_period(Duration::from_millis(50))
        .incomplete_timeout(Duration::from_millis(500))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let ids = Ids::new();
    // A Lambda-style subsegment: its parent is the function segment Lambda records itself.
    send(
        &rx,
        &[ids.independent("handler", ids.a, ids.segment, 0.0, 0.02)],
    );
    assert!(
        rx.wait_for_traces(1, Duration::from_millis(250))
            .await
            .is_err(),
        "not before the incomplete timeout"
    );
    let traces = rx.wait_for_traces(1, WAIT).await.unwrap();
    assert!(!traces[0].is_complete());
    assert_eq!(traces[0].orphans()[0].name(), "handler");
    // The text says what is missing.
    assert!(traces[0].to_string().contains("parent not received"));
}
