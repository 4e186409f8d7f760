//! What a traced pool and everything taken from it share: the pool, the recorded target, the
//! cached server version and the recorder whose context-missing strategy applies.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use sqlx::Pool;
use xray_core::model::Sql;
use xray_core::{Entity, Recorder};

use crate::database::{Target, TracedDatabase};

/// How long to wait before asking for the server version again after a failure.
const VERSION_RETRY: Duration = Duration::from_secs(60);

pub(crate) struct Shared<DB: TracedDatabase> {
    pub(crate) pool: Pool<DB>,
    pub(crate) name: String,
    /// The parts of `sql` that are the same for every statement.
    pub(crate) template: Sql,
    recorder: Option<Recorder>,
    version: OnceLock<Arc<str>>,
    fetch_version: bool,
    fetching: AtomicBool,
    born: Instant,
    /// Milliseconds after `born` before which no version query is started.
    retry_at: AtomicU64,
}

impl<DB: TracedDatabase> Shared<DB> {
    pub(crate) fn new(
        pool: Pool<DB>,
        target: Target,
        recorder: Option<Recorder>,
        fetch_version: bool,
    ) -> Self {
        let mut template = Sql::default();
        // The OpenTelemetry collector's X-Ray receiver (inside the CloudWatch agent and ADOT too)
        // rejects a whole segment document whose `sql.url` names no database, so such connection
        // strings (`sqlite::memory:`, `mysql://app@host:3306`) go where X-Ray puts non-URL ones.
        match target.url {
            Some(url) if crate::sql::has_database_path(&url) => template.url = Some(url.into()),
            other => template.connection_string = other.map(Into::into),
        }
        template.user = target.user.map(Into::into);
        template.database_type = Some(DB::NAME.into());
        template.driver_version = Some(DB::DRIVER_VERSION.into());
        Self {
            pool,
            name: target.name,
            template,
            recorder,
            version: OnceLock::new(),
            fetch_version,
            fetching: AtomicBool::new(false),
            born: Instant::now(),
            retry_at: AtomicU64::new(0),
        }
    }

    /// The entity a statement's subsegment goes under, or `None` when nothing is to be recorded:
    /// no current entity (the context-missing strategy applies) or an unsampled one.
    #[inline]
    pub(crate) fn parent(&self) -> Option<Entity> {
        match xray_core::context::current() {
            Some(entity) if entity.is_sampled() => Some(entity),
            Some(_) => None,
            None => {
                self.context_missing();
                None
            }
        }
    }

    #[cold]
    fn context_missing(&self) {
        let recorder = match &self.recorder {
            Some(r) => r,
            None => Recorder::global(),
        };
        if recorder.is_enabled() {
            recorder.context_missing(&self.name);
        }
    }

    pub(crate) fn version(&self) -> Option<&Arc<str>> {
        self.version.get()
    }

    /// Starts the one-off version query in the background unless it is known, under way, or
    /// failed less than a minute ago. Needs a current Tokio runtime; without one the version is
    /// simply not recorded.
    pub(crate) fn ensure_version(self: &Arc<Self>) {
        if !self.fetch_version || self.version.get().is_some() {
            return;
        }
        let now = self.born.elapsed().as_millis() as u64;
        if now < self.retry_at.load(Ordering::Relaxed) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.retry_at
                .store(now + VERSION_RETRY.as_millis() as u64, Ordering::Relaxed);
            tracing::debug!(target: "xray", "no Tokio runtime: sql.database_version is not recorded");
            return;
        };
        if self.fetching.swap(true, Ordering::Acquire) {
            return;
        }
        let shared = Arc::clone(self);
        // The spawned task has no current X-Ray entity, and it uses the bare pool: the version
        // query itself is never traced.
        runtime.spawn(async move {
            match DB::fetch_version(shared.pool.clone()).await {
                Ok(version) => {
                    let _ = shared.version.set(version.into());
                }
                Err(err) => {
                    let retry = shared.born.elapsed() + VERSION_RETRY;
                    shared
                        .retry_at
                        .store(retry.as_millis() as u64, Ordering::Relaxed);
                    tracing::debug!(
                        target: "xray",
                        database = %shared.name,
                        error = %crate::error::redact_quoted(&err.to_string()),
                        "could not read the database version; retrying in a minute"
                    );
                }
            }
            shared.fetching.store(false, Ordering::Release);
        });
    }
}

impl<DB: TracedDatabase> fmt::Debug for Shared<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("name", &self.name)
            .field("database_type", &DB::NAME)
            .field("url", &self.template.url)
            .field("connection_string", &self.template.connection_string)
            .field("database_version", &self.version.get())
            .finish_non_exhaustive()
    }
}
