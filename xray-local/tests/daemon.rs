//! `xray_local::daemon` against a loopback HTTP server playing the X-Ray API: batching,
//! retries through an outage, the exact drop count beyond the buffer budget, unprocessed
//! documents, shutdown, the official daemon's datagram rules, and the SigV4 sampling proxy.

#![cfg(feature = "daemon")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use xray_local::daemon::{Credentials, Daemon, DaemonBuilder, DatagramRejectKind};

const HEADER: &str = "{\"format\": \"json\", \"version\": 1}\n";

/// One request the fake X-Ray saw.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: http::HeaderMap,
    body: Bytes,
}

/// A loopback X-Ray API: records every request; fails PutTraceSegments while `failing` or
/// for the next `fail_next` calls (alternating 500 and 429 throttling); returns the first
/// document of the next `unprocessed_next` successful calls as unprocessed.
#[derive(Default)]
struct FakeXray {
    failing: AtomicBool,
    fail_next: AtomicUsize,
    unprocessed_next: AtomicUsize,
    failures: AtomicUsize,
    batches: Mutex<Vec<Vec<String>>>,
    other: Mutex<Vec<Seen>>,
    /// The answer to `/GetSamplingRules`, when set (else the body is echoed).
    rules: Mutex<Option<String>>,
}

impl FakeXray {
    async fn start() -> (Arc<FakeXray>, SocketAddr) {
        let fake = Arc::new(FakeXray::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let served = Arc::clone(&fake);
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let fake = Arc::clone(&served);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let fake = Arc::clone(&fake);
                        async move { Ok::<_, Infallible>(fake.answer(req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (fake, addr)
    }

    async fn answer(&self, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        if parts.uri.path() != "/TraceSegments" {
            self.other.lock().unwrap().push(Seen {
                path: parts.uri.path().to_owned(),
                headers: parts.headers,
                body: body.clone(),
            });
            if parts.uri.path() == "/GetSamplingRules"
                && let Some(rules) = self.rules.lock().unwrap().clone()
            {
                return json(200, rules.into());
            }
            // Echo the body back, so the test sees the answer pass through the proxy.
            return json(200, body);
        }
        let fail = self.failing.load(SeqCst)
            || self
                .fail_next
                .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
                .is_ok();
        if fail {
            let n = self.failures.fetch_add(1, SeqCst);
            return if n.is_multiple_of(2) {
                json(
                    500,
                    r#"{"__type":"InternalFailure","message":"boom"}"#.into(),
                )
            } else {
                json(
                    429,
                    r#"{"__type":"ThrottledException","message":"slow down"}"#.into(),
                )
            };
        }
        let request: Value = serde_json::from_slice(&body).unwrap();
        let mut docs: Vec<String> = request["TraceSegmentDocuments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap().to_owned())
            .collect();
        let mut unprocessed = Vec::new();
        if self
            .unprocessed_next
            .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            let doc = docs.remove(0);
            let id = serde_json::from_str::<Value>(&doc).unwrap()["id"].clone();
            unprocessed
                .push(serde_json::json!({"Id": id, "ErrorCode": "Throttled", "Message": "later"}));
        }
        self.batches.lock().unwrap().push(docs);
        json(
            200,
            serde_json::json!({ "UnprocessedTraceSegments": unprocessed })
                .to_string()
                .into(),
        )
    }

    /// Every document stored, by id, with how often it arrived.
    fn stored(&self) -> HashMap<String, usize> {
        let mut ids = HashMap::new();
        for batch in self.batches.lock().unwrap().iter() {
            for doc in batch {
                let id = serde_json::from_str::<Value>(doc).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                *ids.entry(id).or_insert(0) += 1;
            }
        }
        ids
    }
}

fn json(status: u16, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    response
}

fn builder(endpoint: SocketAddr) -> DaemonBuilder {
    Daemon::builder()
        .udp("127.0.0.1:0")
        .tcp(Some("127.0.0.1:0".to_owned()))
        .region("us-east-1")
        .endpoint_url(format!("http://{endpoint}"))
        .credentials(Credentials::new(
            "AKIDEXAMPLE",
            "secret-key-example",
            None,
            None,
            "test",
        ))
        .retry_backoff(Duration::from_millis(20), Duration::from_millis(200))
}

/// A segment document of exactly the same size for every `n` below 10^6.
fn document(n: usize) -> String {
    format!(
        r#"{{"trace_id":"1-5759e988-bd862e3fe1be46a9{n:08x}","id":"{n:016x}","name":"svc","start_time":1461096053.37518,"end_time":1461096053.4042}}"#
    )
}

fn send(to: SocketAddr, range: std::ops::Range<usize>) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    for n in range {
        socket
            .send_to(format!("{HEADER}{}", document(n)).as_bytes(), to)
            .unwrap();
        if n % 50 == 49 {
            // Loopback UDP drops when the receiver's queue overflows; keep the test exact.
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_loses_nothing_within_the_budget() {
    let (fake, endpoint) = FakeXray::start().await;
    fake.fail_next.store(12, SeqCst);
    fake.unprocessed_next.store(2, SeqCst);
    let daemon = builder(endpoint).concurrency(3).start().await.unwrap();
    let sent = 430;
    send(daemon.udp_addr(), 0..sent);
    wait_until("every document uploaded", || {
        daemon.metrics().uploaded == sent as u64
    })
    .await;

    let stored = fake.stored();
    assert_eq!(stored.len(), sent, "every document arrived");
    assert!(stored.values().all(|&n| n == 1), "each exactly once");
    let expected: HashSet<String> = (0..sent).map(|n| format!("{n:016x}")).collect();
    assert_eq!(stored.keys().cloned().collect::<HashSet<_>>(), expected);
    assert!(fake.batches.lock().unwrap().iter().all(|b| b.len() <= 50));
    let m = daemon.shutdown(Duration::from_secs(5)).await;
    assert_eq!(m.received, sent as u64);
    assert_eq!(m.accepted, sent as u64);
    assert_eq!(m.largest_batch, 50);
    // 12 failed calls, and the 2 documents returned as unprocessed sent again.
    assert_eq!(m.retries, 12 + 2);
    assert_eq!((m.dropped, m.unprocessed, m.failed), (0, 0, 0));
    assert!(m.batches >= (sent as u64).div_ceil(50));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_budget_the_oldest_are_dropped_and_counted_exactly() {
    let (fake, endpoint) = FakeXray::start().await;
    fake.failing.store(true, SeqCst);
    let size = document(0).len();
    // Room for 100 documents: 50 in the failing upload, 50 queued.
    let daemon = builder(endpoint)
        .concurrency(1)
        .flush_every(Duration::from_secs(30))
        .buffer_bytes(100 * size)
        .start()
        .await
        .unwrap();
    let sent = 300;
    send(daemon.udp_addr(), 0..sent);
    wait_until("every datagram read", || {
        daemon.metrics().received == sent as u64
    })
    .await;
    wait_until("a failed upload", || fake.failures.load(SeqCst) > 0).await;
    let during = daemon.metrics();
    assert_eq!((during.queued, during.in_flight), (50, 50));
    assert_eq!(during.dropped, 200);

    fake.failing.store(false, SeqCst);
    wait_until("the held documents uploaded", || {
        daemon.metrics().uploaded == 100
    })
    .await;
    let m = daemon.shutdown(Duration::from_secs(5)).await;
    assert_eq!(m.dropped, (sent - 100) as u64);
    assert_eq!(m.uploaded + m.dropped, sent as u64);
    assert_eq!((m.unprocessed, m.failed), (0, 0));
    // The first batch was held through the outage; of the rest, the newest 50 stayed.
    let expected: HashSet<String> = (0..50)
        .chain(sent - 50..sent)
        .map(|n| format!("{n:016x}"))
        .collect();
    let stored = fake.stored();
    assert!(stored.values().all(|&n| n == 1));
    assert_eq!(stored.keys().cloned().collect::<HashSet<_>>(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_flushes_and_gives_up_at_the_deadline() {
    let (fake, endpoint) = FakeXray::start().await;
    // Partial batches wait for the flush interval; shutdown sends them at once.
    let daemon = builder(endpoint)
        .flush_every(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    send(daemon.udp_addr(), 0..20);
    wait_until("datagrams read", || daemon.metrics().accepted == 20).await;
    let m = daemon.shutdown(Duration::from_secs(5)).await;
    assert_eq!((m.uploaded, m.failed), (20, 0));
    assert_eq!(fake.stored().len(), 20);

    fake.failing.store(true, SeqCst);
    let daemon = builder(endpoint).start().await.unwrap();
    send(daemon.udp_addr(), 0..70);
    wait_until("datagrams read", || daemon.metrics().accepted == 70).await;
    let start = Instant::now();
    let m = daemon.shutdown(Duration::from_millis(500)).await;
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert_eq!((m.uploaded, m.failed), (0, 70), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datagrams_are_checked_as_the_official_daemon_checks_them() {
    let (fake, endpoint) = FakeXray::start().await;
    let daemon = builder(endpoint)
        .flush_every(Duration::from_millis(50))
        .start()
        .await
        .unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let datagrams: [&[u8]; 7] = [
        b"{\"format\":\"json\",\"version\":1}\n{\"id\":\"0000000000000001\"}",
        b"{\"format\":\"JSON\",\"version\":1}\n{\"id\":\"0000000000000002\"}",
        b"{\"id\":\"no header\"}",
        b"{\"format\":\"json\",\"version\":1}\n",
        b"{\"format\":\"json\",\"version\":2}\n{}",
        b"{\"format\":\"json\",\"version\":1.0}\n{}",
        b"{\"format\":\"json\",\"version\":1}\n\xff",
    ];
    for d in datagrams {
        socket.send_to(d, daemon.udp_addr()).unwrap();
    }
    wait_until("every datagram read", || daemon.metrics().received == 7).await;
    wait_until("upload", || daemon.metrics().uploaded == 2).await;
    let m = daemon.shutdown(Duration::from_secs(5)).await;
    let rejected: HashMap<_, _> = m.rejected.iter().copied().collect();
    assert_eq!(rejected[&DatagramRejectKind::MissingHeaderOrDocument], 2);
    assert_eq!(rejected[&DatagramRejectKind::InvalidHeader], 2);
    assert_eq!(rejected[&DatagramRejectKind::NotUtf8], 1);
    assert_eq!(m.accepted, 2);
    assert_eq!(fake.stored().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sampling_proxy_signs_for_xray_and_keeps_the_body() {
    let (fake, endpoint) = FakeXray::start().await;
    let daemon = builder(endpoint).start().await.unwrap();
    let tcp = daemon.tcp_addr().unwrap();
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let bodies = [
        ("/GetSamplingRules", r#"{"NextToken":null}"#.to_owned()),
        (
            "/SamplingTargets",
            r#"{"SamplingStatisticsDocuments":[{"RuleName":"r","ClientID":"c","Timestamp":1.5,"RequestCount":3,"SampledCount":1,"BorrowCount":0}]}"#.to_owned(),
        ),
    ];
    for (path, body) in &bodies {
        let request = Request::post(format!("http://{tcp}{path}"))
            .header("content-type", "application/json")
            // An SDK's own (unsigned or stale) Authorization must not reach X-Ray.
            .header("authorization", "stale")
            .body(Full::new(Bytes::from(body.clone())))
            .unwrap();
        let response = client.request(request).await.unwrap();
        assert_eq!(response.status(), 200);
        let answer = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            answer,
            body.as_bytes(),
            "X-Ray's answer passes back unchanged"
        );
    }
    let seen = fake.other.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    for (seen, (path, body)) in seen.iter().zip(&bodies) {
        assert_eq!(&seen.path, path);
        assert_eq!(
            seen.body,
            body.as_bytes(),
            "the body passes through unchanged"
        );
        let auth = seen.headers["authorization"].to_str().unwrap();
        let date = seen.headers["x-amz-date"].to_str().unwrap();
        assert_eq!(date.len(), 16, "{date}");
        let expected_prefix = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{}/us-east-1/xray/aws4_request, SignedHeaders=",
            &date[..8]
        );
        assert!(auth.starts_with(&expected_prefix), "{auth}");
        let (signed, signature) = auth[expected_prefix.len()..]
            .split_once(", Signature=")
            .unwrap();
        let signed: Vec<&str> = signed.split(';').collect();
        for h in ["content-type", "host", "x-amz-date"] {
            assert!(signed.contains(&h), "{h} is signed: {signed:?}");
        }
        assert!(!signed.contains(&"authorization"));
        assert_eq!(signature.len(), 64);
        assert!(
            signature
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(seen.headers["host"].to_str().unwrap(), endpoint.to_string());
        // The signature is the right one: sign the same request at the same time again.
        assert_eq!(signature, resign(seen, date));
    }

    let metrics = client
        .get(format!("http://{tcp}/metrics").parse().unwrap())
        .await
        .unwrap();
    let text = metrics.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(text.to_vec()).unwrap();
    assert!(text.contains("xray_daemon_proxied_total 2\n"), "{text}");
    assert!(text.contains("xray_daemon_rejected_total{reason=\"invalid_header\"} 0\n"));
    drop(daemon);
}

/// Computes the SigV4 signature of what the fake received, independently of the proxy's code
/// path, at the time the proxy signed.
fn resign(seen: &Seen, date: &str) -> String {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;
    let time = parse_amz_date(date);
    let identity = Credentials::new("AKIDEXAMPLE", "secret-key-example", None, None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("xray")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let uri = format!(
        "http://{}{}",
        seen.headers["host"].to_str().unwrap(),
        seen.path
    );
    let auth = seen.headers["authorization"].to_str().unwrap();
    let signed_names: Vec<&str> = auth
        .split("SignedHeaders=")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .split(';')
        .collect();
    let headers = seen
        .headers
        .iter()
        .filter(|(k, _)| signed_names.contains(&k.as_str()) && k.as_str() != "x-amz-date")
        .map(|(k, v)| (k.as_str(), v.to_str().unwrap()));
    let signable =
        SignableRequest::new("POST", uri, headers, SignableBody::Bytes(&seen.body)).unwrap();
    let (_, signature) = sign(signable, &params).unwrap().into_parts();
    signature
}

fn parse_amz_date(date: &str) -> std::time::SystemTime {
    // yyyymmddThhmmssZ
    let n = |r: std::ops::Range<usize>| date[r].parse::<i64>().unwrap();
    let (y, m, d) = (n(0..4), n(4..6), n(6..8));
    let (hh, mm, ss) = (n(9..11), n(11..13), n(13..15));
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    std::time::UNIX_EPOCH + Duration::from_secs(secs as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mode_uploads_and_shows_traces_at_once() {
    let (fake, endpoint) = FakeXray::start().await;
    let port = loop {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            break port;
        }
    };
    let address = format!("127.0.0.1:{port}");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_xray-local"))
        .args([
            "daemon",
            "--local",
            "-b",
            &address,
            "-t",
            &address,
            "-n",
            "us-east-1",
        ])
        .args(["--endpoint-url", &format!("http://{endpoint}")])
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The TCP side answers once the daemon is up.
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let metrics_url: http::Uri = format!("http://{address}/metrics").parse().unwrap();
    wait_until_async(|| client.get(metrics_url.clone())).await;

    let recorder = xray_core::Recorder::builder()
        .daemon_address(xray_core::daemon::DaemonAddress::new(
            address.parse::<SocketAddr>().unwrap().into(),
        ))
        .sample_all()
        .ignore_env()
        .build()
        .unwrap();
    let segment = recorder.begin_segment("local-and-uploaded");
    segment.begin_subsegment("step").end();
    let id = segment.id().unwrap().to_string();
    segment.end();
    recorder.flush();
    wait_until("the upload", || fake.stored().contains_key(&id)).await;

    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let output = tokio::task::spawn_blocking(move || {
        let _ = child.stdin.take();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("local-and-uploaded"), "{stdout}");
    assert!(stdout.contains("step"), "{stdout}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("uploaded 1 in 1 batches"), "{stderr}");
}

async fn wait_until_async<F, Fut, T, E>(mut attempt: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let start = Instant::now();
    while attempt().await.is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "daemon did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// This workspace's centralized sampler gets X-Ray's rules through the daemon's proxy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_sdk_samples_by_the_rules_fetched_through_the_proxy() {
    use xray_core::sampling::{CentralizedSampler, Sampler, SamplingRequest};
    let (fake, endpoint) = FakeXray::start().await;
    let rule = |name: &str, priority: u32, service: &str, rate: f64| {
        serde_json::json!({"SamplingRule": {
            "RuleName": name, "RuleARN": format!("arn:aws:xray:us-east-1:1:sampling-rule/{name}"),
            "ResourceARN": "*", "Priority": priority, "FixedRate": rate, "ReservoirSize": 0,
            "ServiceName": service, "ServiceType": "*", "Host": "*", "HTTPMethod": "*",
            "URLPath": "*", "Version": 1, "Attributes": {}}})
    };
    let rules = serde_json::json!({"SamplingRuleRecords": [
        rule("never-blocked", 1, "blocked", 0.0),
        rule("Default", 10000, "*", 1.0),
    ]});
    *fake.rules.lock().unwrap() = Some(rules.to_string());
    let daemon = builder(endpoint).start().await.unwrap();
    let sampler = CentralizedSampler::builder(daemon.tcp_addr().unwrap().into()).build();
    sampler.start();
    let sampled = |service: &str| {
        sampler
            .decide(&SamplingRequest::new().service_name(service))
            .is_sampled()
    };
    // The local fallback samples one request a second and 5%; X-Ray's rules all or nothing.
    wait_until("the rules to apply", || {
        (0..20).all(|_| sampled("orders")) && (0..20).all(|_| !sampled("blocked"))
    })
    .await;
    let seen = fake.other.lock().unwrap().clone();
    let call = seen.iter().find(|s| s.path == "/GetSamplingRules").unwrap();
    assert!(
        call.headers["authorization"]
            .to_str()
            .unwrap()
            .contains("/us-east-1/xray/aws4_request")
    );
    sampler.shutdown();
    let m = daemon.shutdown(Duration::from_secs(1)).await;
    assert!(m.proxied >= 1 && m.proxy_errors == 0, "{m}");
}
