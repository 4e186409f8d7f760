use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::Response;
use pin_project_lite::pin_project;
use xray_core::Subsegment;

use crate::content_length::content_length;
use crate::outgoing;

pin_project! {
    /// The response future of [`XrayClientService`](super::XrayClientService): ends the call's
    /// subsegment when the response head arrives or the call fails.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        subsegment: Option<Subsegment>,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, subsegment: Option<Subsegment>) -> Self {
        Self { inner, subsegment }
    }
}

impl<F, ResB, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResB>, E>>,
    ResB: http_body::Body,
    E: fmt::Display,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        if let Some(subsegment) = this.subsegment.take() {
            match &result {
                Ok(response) => outgoing::finish_response(
                    subsegment,
                    response.status().as_u16(),
                    content_length(response),
                ),
                Err(err) => outgoing::finish_error(subsegment, err),
            }
        }
        Poll::Ready(result)
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("subsegment", &self.subsegment)
            .finish_non_exhaustive()
    }
}
