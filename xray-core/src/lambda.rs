//! AWS Lambda: recognising it, the invocation's trace header, and what the recorder does there.
//!
//! In Lambda the function's segment is created and sent by Lambda itself. The SDK's part is a
//! *facade*: an unsent segment built from the invocation's trace header
//! ([`Recorder::begin_facade`](crate::Recorder::begin_facade)), under which each subsegment is
//! sent as an independent document with the invocation's `trace_id` and `parent_id` as soon as it
//! completes. The `xray-lambda` crate begins one facade per invocation for `lambda_runtime`
//! functions; this module holds what does not depend on a runtime crate.
//!
//! # Where the trace header comes from
//!
//! Lambda hands it to the runtime in the `Lambda-Runtime-Trace-Id` header of each
//! `/runtime/invocation/next` answer; `lambda_runtime` exposes it as `Context::xray_trace_id`.
//! Managed runtimes (and `lambda_runtime` when it handles one invocation at a time) also put it
//! in `_X_AMZN_TRACE_ID`; [`trace_header_from_env`] reads that. Prefer the per-invocation value:
//! with concurrent invocations the variable is not set.
//!
//! | Header | What is recorded |
//! |---|---|
//! | `Root=..;Parent=..;Sampled=1` | the subsegments, sent with `trace_id` = `Root`, `parent_id` = `Parent` |
//! | `Root=..;Parent=..;Sampled=0` | nothing; downstream calls carry `Sampled=0` |
//! | `Root=..` only (tracing not active: "PassThrough") | nothing; downstream calls carry the `Root` |
//! | missing | nothing |
//!
//! # What the recorder does differently in Lambda
//!
//! When [`RecorderBuilder::build`](crate::RecorderBuilder::build) finds `LAMBDA_TASK_ROOT` or
//! `AWS_LAMBDA_FUNCTION_NAME` in the environment it reads (see
//! [`env_lookup`](crate::RecorderBuilder::env_lookup)):
//!
//! - unless a sampler was given, sampling is local only: the decision comes from Lambda's
//!   header, so no thread polls the daemon for centralized rules (as the Node and Python SDKs);
//! - plugins are not probed: segments there carry no `origin` or `aws` block of ours;
//! - the marker file `.aws-xray/initialized` is created (or touched) in the temporary
//!   directory, the handshake the Go and Python SDKs make with Lambda ([`initialized_marker`]).
//!
//! Facades need no streaming threshold: each subsegment directly under one is sent when it and
//! its children end, which is what the Node and Python SDKs get from a threshold of 0.

use std::path::PathBuf;
use std::time::SystemTime;

use crate::header::TraceHeader;

/// The invocation's trace header, set by managed runtimes (and by `lambda_runtime` when it runs
/// invocations one at a time).
pub const ENV_TRACE_ID: &str = "_X_AMZN_TRACE_ID";
/// Set in every Lambda execution environment: the function's code directory.
pub const ENV_TASK_ROOT: &str = "LAMBDA_TASK_ROOT";
/// Set in every Lambda execution environment: the function's name.
pub const ENV_FUNCTION_NAME: &str = "AWS_LAMBDA_FUNCTION_NAME";

/// Whether this process runs in AWS Lambda (`LAMBDA_TASK_ROOT` or `AWS_LAMBDA_FUNCTION_NAME` is
/// set).
pub fn is_lambda() -> bool {
    detected(&|name| std::env::var(name).ok())
}

pub(crate) fn detected(lookup: &dyn Fn(&str) -> Option<String>) -> bool {
    [ENV_TASK_ROOT, ENV_FUNCTION_NAME]
        .iter()
        .any(|name| lookup(name).is_some_and(|v| !v.trim().is_empty()))
}

/// The trace header in `_X_AMZN_TRACE_ID`, if it is set and well-formed (a malformed one is
/// logged at debug level and ignored).
pub fn trace_header_from_env() -> Option<TraceHeader> {
    parse_trace_header(&std::env::var(ENV_TRACE_ID).ok()?)
}

/// Parses an invocation's trace header (`Lambda-Runtime-Trace-Id`, `_X_AMZN_TRACE_ID`); `None`,
/// logged at debug level, when it is blank or malformed.
pub fn parse_trace_header(value: &str) -> Option<TraceHeader> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    match TraceHeader::parse(value) {
        Ok(header) => Some(header),
        Err(error) => {
            tracing::debug!(target: "xray", %error, "malformed Lambda trace header; this invocation is not traced");
            None
        }
    }
}

/// Where the Go and Python SDKs leave their "SDK initialised" marker: `.aws-xray/initialized`
/// in the temporary directory (`/tmp` in Lambda).
pub fn initialized_marker() -> PathBuf {
    std::env::temp_dir().join(".aws-xray").join("initialized")
}

/// Creates the marker file, or updates its modification time. Failures are logged at debug
/// level: the handshake is a courtesy, nothing depends on it.
pub(crate) fn signal_initialized() {
    let path = initialized_marker();
    let result = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
        })
        .and_then(|file| file.set_modified(SystemTime::now()));
    if let Err(error) = result {
        tracing::debug!(target: "xray", path = %path.display(), %error, "could not write the X-Ray SDK marker file");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_needs_a_non_blank_variable() {
        assert!(!detected(&|_| None));
        assert!(!detected(&|_| Some("  ".into())));
        assert!(detected(
            &|k| (k == ENV_TASK_ROOT).then(|| "/var/task".into())
        ));
        assert!(detected(
            &|k| (k == ENV_FUNCTION_NAME).then(|| "orders".into())
        ));
    }

    #[test]
    fn header_parsing() {
        let h = parse_trace_header(
            " Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1 ",
        )
        .unwrap();
        assert_eq!(h.root().to_string(), "1-5759e988-bd862e3fe1be46a994272793");
        assert!(parse_trace_header("").is_none());
        assert!(parse_trace_header("garbage").is_none());
    }
}
