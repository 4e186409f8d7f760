//! A call's lifetime against its segment's: a call whose future is dropped before it completes
//! still records its subsegment (the state lives in the call's `ConfigBag`, which is dropped with
//! the future), and a call still running when its segment ends is sent on its own when it ends.

mod common;

use std::time::Duration;

use aws_smithy_http_client::test_util::NeverClient;
use common::*;
use xray_core::XrayFutureExt;

#[tokio::test]
async fn a_dropped_call_ends_its_subsegment() {
    let (recorder, emitter) = recorder();
    let never = NeverClient::new();
    let client = ddb_client(never.clone());

    let segment = recorder.begin_segment("impatient");
    let call = client
        .get_item()
        .table_name("orders")
        .send()
        .in_entity(segment.entity().clone());
    let timed_out = tokio::time::timeout(Duration::from_millis(50), call).await;
    assert!(timed_out.is_err(), "the call never completes");
    assert_eq!(never.num_calls(), 1, "the request was in flight");
    segment.end();

    let docs = emitter.wait_for(1, Duration::from_secs(5));
    assert_eq!(docs.len(), 1, "the segment was sent: its subsegment ended");
    let sub = only_subsegment(&docs[0]);
    assert_eq!(sub.name, "DynamoDB");
    assert!(sub.end_time.is_some());
    assert!(!sub.in_progress);
    let aws = sub.aws.as_ref().unwrap();
    assert_eq!(aws.operation.as_deref(), Some("GetItem"));
    if cfg!(feature = "dynamodb") {
        assert_eq!(aws.table_name.as_deref(), Some("orders"));
    }
    assert!(sub.http.is_none(), "no response was received");
}

#[tokio::test]
async fn a_call_that_outlives_its_segment_is_sent_on_its_own() {
    let (recorder, emitter) = recorder();
    let gated = GatedClient::default();
    let client = ddb_client(gated.clone());

    let segment = recorder.begin_segment("fire-and-forget");
    let segment_id = segment.id().unwrap();
    let call = tokio::spawn(
        async move { client.list_tables().send().await }.in_entity(segment.entity().clone()),
    );
    gated.arrived().await;
    // The handler returns while the call is in flight: the segment goes at once.
    segment.end();
    let docs = emitter.documents();
    assert_eq!(docs.len(), 1);
    assert!(docs[0].subsegments.is_empty());

    gated.open();
    call.await.unwrap().expect("the call succeeds");
    let docs = emitter.wait_for(2, Duration::from_secs(5));
    assert_eq!(docs.len(), 2);
    let sub = &docs[1];
    assert_eq!(sub.name, "DynamoDB");
    assert_eq!(sub.kind, Some(xray_core::model::DocumentKind::Subsegment));
    assert_eq!(sub.parent_id, Some(segment_id));
    assert_eq!(sub.trace_id, docs[0].trace_id);
    let aws = sub.aws.as_ref().unwrap();
    assert_eq!(aws.operation.as_deref(), Some("ListTables"));
    assert_eq!(aws.request_id.as_deref(), Some("GATED1"));
    assert!(sub.end_time.unwrap() >= docs[0].end_time.unwrap());
}
