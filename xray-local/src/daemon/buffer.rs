//! The bounded buffer between the UDP socket and the uploaders.
//!
//! The budget covers every document the daemon holds: waiting in the queue and in an upload
//! that is being retried. When a new document does not fit, the oldest waiting ones are
//! dropped (as the official daemon's ring buffer does); when even an empty queue would not make
//! room (everything held is in uploads), the new document is dropped. Every drop is counted.

use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::metrics::Counters;

#[derive(Debug)]
pub(crate) struct Buffer {
    state: Mutex<State>,
    notify: Notify,
    budget: usize,
    batch_size: usize,
    flush_every: Duration,
    counters: Arc<Counters>,
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<(Instant, String)>,
    queued_bytes: usize,
    in_flight_docs: usize,
    in_flight_bytes: usize,
    closed: bool,
}

/// Documents taken out of the buffer for one upload; their bytes count against the budget
/// until [`Buffer::release`].
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) docs: Vec<String>,
    bytes: usize,
}

impl Buffer {
    pub(crate) fn new(
        budget: usize,
        batch_size: usize,
        flush_every: Duration,
        counters: Arc<Counters>,
    ) -> Self {
        Self {
            state: Mutex::new(State::default()),
            notify: Notify::new(),
            budget,
            batch_size,
            flush_every,
            counters,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not stop the daemon: the state stays consistent between
        // statements, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a document, dropping the oldest waiting ones when the budget is exceeded.
    pub(crate) fn push(&self, doc: String) {
        let len = doc.len();
        let wake = {
            let mut s = self.lock();
            if s.closed {
                drop(s);
                self.counters.failed.fetch_add(1, Relaxed);
                return;
            }
            let mut dropped = 0;
            while s.queued_bytes + s.in_flight_bytes + len > self.budget {
                let Some((_, old)) = s.queue.pop_front() else {
                    break;
                };
                s.queued_bytes -= old.len();
                dropped += 1;
            }
            if s.queued_bytes + s.in_flight_bytes + len > self.budget {
                dropped += 1;
            } else {
                s.queued_bytes += len;
                s.queue.push_back((Instant::now(), doc));
                self.counters.accepted.fetch_add(1, Relaxed);
            }
            if dropped > 0 {
                self.counters.dropped.fetch_add(dropped, Relaxed);
            }
            // Wake the uploaders when a full batch is ready, or to start the flush timer.
            s.queue.len() == self.batch_size || s.queue.len() == 1
        };
        if wake {
            self.notify.notify_waiters();
        }
    }

    /// Waits for the next batch: a full one, or whatever waits once the oldest document has
    /// waited `flush_every`, or whatever is left after [`close`](Self::close). `None` when
    /// closed and empty.
    pub(crate) async fn next_batch(&self) -> Option<Batch> {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let deadline = {
                let mut s = self.lock();
                match s.queue.front() {
                    Some((since, _))
                        if !s.closed
                            && s.queue.len() < self.batch_size
                            && *since + self.flush_every > Instant::now() =>
                    {
                        Some(*since + self.flush_every)
                    }
                    None if s.closed => return None,
                    Some(_) => {
                        let n = s.queue.len().min(self.batch_size);
                        let mut docs = Vec::with_capacity(n);
                        let mut bytes = 0;
                        for (_, doc) in s.queue.drain(..n) {
                            bytes += doc.len();
                            docs.push(doc);
                        }
                        s.queued_bytes -= bytes;
                        s.in_flight_bytes += bytes;
                        s.in_flight_docs += docs.len();
                        return Some(Batch { docs, bytes });
                    }
                    None => None,
                }
            };
            match deadline {
                Some(at) => {
                    tokio::select! {
                        () = &mut notified => {},
                        () = tokio::time::sleep_until(at) => {},
                    }
                }
                None => notified.await,
            }
        }
    }

    /// The batch's documents are no longer held (uploaded or given up).
    pub(crate) fn release(&self, batch: &Batch) {
        let mut s = self.lock();
        s.in_flight_bytes -= batch.bytes;
        s.in_flight_docs -= batch.docs.len();
    }

    /// No more documents come in; uploaders drain what is left, then stop.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.notify.notify_waiters();
    }

    /// Documents dropped because nobody will send them (shutdown deadline passed).
    pub(crate) fn abandon(&self) -> usize {
        let mut s = self.lock();
        let n = s.queue.len();
        s.queue.clear();
        s.queued_bytes = 0;
        n
    }

    /// (queued documents, queued bytes, documents in uploads)
    pub(crate) fn levels(&self) -> (usize, usize, usize) {
        let s = self.lock();
        (s.queue.len(), s.queued_bytes, s.in_flight_docs)
    }
}
