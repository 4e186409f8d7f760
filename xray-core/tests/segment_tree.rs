//! How live segments become documents: nesting, ending order, concurrency, streaming, late
//! subsegments, unsampled and disabled recorders, Lambda facades; and pending subsegments (added in
//! one step when they end, written when sent) in each of those situations.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use xray_core::context::{self, XrayFutureExt};
use xray_core::emit::MemoryEmitter;
use xray_core::header::{Sampled, TraceHeader};
use xray_core::model::{Document, DocumentKind, Namespace, Timestamp};
use xray_core::{Recorder, SegmentId};

fn recorder(threshold: usize) -> (Recorder, MemoryEmitter) {
    let emitter = MemoryEmitter::new();
    let recorder = Recorder::builder()
        .emitter(emitter.clone())
        .sample_all()
        .streaming_threshold(threshold)
        .ignore_env()
        .build()
        .unwrap();
    (recorder, emitter)
}

/// The sampled header of a Lambda invocation, for facades.
fn lambda_header() -> TraceHeader {
    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
        .parse()
        .unwrap()
}

/// Rebuilds the tree of a trace from streamed documents: id → (parent id, name).
fn flatten(docs: &[Document]) -> HashMap<SegmentId, (Option<SegmentId>, String)> {
    fn walk(
        d: &Document,
        parent: Option<SegmentId>,
        out: &mut HashMap<SegmentId, (Option<SegmentId>, String)>,
    ) {
        let prev = out.insert(d.id, (parent, d.name.clone()));
        assert!(prev.is_none(), "entity {} sent twice", d.id);
        for s in &d.subsegments {
            walk(s, Some(d.id), out);
        }
    }
    let mut out = HashMap::new();
    for d in docs {
        walk(d, d.parent_id, &mut out);
    }
    out
}

#[test]
fn nested_subsegments_are_embedded_when_few() {
    let (rec, emitter) = recorder(20);
    let seg = rec.begin_segment("svc");
    let a = seg.begin_subsegment("a");
    let b = a.begin_subsegment("b");
    let c = b.begin_subsegment("c");
    c.end();
    b.end();
    a.end();
    assert!(
        emitter.documents().is_empty(),
        "nothing is sent before the segment ends"
    );
    seg.end();
    let docs = emitter.documents();
    assert_eq!(docs.len(), 1);
    let d = &docs[0];
    assert_eq!(d.count(), 4);
    assert_eq!(d.subsegments[0].name, "a");
    assert_eq!(d.subsegments[0].subsegments[0].subsegments[0].name, "c");
    assert!(d.trace_id.is_some());
    assert!(d.kind.is_none());
    let sub = &d.subsegments[0];
    assert!(sub.trace_id.is_none() && sub.parent_id.is_none() && sub.kind.is_none());
    assert!(sub.start_time >= d.start_time);
    assert!(sub.end_time.unwrap() <= d.end_time.unwrap());
}

#[test]
fn segment_waits_for_open_subsegments() {
    let (rec, emitter) = recorder(20);
    let seg = rec.begin_segment("svc");
    let sub = seg.begin_subsegment("slow");
    seg.end();
    assert!(emitter.documents().is_empty());
    sub.end();
    let docs = emitter.documents();
    assert_eq!(docs.len(), 1);
    assert!(docs[0].end_time.unwrap() <= docs[0].subsegments[0].end_time.unwrap());
}

#[test]
fn dropping_guards_ends_them() {
    let (rec, emitter) = recorder(20);
    {
        let seg = rec.begin_segment("svc");
        let _a = seg.begin_subsegment("a");
        let _b = seg.begin_subsegment("b");
    }
    let docs = emitter.documents();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].subsegments.len(), 2);
    assert!(docs[0].subsegments.iter().all(|s| s.end_time.is_some()));
}

#[test]
fn streaming_beyond_the_threshold() {
    let (rec, emitter) = recorder(20);
    let seg = rec.begin_segment("svc");
    let seg_id = seg.id().unwrap();
    for i in 0..100 {
        let s = seg.begin_subsegment(&format!("sub-{i}"));
        s.annotate("i", i);
        s.end();
    }
    let streamed = emitter.documents();
    assert_eq!(
        streamed.len(),
        80,
        "everything beyond 20 held subsegments is streamed"
    );
    for d in &streamed {
        assert_eq!(d.kind, Some(DocumentKind::Subsegment));
        assert_eq!(d.parent_id, Some(seg_id));
        assert_eq!(d.trace_id, seg.trace_id());
    }
    seg.end();
    let docs = emitter.documents();
    assert_eq!(docs.len(), 81);
    let all = flatten(&docs);
    assert_eq!(all.len(), 101);
    assert_eq!(rec.emit_stats().streamed, 80);
    assert_eq!(rec.emit_stats().sent, 81);
}

#[test]
fn streaming_keeps_open_subtrees_and_streams_completed_nested_ones() {
    let (rec, emitter) = recorder(3);
    let seg = rec.begin_segment("svc");
    let open = seg.begin_subsegment("open-parent");
    let open_id = open.id().unwrap();
    for i in 0..6 {
        open.begin_subsegment(&format!("child-{i}")).end();
    }
    let docs = emitter.documents();
    assert!(!docs.is_empty());
    for d in &docs {
        assert_eq!(
            d.parent_id,
            Some(open_id),
            "completed children of an open subsegment stream with their direct parent id"
        );
    }
    open.end();
    seg.end();
    let all = flatten(&emitter.documents());
    assert_eq!(all.len(), 8);
    for i in 0..6 {
        let (parent, _) = all
            .values()
            .find(|(_, n)| n == &format!("child-{i}"))
            .unwrap();
        assert_eq!(*parent, Some(open_id));
    }
}

#[test]
fn zero_threshold_streams_every_completed_subsegment() {
    let (rec, emitter) = recorder(0);
    let seg = rec.begin_segment("svc");
    seg.begin_subsegment("a").end();
    assert_eq!(emitter.documents().len(), 1);
    seg.end();
    let docs = emitter.documents();
    assert_eq!(docs.len(), 2);
    assert!(docs[1].subsegments.is_empty());
}

#[test]
fn late_subsegment_after_the_segment_was_sent_goes_out_on_its_own() {
    let (rec, emitter) = recorder(20);
    let seg = rec.begin_segment("svc");
    let handle = seg.entity().clone();
    let seg_id = seg.id().unwrap();
    seg.end();
    assert_eq!(emitter.documents().len(), 1);
    let late = handle.begin_subsegment("late");
    late.begin_subsegment("late-child").end();
    late.end();
    let docs = emitter.documents();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[1].name, "late");
    assert_eq!(docs[1].parent_id, Some(seg_id));
    assert_eq!(docs[1].kind, Some(DocumentKind::Subsegment));
    assert_eq!(docs[1].subsegments[0].name, "late-child");
}

#[test]
fn concurrent_subsegments_from_many_threads() {
    let (rec, emitter) = recorder(1000);
    let seg = rec.begin_segment("svc");
    let entity = seg.entity().clone();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let e = entity.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    let s = e.begin_subsegment(&format!("t{t}-{i}"));
                    let inner = s.begin_subsegment("inner");
                    inner.annotate("thread", t);
                    inner.end();
                    s.end();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    seg.end();
    // 800 subsegments do not fit in one 64 kB datagram: the packer splits subsegments out even
    // though the streaming threshold was not reached.
    let docs = emitter.documents();
    assert!(docs.len() > 1);
    assert!(emitter.datagrams().iter().all(|d| d.len() <= 64_000));
    let all = flatten(&docs);
    assert_eq!(all.len(), 801);
    let seg_id = docs.iter().find(|d| d.kind.is_none()).unwrap().id;
    let outer: Vec<_> = all
        .iter()
        .filter(|(_, (p, _))| *p == Some(seg_id))
        .collect();
    assert_eq!(outer.len(), 400);
    for (id, _) in outer {
        assert_eq!(
            all.values()
                .filter(|(p, n)| *p == Some(*id) && n == "inner")
                .count(),
            1
        );
    }
    assert_eq!(rec.emit_stats().streamed as usize, docs.len() - 1);
}

#[test]
fn concurrent_streaming_loses_nothing() {
    let (rec, emitter) = recorder(5);
    let seg = rec.begin_segment("svc");
    let entity = seg.entity().clone();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let e = entity.clone();
            std::thread::spawn(move || {
                for i in 0..250 {
                    let s = e.begin_subsegment(&format!("t{t}-{i}"));
                    if i % 3 == 0 {
                        s.begin_subsegment("nested").end();
                    }
                    s.end();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    seg.end();
    let all = flatten(&emitter.documents());
    // 1 segment + 1000 subsegments + 84 nested per thread.
    assert_eq!(all.len(), 1 + 1000 + 4 * 84);
    let stats = rec.emit_stats();
    assert_eq!(stats.dropped, 0);
    assert_eq!(stats.sent as usize, emitter.documents().len());
}

#[test]
fn unsampled_segments_record_nothing_but_propagate() {
    let emitter = MemoryEmitter::new();
    let rec = Recorder::builder()
        .emitter(emitter.clone())
        .sampler(xray_core::sampling::NeverSample)
        .ignore_env()
        .build()
        .unwrap();
    let seg = rec.begin_segment("svc");
    assert!(!seg.is_sampled());
    seg.annotate("k", "v");
    let sub = seg.begin_subsegment("child");
    let header = sub.trace_header().unwrap();
    assert_eq!(header.sampled(), Some(Sampled::No));
    assert_eq!(header.parent(), sub.id());
    assert_ne!(sub.id(), seg.id());
    assert_eq!(header.root(), seg.trace_id().unwrap());
    assert!(sub.update(|_| ()).is_none());
    sub.end();
    seg.end();
    assert!(emitter.datagrams().is_empty());
}

#[test]
fn upstream_decision_wins_over_the_sampler() {
    let (rec, emitter) = recorder(20);
    let no: TraceHeader = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0"
        .parse()
        .unwrap();
    rec.segment("svc").trace_header(Some(&no)).begin().end();
    assert!(emitter.documents().is_empty());

    let never = Recorder::builder()
        .emitter(emitter.clone())
        .sampler(xray_core::sampling::NeverSample)
        .ignore_env()
        .build()
        .unwrap();
    let yes: TraceHeader = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1"
        .parse()
        .unwrap();
    let seg = never.segment("svc").trace_header(Some(&yes)).begin();
    let down = seg.trace_header().unwrap();
    assert_eq!(
        down.lineage(),
        Some("a87bd80c:1"),
        "extra keys go downstream"
    );
    assert_eq!(down.parent(), seg.id());
    seg.end();
    let docs = emitter.documents();
    assert_eq!(docs[0].trace_id, Some(yes.root()));
    assert_eq!(docs[0].parent_id, yes.parent());
}

#[test]
fn disabled_recorder_is_a_no_op() {
    let emitter = MemoryEmitter::new();
    let rec = Recorder::builder()
        .emitter(emitter.clone())
        .env_lookup(|k| (k == "AWS_XRAY_SDK_ENABLED").then(|| "false".to_owned()))
        .build()
        .unwrap();
    assert!(!rec.is_enabled());
    let seg = rec.begin_segment("svc");
    assert!(seg.trace_id().is_none());
    assert!(seg.trace_header().is_none());
    seg.begin_subsegment("x").end();
    seg.end();
    assert!(emitter.datagrams().is_empty());
}

#[test]
fn data_lands_in_the_document() {
    let (rec, emitter) = recorder(20);
    let seg = rec.begin_segment("svc");
    seg.annotate("tier", "gold");
    seg.annotate("count", 3);
    seg.annotate("ok", true);
    seg.add_metadata("payload", &serde_json::json!({"a": 1}));
    seg.add_metadata_in("debug", "list", &vec![1, 2, 3]);
    seg.set_user("alice");
    let sub = seg.begin_subsegment("db@host");
    sub.set_namespace(Namespace::Remote);
    sub.update(|d| {
        d.sql_mut().database_type = Some("PostgreSQL".into());
        d.set_http_status(503);
    });
    let err = std::io::Error::other("boom");
    sub.record_error(&err);
    sub.end();
    seg.end();
    let d = &emitter.documents()[0];
    assert_eq!(d.annotations.len(), 3);
    assert_eq!(d.metadata["default"]["payload"].get(), r#"{"a":1}"#);
    assert_eq!(d.metadata["debug"]["list"].get(), "[1,2,3]");
    assert_eq!(d.user.as_deref(), Some("alice"));
    assert_eq!(
        d.aws
            .as_ref()
            .unwrap()
            .xray
            .as_ref()
            .unwrap()
            .sdk
            .as_deref(),
        Some("X-Ray for Rust")
    );
    let s = &d.subsegments[0];
    assert_eq!(s.namespace, Some(Namespace::Remote));
    assert!(s.fault);
    assert_eq!(
        s.cause.as_ref().unwrap().exceptions()[0].message.as_deref(),
        Some("boom")
    );
}

#[test]
fn reentrant_update_is_ignored_not_deadlocked() {
    let (rec, emitter) = recorder(20);
    let seg = rec.begin_segment("svc");
    let handle = seg.entity().clone();
    seg.update(|d| {
        d.annotate("outer", 1);
        handle.annotate("inner", 2);
    });
    seg.end();
    let d = &emitter.documents()[0];
    assert!(d.annotations.contains_key("outer"));
    assert!(!d.annotations.contains_key("inner"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn context_follows_awaits_and_spawned_tasks() {
    let (rec, emitter) = recorder(1000);
    let mut handles = Vec::new();
    for r in 0..50 {
        let rec = rec.clone();
        handles.push(tokio::spawn(async move {
            let seg = rec.begin_segment(&format!("req-{r}"));
            let seg_id = seg.id().unwrap();
            async {
                let mut tasks = Vec::new();
                for t in 0..4 {
                    tasks.push(tokio::spawn(
                        async move {
                            let outer = xray_core::begin_subsegment(&format!("task-{t}"));
                            tokio::task::yield_now().await;
                            async {
                                tokio::time::sleep(Duration::from_millis(1)).await;
                                let _leaf = xray_core::begin_subsegment("leaf");
                            }
                            .in_entity(outer.entity().clone())
                            .await;
                            outer.end();
                        }
                        .in_current_entity(),
                    ));
                }
                for t in tasks {
                    t.await.unwrap();
                }
            }
            .in_entity(seg.entity().clone())
            .await;
            assert!(
                context::current().is_none(),
                "context does not leak out of the wrapper"
            );
            seg.end();
            seg_id
        }));
    }
    let mut ids = HashSet::new();
    for h in handles {
        ids.insert(h.await.unwrap());
    }
    let docs = emitter.documents();
    assert_eq!(docs.len(), 50);
    for d in &docs {
        assert!(ids.contains(&d.id));
        assert_eq!(d.subsegments.len(), 4, "{}", d.name);
        for s in &d.subsegments {
            assert_eq!(s.subsegments.len(), 1);
            assert_eq!(s.subsegments[0].name, "leaf");
        }
    }
}

#[tokio::test]
async fn dropped_future_ends_its_subsegments_in_context() {
    let (rec, emitter) = recorder(20);
    let seg = rec.begin_segment("svc");
    let fut = async {
        let _sub = xray_core::begin_subsegment("cancelled");
        std::future::pending::<()>().await;
    }
    .in_entity(seg.entity().clone());
    let _ = tokio::time::timeout(Duration::from_millis(5), fut).await;
    seg.end();
    let d = &emitter.documents()[0];
    assert_eq!(d.subsegments[0].name, "cancelled");
    assert!(d.subsegments[0].end_time.is_some());
}

#[test]
fn lambda_facade_sends_subsegments_not_itself() {
    let (rec, emitter) = recorder(20);
    let header = lambda_header();
    let facade = rec.begin_facade(&header);
    let a = facade.begin_subsegment("handler");
    a.begin_subsegment("nested").end();
    assert!(emitter.documents().is_empty());
    a.end();
    let docs = emitter.documents();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].name, "handler");
    assert_eq!(docs[0].kind, Some(DocumentKind::Subsegment));
    assert_eq!(docs[0].parent_id, header.parent());
    assert_eq!(docs[0].trace_id, Some(header.root()));
    assert_eq!(docs[0].subsegments[0].name, "nested");
    facade.begin_subsegment("second").end();
    facade.end();
    let docs = emitter.documents();
    assert_eq!(docs.len(), 2);
    assert!(docs.iter().all(|d| d.name != "facade"));

    let not_sampled: TraceHeader =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"
            .parse()
            .unwrap();
    let f = rec.begin_facade(&not_sampled);
    f.begin_subsegment("x").end();
    f.end();
    assert_eq!(emitter.documents().len(), 2);
}

#[test]
fn many_traces_do_not_share_state() {
    let (rec, emitter) = recorder(20);
    let rec = Arc::new(rec);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let rec = rec.clone();
            std::thread::spawn(move || {
                for i in 0..100 {
                    let seg = rec.begin_segment(&format!("t{t}-{i}"));
                    seg.begin_subsegment("only-child").end();
                    seg.end();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let docs = emitter.documents();
    assert_eq!(docs.len(), 400);
    assert!(docs.iter().all(|d| d.subsegments.len() == 1));
    let traces: HashSet<_> = docs.iter().map(|d| d.trace_id).collect();
    assert_eq!(traces.len(), 400);
}

#[test]
fn errors_with_backtraces_carry_stack_frames() {
    let (rec, emitter) = recorder(20);
    let seg = rec.begin_segment("svc");
    let err = std::io::Error::other("disk on fire");
    let backtrace = std::backtrace::Backtrace::force_capture();
    seg.record_error_with_backtrace(&err, &backtrace);
    seg.end();
    let d = &emitter.documents()[0];
    assert!(d.fault);
    let ex = &d.cause.as_ref().unwrap().exceptions()[0];
    assert_eq!(ex.message.as_deref(), Some("disk on fire"));
    assert!(!ex.stack.is_empty(), "frames were recorded");
    assert!(ex.stack.len() <= xray_core::model::MAX_STACK_FRAMES);
    assert!(
        ex.stack.iter().any(|f| f
            .label
            .as_deref()
            .is_some_and(|l| l.contains("segment_tree"))),
        "{:?}",
        ex.stack
    );
}

// Pending subsegments.

#[test]
fn lands_under_its_parent_with_what_the_writer_wrote() {
    let (rec, emitter) = recorder(20);
    let seg = rec.begin_segment("svc");
    let handler = seg.begin_subsegment("handler");
    let call = handler.begin_pending_subsegment("DynamoDB");
    assert!(call.is_sampled());
    let id = call.id().unwrap();
    let header = call.trace_header().unwrap();
    assert_eq!(header.root(), seg.trace_id().unwrap());
    assert_eq!(header.parent(), Some(id));
    assert_eq!(header.sampled(), Some(Sampled::Yes));

    let written = Arc::new(AtomicUsize::new(0));
    let counter = written.clone();
    let status = 200_u16;
    call.end_with(move |d| {
        counter.fetch_add(1, Ordering::SeqCst);
        d.set_namespace(Namespace::Aws);
        d.aws_mut().operation = Some("GetItem".to_owned());
        d.set_http_status(status);
        // The writer sees the finished subsegment.
        assert!(d.document().end_time.is_some());
        assert!(!d.document().in_progress);
    });
    // Written when sent, not when it ended.
    assert_eq!(written.load(Ordering::SeqCst), 0);
    handler.end();
    assert_eq!(written.load(Ordering::SeqCst), 0);
    seg.end();
    assert_eq!(written.load(Ordering::SeqCst), 1);

    let docs = emitter.documents();
    assert_eq!(docs.len(), 1);
    let handler = &docs[0].subsegments[0];
    assert_eq!(handler.name, "handler");
    let sub = &handler.subsegments[0];
    assert_eq!(sub.name, "DynamoDB");
    assert_eq!(sub.id, id);
    assert_eq!(sub.namespace, Some(Namespace::Aws));
    assert_eq!(
        sub.aws.as_ref().unwrap().operation.as_deref(),
        Some("GetItem")
    );
    assert_eq!(
        sub.http.as_ref().unwrap().response.as_ref().unwrap().status,
        Some(200)
    );
    assert!(!sub.in_progress);
    let (start, end) = (sub.start_time, sub.end_time.unwrap());
    assert!(start >= docs[0].start_time && end >= start && end <= docs[0].end_time.unwrap());
}

#[test]
fn goes_out_on_its_own_when_the_segment_was_sent_first() {
    let (rec, emitter) = recorder(20);
    let seg = rec.begin_segment("svc");
    let seg_id = seg.id().unwrap();
    let call = seg.begin_pending_subsegment("SQS");
    // A segment does not wait for a pending subsegment: nothing was reserved.
    seg.end();
    assert_eq!(emitter.documents().len(), 1);
    assert!(emitter.documents()[0].subsegments.is_empty());
    call.end_with(|d| d.set_namespace(Namespace::Aws));
    let docs = emitter.documents();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[1].name, "SQS");
    assert_eq!(docs[1].kind, Some(DocumentKind::Subsegment));
    assert_eq!(docs[1].parent_id, Some(seg_id));
    assert_eq!(docs[1].trace_id, docs[0].trace_id);
    assert_eq!(docs[1].namespace, Some(Namespace::Aws));
}

#[test]
fn dropped_it_is_recorded_with_its_name_and_times() {
    let (rec, emitter) = recorder(20);
    let seg = rec.begin_segment("svc");
    let before = Timestamp::now();
    drop(seg.begin_pending_subsegment("S3"));
    seg.begin_pending_subsegment(String::from("owned name"))
        .end();
    seg.begin_pending_subsegment("presigning").discard();
    seg.end();
    let docs = emitter.documents();
    let subs = &docs[0].subsegments;
    assert_eq!(subs.len(), 2);
    assert_eq!(subs[0].name, "S3");
    assert_eq!(subs[1].name, "owned name");
    for s in subs {
        assert!(s.start_time.as_micros() + 1_000 >= before.as_micros());
        assert!(s.end_time.unwrap() >= s.start_time);
        assert!(s.aws.is_none() && s.http.is_none());
    }
}

#[test]
fn names_are_sanitized_like_every_name() {
    let (rec, emitter) = recorder(20);
    let seg = rec.begin_segment("svc");
    seg.begin_pending_subsegment("bad<name>?").end();
    seg.end();
    assert_eq!(
        emitter.documents()[0].subsegments[0].name,
        xray_core::segment::sanitize_name("bad<name>?")
    );
}

#[test]
fn unsampled_it_records_nothing_and_propagates_a_fresh_parent() {
    let (rec, emitter) = recorder(20);
    let incoming: TraceHeader =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"
            .parse()
            .unwrap();
    let seg = rec.segment("svc").trace_header(Some(&incoming)).begin();
    assert!(!seg.is_sampled());
    let call = seg.begin_pending_subsegment("DynamoDB");
    assert!(!call.is_sampled());
    let header = call.trace_header().unwrap();
    assert_eq!(header.root(), incoming.root());
    assert_eq!(header.sampled(), Some(Sampled::No));
    assert!(header.parent().is_some());
    let written = Arc::new(AtomicUsize::new(0));
    let counter = written.clone();
    call.end_with(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    seg.end();
    assert_eq!(written.load(Ordering::SeqCst), 0, "nothing is written");
    assert!(emitter.documents().is_empty());

    let disabled = xray_core::Entity::disabled().begin_pending_subsegment("x");
    assert!(!disabled.is_sampled());
    assert!(disabled.trace_header().is_none());
    assert!(disabled.id().is_none());
}

#[test]
fn the_incoming_extra_keys_go_downstream() {
    let (rec, _emitter) = recorder(20);
    let incoming: TraceHeader =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1"
            .parse()
            .unwrap();
    let seg = rec.segment("svc").trace_header(Some(&incoming)).begin();
    let header = seg
        .begin_pending_subsegment("Lambda")
        .trace_header()
        .unwrap();
    assert_eq!(header.lineage(), Some("a87bd80c:1"));
}

#[test]
fn beyond_the_streaming_threshold_ended_ones_are_streamed() {
    let (rec, emitter) = recorder(3);
    let seg = rec.begin_segment("svc");
    let ids: Vec<SegmentId> = (0..10)
        .map(|i| {
            let call = seg.begin_pending_subsegment(format!("call-{i}"));
            let id = call.id().unwrap();
            call.end();
            id
        })
        .collect();
    // Streamed while the segment is open: never more than the threshold held.
    let streamed = emitter.documents();
    assert!(streamed.len() >= 7, "{} streamed", streamed.len());
    assert!(
        streamed
            .iter()
            .all(|d| d.kind == Some(DocumentKind::Subsegment))
    );
    seg.end();
    // `flatten` checks that nothing is sent twice.
    let sent = flatten(&emitter.documents());
    for id in &ids {
        assert!(sent.contains_key(id), "{id} sent");
    }
}

#[test]
fn in_a_lambda_facade_each_goes_out_when_it_ends() {
    let (rec, emitter) = recorder(20);
    let header = lambda_header();
    let facade = rec.begin_facade(&header);
    facade.begin_pending_subsegment("DynamoDB").end();
    let docs = emitter.documents();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].name, "DynamoDB");
    assert_eq!(docs[0].kind, Some(DocumentKind::Subsegment));
    assert_eq!(docs[0].parent_id, header.parent());
    assert_eq!(docs[0].trace_id, Some(header.root()));
    facade.end();
    assert_eq!(emitter.documents().len(), 1);
}

#[test]
fn waits_under_its_parent_and_leaves_with_it_not_with_its_slot() {
    let (rec, emitter) = recorder(20);
    let header = lambda_header();
    let facade = rec.begin_facade(&header);
    let handler = facade.begin_subsegment("handler");
    let handler_id = handler.id().unwrap();
    handler.begin_pending_subsegment("early").end();
    let late = handler.begin_pending_subsegment("late");
    // The handler is sent at once (facade), carrying what ended under it.
    handler.end();
    // The next subsegment takes the handler's place in the tree: it must not adopt anything.
    let next = facade.begin_subsegment("next");
    late.end();
    next.end();
    facade.end();
    let docs = emitter.documents();
    let names: Vec<&str> = docs.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["handler", "late", "next"]);
    let early: Vec<&str> = docs[0]
        .subsegments
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(early, ["early"]);
    assert_eq!(docs[1].kind, Some(DocumentKind::Subsegment));
    assert_eq!(docs[1].parent_id, Some(handler_id));
    assert!(docs[2].subsegments.is_empty());
}

#[test]
fn many_threads_ending_at_once_lose_nothing() {
    let (rec, emitter) = recorder(1000);
    let seg = rec.begin_segment("svc");
    let entity = seg.entity().clone();
    let ids: Vec<SegmentId> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let entity = entity.clone();
                scope.spawn(move || {
                    (0..200)
                        .map(|i| {
                            let call = entity.begin_pending_subsegment("call");
                            let id = call.id().unwrap();
                            call.end_with(move |d| d.annotate("n", i64::from(t * 1000 + i)));
                            id
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    seg.end();
    // 1,600 subsegments do not fit one datagram: the trace is split (packing), so look at every
    // document sent.
    let docs = emitter.documents();
    let sent = flatten(&docs); // nothing sent twice
    assert!(ids.iter().all(|id| sent.contains_key(id)), "nothing lost");
    let mut ns = Vec::new();
    for d in &docs {
        d.walk(&mut |d| {
            if d.name == "call" {
                ns.push(d.annotations["n"].clone());
            }
        });
    }
    assert_eq!(ns.len(), 1600);
    let distinct: HashSet<String> = ns.iter().map(|n| format!("{n:?}")).collect();
    assert_eq!(
        distinct.len(),
        1600,
        "each writer ran once, on its own subsegment"
    );
}

#[test]
fn a_panicking_writer_does_not_reach_the_code_that_ends_the_segment() {
    let (rec, emitter) = recorder(20);
    let seg = rec.begin_segment("svc");
    seg.begin_pending_subsegment("flaky").end_with(|d| {
        d.set_namespace(Namespace::Remote);
        panic!("writer bug");
    });
    seg.begin_pending_subsegment("fine").end();
    seg.end(); // must not panic
    let docs = emitter.documents();
    assert_eq!(docs.len(), 1);
    let subs = &docs[0].subsegments;
    assert_eq!(subs.len(), 2);
    assert_eq!(subs[0].name, "flaky");
    assert_eq!(
        subs[0].namespace,
        Some(Namespace::Remote),
        "what was written is kept"
    );
    assert!(subs[0].end_time.is_some());
    assert_eq!(subs[1].name, "fine");
}
