//! The quickstart: X-Ray traces and a service graph in a few seconds, without an AWS account.
//!
//! ```text
//! cargo run -p examples --example quickstart
//! ```
//!
//! 1. starts a local X-Ray receiver (`xray-local`, a stand-in for the X-Ray daemon) on an
//!    ephemeral UDP port;
//! 2. starts the example service (`examples/src/server.rs`: axum, traced by `xray-tower`, with
//!    `xray-sqlx` and `xray-aws-sdk` inside) in this process, its recorder sending to the
//!    receiver and tracing every request;
//! 3. sends it a few requests of every kind, waits for their traces, prints them as trees, then
//!    prints the service graph, and exits.
//!
//! `GET /aws` answers `503` unless `AWS_ENDPOINT_URL` names an AWS emulator, e.g.
//! `source scripts/services.sh && start_moto`. The steps live in `examples/src/quickstart.rs`,
//! which the quickstart test runs too. Set `NO_COLOR=1` for plain output and `RUST_LOG` for
//! diagnostics (default `warn,examples=info`, on stderr: the handlers' log lines, each with the
//! `AWS-XRAY-TRACE-ID` of its request).

use std::error::Error;
use std::process::ExitCode;

use examples::quickstart::{self, Quickstart};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::prelude::*;
use xray_local::{ServiceGraph, Style};

#[tokio::main]
async fn main() -> ExitCode {
    // The handlers' spans become subsegments (`xray-tracing`), and their log lines, on stderr,
    // carry `AWS-XRAY-TRACE-ID: 1-…@<entity id>`. `RUST_LOG` filters the logs only.
    tracing_subscriber::registry()
        .with(xray_tracing::XrayLayer::new())
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .map_event_format(xray_tracing::TraceIdFormat::new)
                .with_filter(
                    EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| EnvFilter::new("warn,examples=info")),
                ),
        )
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("quickstart failed: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error + Send + Sync>> {
    let style = Style::detect();

    // 1 and 2: the receiver, and the service tracing into it.
    let quickstart = Quickstart::start().await?;
    println!("xray-rs quickstart: the example service, traced into a local X-Ray receiver\n");
    println!(
        "  receiver  udp://{}   (where the X-Ray daemon would listen)",
        quickstart.receiver.local_addr()
    );
    println!(
        "  service   http://{}  ({}, every request traced)\n",
        quickstart.server.addr(),
        quickstart.recorder.service_name().unwrap_or("?"),
    );

    // 3: requests, one trace each (/chain calls /hello: two segments in one trace).
    println!("{} requests:", quickstart::REQUESTS.len());
    for path in quickstart::REQUESTS {
        let reply = quickstart.get(path).await?;
        println!(
            "  GET {path:<16} {}  {}",
            reply.status.as_u16(),
            reply.body.trim()
        );
    }

    let traces = quickstart
        .wait_for_traces(quickstart::REQUESTS.len())
        .await?;
    println!(
        "\n{} traces, as the receiver assembled them:\n",
        traces.len()
    );
    for trace in &traces {
        println!("{}", trace.render(style));
    }

    // The graph X-Ray's console would draw from these traces.
    println!("{}", ServiceGraph::from_traces(&traces).render(style));

    let sent = quickstart.recorder.emit_stats();
    println!(
        "recorder: {} documents sent, {} dropped; receiver: {}\n",
        sent.sent,
        sent.dropped,
        quickstart.receiver.stats()
    );
    println!("Next:");
    println!("  cargo run -p xray-local -- --listen 127.0.0.1:2000   # the receiver on its own");
    println!(
        "  cargo run -p examples --example server               # then curl localhost:3000/chain"
    );
    println!("  README.md                                            # add X-Ray to your service");
    quickstart.recorder.shutdown();
    Ok(())
}
