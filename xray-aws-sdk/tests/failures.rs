//! Failed calls: throttling with retries, server faults, client errors and failures without a
//! response. One subsegment per call (not per attempt), `retries` = attempts − 1, flags and cause
//! as the official SDKs record them.

mod common;

use std::time::Duration;

use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_smithy_http_client::test_util::NeverClient;
use common::*;
use xray_core::model::Document;

fn aws(sub: &Document) -> &xray_core::model::Aws {
    sub.aws.as_ref().expect("aws block")
}

fn status(sub: &Document) -> Option<u16> {
    sub.http.as_ref()?.response.as_ref()?.status
}

#[tokio::test]
async fn throttled_twice_then_success() {
    let (recorder, emitter) = recorder();
    let http = replay(vec![
        ddb_error(
            400,
            "REQ-T1",
            "ProvisionedThroughputExceededException",
            "Rate exceeded",
        ),
        ddb_error(
            400,
            "REQ-T2",
            "ProvisionedThroughputExceededException",
            "Rate exceeded",
        ),
        ddb_response(200, "REQ-OK", GET_ITEM_BODY),
    ]);
    let client = ddb_client(http.clone());

    let (result, segment) = traced(&recorder, &emitter, async {
        client.get_item().table_name("orders").send().await
    })
    .await;
    result.expect("third attempt succeeds");
    assert_eq!(http.actual_requests().count(), 3);

    let sub = only_subsegment(&segment);
    assert_eq!(aws(sub).retries, Some(2));
    assert_eq!(aws(sub).request_id.as_deref(), Some("REQ-OK"));
    assert_eq!(status(sub), Some(200));
    // The call succeeded in the end: the subsegment reports the final outcome.
    assert!(!sub.error && !sub.throttle && !sub.fault);
    assert!(sub.cause.is_none());
}

#[tokio::test]
async fn throttled_on_every_attempt() {
    let (recorder, emitter) = recorder();
    let throttled = || {
        ddb_error(
            400,
            "REQ-T",
            "ThrottlingException",
            "Rate of requests exceeds the allowed throughput",
        )
    };
    let http = replay(vec![throttled(), throttled(), throttled()]);
    let client = ddb_client(http.clone());

    let (result, segment) = traced(&recorder, &emitter, async {
        client.get_item().table_name("orders").send().await
    })
    .await;
    let err = result.expect_err("every attempt throttled");
    assert!(err.into_service_error().is_throttling_exception());
    assert_eq!(http.actual_requests().count(), 3);

    let sub = only_subsegment(&segment);
    assert_eq!(aws(sub).retries, Some(2));
    assert_eq!(aws(sub).request_id.as_deref(), Some("REQ-T"));
    if cfg!(feature = "dynamodb") {
        assert_eq!(aws(sub).table_name.as_deref(), Some("orders"));
    }
    assert_eq!(status(sub), Some(400));
    assert!(sub.throttle, "throttling code sets throttle");
    assert!(sub.error, "throttling is a client-side error");
    assert!(!sub.fault, "a 4xx service error is not a fault");
    let exceptions = sub.cause.as_ref().expect("cause").exceptions();
    assert_eq!(exceptions.len(), 1);
    assert_eq!(exceptions[0].kind.as_deref(), Some("ThrottlingException"));
    assert_eq!(
        exceptions[0].message.as_deref(),
        Some("Rate of requests exceeds the allowed throughput")
    );
    assert!(exceptions[0].remote);
}

#[tokio::test]
async fn client_error_is_error_not_fault() {
    let (recorder, emitter) = recorder();
    let client = ddb_client(replay(vec![ddb_error(
        400,
        "REQ-404",
        "ResourceNotFoundException",
        "Requested resource not found",
    )]));
    let (result, segment) = traced(&recorder, &emitter, async {
        client.describe_table().table_name("missing").send().await
    })
    .await;
    assert!(
        result
            .unwrap_err()
            .into_service_error()
            .is_resource_not_found_exception()
    );

    let sub = only_subsegment(&segment);
    assert_eq!(aws(sub).retries, Some(0), "not retryable");
    assert!(sub.error && !sub.fault && !sub.throttle);
    let ex = &sub.cause.as_ref().unwrap().exceptions()[0];
    assert_eq!(ex.kind.as_deref(), Some("ResourceNotFoundException"));
    assert!(ex.remote);
}

#[tokio::test]
async fn server_error_is_a_fault() {
    let (recorder, emitter) = recorder();
    let fault = || {
        ddb_error(
            500,
            "REQ-500",
            "InternalServerError",
            "Internal server error",
        )
    };
    let http = replay(vec![fault(), fault(), fault()]);
    let client = ddb_client(http.clone());

    let (result, segment) = traced(&recorder, &emitter, async {
        client.get_item().table_name("orders").send().await
    })
    .await;
    assert!(result.is_err());
    assert_eq!(http.actual_requests().count(), 3, "5xx is retried");

    let sub = only_subsegment(&segment);
    assert_eq!(aws(sub).retries, Some(2));
    assert_eq!(status(sub), Some(500));
    assert!(sub.fault && !sub.error && !sub.throttle);
    let ex = &sub.cause.as_ref().unwrap().exceptions()[0];
    assert_eq!(ex.kind.as_deref(), Some("InternalServerError"));
    assert_eq!(ex.message.as_deref(), Some("Internal server error"));
    assert!(ex.remote);
}

#[tokio::test]
async fn connection_refused_is_a_local_fault() {
    let (recorder, emitter) = recorder();
    let client = ddb_client(RefusingClient);

    let (result, segment) = traced(&recorder, &emitter, async {
        client.get_item().table_name("orders").send().await
    })
    .await;
    let err = result.expect_err("no connection");
    assert!(matches!(
        err,
        aws_sdk_dynamodb::error::SdkError::DispatchFailure(_)
    ));

    let sub = only_subsegment(&segment);
    assert_eq!(aws(sub).retries, Some(2), "I/O errors are retried");
    assert!(aws(sub).request_id.is_none());
    assert!(sub.http.is_none(), "no response");
    assert!(sub.fault && !sub.error && !sub.throttle);
    let exceptions = sub.cause.as_ref().unwrap().exceptions();
    assert_eq!(exceptions[0].kind.as_deref(), Some("ConnectorError"));
    assert!(!exceptions[0].remote);
    assert!(
        exceptions
            .iter()
            .any(|e| e.message.as_deref() == Some("connection refused by the test")),
        "{exceptions:?}"
    );
}

#[tokio::test]
async fn operation_timeout_is_a_fault() {
    let (recorder, emitter) = recorder();
    let client = aws_sdk_dynamodb::Client::from_conf(
        ddb_config(NeverClient::new())
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(Duration::from_millis(50))
                    .build(),
            )
            .interceptor(xray_aws_sdk::XrayInterceptor::new())
            .build(),
    );

    let (result, segment) = traced(&recorder, &emitter, async {
        client.get_item().table_name("orders").send().await
    })
    .await;
    assert!(matches!(
        result,
        Err(aws_sdk_dynamodb::error::SdkError::TimeoutError(_))
    ));

    let sub = only_subsegment(&segment);
    assert!(sub.fault);
    assert!(sub.end_time.is_some());
    let ex = &sub.cause.as_ref().unwrap().exceptions()[0];
    assert_eq!(ex.kind.as_deref(), Some("TimeoutError"));
    assert!(!ex.remote);
}

#[tokio::test]
async fn s3_slow_down_is_throttle_error_and_fault() {
    let (recorder, emitter) = recorder();
    let slow_down = || {
        s3_response(
            503,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>S3-REQUEST-ID</RequestId></Error>",
        )
    };
    let http = replay(vec![slow_down(), slow_down(), slow_down()]);
    let client = s3_client(http.clone());

    let (result, segment) = traced(&recorder, &emitter, async {
        client
            .get_object()
            .bucket("invoices")
            .key("2024/01.pdf")
            .send()
            .await
    })
    .await;
    assert!(result.is_err());
    assert_eq!(http.actual_requests().count(), 3);

    let sub = only_subsegment(&segment);
    assert_eq!(aws(sub).retries, Some(2));
    assert_eq!(aws(sub).id_2.as_deref(), Some("S3-EXTENDED-ID-2"));
    assert_eq!(status(sub), Some(503));
    // A 503 is a fault; SlowDown is also throttling, which the SDKs count as a client error.
    assert!(sub.fault && sub.throttle && sub.error);
    let ex = &sub.cause.as_ref().unwrap().exceptions()[0];
    assert_eq!(ex.kind.as_deref(), Some("SlowDown"));
    assert_eq!(
        ex.message.as_deref(),
        Some("Please reduce your request rate.")
    );
    assert!(ex.remote);
}
