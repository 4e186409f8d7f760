//! The example service: an axum app traced by [`XrayLayer`], with an instrumented outgoing HTTP
//! client.
//!
//! `cargo run -p examples --example server` runs it (see `examples/examples/server.rs`); tests
//! and other examples start it in-process with [`spawn`].
//!
//! | Route | Answers |
//! |---|---|
//! | `GET /hello` | `200 Hello, world!`, and annotates the segment (`greeting`) |
//! | `GET /status/{code}` | that status (200–599) |
//! | `GET /chain` | calls this server's own `/hello` through the instrumented client |
//! | `GET /db?name=alice` | looks the name up in a SQLite database through a traced pool (see [`crate::db`]) |
//! | `GET /aws` | DynamoDB `ListTables` at `AWS_ENDPOINT_URL` through a traced SDK client (`503` when unset; see [`crate::aws`]) |
//!
//! Every segment also gets the route template as the `route` annotation.
//!
//! # Adding a route
//!
//! Write the handler in its own module next to this one, add one `.route(..)` line in
//! [`router`], and — if it needs something shared, such as a database pool or an AWS client — a
//! field in [`AppState`], filled in [`AppState::new`]. The X-Ray layer covers every route.
//!
//! # Configuration
//!
//! | Variable | Default | |
//! |---|---|---|
//! | `LISTEN_ADDR` | `127.0.0.1:3000` | where the server listens |
//! | `AWS_XRAY_DAEMON_ADDRESS` | `127.0.0.1:2000` | where segments go |
//! | `AWS_XRAY_TRACING_NAME` | `example-server` | the segment name |
//! | `XRAY_SAMPLING_RULES` | unset | a local sampling rules file (JSON, versions 1 and 2); when set, only these rules decide |
//! | `RUST_LOG` | `info` | diagnostics on stderr |

use std::error::Error;
use std::future::Future;
use std::io;
use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Path, State};
use axum::response::IntoResponse;
use axum::routing::get;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower::{ServiceBuilder, ServiceExt};
use xray_core::{Entity, Recorder};
use xray_tower::client::{XrayClientLayer, XrayClientService};
use xray_tower::extract::XraySegment;
use xray_tower::server::XrayLayer;

/// Where the server listens unless `LISTEN_ADDR` says otherwise.
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:3000";
/// The variable holding the listen address.
pub const ENV_LISTEN_ADDR: &str = "LISTEN_ADDR";
/// The variable holding the path of a local sampling rules file.
pub const ENV_SAMPLING_RULES: &str = "XRAY_SAMPLING_RULES";
/// The segment name (`AWS_XRAY_TRACING_NAME` overrides it).
pub const SEGMENT_NAME: &str = "example-server";

/// The instrumented outgoing HTTP client: hyper-util's client under [`XrayClientLayer`].
pub type HttpClient = XrayClientService<Client<HttpConnector, Empty<Bytes>>>;

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The instrumented outgoing HTTP client.
    pub http: HttpClient,
    /// This server's own base URL (`http://127.0.0.1:3000`), for `/chain`.
    pub base_url: String,
}

impl AppState {
    /// The state of a server listening on `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            http: http_client(),
            base_url: format!("http://{addr}"),
        }
    }
}

/// A hyper-util client traced by [`XrayClientLayer`].
pub fn http_client() -> HttpClient {
    ServiceBuilder::new()
        .layer(XrayClientLayer::new())
        .service(Client::builder(TokioExecutor::new()).build_http())
}

/// The application: the routes, traced by [`XrayLayer`] with `recorder` (or the global recorder
/// when `None`).
pub fn router(state: AppState, recorder: Option<Recorder>) -> Router {
    let mut xray = XrayLayer::new(SEGMENT_NAME);
    if let Some(recorder) = recorder {
        xray = xray.recorder(recorder);
    }
    let xray = xray.on_request(|request: &Request<Body>, segment: &Entity| {
        if let Some(route) = request.extensions().get::<MatchedPath>() {
            segment.annotate("route", route.as_str());
        }
    });
    Router::new()
        .route("/hello", get(hello))
        .route("/status/{code}", get(status))
        .route("/chain", get(chain))
        .route("/db", get(crate::db::handler))
        .route("/aws", get(crate::aws::handler))
        .with_state(state)
        .layer(xray)
}

/// Builds the recorder from the environment (see the [module docs](self)).
///
/// # Errors
///
/// When an `AWS_XRAY_*` variable is malformed or the sampling rules file cannot be read or is
/// invalid.
pub fn recorder_from_env() -> Result<Recorder, xray_core::ConfigError> {
    let mut builder = Recorder::builder().service_name(SEGMENT_NAME);
    if let Some(path) = std::env::var_os(ENV_SAMPLING_RULES) {
        // A local file is for trying rules out: centralized rules would override it.
        builder = builder.sampling_rules_file(path).local_sampling_only();
    }
    builder.build()
}

/// The listen address from `LISTEN_ADDR`, or [`DEFAULT_LISTEN_ADDR`].
///
/// # Errors
///
/// When `LISTEN_ADDR` is not a socket address such as `0.0.0.0:8080`.
pub fn listen_addr_from_env() -> Result<SocketAddr, Box<dyn Error + Send + Sync>> {
    let value = std::env::var(ENV_LISTEN_ADDR).unwrap_or_else(|_| DEFAULT_LISTEN_ADDR.to_owned());
    value
        .parse()
        .map_err(|err| format!("{ENV_LISTEN_ADDR}={value:?} is not a socket address: {err}").into())
}

/// Serves `app` on `listener` (with the peer address available as `ConnectInfo`, for
/// `client_ip`) until `shutdown` completes.
///
/// # Errors
///
/// When accepting connections fails.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// A server running in the background; stopped when dropped.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    task: JoinHandle<io::Result<()>>,
}

impl RunningServer {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the example service on `listener` in a background task, tracing with `recorder` (or
/// the global recorder when `None`).
///
/// # Errors
///
/// When the listener's address cannot be read.
pub fn spawn(listener: TcpListener, recorder: Option<Recorder>) -> io::Result<RunningServer> {
    let addr = listener.local_addr()?;
    let app = router(AppState::new(addr), recorder);
    let task = tokio::spawn(serve(listener, app, std::future::pending()));
    Ok(RunningServer { addr, task })
}

// `#[instrument]`ed handlers: with `xray_tracing::XrayLayer` installed (as the `server` and
// `quickstart` examples do) each becomes a subsegment of the request's segment, and their log
// lines carry the trace id.
#[tracing::instrument(skip_all)]
async fn hello(segment: Option<XraySegment>) -> &'static str {
    tracing::info!("saying hello");
    if let Some(segment) = segment {
        segment.annotate("greeting", "hello");
    }
    "Hello, world!"
}

#[tracing::instrument(skip_all, fields(xray.annotation.code = code))]
async fn status(Path(code): Path<u16>) -> impl IntoResponse {
    tracing::info!(code, "answering with the status asked for");
    match StatusCode::from_u16(code) {
        Ok(status) if (200..600).contains(&code) => (status, format!("{status}\n")),
        _ => (
            StatusCode::BAD_REQUEST,
            format!("{code} is not a status between 200 and 599\n"),
        ),
    }
}

#[tracing::instrument(skip_all)]
async fn chain(State(state): State<AppState>) -> impl IntoResponse {
    match call_hello(&state).await {
        Ok((status, body)) => (status, format!("chain -> {body}")),
        Err(err) => {
            tracing::error!(error = %err, "calling /hello failed");
            (
                StatusCode::BAD_GATEWAY,
                format!("chain -> /hello failed: {err}\n"),
            )
        }
    }
}

#[tracing::instrument(skip_all)]
async fn call_hello(
    state: &AppState,
) -> Result<(StatusCode, String), Box<dyn Error + Send + Sync>> {
    let request = Request::get(format!("{}/hello", state.base_url)).body(Empty::new())?;
    let response = state.http.clone().oneshot(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use xray_core::emit::MemoryEmitter;
    use xray_core::model::{Document, Namespace};

    use super::*;

    async fn start() -> (RunningServer, MemoryEmitter) {
        let emitter = MemoryEmitter::new();
        let recorder = Recorder::builder()
            .emitter(emitter.clone())
            .sample_all()
            .ignore_env()
            .build()
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        (spawn(listener, Some(recorder)).unwrap(), emitter)
    }

    async fn get(server: &RunningServer, path: &str) -> (StatusCode, String) {
        let client: Client<HttpConnector, Empty<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let uri = format!("http://{}{path}", server.addr());
        let response = client.get(uri.parse().unwrap()).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    async fn documents(emitter: &MemoryEmitter, n: usize) -> Vec<Document> {
        let emitter = emitter.clone();
        let docs = tokio::task::spawn_blocking(move || emitter.wait_for(n, Duration::from_secs(5)))
            .await
            .unwrap();
        assert_eq!(docs.len(), n, "{docs:#?}");
        docs
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hello_is_traced_and_annotated() {
        let (server, emitter) = start().await;
        assert_eq!(
            get(&server, "/hello").await,
            (StatusCode::OK, "Hello, world!".into())
        );
        let docs = documents(&emitter, 1).await;
        assert_eq!(docs[0].name, SEGMENT_NAME);
        assert_eq!(docs[0].annotations["greeting"], "hello".into());
        assert_eq!(docs[0].annotations["route"], "/hello".into());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn status_answers_the_code() {
        let (server, emitter) = start().await;
        assert_eq!(
            get(&server, "/status/429").await.0,
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            get(&server, "/status/503").await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(get(&server, "/status/99").await.0, StatusCode::BAD_REQUEST);
        let docs = documents(&emitter, 3).await;
        let by_status = |s: u16| {
            docs.iter()
                .find(|d| d.http.as_ref().unwrap().response.as_ref().unwrap().status == Some(s))
                .unwrap()
        };
        assert!(by_status(429).throttle && by_status(429).error);
        assert!(by_status(503).fault);
        assert_eq!(by_status(400).annotations["route"], "/status/{code}".into());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn chain_calls_hello_in_the_same_trace() {
        let (server, emitter) = start().await;
        assert_eq!(
            get(&server, "/chain").await,
            (StatusCode::OK, "chain -> Hello, world!".into())
        );
        let docs = documents(&emitter, 2).await;
        let chain = docs
            .iter()
            .find(|d| d.annotations["route"] == "/chain".into())
            .unwrap();
        let hello = docs
            .iter()
            .find(|d| d.annotations["route"] == "/hello".into())
            .unwrap();
        assert_eq!(chain.trace_id, hello.trace_id);
        let call = &chain.subsegments[0];
        assert_eq!(call.name, "127.0.0.1");
        assert_eq!(call.namespace, Some(Namespace::Remote));
        assert_eq!(hello.parent_id, Some(call.id));
    }
}
