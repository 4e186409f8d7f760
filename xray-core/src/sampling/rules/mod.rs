//! Local sampling rules: the documents of the official SDKs (versions 1 and 2) and rules built in
//! code.

mod error;
mod parse;

use std::path::Path;

use self::error::RuleRef;
pub use self::error::SamplingRulesError;
use super::reservoir::MAX_CAPACITY;

/// A validated set of local sampling rules: rules tried in order, then a default.
///
/// The default set ([`SamplingRules::default`]) is the official SDKs': no rules, and a default of
/// one request per second plus 5% of the rest.
///
/// # Document format
///
/// The JSON documents of the official SDKs, versions 1 and 2:
///
/// ```json
/// {
///   "version": 2,
///   "default": { "fixed_target": 1, "rate": 0.05 },
///   "rules": [
///     { "description": "checkout", "host": "*", "http_method": "POST",
///       "url_path": "/checkout/*", "fixed_target": 10, "rate": 0.5 }
///   ]
/// }
/// ```
///
/// - `version` (1 or 2) and `default` are required; `rules` may be left out.
/// - `default` holds only `fixed_target` (an integer ≥ 0, the per-second reservoir) and `rate`
///   (0 to 1, the share of the requests beyond the reservoir).
/// - A version 2 rule needs `host`, `http_method`, `url_path`, `fixed_target` and `rate`.
/// - A version 1 rule has `service_name` instead of `host` — and, as in every official SDK, it is
///   matched against the **Host header**, not the segment name.
/// - `description` and `id` are allowed and ignored; any other key is an error, so a misspelt
///   field does not silently match everything.
/// - Patterns use `*` and `?` and ignore case ([`wildcard_match`](super::wildcard_match)). A
///   request attribute the sampler was not told counts as a match.
///
/// # Examples
///
/// ```
/// use xray_core::sampling::{LocalRule, SamplingRules};
///
/// let from_json = SamplingRules::from_json(
///     r#"{"version": 2, "default": {"fixed_target": 1, "rate": 0.05},
///         "rules": [{"host": "*", "http_method": "GET", "url_path": "/health",
///                    "fixed_target": 0, "rate": 0}]}"#,
/// )?;
/// let in_code = SamplingRules::builder()
///     .rule(LocalRule::new(0, 0.0).http_method("GET").url_path("/health"))
///     .build()?;
/// assert_eq!(from_json, in_code);
///
/// let err = SamplingRules::from_json(r#"{"version": 2, "default": {"fixed_target": 1, "rate": 5}}"#)
///     .unwrap_err();
/// assert_eq!(err.to_string(), "invalid sampling rules: default rule: `rate`: must be a number from 0 to 1, got 5");
/// # Ok::<(), xray_core::sampling::SamplingRulesError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingRules {
    default_fixed_target: u32,
    default_rate: f64,
    rules: Vec<LocalRule>,
}

impl Default for SamplingRules {
    /// One request per second plus 5% of the rest, as every official SDK.
    fn default() -> Self {
        Self {
            default_fixed_target: 1,
            default_rate: 0.05,
            rules: Vec::new(),
        }
    }
}

impl SamplingRules {
    /// Starts building rules in code; the default rule starts as 1 per second plus 5%.
    pub fn builder() -> SamplingRulesBuilder {
        SamplingRulesBuilder {
            rules: Self::default(),
        }
    }

    /// Parses a rules document (see the [format](Self#document-format)).
    ///
    /// # Errors
    ///
    /// [`SamplingRulesError`] naming the rule and field when the text is not valid JSON, the
    /// version is not 1 or 2, the default is missing, or a field is missing, misspelt, of the
    /// wrong type or out of range.
    pub fn from_json(text: &str) -> Result<Self, SamplingRulesError> {
        parse::parse(text)
    }

    /// Reads and parses a rules file (see the [format](Self#document-format)).
    ///
    /// This reads the file with blocking I/O: call it at startup, not on a request path.
    ///
    /// # Errors
    ///
    /// [`SamplingRulesError`] naming the file when it cannot be read, and the rule and field as
    /// [`from_json`](Self::from_json) does.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, SamplingRulesError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            SamplingRulesError::new("cannot be read")
                .in_file(path)
                .caused_by(e)
        })?;
        parse::parse(&text).map_err(|e| e.in_file(path))
    }

    /// The rules, in the order they are tried.
    pub fn rules(&self) -> &[LocalRule] {
        &self.rules
    }

    /// The default rule's reservoir: requests sampled per second before `rate` applies.
    pub fn default_fixed_target(&self) -> u32 {
        self.default_fixed_target
    }

    /// The default rule's share of the requests beyond the reservoir.
    pub fn default_rate(&self) -> f64 {
        self.default_rate
    }

    fn validate(&self) -> Result<(), SamplingRulesError> {
        check_target(self.default_fixed_target, self.default_rate)
            .map_err(|e| e.at_rule(RuleRef::Default))?;
        for (index, rule) in self.rules.iter().enumerate() {
            let at = || RuleRef::Index {
                index,
                description: rule.description.clone(),
            };
            check_target(rule.fixed_target, rule.rate).map_err(|e| e.at_rule(at()))?;
            for (field, value) in [
                ("host", &rule.host),
                ("http_method", &rule.http_method),
                ("url_path", &rule.url_path),
            ] {
                if value.is_empty() {
                    return Err(SamplingRulesError::new("must not be empty")
                        .at_rule(at())
                        .at_field(field));
                }
            }
        }
        Ok(())
    }
}

fn check_target(fixed_target: u32, rate: f64) -> Result<(), SamplingRulesError> {
    if fixed_target > MAX_CAPACITY {
        return Err(SamplingRulesError::new(format!(
            "must be at most {MAX_CAPACITY}, got {fixed_target}"
        ))
        .at_field("fixed_target"));
    }
    if !(0.0..=1.0).contains(&rate) {
        return Err(
            SamplingRulesError::new(format!("must be a number from 0 to 1, got {rate}"))
                .at_field("rate"),
        );
    }
    Ok(())
}

/// Builds [`SamplingRules`] in code. Created by [`SamplingRules::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct SamplingRulesBuilder {
    rules: SamplingRules,
}

impl SamplingRulesBuilder {
    /// Sets the default rule: `fixed_target` requests per second, then `rate` (0 to 1) of the
    /// rest.
    pub fn default_rule(mut self, fixed_target: u32, rate: f64) -> Self {
        self.rules.default_fixed_target = fixed_target;
        self.rules.default_rate = rate;
        self
    }

    /// Adds a rule, tried after the ones added before it.
    pub fn rule(mut self, rule: LocalRule) -> Self {
        self.rules.rules.push(rule);
        self
    }

    /// Validates the rules.
    ///
    /// # Errors
    ///
    /// [`SamplingRulesError`] naming the rule and field when a rate is outside 0–1 (or NaN), a
    /// fixed target is above 2^31 − 1, or a pattern is empty.
    pub fn build(self) -> Result<SamplingRules, SamplingRulesError> {
        self.rules.validate()?;
        Ok(self.rules)
    }
}

/// One local sampling rule: request patterns and what to sample when they match.
///
/// Patterns default to `*`.
///
/// # Examples
///
/// ```
/// use xray_core::sampling::LocalRule;
///
/// // Up to 10 checkouts per second, then half of the rest.
/// let rule = LocalRule::new(10, 0.5)
///     .description("checkout")
///     .http_method("POST")
///     .url_path("/checkout/*");
/// assert_eq!(rule.host_pattern(), "*");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LocalRule {
    description: Option<String>,
    host: String,
    http_method: String,
    url_path: String,
    fixed_target: u32,
    rate: f64,
}

impl LocalRule {
    /// A rule matching every request: `fixed_target` per second, then `rate` (0 to 1, checked by
    /// [`SamplingRulesBuilder::build`]) of the rest.
    pub fn new(fixed_target: u32, rate: f64) -> Self {
        Self {
            description: None,
            host: "*".to_owned(),
            http_method: "*".to_owned(),
            url_path: "*".to_owned(),
            fixed_target,
            rate,
        }
    }

    /// Sets the description (shown in error messages).
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the pattern for the `Host` header.
    #[must_use]
    pub fn host(mut self, pattern: impl Into<String>) -> Self {
        self.host = pattern.into();
        self
    }

    /// Sets the pattern for the HTTP method.
    #[must_use]
    pub fn http_method(mut self, pattern: impl Into<String>) -> Self {
        self.http_method = pattern.into();
        self
    }

    /// Sets the pattern for the URL path.
    #[must_use]
    pub fn url_path(mut self, pattern: impl Into<String>) -> Self {
        self.url_path = pattern.into();
        self
    }

    /// The description, if any.
    pub fn description_text(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The `Host` pattern.
    pub fn host_pattern(&self) -> &str {
        &self.host
    }

    /// The HTTP method pattern.
    pub fn http_method_pattern(&self) -> &str {
        &self.http_method
    }

    /// The URL path pattern.
    pub fn url_path_pattern(&self) -> &str {
        &self.url_path
    }

    /// Requests sampled per second before `rate` applies.
    pub fn fixed_target(&self) -> u32 {
        self.fixed_target
    }

    /// The share of the requests beyond the reservoir that are sampled.
    pub fn rate(&self) -> f64 {
        self.rate
    }
}
