use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Buf;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use xray_core::{Segment, context};

use crate::failure;

pin_project! {
    /// The response body of [`XrayService`](super::XrayService): the inner body, unchanged, and
    /// the request's segment, which ends when the body has been sent in full, when the body fails,
    /// or when the body is dropped early (the client went away).
    pub struct ResponseBody<B> {
        #[pin]
        inner: B,
        state: Option<BodyState>,
    }
}

struct BodyState {
    segment: Segment,
    /// Bytes sent so far, counted when the length was not known up front (sampled requests only).
    sent: Option<u64>,
}

impl<B> ResponseBody<B> {
    pub(crate) fn new(inner: B, segment: Segment, count: bool) -> Self {
        Self {
            inner,
            state: Some(BodyState {
                segment,
                sent: count.then_some(0),
            }),
        }
    }

    pub(crate) fn untraced(inner: B) -> Self {
        Self { inner, state: None }
    }

    /// The wrapped body.
    pub fn inner(&self) -> &B {
        &self.inner
    }
}

impl BodyState {
    fn finish(self) {
        if let Some(sent) = self.sent {
            self.segment.update(|d| {
                d.http_response_mut().content_length = i64::try_from(sent).ok();
            });
        }
        self.segment.end();
    }
}

impl<B> Body for ResponseBody<B>
where
    B: Body,
    B::Error: fmt::Display,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let Some(state) = this.state.as_mut() else {
            return this.inner.poll_frame(cx);
        };
        // A streamed body may do traced work while it is polled.
        let result = {
            let _current = context::set_current(state.segment.entity().clone());
            ready!(this.inner.as_mut().poll_frame(cx))
        };
        let done = match &result {
            Some(Ok(frame)) => {
                if let (Some(sent), Some(data)) = (state.sent.as_mut(), frame.data_ref()) {
                    *sent += data.remaining() as u64;
                }
                // hyper stops polling once the body says it is complete (an exact length), so
                // the last frame is the end.
                this.inner.is_end_stream()
            }
            Some(Err(err)) => {
                state.segment.update(|d| failure::record(d, err));
                true
            }
            None => true,
        };
        if done && let Some(state) = this.state.take() {
            state.finish();
        }
        Poll::Ready(result)
    }

    #[inline]
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    #[inline]
    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B: fmt::Debug> fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseBody")
            .field("inner", &self.inner)
            .field("segment", &self.state.as_ref().map(|s| s.segment.entity()))
            .finish()
    }
}
