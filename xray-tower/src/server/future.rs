use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::Response;
use http::header::Entry;
use http_body::Body;
use pin_project_lite::pin_project;
use xray_core::Segment;
use xray_core::context::WithEntity;
use xray_core::header::Sampled;

use super::{OnResponse, ResponseBody, record};
use crate::failure;

pin_project! {
    /// The response future of [`XrayService`](super::XrayService).
    ///
    /// The inner future is polled (and dropped) with the request's segment as the current
    /// entity. When it completes, the response is recorded and its body wrapped in a
    /// [`ResponseBody`] that ends the segment.
    pub struct ResponseFuture<F, OnRes = ()> {
        // Declared first so that, when the request is abandoned, the handler (and the
        // subsegments it holds) is dropped before the segment ends.
        #[pin]
        inner: WithEntity<F>,
        state: Option<State<OnRes>>,
    }
}

/// What the future needs once the response is there; `None` when tracing is disabled.
pub(crate) struct State<OnRes> {
    pub(crate) segment: Segment,
    /// The `Sampled` part of the response's `X-Amzn-Trace-Id` (see `TraceHeader::for_response`).
    pub(crate) response_sampled: Option<Sampled>,
    /// Only for sampled requests.
    pub(crate) on_response: Option<OnRes>,
}

impl<F, OnRes> ResponseFuture<F, OnRes> {
    pub(crate) fn new(inner: WithEntity<F>, state: Option<State<OnRes>>) -> Self {
        Self { inner, state }
    }
}

impl<F, ResB, E, OnRes> Future for ResponseFuture<F, OnRes>
where
    F: Future<Output = Result<Response<ResB>, E>>,
    E: fmt::Display,
    ResB: Body,
    OnRes: OnResponse<ResB>,
{
    type Output = Result<Response<ResponseBody<ResB>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let Some(state) = this.state.take() else {
            return Poll::Ready(result.map(|res| res.map(ResponseBody::untraced)));
        };
        match result {
            Ok(mut response) => {
                let mut count_body = false;
                if state.segment.is_sampled() {
                    let status = response.status().as_u16();
                    let length = record::content_length(&response);
                    count_body = length.is_none();
                    state.segment.update(|d| {
                        d.set_http_status(status);
                        if let Some(length) = length {
                            d.http_response_mut().content_length = i64::try_from(length).ok();
                        }
                    });
                    if let Some(hook) = state.on_response {
                        hook.on_response(&response, &state.segment);
                    }
                }
                // A header the application set itself is left alone.
                if let Some(root) = state.segment.trace_id()
                    && let Entry::Vacant(slot) =
                        response.headers_mut().entry(xray_core::header::HEADER)
                {
                    slot.insert(
                        xray_core::TraceHeader::new(root)
                            .with_sampled(state.response_sampled)
                            .to_header_value(),
                    );
                }
                let segment = state.segment;
                Poll::Ready(Ok(
                    response.map(|body| ResponseBody::new(body, segment, count_body))
                ))
            }
            Err(err) => {
                state.segment.update(|d| failure::record(d, &err));
                // Dropping the state ends the segment: there is no body to wait for.
                Poll::Ready(Err(err))
            }
        }
    }
}

impl<F, OnRes> fmt::Debug for ResponseFuture<F, OnRes> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("segment", &self.state.as_ref().map(|s| s.segment.entity()))
            .finish_non_exhaustive()
    }
}
