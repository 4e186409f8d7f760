//! Tracing incoming HTTP requests: one X-Ray segment per request.
//!
//! [`XrayLayer`] wraps any tower [`Service`](tower_service::Service) of `http::Request`s — an
//! axum [`Router`](https://docs.rs/axum/latest/axum/struct.Router.html), a `tower::ServiceBuilder`
//! stack, a hyper service through `hyper_util::service::TowerToHyperService`.
//!
//! ```
//! use axum::{Router, body::Body, routing::get};
//! use tower::ServiceExt;
//! use xray_core::{Recorder, emit::MemoryEmitter};
//! use xray_tower::server::XrayLayer;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // In production: `Recorder::builder().build()?` sends to the X-Ray daemon, and a layer without
//! // `.recorder(..)` uses `Recorder::global()`.
//! let emitter = MemoryEmitter::new();
//! let recorder = Recorder::builder().emitter(emitter.clone()).sample_all().ignore_env().build()?;
//!
//! let app = Router::new()
//!     .route("/orders/{id}", get(|| async { "order" }))
//!     .layer(XrayLayer::new("orders-api").recorder(recorder));
//!
//! let request = http::Request::get("/orders/7?verbose=1")
//!     .header("host", "orders.internal")
//!     .body(Body::empty())?;
//! let response = app.oneshot(request).await?;
//! assert!(response.headers().contains_key("x-amzn-trace-id"));
//! let _ = axum::body::to_bytes(response.into_body(), usize::MAX).await?; // sends the segment
//!
//! let segment = &emitter.documents()[0];
//! assert_eq!(segment.name, "orders-api");
//! let http = segment.http.as_ref().unwrap();
//! assert_eq!(http.request.as_ref().unwrap().url.as_deref(), Some("http://orders.internal/orders/7"));
//! assert_eq!(http.response.as_ref().unwrap().status, Some(200));
//! # Ok(()) }
//! ```
//!
//! # What is recorded
//!
//! - The segment continues the trace of an incoming `X-Amzn-Trace-Id` header (its `Root`
//!   becomes the trace id, its `Parent` the segment's `parent_id`, `Sampled=1`/`Sampled=0` is
//!   obeyed) or starts a new trace; the recorder's sampler decides otherwise, from the host,
//!   method and path.
//! - `http.request`: method; url as `scheme://host/path`, without the query string and without
//!   user info; `user_agent`; `client_ip` from the first `X-Forwarded-For` entry (with
//!   `x_forwarded_for: true`), else from axum's `ConnectInfo<SocketAddr>` (`axum` feature) or a
//!   [`PeerAddr`] extension. The scheme is the URI's, else `https` when `X-Forwarded-Proto` says
//!   so, else `http`. Each of these strings is cut to 250 characters, the segment schema's limit
//!   (they come from the client: a 100 KB `User-Agent` must not make the segment unsendable).
//! - `http.response`: status and `content_length` (the `Content-Length` header, the body's exact
//!   size, or the bytes streamed); 4xx sets `error`, 429 `error` and `throttle`, 5xx `fault`.
//! - An error from the inner service sets `fault` and records its message as the cause.
//!
//! Unsampled requests record nothing: the layer only parses the header, asks the sampler, and
//! propagates the decision.
//!
//! # What the application sees
//!
//! - The segment is the current entity (see [`xray_core::context`]) while the inner service's
//!   future — and later the response body — is polled, so `xray_core::begin_subsegment`, the
//!   client layer, the AWS SDK interceptor and the sqlx wrapper attach their subsegments to it.
//! - The segment's [`Entity`](xray_core::Entity) is a request extension; with the `axum`
//!   feature, the [`XraySegment`](crate::extract::XraySegment) extractor takes it.
//! - The response gets `X-Amzn-Trace-Id: Root=<trace id>`, plus `;Sampled=<decision>` when the
//!   request asked with `Sampled=?` — as the Java and Python SDKs do — unless the application
//!   set that header itself. Nothing else about the response changes: the body is passed through
//!   frame by frame.
//!
//! # Naming
//!
//! [`XrayLayer::new`] gives every segment one name ([`FixedName`]); [`XrayLayer::dynamic`] uses
//! the `Host` header when it matches a wildcard pattern ([`DynamicName`]); any
//! [`NameStrategy`] can be plugged in with [`XrayLayer::name_strategy`]. `AWS_XRAY_TRACING_NAME`
//! replaces the fixed name (and the dynamic fallback), as in every official SDK.
//!
//! # Customization
//!
//! Two hooks add data to sampled segments, in the style of tower-http's `TraceLayer`: a closure,
//! `()` for nothing (the default), or a type implementing [`OnRequest`] / [`OnResponse`]. A
//! common use is the route template, which axum puts in the request extensions before the layers
//! added with `Router::layer` run:
//!
//! ```
//! use axum::{Router, body::Body, extract::MatchedPath, routing::get};
//! use http::{Request, Response};
//! use xray_core::Entity;
//! use xray_tower::server::XrayLayer;
//!
//! let layer = XrayLayer::new("orders-api")
//!     .on_request(|request: &Request<Body>, segment: &Entity| {
//!         if let Some(route) = request.extensions().get::<MatchedPath>() {
//!             segment.annotate("route", route.as_str());
//!         }
//!     })
//!     .on_response(|response: &Response<Body>, segment: &Entity| {
//!         if let Some(cache) = response.headers().get("x-cache") {
//!             segment.annotate("cache", cache.to_str().unwrap_or("?"));
//!         }
//!     });
//! let app: Router = Router::new().route("/orders/{id}", get(|| async { "order" })).layer(layer);
//! ```
//!
//! # When the hooks are called
//!
//! ### `on_request`
//!
//! - **When:** once per request, in `Service::call`, after the segment has begun and
//!   `http.request` has been recorded, before the inner service is called. Only for sampled
//!   requests.
//! - **Available information:** the whole request (headers, extensions, URI; the body has not
//!   been read) and the segment.
//!
//! ### `on_response`
//!
//! - **When:** once per request, when the inner service's future has produced the response,
//!   after `http.response` has been recorded, before the body is sent. Only for sampled requests
//!   whose inner service succeeded.
//! - **Available information:** the response head (status, headers, extensions) and the segment;
//!   the body has not been sent yet.
//!
//! # When the segment ends
//!
//! When the response body has been sent in full (the last frame was polled), so streamed
//! responses are timed to their end; when the body fails (`fault`, with the error as the cause);
//! when the body or the response future is dropped early — the client disconnected — with what
//! was recorded so far; or, when the inner service fails, right away.
//!
//! # Differences from the official SDKs
//!
//! - The scheme cannot be read from the connection (a tower service does not see TLS); the URI's
//!   scheme and `X-Forwarded-Proto` are used instead.
//! - For responses streamed without a length, `content_length` is the number of bytes sent.

mod body;
mod future;
mod layer;
mod name;
mod on_request;
mod on_response;
mod peer_addr;
mod record;
mod service;

pub use self::body::ResponseBody;
pub use self::future::ResponseFuture;
pub use self::layer::XrayLayer;
pub use self::name::{DynamicName, FixedName, NameStrategy};
pub use self::on_request::OnRequest;
pub use self::on_response::OnResponse;
pub use self::peer_addr::PeerAddr;
pub use self::service::XrayService;
