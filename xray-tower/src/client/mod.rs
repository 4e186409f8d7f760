//! Tracing outgoing HTTP calls made through a tower HTTP client.
//!
//! [`XrayClientLayer`] wraps any tower [`Service`](tower_service::Service) that sends
//! `http::Request`s and returns `http::Response`s — `hyper_util`'s legacy `Client`, or a stack
//! built on one. Each call becomes a `remote` subsegment of the current entity (see
//! [`xray_core::context`]), which the [server layer](crate::server) sets for request handlers.
//!
//! ```
//! use http_body_util::Empty;
//! use hyper_util::client::legacy::Client;
//! use hyper_util::rt::TokioExecutor;
//! use tower::ServiceBuilder;
//! use xray_tower::client::XrayClientLayer;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let client = ServiceBuilder::new()
//!     .layer(XrayClientLayer::new())
//!     .service(Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>());
//! # let _ = client;
//! # }
//! ```
//!
//! # What is recorded
//!
//! - A subsegment named after the host (without the port), in the `remote` namespace, so the
//!   X-Ray service map shows the downstream service as a node.
//! - `http.request`: method and url as `scheme://host/path` — never the query string, never user
//!   name or password.
//! - `http.response`: status and `content_length` (from `Content-Length`, or the body's exact
//!   size); 4xx sets `error`, 429 `error` and `throttle`, 5xx `fault`.
//! - An error from the inner client sets `fault` and records its message as the cause.
//!
//! # The trace header
//!
//! The request gets `X-Amzn-Trace-Id: Root=<trace id>;Parent=<subsegment id>;Sampled=<1|0>`,
//! followed by the extra keys (such as `Lineage`) of a header already on the request, or else of
//! the incoming request's header. The downstream service's segment thus names this subsegment
//! as its parent. Unsampled requests send `Sampled=0` and record nothing.
//!
//! # When the subsegment ends
//!
//! When the response head arrives (or the call fails), as in the Go SDK: reading the response
//! body is not part of the call. If the call is abandoned (its future dropped, e.g. by a
//! timeout), the subsegment ends then.
//!
//! # Without a current entity
//!
//! The request is sent unchanged, and the recorder's context-missing strategy
//! (`AWS_XRAY_CONTEXT_MISSING`) applies: by default an error is logged, at most once a minute.

mod future;
mod layer;
mod service;

pub use self::future::ResponseFuture;
pub use self::layer::XrayClientLayer;
pub use self::service::XrayClientService;
