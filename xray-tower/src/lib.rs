//! AWS X-Ray for tower and axum.
//!
//! # Overview
//!
//! - [`server::XrayLayer`] traces incoming HTTP requests: one segment per request, continuing
//!   the caller's trace from `X-Amzn-Trace-Id`, current for the handler, ended when the response
//!   body has been sent. It works on an axum `Router` and on any tower service of
//!   `http::Request`s.
//! - [`client::XrayClientLayer`] traces outgoing calls of tower HTTP clients (such as
//!   `hyper_util`'s): a `remote` subsegment per call, and the trace header sent downstream.
//! - [`reqwest::XrayMiddleware`] (feature `reqwest`) does the same for `reqwest` through
//!   `reqwest-middleware`.
//! - [`extract::XraySegment`] (feature `axum`) hands the request's segment to a handler.
//!
//! Everything records through an `xray_core` [`Recorder`](xray_core::Recorder): the global one
//! by default, or one given explicitly.
//!
//! # Example
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use xray_core::Recorder;
//! use xray_tower::server::XrayLayer;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // Reads AWS_XRAY_DAEMON_ADDRESS, AWS_XRAY_TRACING_NAME, ... ; sends to the daemon.
//!     Recorder::set_global_default(Recorder::builder().build()?)?;
//!
//!     let app = Router::new()
//!         .route("/hello", get(|| async {
//!             // The request's segment is current here.
//!             let _work = xray_core::begin_subsegment("render");
//!             "hello"
//!         }))
//!         .layer(XrayLayer::new("hello-service"));
//!
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     axum::serve(
//!         listener,
//!         app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
//!     )
//!     .await?;
//!     Ok(())
//! }
//! ```
//!
//! See the [`server`] module for a runnable example with an in-memory emitter.
//!
//! # Feature flags
//!
//! | Feature | Adds | Cost |
//! |---|---|---|
//! | `axum` | [`extract::XraySegment`]; `client_ip` from axum's `ConnectInfo` | `axum` with its `tokio` feature only (where `ConnectInfo` lives) |
//! | `reqwest` | [`reqwest::XrayMiddleware`] | `reqwest` (no TLS of its own), `reqwest-middleware` |
//!
//! # Configuration
//!
//! The `AWS_XRAY_*` environment variables are read by the recorder; see
//! [`xray_core::recorder`]. `AWS_XRAY_TRACING_NAME` overrides the name given to the layer.
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

pub mod client;
mod content_length;
#[cfg(feature = "axum")]
pub mod extract;
mod failure;
mod outgoing;
#[cfg(feature = "reqwest")]
pub mod reqwest;
pub mod server;
mod url;

pub use client::XrayClientLayer;
pub use server::XrayLayer;
