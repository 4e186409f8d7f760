//! AWS X-Ray for the AWS SDK for Rust: one interceptor that traces every service client.
//!
//! # Overview
//!
//! [`XrayInterceptor`] implements the SDK's `Intercept` trait. Added to a client's config, it
//! records every operation call made while an X-Ray segment is current (see
//! [`xray_core::context`]) as one subsegment — one per call, not per retry attempt — which X-Ray
//! shows as a downstream node on the service map:
//!
//! - `name`: the service id the SDK uses (`DynamoDB`, `S3`, `SQS`, `SNS`, `Lambda`, ...), taken
//!   from the operation metadata the generated client puts in the call's `ConfigBag`;
//! - `namespace: "aws"`;
//! - `aws`: `operation` (`GetItem`), `region`, `request_id` (`x-amzn-requestid` /
//!   `x-amz-request-id`), `id_2` (S3's `x-amz-id-2`), `retries` (attempts − 1), `account_id` if
//!   configured, and the whitelisted parameters of the operation (below);
//! - `http.response`: `status` and `content_length` of the final response;
//! - `error` / `throttle` / `fault` and `cause`: a service error is recorded as a remote exception
//!   (`remote: true`) whose type is the AWS error code and whose message is the service's; a 4xx
//!   service error is an *error*, a 5xx one a *fault*; throttling codes
//!   (`ThrottlingException`, `ProvisionedThroughputExceededException`, `RequestLimitExceeded`,
//!   `TooManyRequestsException`, `SlowDown`, ... — the SDK's own retry list) add *throttle* and
//!   *error*; failures without a service response (connection errors, timeouts) are faults.
//!
//! Every attempt's request carries `X-Amzn-Trace-Id: Root=...;Parent=<subsegment id>;Sampled=1`
//! (plus the incoming `Lineage` and other extra keys), so an instrumented downstream (a Lambda
//! function, an SQS consumer reading `AWSTraceHeader`) joins the trace. SigV4 does not sign this
//! header, so it is set after signing, just before each attempt is sent. A header already set —
//! the SDK's recursion-detection interceptor copies `_X_AMZN_TRACE_ID` inside Lambda — is
//! replaced, keeping its extra keys.
//!
//! When the current segment is **not sampled**, the interceptor records nothing and only sets the
//! header (`Root=...;Parent=...;Sampled=0`), so downstream services honour the decision. With **no
//! current segment**, nothing is recorded, no header is set, and the recorder's context-missing
//! strategy applies (`AWS_XRAY_CONTEXT_MISSING`: log an error, rate limited, by default; or
//! `IGNORE_ERROR`). X-Ray's own API calls (`GetSamplingRules`, `GetSamplingTargets`,
//! `PutTraceSegments`, `PutTelemetryRecords`) and presigned requests are never traced.
//!
//! The interceptor never fails a call: every hook returns `Ok(())`. A call cancelled before it
//! completes (its future dropped) still ends its subsegment, because the subsegment lives in the
//! call's `ConfigBag`, which is dropped with it. A segment does not wait for calls still running
//! when it ends: such a call's subsegment is sent on its own (naming the segment as its parent)
//! when the call ends.
//!
//! # Example
//!
//! ```
//! use aws_smithy_http_client::test_util::infallible_client_fn;
//! use xray_aws_sdk::XrayInterceptor;
//! use xray_core::{Recorder, XrayFutureExt, emit::MemoryEmitter};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let emitter = MemoryEmitter::new();
//! let recorder = Recorder::builder().emitter(emitter.clone()).sample_all().ignore_env().build()?;
//!
//! // A DynamoDB client as usual, plus the interceptor. (The HTTP client here answers locally
//! // instead of calling AWS.)
//! let config = aws_sdk_dynamodb::Config::builder()
//!     .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
//!     .region(aws_sdk_dynamodb::config::Region::new("eu-west-1"))
//!     .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("AKIDTEST", "secret", None, None, "example"))
//!     .http_client(infallible_client_fn(|_request| {
//!         http::Response::builder()
//!             .header("x-amzn-requestid", "R3QU35T")
//!             .body(r#"{"TableNames":["orders"]}"#)
//!             .unwrap()
//!     }))
//!     .interceptor(XrayInterceptor::new())
//!     .build();
//! let dynamodb = aws_sdk_dynamodb::Client::from_conf(config);
//!
//! let segment = recorder.begin_segment("orders-api");
//! dynamodb.list_tables().send().in_entity(segment.entity().clone()).await?;
//! segment.end();
//!
//! let call = &emitter.documents()[0].subsegments[0];
//! assert_eq!(call.name, "DynamoDB");
//! let aws = call.aws.as_ref().unwrap();
//! assert_eq!(aws.operation.as_deref(), Some("ListTables"));
//! assert_eq!(aws.region.as_deref(), Some("eu-west-1"));
//! assert_eq!(aws.request_id.as_deref(), Some("R3QU35T"));
//! # Ok(()) }
//! ```
//!
//! # Instrumenting many clients
//!
//! `SdkConfig` (what `aws_config::load_defaults` returns) cannot carry interceptors: they belong
//! to each service's own config. Three equivalent ways to add this one, shortest first:
//!
//! ```
//! use xray_aws_sdk::{XrayInterceptor, instrumented_client};
//!
//! # fn clients(sdk_config: &aws_types::SdkConfig) {
//! // 1. Any service crate, no feature of this crate needed: a client from the shared config.
//! let dynamodb: aws_sdk_dynamodb::Client = instrumented_client!(aws_sdk_dynamodb, sdk_config);
//!
//! // 2. Services with a feature of this crate: `.with_xray()` on the config builder.
//! # #[cfg(feature = "s3")] {
//! use xray_aws_sdk::XrayConfigExt;
//! let s3 = aws_sdk_s3::Client::from_conf(
//!     aws_sdk_s3::config::Builder::from(sdk_config).force_path_style(true).with_xray().build(),
//! );
//! # }
//!
//! // 3. Anywhere: the interceptor itself (also the way to configure it).
//! let sqs = aws_sdk_sqs::Client::from_conf(
//!     aws_sdk_sqs::config::Builder::from(sdk_config)
//!         .interceptor(XrayInterceptor::new().account_id("123456789012"))
//!         .build(),
//! );
//! # }
//! ```
//!
//! Add the interceptor once per client: a second X-Ray interceptor on the same client does not
//! trace calls twice, it stays idle.
//!
//! # Parameters recorded
//!
//! For the operations in the official X-Ray parameter whitelist (the one the Python, Java and
//! Node SDKs use), the listed input and output members are copied into the `aws` block under
//! their snake-cased names, read from the typed input and output (no payload is serialized).
//! Lists and maps that could hold data are reduced to their length or their keys. Some examples:
//!
//! | Service | Operation | `aws` keys |
//! |---|---|---|
//! | DynamoDB | `GetItem` | `table_name`, `consistent_read`, `projection_expression`, `consumed_capacity` |
//! | DynamoDB | `Query` / `Scan` | `table_name`, `index_name`, `limit`, `select`, ..., `count`, `scanned_count` |
//! | DynamoDB | `BatchGetItem` / `BatchWriteItem` | `table_names` (the keys of `RequestItems`), `consumed_capacity` |
//! | DynamoDB | `ListTables` | `limit`, `exclusive_start_table_name`, `table_count` |
//! | SQS | `SendMessage` | `queue_url`, `delay_seconds`, `message_attribute_names`, `message_id` |
//! | SQS | `SendMessageBatch` | `queue_url`, `message_count`, `successful_count`, `failed_count` |
//! | SQS | `ReceiveMessage` | `queue_url`, `max_number_of_messages`, `wait_time_seconds`, ..., `message_count` |
//! | SNS | `Publish`, `PublishBatch` | `topic_arn` |
//! | Lambda | `Invoke` | `function_name`, `invocation_type`, `log_type`, `qualifier`, `function_error`, `status_code` |
//! | S3 | 67 operations (`GetObject`, `PutObject`, `ListObjectsV2`, ...) | `bucket_name`, `key`, `version_id`, `prefix` |
//! | SageMaker Runtime | `InvokeEndpoint` | `endpoint_name` |
//!
//! **Never recorded**: item attributes, key values and expression values (DynamoDB), message
//! bodies and attribute values (SQS, SNS), payloads (Lambda, SageMaker), object contents (S3),
//! credentials and request signatures. The types that hold them have no conversion to JSON in
//! this crate, so a whitelist entry that would record them does not compile.
//!
//! # Cost
//!
//! A call under an unsampled segment costs three early returns and the trace header (the last
//! one formatted on the thread is reused). Under a sampled segment the call's path keeps plain
//! values — an id and the start time, the operation metadata and region, the whitelisted input
//! members (cloned), then the response's status, length, request ids and output members — and the
//! subsegment joins the trace under one lock when the call ends; its `aws` and `http` blocks are
//! built when the trace is sent. The benchmark `cargo bench -p xray-aws-sdk --features dynamodb`
//! reports the added time per replayed `GetItem` against the same client without the interceptor,
//! with two floors: an interceptor that only sets a fixed header, and one that only keeps per-call
//! state in the `ConfigBag` and sets the header (any interceptor that follows the SDK's design
//! pays that much).
//!
//! Register the interceptor with [`with_xray`](XrayConfigExt::with_xray) or
//! [`instrumented_client!`] where you can: `.interceptor(..)` makes the SDK look up, before every
//! hook of every call, whether the interceptor was disabled for the operation, which costs about
//! as much as the unsampled interceptor itself.
//!
//! # Feature flags
//!
//! Tracing, propagation, errors and request ids work for **every** service client with no feature.
//! The features add the parameter capture (and [`XrayConfigExt`]) for one service each; each pulls
//! in that service's SDK crate (without its default features):
//!
//! | Feature | Service crate |
//! |---|---|
//! | `dynamodb` | `aws-sdk-dynamodb` |
//! | `sqs` | `aws-sdk-sqs` |
//! | `s3` | `aws-sdk-s3` |
//! | `sns` | `aws-sdk-sns` |
//! | `lambda` | `aws-sdk-lambda` |
//! | `sagemaker-runtime` | `aws-sdk-sagemakerruntime` |
//!
//! # Configuration
//!
//! The interceptor has two settings: [`XrayInterceptor::account_id`] and
//! [`XrayInterceptor::recorder`] (whose context-missing strategy applies when there is no current
//! segment; the global recorder's otherwise). Sampling, naming and the daemon address are the
//! recorder's (see [`xray_core::recorder`]).
//!
//! # Supported Rust versions
//!
//! The minimum supported Rust version follows the AWS SDK for Rust's (currently 1.94.1).

#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The README's examples compile (and run, unless marked otherwise) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod config_ext;
mod error_body;
mod interceptor;
mod outcome;
mod params;
mod state;

pub use config_ext::XrayConfigExt;
pub use interceptor::XrayInterceptor;
