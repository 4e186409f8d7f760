//! What a span's fields become on its subsegment: metadata, annotations, an error.

use std::fmt;

use tracing::field::{Field, Visit};
use xray_core::model::{AnnotationValue, Exception};
use xray_core::segment::EntityData;

/// Fields whose name starts with this prefix become annotations, named by the rest of the field
/// name: `xray.annotation.customer = "c-42"` is the annotation `customer`.
pub const ANNOTATION_PREFIX: &str = "xray.annotation.";

/// The metadata namespace span fields are recorded in.
pub const METADATA_NAMESPACE: &str = "tracing";

/// The field whose value becomes the subsegment's cause (and sets its `error` flag).
pub const ERROR_FIELD: &str = "error";

/// Parts of field names that are never recorded as metadata (compared case-insensitively):
/// instrumentation must not copy secrets into traces.
const SECRET_PARTS: [&str; 7] = [
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "credential",
    "api_key",
];

fn is_secret(name: &str) -> bool {
    // Field names are short; lowercasing into a stack buffer avoids an allocation per field.
    let mut buf = [0u8; 64];
    let bytes = name.as_bytes();
    let n = bytes.len().min(buf.len());
    for (dst, src) in buf.iter_mut().zip(&bytes[..n]) {
        *dst = src.to_ascii_lowercase();
    }
    let lower = &buf[..n];
    SECRET_PARTS
        .iter()
        .any(|part| lower.windows(part.len()).any(|w| w == part.as_bytes()))
}

/// One field, converted.
enum Value {
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Str(String),
}

impl Value {
    fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Bool(v) => (*v).into(),
            Value::I64(v) => (*v).into(),
            Value::U64(v) => (*v).into(),
            Value::F64(v) => serde_json::Number::from_f64(*v)
                .map_or_else(|| v.to_string().into(), serde_json::Value::Number),
            Value::Str(v) => v.as_str().into(),
        }
    }

    fn into_annotation(self) -> AnnotationValue {
        match self {
            Value::Bool(v) => v.into(),
            Value::I64(v) => v.into(),
            Value::U64(v) => v.into(),
            Value::F64(v) => v.into(),
            Value::Str(v) => v.into(),
        }
    }
}

/// The fields of one `new_span`/`record` call, collected before the entity's lock is taken.
#[derive(Default)]
pub(crate) struct Recorded {
    fields: Vec<(&'static str, Value)>,
    error: Option<Vec<Exception>>,
}

impl Recorded {
    pub(crate) fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.error.is_none()
    }

    /// Writes the fields into the subsegment's document.
    pub(crate) fn apply(self, d: &mut EntityData<'_>) {
        for (name, value) in self.fields {
            match name.strip_prefix(ANNOTATION_PREFIX) {
                Some(key) => d.annotate(key, value.into_annotation()),
                None => d.add_metadata(METADATA_NAMESPACE, name, &value.to_json()),
            }
        }
        if let Some(exceptions) = self.error {
            d.set_error(true);
            d.add_exceptions(exceptions);
        }
    }

    fn push(&mut self, field: &Field, value: Value) {
        let name = field.name();
        if name == ERROR_FIELD {
            let message = match value {
                Value::Str(s) => s,
                Value::Bool(false) => return,
                other => other.to_json().to_string(),
            };
            self.error = Some(vec![Exception::new(message)]);
            return;
        }
        if !name.starts_with(ANNOTATION_PREFIX) && is_secret(name) {
            return;
        }
        self.fields.push((name, value));
    }
}

impl Visit for Recorded {
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, Value::Bool(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, Value::I64(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, Value::U64(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, Value::F64(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, Value::Str(value.to_owned()));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if field.name() == ERROR_FIELD {
            // The whole `source()` chain, as `Entity::record_error` records it.
            self.error = Some(Exception::chain_from(value));
        } else {
            self.push(field, Value::Str(value.to_string()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, Value::Str(format!("{value:?}")));
    }
}

/// The message (and `error` field) of an ERROR event, as an exception.
#[derive(Default)]
pub(crate) struct EventMessage {
    message: Option<String>,
    error: Option<String>,
}

impl EventMessage {
    pub(crate) fn into_exception(self, target: &str) -> Exception {
        let message = match (self.message, self.error) {
            (Some(m), Some(e)) => format!("{m}: {e}"),
            (Some(m), None) => m,
            (None, Some(e)) => e,
            (None, None) => "error event".to_owned(),
        };
        Exception::new(message).with_kind(target)
    }
}

impl Visit for EventMessage {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_debug(field, &format_args!("{value}"));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.record_debug(field, &format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "message" => self.message = Some(format!("{value:?}")),
            ERROR_FIELD => self.error = Some(format!("{value:?}")),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_recognised() {
        assert!(is_secret("db_password"));
        assert!(is_secret("Authorization"));
        assert!(is_secret("refresh_TOKEN"));
        assert!(!is_secret("customer"));
        assert!(!is_secret("rows"));
    }
}
