//! The UDP emitter against a real socket on loopback playing the daemon: exact framing, valid
//! documents, streaming, the size limit, and a daemon that is not there.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use serde_json::Value;
use xray_core::Recorder;
use xray_core::daemon::DaemonAddress;
use xray_core::model::Namespace;

const HEADER: &[u8] = b"{\"format\": \"json\", \"version\": 1}\n";

struct FakeDaemon {
    socket: UdpSocket,
}

impl FakeDaemon {
    fn start() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        Self { socket }
    }

    fn addr(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    /// Receives `n` datagrams, checking the framing of each, and returns their documents.
    fn receive(&self, n: usize) -> Vec<Value> {
        let mut buf = vec![0u8; 70_000];
        (0..n)
            .map(|i| {
                let len = self
                    .socket
                    .recv(&mut buf)
                    .unwrap_or_else(|e| panic!("datagram {i} of {n} never came: {e}"));
                let datagram = &buf[..len];
                assert!(len <= 64_000, "datagram of {len} bytes");
                assert!(datagram.starts_with(HEADER), "bad header line");
                let body = &datagram[HEADER.len()..];
                assert!(!body.contains(&b'\n'), "one compact document per datagram");
                serde_json::from_slice(body).expect("valid JSON")
            })
            .collect()
    }

    fn assert_quiet(&self) {
        self.socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut buf = [0u8; 100];
        assert!(
            self.socket.recv(&mut buf).is_err(),
            "unexpected extra datagram"
        );
        self.socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
    }
}

fn recorder_for(addr: SocketAddr) -> Recorder {
    Recorder::builder()
        .daemon_address(DaemonAddress::new(addr.into()))
        .sample_all()
        .ignore_env()
        .build()
        .unwrap()
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn check_entity(v: &Value, top_level: bool) {
    assert!(is_hex(v["id"].as_str().unwrap(), 16), "{v}");
    let start = v["start_time"].as_f64().expect("start_time is a number");
    let end = v["end_time"].as_f64().expect("end_time is a number");
    assert!(end >= start);
    assert!(
        start > 1.6e9 && start < 4.0e9,
        "epoch seconds, not millis: {start}"
    );
    for t in [&v["start_time"], &v["end_time"]] {
        let text = t.to_string();
        assert!(
            text.split('.').nth(1).is_none_or(|d| d.len() <= 6),
            "µs precision: {text}"
        );
    }
    if top_level {
        let trace = v["trace_id"].as_str().unwrap();
        let parts: Vec<&str> = trace.split('-').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], "1");
        assert!(is_hex(parts[1], 8) && is_hex(parts[2], 24), "{trace}");
    } else {
        assert!(v.get("trace_id").is_none() && v.get("type").is_none());
    }
    for s in v["subsegments"].as_array().into_iter().flatten() {
        check_entity(s, false);
    }
}

#[test]
fn realistic_segment_arrives_intact() {
    let daemon = FakeDaemon::start();
    let rec = recorder_for(daemon.addr());
    let seg = rec.begin_segment("checkout");
    seg.annotate("customer", "c-42");
    seg.add_metadata("cart", &serde_json::json!({"items": [1, 2, 3]}));
    {
        let ddb = seg.begin_subsegment("DynamoDB");
        ddb.update(|d| {
            d.set_namespace(Namespace::Aws);
            d.aws_mut().operation = Some("GetItem".into());
        });
        let inner = ddb.begin_subsegment("marshal");
        inner.begin_subsegment("deepest").end();
    }
    seg.end();
    let docs = daemon.receive(1);
    let d = &docs[0];
    check_entity(d, true);
    assert_eq!(d["name"], "checkout");
    assert_eq!(d["annotations"]["customer"], "c-42");
    assert_eq!(d["metadata"]["default"]["cart"]["items"][2], 3);
    assert_eq!(d["aws"]["xray"]["sdk"], "X-Ray for Rust");
    assert_eq!(d["subsegments"][0]["namespace"], "aws");
    assert_eq!(
        d["subsegments"][0]["subsegments"][0]["subsegments"][0]["name"],
        "deepest"
    );
    daemon.assert_quiet();
    assert_eq!(rec.emit_stats().sent, 1);
}

#[test]
fn hundred_subsegments_are_streamed() {
    let daemon = FakeDaemon::start();
    let rec = recorder_for(daemon.addr());
    let seg = rec.begin_segment("batch");
    let seg_id = seg.id().unwrap().to_string();
    let trace_id = seg.trace_id().unwrap().to_string();
    for i in 0..100 {
        let s = seg.begin_subsegment(&format!("item-{i}"));
        s.begin_subsegment("work").end();
        s.end();
    }
    seg.end();
    // 100 subsegments with one child each = 200; held at most 20 at a time.
    let docs = daemon.receive(rec.emit_stats().sent as usize);
    daemon.assert_quiet();
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut segment_docs = 0;
    for d in &docs {
        if d.get("type").is_some() {
            assert_eq!(d["type"], "subsegment");
            assert_eq!(d["trace_id"], trace_id);
            assert_eq!(
                d["parent_id"], seg_id,
                "streamed subtrees hang from the segment"
            );
            check_entity(&strip_independent(d), false);
        } else {
            segment_docs += 1;
            check_entity(d, true);
        }
        count_names(d, &mut names);
    }
    assert_eq!(segment_docs, 1);
    assert_eq!(names.values().sum::<usize>(), 201);
    assert_eq!(names["work"], 100);
    assert!(
        docs.len() > 50,
        "most subsegments were streamed: {}",
        docs.len()
    );
    let stats = rec.emit_stats();
    assert_eq!((stats.sent as usize, stats.dropped), (docs.len(), 0));
}

fn strip_independent(v: &Value) -> Value {
    let mut v = v.clone();
    for k in ["type", "trace_id", "parent_id"] {
        v.as_object_mut().unwrap().remove(k);
    }
    v
}

fn count_names(v: &Value, names: &mut HashMap<String, usize>) {
    *names
        .entry(v["name"].as_str().unwrap().to_owned())
        .or_default() += 1;
    for s in v["subsegments"].as_array().into_iter().flatten() {
        count_names(s, names);
    }
}

#[test]
fn two_hundred_kb_of_metadata_never_makes_an_oversize_datagram() {
    let daemon = FakeDaemon::start();
    let rec = recorder_for(daemon.addr());
    let seg = rec.begin_segment("upload");
    seg.add_metadata("small", &"keep me");
    seg.add_metadata("payload", &"x".repeat(200 * 1024));
    let sub = seg.begin_subsegment("child");
    sub.add_metadata("blob", &vec![7u8; 50_000]);
    sub.end();
    seg.end();
    let stats = rec.emit_stats();
    let docs = daemon.receive(stats.sent as usize);
    daemon.assert_quiet();
    assert_eq!(stats.dropped, 0);
    assert!(stats.truncated >= 1);
    let seg_doc = docs.iter().find(|d| d.get("type").is_none()).unwrap();
    assert_eq!(seg_doc["metadata"]["default"]["small"], "keep me");
    assert!(seg_doc["metadata"]["default"].get("payload").is_none());
    let removed = &seg_doc["metadata"]["xray"]["truncated"]["removed"];
    assert_eq!(removed[0], "metadata.default.payload");
    let total: usize = docs.iter().map(count).sum();
    assert_eq!(total, 2, "the child survives, split out or embedded");
}

fn count(v: &Value) -> usize {
    1 + v["subsegments"]
        .as_array()
        .map_or(0, |a| a.iter().map(count).sum())
}

#[test]
fn absent_daemon_never_reaches_the_application() {
    // Find a port where nothing listens.
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let rec = recorder_for(port);
    for i in 0..50 {
        let seg = rec.begin_segment(&format!("req-{i}"));
        seg.begin_subsegment("work").end();
        seg.end();
    }
    // The default emitter sends from a background thread; flush to see every outcome.
    rec.flush();
    let stats = rec.emit_stats();
    assert_eq!(stats.sent + stats.dropped, 50, "{stats:?}");
    assert!(
        stats.dropped > 0,
        "ICMP port unreachable is noticed: {stats:?}"
    );
}

#[test]
fn batches_arrive_without_flushing_and_flush_is_complete() {
    let daemon = FakeDaemon::start();
    let address = DaemonAddress::new(daemon.addr().into());
    // A long interval: only the 64-document wake-up or an explicit flush sends.
    let emitter = xray_core::emit::UdpEmitter::with_interval(&address, Duration::from_secs(3600));
    assert!(emitter.is_batched());
    let rec = Recorder::builder()
        .emitter(emitter)
        .sample_all()
        .ignore_env()
        .build()
        .unwrap();
    for i in 0..64 {
        rec.begin_segment(&format!("woken-{i}")).end();
    }
    assert_eq!(
        daemon.receive(64).len(),
        64,
        "64 waiting documents wake the sender"
    );
    for i in 0..10 {
        rec.begin_segment(&format!("flushed-{i}")).end();
    }
    rec.flush();
    let names: Vec<String> = daemon
        .receive(10)
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        (0..10).map(|i| format!("flushed-{i}")).collect::<Vec<_>>(),
        "in order"
    );
    daemon.assert_quiet();
}

#[test]
fn dropping_the_recorder_sends_what_is_buffered() {
    let daemon = FakeDaemon::start();
    let address = DaemonAddress::new(daemon.addr().into());
    let emitter = xray_core::emit::UdpEmitter::with_interval(&address, Duration::from_secs(3600));
    let rec = Recorder::builder()
        .emitter(emitter)
        .sample_all()
        .ignore_env()
        .build()
        .unwrap();
    rec.begin_segment("last-words").end();
    drop(rec);
    assert_eq!(daemon.receive(1)[0]["name"], "last-words");
}

#[test]
fn synchronous_mode_sends_at_once() {
    let daemon = FakeDaemon::start();
    let emitter =
        xray_core::emit::UdpEmitter::synchronous(&DaemonAddress::new(daemon.addr().into()));
    assert!(!emitter.is_batched());
    let rec = Recorder::builder()
        .emitter(emitter)
        .sample_all()
        .ignore_env()
        .build()
        .unwrap();
    rec.begin_segment("now").end();
    daemon.socket.set_nonblocking(true).unwrap();
    let mut buf = vec![0u8; 70_000];
    // Loopback delivery is immediate: the datagram is there before send returned.
    let len = daemon.socket.recv(&mut buf).expect("already delivered");
    assert!(buf[..len].starts_with(HEADER));
}

#[test]
fn host_names_are_resolved_in_the_background() {
    let daemon = FakeDaemon::start();
    let address: DaemonAddress = format!("localhost:{}", daemon.addr().port())
        .parse()
        .unwrap();
    let emitter = xray_core::emit::UdpEmitter::new(&address);
    let deadline = Instant::now() + Duration::from_secs(10);
    while emitter.peer_addr().is_none() {
        assert!(Instant::now() < deadline, "localhost never resolved");
        std::thread::sleep(Duration::from_millis(20));
    }
    // localhost may resolve to ::1 first; only check the IPv4 case end to end.
    if emitter.peer_addr().unwrap().is_ipv4() {
        let rec = Recorder::builder()
            .emitter(emitter)
            .sample_all()
            .ignore_env()
            .build()
            .unwrap();
        rec.begin_segment("named").end();
        assert_eq!(daemon.receive(1)[0]["name"], "named");
    }
}

#[test]
fn daemon_address_comes_from_the_environment() {
    let daemon = FakeDaemon::start();
    let addr = daemon.addr();
    let rec = Recorder::builder()
        .daemon_address("127.0.0.1:9".parse().unwrap())
        .sample_all()
        .env_lookup(move |k| {
            (k == "AWS_XRAY_DAEMON_ADDRESS").then(|| format!("tcp:127.0.0.1:2000 udp:{addr}"))
        })
        .build()
        .unwrap();
    assert_eq!(rec.daemon_address().udp().to_string(), addr.to_string());
    rec.begin_segment("from-env").end();
    assert_eq!(daemon.receive(1)[0]["name"], "from-env");

    let err = Recorder::builder()
        .env_lookup(|k| (k == "AWS_XRAY_DAEMON_ADDRESS").then(|| "nowhere".to_owned()))
        .build()
        .unwrap_err();
    assert_eq!(err.env_var(), Some("AWS_XRAY_DAEMON_ADDRESS"));
}
