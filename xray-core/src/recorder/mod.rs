//! The recorder: where configuration comes together and where segments begin.
//!
//! A [`Recorder`] is a cheap, clonable handle. Most applications use one process-wide recorder:
//! build it at startup and install it with [`Recorder::set_global_default`], or let
//! [`Recorder::global`] build one from the environment on first use. Tests build their own
//! instances with a [`MemoryEmitter`](crate::emit::MemoryEmitter).
//!
//! # Configuration
//!
//! Builder options, and the environment variables that override them (environment wins, as in
//! every official SDK; use [`RecorderBuilder::ignore_env`] to turn that off):
//!
//! | Builder | Environment | Default |
//! |---|---|---|
//! | [`daemon_address`](RecorderBuilder::daemon_address) | `AWS_XRAY_DAEMON_ADDRESS` | `127.0.0.1:2000` |
//! | [`emitter`](RecorderBuilder::emitter) | — | UDP to the daemon address |
//! | [`service_name`](RecorderBuilder::service_name) | `AWS_XRAY_TRACING_NAME` | none (adapters name segments) |
//! | [`context_missing`](RecorderBuilder::context_missing) | `AWS_XRAY_CONTEXT_MISSING` | `LOG_ERROR` |
//! | [`enabled`](RecorderBuilder::enabled) | `AWS_XRAY_SDK_ENABLED`, `AWS_XRAY_SDK_DISABLED` | enabled |
//! | [`sampler`](RecorderBuilder::sampler) | — | centralized rules from the daemon, local rules as fallback; see [`crate::sampling`] |
//! | [`sampling_rules`](RecorderBuilder::sampling_rules), [`sampling_rules_file`](RecorderBuilder::sampling_rules_file) | — | 1 request/s plus 5% |
//! | [`local_sampling_only`](RecorderBuilder::local_sampling_only) | — | off |
//! | [`streaming_threshold`](RecorderBuilder::streaming_threshold) | — | 20 subsegments |
//! | [`origin`](RecorderBuilder::origin), [`service_version`](RecorderBuilder::service_version) | — | none |
//! | [`plugin`](RecorderBuilder::plugin), [`plugin_timeout`](RecorderBuilder::plugin_timeout) | see [`crate::plugins`] | none; 300 ms |
//!
//! In AWS Lambda (`LAMBDA_TASK_ROOT` or `AWS_LAMBDA_FUNCTION_NAME` set) sampling is local only
//! unless a sampler is given, and plugins are not probed; see [`crate::lambda`].

mod env;
mod error;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use once_cell::sync::OnceCell;

pub use self::env::{ENV_CONTEXT_MISSING, ENV_SDK_DISABLED, ENV_SDK_ENABLED, ENV_TRACING_NAME};
pub use self::error::{ConfigError, SetGlobalDefaultError};
use crate::context::ContextMissingStrategy;
use crate::daemon::DaemonAddress;
use crate::diag::RateLimit;
use crate::emit::json::SegmentDefaults;
use crate::emit::pack::{self, Sink};
use crate::emit::{Counters, Datagram, EmitStats, Emitter, MAX_DATAGRAM_BYTES, UdpEmitter};
use crate::header::{Sampled, TraceHeader};
use crate::id::{SegmentId, TraceId};
use crate::model::{Aws, Document, Service, Timestamp, XraySdk};
use crate::sampling::setup::SamplerSetup;
use crate::sampling::{AlwaysSample, Sampler, SamplingDecision, SamplingRequest, SamplingRules};
use crate::segment::tree::Tree;
use crate::segment::{Entity, Segment, sanitize_name};

/// The SDK name reported in `aws.xray.sdk`.
pub const SDK_NAME: &str = "X-Ray for Rust";
/// The SDK version reported in `aws.xray.sdk_version`.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");
/// The default number of subsegments a segment holds before completed ones are streamed.
pub const DEFAULT_STREAMING_THRESHOLD: usize = 20;

static GLOBAL: OnceCell<Recorder> = OnceCell::new();

/// Creates segments and sends them. See the [module docs](self).
///
/// # Examples
///
/// ```
/// use xray_core::{Recorder, emit::MemoryEmitter};
///
/// let emitter = MemoryEmitter::new();
/// let recorder = Recorder::builder()
///     .service_name("orders")
///     .emitter(emitter.clone())
///     .sample_all()
///     .ignore_env()
///     .build()?;
/// let segment = recorder.begin_segment("orders");
/// segment.annotate("order_id", 42);
/// segment.end();
/// assert_eq!(emitter.documents()[0].annotations["order_id"], 42.into());
/// # Ok::<(), xray_core::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Recorder {
    inner: Arc<Inner>,
}

struct Inner {
    enabled: bool,
    service_name: Option<String>,
    tracing_name_from_env: bool,
    emitter: Box<dyn Emitter>,
    sampler: Arc<dyn Sampler>,
    streaming_threshold: usize,
    max_datagram: usize,
    context_missing: ContextMissingStrategy,
    daemon: DaemonAddress,
    origin: Option<String>,
    service_version: Option<String>,
    /// The `aws` block every segment starts with, written into each segment as it is sent.
    segment_defaults: SegmentDefaults,
    counters: Counters,
    send_errors: RateLimit,
    oversize_errors: RateLimit,
    missing_context: RateLimit,
}

impl Recorder {
    /// Starts building a recorder.
    pub fn builder() -> RecorderBuilder {
        RecorderBuilder::default()
    }

    /// A recorder that records nothing (what `AWS_XRAY_SDK_ENABLED=false` gives).
    pub fn disabled() -> Self {
        Self::builder()
            .ignore_env()
            .enabled(false)
            .emitter(crate::emit::MemoryEmitter::new())
            .build()
            .unwrap_or_else(|_| unreachable!("a disabled recorder has nothing to validate"))
    }

    /// The process-wide recorder: the one installed with [`Recorder::set_global_default`], or
    /// else one built from the environment on first use.
    ///
    /// If the environment is invalid (say, a malformed `AWS_XRAY_DAEMON_ADDRESS`), the error is
    /// logged and a disabled recorder is used: instrumentation never stops the application. Build
    /// the recorder yourself at startup to get the error as a `Result`.
    pub fn global() -> &'static Recorder {
        GLOBAL.get_or_init(|| match Recorder::builder().build() {
            Ok(r) => r,
            Err(err) => {
                tracing::error!(target: "xray", error = %err, "X-Ray configuration is invalid; tracing is disabled");
                Recorder::disabled()
            }
        })
    }

    /// Installs the process-wide recorder. Libraries must not call this; applications call it once
    /// at startup, before anything traced runs.
    ///
    /// # Errors
    ///
    /// [`SetGlobalDefaultError`] if a global recorder was already set or already used.
    pub fn set_global_default(recorder: Recorder) -> Result<(), SetGlobalDefaultError> {
        GLOBAL
            .set(recorder)
            .map_err(|_| SetGlobalDefaultError::new())
    }

    /// Begins a segment named `name`, sampled by the service name alone (for work that is not an
    /// HTTP request). Use [`Recorder::segment`] to continue an incoming trace or give the sampler
    /// more to go on.
    pub fn begin_segment(&self, name: &str) -> Segment {
        self.segment(name).begin()
    }

    /// Prepares a segment; see [`SegmentBuilder`].
    pub fn segment<'a>(&'a self, name: &'a str) -> SegmentBuilder<'a> {
        SegmentBuilder {
            recorder: self,
            name,
            header: None,
            request: SamplingRequest::default(),
            decision: None,
            start: None,
        }
    }

    /// Begins a *facade* segment for an invocation whose segment someone else sends — AWS Lambda
    /// creates the function's segment itself.
    ///
    /// The facade takes its trace id, id and sampling decision from `header` (`Root`, `Parent`,
    /// `Sampled`) and is never sent; each subsegment begun directly under it is sent as an
    /// independent subsegment (`parent_id` = the facade id) as soon as it and its children end.
    /// A header with `Sampled=0`, or without `Parent` (Lambda's pass-through mode), records
    /// nothing but still propagates the trace id.
    pub fn begin_facade(&self, header: &TraceHeader) -> Segment {
        if !self.inner.enabled {
            return Segment::new(Entity::disabled());
        }
        let (Some(parent), Some(Sampled::Yes)) = (header.parent(), header.sampled()) else {
            // Not traced: pass on what came in. Root only (Lambda's pass-through mode) stays root
            // only, as the Java SDK does, so downstream services decide for themselves.
            let h = TraceHeader::new(header.root()).with_extra_from(header);
            let h = match header.parent() {
                Some(parent) => h.with_parent(parent).with_sampled(Sampled::No),
                None => h,
            };
            return Segment::new(Entity::not_sampled(h));
        };
        let mut doc = Document::new("facade", parent, Timestamp::now());
        doc.trace_id = Some(header.root());
        let (tree, node) = Tree::new(self.clone(), doc, Some(header.clone()), true);
        Segment::new(Entity::recording(tree, node))
    }

    /// Whether the SDK is enabled.
    pub fn is_enabled(&self) -> bool {
        self.inner.enabled
    }

    /// The service name: `AWS_XRAY_TRACING_NAME` if set, else the one given to the builder.
    pub fn service_name(&self) -> Option<&str> {
        self.inner.service_name.as_deref()
    }

    /// Whether the service name came from `AWS_XRAY_TRACING_NAME`, which overrides names chosen in
    /// code.
    pub fn service_name_overridden(&self) -> bool {
        self.inner.tracing_name_from_env
    }

    /// The daemon address in use.
    pub fn daemon_address(&self) -> &DaemonAddress {
        &self.inner.daemon
    }

    /// The context-missing strategy.
    pub fn context_missing_strategy(&self) -> ContextMissingStrategy {
        self.inner.context_missing
    }

    /// The configured `origin` of segments.
    pub fn origin(&self) -> Option<&str> {
        self.inner.origin.as_deref()
    }

    /// The sampler.
    pub fn sampler(&self) -> &dyn Sampler {
        &*self.inner.sampler
    }

    /// What happened to finished documents so far.
    ///
    /// With the default (batching) UDP emitter, documents of the last few milliseconds may still
    /// be on their way; call [`Recorder::flush`] first for exact figures.
    pub fn emit_stats(&self) -> EmitStats {
        self.inner
            .counters
            .snapshot(self.inner.emitter.undelivered())
    }

    /// Sends everything the emitter buffered, before returning. The default UDP emitter sends from
    /// a background thread every 10 ms; a program about to exit calls this (or
    /// [`Recorder::shutdown`]) so its last segments are not lost.
    pub fn flush(&self) {
        self.inner.emitter.flush();
    }

    /// Stops the recorder's background work — the centralized sampler's poller thread (waiting at
    /// most its 2 s request timeout) — and [flushes](Recorder::flush) the emitter. Segments can
    /// still be recorded afterwards; sampling goes on with the rules already fetched until they
    /// expire, then by the local rules.
    ///
    /// Dropping the last clone of a recorder also stops the poller, without waiting.
    pub fn shutdown(&self) {
        self.inner.sampler.shutdown();
        self.inner.emitter.flush();
    }

    pub(crate) fn streaming_threshold(&self) -> usize {
        self.inner.streaming_threshold
    }

    /// Applies the context-missing strategy for an operation that found no current entity.
    ///
    /// Adapters call this when they would have created a subsegment; `what` names the operation.
    pub fn context_missing(&self, what: &str) {
        match self.inner.context_missing {
            ContextMissingStrategy::IgnoreError => {}
            ContextMissingStrategy::LogError | ContextMissingStrategy::RuntimeError => {
                if let Some(suppressed) = self.inner.missing_context.allow() {
                    tracing::error!(
                        target: "xray",
                        subsegment = what,
                        suppressed,
                        "no current X-Ray segment: nothing recorded (set AWS_XRAY_CONTEXT_MISSING=IGNORE_ERROR to silence)"
                    );
                }
            }
        }
    }

    /// Serializes and sends a finished document, splitting it to fit and counting the outcome.
    pub(crate) fn send_document(&self, doc: Document) {
        let mut sink = RecorderSink { inner: &self.inner };
        pack::pack(
            doc,
            self.inner.max_datagram,
            &self.inner.segment_defaults,
            &mut sink,
        );
    }
}

struct RecorderSink<'a> {
    inner: &'a Inner,
}

impl Sink for RecorderSink<'_> {
    fn datagram(&mut self, datagram: Datagram<'_>, streamed: bool, truncated: bool) {
        use std::sync::atomic::Ordering::Relaxed;
        let c = &self.inner.counters;
        if streamed {
            c.streamed.fetch_add(1, Relaxed);
        }
        if truncated {
            c.truncated.fetch_add(1, Relaxed);
        }
        match self.inner.emitter.send(datagram) {
            Ok(()) => {
                c.sent.fetch_add(1, Relaxed);
            }
            Err(err) => {
                c.dropped.fetch_add(1, Relaxed);
                if let Some(suppressed) = self.inner.send_errors.allow() {
                    tracing::warn!(
                        target: "xray",
                        daemon = %self.inner.daemon.udp(),
                        error = %err,
                        source = ?std::error::Error::source(&err).map(ToString::to_string),
                        suppressed,
                        "could not send a segment to the X-Ray daemon; dropped"
                    );
                }
            }
        }
    }

    fn oversize(&mut self, name: &str, bytes: usize, streamed: bool) {
        use std::sync::atomic::Ordering::Relaxed;
        let c = &self.inner.counters;
        c.dropped.fetch_add(1, Relaxed);
        if streamed {
            c.streamed.fetch_add(1, Relaxed);
        }
        if let Some(suppressed) = self.inner.oversize_errors.allow() {
            tracing::warn!(
                target: "xray",
                name,
                bytes,
                limit = self.inner.max_datagram,
                suppressed,
                "segment document too large even after streaming and truncation; dropped"
            );
        }
    }
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("enabled", &self.inner.enabled)
            .field("service_name", &self.inner.service_name)
            .field("daemon", &self.inner.daemon.to_string())
            .field("emitter", &self.inner.emitter)
            .field("sampler", &self.inner.sampler)
            .field("streaming_threshold", &self.inner.streaming_threshold)
            .field("context_missing", &self.inner.context_missing)
            .finish_non_exhaustive()
    }
}

/// Prepares a segment: an incoming trace header to continue, request attributes for the sampler,
/// an explicit decision, a start time. Created by [`Recorder::segment`].
///
/// # Examples
///
/// ```
/// use xray_core::{Recorder, TraceHeader, emit::MemoryEmitter, sampling::SamplingRequest};
///
/// let emitter = MemoryEmitter::new();
/// let recorder = Recorder::builder().emitter(emitter.clone()).ignore_env().build()?;
/// let incoming: TraceHeader = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1".parse().unwrap();
/// let segment = recorder
///     .segment("orders")
///     .trace_header(Some(&incoming))
///     .sampling_request(SamplingRequest::new().method("GET").url_path("/orders"))
///     .begin();
/// assert_eq!(segment.trace_id(), Some(incoming.root()));
/// segment.end();
/// assert_eq!(emitter.documents()[0].parent_id, incoming.parent());
/// # Ok::<(), xray_core::ConfigError>(())
/// ```
#[must_use = "call `begin` to start the segment"]
#[derive(Debug)]
pub struct SegmentBuilder<'a> {
    recorder: &'a Recorder,
    name: &'a str,
    header: Option<&'a TraceHeader>,
    request: SamplingRequest<'a>,
    decision: Option<bool>,
    start: Option<Timestamp>,
}

impl<'a> SegmentBuilder<'a> {
    /// Continues the trace of an incoming header: its `Root` becomes the trace id, its `Parent`
    /// the segment's `parent_id`, its `Sampled=1|0` the decision, and its extra keys go
    /// downstream.
    pub fn trace_header(mut self, header: Option<&'a TraceHeader>) -> Self {
        self.header = header;
        self
    }

    /// Request attributes for the sampler. The service name and type default to this segment's
    /// name and the recorder's origin.
    pub fn sampling_request(mut self, request: SamplingRequest<'a>) -> Self {
        self.request = request;
        self
    }

    /// Forces the sampling decision (the header and the sampler are not consulted).
    pub fn sampled(mut self, sampled: bool) -> Self {
        self.decision = Some(sampled);
        self
    }

    /// Sets the start time (default: now).
    pub fn start_time(mut self, start: Timestamp) -> Self {
        self.start = Some(start);
        self
    }

    /// Begins the segment.
    pub fn begin(self) -> Segment {
        let inner = &self.recorder.inner;
        if !inner.enabled {
            return Segment::new(Entity::disabled());
        }
        let trace_id = self.header.map_or_else(TraceId::new, TraceHeader::root);
        let decision = match (self.decision, self.header.and_then(|h| h.sampled())) {
            (Some(forced), _) => {
                if forced {
                    SamplingDecision::sampled()
                } else {
                    SamplingDecision::not_sampled()
                }
            }
            (None, Some(Sampled::Yes)) => SamplingDecision::sampled(),
            (None, Some(Sampled::No)) => SamplingDecision::not_sampled(),
            _ => {
                let mut request = self.request;
                request.service_name = request.service_name.or(Some(self.name));
                request.service_type = request.service_type.or(inner.origin.as_deref());
                inner.sampler.decide(&request)
            }
        };
        if !decision.is_sampled() {
            let mut header = TraceHeader::new(trace_id)
                .with_parent(SegmentId::unsampled(trace_id.to_u128() as u64))
                .with_sampled(Sampled::No);
            if let Some(incoming) = self.header {
                header = header.with_extra_from(incoming);
            }
            return Segment::new(Entity::not_sampled(header));
        }
        let start = self.start.unwrap_or_else(Timestamp::now);
        let mut doc = Document::new(sanitize_name(self.name), SegmentId::new(), start);
        doc.trace_id = Some(trace_id);
        doc.parent_id = self.header.and_then(TraceHeader::parent);
        doc.origin.clone_from(&inner.origin);
        // The recorder's `aws` block (SDK, plugins) is merged in when the segment is written.
        if let Some(rule) = decision.rule_name() {
            doc.aws = Some(Box::new(Aws {
                xray: Some(Box::new(XraySdk {
                    sampling_rule_name: Some(rule.to_owned()),
                    ..XraySdk::default()
                })),
                ..Aws::default()
            }));
        }
        if let Some(version) = &inner.service_version {
            doc.service = Some(Box::new(Service {
                version: Some(version.clone()),
                ..Service::default()
            }));
        }
        let (tree, node) = Tree::new(self.recorder.clone(), doc, self.header.cloned(), false);
        Segment::new(Entity::recording(tree, node))
    }
}

/// Builds a [`Recorder`]. See the [module docs](self) for every option and its environment
/// variable.
#[must_use]
pub struct RecorderBuilder {
    enabled: bool,
    service_name: Option<String>,
    emitter: Option<Box<dyn Emitter>>,
    sampler: Option<Arc<dyn Sampler>>,
    sampling: SamplerSetup,
    streaming_threshold: usize,
    max_datagram: usize,
    context_missing: ContextMissingStrategy,
    daemon: Option<DaemonAddress>,
    origin: Option<String>,
    service_version: Option<String>,
    aws: Aws,
    env: EnvMode,
    plugins: crate::plugins::PluginSet,
}

type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

enum EnvMode {
    Process,
    Ignore,
    Custom(EnvLookup),
}

impl Default for RecorderBuilder {
    fn default() -> Self {
        Self {
            enabled: true,
            service_name: None,
            emitter: None,
            sampler: None,
            sampling: SamplerSetup::default(),
            streaming_threshold: DEFAULT_STREAMING_THRESHOLD,
            max_datagram: MAX_DATAGRAM_BYTES,
            context_missing: ContextMissingStrategy::default(),
            daemon: None,
            origin: None,
            service_version: None,
            aws: Aws {
                xray: Some(Box::new(XraySdk {
                    sdk: Some(SDK_NAME.to_owned()),
                    sdk_version: Some(SDK_VERSION.to_owned()),
                    ..XraySdk::default()
                })),
                ..Aws::default()
            },
            env: EnvMode::Process,
            plugins: crate::plugins::PluginSet::default(),
        }
    }
}

impl EnvMode {
    /// The variables as plugins and the Lambda detection read them.
    fn lookup(&self) -> EnvLookup {
        match self {
            EnvMode::Process => Arc::new(|k: &str| std::env::var(k).ok()),
            EnvMode::Ignore => Arc::new(|_: &str| None),
            EnvMode::Custom(f) => Arc::clone(f),
        }
    }
}

impl RecorderBuilder {
    /// The service's segment name (overridden by `AWS_XRAY_TRACING_NAME`).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(sanitize_name(&name.into()).into_owned());
        self
    }

    /// Where documents go (default: a [`UdpEmitter`] to the daemon address).
    pub fn emitter(mut self, emitter: impl Emitter) -> Self {
        self.emitter = Some(Box::new(emitter));
        self
    }

    /// The daemon address (overridden by `AWS_XRAY_DAEMON_ADDRESS`).
    pub fn daemon_address(mut self, address: DaemonAddress) -> Self {
        self.daemon = Some(address);
        self
    }

    /// The sampler.
    pub fn sampler(mut self, sampler: impl Sampler) -> Self {
        self.sampler = Some(Arc::new(sampler));
        self
    }

    /// Samples every request (for development and tests).
    pub fn sample_all(self) -> Self {
        self.sampler(AlwaysSample)
    }

    /// The local sampling rules: the fallback of the default centralized sampler, or the only
    /// rules with [`local_sampling_only`](Self::local_sampling_only) (default: 1 request per
    /// second plus 5%). Ignored when a [`sampler`](Self::sampler) is set.
    pub fn sampling_rules(mut self, rules: SamplingRules) -> Self {
        self.sampling.set_rules(rules);
        self
    }

    /// Reads the local sampling rules from a JSON file (versions 1 and 2 of the official SDKs;
    /// see [`SamplingRules`]) when the recorder is built; a bad file makes
    /// [`build`](Self::build) fail with an error naming the file, the rule and the field.
    pub fn sampling_rules_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.sampling.set_rules_file(path.into());
        self
    }

    /// Samples by the local rules only: no centralized rules, no poller thread, no calls to the
    /// daemon's TCP endpoint.
    pub fn local_sampling_only(mut self) -> Self {
        self.sampling.set_local_only();
        self
    }

    /// How many subsegments a segment holds before completed ones are sent early as independent
    /// documents (default 20, as the Go SDK; 0 sends each subsegment as soon as it completes).
    pub fn streaming_threshold(mut self, threshold: usize) -> Self {
        self.streaming_threshold = threshold;
        self
    }

    /// The largest datagram to send, header line included (default and maximum 64,000 bytes).
    pub fn max_datagram_bytes(mut self, bytes: usize) -> Self {
        self.max_datagram = bytes;
        self
    }

    /// What to do when a subsegment is requested with no current segment (overridden by
    /// `AWS_XRAY_CONTEXT_MISSING`).
    pub fn context_missing(mut self, strategy: ContextMissingStrategy) -> Self {
        self.context_missing = strategy;
        self
    }

    /// Turns the SDK on or off (overridden by `AWS_XRAY_SDK_ENABLED` / `AWS_XRAY_SDK_DISABLED`).
    /// A disabled recorder costs almost nothing: every operation is a no-op.
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// The `origin` of every segment, e.g. `AWS::EC2::Instance`.
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// The application version, sent as `service.version`.
    pub fn service_version(mut self, version: impl Into<String>) -> Self {
        self.service_version = Some(version.into());
        self
    }

    /// Changes the `aws` block every segment starts with (plugins add `ec2`, `ecs`, ...). The
    /// `aws.xray` SDK information is already there.
    pub fn aws_resource(mut self, f: impl FnOnce(&mut Aws)) -> Self {
        f(&mut self.aws);
        self
    }

    /// Adds a plugin that finds where the service runs (EC2, ECS, Elastic Beanstalk, EKS) and
    /// adds it to every segment as `origin` and `aws` fields. Plugins probe once, in parallel,
    /// when the recorder is built; see [`crate::plugins`].
    pub fn plugin(mut self, plugin: impl crate::plugins::Plugin) -> Self {
        self.plugins.push(Box::new(plugin));
        self
    }

    /// How long the plugins may probe, all together (default 300 ms). [`build`](Self::build)
    /// waits at most about this long for them.
    pub fn plugin_timeout(mut self, timeout: Duration) -> Self {
        self.plugins.set_timeout(timeout);
        self
    }

    /// Ignores the environment: the `AWS_XRAY_*` variables, and the ones plugins and the Lambda
    /// detection read (for tests).
    pub fn ignore_env(mut self) -> Self {
        self.env = EnvMode::Ignore;
        self
    }

    /// Reads configuration variables — `AWS_XRAY_*`, and the ones plugins and the Lambda
    /// detection read — through `lookup` instead of the process environment (for tests).
    pub fn env_lookup(
        mut self,
        lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.env = EnvMode::Custom(Arc::new(lookup));
        self
    }

    /// Builds the recorder.
    ///
    /// With [plugins](Self::plugin) registered, this probes where the service runs and waits for
    /// the answers, at most about the [plugin timeout](Self::plugin_timeout) (300 ms).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the variable and its value when an `AWS_XRAY_*` variable is
    /// malformed (`AWS_XRAY_DAEMON_ADDRESS`, `AWS_XRAY_CONTEXT_MISSING`, `AWS_XRAY_SDK_ENABLED`,
    /// `AWS_XRAY_SDK_DISABLED`), or naming the option when `max_datagram_bytes` is below 1,000
    /// or above 64,000, or naming the file, rule and field when the
    /// [`sampling_rules_file`](Self::sampling_rules_file) cannot be read or is invalid.
    pub fn build(mut self) -> Result<Recorder, ConfigError> {
        let env = match &self.env {
            EnvMode::Process => env::read(&|k: &str| std::env::var(k).ok())?,
            EnvMode::Ignore => env::EnvSettings::default(),
            EnvMode::Custom(f) => env::read(&|k: &str| f(k))?,
        };
        if !(1_000..=MAX_DATAGRAM_BYTES).contains(&self.max_datagram) {
            return Err(ConfigError::other(
                format!(
                    "max_datagram_bytes must be between 1000 and {MAX_DATAGRAM_BYTES}, got {}",
                    self.max_datagram
                ),
                None,
            ));
        }
        let daemon = env.daemon.or(self.daemon).unwrap_or_default();
        let enabled = env.enabled.unwrap_or(self.enabled);
        let lookup = self.env.lookup();
        let plugins = std::mem::take(&mut self.plugins);
        let in_lambda = enabled && crate::lambda::detected(&*lookup);
        if in_lambda {
            crate::lambda::signal_initialized();
            if self.sampler.is_none() {
                self.sampling.set_local_only();
            }
        } else if enabled {
            plugins.apply(lookup, &mut self.origin, &mut self.aws);
        }
        let emitter: Box<dyn Emitter> = match self.emitter {
            Some(e) => e,
            // Lambda freezes the process as soon as the handler returns: send at once.
            None if in_lambda => Box::new(UdpEmitter::synchronous(&daemon)),
            None if enabled => Box::new(UdpEmitter::new(&daemon)),
            None => Box::new(crate::emit::MemoryEmitter::new()),
        };
        let tracing_name_from_env = env.tracing_name.is_some();
        let sampler = match self.sampler {
            Some(sampler) => sampler,
            None => self.sampling.build(&daemon, enabled)?,
        };
        Ok(Recorder {
            inner: Arc::new(Inner {
                enabled,
                service_name: env.tracing_name.or(self.service_name),
                tracing_name_from_env,
                emitter,
                sampler,
                streaming_threshold: self.streaming_threshold,
                max_datagram: self.max_datagram,
                context_missing: env.context_missing.unwrap_or(self.context_missing),
                daemon,
                origin: self.origin,
                service_version: self.service_version,
                segment_defaults: SegmentDefaults::new(self.aws),
                counters: Counters::default(),
                send_errors: RateLimit::new(Duration::from_secs(60)),
                oversize_errors: RateLimit::new(Duration::from_secs(60)),
                missing_context: RateLimit::new(Duration::from_secs(60)),
            }),
        })
    }
}

impl fmt::Debug for RecorderBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecorderBuilder")
            .field("enabled", &self.enabled)
            .field("service_name", &self.service_name)
            .field("daemon", &self.daemon)
            .field("streaming_threshold", &self.streaming_threshold)
            .finish_non_exhaustive()
    }
}
