use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use xray_core::Segment;
use xray_core::context::WithEntity;

pin_project_lite::pin_project! {
    /// The handler's future, run with the invocation's facade as the current entity; ends the
    /// facade when the handler finishes (or when the future is dropped).
    ///
    /// Returned by [`XrayLambda`](crate::XrayLambda).
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<F> {
        #[pin]
        pub(crate) inner: WithEntity<F>,
        pub(crate) facade: Option<Segment>,
    }
}

impl<F: Future> Future for ResponseFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let output = ready!(this.inner.poll(cx));
        // Subsegments the handler ended are already sent; ones still open (a spawned task that
        // outlives the handler) are sent when they end.
        if let Some(facade) = this.facade.take() {
            facade.end();
        }
        Poll::Ready(output)
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("facade", &self.facade)
            .finish_non_exhaustive()
    }
}
