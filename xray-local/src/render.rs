//! Terminal rendering of traces and the service graph.
//!
//! Output is plain text that stays readable in a pipe or a log file: box-drawing characters for
//! the tree and `→` for calls are the only non-ASCII, and color (ANSI) only when asked for with
//! [`Style::Color`] ([`Style::detect`] picks it for a terminal without `NO_COLOR`).

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::time::Duration;

use xray_core::model::{AnnotationValue, Namespace};

use crate::graph::{CallStats, ServiceGraph};
use crate::trace::{Trace, TraceNode};

/// How rendered text looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Style {
    /// No escape sequences.
    #[default]
    Plain,
    /// ANSI colors: faults red, errors yellow, throttles magenta, details dimmed.
    Color,
}

impl Style {
    /// [`Style::Color`] when standard output is a terminal and `NO_COLOR` is not set,
    /// [`Style::Plain`] otherwise.
    pub fn detect() -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        if !no_color && std::io::stdout().is_terminal() {
            Style::Color
        } else {
            Style::Plain
        }
    }

    fn paint(self, code: &str, text: &str) -> String {
        match self {
            Style::Color if !text.is_empty() => format!("\x1b[{code}m{text}\x1b[0m"),
            _ => text.to_owned(),
        }
    }
}

const RED: &str = "31";
const YELLOW: &str = "33";
const MAGENTA: &str = "35";
const CYAN: &str = "36";
const BOLD: &str = "1";
const DIM: &str = "2";

/// `12.3 ms`, `1.25 s`.
pub(crate) fn duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.2} s", ms / 1e3)
    }
}

fn shorten(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

fn flags(node_error: bool, fault: bool, throttle: bool, in_progress: bool, style: Style) -> String {
    let mut out = String::new();
    for (on, label, color) in [
        (fault, "[fault]", RED),
        (node_error, "[error]", YELLOW),
        (throttle, "[throttle]", MAGENTA),
        (in_progress, "[in progress]", DIM),
    ] {
        if on {
            out.push(' ');
            out.push_str(&style.paint(color, label));
        }
    }
    out
}

pub(crate) fn trace(trace: &Trace, style: Style) -> String {
    let mut out = String::new();
    let start = trace.start_time();
    let segments = trace.segments().count();
    let entities = trace.entity_count();
    let mut header = format!("trace {}", trace.trace_id());
    if let Some(d) = trace.duration() {
        let _ = write!(header, "  {}", duration(d));
    }
    let _ = write!(
        header,
        "  {segments} segment{}, {} subsegment{}",
        plural(segments),
        entities - segments,
        plural(entities - segments)
    );
    out.push_str(&style.paint(BOLD, &header));
    out.push_str(&flags(
        trace.has_error(),
        trace.has_fault(),
        trace.has_throttle(),
        false,
        style,
    ));
    if !trace.is_complete() {
        out.push(' ');
        out.push_str(&style.paint(DIM, "(incomplete)"));
    }
    out.push('\n');
    let offset = |n: &TraceNode| start.map_or(Duration::ZERO, |s| n.start_time().duration_since(s));
    for root in trace.roots() {
        node_lines(&mut out, root, "", None, &offset, style);
    }
    if !trace.orphans().is_empty() {
        let _ = writeln!(out, "  {}", style.paint(DIM, "parent not received for:"));
        for orphan in trace.orphans() {
            node_lines(&mut out, orphan, "", None, &offset, style);
        }
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// One line per node: offset, duration, tree prefix, name, details, flags, annotations.
fn node_lines(
    out: &mut String,
    node: &TraceNode,
    prefix: &str,
    last: Option<bool>,
    offset: &dyn Fn(&TraceNode) -> Duration,
    style: Style,
) {
    let took = node.duration().map_or_else(|| "…".to_owned(), duration);
    let branch = match last {
        None => "",
        Some(true) => "└─ ",
        Some(false) => "├─ ",
    };
    let times = format!(
        "{:>11} {:>10}",
        format!("+{}", duration(offset(node))),
        took
    );
    let _ = write!(out, "  {}  {prefix}{branch}", style.paint(DIM, &times));
    if node.is_segment() {
        out.push_str(&style.paint(BOLD, node.name()));
        if let Some(origin) = &node.document().origin {
            let _ = write!(out, " {}", style.paint(DIM, &format!("[{origin}]")));
        }
    } else {
        out.push_str(node.name());
    }
    if let Some(ns) = node.namespace() {
        let ns = match ns {
            Namespace::Aws => "aws",
            Namespace::Remote => "remote",
            _ => "local",
        };
        let _ = write!(out, " {}", style.paint(CYAN, &format!("({ns})")));
    }
    let details = details(node);
    if !details.is_empty() {
        let _ = write!(out, "  {details}");
    }
    out.push_str(&flags(
        node.error(),
        node.fault(),
        node.throttle(),
        node.is_in_progress(),
        style,
    ));
    if let Some(message) = node
        .document()
        .cause
        .as_ref()
        .and_then(|c| c.exceptions().first())
        .and_then(|e| e.message.as_deref())
    {
        let _ = write!(out, " {}", style.paint(RED, &shorten(message, 80)));
    }
    if !node.annotations().is_empty() {
        let list: Vec<String> = node
            .annotations()
            .iter()
            .map(|(k, v)| match v {
                AnnotationValue::String(s) => format!("{k}={}", shorten(s, 40)),
                AnnotationValue::Number(n) => format!("{k}={n}"),
                AnnotationValue::Bool(b) => format!("{k}={b}"),
                other => format!("{k}={other:?}"),
            })
            .collect();
        let _ = write!(
            out,
            "  {}",
            style.paint(DIM, &format!("{{{}}}", list.join(", ")))
        );
    }
    out.push('\n');
    let child_prefix = match last {
        None => prefix.to_owned(),
        Some(true) => format!("{prefix}   "),
        Some(false) => format!("{prefix}│  "),
    };
    let n = node.children().len();
    for (i, child) in node.children().iter().enumerate() {
        node_lines(out, child, &child_prefix, Some(i + 1 == n), offset, style);
    }
}

/// What the call was: HTTP method, URL and status; AWS operation and resource; SQL query.
fn details(node: &TraceNode) -> String {
    let doc = node.document();
    let mut parts = Vec::new();
    if let Some(aws) = &doc.aws {
        if let Some(op) = &aws.operation {
            parts.push(op.clone());
        }
        if let Some(table) = &aws.table_name {
            parts.push(format!("table={table}"));
        }
        if let Some(queue) = &aws.queue_url {
            parts.push(format!("queue={}", shorten(queue, 60)));
        }
    }
    if let Some(query) = doc.sql.as_ref().and_then(|s| s.sanitized_query.as_ref()) {
        parts.push(shorten(query.trim(), 60));
    }
    if let Some(http) = &doc.http {
        let request = http.request.as_ref();
        let mut call = String::new();
        if let Some(m) = request.and_then(|r| r.method.as_ref()) {
            call.push_str(m);
        }
        if let Some(u) = request.and_then(|r| r.url.as_ref()) {
            if !call.is_empty() {
                call.push(' ');
            }
            call.push_str(&shorten(u, 80));
        }
        if let Some(status) = node.http_status() {
            if !call.is_empty() {
                call.push(' ');
            }
            let _ = write!(call, "→ {status}");
        }
        if !call.is_empty() {
            parts.push(call);
        }
    }
    parts.join("  ")
}

pub(crate) fn graph(graph: &ServiceGraph, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        style.paint(
            BOLD,
            &format!(
                "service graph  {} trace{}, {} node{}, {} edge{}",
                graph.trace_count(),
                plural(graph.trace_count()),
                graph.nodes().len(),
                plural(graph.nodes().len()),
                graph.edges().len(),
                plural(graph.edges().len()),
            )
        )
    );
    if graph.is_empty() {
        let _ = writeln!(out, "  (no traces yet)");
        return out;
    }
    let name_of = |id: &str| {
        graph
            .node(id)
            .map_or_else(|| id.to_owned(), |n| n.name().to_owned())
    };
    let mut rows: Vec<(String, &CallStats)> = Vec::new();
    for node in graph.nodes() {
        let kind = match node.node_type() {
            Some(t) if t != node.kind().as_str() => format!("{}, {t}", node.kind()),
            _ => node.kind().to_string(),
        };
        rows.push((format!("{}  ({kind})", node.name()), node.stats()));
    }
    let node_rows = rows.len();
    for edge in graph.edges() {
        rows.push((
            format!("{} → {}", name_of(edge.from()), name_of(edge.to())),
            edge.stats(),
        ));
    }
    let width = rows
        .iter()
        .map(|(label, _)| label.chars().count())
        .max()
        .unwrap_or(0)
        .max(5);
    let heading = |title: &str| {
        format!(
            "  {title:<width$}  {:>8}  {:>10}  {:>10}  {:>11}  {:>11}  {:>11}",
            "requests", "avg", "p95", "errors", "faults", "throttles"
        )
    };
    let _ = writeln!(out, "{}", style.paint(DIM, &heading("nodes")));
    for (i, (label, stats)) in rows.iter().enumerate() {
        if i == node_rows {
            let _ = writeln!(out, "{}", style.paint(DIM, &heading("edges")));
        }
        let pad = width.saturating_sub(label.chars().count());
        let _ = write!(out, "  {label}{}  {:>8}", " ".repeat(pad), stats.requests());
        let time = |d: Option<Duration>| d.map_or_else(|| "-".to_owned(), duration);
        let _ = write!(
            out,
            "  {:>10}  {:>10}",
            time(stats.avg()),
            time(stats.p95())
        );
        for (n, rate, color) in [
            (stats.errors(), stats.error_rate(), YELLOW),
            (stats.faults(), stats.fault_rate(), RED),
            (stats.throttles(), stats.throttle_rate(), MAGENTA),
        ] {
            let cell = if n == 0 {
                "0".to_owned()
            } else {
                format!("{n} ({:.0}%)", rate * 100.0)
            };
            let padded = format!("{cell:>11}");
            let painted = if n == 0 {
                padded
            } else {
                style.paint(color, &padded)
            };
            let _ = write!(out, "  {painted}");
        }
        out.push('\n');
    }
    if graph.unattributed_calls() > 0 {
        let _ = writeln!(
            out,
            "  {}",
            style.paint(
                DIM,
                &format!(
                    "{} downstream call(s) left out: their segment was not received",
                    graph.unattributed_calls()
                )
            )
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration(Duration::from_micros(12_345)), "12.3 ms");
        assert_eq!(duration(Duration::from_millis(1_250)), "1.25 s");
        assert_eq!(duration(Duration::ZERO), "0.0 ms");
    }

    #[test]
    fn plain_has_no_escapes() {
        assert_eq!(Style::Plain.paint(RED, "x"), "x");
        assert_eq!(Style::Color.paint(RED, "x"), "\x1b[31mx\x1b[0m");
        assert_eq!(shorten("abcdef", 3), "abc…");
        assert_eq!(shorten("abc", 3), "abc");
    }
}
