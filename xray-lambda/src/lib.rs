//! AWS X-Ray for Rust functions on AWS Lambda built with [`lambda_runtime`].
//!
//! In Lambda, the function's segment belongs to Lambda: Lambda creates it, decides whether the
//! invocation is sampled, and sends it. What the function records goes underneath, as
//! subsegments. [`XrayLambdaLayer`] does this for every invocation of a `lambda_runtime` handler:
//!
//! 1. reads the invocation's trace header: `Context::xray_trace_id` (from the
//!    `Lambda-Runtime-Trace-Id` header of the Runtime API), else `_X_AMZN_TRACE_ID`;
//! 2. begins a *facade* segment from it ([`Recorder::begin_facade`](xray_core::Recorder::begin_facade)),
//!    which is never sent;
//! 3. runs the handler with the facade as the current entity, so `xray_core::begin_subsegment`,
//!    the `xray-tower` HTTP client layer, the `xray-aws-sdk` interceptor and the `xray-sqlx`
//!    wrapper work unchanged inside the function;
//! 4. ends the facade when the handler is done.
//!
//! Each subsegment directly under the facade is sent to the daemon Lambda runs
//! (`AWS_XRAY_DAEMON_ADDRESS`) as an independent subsegment, with the invocation's `trace_id`
//! and `parent_id` = the function segment's id, as soon as it and its children end.
//!
//! ```no_run
//! use lambda_runtime::{Error, LambdaEvent, service_fn};
//! use serde_json::{Value, json};
//! use tower::ServiceBuilder;
//! use xray_core::Recorder;
//! use xray_lambda::XrayLambdaLayer;
//!
//! async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
//!     let sub = xray_core::begin_subsegment("load-order");
//!     sub.annotate("order_id", event.payload["order_id"].as_str().unwrap_or("unknown"));
//!     // ... work, AWS SDK calls, HTTP calls ...
//!     sub.end();
//!     Ok(json!({ "ok": true }))
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Error> {
//!     // In Lambda this sends to the daemon Lambda runs and samples as Lambda decided.
//!     Recorder::set_global_default(Recorder::builder().build()?)?;
//!     let function = ServiceBuilder::new()
//!         .layer(XrayLambdaLayer::new())
//!         .service(service_fn(handler));
//!     lambda_runtime::run(function).await
//! }
//! ```
//!
//! # What is sent, invocation by invocation
//!
//! | Trace header of the invocation | Sent | Downstream calls carry |
//! |---|---|---|
//! | `Root=..;Parent=..;Sampled=1` (active tracing, sampled) | the subsegments, never the facade | `Root`, `Parent` = the calling subsegment, `Sampled=1` |
//! | `Root=..;Parent=..;Sampled=0` | nothing | `Root`, `Sampled=0` |
//! | `Root=..` only (tracing not active) | nothing | `Root` |
//! | none | nothing (one debug line the first time) | nothing |
//!
//! Lambda's `Sampled` decision is always honoured: the recorder's sampler is not asked. Every
//! invocation has its own facade, carried by its future rather than by a process-wide variable,
//! so invocations one after the other, or concurrent ones (`lambda_runtime::run_concurrent`),
//! never mix: a subsegment still open when its invocation ends (a spawned task) is sent, later,
//! with its own invocation's ids.
//!
//! # The recorder in Lambda
//!
//! [`Recorder::builder`](xray_core::Recorder::builder) recognises Lambda (`LAMBDA_TASK_ROOT`,
//! `AWS_LAMBDA_FUNCTION_NAME`) and then samples locally only (no polling of the daemon for
//! centralized rules), skips plugins and writes the SDKs' `/tmp/.aws-xray/initialized` marker;
//! see [`xray_core::lambda`]. The function's segment is Lambda's, so the service name, `origin`
//! and `aws` block of the recorder do not appear.
//!
//! # Handlers that are not `tower` services
//!
//! [`begin_invocation`] begins the facade for a [`Context`](lambda_runtime::Context); run the
//! handler's future with [`XrayFutureExt::in_entity`](xray_core::XrayFutureExt::in_entity) and
//! end the facade afterwards.
//!
//! # Feature flags
//!
//! None: this crate has no optional features.
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

mod future;
mod invocation;
mod layer;
mod service;

pub use self::future::ResponseFuture;
pub use self::invocation::{begin_invocation, trace_header};
pub use self::layer::XrayLambdaLayer;
pub use self::service::XrayLambda;
