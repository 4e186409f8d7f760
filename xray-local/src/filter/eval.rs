//! Evaluating an expression against one trace.

use std::cell::OnceCell;

use xray_core::model::AnnotationValue;

use super::lexer::Op;
use super::parser::{Expr, Field, Value};
use crate::graph::ServiceGraph;
use crate::trace::{Trace, TraceNode};

/// One trace, with its single-trace service graph built on first need (only `service(..)` and
/// `edge(..)` look at it).
pub(crate) struct Subject<'a> {
    trace: &'a Trace,
    graph: OnceCell<ServiceGraph>,
}

impl<'a> Subject<'a> {
    pub(crate) fn new(trace: &'a Trace) -> Self {
        Self {
            trace,
            graph: OnceCell::new(),
        }
    }

    fn graph(&self) -> &ServiceGraph {
        self.graph
            .get_or_init(|| ServiceGraph::from_traces([self.trace]))
    }

    /// The entry segment: X-Ray's trace-level `http.*` and `responsetime` come from it.
    fn root(&self) -> Option<&'a TraceNode> {
        self.trace.roots().first()
    }

    pub(crate) fn eval(&self, expr: &Expr) -> bool {
        match expr {
            Expr::And(a, b) => self.eval(a) && self.eval(b),
            Expr::Or(a, b) => self.eval(a) || self.eval(b),
            Expr::Not(e) => !self.eval(e),
            Expr::Service(name) => self
                .graph()
                .nodes()
                .iter()
                .any(|n| n.name() == name && n.kind() != crate::NodeKind::Client),
            Expr::Edge(from, to) => self.graph().edges().iter().any(|e| {
                let named =
                    |id: &str, name: &str| self.graph().node(id).is_some_and(|n| n.name() == name);
                named(e.from(), from) && named(e.to(), to)
            }),
            Expr::Compare { field, op, value } => self.compare(field, *op, value),
        }
    }

    fn compare(&self, field: &Field, op: Op, value: &Value) -> bool {
        let t = self.trace;
        let secs = |d: std::time::Duration| d.as_secs_f64();
        match field {
            Field::Annotation(key) => t.iter().any(|n| {
                n.annotations()
                    .get(key)
                    .is_some_and(|a| annotation(a, op, value))
            }),
            Field::HttpStatus => self
                .root()
                .and_then(TraceNode::http_status)
                .is_some_and(|s| number(f64::from(s), op, value)),
            Field::HttpUrl => self
                .root()
                .and_then(TraceNode::http_url)
                .is_some_and(|u| string(u, op, value)),
            Field::HttpMethod => self
                .root()
                .and_then(TraceNode::http_method)
                .is_some_and(|m| string(m, op, value)),
            Field::ResponseTime => self
                .root()
                .and_then(TraceNode::duration)
                .is_some_and(|d| number(secs(d), op, value)),
            Field::Duration => t.duration().is_some_and(|d| number(secs(d), op, value)),
            Field::Error => boolean(t.has_error(), op, value),
            Field::Fault => boolean(t.has_fault(), op, value),
            Field::Throttle => boolean(t.has_throttle(), op, value),
            Field::Ok => boolean(
                !(t.has_error() || t.has_fault() || t.has_throttle()),
                op,
                value,
            ),
            Field::Partial => boolean(!t.is_complete(), op, value),
        }
    }
}

fn annotation(a: &AnnotationValue, op: Op, value: &Value) -> bool {
    match a {
        AnnotationValue::String(s) => string(s, op, value),
        AnnotationValue::Number(n) => n.as_f64().is_some_and(|n| number(n, op, value)),
        AnnotationValue::Bool(b) => boolean(*b, op, value),
        _ => false,
    }
}

fn string(s: &str, op: Op, value: &Value) -> bool {
    let Value::Str(v) = value else {
        return false;
    };
    match op {
        Op::Eq => s == v,
        Op::Ne => s != v,
        Op::Contains => s.contains(v.as_str()),
        Op::BeginsWith => s.starts_with(v.as_str()),
        Op::EndsWith => s.ends_with(v.as_str()),
        Op::Lt | Op::Le | Op::Gt | Op::Ge => false,
    }
}

fn number(n: f64, op: Op, value: &Value) -> bool {
    let Value::Num(v) = value else {
        return false;
    };
    match op {
        Op::Eq => n == *v,
        Op::Ne => n != *v,
        Op::Lt => n < *v,
        Op::Le => n <= *v,
        Op::Gt => n > *v,
        Op::Ge => n >= *v,
        Op::Contains | Op::BeginsWith | Op::EndsWith => false,
    }
}

fn boolean(b: bool, op: Op, value: &Value) -> bool {
    let Value::Bool(v) = value else {
        return false;
    };
    match op {
        Op::Eq => b == *v,
        Op::Ne => b != *v,
        _ => false,
    }
}
