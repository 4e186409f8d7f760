//! Live segments and subsegments.
//!
//! A [`Segment`] is the work one service does for one request; a [`Subsegment`] is a piece of it
//! (a downstream call, a query, a block of local work). Both are *guards*: they end when dropped
//! (or with [`Segment::end`]), so a cancelled future or an early return still closes them — and
//! a guard dropped by a panic's unwinding marks its entity `fault`, with a cause of type
//! [`PANIC_EXCEPTION_TYPE`] (as does a panic inside [`Entity::in_scope`] or a future run with
//! [`XrayFutureExt::in_entity`](crate::XrayFutureExt), even when something catches it). Both
//! dereference to [`Entity`], a cheap clonable handle that context propagation, adapters and user
//! code pass around to add annotations, metadata, errors and `http`/`aws`/`sql` data.
//!
//! Subsegments nest to any depth and may be begun and ended concurrently from any thread. A
//! segment is sent when it and every subsegment under it have ended; when a segment holds more
//! than the configured number of subsegments (the streaming threshold), completed subtrees are
//! sent early as independent subsegment documents.
//!
//! When a request is not sampled, entities still carry a trace id and an id (so the decision goes
//! downstream in the trace header) but record nothing, allocate nothing and take no lock.
//!
//! # Examples
//!
//! ```
//! use xray_core::{Recorder, emit::MemoryEmitter};
//!
//! let emitter = MemoryEmitter::new();
//! let recorder = Recorder::builder().emitter(emitter.clone()).sample_all().build()?;
//!
//! let segment = recorder.begin_segment("checkout");
//! segment.annotate("customer_tier", "gold");
//! {
//!     let query = segment.begin_subsegment("orders@db.internal");
//!     query.update(|d| d.sql_mut().sanitized_query = Some("SELECT * FROM orders WHERE id = $1".into()));
//! } // dropped: ended
//! segment.end();
//!
//! let docs = emitter.documents();
//! assert_eq!(docs.len(), 1);
//! assert_eq!(docs[0].subsegments[0].name, "orders@db.internal");
//! # Ok::<(), xray_core::ConfigError>(())
//! ```

mod data;
pub(crate) mod tree;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;

pub use self::data::{
    DEFAULT_METADATA_NAMESPACE, EntityData, MAX_ANNOTATION_KEY_CHARS, MAX_ANNOTATION_VALUE_CHARS,
    MAX_NAME_CHARS, sanitize_annotation_key, sanitize_name,
};
use self::tree::{Deferred, NodeRef, Tree};
use crate::header::TraceHeader;
use crate::id::{SegmentId, TraceId};
use crate::model::{AnnotationValue, Cause, Document, Exception, Namespace, Timestamp};

/// The `type` of the exception recorded on an entity when code running under it panics.
pub const PANIC_EXCEPTION_TYPE: &str = "panic";

/// A handle to a segment or subsegment: clone it freely, keep it in a request extension or the
/// async context, use it from any thread.
///
/// A handle never ends its entity; the [`Segment`] or [`Subsegment`] guard does.
#[derive(Clone)]
pub struct Entity {
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    /// Sampled: a node of a live tree.
    Recording { tree: Arc<Tree>, node: NodeRef },
    /// Not sampled: nothing is recorded, but ids go downstream (`Sampled=0`).
    NotSampled { header: TraceHeader },
    /// The SDK is disabled: no ids, no header.
    Disabled,
}

impl Entity {
    pub(crate) fn recording(tree: Arc<Tree>, node: NodeRef) -> Self {
        Self {
            inner: Inner::Recording { tree, node },
        }
    }

    pub(crate) fn not_sampled(header: TraceHeader) -> Self {
        Self {
            inner: Inner::NotSampled { header },
        }
    }

    /// A handle that records nothing and propagates nothing (what every API returns when the SDK
    /// is disabled).
    pub const fn disabled() -> Self {
        Self {
            inner: Inner::Disabled,
        }
    }

    /// Whether this entity is sampled, i.e. will be sent.
    pub fn is_sampled(&self) -> bool {
        matches!(self.inner, Inner::Recording { .. })
    }

    /// The trace id, unless the SDK is disabled.
    pub fn trace_id(&self) -> Option<TraceId> {
        match &self.inner {
            Inner::Recording { tree, .. } => Some(tree.trace_id),
            Inner::NotSampled { header } => Some(header.root()),
            Inner::Disabled => None,
        }
    }

    /// This entity's id, unless the SDK is disabled.
    pub fn id(&self) -> Option<SegmentId> {
        match &self.inner {
            Inner::Recording { node, .. } => Some(node.id),
            Inner::NotSampled { header } => header.parent(),
            Inner::Disabled => None,
        }
    }

    /// The `X-Amzn-Trace-Id` header for a downstream call made by this entity: `Root`, `Parent` =
    /// this entity's id, `Sampled=1|0`, and the extra keys (`Lineage`) of the incoming header.
    ///
    /// `None` when the SDK is disabled.
    pub fn trace_header(&self) -> Option<TraceHeader> {
        match &self.inner {
            Inner::Recording { tree, node } => Some(tree.header_for(node.id)),
            Inner::NotSampled { header } => Some(header.clone()),
            Inner::Disabled => None,
        }
    }

    /// Begins a subsegment under this entity. End it by dropping it or with
    /// [`Subsegment::end`].
    ///
    /// The name is sanitized like every name (see [`sanitize_name`]). Under an unsampled entity
    /// the subsegment gets a fresh id (so downstream calls name it as their parent) and records
    /// nothing.
    pub fn begin_subsegment(&self, name: &str) -> Subsegment {
        self.begin_subsegment_with(name, |_| {})
    }

    /// The entity of a child of an entity that records nothing (unsampled or disabled): a fresh
    /// id for the header, so that downstream calls name it as their parent.
    fn unrecorded_child(&self) -> Entity {
        match &self.inner {
            // A header without a parent (Lambda's pass-through mode) propagates the root alone.
            Inner::NotSampled { header } => match header.parent() {
                Some(parent) => Entity::not_sampled(
                    header
                        .clone()
                        .with_parent(SegmentId::unsampled(parent.to_u64())),
                ),
                None => Entity::not_sampled(header.clone()),
            },
            _ => Entity::disabled(),
        }
    }

    /// [`begin_subsegment`](Self::begin_subsegment), with `f` run on the new subsegment's data
    /// before it joins the trace: for integrations that set several fields when a call begins
    /// (one lock taken instead of two). `f` is not called when nothing is recorded.
    ///
    /// ```
    /// # let recorder = xray_core::Recorder::builder().sample_all().ignore_env().build().unwrap();
    /// # let segment = recorder.begin_segment("orders");
    /// use xray_core::model::Namespace;
    ///
    /// let call = segment.begin_subsegment_with("DynamoDB", |d| {
    ///     d.set_namespace(Namespace::Aws);
    ///     d.aws_mut().operation = Some("GetItem".to_owned());
    /// });
    /// call.end_with(|d| d.set_http_status(200));
    /// ```
    pub fn begin_subsegment_with(
        &self,
        name: &str,
        f: impl FnOnce(&mut EntityData<'_>),
    ) -> Subsegment {
        let entity = match &self.inner {
            Inner::Recording { tree, node } => {
                let mut doc =
                    Document::new(sanitize_name(name), SegmentId::new(), tree.clock.now());
                f(&mut EntityData { doc: &mut doc });
                match tree.begin_child(*node, doc) {
                    Some(child) => Entity::recording(tree.clone(), child),
                    None => Entity::disabled(),
                }
            }
            _ => self.unrecorded_child(),
        };
        Subsegment {
            entity,
            ended: false,
        }
    }

    /// Begins a subsegment that is recorded in one step when it ends: see [`PendingSubsegment`].
    ///
    /// Takes no lock and allocates nothing: it notes the start time and picks the id that
    /// downstream calls name as their parent.
    pub fn begin_pending_subsegment(
        &self,
        name: impl Into<Cow<'static, str>>,
    ) -> PendingSubsegment {
        let inner = match &self.inner {
            Inner::Recording { tree, node } => PendingInner::Recording {
                tree: tree.clone(),
                parent: *node,
                id: SegmentId::new(),
                start: tree.clock.now(),
                name: name.into(),
            },
            _ => PendingInner::Other(self.unrecorded_child()),
        };
        PendingSubsegment { inner }
    }

    /// Runs `f` with mutable access to the document, under the entity's lock, and returns its
    /// result; `None` when the entity is not recording (unsampled, disabled, or already sent).
    ///
    /// Use it to set several things at once. Do not use this entity (or another entity of the
    /// same trace) from inside `f`: such calls are ignored and logged.
    pub fn update<R>(&self, f: impl FnOnce(&mut EntityData<'_>) -> R) -> Option<R> {
        match &self.inner {
            Inner::Recording { tree, node } => {
                tree.with_doc(*node, |doc| f(&mut EntityData { doc }))
            }
            _ => None,
        }
    }

    /// Adds an indexed annotation.
    ///
    /// Keys may only hold ASCII letters, digits and `_`: other characters are replaced with `_`
    /// (as the OpenTelemetry collector does) and an empty key is dropped with a warning. String
    /// values are cut to 1000 characters; NaN and infinite numbers are sent as strings.
    pub fn annotate(&self, key: &str, value: impl Into<AnnotationValue>) {
        if self.is_sampled() {
            self.update(|d| d.annotate(key, value));
        }
    }

    /// Adds metadata in the `default` namespace. The value may be anything `serde` can serialize.
    pub fn add_metadata<T: Serialize + ?Sized>(&self, key: &str, value: &T) {
        self.add_metadata_in(DEFAULT_METADATA_NAMESPACE, key, value);
    }

    /// Adds metadata in a namespace. The namespace `aws` and namespaces starting with `AWS.` are
    /// reserved for AWS and are refused with a warning.
    pub fn add_metadata_in<T: Serialize + ?Sized>(&self, namespace: &str, key: &str, value: &T) {
        if self.is_sampled() {
            self.update(|d| d.add_metadata(namespace, key, value));
        }
    }

    /// Records an error (with its `source()` chain as nested causes) and marks a fault.
    pub fn record_error<E: std::error::Error + ?Sized>(&self, error: &E) {
        if self.is_sampled() {
            self.update(|d| d.record_error(error));
        }
    }

    /// Records an error with the frames of a backtrace captured where it happened; see
    /// [`EntityData::record_error_with_backtrace`].
    pub fn record_error_with_backtrace<E: std::error::Error + ?Sized>(
        &self,
        error: &E,
        backtrace: &std::backtrace::Backtrace,
    ) {
        if self.is_sampled() {
            self.update(|d| d.record_error_with_backtrace(error, backtrace));
        }
    }

    /// Records an HTTP status and the flags it implies (see [`EntityData::set_http_status`]).
    pub fn set_http_status(&self, status: u16) {
        if self.is_sampled() {
            self.update(|d| d.set_http_status(status));
        }
    }

    /// Sets the subsegment namespace (`aws` or `remote` for downstream calls).
    pub fn set_namespace(&self, namespace: Namespace) {
        if self.is_sampled() {
            self.update(|d| d.set_namespace(namespace));
        }
    }

    /// Sets the end user (indexed).
    pub fn set_user(&self, user: impl Into<String>) {
        if self.is_sampled() {
            let user = user.into();
            self.update(|d| d.set_user(user));
        }
    }

    /// Makes this entity the current one while `f` runs (see [`crate::context`]).
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = crate::context::set_current(self.clone());
        f()
    }

    /// Marks this entity as failed by a panic: `fault`, and a cause whose exception has the type
    /// [`PANIC_EXCEPTION_TYPE`] (once, however many guards saw the same panic go by).
    ///
    /// Called by the guards that see a thread unwind: a segment or subsegment dropped by the
    /// unwinding, and the context of [`XrayFutureExt::in_entity`](crate::XrayFutureExt) or
    /// [`Entity::in_scope`] when the code under it panics. The panic message is not available
    /// there; it is in the application's own panic output.
    pub(crate) fn record_panic(&self) {
        if !self.is_sampled() {
            return;
        }
        self.update(|d| {
            d.set_fault(true);
            let recorded = matches!(&d.document().cause, Some(Cause::Details(c))
                if c.exceptions.iter().any(|e| e.kind.as_deref() == Some(PANIC_EXCEPTION_TYPE)));
            if !recorded {
                let mut e =
                    Exception::new("panicked (the message is in the application's panic output)");
                e.kind = Some(PANIC_EXCEPTION_TYPE.to_owned());
                d.add_exceptions([e]);
            }
        });
    }

    /// Ends the entity from a guard's `Drop`: a guard dropped by a panic's unwinding records the
    /// panic first.
    fn end_from_drop(&self) {
        if std::thread::panicking() {
            self.record_panic();
        }
        self.end_at(None);
    }

    fn end_at(&self, end_time: Option<Timestamp>) {
        self.end_with(end_time, |_| {});
    }

    /// Ends the entity with `f` run on its data first, under the same lock.
    fn end_with(&self, end_time: Option<Timestamp>, f: impl FnOnce(&mut EntityData<'_>)) {
        if let Inner::Recording { tree, node } = &self.inner {
            let end = end_time.unwrap_or_else(|| tree.clock.now());
            tree.end_with(*node, end, |doc| f(&mut EntityData { doc }));
        }
    }
}

impl fmt::Debug for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Recording { tree, node } => f
                .debug_struct("Entity")
                .field("trace_id", &tree.trace_id)
                .field("id", &node.id)
                .field("sampled", &true)
                .finish(),
            Inner::NotSampled { header } => f
                .debug_struct("Entity")
                .field("trace_id", &header.root())
                .field("id", &header.parent())
                .field("sampled", &false)
                .finish(),
            Inner::Disabled => f.write_str("Entity(disabled)"),
        }
    }
}

/// A segment: the work of one service for one request. Ends when dropped.
///
/// Dereferences to [`Entity`] for annotations, metadata and the rest.
#[must_use = "a segment ends (and is sent) as soon as it is dropped"]
#[derive(Debug)]
pub struct Segment {
    entity: Entity,
    ended: bool,
}

impl Segment {
    pub(crate) fn new(entity: Entity) -> Self {
        Self {
            entity,
            ended: false,
        }
    }

    /// The handle to this segment.
    pub fn entity(&self) -> &Entity {
        &self.entity
    }

    /// Ends the segment now. It is sent once all its subsegments have ended too.
    pub fn end(mut self) {
        self.ended = true;
        self.entity.end_at(None);
    }

    /// Ends the segment at a given time.
    pub fn end_at(mut self, end_time: Timestamp) {
        self.ended = true;
        self.entity.end_at(Some(end_time));
    }
}

impl std::ops::Deref for Segment {
    type Target = Entity;
    fn deref(&self) -> &Entity {
        &self.entity
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        if !self.ended {
            self.entity.end_from_drop();
        }
    }
}

/// A subsegment recorded in one step when it ends, for instrumentation on a hot path (the AWS SDK
/// interceptor uses it for every call).
///
/// Beginning it takes no lock and builds nothing: it holds the parent, an id and the start time.
/// [`end_with`](Self::end_with) adds the ended subsegment to the trace under one lock, with a
/// closure that writes its fields *when the trace is sent* (after the segment ends, or when the
/// subsegment is streamed), so the data a call records can be kept as the plain values it was
/// captured as and turned into the document's strings, maps and blocks off the call's path.
///
/// Unlike a [`Subsegment`], it is not part of the trace while it runs: it cannot have children
/// (it is never the current entity), a segment does not wait for it, and if its parent is sent
/// first it is sent on its own, naming its parent (valid X-Ray, as for any subsegment that
/// outlives its parent). Dropped without `end_with` (a cancelled call), it is recorded with its
/// name and times only.
///
/// ```
/// # let emitter = xray_core::emit::MemoryEmitter::new();
/// # let recorder = xray_core::Recorder::builder().emitter(emitter.clone()).sample_all().ignore_env().build().unwrap();
/// use xray_core::model::Namespace;
///
/// let segment = recorder.begin_segment("orders");
/// let call = segment.begin_pending_subsegment("DynamoDB");
/// let header = call.trace_header(); // for the outgoing request
/// let status: u16 = 200; // what the call returned, as plain values
/// call.end_with(move |d| {
///     d.set_namespace(Namespace::Aws);
///     d.aws_mut().operation = Some("GetItem".to_owned());
///     d.set_http_status(status);
/// });
/// segment.end();
/// assert_eq!(emitter.documents()[0].subsegments[0].name, "DynamoDB");
/// ```
#[must_use = "a pending subsegment is recorded as soon as it is dropped"]
#[derive(Debug)]
pub struct PendingSubsegment {
    inner: PendingInner,
}

#[derive(Debug)]
enum PendingInner {
    Recording {
        tree: Arc<Tree>,
        parent: NodeRef,
        id: SegmentId,
        start: Timestamp,
        name: Cow<'static, str>,
    },
    /// Unsampled or disabled: the entity a plain subsegment would have (ids for the header).
    Other(Entity),
    /// Ended.
    Done,
}

impl PendingSubsegment {
    /// Whether it will be sent (the parent is sampled).
    pub fn is_sampled(&self) -> bool {
        matches!(self.inner, PendingInner::Recording { .. })
    }

    /// Its id, unless the SDK is disabled.
    pub fn id(&self) -> Option<SegmentId> {
        match &self.inner {
            PendingInner::Recording { id, .. } => Some(*id),
            PendingInner::Other(entity) => entity.id(),
            PendingInner::Done => None,
        }
    }

    /// The `X-Amzn-Trace-Id` header for the downstream call it traces (`Parent` = its id), as
    /// [`Entity::trace_header`] gives it for a subsegment.
    pub fn trace_header(&self) -> Option<TraceHeader> {
        match &self.inner {
            PendingInner::Recording { tree, id, .. } => Some(tree.header_for(*id)),
            PendingInner::Other(entity) => entity.trace_header(),
            PendingInner::Done => None,
        }
    }

    /// Ends it now and adds it to the trace. `write` fills in its fields when the trace is sent
    /// (possibly on another thread); it is not called when nothing is recorded. As inside
    /// [`Entity::update`], do not use entities of the same trace from `write`. A panic in
    /// `write` is caught and logged: the subsegment is sent with what was written before it.
    pub fn end_with(mut self, write: impl FnOnce(&mut EntityData<'_>) + Send + 'static) {
        self.finish(Box::new(write));
    }

    /// Ends it now with nothing more than its name and times.
    pub fn end(mut self) {
        self.finish(Box::new(|_| {}));
    }

    /// Drops it without recording anything: for work that turned out not to be a call (the AWS
    /// SDK's presigning runs an operation up to signing and sends nothing).
    pub fn discard(mut self) {
        self.inner = PendingInner::Done;
    }

    fn finish(&mut self, write: Box<dyn FnOnce(&mut EntityData<'_>) + Send>) {
        if let PendingInner::Recording {
            tree,
            parent,
            id,
            start,
            name,
        } = std::mem::replace(&mut self.inner, PendingInner::Done)
        {
            let end = tree.clock.now();
            tree.add_ended_child(
                parent,
                Deferred {
                    name,
                    id,
                    start,
                    end,
                    write,
                },
            );
        }
    }
}

impl Drop for PendingSubsegment {
    fn drop(&mut self) {
        self.finish(Box::new(|_| {}));
    }
}

/// A subsegment. Ends when dropped.
///
/// Dereferences to [`Entity`] for annotations, metadata and the rest.
#[must_use = "a subsegment ends as soon as it is dropped"]
#[derive(Debug)]
pub struct Subsegment {
    entity: Entity,
    ended: bool,
}

impl Subsegment {
    /// A subsegment that records nothing (for code paths with nothing to trace).
    pub fn disabled() -> Self {
        Self {
            entity: Entity::disabled(),
            ended: false,
        }
    }

    /// The handle to this subsegment.
    pub fn entity(&self) -> &Entity {
        &self.entity
    }

    /// Ends the subsegment now.
    pub fn end(mut self) {
        self.ended = true;
        self.entity.end_at(None);
    }

    /// Ends the subsegment at a given time.
    pub fn end_at(mut self, end_time: Timestamp) {
        self.ended = true;
        self.entity.end_at(Some(end_time));
    }

    /// Ends the subsegment now, with `f` run on its data first: [`Entity::update`] and
    /// [`Subsegment::end`] under one lock, for integrations that record a call's outcome as it
    /// ends. `f` is not called when nothing is recorded; the same rules as for `update` apply
    /// inside it.
    pub fn end_with(mut self, f: impl FnOnce(&mut EntityData<'_>)) {
        self.ended = true;
        self.entity.end_with(None, f);
    }
}

impl std::ops::Deref for Subsegment {
    type Target = Entity;
    fn deref(&self) -> &Entity {
        &self.entity
    }
}

impl Drop for Subsegment {
    fn drop(&mut self) {
        if !self.ended {
            self.entity.end_from_drop();
        }
    }
}
