//! A successful call becomes one `aws` subsegment with the operation, region, request id,
//! response and whitelisted parameters — and nothing of the item. Real `aws-sdk-dynamodb`
//! clients, answered by the SDK's own replay client (no network).

mod common;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_http_client::test_util::infallible_client_fn;
use common::*;
use serde_json::{Value, json};
use xray_core::model::Namespace;

#[tokio::test]
async fn get_item_is_one_aws_subsegment() {
    let (recorder, emitter) = recorder();
    let http = replay(vec![ddb_response(200, "REQ-GET-1", GET_ITEM_BODY)]);
    let client = ddb_client(http.clone());

    let (result, segment) = traced(&recorder, &emitter, async {
        client
            .get_item()
            .table_name("orders")
            .key("id", AttributeValue::S("secret-key-value".into()))
            .consistent_read(true)
            .projection_expression("card")
            .send()
            .await
    })
    .await;
    let output = result.expect("GetItem succeeds");
    assert!(output.item().is_some());

    let sub = only_subsegment(&segment);
    assert_eq!(sub.name, "DynamoDB");
    assert_eq!(sub.namespace, Some(Namespace::Aws));
    assert!(!sub.error && !sub.fault && !sub.throttle);
    assert!(sub.cause.is_none());
    assert!(sub.end_time.is_some());
    assert!(sub.start_time.as_secs_f64() >= segment.start_time.as_secs_f64());

    let aws = sub.aws.as_ref().expect("aws block");
    assert_eq!(aws.operation.as_deref(), Some("GetItem"));
    assert_eq!(aws.region.as_deref(), Some("us-east-1"));
    assert_eq!(aws.request_id.as_deref(), Some("REQ-GET-1"));
    assert_eq!(aws.retries, Some(0));
    assert!(aws.id_2.is_none(), "id_2 is S3's");
    if cfg!(feature = "dynamodb") {
        assert_eq!(aws.table_name.as_deref(), Some("orders"));
        assert_eq!(aws.extra["consistent_read"], Value::Bool(true));
        assert_eq!(aws.extra["projection_expression"], Value::from("card"));
        assert_eq!(
            aws.extra["consumed_capacity"],
            json!({"TableName": "orders", "CapacityUnits": 0.5})
        );
    } else {
        // Without the service's feature, no parameter is captured at all.
        assert!(aws.table_name.is_none() && aws.extra.is_empty(), "{aws:?}");
    }

    let response = sub
        .http
        .as_ref()
        .and_then(|h| h.response.as_ref())
        .expect("http.response");
    assert_eq!(response.status, Some(200));
    assert_eq!(response.content_length, Some(GET_ITEM_BODY.len() as i64));
}

#[tokio::test]
async fn item_contents_never_reach_the_wire() {
    let (recorder, emitter) = recorder();
    let client = ddb_client(replay(vec![
        ddb_response(
            200,
            "REQ-PUT",
            r#"{"ConsumedCapacity":{"TableName":"orders","CapacityUnits":1.0},"ItemCollectionMetrics":{"ItemCollectionKey":{"id":{"S":"secret-collection-key"}},"SizeEstimateRangeGB":[0.0,1.0]}}"#,
        ),
        ddb_response(200, "REQ-GET", GET_ITEM_BODY),
        ddb_response(
            200,
            "REQ-QUERY",
            r#"{"Count":1,"ScannedCount":1,"Items":[{"id":{"S":"secret-item-id"}}]}"#,
        ),
    ]));

    let (result, _) = traced(&recorder, &emitter, async {
        client
            .put_item()
            .table_name("orders")
            .item("id", AttributeValue::S("secret-item-id".into()))
            .item("card", AttributeValue::S("secret-card-number".into()))
            .send()
            .await
            .unwrap();
        client
            .get_item()
            .table_name("orders")
            .key("id", AttributeValue::S("secret-item-id".into()))
            .send()
            .await
            .unwrap();
        client
            .query()
            .table_name("orders")
            .key_condition_expression("id = :id")
            .expression_attribute_values(":id", AttributeValue::S("secret-item-id".into()))
            .send()
            .await
    })
    .await;
    result.expect("calls succeed");

    let bytes: Vec<u8> = emitter.datagrams().concat();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("\"operation\":\"PutItem\""), "{text}");
    if cfg!(feature = "dynamodb") {
        assert!(text.contains("\"table_name\":\"orders\""), "{text}");
        assert!(text.contains("SizeEstimateRangeGB"), "{text}");
    }
    assert!(!text.contains("secret"), "item data leaked: {text}");
    assert!(!text.contains("AKIDTEST"), "credentials leaked: {text}");
}

#[tokio::test]
async fn clients_from_aws_config_are_traced() {
    use aws_config::BehaviorVersion;
    use aws_credential_types::Credentials;

    let (recorder, emitter) = recorder();
    let http = infallible_client_fn(|_request| {
        http::Response::builder()
            .header("x-amzn-requestid", "REQ-LIST")
            .body(r#"{"TableNames":["a","b","c"]}"#)
            .unwrap()
    });
    let sdk_config = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new("eu-central-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .http_client(http)
        .load()
        .await;
    let client = xray_aws_sdk::instrumented_client!(aws_sdk_dynamodb, &sdk_config);

    let (result, segment) = traced(&recorder, &emitter, async {
        client.list_tables().limit(3).send().await
    })
    .await;
    assert_eq!(result.unwrap().table_names().len(), 3);
    let aws = only_subsegment(&segment).aws.as_ref().unwrap();
    assert_eq!(aws.operation.as_deref(), Some("ListTables"));
    assert_eq!(aws.region.as_deref(), Some("eu-central-1"));
    assert_eq!(aws.request_id.as_deref(), Some("REQ-LIST"));
    if cfg!(feature = "dynamodb") {
        assert_eq!(aws.extra["limit"], Value::from(3));
        assert_eq!(aws.extra["table_count"], Value::from(3));
    }
}

#[cfg(feature = "dynamodb")]
#[tokio::test]
async fn with_xray_registers_the_interceptor() {
    use xray_aws_sdk::XrayConfigExt;

    let (recorder, emitter) = recorder();
    let client = aws_sdk_dynamodb::Client::from_conf(
        ddb_config(replay(vec![ddb_response(
            200,
            "REQ",
            r#"{"TableNames":[]}"#,
        )]))
        .with_xray()
        .build(),
    );
    let (_, segment) = traced(&recorder, &emitter, client.list_tables().send()).await;
    assert_eq!(only_subsegment(&segment).name, "DynamoDB");
}

#[tokio::test]
async fn account_id_is_recorded() {
    use xray_aws_sdk::XrayInterceptor;

    let (recorder, emitter) = recorder();
    let client = aws_sdk_dynamodb::Client::from_conf(
        ddb_config(replay(vec![ddb_response(
            200,
            "REQ",
            r#"{"TableNames":[]}"#,
        )]))
        .interceptor(XrayInterceptor::new().account_id("123456789012"))
        .build(),
    );
    let (_, segment) = traced(&recorder, &emitter, client.list_tables().send()).await;
    let aws = only_subsegment(&segment).aws.as_ref().unwrap();
    assert_eq!(aws.account_id.as_deref(), Some("123456789012"));
}

#[tokio::test]
async fn one_subsegment_per_call_even_with_two_interceptors() {
    use xray_aws_sdk::XrayInterceptor;

    let (recorder, emitter) = recorder();
    let client = aws_sdk_dynamodb::Client::from_conf(
        ddb_config(replay(vec![
            ddb_response(200, "R1", r#"{"TableNames":[]}"#),
            ddb_response(200, "R2", r#"{"TableNames":[]}"#),
        ]))
        .interceptor(XrayInterceptor::new())
        .interceptor(XrayInterceptor::new())
        .build(),
    );
    let (_, segment) = traced(&recorder, &emitter, async {
        client.list_tables().send().await.unwrap();
        client.list_tables().send().await.unwrap();
    })
    .await;
    let ids: Vec<_> = segment
        .subsegments
        .iter()
        .map(|s| s.aws.as_ref().unwrap().request_id.clone().unwrap())
        .collect();
    assert_eq!(ids, ["R1", "R2"]);
}

#[tokio::test]
async fn s3_records_both_request_ids() {
    let (recorder, emitter) = recorder();
    let client = s3_client(replay(vec![s3_response(200, "")]));
    let (result, segment) = traced(&recorder, &emitter, async {
        client
            .put_object()
            .bucket("invoices")
            .key("2024/01.pdf")
            .body(b"secret-object-body".to_vec().into())
            .send()
            .await
    })
    .await;
    result.expect("PutObject succeeds");

    let sub = only_subsegment(&segment);
    assert_eq!(sub.name, "S3");
    let aws = sub.aws.as_ref().unwrap();
    assert_eq!(aws.operation.as_deref(), Some("PutObject"));
    assert_eq!(aws.request_id.as_deref(), Some("S3-REQUEST-ID"));
    assert_eq!(aws.id_2.as_deref(), Some("S3-EXTENDED-ID-2"));
    if cfg!(feature = "s3") {
        assert_eq!(aws.extra["bucket_name"], Value::from("invoices"));
        assert_eq!(aws.extra["key"], Value::from("2024/01.pdf"));
    }
    let text = String::from_utf8_lossy(&emitter.datagrams().concat()).into_owned();
    assert!(!text.contains("secret-object-body"), "{text}");
}
