//! What the X-Ray interceptor adds to an AWS SDK call, against the same client without it.
//!
//! Run with `cargo bench -p xray-aws-sdk --features dynamodb` (without the feature the sampled
//! case records no DynamoDB parameters; the bench says which). A real `aws-sdk-dynamodb` client
//! sends `GetItem` through `infallible_client_fn`, which answers every request in-process with a
//! fixed response (no network, no socket), so the figures are the SDK's own cost per call plus
//! ours. Cases, all with the same client configuration and measured in one process:
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
//! - a second control, under a sampled segment: an interceptor that keeps what every traced call
//!   needs and records nothing — per-call state in the call's `ConfigBag` (a new subsegment id
//!   and the start time), and the header built from it on each attempt. It is the floor for any
//!   interceptor that follows the SDK's design (per-call state in the bag): storing one entry
//!   makes the bag's table grow (the SDK fills it to capacity), which is most of it.
//! - a third control: an interceptor with the same three hooks that stores one entry in the
//!   call's bag and does nothing else (no header): what the bag entry alone costs (the table
//!   growth shows as a 2 KB allocation per call).
//!
//! Every case makes its calls in groups of ten under a fresh segment, as a request handler would;
//! only the calls are timed. Emission is excluded, as it happens when the segment ends (outside
//! the clock; a discarding emitter). After a warm-up, each round times one group of every case,
//! in a fresh random order (so that no case always follows the same one, e.g. the sampled case's
//! emission), 3000 rounds (`XRAY_BENCH_ROUNDS`). Two figures per case: the ratio of the medians,
//! and the median over rounds of the ratio to the baseline of the same round (paired, so that
//! load changing from one moment to the next cancels out). Targets: <= 5% added time sampled,
//! <= 1% unsampled. Also, from the same paired ratios, what each case adds beyond its floor (the
//! sampled case beyond the bag floor, the unsampled ones beyond the fixed header): the floors
//! themselves move with the machine (about 2x between two of ours) and its load.
//!
//! Then, with a counting allocator, the heap allocations per call of each case: a figure that
//! machine noise cannot move.
//!
//! For instruction counts (and, with `--cache-sim=yes`, cache misses: the added time follows
//! them more than the instructions, as the SDK's code alone overflows the instruction cache), run
//! one case alone with `XRAY_BENCH_ITERS=N` and
//! `XRAY_BENCH_CASE=baseline|sampled|unsampled|unsampled-interceptor|header-only|bag-floor|bag-entry`
//! under `valgrind --tool=callgrind --toggle-collect='*get_item*'` (only the calls are counted)
//! and divide the totals by N.

// The counting allocator is the one `unsafe` in here: `GlobalAlloc` is an unsafe trait.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
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
    /// The floor of the sampled case: a permanent interceptor that keeps a subsegment id and a
    /// start time in the bag and sets the header built from them on each attempt, recording
    /// nothing.
    BagFloor,
    /// A permanent interceptor with the same three hooks that stores one entry in the call's bag
    /// and does nothing else.
    BagEntry,
}

/// Declares a control interceptor: a permanent interceptor overriding the three hooks
/// `XrayInterceptor` overrides (so that the SDK dispatches to it exactly as often), each running
/// the given body with the call's bag (and the request, before transmit).
macro_rules! control {
    (
        $(#[$doc:meta])* $name:ident,
        before_serialization: |$cfg1:pat_param| $before:block,
        before_transmit: |$ctx2:pat_param, $cfg2:pat_param| $transmit:block,
        after_execution: |$cfg3:pat_param| $after:block $(,)?
    ) => {
        $(#[$doc])*
        #[derive(Debug)]
        struct $name;

        #[dyn_dispatch_hint]
        impl Intercept for $name {
            fn name(&self) -> &'static str {
                stringify!($name)
            }

            fn read_before_serialization(
                &self,
                _ctx: &BeforeSerializationInterceptorContextRef<'_>,
                _rc: &RuntimeComponents,
                $cfg1: &mut ConfigBag,
            ) -> Result<(), BoxError> {
                let () = $before;
                Ok(())
            }

            fn modify_before_transmit(
                &self,
                $ctx2: &mut BeforeTransmitInterceptorContextMut<'_>,
                _rc: &RuntimeComponents,
                $cfg2: &mut ConfigBag,
            ) -> Result<(), BoxError> {
                let () = $transmit;
                Ok(())
            }

            fn read_after_execution(
                &self,
                _ctx: &FinalizerInterceptorContextRef<'_>,
                _rc: &RuntimeComponents,
                $cfg3: &mut ConfigBag,
            ) -> Result<(), BoxError> {
                let () = $after;
                Ok(())
            }
        }
    };
}

control! {
    /// See [`Tracing::HeaderOnly`].
    HeaderOnly,
    before_serialization: |_| {},
    before_transmit: |ctx, _| {
        let _ = ctx.request_mut().headers_mut().try_insert(
            const { http::HeaderName::from_static("x-amzn-trace-id") },
            black_box("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0")
                .to_owned(),
        );
    },
    after_execution: |_| {},
}

/// What [`BagEntry`] stores: one word, as small as an entry gets.
#[derive(Debug)]
struct Marker(u64);

impl Storable for Marker {
    type Storer = StoreReplace<Self>;
}

control! {
    /// See [`Tracing::BagEntry`].
    BagEntry,
    before_serialization: |cfg| {
        cfg.interceptor_state().store_put(Marker(black_box(1)));
    },
    before_transmit: |_, _| {},
    after_execution: |cfg| {
        black_box(cfg.get_mut_from_interceptor_state::<Marker>().map(|m| m.0));
    },
}

/// What [`BagFloor`] keeps per call.
#[derive(Debug)]
struct FloorState {
    trace_id: xray_core::TraceId,
    id: xray_core::SegmentId,
    start: xray_core::model::Timestamp,
}

impl Storable for FloorState {
    type Storer = StoreReplace<Self>;
}

control! {
    /// See [`Tracing::BagFloor`].
    BagFloor,
    before_serialization: |cfg| {
        if xray_core::context::current_is_sampled()
            && let Some(trace_id) = xray_core::context::current().and_then(|e| e.trace_id())
        {
            cfg.interceptor_state().store_put(FloorState {
                trace_id,
                id: xray_core::SegmentId::new(),
                start: xray_core::model::Timestamp::now(),
            });
        }
    },
    before_transmit: |ctx, cfg| {
        if let Some(state) = cfg.interceptor_state().load::<FloorState>() {
            let header = xray_core::TraceHeader::new(state.trace_id)
                .with_parent(state.id)
                .with_sampled(xray_core::header::Sampled::Yes);
            let _ = ctx.request_mut().headers_mut().try_insert(
                const { http::HeaderName::from_static("x-amzn-trace-id") },
                header.to_header_string(),
            );
        }
    },
    after_execution: |cfg| {
        black_box(
            cfg.get_mut_from_interceptor_state::<FloorState>()
                .map(|state| state.start),
        );
    },
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
        Tracing::BagFloor => {
            config.push_interceptor(SharedInterceptor::permanent(BagFloor));
        }
        Tracing::BagEntry => {
            config.push_interceptor(SharedInterceptor::permanent(BagEntry));
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

/// The system allocator, counting allocations while [`COUNTING`] is set. Off during the timing,
/// where even a relaxed atomic increment per allocation would add to every case.
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarded as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarded as is.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: forwarded as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[inline]
fn count(size: usize) {
    if COUNTING.load(Ordering::Relaxed) {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(size as u64, Ordering::Relaxed);
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A small deterministic generator for the order of the cases in each round.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
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
    let bag_floor = client(Tracing::BagFloor);
    let bag_entry = client(Tracing::BagEntry);

    // Runs `calls` calls in groups of `PER_SEGMENT`, each group under a fresh segment (sampled,
    // or not), as a request handler would. Only the calls are timed: beginning the segment, and
    // ending it (serialization and emission of a sampled one), happen outside the clock.
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

    // One case alone, for instruction counts under callgrind (see the top of this file), in
    // the same groups of calls under fresh segments.
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
            "bag-floor" => (&bag_floor, true),
            "bag-entry" => (&bag_entry, false),
            other => panic!(
                "XRAY_BENCH_CASE={other}: expected baseline, sampled, unsampled, unsampled-interceptor, header-only, bag-floor or bag-entry"
            ),
        };
        let elapsed = timed(client, sampled, iters);
        println!(
            "{case}: {iters} calls, {:.0} ns/call",
            elapsed.as_nanos() as f64 / iters as f64
        );
        return;
    }

    let cases: [(&str, &aws_sdk_dynamodb::Client, bool, &str); 7] = [
        ("GetItem, no interceptor (baseline)", &plain, false, ""),
        (
            "GetItem, floor: interceptor setting a fixed header",
            &floor,
            false,
            "(floor)",
        ),
        (
            "GetItem, floor: state in the bag + header, sampled",
            &bag_floor,
            true,
            "(floor)",
        ),
        (
            "GetItem, with_xray(), sampled segment",
            &traced,
            true,
            "(target <= 5%)",
        ),
        (
            "GetItem, with_xray(), unsampled segment",
            &traced,
            false,
            "(target <= 1%)",
        ),
        (
            "GetItem, .interceptor(..), unsampled segment",
            &checked,
            false,
            "(target <= 1%)",
        ),
        // Last, so that the indices above stay as they were.
        (
            "GetItem, control: one entry in the bag, no header",
            &bag_entry,
            false,
            "(control)",
        ),
    ];
    for (_, client, sampled, _) in &cases {
        timed(client, *sampled, 500);
    }
    let rounds: usize = std::env::var("XRAY_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
        .max(1);
    let mut samples = vec![Vec::with_capacity(rounds); cases.len()];
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut order: Vec<usize> = (0..cases.len()).collect();
    for _ in 0..rounds {
        // A fresh order each round (Fisher-Yates).
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i + 1));
        }
        for &i in &order {
            let (_, client, sampled, _) = cases[i];
            let elapsed = timed(client, sampled, PER_SEGMENT);
            samples[i].push(elapsed.as_nanos() as f64 / PER_SEGMENT as f64);
        }
    }
    // Paired: each round's time against the baseline's time of the same round.
    let paired: Vec<f64> = samples
        .iter()
        .map(|s| {
            let mut ratios: Vec<f64> = s.iter().zip(&samples[0]).map(|(t, b)| t / b).collect();
            median(&mut ratios)
        })
        .collect();
    let results: Vec<Measurement> = cases
        .iter()
        .zip(samples)
        .map(|((name, ..), mut s)| {
            let median_ns = median(&mut s);
            Measurement {
                name: (*name).to_owned(),
                median_ns,
                min_ns: s[0],
                max_ns: s[s.len() - 1],
            }
        })
        .collect();
    let calls = rounds as u64 * PER_SEGMENT;

    // Allocations per call, counted over whole groups like the timing (segment begin and end
    // outside the count).
    let calls_counted = 20 * PER_SEGMENT;
    let allocations: Vec<(f64, f64)> = cases
        .iter()
        .map(|(_, client, sampled, _)| {
            let mut allocs = 0;
            let mut bytes = 0;
            for _ in 0..calls_counted / PER_SEGMENT {
                let segment = recorder.segment("bench").sampled(*sampled).begin();
                let entity = segment.entity().clone();
                let (a0, b0) = (
                    ALLOCS.load(Ordering::Relaxed),
                    BYTES.load(Ordering::Relaxed),
                );
                COUNTING.store(true, Ordering::Relaxed);
                rt.block_on(
                    async {
                        for _ in 0..PER_SEGMENT {
                            get_item(client).await;
                        }
                    }
                    .in_entity(entity),
                );
                COUNTING.store(false, Ordering::Relaxed);
                allocs += ALLOCS.load(Ordering::Relaxed) - a0;
                bytes += BYTES.load(Ordering::Relaxed) - b0;
                segment.end();
            }
            (
                allocs as f64 / calls_counted as f64,
                bytes as f64 / calls_counted as f64,
            )
        })
        .collect();

    println!(
        "{}",
        table(
            &format!(
                "xray-aws-sdk: replayed DynamoDB GetItem (infallible_client_fn, no network): {calls} calls per case, {PER_SEGMENT} per segment, cases in a random order each round; parameter capture {}",
                if cfg!(feature = "dynamodb") {
                    "on (feature dynamodb)"
                } else {
                    "off (no feature dynamodb)"
                }
            ),
            &results,
            0
        )
    );
    let base = &results[0];
    for ((r, (_, _, _, target)), paired) in results.iter().zip(&cases).zip(&paired).skip(1) {
        println!(
            "  {:<52} added {:>6.0} ns/call = {:>+6.2}% (ratio of medians), {:>+6.2}% (median of paired ratios) {target}",
            r.name,
            r.median_ns - base.median_ns,
            (r.median_ns / base.median_ns - 1.0) * 100.0,
            (paired - 1.0) * 100.0,
        );
    }
    // What the interceptor adds beyond the floor of what it has to do, from the same rounds: the
    // floors move with the machine and its load as much as the cases do.
    println!(
        "
  beyond the floor of the same run (median of paired ratios)"
    );
    for (case, floor) in [(3, 2), (4, 1), (5, 1)] {
        println!(
            "  {:<52} {:>+6.2}% of the baseline beyond \"{}\"",
            cases[case].0,
            (paired[case] - paired[floor]) * 100.0,
            cases[floor].0.trim_start_matches("GetItem, floor: "),
        );
    }
    println!(
        "
  heap allocations per call (counted over {calls_counted} calls per case)"
    );
    let (base_allocs, base_bytes) = allocations[0];
    for ((name, ..), (allocs, bytes)) in cases.iter().zip(&allocations) {
        println!(
            "  {name:<52} {allocs:>7.1} allocations ({:>+5.1}), {bytes:>8.0} bytes ({:>+6.0})",
            allocs - base_allocs,
            bytes - base_bytes,
        );
    }
}
