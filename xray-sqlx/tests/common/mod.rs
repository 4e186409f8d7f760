//! Shared test helpers: recorders, the three databases, and generic scenarios that run the same
//! way against each of them.
#![allow(dead_code, unreachable_pub)] // each test binary uses a different part

use std::time::Duration;

use sqlx::{AssertSqlSafe, Database, Decode, Encode, IntoArguments, Type};
use xray_core::Recorder;
use xray_core::context::ContextMissingStrategy;
use xray_core::emit::MemoryEmitter;
use xray_core::model::{Document, Namespace};
use xray_sqlx::{TracedDatabase, TracedPool};

pub mod scenarios;

/// A sampling recorder that keeps what it sends in memory.
pub fn recorder() -> (Recorder, MemoryEmitter) {
    let emitter = MemoryEmitter::new();
    let recorder = Recorder::builder()
        .emitter(emitter.clone())
        .sample_all()
        .context_missing(ContextMissingStrategy::IgnoreError)
        .ignore_env()
        .build()
        .expect("recorder");
    (recorder, emitter)
}

/// Every subsegment of the documents, depth first, with the id of its parent.
pub fn subsegments(docs: &[Document]) -> Vec<(String, Document)> {
    fn walk(parent: &Document, out: &mut Vec<(String, Document)>) {
        for sub in &parent.subsegments {
            out.push((parent.id.to_string(), sub.clone()));
            walk(sub, out);
        }
    }
    let mut out = Vec::new();
    for doc in docs {
        if let Some(parent) = doc
            .parent_id
            .filter(|_| doc.trace_id.is_some() && doc.kind.is_some())
        {
            // An independent (streamed) subsegment.
            out.push((parent.to_string(), doc.clone()));
        }
        walk(doc, &mut out);
    }
    out
}

/// The SQL subsegments only (those with an `sql` block).
pub fn sql_subsegments(docs: &[Document]) -> Vec<Document> {
    subsegments(docs)
        .into_iter()
        .map(|(_, d)| d)
        .filter(|d| d.sql.is_some())
        .collect()
}

pub fn query_of(doc: &Document) -> &str {
    doc.sql
        .as_ref()
        .and_then(|s| s.sanitized_query.as_deref())
        .unwrap_or("")
}

/// A database under test.
pub struct Backend<DB: TracedDatabase> {
    pub pool: TracedPool<DB>,
    /// `$1` placeholders (PostgreSQL, SQLite) or `?` (MySQL).
    pub dollar: bool,
    /// A table name unique to this test run.
    pub table: String,
    /// The password in the server URL, which must never be sent.
    pub password: Option<String>,
    /// The server URL, password included.
    pub url: Option<String>,
}

impl<DB: TracedDatabase> Backend<DB> {
    /// The `n`th placeholder (1-based).
    pub fn p(&self, n: usize) -> String {
        if self.dollar {
            format!("${n}")
        } else {
            "?".to_owned()
        }
    }

    /// Substitutes `{t}` with the table name and `{1}`, `{2}` with placeholders.
    pub fn sql(&self, template: &str) -> String {
        let mut s = template.replace("{t}", &self.table);
        for n in 1..=4 {
            s = s.replace(&format!("{{{n}}}"), &self.p(n));
        }
        s
    }
}

pub fn unique_table(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        t.subsec_nanos(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// An in-memory SQLite pool.
#[cfg(feature = "sqlite")]
pub async fn sqlite_memory(recorder: &Recorder) -> Backend<sqlx::Sqlite> {
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(4)
        .connect("sqlite::memory:")
        .await
        .expect("in-memory SQLite");
    Backend {
        pool: TracedPool::builder(pool).recorder(recorder.clone()).build(),
        dollar: true,
        table: unique_table("t"),
        password: None,
        url: None,
    }
}

/// A SQLite database file in the system temp directory (removed when the guard drops).
#[cfg(feature = "sqlite")]
pub async fn sqlite_file(recorder: &Recorder) -> (Backend<sqlx::Sqlite>, TempFile) {
    let path = std::env::temp_dir().join(format!("{}.db", unique_table("xray_sqlx_test")));
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true);
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .expect("SQLite file");
    let backend = Backend {
        pool: TracedPool::builder(pool).recorder(recorder.clone()).build(),
        dollar: true,
        table: unique_table("t"),
        password: None,
        url: None,
    };
    (backend, TempFile(path))
}

/// Removes a file when dropped.
pub struct TempFile(pub std::path::PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

/// The URL of a server from the environment, or `None` (with a "skipped" line) when unset —
/// unless `XRAY_REQUIRE_SERVICES=1`, which makes a missing server a failure.
pub fn service_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("XRAY_REQUIRE_SERVICES").as_deref() == Ok("1") {
                panic!("{var} not set but XRAY_REQUIRE_SERVICES=1");
            }
            eprintln!("skipped: {var} not set");
            None
        }
    }
}

/// The password of a `scheme://user:password@host/...` URL.
pub fn url_password(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let userinfo = authority.rsplit_once('@')?.0;
    let password = userinfo.split_once(':')?.1;
    (!password.is_empty()).then(|| password.to_owned())
}

#[cfg(feature = "postgres")]
pub async fn postgres(recorder: &Recorder) -> Option<Backend<sqlx::Postgres>> {
    let url = service_url("DATABASE_URL")?;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(20))
        .connect(&url)
        .await
        .expect("connect to DATABASE_URL");
    Some(Backend {
        pool: TracedPool::builder(pool).recorder(recorder.clone()).build(),
        dollar: true,
        table: unique_table("t"),
        password: url_password(&url),
        url: Some(url.clone()),
    })
}

#[cfg(feature = "mysql")]
pub async fn mysql(recorder: &Recorder) -> Option<Backend<sqlx::MySql>> {
    let url = service_url("MYSQL_URL")?;
    let pool = sqlx::mysql::MySqlPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(20))
        .connect(&url)
        .await
        .expect("connect to MYSQL_URL");
    Some(Backend {
        pool: TracedPool::builder(pool).recorder(recorder.clone()).build(),
        dollar: false,
        table: unique_table("t"),
        password: url_password(&url),
        url: Some(url.clone()),
    })
}

/// Runs `SQL` built at run time (test table names).
pub fn dynamic(sql: String) -> AssertSqlSafe<String> {
    AssertSqlSafe(sql)
}

/// Creates the test table `{t}` (id primary key, unique email, name). Run outside any segment
/// (the test recorders ignore the missing context), so it records nothing.
pub async fn create_table<DB>(b: &Backend<DB>)
where
    DB: TracedDatabase,
    <DB as Database>::Arguments: IntoArguments<DB>,
{
    let ddl = b.sql(
        "CREATE TABLE {t} (id BIGINT PRIMARY KEY, email VARCHAR(200) NOT NULL UNIQUE, name VARCHAR(200))",
    );
    sqlx::query(dynamic(ddl))
        .execute(&b.pool)
        .await
        .expect("create table");
}

pub async fn drop_table<DB>(b: &Backend<DB>)
where
    DB: TracedDatabase,
    <DB as Database>::Arguments: IntoArguments<DB>,
{
    let _ = sqlx::query(dynamic(b.sql("DROP TABLE {t}")))
        .execute(&b.pool)
        .await;
}

/// Checks the fields every SQL subsegment of `b` carries.
pub fn assert_sql_basics<DB: TracedDatabase>(b: &Backend<DB>, doc: &Document, database_type: &str) {
    assert_eq!(doc.name, b.pool.name());
    assert_eq!(doc.namespace, Some(Namespace::Remote), "{}", doc.name);
    let sql = doc.sql.as_ref().expect("sql block");
    assert_eq!(sql.database_type.as_deref(), Some(database_type));
    let driver = sql.driver_version.as_deref().unwrap_or("");
    assert!(
        driver.starts_with("sqlx-") && driver.contains("0.9"),
        "{driver}"
    );
    assert!(sql.url.is_some() || sql.connection_string.is_some());
    assert!(doc.end_time.is_some(), "subsegment ended");
}

/// Waits (a little) for the pool's background version query.
pub async fn wait_for_version<DB: TracedDatabase>(pool: &TracedPool<DB>) -> Option<String> {
    for _ in 0..100 {
        if let Some(v) = pool.database_version() {
            return Some(v.to_owned());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// Type bounds for scenarios using `i64` and `String` columns.
pub trait Scalar<DB: Database>: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB> {}
impl<DB: Database, T> Scalar<DB> for T where
    T: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB>
{
}

/// Generates one test per database for a scenario of [`scenarios`]: in-memory SQLite, a SQLite
/// file, PostgreSQL (`DATABASE_URL`) and MySQL/MariaDB (`MYSQL_URL`).
#[macro_export]
macro_rules! per_database {
    ($scenario:path) => {
        #[cfg(feature = "sqlite")]
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn sqlite_in_memory() {
            let (recorder, emitter) = common::recorder();
            let b = common::sqlite_memory(&recorder).await;
            common::create_table(&b).await;
            $scenario(&b, &recorder, &emitter, "SQLite").await;
        }

        #[cfg(feature = "sqlite")]
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn sqlite_file() {
            let (recorder, emitter) = common::recorder();
            let (b, _file) = common::sqlite_file(&recorder).await;
            assert!(b.pool.name().ends_with(".db"), "{}", b.pool.name());
            common::create_table(&b).await;
            $scenario(&b, &recorder, &emitter, "SQLite").await;
        }

        #[cfg(feature = "postgres")]
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn postgres() {
            let (recorder, emitter) = common::recorder();
            let Some(b) = common::postgres(&recorder).await else {
                return;
            };
            common::create_table(&b).await;
            $scenario(&b, &recorder, &emitter, "PostgreSQL").await;
            common::drop_table(&b).await;
        }

        #[cfg(feature = "mysql")]
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn mysql() {
            let (recorder, emitter) = common::recorder();
            let Some(b) = common::mysql(&recorder).await else {
                return;
            };
            common::create_table(&b).await;
            $scenario(&b, &recorder, &emitter, "MySQL").await;
            common::drop_table(&b).await;
        }
    };
}
