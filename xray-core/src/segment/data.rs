//! Mutable access to an entity's document, with the X-Ray rules for names, annotations and
//! metadata applied.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::value::RawValue;

use crate::model::cause::truncate_utf8;
use crate::model::{
    AnnotationValue, Aws, Cause, CauseDetails, Document, Exception, Http, HttpRequest,
    HttpResponse, Namespace, Sql,
};

/// The longest name X-Ray accepts, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// The longest string annotation value X-Ray accepts, in characters.
pub const MAX_ANNOTATION_VALUE_CHARS: usize = 1000;
/// The longest annotation key, in characters.
pub const MAX_ANNOTATION_KEY_CHARS: usize = 500;
/// The default metadata namespace.
pub const DEFAULT_METADATA_NAMESPACE: &str = "default";

/// A view of one entity's document while its lock is held.
///
/// Obtained through [`Entity::update`](crate::Entity::update). Setters apply the same rules as the
/// convenience methods on [`Entity`](crate::Entity).
#[derive(Debug)]
pub struct EntityData<'a> {
    pub(crate) doc: &'a mut Document,
}

impl EntityData<'_> {
    /// The document as it is now (subsegments are not included while in flight).
    pub fn document(&self) -> &Document {
        self.doc
    }

    /// Adds or replaces an annotation. See [`Entity::annotate`](crate::Entity::annotate).
    pub fn annotate(&mut self, key: &str, value: impl Into<AnnotationValue>) {
        let Some(key) = sanitize_annotation_key(key) else {
            tracing::warn!(target: "xray", key, "annotation key has no usable character; dropped");
            return;
        };
        let mut value = value.into();
        if let AnnotationValue::String(s) = &mut value {
            truncate_chars(s, MAX_ANNOTATION_VALUE_CHARS);
        }
        self.doc.annotations.insert(key.into_owned(), value);
    }

    /// Adds metadata under `namespace`. See [`Entity::add_metadata`](crate::Entity::add_metadata).
    pub fn add_metadata<T: Serialize + ?Sized>(&mut self, namespace: &str, key: &str, value: &T) {
        if reserved_namespace(namespace) {
            tracing::warn!(target: "xray", namespace, "the metadata namespace `aws` and namespaces starting with `AWS.` are reserved for AWS; dropped");
            return;
        }
        match serde_json::to_string(value).and_then(RawValue::from_string) {
            Ok(raw) => {
                self.doc
                    .metadata
                    .entry(namespace.to_owned())
                    .or_default()
                    .insert(key.to_owned(), raw);
            }
            Err(err) => {
                tracing::warn!(target: "xray", key, error = %err, "metadata value could not be serialized; dropped");
            }
        }
    }

    /// Sets the end user.
    pub fn set_user(&mut self, user: impl Into<String>) {
        self.doc.user = Some(user.into());
    }

    /// Sets the subsegment namespace.
    pub fn set_namespace(&mut self, namespace: Namespace) {
        self.doc.namespace = Some(namespace);
    }

    /// Marks a client error.
    pub fn set_error(&mut self, error: bool) {
        self.doc.error = error;
    }

    /// Marks a server error.
    pub fn set_fault(&mut self, fault: bool) {
        self.doc.fault = fault;
    }

    /// Marks throttling.
    pub fn set_throttle(&mut self, throttle: bool) {
        self.doc.throttle = throttle;
    }

    /// Records an HTTP status: `http.response.status`, and 4xx → error, 429 → error + throttle,
    /// 5xx → fault, as every official SDK does.
    pub fn set_http_status(&mut self, status: u16) {
        self.http_response_mut().status = Some(status);
        match status {
            429 => {
                self.doc.error = true;
                self.doc.throttle = true;
            }
            400..=499 => self.doc.error = true,
            500..=599 => self.doc.fault = true,
            _ => {}
        }
    }

    /// Records an error and its `source()` chain as the cause and marks a fault.
    pub fn record_error<E: std::error::Error + ?Sized>(&mut self, error: &E) {
        self.add_exceptions(Exception::chain_from(error));
        self.doc.fault = true;
    }

    /// Like [`record_error`](Self::record_error), with the frames of `backtrace` (captured where
    /// the error happened, e.g. `std::backtrace::Backtrace::capture()`) on the outermost
    /// exception.
    pub fn record_error_with_backtrace<E: std::error::Error + ?Sized>(
        &mut self,
        error: &E,
        backtrace: &std::backtrace::Backtrace,
    ) {
        let mut chain = Exception::chain_from(error);
        if let Some(first) = chain.first_mut() {
            first.set_backtrace(backtrace);
        }
        self.add_exceptions(chain);
        self.doc.fault = true;
    }

    /// Adds exceptions to the cause (without changing the error/fault/throttle flags).
    pub fn add_exceptions(&mut self, exceptions: impl IntoIterator<Item = Exception>) {
        match &mut self.doc.cause {
            Some(Cause::Details(d)) => d.exceptions.extend(exceptions),
            _ => {
                self.doc.cause = Some(Cause::Details(CauseDetails::new(
                    exceptions.into_iter().collect(),
                )));
            }
        }
    }

    /// The `http` block, created if absent.
    pub fn http_mut(&mut self) -> &mut Http {
        self.doc.http.get_or_insert_with(Box::default)
    }

    /// `http.request`, created if absent.
    pub fn http_request_mut(&mut self) -> &mut HttpRequest {
        self.http_mut()
            .request
            .get_or_insert_with(HttpRequest::default)
    }

    /// `http.response`, created if absent.
    pub fn http_response_mut(&mut self) -> &mut HttpResponse {
        self.http_mut()
            .response
            .get_or_insert_with(HttpResponse::default)
    }

    /// The `aws` block, created if absent.
    pub fn aws_mut(&mut self) -> &mut Aws {
        self.doc.aws.get_or_insert_with(Box::default)
    }

    /// The `sql` block, created if absent.
    pub fn sql_mut(&mut self) -> &mut Sql {
        self.doc.sql.get_or_insert_with(Box::default)
    }

    /// Sets `origin` (segments).
    pub fn set_origin(&mut self, origin: impl Into<String>) {
        self.doc.origin = Some(origin.into());
    }

    /// Sets `resource_arn` (segments).
    pub fn set_resource_arn(&mut self, arn: impl Into<String>) {
        self.doc.resource_arn = Some(arn.into());
    }

    /// Sets `service.version` (segments).
    pub fn set_service_version(&mut self, version: impl Into<String>) {
        self.doc
            .service
            .get_or_insert_with(Default::default)
            .version = Some(version.into());
    }

    /// Adds the id of a sibling that finished before this subsegment started.
    pub fn add_precursor_id(&mut self, id: crate::SegmentId) {
        self.doc.precursor_ids.push(id);
    }

    /// Replaces the name (sanitized as every name is).
    pub fn set_name(&mut self, name: &str) {
        self.doc.name = sanitize_name(name).into_owned();
    }
}

/// `aws` (any case) and anything starting with `AWS.` belong to AWS (the dev guide reserves `AWS.`;
/// the `aws` namespace would be confused with the `aws` block).
fn reserved_namespace(namespace: &str) -> bool {
    namespace.eq_ignore_ascii_case("aws")
        || namespace
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("aws."))
}

/// Makes a segment or subsegment name acceptable to X-Ray: keeps Unicode letters, numbers,
/// whitespace and `_ . : / % & # = + \ - @`, cuts to 200 characters, and falls back to
/// `"unnamed"` when nothing is left.
///
/// # Examples
///
/// ```
/// use xray_core::segment::sanitize_name;
///
/// assert_eq!(sanitize_name("orders-api"), "orders-api");
/// assert_eq!(sanitize_name("what?*()!"), "what");
/// assert_eq!(sanitize_name("???"), "unnamed");
/// ```
pub fn sanitize_name(name: &str) -> Cow<'_, str> {
    let clean: Cow<'_, str> = if name.bytes().all(|b| NAME_BYTES[usize::from(b)]) {
        Cow::Borrowed(name)
    } else {
        Cow::Owned(name.chars().filter(|&c| name_char_ok(c)).collect())
    };
    if clean.trim().is_empty() {
        return Cow::Borrowed("unnamed");
    }
    if clean.len() <= MAX_NAME_CHARS {
        // At most 200 bytes is at most 200 characters.
        return clean;
    }
    match clean.char_indices().nth(MAX_NAME_CHARS) {
        Some((cut, _)) => Cow::Owned(clean[..cut].to_owned()),
        None => clean,
    }
}

/// ASCII bytes allowed in names, as a table: names are checked on every segment and subsegment.
static NAME_BYTES: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = name_byte_ok(b as u8);
        b += 1;
    }
    t
};

/// An ASCII byte allowed in names (non-ASCII bytes take the slow path).
const fn name_byte_ok(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b' ' | b'\t'
                | b'_'
                | b'.'
                | b':'
                | b'/'
                | b'%'
                | b'&'
                | b'#'
                | b'='
                | b'+'
                | b'\\'
                | b'-'
                | b'@'
        )
}

fn name_char_ok(c: char) -> bool {
    if c.is_ascii() {
        name_byte_ok(c as u8) || c.is_ascii_whitespace()
    } else {
        c.is_alphanumeric() || c.is_whitespace()
    }
}

/// Makes an annotation key match `[A-Za-z0-9_]{1,500}` by replacing every other character with
/// `_` (as the OpenTelemetry collector does); `None` when the key is empty.
///
/// # Examples
///
/// ```
/// use xray_core::segment::sanitize_annotation_key;
///
/// assert_eq!(sanitize_annotation_key("user_id").unwrap(), "user_id");
/// assert_eq!(sanitize_annotation_key("http.route").unwrap(), "http_route");
/// assert!(sanitize_annotation_key("").is_none());
/// ```
pub fn sanitize_annotation_key(key: &str) -> Option<Cow<'_, str>> {
    if key.is_empty() {
        return None;
    }
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut key: Cow<'_, str> = if key.chars().all(valid) {
        Cow::Borrowed(key)
    } else {
        Cow::Owned(
            key.chars()
                .map(|c| if valid(c) { c } else { '_' })
                .collect(),
        )
    };
    if key.len() > MAX_ANNOTATION_KEY_CHARS {
        key = Cow::Owned(key[..MAX_ANNOTATION_KEY_CHARS].to_owned());
    }
    Some(key)
}

fn truncate_chars(s: &mut String, max_chars: usize) {
    if let Some((cut, _)) = s.char_indices().nth(max_chars) {
        truncate_utf8(s, cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            sanitize_name("a b_c.d:e/f%g&h#i=j+k\\l-m@n"),
            "a b_c.d:e/f%g&h#i=j+k\\l-m@n"
        );
        assert_eq!(sanitize_name("naïve 東京"), "naïve 東京");
        assert_eq!(sanitize_name("x;y$z~^<>"), "xyz");
        assert_eq!(sanitize_name(&"é".repeat(300)).chars().count(), 200);
        assert_eq!(sanitize_name(""), "unnamed");
    }

    #[test]
    fn annotation_keys() {
        assert_eq!(sanitize_annotation_key("a-b c").unwrap(), "a_b_c");
        assert_eq!(sanitize_annotation_key("ключ").unwrap(), "____");
        assert_eq!(
            sanitize_annotation_key(&"k".repeat(600)).unwrap().len(),
            500
        );
    }

    #[test]
    fn data_rules() {
        let mut doc = Document::default();
        let mut d = EntityData { doc: &mut doc };
        d.annotate("long", "x".repeat(2000));
        d.annotate("bad key", 1);
        d.add_metadata("AWS.internal", "k", &1);
        d.add_metadata("aws", "k", &1);
        d.add_metadata("Aws", "k", &1);
        d.add_metadata("default", "k", &serde_json::json!({"a": [1, 2]}));
        d.set_http_status(429);
        assert_eq!(doc.annotations.len(), 2);
        match &doc.annotations["long"] {
            AnnotationValue::String(s) => assert_eq!(s.len(), 1000),
            other => panic!("{other:?}"),
        }
        assert!(doc.annotations.contains_key("bad_key"));
        assert_eq!(doc.metadata.len(), 1);
        assert_eq!(doc.metadata["default"]["k"].get(), r#"{"a":[1,2]}"#);
        assert!(doc.error && doc.throttle && !doc.fault);
    }

    #[test]
    fn statuses() {
        for (status, error, throttle, fault) in [
            (200, false, false, false),
            (302, false, false, false),
            (404, true, false, false),
            (429, true, true, false),
            (500, false, false, true),
            (503, false, false, true),
        ] {
            let mut doc = Document::default();
            EntityData { doc: &mut doc }.set_http_status(status);
            assert_eq!(
                (doc.error, doc.throttle, doc.fault),
                (error, throttle, fault),
                "{status}"
            );
        }
    }
}
