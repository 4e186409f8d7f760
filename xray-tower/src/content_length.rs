//! The length of a response body, for `http.response.content_length`.

use http::Response;
use http::header::CONTENT_LENGTH;
use http_body::Body;

/// The `Content-Length` header, else the body's exact size (what hyper sends as
/// `Content-Length`); `None` for bodies of unknown length and malformed headers.
pub(crate) fn content_length<B: Body>(response: &Response<B>) -> Option<u64> {
    match response.headers().get(CONTENT_LENGTH) {
        Some(v) => v.to_str().ok()?.trim().parse().ok(),
        None => response.body().size_hint().exact(),
    }
}
