//! Helpers shared by the integration tests: a recorder that keeps documents in memory, a real
//! DynamoDB client wired to the SDK's own test HTTP clients, and canned DynamoDB responses.

#![allow(dead_code)] // each test binary uses a subset

use std::future::Future;
use std::time::Duration;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::shared::IntoShared;
use aws_smithy_types::body::SdkBody;
use xray_aws_sdk::XrayInterceptor;
use xray_core::emit::MemoryEmitter;
use xray_core::model::Document;
use xray_core::{Recorder, XrayFutureExt};

/// A recorder that samples everything and keeps what it sends.
pub(crate) fn recorder() -> (Recorder, MemoryEmitter) {
    let emitter = MemoryEmitter::new();
    let recorder = Recorder::builder()
        .emitter(emitter.clone())
        .sample_all()
        .ignore_env()
        .build()
        .expect("recorder");
    (recorder, emitter)
}

/// A DynamoDB config builder with fake credentials, a fixed region and fast retries (3 attempts).
pub(crate) fn ddb_config(http: impl HttpClient + 'static) -> aws_sdk_dynamodb::config::Builder {
    aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1))
                .with_max_backoff(Duration::from_millis(5)),
        )
        .http_client(http)
}

/// A traced DynamoDB client.
pub(crate) fn ddb_client(http: impl HttpClient + 'static) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(
        ddb_config(http).interceptor(XrayInterceptor::new()).build(),
    )
}

/// A DynamoDB (JSON 1.0) response.
pub(crate) fn ddb_response(status: u16, request_id: &str, body: &str) -> http::Response<SdkBody> {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .header("content-length", body.len().to_string())
        .header("x-amzn-requestid", request_id)
        .body(SdkBody::from(body.to_owned()))
        .expect("a valid response")
}

/// A DynamoDB error response.
pub(crate) fn ddb_error(
    status: u16,
    request_id: &str,
    code: &str,
    message: &str,
) -> http::Response<SdkBody> {
    ddb_response(
        status,
        request_id,
        &format!(r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{code}","message":"{message}"}}"#),
    )
}

/// The successful `GetItem` response used throughout: an item whose contents must never be
/// recorded, and the consumed capacity, which is.
pub(crate) const GET_ITEM_BODY: &str = r#"{"Item":{"id":{"S":"secret-item-id"},"card":{"S":"secret-card-number"}},"ConsumedCapacity":{"TableName":"orders","CapacityUnits":0.5}}"#;

/// A traced S3 client (path-style, fake credentials, fast retries).
pub(crate) fn s3_client(http: impl HttpClient + 'static) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "AKIDTEST", "secret", None, None, "test",
            ))
            .force_path_style(true)
            .retry_config(
                aws_sdk_s3::config::retry::RetryConfig::standard()
                    .with_max_attempts(3)
                    .with_initial_backoff(Duration::from_millis(1))
                    .with_max_backoff(Duration::from_millis(5)),
            )
            .http_client(http)
            .interceptor(XrayInterceptor::new())
            .build(),
    )
}

/// An S3 response with S3's request-id headers.
pub(crate) fn s3_response(status: u16, body: &str) -> http::Response<SdkBody> {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/xml")
        .header("content-length", body.len().to_string())
        .header("x-amz-request-id", "S3-REQUEST-ID")
        .header("x-amz-id-2", "S3-EXTENDED-ID-2")
        .header("etag", "\"d41d8cd98f00b204e9800998ecf8427e\"")
        .body(SdkBody::from(body.to_owned()))
        .expect("a valid response")
}

/// A replay client answering the given responses in order.
pub(crate) fn replay(responses: Vec<http::Response<SdkBody>>) -> StaticReplayClient {
    StaticReplayClient::new(
        responses
            .into_iter()
            .map(|response| {
                ReplayEvent::new(
                    http::Request::builder()
                        .uri("https://dynamodb.us-east-1.amazonaws.com/")
                        .body(SdkBody::empty())
                        .expect("a valid request"),
                    response,
                )
            })
            .collect(),
    )
}

/// Runs `call` under a new sampled segment, ends the segment, and returns the call's result and
/// the segment document that was sent.
pub(crate) async fn traced<F: Future>(
    recorder: &Recorder,
    emitter: &MemoryEmitter,
    call: F,
) -> (F::Output, Document) {
    emitter.clear();
    let segment = recorder.begin_segment("test-service");
    let out = call.in_entity(segment.entity().clone()).await;
    segment.end();
    let docs = emitter.documents();
    assert_eq!(docs.len(), 1, "one segment document expected: {docs:?}");
    (out, docs.into_iter().next().expect("one document"))
}

/// The only subsegment of a segment document.
pub(crate) fn only_subsegment(segment: &Document) -> &Document {
    assert_eq!(
        segment.subsegments.len(),
        1,
        "one subsegment expected: {:?}",
        segment.subsegments
    );
    &segment.subsegments[0]
}

/// An HTTP client whose every connection is refused (a client-side failure: no response).
#[derive(Debug, Clone, Default)]
pub(crate) struct RefusingClient;

impl HttpConnector for RefusingClient {
    fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
        HttpConnectorFuture::ready(Err(ConnectorError::io(Box::new(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connection refused by the test",
        )))))
    }
}

/// `HttpClient` for a test connector: the same connector for every setting.
macro_rules! client_of_connector {
    ($($connector:ty),*) => {
        $(impl HttpClient for $connector {
            fn http_connector(
                &self,
                _settings: &HttpConnectorSettings,
                _components: &RuntimeComponents,
            ) -> SharedHttpConnector {
                self.clone().into_shared()
            }
        })*
    };
}

client_of_connector!(RefusingClient, GatedClient);

/// An HTTP client that answers `ListTables` with 200 only once [`GatedClient::open`] is called, and
/// tells when a request has arrived: for calls that must still be in flight at a chosen moment.
#[derive(Debug, Clone)]
pub(crate) struct GatedClient {
    arrived: std::sync::Arc<tokio::sync::Notify>,
    gate: std::sync::Arc<tokio::sync::Semaphore>,
}

impl Default for GatedClient {
    fn default() -> Self {
        Self {
            arrived: std::sync::Arc::default(),
            gate: std::sync::Arc::new(tokio::sync::Semaphore::new(0)),
        }
    }
}

impl GatedClient {
    /// Waits until a request has reached the client.
    pub(crate) async fn arrived(&self) {
        self.arrived.notified().await;
    }

    /// Lets the waiting request (and every later one) be answered.
    pub(crate) fn open(&self) {
        self.gate
            .add_permits(tokio::sync::Semaphore::MAX_PERMITS / 2);
    }
}

impl HttpConnector for GatedClient {
    fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
        let (arrived, gate) = (self.arrived.clone(), self.gate.clone());
        HttpConnectorFuture::new(async move {
            arrived.notify_one();
            let _permit = gate.acquire().await;
            let response = ddb_response(200, "GATED1", r#"{"TableNames":[]}"#);
            Ok(response.try_into().expect("a valid response"))
        })
    }
}
