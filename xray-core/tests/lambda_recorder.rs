//! The recorder in AWS Lambda (told so through `env_lookup`): local sampling only, no plugin
//! probing, the marker file; and facades over a real UDP socket playing the daemon — subsegments
//! sent alone with the invocation's ids, never the facade, nothing for `Sampled=0`, a root-only
//! header, or concurrent invocations with different trace ids.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::net::{TcpListener, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use xray_core::plugins::{Detected, NotDetected, Plugin, Probe};
use xray_core::{Recorder, TraceHeader, XrayFutureExt};

const HEADER_LINE: &[u8] = b"{\"format\": \"json\", \"version\": 1}\n";

/// A UDP socket playing the daemon, plus a TCP listener on the same port playing its sampling
/// proxy.
struct Daemon {
    udp: UdpSocket,
    tcp: TcpListener,
}

impl Daemon {
    fn start() -> Self {
        // Find a port free for both protocols.
        loop {
            let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
            let port = udp.local_addr().unwrap().port();
            if let Ok(tcp) = TcpListener::bind(("127.0.0.1", port)) {
                tcp.set_nonblocking(true).unwrap();
                udp.set_read_timeout(Some(Duration::from_millis(300)))
                    .unwrap();
                return Self { udp, tcp };
            }
        }
    }

    fn address(&self) -> String {
        self.udp.local_addr().unwrap().to_string()
    }

    /// Every document that arrives until the socket has been quiet for 300 ms.
    fn drain(&self) -> Vec<Value> {
        let mut buf = vec![0u8; 70_000];
        let mut docs = Vec::new();
        while let Ok(n) = self.udp.recv(&mut buf) {
            assert!(buf[..n].starts_with(HEADER_LINE), "daemon framing");
            docs.push(serde_json::from_slice(&buf[HEADER_LINE.len()..n]).unwrap());
        }
        docs
    }

    /// Whether something connected to the TCP side within `wait`.
    fn tcp_connected_within(&self, wait: Duration) -> bool {
        let until = Instant::now() + wait;
        while Instant::now() < until {
            if self.tcp.accept().is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }
}

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + Send + Sync + 'static {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k| map.get(k).cloned()
}

fn lambda_recorder(daemon: &Daemon) -> Recorder {
    Recorder::builder()
        .env_lookup(env(&[
            ("LAMBDA_TASK_ROOT", "/var/task"),
            ("AWS_LAMBDA_FUNCTION_NAME", "orders"),
            ("AWS_XRAY_DAEMON_ADDRESS", &daemon.address()),
        ]))
        .build()
        .unwrap()
}

#[test]
fn no_centralized_sampling_in_lambda() {
    let daemon = Daemon::start();
    let recorder = lambda_recorder(&daemon);
    assert!(
        format!("{:?}", recorder.sampler()).starts_with("LocalSampler"),
        "{:?}",
        recorder.sampler()
    );
    // Sampling decisions would start the centralized poller; in Lambda nothing calls the proxy.
    for _ in 0..3 {
        recorder.begin_segment("decision").end();
    }
    assert!(!daemon.tcp_connected_within(Duration::from_millis(300)));
    let _ = daemon.drain();

    // The same outside Lambda does poll the daemon, so the check above can fail.
    #[cfg(feature = "centralized-sampling")]
    {
        let outside = Recorder::builder()
            .env_lookup(env(&[("AWS_XRAY_DAEMON_ADDRESS", &daemon.address())]))
            .build()
            .unwrap();
        outside.begin_segment("decision").end();
        assert!(daemon.tcp_connected_within(Duration::from_secs(5)));
        outside.shutdown();
    }
}

#[test]
fn marker_file_is_touched() {
    let daemon = Daemon::start();
    let before = SystemTime::now() - Duration::from_secs(2);
    let _recorder = lambda_recorder(&daemon);
    let marker = xray_core::lambda::initialized_marker();
    assert!(marker.ends_with(".aws-xray/initialized"));
    let modified = std::fs::metadata(&marker).unwrap().modified().unwrap();
    assert!(modified >= before, "{marker:?} not touched");
}

#[derive(Debug)]
struct Counting(Arc<AtomicUsize>);

impl Plugin for Counting {
    fn name(&self) -> &str {
        "counting"
    }
    fn detect(&self, _: &Probe) -> Result<Detected, NotDetected> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(Detected::new("AWS::EC2::Instance"))
    }
}

#[test]
fn plugins_are_not_probed_in_lambda() {
    let daemon = Daemon::start();
    let calls = Arc::new(AtomicUsize::new(0));
    let recorder = Recorder::builder()
        .env_lookup(env(&[
            ("AWS_LAMBDA_FUNCTION_NAME", "orders"),
            ("AWS_XRAY_DAEMON_ADDRESS", &daemon.address()),
        ]))
        .plugin(Counting(Arc::clone(&calls)))
        .build()
        .unwrap();
    assert_eq!(recorder.origin(), None);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    // Outside Lambda the same plugin is asked.
    let outside = Recorder::builder()
        .ignore_env()
        .local_sampling_only()
        .plugin(Counting(Arc::clone(&calls)))
        .build()
        .unwrap();
    assert_eq!(outside.origin(), Some("AWS::EC2::Instance"));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

fn header(s: &str) -> TraceHeader {
    s.parse().unwrap()
}

#[test]
fn facade_subsegments_arrive_alone_over_udp() {
    let daemon = Daemon::start();
    let recorder = lambda_recorder(&daemon);
    let incoming =
        header("Root=1-6740d1a2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1");
    let facade = recorder.begin_facade(&incoming);
    {
        let work = facade.begin_subsegment("process-order");
        work.annotate("order_id", "o-1");
        work.begin_subsegment("validate").end();
        // A downstream call made here names this subsegment as its parent.
        let down = work.trace_header().unwrap();
        assert_eq!(down.root(), incoming.root());
        assert_eq!(down.parent(), work.id());
    }
    facade.begin_subsegment("respond").end();
    facade.end();

    let docs = daemon.drain();
    assert_eq!(docs.len(), 2, "{docs:#?}");
    for doc in &docs {
        assert_eq!(doc["type"], "subsegment");
        assert_eq!(doc["trace_id"], "1-6740d1a2-0123456789abcdef01234567");
        assert_eq!(doc["parent_id"], "53995c3f42cd8ad8");
        assert_ne!(doc["name"], "facade");
        assert!(doc.get("origin").is_none());
    }
    assert_eq!(docs[0]["name"], "process-order");
    assert_eq!(docs[0]["annotations"]["order_id"], "o-1");
    assert_eq!(docs[0]["subsegments"][0]["name"], "validate");
    assert_eq!(docs[1]["name"], "respond");
}

#[test]
fn unsampled_root_only_and_missing_headers_send_nothing() {
    let daemon = Daemon::start();
    let recorder = lambda_recorder(&daemon);

    let unsampled =
        header("Root=1-6740d1a2-aaaaaaaaaaaaaaaaaaaaaaaa;Parent=1111111111111111;Sampled=0");
    let facade = recorder.begin_facade(&unsampled);
    let sub = facade.begin_subsegment("work");
    assert!(!sub.is_sampled());
    let down = sub.trace_header().unwrap();
    assert_eq!(down.root(), unsampled.root());
    assert!(down.to_string().contains("Sampled=0"));
    drop(sub);
    facade.end();

    // Lambda's PassThrough mode: only the root; it still goes downstream.
    let pass_through = header("Root=1-6740d1a2-bbbbbbbbbbbbbbbbbbbbbbbb;Lineage=a87bd80c:1");
    let facade = recorder.begin_facade(&pass_through);
    let sub = facade.begin_subsegment("work");
    let down = sub.trace_header().unwrap();
    assert_eq!(down.root(), pass_through.root());
    assert_eq!(down.lineage(), Some("a87bd80c:1"));
    // Nothing made up: no Parent that was never sent, no decision downstream services must obey.
    assert_eq!(down.parent(), None);
    assert_eq!(down.sampled(), None);
    assert_eq!(
        down.to_string(),
        "Root=1-6740d1a2-bbbbbbbbbbbbbbbbbbbbbbbb;Lineage=a87bd80c:1"
    );
    drop(sub);
    facade.end();

    assert!(xray_core::lambda::parse_trace_header("").is_none());
    assert!(xray_core::lambda::parse_trace_header("Root=nonsense").is_none());

    assert_eq!(daemon.drain(), Vec::<Value>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invocations_do_not_mix() {
    let daemon = Daemon::start();
    let recorder = lambda_recorder(&daemon);
    let invocations = [
        "Root=1-6740d1a2-cccccccccccccccccccccccc;Parent=2222222222222222;Sampled=1",
        "Root=1-6740d1a3-dddddddddddddddddddddddd;Parent=3333333333333333;Sampled=1",
    ];
    let tasks: Vec<_> = invocations
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let facade = recorder.begin_facade(&header(h));
            let entity = facade.entity().clone();
            tokio::spawn(
                async move {
                    for step in 0..3 {
                        let sub = xray_core::begin_subsegment(&format!("inv{i}-step{step}"));
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        sub.end();
                    }
                    drop(facade);
                }
                .in_entity(entity),
            )
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let docs = daemon.drain();
    assert_eq!(docs.len(), 6);
    for doc in docs {
        let name = doc["name"].as_str().unwrap();
        let (trace, parent) = if name.starts_with("inv0") {
            ("1-6740d1a2-cccccccccccccccccccccccc", "2222222222222222")
        } else {
            ("1-6740d1a3-dddddddddddddddddddddddd", "3333333333333333")
        };
        assert_eq!(doc["trace_id"], trace, "{name}");
        assert_eq!(doc["parent_id"], parent, "{name}");
    }
}
