//! One statement's subsegment: when it begins, what it records, and the future and stream
//! wrappers that end it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use futures_util::Stream;
use sqlx::error::BoxDynError;
use sqlx::{Database, Execute, SqlStr};
use xray_core::model::Namespace;
use xray_core::{Entity, Subsegment};

use crate::database::TracedDatabase;
use crate::shared::Shared;

/// The subsegment of one statement. Ends when dropped, so a cancelled query still closes it.
#[derive(Debug)]
pub(crate) struct QuerySpan {
    sub: Subsegment,
}

impl QuerySpan {
    /// Begins the subsegment of `sql` under the current entity, or returns `None` when nothing is
    /// to be recorded.
    pub(crate) fn start<DB: TracedDatabase>(
        shared: &Arc<Shared<DB>>,
        sql: &str,
        prepared: bool,
    ) -> Option<Self> {
        let parent = shared.parent()?;
        Some(Self::begin(shared, &parent, sql, prepared))
    }

    fn begin<DB: TracedDatabase>(
        shared: &Arc<Shared<DB>>,
        parent: &Entity,
        sql: &str,
        prepared: bool,
    ) -> Self {
        let mut block = shared.template.clone();
        block.sanitized_query = Some(crate::sql::sanitized_query(sql));
        block.preparation = crate::sql::preparation(sql, prepared);
        match shared.version() {
            Some(v) => block.database_version = Some(v.clone()),
            None => shared.ensure_version(),
        }
        // Begun with its `sql` block under one lock.
        let sub = parent.begin_subsegment_with(&shared.name, |d| {
            d.set_namespace(Namespace::Remote);
            *d.sql_mut() = block;
        });
        Self { sub }
    }

    /// Records the outcome and ends the subsegment.
    pub(crate) fn finish<T>(self, result: &Result<T, sqlx::Error>) {
        match result {
            Err(err) => self.fail(err),
            Ok(_) => self.sub.end(),
        }
    }

    /// Records the error and ends the subsegment (one lock).
    fn fail(self, err: &sqlx::Error) {
        let exception = crate::error::exception(err);
        self.sub.end_with(|d| {
            d.add_exceptions([exception]);
            d.set_fault(true);
        });
    }
}

/// What to run: the caller's query untouched (nothing recorded), or its parts after the
/// subsegment has read the statement text.
pub(crate) enum Plan<E, DB: Database> {
    Untraced(E),
    Traced(QuerySpan, Prepared<DB>),
}

impl<E, DB: TracedDatabase> Plan<E, DB> {
    /// Decides whether `query` is traced; when it is, takes it apart to read its SQL (sqlx's
    /// `Execute::sql` consumes the query).
    pub(crate) fn new<'q>(shared: &Arc<Shared<DB>>, mut query: E) -> Self
    where
        E: Execute<'q, DB>,
    {
        let Some(parent) = shared.parent() else {
            return Plan::Untraced(query);
        };
        // The drivers read these in this order (PostgreSQL reads the statement first; all of
        // them ask `persistent` after taking the arguments, which matters for `Map`).
        let statement = query.statement().cloned();
        let arguments = query.take_arguments();
        let persistent = query.persistent();
        let sql = query.sql();
        let prepared = matches!(arguments, Ok(Some(_)));
        let span = QuerySpan::begin(shared, &parent, sql.as_str(), prepared);
        Plan::Traced(
            span,
            Prepared {
                sql,
                statement,
                arguments: Some(arguments),
                persistent,
            },
        )
    }
}

/// A query taken apart, handed to the driver in place of the caller's.
pub(crate) struct Prepared<DB: Database> {
    sql: SqlStr,
    statement: Option<DB::Statement>,
    arguments: Option<Result<Option<DB::Arguments>, BoxDynError>>,
    persistent: bool,
}

impl<'q, DB: Database> Execute<'q, DB> for Prepared<DB> {
    fn sql(self) -> SqlStr {
        self.sql
    }

    fn statement(&self) -> Option<&DB::Statement> {
        self.statement.as_ref()
    }

    fn take_arguments(&mut self) -> Result<Option<DB::Arguments>, BoxDynError> {
        self.arguments.take().unwrap_or(Ok(None))
    }

    fn persistent(&self) -> bool {
        self.persistent
    }
}

/// A driver future whose subsegment ends when it completes or is dropped.
pub(crate) struct TracedFuture<F: ?Sized> {
    inner: Pin<Box<F>>,
    span: Option<QuerySpan>,
}

impl<F: ?Sized> TracedFuture<F> {
    pub(crate) fn new(inner: Pin<Box<F>>, span: QuerySpan) -> Self {
        Self {
            inner,
            span: Some(span),
        }
    }
}

impl<F, T> Future for TracedFuture<F>
where
    F: Future<Output = Result<T, sqlx::Error>> + ?Sized,
{
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let out = ready!(self.inner.as_mut().poll(cx));
        if let Some(span) = self.span.take() {
            span.finish(&out);
        }
        Poll::Ready(out)
    }
}

/// A driver stream whose subsegment ends at its end, at its first error, or when it is dropped.
pub(crate) struct TracedStream<S: ?Sized> {
    inner: Pin<Box<S>>,
    span: Option<QuerySpan>,
}

impl<S: ?Sized> TracedStream<S> {
    pub(crate) fn new(inner: Pin<Box<S>>, span: QuerySpan) -> Self {
        Self {
            inner,
            span: Some(span),
        }
    }
}

impl<S, T> Stream for TracedStream<S>
where
    S: Stream<Item = Result<T, sqlx::Error>> + ?Sized,
{
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = ready!(self.inner.as_mut().poll_next(cx));
        match &item {
            Some(Ok(_)) => {}
            Some(Err(err)) => {
                if let Some(span) = self.span.take() {
                    span.fail(err);
                }
            }
            None => {
                if let Some(span) = self.span.take() {
                    span.sub.end();
                }
            }
        }
        Poll::Ready(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}
