//! Context under load: 1,000 concurrent requests against an axum server on a multi-threaded
//! runtime, each spawning tasks (carried with `in_current_entity` / `in_entity`) that open
//! nested subsegments across `.await` points. Every subsegment lands in its own request's trace
//! under the right parent — checked trace by trace on the trees rebuilt from what was sent.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use common::{HttpClient, serve};
use xray_core::emit::MemoryEmitter;
use xray_core::{Recorder, XrayFutureExt};
use xray_local::TraceNode;
use xray_tower::extract::XraySegment;
use xray_tower::server::XrayLayer;

const REQUESTS: usize = 1_000;
const TASKS: usize = 3;

/// Per request: the segment, and per task `r{i}-t{k}` > `r{i}-t{k}-inner` > `r{i}-t{k}-leaf`,
/// the leaf in a task of its own.
async fn handler(Path(i): Path<usize>, segment: XraySegment) -> String {
    segment.annotate("req", i as i64);
    let mut tasks = Vec::new();
    for k in 0..TASKS {
        tasks.push(tokio::spawn(
            async move {
                let outer = xray_core::begin_subsegment(&format!("r{i}-t{k}"));
                tokio::task::yield_now().await;
                async move {
                    let inner = xray_core::begin_subsegment(&format!("r{i}-t{k}-inner"));
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    async {
                        tokio::spawn(
                            async move {
                                tokio::task::yield_now().await;
                                let _leaf = xray_core::begin_subsegment(&format!("r{i}-t{k}-leaf"));
                                tokio::time::sleep(Duration::from_millis(1)).await;
                            }
                            .in_current_entity(),
                        )
                        .await
                        .unwrap();
                    }
                    .in_entity(inner.entity().clone())
                    .await;
                }
                .in_entity(outer.entity().clone())
                .await;
            }
            .in_current_entity(),
        ));
    }
    for t in tasks {
        t.await.unwrap();
    }
    format!("{i}")
}

fn names(nodes: &[TraceNode]) -> Vec<String> {
    let mut n: Vec<String> = nodes.iter().map(|n| n.name().to_owned()).collect();
    n.sort();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_subsegment_lands_in_its_own_trace_under_its_parent() {
    let emitter = MemoryEmitter::new();
    let recorder = Recorder::builder()
        .emitter(emitter.clone())
        .sample_all()
        .ignore_env()
        .build()
        .unwrap();
    let app = Router::new()
        .route("/req/{i}", get(handler))
        .layer(XrayLayer::new("context").recorder(recorder.clone()));
    let addr = serve(app).await;

    let client = HttpClient::new();
    let requests: Vec<_> = (0..REQUESTS)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                let (status, body) = client.get(addr, &format!("/req/{i}")).await;
                assert_eq!((status, body), (200, i.to_string().into()));
            })
        })
        .collect();
    for r in requests {
        r.await.unwrap();
    }

    let docs =
        tokio::task::spawn_blocking(move || emitter.wait_for(REQUESTS, Duration::from_secs(10)))
            .await
            .unwrap();
    let stats = recorder.emit_stats();
    assert_eq!(
        (stats.sent, stats.dropped, stats.streamed),
        (REQUESTS as u64, 0, 0),
        "{stats:?}"
    );
    let traces = xray_local::assemble(docs);
    assert_eq!(traces.len(), REQUESTS, "one trace per request");
    let mut seen = vec![false; REQUESTS];
    for trace in &traces {
        assert!(trace.is_complete());
        assert!(trace.orphans().is_empty());
        let [root] = trace.roots() else {
            panic!("one root per trace: {trace}");
        };
        let i = match root.annotations().get("req") {
            Some(xray_core::model::AnnotationValue::Number(n)) => n.as_u64().unwrap() as usize,
            other => panic!("{other:?}"),
        };
        assert!(
            !std::mem::replace(&mut seen[i], true),
            "request {i} traced twice"
        );
        let expected: Vec<String> = (0..TASKS).map(|k| format!("r{i}-t{k}")).collect();
        assert_eq!(names(root.children()), expected, "trace of request {i}");
        for task in root.children() {
            let [inner] = task.children() else {
                panic!("{}: {:?}", task.name(), names(task.children()));
            };
            assert_eq!(inner.name(), format!("{}-inner", task.name()));
            let [leaf] = inner.children() else {
                panic!("{}: {:?}", inner.name(), names(inner.children()));
            };
            assert_eq!(leaf.name(), format!("{}-leaf", task.name()));
            assert!(leaf.children().is_empty());
        }
    }
    assert!(seen.iter().all(|s| *s));
    println!(
        "{REQUESTS} concurrent requests, {} subsegments, all in their own trace under the right parent",
        REQUESTS * TASKS * 3
    );
}
