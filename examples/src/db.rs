//! `GET /db?name=...`: a query on a SQLite database through a pool traced by [`xray_sqlx`].
//!
//! The database is a file in the system temp directory ([`DB_FILE`]), created and seeded with a
//! few people at startup ([`init`]; when the server runs in-process, on the first request). The handler binds the `name` query parameter to
//! `SELECT name, city FROM people WHERE name = $1`, so each request's segment gets one SQL
//! subsegment named `xray-example-server.db`, with the statement text (never the name) in
//! `sql.sanitized_query`.
//!
//! | Request | Answer |
//! |---|---|
//! | `GET /db?name=alice` | `200 alice lives in Lisbon` |
//! | `GET /db?name=nobody` | `404` |
//! | `GET /db` | `400` |
//!
//! Tracing a pool is a one-line change; queries stay ordinary sqlx code:
//!
//! ```no_run
//! # async fn example() -> Result<(), sqlx::Error> {
//! let pool = xray_sqlx::TracedPool::new(sqlx::SqlitePool::connect("sqlite://app.db").await?);
//! let city: Option<String> = sqlx::query_scalar("SELECT city FROM people WHERE name = $1")
//!     .bind("alice")
//!     .fetch_optional(&pool)
//!     .await?;
//! # Ok(()) }
//! ```

use std::sync::OnceLock;

use axum::extract::RawQuery;
use http::StatusCode;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Sqlite, SqlitePool};
use xray_sqlx::TracedPool;

/// The database file, in [`std::env::temp_dir`].
pub const DB_FILE: &str = "xray-example-server.db";

/// The people the database is seeded with: `(name, city)`.
pub const PEOPLE: [(&str, &str); 3] = [("alice", "Lisbon"), ("bob", "Osaka"), ("carol", "Nairobi")];

static POOL: OnceLock<TracedPool<Sqlite>> = OnceLock::new();

/// Creates and seeds the database (idempotent) on the first call, and returns the traced pool.
///
/// Seeding goes through the bare pool: it is setup, not request work, so it is not traced. The
/// pool is wrapped once seeded; holding a connection by then, the traced pool asks SQLite for
/// its version right away, so even the first subsegment has `sql.database_version`.
///
/// # Errors
///
/// When the database file cannot be created or written.
pub async fn init() -> Result<&'static TracedPool<Sqlite>, sqlx::Error> {
    if let Some(pool) = POOL.get() {
        return Ok(pool);
    }
    let options = SqliteConnectOptions::new()
        .filename(std::env::temp_dir().join(DB_FILE))
        .create_if_missing(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await?;
    seed(&pool).await?;
    // Two first requests at once may both get here; one pool wins, the other is dropped.
    Ok(POOL.get_or_init(|| TracedPool::new(pool)))
}

async fn seed(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("CREATE TABLE IF NOT EXISTS people (name TEXT PRIMARY KEY, city TEXT NOT NULL)")
        .execute(&mut *tx)
        .await?;
    for (name, city) in PEOPLE {
        sqlx::query("INSERT OR IGNORE INTO people (name, city) VALUES ($1, $2)")
            .bind(name)
            .bind(city)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

/// The handler of `GET /db?name=...`.
pub async fn handler(RawQuery(query): RawQuery) -> (StatusCode, String) {
    let Some(name) = query.as_deref().and_then(|q| query_param(q, "name")) else {
        return (
            StatusCode::BAD_REQUEST,
            "usage: /db?name=alice\n".to_owned(),
        );
    };
    let pool = match init().await {
        Ok(pool) => pool,
        Err(err) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("database unavailable: {err}\n"),
            );
        }
    };
    let row: Result<Option<(String, String)>, sqlx::Error> =
        sqlx::query_as("SELECT name, city FROM people WHERE name = $1")
            .bind(&name)
            .fetch_optional(pool)
            .await;
    match row {
        Ok(Some((name, city))) => (StatusCode::OK, format!("{name} lives in {city}\n")),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            format!("nobody is called {name:?}\n"),
        ),
        Err(err) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("query failed: {err}\n"),
        ),
    }
}

/// The first value of `key` in a `k=v&k=v` query string, percent- and `+`-decoded.
fn query_param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k) == key).then(|| decode(v))
    })
}

fn decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push((hi * 16 + lo) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;
    use http_body_util::{BodyExt, Empty};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    use tokio::net::TcpListener;
    use xray_core::Recorder;
    use xray_core::emit::MemoryEmitter;
    use xray_core::model::Namespace;

    use super::*;
    use crate::server::{RunningServer, spawn};

    async fn get(server: &RunningServer, path: &str) -> (StatusCode, String) {
        let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let uri = format!("http://{}{path}", server.addr());
        let response = client.get(uri.parse().unwrap()).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[test]
    fn query_params() {
        assert_eq!(query_param("name=alice", "name").as_deref(), Some("alice"));
        assert_eq!(
            query_param("x=1&name=Mary+Ann%21", "name").as_deref(),
            Some("Mary Ann!")
        );
        assert_eq!(query_param("names=x", "name"), None);
        assert_eq!(query_param("name", "name").as_deref(), Some(""));
        assert_eq!(query_param("name=100%", "name").as_deref(), Some("100%"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn db_route_queries_through_the_traced_pool() {
        let emitter = MemoryEmitter::new();
        let recorder = Recorder::builder()
            .emitter(emitter.clone())
            .sample_all()
            .ignore_env()
            .build()
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = spawn(listener, Some(recorder)).unwrap();

        assert_eq!(
            get(&server, "/db?name=alice").await,
            (StatusCode::OK, "alice lives in Lisbon\n".into())
        );
        assert_eq!(
            get(&server, "/db?name=nobody").await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(get(&server, "/db").await.0, StatusCode::BAD_REQUEST);

        let docs = tokio::task::spawn_blocking(move || {
            let docs = emitter.wait_for(3, Duration::from_secs(5));
            (docs, emitter.datagrams())
        })
        .await
        .unwrap();
        let (docs, datagrams) = docs;
        assert_eq!(docs.len(), 3, "{docs:#?}");
        let queries: Vec<_> = docs
            .iter()
            .flat_map(|d| &d.subsegments)
            .filter(|s| s.sql.is_some())
            .collect();
        assert_eq!(
            queries.len(),
            2,
            "one statement per /db request with a name"
        );
        for q in &queries {
            assert_eq!(q.name, DB_FILE);
            assert_eq!(q.namespace, Some(Namespace::Remote));
            let sql = q.sql.as_ref().unwrap();
            assert_eq!(
                sql.sanitized_query.as_deref(),
                Some("SELECT name, city FROM people WHERE name = $1")
            );
            assert_eq!(sql.database_type.as_deref(), Some("SQLite"));
        }
        // The bound names appear in no emitted byte (the segment's URL has no query string
        // either).
        for d in &datagrams {
            let text = String::from_utf8_lossy(d);
            assert!(
                !text.contains("alice") && !text.contains("nobody"),
                "{text}"
            );
        }
    }
}
