//! The local sampler: rules from a document or code, no network.

use std::fmt;
use std::sync::Arc;

use super::matcher::{Attr, Attributes, Conjunction};
use super::reservoir::Reservoir;
use super::{
    Clock, Sampler, SamplingDecision, SamplingRequest, SamplingRules, SystemClock, random,
};

/// Samples by [`SamplingRules`]: the first rule whose `host`, `http_method` and `url_path`
/// patterns match decides, else the default rule. Each rule takes up to `fixed_target` requests per
/// second, then samples `rate` of the rest.
///
/// This is the fallback of the [centralized sampler](super::CentralizedSampler) and what
/// [`RecorderBuilder::local_sampling_only`](crate::RecorderBuilder::local_sampling_only) installs.
/// Decisions take no lock and allocate nothing.
///
/// # Examples
///
/// ```
/// use xray_core::sampling::{LocalRule, LocalSampler, Sampler, SamplingRequest, SamplingRules};
///
/// let rules = SamplingRules::builder()
///     .rule(LocalRule::new(0, 0.0).url_path("/health"))
///     .build()?;
/// let sampler = LocalSampler::new(rules);
/// let health = SamplingRequest::new().method("GET").url_path("/health");
/// assert!(!sampler.decide(&health).is_sampled());
/// // The default rule samples the first request of each second.
/// assert!(sampler.decide(&SamplingRequest::new().url_path("/orders")).is_sampled());
/// # Ok::<(), xray_core::sampling::SamplingRulesError>(())
/// ```
pub struct LocalSampler {
    rules: SamplingRules,
    compiled: Box<[CompiledRule]>,
    default: Target,
    clock: Arc<dyn Clock>,
}

struct CompiledRule {
    patterns: Conjunction,
    target: Target,
}

struct Target {
    fixed_target: u32,
    threshold: u64,
    reservoir: Reservoir,
}

impl Target {
    fn new(fixed_target: u32, rate: f64) -> Self {
        Self {
            fixed_target,
            threshold: random::threshold(rate),
            reservoir: Reservoir::new(),
        }
    }

    #[inline]
    fn sample(&self, now_secs: u64) -> bool {
        self.reservoir.take(now_secs, self.fixed_target) || random::chance(self.threshold)
    }
}

impl LocalSampler {
    /// A sampler for `rules`, on the system clock.
    pub fn new(rules: SamplingRules) -> Self {
        Self::with_clock(rules, SystemClock)
    }

    /// A sampler for `rules` on another clock (tests simulate time with it).
    pub fn with_clock(rules: SamplingRules, clock: impl Clock) -> Self {
        Self::with_shared_clock(rules, Arc::new(clock))
    }

    pub(crate) fn with_shared_clock(rules: SamplingRules, clock: Arc<dyn Clock>) -> Self {
        let compiled = rules
            .rules()
            .iter()
            .map(|r| CompiledRule {
                patterns: Conjunction::new([
                    (Attr::Host, r.host_pattern(), false),
                    (Attr::Method, r.http_method_pattern(), false),
                    (Attr::UrlPath, r.url_path_pattern(), false),
                ]),
                target: Target::new(r.fixed_target(), r.rate()),
            })
            .collect();
        let default = Target::new(rules.default_fixed_target(), rules.default_rate());
        Self {
            rules,
            compiled,
            default,
            clock,
        }
    }

    /// The rules this sampler applies.
    pub fn rules(&self) -> &SamplingRules {
        &self.rules
    }

    /// Decides at `now_secs` (Unix seconds) — the centralized sampler has already read the clock.
    #[inline]
    pub(crate) fn sample_at(&self, request: &SamplingRequest<'_>, now_secs: u64) -> bool {
        let target = if self.compiled.is_empty() {
            &self.default
        } else {
            let attributes = Attributes::http(request);
            let mut target = &self.default;
            for rule in &self.compiled {
                if rule.patterns.matches(&attributes) {
                    target = &rule.target;
                    break;
                }
            }
            target
        };
        target.sample(now_secs)
    }
}

impl Sampler for LocalSampler {
    fn decide(&self, request: &SamplingRequest<'_>) -> SamplingDecision {
        if self.sample_at(request, self.clock.now().as_secs()) {
            SamplingDecision::sampled()
        } else {
            SamplingDecision::not_sampled()
        }
    }
}

impl Default for LocalSampler {
    /// One request per second plus 5% of the rest.
    fn default() -> Self {
        Self::new(SamplingRules::default())
    }
}

impl fmt::Debug for LocalSampler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSampler")
            .field("rules", &self.rules)
            .field("clock", &self.clock)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sampling::LocalRule;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    #[derive(Debug, Default)]
    struct Secs(AtomicU64);
    impl Clock for Secs {
        fn now(&self) -> Duration {
            Duration::from_secs(self.0.load(Ordering::Relaxed))
        }
    }

    #[test]
    fn rules_in_order_then_default() {
        let rules = SamplingRules::builder()
            .default_rule(0, 0.0)
            .rule(
                LocalRule::new(2, 0.0)
                    .host("*.example.com")
                    .url_path("/a/*"),
            )
            .rule(LocalRule::new(0, 1.0).http_method("POST"))
            .build()
            .unwrap();
        let clock = Arc::new(Secs::default());
        let s = LocalSampler::with_clock(rules, clock.clone());
        let a = SamplingRequest::new()
            .host("API.example.com")
            .url_path("/a/1");
        assert!(s.decide(&a).is_sampled());
        assert!(s.decide(&a).is_sampled());
        assert!(
            !s.decide(&a).is_sampled(),
            "the reservoir holds 2 per second"
        );
        clock.0.store(1, Ordering::Relaxed);
        assert!(s.decide(&a).is_sampled(), "a new second refills it");
        // First match wins even if a later rule would sample: a POST to /a/1 is rule 0's.
        let post_a = SamplingRequest::new()
            .host("x.example.com")
            .method("POST")
            .url_path("/a/1");
        assert!(s.decide(&post_a).is_sampled());
        assert!(!s.decide(&post_a).is_sampled());
        // Absent attributes match: no host, a POST elsewhere → rule 1 (rate 1).
        let post_c = SamplingRequest::new().method("post").url_path("/c");
        assert!(s.decide(&post_c).is_sampled());
        // Nothing matches → default (0, 0).
        assert!(
            !s.decide(&SamplingRequest::new().method("GET").url_path("/b"))
                .is_sampled()
        );
        assert!(
            s.decide(&SamplingRequest::new().method("GET").url_path("/b"))
                .rule_name()
                .is_none()
        );
    }
}
