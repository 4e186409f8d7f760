//! The `AWS_XRAY_*` environment variables, parsed into typed settings in one place.
//!
//! | Variable | Values | Effect |
//! |---|---|---|
//! | `AWS_XRAY_DAEMON_ADDRESS` | `host:port`, `tcp:host:port udp:host:port` | daemon endpoints (overrides code) |
//! | `AWS_XRAY_CONTEXT_MISSING` | `LOG_ERROR`, `IGNORE_ERROR`, `RUNTIME_ERROR` | context-missing strategy (overrides code) |
//! | `AWS_XRAY_TRACING_NAME` | any name | segment name for the service (overrides code) |
//! | `AWS_XRAY_SDK_ENABLED` | `true/false`, `1/0`, `yes/no`, `on/off`, `t/f`, `y/n` | `false` turns everything into no-ops |
//! | `AWS_XRAY_SDK_DISABLED` | `true/false` | `true` turns everything into no-ops (Go SDK's variable) |

use crate::context::ContextMissingStrategy;
use crate::daemon::{DaemonAddress, ENV_DAEMON_ADDRESS};

use super::ConfigError;

/// `AWS_XRAY_CONTEXT_MISSING`.
pub const ENV_CONTEXT_MISSING: &str = "AWS_XRAY_CONTEXT_MISSING";
/// `AWS_XRAY_TRACING_NAME`.
pub const ENV_TRACING_NAME: &str = "AWS_XRAY_TRACING_NAME";
/// `AWS_XRAY_SDK_ENABLED`.
pub const ENV_SDK_ENABLED: &str = "AWS_XRAY_SDK_ENABLED";
/// `AWS_XRAY_SDK_DISABLED`.
pub const ENV_SDK_DISABLED: &str = "AWS_XRAY_SDK_DISABLED";

/// Settings read from the environment; `None` where the variable is unset.
#[derive(Debug, Default)]
pub(crate) struct EnvSettings {
    pub(crate) daemon: Option<DaemonAddress>,
    pub(crate) context_missing: Option<ContextMissingStrategy>,
    pub(crate) tracing_name: Option<String>,
    pub(crate) enabled: Option<bool>,
}

pub(crate) type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

pub(crate) fn read(lookup: Lookup<'_>) -> Result<EnvSettings, ConfigError> {
    let get = |var: &str| lookup(var).filter(|v| !v.trim().is_empty());
    let mut s = EnvSettings::default();
    if let Some(v) = get(ENV_DAEMON_ADDRESS) {
        s.daemon = Some(
            v.parse()
                .map_err(|e| ConfigError::daemon_address(Some(ENV_DAEMON_ADDRESS), e))?,
        );
    }
    if let Some(v) = get(ENV_CONTEXT_MISSING) {
        s.context_missing = Some(v.parse().map_err(|()| {
            ConfigError::env(
                ENV_CONTEXT_MISSING,
                &v,
                "LOG_ERROR, IGNORE_ERROR or RUNTIME_ERROR",
            )
        })?);
    }
    if let Some(v) = get(ENV_TRACING_NAME) {
        s.tracing_name = Some(crate::segment::sanitize_name(v.trim()).into_owned());
    }
    if let Some(v) = get(ENV_SDK_ENABLED) {
        s.enabled = Some(parse_bool(&v).ok_or_else(|| {
            ConfigError::env(
                ENV_SDK_ENABLED,
                &v,
                "true or false (or 1/0, yes/no, on/off)",
            )
        })?);
    }
    if let Some(v) = get(ENV_SDK_DISABLED) {
        let disabled = parse_bool(&v).ok_or_else(|| {
            ConfigError::env(
                ENV_SDK_DISABLED,
                &v,
                "true or false (or 1/0, yes/no, on/off)",
            )
        })?;
        if disabled {
            s.enabled = Some(false);
        }
    }
    Ok(s)
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "y" | "yes" | "t" | "on" => Some(true),
        "false" | "0" | "n" | "no" | "f" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read_map(pairs: &[(&str, &str)]) -> Result<EnvSettings, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        read(&move |k: &str| map.get(k).cloned())
    }

    #[test]
    fn all_unset() {
        let s = read_map(&[]).unwrap();
        assert!(s.daemon.is_none() && s.context_missing.is_none() && s.enabled.is_none());
    }

    #[test]
    fn values() {
        let s = read_map(&[
            ("AWS_XRAY_DAEMON_ADDRESS", "xray:2000"),
            ("AWS_XRAY_CONTEXT_MISSING", "IGNORE_ERROR"),
            ("AWS_XRAY_TRACING_NAME", "my svc?"),
            ("AWS_XRAY_SDK_ENABLED", "off"),
        ])
        .unwrap();
        assert_eq!(s.daemon.unwrap().udp().to_string(), "xray:2000");
        assert_eq!(s.context_missing, Some(ContextMissingStrategy::IgnoreError));
        assert_eq!(s.tracing_name.as_deref(), Some("my svc"));
        assert_eq!(s.enabled, Some(false));
        assert_eq!(
            read_map(&[("AWS_XRAY_SDK_DISABLED", "TRUE")])
                .unwrap()
                .enabled,
            Some(false)
        );
        assert_eq!(
            read_map(&[("AWS_XRAY_SDK_DISABLED", "false")])
                .unwrap()
                .enabled,
            None
        );
    }

    #[test]
    fn errors_name_the_variable() {
        for (var, value) in [
            ("AWS_XRAY_DAEMON_ADDRESS", "nonsense"),
            ("AWS_XRAY_CONTEXT_MISSING", "PANIC"),
            ("AWS_XRAY_SDK_ENABLED", "maybe"),
            ("AWS_XRAY_SDK_DISABLED", "2"),
        ] {
            let err = read_map(&[(var, value)]).unwrap_err();
            assert_eq!(err.env_var(), Some(var));
            let msg = format!(
                "{err}: {}",
                std::error::Error::source(&err)
                    .map(|s| s.to_string())
                    .unwrap_or_default()
            );
            assert!(msg.contains(var), "{msg}");
            assert!(msg.contains(value), "{msg}");
        }
    }
}
