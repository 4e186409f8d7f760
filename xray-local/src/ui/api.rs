//! The JSON answers, shaped like X-Ray's `GetServiceGraph`, `GetTraceSummaries` and
//! `BatchGetTraces` responses. Times are epoch seconds and durations seconds, as in X-Ray.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use xray_core::model::{AnnotationValue, Document};

use crate::graph::{CallStats, GraphNode, ServiceGraph};
use crate::trace::{Trace, TraceNode};

fn secs(d: std::time::Duration) -> f64 {
    // Microsecond resolution, like the timestamps.
    (d.as_secs_f64() * 1e6).round() / 1e6
}

/// X-Ray's `SummaryStatistics` (edges) / `ServiceSummaryStatistics` (services). Throttles are
/// a kind of error, as in X-Ray.
fn summary(stats: &CallStats) -> Value {
    let throttles = stats.throttles().min(stats.errors());
    json!({
        "OkCount": stats.ok(),
        "ErrorStatistics": {
            "ThrottleCount": throttles,
            "OtherCount": stats.errors() - throttles,
            "TotalCount": stats.errors(),
        },
        "FaultStatistics": {
            "OtherCount": stats.faults(),
            "TotalCount": stats.faults(),
        },
        "TotalCount": stats.requests(),
        "TotalResponseTime": secs(stats.total_time()),
    })
}

/// X-Ray's `ResponseTimeHistogram`: latencies rounded to a tenth of a millisecond, with their
/// counts.
fn histogram(stats: &CallStats) -> Value {
    let mut buckets: BTreeMap<u64, u64> = BTreeMap::new();
    for &micros in stats.durations_micros() {
        *buckets.entry((micros + 50) / 100).or_default() += 1;
    }
    buckets
        .into_iter()
        .map(|(tenths, count)| json!({"Value": tenths as f64 / 1e4, "Count": count}))
        .collect()
}

fn node_type(node: &GraphNode) -> String {
    node.node_type()
        .map_or_else(|| node.kind().as_str().to_owned(), str::to_owned)
}

/// `GetServiceGraph`: `Services`, each with its `Edges` pointing at other services by
/// `ReferenceId`. Extra fields: `Id` and `Kind` (the [`ServiceGraph`]'s node id and kind),
/// `AverageResponseTime` on edges, `TraceCount`.
pub(crate) fn service_graph(graph: &ServiceGraph, traces: &[&Trace]) -> Value {
    let index: BTreeMap<&str, usize> = graph
        .nodes()
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id(), i))
        .collect();
    let services: Vec<Value> = graph
        .nodes()
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let edges: Vec<Value> = graph
                .edges_from(node.id())
                .filter_map(|e| {
                    let to = *index.get(e.to())?;
                    Some(json!({
                        "ReferenceId": to,
                        "SummaryStatistics": summary(e.stats()),
                        "ResponseTimeHistogram": histogram(e.stats()),
                        "AverageResponseTime": e.stats().avg().map(secs),
                        "Aliases": [],
                    }))
                })
                .collect();
            let root = graph
                .edges()
                .iter()
                .any(|e| e.from() == "client" && e.to() == node.id());
            json!({
                "ReferenceId": i,
                "Id": node.id(),
                "Name": node.name(),
                "Names": [node.name()],
                "Type": node_type(node),
                "Kind": node.kind(),
                "Root": root,
                "State": "active",
                "Edges": edges,
                "SummaryStatistics": summary(node.stats()),
                "ResponseTimeHistogram": histogram(node.stats()),
            })
        })
        .collect();
    let start = traces
        .iter()
        .filter_map(|t| t.start_time())
        .map(|t| t.as_secs_f64())
        .min_by(f64::total_cmp);
    let end = traces
        .iter()
        .flat_map(|t| t.iter().filter_map(TraceNode::end_time))
        .map(|t| t.as_secs_f64())
        .max_by(f64::total_cmp);
    json!({
        "Services": services,
        "StartTime": start,
        "EndTime": end,
        "TraceCount": graph.trace_count(),
        "ContainsOldGroupVersions": false,
    })
}

fn annotation_value(v: &AnnotationValue) -> Value {
    match v {
        AnnotationValue::String(s) => json!({ "StringValue": s }),
        AnnotationValue::Number(n) => json!({ "NumberValue": n }),
        AnnotationValue::Bool(b) => json!({ "BooleanValue": b }),
        _ => Value::Null,
    }
}

fn service_id(segment: &TraceNode) -> Value {
    json!({
        "Name": segment.name(),
        "Names": [segment.name()],
        "Type": segment.document().origin,
    })
}

/// One `TraceSummary`. Extra fields: `Name` (the entry segment's), `IsComplete`,
/// `IsFinished`, `EntityCount`.
pub(crate) fn trace_summary(trace: &Trace) -> Value {
    let root = trace.roots().first();
    let mut annotations: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    let mut services: BTreeMap<&str, Value> = BTreeMap::new();
    for segment in trace.segments() {
        services
            .entry(segment.name())
            .or_insert_with(|| service_id(segment));
    }
    // The segment each annotation belongs to: the nearest segment above it.
    let mut segments: Vec<(usize, &TraceNode)> = Vec::new();
    for (node, depth) in trace.iter().with_depth() {
        while segments.last().is_some_and(|(d, _)| *d >= depth) {
            segments.pop();
        }
        if node.is_segment() {
            segments.push((depth, node));
        }
        let owner = segments.last().map(|(_, s)| *s);
        for (key, value) in node.annotations() {
            let values = annotations.entry(key.as_str()).or_default();
            let entry = json!({
                "AnnotationValue": annotation_value(value),
                "ServiceIds": owner.map(|s| vec![service_id(s)]).unwrap_or_default(),
            });
            if !values.contains(&entry) {
                values.push(entry);
            }
        }
    }
    let http = root.map(|r| {
        let req = r.document().http.as_ref().and_then(|h| h.request.as_ref());
        json!({
            "HttpURL": r.http_url(),
            "HttpStatus": r.http_status(),
            "HttpMethod": r.http_method(),
            "UserAgent": req.and_then(|q| q.user_agent.as_deref()),
            "ClientIp": req.and_then(|q| q.client_ip.as_deref()),
        })
    });
    json!({
        "Id": trace.trace_id(),
        "Name": root.map(TraceNode::name),
        "StartTime": trace.start_time().map(|t| t.as_secs_f64()),
        "Duration": trace.duration().map(secs),
        "ResponseTime": root.and_then(TraceNode::duration).map(secs),
        "HasError": trace.has_error(),
        "HasFault": trace.has_fault(),
        "HasThrottle": trace.has_throttle(),
        "IsPartial": !trace.is_complete(),
        "IsComplete": trace.is_complete(),
        "IsFinished": trace.is_finished(),
        "EntityCount": trace.entity_count(),
        "Http": http,
        "Annotations": annotations,
        "ServiceIds": services.into_values().collect::<Vec<_>>(),
        "EntryPoint": root.map(service_id),
    })
}

/// `GetTraceSummaries` for traces already filtered, newest first, at most `limit`.
pub(crate) fn trace_summaries(
    matched: &[&Trace],
    processed: usize,
    limit: usize,
    filter: Option<&str>,
) -> Value {
    let mut sorted: Vec<&&Trace> = matched.iter().collect();
    sorted.sort_by(|a, b| {
        let key = |t: &Trace| t.start_time().map_or(0.0, |s| s.as_secs_f64());
        key(b).total_cmp(&key(a))
    });
    let summaries: Vec<Value> = sorted
        .into_iter()
        .take(limit)
        .map(|t| trace_summary(t))
        .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default();
    json!({
        "TraceSummaries": summaries,
        "ApproximateTime": now,
        "TracesProcessedCount": processed,
        "MatchedCount": matched.len(),
        "FilterExpression": filter,
    })
}

/// The trace's segment documents as X-Ray stores them: every segment with its subsegments
/// embedded (the segments of downstream services are separate documents whose `parent_id` is
/// the calling subsegment), and subsegments whose parent is missing as documents of their own.
pub(crate) fn segment_documents(trace: &Trace) -> Vec<Document> {
    fn build(node: &TraceNode, out: &mut Vec<Document>) -> Document {
        let mut doc = node.document().clone();
        doc.subsegments.clear();
        for child in node.children() {
            if child.is_segment() {
                let own = build(child, out);
                out.push(own);
            } else {
                let embedded = build(child, out);
                doc.subsegments.push(embedded);
            }
        }
        doc
    }
    let mut out = Vec::new();
    for top in trace.roots().iter().chain(trace.orphans()) {
        let doc = build(top, &mut out);
        out.push(doc);
    }
    out.sort_by(|a, b| {
        a.start_time
            .as_secs_f64()
            .total_cmp(&b.start_time.as_secs_f64())
    });
    out
}

/// `BatchGetTraces` for one trace: `Segments` hold `Id` and `Document` (the segment document as
/// a JSON string, as X-Ray returns it).
pub(crate) fn batch_get_trace(trace: &Trace) -> Value {
    let segments: Vec<Value> = segment_documents(trace)
        .iter()
        .map(|d| {
            json!({
                "Id": d.id,
                "Document": serde_json::to_string(d).unwrap_or_default(),
            })
        })
        .collect();
    json!({
        "Traces": [{
            "Id": trace.trace_id(),
            "Duration": trace.duration().map(secs),
            "LimitExceeded": false,
            "Segments": segments,
        }],
        "UnprocessedTraceIds": [],
    })
}

#[cfg(test)]
mod tests {
    use xray_core::model::{Document, Namespace, Timestamp};
    use xray_core::{SegmentId, TraceId};

    use super::*;
    use crate::assemble;

    fn doc(name: &str, start_ms: u64, end_ms: u64) -> Document {
        let mut d = Document::new(
            name,
            SegmentId::new(),
            Timestamp::from_micros(1_000_000_000 + start_ms * 1000),
        );
        d.end_time = Some(Timestamp::from_micros(1_000_000_000 + end_ms * 1000));
        d
    }

    /// Two hand-written traces: frontend → orders (one faulty, one throttled), orders →
    /// DynamoDB.
    fn traces() -> Vec<Trace> {
        let mut out = Vec::new();
        for (i, (fault, throttle)) in [(true, false), (false, true)].into_iter().enumerate() {
            let trace_id = TraceId::new();
            let mut front = doc("frontend", 0, 100);
            front.trace_id = Some(trace_id);
            let mut call = doc("orders", 10, 90);
            call.namespace = Some(Namespace::Remote);
            call.fault = fault;
            call.error = throttle;
            call.throttle = throttle;
            let mut orders = doc("orders", 20, 80 + i as u64 * 4);
            orders.trace_id = Some(trace_id);
            orders.parent_id = Some(call.id);
            let mut ddb = doc("DynamoDB", 30, 40);
            ddb.namespace = Some(Namespace::Aws);
            orders.subsegments.push(ddb);
            front.subsegments.push(call);
            out.extend(assemble([orders, front]));
        }
        out
    }

    #[test]
    fn service_graph_is_shaped_like_x_ray() {
        let traces = traces();
        let graph = ServiceGraph::from_traces(&traces);
        let refs: Vec<&Trace> = traces.iter().collect();
        let v = service_graph(&graph, &refs);
        let services = v["Services"].as_array().unwrap();
        let names: Vec<&str> = services
            .iter()
            .map(|s| s["Name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["client", "frontend", "orders", "DynamoDB"]);
        let by_ref = |r: &Value| services[r.as_u64().unwrap() as usize]["Name"].as_str();
        let front = &services[1];
        assert_eq!(front["Root"], true);
        assert_eq!(services[2]["Root"], false);
        assert_eq!(services[3]["Type"], "AWS::DynamoDB");
        let edge = &front["Edges"][0];
        assert_eq!(by_ref(&edge["ReferenceId"]), Some("orders"));
        let s = &edge["SummaryStatistics"];
        assert_eq!(s["TotalCount"], 2);
        assert_eq!(s["OkCount"], 0);
        assert_eq!(s["FaultStatistics"]["TotalCount"], 1);
        assert_eq!(s["ErrorStatistics"]["ThrottleCount"], 1);
        assert_eq!(s["ErrorStatistics"]["OtherCount"], 0);
        // Each call took 80 ms as the frontend saw it.
        assert_eq!(s["TotalResponseTime"], 0.16);
        assert_eq!(edge["AverageResponseTime"], 0.08);
        assert_eq!(
            edge["ResponseTimeHistogram"],
            json!([{"Value": 0.08, "Count": 2}])
        );
        // The orders node counts its own segments: 60 and 64 ms.
        assert_eq!(services[2]["SummaryStatistics"]["TotalResponseTime"], 0.124);
        let ddb = &services[2]["Edges"][0];
        assert_eq!(by_ref(&ddb["ReferenceId"]), Some("DynamoDB"));
        assert_eq!(v["StartTime"], 1000.0);
        assert_eq!(v["TraceCount"], 2);
    }

    #[test]
    fn summaries_and_documents() {
        let traces = traces();
        let refs: Vec<&Trace> = traces.iter().collect();
        let v = trace_summaries(&refs, 5, 1, Some("ok"));
        assert_eq!(v["TracesProcessedCount"], 5);
        assert_eq!(v["MatchedCount"], 2);
        let list = v["TraceSummaries"].as_array().unwrap();
        assert_eq!(list.len(), 1);
        let s = trace_summary(&traces[0]);
        assert_eq!(s["Id"], traces[0].trace_id().to_string());
        assert_eq!(s["Duration"], 0.1);
        assert_eq!(s["ResponseTime"], 0.1);
        assert_eq!(
            (s["HasFault"].clone(), s["HasError"].clone()),
            (json!(true), json!(false))
        );
        assert_eq!(s["EntryPoint"]["Name"], "frontend");
        assert_eq!(s["ServiceIds"].as_array().unwrap().len(), 2);

        let docs = segment_documents(&traces[0]);
        let names: Vec<&str> = docs.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["frontend", "orders"]);
        assert_eq!(docs[0].subsegments[0].name, "orders");
        assert!(docs[0].subsegments[0].subsegments.is_empty());
        assert_eq!(docs[1].parent_id, Some(docs[0].subsegments[0].id));
        assert_eq!(docs[1].subsegments[0].name, "DynamoDB");
        let batch = batch_get_trace(&traces[0]);
        let text = batch["Traces"][0]["Segments"][1]["Document"]
            .as_str()
            .unwrap();
        let parsed: Document = serde_json::from_str(text).unwrap();
        assert_eq!(parsed.id, docs[1].id);
        assert_eq!(parsed.subsegments[0].name, "DynamoDB");
    }
}
