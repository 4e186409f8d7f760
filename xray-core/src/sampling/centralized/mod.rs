//! Centralized sampling: rules and quotas from X-Ray, through the daemon's sampling proxy.

mod client;
#[cfg(feature = "fuzzing")]
pub(crate) mod fuzzing;
mod poller;
mod rule;
mod wire;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use once_cell::sync::Lazy;

use self::poller::Schedule;
use self::rule::Manifest;
use super::{
    Clock, LocalSampler, Sampler, SamplingDecision, SamplingRequest, SamplingRules, SystemClock,
};
use crate::daemon::Endpoint;

/// How often rules are fetched by default (every official SDK: 5 minutes, plus jitter).
pub const DEFAULT_RULES_POLL_INTERVAL: Duration = Duration::from_secs(300);
/// How often due statistics are reported and targets fetched by default (10 s, plus jitter).
pub const DEFAULT_TARGETS_POLL_INTERVAL: Duration = Duration::from_secs(10);
/// The connect-and-answer timeout of one call to the proxy (Java's 2 s).
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

static CLIENT_ID: Lazy<String> = Lazy::new(|| {
    rand::random::<[u8; 12]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
});

/// This process's `ClientID` in sampling statistics: 24 hex characters, created once per process
/// so that X-Ray shares quotas out per process.
fn client_id() -> &'static str {
    &CLIENT_ID
}

/// Samples by the rules configured in the X-Ray console, fetched through the X-Ray daemon, with
/// local rules as the fallback — the default sampler of every official SDK and of
/// [`Recorder`](crate::Recorder).
///
/// A background thread (started by the first decision, or by [`start`](Self::start)) calls the
/// daemon's sampling proxy at the TCP endpoint:
///
/// - `POST /GetSamplingRules` at once, then every 5 minutes (plus up to 5 s of jitter);
/// - `POST /SamplingTargets` every 10 s (plus up to 100 ms), with the statistics of the rules
///   whose report is due (at most 25 per call), to get each rule's reservoir quota, rate and TTL.
///
/// A decision tries the fetched rules by priority, `Default` last, matching service name, service
/// type, host, method and URL path with wildcards. A matched rule samples from its quota while it
/// is valid, else borrows one request a second (if its `ReservoirSize` is above 0), then samples
/// its fixed rate; sampled decisions carry the rule name, recorded as
/// `aws.xray.sampling_rule_name`. Until rules arrive, an hour after the last successful fetch, or
/// when no rule matches, the [local rules](LocalSampler) decide.
///
/// With no daemon the sampler logs one debug line and keeps sampling by the local rules; it picks
/// the rules up when the daemon answers. Decisions take no lock and allocate nothing (a sampled
/// decision clones the rule name's `Arc`). The thread stops when the sampler is dropped or
/// [shut down](Self::shutdown).
///
/// # Examples
///
/// ```
/// use xray_core::sampling::{CentralizedSampler, Sampler, SamplingRequest, SamplingRules};
///
/// let sampler = CentralizedSampler::builder("127.0.0.1:2000".parse::<xray_core::daemon::DaemonAddress>()?.tcp().clone())
///     .local_rules(SamplingRules::default())
///     .build();
/// // Until rules arrive, the local default rule decides: the first request of a second is sampled.
/// assert!(sampler.decide(&SamplingRequest::new().service_name("orders")).is_sampled());
/// sampler.shutdown();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct CentralizedSampler {
    shared: Arc<Shared>,
    started: AtomicBool,
    poller: Mutex<Option<Poller>>,
    schedule: Schedule,
    request_timeout: Duration,
}

/// What the decision path and the poller thread share.
struct Shared {
    manifest: ArcSwapOption<Manifest>,
    fallback: LocalSampler,
    clock: Arc<dyn Clock>,
    endpoint: Endpoint,
}

struct Poller {
    /// Dropping it wakes the thread up to exit.
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

impl CentralizedSampler {
    /// A sampler polling the proxy at `endpoint` (the TCP side of the daemon address), with the
    /// default local rules as fallback.
    pub fn new(endpoint: Endpoint) -> Self {
        Self::builder(endpoint).build()
    }

    /// Starts configuring a sampler that polls the proxy at `endpoint`.
    pub fn builder(endpoint: Endpoint) -> CentralizedSamplerBuilder {
        CentralizedSamplerBuilder {
            endpoint,
            local_rules: SamplingRules::default(),
            clock: Arc::new(SystemClock),
            schedule: Schedule {
                rules: DEFAULT_RULES_POLL_INTERVAL,
                targets: DEFAULT_TARGETS_POLL_INTERVAL,
            },
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }

    /// Starts the poller thread, if it is not running yet. The first decision does this too.
    ///
    /// If the thread cannot be spawned, a warning is logged and the local rules decide.
    pub fn start(&self) {
        if self.started.swap(true, Ordering::AcqRel) {
            return;
        }
        let (stop, stopped) = mpsc::channel();
        let shared = Arc::clone(&self.shared);
        let client = client::Client::new(&shared.endpoint, self.request_timeout);
        let schedule = self.schedule;
        let spawned = std::thread::Builder::new()
            .name("xray-sampling".into())
            .spawn(move || poller::run(shared, client, schedule, stopped));
        match spawned {
            Ok(thread) => {
                *self.poller.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some(Poller { stop, thread });
            }
            Err(e) => tracing::warn!(
                target: "xray",
                error = %e,
                "cannot start the X-Ray sampling poller; sampling by local rules"
            ),
        }
    }

    /// Stops the poller thread and waits for it (at most the request timeout, 2 s, if a call is
    /// under way). Decisions go on: the fetched rules stay in use until they expire (1 hour),
    /// then the local rules decide. The poller is not restarted.
    pub fn shutdown(&self) {
        self.started.store(true, Ordering::Release);
        let poller = self
            .poller
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(Poller { stop, thread }) = poller {
            drop(stop);
            if thread.join().is_err() {
                tracing::warn!(target: "xray", "the X-Ray sampling poller panicked");
            }
        }
    }

    /// The proxy endpoint polled.
    pub fn endpoint(&self) -> &Endpoint {
        &self.shared.endpoint
    }

    /// The local rules used as fallback.
    pub fn local_rules(&self) -> &SamplingRules {
        self.shared.fallback.rules()
    }
}

impl Sampler for CentralizedSampler {
    fn decide(&self, request: &SamplingRequest<'_>) -> SamplingDecision {
        if !self.started.load(Ordering::Relaxed) {
            self.start();
        }
        let shared = &*self.shared;
        let now = shared.clock.now().as_secs();
        let manifest = shared.manifest.load();
        if let Some(decision) = manifest
            .as_deref()
            .filter(|m| m.is_fresh(now))
            .and_then(|m| m.decide(request, now))
        {
            return decision;
        }
        if shared.fallback.sample_at(request, now) {
            SamplingDecision::sampled()
        } else {
            SamplingDecision::not_sampled()
        }
    }

    fn shutdown(&self) {
        CentralizedSampler::shutdown(self);
    }
}

impl Drop for CentralizedSampler {
    fn drop(&mut self) {
        // Wake the thread up to exit, but do not wait: a call under way may take seconds.
        let poller = self
            .poller
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(poller.map(|p| p.stop));
    }
}

impl fmt::Debug for CentralizedSampler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let manifest = self.shared.manifest.load();
        f.debug_struct("CentralizedSampler")
            .field("endpoint", &self.shared.endpoint.to_string())
            .field(
                "rules",
                &manifest
                    .as_deref()
                    .map(|m| m.iter().map(|r| r.name().to_owned()).collect::<Vec<_>>()),
            )
            .field("fallback", &self.shared.fallback)
            .field("started", &self.started.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Configures a [`CentralizedSampler`]. Created by [`CentralizedSampler::builder`].
#[must_use]
pub struct CentralizedSamplerBuilder {
    endpoint: Endpoint,
    local_rules: SamplingRules,
    clock: Arc<dyn Clock>,
    schedule: Schedule,
    request_timeout: Duration,
}

impl CentralizedSamplerBuilder {
    /// The rules used until centralized rules arrive, after they expire, and when none matches
    /// (default: 1 per second plus 5%).
    pub fn local_rules(mut self, rules: SamplingRules) -> Self {
        self.local_rules = rules;
        self
    }

    /// The clock decisions, quotas and the rule cache run on (default: [`SystemClock`]). The poll
    /// schedule always runs on real time.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How often rules are fetched (default and SDK value: 300 s; jitter adds up to 1/60 of it).
    /// Shorter periods are for tests.
    pub fn rules_poll_interval(mut self, interval: Duration) -> Self {
        self.schedule.rules = interval;
        self
    }

    /// How often due statistics are reported (default and SDK value: 10 s; jitter adds up to 1%
    /// of it). Shorter periods are for tests: X-Ray expects reports at the `Interval` it sets.
    pub fn targets_poll_interval(mut self, interval: Duration) -> Self {
        self.schedule.targets = interval;
        self
    }

    /// The timeout of one call to the proxy, connection included (default 2 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Builds the sampler. The poller starts with the first decision or [`start`]
    /// (CentralizedSampler::start).
    ///
    /// [`start`]: CentralizedSampler::start
    pub fn build(self) -> CentralizedSampler {
        let fallback = LocalSampler::with_shared_clock(self.local_rules, Arc::clone(&self.clock));
        CentralizedSampler {
            shared: Arc::new(Shared {
                manifest: ArcSwapOption::empty(),
                fallback,
                clock: self.clock,
                endpoint: self.endpoint,
            }),
            started: AtomicBool::new(false),
            poller: Mutex::new(None),
            schedule: self.schedule,
            request_timeout: self.request_timeout,
        }
    }
}

impl fmt::Debug for CentralizedSamplerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CentralizedSamplerBuilder")
            .field("endpoint", &self.endpoint.to_string())
            .field("local_rules", &self.local_rules)
            .field("schedule", &self.schedule)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_is_24_hex_chars_once_per_process() {
        let id = client_id();
        assert_eq!(id.len(), 24);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert!(std::ptr::eq(id, client_id()));
    }
}
