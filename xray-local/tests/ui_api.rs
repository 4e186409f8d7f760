//! The console's JSON API and assets over real sockets: a recorder sends segments over UDP to a
//! receiver, and the console answers HTTP on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use xray_core::Recorder;
use xray_core::model::{Document, Namespace};
use xray_local::{Console, ConsoleServer, Filter, LocalReceiver};

struct Reply {
    status: u16,
    content_type: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// One HTTP/1.1 request on its own connection.
async fn request(console: &ConsoleServer, method: &str, path: &str, body: Option<&str>) -> Reply {
    let mut stream = TcpStream::connect(console.local_addr()).await.unwrap();
    let body = body.unwrap_or("");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_owned)
        })
        .unwrap_or_default();
    Reply {
        status,
        content_type,
        body: body.to_owned(),
    }
}

async fn get(console: &ConsoleServer, path: &str) -> Reply {
    request(console, "GET", path, None).await
}

/// Percent-encodes a query value.
fn q(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn start(receiver: LocalReceiver) -> (Arc<LocalReceiver>, ConsoleServer, Recorder) {
    let receiver = Arc::new(receiver);
    let console = Console::new(Arc::clone(&receiver))
        .group("faults", Filter::parse("fault").unwrap())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let recorder = Recorder::builder()
        .daemon_address(receiver.daemon_address())
        .sample_all()
        .ignore_env()
        .build()
        .unwrap();
    (receiver, console, recorder)
}

/// frontend (GET /orders/1, 200) → orders; frontend 500 (customer c-2); frontend 429.
fn send_traffic(recorder: &Recorder) {
    for (i, status) in [200u16, 500, 429].into_iter().enumerate() {
        let segment = recorder.begin_segment("frontend");
        segment.update(|d| {
            let req = d.http_request_mut();
            req.method = Some("GET".into());
            req.url = Some(format!("http://shop.test/orders/{i}"));
        });
        segment.annotate("customer", format!("c-{}", i + 1).as_str());
        if status == 200 {
            let call = segment.begin_subsegment("orders");
            call.set_namespace(Namespace::Remote);
            let header = call.trace_header();
            let downstream = recorder
                .segment("orders")
                .trace_header(header.as_ref())
                .begin();
            downstream.annotate("items", 3);
            downstream.end();
            call.end();
        }
        segment.set_http_status(status);
        segment.end();
    }
    recorder.flush();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_answers_like_x_ray() {
    let receiver = LocalReceiver::builder()
        .quiet_period(Duration::from_millis(50))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let (receiver, console, recorder) = start(receiver).await;
    send_traffic(&recorder);
    receiver
        .wait_for_traces(3, Duration::from_secs(10))
        .await
        .unwrap();

    // GetServiceGraph
    let graph = get(&console, "/api/service-graph").await;
    assert_eq!(
        (graph.status, graph.content_type.as_str()),
        (200, "application/json")
    );
    let graph = graph.json();
    let services = graph["Services"].as_array().unwrap();
    let name = |r: &Value| services[r.as_u64().unwrap() as usize]["Name"].clone();
    let names: Vec<&str> = services
        .iter()
        .map(|s| s["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["client", "frontend", "orders"]);
    let client_edge = &services[0]["Edges"][0];
    assert_eq!(name(&client_edge["ReferenceId"]), "frontend");
    let s = &client_edge["SummaryStatistics"];
    assert_eq!(s["TotalCount"], 3);
    assert_eq!(s["OkCount"], 1);
    assert_eq!(s["FaultStatistics"]["TotalCount"], 1);
    assert_eq!(s["ErrorStatistics"]["ThrottleCount"], 1);
    assert!(s["TotalResponseTime"].as_f64().unwrap() > 0.0);
    let call = &services[1]["Edges"][0];
    assert_eq!(name(&call["ReferenceId"]), "orders");
    assert_eq!(call["SummaryStatistics"]["TotalCount"], 1);
    assert_eq!(services[1]["Root"], true);
    assert_eq!(graph["TraceCount"], 3);

    // GetTraceSummaries, narrowed by filter expressions.
    let all = get(&console, "/api/traces").await.json();
    assert_eq!(all["TraceSummaries"].as_array().unwrap().len(), 3);
    let faulty = get(
        &console,
        &format!("/api/traces?filter={}", q(r#"annotation.customer = "c-2""#)),
    )
    .await
    .json();
    let list = faulty["TraceSummaries"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    let t = &list[0];
    assert_eq!(
        (t["HasFault"].clone(), t["HasError"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(t["Http"]["HttpStatus"], 500);
    assert_eq!(t["Http"]["HttpURL"], "http://shop.test/orders/1");
    assert_eq!(
        t["Annotations"]["customer"][0]["AnnotationValue"]["StringValue"],
        "c-2"
    );
    assert!(t["Duration"].as_f64().unwrap() >= t["ResponseTime"].as_f64().unwrap());
    assert_eq!(faulty["TracesProcessedCount"], 3);
    let called = get(
        &console,
        &format!(
            "/api/traces?filter={}",
            q(r#"edge("frontend", "orders") AND annotation.items >= 3"#)
        ),
    )
    .await
    .json();
    assert_eq!(called["TraceSummaries"].as_array().unwrap().len(), 1);
    let called_id = called["TraceSummaries"][0]["Id"]
        .as_str()
        .unwrap()
        .to_owned();

    // An invalid expression: 400 and the position.
    let bad = get(
        &console,
        &format!("/api/traces?filter={}", q("http.status = \"500\"")),
    )
    .await;
    assert_eq!(bad.status, 400);
    let bad = bad.json();
    assert_eq!(bad["Position"], 14);
    assert!(bad["message"].as_str().unwrap().contains("^"), "{bad}");
    let bad = get(
        &console,
        &format!("/api/service-graph?filter={}", q("ok AND (")),
    )
    .await;
    assert_eq!(bad.status, 400);

    // Groups: their own trace list and map; created, listed and deleted through the API.
    let faults = get(&console, "/api/traces?group=faults").await.json();
    assert_eq!(faults["TraceSummaries"].as_array().unwrap().len(), 1);
    let map = get(&console, "/api/service-graph?group=faults")
        .await
        .json();
    assert_eq!(map["TraceCount"], 1);
    let created = request(
        &console,
        "POST",
        "/api/groups",
        Some(r#"{"GroupName": "throttled", "FilterExpression": "throttle OR error"}"#),
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let groups = get(&console, "/api/groups").await.json();
    assert_eq!(
        groups["Groups"],
        json!([
            {"GroupName": "faults", "FilterExpression": "fault"},
            {"GroupName": "throttled", "FilterExpression": "throttle OR error"},
        ])
    );
    let throttled = get(&console, "/api/traces?group=throttled&filter=ok")
        .await
        .json();
    assert_eq!(throttled["TraceSummaries"].as_array().unwrap().len(), 0);
    let throttled = get(&console, "/api/traces?group=throttled").await.json();
    assert_eq!(throttled["TraceSummaries"][0]["HasThrottle"], true);
    let invalid = request(
        &console,
        "POST",
        "/api/groups",
        Some(r#"{"GroupName": "x", "FilterExpression": "throttle OR"}"#),
    )
    .await;
    assert_eq!(invalid.status, 400);
    assert_eq!(
        request(&console, "DELETE", "/api/groups/throttled", None)
            .await
            .status,
        200
    );
    assert_eq!(
        get(&console, "/api/traces?group=throttled").await.status,
        404
    );

    // BatchGetTraces: segment documents with subsegments embedded; the downstream segment is
    // its own document whose parent is the calling subsegment.
    let trace = get(&console, &format!("/api/traces/{called_id}")).await;
    assert_eq!(trace.status, 200);
    let trace = trace.json();
    let segments = trace["Traces"][0]["Segments"].as_array().unwrap();
    let docs: Vec<Document> = segments
        .iter()
        .map(|s| serde_json::from_str(s["Document"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0].name, "frontend");
    assert_eq!(docs[0].subsegments[0].name, "orders");
    assert_eq!(docs[1].name, "orders");
    assert_eq!(docs[1].parent_id, Some(docs[0].subsegments[0].id));
    assert_eq!(segments[0]["Id"], docs[0].id.to_string());
    let missing = get(&console, "/api/traces/1-00000000-000000000000000000000000").await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.json()["UnprocessedTraceIds"],
        json!(["1-00000000-000000000000000000000000"])
    );
    assert_eq!(get(&console, "/api/traces/nonsense").await.status, 404);

    let status = get(&console, "/api/status").await.json();
    assert_eq!(status["TracesHeld"], 3);
    assert_eq!(status["MaxTraces"], 10_000);
    assert_eq!(status["ListenAddress"], receiver.local_addr().to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_is_self_contained() {
    let receiver = LocalReceiver::bind("127.0.0.1:0").await.unwrap();
    let (_receiver, console, _recorder) = start(receiver).await;
    let page = get(&console, "/").await;
    assert_eq!(page.status, 200);
    assert!(page.content_type.starts_with("text/html"));
    assert!(page.body.contains(r#"<script src="/app.js">"#));
    let js = get(&console, "/app.js").await;
    assert!(js.content_type.starts_with("text/javascript"));
    let css = get(&console, "/app.css").await;
    assert!(css.content_type.starts_with("text/css"));
    // Nothing is loaded from elsewhere: no absolute URLs in src/href, no remote imports or
    // fetches (the SVG namespace URI is a name, not a load).
    for text in [&page.body, &js.body, &css.body] {
        for needle in [
            "src=\"http",
            "href=\"http",
            "import ",
            "url(http",
            "fetch(\"http",
            "@import",
        ] {
            assert!(!text.contains(needle), "{needle}");
        }
    }
    assert_eq!(get(&console, "/nope").await.status, 404);
    // A name other than localhost or an IP address: a DNS-rebinding page, refused.
    let mut stream = TcpStream::connect(console.local_addr()).await.unwrap();
    stream
        .write_all(
            b"GET /api/traces HTTP/1.1\r\nhost: evil.example:2080\r\nconnection: close\r\n\r\n",
        )
        .await
        .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 403"), "{reply}");
    assert_eq!(
        request(&console, "PUT", "/api/traces", None).await.status,
        405
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_drops_old_traces_and_reports_the_count() {
    let receiver = LocalReceiver::builder()
        .quiet_period(Duration::from_millis(20))
        .max_trace_age(Duration::from_millis(300))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let (receiver, console, recorder) = start(receiver).await;
    send_traffic(&recorder);
    receiver
        .wait_for_traces(3, Duration::from_secs(10))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        let status = get(&console, "/api/status").await.json();
        if status["TracesDropped"] == 3 || Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status["TracesDropped"], 3, "{status}");
    assert_eq!(status["TracesHeld"], 0);
    assert_eq!(status["MaxTraceAgeSeconds"], 0.3);
    let list = get(&console, "/api/traces").await.json();
    assert_eq!(list["TraceSummaries"], json!([]));
}
