//! The hook called when the inner service has produced the response of a sampled request.

use http::Response;
use xray_core::Entity;

/// Adds data to the segment of a sampled request from its response.
///
/// Implemented for `()` (nothing to add, the default) and for every
/// `FnOnce(&Response<B>, &Entity)`; the hook is cloned for each sampled request, as tower-http's
/// `OnResponse` is. See [`XrayLayer::on_response`](super::XrayLayer::on_response) and the
/// [module docs](super#on_response).
pub trait OnResponse<B> {
    /// Adds data to `segment` from `response`.
    fn on_response(self, response: &Response<B>, segment: &Entity);
}

impl<B> OnResponse<B> for () {
    #[inline]
    fn on_response(self, _: &Response<B>, _: &Entity) {}
}

impl<B, F> OnResponse<B> for F
where
    F: FnOnce(&Response<B>, &Entity),
{
    #[inline]
    fn on_response(self, response: &Response<B>, segment: &Entity) {
        self(response, segment);
    }
}
