//! Secrets sent through every integration never reach a datagram: passwords in database URLs,
//! bound SQL parameters, `Authorization`/`Cookie` headers and query strings of incoming requests,
//! URL user info, query tokens and auth headers of outgoing calls (hyper client layer and reqwest
//! middleware), AWS credentials (a real SDK client with distinctive fake keys, through the SDK's
//! test HTTP client), DynamoDB item values, SQS message bodies. The raw datagrams are read from a
//! real UDP socket. The test also checks that each secret did travel (the fake servers saw it)
//! and that each integration recorded something, so it cannot pass by recording nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_http_client::test_util::infallible_client_fn;
use axum::Router;
use axum::extract::Request;
use axum::routing::any;
use bytes::Bytes;
use common::{UdpCapture, document_of, serve};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::{ServiceBuilder, ServiceExt};
use xray_aws_sdk::XrayInterceptor;
use xray_core::daemon::DaemonAddress;
use xray_core::emit::UdpEmitter;
use xray_core::{Recorder, XrayFutureExt};
use xray_tower::client::XrayClientLayer;
use xray_tower::reqwest::XrayMiddleware;
use xray_tower::server::XrayLayer;

const AUTH_HEADER: &str = "S3CR3T_AUTH_HEADER_7c1e";
const COOKIE: &str = "S3CR3T_COOKIE_0b2f";
const INCOMING_QUERY: &str = "S3CR3T_INCOMING_QUERY_5d1a";
const USERINFO: &str = "S3CR3T_USERINFO_PW_8a3c";
const OUTGOING_QUERY: &str = "S3CR3T_OUTGOING_QUERY_44e0";
const OUTGOING_AUTH: &str = "S3CR3T_OUTGOING_AUTH_91ad";
const DB_PASSWORD: &str = "S3CR3T_DB_PASSWORD_2f6b";
const DB_QUERY_PASSWORD: &str = "S3CR3T_DB_QUERY_PW_6e07";
const BOUND: &str = "S3CR3T_BOUND_PARAM_c3d9";
const ACCESS_KEY: &str = "AKIAS3CR3TACCESSKEY7";
const SECRET_KEY: &str = "S3CR3T_SECRET_ACCESS_KEY_b4f1";
const SESSION_TOKEN: &str = "S3CR3T_SESSION_TOKEN_e5a2";
const DDB_ITEM: &str = "S3CR3T_DDB_ITEM_VALUE_07c8";
const SQS_BODY: &str = "S3CR3T_SQS_MESSAGE_BODY_f3b6";

/// The password of the PostgreSQL test database, when `DATABASE_URL` is set (see
/// `scripts/services.sh`).
fn postgres_password(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let userinfo = rest.split_once('@')?.0;
    Some(userinfo.split_once(':')?.1.to_owned()).filter(|p| !p.is_empty())
}

/// A downstream HTTP server that remembers the URI and headers of every request.
async fn downstream() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let store = Arc::clone(&seen);
    let app = Router::new().fallback(any(move |request: Request| {
        let store = Arc::clone(&store);
        async move {
            store
                .lock()
                .unwrap()
                .push(format!("{} {:?}", request.uri(), request.headers()));
            "ok"
        }
    }));
    (serve(app).await, seen)
}

fn aws_credentials() -> Credentials {
    Credentials::new(
        ACCESS_KEY,
        SECRET_KEY,
        Some(SESSION_TOKEN.into()),
        None,
        "privacy-test",
    )
}

/// Answers every AWS call with `body` and remembers the raw requests.
fn aws_http(
    seen: &Arc<Mutex<Vec<String>>>,
    body: fn(&str) -> String,
) -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    let seen = Arc::clone(seen);
    infallible_client_fn(move |request| {
        let target = request
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let payload =
            String::from_utf8_lossy(request.body().bytes().unwrap_or_default()).into_owned();
        seen.lock()
            .unwrap()
            .push(format!("{:?} {payload}", request.headers()));
        http::Response::builder()
            .status(if target.ends_with("ConditionCheckFailing") {
                400
            } else {
                200
            })
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amzn-requestid", "req-1")
            .body(body(&target))
            .unwrap()
    })
}

fn dynamodb_answer(target: &str) -> String {
    if target.ends_with("GetItem") {
        format!(r#"{{"Item": {{"pk": {{"S": "k1"}}, "secret": {{"S": "{DDB_ITEM}"}}}}}}"#)
    } else {
        "{}".into()
    }
}

fn sqs_answer(target: &str) -> String {
    if target.ends_with("ReceiveMessage") {
        format!(
            r#"{{"Messages": [{{"MessageId": "m-1", "ReceiptHandle": "rh-1", "Body": "{SQS_BODY}"}}]}}"#
        )
    } else {
        r#"{"MessageId": "m-1"}"#.into()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_a_datagram() {
    let daemon = UdpCapture::bind();
    let recorder = Recorder::builder()
        .emitter(UdpEmitter::synchronous(&DaemonAddress::new(
            daemon.addr().into(),
        )))
        .sample_all()
        .ignore_env()
        .build()
        .unwrap();
    let (downstream, downstream_saw) = downstream().await;
    let aws_saw = Arc::new(Mutex::new(Vec::new()));
    let mut secrets = vec![
        AUTH_HEADER,
        COOKIE,
        INCOMING_QUERY,
        USERINFO,
        OUTGOING_QUERY,
        OUTGOING_AUTH,
        DB_PASSWORD,
        DB_QUERY_PASSWORD,
        BOUND,
        ACCESS_KEY,
        SECRET_KEY,
        SESSION_TOKEN,
        DDB_ITEM,
        SQS_BODY,
    ]
    .into_iter()
    .map(str::to_owned)
    .collect::<Vec<_>>();

    // 1. An incoming request with credentials in headers and the query string.
    let app = Router::new()
        .fallback(any(|| async { "hello" }))
        .layer(XrayLayer::new("privacy").recorder(recorder.clone()));
    let server = serve(app).await;
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let request = http::Request::get(format!(
        "http://{server}/login?api_key={INCOMING_QUERY}&user=bob"
    ))
    .header("authorization", format!("Bearer {AUTH_HEADER}"))
    .header("cookie", format!("session={COOKIE}; theme=dark"))
    .header("x-api-key", AUTH_HEADER)
    .body(Empty::new())
    .unwrap();
    let response = client.request(request).await.unwrap();
    response.into_body().collect().await.unwrap();

    // 2.–5. Outgoing calls, SQL and AWS under one segment.
    let segment = recorder.begin_segment("privacy-worker");
    let outgoing_url =
        format!("http://admin:{USERINFO}@{downstream}/callback?token={OUTGOING_QUERY}&x=1");
    async {
        // 2. hyper-util client under XrayClientLayer.
        let traced_client = ServiceBuilder::new()
            .layer(XrayClientLayer::new().recorder(recorder.clone()))
            .service(Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>());
        let request = http::Request::get(&outgoing_url)
            .header("authorization", format!("Basic {OUTGOING_AUTH}"))
            .body(Empty::new())
            .unwrap();
        let response = traced_client.oneshot(request).await.unwrap();
        assert_eq!(response.status(), 200);

        // 3. reqwest through the middleware.
        let reqwest_client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(XrayMiddleware::new().recorder(recorder.clone()))
            .build();
        let response = reqwest_client
            .get(&outgoing_url)
            .header("authorization", format!("Bearer {OUTGOING_AUTH}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);

        // 4. SQL: a database URL with passwords, bound parameters, a failing statement.
        let pool = xray_sqlx::TracedPool::builder(sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap())
            .url(&format!(
                "postgres://app:{DB_PASSWORD}@db.internal:5432/orders?sslmode=require&password={DB_QUERY_PASSWORD}"
            ))
            .build();
        sqlx::query("CREATE TABLE t (v TEXT UNIQUE)").execute(&pool).await.unwrap();
        sqlx::query("INSERT INTO t (v) VALUES ($1)").bind(BOUND).execute(&pool).await.unwrap();
        let failed = sqlx::query("INSERT INTO t (v) VALUES ($1)").bind(BOUND).execute(&pool).await;
        assert!(failed.is_err(), "the duplicate fails");
        let v: String = sqlx::query_scalar("SELECT v FROM t WHERE v = $1").bind(BOUND).fetch_one(&pool).await.unwrap();
        assert_eq!(v, BOUND);

        // 4b. PostgreSQL with its real password, when the service runs.
        match std::env::var("DATABASE_URL") {
            Ok(url) => {
                let pg = xray_sqlx::TracedPool::new(sqlx::PgPool::connect(&url).await.unwrap());
                let echoed: String = sqlx::query_scalar("SELECT $1::text").bind(BOUND).fetch_one(&pg).await.unwrap();
                assert_eq!(echoed, BOUND);
                if let Some(password) = postgres_password(&url) {
                    secrets.push(password);
                }
            }
            Err(_) => {
                assert!(
                    std::env::var("XRAY_REQUIRE_SERVICES").as_deref() != Ok("1"),
                    "DATABASE_URL not set but XRAY_REQUIRE_SERVICES=1"
                );
                println!("skipped: DATABASE_URL not set (the PostgreSQL part)");
            }
        }

        // 5. AWS: DynamoDB item values and SQS bodies, signed with distinctive credentials.
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("eu-west-1"))
                .credentials_provider(aws_credentials())
                .http_client(aws_http(&aws_saw, dynamodb_answer))
                .interceptor(XrayInterceptor::new())
                .build(),
        );
        dynamodb
            .put_item()
            .table_name("orders")
            .item("pk", AttributeValue::S("k1".into()))
            .item("secret", AttributeValue::S(DDB_ITEM.into()))
            .send()
            .await
            .unwrap();
        let item = dynamodb
            .get_item()
            .table_name("orders")
            .key("pk", AttributeValue::S("k1".into()))
            .send()
            .await
            .unwrap();
        assert_eq!(item.item().unwrap()["secret"], AttributeValue::S(DDB_ITEM.into()));
        let sqs = aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::Config::builder()
                .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
                .region(aws_sdk_sqs::config::Region::new("eu-west-1"))
                .credentials_provider(aws_credentials())
                .http_client(aws_http(&aws_saw, sqs_answer))
                .interceptor(XrayInterceptor::new())
                .build(),
        );
        // The SDK may check the MD5 of what it sent against the answer; either way the call is
        // traced, which is all this test needs.
        let _ = sqs
            .send_message()
            .queue_url("https://sqs.eu-west-1.amazonaws.com/123456789012/orders")
            .message_body(SQS_BODY)
            .send()
            .await;
        let _ = sqs
            .receive_message()
            .queue_url("https://sqs.eu-west-1.amazonaws.com/123456789012/orders")
            .send()
            .await;
    }
    .in_entity(segment.entity().clone())
    .await;
    segment.end();

    recorder.flush();
    let stats = recorder.emit_stats();
    let datagrams = daemon.wait_for(stats.sent as usize, Duration::from_secs(5));
    assert_eq!(
        (datagrams.len() as u64, stats.dropped),
        (stats.sent, 0),
        "{stats:?}"
    );

    // The secrets did travel...
    let downstream_saw = downstream_saw.lock().unwrap().join("\n");
    for s in [OUTGOING_QUERY, OUTGOING_AUTH] {
        assert!(
            downstream_saw.contains(s),
            "{s} never reached the downstream server"
        );
    }
    let aws_saw = aws_saw.lock().unwrap().join("\n");
    for s in [ACCESS_KEY, SESSION_TOKEN, DDB_ITEM, SQS_BODY] {
        assert!(aws_saw.contains(s), "{s} never reached the AWS endpoint");
    }
    // ... every integration recorded ...
    let docs: Vec<serde_json::Value> = datagrams.iter().map(|d| document_of(d)).collect();
    let mut names = Vec::new();
    for doc in &docs {
        names.push(doc["name"].as_str().unwrap().to_owned());
        for s in doc["subsegments"].as_array().into_iter().flatten() {
            names.push(s["name"].as_str().unwrap().to_owned());
        }
    }
    for expected in ["privacy", "privacy-worker", "DynamoDB", "SQS", "127.0.0.1"] {
        assert!(
            names.iter().any(|n| n == expected),
            "nothing recorded for {expected}: {names:?}"
        );
    }
    let sql = docs
        .iter()
        .flat_map(|d| d["subsegments"].as_array().cloned().unwrap_or_default())
        .filter(|s| s.get("sql").is_some())
        .count();
    let expected_sql = if std::env::var("DATABASE_URL").is_ok() {
        5
    } else {
        4
    };
    assert_eq!(sql, expected_sql, "SQL subsegments");
    // ... and none of them is in any byte sent.
    for datagram in &datagrams {
        let text = String::from_utf8_lossy(datagram);
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{secret} leaked: {text}");
        }
    }
    println!(
        "{} datagrams ({} bytes), {} subsegments, none holds any of {} secrets",
        datagrams.len(),
        datagrams.iter().map(Vec::len).sum::<usize>(),
        names.len() - docs.len(),
        secrets.len()
    );
}
