//! Statements with nothing to record: no current segment, an unsampled segment, a disabled
//! SDK. They run exactly as without tracing and nothing is sent.
#![cfg(feature = "sqlite")]

mod common;

use xray_core::context::ContextMissingStrategy;
use xray_core::emit::MemoryEmitter;
use xray_core::sampling::NeverSample;
use xray_core::{Recorder, XrayFutureExt};
use xray_sqlx::TracedPool;

async fn work(pool: &TracedPool<sqlx::Sqlite>) -> i64 {
    let mut tx = pool.begin().await.expect("begin");
    let n: i64 = sqlx::query_scalar("SELECT $1 + 1")
        .bind(41_i64)
        .fetch_one(&mut tx)
        .await
        .expect("query");
    tx.commit().await.expect("commit");
    let mut conn = pool.acquire().await.expect("acquire");
    let m: i64 = sqlx::query_scalar("SELECT $1 * 2")
        .bind(n)
        .fetch_one(&mut conn)
        .await
        .expect("query");
    m
}

async fn pool(recorder: &Recorder) -> TracedPool<sqlx::Sqlite> {
    let pool = sqlx::SqlitePool::connect("sqlite::memory:")
        .await
        .expect("sqlite");
    TracedPool::builder(pool).recorder(recorder.clone()).build()
}

#[tokio::test]
async fn no_current_segment_runs_and_records_nothing() {
    for strategy in [
        ContextMissingStrategy::LogError,
        ContextMissingStrategy::IgnoreError,
        ContextMissingStrategy::RuntimeError,
    ] {
        let emitter = MemoryEmitter::new();
        let recorder = Recorder::builder()
            .emitter(emitter.clone())
            .sample_all()
            .context_missing(strategy)
            .ignore_env()
            .build()
            .expect("recorder");
        let pool = pool(&recorder).await;
        assert_eq!(work(&pool).await, 84, "{strategy:?}");
        // A segment begun afterwards holds none of those statements.
        recorder.begin_segment("after").end();
        let docs = emitter.documents();
        assert_eq!(docs.len(), 1);
        assert!(docs[0].subsegments.is_empty(), "{strategy:?}");
    }
}

#[tokio::test]
async fn unsampled_segment_records_nothing() {
    let emitter = MemoryEmitter::new();
    let recorder = Recorder::builder()
        .emitter(emitter.clone())
        .sampler(NeverSample)
        .ignore_env()
        .build()
        .expect("recorder");
    let pool = pool(&recorder).await;
    let segment = recorder.begin_segment("unsampled");
    assert!(!segment.is_sampled());
    let n = work(&pool).in_entity(segment.entity().clone()).await;
    segment.end();
    assert_eq!(n, 84);
    assert!(emitter.datagrams().is_empty());
}

#[tokio::test]
async fn disabled_sdk_records_nothing() {
    let recorder = Recorder::disabled();
    let pool = pool(&recorder).await;
    let segment = recorder.begin_segment("disabled");
    let n = work(&pool).in_entity(segment.entity().clone()).await;
    segment.end();
    assert_eq!(n, 84);
}

/// The futures and streams of traced executors can be spawned.
#[tokio::test]
async fn futures_are_send() {
    fn assert_send<T: Send>(t: T) -> T {
        t
    }
    let (recorder, _emitter) = common::recorder();
    let pool = pool(&recorder).await;
    let n: i64 = tokio::spawn({
        let pool = pool.clone();
        assert_send(async move {
            let mut tx = pool.begin().await.expect("begin");
            let n: i64 = sqlx::query_scalar("SELECT 1")
                .fetch_one(&mut tx)
                .await
                .expect("query");
            tx.commit().await.expect("commit");
            let mut conn = pool.acquire().await.expect("acquire");
            let mut tx = conn.begin().await.expect("begin");
            let m: i64 = sqlx::query_scalar("SELECT 2")
                .fetch_one(&mut tx)
                .await
                .expect("query");
            tx.rollback().await.expect("rollback");
            n + m
        })
    })
    .await
    .expect("task");
    assert_eq!(n, 3);
    let _ = assert_send(sqlx::query("SELECT 1").fetch(&pool));
}
