//! Parsing one segment document, strictly first and leniently when that fails.
//!
//! Documents from this workspace's SDK always fit [`xray_core::model::Document`]. Other SDKs and
//! the OpenTelemetry collector send values the model rejects (a `content_length` given as a
//! string, a non-hex exception id, an annotation holding an object). Rather than lose the whole
//! document, the lenient path rebuilds it from generic JSON field by field and leaves out only
//! the fields that do not fit, recording their paths. Only a document without a usable `name`,
//! `id`, `start_time` or `trace_id` is rejected.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use xray_core::model::{Document, DocumentKind, Timestamp};
use xray_core::{SegmentId, TraceId};

use crate::datagram::{RejectKind, Rejection};

/// A document that passed, with the paths of fields left out because the model rejected them.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) doc: Document,
    pub(crate) repaired: Vec<String>,
}

/// Parses a top-level document (a segment or an independent subsegment).
pub(crate) fn parse(body: &[u8]) -> Result<Parsed, Rejection> {
    let parsed = match serde_json::from_slice::<Document>(body) {
        Ok(doc) => Parsed {
            doc,
            repaired: Vec::new(),
        },
        Err(e) if e.is_data() => {
            // The JSON is fine but does not fit the model somewhere: rebuild it leniently.
            let value: Value = serde_json::from_slice(body).map_err(json_rejection)?;
            let mut repaired = Vec::new();
            let doc = lenient(value, "", &mut repaired)
                .map_err(|why| Rejection::new(RejectKind::InvalidDocument, why))?;
            Parsed { doc, repaired }
        }
        Err(e) => return Err(json_rejection(e)),
    };
    validate_top_level(&parsed.doc)?;
    Ok(parsed)
}

fn json_rejection(e: serde_json::Error) -> Rejection {
    let kind = if e.is_eof() {
        RejectKind::TruncatedJson
    } else {
        RejectKind::MalformedJson
    };
    Rejection::new(kind, e.to_string())
}

fn validate_top_level(doc: &Document) -> Result<(), Rejection> {
    if doc.trace_id.is_none() {
        return Err(Rejection::new(
            RejectKind::InvalidDocument,
            format!("document {} has no trace_id", doc.id),
        ));
    }
    if doc.kind == Some(DocumentKind::Subsegment) && doc.parent_id.is_none() {
        return Err(Rejection::new(
            RejectKind::InvalidDocument,
            format!("independent subsegment {} has no parent_id", doc.id),
        ));
    }
    Ok(())
}

/// Rebuilds a document from generic JSON, dropping (and recording) the fields that do not fit.
/// `Err` says why the value cannot be a document at all.
fn lenient(value: Value, path: &str, repaired: &mut Vec<String>) -> Result<Document, String> {
    let Value::Object(mut map) = value else {
        return Err(format!("{} is not a JSON object", display_path(path)));
    };
    let name = match map.remove("name") {
        Some(Value::String(name)) => name,
        _ => {
            return Err(format!(
                "{}: missing or non-string name",
                display_path(path)
            ));
        }
    };
    let id = map
        .remove("id")
        .as_ref()
        .and_then(Value::as_str)
        .and_then(|s| SegmentId::parse(s).ok())
        .ok_or_else(|| format!("{}: missing id or not 16 hex digits", display_path(path)))?;
    let start = map
        .remove("start_time")
        .as_ref()
        .and_then(Value::as_f64)
        .ok_or_else(|| format!("{}: missing or non-numeric start_time", display_path(path)))?;

    let mut f = Fields {
        map: &mut map,
        path,
        repaired,
    };
    let mut doc = Document::new(name, id, Timestamp::from_secs_f64(start));
    doc.trace_id = f.take::<TraceId>("trace_id");
    doc.parent_id = f.take("parent_id");
    doc.kind = f.take("type");
    doc.end_time = f.take("end_time");
    doc.in_progress = f.take("in_progress").unwrap_or(false);
    doc.namespace = f.take("namespace");
    doc.traced = f.take("traced");
    doc.precursor_ids = f.take("precursor_ids").unwrap_or_default();
    doc.origin = f.take("origin");
    doc.service = f.take("service");
    doc.user = f.take("user");
    doc.resource_arn = f.take("resource_arn");
    doc.http = f.take_http().map(Into::into);
    doc.aws = f.take("aws");
    doc.sql = f.take("sql");
    doc.error = f.take("error").unwrap_or(false);
    doc.fault = f.take("fault").unwrap_or(false);
    doc.throttle = f.take("throttle").unwrap_or(false);
    doc.cause = f.take("cause");
    doc.annotations = f.take_entries("annotations", |_, v| serde_json::from_value(v).ok());
    doc.metadata = f.take_entries("metadata", |_, v| {
        let Value::Object(entries) = v else {
            return None;
        };
        // Metadata values are arbitrary JSON, so each entry always fits.
        Some(
            entries
                .into_iter()
                .filter_map(|(k, v)| Some((k, serde_json::value::to_raw_value(&v).ok()?)))
                .collect(),
        )
    });
    if let Some(children) = f.map.remove("subsegments") {
        match children {
            Value::Array(items) => {
                for (i, item) in items.into_iter().enumerate() {
                    let child_path = format!("{}subsegments[{i}]", prefix(path));
                    match lenient(item, &child_path, f.repaired) {
                        Ok(child) => doc.subsegments.push(child),
                        Err(_) => f.repaired.push(child_path),
                    }
                }
            }
            Value::Null => {}
            _ => f.repaired.push(format!("{}subsegments", prefix(path))),
        }
    }
    doc.extra = map;
    Ok(doc)
}

struct Fields<'a> {
    map: &'a mut Map<String, Value>,
    path: &'a str,
    repaired: &'a mut Vec<String>,
}

impl Fields<'_> {
    fn note(&mut self, key: &str) {
        self.repaired.push(format!("{}{key}", prefix(self.path)));
    }

    /// Takes `key` out of the object; `None` when absent or null, and recorded when it does
    /// not fit `T`.
    fn take<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        match self.map.remove(key)? {
            Value::Null => None,
            v => match serde_json::from_value(v) {
                Ok(t) => Some(t),
                Err(_) => {
                    self.note(key);
                    None
                }
            },
        }
    }

    /// `http` is taken part by part: a bad `content_length` must not cost the status code the
    /// service graph needs.
    fn take_http(&mut self) -> Option<xray_core::model::Http> {
        let value = self.map.remove("http")?;
        if let Ok(http) = serde_json::from_value(value.clone()) {
            return Some(http);
        }
        let Value::Object(mut parts) = value else {
            self.note("http");
            return None;
        };
        let mut http = xray_core::model::Http::default();
        let path = format!("{}http", prefix(self.path));
        let mut sub = Fields {
            map: &mut parts,
            path: &path,
            repaired: self.repaired,
        };
        http.request = sub.take_object("request");
        http.response = sub.take_object("response");
        http.extra = parts;
        Some(http)
    }

    /// Takes an object whose fields are all optional, keeping the fields that fit.
    fn take_object<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        let value = self.map.remove(key)?;
        if let Ok(t) = serde_json::from_value(value.clone()) {
            return Some(t);
        }
        let Value::Object(fields) = value else {
            self.note(key);
            return None;
        };
        let mut kept = Map::new();
        for (k, v) in fields {
            let mut probe = Map::new();
            probe.insert(k.clone(), v.clone());
            if serde_json::from_value::<T>(Value::Object(probe)).is_ok() {
                kept.insert(k, v);
            } else {
                self.note(&format!("{key}.{k}"));
            }
        }
        serde_json::from_value(Value::Object(kept)).ok()
    }

    /// Takes a map-shaped field entry by entry, dropping the entries `convert` refuses.
    fn take_entries<V>(
        &mut self,
        key: &str,
        mut convert: impl FnMut(&str, Value) -> Option<V>,
    ) -> std::collections::BTreeMap<String, V> {
        let mut out = std::collections::BTreeMap::new();
        match self.map.remove(key) {
            None | Some(Value::Null) => {}
            Some(Value::Object(entries)) => {
                for (k, v) in entries {
                    match convert(&k, v) {
                        Some(v) => {
                            out.insert(k, v);
                        }
                        None => self.note(&format!("{key}.{k}")),
                    }
                }
            }
            Some(_) => self.note(key),
        }
        out
    }
}

fn prefix(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("{path}.")
    }
}

fn display_path(path: &str) -> &str {
    if path.is_empty() {
        "the document"
    } else {
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_documents_are_not_repaired() {
        let p = parse(br#"{"name":"a","id":"53995c3f42cd8ad8","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1,"end_time":2,"Dummy":false}"#).unwrap();
        assert!(p.repaired.is_empty());
        assert_eq!(p.doc.extra["Dummy"], false);
    }

    #[test]
    fn lenient_keeps_what_fits() {
        let body = br#"{
            "name": "svc", "id": "53995c3f42cd8ad8", "start_time": 1.5, "end_time": 2.5,
            "trace_id": "1-581cf771-a006649127e371903a2de979",
            "fault": "yes",
            "http": {"request": {"method": "GET"}, "response": {"status": 503, "content_length": "12"}},
            "annotations": {"ok": 1, "bad": {"nested": true}},
            "metadata": {"default": {"k": [1, 2]}, "broken": 3},
            "cause": {"exceptions": [{"id": "not-hex", "message": "boom"}]},
            "subsegments": [
                {"name": "child", "id": "0000000000000002", "start_time": 1.6, "end_time": 1.7,
                 "namespace": "remote", "http": {"response": {"status": 404}}},
                {"name": "no id", "start_time": 1.6}
            ],
            "links": [1]
        }"#;
        let p = parse(body).unwrap();
        let doc = &p.doc;
        assert_eq!(doc.end_time.unwrap().as_secs_f64(), 2.5);
        assert!(!doc.fault);
        let response = doc.http.as_ref().unwrap().response.as_ref().unwrap();
        assert_eq!(response.status, Some(503));
        assert_eq!(response.content_length, None);
        assert_eq!(
            doc.http
                .as_ref()
                .unwrap()
                .request
                .as_ref()
                .unwrap()
                .method
                .as_deref(),
            Some("GET")
        );
        assert_eq!(doc.annotations.len(), 1);
        assert_eq!(doc.metadata.len(), 1);
        assert!(doc.cause.is_none());
        assert_eq!(doc.subsegments.len(), 1);
        assert_eq!(doc.subsegments[0].name, "child");
        assert_eq!(doc.extra["links"][0], 1);
        let mut repaired = p.repaired.clone();
        repaired.sort();
        assert_eq!(
            repaired,
            [
                "annotations.bad",
                "cause",
                "fault",
                "http.response.content_length",
                "metadata.broken",
                "subsegments[1]"
            ]
        );
    }

    #[test]
    fn unusable_documents_are_rejected() {
        for body in [
            &br#"{"name":"a","id":"xyz","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1}"#[..],
            br#"{"name":"a","id":"53995c3f42cd8ad8","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":"soon"}"#,
            br#"{"name":"a","id":"53995c3f42cd8ad8","start_time":1}"#,
            br#"{"name":"a","id":"53995c3f42cd8ad8","trace_id":"garbage","start_time":1}"#,
            br#"{"name":"a","id":"53995c3f42cd8ad8","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1,"type":"subsegment"}"#,
            br#""just a string""#,
        ] {
            let err = parse(body).unwrap_err();
            assert_eq!(err.kind(), RejectKind::InvalidDocument, "{err}");
        }
    }

    #[test]
    fn a_metadata_number_beyond_f64_is_malformed_json() {
        // serde_json could not read the stored trace back; refused like any JSON it cannot read.
        let body = br#"{"name":"a","id":"53995c3f42cd8ad8","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1,"metadata":{"default":{"n":1e999}}}"#;
        let err = parse(body).unwrap_err();
        assert_eq!(err.kind(), RejectKind::MalformedJson, "{err}");
        assert!(err.to_string().contains("number out of range"), "{err}");
    }
}
