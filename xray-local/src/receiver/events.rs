//! What subscribers and waiters get: events, subscriptions, the wait timeout.

use std::fmt;
use std::time::Duration;

use tokio::sync::broadcast;

#[cfg(doc)]
use super::LocalReceiver;
use crate::datagram::Rejection;
use crate::trace::Trace;

/// Something that happened in the receiver, delivered to every [`Subscription`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// A trace finished: it is complete and no document arrived for the quiet period, or it
    /// stayed incomplete for the incomplete timeout. A trace reopened by a late document
    /// finishes (and is delivered) again.
    TraceFinished(Trace),
    /// A datagram was rejected.
    Rejected(Rejection),
}

/// A stream of [`Event`]s, made by [`LocalReceiver::subscribe`].
///
/// Events that arrive while the subscriber is too far behind (more than the event capacity,
/// 1024) are skipped and counted in [`missed`](Self::missed).
#[derive(Debug)]
pub struct Subscription {
    pub(super) events: broadcast::Receiver<Event>,
    pub(super) missed: u64,
}

impl Subscription {
    /// Waits for the next event; `None` once the receiver is gone.
    pub async fn recv(&mut self) -> Option<Event> {
        loop {
            match self.events.recv().await {
                Ok(event) => return Some(event),
                Err(broadcast::error::RecvError::Lagged(n)) => self.missed += n,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// Takes the next event if one is already waiting.
    pub fn try_recv(&mut self) -> Option<Event> {
        loop {
            match self.events.try_recv() {
                Ok(event) => return Some(event),
                Err(broadcast::error::TryRecvError::Lagged(n)) => self.missed += n,
                Err(_) => return None,
            }
        }
    }

    /// Events skipped because this subscriber fell behind.
    pub fn missed(&self) -> u64 {
        self.missed
    }
}

/// The error of [`LocalReceiver::wait_for_traces`] and [`LocalReceiver::wait_until`]: the
/// condition did not hold in time.
#[derive(Debug, Clone)]
pub struct WaitTimeout {
    pub(super) timeout: Duration,
    pub(super) finished: usize,
    pub(super) open: usize,
}

impl WaitTimeout {
    /// The finished traces when the wait gave up.
    pub fn finished_traces(&self) -> usize {
        self.finished
    }

    /// The traces still waiting for documents when the wait gave up.
    pub fn open_traces(&self) -> usize {
        self.open
    }
}

impl fmt::Display for WaitTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gave up waiting for traces after {:?}: {} finished, {} still open",
            self.timeout, self.finished, self.open
        )
    }
}

impl std::error::Error for WaitTimeout {}
