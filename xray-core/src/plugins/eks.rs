//! EKS (and Kubernetes in general): the pod's host name, the container id, the cluster name.

use std::path::PathBuf;

use super::container::{self, DEFAULT_CGROUP_PATH};
use super::{Detected, NotDetected, ORIGIN_EKS, Plugin, Probe};
use crate::model::{CloudwatchLogs, Eks};

/// The service-account token Kubernetes mounts into pods; its presence is how the Java SDK
/// recognises Kubernetes.
pub const DEFAULT_K8S_TOKEN_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// Records the EKS pod: `origin: AWS::EKS::Container` and `aws.eks` with `pod` (the host name,
/// which Kubernetes sets to the pod name), `container_id` (from the cgroup file) and
/// `cluster_name` (when given with [`cluster_name`](Self::cluster_name)), plus the Container
/// Insights log group `/aws/containerinsights/<cluster>/application` in `aws.cloudwatch_logs`
/// when the cluster name is known.
///
/// Detected when the service-account token file ([`DEFAULT_K8S_TOKEN_PATH`]) exists or
/// `KUBERNETES_SERVICE_HOST` is set (pods that do not mount a token still get that variable).
///
/// The Java SDK reads the cluster name from the Container Insights config map through the
/// Kubernetes API; this plugin does not call the Kubernetes API (that needs TLS and the pod's
/// credentials), so pass the name yourself, for instance from a variable set in the pod spec.
/// See the [module docs](super).
///
/// ```
/// use std::time::Duration;
/// use xray_core::plugins::{EksPlugin, Plugin, Probe};
///
/// let probe = Probe::with_env(Duration::from_millis(300), |name| {
///     (name == "KUBERNETES_SERVICE_HOST").then(|| "10.100.0.1".to_owned())
/// });
/// let found = EksPlugin::new().cluster_name("prod").detect(&probe)?;
/// assert_eq!(found.origin, "AWS::EKS::Container");
/// assert_eq!(found.aws.eks.unwrap().cluster_name.as_deref(), Some("prod"));
/// # Ok::<(), xray_core::plugins::NotDetected>(())
/// ```
#[derive(Debug, Clone)]
pub struct EksPlugin {
    cluster_name: Option<String>,
    cgroup_path: PathBuf,
    token_path: PathBuf,
}

impl Default for EksPlugin {
    fn default() -> Self {
        Self::new()
    }
}

impl EksPlugin {
    /// The plugin, without a cluster name.
    pub fn new() -> Self {
        Self {
            cluster_name: None,
            cgroup_path: PathBuf::from(DEFAULT_CGROUP_PATH),
            token_path: PathBuf::from(DEFAULT_K8S_TOKEN_PATH),
        }
    }

    /// The EKS cluster name, recorded as `aws.eks.cluster_name`.
    #[must_use]
    pub fn cluster_name(mut self, name: impl Into<String>) -> Self {
        self.cluster_name = Some(name.into()).filter(|n| !n.trim().is_empty());
        self
    }

    /// Reads the container id from this cgroup file instead of [`DEFAULT_CGROUP_PATH`].
    #[must_use]
    pub fn cgroup_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.cgroup_path = path.into();
        self
    }

    /// Looks for the service-account token here instead of [`DEFAULT_K8S_TOKEN_PATH`].
    #[must_use]
    pub fn token_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.token_path = path.into();
        self
    }
}

impl Plugin for EksPlugin {
    fn name(&self) -> &str {
        "eks"
    }

    fn detect(&self, probe: &Probe) -> Result<Detected, NotDetected> {
        if !self.token_path.exists() && probe.env("KUBERNETES_SERVICE_HOST").is_none() {
            return Err(NotDetected::new(format!(
                "not in Kubernetes: no {} and no KUBERNETES_SERVICE_HOST",
                self.token_path.display()
            )));
        }
        let eks = Eks {
            pod: container::hostname(probe),
            container_id: container::container_id(&self.cgroup_path),
            cluster_name: self.cluster_name.clone(),
            ..Eks::default()
        };
        let logs = self.cluster_name.as_ref().map(|cluster| {
            vec![CloudwatchLogs {
                log_group: Some(format!("/aws/containerinsights/{cluster}/application")),
                ..CloudwatchLogs::default()
            }]
        });
        Ok(Detected::new(ORIGIN_EKS).with_aws(|aws| {
            aws.eks = Some(Box::new(eks));
            aws.cloudwatch_logs = logs;
        }))
    }
}
