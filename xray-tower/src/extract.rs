//! The axum extractor for the request's segment.

use std::convert::Infallible;
use std::fmt;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;
use xray_core::Entity;

/// The segment of the current request, put in the request extensions by
/// [`XrayLayer`](crate::server::XrayLayer).
///
/// As an `Option<XraySegment>` it also works when the layer is not there (say, in a test of the
/// handler alone); as a plain `XraySegment` a missing layer is a server error, like axum's
/// `Extension`. When tracing is disabled the layer still provides a segment, which records
/// nothing.
///
/// Inside the handler the segment is also the current entity, so most code does not need the
/// extractor: `xray_core::begin_subsegment` and the instrumented clients find it by themselves.
///
/// # Examples
///
/// ```
/// use axum::{Router, routing::get};
/// use xray_tower::{extract::XraySegment, server::XrayLayer};
///
/// async fn checkout(XraySegment(segment): XraySegment) -> &'static str {
///     segment.annotate("customer_tier", "gold");
///     segment.set_user("c-42");
///     "ok"
/// }
///
/// async fn status(segment: Option<XraySegment>) -> String {
///     match segment.and_then(|s| s.trace_id()) {
///         Some(id) => format!("trace {id}"),
///         None => "not traced".to_owned(),
///     }
/// }
///
/// let app: Router = Router::new()
///     .route("/checkout", get(checkout))
///     .route("/status", get(status))
///     .layer(XrayLayer::new("shop"));
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
#[derive(Debug, Clone)]
pub struct XraySegment(pub Entity);

impl std::ops::Deref for XraySegment {
    type Target = Entity;
    fn deref(&self) -> &Entity {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for XraySegment {
    type Rejection = MissingXrayLayer;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Entity>()
            .cloned()
            .map(XraySegment)
            .ok_or(MissingXrayLayer { _priv: () })
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for XraySegment {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Infallible> {
        Ok(parts.extensions.get::<Entity>().cloned().map(XraySegment))
    }
}

/// The rejection of [`XraySegment`] when the request did not pass through
/// [`XrayLayer`](crate::server::XrayLayer): a `500 Internal Server Error`, since that is a
/// mistake in how the application is put together.
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingXrayLayer {
    _priv: (),
}

impl fmt::Display for MissingXrayLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no X-Ray segment in the request extensions: is `XrayLayer` on this route?")
    }
}

impl std::error::Error for MissingXrayLayer {}

impl IntoResponse for MissingXrayLayer {
    fn into_response(self) -> Response {
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
    }
}
