//! AWS X-Ray for [sqlx]: every statement becomes an SQL subsegment.
//!
//! # Overview
//!
//! Wrap a [`sqlx::Pool`] in a [`TracedPool`] and keep writing ordinary sqlx code against it:
//! `&TracedPool` is a [`sqlx::Executor`], and so are `&mut` [`TracedConnection`] (from
//! [`TracedPool::acquire`]) and `&mut` [`TracedTransaction`] (from [`TracedPool::begin`]).
//! Each statement run under a sampled segment becomes one subsegment of the current entity,
//! which X-Ray draws as a database node in the service map.
//!
//! ```diff
//! - let pool = PgPool::connect(&url).await?;
//! + let pool = xray_sqlx::TracedPool::new(PgPool::connect(&url).await?);
//! ```
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "sqlite")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use futures_util::TryStreamExt;
//! use sqlx::SqlitePool;
//! use xray_core::{Recorder, XrayFutureExt, emit::MemoryEmitter};
//! use xray_sqlx::TracedPool;
//!
//! let emitter = MemoryEmitter::new();
//! let recorder = Recorder::builder().emitter(emitter.clone()).sample_all().ignore_env().build()?;
//! let pool = TracedPool::new(SqlitePool::connect("sqlite::memory:").await?);
//!
//! let segment = recorder.begin_segment("orders-api");
//! async {
//!     sqlx::query("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT)").execute(&pool).await?;
//!     sqlx::query("INSERT INTO orders (item) VALUES ($1)").bind("book").execute(&pool).await?;
//!     let items: Vec<String> = sqlx::query_scalar("SELECT item FROM orders").fetch(&pool).try_collect().await?;
//!     assert_eq!(items, ["book"]);
//!     Ok::<_, sqlx::Error>(())
//! }
//! .in_entity(segment.entity().clone())
//! .await?;
//! segment.end();
//!
//! let doc = &emitter.documents()[0];
//! let insert = &doc.subsegments[1];
//! assert_eq!(insert.name, ":memory:");
//! let sql = insert.sql.as_ref().unwrap();
//! assert_eq!(sql.sanitized_query.as_deref(), Some("INSERT INTO orders (item) VALUES ($1)"));
//! assert_eq!(sql.database_type.as_deref(), Some("SQLite"));
//! assert_eq!(sql.preparation.as_deref(), Some("statement"));
//! # Ok(()) }
//! # #[cfg(not(feature = "sqlite"))] fn main() {}
//! ```
//!
//! # What is recorded
//!
//! One subsegment per statement, namespace `remote`, named `database@host` (for SQLite the
//! file name, or `:memory:`), with the `sql` block:
//!
//! | Field | Value |
//! |---|---|
//! | `sanitized_query` | the statement text as written, with its placeholders; bound values are never recorded. Cut at [`MAX_QUERY_BYTES`] (ending with [`TRUNCATION_MARKER`]) |
//! | `database_type` | `PostgreSQL`, `MySQL` or `SQLite` |
//! | `database_version` | asked once per pool in the background (`SHOW server_version`, `SELECT VERSION()`, `SELECT sqlite_version()`) and recorded once known |
//! | `driver_version` | e.g. `sqlx-postgres 0.9` |
//! | `user` | the user the pool connects as |
//! | `url` | built from the pool's options: scheme, user, host, port, database; never the password or query parameters (with [`TracedPoolBuilder::url`], the given URL through [`sanitize_url`]) |
//! | `connection_string` | instead of `url` when that names no database (`sqlite::memory:`, a MySQL pool without one): the OpenTelemetry collector's X-Ray receiver rejects a segment whose `sql.url` has no `scheme://host/database` |
//! | `preparation` | `call` for `CALL ...`, `statement` for statements sent prepared (anything with `.bind`, or `sqlx::query` without binds), absent for simple-protocol statements (`raw_sql`, a bare `&str`) |
//!
//! `BEGIN`, `COMMIT`, `ROLLBACK` (and their savepoint forms) of traced transactions are recorded
//! as statements too.
//!
//! # When a subsegment begins and ends
//!
//! - **Begins** when the statement is handed to the executor (the call to `fetch_all`,
//!   `execute`, ...), under the entity current at that moment (see [`xray_core::context`]).
//! - **Ends** when the future completes, when a `fetch` stream ends or yields its first error,
//!   or when either is dropped early — so a cancelled query or an abandoned stream still closes
//!   its subsegment.
//! - **Errors** set `fault` and add the error as `cause`: the database's error code and message,
//!   the kind of violation, the table and constraint names. Quoted spans in the message are
//!   replaced by `?`, because databases quote the offending value back (MySQL's
//!   `Duplicate entry '...'`), and that value is usually a bound parameter.
//!
//! # When nothing is recorded
//!
//! - **Unsampled current entity**: the statement goes straight to the driver, untouched; the
//!   added cost is reading the thread-local context.
//! - **No current entity**: the statement runs normally and the context-missing strategy of
//!   the recorder given to [`TracedPoolBuilder::recorder`] (default [`Recorder::global`]) applies —
//!   `LOG_ERROR` logs (rate limited), `IGNORE_ERROR` is silent. Statements meant to run outside
//!   any request (migrations, seeding) can use [`TracedPool::inner`].
//!
//! [`Recorder::global`]: xray_core::Recorder::global
//!
//! # Differences from a plain pool
//!
//! - Statements run on a traced connection or transaction take `&mut conn` / `&mut tx`, not
//!   `&mut *conn` / `&mut *tx` as sqlx's own do: the traced types do not dereference to the
//!   driver connection, so nothing bypasses the tracing by accident (`inner_mut` is the explicit
//!   way around it).
//! - `prepare`/`describe` and acquiring a connection are not statements and record nothing;
//!   neither does the rollback sqlx runs later for a transaction dropped without `commit`.
//! - sqlx's `Acquire` trait is not implemented: what it hands out dereferences to the driver
//!   connection, which would not be traced.
//!
//! # Feature flags
//!
//! | Feature | Database | sqlx feature turned on |
//! |---|---|---|
//! | `sqlite` | `sqlx::Sqlite` | `sqlite` (bundled SQLite) |
//! | `postgres` | `sqlx::Postgres` | `postgres` |
//! | `mysql` | `sqlx::MySql` (and MariaDB) | `mysql` |
//!
//! None is on by default. This crate also turns on sqlx's `macros` feature (on by default in
//! sqlx): it is the only switch that enables sqlx's `offline` feature consistently for every
//! driver, and `offline` changes the shape of the [`sqlx::Executor`] trait this crate
//! implements. It chooses no runtime or TLS backend: your own sqlx dependency does.
//!
//! # Supported Rust versions
//!
//! The minimum supported Rust version follows the AWS SDK for Rust's (currently 1.94.1).

#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The README's examples compile (and run, unless marked otherwise) as doctests.
#[cfg(all(doctest, feature = "postgres"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod connection;
mod database;
mod error;
mod executor;
mod pool;
mod shared;
mod span;
mod sql;
mod transaction;

pub use connection::TracedConnection;
pub use database::TracedDatabase;
pub use pool::{TracedPool, TracedPoolBuilder};
pub use sql::{MAX_QUERY_BYTES, TRUNCATION_MARKER, sanitize_url};
pub use transaction::TracedTransaction;
