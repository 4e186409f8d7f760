use std::fmt;
use std::task::{Context, Poll};

use http::header::HOST;
use http::{Request, Response};
use tower_service::Service;
use xray_core::Recorder;

use super::{ResponseFuture, XrayClientLayer};
use crate::outgoing::{self, Call};
use crate::url::{UrlParts, host_of, strip_userinfo};
use xray_core::header::HEADER as TRACE_HEADER;

/// Traces each call of an HTTP client as a `remote` subsegment; the [`Service`] that
/// [`XrayClientLayer`] produces.
///
/// See the [module docs](super).
#[derive(Debug, Clone)]
pub struct XrayClientService<S> {
    pub(crate) inner: S,
    pub(crate) recorder: Option<Recorder>,
}

impl<S> XrayClientService<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            recorder: None,
        }
    }

    /// The layer, for `ServiceBuilder`.
    pub fn layer() -> XrayClientLayer {
        XrayClientLayer::new()
    }

    /// The wrapped service.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for XrayClientService<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    S::Error: fmt::Display,
    ResB: http_body::Body,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqB>) -> Self::Future {
        let begun = {
            let uri = request.uri();
            // Clients send absolute URIs; a relative one with a `Host` header still names its
            // target.
            let authority = match uri.authority() {
                Some(a) => Some(a.as_str()),
                None => request.headers().get(HOST).and_then(|h| h.to_str().ok()),
            }
            .map(strip_userinfo);
            let call = Call {
                method: request.method().as_str(),
                host: authority.map(host_of),
                url: UrlParts {
                    scheme: uri.scheme_str(),
                    authority,
                    path: uri.path(),
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
        ResponseFuture::new(self.inner.call(request), subsegment)
    }
}
