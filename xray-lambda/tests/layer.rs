//! The layer in-process, around a real `lambda_runtime::service_fn` handler, with contexts built
//! by `lambda_runtime::Context::new` from Runtime API headers: sampled, unsampled, root-only and
//! missing headers, concurrent invocations, a cancelled invocation, a failing handler.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderValue};
use lambda_runtime::{Config, Context, Error, LambdaEvent, service_fn};
use serde_json::{Value, json};
use tower::{Layer, Service, ServiceExt};
use xray_core::Recorder;
use xray_core::emit::MemoryEmitter;
use xray_core::model::{Document, DocumentKind};
use xray_lambda::XrayLambdaLayer;

const SAMPLED_A: &str =
    "Root=1-6740d1a2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1";
const SAMPLED_B: &str =
    "Root=1-6740d1a3-fedcba9876543210fedcba98;Parent=1a2b3c4d5e6f7081;Sampled=1";

fn recorder() -> (Recorder, MemoryEmitter) {
    let emitter = MemoryEmitter::new();
    let recorder = Recorder::builder()
        .emitter(emitter.clone())
        .ignore_env()
        .build()
        .unwrap();
    (recorder, emitter)
}

/// An invocation as `lambda_runtime` builds it from the `/next` answer.
fn event(request_id: &str, trace: Option<&str>) -> LambdaEvent<Value> {
    let mut headers = HeaderMap::new();
    headers.insert(
        "lambda-runtime-deadline-ms",
        HeaderValue::from_static("1893456000000"),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:eu-west-1:111122223333:function:orders"),
    );
    if let Some(t) = trace {
        headers.insert("lambda-runtime-trace-id", HeaderValue::from_str(t).unwrap());
    }
    let context = Context::new(request_id, Arc::new(Config::default()), &headers).unwrap();
    LambdaEvent::new(json!({ "order": request_id }), context)
}

/// What the handler reports about the context it ran in.
async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let sub = xray_core::begin_subsegment("handle");
    sub.annotate("request_id", event.context.request_id.as_str());
    sub.begin_subsegment("inner").end();
    tokio::time::sleep(Duration::from_millis(2)).await;
    let downstream = sub.trace_header().map(|h| h.to_string());
    let id = sub.id().map(|i| i.to_string());
    sub.end();
    Ok(json!({ "downstream": downstream, "subsegment": id }))
}

fn assert_independent(doc: &Document, header: &str) {
    let header: xray_core::TraceHeader = header.parse().unwrap();
    assert_eq!(doc.kind, Some(DocumentKind::Subsegment), "{doc:?}");
    assert_eq!(doc.trace_id, Some(header.root()));
    assert_eq!(doc.parent_id, header.parent());
    assert_ne!(doc.name, "facade");
}

#[tokio::test]
async fn sampled_invocation_sends_subsegments_not_the_facade() {
    let (recorder, emitter) = recorder();
    // Work done when the handler is called, before its future runs, belongs to the invocation.
    let function =
        XrayLambdaLayer::new()
            .recorder(recorder)
            .layer(service_fn(|event: LambdaEvent<Value>| {
                xray_core::begin_subsegment("accept").end();
                handler(event)
            }));
    let out = function
        .oneshot(event("req-1", Some(SAMPLED_A)))
        .await
        .unwrap();

    let docs = emitter.documents();
    assert_eq!(docs.len(), 2, "{docs:#?}");
    for doc in &docs {
        assert_independent(doc, SAMPLED_A);
    }
    assert_eq!(docs[0].name, "accept");
    let handle = &docs[1];
    assert_eq!(handle.name, "handle");
    assert_eq!(handle.annotations["request_id"], "req-1".into());
    assert_eq!(handle.subsegments[0].name, "inner");
    assert_eq!(
        out["downstream"],
        format!(
            "Root=1-6740d1a2-0123456789abcdef01234567;Parent={};Sampled=1",
            handle.id
        )
    );
}

#[tokio::test]
async fn unsampled_root_only_and_missing_headers_record_nothing() {
    let (recorder, emitter) = recorder();
    let mut function = XrayLambdaLayer::new()
        .recorder(recorder)
        .layer(service_fn(handler));

    let unsampled = "Root=1-6740d1a2-aaaaaaaaaaaaaaaaaaaaaaaa;Parent=53995c3f42cd8ad8;Sampled=0";
    let out = function
        .ready()
        .await
        .unwrap()
        .call(event("req-0", Some(unsampled)))
        .await
        .unwrap();
    let down = out["downstream"].as_str().unwrap();
    assert!(
        down.starts_with("Root=1-6740d1a2-aaaaaaaaaaaaaaaaaaaaaaaa;"),
        "{down}"
    );
    assert!(down.contains("Sampled=0"), "{down}");

    let root_only = "Root=1-6740d1a2-bbbbbbbbbbbbbbbbbbbbbbbb;Lineage=a87bd80c:1";
    let out = function
        .ready()
        .await
        .unwrap()
        .call(event("req-pt", Some(root_only)))
        .await
        .unwrap();
    let down = out["downstream"].as_str().unwrap();
    assert!(
        down.starts_with("Root=1-6740d1a2-bbbbbbbbbbbbbbbbbbbbbbbb"),
        "{down}"
    );
    assert!(down.contains("Lineage=a87bd80c:1"), "{down}");

    for missing in [None, Some("not a trace header")] {
        let out = function
            .ready()
            .await
            .unwrap()
            .call(event("req-none", missing))
            .await
            .unwrap();
        assert_eq!(out["downstream"], Value::Null, "nothing to propagate");
    }

    assert!(emitter.documents().is_empty(), "{:#?}", emitter.documents());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invocations_keep_their_own_ids() {
    let (recorder, emitter) = recorder();
    let function = XrayLambdaLayer::new()
        .recorder(recorder)
        .layer(service_fn(handler));
    let calls = (0..8).map(|i| {
        let header = if i % 2 == 0 { SAMPLED_A } else { SAMPLED_B };
        let f = function.clone();
        tokio::spawn(async move {
            (
                header,
                f.oneshot(event(&format!("req-{i}"), Some(header)))
                    .await
                    .unwrap(),
            )
        })
    });
    let mut outputs = Vec::new();
    for c in calls {
        outputs.push(c.await.unwrap());
    }
    let docs = emitter.documents();
    assert_eq!(docs.len(), 8);
    for (header, out) in outputs {
        let id = out["subsegment"].as_str().unwrap();
        let doc = docs.iter().find(|d| d.id.to_string() == id).unwrap();
        assert_independent(doc, header);
    }
}

#[tokio::test]
async fn cancelled_invocation_still_sends_what_it_began() {
    let (recorder, emitter) = recorder();
    let function = XrayLambdaLayer::new().recorder(recorder).layer(service_fn(
        |_: LambdaEvent<Value>| async {
            let _sub = xray_core::begin_subsegment("slow");
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, Error>(Value::Null)
        },
    ));
    let timed_out = tokio::time::timeout(
        Duration::from_millis(20),
        function.oneshot(event("req-slow", Some(SAMPLED_A))),
    )
    .await;
    assert!(timed_out.is_err());
    let docs = emitter.documents();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].name, "slow");
    assert_independent(&docs[0], SAMPLED_A);
}

#[tokio::test]
async fn failing_handler_error_passes_through() {
    let (recorder, emitter) = recorder();
    let function = XrayLambdaLayer::new().recorder(recorder).layer(service_fn(
        |_: LambdaEvent<Value>| async {
            let sub = xray_core::begin_subsegment("charge");
            let err = std::io::Error::other("card declined");
            sub.record_error(&err);
            Err::<Value, Error>(err.into())
        },
    ));
    let err = function
        .oneshot(event("req-err", Some(SAMPLED_B)))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "card declined");
    let docs = emitter.documents();
    assert_eq!(docs.len(), 1);
    assert_independent(&docs[0], SAMPLED_B);
    assert!(docs[0].fault);
}
