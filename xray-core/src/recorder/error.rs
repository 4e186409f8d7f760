use std::fmt;

use crate::daemon::DaemonAddressError;

/// A configuration problem found when building a [`Recorder`](crate::Recorder).
///
/// The message names what is wrong: the environment variable and its value, or the option.
#[derive(Debug)]
pub struct ConfigError {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Env {
        var: &'static str,
        value: String,
        expected: &'static str,
    },
    DaemonAddress {
        var: Option<&'static str>,
        source: DaemonAddressError,
    },
    Other {
        what: String,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl ConfigError {
    pub(crate) fn env(var: &'static str, value: &str, expected: &'static str) -> Self {
        Self {
            kind: Kind::Env {
                var,
                value: value.chars().take(200).collect(),
                expected,
            },
        }
    }

    pub(crate) fn daemon_address(var: Option<&'static str>, source: DaemonAddressError) -> Self {
        Self {
            kind: Kind::DaemonAddress { var, source },
        }
    }

    /// Any other configuration problem, described by `what`, with an optional underlying error
    /// (for example a sampling rules file that does not parse).
    pub fn other(
        what: impl Into<String>,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            kind: Kind::Other {
                what: what.into(),
                source,
            },
        }
    }

    /// The environment variable at fault, if the problem came from one.
    pub fn env_var(&self) -> Option<&'static str> {
        match &self.kind {
            Kind::Env { var, .. } => Some(var),
            Kind::DaemonAddress { var, .. } => *var,
            Kind::Other { .. } => None,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Env {
                var,
                value,
                expected,
            } => write!(f, "invalid {var}={value:?}: expected {expected}"),
            Kind::DaemonAddress { var: Some(var), .. } => write!(f, "invalid {var}"),
            Kind::DaemonAddress { var: None, .. } => f.write_str("invalid daemon address"),
            Kind::Other { what, .. } => f.write_str(what),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            Kind::Env { .. } => None,
            Kind::DaemonAddress { source, .. } => Some(source),
            Kind::Other { source, .. } => source
                .as_deref()
                .map(|e| e as &(dyn std::error::Error + 'static)),
        }
    }
}

/// Returned by [`Recorder::set_global_default`](crate::Recorder::set_global_default) when a global
/// recorder is already in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetGlobalDefaultError {
    _priv: (),
}

impl SetGlobalDefaultError {
    pub(crate) const fn new() -> Self {
        Self { _priv: () }
    }
}

impl fmt::Display for SetGlobalDefaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a global X-Ray recorder is already set (or was already used)")
    }
}

impl std::error::Error for SetGlobalDefaultError {}
