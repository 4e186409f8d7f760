//! The `X-Amzn-Trace-Id` header name as an `http::HeaderName`.

use http::HeaderName;

/// `x-amzn-trace-id`.
pub(crate) const TRACE_HEADER: HeaderName = HeaderName::from_static(xray_core::header::HEADER_NAME);
