//! What the end of a call adds to its subsegment: the HTTP response, request ids, retries,
//! whitelisted output members, and the error flags and cause.
//!
//! The flags follow the official SDKs (Java's AWS SDK v2 interceptor in particular): the final
//! HTTP status sets them as for any downstream call (4xx error, 429 error + throttle, 5xx fault);
//! a service error is recorded as a remote exception with its error code as the type; AWS
//! throttling codes (the SDK's own retry list: `ThrottlingException`,
//! `ProvisionedThroughputExceededException`, `SlowDown`, ...) add throttle + error whatever the
//! status; a 4xx service error is an error, not a fault. Errors without a service response
//! (connection failures, timeouts, unreadable responses) are faults.

use aws_runtime::retries::classifiers::THROTTLING_ERRORS;
use aws_smithy_runtime_api::client::interceptors::context::{Error, Output};
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, OrchestratorError};
use xray_core::model::Exception;
use xray_core::segment::EntityData;

use crate::error_body;
use crate::params::Service;

/// Java ignores this placeholder request id; so do we.
const UNKNOWN_REQUEST_ID: &str = "UNKNOWN";

/// Everything the finished call tells, borrowed from the interceptor context.
pub(crate) struct Outcome<'a> {
    pub(crate) response: Option<&'a HttpResponse>,
    pub(crate) result: Option<Result<&'a Output, &'a OrchestratorError<Error>>>,
    pub(crate) attempts: Option<u32>,
    pub(crate) operation: &'a str,
    pub(crate) params: Option<&'static Service>,
}

impl Outcome<'_> {
    /// Writes the outcome into the subsegment's document.
    pub(crate) fn record(&self, d: &mut EntityData<'_>) {
        if let Some(response) = self.response {
            record_response(d, response);
        }
        if let Some(attempts) = self.attempts {
            d.aws_mut().retries = Some(attempts.saturating_sub(1));
        }
        match self.result {
            Some(Ok(output)) => {
                if let Some(service) = self.params {
                    (service.response)(self.operation, output, d.aws_mut());
                }
            }
            Some(Err(err)) => record_error(d, err, self.response),
            None => {}
        }
    }
}

fn record_response(d: &mut EntityData<'_>, response: &HttpResponse) {
    d.set_http_status(response.status().as_u16());
    // One pass over the headers: looking each one up by a string name parses the name every time.
    let (mut content_length, mut amzn_request_id, mut amz_request_id, mut id_2) =
        (None, None, None, None);
    for (name, value) in response.headers().iter() {
        match name {
            "content-length" => content_length = value.trim().parse::<i64>().ok(),
            "x-amzn-requestid" => amzn_request_id = amzn_request_id.or(Some(value)),
            "x-amz-request-id" => amz_request_id = amz_request_id.or(Some(value)),
            "x-amz-id-2" => id_2 = id_2.or(Some(value)),
            _ => {}
        }
    }
    let content_length = content_length.or_else(|| {
        response
            .body()
            .content_length()
            .and_then(|n| i64::try_from(n).ok())
    });
    if let Some(len) = content_length {
        d.http_response_mut().content_length = Some(len);
    }
    let aws = d.aws_mut();
    // The SDK's order (`aws_types::request_id`): `x-amzn-requestid`, then `x-amz-request-id`.
    if let Some(id) = amzn_request_id
        .or(amz_request_id)
        .filter(|id| *id != UNKNOWN_REQUEST_ID)
    {
        aws.request_id = Some(id.to_owned());
    }
    if let Some(id_2) = id_2 {
        aws.id_2 = Some(id_2.to_owned());
    }
}

fn record_error(
    d: &mut EntityData<'_>,
    err: &OrchestratorError<Error>,
    response: Option<&HttpResponse>,
) {
    let status = response.map(|r| r.status().as_u16());
    if let (Some(op_err), Some(response)) = (err.as_operation_error(), response) {
        let parsed = error_body::parse(response);
        let message = parsed.message.unwrap_or_else(|| op_err.to_string());
        let mut exception = Exception::new(message).with_remote(true);
        if let Some(code) = &parsed.code {
            exception = exception.with_kind(code.clone());
        }
        d.add_exceptions([exception]);
        if parsed
            .code
            .as_deref()
            .is_some_and(|c| THROTTLING_ERRORS.contains(&c))
        {
            d.set_throttle(true);
            d.set_error(true);
        }
        match status {
            Some(400..=499) => {
                d.set_error(true);
                d.set_fault(false);
            }
            Some(500..=599) => d.set_fault(true),
            // A service error with a 2xx/3xx status (rare: some S3 errors arrive as 200) is
            // still a failure the caller sees.
            _ => d.set_fault(true),
        }
        return;
    }
    let mut exceptions = Exception::chain_from(err);
    if let Some(first) = exceptions.first_mut() {
        first.kind = Some(kind_of(err).to_owned());
    }
    d.add_exceptions(exceptions);
    match status {
        Some(400..=499) => {
            d.set_error(true);
            d.set_fault(false);
        }
        _ => d.set_fault(true),
    }
}

/// A readable type for errors that have no service error code.
fn kind_of(err: &OrchestratorError<Error>) -> &'static str {
    if err.is_connector_error() {
        "ConnectorError"
    } else if err.is_timeout_error() {
        "TimeoutError"
    } else if err.is_response_error() {
        "ResponseError"
    } else if err.is_interceptor_error() {
        "InterceptorError"
    } else {
        "SdkError"
    }
}
