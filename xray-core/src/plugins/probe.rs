//! What a plugin gets to probe with: the environment and the shared deadline.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Reads an environment variable (the process environment, or a test's map).
pub(crate) type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The environment and the deadline a [`Plugin`](super::Plugin) probes with.
///
/// Plugins get it from the recorder builder; build one yourself to try a plugin on its own.
///
/// ```
/// use std::time::Duration;
/// use xray_core::plugins::{ElasticBeanstalkPlugin, Plugin, Probe};
///
/// let probe = Probe::with_env(Duration::from_millis(300), |_| None);
/// let missing = ElasticBeanstalkPlugin::new().config_path("/nonexistent/environment.conf");
/// assert!(missing.detect(&probe).is_err());
/// ```
#[derive(Clone)]
pub struct Probe {
    env: EnvLookup,
    deadline: Instant,
}

impl Probe {
    /// A probe of the process environment that ends `timeout` from now.
    pub fn new(timeout: Duration) -> Self {
        Self::with_env(timeout, |name| std::env::var(name).ok())
    }

    /// A probe that reads variables through `lookup` and ends `timeout` from now.
    pub fn with_env(
        timeout: Duration,
        lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        Self::from_parts(Arc::new(lookup), Instant::now() + timeout)
    }

    pub(crate) fn from_parts(env: EnvLookup, deadline: Instant) -> Self {
        Self { env, deadline }
    }

    /// The value of an environment variable, trimmed; `None` when unset or blank.
    pub fn env(&self, name: &str) -> Option<String> {
        (self.env)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// When probing must be over.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The time left before the deadline (zero once it has passed).
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}

impl fmt::Debug for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Probe")
            .field("remaining", &self.remaining())
            .finish_non_exhaustive()
    }
}
