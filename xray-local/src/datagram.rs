//! The daemon's UDP framing: a header line, one `\n`, one JSON document per datagram.
//!
//! The rules are the X-Ray daemon's: the datagram is split at the *first* newline only (the
//! document may itself be pretty-printed), and the header is valid when its `format` is `"json"`
//! (any case) and its `version` is the integer `1`. Anything else is rejected with a
//! [`RejectKind`] and counted; it never stops the receiver.

use std::fmt;
use std::net::SocketAddr;

use serde::Serialize;
use serde_json::Value;

use crate::document::{self, Parsed};

/// The largest datagram accepted by default: the daemon's 64 KiB receive buffer.
pub const DEFAULT_MAX_DATAGRAM_BYTES: usize = 64 * 1024;

/// Why a datagram was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RejectKind {
    /// The datagram is not valid UTF-8.
    NotUtf8,
    /// No header line: no newline, or the first line is not a `{"format": ..., "version": ...}`
    /// object (for example a bare JSON document).
    MissingHeader,
    /// A header line whose `format` is not `json` or whose `version` is not `1`.
    BadHeader,
    /// A valid header line with nothing after it.
    EmptyBody,
    /// The document ends before the JSON is complete, e.g. a datagram cut short.
    TruncatedJson,
    /// The document is not JSON (garbage, trailing data after the document, ...).
    MalformedJson,
    /// Valid JSON that is not a usable segment document: no `name`, `id` or `start_time`, an id
    /// that is not 16 hex digits, no `trace_id`, or an independent subsegment without
    /// `parent_id`.
    InvalidDocument,
    /// Larger than the receiver's limit (by default the daemon's 64 KiB).
    Oversized,
}

impl RejectKind {
    /// Every kind, in the order reports list them.
    pub const ALL: [RejectKind; 8] = [
        RejectKind::NotUtf8,
        RejectKind::MissingHeader,
        RejectKind::BadHeader,
        RejectKind::EmptyBody,
        RejectKind::TruncatedJson,
        RejectKind::MalformedJson,
        RejectKind::InvalidDocument,
        RejectKind::Oversized,
    ];

    /// The stable snake_case name used in JSON output, e.g. `truncated_json`.
    pub const fn as_str(self) -> &'static str {
        match self {
            RejectKind::NotUtf8 => "not_utf8",
            RejectKind::MissingHeader => "missing_header",
            RejectKind::BadHeader => "bad_header",
            RejectKind::EmptyBody => "empty_body",
            RejectKind::TruncatedJson => "truncated_json",
            RejectKind::MalformedJson => "malformed_json",
            RejectKind::InvalidDocument => "invalid_document",
            RejectKind::Oversized => "oversized",
        }
    }
}

impl fmt::Display for RejectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RejectKind::NotUtf8 => "not UTF-8",
            RejectKind::MissingHeader => "missing header line",
            RejectKind::BadHeader => "bad header line",
            RejectKind::EmptyBody => "empty document",
            RejectKind::TruncatedJson => "truncated JSON",
            RejectKind::MalformedJson => "malformed JSON",
            RejectKind::InvalidDocument => "not a segment document",
            RejectKind::Oversized => "oversized datagram",
        })
    }
}

/// A datagram the receiver did not use, as reported by
/// [`Event::Rejected`](crate::Event::Rejected).
#[derive(Debug, Clone, Serialize)]
pub struct Rejection {
    kind: RejectKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    peer: Option<SocketAddr>,
    bytes: usize,
    detail: String,
}

impl Rejection {
    pub(crate) fn new(kind: RejectKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            peer: None,
            bytes: 0,
            detail: detail.into(),
        }
    }

    pub(crate) fn with_peer(mut self, peer: Option<SocketAddr>, bytes: usize) -> Self {
        self.peer = peer;
        self.bytes = bytes;
        self
    }

    /// Why the datagram was rejected.
    pub fn kind(&self) -> RejectKind {
        self.kind
    }

    /// Who sent it.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// The datagram's size in bytes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// A short explanation (a parser message, never the datagram's content).
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if let Some(peer) = self.peer {
            write!(f, " from {peer}")?;
        }
        write!(f, " ({} bytes)", self.bytes)?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// Checks the framing of one datagram and parses its document.
pub(crate) fn parse(datagram: &[u8], max_bytes: usize) -> Result<Parsed, Rejection> {
    if datagram.len() > max_bytes {
        return Err(Rejection::new(
            RejectKind::Oversized,
            format!("limit is {max_bytes} bytes"),
        ));
    }
    let text = std::str::from_utf8(datagram).map_err(|e| {
        Rejection::new(
            RejectKind::NotUtf8,
            format!("invalid byte at offset {}", e.valid_up_to()),
        )
    })?;
    let Some((header, body)) = text.split_once('\n') else {
        return Err(Rejection::new(
            RejectKind::MissingHeader,
            "no newline after a header line",
        ));
    };
    check_header(header)?;
    let body = body.trim();
    if body.is_empty() {
        return Err(Rejection::new(
            RejectKind::EmptyBody,
            "nothing after the header",
        ));
    }
    document::parse(body.as_bytes())
}

fn check_header(line: &str) -> Result<(), Rejection> {
    let missing = || {
        Rejection::new(
            RejectKind::MissingHeader,
            "the first line is not a {\"format\": \"json\", \"version\": 1} header",
        )
    };
    let Ok(Value::Object(header)) = serde_json::from_str::<Value>(line) else {
        return Err(missing());
    };
    if !header.contains_key("format") && !header.contains_key("version") {
        return Err(missing());
    }
    let format_ok = header
        .get("format")
        .and_then(Value::as_str)
        .is_some_and(|f| f.eq_ignore_ascii_case("json"));
    // The daemon decodes `version` into an integer: `1.0` or `"1"` do not pass.
    let version_ok = header.get("version").and_then(Value::as_u64) == Some(1);
    if format_ok && version_ok {
        Ok(())
    } else {
        let format = header.get("format").map_or("none".into(), Value::to_string);
        let version = header
            .get("version")
            .map_or("none".into(), Value::to_string);
        Err(Rejection::new(
            RejectKind::BadHeader,
            format!(
                "format {} and version {} (expected \"json\" and 1)",
                cut(&format),
                cut(&version)
            ),
        ))
    }
}

/// Keeps details short: they end up in terminal output.
fn cut(s: &str) -> &str {
    match s.char_indices().nth(24) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"name":"a","id":"53995c3f42cd8ad8","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1,"end_time":2}"#;

    fn kind(datagram: &[u8]) -> Option<RejectKind> {
        parse(datagram, DEFAULT_MAX_DATAGRAM_BYTES)
            .err()
            .map(|r| r.kind())
    }

    #[test]
    fn both_header_spellings_and_pretty_documents() {
        for header in [
            "{\"format\": \"json\", \"version\": 1}",
            "{\"format\":\"json\",\"version\":1}",
            "{\"format\":\"JSON\",\"version\":1}",
            "{\"version\":1,\"format\":\"Json\"}\r",
        ] {
            let pretty = DOC.replace(',', ",\n  ");
            for body in [DOC.to_owned(), pretty] {
                let datagram = format!("{header}\n{body}");
                let parsed = parse(datagram.as_bytes(), 70_000).expect(&datagram);
                assert_eq!(parsed.doc.name, "a");
            }
        }
    }

    #[test]
    fn classifies_bad_framing() {
        assert_eq!(kind(DOC.as_bytes()), Some(RejectKind::MissingHeader));
        assert_eq!(
            kind(format!("{DOC}\n{DOC}").as_bytes()),
            Some(RejectKind::MissingHeader)
        );
        assert_eq!(kind(b"hello\nworld"), Some(RejectKind::MissingHeader));
        assert_eq!(
            kind(format!("{{\"format\":\"xml\",\"version\":1}}\n{DOC}").as_bytes()),
            Some(RejectKind::BadHeader)
        );
        assert_eq!(
            kind(format!("{{\"format\":\"json\",\"version\":2}}\n{DOC}").as_bytes()),
            Some(RejectKind::BadHeader)
        );
        assert_eq!(
            kind(format!("{{\"format\":\"json\",\"version\":1.0}}\n{DOC}").as_bytes()),
            Some(RejectKind::BadHeader)
        );
        assert_eq!(
            kind(b"{\"format\":\"json\",\"version\":1}\n  \n"),
            Some(RejectKind::EmptyBody)
        );
        assert_eq!(
            kind(b"{\"format\":\"json\",\"version\":1}\n{\"name\":\xff}"),
            Some(RejectKind::NotUtf8)
        );
    }

    #[test]
    fn classifies_bad_documents() {
        let h = "{\"format\": \"json\", \"version\": 1}\n";
        let truncated = format!("{h}{}", &DOC[..DOC.len() / 2]);
        assert_eq!(kind(truncated.as_bytes()), Some(RejectKind::TruncatedJson));
        let garbage = format!("{h}not json at all");
        assert_eq!(kind(garbage.as_bytes()), Some(RejectKind::MalformedJson));
        let two = format!("{h}{DOC}{DOC}");
        assert_eq!(kind(two.as_bytes()), Some(RejectKind::MalformedJson));
        let no_id = format!(
            "{h}{{\"name\":\"a\",\"trace_id\":\"1-581cf771-a006649127e371903a2de979\",\"start_time\":1}}"
        );
        assert_eq!(kind(no_id.as_bytes()), Some(RejectKind::InvalidDocument));
        let array = format!("{h}[1,2]");
        assert_eq!(kind(array.as_bytes()), Some(RejectKind::InvalidDocument));
    }

    #[test]
    fn oversized_is_checked_first() {
        let datagram = format!("{{\"format\":\"json\",\"version\":1}}\n{DOC}");
        let err = parse(datagram.as_bytes(), 50).unwrap_err();
        assert_eq!(err.kind(), RejectKind::Oversized);
        assert!(parse(datagram.as_bytes(), datagram.len()).is_ok());
    }
}
