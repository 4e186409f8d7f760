//! Serializing documents into datagrams that fit.
//!
//! The common case serializes once into a reused thread-local buffer. A document over the limit
//! first sheds subsegments (largest first) as independent documents, as the spec's streaming
//! does; a single entity that still does not fit loses its biggest metadata entries, then long
//! strings, and says so in `metadata.xray.truncated`. Whatever cannot be made to fit is reported
//! to the sink as oversize, never sent cut in half.

use std::cell::Cell;

use serde::Serialize;
use serde_json::value::RawValue;

use super::json::SegmentDefaults;
use super::{DAEMON_HEADER, Datagram};
use crate::id::TraceId;
use crate::model::{AnnotationValue, Cause, Document, DocumentKind};

/// Where packed datagrams go.
pub(crate) trait Sink {
    /// A datagram that fits. `streamed`: it is a subsegment split out of its parent;
    /// `truncated`: data was removed to make it fit.
    fn datagram(&mut self, datagram: Datagram<'_>, streamed: bool, truncated: bool);
    /// A document that could not be made to fit and was dropped.
    fn oversize(&mut self, name: &str, bytes: usize, streamed: bool);
}

thread_local! {
    static BUFFER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Buffers above this size are not kept for reuse, so one huge document does not pin memory.
const KEEP_BUFFER_BYTES: usize = 128 * 1024;
const MAX_DEPTH: usize = 64;
const CUT_STRING_BYTES: usize = 1024;

/// Serializes `doc` and hands the datagram(s) to `sink`, splitting and truncating to `limit`.
/// Independent subsegments (`type: "subsegment"`) count as streamed.
///
/// Segments (documents with a trace id that are not independent subsegments) get the recorder's
/// `defaults` merged into their `aws` block as they are written.
pub(crate) fn pack(doc: Document, limit: usize, defaults: &SegmentDefaults, sink: &mut dyn Sink) {
    let mut buf = BUFFER.try_with(Cell::take).unwrap_or_default();
    // Subsegments streamed out of a live segment arrive here already independent.
    let streamed = doc.kind.is_some();
    let ctx = Ctx {
        trace_id: doc.trace_id,
        limit,
        defaults,
    };
    pack_one(doc, &ctx, streamed, false, sink, &mut buf, 0);
    if buf.capacity() <= KEEP_BUFFER_BYTES {
        buf.clear();
        let _ = BUFFER.try_with(|b| b.set(buf));
    }
}

struct Ctx<'a> {
    trace_id: Option<TraceId>,
    limit: usize,
    defaults: &'a SegmentDefaults,
}

impl Ctx<'_> {
    /// Writes `doc` as it will be sent: a segment with the defaults, anything else as it is.
    fn write(&self, buf: &mut Vec<u8>, doc: &Document) {
        if doc.kind.is_none() && doc.trace_id.is_some() {
            super::json::write_segment(buf, doc, self.defaults);
        } else {
            super::json::write_document(buf, doc);
        }
    }

    fn len(&self, doc: &Document) -> usize {
        let mut scratch = Vec::new();
        self.write(&mut scratch, doc);
        scratch.len()
    }
}

fn serialize_into(buf: &mut Vec<u8>, doc: &Document, ctx: &Ctx<'_>) {
    buf.clear();
    buf.extend_from_slice(DAEMON_HEADER);
    ctx.write(buf, doc);
}

fn pack_one(
    mut doc: Document,
    ctx: &Ctx<'_>,
    streamed: bool,
    mut truncated: bool,
    sink: &mut dyn Sink,
    buf: &mut Vec<u8>,
    depth: usize,
) {
    let limit = ctx.limit;
    serialize_into(buf, &doc, ctx);
    if buf.len() <= limit {
        sink.datagram(Datagram::new(buf), streamed, truncated);
        return;
    }
    let original = buf.len();
    if !doc.subsegments.is_empty() && depth < MAX_DEPTH {
        let children = std::mem::take(&mut doc.subsegments);
        // When its own data alone cannot fit (a huge metadata payload), the parent is truncated
        // first, so the children it can still hold stay embedded rather than all being sent on
        // their own.
        let own = DAEMON_HEADER.len() + ctx.len(&doc);
        if !truncated && own + 20 > limit {
            let removed = truncate(&mut doc, ctx);
            if !removed.is_empty() {
                mark_truncated(&mut doc, own, &removed);
                truncated = true;
            }
        }
        let sizes: Vec<usize> = children.iter().map(|c| ctx.len(c)).collect();
        // What the parent costs without children, with room for `,"subsegments":[]`.
        let base = DAEMON_HEADER.len() + ctx.len(&doc) + 20;
        let mut budget = limit.saturating_sub(base);
        let mut order: Vec<usize> = (0..children.len()).collect();
        order.sort_by_key(|&i| sizes[i]);
        let mut keep = vec![false; children.len()];
        for i in order {
            if sizes[i] < budget {
                budget -= sizes[i] + 1;
                keep[i] = true;
            }
        }
        let parent_id = doc.id;
        for (child, kept) in children.into_iter().zip(keep) {
            if kept {
                doc.subsegments.push(child);
            } else {
                let mut child = child;
                child.kind = Some(DocumentKind::Subsegment);
                child.trace_id = ctx.trace_id;
                child.parent_id = Some(parent_id);
                pack_one(child, ctx, true, false, sink, buf, depth + 1);
            }
        }
        pack_one(doc, ctx, streamed, truncated, sink, buf, depth + 1);
        return;
    }
    let removed = if truncated {
        Vec::new()
    } else {
        truncate(&mut doc, ctx)
    };
    if !removed.is_empty() {
        mark_truncated(&mut doc, original, &removed);
        serialize_into(buf, &doc, ctx);
        if buf.len() <= limit {
            sink.datagram(Datagram::new(buf), streamed, true);
            return;
        }
    }
    sink.oversize(&doc.name, original, streamed);
}

/// Removes data from `doc` (which has no subsegments left) until it fits, biggest metadata first.
/// Returns what was removed.
fn truncate(doc: &mut Document, ctx: &Ctx<'_>) -> Vec<String> {
    let mut removed = Vec::new();
    // Room for the truncation note itself.
    let target = ctx.limit.saturating_sub(DAEMON_HEADER.len() + 400);
    let fits = |doc: &Document| ctx.len(doc) <= target;

    let mut entries: Vec<(usize, String, String)> = doc
        .metadata
        .iter()
        .flat_map(|(ns, kv)| {
            kv.iter()
                .map(move |(k, v)| (v.get().len() + k.len(), ns.clone(), k.clone()))
        })
        .collect();
    entries.sort_by_key(|e| std::cmp::Reverse(e.0));
    for (_, ns, key) in entries {
        if fits(doc) {
            return removed;
        }
        if let Some(kv) = doc.metadata.get_mut(&ns) {
            kv.remove(&key);
            if kv.is_empty() {
                doc.metadata.remove(&ns);
            }
        }
        removed.push(format!("metadata.{ns}.{key}"));
    }
    if fits(doc) {
        return removed;
    }
    if let Some(sql) = &mut doc.sql
        && let Some(query) = &sql.sanitized_query
        && query.len() > CUT_STRING_BYTES
    {
        let mut text = query.to_string();
        crate::model::cause::truncate_utf8(&mut text, CUT_STRING_BYTES);
        text.push_str("...");
        sql.sanitized_query = Some(text.into());
        removed.push("sql.sanitized_query".into());
    }
    if let Some(Cause::Details(c)) = &mut doc.cause {
        let mut any = false;
        for e in &mut c.exceptions {
            any |= !e.stack.is_empty();
            e.stack.clear();
            any |= cut(&mut e.message);
        }
        if any {
            removed.push("cause.exceptions.stack".into());
        }
    }
    let mut cut_annotations = false;
    for v in doc.annotations.values_mut() {
        if let AnnotationValue::String(s) = v
            && s.len() > 256
        {
            crate::model::cause::truncate_utf8(s, 256);
            cut_annotations = true;
        }
    }
    if cut_annotations {
        removed.push("annotations".into());
    }
    if doc.aws.as_ref().is_some_and(|a| !a.extra.is_empty()) && !fits(doc) {
        if let Some(aws) = &mut doc.aws {
            aws.extra.clear();
        }
        removed.push("aws.parameters".into());
    }
    if !doc.extra.is_empty() && !fits(doc) {
        doc.extra.clear();
        removed.push("extra fields".into());
    }
    removed.dedup();
    removed
}

fn cut(s: &mut Option<String>) -> bool {
    match s {
        Some(s) if s.len() > CUT_STRING_BYTES => {
            crate::model::cause::truncate_utf8(s, CUT_STRING_BYTES);
            s.push_str("...");
            true
        }
        _ => false,
    }
}

#[derive(Serialize)]
struct TruncationNote<'a> {
    original_bytes: usize,
    removed: &'a [String],
}

fn mark_truncated(doc: &mut Document, original: usize, removed: &[String]) {
    let removed = &removed[..removed.len().min(10)];
    let note = TruncationNote {
        original_bytes: original,
        removed,
    };
    if let Ok(raw) = serde_json::to_string(&note).and_then(RawValue::from_string) {
        doc.metadata
            .entry("xray".into())
            .or_default()
            .insert("truncated".into(), raw);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::SegmentId;
    use crate::model::Timestamp;

    #[derive(Default)]
    struct Collect {
        docs: Vec<(serde_json::Value, bool, bool, usize)>,
        oversize: Vec<String>,
    }

    impl Sink for Collect {
        fn datagram(&mut self, d: Datagram<'_>, streamed: bool, truncated: bool) {
            assert!(d.bytes().starts_with(DAEMON_HEADER));
            let v = serde_json::from_slice(d.document()).unwrap();
            self.docs.push((v, streamed, truncated, d.bytes().len()));
        }
        fn oversize(&mut self, name: &str, _bytes: usize, _streamed: bool) {
            self.oversize.push(name.to_owned());
        }
    }

    fn doc(name: &str) -> Document {
        Document::new(
            name,
            SegmentId::new(),
            Timestamp::from_micros(1_700_000_000_000_000),
        )
    }

    fn with_payload(name: &str, bytes: usize) -> Document {
        let mut d = doc(name);
        d.metadata.entry("default".into()).or_default().insert(
            "payload".into(),
            RawValue::from_string(serde_json::to_string(&"x".repeat(bytes)).unwrap()).unwrap(),
        );
        d
    }

    #[test]
    fn small_document_is_one_datagram() {
        let mut sink = Collect::default();
        pack(doc("a"), 64_000, &SegmentDefaults::default(), &mut sink);
        assert_eq!(sink.docs.len(), 1);
        assert!(!sink.docs[0].1 && !sink.docs[0].2);
    }

    #[test]
    fn big_children_are_split_out() {
        let mut root = doc("root");
        root.trace_id = Some(TraceId::new());
        for i in 0..10 {
            root.subsegments
                .push(with_payload(&format!("child{i}"), 20_000));
        }
        let root_id = root.id;
        let mut sink = Collect::default();
        pack(root, 64_000, &SegmentDefaults::default(), &mut sink);
        assert!(sink.oversize.is_empty());
        assert_eq!(sink.docs.iter().map(|d| count(&d.0)).sum::<usize>(), 11);
        for (v, streamed, _, len) in &sink.docs {
            assert!(*len <= 64_000);
            if *streamed {
                assert_eq!(v["type"], "subsegment");
                assert_eq!(v["parent_id"], root_id.to_string());
                assert!(v["trace_id"].is_string());
            }
        }
    }

    fn count(v: &serde_json::Value) -> usize {
        1 + v["subsegments"]
            .as_array()
            .map_or(0, |a| a.iter().map(count).sum())
    }

    #[test]
    fn oversized_leaf_is_truncated_and_marked() {
        let mut d = with_payload("big", 200_000);
        d.annotations.insert("k".into(), "v".into());
        let mut sink = Collect::default();
        pack(d, 64_000, &SegmentDefaults::default(), &mut sink);
        assert_eq!(sink.docs.len(), 1);
        let (v, _, truncated, len) = &sink.docs[0];
        assert!(*truncated && *len <= 64_000);
        assert_eq!(
            v["metadata"]["xray"]["truncated"]["removed"][0],
            "metadata.default.payload"
        );
        assert_eq!(v["annotations"]["k"], "v");
    }

    #[test]
    fn huge_parent_payload_is_truncated_before_children_are_split_out() {
        let mut root = with_payload("root", 200_000);
        root.trace_id = Some(TraceId::new());
        for i in 0..25 {
            root.subsegments.push(doc(&format!("child{i}")));
        }
        let mut sink = Collect::default();
        pack(root, 64_000, &SegmentDefaults::default(), &mut sink);
        assert_eq!(sink.docs.len(), 1, "the small children stay embedded");
        let (v, streamed, truncated, len) = &sink.docs[0];
        assert!(!*streamed && *truncated && *len <= 64_000);
        assert_eq!(v["subsegments"].as_array().unwrap().len(), 25);
        assert_eq!(
            v["metadata"]["xray"]["truncated"]["removed"][0],
            "metadata.default.payload"
        );
    }

    #[test]
    fn hopeless_document_is_reported() {
        let mut d = doc("hopeless");
        d.name = "n".repeat(100_000);
        let mut sink = Collect::default();
        pack(d, 64_000, &SegmentDefaults::default(), &mut sink);
        assert!(sink.docs.is_empty());
        assert_eq!(sink.oversize.len(), 1);
    }

    #[test]
    fn nested_big_grandchildren() {
        let mut root = doc("root");
        root.trace_id = Some(TraceId::new());
        let mut mid = doc("mid");
        for i in 0..5 {
            mid.subsegments
                .push(with_payload(&format!("leaf{i}"), 30_000));
        }
        root.subsegments.push(mid);
        let mut sink = Collect::default();
        pack(root, 64_000, &SegmentDefaults::default(), &mut sink);
        assert!(sink.oversize.is_empty());
        assert_eq!(sink.docs.iter().map(|d| count(&d.0)).sum::<usize>(), 7);
        assert!(sink.docs.iter().all(|d| d.3 <= 64_000));
    }
}
