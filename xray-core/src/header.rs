//! The `X-Amzn-Trace-Id` tracing header.
//!
//! ```text
//! X-Amzn-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1
//! ```
//!
//! Parsing is forgiving in the way the official SDKs are (keys in any case, whitespace around
//! parts, parts without `=` skipped) and strict where it matters: a header without a valid `Root`
//! is "no usable header" and the caller starts a new trace. The header comes from the network, so
//! parsing never panics, rejects values longer than [`MAX_HEADER_LEN`] and keeps at most
//! [`MAX_EXTRA_LEN`] bytes of extra keys (`Lineage` and friends), which are passed on downstream
//! as they came. `Self`, which load balancers add, is dropped like every official SDK does.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::id::{SegmentId, TraceId};

/// The header name, in the lower-case form `http::HeaderName` uses.
pub const HEADER_NAME: &str = "x-amzn-trace-id";

/// The header name as an `http::HeaderName`, built at compile time (looking a header up by a
/// `&str` parses the name on every call).
pub const HEADER: http::HeaderName = http::HeaderName::from_static(HEADER_NAME);

/// The longest header value that is parsed at all. Real headers are under 200 bytes.
pub const MAX_HEADER_LEN: usize = 2048;

/// The most bytes of extra `key=value` pairs kept from an incoming header (the Node SDK and the
/// OpenTelemetry propagator use the same cap).
pub const MAX_EXTRA_LEN: usize = 256;

/// The `Sampled` field of the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Sampled {
    /// `Sampled=1`: the upstream decided to trace.
    Yes,
    /// `Sampled=0`: the upstream decided not to trace.
    No,
    /// `Sampled=?`: the upstream asks this service to decide and to report the decision in the
    /// response header.
    Requested,
}

impl Sampled {
    /// The decision as a boolean, or `None` for [`Sampled::Requested`].
    pub const fn decision(self) -> Option<bool> {
        match self {
            Sampled::Yes => Some(true),
            Sampled::No => Some(false),
            Sampled::Requested => None,
        }
    }

    const fn as_str(self) -> &'static str {
        match self {
            Sampled::Yes => "1",
            Sampled::No => "0",
            Sampled::Requested => "?",
        }
    }
}

impl From<bool> for Sampled {
    fn from(sampled: bool) -> Self {
        if sampled { Sampled::Yes } else { Sampled::No }
    }
}

/// A parsed `X-Amzn-Trace-Id` header.
///
/// # Examples
///
/// ```
/// use xray_core::header::{Sampled, TraceHeader};
///
/// let h: TraceHeader = "root=1-5759e988-bd862e3fe1be46a994272793; parent=53995c3f42cd8ad8; Sampled=?; Lineage=a87bd80c:1"
///     .parse()?;
/// assert_eq!(h.sampled(), Some(Sampled::Requested));
/// assert_eq!(h.lineage(), Some("a87bd80c:1"));
/// assert_eq!(
///     h.to_string(),
///     "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=?;Lineage=a87bd80c:1"
/// );
///
/// // No usable root: start a new trace.
/// assert!(TraceHeader::parse("Parent=53995c3f42cd8ad8").is_err());
/// # Ok::<(), xray_core::header::TraceHeaderError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TraceHeader {
    root: TraceId,
    parent: Option<SegmentId>,
    sampled: Option<Sampled>,
    /// Extra pairs as `k=v;k=v`, validated and bounded.
    extra: Option<Arc<str>>,
}

impl TraceHeader {
    /// A header that carries only a root.
    pub const fn new(root: TraceId) -> Self {
        Self {
            root,
            parent: None,
            sampled: None,
            extra: None,
        }
    }

    /// Sets `Parent`.
    #[must_use]
    pub fn with_parent(mut self, parent: SegmentId) -> Self {
        self.parent = Some(parent);
        self
    }

    /// Sets or clears `Sampled`.
    #[must_use]
    pub fn with_sampled(mut self, sampled: impl Into<Option<Sampled>>) -> Self {
        self.sampled = sampled.into();
        self
    }

    /// Replaces the extra keys with those of `other` (for example `Lineage` from a header the AWS
    /// SDK already set).
    #[must_use]
    pub fn with_extra_from(mut self, other: &TraceHeader) -> Self {
        self.extra = other.extra.clone();
        self
    }

    /// Adds an extra `key=value` pair.
    ///
    /// # Errors
    ///
    /// Fails when the key is one of the reserved keys (`Root`, `Parent`, `Sampled`, `Self`), when
    /// key or value hold characters a header cannot carry (whitespace, control characters, `;`, or
    /// `=` in the key), or when the extras would exceed [`MAX_EXTRA_LEN`].
    pub fn with_extra(mut self, key: &str, value: &str) -> Result<Self, TraceHeaderError> {
        if reserved_key(key) || !valid_key(key) || !valid_value(value) {
            return Err(TraceHeaderError::new(ErrorKind::InvalidExtra));
        }
        let current = self.extra.as_deref().unwrap_or("");
        let added = key.len() + 1 + value.len() + usize::from(!current.is_empty());
        if current.len() + added > MAX_EXTRA_LEN {
            return Err(TraceHeaderError::new(ErrorKind::ExtraTooLong));
        }
        let mut s = String::with_capacity(current.len() + added);
        s.push_str(current);
        if !current.is_empty() {
            s.push(';');
        }
        s.push_str(key);
        s.push('=');
        s.push_str(value);
        self.extra = Some(s.into());
        Ok(self)
    }

    /// The trace id (`Root`).
    pub const fn root(&self) -> TraceId {
        self.root
    }

    /// The id of the upstream segment or subsegment (`Parent`).
    pub const fn parent(&self) -> Option<SegmentId> {
        self.parent
    }

    /// The upstream sampling decision (`Sampled`), if any.
    pub const fn sampled(&self) -> Option<Sampled> {
        self.sampled
    }

    /// The extra key/value pairs in the order they came, `Lineage` included.
    pub fn extra(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.extra
            .as_deref()
            .unwrap_or("")
            .split(';')
            .filter_map(|kv| kv.split_once('='))
    }

    /// The `Lineage` value that Lambda and other AWS services use to detect loops.
    pub fn lineage(&self) -> Option<&str> {
        self.extra()
            .find(|(k, _)| k.eq_ignore_ascii_case("lineage"))
            .map(|(_, v)| v)
    }

    /// Parses a header value.
    ///
    /// # Errors
    ///
    /// Returns [`TraceHeaderError`] when the value is empty, longer than [`MAX_HEADER_LEN`], or has
    /// no valid `Root`. An invalid `Parent` or `Sampled` is ignored (the trace continues without
    /// it); extra pairs that are malformed or beyond [`MAX_EXTRA_LEN`] are dropped.
    pub fn parse(value: &str) -> Result<Self, TraceHeaderError> {
        if value.len() > MAX_HEADER_LEN {
            return Err(TraceHeaderError::new(ErrorKind::TooLong));
        }
        let mut root = None;
        let mut root_seen = false;
        let mut parent = None;
        let mut sampled = None;
        let mut extra = String::new();
        for part in value.split(';') {
            let Some((key, val)) = part.split_once('=') else {
                continue;
            };
            let (key, val) = (key.trim(), val.trim());
            if key.eq_ignore_ascii_case("root") {
                if !root_seen {
                    root_seen = true;
                    root = TraceId::parse(val).ok();
                }
            } else if key.eq_ignore_ascii_case("parent") {
                if parent.is_none() {
                    parent = SegmentId::parse(val).ok();
                }
            } else if key.eq_ignore_ascii_case("sampled") {
                if sampled.is_none() {
                    sampled = match val {
                        "1" => Some(Sampled::Yes),
                        "0" => Some(Sampled::No),
                        "?" => Some(Sampled::Requested),
                        _ => None,
                    };
                }
            } else if key.eq_ignore_ascii_case("self") {
                // Added by load balancers; not ours to propagate.
            } else if valid_key(key) && valid_value(val) {
                let added = key.len() + 1 + val.len() + usize::from(!extra.is_empty());
                if extra.len() + added <= MAX_EXTRA_LEN {
                    if !extra.is_empty() {
                        extra.push(';');
                    }
                    extra.push_str(key);
                    extra.push('=');
                    extra.push_str(val);
                }
            }
        }
        let root = match (root_seen, root) {
            (_, Some(root)) => root,
            (true, None) => return Err(TraceHeaderError::new(ErrorKind::InvalidRoot)),
            (false, None) => {
                return Err(TraceHeaderError::new(if value.trim().is_empty() {
                    ErrorKind::Empty
                } else {
                    ErrorKind::MissingRoot
                }));
            }
        };
        Ok(Self {
            root,
            parent,
            sampled,
            extra: (!extra.is_empty()).then(|| extra.into()),
        })
    }

    /// Parses the header from raw bytes, as `http::HeaderValue::as_bytes` gives them.
    ///
    /// # Errors
    ///
    /// As [`TraceHeader::parse`]; bytes that are not UTF-8 are rejected.
    pub fn parse_bytes(value: &[u8]) -> Result<Self, TraceHeaderError> {
        if value.len() > MAX_HEADER_LEN {
            return Err(TraceHeaderError::new(ErrorKind::TooLong));
        }
        let s =
            std::str::from_utf8(value).map_err(|_| TraceHeaderError::new(ErrorKind::NotUtf8))?;
        Self::parse(s)
    }

    /// Reads the header from an `http::HeaderMap`, returning `None` when it is absent or unusable.
    ///
    /// When a request carries the header more than once, the first value is used.
    pub fn from_headers(headers: &http::HeaderMap) -> Option<Self> {
        let value = headers.get(HEADER)?;
        match Self::parse_bytes(value.as_bytes()) {
            Ok(h) => Some(h),
            Err(err) => {
                tracing::debug!(target: "xray", error = %err, "ignoring X-Amzn-Trace-Id header");
                None
            }
        }
    }

    /// The header to return to the caller of an incoming request, the way the Java and Python SDKs
    /// do: always `Root`, plus `Sampled=<decision>` when the request asked with `Sampled=?`.
    pub fn for_response(root: TraceId, incoming: Option<&TraceHeader>, sampled: bool) -> Self {
        let requested = incoming.is_some_and(|h| h.sampled == Some(Sampled::Requested));
        Self {
            root,
            parent: None,
            sampled: requested.then_some(Sampled::from(sampled)),
            extra: None,
        }
    }

    /// The header as an `http::HeaderValue`.
    pub fn to_header_value(&self) -> http::HeaderValue {
        // Every part was validated to be visible ASCII, so this cannot fail; fall back to the
        // bare root rather than panic if that ever changes.
        http::HeaderValue::from_maybe_shared(bytes::Bytes::from(self.to_bytes())).unwrap_or_else(
            |_| {
                http::HeaderValue::try_from(format!("Root={}", self.root))
                    .unwrap_or(http::HeaderValue::from_static(""))
            },
        )
    }

    /// The header's text, as [`Display`](fmt::Display) writes it, for APIs that take a `String`
    /// (the AWS SDK's request headers). Cheaper than `to_string()`: no formatting machinery, one
    /// allocation of the exact size.
    pub fn to_header_string(&self) -> String {
        String::from_utf8(self.to_bytes()).unwrap_or_else(|_| self.to_string())
    }

    fn to_bytes(&self) -> Vec<u8> {
        // Written straight into a buffer of the exact size (no `fmt`, one allocation): this runs
        // for every traced request and every downstream call.
        let extra = self.extra.as_deref().unwrap_or("");
        let len = 5
            + crate::id::TRACE_ID_LEN
            + self.parent.map_or(0, |_| 8 + crate::id::SEGMENT_ID_LEN)
            + self.sampled.map_or(0, |_| 10)
            + if extra.is_empty() { 0 } else { 1 + extra.len() };
        let mut buf = Vec::with_capacity(len);
        buf.extend_from_slice(b"Root=");
        buf.extend_from_slice(&self.root.encode());
        if let Some(parent) = self.parent {
            buf.extend_from_slice(b";Parent=");
            buf.extend_from_slice(&parent.encode());
        }
        if let Some(s) = self.sampled {
            buf.extend_from_slice(b";Sampled=");
            buf.extend_from_slice(s.as_str().as_bytes());
        }
        if !extra.is_empty() {
            buf.push(b';');
            buf.extend_from_slice(extra.as_bytes());
        }
        buf
    }
}

impl fmt::Display for TraceHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let root = self.root.encode();
        f.write_str("Root=")?;
        f.write_str(std::str::from_utf8(&root).map_err(|_| fmt::Error)?)?;
        if let Some(parent) = self.parent {
            let p = parent.encode();
            f.write_str(";Parent=")?;
            f.write_str(std::str::from_utf8(&p).map_err(|_| fmt::Error)?)?;
        }
        if let Some(s) = self.sampled {
            f.write_str(";Sampled=")?;
            f.write_str(s.as_str())?;
        }
        if let Some(extra) = &self.extra {
            f.write_str(";")?;
            f.write_str(extra)?;
        }
        Ok(())
    }
}

impl fmt::Debug for TraceHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceHeader({self})")
    }
}

impl FromStr for TraceHeader {
    type Err = TraceHeaderError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn reserved_key(key: &str) -> bool {
    ["root", "parent", "sampled", "self"]
        .iter()
        .any(|r| key.eq_ignore_ascii_case(r))
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b';' && b != b'=' && b != b'"' && b != b'\\')
}

fn valid_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b';' && b != b'"' && b != b'\\')
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ErrorKind {
    Empty,
    TooLong,
    NotUtf8,
    MissingRoot,
    InvalidRoot,
    InvalidExtra,
    ExtraTooLong,
}

/// Why a trace header could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceHeaderError {
    kind: ErrorKind,
}

impl TraceHeaderError {
    const fn new(kind: ErrorKind) -> Self {
        Self { kind }
    }
}

impl fmt::Display for TraceHeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            ErrorKind::Empty => "empty trace header",
            ErrorKind::TooLong => "trace header longer than 2048 bytes",
            ErrorKind::NotUtf8 => "trace header is not UTF-8",
            ErrorKind::MissingRoot => "trace header has no Root",
            ErrorKind::InvalidRoot => "trace header has an invalid Root",
            ErrorKind::InvalidExtra => "invalid or reserved extra key/value for the trace header",
            ErrorKind::ExtraTooLong => "extra trace header data longer than 256 bytes",
        })
    }
}

impl std::error::Error for TraceHeaderError {}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = "1-5759e988-bd862e3fe1be46a994272793";

    #[test]
    fn full_header() {
        let h = TraceHeader::parse(&format!(
            "Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1;Lineage=10:1234abcd:3"
        ))
        .unwrap();
        assert_eq!(h.root().to_string(), ROOT);
        assert_eq!(h.parent().unwrap().to_string(), "53995c3f42cd8ad8");
        assert_eq!(h.sampled(), Some(Sampled::Yes));
        assert_eq!(h.lineage(), Some("10:1234abcd:3"));
        assert_eq!(
            h.to_string(),
            format!("Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1;Lineage=10:1234abcd:3")
        );
    }

    #[test]
    fn tolerant_parsing() {
        let h = TraceHeader::parse(&format!(
            "  sampled = 0 ;ROOT= {ROOT} ;junk; ;parent=53995C3F42CD8AD8; Self=1-67891233-abcdef012345678912345678; Foo=bar"
        ))
        .unwrap();
        assert_eq!(h.sampled(), Some(Sampled::No));
        assert_eq!(h.parent().unwrap().to_string(), "53995c3f42cd8ad8");
        assert_eq!(h.extra().collect::<Vec<_>>(), vec![("Foo", "bar")]);
        assert!(!h.to_string().contains("Self"));
    }

    #[test]
    fn unusable_headers() {
        for bad in [
            "",
            "   ",
            "Parent=53995c3f42cd8ad8;Sampled=1",
            "Root=garbage;Sampled=1",
            "Root=",
            "Root",
            ";;;;",
        ] {
            assert!(TraceHeader::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("Root={ROOT};X={}", "a".repeat(MAX_HEADER_LEN));
        assert!(TraceHeader::parse(&long).is_err());
        assert!(TraceHeader::parse_bytes(b"Root=\xff").is_err());
    }

    #[test]
    fn bad_parts_are_dropped_not_fatal() {
        let h = TraceHeader::parse(&format!("Root={ROOT};Parent=xyz;Sampled=yes")).unwrap();
        assert_eq!(h.parent(), None);
        assert_eq!(h.sampled(), None);
        assert_eq!(h.to_string(), format!("Root={ROOT}"));
    }

    #[test]
    fn first_root_wins() {
        let h = TraceHeader::parse(&format!(
            "Root={ROOT};Root=1-00000000-000000000000000000000000"
        ))
        .unwrap();
        assert_eq!(h.root().to_string(), ROOT);
    }

    #[test]
    fn extra_is_bounded_and_sanitized() {
        let mut v = format!("Root={ROOT}");
        for i in 0..100 {
            v.push_str(&format!(";Key{i}=value{i}"));
        }
        v.push_str(";Bad Key=x;Quote=\"x\";Ctl=\u{7}");
        let h = TraceHeader::parse(&v).unwrap();
        let extra_len: usize = h.extra().map(|(k, v)| k.len() + v.len() + 2).sum();
        assert!(extra_len <= MAX_EXTRA_LEN + 1);
        assert!(h.extra().all(|(k, _)| k.starts_with("Key")));
        assert!(h.to_header_value().to_str().is_ok());
    }

    #[test]
    fn builder_and_extras() {
        let root = TraceId::new();
        let h = TraceHeader::new(root)
            .with_parent(SegmentId::from_u64(0x1234))
            .with_sampled(Sampled::Yes)
            .with_extra("Lineage", "a87bd80c:1|68fd508a:5")
            .unwrap();
        let parsed = TraceHeader::parse(&h.to_string()).unwrap();
        assert_eq!(parsed, h);
        assert!(TraceHeader::new(root).with_extra("Root", "x").is_err());
        assert!(TraceHeader::new(root).with_extra("K", "a;b").is_err());
        assert!(
            TraceHeader::new(root)
                .with_extra("K", &"a".repeat(300))
                .is_err()
        );
    }

    #[test]
    fn response_header() {
        let root = TraceId::new();
        let asked = TraceHeader::new(root).with_sampled(Sampled::Requested);
        assert_eq!(
            TraceHeader::for_response(root, Some(&asked), true).to_string(),
            format!("Root={root};Sampled=1")
        );
        let told = TraceHeader::new(root).with_sampled(Sampled::No);
        assert_eq!(
            TraceHeader::for_response(root, Some(&told), false).to_string(),
            format!("Root={root}")
        );
        assert_eq!(
            TraceHeader::for_response(root, None, true).to_string(),
            format!("Root={root}")
        );
    }

    #[test]
    fn header_value_matches_display() {
        for text in [
            format!("Root={ROOT}"),
            format!("Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1"),
            format!("Root={ROOT};Sampled=?"),
            format!("Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=0;Lineage=a87bd80c:1;k=v"),
        ] {
            let h = TraceHeader::parse(&text).unwrap();
            let v = h.to_header_value();
            assert_eq!(v.to_str().unwrap(), text);
            assert_eq!(v.to_str().unwrap(), h.to_string());
            let s = h.to_header_string();
            assert_eq!(s, text);
            assert_eq!(
                s.capacity(),
                s.len(),
                "sized exactly: no reallocation downstream"
            );
        }
    }

    #[test]
    fn from_header_map() {
        let mut map = http::HeaderMap::new();
        assert!(TraceHeader::from_headers(&map).is_none());
        map.insert(
            "X-Amzn-Trace-Id",
            http::HeaderValue::from_static("Root=nope"),
        );
        assert!(TraceHeader::from_headers(&map).is_none());
        map.insert(
            "X-Amzn-Trace-Id",
            http::HeaderValue::from_str(&format!("Root={ROOT}")).unwrap(),
        );
        assert_eq!(
            TraceHeader::from_headers(&map).unwrap().root().to_string(),
            ROOT
        );
    }
}
