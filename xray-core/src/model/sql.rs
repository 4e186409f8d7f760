use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Extra;

/// The `sql` object of a subsegment that represents a database query.
///
/// Never put passwords or bound parameter values here: [`Sql::url`] and
/// [`Sql::connection_string`] have their passwords removed and [`Sql::sanitized_query`] holds
/// placeholders, not values.
///
/// The strings are shared (`Arc<str>`): a connection pool's URL, database type and version and
/// driver are the same for every query, so a per-pool template clones in a few reference-count
/// increments instead of copying strings for every statement. Assign with `.into()` from a
/// `&str` or a `String`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Sql {
    /// A URL-style connection string, without password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Arc<str>>,
    /// A non-URL connection string, without password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_string: Option<Arc<str>>,
    /// The query with user-supplied values replaced by placeholders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sanitized_query: Option<Arc<str>>,
    /// The database engine, e.g. `PostgreSQL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_type: Option<Arc<str>>,
    /// The database engine's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_version: Option<Arc<str>>,
    /// The name and version of the driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_version: Option<Arc<str>>,
    /// The database user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Arc<str>>,
    /// `statement` for a prepared statement, `call` for a stored-procedure call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preparation: Option<Arc<str>>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Extra,
}
