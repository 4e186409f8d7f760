//! The service graph, built the way X-Ray builds its service map.

use std::fmt;

use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};

mod build;
mod stats;

use self::build::GraphBuilder;
pub use self::stats::CallStats;
use crate::render::{self, Style};
use crate::trace::Trace;

/// What a [`GraphNode`] stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NodeKind {
    /// The callers outside the traced system.
    Client,
    /// An instrumented service (a segment name and origin).
    Service,
    /// An AWS service called through an AWS SDK (inferred).
    Aws,
    /// A SQL database (inferred).
    Database,
    /// An HTTP host (inferred).
    Http,
    /// Another remote service (inferred).
    Remote,
}

impl NodeKind {
    /// The stable snake_case name used in JSON output.
    pub const fn as_str(self) -> &'static str {
        match self {
            NodeKind::Client => "client",
            NodeKind::Service => "service",
            NodeKind::Aws => "aws",
            NodeKind::Database => "database",
            NodeKind::Http => "http",
            NodeKind::Remote => "remote",
        }
    }

    /// Whether X-Ray would draw this node from subsegments rather than from a segment.
    pub const fn is_inferred(self) -> bool {
        matches!(
            self,
            NodeKind::Aws | NodeKind::Database | NodeKind::Http | NodeKind::Remote
        )
    }
}

impl fmt::Display for NodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A node of the [`ServiceGraph`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GraphNode {
    id: String,
    name: String,
    kind: NodeKind,
    #[serde(rename = "type")]
    node_type: Option<String>,
    stats: CallStats,
}

impl GraphNode {
    /// The stable id edges refer to, e.g. `service:orders` or `aws:DynamoDB`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The name X-Ray shows: the segment name, or the calling subsegment's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the node stands for.
    pub fn kind(&self) -> NodeKind {
        self.kind
    }

    /// X-Ray's node type: the segment `origin` for services (if any), `AWS::<service>`,
    /// `Database::SQL`, `remote` or `client`.
    pub fn node_type(&self) -> Option<&str> {
        self.node_type.as_deref()
    }

    /// The node's request statistics: its own segments for a service, the calls made to it for
    /// an inferred node, the entering requests for the client.
    pub fn stats(&self) -> &CallStats {
        &self.stats
    }
}

/// A caller → callee edge of the [`ServiceGraph`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GraphEdge {
    from: String,
    to: String,
    stats: CallStats,
}

impl GraphEdge {
    /// The caller's node id.
    pub fn from(&self) -> &str {
        &self.from
    }

    /// The callee's node id.
    pub fn to(&self) -> &str {
        &self.to
    }

    /// The calls' statistics, as the caller saw them.
    pub fn stats(&self) -> &CallStats {
        &self.stats
    }
}

/// Services, the downstream resources they call, and the calls between them, built the way
/// X-Ray builds its service map.
///
/// # Nodes
///
/// - **client** (`id` `"client"`): where requests come from. Every segment whose caller is not
///   in the trace (no `parent_id`, or a parent that never arrived) gets an edge from it. Its
///   statistics are the sum of its edges.
/// - **service** (`id` `"service:<name>"`, or `"service:<name>[<origin>]"` when the segment has
///   an `origin`): one per distinct segment name and origin. Statistics come from the service's
///   own segments.
/// - **inferred downstream nodes**, from subsegments with namespace `aws` or `remote`, named
///   after the subsegment (X-Ray's rule: the AWS service, the HTTP host, `database@host`):
///   - `aws` (`id` `"aws:<name>"`, type `AWS::<name>`): an AWS SDK call;
///   - `database` (`id` `"database:<name>"`, type `Database::SQL`): a `remote` subsegment with a
///     `sql` block;
///   - `http` (`id` `"http:<name>"`, type `remote`): a `remote` subsegment with an `http` block;
///   - `remote` (`id` `"remote:<name>"`, type `remote`): any other `remote` subsegment.
///
///   Statistics come from the calling subsegments. When the called service is instrumented
///   (its segment's `parent_id` is the calling subsegment), its service node takes the place of
///   the inferred node.
///
/// # Edges
///
/// One per caller → callee pair, with the number of calls, average and 95th-percentile
/// (nearest-rank) latency, and error/fault/throttle counts and rates. A call's figures come from
/// the caller's subsegment, as in X-Ray: the latency the caller saw and the flags it recorded.
/// Client edges use the called segment's own figures.
///
/// # What is left out
///
/// - Entities still in progress: they have no duration yet.
/// - Downstream subsegments nested inside another downstream subsegment (for example an HTTP
///   client traced inside an AWS SDK call): they are part of the same call, and counting them
///   again would show a second, made-up edge.
/// - Calls in subsegments whose segment never arrived (orphans, or a Lambda function whose
///   segment Lambda itself records): there is no known caller. They are counted in
///   [`unattributed_calls`](Self::unattributed_calls).
///
/// # Examples
///
/// ```
/// use xray_core::{Recorder, emit::MemoryEmitter, model::Namespace};
/// use xray_local::{ServiceGraph, assemble};
///
/// let emitter = MemoryEmitter::new();
/// let recorder = Recorder::builder().emitter(emitter.clone()).sample_all().ignore_env().build()?;
/// for status in [200, 404] {
///     let segment = recorder.begin_segment("orders");
///     let call = segment.begin_subsegment("DynamoDB");
///     call.set_namespace(Namespace::Aws);
///     call.end();
///     segment.set_http_status(status);
///     segment.end();
/// }
///
/// let traces = assemble(emitter.documents());
/// let graph = ServiceGraph::from_traces(&traces);
/// let entry = graph.edge_between("client", "orders").unwrap();
/// assert_eq!(entry.stats().requests(), 2);
/// assert_eq!(entry.stats().error_rate(), 0.5);
/// assert_eq!(graph.edge("service:orders", "aws:DynamoDB").unwrap().stats().requests(), 2);
/// println!("{graph}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceGraph {
    nodes: Vec<GraphNode>,
    edges: Vec<GraphEdge>,
    traces: usize,
    unattributed: u64,
}

impl ServiceGraph {
    /// Builds the graph of these traces.
    pub fn from_traces<'a>(traces: impl IntoIterator<Item = &'a Trace>) -> Self {
        let mut b = GraphBuilder::default();
        let mut count = 0;
        for trace in traces {
            count += 1;
            for root in trace.roots() {
                b.walk(root, None, false, false);
            }
            for orphan in trace.orphans() {
                b.walk(orphan, None, false, false);
            }
        }
        b.finish(count)
    }

    /// The nodes: the client, then services, then inferred nodes, each by name.
    pub fn nodes(&self) -> &[GraphNode] {
        &self.nodes
    }

    /// The edges, in the order of their caller and callee nodes.
    pub fn edges(&self) -> &[GraphEdge] {
        &self.edges
    }

    /// The node with this id.
    pub fn node(&self, id: &str) -> Option<&GraphNode> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// The first node (in [`nodes`](Self::nodes) order) with this name.
    pub fn node_named(&self, name: &str) -> Option<&GraphNode> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The edge between two node ids.
    pub fn edge(&self, from_id: &str, to_id: &str) -> Option<&GraphEdge> {
        self.edges
            .iter()
            .find(|e| e.from == from_id && e.to == to_id)
    }

    /// The edge between two nodes given by name (as [`node_named`](Self::node_named) finds
    /// them).
    pub fn edge_between(&self, from_name: &str, to_name: &str) -> Option<&GraphEdge> {
        let from = self.node_named(from_name)?;
        let to = self.node_named(to_name)?;
        self.edge(&from.id, &to.id)
    }

    /// The edges leaving a node.
    pub fn edges_from<'a>(&'a self, from_id: &'a str) -> impl Iterator<Item = &'a GraphEdge> {
        self.edges.iter().filter(move |e| e.from == from_id)
    }

    /// The number of traces the graph was built from.
    pub fn trace_count(&self) -> usize {
        self.traces
    }

    /// Downstream calls left out because their segment is not in the trace.
    pub fn unattributed_calls(&self) -> u64 {
        self.unattributed
    }

    /// Whether the graph has no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Renders the graph as two aligned tables, nodes and edges.
    pub fn render(&self, style: Style) -> String {
        render::graph(self, style)
    }

    /// The graph as JSON (see the [crate docs](crate#json-output)).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

impl fmt::Display for ServiceGraph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Style::Plain))
    }
}

impl Serialize for ServiceGraph {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("ServiceGraph", 4)?;
        st.serialize_field("traces", &self.traces)?;
        st.serialize_field("unattributed_calls", &self.unattributed)?;
        st.serialize_field("nodes", &self.nodes)?;
        st.serialize_field("edges", &self.edges)?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use xray_core::model::{Document, DocumentKind, Namespace, Timestamp};
    use xray_core::{SegmentId, TraceId};

    use super::*;
    use crate::assemble;

    fn doc(name: &str, start_ms: u64, end_ms: Option<u64>) -> Document {
        let mut d = Document::new(
            name,
            SegmentId::new(),
            Timestamp::from_micros(1_000_000_000 + start_ms * 1000),
        );
        d.end_time = end_ms.map(|e| Timestamp::from_micros(1_000_000_000 + e * 1000));
        d.in_progress = end_ms.is_none();
        d
    }

    fn call(name: &str, ns: Namespace, start_ms: u64, end_ms: Option<u64>) -> Document {
        let mut d = doc(name, start_ms, end_ms);
        d.namespace = Some(ns);
        d
    }

    #[test]
    fn what_is_left_out() {
        let trace_id = TraceId::new();
        let mut root = doc("svc", 0, Some(100));
        root.trace_id = Some(trace_id);
        // Still in progress: no duration, no edge.
        root.subsegments
            .push(call("pending.example.com", Namespace::Remote, 1, None));
        // A downstream segment reached through a local subsegment: an edge from the enclosing
        // service, with the callee's own figures.
        let mut local = doc("batch", 2, Some(50));
        let mut callee = doc("worker", 3, Some(40));
        callee.trace_id = Some(trace_id);
        callee.parent_id = Some(local.id);
        callee.fault = true;
        local
            .subsegments
            .push(call("Local", Namespace::Local, 4, Some(5)));
        root.subsegments.push(local);
        // A call whose segment is missing (a Lambda function's, say).
        let mut orphan = call("SQS", Namespace::Aws, 10, Some(20));
        orphan.trace_id = Some(trace_id);
        orphan.kind = Some(DocumentKind::Subsegment);
        orphan.parent_id = Some(SegmentId::new());

        let traces = assemble([root, callee, orphan]);
        let graph = ServiceGraph::from_traces(&traces);
        let ids: Vec<&str> = graph.nodes().iter().map(GraphNode::id).collect();
        assert_eq!(ids, ["client", "service:svc", "service:worker"]);
        let edge = graph.edge("service:svc", "service:worker").unwrap();
        assert_eq!((edge.stats().requests(), edge.stats().faults()), (1, 1));
        assert_eq!(edge.stats().avg(), Some(Duration::from_millis(37)));
        assert!(graph.edge("client", "service:worker").is_none());
        assert_eq!(graph.unattributed_calls(), 1);
        assert!(graph.to_string().contains("1 downstream call(s) left out"));
    }
}
