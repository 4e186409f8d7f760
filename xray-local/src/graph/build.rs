//! Walking traces into nodes and edges.

use std::collections::BTreeMap;

use xray_core::model::Namespace;

use super::{CallStats, GraphEdge, GraphNode, NodeKind, ServiceGraph};
use crate::trace::TraceNode;

const CLIENT: &str = "client";

#[derive(Default)]
pub(super) struct GraphBuilder {
    nodes: BTreeMap<String, GraphNode>,
    edges: BTreeMap<(String, String), CallStats>,
    unattributed: u64,
}

impl GraphBuilder {
    /// `service`: the node id of the segment this entity belongs to; `in_call`: an ancestor
    /// below that segment is already a downstream call; `called`: this segment is the callee
    /// of its parent subsegment, whose edge is already counted.
    pub(super) fn walk(
        &mut self,
        node: &TraceNode,
        service: Option<&str>,
        in_call: bool,
        called: bool,
    ) {
        if node.is_segment() {
            let id = self.service_node(node);
            if let Some(n) = self.nodes.get_mut(&id) {
                n.stats.add(node);
            }
            if !called && node.duration().is_some() {
                let from = match service {
                    Some(caller) => caller.to_owned(),
                    None => self.client(),
                };
                self.edge(from, id.clone(), node);
            }
            for child in node.children() {
                self.walk(child, Some(&id), false, false);
            }
            return;
        }
        let is_call = matches!(node.namespace(), Some(Namespace::Aws | Namespace::Remote));
        if is_call && !in_call {
            match service {
                None => self.unattributed += 1,
                Some(caller) if node.duration().is_some() => {
                    let to = match node.children().iter().find(|c| c.is_segment()) {
                        Some(callee) => self.service_node(callee),
                        None => self.inferred_node(node),
                    };
                    self.edge(caller.to_owned(), to, node);
                }
                Some(_) => {}
            }
            for child in node.children() {
                self.walk(child, service, true, child.is_segment());
            }
            return;
        }
        for child in node.children() {
            self.walk(child, service, in_call, false);
        }
    }

    fn client(&mut self) -> String {
        self.nodes
            .entry(CLIENT.to_owned())
            .or_insert_with(|| GraphNode {
                id: CLIENT.to_owned(),
                name: CLIENT.to_owned(),
                kind: NodeKind::Client,
                node_type: Some(CLIENT.to_owned()),
                stats: CallStats::default(),
            });
        CLIENT.to_owned()
    }

    /// The node of a segment's service (its statistics are added when the walk reaches the
    /// segment itself, so a callee met first through its caller counts once).
    fn service_node(&mut self, segment: &TraceNode) -> String {
        let origin = segment.document().origin.clone();
        let id = match &origin {
            Some(o) => format!("service:{}[{o}]", segment.name()),
            None => format!("service:{}", segment.name()),
        };
        self.nodes.entry(id.clone()).or_insert_with(|| GraphNode {
            id: id.clone(),
            name: segment.name().to_owned(),
            kind: NodeKind::Service,
            node_type: origin,
            stats: CallStats::default(),
        });
        id
    }

    fn inferred_node(&mut self, call: &TraceNode) -> String {
        let doc = call.document();
        let (kind, node_type) = match call.namespace() {
            Some(Namespace::Aws) => (NodeKind::Aws, format!("AWS::{}", call.name())),
            _ if doc.sql.is_some() => (NodeKind::Database, "Database::SQL".to_owned()),
            _ if doc.http.is_some() => (NodeKind::Http, "remote".to_owned()),
            _ => (NodeKind::Remote, "remote".to_owned()),
        };
        let id = format!("{}:{}", kind.as_str(), call.name());
        let node = self.nodes.entry(id.clone()).or_insert_with(|| GraphNode {
            id: id.clone(),
            name: call.name().to_owned(),
            kind,
            node_type: Some(node_type),
            stats: CallStats::default(),
        });
        node.stats.add(call);
        id
    }

    fn edge(&mut self, from: String, to: String, data: &TraceNode) {
        self.edges.entry((from, to)).or_default().add(data);
    }

    pub(super) fn finish(mut self, traces: usize) -> ServiceGraph {
        let mut edges = Vec::with_capacity(self.edges.len());
        for ((from, to), stats) in self.edges {
            if from == CLIENT
                && let Some(client) = self.nodes.get_mut(CLIENT)
            {
                client.stats.merge(&stats);
            }
            edges.push(GraphEdge { from, to, stats });
        }
        let mut nodes: Vec<GraphNode> = self.nodes.into_values().collect();
        nodes.sort_by(|a, b| (a.kind, &a.name, &a.id).cmp(&(b.kind, &b.name, &b.id)));
        let position = |id: &str| nodes.iter().position(|n| n.id == id).unwrap_or(usize::MAX);
        edges.sort_by_key(|e| (position(&e.from), position(&e.to)));
        ServiceGraph {
            nodes,
            edges,
            traces,
            unattributed: self.unattributed,
        }
    }
}
