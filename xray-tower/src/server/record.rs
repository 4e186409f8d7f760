//! What the server layer reads from requests and responses: host, `http.request`, content length.

use std::net::IpAddr;

use http::header::{HOST, USER_AGENT};
use http::{HeaderMap, HeaderName, Request};
use xray_core::segment::EntityData;

use super::PeerAddr;
pub(crate) use crate::content_length::content_length;
use crate::url::{UrlParts, strip_userinfo};

/// The longest `http.request` string recorded, in characters: the segment schema's limit for
/// `method`, `url`, `user_agent` and `client_ip`. These come from the client; without a cap a
/// 100 KB `User-Agent` or path would make the document too large to send, and it would be
/// dropped whole.
pub(crate) const MAX_REQUEST_STRING_CHARS: usize = 250;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// The request's host as the client addressed it: the `Host` header (HTTP/1.1), else the URI
/// authority (HTTP/2, absolute-form requests); port included, user info removed.
pub(crate) fn host<B>(request: &Request<B>) -> Option<&str> {
    let host = match request.headers().get(HOST) {
        Some(value) => value.to_str().ok()?,
        None => request.uri().authority()?.as_str(),
    };
    // hyper has already trimmed the value.
    let host = strip_userinfo(host);
    (!host.is_empty()).then_some(host)
}

/// Fills `http.request`: method, URL (no query string, no credentials), user agent and client
/// address.
pub(crate) fn record_request<B>(
    data: &mut EntityData<'_>,
    request: &Request<B>,
    host: Option<&str>,
) {
    let headers = request.headers();
    let url = UrlParts {
        scheme: scheme(request),
        authority: host,
        path: request.uri().path(),
    }
    .to_url();
    let user_agent = headers
        .get(USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let (client_ip, forwarded) = match forwarded_for(headers) {
        Some(ip) => (Some(ip.to_owned()), Some(true)),
        None => (peer_ip(request), None),
    };
    let http = data.http_request_mut();
    http.method = Some(capped(request.method().as_str().to_owned()));
    http.url = Some(capped(url));
    http.user_agent = user_agent.map(capped);
    http.client_ip = client_ip.map(capped);
    http.x_forwarded_for = forwarded;
}

/// `s` cut to [`MAX_REQUEST_STRING_CHARS`] characters.
fn capped(mut s: String) -> String {
    // At most 250 bytes is at most 250 characters: the common case costs one comparison.
    if s.len() > MAX_REQUEST_STRING_CHARS
        && let Some((cut, _)) = s.char_indices().nth(MAX_REQUEST_STRING_CHARS)
    {
        s.truncate(cut);
    }
    s
}

/// The URI's scheme (HTTP/2, absolute-form), else `X-Forwarded-Proto` from a load balancer that
/// terminated TLS, else `http`: a tower service cannot see whether its connection is TLS.
fn scheme<B>(request: &Request<B>) -> Option<&str> {
    if let Some(s) = request.uri().scheme_str() {
        return Some(s);
    }
    let proto = request.headers().get(X_FORWARDED_PROTO)?.as_bytes();
    if proto.eq_ignore_ascii_case(b"https") {
        Some("https")
    } else {
        None
    }
}

/// The first entry of `X-Forwarded-For`: the client as the first proxy saw it.
fn forwarded_for(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(X_FORWARDED_FOR)?.to_str().ok()?;
    let first = value.split(',').next()?.trim();
    (!first.is_empty()).then_some(first)
}

fn peer_ip<B>(request: &Request<B>) -> Option<String> {
    #[cfg(feature = "axum")]
    if let Some(info) = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
    {
        return Some(ip_string(info.0.ip()));
    }
    request
        .extensions()
        .get::<PeerAddr>()
        .map(|p| ip_string(p.0.ip()))
}

/// `IpAddr::to_string` without the formatting machinery for the common IPv4 case (a tenth of the
/// instructions).
fn ip_string(ip: IpAddr) -> String {
    let IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut s = String::with_capacity(15);
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        if octet >= 100 {
            s.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            s.push(char::from(b'0' + octet / 10 % 10));
        }
        s.push(char::from(b'0' + octet % 10));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(uri: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut b = Request::builder().uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn hosts() {
        assert_eq!(
            host(&request("/p", &[("host", "a.example:80")])),
            Some("a.example:80")
        );
        assert_eq!(
            host(&request("http://u:pw@b.example/p", &[])),
            Some("b.example")
        );
        assert_eq!(
            host(&request("/p", &[("host", "u:pw@c.example")])),
            Some("c.example")
        );
        assert_eq!(host(&request("/p", &[])), None);
        let mut r = request("/p", &[]);
        r.headers_mut()
            .insert(HOST, http::HeaderValue::from_bytes(b"\xffbad").unwrap());
        assert_eq!(host(&r), None);
    }

    #[test]
    fn ips() {
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "10.20.100.255",
            "203.0.113.9",
            "::1",
            "2001:db8::7",
        ] {
            let parsed: IpAddr = ip.parse().unwrap();
            assert_eq!(ip_string(parsed), ip);
        }
    }

    #[test]
    fn forwarded() {
        let r = request("/", &[("x-forwarded-for", " 203.0.113.1 , 10.0.0.1")]);
        assert_eq!(forwarded_for(r.headers()), Some("203.0.113.1"));
        let r = request("/", &[("x-forwarded-for", " , 10.0.0.1")]);
        assert_eq!(forwarded_for(r.headers()), None);
    }

    #[test]
    fn request_strings_are_capped() {
        assert_eq!(capped("a".repeat(300)).len(), MAX_REQUEST_STRING_CHARS);
        assert_eq!(
            capped("é".repeat(300)).chars().count(),
            MAX_REQUEST_STRING_CHARS
        );
        assert_eq!(capped("short".into()), "short");
    }

    #[test]
    fn schemes() {
        assert_eq!(
            scheme(&request("/", &[("x-forwarded-proto", "HTTPS")])),
            Some("https")
        );
        assert_eq!(
            scheme(&request("/", &[("x-forwarded-proto", "gopher")])),
            None
        );
        assert_eq!(scheme(&request("https://h/", &[])), Some("https"));
    }
}
