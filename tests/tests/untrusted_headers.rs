//! Untrusted request data can neither inject JSON into segment documents nor grow them without
//! bound: a 100 KB `X-Amzn-Trace-Id`, extra trace-header keys with quotes, backslashes and
//! JSON, 100 KB `User-Agent`, `Host`, `X-Forwarded-For` and a 60 KB path, bytes that are not
//! UTF-8. Every request is answered as without instrumentation, every document is sent (none too
//! large), every datagram is valid JSON that parses to the same structure through the model, and
//! the recorded strings are the schema's 250 characters at most.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::Router;
use axum::routing::any;
use bytes::Bytes;
use common::{document_of, serve};
use http::{HeaderValue, Request};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use xray_core::Recorder;
use xray_core::emit::{MAX_DATAGRAM_BYTES, MemoryEmitter};
use xray_core::model::Document;
use xray_tower::extract::XraySegment;
use xray_tower::server::XrayLayer;

const ROOT: &str = "1-5759e988-bd862e3fe1be46a994272793";
const INJECTION: &str = r#"x","fault":true,"name":"injected","y":"\"#;

/// Answers with the trace header it would send downstream (empty when not traced).
fn app() -> Router {
    Router::new().fallback(any(|segment: Option<XraySegment>| async move {
        segment
            .and_then(|s| s.trace_header())
            .map(|h| h.to_string())
            .unwrap_or_default()
    }))
}

type Sent = (u16, Option<String>, Bytes);
/// What a case sends: a name, the path, the headers.
type Case<'a> = (&'a str, String, Vec<(&'a str, HeaderValue)>);

async fn send(addr: std::net::SocketAddr, path: &str, headers: &[(&str, HeaderValue)]) -> Sent {
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut request = Request::get(format!("http://{addr}{path}"));
    for (name, value) in headers {
        request = request.header(*name, value.clone());
    }
    let response = client
        .request(request.body(Empty::new()).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let trace = response
        .headers()
        .get("x-amzn-trace-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, trace, body)
}

fn value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_headers_are_bounded_and_escaped() {
    let emitter = MemoryEmitter::new();
    let recorder = Recorder::builder()
        .emitter(emitter.clone())
        .sample_all()
        .ignore_env()
        .build()
        .unwrap();
    let traced = serve(app().layer(XrayLayer::new("untrusted").recorder(recorder.clone()))).await;
    let plain = serve(app()).await;

    let huge_trace_header = format!(
        "Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1;{}",
        "k=v;".repeat(25_000)
    );
    let hostile_extras = format!(
        "Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1;k\"=v;a=b\\c;{INJECTION}=1;q=\"x\";Lineage=a87bd80c:1;{}",
        (0..100)
            .map(|i| format!("e{i}=0123456789"))
            .collect::<Vec<_>>()
            .join(";")
    );
    let huge_user_agent = INJECTION.repeat(100_000 / INJECTION.len());
    let not_utf8 = HeaderValue::from_bytes(b"agent \xff\xfe\x80 \"quoted\" \\").unwrap();
    let cases: Vec<Case<'_>> = vec![
        (
            "100 KB X-Amzn-Trace-Id",
            "/a".into(),
            vec![("x-amzn-trace-id", value(&huge_trace_header))],
        ),
        (
            "hostile extras",
            "/b".into(),
            vec![("x-amzn-trace-id", value(&hostile_extras))],
        ),
        (
            "100 KB User-Agent",
            "/c".into(),
            vec![("user-agent", value(&huge_user_agent))],
        ),
        (
            "100 KB Host",
            "/d".into(),
            vec![("host", value(&"h".repeat(100_000)))],
        ),
        (
            "100 KB X-Forwarded-For",
            "/e".into(),
            vec![(
                "x-forwarded-for",
                value(&format!("{INJECTION}, 10.0.0.1").repeat(2_000)),
            )],
        ),
        (
            "60 KB path",
            format!("/{}", "p%22%5C".repeat(8_000)),
            vec![],
        ),
        ("not UTF-8", "/f".into(), vec![("user-agent", not_utf8)]),
    ];

    for (what, path, headers) in &cases {
        let got = send(traced, path, headers).await;
        let expected = send(plain, path, headers).await;
        assert_eq!(got.0, expected.0, "{what}: the status changed");
        let response_header = got.1.expect("the response header");
        assert!(response_header.len() < 100, "{what}: {response_header}");
        if *what == "hostile extras" {
            // Only well-formed extras go downstream, bounded; the junk is dropped.
            let downstream = String::from_utf8(got.2.to_vec()).unwrap();
            assert!(
                downstream.starts_with(&format!("Root={ROOT};Parent=")),
                "{downstream}"
            );
            assert!(downstream.contains(";Lineage=a87bd80c:1"), "{downstream}");
            assert!(!downstream.contains(['"', '\\']), "{downstream}");
            assert!(
                downstream.len() < 400,
                "{} bytes downstream",
                downstream.len()
            );
        }
    }

    recorder.flush();
    let stats = recorder.emit_stats();
    assert_eq!(stats.dropped, 0, "{stats:?}");
    assert_eq!(stats.sent, cases.len() as u64, "{stats:?}");
    let datagrams = emitter.datagrams();
    assert_eq!(datagrams.len(), cases.len());
    let mut largest = 0;
    for datagram in &datagrams {
        largest = largest.max(datagram.len());
        assert!(datagram.len() <= MAX_DATAGRAM_BYTES);
        let json = document_of(datagram);
        // The same structure through the typed model: nothing was smuggled into other fields.
        let typed: Document = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&typed).unwrap(), json);
        assert_eq!(json["name"], "untrusted");
        assert!(json.get("fault").is_none(), "{json}");
        assert!(json.get("y").is_none() && typed.extra.is_empty(), "{json}");
        let request = &json["http"]["request"];
        for field in ["url", "user_agent", "client_ip", "method"] {
            if let Some(s) = request[field].as_str() {
                assert!(
                    s.chars().count() <= 250,
                    "{field}: {} chars",
                    s.chars().count()
                );
            }
        }
    }
    let by_agent = datagrams
        .iter()
        .map(|d| document_of(d))
        .find(|j| {
            j["http"]["request"]["user_agent"]
                .as_str()
                .is_some_and(|a| a.starts_with(INJECTION))
        })
        .expect("the injection attempt was recorded as a plain string");
    assert_eq!(
        by_agent["http"]["request"]["user_agent"].as_str().unwrap(),
        huge_user_agent.chars().take(250).collect::<String>()
    );
    // The 100 KB header started a new trace instead of being parsed.
    let docs = emitter.documents();
    assert_eq!(
        docs.iter()
            .filter(|d| d.trace_id.unwrap().to_string() == ROOT)
            .count(),
        1
    );
    println!("{} documents, largest datagram {largest} bytes", docs.len());
    assert!(largest < 4_000, "{largest}");
}
