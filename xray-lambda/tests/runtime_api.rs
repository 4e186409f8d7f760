//! A real `lambda_runtime` function, wrapped in the layer, serving invocations from a local HTTP
//! server that plays the Lambda Runtime API (`/runtime/invocation/next` with the
//! `Lambda-Runtime-*` headers, `/response`), with its recorder sending to a UDP socket playing
//! the X-Ray daemon.
//!
//! `lambda_runtime` reads its configuration (`AWS_LAMBDA_RUNTIME_API`, the function name, ...)
//! from the process environment only, and changing this process's environment is `unsafe`. So
//! the function runs in a child process — this test binary again, running the ignored test
//! `child_function` — with an environment of its own, like a real Lambda sandbox.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const CHILD_VAR: &str = "XRAY_LAMBDA_TEST_CHILD";
const HEADER_LINE: &[u8] = b"{\"format\": \"json\", \"version\": 1}\n";

const TRACE_A: &str = "Root=1-6740d1a2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1";
const TRACE_B: &str = "Root=1-6740d1a9-fedcba9876543210fedcba98;Parent=1a2b3c4d5e6f7081;Sampled=1";
const TRACE_C: &str = "Root=1-6740d1b0-cccccccccccccccccccccccc;Parent=2222222222222222;Sampled=0";
const TRACE_D: &str = "Root=1-6740d1b1-dddddddddddddddddddddddd;Lineage=a87bd80c:1";
/// In the child's `_X_AMZN_TRACE_ID` before the runtime starts (the fallback source).
const TRACE_ENV: &str =
    "Root=1-6740d1b2-eeeeeeeeeeeeeeeeeeeeeeee;Parent=3333333333333333;Sampled=1";

struct Invocation {
    request_id: &'static str,
    trace: Option<&'static str>,
}

#[derive(Default)]
struct ApiState {
    queue: Mutex<VecDeque<Invocation>>,
    /// `(request id, "response" | "error", body)`.
    posted: Mutex<Vec<(String, String, Value)>>,
    done: AtomicBool,
}

/// The Runtime API: keep-alive HTTP/1.1, one thread per connection. When the invocations run
/// out it closes the connection and stops listening, which ends `lambda_runtime::run`.
struct RuntimeApi {
    addr: SocketAddr,
    state: Arc<ApiState>,
}

impl RuntimeApi {
    fn start(invocations: Vec<Invocation>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(ApiState {
            queue: Mutex::new(invocations.into()),
            ..ApiState::default()
        });
        let shared = Arc::clone(&state);
        thread::spawn(move || {
            while !shared.done.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        let state = Arc::clone(&shared);
                        thread::spawn(move || serve(stream, &state));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self { addr, state }
    }
}

fn serve(stream: TcpStream, state: &ApiState) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let path = parts.next().unwrap_or_default().to_owned();
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':')
                && k.trim().eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let reply = match (method.as_str(), path.as_str()) {
            ("GET", "/2018-06-01/runtime/invocation/next") => {
                let next = state.queue.lock().unwrap().pop_front();
                let Some(inv) = next else {
                    state.done.store(true, Ordering::SeqCst);
                    let _ = out.shutdown(std::net::Shutdown::Both);
                    return;
                };
                let payload = json!({ "order": inv.request_id }).to_string();
                let trace = inv
                    .trace
                    .map(|t| format!("Lambda-Runtime-Trace-Id: {t}\r\n"))
                    .unwrap_or_default();
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {}\r\nLambda-Runtime-Deadline-Ms: 1893456000000\r\nLambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:eu-west-1:111122223333:function:orders\r\n{trace}Content-Length: {}\r\n\r\n{payload}",
                    inv.request_id,
                    payload.len()
                )
            }
            ("POST", p) if p.starts_with("/2018-06-01/runtime/invocation/") => {
                let rest = &p["/2018-06-01/runtime/invocation/".len()..];
                let (id, kind) = rest.split_once('/').unwrap_or((rest, ""));
                let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                state
                    .posted
                    .lock()
                    .unwrap()
                    .push((id.to_owned(), kind.to_owned(), value));
                let ok = "{\"status\":\"OK\"}";
                format!(
                    "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{ok}",
                    ok.len()
                )
            }
            _ => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_owned(),
        };
        if out.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xray-lambda-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn real_runtime_sends_subsegments_over_udp() {
    let daemon = UdpSocket::bind("127.0.0.1:0").unwrap();
    let api = RuntimeApi::start(vec![
        Invocation {
            request_id: "req-a",
            trace: Some(TRACE_A),
        },
        Invocation {
            request_id: "req-b",
            trace: Some(TRACE_B),
        },
        Invocation {
            request_id: "req-c",
            trace: Some(TRACE_C),
        },
        Invocation {
            request_id: "req-d",
            trace: Some(TRACE_D),
        },
        Invocation {
            request_id: "req-e",
            trace: None,
        },
    ]);
    let tmp = temp_dir("sandbox");

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["child_function", "--exact", "--ignored", "--nocapture"])
        .env_clear()
        .env(CHILD_VAR, "1")
        .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "orders")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/orders")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/28/[$LATEST]0123")
        .env("LAMBDA_TASK_ROOT", "/var/task")
        .env(
            "AWS_XRAY_DAEMON_ADDRESS",
            daemon.local_addr().unwrap().to_string(),
        )
        .env("_X_AMZN_TRACE_ID", TRACE_ENV)
        .env("TMPDIR", &tmp)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("the function did not stop within 60 s");
        }
        thread::sleep(Duration::from_millis(20));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        status.success(),
        "child failed: {status}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert!(
        stdout.contains("1 passed"),
        "the child test did not run:\n{stdout}"
    );

    // The function answered every invocation.
    let posted = api.state.posted.lock().unwrap().clone();
    let ids: Vec<(&str, &str)> = posted
        .iter()
        .map(|(id, kind, _)| (id.as_str(), kind.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            ("req-a", "response"),
            ("req-b", "response"),
            ("req-c", "response"),
            ("req-d", "response"),
            ("req-e", "response")
        ]
    );
    let answer = |id: &str| posted.iter().find(|(i, ..)| i == id).unwrap().2.clone();

    // What reached the daemon: one subsegment per sampled invocation, nothing else.
    daemon
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut docs: Vec<Value> = Vec::new();
    let mut buf = vec![0u8; 70_000];
    while let Ok(n) = daemon.recv(&mut buf) {
        assert!(buf[..n].starts_with(HEADER_LINE));
        docs.push(serde_json::from_slice(&buf[HEADER_LINE.len()..n]).unwrap());
    }
    assert_eq!(docs.len(), 2, "{docs:#?}");
    for (doc, (request_id, trace, root, parent)) in docs.iter().zip([
        (
            "req-a",
            TRACE_A,
            "1-6740d1a2-0123456789abcdef01234567",
            "53995c3f42cd8ad8",
        ),
        (
            "req-b",
            TRACE_B,
            "1-6740d1a9-fedcba9876543210fedcba98",
            "1a2b3c4d5e6f7081",
        ),
    ]) {
        assert_eq!(doc["type"], "subsegment", "{trace}: never a segment");
        assert_eq!(doc["name"], "handle");
        assert_eq!(doc["trace_id"], root);
        assert_eq!(doc["parent_id"], parent);
        assert_eq!(doc["annotations"]["request_id"], request_id);
        assert_eq!(doc["subsegments"][0]["name"], "inner");
        let out = answer(request_id);
        assert_eq!(out["subsegment"], doc["id"]);
        assert_eq!(
            out["downstream"],
            format!(
                "Root={root};Parent={};Sampled=1",
                doc["id"].as_str().unwrap()
            )
        );
    }
    assert!(docs.iter().all(|d| d["name"] != "facade"));

    let c = answer("req-c");
    let c = c["downstream"].as_str().unwrap();
    assert!(
        c.starts_with("Root=1-6740d1b0-cccccccccccccccccccccccc;") && c.contains("Sampled=0"),
        "{c}"
    );
    let d = answer("req-d");
    let d = d["downstream"].as_str().unwrap();
    assert!(
        d.starts_with("Root=1-6740d1b1-dddddddddddddddddddddddd")
            && d.contains("Lineage=a87bd80c:1"),
        "{d}"
    );
    assert_eq!(answer("req-e")["downstream"], Value::Null);

    // The SDKs' handshake file, in the sandbox's temporary directory.
    assert!(tmp.join(".aws-xray/initialized").is_file());
    let _ = std::fs::remove_dir_all(&tmp);
}

/// The function of the child process; does nothing unless started by the test above.
#[test]
#[ignore = "runs in a child process started by real_runtime_sends_subsegments_over_udp"]
fn child_function() {
    if std::env::var_os(CHILD_VAR).is_none() {
        eprintln!("skipped: {CHILD_VAR} not set (run by real_runtime_sends_subsegments_over_udp)");
        return;
    }
    use lambda_runtime::{Context, Error, LambdaEvent, service_fn};
    use tower::Layer;
    use xray_core::Recorder;
    use xray_lambda::XrayLambdaLayer;

    async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
        let sub = xray_core::begin_subsegment("handle");
        sub.annotate("request_id", event.context.request_id.as_str());
        sub.begin_subsegment("inner").end();
        tokio::time::sleep(Duration::from_millis(2)).await;
        let downstream = sub.trace_header().map(|h| h.to_string());
        let id = sub.id().filter(|_| sub.is_sampled()).map(|i| i.to_string());
        sub.end();
        Ok(json!({ "order": event.payload["order"], "downstream": downstream, "subsegment": id }))
    }

    // Without a per-invocation value, the header comes from `_X_AMZN_TRACE_ID`.
    let fallback = xray_lambda::trace_header(&Context::default()).expect("_X_AMZN_TRACE_ID");
    assert_eq!(fallback.to_string(), TRACE_ENV);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let result = runtime.block_on(async {
        let recorder = Recorder::builder().build().unwrap();
        assert!(
            format!("{:?}", recorder.sampler()).starts_with("LocalSampler"),
            "Lambda: no centralized sampling"
        );
        let function = XrayLambdaLayer::new()
            .recorder(recorder)
            .layer(service_fn(handler));
        lambda_runtime::run(function).await
    });
    // The fake Runtime API hangs up after the last invocation.
    assert!(
        result.is_err(),
        "the runtime should stop when the API goes away"
    );
}
