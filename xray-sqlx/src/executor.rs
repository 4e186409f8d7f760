//! `sqlx::Executor` for the traced pool, connection and transaction: every statement goes
//! through [`Plan`], and the driver's future or stream is wrapped so that the subsegment ends
//! with it.
//!
//! Only `fetch_many` and `fetch_optional` are traced: sqlx's provided methods (`execute`,
//! `fetch`, `fetch_all`, `fetch_one`, `execute_many`) all call one of them exactly once, so each
//! call makes exactly one subsegment. `prepare`/`describe` are not statements run for the
//! application and pass through untraced.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use sqlx::{Database, Describe, Error, Execute, Executor, Pool, SqlStr};

use crate::connection::TracedConnection;
use crate::database::{OptionalRow, Results, TracedDatabase};
use crate::pool::TracedPool;
use crate::shared::Shared;
use crate::span::{Plan, TracedFuture, TracedStream};
use crate::transaction::TracedTransaction;

/// Where the statement really goes.
enum Via<'a, 'e, DB: Database> {
    Pool(&'a Pool<DB>),
    Conn(&'e mut DB::Connection),
}

impl<'e, DB: TracedDatabase> Via<'_, 'e, DB> {
    fn fetch_many<'q: 'e, E: 'q + Execute<'q, DB>>(self, query: E) -> Results<'e, DB> {
        match self {
            Via::Pool(pool) => DB::pool_fetch_many(pool, query),
            Via::Conn(conn) => DB::conn_fetch_many(conn, query),
        }
    }

    fn fetch_optional<'q: 'e, E: 'q + Execute<'q, DB>>(self, query: E) -> OptionalRow<'e, DB> {
        match self {
            Via::Pool(pool) => DB::pool_fetch_optional(pool, query),
            Via::Conn(conn) => DB::conn_fetch_optional(conn, query),
        }
    }
}

fn fetch_many<'e, 'q: 'e, DB, E>(
    shared: &Arc<Shared<DB>>,
    via: Via<'_, 'e, DB>,
    query: E,
) -> Results<'e, DB>
where
    DB: TracedDatabase,
    E: 'q + Execute<'q, DB>,
{
    match Plan::new(shared, query) {
        Plan::Untraced(query) => via.fetch_many(query),
        Plan::Traced(span, query) => Box::pin(TracedStream::new(via.fetch_many(query), span)),
    }
}

fn fetch_optional<'e, 'q: 'e, DB, E>(
    shared: &Arc<Shared<DB>>,
    via: Via<'_, 'e, DB>,
    query: E,
) -> OptionalRow<'e, DB>
where
    DB: TracedDatabase,
    E: 'q + Execute<'q, DB>,
{
    match Plan::new(shared, query) {
        Plan::Untraced(query) => via.fetch_optional(query),
        Plan::Traced(span, query) => Box::pin(TracedFuture::new(via.fetch_optional(query), span)),
    }
}

impl<'p, DB: TracedDatabase> Executor<'p> for &'_ TracedPool<DB> {
    type Database = DB;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> Results<'e, DB>
    where
        'p: 'e,
        E: 'q + Execute<'q, DB>,
    {
        fetch_many(&self.shared, Via::Pool(&self.shared.pool), query)
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> OptionalRow<'e, DB>
    where
        'p: 'e,
        E: 'q + Execute<'q, DB>,
    {
        fetch_optional(&self.shared, Via::Pool(&self.shared.pool), query)
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [DB::TypeInfo],
    ) -> BoxFuture<'e, Result<DB::Statement, Error>>
    where
        'p: 'e,
    {
        DB::pool_prepare_with(&self.shared.pool, sql, parameters)
    }

    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<Describe<DB>, Error>>
    where
        'p: 'e,
    {
        DB::pool_describe(&self.shared.pool, sql)
    }
}

impl<'c, DB: TracedDatabase> Executor<'c> for &'c mut TracedConnection<DB> {
    type Database = DB;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> Results<'e, DB>
    where
        'c: 'e,
        E: 'q + Execute<'q, DB>,
    {
        fetch_many(&self.shared, Via::Conn(&mut *self.conn), query)
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> OptionalRow<'e, DB>
    where
        'c: 'e,
        E: 'q + Execute<'q, DB>,
    {
        fetch_optional(&self.shared, Via::Conn(&mut *self.conn), query)
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [DB::TypeInfo],
    ) -> BoxFuture<'e, Result<DB::Statement, Error>>
    where
        'c: 'e,
    {
        DB::conn_prepare_with(&mut *self.conn, sql, parameters)
    }

    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<Describe<DB>, Error>>
    where
        'c: 'e,
    {
        DB::conn_describe(&mut *self.conn, sql)
    }
}

impl<'c, DB: TracedDatabase> Executor<'c> for &'c mut TracedTransaction<'_, DB> {
    type Database = DB;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> Results<'e, DB>
    where
        'c: 'e,
        E: 'q + Execute<'q, DB>,
    {
        fetch_many(&self.shared, Via::Conn(&mut *self.tx), query)
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> OptionalRow<'e, DB>
    where
        'c: 'e,
        E: 'q + Execute<'q, DB>,
    {
        fetch_optional(&self.shared, Via::Conn(&mut *self.tx), query)
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [DB::TypeInfo],
    ) -> BoxFuture<'e, Result<DB::Statement, Error>>
    where
        'c: 'e,
    {
        DB::conn_prepare_with(&mut *self.tx, sql, parameters)
    }

    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<Describe<DB>, Error>>
    where
        'c: 'e,
    {
        DB::conn_describe(&mut *self.tx, sql)
    }
}
