//! A traced connection taken from a traced pool.

use std::fmt;
use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::{Connection, Error};

use crate::database::TracedDatabase;
use crate::shared::Shared;
use crate::span::QuerySpan;
use crate::transaction::TracedTransaction;

/// A connection from a [`TracedPool`](crate::TracedPool), returned to the pool when dropped.
///
/// Run statements with `&mut conn` (not `&mut *conn`, which sqlx's own connections need: this
/// type deliberately does not dereference to the driver connection, so no statement can bypass
/// the tracing by accident; [`TracedConnection::inner_mut`] is the explicit way around it).
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
/// let mut conn = pool.acquire().await?;
/// sqlx::query("CREATE TEMP TABLE t (x INTEGER)").execute(&mut conn).await?;
/// sqlx::query("INSERT INTO t VALUES ($1)").bind(7_i64).execute(&mut conn).await?;
/// let x: i64 = sqlx::query_scalar("SELECT x FROM t").fetch_one(&mut conn).await?;
/// assert_eq!(x, 7);
/// # Ok(()) }
/// # #[cfg(not(feature = "sqlite"))] fn main() {}
/// ```
pub struct TracedConnection<DB: TracedDatabase> {
    pub(crate) conn: PoolConnection<DB>,
    pub(crate) shared: Arc<Shared<DB>>,
}

impl<DB: TracedDatabase> TracedConnection<DB> {
    /// Begins a transaction on this connection (a savepoint if one is open); see
    /// [`TracedPool::begin`](crate::TracedPool::begin).
    ///
    /// # Errors
    ///
    /// Whatever [`Connection::begin`] returns.
    pub async fn begin(&mut self) -> Result<TracedTransaction<'_, DB>, Error> {
        let nested = self.conn.is_in_transaction();
        let sql = if nested { "SAVEPOINT" } else { "BEGIN" };
        let span = QuerySpan::start(&self.shared, sql, false);
        let result = Connection::begin(&mut *self.conn).await;
        if let Some(span) = span {
            span.finish(&result);
        }
        let depth = if nested { 2 } else { 1 };
        Ok(TracedTransaction::new(
            result?,
            Arc::clone(&self.shared),
            depth,
        ))
    }

    /// The pooled connection.
    pub fn inner(&self) -> &PoolConnection<DB> {
        &self.conn
    }

    /// The pooled connection, to run something untraced.
    pub fn inner_mut(&mut self) -> &mut PoolConnection<DB> {
        &mut self.conn
    }

    /// Returns the pooled connection.
    pub fn into_inner(self) -> PoolConnection<DB> {
        self.conn
    }
}

impl<DB: TracedDatabase> fmt::Debug for TracedConnection<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TracedConnection")
            .field("name", &self.shared.name)
            .finish_non_exhaustive()
    }
}
