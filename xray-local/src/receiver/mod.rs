//! The UDP receiver: a background task that plays the X-Ray daemon and a handle to query it.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::net::{ToSocketAddrs, UdpSocket};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use xray_core::TraceId;
use xray_core::daemon::DaemonAddress;
use xray_core::model::DocumentKind;

mod builder;
mod events;

pub use self::builder::ReceiverBuilder;
pub use self::events::{Event, Subscription, WaitTimeout};
use crate::datagram;
use crate::graph::ServiceGraph;
use crate::log_limit::LogLimit;
use crate::stats::ReceiverStats;
use crate::store::Store;
use crate::trace::Trace;

/// The largest UDP payload there is; the read buffer never needs to be bigger.
const MAX_UDP_PAYLOAD: usize = 65_536;
const LOG_EVERY: Duration = Duration::from_secs(10);

/// A local stand-in for the X-Ray daemon: receives segment documents over UDP, assembles them
/// into [`Trace`]s and builds the [`ServiceGraph`].
///
/// The receiving task runs on the tokio runtime that bound it and stops when this handle is
/// dropped. See the [crate docs](crate) for an example.
#[derive(Debug)]
pub struct LocalReceiver {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl LocalReceiver {
    /// Starts a receiver with the default settings (see [`ReceiverBuilder`]).
    ///
    /// # Errors
    ///
    /// The I/O error of resolving or binding the address.
    ///
    /// # Panics
    ///
    /// When called outside a tokio runtime.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<LocalReceiver> {
        ReceiverBuilder::default().bind(addr).await
    }

    /// A builder to change the finishing rules and limits.
    pub fn builder() -> ReceiverBuilder {
        ReceiverBuilder::default()
    }

    /// The address the receiver listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The receiver's address as a daemon address, for
    /// `Recorder::builder().daemon_address(..)` (or format it into `AWS_XRAY_DAEMON_ADDRESS`).
    pub fn daemon_address(&self) -> DaemonAddress {
        DaemonAddress::new(self.local_addr.into())
    }

    /// Every trace held, finished or not, in its current state, by start time.
    pub fn traces(&self) -> Vec<Trace> {
        self.shared.lock().store.traces()
    }

    /// The finished traces, by start time.
    pub fn finished_traces(&self) -> Vec<Trace> {
        self.shared.lock().store.finished()
    }

    /// One trace in its current state.
    pub fn trace(&self, id: TraceId) -> Option<Trace> {
        self.shared.lock().store.trace(id)
    }

    /// The service graph of every trace held, finished or not.
    pub fn service_graph(&self) -> ServiceGraph {
        ServiceGraph::from_traces(&self.traces())
    }

    /// The traces held, the most kept and how long a finished one is kept (for the console).
    pub(crate) fn retention(&self) -> (usize, usize, Option<Duration>) {
        let state = self.shared.lock();
        let (finished, open) = state.store.counts();
        let (max, age) = state.store.limits();
        (finished + open, max, age)
    }

    /// The counters.
    pub fn stats(&self) -> ReceiverStats {
        self.shared.lock().stats
    }

    /// Forgets every trace (the counters stay).
    pub fn clear(&self) {
        self.shared.lock().store.clear();
        self.shared.finished_version.send_modify(|v| *v += 1);
    }

    /// Finishes every open trace now, without waiting for its quiet period, and returns them
    /// (for example before printing a final report). They are also delivered to subscribers.
    pub fn finish_pending(&self) -> Vec<Trace> {
        let finished = {
            let mut state = self.shared.lock();
            let done = state.store.finish_all();
            state.stats.traces_finished += done.len() as u64;
            done
        };
        self.shared.publish_finished(&finished);
        finished
    }

    /// Receives [`Event`]s from now on: finished traces and rejected datagrams.
    pub fn subscribe(&self) -> Subscription {
        Subscription {
            events: self.shared.events.subscribe(),
            missed: 0,
        }
    }

    /// Waits until at least `count` traces have finished, and returns every finished trace.
    ///
    /// # Errors
    ///
    /// [`WaitTimeout`] if fewer than `count` traces finished within `timeout`.
    pub async fn wait_for_traces(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<Trace>, WaitTimeout> {
        self.wait_until(timeout, |traces| traces.len() >= count)
            .await
    }

    /// Waits until `done` returns `true` for the finished traces, and returns them. `done` is
    /// called now and again each time the set of finished traces changes.
    ///
    /// # Errors
    ///
    /// [`WaitTimeout`] if `done` did not return `true` within `timeout`.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        mut done: impl FnMut(&[Trace]) -> bool,
    ) -> Result<Vec<Trace>, WaitTimeout> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut changes = self.shared.finished_version.subscribe();
        loop {
            changes.borrow_and_update();
            let finished = self.finished_traces();
            if done(&finished) {
                return Ok(finished);
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                _ => {
                    let (finished, open) = self.shared.lock().store.counts();
                    return Err(WaitTimeout {
                        timeout,
                        finished,
                        open,
                    });
                }
            }
        }
    }
}

impl Drop for LocalReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// Bumped whenever the set of finished traces changes; waiters watch it.
    finished_version: watch::Sender<u64>,
    events: broadcast::Sender<Event>,
    max_datagram_bytes: usize,
}

#[derive(Debug)]
struct State {
    store: Store,
    stats: ReceiverStats,
    /// At most one line per kind of problem per `LOG_EVERY`.
    logs: LogLimit,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent between statements, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn receive(&self, bytes: &[u8], peer: SocketAddr) {
        let parsed = datagram::parse(bytes, self.max_datagram_bytes);
        let now = Instant::now();
        let mut state = self.lock();
        state.stats.datagrams += 1;
        match parsed {
            Ok(parsed) => {
                let doc = parsed.doc;
                let stats = &mut state.stats;
                stats.documents += 1;
                if doc.kind == Some(DocumentKind::Subsegment) {
                    stats.subsegments += 1;
                } else {
                    stats.segments += 1;
                }
                if doc.in_progress || doc.end_time.is_none() {
                    stats.in_progress += 1;
                }
                if !parsed.repaired.is_empty() {
                    stats.repaired += 1;
                    if let Some(skipped) = state.logs.allow("repaired", now) {
                        tracing::warn!(target: "xray", %peer, id = %doc.id, fields = ?parsed.repaired, skipped,
                            "segment document accepted without fields that do not fit the X-Ray model");
                    }
                }
                let report = state.store.insert(doc, now);
                let stats = &mut state.stats;
                stats.replaced += report.replaced;
                stats.ignored += report.ignored;
                stats.dropped_entities += report.dropped_entities;
                stats.traces += u64::from(report.new_trace);
                stats.traces_evicted += report.evicted;
                drop(state);
                if report.reopened || report.evicted > 0 {
                    self.finished_version.send_modify(|v| *v += 1);
                }
            }
            Err(rejection) => {
                let rejection = rejection.with_peer(Some(peer), bytes.len());
                state.stats.rejected.add(rejection.kind());
                if let Some(skipped) = state.logs.allow(rejection.kind().as_str(), now) {
                    tracing::warn!(target: "xray", %peer, bytes = bytes.len(), skipped,
                        "datagram rejected: {rejection}");
                }
                drop(state);
                if self.events.receiver_count() > 0 {
                    let _ = self.events.send(Event::Rejected(rejection));
                }
            }
        }
    }

    fn sweep(&self) {
        let finished = {
            let mut state = self.lock();
            let done = state.store.sweep(Instant::now());
            state.stats.traces_finished += done.len() as u64;
            state.stats.traces_evicted += state.store.take_expired();
            done
        };
        self.publish_finished(&finished);
    }

    fn publish_finished(&self, finished: &[Trace]) {
        if finished.is_empty() {
            return;
        }
        self.finished_version.send_modify(|v| *v += 1);
        if self.events.receiver_count() > 0 {
            for trace in finished {
                let _ = self.events.send(Event::TraceFinished(trace.clone()));
            }
        }
    }

    fn socket_error(&self, error: &io::Error) {
        let mut state = self.lock();
        if let Some(skipped) = state.logs.allow("socket", Instant::now()) {
            tracing::warn!(target: "xray", %error, skipped, "receiving from the UDP socket failed");
        }
    }
}

async fn run(socket: UdpSocket, shared: Arc<Shared>, tick: Duration) {
    // A local, so that it is dropped before `shared`, whatever the order parameters are dropped
    // in: when the handle is dropped, the last `Shared` closes the subscriptions, and whoever
    // sees them closed must find the port free (the socket closed) already.
    let socket = socket;
    let mut buf = vec![0u8; shared.max_datagram_bytes.min(MAX_UDP_PAYLOAD) + 1];
    let mut ticker = tokio::time::interval(tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            received = socket.recv_from(&mut buf) => match received {
                Ok((len, peer)) => shared.receive(&buf[..len], peer),
                Err(error) => {
                    // Errors such as ICMP reports on some platforms are transient; pause briefly
                    // so a persistent one cannot spin the task.
                    shared.socket_error(&error);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            _ = ticker.tick() => shared.sweep(),
        }
    }
}
