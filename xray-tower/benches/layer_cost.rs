//! The server layer's own cost per request, in process (no sockets for HTTP): an axum
//! hello-world router called directly, with and without the layer, next to the cost of the UDP
//! datagram the layer sends. Complements `overhead`, which measures whole requests on loopback.
//!
//! ```text
//! cargo bench -p xray-tower --bench layer_cost
//! XRAY_BENCH_CASE=unsampled cargo bench -p xray-tower --bench layer_cost   # bare + matching cases
//! ```
#![allow(clippy::unwrap_used, clippy::print_stdout)] // a benchmark binary: failing loudly is fine

use std::net::{SocketAddr, UdpSocket};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::routing::get;
use bench_support::{Case, black_box, measure, table};
use http_body_util::BodyExt;
use tower::Service;
use xray_core::Recorder;
use xray_core::daemon::DaemonAddress;
use xray_core::emit::{Datagram, EmitError, Emitter, MemoryEmitter};
use xray_core::sampling::NeverSample;
use xray_tower::server::XrayLayer;

/// Discards datagrams: the layer and the core without the system call.
#[derive(Debug)]
struct Discard;

impl Emitter for Discard {
    fn send(&self, datagram: Datagram<'_>) -> Result<(), EmitError> {
        black_box(datagram.bytes());
        Ok(())
    }
}

fn app() -> Router {
    Router::new().route("/hello", get(|| async { "Hello, World!" }))
}

fn request() -> http::Request<Body> {
    let mut request = http::Request::get("/hello")
        .header(http::header::HOST, "bench.local")
        .body(Body::empty())
        .unwrap();
    let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    request
}

fn recorder(emitter: impl Emitter, sample: bool) -> Recorder {
    let builder = Recorder::builder().emitter(emitter).ignore_env();
    if sample {
        builder.sample_all().build().unwrap()
    } else {
        builder.sampler(NeverSample).build().unwrap()
    }
}

/// With `XRAY_BENCH_ITERS`, only the cases named by `XRAY_BENCH_CASE` run (not the baseline).
fn runs_selected(name: &str) -> bool {
    std::env::var("XRAY_BENCH_CASE").map_or(true, |only| name.contains(&only))
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sink_addr = sink.local_addr().unwrap();
    // A reader, as the daemon would be.
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65_536];
        while sink.recv(&mut buf).is_ok() {}
    });

    // One real datagram, for the plain send_to case.
    let memory = MemoryEmitter::new();
    let mut probe = app().layer(XrayLayer::new("bench").recorder(recorder(memory.clone(), true)));
    rt.block_on(async {
        let response = Service::<http::Request<Body>>::call(&mut probe, request())
            .await
            .unwrap();
        response.into_body().collect().await.unwrap();
    });
    let datagram = memory.datagrams().remove(0);
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    sender.set_nonblocking(true).unwrap();

    let udp = Recorder::builder()
        .daemon_address(DaemonAddress::new(sink_addr.into()))
        .sample_all()
        .ignore_env()
        .build()
        .unwrap();
    let default = Recorder::builder()
        .daemon_address(DaemonAddress::new(sink_addr.into()))
        .build()
        .unwrap();
    let routers = [
        ("bare router", app()),
        (
            "layer, unsampled (sampler says no)",
            app().layer(XrayLayer::new("bench").recorder(recorder(Discard, false))),
        ),
        (
            "layer, default sampler, UDP",
            app().layer(XrayLayer::new("bench").recorder(default.clone())),
        ),
        (
            "layer, sampled, datagram discarded",
            app().layer(XrayLayer::new("bench").recorder(recorder(Discard, true))),
        ),
        (
            "layer, sampled, UDP to a reader",
            app().layer(XrayLayer::new("bench").recorder(udp)),
        ),
    ];
    type Run<'a> = Box<dyn FnMut(u64) + 'a>;
    let mut runs: Vec<(String, Run<'_>)> = routers
        .into_iter()
        .map(|(name, router)| {
            // What `into_make_service` does: handlers become routes (and layers are applied)
            // once, not on every call.
            let router = router.with_state(());
            let rt = &rt;
            let run: Run<'_> = Box::new(move |n| {
                let mut router = router.clone();
                rt.block_on(async {
                    for _ in 0..n {
                        let response = Service::<http::Request<Body>>::call(&mut router, request())
                            .await
                            .unwrap();
                        black_box(response.into_body().collect().await.unwrap());
                    }
                });
            });
            (name.to_owned(), run)
        })
        .collect();
    runs.push((
        format!("plain send_to of the {}-byte datagram", datagram.len()),
        Box::new(|n| {
            for _ in 0..n {
                let _ = black_box(sender.send_to(&datagram, sink_addr));
            }
        }),
    ));
    // XRAY_BENCH_CASE=<part of a name> keeps the baseline and the cases that match;
    // XRAY_BENCH_ITERS=<n> then just runs each n times, for `valgrind --tool=callgrind`
    // (instructions per request = difference between two runs / difference in n).
    if let Ok(only) = std::env::var("XRAY_BENCH_CASE") {
        let mut i = 0;
        runs.retain(|(name, _)| {
            i += 1;
            i == 1 || name.contains(&only)
        });
    }
    if let Some(iters) = std::env::var("XRAY_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        for (name, run) in &mut runs {
            if runs_selected(name) {
                run(iters);
            }
        }
        default.shutdown();
        return;
    }
    let mut cases: Vec<Case<'_>> = runs
        .into_iter()
        .map(|(name, run)| Case::batched(name, run))
        .collect();
    let results = measure(&mut cases, 15);
    println!(
        "{}",
        table(
            "xray-tower server layer, per request (in process)",
            &results,
            0
        )
    );
    default.shutdown();
}
