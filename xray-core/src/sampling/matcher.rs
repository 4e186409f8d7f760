//! Rule patterns compiled once, so that matching a request against ten rules stays in the tens of
//! nanoseconds. Every shortcut gives the same answer as [`wildcard_match`].

use super::wildcard::wildcard_match;

/// A wildcard pattern (`*`, `?`, case-insensitive) prepared for fast matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    source: Box<str>,
    kind: Kind,
    /// The literal part of `Exact`, `Prefix` and `Suffix` patterns, as a range of `source`.
    lit: (usize, usize),
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
    /// Anything else, or non-ASCII (where case folding is not byte-wise).
    Glob,
}

impl Pattern {
    pub(crate) fn new(source: &str) -> Self {
        let wild = |c: char| c == '*' || c == '?';
        let head = source.trim_end_matches('*');
        let tail = source.trim_start_matches('*');
        let (kind, lit) = if !source.is_empty() && head.is_empty() {
            (Kind::Any, (0, 0))
        } else if !source.is_ascii() {
            (Kind::Glob, (0, 0))
        } else if !source.contains(wild) {
            (Kind::Exact, (0, source.len()))
        } else if head.len() < source.len() && !head.contains(wild) {
            (Kind::Prefix, (0, head.len()))
        } else if tail.len() < source.len() && !tail.contains(wild) {
            (Kind::Suffix, (source.len() - tail.len(), source.len()))
        } else {
            (Kind::Glob, (0, 0))
        };
        Self {
            source: source.into(),
            kind,
            lit,
        }
    }

    /// Whether the pattern matches everything.
    pub(crate) fn is_any(&self) -> bool {
        self.kind == Kind::Any
    }

    /// The pattern as written.
    #[cfg(test)]
    fn as_str(&self) -> &str {
        &self.source
    }

    #[inline]
    pub(crate) fn matches(&self, text: &str) -> bool {
        let lit = self
            .source
            .as_bytes()
            .get(self.lit.0..self.lit.1)
            .unwrap_or_default();
        let t = text.as_bytes();
        match self.kind {
            Kind::Any => true,
            // Non-ASCII text may case-fold into ASCII (the Kelvin sign is a `k`): let the general
            // matcher decide.
            _ if !text.is_ascii() => wildcard_match(&self.source, text),
            Kind::Exact => t.eq_ignore_ascii_case(lit),
            Kind::Prefix => t
                .get(..lit.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(lit)),
            Kind::Suffix => t
                .len()
                .checked_sub(lit.len())
                .is_some_and(|at| t[at..].eq_ignore_ascii_case(lit)),
            Kind::Glob => wildcard_match(&self.source, text),
        }
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
        assert_eq!(Pattern::new("/a/*/b").kind, Kind::Glob);
        assert_eq!(Pattern::new("/a?").kind, Kind::Glob);
        assert_eq!(Pattern::new("été*").kind, Kind::Glob);
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
    }

    proptest! {
        #[test]
        fn agrees_with_wildcard_match(
            pattern in "[aAbB/.*?\u{e9}]{0,8}",
            text in "[aAbB/.\u{c9}\u{212A}k]{0,10}",
        ) {
            prop_assert_eq!(Pattern::new(&pattern).matches(&text), wildcard_match(&pattern, &text));
        }
    }
}
