//! An axum service traced with X-Ray: the server layer on every route, and an instrumented
//! outgoing HTTP client.
//!
//! ```text
//! cargo run -p examples --example server
//! curl localhost:3000/hello
//! curl localhost:3000/status/503
//! curl localhost:3000/chain      # calls /hello through the traced client: one trace, two segments
//! curl 'localhost:3000/db?name=alice'   # a SQLite query through the traced pool
//! ```
//!
//! Segments go to `AWS_XRAY_DAEMON_ADDRESS` (default `127.0.0.1:2000`): an X-Ray daemon, the
//! CloudWatch agent, or `xray-local`. The routes and the other variables (`LISTEN_ADDR`,
//! `AWS_XRAY_TRACING_NAME`, `XRAY_SAMPLING_RULES`, `RUST_LOG`) are described in
//! `examples/src/server.rs`. Diagnostics go to stderr; the handlers are `#[instrument]`ed, so
//! with `xray-tracing` each is a subsegment, and their log lines carry the request's trace id.

use std::error::Error;
use std::io::IsTerminal;
use std::process::ExitCode;

use examples::server;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::prelude::*;
use xray_core::Recorder;

#[tokio::main]
async fn main() -> ExitCode {
    // Spans become subsegments (`XrayLayer`); log lines written within a request carry
    // `AWS-XRAY-TRACE-ID: 1-…@<entity id>` (`TraceIdFormat`). `RUST_LOG` filters the logs only,
    // so that it does not switch the handlers' spans off.
    tracing_subscriber::registry()
        .with(xray_tracing::XrayLayer::new())
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal())
                .map_event_format(xray_tracing::TraceIdFormat::new)
                .with_filter(
                    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
                ),
        )
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "example-server stopped");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error + Send + Sync>> {
    let recorder = server::recorder_from_env()?;
    Recorder::set_global_default(recorder.clone())?;
    // The SQLite database of GET /db, created and seeded before serving.
    examples::db::init().await?;

    let listener = TcpListener::bind(server::listen_addr_from_env()?).await?;
    let addr = listener.local_addr()?;
    tracing::info!(
        %addr,
        daemon = %recorder.daemon_address(),
        sampler = ?recorder.sampler(),
        "{} listening: try http://{addr}/hello, /status/503, /chain",
        recorder.service_name().unwrap_or(server::SEGMENT_NAME),
    );

    let app = server::router(server::AppState::new(addr), None);
    server::serve(listener, app, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    // Stops the sampling poller; segments already ended have been sent.
    recorder.shutdown();
    Ok(())
}
