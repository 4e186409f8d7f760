//! Elastic Beanstalk: the environment file the platform writes for the X-Ray SDKs.

use std::path::PathBuf;

use serde_json::Value;

use super::container::read_small;
use super::{Detected, NotDetected, ORIGIN_ELASTIC_BEANSTALK, Plugin, Probe};
use crate::model::ElasticBeanstalk;

/// Where Elastic Beanstalk writes the environment file (every official SDK reads this path).
pub const DEFAULT_ELASTIC_BEANSTALK_CONFIG: &str = "/var/elasticbeanstalk/xray/environment.conf";

/// Records the Elastic Beanstalk environment: `origin: AWS::ElasticBeanstalk::Environment` and
/// `aws.elastic_beanstalk` (`environment_name`, `version_label`, `deployment_id`) from the JSON
/// file the platform writes, [`DEFAULT_ELASTIC_BEANSTALK_CONFIG`].
///
/// Other keys of the file are kept as they are, as the Java SDK does. Detected when the file is a
/// JSON object with at least one key. See the [module docs](super).
///
/// ```
/// use std::time::Duration;
/// use xray_core::plugins::{ElasticBeanstalkPlugin, Plugin, Probe};
///
/// let dir = std::env::temp_dir().join(format!("xray-doc-eb-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let file = dir.join("environment.conf");
/// std::fs::write(&file, r#"{"deployment_id":23,"version_label":"v-23","environment_name":"orders-prod"}"#)?;
///
/// let found = ElasticBeanstalkPlugin::new()
///     .config_path(&file)
///     .detect(&Probe::new(Duration::from_millis(300)))?;
/// let eb = found.aws.elastic_beanstalk.unwrap();
/// assert_eq!(eb.environment_name.as_deref(), Some("orders-prod"));
/// assert_eq!(eb.deployment_id, Some(23));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ElasticBeanstalkPlugin {
    path: PathBuf,
}

impl Default for ElasticBeanstalkPlugin {
    fn default() -> Self {
        Self::new()
    }
}

impl ElasticBeanstalkPlugin {
    /// The plugin, reading [`DEFAULT_ELASTIC_BEANSTALK_CONFIG`].
    pub fn new() -> Self {
        Self {
            path: PathBuf::from(DEFAULT_ELASTIC_BEANSTALK_CONFIG),
        }
    }

    /// Reads the environment file at `path` instead (for tests and unusual platforms).
    #[must_use]
    pub fn config_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = path.into();
        self
    }
}

impl Plugin for ElasticBeanstalkPlugin {
    fn name(&self) -> &str {
        "elastic_beanstalk"
    }

    fn detect(&self, _probe: &Probe) -> Result<Detected, NotDetected> {
        let path = self.path.display();
        let text = read_small(&self.path)
            .map_err(|e| NotDetected::new(format!("cannot read {path}: {e}")))?;
        let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(&text) else {
            return Err(NotDetected::new(format!("{path} is not a JSON object")));
        };
        if fields.is_empty() {
            return Err(NotDetected::new(format!("{path} is empty")));
        }
        let mut eb = ElasticBeanstalk::default();
        for (key, value) in fields {
            match (key.as_str(), value) {
                ("environment_name", Value::String(s)) => eb.environment_name = Some(s),
                ("version_label", Value::String(s)) => eb.version_label = Some(s),
                ("version_label", Value::Number(n)) => eb.version_label = Some(n.to_string()),
                ("deployment_id", Value::Number(n)) if n.as_i64().is_some() => {
                    eb.deployment_id = n.as_i64();
                }
                ("deployment_id", Value::String(s)) if s.trim().parse::<i64>().is_ok() => {
                    eb.deployment_id = s.trim().parse().ok();
                }
                (_, value) => {
                    eb.extra.insert(key, value);
                }
            }
        }
        Ok(Detected::new(ORIGIN_ELASTIC_BEANSTALK)
            .with_aws(|aws| aws.elastic_beanstalk = Some(Box::new(eb))))
    }
}
