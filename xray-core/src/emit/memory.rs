use std::fmt;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::{Datagram, EmitError, Emitter};
use crate::model::Document;

/// Keeps every datagram in memory, for tests of traced code.
///
/// Cloning shares the same store, so keep one clone and give the other to the recorder.
///
/// # Examples
///
/// ```
/// use xray_core::{Recorder, emit::MemoryEmitter};
///
/// let emitter = MemoryEmitter::new();
/// let recorder = Recorder::builder().emitter(emitter.clone()).sample_all().build()?;
/// recorder.begin_segment("job").end();
/// let docs = emitter.documents();
/// assert_eq!(docs[0].name, "job");
/// # Ok::<(), xray_core::ConfigError>(())
/// ```
#[derive(Clone, Default)]
pub struct MemoryEmitter {
    inner: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    datagrams: Mutex<Vec<Vec<u8>>>,
    arrived: Condvar,
}

impl MemoryEmitter {
    /// Creates an empty emitter.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Vec<u8>>> {
        self.inner
            .datagrams
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Every datagram received so far, header line included.
    pub fn datagrams(&self) -> Vec<Vec<u8>> {
        self.lock().clone()
    }

    /// Every document received so far, parsed. Unparsable documents (which this crate never
    /// produces) are skipped.
    pub fn documents(&self) -> Vec<Document> {
        self.lock().iter().filter_map(|d| parse(d)).collect()
    }

    /// Every document received so far as generic JSON.
    pub fn json(&self) -> Vec<serde_json::Value> {
        self.lock()
            .iter()
            .filter_map(|d| serde_json::from_slice(Datagram::new(d).document()).ok())
            .collect()
    }

    /// Removes and returns the documents received so far.
    pub fn take(&self) -> Vec<Document> {
        std::mem::take(&mut *self.lock())
            .iter()
            .filter_map(|d| parse(d))
            .collect()
    }

    /// Waits until at least `count` documents arrived or `timeout` passed, and returns all
    /// documents received. This blocks the thread: in async tests, call it after the traced work
    /// has finished or from `spawn_blocking`.
    pub fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Document> {
        let deadline = Instant::now() + timeout;
        let mut guard = self.lock();
        while guard.len() < count {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            guard = match self.inner.arrived.wait_timeout(guard, deadline - now) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
        guard.iter().filter_map(|d| parse(d)).collect()
    }

    /// Forgets everything received.
    pub fn clear(&self) {
        self.lock().clear();
    }
}

fn parse(datagram: &[u8]) -> Option<Document> {
    serde_json::from_slice(Datagram::new(datagram).document()).ok()
}

impl Emitter for MemoryEmitter {
    fn send(&self, datagram: Datagram<'_>) -> Result<(), EmitError> {
        self.lock().push(datagram.bytes().to_vec());
        self.inner.arrived.notify_all();
        Ok(())
    }
}

impl fmt::Debug for MemoryEmitter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryEmitter")
            .field("datagrams", &self.lock().len())
            .finish()
    }
}
