//! `GET /aws`: DynamoDB `ListTables` through a client traced by [`xray_aws_sdk`].
//!
//! The call becomes a `DynamoDB` subsegment of the request's segment (operation, region, request
//! id, `table_count`), and the request to DynamoDB carries the trace header.
//!
//! The route talks to the AWS API at `AWS_ENDPOINT_URL` — a local emulator such as moto
//! (`source scripts/services.sh && start_moto`) — and answers `503` when that variable is not
//! set, so the example never reaches a real AWS account by accident. Credentials come from
//! `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` when set, and are fixed fake ones otherwise (an
//! emulator accepts any); the region is `AWS_REGION` or `us-east-1`. The client speaks plain HTTP,
//! which is what local emulators serve; an application talking to AWS keeps the SDK's default
//! HTTPS client and adds the interceptor the same way:
//!
//! ```no_run
//! use xray_aws_sdk::XrayConfigExt;
//!
//! # async fn real() {
//! let sdk_config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
//! let dynamodb = aws_sdk_dynamodb::Client::from_conf(
//!     aws_sdk_dynamodb::config::Builder::from(&sdk_config).with_xray().build(),
//! );
//! # }
//! ```

use aws_config::BehaviorVersion;
use aws_config::environment::{
    EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider,
};
use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::meta::region::RegionProviderChain;
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use axum::response::IntoResponse;
use http::StatusCode;
use tokio::sync::OnceCell;
use xray_aws_sdk::XrayConfigExt;

/// The variable naming the AWS API endpoint (an emulator).
pub const ENV_ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";
/// The region used when none is configured.
pub const DEFAULT_REGION: &str = "us-east-1";

/// The instrumented DynamoDB client for `endpoint_url`: region and credentials from the
/// environment, or `us-east-1` and fake credentials when none are configured.
pub async fn dynamodb_client(endpoint_url: &str) -> aws_sdk_dynamodb::Client {
    let region = RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
        .or_else(DEFAULT_REGION);
    let credentials = CredentialsProviderChain::first_try(
        "Environment",
        EnvironmentVariableCredentialsProvider::new(),
    )
    .or_else(
        "FakeForEmulator",
        Credentials::new("AKIDEXAMPLE", "example-secret", None, None, "xray-example"),
    );
    let sdk_config = aws_config::defaults(BehaviorVersion::latest())
        .region(region)
        .credentials_provider(credentials)
        .endpoint_url(endpoint_url)
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .load()
        .await;
    aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk_config)
            .with_xray()
            .build(),
    )
}

/// The handler of `GET /aws`.
pub async fn handler() -> impl IntoResponse {
    let endpoint = std::env::var(ENV_ENDPOINT_URL)
        .ok()
        .filter(|url| !url.is_empty());
    respond(endpoint.as_deref()).await
}

/// `/aws` for a given endpoint (`None`: not configured). The client is built once, for the
/// first endpoint seen.
pub async fn respond(endpoint_url: Option<&str>) -> (StatusCode, String) {
    static CLIENT: OnceCell<aws_sdk_dynamodb::Client> = OnceCell::const_new();
    let Some(endpoint_url) = endpoint_url else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "{ENV_ENDPOINT_URL} is not set: start an AWS emulator (`source scripts/services.sh && start_moto`) and set it to its URL\n"
            ),
        );
    };
    let client = CLIENT.get_or_init(|| dynamodb_client(endpoint_url)).await;
    list_tables(client).await
}

/// Lists the tables: `200` with their names, `502` with the SDK's error.
pub async fn list_tables(client: &aws_sdk_dynamodb::Client) -> (StatusCode, String) {
    match client.list_tables().send().await {
        Ok(out) => (
            StatusCode::OK,
            format!(
                "DynamoDB tables ({}): {}\n",
                out.table_names().len(),
                out.table_names().join(", ")
            ),
        ),
        Err(err) => (
            StatusCode::BAD_GATEWAY,
            format!(
                "DynamoDB ListTables failed: {}\n",
                DisplayErrorContext(&err)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::net::TcpListener;
    use xray_core::Recorder;
    use xray_core::emit::MemoryEmitter;
    use xray_core::model::Namespace;

    use super::*;

    #[tokio::test]
    async fn unset_endpoint_is_503_with_a_reason() {
        let (status, body) = respond(None).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("AWS_ENDPOINT_URL is not set"), "{body}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn aws_route_traces_list_tables_against_the_emulator() {
        let Some(endpoint) = std::env::var(ENV_ENDPOINT_URL)
            .ok()
            .filter(|u| !u.is_empty())
        else {
            assert!(
                std::env::var("XRAY_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "XRAY_REQUIRE_SERVICES=1 but AWS_ENDPOINT_URL is not set"
            );
            eprintln!("skipped: AWS_ENDPOINT_URL not set");
            return;
        };
        // A table to list, created without tracing.
        let setup = dynamodb_client(&endpoint).await;
        let table = format!("xray-example-{}", std::process::id());
        setup
            .create_table()
            .table_name(&table)
            .attribute_definitions(
                aws_sdk_dynamodb::types::AttributeDefinition::builder()
                    .attribute_name("id")
                    .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                aws_sdk_dynamodb::types::KeySchemaElement::builder()
                    .attribute_name("id")
                    .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
            .send()
            .await
            .unwrap();

        let emitter = MemoryEmitter::new();
        let recorder = Recorder::builder()
            .emitter(emitter.clone())
            .sample_all()
            .ignore_env()
            .build()
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = crate::server::spawn(listener, Some(recorder)).unwrap();

        let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        stream
            .write_all(b"GET /aws HTTP/1.1\r\nhost: example\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.contains(&table), "{response}");

        let docs = tokio::task::spawn_blocking(move || emitter.wait_for(1, Duration::from_secs(5)))
            .await
            .unwrap();
        let call = &docs[0].subsegments[0];
        assert_eq!(call.name, "DynamoDB");
        assert_eq!(call.namespace, Some(Namespace::Aws));
        let aws = call.aws.as_ref().unwrap();
        assert_eq!(aws.operation.as_deref(), Some("ListTables"));
        assert!(aws.request_id.is_some());
        assert!(aws.extra["table_count"].as_u64().unwrap() >= 1);
    }
}
