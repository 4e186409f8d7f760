//! The per-call state the interceptor keeps in the call's `ConfigBag`.

use std::sync::Arc;

use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use aws_types::region::Region;
use xray_core::PendingSubsegment;
use xray_core::model::{Aws, Namespace};
use xray_core::segment::EntityData;

use crate::outcome::Recorded;
use crate::params::{Captured, Service};

/// The subsegment of one traced SDK call, and what the call's start told about it.
///
/// It lives in the call's `ConfigBag`, never in the interceptor, so one interceptor serves any
/// number of concurrent calls. The subsegment is a [`PendingSubsegment`]: nothing is built while
/// the call runs; `read_after_execution` adds it to the trace with everything captured, as plain
/// values, written into the document when the trace is sent. If the call is cancelled (its future
/// dropped) before that, the bag is dropped with the future and [`Drop`] records what was known:
/// the subsegment is sent instead of being lost.
///
/// `None` once `read_after_execution` (or presigning) has taken it.
#[derive(Debug)]
pub(crate) struct CallState(pub(crate) Option<TracedCall>);

impl CallState {
    /// Takes the traced call out of the call's bag: `None` when this interceptor did not trace
    /// it, or its end (or presigning) already took it.
    pub(crate) fn take(cfg: &mut ConfigBag) -> Option<TracedCall> {
        cfg.get_mut_from_interceptor_state::<Self>()
            .and_then(|state| state.0.take())
    }
}

/// One call being traced: its subsegment and what the start of the call knew.
#[derive(Debug)]
pub(crate) struct TracedCall {
    pub(crate) pending: PendingSubsegment,
    pub(crate) start: CallStart,
}

/// What the `aws` block gets from the start of a call.
pub(crate) struct CallStart {
    pub(crate) metadata: Metadata,
    pub(crate) region: Option<Region>,
    pub(crate) account_id: Option<Arc<str>>,
    /// The service's parameter capture, looked up once per call (its output members are read at
    /// the end).
    pub(crate) params: Option<&'static Service>,
    pub(crate) request: Option<Captured>,
}

impl std::fmt::Debug for CallStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallStart")
            .field("metadata", &self.metadata)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl CallStart {
    /// Writes the `aws` namespace, operation, region, account and input members.
    pub(crate) fn write(self, d: &mut EntityData<'_>) {
        d.set_namespace(Namespace::Aws);
        let aws = d.aws_mut();
        aws.operation = Some(self.metadata.name().to_owned());
        aws.region = self.region.map(|r| r.as_ref().to_owned());
        aws.account_id = self.account_id.as_deref().map(str::to_owned);
        if let Some(write) = self.request {
            write(aws);
        }
    }
}

/// The end of a traced call: its subsegment and everything captured but the output members.
///
/// The service's output capture ([`Service::finish`]) ends it with its members, so that the
/// subsegment's writer (start, outcome and members) is one allocation.
pub(crate) struct Finish {
    pub(crate) pending: PendingSubsegment,
    pub(crate) start: CallStart,
    pub(crate) recorded: Recorded,
}

impl Finish {
    /// Ends the call; `members` writes the whitelisted output members into the `aws` block.
    pub(crate) fn with_members(self, members: impl FnOnce(&mut Aws) + Send + 'static) {
        let Self {
            pending,
            start,
            recorded,
        } = self;
        pending.end_with(move |d| {
            start.write(d);
            recorded.write(d);
            members(d.aws_mut());
        });
    }

    /// Ends the call with no output members.
    pub(crate) fn end(self) {
        self.with_members(|_| {});
    }
}

impl Drop for CallState {
    fn drop(&mut self) {
        // A call cancelled before its end: record what its start knew.
        if let Some(TracedCall { pending, start }) = self.0.take() {
            pending.end_with(move |d| start.write(d));
        }
    }
}

impl Storable for CallState {
    type Storer = StoreReplace<Self>;
}
