//! How the [`Recorder`](crate::Recorder) picks its sampler when none is given.

use std::path::PathBuf;
use std::sync::Arc;

use super::{LocalSampler, NeverSample, Sampler, SamplingRules};
use crate::ConfigError;
use crate::daemon::DaemonAddress;

/// The sampling choices of a `RecorderBuilder`.
#[derive(Debug, Default)]
pub(crate) struct SamplerSetup {
    rules: Rules,
    local_only: bool,
}

#[derive(Debug, Default)]
enum Rules {
    #[default]
    Default,
    Given(SamplingRules),
    File(PathBuf),
}

impl SamplerSetup {
    pub(crate) fn set_rules(&mut self, rules: SamplingRules) {
        self.rules = Rules::Given(rules);
    }

    pub(crate) fn set_rules_file(&mut self, path: PathBuf) {
        self.rules = Rules::File(path);
    }

    pub(crate) fn set_local_only(&mut self) {
        self.local_only = true;
    }

    /// The sampler: centralized with the local rules as fallback, polling the TCP side of
    /// `daemon`, unless local sampling was asked for (or the `centralized-sampling` feature is
    /// off). A disabled recorder never asks its sampler, so it gets one without a poller.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the file, rule and field when the rules file is bad.
    pub(crate) fn build(
        self,
        daemon: &DaemonAddress,
        enabled: bool,
    ) -> Result<Arc<dyn Sampler>, ConfigError> {
        if !enabled {
            return Ok(Arc::new(NeverSample));
        }
        let rules = match self.rules {
            Rules::Default => SamplingRules::default(),
            Rules::Given(rules) => rules,
            Rules::File(path) => SamplingRules::from_file(path)?,
        };
        #[cfg(feature = "centralized-sampling")]
        if !self.local_only {
            return Ok(Arc::new(
                super::CentralizedSampler::builder(daemon.tcp().clone())
                    .local_rules(rules)
                    .build(),
            ));
        }
        #[cfg(not(feature = "centralized-sampling"))]
        let _ = (daemon, self.local_only);
        Ok(Arc::new(LocalSampler::new(rules)))
    }
}
