//! The layer's rules, with a real recorder and synchronous spans under a scoped subscriber:
//! filters, explicit parents, spans exited out of order, `Span::record`, secret-looking fields,
//! no current segment, and coloured text logs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io;
use std::sync::{Arc, Mutex};

use tracing::{Level, Subscriber, debug_span, info, info_span, trace_span, warn_span};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;
use xray_core::emit::MemoryEmitter;
use xray_core::model::Document;
use xray_core::{Recorder, context};
use xray_tracing::{TraceIdFormat, XrayLayer};

fn recorder() -> (Recorder, MemoryEmitter) {
    let emitter = MemoryEmitter::new();
    let recorder = Recorder::builder()
        .emitter(emitter.clone())
        .sample_all()
        .ignore_env()
        .build()
        .unwrap();
    (recorder, emitter)
}

/// Runs `body` inside a sampled segment under `subscriber`; returns the segment document.
fn traced(subscriber: impl Subscriber + Send + Sync + 'static, body: impl FnOnce()) -> Document {
    let (recorder, emitter) = recorder();
    tracing::subscriber::with_default(subscriber, || {
        let segment = recorder.begin_segment("job");
        segment.in_scope(body);
        segment.end();
    });
    let mut docs = emitter.documents();
    assert_eq!(docs.len(), 1, "{docs:#?}");
    docs.remove(0)
}

fn names(docs: &[Document]) -> Vec<&str> {
    docs.iter().map(|d| d.name.as_str()).collect()
}

#[test]
fn default_filter_is_info_and_above() {
    let doc = traced(
        tracing_subscriber::registry().with(XrayLayer::new()),
        || {
            let _w = warn_span!("warned").entered();
            let _d = debug_span!("debugging").entered();
            let _t = trace_span!("tracing").entered();
            let _i = info_span!("inner").entered();
        },
    );
    assert_eq!(names(&doc.subsegments), ["warned"]);
    // Skipped spans leave their children to the nearest traced ancestor.
    assert_eq!(names(&doc.subsegments[0].subsegments), ["inner"]);
}

#[test]
fn level_targets_and_predicate_filters() {
    let layer = XrayLayer::new()
        .min_level(Level::DEBUG)
        .targets(["layer_rules", "app"])
        .span_filter(|meta| meta.name() != "chatty");
    let doc = traced(tracing_subscriber::registry().with(layer), || {
        drop(debug_span!("debugging").entered());
        drop(info_span!("chatty").entered());
        drop(info_span!(target: "dependency", "foreign").entered());
        drop(info_span!(target: "app::db", "ours").entered());
        drop(trace_span!("tracing").entered());
    });
    assert_eq!(names(&doc.subsegments), ["debugging", "ours"]);
}

#[test]
fn per_layer_filters_compose() {
    let layer = XrayLayer::new().with_filter(tracing_subscriber::filter::filter_fn(|meta| {
        meta.name() != "hidden"
    }));
    let doc = traced(tracing_subscriber::registry().with(layer), || {
        let _h = info_span!("hidden").entered();
        let _v = info_span!("visible").entered();
    });
    assert_eq!(names(&doc.subsegments), ["visible"]);
}

#[test]
fn explicit_parent_wins_over_the_current_entity() {
    let doc = traced(
        tracing_subscriber::registry().with(XrayLayer::new()),
        || {
            let a = info_span!("a");
            let b = info_span!("b");
            {
                let _b = b.enter();
                // Created while `b` is current, but its parent is `a`.
                let _c = info_span!(parent: &a, "c").entered();
                let _sub = xray_core::begin_subsegment("under-c");
            }
        },
    );
    assert_eq!(names(&doc.subsegments), ["a", "b"]);
    assert_eq!(names(&doc.subsegments[0].subsegments), ["c"]);
    assert_eq!(
        names(&doc.subsegments[0].subsegments[0].subsegments),
        ["under-c"]
    );
    assert!(doc.subsegments[1].subsegments.is_empty());
}

#[test]
fn the_entered_span_is_current_and_restored_even_out_of_order() {
    traced(
        tracing_subscriber::registry().with(XrayLayer::new()),
        || {
            let segment = context::current().unwrap().id();
            let a = info_span!("a").entered();
            let a_id = context::current().unwrap().id();
            assert_ne!(a_id, segment);
            let b = info_span!("b").entered();
            let b_id = context::current().unwrap().id();
            assert_ne!(b_id, a_id);
            // `a` exited first: `b` is still entered and stays current.
            drop(a);
            assert_eq!(context::current().unwrap().id(), b_id);
            drop(b);
            assert_eq!(context::current().unwrap().id(), segment);
            // Re-entering the same span twice nests and unwinds.
            let c = info_span!("c");
            let outer = c.enter();
            let c_id = context::current().unwrap().id();
            {
                let _inner = c.enter();
                assert_eq!(context::current().unwrap().id(), c_id);
            }
            assert_eq!(context::current().unwrap().id(), c_id);
            drop(outer);
            assert_eq!(context::current().unwrap().id(), segment);
        },
    );
}

#[test]
fn recorded_fields_and_secrets() {
    let doc = traced(
        tracing_subscriber::registry().with(XrayLayer::new()),
        || {
            let span = info_span!(
                "login",
                user = "alice",
                password = "hunter2",
                api_token = "t-1",
                attempts = 2u32,
                ratio = 0.5,
                ok = true,
                xray.annotation.tenant = "acme",
                xray.annotation.premium = false,
                outcome = tracing::field::Empty,
            );
            span.record("outcome", "granted");
        },
    );
    let login = &doc.subsegments[0];
    let meta = &login.metadata["tracing"];
    let keys: Vec<&str> = meta.keys().map(String::as_str).collect();
    assert_eq!(keys, ["attempts", "ok", "outcome", "ratio", "user"]);
    assert_eq!(meta["user"].get(), "\"alice\"");
    assert_eq!(meta["attempts"].get(), "2");
    assert_eq!(meta["ratio"].get(), "0.5");
    assert_eq!(meta["outcome"].get(), "\"granted\"");
    assert_eq!(login.annotations["tenant"], "acme".into());
    assert_eq!(login.annotations["premium"], false.into());
    assert!(!login.error);
}

#[test]
fn error_field_with_an_error_value_records_its_chain() {
    let err = std::io::Error::other("disk gone");
    let doc = traced(
        tracing_subscriber::registry().with(XrayLayer::new()),
        || {
            let _s =
                info_span!("write", error = &err as &(dyn std::error::Error + 'static)).entered();
        },
    );
    let write = &doc.subsegments[0];
    assert!(write.error && !write.fault);
    let cause = serde_json::to_value(write.cause.as_ref().unwrap()).unwrap();
    assert_eq!(cause["exceptions"][0]["message"], "disk gone");
}

#[test]
fn nothing_without_a_current_segment() {
    let (_recorder, emitter) = recorder();
    tracing::subscriber::with_default(
        tracing_subscriber::registry().with(XrayLayer::new()),
        || {
            let _s = info_span!("orphan").entered();
            assert!(context::current().is_none());
        },
    );
    assert!(emitter.documents().is_empty());
}

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl io::Write for Buf {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buf {
    type Writer = Buf;
    fn make_writer(&'a self) -> Buf {
        self.clone()
    }
}

#[test]
fn trace_ids_in_text_with_and_without_colours_and_only_inside_requests() {
    for ansi in [false, true] {
        let buf = Buf::default();
        let subscriber = tracing_subscriber::registry().with(XrayLayer::new()).with(
            tracing_subscriber::fmt::layer()
                .with_ansi(ansi)
                .with_writer(buf.clone())
                .map_event_format(TraceIdFormat::new),
        );
        let mut expected = String::new();
        let doc = traced(subscriber, || {
            info!("in the segment");
            let _s = info_span!("step").entered();
            expected = context::current().unwrap().id().unwrap().to_string();
            info!("in the step");
        });
        tracing::subscriber::with_default(
            tracing_subscriber::registry().with(
                tracing_subscriber::fmt::layer()
                    .with_writer(buf.clone())
                    .map_event_format(TraceIdFormat::new),
            ),
            || info!("outside"),
        );
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        let trace = doc.trace_id.unwrap();
        assert!(
            lines[0].starts_with(&format!("AWS-XRAY-TRACE-ID: {trace}@{} ", doc.id)),
            "{text}"
        );
        assert_eq!(doc.subsegments[0].id.to_string(), expected);
        assert!(
            lines[1].starts_with(&format!("AWS-XRAY-TRACE-ID: {trace}@{expected} ")),
            "{text}"
        );
        assert!(!lines[2].contains("AWS-XRAY-TRACE-ID"), "{text}");
    }
}

#[test]
fn sampled_only_leaves_unsampled_requests_alone() {
    let buf = Buf::default();
    let emitter = MemoryEmitter::new();
    let recorder = Recorder::builder()
        .emitter(emitter.clone())
        .sampler(xray_core::sampling::NeverSample)
        .ignore_env()
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(buf.clone())
            .map_event_format(|f| TraceIdFormat::new(f).sampled_only(true)),
    );
    tracing::subscriber::with_default(subscriber, || {
        let segment = recorder.begin_segment("job");
        segment.in_scope(|| info!("unsampled"));
    });
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    let value: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(value["fields"]["message"], "unsampled");
    assert!(value.get("AWS-XRAY-TRACE-ID").is_none(), "{text}");
}

#[test]
fn two_layers_in_one_subscriber_trace_a_span_once() {
    let doc = traced(
        tracing_subscriber::registry()
            .with(XrayLayer::new())
            .with(XrayLayer::new()),
        || {
            let _s = info_span!("once").entered();
            let _sub = xray_core::begin_subsegment("inside");
        },
    );
    assert_eq!(names(&doc.subsegments), ["once"]);
    assert_eq!(names(&doc.subsegments[0].subsegments), ["inside"]);
}

#[test]
fn subsegments_end_when_their_spans_close_even_when_a_child_outlives_its_parent_handle() {
    let doc = traced(
        tracing_subscriber::registry().with(XrayLayer::new()),
        || {
            let parent = info_span!("parent");
            let child = info_span!(parent: &parent, "child");
            // The child now holds the parent open: both close when the child does.
            drop(parent);
            drop(child.entered());
            drop(info_span!("sibling").entered());
            // The segment ends well after the spans closed: a subsegment ended later (when the
            // subscriber goes away, say) would end after it.
            std::thread::sleep(std::time::Duration::from_millis(5));
        },
    );
    // `traced` asserts that the segment went out as one document: nothing left open.
    assert_eq!(names(&doc.subsegments), ["parent", "sibling"]);
    let parent = &doc.subsegments[0];
    assert_eq!(names(&parent.subsegments), ["child"]);
    let segment_end = doc.end_time.unwrap();
    for sub in [parent, &parent.subsegments[0], &doc.subsegments[1]] {
        assert!(!sub.in_progress, "{sub:#?}");
        assert!(
            sub.end_time.unwrap() <= segment_end,
            "{sub:#?} {segment_end:?}"
        );
    }
}
