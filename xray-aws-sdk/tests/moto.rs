//! Real `aws-sdk-dynamodb`, `aws-sdk-s3` and `aws-sdk-sqs` clients against the moto AWS emulator
//! (`source scripts/services.sh && start_moto` exports `AWS_ENDPOINT_URL`), with fixed fake
//! credentials.
//!
//! moto does not echo the trace header, so the clients talk to moto through a small recording
//! reverse proxy on loopback: every request moto receives passes through it, and the test reads
//! back the `X-Amzn-Trace-Id` each one carried on the wire. (A wrapper around the SDK's HTTP
//! client would only show what the SDK handed to its transport.)
//!
//! Skipped with a message when `AWS_ENDPOINT_URL` is unset; fails instead when
//! `XRAY_REQUIRE_SERVICES=1`.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use common::recorder;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use xray_aws_sdk::{XrayInterceptor, instrumented_client};
use xray_core::header::{HEADER_NAME, Sampled};
use xray_core::model::{Document, Namespace};
use xray_core::{TraceHeader, XrayFutureExt};

fn endpoint() -> Option<String> {
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("XRAY_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "XRAY_REQUIRE_SERVICES=1 but AWS_ENDPOINT_URL is not set (run `source scripts/services.sh && start_moto`)"
            );
            eprintln!(
                "skipped: AWS_ENDPOINT_URL not set (run `source scripts/services.sh && start_moto`)"
            );
            None
        }
    }
}

/// What the proxy saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    target: String,
    trace_header: Option<String>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Forwards every request to `upstream` unchanged and remembers its trace header.
async fn recording_proxy(upstream: SocketAddr) -> (SocketAddr, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
    let addr = listener.local_addr().expect("proxy address");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| forward(request, upstream, log.clone()));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, seen)
}

async fn forward(
    request: http::Request<Incoming>,
    upstream: SocketAddr,
    log: Arc<Mutex<Vec<Seen>>>,
) -> Result<http::Response<Incoming>, BoxError> {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let seen = Seen {
        target: format!(
            "{} {} ({})",
            request.method(),
            request.uri(),
            header("x-amz-target").unwrap_or_default()
        ),
        trace_header: header(HEADER_NAME),
    };
    log.lock().expect("log lock").push(seen);
    let upstream = TcpStream::connect(upstream).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(upstream)).await?;
    tokio::spawn(connection);
    Ok(sender.send_request(request).await?)
}

fn aws(sub: &Document) -> &xray_core::model::Aws {
    sub.aws.as_ref().expect("aws block")
}

fn find<'a>(segment: &'a Document, operation: &str) -> &'a Document {
    segment
        .subsegments
        .iter()
        .find(|s| aws(s).operation.as_deref() == Some(operation))
        .unwrap_or_else(|| panic!("no {operation} subsegment in {:#?}", segment.subsegments))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_s3_and_sqs_against_moto() {
    let Some(endpoint) = endpoint() else { return };
    let upstream: SocketAddr = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("AWS_ENDPOINT_URL is http://host:port");
    let (proxy, seen) = recording_proxy(upstream).await;

    let sdk_config = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .endpoint_url(format!("http://{proxy}"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .load()
        .await;
    let dynamodb = instrumented_client!(aws_sdk_dynamodb, &sdk_config);
    let sqs = instrumented_client!(aws_sdk_sqs, &sdk_config);
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk_config)
            .force_path_style(true)
            .interceptor(XrayInterceptor::new())
            .build(),
    );

    let suffix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        % 1_000_000_000;
    let table = format!("xray-it-{suffix}");
    let bucket = format!("xray-it-{suffix}");
    let queue = format!("xray-it-{suffix}");

    let (recorder, emitter) = recorder();
    let segment = recorder.begin_segment("moto-test");
    let queue_url = async {
        dynamodb
            .create_table()
            .table_name(&table)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("id")
                    .attribute_type(ScalarAttributeType::S)
                    .build()?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("id")
                    .key_type(KeyType::Hash)
                    .build()?,
            )
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await?;
        dynamodb
            .put_item()
            .table_name(&table)
            .item("id", AttributeValue::S("order-1".into()))
            .item("card", AttributeValue::S("secret-card-4111".into()))
            .send()
            .await?;
        let item = dynamodb
            .get_item()
            .table_name(&table)
            .key("id", AttributeValue::S("order-1".into()))
            .consistent_read(true)
            .send()
            .await?;
        assert_eq!(
            item.item().and_then(|i| i.get("card")),
            Some(&AttributeValue::S("secret-card-4111".into()))
        );

        s3.create_bucket().bucket(&bucket).send().await?;
        s3.put_object()
            .bucket(&bucket)
            .key("orders/1.json")
            .body(b"secret-object-body".to_vec().into())
            .send()
            .await?;

        let queue_url = sqs
            .create_queue()
            .queue_name(&queue)
            .send()
            .await?
            .queue_url
            .expect("queue url");
        sqs.send_message()
            .queue_url(&queue_url)
            .message_body("secret-message-body")
            .send()
            .await?;
        let received = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(1)
            .wait_time_seconds(1)
            .send()
            .await?;
        assert_eq!(received.messages().len(), 1);
        assert_eq!(received.messages()[0].body(), Some("secret-message-body"));
        Ok::<_, Box<dyn std::error::Error>>(queue_url)
    }
    .in_entity(segment.entity().clone())
    .await
    .expect("the calls against moto succeed");
    segment.end();

    let docs = emitter.documents();
    assert_eq!(docs.len(), 1);
    let doc = &docs[0];
    let names: Vec<(&str, &str)> = doc
        .subsegments
        .iter()
        .map(|s| (s.name.as_str(), aws(s).operation.as_deref().unwrap_or("?")))
        .collect();
    assert_eq!(
        names,
        [
            ("DynamoDB", "CreateTable"),
            ("DynamoDB", "PutItem"),
            ("DynamoDB", "GetItem"),
            ("S3", "CreateBucket"),
            ("S3", "PutObject"),
            ("SQS", "CreateQueue"),
            ("SQS", "SendMessage"),
            ("SQS", "ReceiveMessage"),
        ]
    );
    for sub in &doc.subsegments {
        assert_eq!(sub.namespace, Some(Namespace::Aws), "{}", sub.name);
        assert_eq!(aws(sub).region.as_deref(), Some("us-east-1"));
        assert_eq!(aws(sub).retries, Some(0));
        assert!(
            aws(sub)
                .request_id
                .as_deref()
                .is_some_and(|id| !id.is_empty()),
            "{} {:?}: request id",
            sub.name,
            aws(sub).operation
        );
        let status = sub
            .http
            .as_ref()
            .and_then(|h| h.response.as_ref())
            .and_then(|r| r.status);
        assert_eq!(status, Some(200), "{} {:?}", sub.name, aws(sub).operation);
        assert!(!sub.error && !sub.fault && !sub.throttle);
    }
    // moto sends no `x-amz-id-2` (real S3 does); `id_2` is checked against the replay client.

    if cfg!(feature = "dynamodb") {
        assert_eq!(
            aws(find(doc, "CreateTable")).table_name.as_deref(),
            Some(table.as_str())
        );
        assert_eq!(
            aws(find(doc, "PutItem")).table_name.as_deref(),
            Some(table.as_str())
        );
        let get = aws(find(doc, "GetItem"));
        assert_eq!(get.table_name.as_deref(), Some(table.as_str()));
        assert_eq!(get.extra["consistent_read"], Value::Bool(true));
    }
    if cfg!(feature = "s3") {
        assert_eq!(
            aws(find(doc, "CreateBucket")).extra["bucket_name"],
            Value::from(bucket.as_str())
        );
        let put = aws(find(doc, "PutObject"));
        assert_eq!(put.extra["bucket_name"], Value::from(bucket.as_str()));
        assert_eq!(put.extra["key"], Value::from("orders/1.json"));
    }
    if cfg!(feature = "sqs") {
        assert_eq!(
            aws(find(doc, "CreateQueue")).extra["queue_name"],
            Value::from(queue.as_str())
        );
        let send = aws(find(doc, "SendMessage"));
        assert_eq!(send.queue_url.as_deref(), Some(queue_url.as_str()));
        assert!(
            send.extra["message_id"]
                .as_str()
                .is_some_and(|id| !id.is_empty())
        );
        let receive = aws(find(doc, "ReceiveMessage"));
        assert_eq!(receive.queue_url.as_deref(), Some(queue_url.as_str()));
        assert_eq!(receive.extra["message_count"], Value::from(1));
        assert_eq!(receive.extra["max_number_of_messages"], Value::from(1));
    }

    // What moto received: one request per call, each naming its own subsegment as parent.
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), doc.subsegments.len(), "{seen:#?}");
    for (request, sub) in seen.iter().zip(&doc.subsegments) {
        let header = request
            .trace_header
            .as_deref()
            .unwrap_or_else(|| panic!("no trace header on {}", request.target));
        let header = TraceHeader::parse(header).expect("valid header");
        assert_eq!(Some(header.root()), doc.trace_id, "{}", request.target);
        assert_eq!(header.parent(), Some(sub.id), "{}", request.target);
        assert_eq!(header.sampled(), Some(Sampled::Yes));
    }

    // Nothing of the data went to X-Ray.
    let bytes = emitter.datagrams().concat();
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        !text.contains("secret"),
        "data leaked into the trace: {text}"
    );
}
