//! `X-Amzn-Trace-Id` on the requests the SDK actually sends (read back from the replay client):
//! Parent = the call's subsegment on every attempt when sampled, `Sampled=0` when not, extra keys
//! kept, nothing without a segment, nothing on presigned requests.

mod common;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use common::*;
use xray_core::TraceHeader;
use xray_core::XrayFutureExt;
use xray_core::header::{HEADER_NAME, Sampled};

fn sent_headers(http: &aws_smithy_http_client::test_util::StaticReplayClient) -> Vec<TraceHeader> {
    http.actual_requests()
        .map(|r| {
            let value = r
                .headers()
                .get(HEADER_NAME)
                .expect("X-Amzn-Trace-Id on every attempt");
            TraceHeader::parse(value).expect("a valid header")
        })
        .collect()
}

#[tokio::test]
async fn every_attempt_names_the_subsegment_as_parent() {
    let (recorder, emitter) = recorder();
    let http = replay(vec![
        ddb_error(500, "R1", "InternalServerError", "boom"),
        ddb_response(200, "R2", GET_ITEM_BODY),
    ]);
    let client = ddb_client(http.clone());

    let (result, segment) = traced(&recorder, &emitter, async {
        client.get_item().table_name("orders").send().await
    })
    .await;
    result.unwrap();
    let sub = only_subsegment(&segment);

    let headers = sent_headers(&http);
    assert_eq!(headers.len(), 2);
    for h in &headers {
        assert_eq!(Some(h.root()), segment.trace_id);
        assert_eq!(
            h.parent(),
            Some(sub.id),
            "Parent is the subsegment, not the segment"
        );
        assert_eq!(h.sampled(), Some(Sampled::Yes));
    }
    // Signing still happened, and the trace header is not part of the signature.
    let request = http.actual_requests().next().unwrap();
    let auth = request.headers().get("authorization").expect("signed");
    assert!(auth.starts_with("AWS4-HMAC-SHA256"), "{auth}");
    assert!(!auth.contains(HEADER_NAME), "{auth}");
}

#[tokio::test]
async fn unsampled_calls_only_carry_the_decision() {
    let (recorder, emitter) = recorder();
    let http = replay(vec![ddb_response(200, "R", GET_ITEM_BODY)]);
    let client = ddb_client(http.clone());

    let segment = recorder.segment("unsampled").sampled(false).begin();
    client
        .get_item()
        .table_name("orders")
        .send()
        .in_entity(segment.entity().clone())
        .await
        .unwrap();
    let (trace_id, id) = (segment.trace_id(), segment.id());
    segment.end();

    assert!(emitter.documents().is_empty(), "nothing recorded");
    let h = &sent_headers(&http)[0];
    assert_eq!(Some(h.root()), trace_id);
    assert_eq!(h.parent(), id);
    assert_eq!(h.sampled(), Some(Sampled::No));
}

#[tokio::test]
async fn incoming_lineage_goes_downstream() {
    let (recorder, emitter) = recorder();
    let http = replay(vec![ddb_response(200, "R", GET_ITEM_BODY)]);
    let client = ddb_client(http.clone());
    let incoming: TraceHeader =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1"
            .parse()
            .unwrap();

    let segment = recorder
        .segment("downstream")
        .trace_header(Some(&incoming))
        .begin();
    client
        .get_item()
        .table_name("orders")
        .send()
        .in_entity(segment.entity().clone())
        .await
        .unwrap();
    segment.end();

    let sub_id = emitter.documents()[0].subsegments[0].id;
    let h = &sent_headers(&http)[0];
    assert_eq!(h.root(), incoming.root());
    assert_eq!(h.parent(), Some(sub_id));
    assert_eq!(h.lineage(), Some("a87bd80c:1"));
}

/// Stands in for the SDK's recursion-detection interceptor, which copies `_X_AMZN_TRACE_ID` into
/// the request inside Lambda and runs before user interceptors.
#[derive(Debug)]
struct LambdaHeader;

impl Intercept for LambdaHeader {
    fn name(&self) -> &'static str {
        "LambdaHeader"
    }
    fn modify_before_signing(
        &self,
        ctx: &mut BeforeTransmitInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        ctx.request_mut().headers_mut().insert(
            HEADER_NAME,
            "Root=1-11111111-222222222222222222222222;Parent=3333333333333333;Sampled=1;Lineage=10:1234abcd:3",
        );
        Ok(())
    }
}

#[tokio::test]
async fn an_existing_header_is_replaced_keeping_its_extra_keys() {
    let (recorder, emitter) = recorder();
    let http = replay(vec![ddb_response(200, "R", GET_ITEM_BODY)]);
    let client = aws_sdk_dynamodb::Client::from_conf(
        ddb_config(http.clone())
            .interceptor(LambdaHeader)
            .interceptor(xray_aws_sdk::XrayInterceptor::new())
            .build(),
    );
    let (_, segment) = traced(&recorder, &emitter, async {
        client.get_item().table_name("orders").send().await.unwrap()
    })
    .await;
    let h = &sent_headers(&http)[0];
    assert_eq!(Some(h.root()), segment.trace_id);
    assert_eq!(h.parent(), Some(only_subsegment(&segment).id));
    assert_eq!(h.lineage(), Some("10:1234abcd:3"));
}

#[tokio::test]
async fn no_segment_no_header_no_error() {
    let (_recorder, emitter) = recorder();
    let http = replay(vec![ddb_response(200, "R", GET_ITEM_BODY)]);
    let client = aws_sdk_dynamodb::Client::from_conf(
        ddb_config(http.clone())
            .interceptor(
                xray_aws_sdk::XrayInterceptor::new().recorder(
                    xray_core::Recorder::builder()
                        .emitter(emitter.clone())
                        .context_missing(xray_core::context::ContextMissingStrategy::IgnoreError)
                        .ignore_env()
                        .build()
                        .unwrap(),
                ),
            )
            .build(),
    );
    client.get_item().table_name("orders").send().await.unwrap();
    let request = http.actual_requests().next().unwrap();
    assert!(request.headers().get(HEADER_NAME).is_none());
    assert!(emitter.documents().is_empty());
}

#[tokio::test]
async fn presigned_requests_are_not_traced() {
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_s3::presigning::PresigningConfig;

    let (recorder, emitter) = recorder();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
            .interceptor(xray_aws_sdk::XrayInterceptor::new())
            .build(),
    );
    let segment = recorder.begin_segment("presigner");
    let presigned = s3
        .get_object()
        .bucket("bucket")
        .key("key")
        .presigned(PresigningConfig::expires_in(std::time::Duration::from_secs(60)).unwrap())
        .in_entity(segment.entity().clone())
        .await
        .unwrap();
    segment.end();

    assert!(
        presigned
            .headers()
            .all(|(name, _)| !name.eq_ignore_ascii_case(HEADER_NAME))
    );
    assert!(!presigned.uri().contains("Amzn-Trace"));
    let docs = emitter.documents();
    assert!(docs[0].subsegments.is_empty(), "{:?}", docs[0].subsegments);
}
