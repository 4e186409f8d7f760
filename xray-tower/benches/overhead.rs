//! What the server layer costs an axum hello-world, measured against what one UDP datagram
//! costs.
//!
//! ```text
//! cargo bench -p xray-tower --bench overhead
//! ```
//!
//! This process serves four versions of the same app on loopback, each on a one-worker tokio
//! runtime:
//!
//! 1. **bare**: `GET /hello` → `Hello, World!`;
//! 2. **floor**: bare plus one plain `UdpSocket::send_to` per request of a datagram as large as the
//!    layer's segment document — what even a perfect SDK has to pay;
//! 3. **layer, 100%**: bare under `XrayLayer`, every request sampled and sent over UDP;
//! 4. **layer, default sampler**: bare under `XrayLayer` with whatever
//!    `Recorder::builder().build()` gives;
//! 5. for the diagnosis, not a target: (3) with an emitter that discards the datagram, i.e. the
//!    layer and the core without the system call;
//! 6. for the diagnosis, not a target: the layer with a sampler that samples nothing, i.e. the
//!    unsampled path alone.
//!
//! A child process (this binary again) is the load generator: a fixed number of keep-alive
//! HTTP/1.1 connections, each sending requests back to back. It also drains the UDP datagrams,
//! like a daemon would. The configurations are measured in interleaved rounds; the medians of
//! requests/s and of this process's CPU time per request are printed, as ratios to bare.
//! Targets: (3)/(1) ≥ 0.9 × (2)/(1), and (4)/(1) ≥ 0.95.
//!
//! `XRAY_BENCH_CONNECTIONS` (default 32), `XRAY_BENCH_SECS` (seconds per measurement, default 2)
//! and `XRAY_BENCH_ROUNDS` (default 5) change the run; `XRAY_BENCH_ONLY=1,3` measures only the
//! configurations listed (for profiling; the ratios are then to the first one listed).
#![allow(clippy::unwrap_used, clippy::print_stdout)] // a benchmark binary: failing loudly is fine

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tower::util::MapRequestLayer;
use xray_core::Recorder;
use xray_core::daemon::DaemonAddress;
use xray_core::emit::{Datagram, EmitError, Emitter, MemoryEmitter};
use xray_tower::server::XrayLayer;

const ROLE: &str = "XRAY_BENCH_ROLE";

fn main() {
    if std::env::var(ROLE).as_deref() == Ok("loadgen") {
        loadgen();
    } else {
        coordinate();
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Drops every datagram.
#[derive(Debug)]
struct Discard;

impl Emitter for Discard {
    fn send(&self, datagram: Datagram<'_>) -> Result<(), EmitError> {
        std::hint::black_box(datagram.bytes());
        Ok(())
    }
}

fn app() -> Router {
    Router::new().route("/hello", get(|| async { "Hello, World!" }))
}

/// Serves `app` on 127.0.0.1:0 in the background (with `ConnectInfo`, so the layer records the
/// client address as it would in production).
async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

/// Sends one request the way the load generator does.
async fn one_request(addr: SocketAddr) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let response = sender.send_request(request()).await.unwrap();
    response.into_body().collect().await.unwrap();
}

fn request() -> http::Request<Empty<Bytes>> {
    http::Request::get("/hello")
        .header(http::header::HOST, "bench.local")
        .body(Empty::new())
        .unwrap()
}

struct Config {
    name: &'static str,
    addr: SocketAddr,
    rps: Vec<f64>,
    cpu_per_request: Vec<Duration>,
    requests: u64,
}

fn median<T: PartialOrd + Copy>(values: &[T]) -> T {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn coordinate() {
    let connections: usize = env_or("XRAY_BENCH_CONNECTIONS", 32);
    let secs: f64 = env_or("XRAY_BENCH_SECS", 2.0);
    let rounds: usize = env_or("XRAY_BENCH_ROUNDS", 5);

    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(ROLE, "loadgen")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut to_child = child.stdin.take().unwrap();
    let mut from_child = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    from_child.read_line(&mut line).unwrap();
    let sink: SocketAddr = line.trim().parse().unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();

    // The datagram the layer sends for this app, so the floor sends as many bytes.
    let datagram: Arc<[u8]> = rt.block_on(async {
        let emitter = MemoryEmitter::new();
        let recorder = Recorder::builder()
            .emitter(emitter.clone())
            .sample_all()
            .ignore_env()
            .build()
            .unwrap();
        let addr = serve(app().layer(XrayLayer::new("bench").recorder(recorder))).await;
        one_request(addr).await;
        let emitter2 = emitter.clone();
        tokio::task::spawn_blocking(move || emitter2.wait_for(1, Duration::from_secs(5)))
            .await
            .unwrap();
        emitter.datagrams().remove(0).into()
    });

    let floor_socket = Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
    floor_socket.set_nonblocking(true).unwrap();
    let floor = {
        let (socket, datagram) = (floor_socket.clone(), datagram.clone());
        MapRequestLayer::new(move |request| {
            let _ = socket.send_to(&datagram, sink);
            request
        })
    };
    let daemon = DaemonAddress::new(sink.into());
    let full = Recorder::builder()
        .daemon_address(daemon.clone())
        .sample_all()
        .ignore_env()
        .build()
        .unwrap();
    let default = Recorder::builder().daemon_address(daemon).build().unwrap();
    // For the diagnosis only: the unsampled path alone.
    let unsampled = Recorder::builder()
        .emitter(Discard)
        .sampler(xray_core::sampling::NeverSample)
        .ignore_env()
        .build()
        .unwrap();
    // For the diagnosis only: what the layer and the core cost without the system call.
    let discarding = Recorder::builder()
        .emitter(Discard)
        .sample_all()
        .ignore_env()
        .build()
        .unwrap();

    let mut configs: Vec<Config> = rt.block_on(async {
        let mut configs = Vec::new();
        for (name, app) in [
            ("(1) bare", app()),
            ("(2) floor: bare + send_to", app().layer(floor)),
            (
                "(3) layer, 100% sampled",
                app().layer(XrayLayer::new("bench").recorder(full.clone())),
            ),
            (
                "(4) layer, default sampler",
                app().layer(XrayLayer::new("bench").recorder(default.clone())),
            ),
            (
                "(5) = (3) without the send",
                app().layer(XrayLayer::new("bench").recorder(discarding)),
            ),
            (
                "(6) layer, nothing sampled",
                app().layer(XrayLayer::new("bench").recorder(unsampled)),
            ),
        ] {
            configs.push(Config {
                name,
                addr: serve(app).await,
                rps: Vec::new(),
                cpu_per_request: Vec::new(),
                requests: 0,
            });
        }
        configs
    });

    let mut run = |addr: SocketAddr, secs: f64| -> (u64, Duration, Duration) {
        let cpu_before = bench_support::process_cpu_time();
        writeln!(to_child, "run {addr} {connections} {secs}").unwrap();
        to_child.flush().unwrap();
        let mut line = String::new();
        from_child.read_line(&mut line).unwrap();
        let cpu = bench_support::process_cpu_time() - cpu_before;
        let mut parts = line.split_whitespace();
        let count: u64 = parts.next().unwrap().parse().unwrap();
        let nanos: u64 = parts.next().unwrap().parse().unwrap();
        (count, Duration::from_nanos(nanos), cpu)
    };

    println!(
        "axum hello-world on loopback, {connections} keep-alive connections, {secs} s x {rounds} rounds per configuration"
    );
    println!(
        "segment datagram: {} bytes; default sampler: {}",
        datagram.len(),
        short_debug(default.sampler())
    );
    // XRAY_BENCH_ONLY=1,3 measures only those configurations, e.g. under a profiler.
    if let Ok(only) = std::env::var("XRAY_BENCH_ONLY") {
        let keep: Vec<String> = only.split(',').map(|n| format!("({})", n.trim())).collect();
        configs.retain(|c| keep.iter().any(|k| c.name.starts_with(k.as_str())));
    }
    for c in &configs {
        run(c.addr, 0.5); // warm-up: connections, caches, the sampler's first second
    }
    let n = configs.len();
    for round in 0..rounds {
        for i in 0..n {
            // Rotate the order so no configuration always runs first or last.
            let c = &mut configs[(i + round) % n];
            let (count, elapsed, cpu) = run(c.addr, secs);
            c.requests += count;
            c.rps.push(count as f64 / elapsed.as_secs_f64());
            c.cpu_per_request.push(cpu / count.max(1) as u32);
        }
    }
    writeln!(to_child, "quit").unwrap();
    let _ = child.wait();

    let rps: Vec<f64> = configs.iter().map(|c| median(&c.rps)).collect();
    let cpu: Vec<Duration> = configs.iter().map(|c| median(&c.cpu_per_request)).collect();
    println!();
    println!(
        "{:<30} {:>12} {:>10} {:>14} {:>14} {:>10}",
        "configuration", "requests/s", "vs bare", "CPU/request", "bare CPU/this", "requests"
    );
    for (i, c) in configs.iter().enumerate() {
        println!(
            "{:<30} {:>12.0} {:>10.3} {:>11.2} µs {:>14.3} {:>10}",
            c.name,
            rps[i],
            rps[i] / rps[0],
            cpu[i].as_secs_f64() * 1e6,
            cpu[0].as_secs_f64() / cpu[i].as_secs_f64(),
            c.requests,
        );
    }
    let stats = [full.emit_stats(), default.emit_stats()];
    println!(
        "sent/dropped: (3) {}/{}, (4) {}/{}",
        stats[0].sent, stats[0].dropped, stats[1].sent, stats[1].dropped
    );

    if configs.len() >= 4 && configs[3].name.starts_with("(4)") {
        let cpu_ratio = |i: usize| cpu[0].as_secs_f64() / cpu[i].as_secs_f64();
        println!();
        for (metric, r) in [
            (
                "requests/s",
                [rps[1] / rps[0], rps[2] / rps[0], rps[3] / rps[0]],
            ),
            ("CPU/request", [cpu_ratio(1), cpu_ratio(2), cpu_ratio(3)]),
        ] {
            let (floor, full, default) = (r[0], r[1], r[2]);
            println!(
                "{metric}: (3)/(1) = {full:.3} vs 0.9 x floor {floor:.3} = {:.3}: {};  (4)/(1) = {default:.3} vs 0.95: {}",
                0.9 * floor,
                verdict(full >= 0.9 * floor),
                verdict(default >= 0.95),
            );
        }
    }
    default.shutdown();
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

/// The sampler's type, without its (long) contents.
fn short_debug(value: &dyn std::fmt::Debug) -> String {
    let full = format!("{value:?}");
    full.split([' ', '{', '('])
        .next()
        .unwrap_or(&full)
        .to_owned()
}

/// The child: drains UDP datagrams like a daemon and runs load on command.
fn loadgen() {
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    println!("{}", sink.local_addr().unwrap());
    std::io::stdout().flush().unwrap();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65_536];
        while sink.recv(&mut buf).is_ok() {}
    });

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        let parts: Vec<&str> = line.split_whitespace().collect();
        match parts.as_slice() {
            ["run", addr, connections, secs] => {
                let addr: SocketAddr = addr.parse().unwrap();
                let duration = Duration::from_secs_f64(secs.parse().unwrap());
                let (count, elapsed) =
                    rt.block_on(drive(addr, connections.parse().unwrap(), duration));
                println!("{count} {}", elapsed.as_nanos());
                std::io::stdout().flush().unwrap();
            }
            _ => return,
        }
    }
}

/// Opens `connections` keep-alive connections and sends requests on each, back to back, for
/// `duration`; returns how many completed and how long it took.
async fn drive(addr: SocketAddr, connections: usize, duration: Duration) -> (u64, Duration) {
    let mut senders = Vec::with_capacity(connections);
    for _ in 0..connections {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        senders.push(sender);
    }
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = senders
        .into_iter()
        .map(|mut sender| {
            let done = done.clone();
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let response = sender.send_request(request()).await.unwrap();
                    response.into_body().collect().await.unwrap();
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    (done.load(Ordering::Relaxed), start.elapsed())
}
