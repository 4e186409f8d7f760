//! AWS X-Ray for Rust: the core.
//!
//! `xray-core` produces the segment documents the official X-Ray SDKs produce and delivers them
//! to the X-Ray daemon (or the OpenTelemetry collector's X-Ray receiver, or the CloudWatch agent)
//! over UDP. The framework adapters — `xray-tower` for HTTP servers and clients, `xray-aws-sdk`
//! for the AWS SDK, `xray-sqlx` for databases — are built on its public API.
//!
//! # Overview
//!
//! - [`Recorder`]: configuration (daemon address, sampler, emitter, limits), segment creation,
//!   and counters of what was sent. One global instance or explicit ones.
//! - [`Segment`], [`Subsegment`], [`Entity`]: live, thread-safe entities with annotations,
//!   metadata, errors, and `http`/`aws`/`sql` data; see [`segment`].
//! - [`context`]: the current entity, carried across `.await` points by
//!   [`XrayFutureExt::in_entity`].
//! - [`TraceHeader`]: the `X-Amzn-Trace-Id` header; [`TraceId`], [`SegmentId`]: identifiers.
//! - [`sampling`]: which requests are traced.
//! - [`emit`]: the UDP emitter, the in-memory emitter for tests, and the size rules.
//! - [`model`]: the wire documents as plain serde types.
//!
//! # Example
//!
//! ```
//! use xray_core::{Recorder, XrayFutureExt, emit::MemoryEmitter};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // In production: `Recorder::builder().service_name("orders").build()?`, which sends to the
//! // daemon at AWS_XRAY_DAEMON_ADDRESS (default 127.0.0.1:2000).
//! let emitter = MemoryEmitter::new();
//! let recorder = Recorder::builder().emitter(emitter.clone()).sample_all().build()?;
//!
//! let segment = recorder.begin_segment("orders");
//! segment.annotate("customer", "c-42");
//! async {
//!     let sub = xray_core::begin_subsegment("load-order");
//!     sub.add_metadata("order", &serde_json::json!({"items": 3}));
//! }
//! .in_entity(segment.entity().clone())
//! .await;
//! segment.end();
//!
//! let docs = emitter.documents();
//! assert_eq!(docs[0].name, "orders");
//! assert_eq!(docs[0].subsegments[0].name, "load-order");
//! # Ok(()) }
//! ```
//!
//! # Configuration
//!
//! See [`recorder`] for every builder option and `AWS_XRAY_*` environment variable.
//!
//! # Never hurting the application
//!
//! Nothing in this crate panics on bad input or blocks the caller: a missing daemon, a malformed
//! header or an oversized document produce a rate-limited diagnostic through `tracing` (target
//! `xray`) and counters in [`Recorder::emit_stats`], and the application goes on.
//!
//! # Feature flags
//!
//! | Feature | Default | Enables |
//! |---|---|---|
//! | `centralized-sampling` | yes | The centralized sampler (`sampling::CentralizedSampler`, the default): sampling rules and quotas polled from the daemon's sampling proxy, on one background thread, with a blocking HTTP client (`ureq`, no TLS). Without it the local rules decide. |
//! | `plugins` | yes | The EC2 and ECS plugins, which ask the instance and task metadata endpoints over HTTP (the same client, only while the recorder is built). The Elastic Beanstalk and EKS plugins read files and are always there. |
//! | `fuzzing` | no | Entry points for the repository's fuzz targets: internals with no stable API; never enable it. |
//!
//! With `default-features = false` the crate has no HTTP client.
//!
//! # Supported Rust versions
//!
//! The minimum supported Rust version follows the AWS SDK for Rust's (currently 1.94.1).

#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The README's examples compile (and run, unless marked otherwise) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod context;
pub mod daemon;
mod diag;
pub mod emit;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod header;
mod id;
pub mod lambda;
pub mod model;
pub mod plugins;
pub mod recorder;
pub mod sampling;
pub mod segment;

pub use context::{XrayFutureExt, begin_subsegment, try_begin_subsegment};
pub use header::TraceHeader;
pub use id::{IdParseError, SEGMENT_ID_LEN, SegmentId, TRACE_ID_LEN, TraceId};
pub use recorder::{ConfigError, Recorder, RecorderBuilder};
pub use segment::{Entity, PendingSubsegment, Segment, Subsegment};
