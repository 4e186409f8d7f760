//! Filter expressions over traces.

use std::fmt;
use std::str::FromStr;

mod eval;
mod lexer;
mod parser;

use self::eval::Subject;
use self::parser::Expr;
use crate::trace::Trace;

#[doc = include_str!("language.md")]
///
/// # Examples
///
/// ```
/// use xray_core::{Recorder, emit::MemoryEmitter};
/// use xray_local::{Filter, assemble};
///
/// let emitter = MemoryEmitter::new();
/// let recorder = Recorder::builder().emitter(emitter.clone()).sample_all().ignore_env().build()?;
/// for (customer, status) in [("c-1", 200), ("c-2", 503)] {
///     let segment = recorder.begin_segment("orders");
///     segment.annotate("customer", customer);
///     segment.set_http_status(status);
///     segment.end();
/// }
/// let traces = assemble(emitter.documents());
///
/// let filter: Filter = r#"service("orders") AND fault"#.parse()?;
/// let faulty: Vec<_> = traces.iter().filter(|t| filter.matches(t)).collect();
/// assert_eq!(faulty.len(), 1);
/// assert!(faulty[0].has_fault());
///
/// let error = Filter::parse("annotation.customer = c-2").unwrap_err();
/// assert_eq!(error.position(), 22);
/// println!("{error}"); // the message, the expression and a caret under position 22
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    text: String,
    expr: Expr,
}

impl Filter {
    /// Parses an expression.
    ///
    /// # Errors
    ///
    /// [`FilterError`], with the position where the expression went wrong.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        parser::parse(text)
            .map(|expr| Filter {
                text: text.to_owned(),
                expr,
            })
            .map_err(|e| e.with_expression(text))
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the trace passes the filter.
    pub fn matches(&self, trace: &Trace) -> bool {
        Subject::new(trace).eval(&self.expr)
    }
}

impl FromStr for Filter {
    type Err = FilterError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Filter::parse(s)
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Why a filter expression does not parse, and where.
///
/// [`Display`](fmt::Display) gives the message, then (when the expression is known) the
/// expression and a caret under the offending character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    position: usize,
    message: String,
    expression: Option<String>,
}

impl FilterError {
    pub(crate) fn new(position: usize, message: impl Into<String>) -> Self {
        Self {
            position,
            message: message.into(),
            expression: None,
        }
    }

    fn with_expression(mut self, text: &str) -> Self {
        self.expression = Some(text.to_owned());
        self
    }

    /// Where the expression went wrong: a character offset from 0 (the expression's length
    /// when it ended too early).
    pub fn position(&self) -> usize {
        self.position
    }

    /// What went wrong, without the position.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at position {}",
            self.message,
            self.position.saturating_add(1)
        )?;
        if let Some(text) = &self.expression {
            // Control characters would break the caret's alignment.
            let shown: String = text
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            write!(f, "\n  {shown}\n  {}^", " ".repeat(self.position))?;
        }
        Ok(())
    }
}

impl std::error::Error for FilterError {}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use xray_core::model::{AnnotationValue, Document, Http, HttpResponse, Namespace, Timestamp};
    use xray_core::{SegmentId, TraceId};

    use super::*;
    use crate::assemble;

    const LANGUAGE: &str = include_str!("language.md");

    fn doc(name: &str, start_ms: u64, end_ms: u64) -> Document {
        let mut d = Document::new(
            name,
            SegmentId::new(),
            Timestamp::from_micros(1_000_000_000 + start_ms * 1000),
        );
        d.end_time = Some(Timestamp::from_micros(1_000_000_000 + end_ms * 1000));
        d
    }

    fn http(d: &mut Document, method: &str, url: &str, status: u16) {
        let mut h = Http::default();
        let req = h.request.get_or_insert_with(Default::default);
        req.method = Some(method.to_owned());
        req.url = Some(url.to_owned());
        h.response.get_or_insert_with(HttpResponse::default).status = Some(status);
        d.http = Some(Box::new(h));
        d.error = (400..500).contains(&status);
        d.throttle = status == 429;
        d.fault = status >= 500;
    }

    /// Hand-written traces: `a` frontend → orders (fault, slow) with annotations and a DynamoDB
    /// call; `b` orders alone, 200, fast; `c` orders with a 429 and an odd annotation key;
    /// `d` in progress.
    fn traces() -> BTreeMap<&'static str, Trace> {
        let mut out = BTreeMap::new();
        let mut front = doc("frontend", 0, 1500);
        front.trace_id = Some(TraceId::new());
        http(&mut front, "GET", "http://shop/orders/7", 503);
        front
            .annotations
            .insert("customer".into(), AnnotationValue::String("c-42".into()));
        let mut call = doc("orders", 10, 1400);
        call.namespace = Some(Namespace::Remote);
        let mut orders = doc("orders", 20, 1390);
        orders.trace_id = front.trace_id;
        orders.parent_id = Some(call.id);
        orders.fault = true;
        orders
            .annotations
            .insert("attempt".into(), AnnotationValue::Number(3.into()));
        orders
            .annotations
            .insert("cached".into(), AnnotationValue::Bool(true));
        let mut ddb = doc("DynamoDB", 30, 40);
        ddb.namespace = Some(Namespace::Aws);
        orders.subsegments.push(ddb);
        front.subsegments.push(call);
        out.insert("a", assemble([front, orders]).remove(0));

        let mut b = doc("orders", 0, 20);
        b.trace_id = Some(TraceId::new());
        http(&mut b, "POST", "http://api/new", 200);
        b.annotations
            .insert("attempt".into(), AnnotationValue::Number(1.into()));
        out.insert("b", assemble([b]).remove(0));

        let mut c = doc("orders", 0, 600);
        c.trace_id = Some(TraceId::new());
        http(&mut c, "GET", "http://api/status/429", 429);
        c.annotations
            .insert("odd key".into(), AnnotationValue::String("x".into()));
        c.annotations
            .insert("customer".into(), AnnotationValue::String("c-42".into()));
        out.insert("c", assemble([c]).remove(0));

        let mut d = doc("orders", 0, 5);
        d.trace_id = Some(TraceId::new());
        d.end_time = None;
        d.in_progress = true;
        out.insert("d", assemble([d]).remove(0));
        out
    }

    fn matching(expr: &str, traces: &BTreeMap<&'static str, Trace>) -> String {
        let f = Filter::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
        traces
            .iter()
            .filter(|(_, t)| f.matches(t))
            .map(|(k, _)| *k)
            .collect()
    }

    /// Every expression in backticks in the first column of the docs' tables, with the traces
    /// it must match. A new example in the docs fails here until it is given its expectation.
    #[test]
    fn every_documented_example() {
        let expected: BTreeMap<&str, &str> = [
            (r#"service("orders")"#, "abcd"),
            (r#"edge("frontend", "orders")"#, "a"),
            (r#"annotation.customer = "c-42""#, "ac"),
            ("annotation.attempt > 2", "a"),
            ("annotation.cached = true", "a"),
            (r#"annotation["odd key"] = "x""#, "c"),
            ("http.status = 500", ""),
            (r#"http.url CONTAINS "/orders""#, "a"),
            (r#"http.method = "GET""#, "ac"),
            ("responsetime > 1", "a"),
            ("duration >= 0.5", "ac"),
            ("error", "c"),
            ("fault", "a"),
            ("throttle", "c"),
            ("ok", "bd"),
            ("partial", "d"),
            (r#"service("orders") AND fault"#, "a"),
            (r#"http.url CONTAINS "/status" AND NOT ok"#, "c"),
            (
                r#"(error OR throttle) AND annotation.customer = "c-42""#,
                "c",
            ),
            ("!ok || responsetime > 1", "ac"),
            (r#"edge("client", "orders") AND http.method = "GET""#, "c"),
        ]
        .into_iter()
        .collect();
        let traces = traces();
        let mut seen = 0;
        for line in LANGUAGE.lines().filter(|l| l.starts_with("| `")) {
            let expr = line
                .trim_start_matches("| `")
                .split("` |")
                .next()
                .unwrap_or_default();
            let want = expected
                .get(expr)
                .unwrap_or_else(|| panic!("documented example without an expectation: {expr}"));
            assert_eq!(matching(expr, &traces), *want, "{expr}");
            seen += 1;
        }
        assert_eq!(seen, expected.len(), "an expectation is not in the docs");
    }

    #[test]
    fn more_semantics() {
        let traces = traces();
        for (expr, want) in [
            ("http.status = 503", "a"),
            ("http.status >= 400 AND http.status < 500", "c"),
            ("fault = false", "bcd"),
            ("NOT NOT fault", "a"),
            (r#"service("DynamoDB")"#, "a"),
            (r#"service("client")"#, ""),
            (r#"edge("orders", "DynamoDB")"#, "a"),
            (r#"edge("client", "frontend")"#, "a"),
            (r#"annotation.customer != "c-42""#, ""),
            (
                r#"annotation.customer BEGINSWITH "c-" and http.url endswith "/7""#,
                "a",
            ),
            ("annotation.attempt = 1 or annotation.attempt = 3", "ab"),
            ("annotation.attempt = \"1\"", ""),
            ("annotation.missing = 1", ""),
            ("error OR fault AND ok", "c"),
            ("(error OR fault) AND ok", ""),
            ("http.method == 'POST'", "b"),
        ] {
            assert_eq!(matching(expr, &traces), want, "{expr}");
        }
    }

    #[test]
    fn error_display_points_at_the_position() {
        let e = Filter::parse("ok AND http.status = \"x\"").unwrap_err();
        assert_eq!(e.position(), 21);
        let shown = e.to_string();
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines[0], format!("{} at position 22", e.message()));
        assert_eq!(lines[2].find('^'), lines[1].find('"'));
    }
}
