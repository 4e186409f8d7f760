//! The in-flight state of one sampled trace tree.
//!
//! One `Tree` per sampled segment (or Lambda facade) holds every open or not-yet-sent entity in a
//! small slab behind one mutex. Handles address nodes by slot and generation, so a stale handle
//! (to a subsegment already streamed out) can never touch a node that reused its slot. Each node
//! counts the open entities in its subtree; when a top-level node's count reaches zero the subtree
//! is complete and is taken out of the slab, then serialized and sent *after* the lock is released.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use crate::header::{Sampled, TraceHeader};
use crate::id::{SegmentId, TraceId};
use crate::model::{Document, DocumentKind, Timestamp};
use crate::recorder::Recorder;
use crate::segment::{EntityData, sanitize_name};

/// Where a node hangs.
#[derive(Debug, Clone, Copy)]
enum Link {
    /// The segment (or facade) itself.
    Root,
    /// A child of the node in this slot.
    Child(u32),
    /// A subsegment begun after its parent had already been sent: it is sent on its own.
    Detached(SegmentId),
}

/// What a subsegment that is written when it is sent holds until then (see
/// [`Tree::add_ended_child`]).
pub(crate) struct Deferred {
    pub(crate) name: Cow<'static, str>,
    pub(crate) id: SegmentId,
    pub(crate) start: Timestamp,
    pub(crate) end: Timestamp,
    pub(crate) write: Box<dyn FnOnce(&mut EntityData<'_>) + Send>,
}

impl Deferred {
    fn into_document(self) -> Document {
        let mut doc = Document::new(sanitize_name(&self.name), self.id, self.start);
        doc.end_time = Some(self.end);
        // The writer runs wherever the trace is sent from (the end of a segment, in application
        // code): a panic in it must not surface there. The subsegment keeps what was written.
        let write = self.write;
        let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            write(&mut EntityData { doc: &mut doc });
        }));
        if written.is_err() {
            tracing::error!(
                target: "xray",
                subsegment = %doc.name,
                "a pending subsegment's writer panicked; the subsegment is sent with what it wrote"
            );
        }
        // Whatever the writer did, the id and times are the ones the trace already knows.
        doc.id = self.id;
        doc.start_time = self.start;
        doc.end_time = Some(self.end);
        doc.in_progress = false;
        doc
    }
}

impl fmt::Debug for Deferred {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deferred")
            .field("name", &self.name)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A node's document: built, or (for a subsegment added when it ended) still to be written.
// Not boxed: nodes are boxed already, and a deferred node's unused bytes cost nothing (the
// allocation is not zeroed).
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum NodeDoc {
    Ready(Document),
    Deferred(Deferred),
}

impl NodeDoc {
    fn id(&self) -> SegmentId {
        match self {
            Self::Ready(doc) => doc.id,
            Self::Deferred(d) => d.id,
        }
    }

    fn into_document(self) -> Document {
        match self {
            Self::Ready(doc) => doc,
            Self::Deferred(d) => d.into_document(),
        }
    }
}

#[derive(Debug)]
struct Node {
    doc: NodeDoc,
    link: Link,
    children: Vec<u32>,
    /// Entities in this subtree, this one included, that have not ended.
    open: u32,
    ended: bool,
}

/// Nodes are boxed so that the slab stays a small vector of pointers: growing it, or moving a
/// node in and out, copies 16 bytes instead of a whole document.
#[derive(Debug)]
struct Slot {
    generation: u32,
    node: Option<Box<Node>>,
}

#[derive(Debug, Default)]
struct State {
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Subsegments that ended before being added ([`Tree::add_ended_child`]) under a parent still
    /// in the slab, in the order they ended. Kept out of the slab until their parent is taken
    /// out, when they join its document: adding one is a push, with no node to allocate and
    /// nothing to climb (an ended leaf completes nothing).
    ended: Vec<(NodeRef, Deferred)>,
    /// Subsegments held in the slab or in `ended` (the root is not counted).
    held: usize,
}

/// A reference to a node: slot, generation and the entity's id (kept so that a child can still
/// name its parent after the parent was sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NodeRef {
    pub(crate) slot: u32,
    pub(crate) generation: u32,
    pub(crate) id: SegmentId,
}

/// Wall-clock time derived from one reading of the system clock plus a monotonic clock, so that
/// durations inside a trace never go negative when the system clock is adjusted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    wall_micros: u64,
    start: Instant,
}

impl Clock {
    pub(crate) fn starting_at(start: Timestamp) -> Self {
        Self {
            wall_micros: start.as_micros(),
            start: Instant::now(),
        }
    }

    pub(crate) fn now(&self) -> Timestamp {
        Timestamp::from_micros(self.wall_micros + self.start.elapsed().as_micros() as u64)
    }
}

#[derive(Debug)]
pub(crate) struct Tree {
    pub(crate) recorder: Recorder,
    pub(crate) trace_id: TraceId,
    /// The incoming header, kept for its extra keys (`Lineage`), which go downstream unchanged.
    pub(crate) incoming: Option<TraceHeader>,
    /// Lambda: the root is never sent; each top-level subsegment is sent as soon as it completes.
    facade: bool,
    pub(crate) clock: Clock,
    state: Mutex<State>,
}

thread_local! {
    /// The tree whose lock this thread holds, to turn re-entrant use (a user closure calling back
    /// into the same entity) into a logged no-op instead of a deadlock.
    static LOCKED: Cell<usize> = const { Cell::new(0) };
}

struct Locked<'a> {
    guard: MutexGuard<'a, State>,
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        let _ = LOCKED.try_with(|l| l.set(0));
    }
}

impl std::ops::Deref for Locked<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        &self.guard
    }
}

impl std::ops::DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut State {
        &mut self.guard
    }
}

/// What an `end` produced, to be sent once the lock is released.
pub(crate) type Outgoing = Vec<Document>;

impl Tree {
    /// Creates a tree whose root is `root` (its id, trace id and start time already set).
    pub(crate) fn new(
        recorder: Recorder,
        root: Document,
        incoming: Option<TraceHeader>,
        facade: bool,
    ) -> (Arc<Tree>, NodeRef) {
        let trace_id = root.trace_id.unwrap_or_default();
        let id = root.id;
        let clock = Clock::starting_at(root.start_time);
        let mut slots = Vec::with_capacity(8);
        slots.push(Slot {
            generation: 0,
            node: Some(Box::new(Node {
                doc: NodeDoc::Ready(root),
                link: Link::Root,
                children: Vec::new(),
                open: 1,
                ended: false,
            })),
        });
        let state = State {
            slots,
            free: Vec::new(),
            ended: Vec::new(),
            held: 0,
        };
        let tree = Arc::new(Tree {
            recorder,
            trace_id,
            incoming,
            facade,
            clock,
            state: Mutex::new(state),
        });
        (
            tree,
            NodeRef {
                slot: 0,
                generation: 0,
                id,
            },
        )
    }

    /// The header for a downstream call made by the sampled entity `id` of this trace: `Root`,
    /// `Parent` = `id`, `Sampled=1`, and the extra keys (`Lineage`) of the incoming header.
    pub(crate) fn header_for(&self, id: SegmentId) -> TraceHeader {
        let h = TraceHeader::new(self.trace_id)
            .with_parent(id)
            .with_sampled(Sampled::Yes);
        match &self.incoming {
            Some(incoming) => h.with_extra_from(incoming),
            None => h,
        }
    }

    fn lock(&self) -> Option<Locked<'_>> {
        let me = self as *const Tree as usize;
        if LOCKED.try_with(|l| l.get() == me).unwrap_or(true) {
            tracing::error!(
                target: "xray",
                "an X-Ray entity was used from inside its own `update` closure; the call was ignored"
            );
            return None;
        }
        // A panic while the lock was held cannot leave the slab inconsistent in a way that matters
        // more than losing the trace, so poisoning is ignored.
        let guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let _ = LOCKED.try_with(|l| l.set(me));
        Some(Locked { guard })
    }

    /// Runs `f` on the document of a live node. Returns `None` when the node is gone (sent).
    pub(crate) fn with_doc<R>(
        &self,
        node: NodeRef,
        f: impl FnOnce(&mut Document) -> R,
    ) -> Option<R> {
        let mut state = self.lock()?;
        match &mut state.get_mut(node)?.doc {
            NodeDoc::Ready(doc) => Some(f(doc)),
            NodeDoc::Deferred(_) => None,
        }
    }

    /// Begins a child of `parent`.
    pub(crate) fn begin_child(&self, parent: NodeRef, doc: Document) -> Option<NodeRef> {
        let id = doc.id;
        let mut state = self.lock()?;
        let (slot, link) = state.attach(parent, NodeDoc::Ready(doc), false);
        if let Link::Child(p) = link {
            state.adjust_open(p, 1);
        }
        let generation = state.slots[slot as usize].generation;
        Some(NodeRef {
            slot,
            generation,
            id,
        })
    }

    /// Runs `f` on a live node's document, then ends the node and sends whatever that completed.
    pub(crate) fn end_with(
        &self,
        node: NodeRef,
        end_time: Timestamp,
        f: impl FnOnce(&mut Document),
    ) {
        let outgoing = {
            let Some(mut state) = self.lock() else {
                return;
            };
            let Some(n) = state.get_mut(node) else {
                return;
            };
            let NodeDoc::Ready(doc) = &mut n.doc else {
                return;
            };
            if n.ended {
                return;
            }
            f(doc);
            doc.end_time = Some(end_time);
            doc.in_progress = false;
            n.ended = true;
            state.adjust_open(node.slot, -1);
            self.collect(&mut state, node.slot)
        };
        for doc in outgoing {
            self.recorder.send_document(doc);
        }
    }

    /// Adds a subsegment that has ended, whose document is written only when it is sent: a call
    /// traced this way takes the lock once, when it ends, and builds nothing on its way.
    ///
    /// Nothing is reserved while the call runs, so a parent may end (and be sent) first; the
    /// subsegment then goes out on its own, naming its parent, like any subsegment that outlives
    /// its parent.
    pub(crate) fn add_ended_child(&self, parent: NodeRef, child: Deferred) {
        let outgoing = {
            let Some(mut state) = self.lock() else {
                return;
            };
            match state.get_mut(parent).map(|n| n.link) {
                // The usual case: the parent is still here. An ended leaf completes nothing, so
                // the child waits in `ended` until its parent is taken out.
                Some(link) if !(self.facade && matches!(link, Link::Root)) => {
                    state.ended.push((parent, child));
                    state.held += 1;
                    let mut out = Vec::new();
                    self.stream_beyond_threshold(&mut state, &mut out);
                    out
                }
                // The parent was sent (the child goes out on its own), or it is a Lambda facade
                // (whose children go out as soon as they complete).
                _ => {
                    let (slot, _) = state.attach(parent, NodeDoc::Deferred(child), true);
                    self.collect(&mut state, slot)
                }
            }
        };
        for doc in outgoing {
            self.recorder.send_document(doc);
        }
    }

    /// Decides what the end of `slot` made ready to send, and takes it out of the slab.
    fn collect(&self, state: &mut State, slot: u32) -> Outgoing {
        let mut out = Vec::new();
        // Climb to the top of the ended node's tree: the root, or a detached subsegment.
        let mut top = slot;
        let mut child_of_root = None;
        while let Some(Link::Child(p)) = state.node_mut(top).map(|n| n.link) {
            if matches!(state.node_mut(p).map(|n| n.link), Some(Link::Root)) {
                child_of_root = Some(top);
            }
            top = p;
        }
        let Some(top_node) = state.node_mut(top) else {
            return out;
        };
        let (top_link, top_open, top_id) = (top_node.link, top_node.open, top_node.doc.id());
        match top_link {
            Link::Root if top_open == 0 => {
                if self.facade {
                    // The facade is never sent; its children already went out one by one.
                    let children = state.node_mut(top).map(|n| std::mem::take(&mut n.children));
                    for c in children.unwrap_or_default() {
                        out.push(self.independent(state.take(c), top_id));
                    }
                    let _ = state.take(top);
                } else {
                    out.push(state.take(top));
                }
                return out;
            }
            Link::Detached(parent_id) if top_open == 0 => {
                out.push(self.independent(state.take(top), parent_id));
                return out;
            }
            _ => {}
        }
        if self.facade {
            if let Some(c) = child_of_root
                && state.node_mut(c).is_some_and(|n| n.open == 0)
            {
                state.unlink(c);
                out.push(self.independent(state.take(c), top_id));
            }
            return out;
        }
        self.stream_beyond_threshold(state, &mut out);
        out
    }

    /// When more subsegments are held than the streaming threshold, streams completed subtrees
    /// (those waiting in `ended` included) until at most the threshold are held.
    fn stream_beyond_threshold(&self, state: &mut State, out: &mut Outgoing) {
        let threshold = self.recorder.streaming_threshold();
        if state.held > threshold {
            state.settle_ended();
            self.stream_completed(state, 0, threshold, out);
        }
    }

    /// Streams completed subtrees under `slot`, oldest first, until at most `threshold`
    /// subsegments are held.
    fn stream_completed(&self, state: &mut State, slot: u32, threshold: usize, out: &mut Outgoing) {
        let Some(node) = state.node_mut(slot) else {
            return;
        };
        let parent_id = node.doc.id();
        let children = node.children.clone();
        for c in children {
            if state.held <= threshold {
                return;
            }
            let Some(child) = state.node_mut(c) else {
                continue;
            };
            if child.open == 0 {
                state.unlink(c);
                let doc = state.take(c);
                out.push(self.independent(doc, parent_id));
            } else if !child.children.is_empty() {
                self.stream_completed(state, c, threshold, out);
            }
        }
    }

    fn independent(&self, mut doc: Document, parent_id: SegmentId) -> Document {
        doc.kind = Some(DocumentKind::Subsegment);
        doc.trace_id = Some(self.trace_id);
        doc.parent_id = Some(parent_id);
        doc
    }
}

impl State {
    fn node_mut(&mut self, slot: u32) -> Option<&mut Node> {
        self.slots.get_mut(slot as usize)?.node.as_deref_mut()
    }

    fn get_mut(&mut self, r: NodeRef) -> Option<&mut Node> {
        let s = self.slots.get_mut(r.slot as usize)?;
        if s.generation != r.generation {
            return None;
        }
        s.node.as_deref_mut()
    }

    fn insert(&mut self, node: Box<Node>) -> u32 {
        if let Some(slot) = self.free.pop() {
            self.slots[slot as usize].node = Some(node);
            slot
        } else {
            self.slots.push(Slot {
                generation: 0,
                node: Some(node),
            });
            (self.slots.len() - 1) as u32
        }
    }

    /// Adds a subsegment node under `parent` (detached when the parent is gone), open or already
    /// ended, and returns its slot and link. Open counts are the caller's.
    fn attach(&mut self, parent: NodeRef, doc: NodeDoc, ended: bool) -> (u32, Link) {
        let link = if self.get_mut(parent).is_some() {
            Link::Child(parent.slot)
        } else {
            Link::Detached(parent.id)
        };
        let slot = self.insert(Box::new(Node {
            doc,
            link,
            children: Vec::new(),
            open: u32::from(!ended),
            ended,
        }));
        self.held += 1;
        if let Link::Child(p) = link
            && let Some(pn) = self.node_mut(p)
        {
            pn.children.push(slot);
        }
        (slot, link)
    }

    /// Adds `delta` to the open count of `slot` and every ancestor up to the top of its tree.
    fn adjust_open(&mut self, mut slot: u32, delta: i32) {
        while let Some(n) = self.node_mut(slot) {
            n.open = n.open.saturating_add_signed(delta);
            match n.link {
                Link::Child(p) => slot = p,
                _ => break,
            }
        }
    }

    /// Removes `slot` from its parent's child list.
    fn unlink(&mut self, slot: u32) {
        if let Some(Link::Child(p)) = self.node_mut(slot).map(|n| n.link)
            && let Some(pn) = self.node_mut(p)
        {
            pn.children.retain(|&c| c != slot);
        }
    }

    /// Takes a subtree out of the slab as one document with its children embedded.
    fn take(&mut self, slot: u32) -> Document {
        let Some(s) = self.slots.get_mut(slot as usize) else {
            return Document::default();
        };
        let Some(node) = s.node.take() else {
            return Document::default();
        };
        s.generation = s.generation.wrapping_add(1);
        self.free.push(slot);
        if !matches!(node.link, Link::Root) {
            self.held = self.held.saturating_sub(1);
        }
        let Node { doc, children, .. } = *node;
        let mut doc = doc.into_document();
        doc.subsegments.reserve(children.len());
        for c in children {
            let child = self.take(c);
            doc.subsegments.push(child);
        }
        // Its subsegments added when they ended. Every take looks, so none outlives its parent's
        // slot (whose reuse would otherwise adopt it).
        if !self.ended.is_empty() {
            let before = self.ended.len();
            doc.subsegments.extend(
                self.ended
                    .extract_if(.., |(parent, _)| parent.slot == slot)
                    .map(|(_, d)| d.into_document()),
            );
            self.held = self.held.saturating_sub(before - self.ended.len());
        }
        doc
    }

    /// Moves the subsegments waiting in `ended` into the slab, as children of their parents, so
    /// that streaming sees them (the rare path: more subsegments held than the threshold).
    fn settle_ended(&mut self) {
        for (parent, d) in std::mem::take(&mut self.ended) {
            // `attach` counts it again.
            self.held = self.held.saturating_sub(1);
            self.attach(parent, NodeDoc::Deferred(d), true);
        }
    }
}
