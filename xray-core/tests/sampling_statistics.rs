//! The default rule (1 request per second plus 5% of the rest) over 10 simulated seconds at
//! 1,000 requests per second, on a clock the test moves: no sleeping, same speed on any machine.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use xray_core::sampling::{
    Clock, LocalRule, LocalSampler, Sampler, SamplingRequest, SamplingRules,
};

/// Nanoseconds since the Unix epoch, set by the test.
#[derive(Debug)]
struct ManualClock(AtomicU64);

impl ManualClock {
    fn at(t: Duration) -> Arc<Self> {
        Arc::new(Self(AtomicU64::new(t.as_nanos() as u64)))
    }

    fn set(&self, t: Duration) {
        self.0.store(t.as_nanos() as u64, Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::Relaxed))
    }
}

const START: Duration = Duration::from_secs(1_700_000_000);
const SECONDS: u64 = 10;
const PER_SECOND: u64 = 1_000;

/// Runs the simulation; returns (sampled in total, how many first-of-second requests were sampled).
fn simulate(
    sampler: &LocalSampler,
    clock: &ManualClock,
    request: &SamplingRequest<'_>,
) -> (u64, u64) {
    let (mut sampled, mut firsts) = (0, 0);
    for second in 0..SECONDS {
        for i in 0..PER_SECOND {
            clock.set(START + Duration::from_secs(second) + Duration::from_millis(i));
            let s = sampler.decide(request).is_sampled();
            sampled += u64::from(s);
            if i == 0 {
                firsts += u64::from(s);
            }
        }
    }
    (sampled, firsts)
}

/// The fixed-rate part is Binomial(n = 9,990, p = 0.05): mean 499.5, standard deviation
/// sqrt(9,990 × 0.05 × 0.95) ≈ 21.8. Accepting ±5 standard deviations (±109) makes a false failure
/// a one-in-1.7-million event, while a sampler off by one percentage point (±100 expected) or
/// sampling the reservoir twice fails. The reservoir part is exact.
fn assert_one_per_second_plus_five_percent(sampled: u64, firsts: u64) {
    assert_eq!(
        firsts, SECONDS,
        "the first request of every second comes from the reservoir"
    );
    let beyond = sampled - SECONDS;
    let n = (SECONDS * PER_SECOND - SECONDS) as f64;
    let mean = n * 0.05;
    let sd = (n * 0.05 * 0.95).sqrt();
    let tolerance = 5.0 * sd;
    assert!(
        (beyond as f64 - mean).abs() <= tolerance,
        "{beyond} sampled beyond the reservoir, expected {mean} ± {tolerance:.0}"
    );
}

#[test]
fn default_rule_samples_the_reservoir_plus_five_percent() {
    let clock = ManualClock::at(START);
    let sampler = LocalSampler::with_clock(SamplingRules::default(), clock.clone());
    let request = SamplingRequest::new()
        .host("api.example.com")
        .method("GET")
        .url_path("/orders/42");
    let (sampled, firsts) = simulate(&sampler, &clock, &request);
    assert_one_per_second_plus_five_percent(sampled, firsts);
}

#[test]
fn the_same_default_applies_behind_rules_that_do_not_match() {
    let rules = SamplingRules::builder()
        .rule(
            LocalRule::new(100, 1.0)
                .host("*.internal")
                .url_path("/admin/*"),
        )
        .rule(
            LocalRule::new(0, 0.0)
                .http_method("GET")
                .url_path("/health"),
        )
        .build()
        .unwrap();
    let clock = ManualClock::at(START);
    let sampler = LocalSampler::with_clock(rules, clock.clone());
    let request = SamplingRequest::new()
        .host("shop.example.com")
        .method("POST")
        .url_path("/checkout");
    let (sampled, firsts) = simulate(&sampler, &clock, &request);
    assert_one_per_second_plus_five_percent(sampled, firsts);

    // And the matching rules win: never sampled, always sampled.
    let health = SamplingRequest::new().method("GET").url_path("/health");
    assert!((0..1000).all(|_| !sampler.decide(&health).is_sampled()));
    let admin = SamplingRequest::new()
        .host("ops.internal")
        .url_path("/admin/users");
    assert!((0..1000).all(|_| sampler.decide(&admin).is_sampled()));
}
