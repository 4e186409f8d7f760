//! Sampling: which requests are traced.
//!
//! A [`Sampler`] looks at a [`SamplingRequest`] (host, method, path, service name and type) and
//! returns a [`SamplingDecision`]. A decision that came with the request (`Sampled=1` or
//! `Sampled=0` in the trace header) is always obeyed and the sampler is not asked; `Sampled=?` or
//! no header asks it, and the response header reports its answer.
//!
//! # The samplers
//!
//! - [`CentralizedSampler`] — the [`Recorder`](crate::Recorder)'s default, as in the Go, Java and
//!   Python SDKs: rules and quotas from the X-Ray console, polled from the daemon's sampling proxy
//!   (the TCP side of `AWS_XRAY_DAEMON_ADDRESS`) by a background thread, with local rules as the
//!   fallback. Needs the `centralized-sampling` feature (on by default).
//! - [`LocalSampler`] — [`SamplingRules`] from a file, a string or code; no network.
//!   [`RecorderBuilder::local_sampling_only`](crate::RecorderBuilder::local_sampling_only) picks
//!   it.
//! - [`AlwaysSample`], [`NeverSample`] — for tests and development.
//! - Your own: implement [`Sampler`] and pass it to
//!   [`RecorderBuilder::sampler`](crate::RecorderBuilder::sampler).
//!
//! The default rule of both rule-based samplers is the official SDKs': one request per second
//! plus 5% of the rest.
//!
//! # Example
//!
//! ```
//! use xray_core::{Recorder, emit::MemoryEmitter};
//! use xray_core::sampling::{LocalRule, SamplingRequest, SamplingRules};
//!
//! let rules = SamplingRules::builder()
//!     .rule(LocalRule::new(0, 0.0).description("no health checks").url_path("/health"))
//!     .build()?;
//! let recorder = Recorder::builder()
//!     .emitter(MemoryEmitter::new())
//!     .sampling_rules(rules)
//!     .local_sampling_only()
//!     .ignore_env()
//!     .build()?;
//! let health = recorder
//!     .segment("api")
//!     .sampling_request(SamplingRequest::new().method("GET").url_path("/health"))
//!     .begin();
//! assert!(!health.is_sampled());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Cost
//!
//! Decisions of the built-in samplers take no lock and allocate nothing: reservoirs are single
//! atomic words, the time comes from a coarse clock ([`SystemClock`]), random numbers from a
//! per-thread generator, and centralized rules are swapped in with `arc-swap`. `cargo bench -p
//! xray-core --bench sampling` measures them.

// Without the feature, the docs still describe the default and link to what is compiled out.
#![cfg_attr(
    not(feature = "centralized-sampling"),
    allow(rustdoc::broken_intra_doc_links)
)]

#[cfg(feature = "centralized-sampling")]
pub(crate) mod centralized;
mod clock;
mod local;
mod matcher;
mod random;
mod reservoir;
mod rules;
pub(crate) mod setup;
mod wildcard;

use std::fmt;
use std::sync::Arc;

#[cfg(feature = "centralized-sampling")]
#[cfg_attr(docsrs, doc(cfg(feature = "centralized-sampling")))]
pub use self::centralized::{
    CentralizedSampler, CentralizedSamplerBuilder, DEFAULT_RULES_POLL_INTERVAL,
    DEFAULT_TARGETS_POLL_INTERVAL,
};
pub use self::clock::{Clock, SystemClock};
pub use self::local::LocalSampler;
pub use self::rules::{LocalRule, SamplingRules, SamplingRulesBuilder, SamplingRulesError};
pub use self::wildcard::wildcard_match;

/// Decides whether a request is traced.
///
/// Implementations are called on the request path: they must be fast and must not block.
pub trait Sampler: Send + Sync + fmt::Debug + 'static {
    /// Decides for one request.
    fn decide(&self, request: &SamplingRequest<'_>) -> SamplingDecision;

    /// Stops background work, such as the [`CentralizedSampler`]'s poller. Called by
    /// [`Recorder::shutdown`](crate::Recorder::shutdown); decisions must keep working afterwards.
    /// The default does nothing.
    fn shutdown(&self) {}
}

impl<S: Sampler + ?Sized> Sampler for Arc<S> {
    fn decide(&self, request: &SamplingRequest<'_>) -> SamplingDecision {
        (**self).decide(request)
    }

    fn shutdown(&self) {
        (**self).shutdown();
    }
}

/// What a sampler knows about a request. Absent attributes match any rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SamplingRequest<'a> {
    /// The `Host` header.
    pub host: Option<&'a str>,
    /// The HTTP method.
    pub method: Option<&'a str>,
    /// The URL path, without query string.
    pub url_path: Option<&'a str>,
    /// The segment name.
    pub service_name: Option<&'a str>,
    /// The segment's `origin`, e.g. `AWS::EC2::Instance`.
    pub service_type: Option<&'a str>,
    /// The ARN of the resource running the application.
    pub resource_arn: Option<&'a str>,
}

impl<'a> SamplingRequest<'a> {
    /// A request with no attributes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the host.
    #[must_use]
    pub fn host(mut self, host: &'a str) -> Self {
        self.host = Some(host);
        self
    }

    /// Sets the method.
    #[must_use]
    pub fn method(mut self, method: &'a str) -> Self {
        self.method = Some(method);
        self
    }

    /// Sets the URL path.
    #[must_use]
    pub fn url_path(mut self, path: &'a str) -> Self {
        self.url_path = Some(path);
        self
    }

    /// Sets the service name.
    #[must_use]
    pub fn service_name(mut self, name: &'a str) -> Self {
        self.service_name = Some(name);
        self
    }

    /// Sets the service type.
    #[must_use]
    pub fn service_type(mut self, service_type: &'a str) -> Self {
        self.service_type = Some(service_type);
        self
    }

    /// Sets the resource ARN.
    #[must_use]
    pub fn resource_arn(mut self, arn: &'a str) -> Self {
        self.resource_arn = Some(arn);
        self
    }
}

/// A sampler's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamplingDecision {
    sampled: bool,
    rule_name: Option<Arc<str>>,
}

impl SamplingDecision {
    /// Trace this request.
    pub const fn sampled() -> Self {
        Self {
            sampled: true,
            rule_name: None,
        }
    }

    /// Do not trace this request.
    pub const fn not_sampled() -> Self {
        Self {
            sampled: false,
            rule_name: None,
        }
    }

    /// Trace this request, as chosen by a centralized sampling rule (recorded in the segment as
    /// `aws.xray.sampling_rule_name`).
    pub fn sampled_by_rule(rule_name: Arc<str>) -> Self {
        Self {
            sampled: true,
            rule_name: Some(rule_name),
        }
    }

    /// Whether the request is traced.
    pub const fn is_sampled(&self) -> bool {
        self.sampled
    }

    /// The centralized rule that sampled the request, if any.
    pub fn rule_name(&self) -> Option<&str> {
        self.rule_name.as_deref()
    }
}

/// Samples every request. For tests and development.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlwaysSample;

impl Sampler for AlwaysSample {
    fn decide(&self, _: &SamplingRequest<'_>) -> SamplingDecision {
        SamplingDecision::sampled()
    }
}

/// Samples nothing (unless the request arrives with `Sampled=1`).
#[derive(Debug, Clone, Copy, Default)]
pub struct NeverSample;

impl Sampler for NeverSample {
    fn decide(&self, _: &SamplingRequest<'_>) -> SamplingDecision {
        SamplingDecision::not_sampled()
    }
}
