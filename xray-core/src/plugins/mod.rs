//! Where the service runs: plugins that give every segment an `origin` and the matching block of
//! `aws` — the EC2 instance, the ECS container, the Elastic Beanstalk environment, the EKS pod.
//!
//! X-Ray draws the service map with these: `origin` picks the icon and the node type
//! (`AWS::EC2::Instance`, ...), the `aws` block is shown with each segment, and sampling rules
//! match their `ServiceType` against `origin`.
//!
//! ```no_run
//! use xray_core::Recorder;
//! use xray_core::plugins::{ElasticBeanstalkPlugin, EksPlugin};
//! # #[cfg(feature = "plugins")]
//! use xray_core::plugins::{Ec2Plugin, EcsPlugin};
//!
//! # fn main() -> Result<(), xray_core::ConfigError> {
//! let builder = Recorder::builder()
//!     .service_name("orders")
//!     .plugin(ElasticBeanstalkPlugin::new())
//!     .plugin(EksPlugin::new().cluster_name("prod"));
//! # #[cfg(feature = "plugins")]
//! let builder = builder.plugin(Ec2Plugin::new()).plugin(EcsPlugin::new());
//! // Probes run here, in parallel, for at most 300 ms.
//! let recorder = builder.build()?;
//! println!("segments will say they run on {:?}", recorder.origin());
//! # Ok(()) }
//! ```
//!
//! # What each plugin records
//!
//! | Plugin | Detected when | `origin` | `aws` |
//! |---|---|---|---|
//! | [`Ec2Plugin`] (feature `plugins`) | the instance metadata service (IMDS) returns the instance identity document | `AWS::EC2::Instance` | `ec2`: `instance_id`, `availability_zone`, `instance_size`, `ami_id`; `cloudwatch_logs`: the log groups of the CloudWatch agent's `log-config.json` |
//! | [`EcsPlugin`] (feature `plugins`) | `ECS_CONTAINER_METADATA_URI_V4` (or `ECS_CONTAINER_METADATA_URI`) holds an `http://` URL | `AWS::ECS::Container` | `ecs`: `container` (host name), `container_id`, `container_arn`, `task_arn`, `task_family`, `cluster_arn`, `launch_type`, `availability_zone`; `cloudwatch_logs`: the `awslogs` log group with its ARN |
//! | [`ElasticBeanstalkPlugin`] | `/var/elasticbeanstalk/xray/environment.conf` is a JSON object | `AWS::ElasticBeanstalk::Environment` | `elastic_beanstalk`: `environment_name`, `version_label`, `deployment_id` (and any other key of the file) |
//! | [`EksPlugin`] | the Kubernetes service-account token file exists or `KUBERNETES_SERVICE_HOST` is set | `AWS::EKS::Container` | `eks`: `pod` (host name), `container_id` (from `/proc/self/cgroup`), `cluster_name` (when configured); `cloudwatch_logs`: `/aws/containerinsights/<cluster>/application` |
//!
//! # When probing happens
//!
//! Once, in [`RecorderBuilder::build`](crate::RecorderBuilder::build), never per request: each
//! registered plugin probes on its own thread and all of them share one deadline
//! ([`DEFAULT_PROBE_TIMEOUT`], 300 ms, see
//! [`plugin_timeout`](crate::RecorderBuilder::plugin_timeout)), so `build` takes at most about
//! that long even when nothing answers, and a few milliseconds where the metadata endpoints are
//! there. A plugin that finds nothing changes nothing and logs one `debug` line (target `xray`)
//! saying why. Probing is skipped in AWS Lambda (segments there are Lambda's own, see
//! [`crate::lambda`]) and when the recorder is disabled.
//!
//! # Which `origin` wins
//!
//! Several plugins may find something (EKS and ECS both run on EC2 instances). Each found `aws`
//! block is kept; `origin` is the most specific one, in the Java SDK's order: Elastic Beanstalk,
//! then EKS, then ECS, then EC2. An origin outside that list (a plugin of your own) ranks with
//! Elastic Beanstalk, and among equals the plugin registered first wins. An origin set with
//! [`RecorderBuilder::origin`](crate::RecorderBuilder::origin) beats every plugin, and blocks set
//! with [`RecorderBuilder::aws_resource`](crate::RecorderBuilder::aws_resource) are not replaced.
//!
//! # Environment
//!
//! Plugins read the environment through the recorder builder: the process environment, nothing
//! with [`ignore_env`](crate::RecorderBuilder::ignore_env), or your function with
//! [`env_lookup`](crate::RecorderBuilder::env_lookup). Variables: `AWS_EC2_METADATA_DISABLED`,
//! `AWS_EC2_METADATA_SERVICE_ENDPOINT`, `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE`,
//! `ECS_CONTAINER_METADATA_URI_V4`, `ECS_CONTAINER_METADATA_URI`, `KUBERNETES_SERVICE_HOST`, and
//! `HOSTNAME` when the kernel's host name file cannot be read.
//!
//! # Differences from the official SDKs
//!
//! - The EKS cluster name is not read from the Kubernetes API (the Java SDK reads the
//!   `amazon-cloudwatch/cluster-info` config map over HTTPS with the pod's service account);
//!   pass it with [`EksPlugin::cluster_name`]. Without it, `cluster_name` and the Container
//!   Insights log group are left out rather than recorded as `null`.
//! - The container id comes from cgroup v1 paths (`/proc/self/cgroup`); on cgroup v2 hosts the
//!   file holds no id and `container_id` is left out (ECS takes it from the metadata endpoint
//!   instead).
//! - The ECS log stream is not recorded: `aws.cloudwatch_logs` entries have only `log_group`
//!   and `arn`.

// Without the feature the EC2 and ECS plugins the docs above link to are not compiled.
#![cfg_attr(not(feature = "plugins"), allow(rustdoc::broken_intra_doc_links))]

mod beanstalk;
mod container;
#[cfg(feature = "plugins")]
mod ec2;
#[cfg(feature = "plugins")]
mod ecs;
mod eks;
#[cfg(feature = "plugins")]
mod http;
mod probe;

use std::fmt;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

pub use self::beanstalk::{DEFAULT_ELASTIC_BEANSTALK_CONFIG, ElasticBeanstalkPlugin};
pub use self::container::DEFAULT_CGROUP_PATH;
#[cfg(feature = "plugins")]
#[cfg_attr(docsrs, doc(cfg(feature = "plugins")))]
pub use self::ec2::{DEFAULT_CLOUDWATCH_AGENT_LOG_CONFIG, DEFAULT_IMDS_ENDPOINT, Ec2Plugin};
#[cfg(feature = "plugins")]
#[cfg_attr(docsrs, doc(cfg(feature = "plugins")))]
pub use self::ecs::EcsPlugin;
pub use self::eks::{DEFAULT_K8S_TOKEN_PATH, EksPlugin};
pub(crate) use self::probe::EnvLookup;
pub use self::probe::Probe;
use crate::model::Aws;

/// `origin` of an application on an EC2 instance.
pub const ORIGIN_EC2: &str = "AWS::EC2::Instance";
/// `origin` of an application in an ECS container.
pub const ORIGIN_ECS: &str = "AWS::ECS::Container";
/// `origin` of an application in an EKS pod.
pub const ORIGIN_EKS: &str = "AWS::EKS::Container";
/// `origin` of an application in an Elastic Beanstalk environment.
pub const ORIGIN_ELASTIC_BEANSTALK: &str = "AWS::ElasticBeanstalk::Environment";

/// How long all plugins together may probe by default.
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_millis(300);

/// How long after the deadline the builder still waits for a plugin thread to report (a plugin
/// that ignores the deadline is left behind, its result dropped).
const GRACE: Duration = Duration::from_millis(50);

/// Finds out where the application runs. Register plugins with
/// [`RecorderBuilder::plugin`](crate::RecorderBuilder::plugin); see the [module docs](self).
///
/// # When
///
/// [`detect`](Self::detect) is called once, on its own thread, while the recorder is built.
///
/// # Available information
///
/// The [`Probe`]: the environment as the builder sees it and the shared deadline.
///
/// # Return constraints
///
/// Return before [`Probe::deadline`]: use [`Probe::remaining`] as the timeout of anything that
/// waits. A result that comes later is dropped. Never panic; return [`NotDetected`] with the
/// reason instead (it is logged at `debug` level).
pub trait Plugin: fmt::Debug + Send + Sync + 'static {
    /// A short name for log lines, e.g. `"ec2"`.
    fn name(&self) -> &str;

    /// Probes the environment.
    ///
    /// # Errors
    ///
    /// [`NotDetected`] when the application does not run where this plugin looks.
    fn detect(&self, probe: &Probe) -> Result<Detected, NotDetected>;
}

impl<P: Plugin + ?Sized> Plugin for Box<P> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn detect(&self, probe: &Probe) -> Result<Detected, NotDetected> {
        (**self).detect(probe)
    }
}

/// What a [`Plugin`] found: the `origin` it suggests and the `aws` fields to add to every
/// segment.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Detected {
    /// The suggested `origin`, e.g. [`ORIGIN_EC2`].
    pub origin: String,
    /// The segment-level `aws` fields found (`ec2`, `ecs`, `eks`, `elastic_beanstalk`,
    /// `cloudwatch_logs`, `account_id`, or extra keys).
    pub aws: Aws,
}

impl Detected {
    /// A finding with this origin and an empty `aws` block.
    pub fn new(origin: impl Into<String>) -> Self {
        Self {
            origin: origin.into(),
            aws: Aws::default(),
        }
    }

    /// Fills in the `aws` block.
    #[must_use]
    pub fn with_aws(mut self, f: impl FnOnce(&mut Aws)) -> Self {
        f(&mut self.aws);
        self
    }
}

/// Why a [`Plugin`] found nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotDetected {
    reason: String,
}

impl NotDetected {
    /// Nothing found, for this reason (say what was looked at: a file, a variable, a URL).
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }

    /// The reason.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for NotDetected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for NotDetected {}

/// The plugins registered on a recorder builder.
#[derive(Default)]
pub(crate) struct PluginSet {
    plugins: Vec<Box<dyn Plugin>>,
    timeout: Option<Duration>,
}

impl PluginSet {
    pub(crate) fn push(&mut self, plugin: Box<dyn Plugin>) {
        self.plugins.push(plugin);
    }

    pub(crate) fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = Some(timeout);
    }

    /// Probes (unless no plugin is registered) and merges what was found into the builder's
    /// `origin` and `aws` block.
    pub(crate) fn apply(self, env: EnvLookup, origin: &mut Option<String>, aws: &mut Aws) {
        if self.plugins.is_empty() {
            return;
        }
        let probe = Probe::from_parts(
            env,
            Instant::now() + self.timeout.unwrap_or(DEFAULT_PROBE_TIMEOUT),
        );
        let found = detect_all(self.plugins, &probe);
        merge(found, origin, aws);
    }
}

/// Runs every plugin on its own thread and collects what came back before the deadline, in
/// registration order.
fn detect_all(plugins: Vec<Box<dyn Plugin>>, probe: &Probe) -> Vec<Detected> {
    let (tx, rx) = mpsc::channel();
    let mut names: Vec<String> = Vec::with_capacity(plugins.len());
    let mut results: Vec<Option<Detected>> = Vec::with_capacity(plugins.len());
    let mut running = Vec::with_capacity(plugins.len());
    for (i, plugin) in plugins.into_iter().enumerate() {
        let name = plugin.name().to_owned();
        results.push(None);
        let tx = tx.clone();
        let probe = probe.clone();
        let spawned = thread::Builder::new()
            .name(format!("xray-plugin-{name}"))
            .spawn(move || {
                let result = plugin.detect(&probe);
                let _ = tx.send((i, result));
            });
        match spawned {
            Ok(_) => running.push(true),
            Err(err) => {
                running.push(false);
                tracing::debug!(target: "xray", plugin = %name, error = %err, "could not start an X-Ray plugin probe; skipped");
            }
        }
        names.push(name);
    }
    drop(tx);
    let give_up = probe.deadline() + GRACE;
    while running.iter().any(|r| *r) {
        match rx.recv_timeout(give_up.saturating_duration_since(Instant::now())) {
            Ok((i, result)) => {
                running[i] = false;
                match result {
                    Ok(found) => {
                        tracing::debug!(target: "xray", plugin = %names[i], origin = %found.origin, "X-Ray plugin found where the service runs");
                        results[i] = Some(found);
                    }
                    Err(why) => {
                        tracing::debug!(target: "xray", plugin = %names[i], reason = %why, "X-Ray plugin found nothing; segments are left as they were");
                    }
                }
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
        }
    }
    for (i, still) in running.iter().enumerate() {
        if *still {
            tracing::debug!(target: "xray", plugin = %names[i], "X-Ray plugin did not report before its deadline (too slow, or it panicked); ignored");
        }
    }
    results.into_iter().flatten().collect()
}

/// The Java SDK's resolution order: the smaller, the more specific.
fn rank(origin: &str) -> u8 {
    match origin {
        ORIGIN_EKS => 1,
        ORIGIN_ECS => 2,
        ORIGIN_EC2 => 3,
        _ => 0,
    }
}

fn merge(found: Vec<Detected>, origin: &mut Option<String>, aws: &mut Aws) {
    let mut best: Option<(u8, String)> = None;
    for Detected { origin: o, aws: a } in found {
        let r = rank(&o);
        if best.as_ref().is_none_or(|(b, _)| r < *b) {
            best = Some((r, o));
        }
        fill(&mut aws.ec2, a.ec2);
        fill(&mut aws.ecs, a.ecs);
        fill(&mut aws.eks, a.eks);
        fill(&mut aws.elastic_beanstalk, a.elastic_beanstalk);
        fill(&mut aws.account_id, a.account_id);
        if let Some(logs) = a.cloudwatch_logs {
            let all = aws.cloudwatch_logs.get_or_insert_with(Vec::new);
            for log in logs {
                if !all.contains(&log) {
                    all.push(log);
                }
            }
        }
        for (k, v) in a.extra {
            aws.extra.entry(k).or_insert(v);
        }
    }
    if origin.is_none() {
        *origin = best.map(|(_, o)| o);
    }
}

fn fill<T>(slot: &mut Option<T>, found: Option<T>) {
    if slot.is_none() {
        *slot = found;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CloudwatchLogs, Ec2, Ecs};

    fn found(origin: &str) -> Detected {
        Detected::new(origin)
    }

    #[test]
    fn origin_precedence_follows_java() {
        let cases: [(&[&str], &str); 5] = [
            (&[ORIGIN_EC2, ORIGIN_ECS], ORIGIN_ECS),
            (&[ORIGIN_ECS, ORIGIN_EKS, ORIGIN_EC2], ORIGIN_EKS),
            (
                &[ORIGIN_EC2, ORIGIN_ELASTIC_BEANSTALK, ORIGIN_EKS],
                ORIGIN_ELASTIC_BEANSTALK,
            ),
            (&[ORIGIN_EC2], ORIGIN_EC2),
            (
                &["Custom::Thing", ORIGIN_ELASTIC_BEANSTALK],
                "Custom::Thing",
            ),
        ];
        for (origins, want) in cases {
            let mut origin = None;
            let mut aws = Aws::default();
            merge(
                origins.iter().map(|o| found(o)).collect(),
                &mut origin,
                &mut aws,
            );
            assert_eq!(origin.as_deref(), Some(want), "{origins:?}");
        }
    }

    #[test]
    fn explicit_settings_win() {
        let mut origin = Some("AWS::AppRunner::Service".to_owned());
        let mut aws = Aws {
            ec2: Some(Box::new(Ec2 {
                instance_id: Some("i-mine".into()),
                ..Ec2::default()
            })),
            ..Aws::default()
        };
        let log = CloudwatchLogs {
            log_group: Some("g".into()),
            ..CloudwatchLogs::default()
        };
        let ec2 = found(ORIGIN_EC2).with_aws(|a| {
            a.ec2 = Some(Box::new(Ec2 {
                instance_id: Some("i-probed".into()),
                ..Ec2::default()
            }));
            a.cloudwatch_logs = Some(vec![log.clone()]);
        });
        let ecs = found(ORIGIN_ECS).with_aws(|a| {
            a.ecs = Some(Box::new(Ecs::default()));
            a.cloudwatch_logs = Some(vec![log.clone()]);
        });
        merge(vec![ec2, ecs], &mut origin, &mut aws);
        assert_eq!(origin.as_deref(), Some("AWS::AppRunner::Service"));
        assert_eq!(
            aws.ec2.as_ref().and_then(|e| e.instance_id.as_deref()),
            Some("i-mine")
        );
        assert!(aws.ecs.is_some());
        assert_eq!(aws.cloudwatch_logs, Some(vec![log]), "deduplicated");
    }

    #[derive(Debug)]
    struct Sleepy;

    impl Plugin for Sleepy {
        fn name(&self) -> &str {
            "sleepy"
        }
        fn detect(&self, probe: &Probe) -> Result<Detected, NotDetected> {
            thread::sleep(probe.remaining() + Duration::from_secs(2));
            Ok(found("Sleepy::Late"))
        }
    }

    #[derive(Debug)]
    struct Panicky;

    impl Plugin for Panicky {
        fn name(&self) -> &str {
            "panicky"
        }
        fn detect(&self, _: &Probe) -> Result<Detected, NotDetected> {
            panic!("a broken plugin")
        }
    }

    #[test]
    fn late_and_broken_plugins_are_left_behind() {
        let mut set = PluginSet::default();
        set.push(Box::new(Sleepy));
        set.push(Box::new(Panicky));
        set.set_timeout(Duration::from_millis(50));
        let mut origin = None;
        let mut aws = Aws::default();
        let started = Instant::now();
        set.apply(std::sync::Arc::new(|_: &str| None), &mut origin, &mut aws);
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(origin, None);
        assert_eq!(aws, Aws::default());
    }
}
