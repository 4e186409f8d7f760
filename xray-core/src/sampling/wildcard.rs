//! The wildcard matcher of sampling rules and dynamic segment naming.

/// Matches `text` against `pattern`, where `*` matches any run of characters (also none) and `?`
/// exactly one, ignoring ASCII and Unicode case, over the whole text — as the official SDKs'
/// `SearchPattern`/`wildcardMatch` do.
///
/// # Examples
///
/// ```
/// use xray_core::sampling::wildcard_match;
///
/// assert!(wildcard_match("*.example.com", "API.Example.com"));
/// assert!(wildcard_match("/orders/?", "/orders/7"));
/// assert!(wildcard_match("*", ""));
/// assert!(!wildcard_match("", "x"));
/// assert!(!wildcard_match("/orders", "/orders/7"));
/// ```
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    if pattern.is_ascii() && text.is_ascii() {
        return match_bytes(pattern.as_bytes(), text.as_bytes());
    }
    let p: Vec<char> = pattern.chars().flat_map(char::to_lowercase).collect();
    let t: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    match_generic(&p, &t, |a, b| a == b)
}

fn match_bytes(p: &[u8], t: &[u8]) -> bool {
    match_generic(p, t, |a: &u8, b: &u8| a.eq_ignore_ascii_case(b))
}

/// Iterative glob matching with single backtracking point: linear in practice, never exponential.
fn match_generic<T: Copy + PartialEq + From<u8>>(
    p: &[T],
    t: &[T],
    eq: impl Fn(&T, &T) -> bool,
) -> bool {
    let star = T::from(b'*');
    let any = T::from(b'?');
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == star {
            backtrack = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == any || eq(&p[pi], &t[ti])) {
            pi += 1;
            ti += 1;
        } else if let Some((bp, bt)) = backtrack {
            pi = bp + 1;
            ti = bt + 1;
            backtrack = Some((bp, bt + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == star {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::wildcard_match as m;

    #[test]
    fn cases_from_the_official_sdks() {
        assert!(m("*", "anything"));
        assert!(m("*", ""));
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(m("a", "A"));
        assert!(m("?", "a"));
        assert!(!m("?", ""));
        assert!(!m("?", "ab"));
        assert!(m("*a*", "bab"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXbYY"));
        assert!(m("*.amazonaws.com", "dynamodb.us-east-1.amazonaws.com"));
        assert!(m("GET", "get"));
        assert!(m("/api/*/items/?", "/api/v1/items/9"));
        assert!(!m("/api/*/items/?", "/api/v1/items/10"));
        assert!(m("**", "x"));
        assert!(m("Ö*", "öl"));
        assert!(m("ÉTÉ", "été"));
    }

    #[test]
    fn no_exponential_blowup() {
        let text = "a".repeat(10_000);
        let pattern = format!("{}b", "*a".repeat(50));
        assert!(!m(&pattern, &text));
    }
}
