//! A traced transaction.

use std::fmt;
use std::sync::Arc;

use sqlx::{Connection, Error, Transaction};

use crate::database::TracedDatabase;
use crate::shared::Shared;
use crate::span::QuerySpan;

/// A transaction (or savepoint) begun through a [`TracedPool`](crate::TracedPool) or a
/// [`TracedConnection`](crate::TracedConnection).
///
/// Run statements with `&mut tx` (not `&mut *tx` as with a sqlx `Transaction`: this type does
/// not dereference to the driver connection, so no statement bypasses the tracing by accident).
/// `BEGIN`, `COMMIT` and `ROLLBACK` (`SAVEPOINT`, `RELEASE SAVEPOINT` and
/// `ROLLBACK TO SAVEPOINT` when nested) are recorded as subsegments too. Dropping the
/// transaction without committing rolls it back, as sqlx does, without a subsegment: sqlx runs
/// that rollback later, on the connection's next use.
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
/// sqlx::query("CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER)")
///     .execute(&pool)
///     .await?;
/// let mut tx = pool.begin().await?;
/// sqlx::query("INSERT INTO accounts VALUES ($1, $2)").bind(1_i64).bind(100_i64).execute(&mut tx).await?;
/// tx.commit().await?;
/// # Ok(()) }
/// # #[cfg(not(feature = "sqlite"))] fn main() {}
/// ```
pub struct TracedTransaction<'c, DB: TracedDatabase> {
    pub(crate) tx: Transaction<'c, DB>,
    pub(crate) shared: Arc<Shared<DB>>,
    depth: usize,
}

impl<'c, DB: TracedDatabase> TracedTransaction<'c, DB> {
    pub(crate) fn new(tx: Transaction<'c, DB>, shared: Arc<Shared<DB>>, depth: usize) -> Self {
        Self { tx, shared, depth }
    }

    /// Commits the transaction (releases the savepoint).
    ///
    /// # Errors
    ///
    /// Whatever [`Transaction::commit`] returns.
    pub async fn commit(self) -> Result<(), Error> {
        let sql = if self.depth > 1 {
            "RELEASE SAVEPOINT"
        } else {
            "COMMIT"
        };
        let span = QuerySpan::start(&self.shared, sql, false);
        let result = self.tx.commit().await;
        if let Some(span) = span {
            span.finish(&result);
        }
        result
    }

    /// Rolls the transaction back (to the savepoint).
    ///
    /// # Errors
    ///
    /// Whatever [`Transaction::rollback`] returns.
    pub async fn rollback(self) -> Result<(), Error> {
        let sql = if self.depth > 1 {
            "ROLLBACK TO SAVEPOINT"
        } else {
            "ROLLBACK"
        };
        let span = QuerySpan::start(&self.shared, sql, false);
        let result = self.tx.rollback().await;
        if let Some(span) = span {
            span.finish(&result);
        }
        result
    }

    /// Begins a nested transaction: a savepoint.
    ///
    /// # Errors
    ///
    /// Whatever [`Connection::begin`] returns.
    pub async fn begin(&mut self) -> Result<TracedTransaction<'_, DB>, Error> {
        let span = QuerySpan::start(&self.shared, "SAVEPOINT", false);
        let result = Connection::begin(&mut *self.tx).await;
        if let Some(span) = span {
            span.finish(&result);
        }
        Ok(TracedTransaction::new(
            result?,
            Arc::clone(&self.shared),
            self.depth + 1,
        ))
    }

    /// The sqlx transaction.
    pub fn inner(&self) -> &Transaction<'c, DB> {
        &self.tx
    }

    /// The sqlx transaction, to run something untraced (`&mut **tx.inner_mut()`).
    pub fn inner_mut(&mut self) -> &mut Transaction<'c, DB> {
        &mut self.tx
    }

    /// Returns the sqlx transaction.
    pub fn into_inner(self) -> Transaction<'c, DB> {
        self.tx
    }
}

impl<DB: TracedDatabase> fmt::Debug for TracedTransaction<'_, DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TracedTransaction")
            .field("name", &self.shared.name)
            .field("depth", &self.depth)
            .finish_non_exhaustive()
    }
}
