//! What the X-Ray interceptor adds to an AWS SDK call, against the same client without it.
//!
//! Run with `cargo bench -p xray-aws-sdk`. A real `aws-sdk-dynamodb` client sends `GetItem`
//! through `infallible_client_fn`, which answers every request in-process with a fixed response
//! (no network, no socket), so the figures are the SDK's own cost per call plus ours. Cases,
//! measured in interleaved rounds in one process:
//!
//! - baseline: the client without the interceptor (inside an X-Ray context, like the others);
//! - sampled: with the interceptor (`.with_xray()`), under a sampled segment (subsegment,
//!   parameters, header);
//! - unsampled: the same, under an unsampled segment (header only);
//! - unsampled, registered with `.interceptor(..)` instead (the SDK then checks before every
//!   hook call whether the interceptor was disabled).
//!
//! Every case makes its calls in groups of ten under a fresh segment, as a request handler would;
//! only the calls are timed. Emission is excluded, as it happens when the segment ends (outside
//! the clock; a discarding emitter). Targets: ≤ 5% added time sampled, ≤ 1% unsampled.
//!
//! For figures that machine noise cannot move, count instructions per call with callgrind: run
//! one case alone with `XRAY_BENCH_CASE=baseline|sampled|unsampled|unsampled-interceptor` and
//! `XRAY_BENCH_ITERS=N` under `valgrind --tool=callgrind`, for two values of N, and divide the
//! difference of the totals by the difference of N.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region, SharedInterceptor};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_http_client::test_util::infallible_client_fn;
use bench_support::{Measurement, black_box, table};
use xray_aws_sdk::XrayInterceptor;
use xray_core::emit::{Datagram, EmitError, Emitter};
use xray_core::{Recorder, XrayFutureExt};

/// Calls per segment, as in a request that makes a few AWS calls.
const PER_SEGMENT: u64 = 10;

const BODY: &str = r#"{"Item":{"id":{"S":"order-1"},"total":{"N":"42"}},"ConsumedCapacity":{"TableName":"orders","CapacityUnits":0.5}}"#;

#[derive(Debug)]
struct Discard;

impl Emitter for Discard {
    fn send(&self, datagram: Datagram<'_>) -> Result<(), EmitError> {
        black_box(datagram.bytes().len());
        Ok(())
    }
}

/// How the client is built.
#[derive(Clone, Copy)]
enum Tracing {
    Off,
    /// `.with_xray()`: a permanent interceptor.
    WithXray,
    /// `.interceptor(XrayInterceptor::new())`: the SDK checks before each hook call whether it was
    /// disabled.
    Interceptor,
}

fn client(tracing: Tracing) -> aws_sdk_dynamodb::Client {
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
    match tracing {
        Tracing::Off => {}
        // What `.with_xray()` and `instrumented_client!` do (this bench needs no feature).
        Tracing::WithXray => {
            config.push_interceptor(SharedInterceptor::permanent(XrayInterceptor::new()));
        }
        Tracing::Interceptor => config = config.interceptor(XrayInterceptor::new()),
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
    let plain = client(Tracing::Off);
    let traced = client(Tracing::WithXray);
    let checked = client(Tracing::Interceptor);
    let unsampled = recorder.segment("bench-unsampled").sampled(false).begin();

    // One case alone, for instruction counts under callgrind (see the top of this file).
    if let Ok(case) = std::env::var("XRAY_BENCH_CASE") {
        let iters = std::env::var("XRAY_BENCH_ITERS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1000);
        let (client, segment) = match case.as_str() {
            "baseline" => (&plain, None),
            "sampled" => (&traced, Some(recorder.begin_segment("bench-sampled"))),
            "unsampled" => (&traced, None),
            "unsampled-interceptor" => (&checked, None),
            other => panic!(
                "XRAY_BENCH_CASE={other}: expected baseline, sampled, unsampled or unsampled-interceptor"
            ),
        };
        let entity = segment
            .as_ref()
            .map_or_else(|| unsampled.entity().clone(), |s| s.entity().clone());
        rt.block_on(
            async {
                for _ in 0..iters {
                    get_item(client).await;
                }
            }
            .in_entity(entity),
        );
        println!("{case}: {iters} calls");
        // Never ended: emission is not part of what is measured.
        std::mem::forget(segment);
        return;
    }

    // Each case runs its calls in groups of `PER_SEGMENT`, each group under a fresh segment
    // (sampled, or not), as a request handler would. Only the calls are timed: beginning the
    // segment, and ending it (serialization and emission of a sampled one), happen outside the
    // clock.
    let timed = |client: &aws_sdk_dynamodb::Client, sampled: bool, calls: u64| -> Duration {
        let mut total = Duration::ZERO;
        for _ in 0..calls.div_ceil(PER_SEGMENT) {
            let segment = recorder.segment("bench").sampled(sampled).begin();
            let entity = segment.entity().clone();
            let start = Instant::now();
            rt.block_on(
                async {
                    for _ in 0..PER_SEGMENT {
                        get_item(client).await;
                    }
                }
                .in_entity(entity),
            );
            total += start.elapsed();
            segment.end();
        }
        total
    };
    let cases: [(&str, &aws_sdk_dynamodb::Client, bool); 4] = [
        ("GetItem, no interceptor (baseline)", &plain, false),
        ("GetItem, with_xray(), sampled segment", &traced, true),
        ("GetItem, with_xray(), unsampled segment", &traced, false),
        (
            "GetItem, .interceptor(..), unsampled segment",
            &checked,
            false,
        ),
    ];
    // About 50 ms of calls per case and round; rounds interleaved so that noise from the rest of
    // the machine hits every case alike.
    let per_call = timed(&plain, false, 200).as_secs_f64() / 200.0;
    let calls = ((0.05 / per_call) as u64).clamp(PER_SEGMENT, 100_000);
    let rounds = 31;
    let mut samples = vec![Vec::with_capacity(rounds); cases.len()];
    for _ in 0..rounds {
        for (i, (_, client, sampled)) in cases.iter().enumerate() {
            let elapsed = timed(client, *sampled, calls);
            samples[i].push(
                elapsed.as_nanos() as f64 / calls.div_ceil(PER_SEGMENT) as f64 / PER_SEGMENT as f64,
            );
        }
    }
    let results: Vec<Measurement> = cases
        .iter()
        .zip(samples)
        .map(|((name, _, _), mut s)| {
            s.sort_by(f64::total_cmp);
            Measurement {
                name: (*name).to_owned(),
                median_ns: s[s.len() / 2],
                min_ns: s[0],
                max_ns: s[s.len() - 1],
            }
        })
        .collect();

    println!(
        "{}",
        table(
            &format!(
                "xray-aws-sdk: replayed DynamoDB GetItem (infallible_client_fn, no network), {rounds} rounds of {calls} calls, {PER_SEGMENT} calls per segment"
            ),
            &results,
            0
        )
    );
    let base = &results[0];
    for (r, target) in results[1..].iter().zip([5.0, 1.0, 1.0]) {
        println!(
            "  {:<46} added {:>6.0} ns/call = {:>+6.2}% of the median, {:>+6.2}% of the fastest round (target <= {target}%)",
            r.name,
            r.median_ns - base.median_ns,
            (r.median_ns / base.median_ns - 1.0) * 100.0,
            (r.min_ns / base.min_ns - 1.0) * 100.0,
        );
    }
}
