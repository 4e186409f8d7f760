//! Huge inputs — 1 MB of metadata, 10,000 subsegments in one segment, 10 KB annotation values,
//! 100 KB SQL statements through xray-sqlx on SQLite: no datagram over 64,000 bytes, documents
//! streamed or truncated (truncation marked in `metadata.xray.truncated`), every entity
//! accounted for (counted in what arrived, `dropped` = 0).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{UdpCapture, document_of, entities};
use xray_core::Recorder;
use xray_core::XrayFutureExt;
use xray_core::daemon::DaemonAddress;
use xray_core::emit::{MAX_DATAGRAM_BYTES, MemoryEmitter, UdpEmitter};
use xray_core::segment::MAX_ANNOTATION_VALUE_CHARS;

fn udp_recorder() -> (Recorder, UdpCapture) {
    let daemon = UdpCapture::bind();
    let recorder = Recorder::builder()
        .emitter(UdpEmitter::synchronous(&DaemonAddress::new(
            daemon.addr().into(),
        )))
        .sample_all()
        .ignore_env()
        .build()
        .unwrap();
    (recorder, daemon)
}

/// Waits for the datagrams the recorder counted as sent, checks each, returns the documents.
fn arrived(recorder: &Recorder, daemon: &UdpCapture) -> Vec<serde_json::Value> {
    recorder.flush();
    let stats = recorder.emit_stats();
    assert_eq!(stats.dropped, 0, "{stats:?}");
    let datagrams = daemon.wait_for(stats.sent as usize, Duration::from_secs(5));
    assert_eq!(datagrams.len() as u64, stats.sent, "{stats:?}");
    datagrams
        .iter()
        .map(|d| {
            assert!(d.len() <= MAX_DATAGRAM_BYTES, "{} bytes", d.len());
            document_of(d)
        })
        .collect()
}

#[test]
fn one_megabyte_of_metadata_is_truncated_and_marked() {
    let (recorder, daemon) = udp_recorder();
    let segment = recorder.begin_segment("big-metadata");
    segment.add_metadata("blob", &"m".repeat(1 << 20));
    segment.add_metadata("small", &"kept");
    segment.annotate("customer", "c-42");
    let sub = segment.begin_subsegment("child");
    sub.add_metadata("blob", &vec!["x".repeat(1000); 1000]); // 1 MB in a subsegment too
    drop(sub);
    segment.end();

    let docs = arrived(&recorder, &daemon);
    let total: usize = docs.iter().map(entities).sum();
    assert_eq!(total, 2, "{docs:#?}");
    for doc in &docs {
        let note = &doc["metadata"]["xray"]["truncated"];
        assert!(
            note["original_bytes"].as_u64().unwrap() > 1_000_000,
            "{doc}"
        );
        assert!(
            note["removed"]
                .to_string()
                .contains("metadata.default.blob"),
            "{note}"
        );
        assert!(doc["metadata"]["default"].get("blob").is_none());
    }
    let root = docs.iter().find(|d| d["name"] == "big-metadata").unwrap();
    assert_eq!(root["metadata"]["default"]["small"], "kept");
    assert_eq!(root["annotations"]["customer"], "c-42");
    assert_eq!(recorder.emit_stats().truncated, 2);
}

#[test]
fn ten_thousand_subsegments_are_streamed_and_all_arrive() {
    let emitter = MemoryEmitter::new();
    let recorder = Recorder::builder()
        .emitter(emitter.clone())
        .sample_all()
        .ignore_env()
        .build()
        .unwrap();
    let segment = recorder.begin_segment("many");
    for i in 0..10_000 {
        let sub = segment.begin_subsegment(&format!("step-{i}"));
        sub.annotate("i", i);
    }
    let segment_id = segment.id().unwrap();
    segment.end();

    let datagrams = emitter.datagrams();
    let docs: Vec<_> = datagrams
        .iter()
        .map(|d| {
            assert!(d.len() <= MAX_DATAGRAM_BYTES);
            document_of(d)
        })
        .collect();
    assert_eq!(docs.iter().map(entities).sum::<usize>(), 10_001);
    let stats = recorder.emit_stats();
    assert_eq!(
        (stats.sent, stats.dropped),
        (docs.len() as u64, 0),
        "{stats:?}"
    );
    // Rebuilt by the local receiver's rules: one complete trace, every step under the segment.
    let traces = xray_local::assemble(emitter.documents());
    assert_eq!(traces.len(), 1);
    assert!(traces[0].is_complete());
    let root = &traces[0].roots()[0];
    assert_eq!(root.id(), segment_id);
    assert_eq!(root.children().len(), 10_000);
    println!(
        "10,000 subsegments: {} datagrams, {} streamed, largest {} bytes",
        datagrams.len(),
        stats.streamed,
        datagrams.iter().map(Vec::len).max().unwrap()
    );
}

#[test]
fn ten_kilobyte_annotations_are_cut_to_the_schema_limit() {
    let (recorder, daemon) = udp_recorder();
    let segment = recorder.begin_segment("annotated");
    for i in 0..100 {
        // 100 × 10 KB: a megabyte of annotations before the per-value cut.
        segment.annotate(&format!("a{i}"), format!("{i}:{}", "v".repeat(10 * 1024)));
    }
    segment.end();
    let docs = arrived(&recorder, &daemon);
    assert_eq!(docs.len(), 1);
    let annotations = docs[0]["annotations"].as_object().unwrap();
    assert_eq!(annotations.len(), 100, "no annotation lost");
    for (key, value) in annotations {
        let s = value.as_str().unwrap();
        assert!(s.chars().count() <= MAX_ANNOTATION_VALUE_CHARS, "{key}");
        assert!(s.starts_with(&format!("{}:", &key[1..])));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_kilobyte_sql_statements_are_cut_and_every_query_arrives() {
    let (recorder, daemon) = udp_recorder();
    let pool =
        xray_sqlx::TracedPool::new(sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap());
    let segment = recorder.begin_segment("sql");
    let padding = "x".repeat(100 * 1024);
    async {
        for i in 0..10 {
            // A 100 KB statement: the padding is a comment, so the statement is valid and short
            // to run.
            let sql = format!("SELECT {i} AS n /* {padding} */");
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(n, i);
        }
    }
    .in_entity(segment.entity().clone())
    .await;
    segment.end();

    let docs = arrived(&recorder, &daemon);
    assert_eq!(
        docs.iter().map(entities).sum::<usize>(),
        11,
        "{} documents",
        docs.len()
    );
    let mut queries = Vec::new();
    let mut collect = |d: &serde_json::Value| {
        if let Some(q) = d["sql"]["sanitized_query"].as_str() {
            queries.push(q.to_owned());
        }
    };
    for doc in &docs {
        collect(doc);
        for s in doc["subsegments"].as_array().into_iter().flatten() {
            collect(s);
        }
    }
    assert_eq!(queries.len(), 10);
    for q in &queries {
        assert!(
            q.ends_with(xray_sqlx::TRUNCATION_MARKER),
            "{}",
            &q[q.len() - 40..]
        );
        assert!(q.len() <= xray_sqlx::MAX_QUERY_BYTES + xray_sqlx::TRUNCATION_MARKER.len());
        assert!(q.starts_with("SELECT "));
    }
    println!("10 × 100 KB statements: {} datagrams", docs.len());
}
