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
use crate::params::{Captured, Service};

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

/// What [`Outcome::capture`] keeps of a finished call: plain values, written into the subsegment
/// when it is sent.
pub(crate) struct Recorded {
    status: Option<u16>,
    content_length: Option<i64>,
    request_id: Option<String>,
    id_2: Option<String>,
    retries: Option<u32>,
    response: Option<Captured>,
    failure: Option<Box<Failure>>,
}

/// A failed call's cause and flags (the rare path: built at once).
struct Failure {
    exceptions: Vec<Exception>,
    /// A 4xx status, or a throttling error code.
    error: bool,
    /// Anything but a 4xx status; cleared otherwise (a 4xx is the caller's error, not a fault).
    fault: bool,
    /// A throttling error code.
    throttle: bool,
}

impl Outcome<'_> {
    /// Takes what the subsegment will record from the borrowed context.
    pub(crate) fn capture(&self) -> Recorded {
        let mut recorded = Recorded {
            status: None,
            content_length: None,
            request_id: None,
            id_2: None,
            retries: self.attempts.map(|a| a.saturating_sub(1)),
            response: None,
            failure: None,
        };
        if let Some(response) = self.response {
            capture_response(&mut recorded, response);
        }
        match self.result {
            Some(Ok(output)) => {
                recorded.response = self
                    .params
                    .and_then(|service| (service.response)(self.operation, output));
            }
            Some(Err(err)) => recorded.failure = Some(Box::new(failure(err, self.response))),
            None => {}
        }
        recorded
    }
}

impl Recorded {
    /// Writes the outcome into the subsegment's document.
    pub(crate) fn write(self, d: &mut EntityData<'_>) {
        if let Some(status) = self.status {
            d.set_http_status(status);
        }
        if let Some(len) = self.content_length {
            d.http_response_mut().content_length = Some(len);
        }
        let aws = d.aws_mut();
        if let Some(id) = self.request_id {
            aws.request_id = Some(id);
        }
        if let Some(id_2) = self.id_2 {
            aws.id_2 = Some(id_2);
        }
        if let Some(retries) = self.retries {
            aws.retries = Some(retries);
        }
        if let Some(write) = self.response {
            write(aws);
        }
        if let Some(failure) = self.failure {
            let Failure {
                exceptions,
                error,
                fault,
                throttle,
            } = *failure;
            d.add_exceptions(exceptions);
            if throttle {
                d.set_throttle(true);
            }
            if error {
                d.set_error(true);
            }
            d.set_fault(fault);
        }
    }
}

fn capture_response(recorded: &mut Recorded, response: &HttpResponse) {
    recorded.status = Some(response.status().as_u16());
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
    recorded.content_length = content_length.or_else(|| {
        response
            .body()
            .content_length()
            .and_then(|n| i64::try_from(n).ok())
    });
    // The SDK's order (`aws_types::request_id`): `x-amzn-requestid`, then `x-amz-request-id`.
    recorded.request_id = amzn_request_id
        .or(amz_request_id)
        .filter(|id| *id != UNKNOWN_REQUEST_ID)
        .map(str::to_owned);
    recorded.id_2 = id_2.map(str::to_owned);
}

fn failure(err: &OrchestratorError<Error>, response: Option<&HttpResponse>) -> Failure {
    let (exceptions, throttle) = match (err.as_operation_error(), response) {
        (Some(op_err), Some(response)) => {
            let parsed = error_body::parse(response);
            let throttle = parsed
                .code
                .as_deref()
                .is_some_and(|c| THROTTLING_ERRORS.contains(&c));
            let message = parsed.message.unwrap_or_else(|| op_err.to_string());
            let mut exception = Exception::new(message).with_remote(true);
            if let Some(code) = parsed.code {
                exception = exception.with_kind(code);
            }
            (vec![exception], throttle)
        }
        _ => {
            let mut exceptions = Exception::chain_from(err);
            if let Some(first) = exceptions.first_mut() {
                first.kind = Some(kind_of(err).to_owned());
            }
            (exceptions, false)
        }
    };
    // A 4xx is the caller's error. Anything else is a fault: 5xx, no response at all, and a
    // service error with a 2xx/3xx status (rare: some S3 errors arrive as 200), which is still a
    // failure the caller sees.
    let client_error = matches!(response.map(|r| r.status().as_u16()), Some(400..=499));
    Failure {
        exceptions,
        error: client_error || throttle,
        fault: !client_error,
        throttle,
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
