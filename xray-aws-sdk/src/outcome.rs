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
use xray_core::PendingSubsegment;
use xray_core::model::Exception;
use xray_core::segment::EntityData;

use crate::error_body;
use crate::state::{CallStart, Finish};

/// Java ignores this placeholder request id; so do we.
const UNKNOWN_REQUEST_ID: &str = "UNKNOWN";

/// Everything the finished call tells, borrowed from the interceptor context.
pub(crate) struct Outcome<'a> {
    pub(crate) response: Option<&'a HttpResponse>,
    pub(crate) result: Option<Result<&'a Output, &'a OrchestratorError<Error>>>,
    pub(crate) attempts: Option<u32>,
}

/// What [`Outcome::finish`] keeps of a finished call: plain values, written into the subsegment
/// when it is sent.
#[derive(Default)]
pub(crate) struct Recorded {
    status: Option<u16>,
    content_length: Option<i64>,
    request_id: Option<HeaderText>,
    id_2: Option<String>,
    retries: Option<u32>,
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
    /// Takes what the subsegment will record from the borrowed context, and ends the call.
    pub(crate) fn finish(&self, pending: PendingSubsegment, start: CallStart) {
        let mut recorded = Recorded {
            retries: self.attempts.map(|a| a.saturating_sub(1)),
            ..Recorded::default()
        };
        if let Some(response) = self.response {
            capture_response(&mut recorded, response);
        }
        let output = match self.result {
            Some(Ok(output)) => Some(output),
            Some(Err(err)) => {
                recorded.failure = Some(failure(err, self.response));
                None
            }
            None => None,
        };
        let params = start.params;
        let end = Finish {
            pending,
            start,
            recorded,
        };
        // The service's output capture ends the call itself when it keeps members (one writer
        // for everything); otherwise it hands the end back.
        let end = match (output, params) {
            (Some(output), Some(service)) => (service.finish)(output, end),
            _ => Some(end),
        };
        if let Some(end) = end {
            end.end();
        }
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
            aws.request_id = Some(id.into_string());
        }
        if let Some(id_2) = self.id_2 {
            aws.id_2 = Some(id_2);
        }
        if let Some(retries) = self.retries {
            aws.retries = Some(retries);
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
    // One pass over the headers, as bytes: looking each one up by a string name parses the name
    // every time, and only the values kept need to be text.
    let (mut content_length, mut amzn_request_id, mut amz_request_id, mut id_2) =
        (None, None, None, None);
    for (name, value) in response.headers().iter_bytes() {
        match name {
            "content-length" => content_length = parse_length(value),
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
        .filter(|id| *id != UNKNOWN_REQUEST_ID.as_bytes())
        .and_then(HeaderText::new);
    recorded.id_2 = id_2
        .and_then(|v| std::str::from_utf8(v).ok())
        .map(str::to_owned);
}

/// A `content-length` value: ASCII digits, surrounding whitespace allowed.
fn parse_length(value: &[u8]) -> Option<i64> {
    std::str::from_utf8(value).ok()?.trim().parse().ok()
}

/// A header value kept until the subsegment is written: inline when it fits (request ids do:
/// 16 to 52 characters), so that keeping one allocates nothing on the call's path.
enum HeaderText {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(String),
}

const INLINE: usize = 62;

impl HeaderText {
    /// `None` for a value that is not UTF-8 (the SDK's `Headers` accepts only text, so never).
    fn new(value: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(value).ok()?;
        Some(if text.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..text.len()].copy_from_slice(value);
            // Fits: `INLINE` < 256.
            Self::Inline {
                len: text.len() as u8,
                bytes,
            }
        } else {
            Self::Heap(text.to_owned())
        })
    }

    fn into_string(self) -> String {
        match self {
            // Checked to be UTF-8 in `new`; the copy is whole characters.
            Self::Inline { len, bytes } => {
                String::from_utf8_lossy(&bytes[..usize::from(len)]).into_owned()
            }
            Self::Heap(s) => s,
        }
    }
}

// Out of line and cold: the code every successful call runs stays compact (it competes for the
// instruction cache with the SDK's own, which is larger than the cache).
#[cold]
#[inline(never)]
fn failure(err: &OrchestratorError<Error>, response: Option<&HttpResponse>) -> Box<Failure> {
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
    Box::new(Failure {
        exceptions,
        error: client_error || throttle,
        fault: !client_error,
        throttle,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_text_keeps_short_values_inline_and_long_ones_whole() {
        let id = "A1B2C3D4E5F6G7H8I9J0K1L2M3N4O5P6Q7R8S9T0U1V2W3X4Y5Z6";
        let short = HeaderText::new(id.as_bytes()).unwrap();
        assert!(matches!(short, HeaderText::Inline { .. }));
        assert_eq!(short.into_string(), id);
        let exact = "é".repeat(INLINE / 2);
        assert_eq!(
            HeaderText::new(exact.as_bytes()).unwrap().into_string(),
            exact
        );
        let long = "x".repeat(INLINE + 1);
        let kept = HeaderText::new(long.as_bytes()).unwrap();
        assert!(matches!(kept, HeaderText::Heap(_)));
        assert_eq!(kept.into_string(), long);
        assert!(HeaderText::new(b"\xff\xfe").is_none());
        assert_eq!(HeaderText::new(b"").unwrap().into_string(), "");
    }

    #[test]
    fn content_length_is_read_from_the_bytes() {
        assert_eq!(parse_length(b"42"), Some(42));
        assert_eq!(parse_length(b" 7 "), Some(7));
        assert_eq!(parse_length(b"x"), None);
        assert_eq!(parse_length(b"\xff"), None);
    }
}
