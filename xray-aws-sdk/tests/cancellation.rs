//! A call whose future is dropped before it completes still ends its subsegment (the guard lives
//! in the call's `ConfigBag`, which is dropped with the future), so the segment is sent.

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
