//! Sampling: which requests are traced.
//!
//! A [`Sampler`] looks at a [`SamplingRequest`] (host, method, path, service name and type) and
//! returns a [`SamplingDecision`]. A decision that came with the request (`Sampled=1` or
//! `Sampled=0` in the trace header) is always obeyed and the sampler is not asked.

mod wildcard;

use std::fmt;
use std::sync::Arc;

pub use self::wildcard::wildcard_match;

/// Decides whether a request is traced.
///
/// Implementations are called on the request path: they must be fast and must not block.
pub trait Sampler: Send + Sync + fmt::Debug + 'static {
    /// Decides for one request.
    fn decide(&self, request: &SamplingRequest<'_>) -> SamplingDecision;
}

impl<S: Sampler + ?Sized> Sampler for Arc<S> {
    fn decide(&self, request: &SamplingRequest<'_>) -> SamplingDecision {
        (**self).decide(request)
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
