//! Recording service and body errors, which tower only promises to be `Display`.

use std::fmt;

use xray_core::model::Exception;
use xray_core::segment::EntityData;

/// Marks a fault and adds the error as the cause.
///
/// Tower errors are usually `Box<dyn Error + Send + Sync>`, which does not implement `Error`
/// itself, so the message is taken through `Display` and the source chain is not walked.
pub(crate) fn record<E: fmt::Display + ?Sized>(data: &mut EntityData<'_>, error: &E) {
    let mut exception = Exception::new(error.to_string());
    if let Some(kind) = type_name_of::<E>() {
        exception = exception.with_kind(kind);
    }
    data.add_exceptions([exception]);
    data.set_fault(true);
}

/// The last path segment of a plain type name (`hyper_util::client::legacy::Error` → `Error`);
/// `None` for boxed, generic and `dyn` types, whose names say nothing about the error.
fn type_name_of<E: ?Sized>() -> Option<&'static str> {
    let full = std::any::type_name::<E>();
    if full.contains(['<', ' ', '(', '[', '&']) {
        return None;
    }
    Some(full.rsplit("::").next().unwrap_or(full))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names() {
        assert_eq!(type_name_of::<std::io::Error>(), Some("Error"));
        assert_eq!(type_name_of::<String>(), Some("String"));
        assert_eq!(
            type_name_of::<Box<dyn std::error::Error + Send + Sync>>(),
            None
        );
        assert_eq!(type_name_of::<dyn fmt::Display>(), None);
    }
}
