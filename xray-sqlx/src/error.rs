//! A failed query as an X-Ray exception, without the values the database may quote back.

use sqlx::error::ErrorKind;
use xray_core::model::Exception;

/// Builds the exception recorded in `cause` for a failed statement.
///
/// Database error messages quote offending values — MySQL's "Duplicate entry 'alice@example.com'
/// for key ...", PostgreSQL's "invalid input syntax for type integer: \"abc\"" — and those values
/// are usually bound parameters. So every quoted span is replaced by `?`; the error code, the
/// kind of violation and the constraint and table names (schema, not data) are kept.
pub(crate) fn exception(error: &sqlx::Error) -> Exception {
    match error {
        sqlx::Error::Database(db) => {
            let mut message = String::new();
            if let Some(code) = db.code() {
                message.push_str(&code);
                message.push_str(": ");
            }
            message.push_str(&redact_quoted(db.message()));
            let mut context = Vec::new();
            if let Some(table) = db.table() {
                context.push(format!("table {table}"));
            }
            if let Some(constraint) = db.constraint() {
                context.push(format!("constraint {constraint}"));
            }
            if !context.is_empty() {
                message.push_str(" (");
                message.push_str(&context.join(", "));
                message.push(')');
            }
            let kind = match db.kind() {
                ErrorKind::UniqueViolation => "UniqueViolation",
                ErrorKind::ForeignKeyViolation => "ForeignKeyViolation",
                ErrorKind::NotNullViolation => "NotNullViolation",
                ErrorKind::CheckViolation => "CheckViolation",
                ErrorKind::ExclusionViolation => "ExclusionViolation",
                _ => "DatabaseError",
            };
            Exception::new(message).with_kind(kind).with_remote(true)
        }
        other => Exception::new(redact_quoted(&other.to_string())).with_kind(variant_name(other)),
    }
}

fn variant_name(error: &sqlx::Error) -> &'static str {
    use sqlx::Error as E;
    match error {
        E::Configuration(_) => "Configuration",
        E::InvalidArgument(_) => "InvalidArgument",
        E::Database(_) => "DatabaseError",
        E::Io(_) => "Io",
        E::Tls(_) => "Tls",
        E::Protocol(_) => "Protocol",
        E::RowNotFound => "RowNotFound",
        E::TypeNotFound { .. } => "TypeNotFound",
        E::ColumnIndexOutOfBounds { .. } => "ColumnIndexOutOfBounds",
        E::ColumnNotFound(_) => "ColumnNotFound",
        E::ColumnDecode { .. } => "ColumnDecode",
        E::Encode(_) => "Encode",
        E::Decode(_) => "Decode",
        E::PoolTimedOut => "PoolTimedOut",
        E::PoolClosed => "PoolClosed",
        E::WorkerCrashed => "WorkerCrashed",
        _ => "Error",
    }
}

/// Replaces the content of every `'...'`, `"..."` and `` `...` `` span with `?`, quotes
/// included. A doubled quote inside a span (SQL's escape) stays inside it; an unterminated span
/// runs to the end.
pub(crate) fn redact_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        if !matches!(c, '\'' | '"' | '`') {
            out.push(c);
            continue;
        }
        let quote = c;
        loop {
            match chars.next() {
                None => break,
                Some(q) if q == quote => {
                    if chars.peek() == Some(&quote) {
                        chars.next();
                    } else {
                        break;
                    }
                }
                Some(_) => {}
            }
        }
        out.push('?');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_are_redacted() {
        assert_eq!(
            redact_quoted("Duplicate entry 'alice@example.com' for key 'users.email'"),
            "Duplicate entry ? for key ?"
        );
        assert_eq!(
            redact_quoted(r#"invalid input syntax for type integer: "abc""#),
            "invalid input syntax for type integer: ?"
        );
        assert_eq!(redact_quoted("it''s 'a''b' `c` end"), "it?s ? ? end");
        assert_eq!(redact_quoted("value 'unterminated secret"), "value ?");
        assert_eq!(
            redact_quoted("UNIQUE constraint failed: users.email"),
            "UNIQUE constraint failed: users.email"
        );
        assert_eq!(redact_quoted("naïve 'é' ok"), "naïve ? ok");
    }

    #[test]
    fn non_database_errors() {
        let e = exception(&sqlx::Error::PoolTimedOut);
        assert_eq!(e.kind.as_deref(), Some("PoolTimedOut"));
        assert!(!e.remote);
        let e = exception(&sqlx::Error::Protocol("bad value 'x'".into()));
        assert_eq!(
            e.message.as_deref(),
            Some("encountered unexpected or invalid data: bad value ?")
        );
    }
}
