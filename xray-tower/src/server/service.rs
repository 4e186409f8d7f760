use std::fmt;
use std::task::{Context, Poll};

use http::{Request, Response};
use http_body::Body;
use tower_service::Service;
use xray_core::sampling::SamplingRequest;
use xray_core::{Entity, Recorder, TraceHeader, XrayFutureExt};

use super::future::State;
use super::{
    FixedName, NameStrategy, OnRequest, OnResponse, ResponseBody, ResponseFuture, XrayLayer, record,
};

/// Traces each request as an X-Ray segment; the [`Service`] that [`XrayLayer`] produces.
///
/// See the [module docs](super) for what is recorded and when.
#[derive(Clone)]
pub struct XrayService<S, N = FixedName, OnReq = (), OnRes = ()> {
    pub(crate) inner: S,
    pub(crate) name: N,
    pub(crate) recorder: Option<Recorder>,
    pub(crate) on_request: OnReq,
    pub(crate) on_response: OnRes,
}

impl<S> XrayService<S> {
    /// Wraps `inner`, naming every segment `name`; the same as `XrayLayer::new(name).layer(inner)`.
    pub fn new(inner: S, name: impl Into<std::sync::Arc<str>>) -> Self {
        tower_layer::Layer::layer(&XrayLayer::new(name), inner)
    }

    /// The layer, for `ServiceBuilder`: the same as [`XrayLayer::new`].
    pub fn layer(name: impl Into<std::sync::Arc<str>>) -> XrayLayer {
        XrayLayer::new(name)
    }
}

impl<S, N, OnReq, OnRes> XrayService<S, N, OnReq, OnRes> {
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

impl<S, ReqB, ResB, N, OnReq, OnRes> Service<Request<ReqB>> for XrayService<S, N, OnReq, OnRes>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    S::Error: fmt::Display,
    ResB: Body,
    N: NameStrategy,
    OnReq: OnRequest<ReqB>,
    OnRes: OnResponse<ResB> + Clone,
{
    type Response = Response<ResponseBody<ResB>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, OnRes>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqB>) -> Self::Future {
        let recorder = match &self.recorder {
            Some(r) => r,
            None => Recorder::global(),
        };
        if !recorder.is_enabled() {
            // Handlers that take the segment from the extensions keep working when tracing is
            // switched off by the environment.
            request.extensions_mut().insert(Entity::disabled());
            let inner = self.inner.call(request);
            return ResponseFuture::new(inner.in_entity(Entity::disabled()), None);
        }

        let incoming = xray_core::TraceHeader::from_headers(request.headers());
        let host = record::host(&request);
        let tracing_name = if recorder.service_name_overridden() {
            recorder.service_name()
        } else {
            None
        };
        let name = self.name.segment_name(host, tracing_name);
        let mut sampling = SamplingRequest::new()
            .method(request.method().as_str())
            .url_path(request.uri().path());
        if let Some(host) = host {
            sampling = sampling.host(host);
        }
        let segment = recorder
            .segment(name)
            .trace_header(incoming.as_ref())
            .sampling_request(sampling)
            .begin();

        let sampled = segment.is_sampled();
        if sampled {
            segment.update(|d| record::record_request(d, &request, host));
            self.on_request.on_request(&request, &segment);
        }
        let response_sampled = segment
            .trace_id()
            .and_then(|root| TraceHeader::for_response(root, incoming.as_ref(), sampled).sampled());

        let entity = segment.entity().clone();
        request.extensions_mut().insert(entity.clone());
        // `call` may do work of its own before returning the future (axum routes here), so the
        // segment is current for it too.
        let inner = entity.in_scope(|| self.inner.call(request));
        let state = State {
            segment,
            response_sampled,
            on_response: sampled.then(|| self.on_response.clone()),
        };
        ResponseFuture::new(inner.in_entity(entity), Some(state))
    }
}

impl<S: fmt::Debug, N: fmt::Debug, OnReq, OnRes> fmt::Debug for XrayService<S, N, OnReq, OnRes> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XrayService")
            .field("inner", &self.inner)
            .field("name", &self.name)
            .field("recorder", &self.recorder)
            .field("on_request", &std::any::type_name::<OnReq>())
            .field("on_response", &std::any::type_name::<OnRes>())
            .finish()
    }
}
