use tower_layer::Layer;
use xray_core::Recorder;

use super::XrayLambda;

/// A [`Layer`] that runs each Lambda invocation under its X-Ray facade.
///
/// See the [crate docs](crate).
#[derive(Debug, Clone, Default)]
pub struct XrayLambdaLayer {
    recorder: Option<Recorder>,
}

impl XrayLambdaLayer {
    /// Creates the layer, using [`Recorder::global`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Begins facades with this recorder instead of [`Recorder::global`].
    #[must_use]
    pub fn recorder(mut self, recorder: Recorder) -> Self {
        self.recorder = Some(recorder);
        self
    }
}

impl<S> Layer<S> for XrayLambdaLayer {
    type Service = XrayLambda<S>;

    fn layer(&self, inner: S) -> Self::Service {
        XrayLambda {
            inner,
            recorder: self.recorder.clone(),
        }
    }
}
