//! Uploaders: take batches from the buffer and send them with `PutTraceSegments`, retrying
//! what can succeed later.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use aws_sdk_xray::error::{ProvideErrorMetadata, SdkError};
use tokio::sync::watch;
use tokio::time::Instant;

use super::buffer::{Batch, Buffer};
use super::metrics::Counters;
use super::throttle::LogLimiter;

/// How often a batch whose documents X-Ray returned as unprocessed is sent again before the
/// documents are counted as `unprocessed`.
const UNPROCESSED_ROUNDS: u32 = 3;

#[derive(Debug)]
pub(crate) struct Uploader {
    pub(crate) client: aws_sdk_xray::Client,
    pub(crate) buffer: Arc<Buffer>,
    pub(crate) counters: Arc<Counters>,
    /// Set at shutdown: retries stop waiting once it has passed.
    pub(crate) deadline: watch::Receiver<Option<Instant>>,
    pub(crate) backoff_min: Duration,
    pub(crate) backoff_max: Duration,
    pub(crate) logs: Arc<LogLimiter>,
}

impl Uploader {
    pub(crate) async fn run(self: Arc<Self>) {
        while let Some(batch) = self.buffer.next_batch().await {
            self.deliver(&batch).await;
            self.buffer.release(&batch);
        }
    }

    async fn deliver(&self, batch: &Batch) {
        let mut pending: Cow<'_, [String]> = Cow::Borrowed(&batch.docs);
        let mut delay = self.backoff_min;
        let mut unprocessed_rounds = 0;
        loop {
            let n = pending.len();
            let result = self
                .client
                .put_trace_segments()
                .set_trace_segment_documents(Some(pending.to_vec()))
                .send()
                .await;
            let retry = match result {
                Ok(out) => {
                    self.counters.batches.fetch_add(1, Relaxed);
                    self.counters.largest_batch.fetch_max(n as u64, Relaxed);
                    let unprocessed = out.unprocessed_trace_segments();
                    if unprocessed.is_empty() {
                        Counters::add(&self.counters.uploaded, n);
                        return;
                    }
                    let again = self.unprocessed(&pending, unprocessed);
                    let unmatched = unprocessed
                        .len()
                        .saturating_sub(again.len())
                        .min(n - again.len());
                    Counters::add(&self.counters.uploaded, n - again.len() - unmatched);
                    Counters::add(&self.counters.unprocessed, unmatched);
                    if again.is_empty() {
                        return;
                    }
                    unprocessed_rounds += 1;
                    if unprocessed_rounds > UNPROCESSED_ROUNDS {
                        Counters::add(&self.counters.unprocessed, again.len());
                        return;
                    }
                    Counters::add(&self.counters.retries, again.len());
                    pending = Cow::Owned(again);
                    true
                }
                Err(e) if retryable(&e) => {
                    self.counters.retries.fetch_add(1, Relaxed);
                    if self.logs.allow("upload-retry") {
                        tracing::warn!(target: "xray", error = %describe(&e), documents = n,
                            "PutTraceSegments failed; retrying with backoff");
                    }
                    true
                }
                Err(e) => {
                    Counters::add(&self.counters.failed, n);
                    if self.logs.allow("upload-failed") {
                        tracing::error!(target: "xray", error = %describe(&e), documents = n,
                            "PutTraceSegments failed and retrying cannot help; documents lost");
                    }
                    return;
                }
            };
            debug_assert!(retry);
            // Full jitter between half the delay and the delay, so uploaders that failed together
            // do not retry together.
            let wait = delay.mul_f64(0.5 + rand::random::<f64>() / 2.0);
            delay = (delay * 2).min(self.backoff_max);
            if !self.pause(wait).await {
                Counters::add(&self.counters.failed, pending.len());
                if self.logs.allow("upload-shutdown") {
                    tracing::error!(target: "xray", documents = pending.len(),
                        "shutdown deadline reached while retrying; documents lost");
                }
                return;
            }
        }
    }

    /// The documents X-Ray returned, found by their `id` (as many of each id as it returned).
    fn unprocessed(
        &self,
        sent: &[String],
        unprocessed: &[aws_sdk_xray::types::UnprocessedTraceSegment],
    ) -> Vec<String> {
        let mut wanted: HashMap<&str, usize> = HashMap::new();
        for u in unprocessed {
            if self.logs.allow("unprocessed") {
                tracing::warn!(target: "xray", id = u.id().unwrap_or("?"),
                    code = u.error_code().unwrap_or("?"), message = u.message().unwrap_or(""),
                    "X-Ray returned a document as unprocessed");
            }
            if let Some(id) = u.id() {
                *wanted.entry(id).or_default() += 1;
            }
        }
        let mut again = Vec::new();
        for doc in sent {
            if let Some(id) = document_id(doc)
                && let Some(left) = wanted.get_mut(id.as_ref())
                && *left > 0
            {
                *left -= 1;
                again.push(doc.clone());
            }
        }
        again
    }

    /// Sleeps `wait`, unless the shutdown deadline comes first: then returns `false` at once.
    async fn pause(&self, wait: Duration) -> bool {
        let wake = Instant::now() + wait;
        let mut deadline = self.deadline.clone();
        loop {
            if let Some(at) = *deadline.borrow_and_update()
                && wake > at
            {
                return false;
            }
            tokio::select! {
                () = tokio::time::sleep_until(wake) => return true,
                changed = deadline.changed() => if changed.is_err() {
                    tokio::time::sleep_until(wake).await;
                    return true;
                },
            }
        }
    }
}

fn document_id(doc: &str) -> Option<Cow<'_, str>> {
    #[derive(serde::Deserialize)]
    struct Id<'a> {
        #[serde(borrow)]
        id: Option<Cow<'a, str>>,
    }
    serde_json::from_str::<Id<'_>>(doc).ok()?.id
}

type PutError = SdkError<
    aws_sdk_xray::operation::put_trace_segments::PutTraceSegmentsError,
    aws_sdk_xray::config::http::HttpResponse,
>;

/// Throttling, 5xx answers, timeouts and connection failures pass; other errors (credentials
/// refused, a malformed request) come back the same on every try.
fn retryable(e: &PutError) -> bool {
    match e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or("");
            let status = se.raw().status().as_u16();
            status >= 500
                || status == 429
                || code.contains("Throttl")
                || code == "TooManyRequestsException"
                || code == "RequestLimitExceeded"
        }
        _ => false,
    }
}

fn describe(e: &PutError) -> String {
    match e {
        SdkError::ServiceError(se) => format!(
            "{} (HTTP {}): {}",
            se.err().code().unwrap_or("service error"),
            se.raw().status().as_u16(),
            se.err().message().unwrap_or("")
        ),
        other => aws_sdk_xray::error::DisplayErrorContext(other).to_string(),
    }
}
