//! The version 1 and 2 rules documents (Go `sampling_rule_manifest.go`, Node `local_sampler.js`),
//! validated by hand so every error names its rule and field.

use serde_json::{Map, Value};

use super::error::{RuleRef, SamplingRulesError};
use super::{LocalRule, SamplingRules};

type Object = Map<String, Value>;

pub(super) fn parse(text: &str) -> Result<SamplingRules, SamplingRulesError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| {
        SamplingRulesError::new(format!(
            "not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
        .caused_by(e)
    })?;
    let Value::Object(doc) = doc else {
        return Err(SamplingRulesError::new(format!(
            "expected a JSON object, got {}",
            kind(&doc)
        )));
    };
    for key in doc.keys() {
        if !matches!(key.as_str(), "version" | "default" | "rules") {
            return Err(unknown_field(key, "`version`, `default` and `rules`"));
        }
    }
    let version = match doc.get("version") {
        None => {
            return Err(SamplingRulesError::new("is required (1 or 2)").at_field("version"));
        }
        Some(v) => match v.as_u64() {
            Some(n @ (1 | 2)) => n,
            _ => {
                return Err(SamplingRulesError::new(format!(
                    "unsupported version {v}: expected 1 or 2"
                ))
                .at_field("version"));
            }
        },
    };

    let (fixed_target, rate) = match doc.get("default") {
        None => return Err(SamplingRulesError::new("is required").at_field("default")),
        Some(Value::Object(default)) => {
            parse_default(default).map_err(|e| e.at_rule(RuleRef::Default))?
        }
        Some(other) => {
            return Err(SamplingRulesError::new(format!(
                "expected an object, got {}",
                kind(other)
            ))
            .at_field("default"));
        }
    };

    let mut rules = Vec::new();
    match doc.get("rules") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                let Value::Object(obj) = item else {
                    return Err(SamplingRulesError::new(format!(
                        "expected an object, got {}",
                        kind(item)
                    ))
                    .at_rule(RuleRef::Index {
                        index,
                        description: None,
                    }));
                };
                let description = obj.get("description").and_then(Value::as_str);
                let rule = parse_rule(obj, version).map_err(|e| {
                    e.at_rule(RuleRef::Index {
                        index,
                        description: description.map(str::to_owned),
                    })
                })?;
                rules.push(rule);
            }
        }
        Some(other) => {
            return Err(
                SamplingRulesError::new(format!("expected an array, got {}", kind(other)))
                    .at_field("rules"),
            );
        }
    }

    let rules = SamplingRules {
        default_fixed_target: fixed_target,
        default_rate: rate,
        rules,
    };
    // Everything was range-checked above; this keeps one definition of "valid".
    rules.validate()?;
    Ok(rules)
}

fn parse_default(obj: &Object) -> Result<(u32, f64), SamplingRulesError> {
    for key in obj.keys() {
        match key.as_str() {
            "fixed_target" | "rate" | "description" => {}
            "host" | "service_name" | "http_method" | "url_path" => {
                return Err(SamplingRulesError::new(
                    "not allowed in the default rule, which matches every request",
                )
                .at_field(key));
            }
            _ => return Err(unknown_field(key, "`fixed_target` and `rate`")),
        }
    }
    Ok((fixed_target(obj)?, rate(obj)?))
}

fn parse_rule(obj: &Object, version: u64) -> Result<LocalRule, SamplingRulesError> {
    let (host_key, allowed) = if version == 1 {
        (
            "service_name",
            "`service_name`, `http_method`, `url_path`, `fixed_target`, `rate`, `description` and `id`",
        )
    } else {
        (
            "host",
            "`host`, `http_method`, `url_path`, `fixed_target`, `rate`, `description` and `id`",
        )
    };
    for key in obj.keys() {
        match key.as_str() {
            k if k == host_key => {}
            "http_method" | "url_path" | "fixed_target" | "rate" | "description" | "id" => {}
            "host" => {
                return Err(SamplingRulesError::new(
                    "not allowed in a version 1 document: use `service_name` (matched against the Host header) or version 2",
                )
                .at_field(key));
            }
            "service_name" => {
                return Err(SamplingRulesError::new(
                    "not allowed in a version 2 document: use `host`",
                )
                .at_field(key));
            }
            _ => return Err(unknown_field(key, allowed)),
        }
    }
    let description = match obj.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(
                SamplingRulesError::new(format!("expected a string, got {}", kind(other)))
                    .at_field("description"),
            );
        }
    };
    Ok(LocalRule {
        description,
        // Version 1 `service_name` is the Host header's pattern (Go copies it into `Host`).
        host: pattern(obj, host_key)?,
        http_method: pattern(obj, "http_method")?,
        url_path: pattern(obj, "url_path")?,
        fixed_target: fixed_target(obj)?,
        rate: rate(obj)?,
    })
}

fn required<'a>(obj: &'a Object, field: &str) -> Result<&'a Value, SamplingRulesError> {
    obj.get(field)
        .ok_or_else(|| SamplingRulesError::new("is required").at_field(field))
}

fn pattern(obj: &Object, field: &str) -> Result<String, SamplingRulesError> {
    match required(obj, field)? {
        Value::String(s) if s.is_empty() => Err(SamplingRulesError::new(
            "must not be empty (use \"*\" to match anything)",
        )
        .at_field(field)),
        Value::String(s) => Ok(s.clone()),
        other => Err(SamplingRulesError::new(format!(
            "expected a string pattern, got {}",
            kind(other)
        ))
        .at_field(field)),
    }
}

fn fixed_target(obj: &Object) -> Result<u32, SamplingRulesError> {
    let v = required(obj, "fixed_target")?;
    v.as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| {
            SamplingRulesError::new(format!(
                "must be a whole number from 0 to 2147483647, got {v}"
            ))
            .at_field("fixed_target")
        })
}

fn rate(obj: &Object) -> Result<f64, SamplingRulesError> {
    let v = required(obj, "rate")?;
    match v.as_f64() {
        Some(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(
            SamplingRulesError::new(format!("must be a number from 0 to 1, got {v}"))
                .at_field("rate"),
        ),
    }
}

fn unknown_field(key: &str, allowed: &str) -> SamplingRulesError {
    SamplingRulesError::new(format!("unknown field (expected {allowed})")).at_field(key)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> SamplingRulesError {
        parse(text).unwrap_err()
    }

    #[test]
    fn the_default_document_of_the_spec() {
        let rules =
            parse(r#"{"version": 2, "default": {"fixed_target": 1, "rate": 0.05}, "rules": []}"#)
                .unwrap();
        assert_eq!(rules, SamplingRules::default());
    }

    #[test]
    fn the_example_document_of_the_spec() {
        let rules = parse(
            r#"{"version":2,"default":{"fixed_target":1,"rate":0.05},"rules":[{"description":"...","host":"*","http_method":"*","url_path":"/checkout","fixed_target":10,"rate":0.05}]}"#,
        )
        .unwrap();
        assert_eq!(rules.rules().len(), 1);
        let r = &rules.rules()[0];
        assert_eq!(r.description_text(), Some("..."));
        assert_eq!(
            (
                r.host_pattern(),
                r.http_method_pattern(),
                r.url_path_pattern()
            ),
            ("*", "*", "/checkout")
        );
        assert_eq!((r.fixed_target(), r.rate()), (10, 0.05));
    }

    #[test]
    fn the_go_sdk_version_1_example_maps_service_name_to_host() {
        let rules = parse(
            r#"{"version": 1, "default": {"fixed_target": 1, "rate": 0.05},
                "rules": [{"description": "checkout", "id": "1", "service_name": "*.shop.com",
                           "http_method": "*", "url_path": "/checkout", "fixed_target": 10, "rate": 0.05}]}"#,
        )
        .unwrap();
        assert_eq!(rules.rules()[0].host_pattern(), "*.shop.com");
    }

    #[test]
    fn errors_name_rule_and_field() {
        let e = err(
            r#"{"version": 2, "default": {"fixed_target": 1, "rate": 0.05},
                "rules": [{"host": "*", "http_method": "*", "url_path": "/a", "fixed_target": 1, "rate": 0.1},
                          {"description": "checkout", "host": "*", "http_method": "*", "url_path": "/b", "fixed_target": 1, "rate": 1.5}]}"#,
        );
        assert_eq!(e.rule_index(), Some(1));
        assert_eq!(e.field(), Some("rate"));
        assert_eq!(
            e.to_string(),
            "invalid sampling rules: rules[1] (\"checkout\"): `rate`: must be a number from 0 to 1, got 1.5"
        );
    }

    #[test]
    fn every_kind_of_bad_document() {
        let cases: &[(&str, Option<&str>, &str)] = &[
            ("{", None, "not valid JSON (line 1, column 1)"),
            ("[]", None, "expected a JSON object"),
            (
                r#"{"default": {"fixed_target": 1, "rate": 0.05}}"#,
                Some("version"),
                "is required",
            ),
            (
                r#"{"version": 3, "default": {"fixed_target": 1, "rate": 0.05}}"#,
                Some("version"),
                "unsupported version 3",
            ),
            (
                r#"{"version": "2", "default": {"fixed_target": 1, "rate": 0.05}}"#,
                Some("version"),
                "unsupported version \"2\"",
            ),
            (r#"{"version": 2}"#, Some("default"), "is required"),
            (
                r#"{"version": 2, "default": []}"#,
                Some("default"),
                "expected an object",
            ),
            (
                r#"{"version": 2, "default": {"fixed_target": -1, "rate": 0.05}}"#,
                Some("fixed_target"),
                "got -1",
            ),
            (
                r#"{"version": 2, "default": {"fixed_target": 1.5, "rate": 0.05}}"#,
                Some("fixed_target"),
                "got 1.5",
            ),
            (
                r#"{"version": 2, "default": {"fixed_target": 1, "rate": -0.1}}"#,
                Some("rate"),
                "got -0.1",
            ),
            (
                r#"{"version": 2, "default": {"fixed_target": 1}}"#,
                Some("rate"),
                "is required",
            ),
            (
                r#"{"version": 2, "default": {"fixed_target": 1, "rate": 0.05, "url_path": "/"}}"#,
                Some("url_path"),
                "not allowed in the default rule",
            ),
            (
                r#"{"version": 2, "default": {"fixed_target": 1, "rate": 0.05, "fixed_rate": 1}}"#,
                Some("fixed_rate"),
                "unknown field",
            ),
            (
                r#"{"version": 2, "default": {"fixed_target": 1, "rate": 0.05}, "rules": {}}"#,
                Some("rules"),
                "expected an array",
            ),
            (
                r#"{"version": 2, "default": {"fixed_target": 1, "rate": 0.05}, "extra": 1}"#,
                Some("extra"),
                "unknown field",
            ),
            (
                r#"{"version": 2, "default": {"fixed_target": 1, "rate": 0.05}, "rules": [{"http_method": "*", "url_path": "/", "fixed_target": 1, "rate": 0}]}"#,
                Some("host"),
                "is required",
            ),
            (
                r#"{"version": 2, "default": {"fixed_target": 1, "rate": 0.05}, "rules": [{"service_name": "*", "host": "*", "http_method": "*", "url_path": "/", "fixed_target": 1, "rate": 0}]}"#,
                Some("service_name"),
                "not allowed in a version 2 document",
            ),
            (
                r#"{"version": 1, "default": {"fixed_target": 1, "rate": 0.05}, "rules": [{"host": "*", "http_method": "*", "url_path": "/", "fixed_target": 1, "rate": 0}]}"#,
                Some("host"),
                "not allowed in a version 1 document",
            ),
            (
                r#"{"version": 2, "default": {"fixed_target": 1, "rate": 0.05}, "rules": [{"host": "", "http_method": "*", "url_path": "/", "fixed_target": 1, "rate": 0}]}"#,
                Some("host"),
                "must not be empty",
            ),
            (
                r#"{"version": 2, "default": {"fixed_target": 1, "rate": 0.05}, "rules": [{"host": 1, "http_method": "*", "url_path": "/", "fixed_target": 1, "rate": 0}]}"#,
                Some("host"),
                "expected a string pattern",
            ),
            (
                r#"{"version": 2, "default": {"fixed_target": 1, "rate": 0.05}, "rules": [{"host": "*", "http_method": "*", "url": "/", "fixed_target": 1, "rate": 0}]}"#,
                Some("url"),
                "unknown field",
            ),
            (
                r#"{"version": 2, "default": {"fixed_target": 1, "rate": 0.05}, "rules": [7]}"#,
                None,
                "rules[0]: expected an object",
            ),
        ];
        for (doc, field, needle) in cases {
            let e = err(doc);
            assert_eq!(e.field(), *field, "{doc}: {e}");
            assert!(e.to_string().contains(needle), "{doc}: {e}");
        }
    }

    #[test]
    fn json_errors_keep_their_cause() {
        let e = err("{\"version\": 2,\n  \"default\": }");
        assert!(e.to_string().contains("line 2"), "{e}");
        assert!(std::error::Error::source(&e).is_some());
    }
}
