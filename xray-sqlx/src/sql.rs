//! What goes into the `sql` block: the statement text, its preparation, and URLs without secrets.

use std::sync::{Arc, LazyLock};

use std::borrow::Cow;

/// The longest `sql.sanitized_query` recorded, in bytes; longer statements are cut on a character
/// boundary and end with [`TRUNCATION_MARKER`]. A segment document may hold at most 64 kB, and a
/// statement that size would crowd out everything else.
pub const MAX_QUERY_BYTES: usize = 10 * 1024;

/// Appended to a statement cut at [`MAX_QUERY_BYTES`].
pub const TRUNCATION_MARKER: &str = " ...[truncated]";

/// The statement text as recorded in `sql.sanitized_query`: the SQL as written, bound values
/// never included (they travel separately from the text), cut at [`MAX_QUERY_BYTES`].
pub(crate) fn sanitized_query(sql: &str) -> Arc<str> {
    if sql.len() <= MAX_QUERY_BYTES {
        return sql.into();
    }
    let mut cut = MAX_QUERY_BYTES - TRUNCATION_MARKER.len();
    while !sql.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut out = String::with_capacity(cut + TRUNCATION_MARKER.len());
    out.push_str(&sql[..cut]);
    out.push_str(TRUNCATION_MARKER);
    out.into()
}

/// `sql.preparation`: `call` for a stored-procedure call, `statement` for a statement sent with
/// the extended (prepared) protocol, nothing for a simple-protocol statement such as
/// `raw_sql` or a bare `&str`.
pub(crate) fn preparation(sql: &str, prepared: bool) -> Option<Arc<str>> {
    // Shared, so recording the preparation costs a reference count, not an allocation.
    static CALL: LazyLock<Arc<str>> = LazyLock::new(|| "call".into());
    static STATEMENT: LazyLock<Arc<str>> = LazyLock::new(|| "statement".into());
    if is_call(sql) {
        Some(CALL.clone())
    } else if prepared {
        Some(STATEMENT.clone())
    } else {
        None
    }
}

fn is_call(sql: &str) -> bool {
    let rest = skip_comments(sql);
    // `{call proc(?)}` is the JDBC/ODBC escape form.
    let rest = rest.strip_prefix('{').map_or(rest, skip_comments);
    let Some(head) = rest.get(..4) else {
        return false;
    };
    head.eq_ignore_ascii_case("call")
        && !rest[4..]
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
}

fn skip_comments(mut s: &str) -> &str {
    loop {
        s = s.trim_start();
        if let Some(rest) = s.strip_prefix("--") {
            s = rest.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(rest) = s.strip_prefix("/*") {
            s = rest.split_once("*/").map_or("", |(_, after)| after);
        } else {
            return s;
        }
    }
}

/// Removes what must never be recorded from a connection URL: the password in the user-info part,
/// query parameters that carry secrets (`password`, `sslpassword`, tokens such as
/// `X-Amz-Security-Token`, anything named like a secret or a credential) and the fragment.
///
/// # Examples
///
/// ```
/// use xray_sqlx::sanitize_url;
///
/// assert_eq!(
///     sanitize_url("postgres://app:s3cret@db.internal:5432/orders?sslmode=require&password=x"),
///     "postgres://app@db.internal:5432/orders?sslmode=require"
/// );
/// assert_eq!(sanitize_url("sqlite://data/app.db"), "sqlite://data/app.db");
/// ```
pub fn sanitize_url(url: &str) -> String {
    let (url, _fragment) = url.split_once('#').unwrap_or((url, ""));
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut out = String::with_capacity(url.len());
    match base.split_once("://") {
        Some((scheme, rest)) => {
            out.push_str(scheme);
            out.push_str("://");
            let (authority, path) = match rest.find('/') {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            // The last `@` ends the user info: passwords may contain unescaped `@`.
            match authority.rsplit_once('@') {
                Some((userinfo, host)) => {
                    let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
                    if !user.is_empty() {
                        out.push_str(user);
                        out.push('@');
                    }
                    out.push_str(host);
                }
                None => out.push_str(authority),
            }
            out.push_str(path);
        }
        None => out.push_str(base),
    }
    if let Some(query) = query {
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .filter(|pair| {
                let key = pair.split_once('=').map_or(*pair, |(k, _)| k);
                !is_secret_key(key)
            })
            .collect();
        if !kept.is_empty() {
            out.push('?');
            out.push_str(&kept.join("&"));
        }
    }
    out
}

fn is_secret_key(key: &str) -> bool {
    let key: Cow<'_, str> = match percent_decode(key) {
        Some(k) => Cow::Owned(k.to_ascii_lowercase()),
        None => Cow::Owned(key.to_ascii_lowercase()),
    };
    const SECRET_PARTS: [&str; 9] = [
        "pass",
        "pwd",
        "secret",
        "token",
        "credential",
        "signature",
        "auth",
        "apikey",
        "api_key",
    ];
    SECRET_PARTS.iter().any(|p| key.contains(p))
}

fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return None;
    }
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Percent-encodes the characters that would change the meaning of a URL component.
pub(crate) fn encode_url_component(s: &str) -> Cow<'_, str> {
    let special = |c: char| matches!(c, '@' | ':' | '/' | '?' | '#' | '%' | '[' | ']' | ' ');
    if !s.contains(special) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if special(c) {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Whether `url` has the `scheme://host/database` shape the OpenTelemetry collector's X-Ray
/// receiver parses `sql.url` with (`^(.+//.+)/([^\?]+)\??.*$`; no match rejects the document).
pub(crate) fn has_database_path(url: &str) -> bool {
    url.match_indices("//").any(|(i, _)| {
        let rest = &url[i + 2..];
        i > 0
            && rest
                .match_indices('/')
                .any(|(j, _)| j > 0 && rest[j + 1..].chars().next().is_some_and(|c| c != '?'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prep(sql: &str, prepared: bool) -> Option<&'static str> {
        preparation(sql, prepared).map(|p| match &*p {
            "call" => "call",
            "statement" => "statement",
            other => panic!("unexpected preparation {other:?}"),
        })
    }

    #[test]
    fn queries_are_kept_as_written_and_capped() {
        let q = "SELECT * FROM users WHERE id = $1";
        assert_eq!(&*sanitized_query(q), q);
        let long = format!("SELECT '{}'", "é".repeat(MAX_QUERY_BYTES));
        let s = sanitized_query(&long);
        assert!(s.len() <= MAX_QUERY_BYTES);
        assert!(s.ends_with(TRUNCATION_MARKER));
        assert!(s.starts_with("SELECT 'é"));
        let exact = "x".repeat(MAX_QUERY_BYTES);
        assert_eq!(&*sanitized_query(&exact), &*exact);
    }

    #[test]
    fn preparation_kinds() {
        assert_eq!(prep("SELECT 1", true), Some("statement"));
        assert_eq!(prep("SELECT 1", false), None);
        assert_eq!(prep("CALL refresh_totals($1)", true), Some("call"));
        assert_eq!(prep("  call p()", false), Some("call"));
        assert_eq!(prep("{call p(?)}", true), Some("call"));
        assert_eq!(prep("-- refresh\n/* x */ CALL p()", true), Some("call"));
        assert_eq!(prep("CALLBACKS", true), Some("statement"));
        assert_eq!(prep("SELECT call FROM t", true), Some("statement"));
        assert_eq!(prep("cal", true), Some("statement"));
        assert_eq!(prep("-- only a comment", false), None);
    }

    #[test]
    fn urls_lose_their_secrets() {
        for (input, want) in [
            ("postgres://u:p@h:5432/db", "postgres://u@h:5432/db"),
            ("postgres://u:p@ss@h/db", "postgres://u@h/db"),
            ("postgres://:p@h/db", "postgres://h/db"),
            ("postgres://u@h/db", "postgres://u@h/db"),
            (
                "postgres://h/db?sslmode=require",
                "postgres://h/db?sslmode=require",
            ),
            (
                "postgres://h/db?password=x&sslmode=require&sslpassword=y",
                "postgres://h/db?sslmode=require",
            ),
            (
                "mysql://h/db?X-Amz-Security-Token=abc&charset=utf8&auth_token=t",
                "mysql://h/db?charset=utf8",
            ),
            ("mysql://h/db?pass%77ord=x", "mysql://h/db"),
            ("postgres://u:p@h/db#frag", "postgres://u@h/db"),
            ("sqlite::memory:", "sqlite::memory:"),
            ("sqlite://app.db?mode=rwc", "sqlite://app.db?mode=rwc"),
        ] {
            assert_eq!(sanitize_url(input), want, "{input}");
        }
    }

    #[test]
    fn database_paths_as_the_collector_parses_them() {
        for url in [
            "postgres://app@db.internal:5432/orders",
            "postgres://h/db?sslmode=require",
            "postgres://%2Frun%2Fpostgresql/x",
            "mysql://app@127.0.0.1:3307/shop",
            "sqlite:///var/lib/app/orders.db",
            "sqlite://data/app.db",
        ] {
            assert!(has_database_path(url), "{url}");
        }
        for url in [
            "sqlite::memory:",
            "sqlite://app.db",
            "mysql://a%40b@[::1]:3306",
            "postgres://h:5432/",
            "postgres://h/?sslmode=require",
            "//h:5432/db",
            "",
        ] {
            assert!(!has_database_path(url), "{url}");
        }
    }

    #[test]
    fn components_are_encoded() {
        assert_eq!(encode_url_component("plain"), "plain");
        assert_eq!(encode_url_component("a@b:c/d"), "a%40b%3Ac%2Fd");
    }
}
