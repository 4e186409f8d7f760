//! Assembled traces: every segment and subsegment of one trace id, as one tree.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::ser::{Serialize, SerializeStruct, Serializer};
use xray_core::model::{AnnotationValue, Document, Namespace, Timestamp};
use xray_core::{SegmentId, TraceId};

use crate::render::{self, Style};

/// Whether an entity is a segment (the work of one service) or a subsegment (a piece of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EntityKind {
    /// A segment: one service handling one request.
    Segment,
    /// A subsegment, whether it arrived embedded in its parent or as an independent document.
    Subsegment,
}

/// One segment or subsegment in an assembled [`Trace`], with its children.
///
/// Children are the subsegments under it, wherever they arrived (embedded, or streamed as
/// independent documents), and the segments of downstream services whose `parent_id` is this
/// entity (a downstream call's subsegment has the called service's segment as a child). They
/// are sorted by start time.
#[derive(Debug, Clone)]
pub struct TraceNode {
    pub(crate) document: Document,
    pub(crate) kind: EntityKind,
    pub(crate) children: Vec<TraceNode>,
}

impl TraceNode {
    /// The entity's document as received, with its `subsegments` moved to
    /// [`children`](Self::children) (so the list is empty here).
    pub fn document(&self) -> &Document {
        &self.document
    }

    /// The segment name (the service) or subsegment name (for a downstream call, the called
    /// service, host or database).
    pub fn name(&self) -> &str {
        &self.document.name
    }

    /// The entity's id.
    pub fn id(&self) -> SegmentId {
        self.document.id
    }

    /// Segment or subsegment.
    pub fn kind(&self) -> EntityKind {
        self.kind
    }

    /// Whether this is a segment.
    pub fn is_segment(&self) -> bool {
        self.kind == EntityKind::Segment
    }

    /// The entities under this one, by start time.
    pub fn children(&self) -> &[TraceNode] {
        &self.children
    }

    /// When the work started.
    pub fn start_time(&self) -> Timestamp {
        self.document.start_time
    }

    /// When the work ended, unless the entity is still in progress.
    pub fn end_time(&self) -> Option<Timestamp> {
        self.document.end_time
    }

    /// How long the work took, unless the entity is still in progress.
    pub fn duration(&self) -> Option<Duration> {
        self.end_time()
            .map(|end| end.duration_since(self.start_time()))
    }

    /// Whether only an in-progress version of this entity has arrived.
    pub fn is_in_progress(&self) -> bool {
        self.document.in_progress || self.document.end_time.is_none()
    }

    /// A client error (4xx).
    pub fn error(&self) -> bool {
        self.document.error
    }

    /// A server error (5xx) or an exception.
    pub fn fault(&self) -> bool {
        self.document.fault
    }

    /// Throttled (429).
    pub fn throttle(&self) -> bool {
        self.document.throttle
    }

    /// The subsegment namespace: `aws`, `remote` or `local`.
    pub fn namespace(&self) -> Option<Namespace> {
        self.document.namespace
    }

    /// The HTTP response status, if recorded.
    pub fn http_status(&self) -> Option<u16> {
        self.document.http.as_ref()?.response.as_ref()?.status
    }

    /// The HTTP request method, if recorded.
    pub fn http_method(&self) -> Option<&str> {
        self.document
            .http
            .as_ref()?
            .request
            .as_ref()?
            .method
            .as_deref()
    }

    /// The HTTP request URL (scheme, host and path), if recorded.
    pub fn http_url(&self) -> Option<&str> {
        self.document
            .http
            .as_ref()?
            .request
            .as_ref()?
            .url
            .as_deref()
    }

    /// The annotations.
    pub fn annotations(&self) -> &BTreeMap<String, AnnotationValue> {
        &self.document.annotations
    }

    /// This entity and every entity under it, parents first.
    pub fn iter(&self) -> Nodes<'_> {
        Nodes {
            stack: vec![(self, 0)],
        }
    }

    fn count(&self) -> usize {
        self.iter().count()
    }
}

/// Iterates over trace nodes parents first, yielding each node with its depth (0 for the
/// starting nodes). Made by [`TraceNode::iter`] and [`Trace::iter`].
#[derive(Debug, Clone)]
pub struct Nodes<'a> {
    stack: Vec<(&'a TraceNode, usize)>,
}

impl<'a> Nodes<'a> {
    /// Yields `(node, depth)` pairs instead of nodes.
    pub fn with_depth(self) -> impl Iterator<Item = (&'a TraceNode, usize)> {
        NodesWithDepth(self)
    }

    fn next_with_depth(&mut self) -> Option<(&'a TraceNode, usize)> {
        let (node, depth) = self.stack.pop()?;
        self.stack
            .extend(node.children.iter().rev().map(|c| (c, depth + 1)));
        Some((node, depth))
    }
}

impl<'a> Iterator for Nodes<'a> {
    type Item = &'a TraceNode;
    fn next(&mut self) -> Option<&'a TraceNode> {
        self.next_with_depth().map(|(n, _)| n)
    }
}

struct NodesWithDepth<'a>(Nodes<'a>);

impl<'a> Iterator for NodesWithDepth<'a> {
    type Item = (&'a TraceNode, usize);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next_with_depth()
    }
}

/// Every document received for one trace id, assembled into trees.
///
/// - [`roots`](Self::roots): segments whose parent is not in the trace (the entry service, or a
///   service whose caller is not instrumented or did not send to this receiver), each with its
///   subsegments and the downstream segments it called.
/// - [`orphans`](Self::orphans): subsegments whose parent has not arrived (yet).
///
/// A trace is *complete* when every entity has ended, every subsegment's parent and every
/// segment's upstream caller is present; it is *finished* once the receiver stopped waiting for
/// more (see [`ReceiverBuilder::quiet_period`](crate::ReceiverBuilder::quiet_period)).
///
/// [`Display`](fmt::Display) renders the indented timeline without color; see
/// [`render`](Self::render). Serializing gives the JSON described in the [crate
/// docs](crate#json-output).
#[derive(Debug, Clone)]
pub struct Trace {
    pub(crate) trace_id: TraceId,
    pub(crate) roots: Vec<TraceNode>,
    pub(crate) orphans: Vec<TraceNode>,
    pub(crate) documents: u64,
    pub(crate) complete: bool,
    pub(crate) finished: bool,
}

impl Trace {
    /// The trace id.
    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    /// The top-level segments, by start time.
    pub fn roots(&self) -> &[TraceNode] {
        &self.roots
    }

    /// Subsegments whose parent is missing, by start time.
    pub fn orphans(&self) -> &[TraceNode] {
        &self.orphans
    }

    /// Every entity, tree by tree (roots, then orphans), parents first.
    pub fn iter(&self) -> Nodes<'_> {
        let mut stack: Vec<_> = self
            .roots
            .iter()
            .chain(&self.orphans)
            .map(|n| (n, 0))
            .collect();
        stack.reverse();
        Nodes { stack }
    }

    /// Every segment of the trace (one per service hop), parents first.
    pub fn segments(&self) -> impl Iterator<Item = &TraceNode> {
        self.iter().filter(|n| n.is_segment())
    }

    /// The entity with this id.
    pub fn find(&self, id: SegmentId) -> Option<&TraceNode> {
        self.iter().find(|n| n.id() == id)
    }

    /// The first entity with this name.
    pub fn find_named(&self, name: &str) -> Option<&TraceNode> {
        self.iter().find(|n| n.name() == name)
    }

    /// The number of entities (segments and subsegments).
    pub fn entity_count(&self) -> usize {
        self.roots
            .iter()
            .chain(&self.orphans)
            .map(TraceNode::count)
            .sum()
    }

    /// The number of documents received for this trace, replaced versions included.
    pub fn document_count(&self) -> u64 {
        self.documents
    }

    /// Whether every entity has ended and nothing refers to a missing parent.
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// Whether the receiver stopped waiting for more documents of this trace.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The earliest start time.
    pub fn start_time(&self) -> Option<Timestamp> {
        self.iter()
            .map(TraceNode::start_time)
            .min_by(|a, b| a.as_secs_f64().total_cmp(&b.as_secs_f64()))
    }

    /// From the earliest start to the latest end.
    pub fn duration(&self) -> Option<Duration> {
        let start = self.start_time()?;
        let end = self
            .iter()
            .filter_map(TraceNode::end_time)
            .max_by(|a, b| a.as_secs_f64().total_cmp(&b.as_secs_f64()))?;
        Some(end.duration_since(start))
    }

    /// Whether any entity has the `error` flag.
    pub fn has_error(&self) -> bool {
        self.iter().any(TraceNode::error)
    }

    /// Whether any entity has the `fault` flag.
    pub fn has_fault(&self) -> bool {
        self.iter().any(TraceNode::fault)
    }

    /// Whether any entity has the `throttle` flag.
    pub fn has_throttle(&self) -> bool {
        self.iter().any(TraceNode::throttle)
    }

    /// Renders the indented timeline: one line per entity with its offset from the trace start,
    /// duration, name, namespace, call details, status flags and annotations.
    pub fn render(&self, style: Style) -> String {
        render::trace(self, style)
    }

    /// The trace as JSON (see the [crate docs](crate#json-output)).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Style::Plain))
    }
}

pub(crate) fn millis(d: Duration) -> f64 {
    // Three decimals: microsecond resolution, like the timestamps.
    (d.as_secs_f64() * 1e6).round() / 1e3
}

impl Serialize for Trace {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Trace", 10)?;
        st.serialize_field("trace_id", &self.trace_id)?;
        st.serialize_field("start_time", &self.start_time())?;
        st.serialize_field("duration_ms", &self.duration().map(millis))?;
        st.serialize_field("complete", &self.complete)?;
        st.serialize_field("finished", &self.finished)?;
        st.serialize_field("entities", &self.entity_count())?;
        st.serialize_field("documents", &self.documents)?;
        st.serialize_field("roots", &self.roots)?;
        st.serialize_field("orphans", &self.orphans)?;
        st.end()
    }
}

impl Serialize for TraceNode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = &self.document;
        let mut st = s.serialize_struct("TraceNode", 20)?;
        st.serialize_field("id", &d.id)?;
        st.serialize_field("name", &d.name)?;
        st.serialize_field(
            "kind",
            match self.kind {
                EntityKind::Segment => "segment",
                EntityKind::Subsegment => "subsegment",
            },
        )?;
        st.serialize_field("namespace", &d.namespace)?;
        st.serialize_field("origin", &d.origin)?;
        st.serialize_field("start_time", &d.start_time)?;
        st.serialize_field("end_time", &d.end_time)?;
        st.serialize_field("duration_ms", &self.duration().map(millis))?;
        st.serialize_field("in_progress", &self.is_in_progress())?;
        st.serialize_field("error", &d.error)?;
        st.serialize_field("fault", &d.fault)?;
        st.serialize_field("throttle", &d.throttle)?;
        st.serialize_field("http_method", &self.http_method())?;
        st.serialize_field("http_url", &self.http_url())?;
        st.serialize_field("http_status", &self.http_status())?;
        st.serialize_field(
            "aws_operation",
            &d.aws.as_ref().and_then(|a| a.operation.as_ref()),
        )?;
        st.serialize_field(
            "sql_query",
            &d.sql.as_ref().and_then(|q| q.sanitized_query.as_ref()),
        )?;
        st.serialize_field("annotations", &d.annotations)?;
        st.serialize_field("children", &self.children)?;
        st.end()
    }
}
