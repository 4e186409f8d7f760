//! Segment documents: `serde_json` deserialization of `xray_core::model::Document`, then the
//! recorder's own writer (byte-identical to serde_json) and packer (every datagram within the
//! limit, valid JSON, no entity silently lost).
#![no_main]

use libfuzzer_sys::fuzz_target;
use xray_core::fuzzing::{HEADER, pack, write_document, write_segment};
use xray_core::model::Document;

fn count(v: &serde_json::Value) -> usize {
    1 + v["subsegments"]
        .as_array()
        .map_or(0, |a| a.iter().map(count).sum())
}

fuzz_target!(|data: &[u8]| {
    // The first two bytes pick a datagram limit (256 B to 64 KB), the rest is the document.
    let Some((limit, body)) = data.split_first_chunk::<2>() else {
        return;
    };
    let limit = 256 + usize::from(u16::from_le_bytes(*limit)) % (64_000 - 256 + 1);
    let Ok(doc) = serde_json::from_slice::<Document>(body) else {
        return;
    };
    let written = write_document(&doc);
    let expected = serde_json::to_vec(&doc).expect("a document serializes");
    assert_eq!(
        String::from_utf8_lossy(&written),
        String::from_utf8_lossy(&expected),
        "the JSON writer differs from serde_json"
    );
    // Parsing back is not byte-stable for every float (serde_json's parser may be one ulp off
    // without its `float_roundtrip` feature), so the writer is compared with serde_json again.
    let again: Document = serde_json::from_slice(&written).expect("written JSON parses back");
    assert_eq!(
        write_document(&again),
        serde_json::to_vec(&again).expect("a document serializes"),
        "the JSON writer differs from serde_json after a round trip"
    );
    let _ =
        serde_json::from_slice::<serde_json::Value>(&write_segment(&doc)).expect("segment JSON");

    let total = doc.count();
    let packed = pack(doc, limit);
    let mut landed = 0;
    for (datagram, _streamed, _truncated) in &packed.datagrams {
        assert!(datagram.len() <= limit, "{} > {limit}", datagram.len());
        assert!(datagram.starts_with(HEADER));
        let v: serde_json::Value = serde_json::from_slice(&datagram[HEADER.len()..])
            .expect("every datagram is one JSON document");
        landed += count(&v);
    }
    assert!(landed <= total, "{landed} entities sent of {total}");
    if packed.oversize.is_empty() {
        assert_eq!(landed, total, "entities lost without being reported");
    }
});
