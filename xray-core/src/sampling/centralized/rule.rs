//! Centralized rules: the manifest the poller swaps in, and per-rule state the decision path
//! updates with atomics only.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};

use super::wire::{self, SamplingRule, SamplingStatisticsDocument, SamplingTargetDocument};
use crate::sampling::matcher::{Attr, Attributes, Conjunction};
use crate::sampling::reservoir::{MAX_CAPACITY, Reservoir};
use crate::sampling::{SamplingDecision, SamplingRequest, random};

/// Rules fetched longer ago than this are not used (Go `manifestTTL`, Java `TTL`).
pub(super) const MANIFEST_TTL_SECS: u64 = 3600;
/// Seconds between statistics reports until X-Ray says otherwise.
const DEFAULT_INTERVAL_SECS: u64 = 10;
/// The catch-all rule every account has; it is tried last whatever its priority.
pub(super) const DEFAULT_RULE_NAME: &str = "Default";

/// The counters every decision writes, striped over cache lines by thread: threads deciding at
/// once then mostly write to lines of their own instead of bouncing one line between cores.
#[derive(Debug)]
struct Counters {
    stripes: [Stripe; STRIPES],
}

const STRIPES: usize = 8;

#[derive(Debug, Default)]
#[repr(align(64))]
struct Stripe {
    requests: AtomicU64,
    sampled: AtomicU64,
    borrowed: AtomicU64,
}

impl Default for Counters {
    fn default() -> Self {
        Self {
            stripes: std::array::from_fn(|_| Stripe::default()),
        }
    }
}

impl Counters {
    /// This thread's stripe.
    #[inline]
    fn mine(&self) -> &Stripe {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        thread_local! {
            static SLOT: Cell<usize> = const { Cell::new(usize::MAX) };
        }
        let slot = SLOT
            .try_with(|slot| {
                if slot.get() == usize::MAX {
                    slot.set(NEXT.fetch_add(1, Relaxed) % STRIPES);
                }
                slot.get()
            })
            .unwrap_or(0);
        &self.stripes[slot % STRIPES]
    }

    fn requests(&self) -> u64 {
        self.stripes.iter().map(|s| s.requests.load(Relaxed)).sum()
    }

    /// Takes and resets the totals: (requests, sampled, borrowed).
    fn take(&self) -> (u64, u64, u64) {
        let mut totals = (0, 0, 0);
        // Sampled and borrowed first: a decision counts its request before its outcome, so this
        // order never reports more sampled than requested.
        for s in &self.stripes {
            totals.1 += s.sampled.swap(0, Relaxed);
            totals.2 += s.borrowed.swap(0, Relaxed);
        }
        for s in &self.stripes {
            totals.0 += s.requests.swap(0, Relaxed);
        }
        totals
    }
}

/// What survives a rules refresh: quota, reservoir and counters, shared by name between the old
/// and the new manifest (Node `merge`).
#[derive(Debug)]
pub(super) struct RuleState {
    counters: Counters,
    reservoir: Reservoir,
    /// `FixedRate` as a [`random::threshold`].
    threshold: AtomicU64,
    /// `ReservoirSize`: borrowing is allowed only when it is above 0.
    reservoir_size: AtomicU32,
    quota: AtomicU32,
    /// Epoch seconds the quota is valid until (inclusive); 0 = no quota yet.
    quota_expires_at: AtomicU64,
    /// Epoch seconds of the last target update (0 = never, so the first report is due at once).
    refreshed_at: AtomicU64,
    interval: AtomicU64,
}

impl RuleState {
    fn new(fixed_rate: f64, reservoir_size: u32) -> Self {
        Self {
            counters: Counters::default(),
            reservoir: Reservoir::new(),
            threshold: AtomicU64::new(random::threshold(fixed_rate)),
            reservoir_size: AtomicU32::new(reservoir_size),
            quota: AtomicU32::new(0),
            quota_expires_at: AtomicU64::new(0),
            refreshed_at: AtomicU64::new(0),
            interval: AtomicU64::new(DEFAULT_INTERVAL_SECS),
        }
    }

    /// One decision for a matched rule (Go `CentralizedRule.Sample`, Java
    /// `doSampleCustomerRule`).
    #[inline]
    fn sample(&self, now: u64) -> bool {
        let c = self.counters.mine();
        c.requests.fetch_add(1, Relaxed);
        if now > self.quota_expires_at.load(Relaxed) {
            // No valid quota: borrow one request a second, and only from a rule that has a
            // reservoir. Borrowed requests are reported apart from sampled ones.
            if self.reservoir_size.load(Relaxed) > 0 && self.reservoir.borrow(now) {
                c.borrowed.fetch_add(1, Relaxed);
                return true;
            }
        } else if self.reservoir.take(now, self.quota.load(Relaxed)) {
            c.sampled.fetch_add(1, Relaxed);
            return true;
        }
        if random::chance(self.threshold.load(Relaxed)) {
            c.sampled.fetch_add(1, Relaxed);
            return true;
        }
        false
    }

    /// Takes and resets the counters when a report is due: something was matched and the
    /// interval X-Ray asked for has passed since the last target update (Go `stale`).
    fn snapshot(&self, now: u64) -> Option<(u64, u64, u64)> {
        let due = self
            .refreshed_at
            .load(Relaxed)
            .saturating_add(self.interval.load(Relaxed));
        if now < due || self.counters.requests() == 0 {
            return None;
        }
        Some(self.counters.take())
    }

    fn apply_target(&self, target: &SamplingTargetDocument, fixed_rate: f64, now: u64) {
        self.threshold.store(random::threshold(fixed_rate), Relaxed);
        if let Some(quota) = target.reservoir_quota {
            self.quota.store(clamp_u32(quota), Relaxed);
        }
        if let Some(ttl) = target.reservoir_quota_ttl {
            self.quota_expires_at.store(wire::epoch_secs(ttl), Relaxed);
        }
        if let Some(interval) = target.interval.filter(|i| *i > 0) {
            self.interval.store(
                u64::try_from(interval).unwrap_or(DEFAULT_INTERVAL_SECS),
                Relaxed,
            );
        }
        self.refreshed_at.store(now, Relaxed);
    }
}

fn clamp_u32(v: i64) -> u32 {
    u32::try_from(v.max(0))
        .unwrap_or(u32::MAX)
        .min(MAX_CAPACITY)
}

/// A rule as fetched, with its patterns compiled.
#[derive(Debug)]
pub(super) struct CentralRule {
    name: Arc<str>,
    priority: i64,
    patterns: Conjunction,
    state: Arc<RuleState>,
}

impl CentralRule {
    #[inline]
    fn decide(&self, now: u64) -> SamplingDecision {
        if self.state.sample(now) {
            SamplingDecision::sampled_by_rule(Arc::clone(&self.name))
        } else {
            SamplingDecision::not_sampled()
        }
    }

    pub(super) fn name(&self) -> &str {
        &self.name
    }
}

/// Why a fetched rule was left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Ignored {
    pub(super) rule: String,
    pub(super) reason: &'static str,
}

/// One successful `GetSamplingRules`: rules by priority, then `Default`.
#[derive(Debug)]
pub(super) struct Manifest {
    rules: Vec<CentralRule>,
    default: Option<CentralRule>,
    /// Epoch seconds, read before the request was sent so the cache never looks fresher than it
    /// is.
    fetched_at: u64,
}

impl Manifest {
    /// Builds the manifest from fetched rules, keeping the state of rules `previous` already had.
    pub(super) fn build(
        fetched: impl IntoIterator<Item = SamplingRule>,
        previous: Option<&Manifest>,
        fetched_at: u64,
    ) -> (Self, Vec<Ignored>) {
        let mut ignored = Vec::new();
        let mut rules = Vec::new();
        let mut default = None;
        for rule in fetched {
            let name = rule.rule_name.clone().unwrap_or_default();
            match Self::compile(rule, previous) {
                Ok(r) if r.name() == DEFAULT_RULE_NAME => default = Some(r),
                Ok(r) => rules.push(r),
                Err(reason) => ignored.push(Ignored { rule: name, reason }),
            }
        }
        rules.sort_by(|a, b| {
            a.priority
                .cmp(&b.priority)
                .then_with(|| a.name.cmp(&b.name))
        });
        (
            Self {
                rules,
                default,
                fetched_at,
            },
            ignored,
        )
    }

    /// Validity as in Go `refreshManifest` and Java `CentralizedRule.isValid`.
    fn compile(
        rule: SamplingRule,
        previous: Option<&Manifest>,
    ) -> Result<CentralRule, &'static str> {
        let SamplingRule {
            rule_name: Some(name),
            resource_arn: Some(resource_arn),
            priority: Some(priority),
            fixed_rate: Some(fixed_rate),
            reservoir_size: Some(reservoir_size),
            service_name: Some(service_name),
            service_type: Some(service_type),
            host: Some(host),
            http_method: Some(http_method),
            url_path: Some(url_path),
            version,
            attributes,
        } = rule
        else {
            return Err("a required field is missing");
        };
        if name.is_empty() {
            return Err("the rule name is empty");
        }
        if version != Some(1) {
            return Err("only version 1 rules are supported");
        }
        if attributes.is_some_and(|a| !a.is_empty()) {
            return Err("rules with attributes cannot be evaluated by an SDK");
        }
        if !(0.0..=1.0).contains(&fixed_rate) || reservoir_size < 0 {
            return Err("FixedRate or ReservoirSize out of range");
        }
        let reservoir_size = clamp_u32(reservoir_size);
        let state = match previous.and_then(|p| p.find(&name)) {
            Some(old) => {
                let s = Arc::clone(&old.state);
                s.threshold.store(random::threshold(fixed_rate), Relaxed);
                s.reservoir_size.store(reservoir_size, Relaxed);
                s
            }
            None => Arc::new(RuleState::new(fixed_rate, reservoir_size)),
        };
        Ok(CentralRule {
            name: name.into(),
            priority,
            // As Go `CentralizedRule.AppliesTo`: every attribute the request has must match, one
            // it lacks matches anything. The resource ARN is the exception: a rule for a
            // specific ARN applies only to requests that carry a matching one (without it the
            // SDKs ignore such rules altogether).
            patterns: Conjunction::new([
                (Attr::Host, host.as_str(), false),
                (Attr::UrlPath, url_path.as_str(), false),
                (Attr::Method, http_method.as_str(), false),
                (Attr::ServiceName, service_name.as_str(), false),
                (Attr::ServiceType, service_type.as_str(), false),
                (Attr::ResourceArn, resource_arn.as_str(), true),
            ]),
            state,
        })
    }

    pub(super) fn fetched_at(&self) -> u64 {
        self.fetched_at
    }

    pub(super) fn is_fresh(&self, now: u64) -> bool {
        now <= self.fetched_at.saturating_add(MANIFEST_TTL_SECS)
    }

    /// The rules in matching order, `Default` last.
    pub(super) fn iter(&self) -> impl Iterator<Item = &CentralRule> {
        self.rules.iter().chain(self.default.as_ref())
    }

    fn find(&self, name: &str) -> Option<&CentralRule> {
        self.iter().find(|r| r.name() == name)
    }

    /// The decision of the first rule that applies, if one does.
    #[inline]
    pub(super) fn decide(
        &self,
        request: &SamplingRequest<'_>,
        now: u64,
    ) -> Option<SamplingDecision> {
        let attributes = Attributes::all(request);
        // Plain loops: the iterator adapters were not fully inlined (see `Conjunction::matches`).
        for rule in &self.rules {
            if rule.patterns.matches(&attributes) {
                return Some(rule.decide(now));
            }
        }
        let default = self.default.as_ref()?;
        default
            .patterns
            .matches(&attributes)
            .then(|| default.decide(now))
    }

    /// Statistics of the rules whose report is due, counters reset.
    pub(super) fn snapshots(
        &self,
        now: u64,
        client_id: &'static str,
    ) -> Vec<SamplingStatisticsDocument> {
        self.iter()
            .filter_map(|r| {
                let (requests, sampled, borrowed) = r.state.snapshot(now)?;
                Some(SamplingStatisticsDocument {
                    rule_name: r.name().to_owned(),
                    client_id,
                    timestamp: now,
                    request_count: requests,
                    sampled_count: sampled,
                    borrow_count: borrowed,
                })
            })
            .collect()
    }

    /// Applies targets to the rules they name; returns the targets that named no rule or lacked a
    /// rate.
    pub(super) fn apply_targets(&self, targets: &[SamplingTargetDocument], now: u64) -> usize {
        let mut unusable = 0;
        for t in targets {
            let rule = t.rule_name.as_deref().and_then(|n| self.find(n));
            match (rule, t.fixed_rate) {
                (Some(rule), Some(rate)) if (0.0..=1.0).contains(&rate) => {
                    rule.state.apply_target(t, rate, now);
                }
                _ => unusable += 1,
            }
        }
        unusable
    }
}

/// A rule as the X-Ray API sends it, matching every request: what the tests and the fuzz targets
/// build their manifests from.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn catch_all_rule(name: &str, priority: i64, rate: f64, size: i64) -> SamplingRule {
    SamplingRule {
        rule_name: Some(name.into()),
        resource_arn: Some("*".into()),
        priority: Some(priority),
        fixed_rate: Some(rate),
        reservoir_size: Some(size),
        service_name: Some("*".into()),
        service_type: Some("*".into()),
        host: Some("*".into()),
        http_method: Some("*".into()),
        url_path: Some("*".into()),
        version: Some(1),
        attributes: Some(Default::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::catch_all_rule as rule;
    use super::*;

    fn target(
        name: &str,
        rate: f64,
        quota: Option<i64>,
        ttl: Option<f64>,
    ) -> SamplingTargetDocument {
        SamplingTargetDocument {
            rule_name: Some(name.into()),
            fixed_rate: Some(rate),
            reservoir_quota: quota,
            reservoir_quota_ttl: ttl,
            interval: Some(10),
        }
    }

    #[test]
    fn order_validity_and_default_last() {
        let mut specific_arn = rule("arn", 1, 1.0, 0);
        specific_arn.resource_arn = Some("arn:aws:lambda:*:*:function:f".into());
        let mut with_attrs = rule("attrs", 1, 1.0, 0);
        with_attrs.attributes = Some([("k".to_owned(), "v".to_owned())].into());
        let mut v2 = rule("v2", 1, 1.0, 0);
        v2.version = Some(2);
        let mut no_host = rule("nohost", 1, 1.0, 0);
        no_host.host = None;
        let (m, ignored) = Manifest::build(
            [
                rule("Default", 10000, 0.0, 0),
                rule("b", 5, 0.0, 0),
                rule("a", 5, 0.0, 0),
                rule("first", 1, 0.0, 0),
                specific_arn,
                with_attrs,
                v2,
                no_host,
            ],
            None,
            100,
        );
        let names: Vec<_> = m.iter().map(CentralRule::name).collect();
        assert_eq!(names, ["arn", "first", "a", "b", "Default"]);
        let ignored: Vec<_> = ignored.iter().map(|i| i.rule.as_str()).collect();
        assert_eq!(ignored, ["attrs", "v2", "nohost"]);
        // The ARN rule applies only to requests that carry a matching ARN.
        let plain = SamplingRequest::new().url_path("/");
        assert_eq!(m.decide(&plain, 100).map(|d| d.is_sampled()), Some(false));
        let lambda = plain.resource_arn("arn:aws:lambda:eu-west-1:1:function:f");
        assert_eq!(m.decide(&lambda, 100).unwrap().rule_name(), Some("arn"));
    }

    #[test]
    fn borrow_then_quota_then_rate_with_counts() {
        let (m, _) = Manifest::build([rule("r", 1, 0.0, 5)], None, 0);
        let req = SamplingRequest::new();
        let now = 1000;
        // No quota yet: one borrow per second, then the fixed rate (0).
        let sampled: Vec<bool> = (0..5)
            .map(|_| m.decide(&req, now).unwrap().is_sampled())
            .collect();
        assert_eq!(sampled, [true, false, false, false, false]);
        assert_eq!(m.decide(&req, now + 1).unwrap().rule_name(), Some("r"));
        let docs = m.snapshots(now + 1, "c");
        assert_eq!(
            (
                docs[0].request_count,
                docs[0].sampled_count,
                docs[0].borrow_count
            ),
            (6, 0, 2)
        );
        assert!(m.snapshots(now + 1, "c").is_empty(), "counters were reset");

        // A quota of 3 valid until now+10.
        assert_eq!(
            m.apply_targets(
                &[target("r", 0.0, Some(3), Some((now + 10) as f64))],
                now + 1
            ),
            0
        );
        let t = now + 2;
        let n = (0..10)
            .filter(|_| m.decide(&req, t).unwrap().is_sampled())
            .count();
        assert_eq!(n, 3);
        assert!(
            m.snapshots(t, "c").is_empty(),
            "not due before the interval"
        );
        let docs = m.snapshots(now + 11, "c");
        assert_eq!(
            (
                docs[0].request_count,
                docs[0].sampled_count,
                docs[0].borrow_count
            ),
            (10, 3, 0)
        );
        // Expired quota → borrowing again.
        let t = now + 11;
        let n = (0..10)
            .filter(|_| m.decide(&req, t).unwrap().is_sampled())
            .count();
        assert_eq!(n, 1);
    }

    #[test]
    fn no_borrowing_without_a_reservoir() {
        let (m, _) = Manifest::build([rule("r", 1, 0.0, 0)], None, 0);
        assert!(!m.decide(&SamplingRequest::new(), 5).unwrap().is_sampled());
    }

    #[test]
    fn a_refresh_keeps_state_of_surviving_rules() {
        let (m1, _) = Manifest::build([rule("keep", 1, 0.0, 1), rule("gone", 2, 0.0, 1)], None, 0);
        m1.apply_targets(&[target("keep", 0.0, Some(7), Some(1e10))], 0);
        m1.decide(&SamplingRequest::new(), 10);
        let (m2, _) = Manifest::build(
            [rule("keep", 1, 1.0, 1), rule("new", 2, 0.0, 1)],
            Some(&m1),
            20,
        );
        let keep = m2.find("keep").unwrap();
        assert_eq!(keep.state.quota.load(Relaxed), 7);
        assert_eq!(keep.state.counters.requests(), 1);
        assert_eq!(
            random::rate(keep.state.threshold.load(Relaxed)),
            1.0,
            "the new rate applies"
        );
        assert!(m2.find("gone").is_none());
        assert!(m2.is_fresh(20 + MANIFEST_TTL_SECS) && !m2.is_fresh(21 + MANIFEST_TTL_SECS));
        assert_eq!(
            m2.apply_targets(
                &[
                    target("gone", 0.0, None, None),
                    target("keep", 0.5, None, None)
                ],
                30
            ),
            1
        );
    }
}
