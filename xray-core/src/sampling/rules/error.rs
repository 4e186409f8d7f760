use std::fmt;
use std::path::{Path, PathBuf};

use crate::ConfigError;

/// A sampling rules document that cannot be used.
///
/// The message names the file (when the rules came from one), the rule (`rules[2]`, with its
/// description, or `default`), the field, and what is wrong with it:
///
/// ```text
/// invalid sampling rules file `/etc/xray/rules.json`: rules[1] ("checkout"): `rate` must be a number from 0 to 1, got 1.5
/// ```
///
/// It converts into a [`ConfigError`] with the same message, so `?` works in code that builds a
/// [`Recorder`](crate::Recorder).
#[derive(Debug)]
pub struct SamplingRulesError {
    file: Option<PathBuf>,
    rule: Option<RuleRef>,
    field: Option<String>,
    problem: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

#[derive(Debug, Clone)]
pub(super) enum RuleRef {
    Default,
    Index {
        index: usize,
        description: Option<String>,
    },
}

impl SamplingRulesError {
    pub(super) fn new(problem: impl Into<String>) -> Self {
        Self {
            file: None,
            rule: None,
            field: None,
            problem: problem.into(),
            source: None,
        }
    }

    pub(super) fn at_rule(mut self, rule: RuleRef) -> Self {
        self.rule = Some(rule);
        self
    }

    pub(super) fn at_field(mut self, field: &str) -> Self {
        self.field = Some(field.to_owned());
        self
    }

    pub(super) fn in_file(mut self, file: &Path) -> Self {
        self.file = Some(file.to_owned());
        self
    }

    pub(super) fn caused_by(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// The file the rules were read from, if they were.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The index in `rules` of the rule at fault (`None` for the default rule or the document).
    pub fn rule_index(&self) -> Option<usize> {
        match self.rule {
            Some(RuleRef::Index { index, .. }) => Some(index),
            _ => None,
        }
    }

    /// Whether the default rule is at fault.
    pub fn is_default_rule(&self) -> bool {
        matches!(self.rule, Some(RuleRef::Default))
    }

    /// The field at fault (`rate`, `version`, ...), if one is.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }
}

impl fmt::Display for SamplingRulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) => write!(f, "invalid sampling rules file `{}`", file.display())?,
            None => f.write_str("invalid sampling rules")?,
        }
        match &self.rule {
            Some(RuleRef::Default) => f.write_str(": default rule")?,
            Some(RuleRef::Index { index, description }) => {
                write!(f, ": rules[{index}]")?;
                if let Some(d) = description {
                    let short: String = d.chars().take(60).collect();
                    let more = if short.len() < d.len() { "…" } else { "" };
                    write!(f, " ({short:?}{more})")?;
                }
            }
            None => {}
        }
        if let Some(field) = &self.field {
            write!(f, ": `{field}`")?;
        }
        write!(f, ": {}", self.problem)
    }
}

impl std::error::Error for SamplingRulesError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<SamplingRulesError> for ConfigError {
    fn from(mut err: SamplingRulesError) -> Self {
        let source = err.source.take();
        ConfigError::other(err.to_string(), source)
    }
}
