//! ECS: the container's host name and the task metadata endpoint (v4, else v3).

use std::path::PathBuf;

use serde_json::Value;

use super::container::{self, DEFAULT_CGROUP_PATH};
use super::http::Client;
use super::{Detected, NotDetected, ORIGIN_ECS, Plugin, Probe};
use crate::model::{CloudwatchLogs, Ecs};

const ENV_V4: &str = "ECS_CONTAINER_METADATA_URI_V4";
const ENV_V3: &str = "ECS_CONTAINER_METADATA_URI";

/// Records the ECS container: `origin: AWS::ECS::Container` and `aws.ecs`.
///
/// Detected when `ECS_CONTAINER_METADATA_URI_V4` (or, on older agents,
/// `ECS_CONTAINER_METADATA_URI`) holds an `http://` URL — the Java SDK's test. Then:
///
/// | Field | From |
/// |---|---|
/// | `container` | the host name (Go, Java and Python record this) |
/// | `container_id` | `DockerId` of the container metadata, else the cgroup file (Java) |
/// | `container_arn` | `ContainerARN` (Java) |
/// | `task_arn`, `task_family`, `cluster_arn`, `launch_type`, `availability_zone` | the task metadata (`<uri>/task`), else the container's `com.amazonaws.ecs.*` labels; the names the OpenTelemetry collector's X-Ray exporter writes |
/// | `aws.cloudwatch_logs` | `LogOptions.awslogs-group`, with the ARN `arn:<partition>:logs:<awslogs-region>:<account of the container ARN>:log-group:<group>` (Java) |
///
/// When the endpoint does not answer in time the container is still recorded, with its host name
/// and cgroup id. See the [module docs](super).
///
/// ```no_run
/// use xray_core::Recorder;
/// use xray_core::plugins::EcsPlugin;
///
/// let recorder = Recorder::builder().plugin(EcsPlugin::new()).build()?;
/// # Ok::<(), xray_core::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct EcsPlugin {
    metadata_uri: Option<String>,
    cgroup_path: PathBuf,
}

impl Default for EcsPlugin {
    fn default() -> Self {
        Self::new()
    }
}

impl EcsPlugin {
    /// The plugin, finding the metadata endpoint in the environment.
    pub fn new() -> Self {
        Self {
            metadata_uri: None,
            cgroup_path: PathBuf::from(DEFAULT_CGROUP_PATH),
        }
    }

    /// Uses this container metadata URL (what `ECS_CONTAINER_METADATA_URI_V4` holds), whatever
    /// the environment says.
    #[must_use]
    pub fn metadata_uri(mut self, url: impl Into<String>) -> Self {
        self.metadata_uri = Some(url.into());
        self
    }

    /// Reads the container id from this cgroup file (when the metadata has none) instead of
    /// [`DEFAULT_CGROUP_PATH`].
    #[must_use]
    pub fn cgroup_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.cgroup_path = path.into();
        self
    }
}

impl Plugin for EcsPlugin {
    fn name(&self) -> &str {
        "ecs"
    }

    fn detect(&self, probe: &Probe) -> Result<Detected, NotDetected> {
        let uri = self
            .metadata_uri
            .clone()
            .or_else(|| probe.env(ENV_V4))
            .or_else(|| probe.env(ENV_V3))
            .ok_or_else(|| NotDetected::new(format!("not in ECS: {ENV_V4} is not set")))?;
        if !uri.starts_with("http://") {
            return Err(NotDetected::new(format!(
                "not in ECS: the metadata URI {uri:?} is not an http:// URL"
            )));
        }
        let uri = uri.trim_end_matches('/');
        let client = Client::new();
        let container = fetch_json(&client, uri, probe);
        // The task document adds the launch type and zone; it is only worth asking for when
        // the endpoint answered at all.
        let task = container
            .as_ref()
            .and_then(|_| fetch_json(&client, &format!("{uri}/task"), probe));

        let mut ecs = Ecs {
            container: container::hostname(probe),
            ..Ecs::default()
        };
        let mut logs = None;
        if let Some(c) = &container {
            ecs.container_id = text(c, "DockerId");
            ecs.container_arn = text(c, "ContainerARN");
            logs = log_group(c);
        }
        if ecs.container_id.is_none() {
            ecs.container_id = container::container_id(&self.cgroup_path);
        }
        let label = |name: &str| {
            container
                .as_ref()
                .and_then(|c| c.get("Labels"))
                .and_then(|l| text(l, name))
        };
        let from_task = |name: &str| task.as_ref().and_then(|t| text(t, name));
        let mut put = |key: &str, value: Option<String>| {
            if let Some(v) = value {
                ecs.extra.insert(key.to_owned(), Value::String(v));
            }
        };
        put(
            "task_arn",
            from_task("TaskARN").or_else(|| label("com.amazonaws.ecs.task-arn")),
        );
        put(
            "task_family",
            from_task("Family").or_else(|| label("com.amazonaws.ecs.task-definition-family")),
        );
        put(
            "cluster_arn",
            from_task("Cluster")
                .or_else(|| label("com.amazonaws.ecs.cluster"))
                .filter(|c| c.starts_with("arn:")),
        );
        put("launch_type", from_task("LaunchType"));
        put("availability_zone", from_task("AvailabilityZone"));

        Ok(Detected::new(ORIGIN_ECS).with_aws(|aws| {
            aws.ecs = Some(Box::new(ecs));
            aws.cloudwatch_logs = logs;
        }))
    }
}

/// A JSON object from the metadata endpoint, `None` (logged at debug level) when it does not
/// answer in time or with one.
fn fetch_json(client: &Client, url: &str, probe: &Probe) -> Option<Value> {
    let reply = client.get(url, &[], probe.remaining());
    match reply {
        Ok(r) if r.is_success() => match serde_json::from_str::<Value>(&r.body) {
            Ok(v @ Value::Object(_)) => Some(v),
            _ => {
                tracing::debug!(target: "xray", url, "ECS metadata endpoint did not return a JSON object");
                None
            }
        },
        Ok(r) => {
            tracing::debug!(target: "xray", url, status = r.status, "ECS metadata endpoint refused");
            None
        }
        Err(error) => {
            tracing::debug!(target: "xray", url, %error, "ECS metadata endpoint did not answer");
            None
        }
    }
}

fn text(v: &Value, name: &str) -> Option<String> {
    v.get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The `awslogs` log group, with its ARN when the region and the account are known.
fn log_group(container: &Value) -> Option<Vec<CloudwatchLogs>> {
    let options = container.get("LogOptions")?;
    let group = text(options, "awslogs-group")?;
    let mut log = CloudwatchLogs::default();
    let arn_parts = text(container, "ContainerARN").and_then(|arn| {
        let mut parts = arn.split(':');
        let (_, partition, _, _, account) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        (!partition.is_empty() && !account.is_empty())
            .then(|| (partition.to_owned(), account.to_owned()))
    });
    if let (Some(region), Some((partition, account))) = (text(options, "awslogs-region"), arn_parts)
    {
        log.arn = Some(format!(
            "arn:{partition}:logs:{region}:{account}:log-group:{group}"
        ));
    }
    log.log_group = Some(group);
    Some(vec![log])
}
