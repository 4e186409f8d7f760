//! What opentelemetry-aws's `XrayPropagator` writes, we read; what we write, it reads.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use opentelemetry::Context;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId as OtelTraceId, TraceState,
};
use opentelemetry_aws::trace::XrayPropagator;
use xray_core::header::{Sampled, TraceHeader};
use xray_core::{SegmentId, TraceId};

fn otel_inject(trace: u128, span: u64, sampled: bool) -> String {
    let flags = if sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    let sc = SpanContext::new(
        OtelTraceId::from_bytes(trace.to_be_bytes()),
        SpanId::from_bytes(span.to_be_bytes()),
        flags,
        true,
        TraceState::default(),
    );
    let cx = Context::new().with_remote_span_context(sc);
    let mut carrier: HashMap<String, String> = HashMap::new();
    XrayPropagator::default().inject_context(&cx, &mut carrier);
    carrier
        .remove("x-amzn-trace-id")
        .expect("the propagator writes x-amzn-trace-id")
}

fn otel_extract(header: &str) -> SpanContext {
    let mut carrier: HashMap<String, String> = HashMap::new();
    carrier.insert("x-amzn-trace-id".into(), header.into());
    XrayPropagator::default()
        .extract(&carrier)
        .span()
        .span_context()
        .clone()
}

#[test]
fn we_read_what_opentelemetry_writes() {
    for sampled in [true, false] {
        let trace = TraceId::new();
        let span = SegmentId::new();
        let written = otel_inject(trace.to_u128(), span.to_u64(), sampled);
        let h = TraceHeader::parse(&written).unwrap();
        assert_eq!(h.root(), trace, "{written}");
        assert_eq!(h.parent(), Some(span));
        assert_eq!(h.sampled(), Some(Sampled::from(sampled)));
    }
}

#[test]
fn opentelemetry_reads_what_we_write() {
    for sampled in [Sampled::Yes, Sampled::No] {
        let trace = TraceId::new();
        let parent = SegmentId::new();
        let ours = TraceHeader::new(trace)
            .with_parent(parent)
            .with_sampled(sampled)
            .with_extra("Lineage", "a87bd80c:1")
            .unwrap();
        let sc = otel_extract(&ours.to_string());
        assert!(sc.is_valid(), "{ours}");
        assert_eq!(
            u128::from_be_bytes(sc.trace_id().to_bytes()),
            trace.to_u128()
        );
        assert_eq!(u64::from_be_bytes(sc.span_id().to_bytes()), parent.to_u64());
        assert_eq!(sc.is_sampled(), sampled == Sampled::Yes);
    }
}

#[test]
fn round_trip_through_both() {
    let trace = TraceId::new();
    let parent = SegmentId::new();
    let ours = TraceHeader::new(trace)
        .with_parent(parent)
        .with_sampled(Sampled::Yes);
    let sc = otel_extract(&ours.to_string());
    let back = otel_inject(
        u128::from_be_bytes(sc.trace_id().to_bytes()),
        u64::from_be_bytes(sc.span_id().to_bytes()),
        sc.is_sampled(),
    );
    assert_eq!(TraceHeader::parse(&back).unwrap(), ours);
}
