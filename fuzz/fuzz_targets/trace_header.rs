//! `X-Amzn-Trace-Id` parsing: never panics, and every accepted value survives
//! format → parse unchanged (the header we send downstream says what we understood).
#![no_main]

use libfuzzer_sys::fuzz_target;
use xray_core::TraceHeader;
use xray_core::header::{MAX_EXTRA_LEN, MAX_HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(header) = TraceHeader::parse_bytes(data) else {
        return;
    };
    assert!(data.len() <= MAX_HEADER_LEN);
    let text = header.to_string();
    let value = header.to_header_value();
    assert_eq!(
        value.as_bytes(),
        text.as_bytes(),
        "Display and to_header_value differ"
    );
    let again = TraceHeader::parse(&text)
        .unwrap_or_else(|e| panic!("formatted header {text:?} does not parse: {e}"));
    assert_eq!(again, header, "format -> parse changed {text:?}");
    assert_eq!(again.to_string(), text);

    // Extras stay bounded and cannot break out of the header syntax.
    let extra_len: usize = header.extra().map(|(k, v)| k.len() + v.len() + 2).sum();
    assert!(
        extra_len <= MAX_EXTRA_LEN + 1,
        "{extra_len} bytes of extras"
    );
    for (k, v) in header.extra() {
        assert!(!k.is_empty() && !k.contains(['=', ';', '"', '\\']));
        assert!(!v.contains([';', '"', '\\']));
        assert!(k.bytes().chain(v.bytes()).all(|b| b.is_ascii_graphic()));
    }

    // The same through a header map, as the server layer reads it.
    let mut map = http::HeaderMap::new();
    map.insert(xray_core::header::HEADER, value);
    assert_eq!(TraceHeader::from_headers(&map).as_ref(), Some(&header));

    // The response header and a downstream header built from it parse back too.
    let response = TraceHeader::for_response(header.root(), Some(&header), true);
    assert_eq!(
        TraceHeader::parse(&response.to_string()).ok(),
        Some(response)
    );
});
