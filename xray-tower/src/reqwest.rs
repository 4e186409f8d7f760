//! Tracing calls made with `reqwest`, through `reqwest-middleware`.

use http::Extensions;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next, Result};
use xray_core::Recorder;

use crate::outgoing::{self, Call};
use crate::url::{UrlParts, strip_userinfo};
use xray_core::header::HEADER as TRACE_HEADER;

/// A `reqwest-middleware` middleware that traces each call as a `remote` subsegment of the
/// current entity, exactly like the [client layer](crate::client): the same data, flags and
/// `X-Amzn-Trace-Id` header, and the subsegment ends when the response head arrives.
///
/// # Examples
///
/// ```
/// use reqwest_middleware::ClientBuilder;
/// use xray_tower::reqwest::XrayMiddleware;
///
/// let client = ClientBuilder::new(reqwest::Client::new())
///     .with(XrayMiddleware::new())
///     .build();
/// # let _ = client;
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
#[derive(Debug, Clone, Default)]
pub struct XrayMiddleware {
    recorder: Option<Recorder>,
}

impl XrayMiddleware {
    /// Creates the middleware.
    pub fn new() -> Self {
        Self::default()
    }

    /// The recorder whose context-missing strategy applies when a call is made outside any
    /// segment (default: [`Recorder::global`], looked up only then).
    pub fn recorder(mut self, recorder: Recorder) -> Self {
        self.recorder = Some(recorder);
        self
    }
}

#[async_trait::async_trait]
impl Middleware for XrayMiddleware {
    async fn handle(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> Result<Response> {
        let begun = {
            let url = request.url();
            let authority = authority(url.as_str());
            let call = Call {
                method: request.method().as_str(),
                host: url.host_str(),
                url: UrlParts {
                    scheme: Some(url.scheme()),
                    authority,
                    path: url.path(),
                },
            };
            outgoing::begin(self.recorder.as_ref(), call, request.headers())
        };
        let subsegment = begun.map(|(subsegment, header)| {
            if let Some(header) = header {
                request.headers_mut().insert(TRACE_HEADER, header);
            }
            subsegment
        });
        let result = next.run(request, extensions).await;
        if let Some(subsegment) = subsegment {
            match &result {
                Ok(response) => outgoing::finish_response(
                    subsegment,
                    response.status().as_u16(),
                    response.content_length(),
                ),
                Err(err) => outgoing::finish_error(subsegment, err),
            }
        }
        result
    }
}

/// `host:port` of a serialized URL (which `Url` has normalized), without user info.
fn authority(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(strip_userinfo(&rest[..end])).filter(|a| !a.is_empty())
}

#[cfg(test)]
mod tests {
    use super::authority;

    #[test]
    fn authorities() {
        assert_eq!(
            authority("http://u:p@h.example:81/x?q"),
            Some("h.example:81")
        );
        assert_eq!(authority("https://h.example"), Some("h.example"));
        assert_eq!(authority("http://[::1]:3000/"), Some("[::1]:3000"));
        assert_eq!(authority("data:text/plain,hi"), None);
    }
}
