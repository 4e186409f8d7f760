//! The per-call state the interceptor keeps in the call's `ConfigBag`.

use aws_smithy_types::config_bag::{Storable, StoreReplace};
use xray_core::Subsegment;

use crate::params::Service;

/// The subsegment of one traced SDK call.
///
/// It lives in the call's `ConfigBag`, never in the interceptor, so one interceptor serves any
/// number of concurrent calls. If the call is cancelled (its future dropped) before
/// `read_after_execution`, the bag is dropped with the future and the subsegment guard ends the
/// subsegment: it is sent with what was known so far instead of leaking an open subsegment.
#[derive(Debug)]
pub(crate) struct CallState {
    /// Taken by `read_after_execution`, which ends it.
    ///
    /// The trace header of each attempt is derived from it when the attempt is sent rather than
    /// kept here: the SDK takes the header value as an owned `String`, so a stored copy would
    /// only add a clone per attempt to the formatting it saves.
    pub(crate) subsegment: Option<Subsegment>,
    /// The service's parameter capture, looked up once per call.
    pub(crate) params: Option<&'static Service>,
}

impl Storable for CallState {
    type Storer = StoreReplace<Self>;
}
