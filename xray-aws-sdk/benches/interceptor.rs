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
//!   hook call whether the interceptor was disabled);
//! - a control: an interceptor with the same three hooks that only sets a fixed trace header.
//!   It is the floor for anything that propagates the trace through an interceptor: the SDK's
//!   hook dispatch plus one more header to build, send (and, here, convert for the test client).
//!
//! Every case makes its calls in groups of ten under a fresh segment, as a request handler would;
//! only the calls are timed, and the cases take turns segment by segment (3000 turns each,
//! `XRAY_BENCH_ROUNDS` to change). Emission is excluded, as it happens when the segment ends (outside
//! the clock; a discarding emitter). Targets: ≤ 5% added time sampled, ≤ 1% unsampled.
//!
//! For figures that machine noise cannot move, count instructions per call with callgrind: run
//! one case alone with `XRAY_BENCH_CASE=baseline|sampled|unsampled|unsampled-interceptor` and
//! `XRAY_BENCH_ITERS=N` under
//! `valgrind --tool=callgrind --toggle-collect='*get_item*'` (only the calls are counted) and
//! divide the total by N.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region, SharedInterceptor};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_http_client::test_util::infallible_client_fn;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
    FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::{Intercept, dyn_dispatch_hint};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
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
    /// The floor: a permanent interceptor with the same three hooks that only sets a fixed
    /// `X-Amzn-Trace-Id` on each attempt.
    HeaderOnly,
}

/// See [`Tracing::HeaderOnly`].
#[derive(Debug)]
struct HeaderOnly;

#[dyn_dispatch_hint]
impl Intercept for HeaderOnly {
    fn name(&self) -> &'static str {
        "HeaderOnly"
    }

    fn read_before_serialization(
        &self,
        _ctx: &BeforeSerializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        Ok(())
    }

    fn modify_before_transmit(
        &self,
        ctx: &mut BeforeTransmitInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let _ = ctx.request_mut().headers_mut().try_insert(
            const { http::HeaderName::from_static("x-amzn-trace-id") },
            black_box("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0")
                .to_owned(),
        );
        Ok(())
    }

    fn read_after_execution(
        &self,
        _ctx: &FinalizerInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        Ok(())
    }
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
        Tracing::HeaderOnly => {
            config.push_interceptor(SharedInterceptor::permanent(HeaderOnly));
        }
    }
    aws_sdk_dynamodb::Client::from_conf(config.build())
}

// Not inlined, so that `valgrind --tool=callgrind --toggle-collect='*get_item*'` counts the
// calls and nothing else (segments begin and end outside it).
#[inline(never)]
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
        .ignore_env()
        .build()
        .expect("recorder");
    let plain = client(Tracing::Off);
    let traced = client(Tracing::WithXray);
    let checked = client(Tracing::Interceptor);
    let floor = client(Tracing::HeaderOnly);

    // One case alone, for instruction counts under callgrind (see the top of this file), in
    // the same groups of calls under fresh segments as below.
    if let Ok(case) = std::env::var("XRAY_BENCH_CASE") {
        let iters: u64 = std::env::var("XRAY_BENCH_ITERS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1000);
        let (client, sampled) = match case.as_str() {
            "baseline" => (&plain, false),
            "sampled" => (&traced, true),
            "unsampled" => (&traced, false),
            "unsampled-interceptor" => (&checked, false),
            "header-only" => (&floor, false),
            other => panic!(
                "XRAY_BENCH_CASE={other}: expected baseline, sampled, unsampled, unsampled-interceptor or header-only"
            ),
        };
        for _ in 0..iters.div_ceil(PER_SEGMENT) {
            let segment = recorder.segment("bench").sampled(sampled).begin();
            rt.block_on(
                async {
                    for _ in 0..PER_SEGMENT {
                        get_item(client).await;
                    }
                }
                .in_entity(segment.entity().clone()),
            );
            segment.end();
        }
        println!("{case}: {iters} calls");
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
    let cases: [(&str, &aws_sdk_dynamodb::Client, bool); 5] = [
        ("GetItem, no interceptor (baseline)", &plain, false),
        (
            "GetItem, floor: interceptor setting a fixed header",
            &floor,
            false,
        ),
        ("GetItem, with_xray(), sampled segment", &traced, true),
        ("GetItem, with_xray(), unsampled segment", &traced, false),
        (
            "GetItem, .interceptor(..), unsampled segment",
            &checked,
            false,
        ),
    ];
    // After a warm-up, the cases take turns one segment (ten calls) at a time, thousands of
    // times: load from the rest of the machine shifts within milliseconds, so fine interleaving
    // spreads it evenly over the cases. Per case, the median and the fastest of the per-segment
    // times are kept.
    for (_, client, sampled) in &cases {
        timed(client, *sampled, 500);
    }
    let rounds: usize = std::env::var("XRAY_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let mut samples = vec![Vec::with_capacity(rounds); cases.len()];
    for round in 0..rounds {
        // Rotate the order too, so no case always runs right after the same other one.
        for k in 0..cases.len() {
            let i = (round + k) % cases.len();
            let (_, client, sampled) = cases[i];
            let elapsed = timed(client, sampled, PER_SEGMENT);
            samples[i].push(elapsed.as_nanos() as f64 / PER_SEGMENT as f64);
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
    let calls = rounds as u64 * PER_SEGMENT;

    println!(
        "{}",
        table(
            &format!(
                "xray-aws-sdk: replayed DynamoDB GetItem (infallible_client_fn, no network): {calls} calls per case, {PER_SEGMENT} per segment, cases interleaved segment by segment"
            ),
            &results,
            0
        )
    );
    let base = &results[0];
    for (r, target) in results[1..].iter().zip([
        "(floor)",
        "(target <= 5%)",
        "(target <= 1%)",
        "(target <= 1%)",
    ]) {
        println!(
            "  {:<52} added {:>6.0} ns/call = {:>+6.2}% (median), {:>+6.2}% (fastest segment) {target}",
            r.name,
            r.median_ns - base.median_ns,
            (r.median_ns / base.median_ns - 1.0) * 100.0,
            (r.min_ns / base.min_ns - 1.0) * 100.0,
        );
    }
}
