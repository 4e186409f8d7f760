use std::sync::atomic::{AtomicBool, Ordering};

use lambda_runtime::Context;
use xray_core::{Recorder, Segment, TraceHeader};

/// The invocation's trace header: `Context::xray_trace_id` (Lambda's `Lambda-Runtime-Trace-Id`
/// header for this invocation), else the `_X_AMZN_TRACE_ID` environment variable.
///
/// `None` when neither holds one, or when it is malformed (logged at debug level).
pub fn trace_header(context: &Context) -> Option<TraceHeader> {
    match context.xray_trace_id.as_deref() {
        Some(value) if !value.trim().is_empty() => xray_core::lambda::parse_trace_header(value),
        _ => xray_core::lambda::trace_header_from_env(),
    }
}

/// Begins the facade of one invocation (see
/// [`Recorder::begin_facade`](xray_core::Recorder::begin_facade)): make it the current entity
/// while the handler runs, end it when the handler is done. [`XrayLambdaLayer`](crate::XrayLambdaLayer)
/// does all of this; call it yourself for handlers that are not `tower` services.
///
/// `None` when the invocation has no trace header; the first time, a debug line says so.
///
/// ```
/// use lambda_runtime::Context;
/// use xray_core::{Recorder, emit::MemoryEmitter};
///
/// let emitter = MemoryEmitter::new();
/// let recorder = Recorder::builder().emitter(emitter.clone()).ignore_env().build()?;
/// let mut context = Context::default();
/// context.xray_trace_id =
///     Some("Root=1-6740d1a2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1".into());
///
/// let facade = xray_lambda::begin_invocation(&recorder, &context).unwrap();
/// facade.begin_subsegment("work").end();
/// facade.end();
/// let docs = emitter.documents();
/// assert_eq!(docs.len(), 1, "the subsegment, not the facade");
/// assert_eq!(docs[0].parent_id.unwrap().to_string(), "53995c3f42cd8ad8");
/// # Ok::<(), xray_core::ConfigError>(())
/// ```
pub fn begin_invocation(recorder: &Recorder, context: &Context) -> Option<Segment> {
    static SAID: AtomicBool = AtomicBool::new(false);
    match trace_header(context) {
        Some(header) => Some(recorder.begin_facade(&header)),
        None => {
            if recorder.is_enabled() && !SAID.swap(true, Ordering::Relaxed) {
                tracing::debug!(
                    target: "xray",
                    request_id = %context.request_id,
                    "Lambda invocation without a trace header (is active tracing on?); not traced"
                );
            }
            None
        }
    }
}
