//! The error code and message of a service error, read from the HTTP response.
//!
//! The typed operation error sits behind a type-erased box whose concrete type differs for every
//! operation, so its `ProvideErrorMetadata` cannot be reached generically. The code and message
//! come from the wire instead, the same places the SDK's deserializers read them for every AWS
//! protocol: the `x-amzn-query-error` header (query-compatible JSON services such as SQS), the
//! `x-amzn-errortype` header (REST-JSON), the `__type`/`code` and `message` members of a JSON body
//! (JSON 1.0/1.1, REST-JSON) and the `<Code>`/`<Message>` elements of an XML body (REST-XML,
//! query). Only those members are read; nothing else of the body is kept.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use serde::Deserialize;

/// What a service said about an error.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ServiceError {
    /// The error code, e.g. `ProvisionedThroughputExceededException`.
    pub(crate) code: Option<String>,
    /// The message.
    pub(crate) message: Option<String>,
}

/// Error bodies larger than this are not parsed (real ones are a few hundred bytes).
const MAX_BODY: usize = 64 * 1024;

/// Reads the code and message of an error response.
pub(crate) fn parse(response: &HttpResponse) -> ServiceError {
    let headers = response.headers();
    let header_code = headers
        .get("x-amzn-query-error")
        .and_then(|v| v.split(';').next())
        .or_else(|| headers.get("x-amzn-errortype"))
        .map(sanitize_code)
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    let body = response
        .body()
        .bytes()
        .filter(|b| b.len() <= MAX_BODY)
        .unwrap_or_default();
    let from_body = parse_body(body);
    ServiceError {
        code: header_code.or(from_body.code),
        message: from_body.message,
    }
}

fn parse_body(body: &[u8]) -> ServiceError {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => parse_json(body),
        Some(b'<') => parse_xml(body),
        _ => ServiceError::default(),
    }
}

/// `com.amazonaws.dynamodb.v20120810#ResourceNotFoundException` and
/// `ValidationException:http://internal.amazon.com/coral/...` both mean the bare name.
fn sanitize_code(raw: &str) -> &str {
    let raw = raw.split(':').next().unwrap_or(raw);
    raw.rsplit('#').next().unwrap_or(raw).trim()
}

fn parse_json(body: &[u8]) -> ServiceError {
    // Only these members are deserialized; serde skips everything else without keeping it.
    #[derive(Deserialize)]
    struct JsonError {
        #[serde(rename = "__type")]
        type_: Option<String>,
        code: Option<String>,
        #[serde(rename = "Code")]
        code_upper: Option<String>,
        message: Option<String>,
        #[serde(rename = "Message")]
        message_upper: Option<String>,
        #[serde(rename = "errorMessage")]
        error_message: Option<String>,
    }
    let Ok(e) = serde_json::from_slice::<JsonError>(body) else {
        return ServiceError::default();
    };
    ServiceError {
        code: e
            .code
            .or(e.code_upper)
            .or(e.type_)
            .map(|c| sanitize_code(&c).to_owned())
            .filter(|c| !c.is_empty()),
        message: e.message.or(e.message_upper).or(e.error_message),
    }
}

fn parse_xml(body: &[u8]) -> ServiceError {
    let Ok(text) = std::str::from_utf8(body) else {
        return ServiceError::default();
    };
    ServiceError {
        code: xml_element(text, "Code").map(|c| sanitize_code(&c).to_owned()),
        message: xml_element(text, "Message"),
    }
}

/// The text of the first `<name>...</name>` element, unescaped.
fn xml_element(text: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = text.find(&open)? + open.len();
    let len = text[start..].find(&close)?;
    Some(unescape(text[start..start + len].trim()))
}

fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use aws_smithy_types::body::SdkBody;

    use super::*;

    fn response(headers: &[(&str, &str)], body: &str) -> HttpResponse {
        let mut b = http::Response::builder().status(400);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        HttpResponse::try_from(b.body(SdkBody::from(body.to_owned())).unwrap()).unwrap()
    }

    #[test]
    fn aws_json_type_member() {
        let e = parse(&response(
            &[],
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"Rate exceeded","Item":{"id":{"S":"secret"}}}"#,
        ));
        assert_eq!(
            e,
            ServiceError {
                code: Some("ProvisionedThroughputExceededException".into()),
                message: Some("Rate exceeded".into()),
            }
        );
    }

    #[test]
    fn headers_win_over_the_body() {
        let e = parse(&response(
            &[(
                "x-amzn-query-error",
                "AWS.SimpleQueueService.NonExistentQueue;Sender",
            )],
            r#"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}"#,
        ));
        assert_eq!(
            e.code.as_deref(),
            Some("AWS.SimpleQueueService.NonExistentQueue")
        );
        assert_eq!(
            e.message.as_deref(),
            Some("The specified queue does not exist.")
        );

        let e = parse(&response(
            &[(
                "x-amzn-errortype",
                "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.lambda/",
            )],
            r#"{"Message":"Function not found"}"#,
        ));
        assert_eq!(e.code.as_deref(), Some("ResourceNotFoundException"));
        assert_eq!(e.message.as_deref(), Some("Function not found"));
    }

    #[test]
    fn xml_bodies() {
        let e = parse(&response(
            &[],
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate &amp; retry.</Message><RequestId>R1</RequestId></Error>",
        ));
        assert_eq!(e.code.as_deref(), Some("SlowDown"));
        assert_eq!(
            e.message.as_deref(),
            Some("Please reduce your request rate & retry.")
        );
    }

    #[test]
    fn garbage_is_nothing() {
        assert_eq!(parse(&response(&[], "")), ServiceError::default());
        assert_eq!(parse(&response(&[], "{not json")), ServiceError::default());
        assert_eq!(
            parse(&response(&[], "<Error><Code>Unclosed")),
            ServiceError::default()
        );
        assert_eq!(parse(&response(&[], "plain text")), ServiceError::default());
    }
}
