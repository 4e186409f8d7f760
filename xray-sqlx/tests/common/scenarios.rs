//! Scenarios that run the same way against every database: each takes a [`Backend`] with its
//! test table created, does real work under a sampled segment and checks what was sent.

use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use sqlx::{ColumnIndex, Database, Executor, IntoArguments};
use xray_core::emit::MemoryEmitter;
use xray_core::model::Document;
use xray_core::{Recorder, XrayFutureExt};
use xray_sqlx::TracedDatabase;

use super::{Backend, Scalar, assert_sql_basics, dynamic, query_of, sql_subsegments, subsegments};

/// Runs `work` under a fresh sampled segment, ends it and returns what was sent.
pub async fn under_segment<F, T>(
    recorder: &Recorder,
    emitter: &MemoryEmitter,
    work: F,
) -> (T, Vec<Document>)
where
    F: std::future::Future<Output = T>,
{
    emitter.clear();
    let segment = recorder.begin_segment("sqlx-test");
    let out = work.in_entity(segment.entity().clone()).await;
    segment.end();
    let docs = emitter.documents();
    assert!(
        !docs.is_empty(),
        "the segment was sent (every subsegment ended)"
    );
    (out, docs)
}

/// Ordinary statements of every shape: `execute`, `query_as` + `fetch_all`, `query_scalar` +
/// `fetch_one`, `fetch_optional`, a bare-string statement, and the `sql` block of each.
pub async fn success<DB>(
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
    let insert = b.sql("INSERT INTO {t} (id, email, name) VALUES ({1}, {2}, {3})");
    let select_all = b.sql("SELECT id, name FROM {t} ORDER BY id");
    let count = b.sql("SELECT COUNT(*) FROM {t} WHERE id > {1}");
    let by_id = b.sql("SELECT name FROM {t} WHERE id = {1}");
    let update = b.sql("UPDATE {t} SET name = {1} WHERE id = {2}");
    let raw = b.sql("DELETE FROM {t} WHERE id = 2");

    let (rows, docs) = under_segment(recorder, emitter, async {
        for (id, email, name) in [(1_i64, "a@example.com", "Ann"), (2, "b@example.com", "Bob")] {
            sqlx::query(dynamic(insert.clone()))
                .bind(id)
                .bind(email.to_owned())
                .bind(name.to_owned())
                .execute(&b.pool)
                .await
                .expect("insert");
        }
        let rows: Vec<(i64, String)> = sqlx::query_as(dynamic(select_all.clone()))
            .fetch_all(&b.pool)
            .await
            .expect("select all");
        let n: i64 = sqlx::query_scalar(dynamic(count.clone()))
            .bind(0_i64)
            .fetch_one(&b.pool)
            .await
            .expect("count");
        assert_eq!(n, 2);
        let missing: Option<String> = sqlx::query_scalar(dynamic(by_id.clone()))
            .bind(99_i64)
            .fetch_optional(&b.pool)
            .await
            .expect("fetch_optional");
        assert_eq!(missing, None);
        sqlx::query(dynamic(update.clone()))
            .bind("Annie".to_owned())
            .bind(1_i64)
            .execute(&b.pool)
            .await
            .expect("update");
        (&b.pool)
            .execute(dynamic(raw.clone()))
            .await
            .expect("bare statement");
        rows
    })
    .await;
    assert_eq!(rows, [(1, "Ann".to_owned()), (2, "Bob".to_owned())]);

    let subs = sql_subsegments(&docs);
    let queries: Vec<&str> = subs.iter().map(query_of).collect();
    assert_eq!(
        queries,
        [
            insert.as_str(),
            insert.as_str(),
            select_all.as_str(),
            count.as_str(),
            by_id.as_str(),
            update.as_str(),
            raw.as_str()
        ]
    );
    for doc in &subs {
        assert_sql_basics(b, doc, database_type);
        assert!(!doc.fault && !doc.error, "{}", query_of(doc));
    }
    let preparations: Vec<Option<&str>> = subs
        .iter()
        .map(|d| d.sql.as_ref().and_then(|s| s.preparation.as_deref()))
        .collect();
    assert_eq!(
        preparations,
        [
            Some("statement"),
            Some("statement"),
            Some("statement"),
            Some("statement"),
            Some("statement"),
            Some("statement"),
            None
        ]
    );
    // Every statement went directly under the segment.
    let segment_id = docs[0].id.to_string();
    assert!(
        subsegments(&docs)
            .iter()
            .all(|(parent, _)| *parent == segment_id)
    );

    // The version is asked once in the background; once known, every subsegment has it.
    let version = super::wait_for_version(&b.pool)
        .await
        .expect("server version");
    assert!(!version.is_empty());
    let (_, docs) = under_segment(recorder, emitter, async {
        sqlx::query(dynamic(by_id.clone()))
            .bind(1_i64)
            .fetch_optional(&b.pool)
            .await
            .expect("select")
    })
    .await;
    let subs = sql_subsegments(&docs);
    assert_eq!(subs.len(), 1, "the version query itself is not traced");
    assert_eq!(
        subs[0]
            .sql
            .as_ref()
            .and_then(|s| s.database_version.as_deref()),
        Some(version.as_str())
    );
}

/// A syntax error and a unique-constraint violation: the statement fails as it would without
/// tracing, and its subsegment has `fault` and the database error as `cause`.
pub async fn errors<DB>(
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
    let insert = b.sql("INSERT INTO {t} (id, email) VALUES ({1}, {2})");
    let dup_email = "duplicate.person@example.com";
    let (results, docs) = under_segment(recorder, emitter, async {
        let syntax = sqlx::query("SELEC 1").fetch_all(&b.pool).await;
        let first = sqlx::query(dynamic(insert.clone()))
            .bind(10_i64)
            .bind(dup_email.to_owned())
            .execute(&b.pool)
            .await;
        let dup = sqlx::query(dynamic(insert.clone()))
            .bind(11_i64)
            .bind(dup_email.to_owned())
            .execute(&b.pool)
            .await;
        (syntax, first, dup)
    })
    .await;
    let (syntax, first, dup) = results;
    let Err(syntax) = syntax else {
        panic!("the syntax error did not fail")
    };
    assert!(matches!(syntax, sqlx::Error::Database(_)), "{syntax}");
    first.expect("first insert");
    let Err(dup) = dup else {
        panic!("the duplicate insert did not fail")
    };
    let Some(db_err) = dup.as_database_error() else {
        panic!("not a database error: {dup}")
    };
    assert!(db_err.is_unique_violation(), "{db_err}");

    let subs = sql_subsegments(&docs);
    assert_eq!(subs.len(), 3);
    for doc in &subs {
        assert_sql_basics(b, doc, database_type);
    }
    let [syntax_doc, ok_doc, dup_doc] = &subs[..] else {
        unreachable!()
    };
    assert_eq!(query_of(syntax_doc), "SELEC 1");
    assert!(syntax_doc.fault, "syntax error is a fault");
    let ex = &syntax_doc.cause.as_ref().expect("cause").exceptions()[0];
    assert_eq!(ex.kind.as_deref(), Some("DatabaseError"));
    assert!(ex.remote);
    assert!(!ex.message.as_deref().unwrap_or("").is_empty());

    assert!(!ok_doc.fault && ok_doc.cause.is_none());

    assert!(dup_doc.fault);
    let ex = &dup_doc.cause.as_ref().expect("cause").exceptions()[0];
    assert_eq!(ex.kind.as_deref(), Some("UniqueViolation"));
    let message = ex.message.as_deref().unwrap_or("");
    assert!(
        !message.contains(dup_email),
        "bound value in the cause: {message}"
    );
    // The segment itself is not marked: the application handled the error.
    assert!(!docs[0].fault);
}

/// Committed and rolled-back transactions, a savepoint, and a transaction on an acquired
/// connection: data ends up as the database says, and `BEGIN`/statements/`COMMIT`/`ROLLBACK`
/// are recorded in order.
pub async fn transactions<DB>(
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
    let insert = b.sql("INSERT INTO {t} (id, email) VALUES ({1}, {2})");
    let ids = b.sql("SELECT id FROM {t} ORDER BY id");
    let ins = |id: i64| {
        sqlx::query(dynamic(insert.clone()))
            .bind(id)
            .bind(format!("tx{id}@example.com"))
    };
    let (ids_after, docs) = under_segment(recorder, emitter, async {
        let mut tx = b.pool.begin().await.expect("begin");
        ins(1).execute(&mut tx).await.expect("insert 1");
        tx.commit().await.expect("commit");

        let mut tx = b.pool.begin().await.expect("begin");
        ins(2).execute(&mut tx).await.expect("insert 2");
        tx.rollback().await.expect("rollback");

        let mut tx = b.pool.begin().await.expect("begin");
        ins(3).execute(&mut tx).await.expect("insert 3");
        {
            let mut inner = tx.begin().await.expect("savepoint");
            ins(4).execute(&mut inner).await.expect("insert 4");
            inner.rollback().await.expect("rollback to savepoint");
        }
        tx.commit().await.expect("commit");

        let mut conn = b.pool.acquire().await.expect("acquire");
        let mut tx = conn.begin().await.expect("begin on connection");
        ins(5).execute(&mut tx).await.expect("insert 5");
        tx.commit().await.expect("commit");
        ins(6)
            .execute(&mut conn)
            .await
            .expect("insert 6 on the connection");

        let ids: Vec<i64> = sqlx::query_scalar(dynamic(ids.clone()))
            .fetch_all(&b.pool)
            .await
            .expect("ids");
        ids
    })
    .await;
    assert_eq!(ids_after, [1, 3, 5, 6]);
    let queries: Vec<String> = sql_subsegments(&docs)
        .iter()
        .map(|d| query_of(d).to_owned())
        .collect();
    let i = insert.as_str();
    assert_eq!(
        queries,
        [
            "BEGIN",
            i,
            "COMMIT",
            "BEGIN",
            i,
            "ROLLBACK",
            "BEGIN",
            i,
            "SAVEPOINT",
            i,
            "ROLLBACK TO SAVEPOINT",
            "COMMIT",
            "BEGIN",
            i,
            "COMMIT",
            i,
            ids.as_str()
        ]
    );
    for doc in sql_subsegments(&docs) {
        assert_sql_basics(b, &doc, database_type);
        assert!(!doc.fault, "{}", query_of(&doc));
    }
    // Transaction control statements are not prepared.
    let begin = &sql_subsegments(&docs)[0];
    assert_eq!(
        begin.sql.as_ref().and_then(|s| s.preparation.as_deref()),
        None
    );
}

/// `fetch` streams: read to the end, dropped after one row, and never polled. Each subsegment
/// ends (otherwise the segment would never be sent) and none is a fault.
pub async fn streams<DB>(
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
    let insert = b.sql("INSERT INTO {t} (id, email) VALUES ({1}, {2})");
    for id in 1..=20_i64 {
        sqlx::query(dynamic(insert.clone()))
            .bind(id)
            .bind(format!("s{id}@example.com"))
            .execute(&b.pool)
            .await
            .expect("seed");
    }
    let all = b.sql("SELECT id FROM {t} ORDER BY id");
    let early = b.sql("SELECT id FROM {t} WHERE id > {1} ORDER BY id");
    let never = b.sql("SELECT id FROM {t} WHERE id < {1}");
    let (seen, docs) = under_segment(recorder, emitter, async {
        let ids: Vec<i64> = sqlx::query_scalar::<_, i64>(dynamic(all.clone()))
            .fetch(&b.pool)
            .try_collect()
            .await
            .expect("full stream");
        let mut stream = sqlx::query_scalar::<_, i64>(dynamic(early.clone()))
            .bind(5_i64)
            .fetch(&b.pool);
        let first = stream.next().await.expect("a row").expect("no error");
        drop(stream);
        let unpolled = sqlx::query_scalar::<_, i64>(dynamic(never.clone()))
            .bind(3_i64)
            .fetch(&b.pool);
        drop(unpolled);
        // The connection the early-dropped stream held goes back to the pool and still works.
        let n: i64 = sqlx::query_scalar(dynamic(b.sql("SELECT COUNT(*) FROM {t}")))
            .fetch_one(&b.pool)
            .await
            .expect("count after drop");
        (ids, first, n)
    })
    .await;
    let (ids, first, n) = seen;
    assert_eq!(ids, (1..=20).collect::<Vec<_>>());
    assert_eq!(first, 6);
    assert_eq!(n, 20);
    let subs = sql_subsegments(&docs);
    let queries: Vec<&str> = subs.iter().map(query_of).collect();
    assert_eq!(queries[..3], [all.as_str(), early.as_str(), never.as_str()]);
    for doc in &subs {
        assert_sql_basics(b, doc, database_type);
        assert!(!doc.in_progress);
        assert!(!doc.fault, "{}", query_of(doc));
    }
}

/// Several tasks under one segment, each with its own subsegment, run statements concurrently;
/// statements are also run concurrently straight from the segment. Every statement's
/// subsegment is a child of the entity that was current when it ran.
pub async fn concurrent<DB>(
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
    const WORKERS: usize = 4;
    const PER_WORKER: usize = 3;
    let pool = b.pool.clone();
    let table = b.table.clone();
    let dollar = b.dollar;
    let ((), docs) = under_segment(recorder, emitter, async move {
        let mut tasks = Vec::new();
        for w in 0..WORKERS {
            let pool = pool.clone();
            let table = table.clone();
            tasks.push(tokio::spawn(
                async move {
                    let sub = xray_core::begin_subsegment(&format!("worker-{w}"));
                    async {
                        for i in 0..PER_WORKER {
                            let p = if dollar { "$1" } else { "?" };
                            let sql = format!(
                                "SELECT COUNT(*) FROM {table} WHERE id > {p} /* worker {w} */"
                            );
                            let _: i64 = sqlx::query_scalar(dynamic(sql))
                                .bind(i as i64)
                                .fetch_one(&pool)
                                .await
                                .expect("worker query");
                            tokio::time::sleep(Duration::from_millis(2)).await;
                        }
                    }
                    .in_entity(sub.entity().clone())
                    .await;
                    sub.end();
                }
                .in_current_entity(),
            ));
        }
        let direct = (0..3).map(|i| {
            let pool = pool.clone();
            let table = table.clone();
            async move {
                let sql = format!("SELECT COUNT(*) FROM {table} /* direct {i} */");
                let _: i64 = sqlx::query_scalar(dynamic(sql))
                    .fetch_one(&pool)
                    .await
                    .expect("direct query");
            }
        });
        futures_util::future::join_all(direct).await;
        for t in tasks {
            t.await.expect("task");
        }
    })
    .await;

    let all = subsegments(&docs);
    let segment_id = docs
        .iter()
        .find(|d| d.kind.is_none())
        .map(|d| d.id.to_string())
        .expect("segment document");
    for w in 0..WORKERS {
        let worker = all
            .iter()
            .find(|(_, d)| d.name == format!("worker-{w}"))
            .unwrap_or_else(|| panic!("worker-{w} subsegment"));
        assert_eq!(worker.0, segment_id, "worker-{w} under the segment");
        let worker_id = worker.1.id.to_string();
        let mine: Vec<&Document> = all
            .iter()
            .filter(|(parent, d)| *parent == worker_id && d.sql.is_some())
            .map(|(_, d)| d)
            .collect();
        assert_eq!(mine.len(), PER_WORKER, "worker-{w}'s statements");
        assert!(
            mine.iter()
                .all(|d| query_of(d).ends_with(&format!("/* worker {w} */")))
        );
    }
    let direct: Vec<&(String, Document)> = all
        .iter()
        .filter(|(_, d)| query_of(d).contains("/* direct"))
        .collect();
    assert_eq!(direct.len(), 3);
    assert!(direct.iter().all(|(parent, _)| *parent == segment_id));
    let sql: Vec<&Document> = all
        .iter()
        .filter(|(_, d)| d.sql.is_some())
        .map(|(_, d)| d)
        .collect();
    assert_eq!(sql.len(), WORKERS * PER_WORKER + 3);
    for doc in sql {
        assert_sql_basics(b, doc, database_type);
    }
}
