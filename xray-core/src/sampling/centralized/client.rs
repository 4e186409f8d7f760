//! The unsigned HTTP calls to the daemon's sampling proxy (Java `UnsignedXrayClient`), blocking,
//! made from the poller thread only.

use std::fmt;
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::wire::{
    GET_SAMPLING_RULES_BODY, GetSamplingRulesOutput, GetSamplingTargetsInput,
    GetSamplingTargetsOutput, SamplingStatisticsDocument,
};
use crate::daemon::Endpoint;

/// Bodies above this are not X-Ray answers (GetSamplingRules pages hold at most 100 rules).
const MAX_BODY_BYTES: u64 = 4 << 20;

pub(super) struct Client {
    agent: ureq::Agent,
    rules_url: String,
    targets_url: String,
}

/// Why a call failed, sorted by how loudly to say so.
#[derive(Debug)]
pub(super) enum FetchError {
    /// Nothing answered (no daemon, refused, timed out): expected where no daemon runs.
    Unreachable(String),
    /// Something answered, but not with what X-Ray answers.
    Garbage(String),
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreachable(m) | Self::Garbage(m) => f.write_str(m),
        }
    }
}

impl Client {
    pub(super) fn new(endpoint: &Endpoint, timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .user_agent(concat!("xray-rs/", env!("CARGO_PKG_VERSION")))
            .build();
        Self {
            agent: ureq::Agent::new_with_config(config),
            rules_url: format!("http://{endpoint}/GetSamplingRules"),
            // `/SamplingTargets`, not `/GetSamplingTargets`: the REST path of GetSamplingTargets.
            targets_url: format!("http://{endpoint}/SamplingTargets"),
        }
    }

    pub(super) fn get_sampling_rules(&self) -> Result<GetSamplingRulesOutput, FetchError> {
        self.post(&self.rules_url, GET_SAMPLING_RULES_BODY.to_vec())
    }

    pub(super) fn get_sampling_targets(
        &self,
        documents: &[SamplingStatisticsDocument],
    ) -> Result<GetSamplingTargetsOutput, FetchError> {
        let body = serde_json::to_vec(&GetSamplingTargetsInput {
            sampling_statistics_documents: documents,
        })
        .map_err(|e| FetchError::Garbage(format!("cannot serialize statistics: {e}")))?;
        self.post(&self.targets_url, body)
    }

    fn post<T: DeserializeOwned>(&self, url: &str, body: Vec<u8>) -> Result<T, FetchError> {
        let response = self
            .agent
            .post(url)
            .header("Content-Type", "application/json")
            .send(body)
            .map_err(classify)?;
        let status = response.status();
        let text = response
            .into_body()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .lossy_utf8(true)
            .read_to_string()
            .map_err(classify)?;
        if !status.is_success() {
            return Err(FetchError::Garbage(format!(
                "HTTP {status}: {}",
                snippet(&text)
            )));
        }
        serde_json::from_str(&text).map_err(|e| {
            FetchError::Garbage(format!("unexpected response ({e}): {}", snippet(&text)))
        })
    }
}

fn classify(err: ureq::Error) -> FetchError {
    match err {
        ureq::Error::Io(_)
        | ureq::Error::Timeout(_)
        | ureq::Error::HostNotFound
        | ureq::Error::ConnectionFailed => FetchError::Unreachable(err.to_string()),
        other => FetchError::Garbage(other.to_string()),
    }
}

/// The start of a body, for a log line.
fn snippet(text: &str) -> String {
    let s: String = text.chars().take(200).collect();
    if s.len() < text.len() { s + "…" } else { s }
}
