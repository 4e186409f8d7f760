//! The traced pool.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use sqlx::{Error, Pool};
use xray_core::Recorder;

use crate::connection::TracedConnection;
use crate::database::TracedDatabase;
use crate::shared::Shared;
use crate::span::QuerySpan;
use crate::transaction::TracedTransaction;

/// A [`sqlx::Pool`] whose statements become X-Ray SQL subsegments.
///
/// Use `&TracedPool` wherever sqlx takes an executor — `sqlx::query(..).fetch_all(&pool)`,
/// `query_as`, `query_scalar`, `execute`, `fetch_optional`, `fetch_one`, `fetch` streams — and
/// [`TracedPool::begin`] / [`TracedPool::acquire`] for transactions and connections that are
/// traced too. Cloning is cheap and shares the pool. See the [crate docs](crate) for what is
/// recorded.
///
/// # Examples
///
/// ```
/// # #[cfg(feature = "sqlite")]
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), sqlx::Error> {
/// use sqlx::SqlitePool;
/// use xray_sqlx::TracedPool;
///
/// let pool = TracedPool::new(SqlitePool::connect("sqlite::memory:").await?);
/// let (n,): (i64,) = sqlx::query_as("SELECT $1 + 1").bind(41_i64).fetch_one(&pool).await?;
/// assert_eq!(n, 42);
/// assert_eq!(pool.name(), ":memory:");
/// # Ok(()) }
/// # #[cfg(not(feature = "sqlite"))] fn main() {}
/// ```
pub struct TracedPool<DB: TracedDatabase> {
    pub(crate) shared: Arc<Shared<DB>>,
}

impl<DB: TracedDatabase> TracedPool<DB> {
    /// Traces `pool`, describing it from its connect options: the subsegment name
    /// (`database@host`, or the SQLite file name), `sql.url` without password and `sql.user`.
    pub fn new(pool: Pool<DB>) -> Self {
        Self::builder(pool).build()
    }

    /// Starts configuring a traced pool.
    pub fn builder(pool: Pool<DB>) -> TracedPoolBuilder<DB> {
        TracedPoolBuilder {
            pool,
            name: None,
            url: None,
            recorder: None,
            database_version: true,
        }
    }

    /// Connects a pool with sqlx's defaults (as [`Pool::connect`]) and traces it, recording
    /// `url` with its password and secret query parameters removed (see
    /// [`sanitize_url`](crate::sanitize_url)).
    ///
    /// # Errors
    ///
    /// Whatever [`Pool::connect`] returns.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        let pool = Pool::<DB>::connect(url).await?;
        Ok(Self::builder(pool).url(url).build())
    }

    /// Takes a connection from the pool; statements run on it are traced.
    ///
    /// Acquiring is not a statement and records nothing.
    ///
    /// # Errors
    ///
    /// Whatever [`Pool::acquire`] returns.
    pub fn acquire(&self) -> impl Future<Output = Result<TracedConnection<DB>, Error>> + 'static {
        let shared = Arc::clone(&self.shared);
        let acquire = self.shared.pool.acquire();
        async move {
            let conn = acquire.await?;
            Ok(TracedConnection { conn, shared })
        }
    }

    /// Begins a transaction on a connection from the pool; its `BEGIN` is recorded as a
    /// subsegment, and so are its statements and its `COMMIT` or `ROLLBACK`.
    ///
    /// # Errors
    ///
    /// Whatever [`Pool::begin`] returns.
    pub async fn begin(&self) -> Result<TracedTransaction<'static, DB>, Error> {
        let span = QuerySpan::start(&self.shared, "BEGIN", false);
        let result = self.shared.pool.begin().await;
        if let Some(span) = span {
            span.finish(&result);
        }
        Ok(TracedTransaction::new(result?, Arc::clone(&self.shared), 1))
    }

    /// The subsegment name: `database@host`, or the file name (or `:memory:`) for SQLite.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The server version once it is known: it is asked once per pool, in the background, and
    /// recorded as `sql.database_version` from then on.
    pub fn database_version(&self) -> Option<&str> {
        self.shared.version().map(|v| &**v)
    }

    /// The traced pool itself, for what is not meant to be traced (migrations, health checks).
    pub fn inner(&self) -> &Pool<DB> {
        &self.shared.pool
    }

    /// Returns the pool (a clone of the handle; the pool is shared).
    pub fn into_inner(self) -> Pool<DB> {
        self.shared.pool.clone()
    }

    /// Closes the pool, as [`Pool::close`].
    pub async fn close(&self) {
        self.shared.pool.close().await;
    }
}

impl<DB: TracedDatabase> Clone for TracedPool<DB> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<DB: TracedDatabase> From<Pool<DB>> for TracedPool<DB> {
    fn from(pool: Pool<DB>) -> Self {
        Self::new(pool)
    }
}

impl<DB: TracedDatabase> fmt::Debug for TracedPool<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TracedPool")
            .field("shared", &self.shared)
            .finish()
    }
}

/// Configures a [`TracedPool`]. Created by [`TracedPool::builder`].
///
/// # Examples
///
/// ```
/// # #[cfg(feature = "sqlite")]
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use sqlx::SqlitePool;
/// use xray_core::{Recorder, emit::MemoryEmitter};
/// use xray_sqlx::TracedPool;
///
/// let recorder = Recorder::builder().emitter(MemoryEmitter::new()).ignore_env().build()?;
/// let pool = TracedPool::builder(SqlitePool::connect("sqlite::memory:").await?)
///     .name("orders-cache")
///     .recorder(recorder)
///     .build();
/// assert_eq!(pool.name(), "orders-cache");
/// # Ok(()) }
/// # #[cfg(not(feature = "sqlite"))] fn main() {}
/// ```
#[must_use = "call `build` to get the traced pool"]
pub struct TracedPoolBuilder<DB: TracedDatabase> {
    pool: Pool<DB>,
    name: Option<String>,
    url: Option<String>,
    recorder: Option<Recorder>,
    database_version: bool,
}

impl<DB: TracedDatabase> TracedPoolBuilder<DB> {
    /// Names the subsegments (default: `database@host`, or the SQLite file name). X-Ray shows
    /// the database as a node of this name in the service map.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Records this connection URL as `sql.url` (as `sql.connection_string` when it names no
    /// database) instead of the one derived from the pool's options. The password and secret
    /// query parameters are removed (see [`sanitize_url`](crate::sanitize_url)).
    pub fn url(mut self, url: &str) -> Self {
        self.url = Some(crate::sql::sanitize_url(url));
        self
    }

    /// The recorder whose context-missing strategy (`AWS_XRAY_CONTEXT_MISSING`) applies to
    /// statements run with no current segment (default: [`Recorder::global`]).
    ///
    /// Subsegments always go to the trace of the current segment, whatever recorder began it.
    /// Without this setting, the first statement run outside any segment makes
    /// [`Recorder::global`] build the global recorder from the environment if the application
    /// has not installed one yet; run startup work (migrations, seeding) through
    /// [`TracedPool::inner`], or pass the recorder here, to keep that from happening early.
    pub fn recorder(mut self, recorder: Recorder) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Whether to ask the server for its version once, in the background, for
    /// `sql.database_version` (default: yes). The query needs a Tokio runtime and is never
    /// traced.
    pub fn database_version(mut self, ask: bool) -> Self {
        self.database_version = ask;
        self
    }

    /// Builds the traced pool.
    ///
    /// When the pool already holds a connection (as after [`Pool::connect`]), the version query
    /// starts right away, so that usually even the first traced statement has it.
    pub fn build(self) -> TracedPool<DB> {
        let mut target = DB::target(&self.pool.connect_options());
        if let Some(name) = self.name {
            target.name = name;
        }
        if let Some(url) = self.url {
            target.url = Some(url);
        }
        let warm = self.pool.size() > 0;
        let shared = Arc::new(Shared::new(
            self.pool,
            target,
            self.recorder,
            self.database_version,
        ));
        if warm {
            shared.ensure_version();
        }
        TracedPool { shared }
    }
}

impl<DB: TracedDatabase> fmt::Debug for TracedPoolBuilder<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TracedPoolBuilder")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("database_version", &self.database_version)
            .finish_non_exhaustive()
    }
}
