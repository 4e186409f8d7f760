//! The interceptor.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::sync::Arc;

use aws_runtime::user_agent::UserAgentInterceptor;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
    FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::{
    DisableInterceptor, Intercept, dyn_dispatch_hint,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::Headers;
use aws_smithy_types::config_bag::ConfigBag;
use aws_types::region::Region;
use xray_core::header::HEADER_NAME;
use xray_core::{Recorder, TraceHeader, context};

use crate::outcome::Outcome;
use crate::params;
use crate::state::{CallStart, CallState, TracedCall};

/// Traces every call of an AWS SDK for Rust client as an `aws` subsegment and propagates the
/// trace in the `X-Amzn-Trace-Id` header.
///
/// Register it on any service client's config builder: `.interceptor(XrayInterceptor::new())`,
/// or with [`XrayConfigExt::with_xray`](crate::XrayConfigExt::with_xray) or
/// [`instrumented_client!`](crate::instrumented_client). See the [crate docs](crate) for what is
/// recorded and when.
///
/// The interceptor holds no per-call state (that lives in each call's `ConfigBag`), so one
/// instance, or clones of it, serve every concurrent call. Cloning is cheap.
///
/// # Examples
///
/// ```
/// use xray_aws_sdk::XrayInterceptor;
///
/// # fn config(sdk_config: &aws_types::SdkConfig) {
/// let config = aws_sdk_dynamodb::config::Builder::from(sdk_config)
///     .interceptor(XrayInterceptor::new())
///     .build();
/// let client = aws_sdk_dynamodb::Client::from_conf(config);
/// # }
/// ```
#[derive(Clone, Default)]
pub struct XrayInterceptor {
    recorder: Option<Recorder>,
    account_id: Option<Arc<str>>,
}

impl XrayInterceptor {
    /// Creates the interceptor. Subsegments go to the recorder of the current segment; the
    /// context-missing strategy is the global recorder's (see [`XrayInterceptor::recorder`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses `recorder`'s context-missing strategy (`AWS_XRAY_CONTEXT_MISSING`) when a call is made
    /// with no current segment, instead of the global recorder's.
    ///
    /// Subsegments always belong to the recorder of the segment they are created under.
    #[must_use]
    pub fn recorder(mut self, recorder: Recorder) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Records `account_id` in the `aws` block of every subsegment (as the Java SDK's interceptor
    /// does when given one).
    #[must_use]
    pub fn account_id(mut self, account_id: impl Into<String>) -> Self {
        self.account_id = Some(Arc::from(account_id.into()));
        self
    }

    /// A call with no current entity: the context-missing strategy, for calls we would trace.
    /// Out of line: the hook that calls it runs on every call.
    #[cold]
    #[inline(never)]
    fn no_context(&self, cfg: &ConfigBag) {
        if let Some(meta) = cfg.load::<Metadata>().filter(|meta| !skip(meta, cfg)) {
            self.context_missing(meta.service());
        }
    }

    fn context_missing(&self, what: &str) {
        let recorder = self.recorder.as_ref().unwrap_or_else(|| Recorder::global());
        if recorder.is_enabled() {
            recorder.context_missing(what);
        }
    }
}

impl fmt::Debug for XrayInterceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XrayInterceptor")
            .field("recorder", &self.recorder.as_ref().map(|_| "custom"))
            .field("account_id", &self.account_id)
            .finish()
    }
}

/// X-Ray's own API calls, made by samplers and daemons, are never traced (as in the official
/// SDKs): tracing them would trace the tracer.
fn is_xray_plumbing(meta: &Metadata) -> bool {
    meta.service() == "XRay"
        && matches!(
            meta.name(),
            "GetSamplingRules" | "GetSamplingTargets" | "PutTraceSegments" | "PutTelemetryRecords"
        )
}

/// Presigning runs the operation up to signing and sends nothing. The SDK's presigning plugin
/// disables the user-agent interceptor for it, which is the only marker visible outside the
/// service crates.
fn is_presigning(cfg: &ConfigBag) -> bool {
    cfg.load::<DisableInterceptor<UserAgentInterceptor>>()
        .is_some()
}

fn skip(meta: &Metadata, cfg: &ConfigBag) -> bool {
    is_xray_plumbing(meta) || is_presigning(cfg)
}

/// Sets `X-Amzn-Trace-Id` to `ours` (pre-formatted as `value`), keeping the extra keys
/// (`Lineage`, ...) of a header already there (the SDK's recursion-detection interceptor copies
/// `_X_AMZN_TRACE_ID` inside Lambda).
fn inject(headers: &mut Headers, ours: &TraceHeader, value: String) {
    // Insert first and look at what was replaced: the common case has no header yet, and this
    // spares a lookup on every attempt.
    match headers.try_insert(const { http::HeaderName::from_static(HEADER_NAME) }, value) {
        Ok(None) => {}
        Ok(Some(previous)) => keep_extra(headers, ours, &previous),
        Err(err) => not_set(&err),
    }
}

/// The rare case of [`inject`] (inside Lambda, or a header set by the application), out of line
/// so that the code every attempt runs stays compact.
#[cold]
#[inline(never)]
fn keep_extra(headers: &mut Headers, ours: &TraceHeader, previous: &str) {
    let Ok(existing) = TraceHeader::parse(previous) else {
        return;
    };
    if existing.extra().next().is_some() {
        let merged = merge_extra(ours.clone(), &existing).to_header_string();
        let _ = headers.try_insert(const { http::HeaderName::from_static(HEADER_NAME) }, merged);
    }
}

// Out of line: the hot path of every attempt stays small (its code competes for the instruction
// cache with the SDK's own, which is larger than the cache).
#[cold]
#[inline(never)]
fn not_set(err: &dyn std::error::Error) {
    tracing::debug!(target: "xray", error = %err, "could not set the X-Amzn-Trace-Id header");
}

thread_local! {
    /// The header value last formatted on this thread for an unsampled entity, with its header.
    static UNSAMPLED: Cell<Option<(TraceHeader, String)>> = const { Cell::new(None) };
}

/// [`TraceHeader::to_header_string`] for an unsampled entity, from a one-entry cache per thread:
/// the calls a request makes under one unsampled segment all carry the same header, and copying
/// the last value touches much less code than formatting it again (with the SDK's own code larger
/// than the instruction cache, code touched is what an unsampled call costs).
fn unsampled_header_value(header: &TraceHeader) -> String {
    UNSAMPLED
        .try_with(|cache| {
            let (cached, value) = match cache.take() {
                Some((cached, value)) if cached == *header => (cached, value),
                _ => format_for_cache(header),
            };
            let out = value.clone();
            cache.set(Some((cached, value)));
            out
        })
        .unwrap_or_else(|_| header.to_header_string())
}

/// A miss of [`unsampled_header_value`]'s cache (the first call under a segment), out of line.
#[cold]
#[inline(never)]
fn format_for_cache(header: &TraceHeader) -> (TraceHeader, String) {
    (header.clone(), header.to_header_string())
}

fn merge_extra(mut ours: TraceHeader, existing: &TraceHeader) -> TraceHeader {
    for (key, value) in existing.extra() {
        let present = ours.extra().any(|(k, _)| k.eq_ignore_ascii_case(key));
        if !present {
            // `with_extra` refuses what does not fit; keep what we have then.
            if let Ok(merged) = ours.clone().with_extra(key, value) {
                ours = merged;
            }
        }
    }
    ours
}

/// A presigned request is not a call: its subsegment is dropped unrecorded.
#[cold]
#[inline(never)]
fn discard(cfg: &mut ConfigBag) {
    if let Some(call) = CallState::take(cfg) {
        call.pending.discard();
    }
}

/// Whether a signed URI carries its signature in the query string (a presigned request).
fn is_presigned(uri: &str) -> bool {
    // Most requests have no query string: a byte search, and the substring search (whose inlined
    // SIMD code is large) stays out of the hot path.
    uri.find('?').is_some_and(|at| query_is_signed(&uri[at..]))
}

#[inline(never)]
fn query_is_signed(query: &str) -> bool {
    query.contains("X-Amz-Signature=")
}

/// The sampled half of `modify_before_transmit`, apart so that the unsampled half, which must
/// cost next to nothing, is compact code.
#[inline(never)]
fn inject_sampled(ctx: &mut BeforeTransmitInterceptorContextMut<'_>, cfg: &mut ConfigBag) {
    if is_presigned(ctx.request().uri()) {
        discard(cfg);
        return;
    }
    // No state: not ours to trace (X-Ray's own call, or another X-Ray interceptor on this client
    // already traced it).
    if let Some(header) = cfg
        .interceptor_state()
        .load::<CallState>()
        .and_then(|state| state.0.as_ref())
        .and_then(|call| call.pending.trace_header())
    {
        let value = header.to_header_string();
        inject(ctx.request_mut().headers_mut(), &header, value);
    }
}

/// # When the hooks run
///
/// ### `read_before_serialization`
/// **When:** once per call, right after the SDK has applied the client's and the operation's
/// configuration, before the input is serialized. (Not `read_before_execution`: for a client
/// interceptor that hook runs before the operation's runtime plugin has put the operation
/// `Metadata` in the bag, so the service and operation are not known yet.) **Does:** with no
/// current entity, applies the context-missing strategy and stops; with an unsampled one,
/// nothing (the header is added per attempt); with a sampled one, begins a
/// [`PendingSubsegment`](xray_core::PendingSubsegment) (an id and a start time: no lock, nothing built) and stores it in the
/// call's `ConfigBag` with what the start knows: the operation `Metadata`, the region and the
/// whitelisted input members, captured as typed values.
///
/// ### `modify_before_transmit`
/// **When:** once per attempt, after signing. **Does:** sets `X-Amzn-Trace-Id` (Root, Parent =
/// the subsegment, `Sampled=1`; or the current entity's `Sampled=0` header when unsampled),
/// keeping the extra keys of a header already present (the SDK's recursion-detection
/// interceptor sets one before signing inside Lambda). SigV4 does not sign this header, so
/// setting it after signing changes no signature — and spares the signer a header to
/// canonicalize on every attempt. A request signed in its query string is a presigned one: no
/// header, and its subsegment is dropped unrecorded.
///
/// ### `read_after_execution`
/// **When:** once per call, after the last attempt, on success or failure. **Does:** captures
/// the response status and length, request ids, retries, whitelisted output members, and the
/// error flags and cause, then ends the subsegment: it joins the trace under one lock, and its
/// `aws` and `http` blocks are written from those captures when the trace is sent.
///
/// Every hook returns `Ok(())`: an error from a hook would fail the application's call.
#[dyn_dispatch_hint]
impl Intercept for XrayInterceptor {
    fn name(&self) -> &'static str {
        "XrayInterceptor"
    }

    fn read_before_serialization(
        &self,
        ctx: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // Unsampled calls (most of them, with the default sampler) leave after one thread-local
        // read: the header is added per attempt.
        if !context::current_is_sampled() {
            if !context::has_current() {
                self.no_context(cfg);
            }
            return Ok(());
        }
        let Some(entity) = context::current() else {
            return Ok(());
        };
        // A second X-Ray interceptor on the same client must not trace the call twice.
        if cfg.interceptor_state().load::<CallState>().is_some() {
            return Ok(());
        }
        let Some(meta) = cfg.load::<Metadata>() else {
            return Ok(());
        };
        // Presigning is recognised when the request is signed (`modify_before_transmit`): a
        // signature in the query string is found faster than the bag's presigning marker, whose
        // lookup misses through every layer of the bag on every other call.
        if is_xray_plumbing(meta) {
            return Ok(());
        }
        let params = params::service(meta.service());
        // The name without an allocation when the service's table is compiled in.
        let name: Cow<'static, str> = match params {
            Some(service) => Cow::Borrowed(service.id),
            None => Cow::Owned(meta.service().to_owned()),
        };
        let start = CallStart {
            metadata: meta.clone(),
            region: cfg.load::<Region>().cloned(),
            account_id: self.account_id.clone(),
            params,
            request: params.and_then(|service| (service.request)(meta.name(), ctx.input())),
        };
        let pending = entity.begin_pending_subsegment(name);
        cfg.interceptor_state()
            .store_put(CallState(Some(TracedCall { pending, start })));
        Ok(())
    }

    fn modify_before_transmit(
        &self,
        ctx: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // The current entity first: with none, or an unsampled one, there is no state to look
        // for (bag lookups that miss walk every layer).
        if context::current_is_sampled() {
            inject_sampled(ctx, cfg);
            return Ok(());
        }
        let Some(entity) = context::current() else {
            return Ok(());
        };
        // Signed already: a signature in the query string means a presigned request. (X-Ray's
        // own calls are not looked for here: carrying `Sampled=0` does them no harm, and a
        // lookup on every unsampled attempt would.)
        if is_presigned(ctx.request().uri()) {
            return Ok(());
        }
        if let Some(header) = entity.trace_header() {
            let value = unsampled_header_value(&header);
            inject(ctx.request_mut().headers_mut(), &header, value);
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        ctx: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // Only a call made under a sampled entity has state. (Were the context to change between
        // the hooks of one call, the state still records the subsegment when the bag is dropped.)
        if !context::current_is_sampled() {
            return Ok(());
        }
        let Some(TracedCall { pending, start }) = CallState::take(cfg) else {
            return Ok(());
        };
        Outcome {
            response: ctx.response(),
            result: ctx.output_or_error(),
            attempts: cfg.load::<RequestAttempts>().map(RequestAttempts::attempts),
        }
        .finish(pending, start);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_clone_send_sync_static() {
        fn check<T: Clone + Send + Sync + 'static>() {}
        check::<XrayInterceptor>();
    }

    #[test]
    fn merges_extra_keys_of_an_existing_header() {
        let ours: TraceHeader =
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
                .parse()
                .unwrap();
        let mut headers = Headers::new();
        headers.insert(
            HEADER_NAME,
            "Root=1-11111111-222222222222222222222222;Parent=1111111111111111;Sampled=0;Lineage=a87bd80c:1",
        );
        inject(&mut headers, &ours, ours.to_header_string());
        assert_eq!(
            headers.get(HEADER_NAME),
            Some(
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1"
            )
        );

        // An unparsable header is replaced.
        headers.insert(HEADER_NAME, "garbage");
        inject(&mut headers, &ours, ours.to_header_string());
        assert_eq!(headers.get(HEADER_NAME), Some(ours.to_string().as_str()));
    }

    #[test]
    fn unsampled_header_values_follow_the_header() {
        let a: TraceHeader =
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"
                .parse()
                .unwrap();
        let b: TraceHeader =
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=1111111111111111;Sampled=0;Lineage=a87bd80c:1"
                .parse()
                .unwrap();
        // Alternating headers: each value is its own header's, never the cached other one.
        for header in [&a, &a, &b, &b, &a, &b] {
            assert_eq!(unsampled_header_value(header), header.to_string());
        }
    }

    #[test]
    fn presigned_uris_are_recognised() {
        assert!(is_presigned(
            "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc"
        ));
        assert!(!is_presigned("https://dynamodb.us-east-1.amazonaws.com/"));
        assert!(!is_presigned("https://b.s3.amazonaws.com/?list-type=2"));
    }

    #[test]
    fn xray_plumbing_is_recognised() {
        assert!(is_xray_plumbing(&Metadata::new("GetSamplingRules", "XRay")));
        assert!(is_xray_plumbing(&Metadata::new("PutTraceSegments", "XRay")));
        assert!(!is_xray_plumbing(&Metadata::new(
            "GetTraceSummaries",
            "XRay"
        )));
        assert!(!is_xray_plumbing(&Metadata::new("GetItem", "DynamoDB")));
    }
}
