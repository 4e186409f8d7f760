//! A real axum server on loopback, traced by `xray-tower`'s server layer, with `#[instrument]`ed
//! handlers and nested spawned tasks: the documents mirror the span tree, and the log lines of
//! a text and a JSON fmt layer carry the trace id of the entity they were written in.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tracing::{Instrument, debug_span, error, info, info_span, instrument};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;
use xray_core::emit::MemoryEmitter;
use xray_core::model::Document;
use xray_core::sampling::NeverSample;
use xray_core::{Recorder, TraceHeader};
use xray_tracing::TraceIdFormat;

/// An in-memory log sink shared by the fmt layers of the process-wide subscriber.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    fn lines(&self) -> Vec<String> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;
    fn make_writer(&'a self) -> LogBuffer {
        self.clone()
    }
}

struct Logs {
    text: LogBuffer,
    json: LogBuffer,
}

/// The global subscriber: tokio's worker threads must see it. Tests in this binary may share
/// it (under `cargo test`), so assertions pick log lines by the request's own trace id.
fn logs() -> &'static Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs {
            text: LogBuffer::default(),
            json: LogBuffer::default(),
        };
        let subscriber = tracing_subscriber::registry()
            .with(xray_tracing::XrayLayer::new())
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(logs.text.clone())
                    .map_event_format(TraceIdFormat::new),
            )
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(logs.json.clone())
                    .map_event_format(TraceIdFormat::new),
            );
        tracing::subscriber::set_global_default(subscriber).unwrap();
        logs
    })
}

#[derive(Debug)]
struct PaymentDeclined;

impl std::fmt::Display for PaymentDeclined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("payment declined")
    }
}

impl std::error::Error for PaymentDeclined {}

#[instrument(skip_all, fields(xray.annotation.order_id = id, path = "/orders"))]
async fn order(Path(id): Path<u64>) -> String {
    info!(order = id, "handling order");
    load_order(id).await;

    // A spawned task, instrumented with a span created here: its subsegment nests under
    // `order`; inside it, another spawned task carries the context on with `in_current_span`.
    let background =
        tokio::spawn(send_email(id).instrument(info_span!("background", kind = "email")));
    background.await.unwrap();

    // `debug_span!` is below the default level: no subsegment, and what runs inside it nests
    // under `order`.
    let charged = charge(id).instrument(debug_span!("quiet")).await.is_err();
    format!("order {id} charged={charged}")
}

#[instrument(fields(rows = 3))]
async fn load_order(id: u64) {
    // What the AWS SDK interceptor, sqlx and the HTTP client layer do: open a subsegment under
    // the current entity.
    let query = xray_core::begin_subsegment("orders@db");
    tokio::time::sleep(Duration::from_millis(2)).await;
    query.end();
}

#[instrument]
async fn send_email(id: u64) {
    info!("sending email");
    let nested = tokio::spawn(notify(id).in_current_span());
    nested.await.unwrap();
}

#[instrument]
async fn notify(id: u64) {
    tokio::task::yield_now().await;
    info!("notified");
}

#[instrument(err)]
async fn charge(id: u64) -> Result<(), PaymentDeclined> {
    tokio::task::yield_now().await;
    Err(PaymentDeclined)
}

async fn explode() -> &'static str {
    let span = info_span!("explode", error = tracing::field::Empty);
    async {
        error!("disk on fire");
        tracing::Span::current().record("error", "no space left");
    }
    .instrument(span)
    .await;
    "ok"
}

fn app(recorder: Recorder) -> Router {
    Router::new()
        .route("/orders/{id}", get(order))
        .route("/explode", get(explode))
        .layer(xray_tower::server::XrayLayer::new("shop").recorder(recorder))
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    addr
}

/// GETs `path` with a real hyper client; returns the body and the response's trace header.
async fn get_path(addr: SocketAddr, path: &str) -> (String, TraceHeader) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let response = client
        .get(format!("http://{addr}{path}").parse().unwrap())
        .await
        .unwrap();
    let header = response
        .headers()
        .get("x-amzn-trace-id")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (String::from_utf8(body.to_vec()).unwrap(), header)
}

async fn documents(emitter: &MemoryEmitter, n: usize) -> Vec<Document> {
    let emitter = emitter.clone();
    let docs = tokio::task::spawn_blocking(move || emitter.wait_for(n, Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(docs.len(), n, "{docs:#?}");
    docs
}

fn recorder(sample: bool) -> (Recorder, MemoryEmitter) {
    let emitter = MemoryEmitter::new();
    let builder = Recorder::builder().emitter(emitter.clone()).ignore_env();
    let builder = if sample {
        builder.sample_all()
    } else {
        builder.sampler(NeverSample)
    };
    (builder.build().unwrap(), emitter)
}

fn only<'a>(docs: &'a [Document], name: &str) -> &'a Document {
    let found: Vec<_> = docs.iter().filter(|d| d.name == name).collect();
    assert_eq!(found.len(), 1, "one {name} in {docs:#?}");
    found[0]
}

fn names(docs: &[Document]) -> Vec<&str> {
    let mut names: Vec<&str> = docs.iter().map(|d| d.name.as_str()).collect();
    names.sort_unstable();
    names
}

fn meta(doc: &Document, key: &str) -> String {
    doc.metadata["tracing"][key].get().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_mirror_the_span_tree() {
    let logs = logs();
    let (recorder, emitter) = recorder(true);
    let addr = serve(app(recorder)).await;

    let (body, header) = get_path(addr, "/orders/7").await;
    assert_eq!(body, "order 7 charged=true");

    let docs = documents(&emitter, 1).await;
    let segment = &docs[0];
    assert_eq!(segment.name, "shop");
    assert_eq!(segment.trace_id, Some(header.root()));
    assert_eq!(names(&segment.subsegments), ["order"]);

    let order = &segment.subsegments[0];
    assert_eq!(order.annotations["order_id"], 7u64.into());
    assert_eq!(meta(order, "path"), "\"/orders\"");
    assert!(!order.error, "the ERROR event was in `charge`, not here");
    assert!(order.end_time.is_some());
    assert_eq!(
        names(&order.subsegments),
        ["background", "charge", "load_order"]
    );

    let load = only(&order.subsegments, "load_order");
    assert_eq!(meta(load, "rows"), "3");
    assert_eq!(meta(load, "id"), "7");
    assert_eq!(names(&load.subsegments), ["orders@db"]);

    let background = only(&order.subsegments, "background");
    assert_eq!(meta(background, "kind"), "\"email\"");
    let send_email = only(&background.subsegments, "send_email");
    let notify = only(&send_email.subsegments, "notify");
    assert!(notify.subsegments.is_empty());

    let charge = only(&order.subsegments, "charge");
    assert!(charge.error && !charge.fault);
    let cause = serde_json::to_value(charge.cause.as_ref().unwrap()).unwrap();
    assert_eq!(
        cause["exceptions"][0]["message"], "payment declined",
        "{cause}"
    );

    // Children start within their parents, and every id is distinct.
    let mut ids = vec![segment.id];
    for (parent, child) in [
        (segment, order),
        (order, load),
        (order, background),
        (background, send_email),
        (send_email, notify),
        (order, charge),
    ] {
        assert!(child.start_time >= parent.start_time, "{}", child.name);
        assert!(child.end_time <= parent.end_time, "{}", child.name);
        ids.push(child.id);
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 7);

    // Log lines: the text and JSON layers name the entity each event was written in.
    let trace = segment.trace_id.unwrap().to_string();
    let text: Vec<String> = logs
        .text
        .lines()
        .into_iter()
        .filter(|l| l.contains(&trace))
        .collect();
    let json: Vec<serde_json::Value> = logs
        .json
        .lines()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| {
            v["AWS-XRAY-TRACE-ID"]
                .as_str()
                .is_some_and(|t| t.starts_with(&trace))
        })
        .collect();
    for (message, entity) in [
        ("handling order", order),
        ("sending email", send_email),
        ("notified", notify),
    ] {
        let expected = format!("AWS-XRAY-TRACE-ID: {trace}@{} ", entity.id);
        let line = text
            .iter()
            .find(|l| l.contains(message))
            .unwrap_or_else(|| panic!("{message} in {text:#?}"));
        assert!(line.starts_with(&expected), "{line}");
        let value = json
            .iter()
            .find(|v| v["fields"]["message"] == message)
            .unwrap_or_else(|| panic!("{message} in {json:#?}"));
        assert_eq!(
            value["AWS-XRAY-TRACE-ID"],
            format!("{trace}@{}", entity.id),
            "{value}"
        );
    }
    // `#[instrument(err)]`'s event, in `charge`.
    assert!(
        text.iter().any(|l| l.contains("payment declined")
            && l.starts_with(&format!("AWS-XRAY-TRACE-ID: {trace}@{} ", charge.id))),
        "{text:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_events_and_error_fields_mark_the_subsegment() {
    logs();
    let (recorder, emitter) = recorder(true);
    let addr = serve(app(recorder)).await;
    assert_eq!(get_path(addr, "/explode").await.0, "ok");

    let docs = documents(&emitter, 1).await;
    let explode = only(&docs[0].subsegments, "explode");
    assert!(explode.error);
    let cause = serde_json::to_value(explode.cause.as_ref().unwrap()).unwrap();
    let messages: Vec<&str> = cause["exceptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["disk on fire", "no space left"], "{cause}");
    assert!(
        !docs[0].error && !docs[0].fault,
        "the segment is left alone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsampled_requests_record_nothing_but_logs_carry_the_trace_id() {
    let logs = logs();
    let (recorder, emitter) = recorder(false);
    let addr = serve(app(recorder)).await;

    let (body, header) = get_path(addr, "/orders/8").await;
    assert_eq!(body, "order 8 charged=true");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(emitter.documents().is_empty());

    let trace = header.root().to_string();
    let line = logs
        .text
        .lines()
        .into_iter()
        .find(|l| l.contains("handling order") && l.contains("order=8"))
        .unwrap();
    assert!(
        line.starts_with(&format!("AWS-XRAY-TRACE-ID: {trace}@")),
        "{line}"
    );
}
