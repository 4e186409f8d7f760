//! What the X-Ray interceptor adds to an AWS SDK call, against the same client without it.
//!
//! Run with `cargo bench -p xray-aws-sdk`. A real `aws-sdk-dynamodb` client sends `GetItem`
//! through `infallible_client_fn`, which answers every request in-process with a fixed response
//! (no network, no socket), so the figures are the SDK's own cost per call plus ours. Cases,
//! measured in interleaved rounds in one process:
//!
//! - baseline: the client without the interceptor (inside an X-Ray context, like the others);
//! - sampled: with the interceptor, under a sampled segment (subsegment, parameters, header);
//! - unsampled: with the interceptor, under an unsampled segment (header only).
//!
//! Emission is excluded, as it happens when the segment ends: each batch of sampled calls runs
//! under its own segment, and those segments are ended (serialized, sent to a discarding
//! emitter) after the measurements. Targets: ≤ 5% added time sampled, ≤ 1% unsampled.

use std::cell::RefCell;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_http_client::test_util::infallible_client_fn;
use bench_support::{Case, black_box, measure, table};
use xray_aws_sdk::XrayInterceptor;
use xray_core::emit::{Datagram, EmitError, Emitter};
use xray_core::{Recorder, Segment, XrayFutureExt};

const BODY: &str = r#"{"Item":{"id":{"S":"order-1"},"total":{"N":"42"}},"ConsumedCapacity":{"TableName":"orders","CapacityUnits":0.5}}"#;

#[derive(Debug)]
struct Discard;

impl Emitter for Discard {
    fn send(&self, datagram: Datagram<'_>) -> Result<(), EmitError> {
        black_box(datagram.bytes().len());
        Ok(())
    }
}

fn client(traced: bool) -> aws_sdk_dynamodb::Client {
    let http = infallible_client_fn(|_request| {
        http::Response::builder()
            .status(200)
            .header("content-type", "application/x-amz-json-1.0")
            .header("content-length", BODY.len().to_string())
            .header("x-amzn-requestid", "BENCHREQUEST0001")
            .body(BODY)
            .expect("a valid response")
    });
    let mut config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDBENCH", "secret", None, None, "bench"))
        .http_client(http);
    if traced {
        config = config.interceptor(XrayInterceptor::new());
    }
    aws_sdk_dynamodb::Client::from_conf(config.build())
}

async fn get_item(client: &aws_sdk_dynamodb::Client) {
    let out = client
        .get_item()
        .table_name("orders")
        .key("id", AttributeValue::S("order-1".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("replayed GetItem");
    black_box(out);
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let recorder = Recorder::builder()
        .emitter(Discard)
        .sample_all()
        .streaming_threshold(usize::MAX)
        .ignore_env()
        .build()
        .expect("recorder");
    let plain = client(false);
    let traced = client(true);
    let unsampled = recorder.segment("bench-unsampled").sampled(false).begin();
    let finished: RefCell<Vec<Segment>> = RefCell::new(Vec::new());

    let run = |client: &aws_sdk_dynamodb::Client, entity: xray_core::Entity, iters: u64| {
        rt.block_on(
            async {
                for _ in 0..iters {
                    get_item(client).await;
                }
            }
            .in_entity(entity),
        );
    };

    let mut cases = [
        Case::batched("GetItem, no interceptor (baseline)", |iters| {
            run(&plain, unsampled.entity().clone(), iters);
        }),
        Case::batched("GetItem, interceptor, sampled segment", |iters| {
            let segment = recorder.begin_segment("bench-sampled");
            run(&traced, segment.entity().clone(), iters);
            // Ended after the measurements: emission is not the interceptor's cost.
            finished.borrow_mut().push(segment);
        }),
        Case::batched("GetItem, interceptor, unsampled segment", |iters| {
            run(&traced, unsampled.entity().clone(), iters);
        }),
    ];
    let results = measure(&mut cases, 21);
    drop(cases);

    println!(
        "{}",
        table(
            "xray-aws-sdk: replayed DynamoDB GetItem (infallible_client_fn, no network)",
            &results,
            0
        )
    );
    let base = results[0].median_ns;
    for (r, target) in results[1..].iter().zip([5.0, 1.0]) {
        let added = (r.median_ns / base - 1.0) * 100.0;
        println!(
            "  {:<44} added {:>7.0} ns/call = {:>+6.2}% (target <= {target}%)",
            r.name,
            r.median_ns - base,
            added
        );
    }

    let segments = finished.into_inner();
    let count = segments.len();
    for segment in segments {
        segment.end();
    }
    println!("  ({count} sampled segments ended after measuring)");
}
