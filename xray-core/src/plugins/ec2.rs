//! EC2: the instance identity document from the instance metadata service (IMDS).

use std::path::PathBuf;

use serde_json::Value;

use super::container::read_small;
use super::http::Client;
use super::{Detected, NotDetected, ORIGIN_EC2, Plugin, Probe};
use crate::model::{CloudwatchLogs, Ec2};

/// The IMDS endpoint (IPv4).
pub const DEFAULT_IMDS_ENDPOINT: &str = "http://169.254.169.254";
/// The IMDS endpoint in `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6`.
const IPV6_IMDS_ENDPOINT: &str = "http://[fd00:ec2::254]";
/// Where the CloudWatch agent keeps its log configuration on Linux (the Java SDK reads it).
pub const DEFAULT_CLOUDWATCH_AGENT_LOG_CONFIG: &str =
    "/opt/aws/amazon-cloudwatch-agent/etc/log-config.json";

const ENV_DISABLED: &str = "AWS_EC2_METADATA_DISABLED";
const ENV_ENDPOINT: &str = "AWS_EC2_METADATA_SERVICE_ENDPOINT";
const ENV_ENDPOINT_MODE: &str = "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE";
const TOKEN_TTL_HEADER: &str = "X-aws-ec2-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "X-aws-ec2-metadata-token";
/// Every official SDK asks for a 60 s token: it is used once, right away.
const TOKEN_TTL_SECONDS: &str = "60";

/// Records the EC2 instance: `origin: AWS::EC2::Instance` and `aws.ec2` (`instance_id`,
/// `availability_zone`, `instance_size`, `ami_id`), from the instance identity document of the
/// instance metadata service; plus, as the Java SDK does, the log groups the CloudWatch agent
/// ships (`log_configs[].log_group_name` of [`DEFAULT_CLOUDWATCH_AGENT_LOG_CONFIG`]) in
/// `aws.cloudwatch_logs`.
///
/// # How IMDS is asked
///
/// IMDSv2, as every official SDK: `PUT /latest/api/token` with
/// `X-aws-ec2-metadata-token-ttl-seconds: 60`, then `GET
/// /latest/dynamic/instance-identity/document` with `X-aws-ec2-metadata-token`. When the token
/// request fails (a refusal such as 403 or 405, or no answer), the document is asked for without
/// a token (IMDSv1), as the Go, Java and Python SDKs and botocore do; the token request gets
/// half the time left so that the second request still has time. No proxy is ever used.
///
/// - `AWS_EC2_METADATA_DISABLED=true` turns the plugin off.
/// - `AWS_EC2_METADATA_SERVICE_ENDPOINT` (a URL such as `http://[fd00:ec2::254]`) replaces the
///   endpoint; `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6` picks the IPv6 one.
///   [`endpoint`](Self::endpoint) beats both.
///
/// See the [module docs](super).
///
/// ```no_run
/// use xray_core::Recorder;
/// use xray_core::plugins::Ec2Plugin;
///
/// let recorder = Recorder::builder().plugin(Ec2Plugin::new()).build()?;
/// # Ok::<(), xray_core::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Ec2Plugin {
    endpoint: Option<String>,
    log_config: PathBuf,
}

impl Default for Ec2Plugin {
    fn default() -> Self {
        Self::new()
    }
}

impl Ec2Plugin {
    /// The plugin, asking the endpoint the environment names (default
    /// [`DEFAULT_IMDS_ENDPOINT`]).
    pub fn new() -> Self {
        Self {
            endpoint: None,
            log_config: PathBuf::from(DEFAULT_CLOUDWATCH_AGENT_LOG_CONFIG),
        }
    }

    /// Asks IMDS at this base URL (`http://host[:port]`), whatever the environment says.
    #[must_use]
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// Reads the CloudWatch agent's log configuration from `path` instead of
    /// [`DEFAULT_CLOUDWATCH_AGENT_LOG_CONFIG`].
    #[must_use]
    pub fn cloudwatch_agent_log_config(mut self, path: impl Into<PathBuf>) -> Self {
        self.log_config = path.into();
        self
    }

    fn base_url(&self, probe: &Probe) -> String {
        let base = match &self.endpoint {
            Some(url) => url.clone(),
            None => match probe.env(ENV_ENDPOINT) {
                Some(url) => url,
                None if probe
                    .env(ENV_ENDPOINT_MODE)
                    .is_some_and(|m| m.eq_ignore_ascii_case("ipv6")) =>
                {
                    IPV6_IMDS_ENDPOINT.to_owned()
                }
                None => DEFAULT_IMDS_ENDPOINT.to_owned(),
            },
        };
        base.trim_end_matches('/').to_owned()
    }

    /// The log groups of the CloudWatch agent's configuration, if it is there.
    fn log_groups(&self) -> Option<Vec<CloudwatchLogs>> {
        let text = read_small(&self.log_config).ok()?;
        let config: Value = serde_json::from_str(&text).ok()?;
        let mut logs: Vec<CloudwatchLogs> = Vec::new();
        for entry in config.get("log_configs")?.as_array()? {
            if let Some(group) = entry.get("log_group_name").and_then(Value::as_str) {
                let log = CloudwatchLogs {
                    log_group: Some(group.to_owned()),
                    ..CloudwatchLogs::default()
                };
                if !logs.contains(&log) {
                    logs.push(log);
                }
            }
        }
        (!logs.is_empty()).then_some(logs)
    }
}

impl Plugin for Ec2Plugin {
    fn name(&self) -> &str {
        "ec2"
    }

    fn detect(&self, probe: &Probe) -> Result<Detected, NotDetected> {
        if probe
            .env(ENV_DISABLED)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            return Err(NotDetected::new(format!("{ENV_DISABLED} is true")));
        }
        let base = self.base_url(probe);
        let client = Client::new();
        let token = client
            .put(
                &format!("{base}/latest/api/token"),
                &[(TOKEN_TTL_HEADER, TOKEN_TTL_SECONDS)],
                probe.remaining() / 2,
            )
            .ok()
            .filter(|r| r.is_success() && !r.body.trim().is_empty())
            .map(|r| r.body.trim().to_owned());
        let headers: Vec<(&str, &str)> = token
            .as_deref()
            .map(|t| (TOKEN_HEADER, t))
            .into_iter()
            .collect();
        let url = format!("{base}/latest/dynamic/instance-identity/document");
        let reply = client.get(&url, &headers, probe.remaining()).map_err(|e| {
            NotDetected::new(format!("no instance identity document at {url}: {e}"))
        })?;
        if !reply.is_success() {
            return Err(NotDetected::new(format!(
                "{url} answered HTTP {} (token: {})",
                reply.status,
                if token.is_some() { "yes" } else { "none" }
            )));
        }
        let doc: Value = serde_json::from_str(&reply.body)
            .map_err(|e| NotDetected::new(format!("{url} did not return JSON: {e}")))?;
        let field = |name: &str| doc.get(name).and_then(Value::as_str).map(str::to_owned);
        let Some(instance_id) = field("instanceId") else {
            return Err(NotDetected::new(format!(
                "the identity document at {url} has no instanceId"
            )));
        };
        let ec2 = Ec2 {
            instance_id: Some(instance_id),
            availability_zone: field("availabilityZone"),
            instance_size: field("instanceType"),
            ami_id: field("imageId"),
            ..Ec2::default()
        };
        let logs = self.log_groups();
        Ok(Detected::new(ORIGIN_EC2).with_aws(|aws| {
            aws.ec2 = Some(Box::new(ec2));
            aws.cloudwatch_logs = logs;
        }))
    }
}
