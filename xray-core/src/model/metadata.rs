//! Reading `metadata` from JSON text.
//!
//! Metadata values are kept as raw JSON text, and `serde_json` checks only the syntax of raw
//! text: it accepts a number such as `1e999` without reading it. Written back out, such a value
//! makes the whole document unreadable to every parser that reads numbers as doubles (serde_json,
//! the X-Ray daemon and collector receivers), so documents are checked as they are read, and a
//! document that holds one is refused with the namespace and key that hold it.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::Metadata;

/// Reads a `metadata` object; every number in it must fit an `f64`.
pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Metadata, D::Error> {
    let metadata = Metadata::deserialize(d)?;
    for (namespace, entries) in &metadata {
        for (key, value) in entries {
            serde_json::from_str::<Readable>(value.get()).map_err(|why| {
                de::Error::custom(format_args!("metadata {namespace:?} {key:?}: {why}"))
            })?;
        }
    }
    Ok(metadata)
}

/// Any JSON value, read through (numbers included) and dropped.
struct Readable;

impl<'de> Deserialize<'de> for Readable {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Readable)
    }
}

impl<'de> Visitor<'de> for Readable {
    type Value = Readable;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Readable, E> {
        Ok(Readable)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Readable, E> {
        Ok(Readable)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Readable, E> {
        Ok(Readable)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Readable, E> {
        Ok(Readable)
    }

    fn visit_str<E>(self, _: &str) -> Result<Readable, E> {
        Ok(Readable)
    }

    fn visit_unit<E>(self) -> Result<Readable, E> {
        Ok(Readable)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Readable, A::Error> {
        while seq.next_element::<Readable>()?.is_some() {}
        Ok(Readable)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Readable, A::Error> {
        while map.next_entry::<IgnoredAny, Readable>()?.is_some() {}
        Ok(Readable)
    }
}

#[cfg(test)]
mod tests {
    use crate::model::Document;

    fn parse(metadata: &str) -> Result<Document, serde_json::Error> {
        serde_json::from_str(&format!(
            r#"{{"name":"a","id":"0000000000000001","start_time":1,"metadata":{metadata}}}"#
        ))
    }

    #[test]
    fn every_json_value_is_kept_as_written() {
        let value = r#"{"a":[1,-2,3.5e10,true,false,null,"s\"\u00e9",{}],"b":{"c":[]}}"#;
        let doc = parse(&format!(r#"{{"ns":{{"k":{value}}}}}"#)).unwrap();
        assert_eq!(doc.metadata["ns"]["k"].get(), value);
        // Integers beyond 64 bits are read as doubles, as serde_json reads them.
        assert!(parse(r#"{"ns":{"k":123456789012345678901234567890}}"#).is_ok());
    }

    #[test]
    fn numbers_out_of_range_are_refused_by_name() {
        for value in ["1e999", "[0,-1e400]", r#"{"x":{"y":2E+309}}"#] {
            let err = parse(&format!(r#"{{"ns":{{"k":1,"big":{value}}}}}"#)).unwrap_err();
            let text = err.to_string();
            assert!(
                text.contains(r#"metadata "ns" "big""#) && text.contains("number out of range"),
                "{value}: {text}"
            );
        }
    }
}
