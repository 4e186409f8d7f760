//! `PendingSubsegment`: a subsegment added to the trace in one step when it ends, its fields
//! written when the trace is sent. Where it lands, what it carries, and what happens when its
//! parent goes first, it is dropped, the request is unsampled, the segment streams, or many end
//! at once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

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

fn all_ids(docs: &[Document]) -> Vec<SegmentId> {
    let mut ids = Vec::new();
    for d in docs {
        d.walk(&mut |d| ids.push(d.id));
    }
    ids
}

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
    let docs = emitter.documents();
    let sent = all_ids(&docs);
    for id in &ids {
        assert_eq!(
            sent.iter().filter(|s| *s == id).count(),
            1,
            "{id} sent once"
        );
    }
}

#[test]
fn in_a_lambda_facade_each_goes_out_when_it_ends() {
    let (rec, emitter) = recorder(20);
    let header: TraceHeader =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
            .parse()
            .unwrap();
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
    let sent = all_ids(&docs);
    let unique: std::collections::HashSet<_> = sent.iter().copied().collect();
    assert_eq!(unique.len(), sent.len(), "nothing sent twice");
    assert!(ids.iter().all(|id| unique.contains(id)), "nothing lost");
    let mut ns = Vec::new();
    for d in &docs {
        d.walk(&mut |d| {
            if d.name == "call" {
                ns.push(d.annotations["n"].clone());
            }
        });
    }
    assert_eq!(ns.len(), 1600);
    let distinct: std::collections::HashSet<String> = ns.iter().map(|n| format!("{n:?}")).collect();
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
