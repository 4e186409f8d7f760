use serde::{Deserialize, Serialize};

use super::Extra;

/// The `aws` object.
///
/// On a segment it describes where the application runs (`ec2`, `ecs`, `eks`,
/// `elastic_beanstalk`, `xray`, `account_id`); on a subsegment it describes the AWS call
/// (`operation`, `region`, `request_id`, `retries`, plus whitelisted request and response
/// parameters such as `table_name`, which land in [`Aws::extra`] unless they have a field here).
///
/// The segment-only blocks are boxed: a subsegment's `aws` block never carries them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Aws {
    /// The AWS account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The API operation, e.g. `GetItem`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// The region of the called service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The request id the service returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The number of retries (attempts minus one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// The S3 extended request id (`x-amz-id-2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_2: Option<String>,
    /// The SQS queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,
    /// The DynamoDB table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_name: Option<String>,
    /// The EC2 instance the application runs on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ec2: Option<Box<Ec2>>,
    /// The ECS container the application runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecs: Option<Box<Ecs>>,
    /// The EKS pod the application runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eks: Option<Box<Eks>>,
    /// The Elastic Beanstalk environment the application runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elastic_beanstalk: Option<Box<ElasticBeanstalk>>,
    /// The CloudWatch log groups of the application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloudwatch_logs: Option<Vec<CloudwatchLogs>>,
    /// The SDK that recorded the segment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xray: Option<Box<XraySdk>>,
    /// Other fields: whitelisted AWS call parameters, or fields this crate does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `aws.ec2`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Ec2 {
    /// The instance id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// The instance type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_size: Option<String>,
    /// The image id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ami_id: Option<String>,
    /// The availability zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `aws.ecs`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Ecs {
    /// The container's host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// The container id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
    /// The container ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_arn: Option<String>,
    /// Fields this crate does not model (the collector adds `task_arn`, `cluster_arn`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// `aws.eks`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Eks {
    /// The pod name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// The cluster name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
    /// The container id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `aws.elastic_beanstalk`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ElasticBeanstalk {
    /// The environment name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_name: Option<String>,
    /// The application version label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_label: Option<String>,
    /// The deployment id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<i64>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An entry of `aws.cloudwatch_logs`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CloudwatchLogs {
    /// The log group name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_group: Option<String>,
    /// The log group ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `aws.xray`: the SDK that recorded the segment and the sampling rule that chose it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct XraySdk {
    /// The SDK name, e.g. `X-Ray for Rust`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdk: Option<String>,
    /// The SDK version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdk_version: Option<String>,
    /// Whether the instrumentation was automatic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_instrumentation: Option<bool>,
    /// The centralized sampling rule that sampled this segment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling_rule_name: Option<String>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Extra,
}
