//! The TCP side: an HTTP proxy that signs SDKs' X-Ray API calls (`/GetSamplingRules`,
//! `/SamplingTargets`, ...) with SigV4 and forwards them, and `GET /metrics`.

use std::convert::Infallible;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use super::buffer::Buffer;
use super::metrics::Counters;
use super::throttle::LogLimiter;

/// The largest request body forwarded (sampling requests are a few KiB).
const MAX_BODY: usize = 1024 * 1024;
/// Credentials are refreshed this long before they expire.
const REFRESH_BEFORE: Duration = Duration::from_secs(300);

/// Headers that describe one hop, not the request (RFC 9110 §7.6.1), and the ones the signer
/// sets; none of them is forwarded as received.
const NOT_FORWARDED: [&str; 14] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
];

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

#[derive(Debug)]
pub(crate) struct Proxy {
    /// Scheme and authority (and maybe a base path) of the X-Ray endpoint, without a trailing `/`.
    pub(crate) endpoint: String,
    pub(crate) region: String,
    pub(crate) credentials: Option<SharedCredentialsProvider>,
    pub(crate) cached: Mutex<Option<Credentials>>,
    pub(crate) client: HttpsClient,
    pub(crate) counters: Arc<Counters>,
    pub(crate) buffer: Arc<Buffer>,
    pub(crate) logs: Arc<LogLimiter>,
}

pub(crate) fn https_client() -> Result<HttpsClient, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let connector = match hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(Arc::clone(&provider))
    {
        Ok(b) => b.https_or_http().enable_http1().build(),
        Err(e) => {
            // No CA certificates on this host: plain-HTTP endpoints (--endpoint-url) still work.
            tracing::warn!(target: "xray", error = %e,
                "no trusted root certificates found; the sampling proxy can only reach http:// endpoints");
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| format!("cannot set up TLS: {e}"))?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth();
            hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(config)
                .https_or_http()
                .enable_http1()
                .build()
        }
    };
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

pub(crate) async fn serve(listener: TcpListener, proxy: Arc<Proxy>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                if proxy.logs.allow("accept") {
                    tracing::warn!(target: "xray", error = %e, "TCP accept failed");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let proxy = Arc::clone(&proxy);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let proxy = Arc::clone(&proxy);
                async move { Ok::<_, Infallible>(proxy.handle(req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

impl Proxy {
    async fn handle(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        if req.method() == Method::GET && req.uri().path() == "/metrics" {
            let (queued, bytes, in_flight) = self.buffer.levels();
            let metrics = self.counters.snapshot(queued, bytes, in_flight);
            let mut response = text(StatusCode::OK, metrics.to_prometheus());
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4"),
            );
            return response;
        }
        self.counters.proxied.fetch_add(1, Relaxed);
        match self.forward(req).await {
            Ok(response) => response,
            Err((status, message)) => {
                if status == StatusCode::BAD_GATEWAY {
                    self.counters.proxy_errors.fetch_add(1, Relaxed);
                }
                if self.logs.allow("proxy") {
                    tracing::warn!(target: "xray", %status, error = %message, "sampling proxy request failed");
                }
                text(status, message)
            }
        }
    }

    async fn forward(
        &self,
        req: Request<Incoming>,
    ) -> Result<Response<Full<Bytes>>, (StatusCode, String)> {
        let (parts, body) = req.into_parts();
        let body = Limited::new(body, MAX_BODY)
            .collect()
            .await
            .map_err(|e| {
                (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("cannot read the request body: {e}"),
                )
            })?
            .to_bytes();
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let uri: Uri = format!("{}{path}", self.endpoint)
            .parse()
            .map_err(|e| (StatusCode::BAD_REQUEST, format!("bad request path: {e}")))?;
        let authority = uri.authority().map(|a| a.as_str().to_owned()).ok_or((
            StatusCode::BAD_GATEWAY,
            "the endpoint has no host".to_owned(),
        ))?;
        let mut request = Request::new(Full::new(body.clone()));
        *request.method_mut() = parts.method;
        *request.uri_mut() = uri;
        for (name, value) in &parts.headers {
            if !NOT_FORWARDED.contains(&name.as_str())
                && !name.as_str().starts_with("x-amz-content-sha256")
            {
                request.headers_mut().append(name, value.clone());
            }
        }
        let host = HeaderValue::from_str(&authority)
            .map_err(|e| (StatusCode::BAD_GATEWAY, format!("bad endpoint host: {e}")))?;
        request.headers_mut().insert(header::HOST, host);
        self.sign(&mut request, &body).await?;

        let response = self.client.request(request).await.map_err(|e| {
            (
                StatusCode::BAD_GATEWAY,
                format!("X-Ray endpoint unreachable: {e}"),
            )
        })?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| {
                (
                    StatusCode::BAD_GATEWAY,
                    format!("X-Ray answer cut short: {e}"),
                )
            })?
            .to_bytes();
        let mut out = Response::new(Full::new(body));
        *out.status_mut() = parts.status;
        for (name, value) in &parts.headers {
            if !NOT_FORWARDED.contains(&name.as_str()) {
                out.headers_mut().append(name, value.clone());
            }
        }
        Ok(out)
    }

    async fn credentials(&self) -> Result<Credentials, (StatusCode, String)> {
        let fresh = |c: &Credentials| {
            c.expiry()
                .is_none_or(|at| at > SystemTime::now() + REFRESH_BEFORE)
        };
        if let Some(c) = self
            .cached
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .filter(|c| fresh(c))
        {
            return Ok(c.clone());
        }
        let provider = self.credentials.as_ref().ok_or((
            StatusCode::SERVICE_UNAVAILABLE,
            "not uploading (--no-upload): no AWS configuration loaded".to_owned(),
        ))?;
        let credentials = provider.provide_credentials().await.map_err(|e| {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot load AWS credentials: {e}"),
            )
        })?;
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = Some(credentials.clone());
        Ok(credentials)
    }

    async fn sign(
        &self,
        request: &mut Request<Full<Bytes>>,
        body: &[u8],
    ) -> Result<(), (StatusCode, String)> {
        let failed = |e: &dyn std::fmt::Display| {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot sign the request: {e}"),
            )
        };
        let identity: Identity = self.credentials().await?.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("xray")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| failed(&e))?
            .into();
        let uri = request.uri().to_string();
        let headers: Vec<(&str, &str)> = request
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
            .collect();
        let signable = SignableRequest::new(
            request.method().as_str(),
            uri.as_str(),
            headers.into_iter(),
            SignableBody::Bytes(body),
        )
        .map_err(|e| failed(&e))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| failed(&e))?
            .into_parts();
        instructions.apply_to_request_http1x(request);
        Ok(())
    }
}
