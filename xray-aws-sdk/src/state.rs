//! The per-call state the interceptor keeps in the call's `ConfigBag`.

use aws_smithy_types::config_bag::{Storable, StoreReplace};
use xray_core::{Subsegment, TraceHeader};

/// The subsegment of one traced SDK call and the header its attempts carry.
///
/// It lives in the call's `ConfigBag`, never in the interceptor, so one interceptor serves any
/// number of concurrent calls. If the call is cancelled (its future dropped) before
/// `read_after_execution`, the bag is dropped with the future and the subsegment guard ends the
/// subsegment: it is sent with what was known so far instead of leaking an open subsegment.
#[derive(Debug)]
pub(crate) struct CallState {
    /// Taken by `read_after_execution`, which ends it.
    pub(crate) subsegment: Option<Subsegment>,
    /// `Root`, `Parent` = the subsegment, `Sampled=1`, and the incoming extra keys; with its
    /// header value, formatted once for all attempts.
    pub(crate) header: Option<(TraceHeader, String)>,
}

impl Storable for CallState {
    type Storer = StoreReplace<Self>;
}
