//! The hook called when a sampled request arrives.

use http::Request;
use xray_core::Entity;

/// Adds data to the segment of a sampled request before the inner service sees the request.
///
/// Implemented for `()` (nothing to add, the default) and for every
/// `FnMut(&Request<B>, &Entity)`, so a closure is enough. See
/// [`XrayLayer::on_request`](super::XrayLayer::on_request) and the
/// [module docs](super#on_request).
pub trait OnRequest<B> {
    /// Adds data to `segment` from `request`.
    fn on_request(&mut self, request: &Request<B>, segment: &Entity);
}

impl<B> OnRequest<B> for () {
    #[inline]
    fn on_request(&mut self, _: &Request<B>, _: &Entity) {}
}

impl<B, F> OnRequest<B> for F
where
    F: FnMut(&Request<B>, &Entity),
{
    #[inline]
    fn on_request(&mut self, request: &Request<B>, segment: &Entity) {
        self(request, segment);
    }
}
