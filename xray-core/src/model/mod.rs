//! The wire documents: segments and subsegments as X-Ray receives them.
//!
//! These are plain serde types with public fields, so tests, receivers and custom emitters can
//! build, read and compare documents. Every field of the segment document format is here; fields
//! this crate does not know (from newer or older SDKs, like the Go SDK's leaked `Dummy`) are kept
//! in `extra` maps so a document survives a parse/serialize round trip. Serialization leaves out
//! empty and `None` values and `false` flags, as the Go, Java and Python SDKs do.
//!
//! The live, thread-safe entities that instrumentation works with are in
//! [`segment`](crate::segment); they turn into [`Document`]s when they are sent.

mod aws;
pub(crate) mod cause;
mod http;
mod metadata;
mod sql;
mod time;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

pub use self::aws::{Aws, CloudwatchLogs, Ec2, Ecs, Eks, ElasticBeanstalk, XraySdk};
pub use self::cause::{
    Cause, CauseDetails, Exception, MAX_CHAIN, MAX_MESSAGE_LEN, MAX_STACK_FRAMES, StackFrame,
};
pub use self::http::{Http, HttpRequest, HttpResponse};
pub use self::sql::Sql;
pub use self::time::Timestamp;
use crate::id::{SegmentId, TraceId};

/// Extra, unknown JSON fields kept through a round trip.
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// Metadata: namespace → key → any JSON value (kept as serialized JSON text).
pub type Metadata = BTreeMap<String, BTreeMap<String, Box<RawValue>>>;

/// A segment or subsegment document.
///
/// The larger optional blocks (`http`, `aws`, `sql`, `service`) are boxed so that the document
/// itself stays small: live segments move documents around, and most carry one block at most.
///
/// A segment carries `trace_id`; a subsegment embedded in its parent's `subsegments` carries
/// neither `trace_id` nor `parent_id`; a subsegment sent on its own (an "independent
/// subsegment") carries `type: "subsegment"`, `trace_id` and `parent_id`.
///
/// # Examples
///
/// ```
/// use xray_core::model::Document;
///
/// let doc: Document = serde_json::from_str(r#"{
///     "name": "orders", "id": "6b55dcc497934f1a",
///     "trace_id": "1-5880168b-fd5158284b67678a3bb5a78c",
///     "start_time": 1484789387.126, "end_time": 1484789387.535,
///     "http": {"response": {"status": 200}}
/// }"#)?;
/// assert_eq!(doc.http.unwrap().response.unwrap().status, Some(200));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Document {
    /// The logical name of the service (segment) or of the downstream call (subsegment).
    pub name: String,
    /// This entity's id.
    pub id: SegmentId,
    /// The trace id; present on segments and independent subsegments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<TraceId>,
    /// The parent's id: the upstream caller for a segment, the direct parent for an independent
    /// subsegment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<SegmentId>,
    /// `"subsegment"` for independent subsegments.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<DocumentKind>,
    /// When the work started.
    pub start_time: Timestamp,
    /// When the work ended; `None` while in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<Timestamp>,
    /// `true` for a document sent before the work ended.
    #[serde(default, skip_serializing_if = "is_false")]
    pub in_progress: bool,
    /// `aws` for AWS SDK calls, `remote` for other downstream calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<Namespace>,
    /// Marks a call to another traced service (schema v1 places it at top level).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traced: Option<bool>,
    /// Ids of sibling subsegments that finished before this one started.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub precursor_ids: Vec<SegmentId>,
    /// The type of AWS resource running the application, e.g. `AWS::EC2::Instance`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// Information about the application (`version`, `runtime`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<Box<Service>>,
    /// The end user, indexed for filter expressions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The ARN of the resource running the application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_arn: Option<String>,
    /// The HTTP request and response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<Box<Http>>,
    /// AWS resource data (segments) or AWS call data (subsegments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<Box<Aws>>,
    /// SQL query data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<Box<Sql>>,
    /// A client error (4xx).
    #[serde(default, skip_serializing_if = "is_false")]
    pub error: bool,
    /// A server error (5xx) or an exception.
    #[serde(default, skip_serializing_if = "is_false")]
    pub fault: bool,
    /// The request was throttled (429).
    #[serde(default, skip_serializing_if = "is_false")]
    pub throttle: bool,
    /// What caused the error or fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
    /// Indexed key/value pairs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, AnnotationValue>,
    /// Non-indexed data, by namespace. Reading refuses a number that does not fit an `f64`.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "metadata::deserialize"
    )]
    pub metadata: Metadata,
    /// Embedded subsegments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subsegments: Vec<Document>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Document {
    /// A document with a name, an id and a start time; everything else empty.
    pub fn new(name: impl Into<String>, id: SegmentId, start_time: Timestamp) -> Self {
        Self {
            name: name.into(),
            id,
            start_time,
            ..Self::default()
        }
    }

    /// Calls `f` on this document and every nested subsegment, parents first.
    pub fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Document)) {
        f(self);
        for s in &self.subsegments {
            s.walk(f);
        }
    }

    /// The number of documents in this tree, this one included.
    pub fn count(&self) -> usize {
        1 + self.subsegments.iter().map(Document::count).sum::<usize>()
    }
}

/// The `type` field of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum DocumentKind {
    /// An independent subsegment.
    Subsegment,
}

/// The `namespace` of a subsegment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Namespace {
    /// A call to an AWS service through an AWS SDK.
    Aws,
    /// A call to any other downstream service (HTTP, SQL).
    Remote,
    /// Local work (the Python SDK's convention; others leave the namespace out).
    Local,
}

/// The `service` object of a segment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Service {
    /// The application's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The language runtime, e.g. `rust`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// The runtime's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_version: Option<String>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An annotation value: a string, a finite number or a boolean.
///
/// # Examples
///
/// ```
/// use xray_core::model::AnnotationValue;
///
/// assert_eq!(AnnotationValue::from(3), AnnotationValue::from(3u8));
/// assert!(AnnotationValue::from_f64(f64::NAN).is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum AnnotationValue {
    /// A boolean.
    Bool(bool),
    /// A number (integers stay integers on the wire).
    Number(serde_json::Number),
    /// A string (at most 1000 characters are sent).
    String(String),
}

impl AnnotationValue {
    /// A number from a float; `None` for NaN and infinities, which X-Ray cannot index.
    pub fn from_f64(v: f64) -> Option<Self> {
        serde_json::Number::from_f64(v).map(AnnotationValue::Number)
    }
}

impl From<bool> for AnnotationValue {
    fn from(v: bool) -> Self {
        AnnotationValue::Bool(v)
    }
}
impl From<String> for AnnotationValue {
    fn from(v: String) -> Self {
        AnnotationValue::String(v)
    }
}
impl From<&str> for AnnotationValue {
    fn from(v: &str) -> Self {
        AnnotationValue::String(v.to_owned())
    }
}
impl From<&String> for AnnotationValue {
    fn from(v: &String) -> Self {
        AnnotationValue::String(v.clone())
    }
}
impl From<std::borrow::Cow<'_, str>> for AnnotationValue {
    fn from(v: std::borrow::Cow<'_, str>) -> Self {
        AnnotationValue::String(v.into_owned())
    }
}
macro_rules! annotation_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for AnnotationValue {
            fn from(v: $t) -> Self {
                AnnotationValue::Number(serde_json::Number::from(v))
            }
        }
    )*};
}
annotation_from_int!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

impl From<f64> for AnnotationValue {
    /// NaN and infinities, which X-Ray rejects, become the string `"NaN"`, `"inf"` or `"-inf"`.
    fn from(v: f64) -> Self {
        AnnotationValue::from_f64(v).unwrap_or_else(|| AnnotationValue::String(v.to_string()))
    }
}
impl From<f32> for AnnotationValue {
    fn from(v: f32) -> Self {
        AnnotationValue::from(f64::from(v))
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_serialization_omits_empty() {
        let doc = Document::new("svc", SegmentId::from_u64(1), Timestamp::from_secs_f64(1.5));
        assert_eq!(
            serde_json::to_string(&doc).unwrap(),
            r#"{"name":"svc","id":"0000000000000001","start_time":1.5}"#
        );
    }

    #[test]
    fn unknown_fields_survive() {
        let text =
            r#"{"name":"a","id":"0000000000000001","start_time":1,"Dummy":false,"links":[1]}"#;
        let doc: Document = serde_json::from_str(text).unwrap();
        assert_eq!(doc.extra.len(), 2);
        let back: serde_json::Value = serde_json::to_value(&doc).unwrap();
        assert_eq!(back["Dummy"], false);
        assert_eq!(back["links"][0], 1);
    }

    #[test]
    fn annotation_values() {
        let v = serde_json::to_string(&AnnotationValue::from(42u64)).unwrap();
        assert_eq!(v, "42");
        assert_eq!(
            serde_json::to_string(&AnnotationValue::from(1.5)).unwrap(),
            "1.5"
        );
        assert_eq!(
            serde_json::to_string(&AnnotationValue::from(f64::INFINITY)).unwrap(),
            "\"inf\""
        );
        let back: AnnotationValue = serde_json::from_str("true").unwrap();
        assert_eq!(back, AnnotationValue::Bool(true));
    }
}
