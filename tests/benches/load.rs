//! Load and soak of the instrumented example service (`examples::server`), on loopback.
//!
//! ```text
//! cargo bench -p xray-tests --bench load                 # 10,000 requests, 64 in flight
//! cargo bench -p xray-tests --bench load -- load 50000   # another count
//! cargo bench -p xray-tests --bench load -- soak 600     # 10 minutes at a steady rate
//! cargo bench -p xray-tests --bench load -- soak 600 300 # ... at 300 requests/s (default 200)
//! ```
//!
//! The server samples every request and sends to a counting UDP socket that checks every
//! datagram (at most 64,000 bytes, the daemon header, a valid segment document of the service)
//! and counts segments per trace id. The load generator is an in-process hyper client.
//!
//! - `load`: exactly one valid segment per request must arrive (the recorder is flushed first);
//!   prints throughput. Exits non-zero otherwise.
//! - `soak`: prints, every 30 s, resident memory (`VmRSS`), live heap bytes and allocations (a
//!   counting allocator wraps the system one), requests, segments received and the recorder's
//!   counters; the first and last lines are the figures to compare. The sampler is the default
//!   centralized one (its proxy is not there, so the local rules decide: 100%).

#![allow(clippy::unwrap_used, clippy::expect_used)]
// The counting allocator needs `unsafe impl GlobalAlloc`; it forwards every call unchanged.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use xray_core::Recorder;
use xray_core::daemon::DaemonAddress;
use xray_core::emit::{DAEMON_HEADER, MAX_DATAGRAM_BYTES};
use xray_core::model::Document;
use xray_core::sampling::SamplingRules;

// === a counting allocator ===

struct Counting;

static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);
static LIVE_ALLOCATIONS: AtomicI64 = AtomicI64::new(0);

// SAFETY: every method forwards to `System` with the same arguments; the counters are plain
// atomics and never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as i64, Relaxed);
            LIVE_ALLOCATIONS.fetch_add(1, Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size() as i64, Relaxed);
        LIVE_ALLOCATIONS.fetch_sub(1, Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(new_size as i64 - layout.size() as i64, Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

// === the counting daemon ===

#[derive(Default)]
struct Received {
    datagrams: AtomicU64,
    invalid: AtomicU64,
    oversize: AtomicU64,
    /// Segments per trace id (a load run sends one trace per request).
    per_trace: Mutex<HashMap<String, u32>>,
    keep_trace_ids: bool,
}

fn counting_daemon(keep_trace_ids: bool) -> (SocketAddr, Arc<Received>) {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None).unwrap();
    let _ = socket.set_recv_buffer_size(8 << 20);
    socket
        .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    let socket: std::net::UdpSocket = socket.into();
    let addr = socket.local_addr().unwrap();
    let received = Arc::new(Received {
        keep_trace_ids,
        ..Received::default()
    });
    let r = Arc::clone(&received);
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 70_000];
        while let Ok(n) = socket.recv(&mut buf) {
            r.datagrams.fetch_add(1, Relaxed);
            if n > MAX_DATAGRAM_BYTES {
                r.oversize.fetch_add(1, Relaxed);
            }
            let doc = buf[..n]
                .strip_prefix(DAEMON_HEADER)
                .and_then(|d| serde_json::from_slice::<Document>(d).ok())
                .filter(|d| d.name == examples::server::SEGMENT_NAME && d.end_time.is_some());
            match doc {
                Some(doc) if r.keep_trace_ids => {
                    let id = doc.trace_id.map(|t| t.to_string()).unwrap_or_default();
                    *r.per_trace.lock().unwrap().entry(id).or_default() += 1;
                }
                Some(_) => {}
                None => {
                    r.invalid.fetch_add(1, Relaxed);
                }
            }
        }
    });
    (addr, received)
}

// === the service and the load generator ===

type HttpClient = Client<HttpConnector, Empty<Bytes>>;

async fn start(daemon: SocketAddr) -> (Recorder, examples::server::RunningServer) {
    let recorder = Recorder::builder()
        .service_name(examples::server::SEGMENT_NAME)
        .daemon_address(DaemonAddress::new(daemon.into()))
        // The default (centralized) sampler; with no proxy there, these local rules decide.
        .sampling_rules(
            SamplingRules::builder()
                .default_rule(0, 1.0)
                .build()
                .unwrap(),
        )
        .ignore_env()
        .build()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = examples::server::spawn(listener, Some(recorder.clone())).unwrap();
    (recorder, server)
}

async fn request(client: &HttpClient, addr: SocketAddr, i: u64) -> bool {
    // Mostly /hello, some errors and faults.
    let path = match i % 10 {
        0 => "/status/404",
        1 => "/status/503",
        _ => "/hello",
    };
    let Ok(response) = client
        .get(format!("http://{addr}{path}").parse().unwrap())
        .await
    else {
        return false;
    };
    response.into_body().collect().await.is_ok()
}

fn wait_for(received: &Received, n: u64, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while received.datagrams.load(Relaxed) < n && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
}

async fn load(requests: u64, in_flight: usize) -> ExitCode {
    let (daemon, received) = counting_daemon(true);
    let (recorder, server) = start(daemon).await;
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let addr = server.addr();

    let started = Instant::now();
    let ok = futures_util::stream::iter(0..requests)
        .map(|i| {
            let client = client.clone();
            async move { request(&client, addr, i).await }
        })
        .buffer_unordered(in_flight)
        .filter(|ok| std::future::ready(*ok))
        .count()
        .await as u64;
    let elapsed = started.elapsed();
    recorder.flush();
    wait_for(&received, requests, Duration::from_secs(10));
    let stats = recorder.emit_stats();

    let per_trace = received.per_trace.lock().unwrap();
    let traces = per_trace.len() as u64;
    let duplicated = per_trace.values().filter(|n| **n > 1).count();
    let datagrams = received.datagrams.load(Relaxed);
    let invalid = received.invalid.load(Relaxed);
    let oversize = received.oversize.load(Relaxed);
    println!(
        "load: {ok}/{requests} requests answered in {:.2} s ({:.0} requests/s, {in_flight} in flight)",
        elapsed.as_secs_f64(),
        ok as f64 / elapsed.as_secs_f64()
    );
    println!(
        "daemon: {datagrams} datagrams, {traces} traces, {duplicated} with more than one segment, {invalid} invalid, {oversize} over {MAX_DATAGRAM_BYTES} bytes"
    );
    println!(
        "recorder: sent {} dropped {} streamed {} truncated {}",
        stats.sent, stats.dropped, stats.streamed, stats.truncated
    );
    let pass = ok == requests
        && datagrams == requests
        && traces == requests
        && duplicated == 0
        && invalid == 0
        && oversize == 0
        && stats.sent == requests
        && stats.dropped == 0;
    println!(
        "load: {}",
        if pass {
            "PASS: exactly one valid segment per request"
        } else {
            "FAIL"
        }
    );
    if pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn soak(seconds: u64, rate: u64) -> ExitCode {
    let (daemon, received) = counting_daemon(false);
    let (recorder, server) = start(daemon).await;
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let addr = server.addr();
    let sent = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));

    // A steady rate: a tick every 10 ms sends rate/100 requests.
    let per_tick = (rate / 100).max(1);
    let generator = {
        let (sent, failed) = (Arc::clone(&sent), Arc::clone(&failed));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut i = 0;
            loop {
                tick.tick().await;
                for _ in 0..per_tick {
                    let (client, sent, failed) =
                        (client.clone(), Arc::clone(&sent), Arc::clone(&failed));
                    i += 1;
                    tokio::spawn(async move {
                        if request(&client, addr, i).await {
                            sent.fetch_add(1, Relaxed);
                        } else {
                            failed.fetch_add(1, Relaxed);
                        }
                    });
                }
            }
        })
    };

    let started = Instant::now();
    let report = |label: &str| {
        recorder.flush();
        let stats = recorder.emit_stats();
        println!(
            "{label:>6} t={:>4}s rss={:>7} KiB heap={:>10} B allocations={:>7} requests={:>7} failed={} segments={:>7} invalid={} oversize={} sent={} dropped={}",
            started.elapsed().as_secs(),
            rss_kib(),
            LIVE_BYTES.load(Relaxed),
            LIVE_ALLOCATIONS.load(Relaxed),
            sent.load(Relaxed),
            failed.load(Relaxed),
            received.datagrams.load(Relaxed),
            received.invalid.load(Relaxed),
            received.oversize.load(Relaxed),
            stats.sent,
            stats.dropped,
        );
    };
    println!(
        "soak: {seconds} s at {} requests/s; warming up 10 s",
        per_tick * 100
    );
    tokio::time::sleep(Duration::from_secs(10)).await;
    report("start");
    let end = started + Duration::from_secs(seconds);
    while Instant::now() + Duration::from_secs(30) < end {
        tokio::time::sleep(Duration::from_secs(30)).await;
        report("");
    }
    tokio::time::sleep(end.saturating_duration_since(Instant::now())).await;
    generator.abort();
    tokio::time::sleep(Duration::from_millis(500)).await; // requests in flight finish
    report("end");
    println!("sampler: {:?}", recorder.sampler());
    drop(server);
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; the rest are ours.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let number =
        |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    match args.first().map(String::as_str) {
        None | Some("load") => runtime.block_on(load(number(1, 10_000), 64)),
        Some("soak") => runtime.block_on(soak(number(1, 600), number(2, 200))),
        Some(other) => {
            eprintln!("unknown mode {other:?}: load [REQUESTS] | soak [SECONDS] [RATE]");
            ExitCode::FAILURE
        }
    }
}
