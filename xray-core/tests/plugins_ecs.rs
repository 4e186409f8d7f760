//! The ECS plugin against a real HTTP server on loopback playing the task metadata endpoint v4,
//! and the EC2 and ECS plugins together (precedence, parallel probing).

#![cfg(feature = "plugins")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod plugins_support;

use std::time::{Duration, Instant};

use plugins_support::{
    Answer, CONTAINER_ID, MetadataServer, TempDir, cgroup_file, kernel_hostname, one_segment,
    recorder_with,
};
use serde_json::{Value, json};
use xray_core::plugins::{Ec2Plugin, EcsPlugin};

const DOCKER_ID: &str = "cd189a933e5849daa93386466019ab50-2495160603";
const CONTAINER_ARN: &str =
    "arn:aws:ecs:us-west-2:111122223333:container/0206b271-b33f-47ab-86c6-a0ba208a70a9";
const TASK_ARN: &str =
    "arn:aws:ecs:us-west-2:111122223333:task/default/158d1c8083dd49d6b527399fd6414f5c";
const CLUSTER_ARN: &str = "arn:aws:ecs:us-west-2:111122223333:cluster/default";

/// Shaped like the v4 container metadata of a Fargate task (AWS docs, "Task metadata endpoint
/// version 4 examples").
fn container_metadata() -> Value {
    json!({
        "DockerId": DOCKER_ID,
        "Name": "orders",
        "DockerName": "orders",
        "Image": "111122223333.dkr.ecr.us-west-2.amazonaws.com/orders:latest",
        "Labels": {
            "com.amazonaws.ecs.cluster": CLUSTER_ARN,
            "com.amazonaws.ecs.container-name": "orders",
            "com.amazonaws.ecs.task-arn": TASK_ARN,
            "com.amazonaws.ecs.task-definition-family": "orders",
            "com.amazonaws.ecs.task-definition-version": "7"
        },
        "DesiredStatus": "RUNNING",
        "KnownStatus": "RUNNING",
        "Type": "NORMAL",
        "LogDriver": "awslogs",
        "LogOptions": {
            "awslogs-create-group": "true",
            "awslogs-group": "/ecs/orders",
            "awslogs-region": "us-west-2",
            "awslogs-stream": "ecs/orders/158d1c8083dd49d6b527399fd6414f5c"
        },
        "ContainerARN": CONTAINER_ARN,
        "Networks": [{"NetworkMode": "awsvpc", "IPv4Addresses": ["10.0.0.108"]}]
    })
}

fn task_metadata() -> Value {
    json!({
        "Cluster": CLUSTER_ARN,
        "TaskARN": TASK_ARN,
        "Family": "orders",
        "Revision": "7",
        "DesiredStatus": "RUNNING",
        "KnownStatus": "RUNNING",
        "AvailabilityZone": "us-west-2a",
        "LaunchType": "FARGATE",
        "Containers": [container_metadata()]
    })
}

fn ecs_endpoint() -> MetadataServer {
    MetadataServer::start(|seen| match (seen.method.as_str(), seen.path.as_str()) {
        ("GET", "/v4/0206b271") => Answer::Reply(200, container_metadata().to_string()),
        ("GET", "/v4/0206b271/task") => Answer::Reply(200, task_metadata().to_string()),
        _ => Answer::Reply(404, String::new()),
    })
}

#[test]
fn v4_endpoint() {
    let ecs = ecs_endpoint();
    let uri = format!("{}/v4/0206b271", ecs.url());
    let (recorder, emitter) =
        recorder_with(&[("ECS_CONTAINER_METADATA_URI_V4", uri.as_str())], |b| {
            b.plugin(EcsPlugin::new())
        });
    assert_eq!(recorder.origin(), Some("AWS::ECS::Container"));
    let doc = one_segment(&recorder, &emitter);
    assert_eq!(doc.origin.as_deref(), Some("AWS::ECS::Container"));

    let json = serde_json::to_value(doc.aws.as_deref().unwrap()).unwrap();
    let mut expected_ecs = json!({
        "container_id": DOCKER_ID,
        "container_arn": CONTAINER_ARN,
        "task_arn": TASK_ARN,
        "task_family": "orders",
        "cluster_arn": CLUSTER_ARN,
        "launch_type": "FARGATE",
        "availability_zone": "us-west-2a"
    });
    if let Some(host) = kernel_hostname() {
        expected_ecs["container"] = host.into();
    }
    assert_eq!(json["ecs"], expected_ecs);
    assert_eq!(
        json["cloudwatch_logs"],
        json!([{
            "log_group": "/ecs/orders",
            "arn": "arn:aws:logs:us-west-2:111122223333:log-group:/ecs/orders"
        }])
    );
    assert_eq!(json["xray"]["sdk"], "X-Ray for Rust");
    let paths: Vec<_> = ecs.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(paths, ["/v4/0206b271", "/v4/0206b271/task"]);
}

#[test]
fn v3_variable_and_labels_when_the_task_document_is_missing() {
    let ecs = MetadataServer::start(|seen| match seen.path.as_str() {
        "/v3/abc" => Answer::Reply(200, container_metadata().to_string()),
        _ => Answer::Reply(404, String::new()),
    });
    let uri = format!("{}/v3/abc", ecs.url());
    let (recorder, emitter) = recorder_with(&[("ECS_CONTAINER_METADATA_URI", uri.as_str())], |b| {
        b.plugin(EcsPlugin::new())
    });
    let doc = one_segment(&recorder, &emitter);
    let ecs_block = serde_json::to_value(doc.aws.unwrap().ecs.unwrap()).unwrap();
    assert_eq!(ecs_block["task_arn"], TASK_ARN, "from the labels");
    assert_eq!(ecs_block["cluster_arn"], CLUSTER_ARN);
    assert_eq!(ecs_block["task_family"], "orders");
    assert!(ecs_block.get("launch_type").is_none());
}

#[test]
fn silent_endpoint_still_records_the_container() {
    let ecs = MetadataServer::hanging();
    let dir = TempDir::new("ecs");
    let cgroup = dir.file("cgroup", &cgroup_file());
    let uri = format!("{}/v4/x", ecs.url());
    let started = Instant::now();
    let (recorder, emitter) =
        recorder_with(&[("ECS_CONTAINER_METADATA_URI_V4", uri.as_str())], |b| {
            b.plugin(EcsPlugin::new().cgroup_path(&cgroup))
        });
    let took = started.elapsed();
    assert!(took < Duration::from_secs(1), "build() took {took:?}");
    assert_eq!(recorder.origin(), Some("AWS::ECS::Container"));
    let ecs_block = one_segment(&recorder, &emitter).aws.unwrap().ecs.unwrap();
    assert_eq!(ecs_block.container_id.as_deref(), Some(CONTAINER_ID));
    assert_eq!(ecs_block.container, kernel_hostname());
    assert_eq!(ecs_block.container_arn, None);
}

#[test]
fn not_in_ecs() {
    for env in [
        &[][..],
        &[("ECS_CONTAINER_METADATA_URI_V4", "  ")][..],
        &[("ECS_CONTAINER_METADATA_URI_V4", "file:///etc/passwd")][..],
    ] {
        let (recorder, emitter) = recorder_with(env, |b| b.plugin(EcsPlugin::new()));
        assert_eq!(recorder.origin(), None, "{env:?}");
        let aws = one_segment(&recorder, &emitter).aws.unwrap();
        assert!(
            aws.ecs.is_none() && aws.cloudwatch_logs.is_none(),
            "{env:?}"
        );
    }
}

#[test]
fn ecs_on_ec2_keeps_both_blocks_and_the_more_specific_origin() {
    let ecs = ecs_endpoint();
    let imds = MetadataServer::start(|seen| {
        match seen.method.as_str() {
        "PUT" => Answer::Reply(200, "t".to_owned()),
        _ => Answer::Reply(
            200,
            json!({"instanceId": "i-0abc", "availabilityZone": "us-west-2a", "instanceType": "c7i.xlarge", "imageId": "ami-1"})
                .to_string(),
        ),
    }
    });
    let uri = format!("{}/v4/0206b271", ecs.url());
    // EC2 registered first: origin precedence, not order, decides.
    let (recorder, emitter) =
        recorder_with(&[("ECS_CONTAINER_METADATA_URI_V4", uri.as_str())], |b| {
            b.plugin(Ec2Plugin::new().endpoint(imds.url()))
                .plugin(EcsPlugin::new())
        });
    let doc = one_segment(&recorder, &emitter);
    assert_eq!(doc.origin.as_deref(), Some("AWS::ECS::Container"));
    let aws = doc.aws.unwrap();
    assert_eq!(aws.ec2.unwrap().instance_id.as_deref(), Some("i-0abc"));
    assert_eq!(
        aws.ecs.unwrap().container_arn.as_deref(),
        Some(CONTAINER_ARN)
    );
}

#[test]
fn plugins_probe_in_parallel_under_one_deadline() {
    // Two silent endpoints and a 600 ms deadline: one after the other they would take 1.2 s.
    let ecs = MetadataServer::hanging();
    let imds = MetadataServer::hanging();
    let uri = format!("{}/v4/x", ecs.url());
    let started = Instant::now();
    let (recorder, _) = recorder_with(&[("ECS_CONTAINER_METADATA_URI_V4", uri.as_str())], |b| {
        b.plugin(Ec2Plugin::new().endpoint(imds.url()))
            .plugin(EcsPlugin::new())
            .plugin_timeout(Duration::from_millis(600))
    });
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1_100), "build() took {took:?}");
    assert!(
        took >= Duration::from_millis(500),
        "the deadline was not used: {took:?}"
    );
    // ECS is still detected (by its variable); EC2 is not.
    assert_eq!(recorder.origin(), Some("AWS::ECS::Container"));
    assert_eq!(imds.seen().len(), 2);
}
