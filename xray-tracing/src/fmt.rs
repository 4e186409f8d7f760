//! [`TraceIdFormat`]: X-Ray trace ids in `tracing-subscriber`'s fmt output, text and JSON.

use std::cell::RefCell;
use std::fmt;

use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use xray_core::Entity;

/// The key the X-Ray console looks for in log lines to link them to a trace.
pub const TRACE_ID_KEY: &str = "AWS-XRAY-TRACE-ID";

/// Wraps a fmt layer's event formatter so that every event emitted while an X-Ray entity is
/// current carries `AWS-XRAY-TRACE-ID: 1-…@<entity id>`, the form the X-Ray and CloudWatch
/// consoles use to link log lines to traces (the entity is the segment, or the subsegment of
/// the entered span when [`XrayLayer`](crate::XrayLayer) is installed).
///
/// One line of setup, for text or JSON:
///
/// ```
/// use tracing_subscriber::prelude::*;
///
/// let subscriber = tracing_subscriber::registry()
///     .with(xray_tracing::XrayLayer::new())
///     .with(tracing_subscriber::fmt::layer().map_event_format(xray_tracing::TraceIdFormat::new));
/// # drop(subscriber);
/// ```
///
/// - **Text**: the line starts with `AWS-XRAY-TRACE-ID: 1-…@… ` and goes on as the inner
///   format writes it (colours kept).
/// - **JSON** (`fmt::layer().json()`): the object gets a first key,
///   `"AWS-XRAY-TRACE-ID":"1-…@…"`.
/// - Events outside any traced request are written unchanged.
///
/// By default unsampled requests carry their trace id too (it is the same in every service the
/// request crosses, so logs still correlate); [`sampled_only`](Self::sampled_only) restricts it
/// to requests whose trace is recorded.
#[derive(Debug, Clone)]
pub struct TraceIdFormat<E> {
    inner: E,
    sampled_only: bool,
}

impl<E> TraceIdFormat<E> {
    /// Wraps `inner`, e.g. `tracing_subscriber::fmt::format()` or the layer's current format
    /// through `map_event_format(TraceIdFormat::new)`.
    pub fn new(inner: E) -> Self {
        Self {
            inner,
            sampled_only: false,
        }
    }

    /// Only add the trace id when the request is sampled.
    #[must_use]
    pub fn sampled_only(mut self, sampled_only: bool) -> Self {
        self.sampled_only = sampled_only;
        self
    }

    fn entity(&self) -> Option<Entity> {
        xray_core::context::current().filter(|e| !self.sampled_only || e.is_sampled())
    }
}

/// `1-…@<id>`, or just the trace id when the entity has no id.
struct TraceRef<'a>(&'a Entity);

impl fmt::Display for TraceRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0.trace_id(), self.0.id()) {
            (Some(trace), Some(id)) => write!(f, "{trace}@{id}"),
            (Some(trace), None) => write!(f, "{trace}"),
            _ => Ok(()),
        }
    }
}

thread_local! {
    /// A reused buffer for formatting an event before the trace id is put into it.
    static BUF: RefCell<String> = const { RefCell::new(String::new()) };
}

impl<S, N, E> FormatEvent<S, N> for TraceIdFormat<E>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    E: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let Some(entity) = self.entity().filter(|e| e.trace_id().is_some()) else {
            return self.inner.format_event(ctx, writer, event);
        };
        let trace = TraceRef(&entity);
        // A `Writer` with colours cannot be recreated around a buffer, and coloured output is
        // text: prefix it directly.
        if writer.has_ansi_escapes() {
            write!(writer, "{TRACE_ID_KEY}: {trace} ")?;
            return self.inner.format_event(ctx, writer, event);
        }
        // Format into a buffer to see whether it is a JSON object.
        let borrowed =
            BUF.try_with(|b| b.try_borrow_mut().ok().map(|mut b| std::mem::take(&mut *b)));
        let mut buf = borrowed.ok().flatten().unwrap_or_default();
        buf.clear();
        let result = self.inner.format_event(ctx, Writer::new(&mut buf), event);
        let written = result.and_then(|()| {
            if let Some(rest) = buf.strip_prefix('{') {
                let sep = if rest.trim_start().starts_with('}') {
                    ""
                } else {
                    ","
                };
                write!(writer, "{{\"{TRACE_ID_KEY}\":\"{trace}\"{sep}{rest}")
            } else {
                write!(writer, "{TRACE_ID_KEY}: {trace} {buf}")
            }
        });
        // Keep the allocation for the next event (a nested event on this thread took its own).
        let _ = BUF.try_with(|b| {
            if let Ok(mut b) = b.try_borrow_mut()
                && buf.capacity() <= 64 * 1024
            {
                *b = buf;
            }
        });
        written
    }
}
