//! What `XrayLayer` adds to an `info_span!` created, entered, exited and closed: against a
//! registry without the layer, measured in the same process, rounds interleaved.
//!
//! ```text
//! cargo bench -p xray-tracing
//! ```
//!
//! For instruction counts (the figures that survive a busy machine), run the binary under
//! callgrind with a fixed number of spans per case; each case is its own `run_*` function:
//!
//! ```text
//! cargo bench -p xray-tracing --bench span_cost --no-run   # prints the binary's path
//! XRAY_BENCH_ITERS=100000 valgrind --tool=callgrind --callgrind-out-file=/tmp/spans.cg \
//!     target/release/deps/span_cost-<hash>
//! callgrind_annotate --inclusive=yes /tmp/spans.cg | grep 'benches/span_cost.rs:span_cost::run_'
//! ```
//!
//! Divide each `run_*` total by `XRAY_BENCH_ITERS` for instructions per span. To see where one
//! case spends them, collect only inside it and list functions by their own cost:
//!
//! ```text
//! XRAY_BENCH_ITERS=100000 valgrind --tool=callgrind --toggle-collect='span_cost::run_layer_unsampled' \
//!     --callgrind-out-file=/tmp/unsampled.cg target/release/deps/span_cost-<hash>
//! callgrind_annotate /tmp/unsampled.cg | head -40
//! ```
//!
//! Compare cases of one build only: the registry's code (`sharded_slab`) is compiled into this
//! binary and inlined differently from one build to the next, which has moved every case,
//! the registry alone included, by 35-45 instructions per span.
#![allow(clippy::unwrap_used, clippy::print_stdout)] // a benchmark binary: failing loudly is fine

use bench_support::{Case, black_box, measure, table};
use tracing::{Dispatch, info_span};
use tracing_subscriber::prelude::*;
use xray_core::emit::{Datagram, EmitError, Emitter};
use xray_core::sampling::NeverSample;
use xray_core::{Entity, Recorder};

/// Discards datagrams: the sampled case measures the SDK, not the network.
#[derive(Debug)]
struct Discard;

impl Emitter for Discard {
    fn send(&self, datagram: Datagram<'_>) -> Result<(), EmitError> {
        black_box(datagram.bytes());
        Ok(())
    }
}

/// A layer that does nothing: the floor of what any layer costs through `Layered`.
struct NoopLayer;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for NoopLayer {}

fn recorder(sample: bool) -> Recorder {
    let builder = Recorder::builder().emitter(Discard).ignore_env();
    if sample {
        builder.sample_all().build().unwrap()
    } else {
        builder.sampler(NeverSample).build().unwrap()
    }
}

/// The measured body: one span, created, entered, exited, closed.
#[inline(always)]
fn spans(n: u64, case: u64) {
    // `case` keeps the four `run_*` functions distinct (identical ones may be merged, and
    // callgrind could not tell them apart).
    black_box(case);
    for i in 0..n {
        let span = info_span!("work", i);
        let entered = span.enter();
        black_box(&entered);
        drop(entered);
        drop(span);
    }
}

fn in_context(dispatch: &Dispatch, entity: Option<&Entity>, n: u64, body: fn(u64)) {
    tracing::dispatcher::with_default(dispatch, || match entity {
        Some(e) => e.in_scope(|| body(n)),
        None => body(n),
    });
}

#[inline(never)]
fn run_registry_without_layer(n: u64) {
    spans(n, 0);
}

#[inline(never)]
fn run_noop_layer(n: u64) {
    spans(n, 4);
}

/// What a subsegment costs by itself through the explicit API: the floor of the sampled case.
#[inline(never)]
fn run_core_subsegment(n: u64) {
    black_box(5u64);
    for _ in 0..n {
        let sub = xray_core::begin_subsegment("work");
        black_box(&sub);
        drop(sub);
    }
}

#[inline(never)]
fn run_layer_no_segment(n: u64) {
    spans(n, 1);
}

#[inline(never)]
fn run_layer_unsampled(n: u64) {
    spans(n, 2);
}

#[inline(never)]
fn run_layer_unsampled_busy(n: u64) {
    spans(n, 6);
}

#[inline(never)]
fn run_layer_sampled(n: u64) {
    spans(n, 3);
}

fn main() {
    let bare = Dispatch::new(tracing_subscriber::registry());
    let noop = Dispatch::new(tracing_subscriber::registry().with(NoopLayer));
    let layered =
        Dispatch::new(tracing_subscriber::registry().with(xray_tracing::XrayLayer::new()));
    let unsampled_recorder = recorder(false);
    let sampled_recorder = recorder(true);
    let unsampled = unsampled_recorder.begin_segment("bench");
    assert!(!unsampled.is_sampled());

    type Run<'a> = Box<dyn FnMut(u64) + 'a>;
    let mut runs: Vec<(&str, Run<'_>)> = vec![
        (
            "registry without the layer (segment unsampled)",
            Box::new(|n| in_context(&bare, Some(&unsampled), n, run_registry_without_layer)),
        ),
        (
            "registry + a layer that does nothing (any layer's floor)",
            Box::new(|n| in_context(&noop, Some(&unsampled), n, run_noop_layer)),
        ),
        (
            "registry + XrayLayer, no segment current",
            Box::new(|n| in_context(&layered, None, n, run_layer_no_segment)),
        ),
        (
            "registry + XrayLayer, unsampled segment current",
            Box::new(|n| in_context(&layered, Some(&unsampled), n, run_layer_unsampled)),
        ),
        (
            // The layer's one-load exits hold only while no traced span is open anywhere in the
            // process; under sampled traffic one always is, and unsampled spans are looked up.
            "registry + XrayLayer, unsampled, another span traced",
            Box::new(|n| {
                let elsewhere = sampled_recorder.begin_segment("elsewhere");
                let open = tracing::dispatcher::with_default(&layered, || {
                    elsewhere.in_scope(|| info_span!("open"))
                });
                in_context(&layered, Some(&unsampled), n, run_layer_unsampled_busy);
                drop(open);
                elsewhere.end();
            }),
        ),
        (
            "registry + XrayLayer, sampled: one subsegment per span",
            Box::new(|n| {
                // A segment per batch; its completed subsegments stream out past the threshold.
                let segment = sampled_recorder.begin_segment("bench");
                in_context(&layered, Some(&segment), n, run_layer_sampled);
                segment.end();
            }),
        ),
        (
            "no tracing: xray_core::begin_subsegment + end (sampled)",
            Box::new(|n| {
                let segment = sampled_recorder.begin_segment("bench");
                in_context(&bare, Some(&segment), n, run_core_subsegment);
                segment.end();
            }),
        ),
    ];

    if let Some(iters) = std::env::var("XRAY_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        for (_, run) in &mut runs {
            run(iters);
        }
        return;
    }

    // The cheap cases are interleaved among themselves: rounds of the sampled cases (megabytes
    // allocated and freed) in between would weigh on whichever case comes next.
    let mut cases: Vec<Case<'_>> = runs
        .into_iter()
        .map(|(name, run)| Case::batched(name, run))
        .collect();
    let mut heavy = cases.split_off(5);
    let results = measure(&mut cases, 21);
    println!(
        "{}",
        table(
            "info_span! created, entered, exited and closed (ratios to the registry without the layer)",
            &results,
            0
        )
    );
    let base = results[0].median_ns;
    let sampled = measure(&mut heavy, 9);
    println!(
        "{}",
        table(
            "sampled: a subsegment per span (ratio to the explicit API's subsegment)",
            &sampled,
            1
        )
    );
    println!(
        "  added by the layer: no segment {:+.1}%, unsampled {:+.1}% (target <= 10%); a no-op layer {:+.1}%; unsampled vs the no-op layer {:+.1}%; unsampled with a traced span open elsewhere {:+.1}%",
        (results[2].median_ns / base - 1.0) * 100.0,
        (results[3].median_ns / base - 1.0) * 100.0,
        (results[1].median_ns / base - 1.0) * 100.0,
        (results[3].median_ns / results[1].median_ns - 1.0) * 100.0,
        (results[4].median_ns / base - 1.0) * 100.0,
    );
    println!(
        "  sampled span: {:.0} ns ({:.1}x an unsampled one); a subsegment alone: {:.0} ns",
        sampled[0].median_ns,
        sampled[0].median_ns / results[3].median_ns,
        sampled[1].median_ns,
    );
}
