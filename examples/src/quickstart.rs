//! The quickstart's flow: a local X-Ray receiver, the example service traced into it, a few
//! requests of every kind, and their traces.
//!
//! `cargo run -p examples --example quickstart` prints what this module produces (see
//! `examples/examples/quickstart.rs`); the quickstart test (`examples/tests/quickstart.rs`) runs
//! the same steps and checks the service graph.
//!
//! 1. [`Quickstart::start`]: binds an [`xray_local::LocalReceiver`] on an ephemeral UDP port,
//!    builds a [`Recorder`] that sends there and samples every request, creates the SQLite
//!    database of `/db`, and starts the [example service](crate::server) on an ephemeral TCP
//!    port.
//! 2. [`Quickstart::get`] for each of [`REQUESTS`], from an uninstrumented client (the
//!    `client` node of the service graph).
//! 3. [`Quickstart::wait_for_traces`]: flushes the recorder and waits until the receiver has
//!    finished one trace per request.
//!
//! No AWS account or daemon is involved: `GET /aws` answers `503` unless `AWS_ENDPOINT_URL`
//! names an AWS emulator (see [`crate::aws`]).

use std::error::Error;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::net::TcpListener;
use xray_core::Recorder;
use xray_local::{LocalReceiver, Trace, WaitTimeout};

use crate::server::{self, RunningServer};

/// What the quickstart asks the service, in order: every route, and for `/status` a client
/// error (`404`), a throttle (`429`) and a fault (`500`).
pub const REQUESTS: [&str; 12] = [
    "/hello",
    "/hello",
    "/status/404",
    "/status/429",
    "/status/500",
    "/status/500",
    "/chain",
    "/chain",
    "/db?name=alice",
    "/db?name=bob",
    "/db?name=nobody",
    "/aws",
];

/// How long [`Quickstart::wait_for_traces`] waits at most. Traces finish a
/// [quiet period](QUIET_PERIOD) after their last document; this only bounds a failure.
pub const WAIT: Duration = Duration::from_secs(10);

/// How long a complete trace must go without new documents before the receiver finishes it
/// (the receiver's default is 500 ms, for services on other machines; in one process 100 ms is
/// plenty).
pub const QUIET_PERIOD: Duration = Duration::from_millis(100);

/// An error of the quickstart's setup or requests.
pub type BoxError = Box<dyn Error + Send + Sync>;

/// The receiver, the recorder and the running service. See the [module docs](self).
#[derive(Debug)]
pub struct Quickstart {
    /// The local receiver the service's segments go to.
    pub receiver: LocalReceiver,
    /// The service's recorder: sends to [`receiver`](Self::receiver), samples every request.
    pub recorder: Recorder,
    /// The example service.
    pub server: RunningServer,
    client: Client<HttpConnector, Empty<Bytes>>,
}

/// A response to one of the quickstart's requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The body, as text.
    pub body: String,
}

impl Quickstart {
    /// Starts the receiver and the service (see the [module docs](self)). Must run in a tokio
    /// runtime.
    ///
    /// # Errors
    ///
    /// When a socket cannot be bound, or the SQLite database cannot be created in the system
    /// temp directory.
    pub async fn start() -> Result<Self, BoxError> {
        let receiver = LocalReceiver::builder()
            .quiet_period(QUIET_PERIOD)
            .bind("127.0.0.1:0")
            .await?;
        // `ignore_env`: an AWS_XRAY_DAEMON_ADDRESS in the environment would otherwise send the
        // segments elsewhere.
        let recorder = Recorder::builder()
            .service_name(server::SEGMENT_NAME)
            .daemon_address(receiver.daemon_address())
            .sample_all()
            .ignore_env()
            .build()?;
        // Created before the first request, so that no request pays for it.
        crate::db::init().await?;
        let server = server::spawn(
            TcpListener::bind("127.0.0.1:0").await?,
            Some(recorder.clone()),
        )?;
        Ok(Self {
            receiver,
            recorder,
            server,
            client: Client::builder(TokioExecutor::new()).build_http(),
        })
    }

    /// `GET path` on the service, body read in full (which ends the request's segment).
    ///
    /// # Errors
    ///
    /// When the request fails or the body cannot be read.
    pub async fn get(&self, path: &str) -> Result<Reply, BoxError> {
        let uri = format!("http://{}{path}", self.server.addr()).parse()?;
        let response = self.client.get(uri).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Reply {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    /// Sends what the recorder still holds, then waits until at least `count` traces have
    /// finished, and returns every finished trace, by start time.
    ///
    /// # Errors
    ///
    /// [`WaitTimeout`] when fewer traces finished within [`WAIT`].
    pub async fn wait_for_traces(&self, count: usize) -> Result<Vec<Trace>, WaitTimeout> {
        // The UDP emitter sends in batches from a background thread: send the last ones now.
        self.recorder.flush();
        self.receiver.wait_for_traces(count, WAIT).await
    }
}
