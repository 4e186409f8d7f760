//! The `http.request.url` value: scheme, host and path, never the query string or credentials.

/// The pieces of a URL that X-Ray records.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct UrlParts<'a> {
    pub(crate) scheme: Option<&'a str>,
    /// Host, with the port when there is one (`example.com:8080`, `[::1]:3000`), no user info.
    pub(crate) authority: Option<&'a str>,
    pub(crate) path: &'a str,
}

impl UrlParts<'_> {
    /// `scheme://authority/path`, the form the Go SDK records; only the path when the host is
    /// unknown.
    pub(crate) fn to_url(self) -> String {
        let Some(authority) = self.authority else {
            return self.path.to_owned();
        };
        let scheme = self.scheme.unwrap_or("http");
        let path = if self.path.is_empty() { "/" } else { self.path };
        let mut url = String::with_capacity(scheme.len() + 3 + authority.len() + path.len());
        url.push_str(scheme);
        url.push_str("://");
        url.push_str(authority);
        url.push_str(path);
        url
    }
}

/// Drops `user:password@` from an authority. The last `@` counts: a password may hold `@` only
/// percent-encoded, and a host never holds one.
pub(crate) fn strip_userinfo(authority: &str) -> &str {
    match authority.bytes().rposition(|b| b == b'@') {
        Some(at) => &authority[at + 1..],
        None => authority,
    }
}

/// The host of an authority, without user info and port; IPv6 literals keep their brackets, as
/// `http::Uri::host` returns them.
pub(crate) fn host_of(authority: &str) -> &str {
    let hostport = strip_userinfo(authority);
    if hostport.starts_with('[') {
        return match hostport.find(']') {
            Some(end) => &hostport[..=end],
            None => hostport,
        };
    }
    hostport.rsplit_once(':').map_or(hostport, |(h, _)| h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let p = UrlParts {
            scheme: Some("https"),
            authority: Some("api.example.com:8443"),
            path: "/orders/7",
        };
        assert_eq!(p.to_url(), "https://api.example.com:8443/orders/7");
        let p = UrlParts {
            scheme: None,
            authority: Some("h"),
            path: "",
        };
        assert_eq!(p.to_url(), "http://h/");
        let p = UrlParts {
            scheme: None,
            authority: None,
            path: "/x",
        };
        assert_eq!(p.to_url(), "/x");
    }

    #[test]
    fn credentials_and_ports() {
        assert_eq!(strip_userinfo("user:secret@db:5432"), "db:5432");
        assert_eq!(strip_userinfo("a@b@host"), "host");
        assert_eq!(strip_userinfo("host"), "host");
        assert_eq!(host_of("user:pw@example.com:80"), "example.com");
        assert_eq!(host_of("[::1]:3000"), "[::1]");
        assert_eq!(host_of("[::1"), "[::1");
        assert_eq!(host_of("example.com"), "example.com");
    }
}
