//! Turning typed SDK values into JSON for the `aws` block, without serializing whole payloads.
//!
//! Only types that are safe to record implement [`ToValue`]: strings, numbers, booleans, lists and
//! maps of those, enums (by their wire name), and the few structures the whitelist records (written
//! out per service with their model member names). Item attributes, message bodies and blobs have
//! no implementation, so a whitelist entry that would record them does not compile.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};

/// A value that may be copied into the `aws` block as is.
pub(crate) trait ToValue {
    /// The JSON form; `None` when absent (or not representable, like a NaN).
    fn to_value(&self) -> Option<Value>;
}

/// A map key that may be recorded (strings and enums).
pub(crate) trait MapKey {
    /// The key as it goes on the wire.
    fn key_str(&self) -> &str;
}

/// A map whose keys may be recorded.
#[allow(dead_code)] // not every service table has `keys` members
pub(crate) trait Keys {
    /// The keys, sorted, as a JSON array; `None` when absent.
    fn keys_value(&self) -> Option<Value>;
}

/// A list whose length may be recorded.
#[allow(dead_code)] // not every service table has `count` members
pub(crate) trait Count {
    /// The length; `None` when absent.
    fn count_value(&self) -> Option<Value>;
}

/// The `value` kind of the whitelist table.
pub(crate) fn value<T: ToValue + ?Sized>(v: &T) -> Option<Value> {
    v.to_value()
}

/// The `keys` kind of the whitelist table.
#[allow(dead_code)] // not every service table has `keys` members
pub(crate) fn keys<T: Keys + ?Sized>(v: &T) -> Option<Value> {
    v.keys_value()
}

/// The `count` kind of the whitelist table.
#[allow(dead_code)] // not every service table has `count` members
pub(crate) fn count<T: Count + ?Sized>(v: &T) -> Option<Value> {
    v.count_value()
}

// === impl ToValue ===

impl ToValue for String {
    fn to_value(&self) -> Option<Value> {
        Some(Value::String(self.clone()))
    }
}

impl ToValue for str {
    fn to_value(&self) -> Option<Value> {
        Some(Value::String(self.to_owned()))
    }
}

impl ToValue for bool {
    fn to_value(&self) -> Option<Value> {
        Some(Value::Bool(*self))
    }
}

impl ToValue for i32 {
    fn to_value(&self) -> Option<Value> {
        Some(Value::from(*self))
    }
}

impl ToValue for i64 {
    fn to_value(&self) -> Option<Value> {
        Some(Value::from(*self))
    }
}

impl ToValue for f64 {
    fn to_value(&self) -> Option<Value> {
        Number::from_f64(*self).map(Value::Number)
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Option<Value> {
        self.as_ref().and_then(ToValue::to_value)
    }
}

impl<T: ToValue> ToValue for Vec<T> {
    fn to_value(&self) -> Option<Value> {
        Some(Value::Array(
            self.iter().filter_map(ToValue::to_value).collect(),
        ))
    }
}

impl<K: MapKey, V: ToValue> ToValue for HashMap<K, V> {
    fn to_value(&self) -> Option<Value> {
        let mut entries: Vec<(&str, &V)> = self.iter().map(|(k, v)| (k.key_str(), v)).collect();
        entries.sort_unstable_by_key(|(k, _)| *k);
        let mut map = Map::new();
        for (k, v) in entries {
            if let Some(v) = v.to_value() {
                map.insert(k.to_owned(), v);
            }
        }
        Some(Value::Object(map))
    }
}

impl MapKey for String {
    fn key_str(&self) -> &str {
        self
    }
}

// === impl Keys / Count ===

impl<K: MapKey, V> Keys for HashMap<K, V> {
    fn keys_value(&self) -> Option<Value> {
        let mut keys: Vec<&str> = self.keys().map(MapKey::key_str).collect();
        keys.sort_unstable();
        Some(Value::Array(
            keys.into_iter()
                .map(|k| Value::String(k.to_owned()))
                .collect(),
        ))
    }
}

impl<T: Keys> Keys for Option<T> {
    fn keys_value(&self) -> Option<Value> {
        self.as_ref().and_then(Keys::keys_value)
    }
}

impl<T> Count for Vec<T> {
    fn count_value(&self) -> Option<Value> {
        Some(Value::from(self.len()))
    }
}

impl<T: Count> Count for Option<T> {
    fn count_value(&self) -> Option<Value> {
        self.as_ref().and_then(Count::count_value)
    }
}

/// Whether a captured member holds anything to record (an absent optional member does not).
pub(crate) trait Present {
    fn present(&self) -> bool;
}

impl<T> Present for Option<T> {
    fn present(&self) -> bool {
        self.is_some()
    }
}

macro_rules! always_present {
    ($($ty:ty),*) => {
        $(impl Present for $ty {
            fn present(&self) -> bool {
                true
            }
        })*
    };
}

always_present!(bool, i32, i64, f64, String);

impl<T> Present for Vec<T> {
    fn present(&self) -> bool {
        true
    }
}

/// Builds a JSON object from the members of an SDK structure, leaving out absent ones.
#[allow(dead_code)] // used by the optional per-service tables
pub(crate) struct Obj(Map<String, Value>);

#[allow(dead_code)] // used by the optional per-service tables
impl Obj {
    pub(crate) fn new() -> Self {
        Self(Map::new())
    }

    /// Adds `member` when the value is present.
    pub(crate) fn field<T: ToValue + ?Sized>(mut self, member: &str, value: &T) -> Self {
        if let Some(v) = value.to_value() {
            self.0.insert(member.to_owned(), v);
        }
        self
    }

    pub(crate) fn build(self) -> Option<Value> {
        Some(Value::Object(self.0))
    }
}

/// Implements [`ToValue`] and [`MapKey`] for SDK enums through their wire name (`as_str`).
#[allow(unused_macros)] // used by the optional per-service tables
macro_rules! sdk_enums {
    ($($ty:ty),* $(,)?) => {
        $(
            impl $crate::params::ToValue for $ty {
                fn to_value(&self) -> Option<::serde_json::Value> {
                    Some(::serde_json::Value::String(self.as_str().to_owned()))
                }
            }
            impl $crate::params::MapKey for $ty {
                fn key_str(&self) -> &str {
                    self.as_str()
                }
            }
        )*
    };
}
#[allow(unused_imports)] // used by the optional per-service tables
pub(crate) use sdk_enums;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(value(&Some("t".to_owned())), Some(Value::from("t")));
        assert_eq!(value(&None::<String>), None);
        assert_eq!(value(&Some(3_i32)), Some(Value::from(3)));
        assert_eq!(value(&f64::NAN), None);
        assert_eq!(
            value(&vec!["a".to_owned(), "b".to_owned()]),
            Some(serde_json::json!(["a", "b"]))
        );
        let map: HashMap<String, String> = [("b", "2"), ("a", "1")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(value(&map), Some(serde_json::json!({"a": "1", "b": "2"})));
    }

    #[test]
    fn keys_and_counts() {
        let map: HashMap<String, Vec<u8>> = [("t2", vec![1]), ("t1", vec![2])]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        assert_eq!(keys(&Some(map)), Some(serde_json::json!(["t1", "t2"])));
        assert_eq!(count(&Some(vec![(), ()])), Some(Value::from(2)));
        assert_eq!(count(&None::<Vec<u8>>), None);
        assert_eq!(count(&Vec::<u8>::new()), Some(Value::from(0)));
    }

    #[test]
    fn objects_skip_absent_members() {
        let v = Obj::new()
            .field("TableName", &Some("t".to_owned()))
            .field("CapacityUnits", &None::<f64>)
            .build();
        assert_eq!(v, Some(serde_json::json!({"TableName": "t"})));
    }
}
