//! AWS X-Ray for `tracing`: spans as X-Ray subsegments, and X-Ray trace ids in logs.
//!
//! Rust services already describe their work with `tracing` (`#[instrument]`, `info_span!`).
//! This crate turns that into X-Ray data with one line of subscriber setup:
//!
//! - [`XrayLayer`], a [`tracing_subscriber::Layer`]: while an X-Ray segment is current (the
//!   `xray-tower` server layer, a Lambda facade, or your own `recorder.begin_segment(..)`), each
//!   span becomes a subsegment of it, nested as the spans are.
//! - [`TraceIdFormat`], a wrapper for the fmt layer's event format: every log line written
//!   within a traced request carries `AWS-XRAY-TRACE-ID: 1-…@<entity id>` (text or JSON), which
//!   the X-Ray and CloudWatch consoles use to link logs to traces.
//!
//! It is a separate crate so that `xray-core` (and every adapter) does not depend on
//! `tracing-subscriber`; `xray-core` only uses `tracing` for its own diagnostics.
//!
//! # Setup
//!
//! ```
//! use tracing::{info, info_span};
//! use tracing_subscriber::prelude::*;
//! use xray_core::{Recorder, emit::MemoryEmitter};
//!
//! # fn main() -> Result<(), xray_core::ConfigError> {
//! let subscriber = tracing_subscriber::registry()
//!     .with(xray_tracing::XrayLayer::new())
//!     .with(tracing_subscriber::fmt::layer().map_event_format(xray_tracing::TraceIdFormat::new));
//! // In an application: `subscriber.init()` (tracing-subscriber's `util` feature) or
//! // `tracing::subscriber::set_global_default(subscriber)`.
//!
//! let emitter = MemoryEmitter::new();
//! let recorder = Recorder::builder().emitter(emitter.clone()).sample_all().build()?;
//! tracing::subscriber::with_default(subscriber, || {
//!     let segment = recorder.begin_segment("orders");
//!     segment.in_scope(|| {
//!         let _load = info_span!("load_order", order = 42, xray.annotation.customer = "c-7")
//!             .entered();
//!         info!("loading"); // logged with AWS-XRAY-TRACE-ID: 1-…@<load_order's id>
//!         // Opened under `load_order`: the AWS SDK interceptor, sqlx and the HTTP client
//!         // layer do the same.
//!         let _query = xray_core::begin_subsegment("orders@db");
//!     });
//!     segment.end();
//! });
//!
//! let doc = &emitter.documents()[0];
//! let load = &doc.subsegments[0];
//! assert_eq!(load.name, "load_order");
//! assert_eq!(load.annotations["customer"], "c-7".into());
//! assert_eq!(load.metadata["tracing"]["order"].get(), "42");
//! assert_eq!(load.subsegments[0].name, "orders@db");
//! # Ok(()) }
//! ```
//!
//! # What a span records
//!
//! | `tracing` | X-Ray subsegment |
//! |---|---|
//! | span name (`#[instrument]`: the function name) | `name` |
//! | span fields, at creation and `Span::record` | metadata in the namespace `tracing` ([`METADATA_NAMESPACE`]) |
//! | fields named `xray.annotation.<key>` ([`ANNOTATION_PREFIX`]) | the annotation `<key>` (indexed, searchable) |
//! | a field named `error` ([`ERROR_FIELD`]; `#[instrument(err)]`'s events too) | `error: true` and a cause with the message (the `source()` chain for `&dyn Error` values) |
//! | an event at `ERROR` level inside the span | `error: true` and a cause with the event's message |
//! | span creation / close | `start_time` / `end_time` |
//!
//! A subsegment ends when its span *closes* (every handle dropped), not when it is exited, so an
//! instrumented future's subsegment covers its whole life across `.await` points. Field names
//! containing `password`, `secret`, `token`, `authorization`, `credential` or `api_key` are
//! never recorded as metadata.
//!
//! # Nesting and the current entity
//!
//! While a traced span is entered, its subsegment is the current X-Ray entity
//! ([`xray_core::context::current`]). So anything that opens subsegments under the current
//! entity — `xray-aws-sdk`'s interceptor, `xray-sqlx`, `xray-tower`'s client layer,
//! [`xray_core::begin_subsegment`] — nests under the innermost traced span, and spans nest under
//! spans. Futures instrumented with `tracing::Instrument` enter their span on each poll, so this
//! holds across `.await` and in `tokio::spawn(fut.instrument(span))`: the spawned task's span
//! was created in the parent's context and its subsegment is current whenever the task runs.
//! A span created with an explicit `parent:` nests under that parent's (or its nearest traced
//! ancestor's) subsegment.
//!
//! # Filters
//!
//! By default spans at `INFO` and above become subsegments (`debug_span!`/`trace_span!` do not,
//! nor the SDK's own target `xray`). [`XrayLayer::min_level`], [`XrayLayer::targets`] and
//! [`XrayLayer::span_filter`] narrow or widen that, and `tracing_subscriber`'s per-layer filters
//! (`layer.with_filter(..)`) apply as to any layer. Filters only decide what becomes a
//! subsegment: the layer never disables spans or events for the other layers.
//!
//! # Cost
//!
//! With no current segment, or an unsampled one, a span costs a level check and one
//! thread-local read when created, and a relaxed atomic load on enter and exit while no sampled
//! span is alive anywhere in the process (the layer has no `on_close`: a subsegment ends when the
//! registry drops the closed span's extensions). `cargo bench -p xray-tracing` measures it
//! against a registry without the layer. In instructions (callgrind) an unsampled span costs
//! 1.12× a registry without the layer, 1.06× a registry with a layer that does nothing; see the
//! crate README for the figures, and for the cost while other spans are traced.
//!
//! # Feature flags
//!
//! None: this crate has no optional features. It turns on `tracing-subscriber`'s `registry`,
//! `std` and `fmt` features only; enable `json` in your own dependency for JSON logs.
//!
//! # Supported Rust versions
//!
//! The minimum supported Rust version follows the AWS SDK for Rust's (currently 1.94.1).

#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The README's examples compile (and run) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod fields;
mod fmt;
mod layer;
mod scope;

pub use fields::{ANNOTATION_PREFIX, ERROR_FIELD, METADATA_NAMESPACE};
pub use fmt::{TRACE_ID_KEY, TraceIdFormat};
pub use layer::XrayLayer;
