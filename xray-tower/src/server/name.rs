//! How segments of incoming requests are named.

use std::fmt;
use std::sync::Arc;

use xray_core::sampling::wildcard_match;

/// Chooses the segment name of an incoming request.
///
/// The name is the service's node in the X-Ray service map. Two strategies come with the crate,
/// the ones every official SDK offers: [`FixedName`] (one name for every request) and
/// [`DynamicName`] (the `Host` header when it matches a pattern). Whatever the strategy returns
/// is sanitized the way every name is ([`sanitize_name`](xray_core::segment::sanitize_name)).
///
/// # Examples
///
/// A strategy that names segments after the host without its port:
///
/// ```
/// use xray_tower::server::{NameStrategy, XrayLayer};
///
/// #[derive(Clone)]
/// struct HostWithoutPort;
///
/// impl NameStrategy for HostWithoutPort {
///     fn segment_name<'a>(&'a self, host: Option<&'a str>, tracing_name: Option<&'a str>) -> &'a str {
///         tracing_name
///             .or_else(|| host.map(|h| h.split(':').next().unwrap_or(h)))
///             .unwrap_or("my-service")
///     }
/// }
///
/// let layer = XrayLayer::new("unused").name_strategy(HostWithoutPort);
/// # let _ = layer;
/// ```
pub trait NameStrategy: Send + Sync + 'static {
    /// Returns the name for a request.
    ///
    /// `host` is the request's `Host` header (or the URI authority for HTTP/2), port included,
    /// user info removed. `tracing_name` is `AWS_XRAY_TRACING_NAME` when it is set: the official
    /// SDKs let it replace the fixed name, or the fallback name of the dynamic strategy.
    fn segment_name<'a>(&'a self, host: Option<&'a str>, tracing_name: Option<&'a str>) -> &'a str;
}

/// Names every segment with one name, unless `AWS_XRAY_TRACING_NAME` is set (it wins, as in
/// every official SDK).
///
/// Created by [`XrayLayer::new`](super::XrayLayer::new).
#[derive(Clone)]
pub struct FixedName {
    name: Arc<str>,
}

impl FixedName {
    /// Uses `name` for every segment.
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        Self { name: name.into() }
    }

    /// The configured name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl NameStrategy for FixedName {
    #[inline]
    fn segment_name<'a>(&'a self, _: Option<&'a str>, tracing_name: Option<&'a str>) -> &'a str {
        tracing_name.unwrap_or(&self.name)
    }
}

impl fmt::Debug for FixedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("FixedName").field(&&*self.name).finish()
    }
}

/// Names a segment after the request's `Host` header when it matches a pattern, and otherwise
/// with a fallback name.
///
/// The pattern is a case-insensitive wildcard (`*` any run of characters, `?` one character),
/// matched against the whole `Host` value, port included (`*.example.com` does not match
/// `api.example.com:8080`; `*.example.com*` does). `AWS_XRAY_TRACING_NAME` replaces the fallback
/// name, as in the Java, Node and Python SDKs; a request without a host gets the fallback.
///
/// # Examples
///
/// ```
/// use xray_tower::server::{DynamicName, NameStrategy};
///
/// let names = DynamicName::new("shop", "*.example.com");
/// assert_eq!(names.segment_name(Some("API.example.com"), None), "API.example.com");
/// assert_eq!(names.segment_name(Some("10.0.0.7:8080"), None), "shop");
/// assert_eq!(names.segment_name(None, Some("from-env")), "from-env");
/// ```
#[derive(Clone)]
pub struct DynamicName {
    fallback: Arc<str>,
    recognized_hosts: Arc<str>,
}

impl DynamicName {
    /// Uses the host when it matches `recognized_hosts` (`"*"` accepts any host), else
    /// `fallback`.
    pub fn new(fallback: impl Into<Arc<str>>, recognized_hosts: impl Into<Arc<str>>) -> Self {
        Self {
            fallback: fallback.into(),
            recognized_hosts: recognized_hosts.into(),
        }
    }
}

impl NameStrategy for DynamicName {
    fn segment_name<'a>(&'a self, host: Option<&'a str>, tracing_name: Option<&'a str>) -> &'a str {
        match host {
            Some(host) if !host.is_empty() && wildcard_match(&self.recognized_hosts, host) => host,
            _ => tracing_name.unwrap_or(&self.fallback),
        }
    }
}

impl fmt::Debug for DynamicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamicName")
            .field("fallback", &&*self.fallback)
            .field("recognized_hosts", &&*self.recognized_hosts)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed() {
        let n = FixedName::new("orders");
        assert_eq!(n.segment_name(Some("h"), None), "orders");
        assert_eq!(n.segment_name(None, Some("env")), "env");
    }

    #[test]
    fn dynamic() {
        let n = DynamicName::new("fallback", "*.example.com*");
        assert_eq!(
            n.segment_name(Some("a.example.com:80"), Some("env")),
            "a.example.com:80"
        );
        assert_eq!(n.segment_name(Some("other.org"), None), "fallback");
        assert_eq!(n.segment_name(Some(""), None), "fallback");
        assert_eq!(n.segment_name(None, Some("env")), "env");
        let any = DynamicName::new("fb", "*");
        assert_eq!(any.segment_name(Some("x"), None), "x");
    }
}
