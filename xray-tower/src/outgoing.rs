//! Tracing one outgoing HTTP call: shared by the client layer and the reqwest middleware.

use std::fmt;

use http::{HeaderMap, HeaderValue};
use xray_core::model::Namespace;
use xray_core::{Recorder, Subsegment, context};

use crate::failure;
use crate::url::UrlParts;

/// The name the Go SDK gives a call without a host; such a subsegment gets no `remote`
/// namespace, so X-Ray draws no node for it.
const EMPTY_HOST: &str = "empty_host_error";

/// What is known about a request before it is sent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call<'a> {
    pub(crate) method: &'a str,
    /// The host without port: the name of the downstream node.
    pub(crate) host: Option<&'a str>,
    pub(crate) url: UrlParts<'a>,
}

/// Begins the subsegment of a call under the current entity and records `http.request`;
/// returns it with the `X-Amzn-Trace-Id` value to send (`None` when the SDK is disabled).
///
/// `headers` are the request's headers so far. Returns `None` (and applies the context-missing
/// strategy) when there is no current entity; the request then goes out untouched.
pub(crate) fn begin(
    recorder: Option<&Recorder>,
    call: Call<'_>,
    headers: &HeaderMap,
) -> Option<(Subsegment, Option<HeaderValue>)> {
    let name = call.host.filter(|h| !h.is_empty());
    let Some(parent) = context::current() else {
        recorder
            .unwrap_or_else(|| Recorder::global())
            .context_missing(name.unwrap_or("outgoing HTTP request"));
        return None;
    };
    // Begun with its request data under one lock (nothing is built when unsampled).
    let subsegment = parent.begin_subsegment_with(name.unwrap_or(EMPTY_HOST), |d| {
        if name.is_some() {
            d.set_namespace(Namespace::Remote);
        }
        let request = d.http_request_mut();
        request.method = Some(call.method.to_owned());
        request.url = Some(call.url.to_url());
    });
    let value = subsegment.trace_header().map(|mut trace| {
        // Keys such as `Lineage` that the caller (or the AWS SDK) already put on this request
        // win over those of the incoming request.
        if let Some(existing) = xray_core::TraceHeader::from_headers(headers)
            && existing.extra().next().is_some()
        {
            trace = trace.with_extra_from(&existing);
        }
        trace.to_header_value()
    });
    Some((subsegment, value))
}

/// Records the response (status, flags, length) and ends the subsegment.
pub(crate) fn finish_response(subsegment: Subsegment, status: u16, content_length: Option<u64>) {
    subsegment.end_with(|d| {
        d.set_http_status(status);
        if let Some(length) = content_length {
            d.http_response_mut().content_length = i64::try_from(length).ok();
        }
    });
}

/// Records a failed call (`fault`, with the error as the cause) and ends the subsegment.
pub(crate) fn finish_error<E: fmt::Display + ?Sized>(subsegment: Subsegment, error: &E) {
    subsegment.end_with(|d| failure::record(d, error));
}
