use std::error::Error;

use serde::{Deserialize, Serialize};

use super::Extra;
use crate::id::SegmentId;

/// The most stack frames recorded per exception (the Go SDK's limit).
pub const MAX_STACK_FRAMES: usize = 32;
/// The most exceptions recorded from one error's `source()` chain.
pub const MAX_CHAIN: usize = 16;
/// Exception messages are cut to this many bytes.
pub const MAX_MESSAGE_LEN: usize = 1024;

/// The `cause` of an error or fault: either the id of an exception recorded in a subsegment, or
/// the exceptions themselves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Cause {
    /// The 16-character id of an exception recorded elsewhere in the trace.
    ExceptionId(String),
    /// The exceptions.
    Details(CauseDetails),
}

impl Cause {
    /// The exceptions, if this cause carries them.
    pub fn exceptions(&self) -> &[Exception] {
        match self {
            Cause::Details(d) => &d.exceptions,
            Cause::ExceptionId(_) => &[],
        }
    }
}

/// The object form of [`Cause`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CauseDetails {
    /// The working directory of the process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    /// Libraries or modules in use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    /// The exceptions, outermost first.
    #[serde(default)]
    pub exceptions: Vec<Exception>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One exception of a [`Cause`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Exception {
    /// Unique within the trace.
    pub id: SegmentId,
    /// The error message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The error type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `true` when a downstream service returned the error.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub remote: bool,
    /// Stack frames left out of `stack`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated: Option<u32>,
    /// Exceptions skipped between this one and its cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<u32>,
    /// The id of the exception that caused this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<SegmentId>,
    /// Stack frames, innermost first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stack: Vec<StackFrame>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Exception {
    /// An exception with a fresh id and the given message.
    pub fn new(message: impl Into<String>) -> Self {
        let mut message = message.into();
        truncate_utf8(&mut message, MAX_MESSAGE_LEN);
        Self {
            id: SegmentId::new(),
            message: Some(message),
            ..Self::default()
        }
    }

    /// Sets the type name.
    #[must_use]
    pub fn with_kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = Some(kind.into());
        self
    }

    /// Marks the exception as returned by a downstream service.
    #[must_use]
    pub fn with_remote(mut self, remote: bool) -> Self {
        self.remote = remote;
        self
    }

    /// Builds the exception chain of an error: the error itself, then each `source()`, each
    /// exception pointing to the next with `cause`.
    ///
    /// The outermost exception's type is the Rust type name of `E`; the sources' types are not
    /// known at run time and are left out. At most [`MAX_CHAIN`] exceptions are kept; the last
    /// one kept reports how many were skipped.
    pub fn chain_from<E: Error + ?Sized>(error: &E) -> Vec<Exception> {
        let mut out: Vec<Exception> = Vec::new();
        let mut first = Exception::new(error.to_string());
        first.kind = Some(short_type_name(std::any::type_name::<E>()));
        out.push(first);
        let mut skipped = 0u32;
        let mut next = error.source();
        while let Some(err) = next {
            if out.len() >= MAX_CHAIN {
                skipped += 1;
            } else {
                let ex = Exception::new(err.to_string());
                if let Some(prev) = out.last_mut() {
                    prev.cause = Some(ex.id);
                }
                out.push(ex);
            }
            next = err.source();
        }
        if skipped > 0
            && let Some(last) = out.last_mut()
        {
            last.skipped = Some(skipped);
        }
        out
    }

    /// Adds the frames of a captured backtrace (at most [`MAX_STACK_FRAMES`], the rest counted in
    /// `truncated`). Frames of the standard library and of this crate are skipped.
    pub fn set_backtrace(&mut self, backtrace: &std::backtrace::Backtrace) {
        if backtrace.status() != std::backtrace::BacktraceStatus::Captured {
            return;
        }
        let frames = parse_backtrace(&backtrace.to_string());
        let total = frames.len();
        self.stack = frames.into_iter().take(MAX_STACK_FRAMES).collect();
        if total > MAX_STACK_FRAMES {
            self.truncated = Some((total - MAX_STACK_FRAMES) as u32);
        }
    }
}

/// A frame of [`Exception::stack`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StackFrame {
    /// The source file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The line number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// The function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl CauseDetails {
    /// A cause holding `exceptions`, with the process's working directory.
    pub fn new(exceptions: Vec<Exception>) -> Self {
        Self {
            working_directory: working_directory(),
            exceptions,
            ..Self::default()
        }
    }
}

fn working_directory() -> Option<String> {
    static CWD: once_cell::sync::OnceCell<Option<String>> = once_cell::sync::OnceCell::new();
    CWD.get_or_init(|| {
        std::env::current_dir()
            .ok()
            .map(|p| p.to_string_lossy().into_owned())
    })
    .clone()
}

/// `core::result::Result<u8, my_crate::Error>` → `Result<u8, Error>`: the path segments add noise.
fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut segment = String::new();
    for c in full.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            segment.push(c);
        } else {
            out.push_str(segment.rsplit("::").next().unwrap_or(""));
            segment.clear();
            out.push(c);
        }
    }
    out.push_str(segment.rsplit("::").next().unwrap_or(""));
    out
}

pub(crate) fn truncate_utf8(s: &mut String, max: usize) {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
}

/// Parses the `Display` form of `std::backtrace::Backtrace`:
/// ```text
///    4: my_app::handler
///              at ./src/main.rs:10:5
/// ```
fn parse_backtrace(text: &str) -> Vec<StackFrame> {
    let mut frames: Vec<StackFrame> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(loc) = trimmed.strip_prefix("at ") {
            if let Some(frame) = frames.last_mut() {
                let mut parts = loc.rsplitn(3, ':');
                let _col = parts.next();
                let line_no = parts.next().and_then(|l| l.parse().ok());
                let path = parts.next();
                if let (Some(path), Some(line_no)) = (path, line_no) {
                    frame.path = Some(path.to_owned());
                    frame.line = Some(line_no);
                } else {
                    frame.path = Some(loc.to_owned());
                }
            }
        } else if let Some((num, label)) = trimmed.split_once(": ")
            && num.chars().all(|c| c.is_ascii_digit())
        {
            frames.push(StackFrame {
                label: Some(label.to_owned()),
                ..StackFrame::default()
            });
        }
    }
    frames.retain(|f| {
        let label = f.label.as_deref().unwrap_or("");
        !(label.starts_with("std::")
            || label.starts_with("core::")
            || label.starts_with("alloc::")
            || label.starts_with("xray_core::")
            || label.starts_with("__rust")
            || label.starts_with("_start")
            || label.starts_with("__libc"))
    });
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("could not load config")
        }
    }
    impl Error for Outer {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn chain_links_causes() {
        let err = Outer(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no such file",
        ));
        let chain = Exception::chain_from(&err);
        assert_eq!(chain.len(), 2);
        assert_eq!(chain[0].message.as_deref(), Some("could not load config"));
        assert_eq!(chain[0].kind.as_deref(), Some("Outer"));
        assert_eq!(chain[0].cause, Some(chain[1].id));
        assert_eq!(chain[1].message.as_deref(), Some("no such file"));
        assert_ne!(chain[0].id, chain[1].id);
    }

    #[test]
    fn type_names_are_shortened() {
        assert_eq!(
            short_type_name("core::result::Result<u8, my_crate::errors::Error>"),
            "Result<u8, Error>"
        );
        assert_eq!(short_type_name("dyn core::error::Error"), "dyn Error");
    }

    #[test]
    fn backtrace_text_is_parsed() {
        let text = "   0: std::backtrace::Backtrace::capture\n             at /rustc/x/library/std/src/backtrace.rs:296:22\n   1: my_app::handler\n             at ./src/main.rs:10:5\n   2: my_app::main\n";
        let frames = parse_backtrace(text);
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].label.as_deref(), Some("my_app::handler"));
        assert_eq!(frames[0].path.as_deref(), Some("./src/main.rs"));
        assert_eq!(frames[0].line, Some(10));
        assert_eq!(frames[1].path, None);
    }

    #[test]
    fn cause_forms() {
        let id: Cause = serde_json::from_str("\"abcdefghijklmnop\"").unwrap();
        assert!(matches!(id, Cause::ExceptionId(_)));
        let obj: Cause =
            serde_json::from_str(r#"{"exceptions":[{"id":"3e9e11e3ab3fba60","remote":true}]}"#)
                .unwrap();
        assert!(obj.exceptions()[0].remote);
    }

    #[test]
    fn long_messages_are_cut_on_char_boundary() {
        let e = Exception::new("é".repeat(1000));
        assert!(e.message.unwrap().len() <= MAX_MESSAGE_LEN);
    }
}
