use std::fmt;
use std::sync::Arc;

use tower_layer::Layer;
use xray_core::Recorder;

use super::{DynamicName, FixedName, XrayService};

/// A [`Layer`] that traces incoming HTTP requests: one X-Ray segment per request.
///
/// See the [module docs](super) for what is recorded and when each hook runs.
///
/// # Examples
///
/// ```
/// use axum::{Router, routing::get};
/// use xray_tower::server::XrayLayer;
///
/// let app: Router = Router::new()
///     .route("/hello", get(|| async { "hello" }))
///     .layer(XrayLayer::new("my-service"));
/// ```
#[derive(Clone)]
pub struct XrayLayer<N = FixedName, OnReq = (), OnRes = ()> {
    pub(crate) name: N,
    pub(crate) recorder: Option<Recorder>,
    pub(crate) on_request: OnReq,
    pub(crate) on_response: OnRes,
}

impl XrayLayer {
    /// Names every segment `name` (or `AWS_XRAY_TRACING_NAME`, when set) and records through the
    /// global recorder, [`Recorder::global`].
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        Self::with_strategy(FixedName::new(name))
    }
}

impl XrayLayer<DynamicName> {
    /// Names segments after the `Host` header when it matches the wildcard pattern
    /// `recognized_hosts`, and `fallback` otherwise; see [`DynamicName`].
    pub fn dynamic(fallback: impl Into<Arc<str>>, recognized_hosts: impl Into<Arc<str>>) -> Self {
        Self::with_strategy(DynamicName::new(fallback, recognized_hosts))
    }
}

impl<N> XrayLayer<N> {
    /// Names segments with a custom [`NameStrategy`](super::NameStrategy).
    pub fn with_strategy(name: N) -> Self {
        Self {
            name,
            recorder: None,
            on_request: (),
            on_response: (),
        }
    }
}

impl<N, OnReq, OnRes> XrayLayer<N, OnReq, OnRes> {
    /// Records through `recorder` instead of the global recorder.
    ///
    /// Without this the layer uses [`Recorder::global`], looked up at the first request (so the
    /// application may install its recorder after building the router). The layer never
    /// installs a global recorder itself.
    pub fn recorder(mut self, recorder: Recorder) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Replaces the naming strategy.
    pub fn name_strategy<N2>(self, name: N2) -> XrayLayer<N2, OnReq, OnRes> {
        XrayLayer {
            name,
            recorder: self.recorder,
            on_request: self.on_request,
            on_response: self.on_response,
        }
    }

    /// Adds data to the segment of each sampled request from the request: see
    /// [`OnRequest`](super::OnRequest) and the [module docs](super#on_request).
    pub fn on_request<OnReq2>(self, on_request: OnReq2) -> XrayLayer<N, OnReq2, OnRes> {
        XrayLayer {
            name: self.name,
            recorder: self.recorder,
            on_request,
            on_response: self.on_response,
        }
    }

    /// Adds data to the segment of each sampled request from the response: see
    /// [`OnResponse`](super::OnResponse) and the [module docs](super#on_response).
    pub fn on_response<OnRes2>(self, on_response: OnRes2) -> XrayLayer<N, OnReq, OnRes2> {
        XrayLayer {
            name: self.name,
            recorder: self.recorder,
            on_request: self.on_request,
            on_response,
        }
    }
}

impl<S, N, OnReq, OnRes> Layer<S> for XrayLayer<N, OnReq, OnRes>
where
    N: Clone,
    OnReq: Clone,
    OnRes: Clone,
{
    type Service = XrayService<S, N, OnReq, OnRes>;

    fn layer(&self, inner: S) -> Self::Service {
        XrayService {
            inner,
            name: self.name.clone(),
            recorder: self.recorder.clone(),
            on_request: self.on_request.clone(),
            on_response: self.on_response.clone(),
        }
    }
}

impl<N: fmt::Debug, OnReq, OnRes> fmt::Debug for XrayLayer<N, OnReq, OnRes> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XrayLayer")
            .field("name", &self.name)
            .field("recorder", &self.recorder)
            .field("on_request", &std::any::type_name::<OnReq>())
            .field("on_response", &std::any::type_name::<OnRes>())
            .finish()
    }
}
