//! The background thread that fetches rules and reports statistics.
//!
//! One std thread runs both pollers, so the sampler needs no async runtime. It sleeps on a
//! channel whose sender the sampler owns: dropping or shutting down the sampler wakes it up to
//! exit.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::Shared;
use super::client::{Client, FetchError};
use super::rule::Manifest;
use crate::diag::RateLimit;
use crate::sampling::SystemClock;

/// At most this many statistics documents per `GetSamplingTargets` call (API limit).
const MAX_DOCUMENTS_PER_CALL: usize = 25;

/// When to poll. The jitter spreads the fleet's calls; the SDKs add up to 5 s to the 300 s rule
/// period and up to 100 ms to the 10 s target period, the same shares are kept for other periods.
#[derive(Debug, Clone, Copy)]
pub(super) struct Schedule {
    pub(super) rules: Duration,
    pub(super) targets: Duration,
}

impl Schedule {
    fn rules_delay(&self) -> Duration {
        self.rules + jitter(self.rules / 60)
    }

    fn targets_delay(&self) -> Duration {
        self.targets + jitter(self.targets / 100)
    }
}

fn jitter(max: Duration) -> Duration {
    let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    if nanos == 0 {
        Duration::ZERO
    } else {
        Duration::from_nanos(rand::random_range(0..=nanos))
    }
}

/// Turns poll outcomes into few log lines: one debug line when the proxy stops answering (a
/// missing daemon is normal on a laptop or in CI), one info line when it answers again, and
/// rate-limited warnings for answers that are not X-Ray's.
struct Health {
    endpoint: String,
    down: Option<bool>,
    garbage: RateLimit,
}

impl Health {
    fn answered(&mut self, what: &str, detail: impl FnOnce() -> String) {
        if self.down != Some(false) {
            tracing::info!(
                target: "xray",
                endpoint = %self.endpoint,
                "X-Ray sampling proxy answered {what}: {}", detail()
            );
        } else {
            tracing::debug!(target: "xray", endpoint = %self.endpoint, "{what}: {}", detail());
        }
        self.down = Some(false);
    }

    fn failed(&mut self, what: &str, err: &FetchError) {
        match err {
            FetchError::Unreachable(e) => {
                if self.down != Some(true) {
                    tracing::debug!(
                        target: "xray",
                        endpoint = %self.endpoint,
                        error = %e,
                        "X-Ray sampling proxy not reachable ({what}); sampling by local rules until it answers"
                    );
                }
                self.down = Some(true);
            }
            FetchError::Garbage(e) => {
                if let Some(suppressed) = self.garbage.allow() {
                    tracing::warn!(
                        target: "xray",
                        endpoint = %self.endpoint,
                        error = %e,
                        suppressed,
                        "unexpected answer from the X-Ray sampling proxy ({what}); keeping the last rules"
                    );
                }
            }
        }
    }
}

pub(super) fn run(shared: Arc<Shared>, client: Client, schedule: Schedule, stop: Receiver<()>) {
    let mut health = Health {
        endpoint: shared.endpoint.to_string(),
        down: None,
        garbage: RateLimit::new(Duration::from_secs(300)),
    };
    // The first rules poll is immediate; targets follow one period later.
    let mut next_rules = Instant::now();
    let mut next_targets = Instant::now() + schedule.targets_delay();
    loop {
        SystemClock::resync();
        let mut refresh_rules = false;
        if Instant::now() >= next_rules {
            poll_rules(&shared, &client, &mut health);
            next_rules = Instant::now() + schedule.rules_delay();
        }
        if Instant::now() >= next_targets {
            refresh_rules = poll_targets(&shared, &client, &mut health);
            next_targets = Instant::now() + schedule.targets_delay();
        }
        if refresh_rules {
            // Out of band, as the SDKs do when X-Ray says the rules changed.
            next_rules = Instant::now();
        }
        let wait = next_rules
            .min(next_targets)
            .saturating_duration_since(Instant::now());
        match stop.recv_timeout(wait) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

fn poll_rules(shared: &Shared, client: &Client, health: &mut Health) {
    let now = shared.clock.now().as_secs();
    match client.get_sampling_rules() {
        Ok(out) => {
            let previous = shared.manifest.load_full();
            let records = out.sampling_rule_records.into_iter();
            let (manifest, ignored) = Manifest::build(
                records.filter_map(|r| r.sampling_rule),
                previous.as_deref(),
                now,
            );
            for i in &ignored {
                tracing::debug!(target: "xray", rule = %i.rule, reason = i.reason, "sampling rule ignored");
            }
            let names: Vec<&str> = manifest.iter().map(|r| r.name()).collect();
            health.answered("GetSamplingRules", || {
                format!(
                    "{} sampling rules {names:?}, {} ignored",
                    names.len(),
                    ignored.len()
                )
            });
            shared.manifest.store(Some(Arc::new(manifest)));
        }
        Err(e) => health.failed("GetSamplingRules", &e),
    }
}

/// Reports due statistics and applies the targets; returns whether the rules should be fetched
/// again now.
fn poll_targets(shared: &Shared, client: &Client, health: &mut Health) -> bool {
    let Some(manifest) = shared.manifest.load_full() else {
        return false;
    };
    let now = shared.clock.now().as_secs();
    let documents = manifest.snapshots(now, super::client_id());
    let mut refresh = false;
    for chunk in documents.chunks(MAX_DOCUMENTS_PER_CALL) {
        let out = match client.get_sampling_targets(chunk) {
            Ok(out) => out,
            Err(e) => {
                // The statistics are lost, as in the SDKs; the rest would most likely fail too.
                health.failed("GetSamplingTargets", &e);
                return false;
            }
        };
        let unusable = manifest.apply_targets(&out.sampling_target_documents, now);
        for u in out.unprocessed_statistics.iter().flatten() {
            let code = u.error_code.as_deref().unwrap_or_default();
            tracing::debug!(
                target: "xray",
                rule = u.rule_name.as_deref().unwrap_or_default(),
                code,
                message = u.message.as_deref().unwrap_or_default(),
                "X-Ray did not process sampling statistics"
            );
            // 4xx: our rules are out of date (Go `refreshTargets`).
            refresh |= code.starts_with('4');
        }
        // X-Ray changed the rules since we fetched them (Go compares with `>=`).
        if out
            .last_rule_modification
            .is_some_and(|t| super::wire::epoch_secs(t) >= manifest.fetched_at())
        {
            refresh = true;
        }
        health.answered("GetSamplingTargets", || {
            format!(
                "{} statistics sent, {} targets ({unusable} unusable)",
                chunk.len(),
                out.sampling_target_documents.len()
            )
        });
    }
    refresh
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_its_share() {
        let s = Schedule {
            rules: Duration::from_secs(300),
            targets: Duration::from_secs(10),
        };
        for _ in 0..100 {
            let r = s.rules_delay();
            assert!(
                r >= Duration::from_secs(300) && r <= Duration::from_secs(305),
                "{r:?}"
            );
            let t = s.targets_delay();
            assert!(
                t >= Duration::from_secs(10) && t <= Duration::from_millis(10_100),
                "{t:?}"
            );
        }
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
    }
}
