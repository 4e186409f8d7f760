use std::task::{Context, Poll};

use lambda_runtime::LambdaEvent;
use tower_service::Service;
use xray_core::{Entity, Recorder, XrayFutureExt};

use super::{ResponseFuture, XrayLambdaLayer};

/// Runs each invocation of a `lambda_runtime` handler under the invocation's X-Ray facade; the
/// [`Service`] that [`XrayLambdaLayer`] produces.
///
/// See the [crate docs](crate).
#[derive(Debug, Clone)]
pub struct XrayLambda<S> {
    pub(crate) inner: S,
    pub(crate) recorder: Option<Recorder>,
}

impl<S> XrayLambda<S> {
    /// Wraps `inner`, using [`Recorder::global`].
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            recorder: None,
        }
    }

    /// The layer, for `ServiceBuilder`.
    pub fn layer() -> XrayLambdaLayer {
        XrayLambdaLayer::new()
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

impl<S, T> Service<LambdaEvent<T>> for XrayLambda<S>
where
    S: Service<LambdaEvent<T>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, event: LambdaEvent<T>) -> Self::Future {
        let facade = {
            let recorder = self.recorder.as_ref().unwrap_or_else(|| Recorder::global());
            crate::begin_invocation(recorder, &event.context)
        };
        // Without a trace header the handler runs under a disabled entity: its subsegments are
        // silent no-ops rather than context-missing errors on every invocation.
        let entity = facade
            .as_ref()
            .map_or_else(Entity::disabled, |f| f.entity().clone());
        // `call` itself may do work (a `service_fn` closure runs here, before its future).
        let future = {
            let _current = xray_core::context::set_current(entity.clone());
            self.inner.call(event)
        };
        ResponseFuture {
            inner: future.in_entity(entity),
            facade,
        }
    }
}
