//! The centralized sampler against a real HTTP server on loopback playing the daemon's sampling
//! proxy: rules arrive, targets are applied, statistics are reported with the right counts, the
//! server goes away and the sampler falls back to the local rules, the server comes back and the
//! sampler recovers. Decisions run on a clock the test moves; only the poll schedule is real
//! time, shortened to tens of milliseconds.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(feature = "centralized-sampling")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use xray_core::sampling::{
    CentralizedSampler, Clock, Sampler, SamplingDecision, SamplingRequest, SamplingRules,
};

// === the proxy ===

#[derive(Debug, Clone)]
struct Call {
    path: String,
    content_type: Option<String>,
    body: Value,
}

#[derive(Debug)]
struct ProxyState {
    rules: Value,
    targets: Value,
    calls: Vec<Call>,
}

/// A tiny HTTP/1.1 server: one request per connection, `Connection: close`.
struct Proxy {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Proxy {
    fn start(addr: SocketAddr, state: Arc<Mutex<ProxyState>>) -> Self {
        let listener = TcpListener::bind(addr).expect("bind the proxy");
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (stop, state) = (stop.clone(), state.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => serve(stream, &state),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(2));
                        }
                        Err(e) => panic!("accept: {e}"),
                    }
                }
            })
        };
        Self {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    fn stop(mut self) -> SocketAddr {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap();
        self.addr
    }
}

fn serve(stream: TcpStream, state: &Mutex<ProxyState>) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    reader.read_line(&mut request_line).unwrap();
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (mut length, mut content_type) = (0usize, None);
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap(),
            "content-type" => content_type = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);

    let mut st = state.lock().unwrap();
    st.calls.push(Call {
        path: path.to_owned(),
        content_type,
        body,
    });
    let (status, answer) = match (method, path) {
        ("POST", "/GetSamplingRules") => ("200 OK", st.rules.to_string()),
        ("POST", "/SamplingTargets") => ("200 OK", st.targets.to_string()),
        _ => ("404 Not Found", r#"{"message":"not found"}"#.to_owned()),
    };
    drop(st);
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    );
}

fn rule(name: &str, priority: u32, rate: f64, size: u32, method: &str, path: &str) -> Value {
    json!({"CreatedAt": 1.5e9, "ModifiedAt": 1.5e9, "SamplingRule": {
        "RuleName": name, "RuleARN": format!("arn:aws:xray:us-east-1:1:sampling-rule/{name}"),
        "ResourceARN": "*", "Priority": priority, "FixedRate": rate, "ReservoirSize": size,
        "ServiceName": "*", "ServiceType": "*", "Host": "*", "HTTPMethod": method, "URLPath": path,
        "Version": 1, "Attributes": {}}})
}

// === the clock ===

#[derive(Debug)]
struct ManualClock(AtomicU64);

impl ManualClock {
    fn secs(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
    fn set(&self, secs: u64) {
        self.0.store(secs, Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_secs(self.0.load(Ordering::Relaxed))
    }
}

// === helpers ===

const T0: u64 = 1_700_000_000;

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sums of the statistics reported for `rule`: (requests, sampled, borrowed).
fn reported(state: &Mutex<ProxyState>, rule: &str) -> (u64, u64, u64) {
    let st = state.lock().unwrap();
    let mut sums = (0, 0, 0);
    for call in st.calls.iter().filter(|c| c.path == "/SamplingTargets") {
        for d in call.body["SamplingStatisticsDocuments"].as_array().unwrap() {
            if d["RuleName"] == rule {
                sums.0 += d["RequestCount"].as_u64().unwrap();
                sums.1 += d["SampledCount"].as_u64().unwrap();
                sums.2 += d["BorrowCount"].as_u64().unwrap();
            }
        }
    }
    sums
}

#[derive(Debug, Default)]
struct Tally {
    requests: u64,
    sampled: u64,
}

impl Tally {
    fn decide(
        &mut self,
        sampler: &CentralizedSampler,
        r: &SamplingRequest<'_>,
    ) -> SamplingDecision {
        let d = sampler.decide(r);
        self.requests += 1;
        self.sampled += u64::from(d.is_sampled());
        if d.is_sampled() {
            assert_eq!(d.rule_name(), Some("orders"));
        }
        d
    }
}

#[test]
fn rules_targets_statistics_fallback_and_recovery() {
    // Invalid for an SDK: they must be ignored, or they would sample everything.
    let mut with_attributes = rule("with-attributes", 1, 1.0, 100, "*", "*");
    with_attributes["SamplingRule"]["Attributes"] = json!({"tenant": "a"});
    let mut version_2 = rule("version-2", 2, 1.0, 100, "*", "*");
    version_2["SamplingRule"]["Version"] = json!(2);
    let state = Arc::new(Mutex::new(ProxyState {
        rules: json!({"NextToken": null, "SamplingRuleRecords": [
            rule("orders", 10, 0.0, 5, "GET", "/orders/*"),
            rule("Default", 10000, 0.0, 0, "*", "*"),
            with_attributes,
            version_2,
        ]}),
        // Phase A: X-Ray has no quota for us yet.
        targets: json!({"LastRuleModification": 1.0, "SamplingTargetDocuments": [
            {"RuleName": "orders", "FixedRate": 0.0, "Interval": 10}]}),
        calls: Vec::new(),
    }));
    let proxy = Proxy::start("127.0.0.1:0".parse().unwrap(), state.clone());

    let clock = Arc::new(ManualClock(AtomicU64::new(T0)));
    // Local rules that sample everything, so a fallback decision is unmistakable.
    let local = SamplingRules::builder()
        .default_rule(0, 1.0)
        .build()
        .unwrap();
    let sampler = CentralizedSampler::builder(proxy.addr.into())
        .local_rules(local)
        .clock(clock.clone())
        .rules_poll_interval(Duration::from_millis(150))
        .targets_poll_interval(Duration::from_millis(40))
        .request_timeout(Duration::from_secs(1))
        .build();

    let orders = SamplingRequest::new()
        .host("shop.example.com")
        .method("GET")
        .url_path("/orders/42")
        .service_name("shop");
    let health = SamplingRequest::new().method("GET").url_path("/health");

    // Before any rule arrives the local rules decide.
    assert!(sampler.decide(&health).is_sampled());
    assert_eq!(sampler.decide(&health).rule_name(), None);

    // Rules arrive: /health now falls to `Default` (rate 0, no reservoir).
    wait_for("the rules", || !sampler.decide(&health).is_sampled());
    {
        let st = state.lock().unwrap();
        let first = &st.calls[0];
        assert_eq!(first.path, "/GetSamplingRules");
        assert_eq!(first.content_type.as_deref(), Some("application/json"));
        assert_eq!(first.body, json!({"NextToken": null}));
    }

    // Phase A, no quota: one borrowed request per second, the rest at the fixed rate (0).
    let mut tally = Tally::default();
    for s in 1..=3 {
        clock.set(T0 + s);
        let sampled = (0..10)
            .filter(|_| tally.decide(&sampler, &orders).is_sampled())
            .count();
        assert_eq!(sampled, 1, "second {s}: borrow exactly one");
    }
    // Make the remaining statistics due (Interval 10) and wait until all were reported.
    clock.set(T0 + 20);
    wait_for("phase A statistics", || reported(&state, "orders").0 == 30);
    assert_eq!(
        reported(&state, "orders"),
        (30, 0, 3),
        "borrowed requests count in BorrowCount, not SampledCount"
    );

    // Phase B: a quota of 3 per second, valid for a while. It reaches the sampler with the next
    // report, so decide a few requests per (new) second until the quota shows.
    state.lock().unwrap().targets = json!({"LastRuleModification": 1.0, "SamplingTargetDocuments": [
        {"RuleName": "orders", "FixedRate": 0.0, "ReservoirQuota": 3,
         "ReservoirQuotaTTL": (T0 + 3000) as f64, "Interval": 10}]});
    let mut second = T0 + 40;
    wait_for("the quota", || {
        second += 11; // every batch is due for a report, so the new target is fetched
        clock.set(second);
        let sampled = (0..5)
            .filter(|_| tally.decide(&sampler, &orders).is_sampled())
            .count();
        sampled == 3
    });
    clock.set(second + 1);
    let sampled = (0..10)
        .filter(|_| tally.decide(&sampler, &orders).is_sampled())
        .count();
    assert_eq!(sampled, 3, "the quota, then the fixed rate (0)");
    clock.set(second + 30);
    wait_for("all statistics", || {
        reported(&state, "orders").0 == tally.requests
    });
    let (requests, sampled, borrowed) = reported(&state, "orders");
    assert_eq!(requests, tally.requests);
    assert_eq!(sampled + borrowed, tally.sampled);
    assert!(sampled >= 6, "quota takes are SampledCount: {sampled}");

    {
        let st = state.lock().unwrap();
        assert!(st.calls.iter().all(|c| c.path != "/GetSamplingTargets"));
        let reports: Vec<&Call> = st
            .calls
            .iter()
            .filter(|c| c.path == "/SamplingTargets")
            .collect();
        let client_id = reports[0].body["SamplingStatisticsDocuments"][0]["ClientID"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(client_id.len(), 24);
        assert!(client_id.bytes().all(|b| b.is_ascii_hexdigit()));
        for r in reports {
            assert_eq!(r.content_type.as_deref(), Some("application/json"));
            let docs = r.body["SamplingStatisticsDocuments"].as_array().unwrap();
            assert!(!docs.is_empty() && docs.len() <= 25);
            for d in docs {
                assert_eq!(
                    d["ClientID"],
                    client_id.as_str(),
                    "one client id per process"
                );
                let ts = d["Timestamp"].as_u64().unwrap();
                assert!(
                    (T0..=clock.secs()).contains(&ts),
                    "Timestamp {ts} in epoch seconds"
                );
                assert!(
                    d["RuleName"] == "orders" || d["RuleName"] == "Default",
                    "{d}"
                );
            }
        }
    }

    // The proxy goes away. Once the rules are older than an hour, the local rules decide.
    let addr = proxy.stop();
    std::thread::sleep(Duration::from_millis(200)); // a few failed polls
    let fetched_before = state.lock().unwrap().calls.len();
    clock.set(clock.secs() + 3601);
    let d = sampler.decide(&orders);
    assert!(
        d.is_sampled() && d.rule_name().is_none(),
        "local fallback: {d:?}"
    );
    assert!(sampler.decide(&health).is_sampled());

    // It comes back on the same address: the rules are fetched again and used.
    let proxy = Proxy::start(addr, state.clone());
    wait_for("recovery", || !sampler.decide(&health).is_sampled());
    assert!(state.lock().unwrap().calls.len() > fetched_before);
    clock.set(clock.secs() + 1);
    let d = sampler.decide(&orders);
    assert_eq!(
        d.rule_name(),
        Some("orders"),
        "quota expired: borrowing again"
    );

    // Shutdown stops the poller promptly; nothing is called afterwards.
    let t = Instant::now();
    sampler.shutdown();
    assert!(t.elapsed() < Duration::from_secs(2));
    let calls = state.lock().unwrap().calls.len();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(state.lock().unwrap().calls.len(), calls);
    assert!(
        !sampler.decide(&health).is_sampled(),
        "decisions go on after shutdown"
    );
    proxy.stop();
}

#[test]
fn garbage_answers_keep_the_local_rules() {
    let state = Arc::new(Mutex::new(ProxyState {
        rules: json!({"message": "the security token included in the request is invalid"}),
        targets: json!({}),
        calls: Vec::new(),
    }));
    let proxy = Proxy::start("127.0.0.1:0".parse().unwrap(), state.clone());
    let clock = Arc::new(ManualClock(AtomicU64::new(T0)));
    let sampler = CentralizedSampler::builder(proxy.addr.into())
        .local_rules(
            SamplingRules::builder()
                .default_rule(0, 1.0)
                .build()
                .unwrap(),
        )
        .clock(clock)
        .rules_poll_interval(Duration::from_millis(30))
        .build();
    sampler.start();
    wait_for("three polls", || state.lock().unwrap().calls.len() >= 3);
    let d = sampler.decide(&SamplingRequest::new().url_path("/x"));
    assert!(d.is_sampled() && d.rule_name().is_none());
    drop(sampler);
    proxy.stop();
}
