//! `sql.url` only when it names a database; other connection strings go in
//! `sql.connection_string`, since the OpenTelemetry collector's X-Ray receiver rejects a whole
//! segment document whose `sql.url` has no `scheme://host/database` shape.
#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use xray_core::XrayFutureExt;

mod common;

#[tokio::test]
async fn in_memory_sqlite_is_a_connection_string_and_a_file_a_url() {
    let (recorder, emitter) = common::recorder();
    let memory = common::sqlite_memory(&recorder).await;
    let (file, _file) = common::sqlite_file(&recorder).await;
    let segment = recorder.begin_segment("connection-strings");
    async {
        sqlx::query("SELECT 1").execute(&memory.pool).await.unwrap();
        sqlx::query("SELECT 1").execute(&file.pool).await.unwrap();
    }
    .in_entity(segment.entity().clone())
    .await;
    segment.end();
    let docs = emitter.wait_for(1, Duration::from_secs(5));

    let subs = common::sql_subsegments(&docs);
    assert_eq!(subs.len(), 2, "{subs:?}");
    let in_memory = subs[0].sql.as_ref().expect("sql block");
    assert_eq!(in_memory.url, None);
    assert_eq!(
        in_memory.connection_string.as_deref(),
        Some("sqlite::memory:")
    );
    let on_disk = subs[1].sql.as_ref().expect("sql block");
    let url = on_disk.url.as_deref().expect("sql.url");
    assert!(
        url.starts_with("sqlite:///") && url.ends_with(".db"),
        "{url}"
    );
    assert_eq!(on_disk.connection_string, None);
}

/// A MySQL pool without a database, on a loopback port where nothing listens: the failed
/// statement is still recorded, with the server address as a connection string.
#[cfg(feature = "mysql")]
#[tokio::test]
async fn a_server_url_without_a_database_is_a_connection_string() {
    let (recorder, emitter) = common::recorder();
    let pool = sqlx::mysql::MySqlPoolOptions::new()
        .acquire_timeout(Duration::from_millis(200))
        .connect_lazy("mysql://app@127.0.0.1:1")
        .expect("lazy pool");
    let pool = xray_sqlx::TracedPool::builder(pool)
        .recorder(recorder.clone())
        .build();
    let segment = recorder.begin_segment("connection-strings");
    let failed = sqlx::query("SELECT 1")
        .execute(&pool)
        .in_entity(segment.entity().clone())
        .await;
    assert!(failed.is_err(), "nothing listens on port 1");
    segment.end();
    let docs = emitter.wait_for(1, Duration::from_secs(5));

    let subs = common::sql_subsegments(&docs);
    let sql = subs[0].sql.as_ref().expect("sql block");
    assert_eq!(sql.url, None);
    assert_eq!(
        sql.connection_string.as_deref(),
        Some("mysql://app@127.0.0.1:1")
    );
}
