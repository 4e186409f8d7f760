//! A real AWS SDK client traced by `xray-aws-sdk`, called inside an `#[instrument]`ed function:
//! the interceptor's subsegment nests under the function's subsegment, and the request the SDK
//! sends names it as the parent. The HTTP side is the SDK's own in-process test client.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::test_util::infallible_client_fn;
use tracing::instrument;
use tracing_subscriber::prelude::*;
use xray_core::emit::MemoryEmitter;
use xray_core::model::Namespace;
use xray_core::{Recorder, TraceHeader, XrayFutureExt};

#[instrument(skip_all, fields(xray.annotation.table_count_wanted = 1))]
async fn count_tables(client: &aws_sdk_dynamodb::Client) -> usize {
    client
        .list_tables()
        .send()
        .await
        .unwrap()
        .table_names()
        .len()
}

#[tokio::test]
async fn sdk_subsegment_nests_under_the_instrumented_function() {
    let sent: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = sent.clone();
    let http = infallible_client_fn(move |request| {
        if let Some(h) = request.headers().get("x-amzn-trace-id") {
            seen.lock().unwrap().push(h.to_str().unwrap().to_owned());
        }
        http::Response::builder()
            .status(200)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amzn-requestid", "REQ1")
            .body(r#"{"TableNames":["orders"]}"#.to_owned())
            .unwrap()
    });
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .http_client(http)
        .interceptor(xray_aws_sdk::XrayInterceptor::new())
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);

    let emitter = MemoryEmitter::new();
    let recorder = Recorder::builder()
        .emitter(emitter.clone())
        .sample_all()
        .ignore_env()
        .build()
        .unwrap();
    // A current-thread runtime: the scoped subscriber covers every poll.
    let _subscriber = tracing::subscriber::set_default(
        tracing_subscriber::registry().with(xray_tracing::XrayLayer::new()),
    );

    let segment = recorder.begin_segment("worker");
    let n = count_tables(&client)
        .in_entity(segment.entity().clone())
        .await;
    assert_eq!(n, 1);
    segment.end();

    let docs = emitter.documents();
    assert_eq!(docs.len(), 1, "{docs:#?}");
    let function = &docs[0].subsegments[0];
    assert_eq!(function.name, "count_tables");
    assert_eq!(docs[0].subsegments.len(), 1);
    let call = &function.subsegments[0];
    assert_eq!(call.name, "DynamoDB");
    assert_eq!(call.namespace, Some(Namespace::Aws));
    let aws = serde_json::to_value(call.aws.as_ref().unwrap()).unwrap();
    assert_eq!(aws["operation"], "ListTables", "{aws}");

    let sent = sent.lock().unwrap();
    assert_eq!(sent.len(), 1);
    let header: TraceHeader = sent[0].parse().unwrap();
    assert_eq!(Some(header.root()), docs[0].trace_id);
    assert_eq!(header.parent(), Some(call.id));
}
