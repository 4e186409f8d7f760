//! An AWS Lambda function traced with X-Ray: every invocation runs under its facade
//! (`xray-lambda`), records a subsegment with annotations, and — when `TARGET_URL` is set —
//! makes one HTTP call through the traced client (`xray-tower`), which becomes a `remote`
//! subsegment and carries the trace header downstream.
//!
//! It is a real `lambda_runtime` function: it serves the invocations of whatever Runtime API
//! `AWS_LAMBDA_RUNTIME_API` names. In Lambda (runtime `provided.al2023`, active tracing on) that
//! is Lambda itself, and the subsegments go to Lambda's daemon and appear under the function's
//! segment. Locally, use an emulator of the Runtime API (`cargo lambda watch`, the Runtime
//! Interface Emulator) and a daemon or `xray-local`:
//!
//! ```text
//! AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001 AWS_LAMBDA_FUNCTION_NAME=orders \
//! AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 AWS_LAMBDA_FUNCTION_VERSION='$LATEST' \
//! AWS_XRAY_DAEMON_ADDRESS=127.0.0.1:2000 TARGET_URL=http://127.0.0.1:3000/hello \
//! cargo run -p examples --example lambda
//! ```
//!
//! The event may carry an `order_id`, recorded as an annotation. Invocations whose trace header
//! says `Sampled=0`, or that have none (active tracing off), record nothing. Diagnostics go to
//! stderr (`RUST_LOG`, default `info`).

use std::process::ExitCode;

use bytes::Bytes;
use http::{Request, Uri};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};
use tower::{ServiceBuilder, ServiceExt};
use tracing_subscriber::EnvFilter;
use xray_core::{Recorder, XrayFutureExt};
use xray_lambda::XrayLambdaLayer;
use xray_tower::client::{XrayClientLayer, XrayClientService};

type HttpClient = XrayClientService<Client<HttpConnector, Empty<Bytes>>>;

/// What `lambda_runtime` needs from the environment (it panics without them).
const REQUIRED: [&str; 4] = [
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
];

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let missing: Vec<&str> = REQUIRED
        .into_iter()
        .filter(|v| std::env::var_os(v).is_none())
        .collect();
    if !missing.is_empty() {
        tracing::error!(
            missing = ?missing,
            "this example is a Lambda function: run it in Lambda or against a Runtime API emulator (see the docs at the top of examples/examples/lambda.rs)"
        );
        return ExitCode::FAILURE;
    }
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "the function stopped");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Error> {
    // In Lambda the recorder sends to Lambda's daemon and samples as Lambda decided.
    let recorder = Recorder::builder().build()?;
    Recorder::set_global_default(recorder.clone())?;
    let target: Option<Uri> = match std::env::var("TARGET_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().parse()?),
        _ => None,
    };
    let client: HttpClient = ServiceBuilder::new()
        .layer(XrayClientLayer::new())
        .service(Client::builder(TokioExecutor::new()).build_http());
    tracing::info!(
        daemon = %recorder.daemon_address(),
        target = ?target.as_ref().map(ToString::to_string),
        "serving invocations"
    );

    let function = ServiceBuilder::new()
        .layer(XrayLambdaLayer::new())
        .service(service_fn(move |event: LambdaEvent<Value>| {
            handle(event, client.clone(), target.clone())
        }));
    lambda_runtime::run(function).await
}

async fn handle(
    event: LambdaEvent<Value>,
    client: HttpClient,
    target: Option<Uri>,
) -> Result<Value, Error> {
    let work = xray_core::begin_subsegment("process-event");
    work.annotate("request_id", event.context.request_id.as_str());
    if let Some(order) = event.payload.get("order_id").and_then(Value::as_str) {
        work.annotate("order_id", order);
    }
    let target_status = match target {
        // The call runs under `process-event`, so its subsegment nests there.
        Some(uri) => Some(call(client, uri).in_entity(work.entity().clone()).await?),
        None => None,
    };
    work.end();
    Ok(json!({
        "request_id": event.context.request_id,
        "target_status": target_status,
    }))
}

async fn call(client: HttpClient, uri: Uri) -> Result<u16, Error> {
    let response = client
        .oneshot(Request::get(uri).body(Empty::new())?)
        .await?;
    let status = response.status().as_u16();
    // Read the body so the connection can be reused by the next invocation.
    response.into_body().collect().await?;
    Ok(status)
}
