//! `xray-local daemon` against the official X-Ray daemon (Go): datagrams per second ingested
//! and uploaded, and CPU per 1,000 documents, under the same load against the same sink.
//!
//! Run with `cargo bench -p xray-local --bench daemon [-- DATAGRAMS [RATE]]` (default 60,000,
//! as fast as bursts go; with RATE, paced at RATE datagrams per second). The
//! official daemon is measured too when its binary is at `$XRAY_GO_DAEMON` (default
//! `/tmp/xray-daemon-bin/xray`; build it from github.com/aws/aws-xray-daemon); otherwise only
//! ours is. Both run as child processes with the same options (`-m 64` MiB buffer, log level
//! warn) and upload to the same in-process sink, a loopback HTTP server that answers
//! `PutTraceSegments` at once and counts the documents. The load: ~1 KB segment documents from
//! this workspace's SDK, sent in bursts of 100 with a short pause (so the kernel's socket
//! buffer, not the daemon, is rarely what drops). Figures: documents the sink received, per
//! second from the first datagram sent to the last document received; the daemon process's CPU
//! time (user + system, from /proc) per 1,000 documents received; and the datagrams the kernel
//! dropped because a socket's receive buffer was full (`RcvbufErrors` in /proc/net/snmp,
//! machine-wide) during the run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

mod common;
use common::datagrams;

/// The fast local sink: counts documents, answers at once.
fn start_sink(runtime: &tokio::runtime::Runtime) -> (SocketAddr, Arc<AtomicU64>) {
    let documents = Arc::new(AtomicU64::new(0));
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let counted = Arc::clone(&documents);
    runtime.spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let counted = Arc::clone(&counted);
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let counted = Arc::clone(&counted);
                        async move {
                            let put = req.uri().path() == "/TraceSegments";
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let answer = if put {
                                #[derive(serde::Deserialize)]
                                struct Put {
                                    #[serde(rename = "TraceSegmentDocuments")]
                                    documents: Vec<serde::de::IgnoredAny>,
                                }
                                let put: Put = serde_json::from_slice(&body).unwrap();
                                counted.fetch_add(put.documents.len() as u64, Relaxed);
                                r#"{"UnprocessedTraceSegments":[]}"#
                            } else {
                                "{}"
                            };
                            let mut response = http::Response::new(Full::new(Bytes::from(answer)));
                            response.headers_mut().insert(
                                http::header::CONTENT_TYPE,
                                http::HeaderValue::from_static("application/json"),
                            );
                            Ok::<_, Infallible>(response)
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, documents)
}

fn free_port() -> u16 {
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// user + system CPU time of a process, from /proc/PID/stat (clock ticks of 10 ms).
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = fields.get(11).and_then(|f| f.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|f| f.parse().ok()).unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// UDP datagrams dropped by the kernel for a full receive buffer, machine-wide.
fn rcvbuf_errors() -> u64 {
    let snmp = std::fs::read_to_string("/proc/net/snmp").unwrap_or_default();
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp: "));
    let (Some(names), Some(values)) = (udp.next(), udp.next()) else {
        return 0;
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(n, _)| *n == "RcvbufErrors")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

struct Run {
    name: &'static str,
    kernel_drops: u64,
    received: u64,
    per_second: f64,
    cpu_per_1000_ms: f64,
}

fn run(
    name: &'static str,
    mut daemon: Child,
    udp: SocketAddr,
    load: &[Vec<u8>],
    rate: u64,
    sink: &AtomicU64,
) -> Run {
    // Wait until the daemon reads its socket: send probes until one is uploaded.
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let before = sink.load(Relaxed);
    let ready = Instant::now();
    while sink.load(Relaxed) == before {
        assert!(
            ready.elapsed() < Duration::from_secs(30),
            "{name} never uploaded"
        );
        let _ = socket.send_to(&load[0], udp);
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let start_count = sink.load(Relaxed);
    let cpu_before = cpu_time(daemon.id());
    let drops_before = rcvbuf_errors();
    let start = Instant::now();
    for (i, datagram) in load.iter().enumerate() {
        let _ = socket.send_to(datagram, udp);
        if i % 100 == 99 {
            if rate == 0 {
                std::thread::sleep(Duration::from_micros(500));
            } else {
                let due = start + Duration::from_secs_f64((i + 1) as f64 / rate as f64);
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
            }
        }
    }
    // Until everything arrived, or nothing more for 2 s (dropped somewhere).
    let mut last = (sink.load(Relaxed), Instant::now());
    let mut last_change = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(20));
        let now = sink.load(Relaxed);
        if now != last.0 {
            last = (now, Instant::now());
            last_change = Instant::now();
        }
        if now - start_count >= load.len() as u64 || last_change.elapsed() > Duration::from_secs(2)
        {
            break;
        }
    }
    let cpu = cpu_time(daemon.id()) - cpu_before;
    let kernel_drops = rcvbuf_errors() - drops_before;
    let received = last.0 - start_count;
    let elapsed = last.1.duration_since(start);
    let _ = daemon.kill();
    let _ = daemon.wait();
    Run {
        name,
        kernel_drops,
        received,
        per_second: received as f64 / elapsed.as_secs_f64(),
        cpu_per_1000_ms: cpu.as_secs_f64() * 1000.0 / (received.max(1) as f64 / 1000.0),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; the numbers are ours.
    let numbers: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = numbers.first().map_or(60_000, |&n| n as usize);
    let rate = numbers.get(1).copied().unwrap_or(0);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (sink, documents) = start_sink(&runtime);
    let load = datagrams(n);
    let size = load.iter().map(Vec::len).sum::<usize>() / load.len();
    let pace = if rate == 0 {
        "bursts of 100, 0.5 ms apart".to_owned()
    } else {
        format!("paced at {rate}/s")
    };
    println!("load: {n} datagrams of {size} bytes on average, {pace}; sink http://{sink}");
    let mut runs = Vec::new();

    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let ours = Command::new(env!("CARGO_BIN_EXE_xray-local"))
        .args([
            "daemon",
            "-b",
            &address,
            "-t",
            &address,
            "-n",
            "us-east-1",
            "-m",
            "64",
        ])
        .args(["-l", "warn", "--metrics-every", "0"])
        .args(["--endpoint-url", &format!("http://{sink}")])
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    runs.push(run(
        "xray-local daemon",
        ours,
        address.parse().unwrap(),
        &load,
        rate,
        &documents,
    ));

    let go = std::env::var("XRAY_GO_DAEMON").unwrap_or_else(|_| "/tmp/xray-daemon-bin/xray".into());
    if Path::new(&go).exists() {
        let port = free_port();
        let address = format!("127.0.0.1:{port}");
        let config = std::env::temp_dir().join(format!("xray-go-daemon-bench-{port}.yaml"));
        std::fs::write(
            &config,
            format!(
                "Version: 2\nEndpoint: \"http://{sink}\"\nRegion: \"us-east-1\"\nLocalMode: true\n"
            ),
        )
        .unwrap();
        let official = Command::new(&go)
            .args([
                "-c",
                config.to_str().unwrap(),
                "-b",
                &address,
                "-t",
                &address,
            ])
            .args(["-n", "us-east-1", "-m", "64", "-l", "warn", "-o"])
            .env("AWS_ACCESS_KEY_ID", "bench")
            .env("AWS_SECRET_ACCESS_KEY", "bench")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        runs.push(run(
            "official daemon (Go)",
            official,
            address.parse().unwrap(),
            &load,
            rate,
            &documents,
        ));
        let _ = std::fs::remove_file(config);
    } else {
        println!("official daemon not measured: no binary at {go} (set XRAY_GO_DAEMON)");
    }

    println!(
        "{:<22} {:>10} {:>14} {:>18} {:>14}",
        "daemon", "uploaded", "documents/s", "CPU ms/1000 docs", "kernel drops"
    );
    for r in &runs {
        println!(
            "{:<22} {:>10} {:>14.0} {:>18.2} {:>14}",
            r.name, r.received, r.per_second, r.cpu_per_1000_ms, r.kernel_drops
        );
    }
    if let [ours, go] = &runs[..] {
        println!(
            "ratios ours/Go: throughput {:.2}x, CPU per document {:.2}x (machine shared, 2 cores)",
            ours.per_second / go.per_second,
            ours.cpu_per_1000_ms / go.cpu_per_1000_ms
        );
    }
}
