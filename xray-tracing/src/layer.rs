//! [`XrayLayer`]: `tracing` spans as X-Ray subsegments.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use xray_core::{Entity, Subsegment};

use crate::fields::{EventMessage, Recorded};
use crate::scope;

/// Subsegments currently held by spans, in every layer of the process. While it is zero (no
/// sampled request is inside a span) enter, exit, record and events cost one relaxed load.
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// The span extension holding a span's subsegment.
///
/// The subsegment ends when the extension is dropped: the registry clears a span's extensions
/// as soon as the span closes (the last handle dropped; `CloseGuard`, right after the layers'
/// `on_close`). So the layer needs no `on_close` of its own, which would cost a call per span
/// and, while any traced span is open in the process, a registry lookup of every closing span.
pub(crate) struct XraySpan {
    subsegment: Subsegment,
}

impl XraySpan {
    fn new(subsegment: Subsegment) -> Self {
        LIVE.fetch_add(1, Ordering::Relaxed);
        Self { subsegment }
    }

    pub(crate) fn entity(&self) -> &Entity {
        self.subsegment.entity()
    }
}

impl Drop for XraySpan {
    fn drop(&mut self) {
        // The subsegment (a field) ends right after this.
        LIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

type SpanFilter = Arc<dyn Fn(&Metadata<'_>) -> bool + Send + Sync>;

/// A [`tracing_subscriber::Layer`] that turns `tracing` spans into X-Ray subsegments while an
/// X-Ray segment is current. See the [crate docs](crate) for what is recorded and how.
///
/// # Which spans
///
/// A span becomes a subsegment when all of these hold:
///
/// - its level is at least [`min_level`](Self::min_level) (default `INFO`, so `debug_span!` and
///   `trace_span!` stay out of traces);
/// - its target starts with one of the [`targets`](Self::targets), when any are given (default:
///   every target but `xray`, the SDK's own diagnostics);
/// - the [`span_filter`](Self::span_filter) closure, if any, returns `true`;
/// - it is created under a sampled X-Ray entity: an explicit `parent:` span that has a
///   subsegment, or else the current entity ([`xray_core::context::current`]).
///
/// `tracing_subscriber`'s per-layer filters work too, e.g.
/// `XrayLayer::new().with_filter(tracing_subscriber::filter::Targets::new().with_target("app", Level::DEBUG))`
/// (the `Targets`/`EnvFilter` types need tracing-subscriber's `registry` plus `std`/`env-filter`
/// features); spans a per-layer filter rejects are skipped and their children nest under the
/// nearest traced ancestor.
#[derive(Clone)]
pub struct XrayLayer {
    min_level: Level,
    targets: Option<Arc<[String]>>,
    filter: Option<SpanFilter>,
    error_events: bool,
}

impl Default for XrayLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for XrayLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XrayLayer")
            .field("min_level", &self.min_level)
            .field("targets", &self.targets)
            .field("span_filter", &self.filter.as_ref().map(|_| ".."))
            .field("error_events", &self.error_events)
            .finish()
    }
}

impl XrayLayer {
    /// The layer with the defaults: spans at `INFO` and above, of every target but `xray`; ERROR
    /// events mark their span's subsegment.
    pub fn new() -> Self {
        Self {
            min_level: Level::INFO,
            targets: None,
            filter: None,
            error_events: true,
        }
    }

    /// Only spans at this level or above (more severe) become subsegments. Default `INFO`.
    #[must_use]
    pub fn min_level(mut self, level: Level) -> Self {
        self.min_level = level;
        self
    }

    /// Only spans whose target (by default the module path) starts with one of these prefixes
    /// become subsegments, e.g. `["my_service"]` to leave the spans of dependencies out.
    #[must_use]
    pub fn targets<I, T>(mut self, targets: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.targets = Some(targets.into_iter().map(Into::into).collect());
        self
    }

    /// A predicate on the span's metadata (name, target, level, fields, file): spans for which it
    /// returns `false` do not become subsegments. Their child spans still can, under the
    /// nearest traced ancestor.
    ///
    /// ```
    /// let layer = xray_tracing::XrayLayer::new().span_filter(|meta| meta.name() != "poll_loop");
    /// # drop(layer);
    /// ```
    #[must_use]
    pub fn span_filter(
        mut self,
        filter: impl Fn(&Metadata<'_>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.filter = Some(Arc::new(filter));
        self
    }

    /// Whether an event at `ERROR` level marks the subsegment of the span it occurs in (the
    /// `error` flag, and an exception with the event's message and `error` field). Default
    /// `true`.
    #[must_use]
    pub fn error_events(mut self, enabled: bool) -> Self {
        self.error_events = enabled;
        self
    }

    /// The filters other than the level (checked first, on its own: it is the cheap one).
    fn wants(&self, meta: &Metadata<'_>) -> bool {
        let target = meta.target();
        match &self.targets {
            Some(targets) => {
                if !targets.iter().any(|t| target.starts_with(t.as_str())) {
                    return false;
                }
            }
            None => {
                if is_sdk_target(target) {
                    return false;
                }
            }
        }
        self.filter.as_ref().is_none_or(|f| f(meta))
    }
}

/// The SDK's own diagnostics (target `xray`) are never traced: recording them could recurse.
fn is_sdk_target(target: &str) -> bool {
    target == "xray" || target.starts_with("xray::")
}

/// The subsegment of `id` or of its nearest ancestor that has one.
fn traced_ancestor<S>(ctx: &Context<'_, S>, id: &Id) -> Option<Entity>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let span = ctx.span(id)?;
    for span in span.scope() {
        if let Some(x) = span.extensions().get::<XraySpan>() {
            return Some(x.entity().clone());
        }
    }
    None
}

// The hooks are split: an inlined check that ends the call when there is nothing to do (no
// sampled request current, no traced span alive), and the work in an outlined function. The
// outlined functions take the `Context` by value: by reference, the caller spilled it to the
// stack before the check, on every span.
impl<S> tracing_subscriber::Layer<S> for XrayLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    #[inline]
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        // One thread-local `bool` first: the common unsampled request stops here, before the
        // level (two loads through the metadata) is looked at.
        let under_sampled = xray_core::context::current_is_sampled()
            || (attrs.parent().is_some() && LIVE.load(Ordering::Relaxed) != 0);
        if !under_sampled {
            return;
        }
        if *attrs.metadata().level() > self.min_level {
            return;
        }
        self.new_span(attrs, id, ctx);
    }

    #[inline]
    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if LIVE.load(Ordering::Relaxed) != 0 {
            record(id, values, ctx);
        }
    }

    #[inline]
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if *event.metadata().level() == Level::ERROR
            && self.error_events
            && LIVE.load(Ordering::Relaxed) != 0
        {
            error_event(event, ctx);
        }
    }

    #[inline]
    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if LIVE.load(Ordering::Relaxed) != 0 {
            enter(id, ctx);
        }
    }

    #[inline]
    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        // A span in this thread's stack holds a subsegment, so it counts in `LIVE`.
        if LIVE.load(Ordering::Relaxed) != 0 {
            exit(id, ctx);
        }
    }
}

impl XrayLayer {
    #[inline(never)]
    fn new_span<S>(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let meta = attrs.metadata();
        // An explicit parent decides; otherwise the current X-Ray entity, which is the
        // subsegment of the entered span, if that one is traced (see `on_enter`).
        let explicit = match attrs.parent() {
            Some(parent) if LIVE.load(Ordering::Relaxed) != 0 => traced_ancestor(&ctx, parent),
            _ => None,
        };
        let Some(parent) = explicit.or_else(xray_core::context::current) else {
            return;
        };
        if !parent.is_sampled() || !self.wants(meta) {
            return;
        }
        let Some(span) = ctx.span(id) else {
            return;
        };
        if span.extensions().get::<XraySpan>().is_some() {
            // Another `XrayLayer` in the same subscriber traced it already.
            return;
        }
        let subsegment = parent.begin_subsegment(meta.name());
        let mut recorded = Recorded::default();
        attrs.record(&mut recorded);
        if !recorded.is_empty() {
            subsegment.update(|d| recorded.apply(d));
        }
        // `replace`, not `insert`, which panics when the type is there already (it is not:
        // checked above, under the same span reference).
        let previous = span.extensions_mut().replace(XraySpan::new(subsegment));
        drop(span);
        drop(previous);
    }
}

/// The subsegment of span `id`, if it has one.
fn entity_of<S>(ctx: &Context<'_, S>, id: &Id) -> Option<Entity>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    ctx.span(id)
        .and_then(|s| s.extensions().get::<XraySpan>().map(|x| x.entity().clone()))
}

#[inline(never)]
fn record<S>(id: &Id, values: &Record<'_>, ctx: Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let Some(entity) = entity_of(&ctx, id) else {
        return;
    };
    let mut recorded = Recorded::default();
    values.record(&mut recorded);
    if !recorded.is_empty() {
        entity.update(|d| recorded.apply(d));
    }
}

#[inline(never)]
fn error_event<S>(event: &Event<'_>, ctx: Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let meta = event.metadata();
    if is_sdk_target(meta.target()) {
        return;
    }
    let Some(entity) = ctx.event_scope(event).and_then(|scope| {
        scope
            .into_iter()
            .find_map(|s| s.extensions().get::<XraySpan>().map(|x| x.entity().clone()))
    }) else {
        return;
    };
    let mut message = EventMessage::default();
    event.record(&mut message);
    let exception = message.into_exception(meta.target());
    entity.update(|d| {
        d.set_error(true);
        d.add_exceptions([exception]);
    });
}

#[inline(never)]
fn enter<S>(id: &Id, ctx: Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    if let Some(entity) = entity_of(&ctx, id) {
        scope::enter(id, entity);
    }
}

#[inline(never)]
fn exit<S>(id: &Id, ctx: Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    scope::exit(id, |id| entity_of(&ctx, id));
}
