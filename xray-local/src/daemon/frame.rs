//! The daemon protocol's framing, checked exactly as the official daemon checks it.
//!
//! The official daemon splits a datagram at its first `\n`, rejects it when nothing follows,
//! and decodes the header line into `{format: string, version: int}` with Go's `encoding/json`
//! (field names matched case-insensitively, errors ignored, so a header that is not JSON
//! decodes to nothing). The header is valid when `format` equals `json` ignoring case and
//! `version` is the integer 1. The document itself is forwarded as it is, unparsed: X-Ray
//! reports bad documents per document in `UnprocessedTraceSegments`.
//!
//! One difference: the AWS SDK for Rust carries documents as `String`s, so a document that is
//! not UTF-8 is rejected here ([`DatagramRejectKind::NotUtf8`]) where the Go daemon would send
//! the bytes on.

use serde_json::Value;

use super::metrics::DatagramRejectKind;

/// Returns the document of a datagram the official daemon would accept.
pub(crate) fn document(datagram: &[u8]) -> Result<&str, DatagramRejectKind> {
    let Some(newline) = datagram.iter().position(|&b| b == b'\n') else {
        return Err(DatagramRejectKind::MissingHeaderOrDocument);
    };
    let (header, body) = (&datagram[..newline], &datagram[newline + 1..]);
    if body.is_empty() {
        return Err(DatagramRejectKind::MissingHeaderOrDocument);
    }
    if !header_is_valid(header) {
        return Err(DatagramRejectKind::InvalidHeader);
    }
    std::str::from_utf8(body).map_err(|_| DatagramRejectKind::NotUtf8)
}

fn header_is_valid(header: &[u8]) -> bool {
    // The fast path: the header every SDK writes.
    if header == br#"{"format": "json", "version": 1}"#
        || header == br#"{"format":"json","version":1}"#
    {
        return true;
    }
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(header) else {
        return false;
    };
    // Go matches keys case-insensitively and, for duplicates, the last one wins; a value of the
    // wrong type leaves the field at its zero value ("" and 0), which is invalid either way.
    let mut format_ok = false;
    let mut version_ok = false;
    for (key, value) in &fields {
        if key.eq_ignore_ascii_case("format") {
            format_ok = value
                .as_str()
                .is_some_and(|f| f.eq_ignore_ascii_case("json"));
        } else if key.eq_ignore_ascii_case("version") {
            version_ok = is_go_int_one(value);
        }
    }
    format_ok && version_ok
}

/// Go decodes a JSON number into an `int` only when it is written as an integer: `1` passes,
/// `1.0` and `1e0` fail (and leave the field 0).
fn is_go_int_one(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.as_i64() == Some(1) && !n.to_string().contains(['.', 'e', 'E']),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_the_official_daemon_accepts() {
        let doc = r#"{"name":"a"}"#;
        for header in [
            r#"{"format": "json", "version": 1}"#,
            r#"{"format":"JSON","version":1}"#,
            r#"{"Format":"json","VERSION":1,"extra":true}"#,
            r#"  {"version":1,"format":"Json"}  "#,
        ] {
            let datagram = format!("{header}\n{doc}");
            assert_eq!(document(datagram.as_bytes()), Ok(doc), "{header}");
        }
        // The body goes on as it is, even when it is not JSON: X-Ray judges documents.
        assert_eq!(
            document(b"{\"format\":\"json\",\"version\":1}\nnot json"),
            Ok("not json")
        );
        assert_eq!(
            document(b"{\"format\":\"json\",\"version\":1}\n{\n}\n"),
            Ok("{\n}\n")
        );
    }

    #[test]
    fn rejects_what_the_official_daemon_rejects() {
        use DatagramRejectKind::*;
        let cases: [(&[u8], DatagramRejectKind); 12] = [
            (b"", MissingHeaderOrDocument),
            (br#"{"name":"a"}"#, MissingHeaderOrDocument),
            (
                b"{\"format\":\"json\",\"version\":1}\n",
                MissingHeaderOrDocument,
            ),
            (
                b"{\"format\":\"json\",\"version\":1}",
                MissingHeaderOrDocument,
            ),
            (b"{\"format\":\"json\",\"version\":2}\n{}", InvalidHeader),
            (b"{\"format\":\"json\",\"version\":1.0}\n{}", InvalidHeader),
            (
                b"{\"format\":\"json\",\"version\":\"1\"}\n{}",
                InvalidHeader,
            ),
            (b"{\"format\":\"xml\",\"version\":1}\n{}", InvalidHeader),
            (b"{\"version\":1}\n{}", InvalidHeader),
            (
                b"{\"format\":\"json\",\"version\":1} trailing\n{}",
                InvalidHeader,
            ),
            (b"{\n\"name\":\"pretty\"}", InvalidHeader),
            (b"{\"format\":\"json\",\"version\":1}\n\xff\xfe", NotUtf8),
        ];
        for (datagram, kind) in cases {
            assert_eq!(
                document(datagram),
                Err(kind),
                "{:?}",
                String::from_utf8_lossy(datagram)
            );
        }
    }
}
