//! Trace assembly: documents in, traces out.
//!
//! Every received document is flattened into its entities (the document itself and each
//! embedded subsegment), keyed by entity id within its trace. Trees are rebuilt from the
//! `parent_id`/embedding links whenever a snapshot is asked for, so arrival order never
//! matters: a streamed subsegment that arrives before its parent is simply an orphan until the
//! parent shows up.
//!
//! Versions: the latest document for an entity replaces earlier ones, except that an in-progress
//! version never replaces a completed one (UDP reorders). When a document replaces an earlier
//! version of itself, the entities the earlier version carried embedded are dropped first, so a
//! subsegment that was in progress inside an in-progress segment and later streamed on its own
//! does not linger.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use xray_core::model::{Document, DocumentKind};
use xray_core::{SegmentId, TraceId};

use crate::trace::{EntityKind, Trace, TraceNode};

/// Deeper trees are cut into separate trees, so hostile `parent_id` chains cannot overflow the
/// stack in building, rendering or dropping.
const MAX_DEPTH: usize = 200;

#[derive(Debug, Clone)]
pub(crate) struct StoreConfig {
    pub(crate) quiet_period: Duration,
    pub(crate) incomplete_timeout: Duration,
    pub(crate) max_traces: usize,
    pub(crate) max_entities_per_trace: usize,
    /// Finished traces not updated for this long are dropped (retention by age).
    pub(crate) max_age: Option<Duration>,
}

/// What one insert did, for the counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InsertReport {
    pub(crate) new_trace: bool,
    pub(crate) reopened: bool,
    pub(crate) replaced: u64,
    pub(crate) ignored: u64,
    pub(crate) dropped_entities: u64,
    pub(crate) evicted: u64,
}

#[derive(Debug)]
pub(crate) struct Store {
    config: StoreConfig,
    traces: HashMap<TraceId, TraceState>,
    seq: u64,
    /// Traces dropped for their age since the last `take_expired`.
    expired: u64,
}

#[derive(Debug)]
struct TraceState {
    entities: HashMap<SegmentId, Stored>,
    documents: u64,
    last_update: Instant,
    /// The snapshot handed out when the trace finished; cleared when a late document reopens it.
    finished: Option<Trace>,
}

#[derive(Debug)]
struct Stored {
    /// The entity's document with `subsegments` taken out.
    doc: Document,
    /// The entity it was embedded in, if it arrived embedded.
    container: Option<SegmentId>,
    /// The id of the top-level document that delivered this version.
    source: SegmentId,
    is_segment: bool,
    seq: u64,
}

impl Stored {
    fn is_complete(&self) -> bool {
        !in_progress(&self.doc)
    }

    fn traced(&self) -> bool {
        self.doc.traced == Some(true)
            || self
                .doc
                .http
                .as_ref()
                .and_then(|h| h.request.as_ref())
                .and_then(|r| r.traced)
                == Some(true)
    }
}

fn in_progress(doc: &Document) -> bool {
    doc.in_progress || doc.end_time.is_none()
}

impl Store {
    pub(crate) fn new(config: StoreConfig) -> Self {
        Self {
            config,
            traces: HashMap::new(),
            seq: 0,
            expired: 0,
        }
    }

    /// Adds one top-level document (a segment or an independent subsegment). Documents without
    /// a trace id are ignored; the parser rejects them before they get here.
    pub(crate) fn insert(&mut self, doc: Document, now: Instant) -> InsertReport {
        let mut report = InsertReport::default();
        let Some(trace_id) = doc.trace_id else {
            return report;
        };
        let max_entities = self.config.max_entities_per_trace;
        let next_seq = &mut self.seq;
        let state = self.traces.entry(trace_id).or_insert_with(|| {
            report.new_trace = true;
            TraceState {
                entities: HashMap::new(),
                documents: 0,
                last_update: now,
                finished: None,
            }
        });
        state.documents += 1;
        state.last_update = now;

        let top_id = doc.id;
        let top_is_segment = doc.kind != Some(DocumentKind::Subsegment);
        if let Some(existing) = state.entities.get(&top_id) {
            if existing.is_complete() && in_progress(&doc) {
                report.ignored += 1;
                return report;
            }
            if existing.source == top_id {
                // Forget everything the earlier version of this document carried; the new
                // version says what is there now.
                state.entities.retain(|_, e| e.source != top_id);
                report.replaced += 1;
            }
        }
        if state.finished.take().is_some() {
            report.reopened = true;
        }

        let mut stack = vec![(doc, None::<SegmentId>)];
        while let Some((mut d, container)) = stack.pop() {
            let children = std::mem::take(&mut d.subsegments);
            let id = d.id;
            match state.entities.get(&id) {
                Some(e) if e.is_complete() && in_progress(&d) => report.ignored += 1,
                existing => {
                    if existing.is_some() {
                        report.replaced += 1;
                    } else if state.entities.len() >= max_entities {
                        report.dropped_entities += 1 + children.iter().map(count).sum::<u64>();
                        continue;
                    }
                    let is_segment = container.is_none() && top_is_segment;
                    // Arrival order, and document order within a document: the tie-breaker
                    // for siblings that started in the same microsecond.
                    *next_seq += 1;
                    let seq = *next_seq;
                    state.entities.insert(
                        id,
                        Stored {
                            doc: d,
                            container,
                            source: top_id,
                            is_segment,
                            seq,
                        },
                    );
                }
            }
            stack.extend(children.into_iter().rev().map(|c| (c, Some(id))));
        }
        if self.traces.len() > self.config.max_traces {
            report.evicted = self.evict(trace_id);
        }
        report
    }

    /// Drops the least recently updated traces, finished ones first, never `keep`. It frees a
    /// tenth of the limit at once, so a receiver at its limit sorts once per that many new
    /// traces instead of scanning every trace on every insert.
    fn evict(&mut self, keep: TraceId) -> u64 {
        let target = self.config.max_traces - self.config.max_traces / 10;
        let excess = self.traces.len().saturating_sub(target).max(1);
        let mut candidates: Vec<(bool, Instant, TraceId)> = self
            .traces
            .iter()
            .filter(|(id, _)| **id != keep)
            .map(|(id, s)| (s.finished.is_none(), s.last_update, *id))
            .collect();
        candidates.sort_unstable_by_key(|(open, updated, _)| (*open, *updated));
        let mut evicted = 0;
        for (_, _, id) in candidates.into_iter().take(excess) {
            self.traces.remove(&id);
            evicted += 1;
        }
        evicted
    }

    /// Marks as finished the traces that are complete and quiet, or quiet for so long that
    /// nothing more is expected, and returns them.
    pub(crate) fn sweep(&mut self, now: Instant) -> Vec<Trace> {
        if let Some(max_age) = self.config.max_age {
            let before = self.traces.len();
            self.traces.retain(|_, s| {
                s.finished.is_none() || now.saturating_duration_since(s.last_update) < max_age
            });
            self.expired += (before - self.traces.len()) as u64;
        }
        self.finish(Some(now))
    }

    /// The retention limits: the most traces held and how long a finished trace is kept.
    pub(crate) fn limits(&self) -> (usize, Option<Duration>) {
        (self.config.max_traces, self.config.max_age)
    }

    /// How many traces were dropped for their age since the last call.
    pub(crate) fn take_expired(&mut self) -> u64 {
        std::mem::take(&mut self.expired)
    }

    /// Finishes every open trace now.
    pub(crate) fn finish_all(&mut self) -> Vec<Trace> {
        self.finish(None)
    }

    /// `now: None` finishes everything.
    fn finish(&mut self, now: Option<Instant>) -> Vec<Trace> {
        let mut out = Vec::new();
        for (id, state) in &mut self.traces {
            if state.finished.is_some() {
                continue;
            }
            let done = now.is_none_or(|now| {
                let quiet = now.saturating_duration_since(state.last_update);
                quiet >= self.config.incomplete_timeout
                    || (quiet >= self.config.quiet_period && state.is_complete())
            });
            if done {
                let trace = state.snapshot(*id, true);
                state.finished = Some(trace.clone());
                out.push(trace);
            }
        }
        sort_traces(&mut out);
        out
    }

    /// Every trace in its current state, by start time.
    pub(crate) fn traces(&self) -> Vec<Trace> {
        let mut out: Vec<Trace> = self
            .traces
            .iter()
            .map(|(id, s)| match &s.finished {
                Some(t) => t.clone(),
                None => s.snapshot(*id, false),
            })
            .collect();
        sort_traces(&mut out);
        out
    }

    /// The finished traces, by start time.
    pub(crate) fn finished(&self) -> Vec<Trace> {
        let mut out: Vec<Trace> = self
            .traces
            .values()
            .filter_map(|s| s.finished.clone())
            .collect();
        sort_traces(&mut out);
        out
    }

    pub(crate) fn trace(&self, id: TraceId) -> Option<Trace> {
        let s = self.traces.get(&id)?;
        Some(match &s.finished {
            Some(t) => t.clone(),
            None => s.snapshot(id, false),
        })
    }

    /// (finished, open) trace counts.
    pub(crate) fn counts(&self) -> (usize, usize) {
        let finished = self
            .traces
            .values()
            .filter(|s| s.finished.is_some())
            .count();
        (finished, self.traces.len() - finished)
    }

    pub(crate) fn clear(&mut self) {
        self.traces.clear();
    }

    /// Snapshots every trace as finished: the end of an offline assembly.
    pub(crate) fn into_traces(self) -> Vec<Trace> {
        let mut out: Vec<Trace> = self
            .traces
            .iter()
            .map(|(id, s)| s.snapshot(*id, true))
            .collect();
        sort_traces(&mut out);
        out
    }
}

/// Assembles documents into traces without a receiver, for example the documents a test
/// collected with [`MemoryEmitter`](xray_core::emit::MemoryEmitter).
///
/// The rules are the receiver's (see [`Trace`]); every trace comes out finished, complete or
/// not. Documents without a `trace_id` are skipped.
///
/// # Examples
///
/// ```
/// use xray_core::{Recorder, emit::MemoryEmitter};
///
/// let emitter = MemoryEmitter::new();
/// let recorder = Recorder::builder().emitter(emitter.clone()).sample_all().ignore_env().build()?;
/// let segment = recorder.begin_segment("orders");
/// segment.begin_subsegment("load").end();
/// segment.end();
///
/// let traces = xray_local::assemble(emitter.documents());
/// assert_eq!(traces.len(), 1);
/// assert!(traces[0].is_complete());
/// assert_eq!(traces[0].roots()[0].children()[0].name(), "load");
/// # Ok::<(), xray_core::ConfigError>(())
/// ```
pub fn assemble(documents: impl IntoIterator<Item = Document>) -> Vec<Trace> {
    let mut store = Store::new(StoreConfig {
        quiet_period: Duration::ZERO,
        incomplete_timeout: Duration::ZERO,
        max_traces: usize::MAX,
        max_entities_per_trace: usize::MAX,
        max_age: None,
    });
    let now = Instant::now();
    for doc in documents {
        store.insert(doc, now);
    }
    store.into_traces()
}

fn count(doc: &Document) -> u64 {
    doc.count() as u64
}

fn sort_traces(traces: &mut [Trace]) {
    traces.sort_by(|a, b| {
        let key = |t: &Trace| t.start_time().map_or(f64::MAX, |s| s.as_secs_f64());
        key(a)
            .total_cmp(&key(b))
            .then_with(|| a.trace_id().to_string().cmp(&b.trace_id().to_string()))
    });
}

impl TraceState {
    /// The link an entity hangs from: the entity it was embedded in, else its `parent_id`
    /// (the direct parent of an independent subsegment; the calling subsegment of a segment).
    fn parent(&self, e: &Stored) -> Option<SegmentId> {
        e.container
            .or(e.doc.parent_id)
            .filter(|p| *p != e.doc.id && self.entities.contains_key(p))
    }

    fn is_complete(&self) -> bool {
        let called: HashSet<SegmentId> = self
            .entities
            .values()
            .filter(|e| e.is_segment)
            .filter_map(|e| e.doc.parent_id)
            .collect();
        let mut has_segment = false;
        for e in self.entities.values() {
            if !e.is_complete() {
                return false;
            }
            has_segment |= e.is_segment;
            let needs_parent = e.container.is_none() && e.doc.parent_id.is_some();
            if needs_parent && self.parent(e).is_none() {
                return false;
            }
            if e.traced() && !called.contains(&e.doc.id) {
                return false;
            }
        }
        has_segment
    }

    fn snapshot(&self, trace_id: TraceId, finished: bool) -> Trace {
        let order = |id: &SegmentId| {
            let e = &self.entities[id];
            (e.doc.start_time.as_secs_f64(), e.seq, *id)
        };
        let sort = |ids: &mut Vec<SegmentId>| {
            ids.sort_by(|a, b| {
                let (sa, qa, ia) = order(a);
                let (sb, qb, ib) = order(b);
                sa.total_cmp(&sb).then(qa.cmp(&qb)).then(ia.cmp(&ib))
            });
        };
        let mut children: HashMap<SegmentId, Vec<SegmentId>> = HashMap::new();
        let mut tops = Vec::new();
        for (id, e) in &self.entities {
            match self.parent(e) {
                Some(p) => children.entry(p).or_default().push(*id),
                None => tops.push(*id),
            }
        }
        children.values_mut().for_each(sort);
        sort(&mut tops);

        let mut builder = Builder {
            state: self,
            children: &children,
            visited: HashSet::new(),
        };
        let (mut roots, mut orphans) = (Vec::new(), Vec::new());
        let mut place = |node: TraceNode| {
            if node.is_segment() {
                roots.push(node);
            } else {
                orphans.push(node);
            }
        };
        for id in &tops {
            if let Some(node) = builder.build(*id, 0) {
                place(node);
            }
        }
        // What is left sits in a `parent_id` cycle or below the depth limit: show it as extra
        // trees rather than lose it.
        if builder.visited.len() < self.entities.len() {
            let mut rest: Vec<SegmentId> = self
                .entities
                .keys()
                .filter(|id| !builder.visited.contains(*id))
                .copied()
                .collect();
            sort(&mut rest);
            for id in rest {
                if let Some(node) = builder.build(id, 0) {
                    place(node);
                }
            }
        }
        Trace {
            trace_id,
            roots,
            orphans,
            documents: self.documents,
            complete: self.is_complete(),
            finished,
        }
    }
}

struct Builder<'a> {
    state: &'a TraceState,
    children: &'a HashMap<SegmentId, Vec<SegmentId>>,
    visited: HashSet<SegmentId>,
}

impl Builder<'_> {
    fn build(&mut self, id: SegmentId, depth: usize) -> Option<TraceNode> {
        if depth >= MAX_DEPTH || !self.visited.insert(id) {
            return None;
        }
        let e = self.state.entities.get(&id)?;
        let children = self
            .children
            .get(&id)
            .map(|ids| {
                ids.iter()
                    .filter_map(|c| self.build(*c, depth + 1))
                    .collect()
            })
            .unwrap_or_default();
        Some(TraceNode {
            document: e.doc.clone(),
            kind: if e.is_segment {
                EntityKind::Segment
            } else {
                EntityKind::Subsegment
            },
            children,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xray_core::model::Timestamp;

    fn config() -> StoreConfig {
        StoreConfig {
            quiet_period: Duration::from_millis(100),
            incomplete_timeout: Duration::from_secs(5),
            max_traces: 100,
            max_entities_per_trace: 1000,
            max_age: None,
        }
    }

    fn trace_id() -> TraceId {
        "1-581cf771-a006649127e371903a2de979".parse().unwrap()
    }

    fn doc(name: &str, id: u64, start: f64, end: Option<f64>) -> Document {
        let mut d = Document::new(
            name,
            SegmentId::from_u64(id),
            Timestamp::from_secs_f64(start),
        );
        d.trace_id = Some(trace_id());
        d.end_time = end.map(Timestamp::from_secs_f64);
        d.in_progress = end.is_none();
        d
    }

    fn independent(name: &str, id: u64, parent: u64, start: f64, end: Option<f64>) -> Document {
        let mut d = doc(name, id, start, end);
        d.kind = Some(DocumentKind::Subsegment);
        d.parent_id = Some(SegmentId::from_u64(parent));
        d
    }

    fn names(nodes: &[TraceNode]) -> Vec<String> {
        nodes
            .iter()
            .flat_map(|n| n.iter().with_depth())
            .map(|(n, d)| format!("{}{}", " ".repeat(d), n.name()))
            .collect()
    }

    #[test]
    fn order_does_not_matter() {
        let now = Instant::now();
        let mut seg = doc("svc", 1, 1.0, Some(2.0));
        seg.subsegments.push(doc("embedded", 2, 1.1, Some(1.2)));
        let parts = [
            independent("grandchild", 4, 3, 1.35, Some(1.4)),
            independent("streamed", 3, 1, 1.3, Some(1.5)),
            seg,
        ];
        let mut expected = None;
        // Every arrival order gives the same tree.
        for perm in [[0, 1, 2], [2, 1, 0], [1, 0, 2], [2, 0, 1]] {
            let mut store = Store::new(config());
            for i in perm {
                store.insert(parts[i].clone(), now);
            }
            let t = store.trace(trace_id()).unwrap();
            assert!(t.is_complete());
            assert!(t.orphans().is_empty());
            let got = names(t.roots());
            assert_eq!(got, ["svc", " embedded", " streamed", "  grandchild"]);
            if let Some(e) = &expected {
                assert_eq!(&got, e);
            }
            expected = Some(got);
        }
    }

    #[test]
    fn orphans_until_the_parent_arrives() {
        let now = Instant::now();
        let mut store = Store::new(config());
        store.insert(independent("early", 3, 1, 1.3, Some(1.5)), now);
        let t = store.trace(trace_id()).unwrap();
        assert!(t.roots().is_empty());
        assert_eq!(t.orphans().len(), 1);
        assert!(!t.is_complete());
        assert!(store.sweep(now + Duration::from_secs(1)).is_empty());
        store.insert(doc("svc", 1, 1.0, Some(2.0)), now);
        assert!(store.trace(trace_id()).unwrap().is_complete());
        assert!(store.sweep(now + Duration::from_millis(50)).is_empty());
        let done = store.sweep(now + Duration::from_millis(150));
        assert_eq!(done.len(), 1);
        assert!(done[0].is_finished());
    }

    #[test]
    fn in_progress_replaced_and_never_regresses() {
        let now = Instant::now();
        let mut store = Store::new(config());
        let mut early = doc("svc", 1, 1.0, None);
        early.subsegments.push(doc("pending", 2, 1.1, None));
        store.insert(early.clone(), now);
        assert!(!store.trace(trace_id()).unwrap().is_complete());
        // The pending subsegment is streamed completed, then the segment completes without it.
        let r = store.insert(independent("pending", 2, 1, 1.1, Some(1.4)), now);
        assert_eq!(r.replaced, 1);
        let r = store.insert(doc("svc", 1, 1.0, Some(2.0)), now);
        assert_eq!(r.replaced, 1);
        let t = store.trace(trace_id()).unwrap();
        assert!(t.is_complete(), "{t}");
        assert_eq!(names(t.roots()), ["svc", " pending"]);
        // A late in-progress copy is ignored.
        let r = store.insert(early, now);
        assert_eq!(r.ignored, 1);
        assert!(store.trace(trace_id()).unwrap().is_complete());
        assert_eq!(store.trace(trace_id()).unwrap().entity_count(), 2);
    }

    #[test]
    fn replacing_a_document_drops_its_old_children() {
        let now = Instant::now();
        let mut store = Store::new(config());
        let mut v1 = doc("svc", 1, 1.0, None);
        v1.subsegments.push(doc("gone", 2, 1.1, None));
        store.insert(v1, now);
        let mut v2 = doc("svc", 1, 1.0, Some(2.0));
        v2.subsegments.push(doc("kept", 3, 1.1, Some(1.2)));
        store.insert(v2, now);
        let t = store.trace(trace_id()).unwrap();
        assert_eq!(names(t.roots()), ["svc", " kept"]);
        assert!(t.is_complete());
    }

    #[test]
    fn downstream_segments_nest_under_the_calling_subsegment() {
        let now = Instant::now();
        let mut store = Store::new(config());
        let mut caller = doc("frontend", 1, 1.0, Some(2.0));
        caller.subsegments.push(doc("backend", 2, 1.1, Some(1.9)));
        let mut callee = doc("backend", 3, 1.2, Some(1.8));
        callee.parent_id = Some(SegmentId::from_u64(2));
        store.insert(callee.clone(), now);
        // The callee alone waits for its caller.
        assert!(!store.trace(trace_id()).unwrap().is_complete());
        store.insert(caller, now);
        let t = store.trace(trace_id()).unwrap();
        assert!(t.is_complete());
        assert_eq!(names(t.roots()), ["frontend", " backend", "  backend"]);
        assert_eq!(t.segments().count(), 2);
    }

    #[test]
    fn cycles_and_deep_chains_do_not_hang_or_overflow() {
        let now = Instant::now();
        let mut store = Store::new(StoreConfig {
            max_entities_per_trace: 5000,
            ..config()
        });
        store.insert(independent("a", 1, 2, 1.0, Some(2.0)), now);
        store.insert(independent("b", 2, 1, 1.0, Some(2.0)), now);
        store.insert(independent("self", 5, 5, 1.0, Some(2.0)), now);
        for i in 10..1010u64 {
            store.insert(independent("deep", i + 1, i, 1.0, Some(2.0)), now);
        }
        let t = store.trace(trace_id()).unwrap();
        assert_eq!(t.entity_count(), 1003);
        assert!(!t.is_complete());
        assert!(!t.render(crate::Style::Plain).is_empty());
    }

    #[test]
    fn limits() {
        let now = Instant::now();
        let mut store = Store::new(StoreConfig {
            max_traces: 2,
            max_entities_per_trace: 2,
            ..config()
        });
        let mut seg = doc("svc", 1, 1.0, Some(2.0));
        seg.subsegments.push(doc("a", 2, 1.0, Some(2.0)));
        seg.subsegments.push(doc("b", 3, 1.0, Some(2.0)));
        assert_eq!(store.insert(seg, now).dropped_entities, 1);
        let mut evicted = 0;
        for i in 0..3u8 {
            let mut d = doc("other", 9, 1.0, Some(2.0));
            d.trace_id = Some(TraceId::from_parts(1, [i; 12]));
            evicted += store
                .insert(d, now + Duration::from_millis(u64::from(i) + 1))
                .evicted;
        }
        assert_eq!(evicted, 2);
        assert_eq!(store.traces().len(), 2);
    }

    #[test]
    fn eviction_frees_a_tenth_oldest_finished_first() {
        let t0 = Instant::now();
        let mut store = Store::new(StoreConfig {
            max_traces: 100,
            ..config()
        });
        let id = |i: u32| TraceId::from_parts(i, [7; 12]);
        for i in 0..100u32 {
            let mut d = doc("svc", 1, 1.0, Some(2.0));
            d.trace_id = Some(id(i));
            store.insert(d, t0 + Duration::from_millis(u64::from(i)));
        }
        // The oldest 50 have been quiet long enough to finish; the newest 50 stay open.
        let finished = store.sweep(t0 + Duration::from_millis(149));
        assert_eq!(finished.len(), 50);
        let mut d = doc("svc", 1, 1.0, Some(2.0));
        d.trace_id = Some(id(1000));
        assert_eq!(store.insert(d, t0 + Duration::from_secs(1)).evicted, 11);
        assert_eq!(store.counts(), (39, 51));
        // The oldest finished went first; every open trace and the newcomer stayed.
        assert!(store.trace(id(0)).is_none() && store.trace(id(10)).is_none());
        assert!(store.trace(id(11)).is_some() && store.trace(id(50)).is_some());
        assert!(store.trace(id(1000)).is_some());
    }

    #[test]
    fn finished_traces_expire_by_age_oldest_first() {
        let t0 = Instant::now();
        let mut store = Store::new(StoreConfig {
            max_age: Some(Duration::from_secs(10)),
            ..config()
        });
        for i in 0..3u8 {
            let mut d = doc("svc", 1, 1.0, Some(2.0));
            d.trace_id = Some(TraceId::from_parts(1, [i; 12]));
            store.insert(d, t0 + Duration::from_secs(u64::from(i) * 4));
        }
        // Open traces stay whatever their age; the sweep finishes them first.
        assert_eq!(store.sweep(t0 + Duration::from_secs(9)).len(), 3);
        assert_eq!(store.take_expired(), 0);
        store.sweep(t0 + Duration::from_secs(15));
        assert_eq!(store.take_expired(), 2);
        assert_eq!(store.take_expired(), 0);
        let left: Vec<TraceId> = store.traces().iter().map(Trace::trace_id).collect();
        assert_eq!(left, [TraceId::from_parts(1, [2; 12])]);
    }

    #[test]
    fn quiet_incomplete_traces_finish_after_the_timeout() {
        let now = Instant::now();
        let mut store = Store::new(config());
        store.insert(doc("svc", 1, 1.0, None), now);
        assert!(store.sweep(now + Duration::from_secs(1)).is_empty());
        let done = store.sweep(now + Duration::from_secs(5));
        assert_eq!(done.len(), 1);
        assert!(!done[0].is_complete());
        // A late document reopens the trace.
        let r = store.insert(doc("svc", 1, 1.0, Some(2.0)), now + Duration::from_secs(6));
        assert!(r.reopened);
        assert_eq!(store.counts(), (0, 1));
    }
}
