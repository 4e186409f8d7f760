//! Rule patterns compiled once, so that matching a request against ten rules stays in the tens of
//! nanoseconds. Every shortcut gives the same answer as [`wildcard_match`].

use super::SamplingRequest;
use super::wildcard::wildcard_match;

/// A wildcard pattern (`*`, `?`, case-insensitive) prepared for fast matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    source: Box<str>,
    /// For ASCII patterns: the literal part (`Exact`, `Prefix`, `Suffix`) or the whole pattern
    /// (`Glob`), lower-cased, so matching lower-cases only the text.
    lower: Box<[u8]>,
    kind: Kind,
    /// The first and last characters of ASCII patterns when they are literals (lower-cased, 0
    /// when not): most rules fail on them, before any dispatch.
    first: u8,
    last: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Only `*`s: matches everything.
    Any,
    /// No wildcard at all.
    Exact,
    /// `literal*`
    Prefix,
    /// `*literal`
    Suffix,
    /// `*` but no `?`: literal segments, the first a prefix, the last a suffix, the others found
    /// in order in between (greedy leftmost search is exact for star-only patterns).
    Stars,
    /// Any other ASCII pattern.
    Glob,
    /// A non-ASCII pattern: [`wildcard_match`] folds Unicode case.
    Unicode,
}

impl Pattern {
    pub(crate) fn new(source: &str) -> Self {
        let wild = |c: char| c == '*' || c == '?';
        let head = source.trim_end_matches('*');
        let tail = source.trim_start_matches('*');
        let (kind, lit) = if !source.is_empty() && head.is_empty() {
            (Kind::Any, "")
        } else if !source.is_ascii() {
            (Kind::Unicode, "")
        } else if !source.contains(wild) {
            (Kind::Exact, source)
        } else if head.len() < source.len() && !head.contains(wild) {
            (Kind::Prefix, head)
        } else if tail.len() < source.len() && !tail.contains(wild) {
            (Kind::Suffix, tail)
        } else if !source.contains('?') {
            (Kind::Stars, source)
        } else {
            (Kind::Glob, source)
        };
        let literal = |b: Option<&u8>| match b {
            Some(b'*' | b'?') | None => 0,
            Some(b) => b.to_ascii_lowercase(),
        };
        let ascii = !matches!(kind, Kind::Any | Kind::Unicode);
        Self {
            source: source.into(),
            lower: lit.to_ascii_lowercase().into_bytes().into(),
            kind,
            first: if ascii {
                literal(source.as_bytes().first())
            } else {
                0
            },
            last: if ascii {
                literal(source.as_bytes().last())
            } else {
                0
            },
        }
    }

    /// Whether the pattern matches everything.
    fn is_any(&self) -> bool {
        self.kind == Kind::Any
    }

    /// The pattern as written.
    #[cfg(test)]
    fn as_str(&self) -> &str {
        &self.source
    }

    #[cfg(test)]
    fn matches(&self, text: &str) -> bool {
        self.matches_text(Text::new(text))
    }

    /// [`matches`](Self::matches) for a text whose ASCII-ness is already known, so that trying
    /// many rules scans each request attribute once.
    // Forced: called once per rule and attribute, the call itself would cost as much as the
    // comparison.
    #[inline(always)]
    fn matches_text(&self, text: Text<'_>) -> bool {
        let (t, lit) = (text.s.as_bytes(), &*self.lower);
        if text.ascii {
            let differs =
                |lit: u8, b: Option<&u8>| lit != 0 && b.map(u8::to_ascii_lowercase) != Some(lit);
            if differs(self.first, t.first()) || differs(self.last, t.last()) {
                return false;
            }
        }
        match self.kind {
            Kind::Any => true,
            // Non-ASCII text may case-fold into ASCII (the Kelvin sign is a `k`): let the general
            // matcher decide.
            Kind::Unicode => wildcard_match(&self.source, text.s),
            _ if !text.ascii => wildcard_match(&self.source, text.s),
            Kind::Exact => t.len() == lit.len() && eq_lower(t, lit),
            Kind::Prefix => t.len() >= lit.len() && eq_lower(t, lit),
            Kind::Suffix => t.len() >= lit.len() && eq_lower(&t[t.len() - lit.len()..], lit),
            Kind::Stars => stars(lit, t),
            Kind::Glob => glob(lit, t),
        }
    }
}

/// Whether `t` starts with `lower`, ignoring ASCII case (`lower` is lower-case already).
#[inline(always)]
fn eq_lower(t: &[u8], lower: &[u8]) -> bool {
    for (a, b) in t.iter().zip(lower) {
        if a.to_ascii_lowercase() != *b {
            return false;
        }
    }
    true
}

/// A star-only pattern (lower-cased, ASCII) against ASCII text.
fn stars(p: &[u8], t: &[u8]) -> bool {
    let mut segments = p.split(|&c| c == b'*');
    let (Some(first), Some(last)) = (segments.next(), p.rsplit(|&c| c == b'*').next()) else {
        return false;
    };
    if t.len() < first.len() + last.len()
        || !eq_lower(t, first)
        || !eq_lower(&t[t.len() - last.len()..], last)
    {
        return false;
    }
    let mut rest = t.get(first.len()..t.len() - last.len()).unwrap_or_default();
    // The middle segments: what lies after the first star, up to the last one.
    let inner = p
        .get(first.len() + 1..p.len() - last.len())
        .unwrap_or_default();
    for seg in inner.split(|&c| c == b'*').filter(|s| !s.is_empty()) {
        match rest.windows(seg.len()).position(|w| eq_lower(w, seg)) {
            Some(at) => rest = &rest[at + seg.len()..],
            None => return false,
        }
    }
    true
}

/// The glob of [`wildcard_match`] for ASCII, over a lower-cased pattern: linear in practice,
/// one backtracking point, never exponential.
fn glob(p: &[u8], t: &[u8]) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        match (p.get(pi), t.get(ti)) {
            (Some(b'*'), _) => {
                backtrack = Some((pi, ti));
                pi += 1;
            }
            (Some(&c), Some(&x)) if c == b'?' || c == x.to_ascii_lowercase() => {
                pi += 1;
                ti += 1;
            }
            _ => match backtrack {
                Some((bp, bt)) => {
                    pi = bp + 1;
                    ti = bt + 1;
                    backtrack = Some((bp, bt + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

/// A request attribute with its ASCII-ness computed once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Text<'a> {
    s: &'a str,
    ascii: bool,
}

impl<'a> Text<'a> {
    #[inline]
    pub(crate) fn new(s: &'a str) -> Self {
        Self {
            s,
            ascii: s.is_ascii(),
        }
    }
}

/// The request attributes rules can look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "centralized-sampling"), allow(dead_code))]
pub(crate) enum Attr {
    Host,
    Method,
    UrlPath,
    ServiceName,
    ServiceType,
    ResourceArn,
}

/// A request's attributes, each scanned once, so trying many rules costs only the comparisons.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attributes<'a>([Option<Text<'a>>; 6]);

impl<'a> Attributes<'a> {
    /// Host, method and URL path: what local rules look at.
    #[inline]
    pub(crate) fn http(r: &SamplingRequest<'a>) -> Self {
        let t = |s: Option<&'a str>| s.map(Text::new);
        Self([t(r.host), t(r.method), t(r.url_path), None, None, None])
    }

    /// Everything centralized rules look at.
    #[inline]
    #[cfg_attr(not(feature = "centralized-sampling"), allow(dead_code))]
    pub(crate) fn all(r: &SamplingRequest<'a>) -> Self {
        let t = |s: Option<&'a str>| s.map(Text::new);
        Self([
            t(r.host),
            t(r.method),
            t(r.url_path),
            t(r.service_name),
            t(r.service_type),
            t(r.resource_arn),
        ])
    }
}

/// The patterns of one rule, all of which must match. Patterns that match everything are left
/// out at compile time, so a rule costs only its real comparisons.
#[derive(Debug, Clone)]
pub(crate) struct Conjunction {
    checks: Box<[Check]>,
}

#[derive(Debug, Clone)]
struct Check {
    attr: Attr,
    /// Whether a request without the attribute fails the check (the resource ARN); other
    /// absent attributes match anything, as in every official SDK.
    required: bool,
    pattern: Pattern,
}

impl Conjunction {
    /// `(attribute, pattern, required)` triples.
    pub(crate) fn new<'p>(patterns: impl IntoIterator<Item = (Attr, &'p str, bool)>) -> Self {
        let checks = patterns
            .into_iter()
            .map(|(attr, p, required)| Check {
                attr,
                required,
                pattern: Pattern::new(p),
            })
            .filter(|c| !c.pattern.is_any())
            .collect();
        Self { checks }
    }

    // A plain loop: `Iterator::all` is not inlined here and its call costs more than a check.
    #[inline(always)]
    pub(crate) fn matches(&self, attributes: &Attributes<'_>) -> bool {
        for c in &self.checks {
            let ok = match attributes.0.get(c.attr as usize).copied().flatten() {
                Some(text) => c.pattern.matches_text(text),
                None => !c.required,
            };
            if !ok {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn kinds() {
        assert_eq!(Pattern::new("*").kind, Kind::Any);
        assert_eq!(Pattern::new("***").kind, Kind::Any);
        assert_eq!(Pattern::new("").kind, Kind::Exact);
        assert_eq!(Pattern::new("GET").kind, Kind::Exact);
        assert_eq!(Pattern::new("/api/*").kind, Kind::Prefix);
        assert_eq!(Pattern::new("/api/**").kind, Kind::Prefix);
        assert_eq!(Pattern::new("*.example.com").kind, Kind::Suffix);
        assert_eq!(Pattern::new("/a?").kind, Kind::Glob);
        assert_eq!(Pattern::new("/a/*/b").kind, Kind::Stars);
        assert_eq!(Pattern::new("*a*").kind, Kind::Stars);
        assert_eq!(Pattern::new("été*").kind, Kind::Unicode);
        assert_eq!(Pattern::new("/api/**").as_str(), "/api/**");
    }

    #[test]
    fn examples() {
        assert!(Pattern::new("*.Example.com").matches("api.example.COM"));
        assert!(!Pattern::new("*.example.com").matches("example.com"));
        assert!(Pattern::new("/API/*").matches("/api/"));
        assert!(Pattern::new("get").matches("GET"));
        assert!(!Pattern::new("").matches("x"));
        assert!(Pattern::new("").matches(""));
        assert!(
            Pattern::new("k").matches("\u{212A}"),
            "Kelvin sign folds to k"
        );
        for (p, t) in [
            ("/orders/*/items", "/ORDERS/1/items"),
            ("a*b", "ab"),
            ("*a*", "xAy"),
            ("a*b*c", "abc"),
            ("a*b*b*c", "abbc"),
            ("*.example.*", "api.example.com"),
        ] {
            assert!(Pattern::new(p).matches(t), "{p} {t}");
            assert!(wildcard_match(p, t), "{p} {t}");
        }
        for (p, t) in [
            ("a*b*b*c", "abc"),
            ("/orders/*/items", "/orders/items"),
            ("a*a", "a"),
        ] {
            assert!(!Pattern::new(p).matches(t), "{p} {t}");
            assert!(!wildcard_match(p, t), "{p} {t}");
        }
    }

    #[test]
    fn conjunctions_skip_wildcards_and_treat_absent_attributes() {
        let c = Conjunction::new([
            (Attr::Host, "*", false),
            (Attr::UrlPath, "/a/*", false),
            (Attr::ResourceArn, "arn:*", true),
        ]);
        assert_eq!(c.checks.len(), 2);
        let req = SamplingRequest::new().url_path("/a/b");
        assert!(!c.matches(&Attributes::all(&req)), "the ARN is required");
        let arn = req.resource_arn("arn:x");
        assert!(c.matches(&Attributes::all(&arn)));
        let other_path = SamplingRequest::new().resource_arn("ARN:y");
        assert!(
            c.matches(&Attributes::all(&other_path)),
            "absent path matches"
        );
        assert!(!c.matches(&Attributes::all(&arn.url_path("/b"))));
        let any_arn = Conjunction::new([(Attr::ResourceArn, "*", true)]);
        assert!(
            any_arn.matches(&Attributes::http(&req)),
            "`*` matches even without an ARN"
        );
    }

    proptest! {
        #[test]
        fn agrees_with_wildcard_match(
            pattern in "[aAbB/.*?\u{e9}]{0,8}",
            text in "[aAbB/.\u{c9}\u{212A}k]{0,10}",
        ) {
            prop_assert_eq!(Pattern::new(&pattern).matches(&text), wildcard_match(&pattern, &text));
        }

        #[test]
        fn star_patterns_agree_with_wildcard_match(
            pattern in "[aAb/*]{0,10}",
            text in "[aAbB/]{0,14}",
        ) {
            prop_assert_eq!(Pattern::new(&pattern).matches(&text), wildcard_match(&pattern, &text));
        }

        #[test]
        fn ascii_globs_agree_with_wildcard_match(
            pattern in "[aAbB/*?]{0,10}",
            text in "[aAbB/]{0,14}",
        ) {
            prop_assert_eq!(Pattern::new(&pattern).matches(&text), wildcard_match(&pattern, &text));
        }
    }
}
