//! What one sampling decision costs, against a trivial sampler measured in the same run.
//!
//! Run with `cargo bench -p xray-core --bench sampling`. Cases, in interleaved rounds:
//!
//! - baseline: `AlwaysSample` through `&dyn Sampler` (the call itself, no work);
//! - the local default rule (1/s + 5%), single-threaded;
//! - 10 local wildcard rules, a request that matches none (every rule tried, then the default);
//! - the centralized sampler with rules fetched from a loopback proxy: a request falling to
//!   `Default`, and one that passes 9 rules before matching the 10th;
//! - the same with 2 threads deciding at once (wall time per decision per thread).
//!
//! Target: ≤ 50 ns per decision single-threaded, no lock on the decision path.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use bench_support::{Case, black_box, measure, table};
use xray_core::sampling::{
    AlwaysSample, CentralizedSampler, LocalRule, LocalSampler, Sampler, SamplingRequest,
    SamplingRules,
};

fn request() -> SamplingRequest<'static> {
    SamplingRequest::new()
        .host("shop.example.com")
        .method("GET")
        .url_path("/orders/12345/items")
        .service_name("shop")
}

fn ten_local_rules() -> SamplingRules {
    let mut b = SamplingRules::builder();
    for i in 0..10 {
        let rule = match i % 4 {
            0 => LocalRule::new(5, 0.1).host(format!("api{i}.example.com")),
            1 => LocalRule::new(5, 0.1).url_path(format!("/v{i}/*")),
            2 => LocalRule::new(5, 0.1)
                .http_method("POST")
                .url_path(format!("*/items/{i}")),
            _ => LocalRule::new(5, 0.1)
                .host("*.internal")
                .url_path(format!("/admin/?{i}/*")),
        };
        b = b.rule(rule);
    }
    b.build().expect("valid rules")
}

/// A loopback proxy answering `GetSamplingRules` with `rules` and `SamplingTargets` with nothing.
fn proxy(rules: String) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = answer(stream, &rules);
        }
    });
    addr
}

fn answer(stream: TcpStream, rules: &str) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let (mut line, mut path, mut length) = (String::new(), String::new(), 0usize);
    reader.read_line(&mut line)?;
    path.push_str(line.split_whitespace().nth(1).unwrap_or(""));
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        if line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    reader.read_exact(&mut vec![0; length])?;
    let body = if path == "/GetSamplingRules" {
        rules
    } else {
        r#"{"SamplingTargetDocuments": []}"#
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn central_rule(name: &str, priority: u32, host: &str, path: &str) -> String {
    format!(
        r#"{{"SamplingRule": {{"RuleName": "{name}", "ResourceARN": "*", "Priority": {priority},
            "FixedRate": 0.05, "ReservoirSize": 1, "ServiceName": "*", "ServiceType": "*",
            "Host": "{host}", "HTTPMethod": "*", "URLPath": "{path}", "Version": 1, "Attributes": {{}}}}}}"#
    )
}

fn centralized() -> CentralizedSampler {
    let mut rules = vec![central_rule("Default", 10000, "*", "*")];
    for i in 0..9 {
        rules.push(central_rule(
            &format!("r{i}"),
            10 + i,
            &format!("api{i}.example.com"),
            "*",
        ));
    }
    rules.push(central_rule("orders", 100, "*", "/orders/*/items"));
    let addr = proxy(format!(
        r#"{{"SamplingRuleRecords": [{}]}}"#,
        rules.join(",")
    ));
    let sampler = CentralizedSampler::builder(addr.into()).build();
    sampler.start();
    // Wait for the rules: a matching request then names its rule.
    let deadline = Instant::now() + Duration::from_secs(10);
    let probe = request();
    while sampler.decide(&probe).rule_name().is_none() {
        assert!(
            Instant::now() < deadline,
            "the loopback proxy did not serve the rules"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    sampler
}

type Body<'a> = Box<dyn Fn(u64) + 'a>;

/// `iters` decisions on one thread.
fn single<'a>(sampler: &'a dyn Sampler, req: SamplingRequest<'a>) -> Body<'a> {
    Box::new(move |iters| {
        for _ in 0..iters {
            black_box(sampler.decide(black_box(&req)));
        }
    })
}

/// `iters` decisions on each of 2 threads at once: the time per iteration is wall time per
/// decision per thread.
fn contended<'a>(sampler: &'a dyn Sampler, req: SamplingRequest<'a>) -> Body<'a> {
    Box::new(move |iters| {
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    for _ in 0..iters {
                        black_box(sampler.decide(black_box(&req)));
                    }
                });
            }
        });
    })
}

fn main() {
    let always: &dyn Sampler = &AlwaysSample;
    let local_default = LocalSampler::new(SamplingRules::default());
    let local_ten = LocalSampler::new(ten_local_rules());
    let central = centralized();
    let req = request();
    let other = SamplingRequest::new()
        .host("www.example.com")
        .method("GET")
        .url_path("/")
        .service_name("shop");
    assert_eq!(local_ten.rules().rules().len(), 10);

    let dyn_local_default: &dyn Sampler = &local_default;
    let dyn_local_ten: &dyn Sampler = &local_ten;
    let dyn_central: &dyn Sampler = &central;
    let bodies: Vec<(&str, Body<'_>)> = vec![
        (
            "baseline: AlwaysSample via &dyn Sampler",
            single(always, req),
        ),
        (
            "local, default rule (1/s + 5%)",
            single(dyn_local_default, req),
        ),
        (
            "local, 10 wildcard rules, none matches",
            single(dyn_local_ten, req),
        ),
        (
            "centralized, falls to Default (10 rules tried)",
            single(dyn_central, other),
        ),
        ("centralized, 10th rule matches", single(dyn_central, req)),
        ("2 threads: baseline", contended(always, req)),
        (
            "2 threads: local, default rule",
            contended(dyn_local_default, req),
        ),
        (
            "2 threads: local, 10 wildcard rules",
            contended(dyn_local_ten, req),
        ),
        (
            "2 threads: centralized, Default",
            contended(dyn_central, other),
        ),
        (
            "2 threads: centralized, 10th rule",
            contended(dyn_central, req),
        ),
    ];
    // For instruction counts: `XRAY_BENCH_CASE=2 XRAY_BENCH_ITERS=1000000 valgrind
    // --tool=callgrind <bench binary>` runs one case and nothing else; the difference between two
    // runs divided by the difference of their iteration counts is instructions per decision.
    if let (Ok(case), Ok(iters)) = (
        std::env::var("XRAY_BENCH_CASE"),
        std::env::var("XRAY_BENCH_ITERS"),
    ) {
        let case: usize = case.parse().expect("XRAY_BENCH_CASE: a case index");
        (bodies[case].1)(iters.parse().expect("XRAY_BENCH_ITERS: a number"));
        central.shutdown();
        return;
    }
    let mut cases: Vec<Case<'_>> = bodies
        .iter()
        .map(|(name, body)| Case::batched(*name, body))
        .collect();
    let results = measure(&mut cases, 15);
    println!("{}", table("xray-core sampling decision", &results, 0));
    let single = &results[1..5];
    let worst = single.iter().map(|r| r.median_ns).fold(0.0, f64::max);
    println!(
        "  single-threaded worst case {worst:.1} ns/decision (target <= 50 ns); 2-thread cases are wall time per decision per thread"
    );
    central.shutdown();
}
