//! The few blocking HTTP calls the EC2 and ECS plugins make to metadata endpoints.

use std::time::Duration;

/// Metadata documents are a few kilobytes.
const MAX_BODY_BYTES: u64 = 256 << 10;

/// What came back.
#[derive(Debug)]
pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) body: String,
}

impl Reply {
    pub(super) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

pub(super) struct Client {
    agent: ureq::Agent,
}

impl Client {
    pub(super) fn new() -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // Metadata endpoints are link-local: a proxy from HTTP_PROXY must never see them
            // (an IMDS token in a proxy's log is a credential leak).
            .proxy(None)
            .max_redirects(0)
            .user_agent(concat!("xray-rs/", env!("CARGO_PKG_VERSION")))
            .build();
        Self {
            agent: ureq::Agent::new_with_config(config),
        }
    }

    /// `GET url`, giving up after `timeout`.
    pub(super) fn get(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<Reply, String> {
        if timeout.is_zero() {
            return Err("no time left".to_owned());
        }
        let mut request = self
            .agent
            .get(url)
            .config()
            .timeout_global(Some(timeout))
            .build();
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        read(request.call())
    }

    /// `PUT url` with an empty body, giving up after `timeout`.
    pub(super) fn put(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<Reply, String> {
        if timeout.is_zero() {
            return Err("no time left".to_owned());
        }
        let mut request = self
            .agent
            .put(url)
            .config()
            .timeout_global(Some(timeout))
            .build();
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        read(request.send_empty())
    }
}

fn read(result: Result<http::Response<ureq::Body>, ureq::Error>) -> Result<Reply, String> {
    let response = result.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .with_config()
        .limit(MAX_BODY_BYTES)
        .lossy_utf8(true)
        .read_to_string()
        .map_err(|e| e.to_string())?;
    Ok(Reply { status, body })
}
