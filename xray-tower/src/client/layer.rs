use tower_layer::Layer;
use xray_core::Recorder;

use super::XrayClientService;

/// A [`Layer`] that traces each outgoing HTTP call as a `remote` subsegment.
///
/// See the [module docs](super).
#[derive(Debug, Clone, Default)]
pub struct XrayClientLayer {
    recorder: Option<Recorder>,
}

impl XrayClientLayer {
    /// Creates the layer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The recorder whose context-missing strategy applies when a call is made outside any
    /// segment (default: [`Recorder::global`], looked up only then). Subsegments always belong
    /// to the current entity's recorder.
    pub fn recorder(mut self, recorder: Recorder) -> Self {
        self.recorder = Some(recorder);
        self
    }
}

impl<S> Layer<S> for XrayClientLayer {
    type Service = XrayClientService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        XrayClientService {
            inner,
            recorder: self.recorder.clone(),
        }
    }
}
