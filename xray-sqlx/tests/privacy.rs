//! Bound parameter values and the connection password never appear in any emitted byte: not in
//! the in-memory emitter's raw datagrams, not in what a real UDP socket on loopback receives —
//! even when the database quotes a value back in an error message.
#![cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use futures_util::TryStreamExt;
use sqlx::{ColumnIndex, Database, IntoArguments};
use xray_core::daemon::DaemonAddress;
use xray_core::emit::MemoryEmitter;
use xray_core::{Recorder, XrayFutureExt};
use xray_sqlx::{TracedDatabase, TracedPool};

use common::{Backend, Scalar, dynamic};

const SECRET_EMAIL: &str = "zebulon.private.4711@example.com";
const SECRET_NAME: &str = "Zebulon-Secret-Name-8831";
const SECRET_ID: i64 = 987_654_321_012;

/// Statements binding the secrets, including ones that fail with the value quoted back.
async fn workload<DB>(b: &Backend<DB>, pool: &TracedPool<DB>)
where
    DB: TracedDatabase,
    <DB as Database>::Arguments: IntoArguments<DB>,
    i64: Scalar<DB>,
    String: Scalar<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let insert = b.sql("INSERT INTO {t} (id, email, name) VALUES ({1}, {2}, {3})");
    let ins = || {
        sqlx::query(dynamic(insert.clone()))
            .bind(SECRET_ID)
            .bind(SECRET_EMAIL.to_owned())
            .bind(SECRET_NAME.to_owned())
    };
    // The first insert may fail on a second run of the workload: that is one more error case.
    let _ = ins().execute(pool).await;
    assert!(ins().execute(pool).await.is_err(), "duplicate key");
    let found: Option<i64> =
        sqlx::query_scalar(dynamic(b.sql("SELECT id FROM {t} WHERE email = {1}")))
            .bind(SECRET_EMAIL.to_owned())
            .fetch_optional(pool)
            .await
            .expect("select");
    assert_eq!(found, Some(SECRET_ID));
    let names: Vec<String> =
        sqlx::query_scalar::<_, String>(dynamic(b.sql("SELECT name FROM {t} WHERE name = {1}")))
            .bind(SECRET_NAME.to_owned())
            .fetch(pool)
            .try_collect()
            .await
            .expect("stream");
    assert_eq!(names, [SECRET_NAME]);
    // PostgreSQL rejects this with `invalid input syntax for type integer: "<value>"`; the
    // others convert silently. Either way nothing of the value may be sent.
    let _ = sqlx::query(dynamic(b.sql("SELECT CAST({1} AS INTEGER)")))
        .bind(SECRET_NAME.to_owned())
        .fetch_all(pool)
        .await;
    let mut tx = pool.begin().await.expect("begin");
    sqlx::query(dynamic(b.sql("UPDATE {t} SET name = {1} WHERE id = {2}")))
        .bind(SECRET_NAME.to_owned())
        .bind(SECRET_ID)
        .execute(&mut tx)
        .await
        .expect("update");
    tx.rollback().await.expect("rollback");
}

fn assert_clean(what: &str, bytes: &[u8], b_password: Option<&str>) {
    let text = String::from_utf8_lossy(bytes);
    for secret in [
        SECRET_EMAIL,
        SECRET_NAME,
        &SECRET_ID.to_string(),
        "zebulon",
        "Zebulon",
    ] {
        assert!(
            !text.contains(secret),
            "{what} contains the bound value {secret:?}: {text}"
        );
    }
    if let Some(password) = b_password {
        assert!(!text.contains(password), "{what} contains the password");
    }
}

async fn scenario<DB>(
    b: &Backend<DB>,
    recorder: &Recorder,
    emitter: &MemoryEmitter,
    database_type: &str,
) where
    DB: TracedDatabase,
    <DB as Database>::Arguments: IntoArguments<DB>,
    i64: Scalar<DB>,
    String: Scalar<DB>,
    usize: ColumnIndex<DB::Row>,
{
    // In memory: every raw datagram.
    emitter.clear();
    let segment = recorder.begin_segment("privacy");
    workload(b, &b.pool)
        .in_entity(segment.entity().clone())
        .await;
    segment.end();
    let datagrams = emitter.datagrams();
    let docs = emitter.documents();
    let subs = common::sql_subsegments(&docs);
    assert!(
        subs.len() >= 7,
        "the statements were recorded ({})",
        subs.len()
    );
    let messages: Vec<String> = subs
        .iter()
        .filter_map(|d| d.cause.as_ref())
        .flat_map(|c| c.exceptions().iter().filter_map(|e| e.message.clone()))
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("UNIQUE") || m.contains("unique") || m.contains("Duplicate")),
        "the duplicate insert was recorded as a fault: {messages:?}"
    );
    if database_type == "PostgreSQL" {
        // The error whose message quotes the bound value back was recorded (redacted).
        assert!(
            messages
                .iter()
                .any(|m| m.contains("invalid input syntax for type integer: ?")),
            "{messages:?}"
        );
    }
    for d in &datagrams {
        assert_clean("a datagram", d, b.password.as_deref());
    }
    // The URL is recorded, without the password.
    let url = subs[0]
        .sql
        .as_ref()
        .and_then(|s| s.url.clone().or_else(|| s.connection_string.clone()))
        .expect("sql.url or sql.connection_string");
    if b.password.is_some() {
        assert!(url.contains('@'), "user recorded: {url}");
    }

    // Over real UDP, to a socket on loopback playing the daemon.
    let daemon = UdpSocket::bind("127.0.0.1:0").expect("bind");
    daemon
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let udp_recorder = Recorder::builder()
        .daemon_address(DaemonAddress::new(
            daemon.local_addr().expect("addr").into(),
        ))
        .sample_all()
        .ignore_env()
        .build()
        .expect("recorder");
    // A second pool connected from the URL string itself, when there is one: `sql.url` then
    // comes from that string and must lose its password too.
    let from_url = match &b.url {
        Some(url) => Some(
            TracedPool::<DB>::connect(url)
                .await
                .expect("connect from URL"),
        ),
        None => None,
    };
    let segment = udp_recorder.begin_segment("privacy-udp");
    let entity = segment.entity().clone();
    async {
        workload(b, &b.pool).await;
        if let Some(pool) = &from_url {
            workload(b, pool).await;
        }
    }
    .in_entity(entity)
    .await;
    segment.end();
    let mut buf = vec![0u8; 70_000];
    let mut received = 0;
    let mut sql_blocks = 0;
    while let Ok(n) = daemon.recv(&mut buf) {
        received += 1;
        assert_clean("a UDP datagram", &buf[..n], b.password.as_deref());
        sql_blocks += String::from_utf8_lossy(&buf[..n])
            .matches("\"sanitized_query\"")
            .count();
    }
    assert!(received >= 1, "the segment arrived over UDP");
    assert!(
        sql_blocks >= 7,
        "the statements arrived over UDP ({sql_blocks})"
    );
    if let Some(pool) = from_url {
        pool.close().await;
    }
}

per_database!(scenario);

/// What a pool records about its server, checked without a server: lazily connected pools only
/// read their options.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn recorded_target_has_no_password() {
    let url = "postgres://app:hunter2-very-secret@db.internal:5432/orders?sslmode=disable&password=alsosecret";
    for pool in [
        TracedPool::new(sqlx::PgPool::connect_lazy(url).expect("lazy pool")),
        TracedPool::builder(sqlx::PgPool::connect_lazy(url).expect("lazy pool"))
            .url(url)
            .build(),
    ] {
        assert_eq!(pool.name(), "orders@db.internal");
        let debug = format!("{pool:?}");
        assert!(debug.contains("postgres://app@db.internal"), "{debug}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("alsosecret"),
            "{debug}"
        );
    }
}
