//! The EC2 plugin against a real HTTP server on loopback playing the instance metadata service:
//! IMDSv2, the IMDSv1 fallback after a refused token, IMDS turned off, a silent endpoint, and the
//! environment variables.

#![cfg(feature = "plugins")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod plugins_support;

use std::time::{Duration, Instant};

use plugins_support::{Answer, MetadataServer, Seen, TempDir, one_segment, recorder_with};
use xray_core::plugins::Ec2Plugin;

const TOKEN: &str = "AQAEAFmxgV-not-a-real-token==";

fn identity_document() -> String {
    serde_json::json!({
        "accountId": "111122223333",
        "architecture": "x86_64",
        "availabilityZone": "eu-west-1b",
        "imageId": "ami-0abcdef1234567890",
        "instanceId": "i-0123456789abcdef0",
        "instanceType": "m7g.large",
        "pendingTime": "2026-11-20T10:00:00Z",
        "privateIp": "10.0.1.12",
        "region": "eu-west-1",
        "version": "2017-09-30"
    })
    .to_string()
}

/// An IMDSv2-only endpoint: the document needs the token.
fn imdsv2(seen: &Seen) -> Answer {
    match (seen.method.as_str(), seen.path.as_str()) {
        ("PUT", "/latest/api/token") => {
            if seen
                .headers
                .contains_key("x-aws-ec2-metadata-token-ttl-seconds")
            {
                Answer::Reply(200, TOKEN.to_owned())
            } else {
                Answer::Reply(400, String::new())
            }
        }
        ("GET", "/latest/dynamic/instance-identity/document") => {
            if seen
                .headers
                .get("x-aws-ec2-metadata-token")
                .map(String::as_str)
                == Some(TOKEN)
            {
                Answer::Reply(200, identity_document())
            } else {
                Answer::Reply(401, String::new())
            }
        }
        _ => Answer::Reply(404, String::new()),
    }
}

#[test]
fn imdsv2_token_then_identity_document() {
    let imds = MetadataServer::start(imdsv2);
    let dir = TempDir::new("ec2");
    let agent_config = dir.file(
        "log-config.json",
        r#"{"log_configs":[{"log_group_name":"/ec2/orders"},{"log_group_name":"/ec2/orders"},{"log_group_name":"/ec2/audit"}],"region":"eu-west-1"}"#,
    );
    let (recorder, emitter) = recorder_with(&[], |b| {
        b.plugin(
            Ec2Plugin::new()
                .endpoint(imds.url())
                .cloudwatch_agent_log_config(&agent_config),
        )
    });
    assert_eq!(recorder.origin(), Some("AWS::EC2::Instance"));

    let doc = one_segment(&recorder, &emitter);
    assert_eq!(doc.origin.as_deref(), Some("AWS::EC2::Instance"));
    let aws = doc.aws.unwrap();
    let ec2 = aws.ec2.unwrap();
    assert_eq!(ec2.instance_id.as_deref(), Some("i-0123456789abcdef0"));
    assert_eq!(ec2.availability_zone.as_deref(), Some("eu-west-1b"));
    assert_eq!(ec2.instance_size.as_deref(), Some("m7g.large"));
    assert_eq!(ec2.ami_id.as_deref(), Some("ami-0abcdef1234567890"));
    assert!(ec2.extra.is_empty(), "only the four documented fields");
    let groups: Vec<_> = aws
        .cloudwatch_logs
        .unwrap()
        .into_iter()
        .map(|l| l.log_group.unwrap())
        .collect();
    assert_eq!(groups, ["/ec2/orders", "/ec2/audit"]);
    assert_eq!(
        aws.xray.unwrap().sdk.as_deref(),
        Some("X-Ray for Rust"),
        "the SDK block stays"
    );

    let seen = imds.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("PUT", "/latest/api/token")
    );
    assert_eq!(
        seen[0].headers["x-aws-ec2-metadata-token-ttl-seconds"],
        "60"
    );
    assert_eq!(seen[1].method, "GET");
}

#[test]
fn endpoint_from_the_environment() {
    let imds = MetadataServer::start(imdsv2);
    let url = format!("{}/", imds.url());
    let (recorder, emitter) = recorder_with(
        &[("AWS_EC2_METADATA_SERVICE_ENDPOINT", url.as_str())],
        |b| b.plugin(Ec2Plugin::new()),
    );
    let doc = one_segment(&recorder, &emitter);
    assert_eq!(
        doc.aws.unwrap().ec2.unwrap().instance_id.as_deref(),
        Some("i-0123456789abcdef0")
    );
    assert_eq!(imds.seen().len(), 2);
}

#[test]
fn refused_token_falls_back_to_imdsv1() {
    // An endpoint that does not know IMDSv2 (405 to the PUT) but serves the document.
    let imds = MetadataServer::start(|seen| match seen.method.as_str() {
        "PUT" => Answer::Reply(405, String::new()),
        _ if seen.path == "/latest/dynamic/instance-identity/document" => {
            Answer::Reply(200, identity_document())
        }
        _ => Answer::Reply(404, String::new()),
    });
    let (recorder, emitter) =
        recorder_with(&[], |b| b.plugin(Ec2Plugin::new().endpoint(imds.url())));
    let doc = one_segment(&recorder, &emitter);
    assert_eq!(doc.origin.as_deref(), Some("AWS::EC2::Instance"));
    let seen = imds.seen();
    assert_eq!(seen.len(), 2);
    assert!(
        !seen[1].headers.contains_key("x-aws-ec2-metadata-token"),
        "no token to send after a refusal"
    );
}

#[test]
fn imds_turned_off_records_nothing() {
    // IMDS answers 403 to everything when it is turned off for the instance.
    let imds = MetadataServer::start(|_| Answer::Reply(403, "Forbidden".to_owned()));
    let (recorder, emitter) =
        recorder_with(&[], |b| b.plugin(Ec2Plugin::new().endpoint(imds.url())));
    assert_eq!(recorder.origin(), None);
    let doc = one_segment(&recorder, &emitter);
    assert_eq!(doc.origin, None);
    let aws = doc.aws.unwrap();
    assert!(aws.ec2.is_none() && aws.cloudwatch_logs.is_none());
    assert!(aws.xray.is_some());
    // The token was refused, the tokenless request too; nothing more was tried.
    assert_eq!(imds.seen().len(), 2);
}

#[test]
fn silent_endpoint_gives_up_within_the_deadline() {
    let imds = MetadataServer::hanging();
    let started = Instant::now();
    let (recorder, emitter) =
        recorder_with(&[], |b| b.plugin(Ec2Plugin::new().endpoint(imds.url())));
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "build() waited {took:?} for a silent IMDS (deadline 300 ms)"
    );
    assert_eq!(recorder.origin(), None);
    assert!(one_segment(&recorder, &emitter).aws.unwrap().ec2.is_none());
    // It did ask: the token, then the document without one.
    assert_eq!(imds.seen().len(), 2);
}

#[test]
fn disabled_by_the_environment() {
    let imds = MetadataServer::start(imdsv2);
    let (recorder, emitter) = recorder_with(
        &[
            ("AWS_EC2_METADATA_DISABLED", "TRUE"),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url().as_str()),
        ],
        |b| b.plugin(Ec2Plugin::new()),
    );
    assert_eq!(recorder.origin(), None);
    assert!(one_segment(&recorder, &emitter).aws.unwrap().ec2.is_none());
    assert!(imds.seen().is_empty(), "IMDS must not be asked");
}

#[test]
fn not_an_identity_document() {
    let imds = MetadataServer::start(|seen| match seen.method.as_str() {
        "PUT" => Answer::Reply(200, TOKEN.to_owned()),
        _ => Answer::Reply(200, "<html>captive portal</html>".to_owned()),
    });
    let (recorder, _) = recorder_with(&[], |b| b.plugin(Ec2Plugin::new().endpoint(imds.url())));
    assert_eq!(recorder.origin(), None);
}
