use serde::{Deserialize, Serialize};

use super::Extra;

/// The `sql` object of a subsegment that represents a database query.
///
/// Never put passwords or bound parameter values here: [`Sql::url`] and
/// [`Sql::connection_string`] have their passwords removed and [`Sql::sanitized_query`] holds
/// placeholders, not values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Sql {
    /// A URL-style connection string, without password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A non-URL connection string, without password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_string: Option<String>,
    /// The query with user-supplied values replaced by placeholders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sanitized_query: Option<String>,
    /// The database engine, e.g. `PostgreSQL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_type: Option<String>,
    /// The database engine's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_version: Option<String>,
    /// The name and version of the driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_version: Option<String>,
    /// The database user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `statement` for a prepared statement, `call` for a stored-procedure call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preparation: Option<String>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Extra,
}
