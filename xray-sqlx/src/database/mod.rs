//! The databases this crate traces, and what it knows about each.

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use sqlx::{Connection, Database, Describe, Either, Error, Execute, Pool, SqlStr};

#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

/// A sqlx database this crate can trace: `Sqlite` (feature `sqlite`),
/// `Postgres` (feature `postgres`) and `MySql` (feature
/// `mysql`, which covers MariaDB too).
///
/// The trait is sealed: what it needs from each database (how to name the subsegment, how to ask
/// for the server version, how to forward a query to the driver) is internal.
pub trait TracedDatabase: Database + sealed::Driver {}

/// The stream of results every driver's `fetch_many` returns.
pub(crate) type Results<'e, DB> =
    BoxStream<'e, Result<Either<<DB as Database>::QueryResult, <DB as Database>::Row>, Error>>;
/// The future every driver's `fetch_optional` returns.
pub(crate) type OptionalRow<'e, DB> = BoxFuture<'e, Result<Option<<DB as Database>::Row>, Error>>;

/// Where a pool points, as recorded in every subsegment. Never holds a password.
///
/// Public only because the sealed trait names it; it cannot be named outside this crate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// The subsegment name: `database@host`, or the file name for SQLite.
    pub(crate) name: String,
    /// `sql.url`, without password or query parameters.
    pub(crate) url: Option<String>,
    /// `sql.user`.
    pub(crate) user: Option<String>,
}

pub(crate) mod sealed {
    use super::*;

    /// The per-database plumbing behind [`TracedDatabase`](super::TracedDatabase).
    ///
    /// The forwarding methods exist because a generic `for<'c> &'c mut DB::Connection:
    /// Executor<'c>` bound on our own `Executor` impls sends the trait solver into the same
    /// overflow that made sqlx drop its `PoolConnection`/`Transaction` impls; a concrete
    /// forwarding function per database avoids the bound altogether.
    pub trait Driver: Database {
        /// `sql.driver_version`.
        const DRIVER_VERSION: &'static str;

        /// Describes where a pool with these options connects.
        fn target(options: &<Self::Connection as Connection>::Options) -> Target;

        /// Asks the server for its version (untraced).
        fn fetch_version(pool: Pool<Self>) -> BoxFuture<'static, Result<String, Error>>;

        fn conn_fetch_many<'e, 'q: 'e, E>(
            conn: &'e mut Self::Connection,
            query: E,
        ) -> Results<'e, Self>
        where
            E: 'q + Execute<'q, Self>;

        fn conn_fetch_optional<'e, 'q: 'e, E>(
            conn: &'e mut Self::Connection,
            query: E,
        ) -> OptionalRow<'e, Self>
        where
            E: 'q + Execute<'q, Self>;

        fn conn_prepare_with<'e>(
            conn: &'e mut Self::Connection,
            sql: SqlStr,
            parameters: &'e [Self::TypeInfo],
        ) -> BoxFuture<'e, Result<Self::Statement, Error>>;

        fn conn_describe<'e>(
            conn: &'e mut Self::Connection,
            sql: SqlStr,
        ) -> BoxFuture<'e, Result<Describe<Self>, Error>>;

        fn pool_fetch_many<'e, 'q: 'e, E>(pool: &Pool<Self>, query: E) -> Results<'e, Self>
        where
            E: 'q + Execute<'q, Self>;

        fn pool_fetch_optional<'e, 'q: 'e, E>(pool: &Pool<Self>, query: E) -> OptionalRow<'e, Self>
        where
            E: 'q + Execute<'q, Self>;

        fn pool_prepare_with<'e>(
            pool: &Pool<Self>,
            sql: SqlStr,
            parameters: &'e [Self::TypeInfo],
        ) -> BoxFuture<'e, Result<Self::Statement, Error>>;

        fn pool_describe<'e>(
            pool: &Pool<Self>,
            sql: SqlStr,
        ) -> BoxFuture<'e, Result<Describe<Self>, Error>>;
    }
}

/// Implements the forwarding half of [`sealed::Driver`] for one concrete database.
#[allow(unused_macros)] // unused when no database feature is on
macro_rules! forward_to_driver {
    ($db:ty) => {
        fn conn_fetch_many<'e, 'q: 'e, E>(
            conn: &'e mut <$db as ::sqlx::Database>::Connection,
            query: E,
        ) -> crate::database::Results<'e, $db>
        where
            E: 'q + ::sqlx::Execute<'q, $db>,
        {
            ::sqlx::Executor::fetch_many(conn, query)
        }

        fn conn_fetch_optional<'e, 'q: 'e, E>(
            conn: &'e mut <$db as ::sqlx::Database>::Connection,
            query: E,
        ) -> crate::database::OptionalRow<'e, $db>
        where
            E: 'q + ::sqlx::Execute<'q, $db>,
        {
            ::sqlx::Executor::fetch_optional(conn, query)
        }

        fn conn_prepare_with<'e>(
            conn: &'e mut <$db as ::sqlx::Database>::Connection,
            sql: ::sqlx::SqlStr,
            parameters: &'e [<$db as ::sqlx::Database>::TypeInfo],
        ) -> ::futures_util::future::BoxFuture<
            'e,
            Result<<$db as ::sqlx::Database>::Statement, ::sqlx::Error>,
        > {
            ::sqlx::Executor::prepare_with(conn, sql, parameters)
        }

        fn conn_describe<'e>(
            conn: &'e mut <$db as ::sqlx::Database>::Connection,
            sql: ::sqlx::SqlStr,
        ) -> ::futures_util::future::BoxFuture<'e, Result<::sqlx::Describe<$db>, ::sqlx::Error>> {
            ::sqlx::Executor::describe(conn, sql)
        }

        fn pool_fetch_many<'e, 'q: 'e, E>(
            pool: &::sqlx::Pool<$db>,
            query: E,
        ) -> crate::database::Results<'e, $db>
        where
            E: 'q + ::sqlx::Execute<'q, $db>,
        {
            ::sqlx::Executor::fetch_many(pool, query)
        }

        fn pool_fetch_optional<'e, 'q: 'e, E>(
            pool: &::sqlx::Pool<$db>,
            query: E,
        ) -> crate::database::OptionalRow<'e, $db>
        where
            E: 'q + ::sqlx::Execute<'q, $db>,
        {
            ::sqlx::Executor::fetch_optional(pool, query)
        }

        fn pool_prepare_with<'e>(
            pool: &::sqlx::Pool<$db>,
            sql: ::sqlx::SqlStr,
            parameters: &'e [<$db as ::sqlx::Database>::TypeInfo],
        ) -> ::futures_util::future::BoxFuture<
            'e,
            Result<<$db as ::sqlx::Database>::Statement, ::sqlx::Error>,
        > {
            ::sqlx::Executor::prepare_with(pool, sql, parameters)
        }

        fn pool_describe<'e>(
            pool: &::sqlx::Pool<$db>,
            sql: ::sqlx::SqlStr,
        ) -> ::futures_util::future::BoxFuture<'e, Result<::sqlx::Describe<$db>, ::sqlx::Error>> {
            ::sqlx::Executor::describe(pool, sql)
        }
    };
}
#[allow(unused_imports)]
pub(crate) use forward_to_driver;

/// `user@host:port` style pieces of a server URL, percent-encoding what would break it.
#[allow(dead_code)] // unused with only the `sqlite` feature
pub(crate) fn server_target(
    scheme: &str,
    host: &str,
    port: u16,
    socket: Option<&std::path::Path>,
    user: &str,
    database: Option<&str>,
) -> Target {
    let host_shown: String = match socket {
        Some(path) => path.to_string_lossy().into_owned(),
        None => host.to_owned(),
    };
    let database = database.filter(|d| !d.is_empty());
    let name = match database {
        Some(db) => format!("{db}@{host_shown}"),
        None => host_shown.clone(),
    };
    let mut url = format!("{scheme}://");
    if !user.is_empty() {
        url.push_str(&crate::sql::encode_url_component(user));
        url.push('@');
    }
    match socket {
        Some(path) => url.push_str(&crate::sql::encode_url_component(&path.to_string_lossy())),
        None if host.contains(':') && !host.starts_with('[') => {
            url.push('[');
            url.push_str(host);
            url.push(']');
        }
        None => url.push_str(host),
    }
    if socket.is_none() {
        url.push(':');
        url.push_str(&port.to_string());
    }
    if let Some(db) = database {
        url.push('/');
        url.push_str(&crate::sql::encode_url_component(db));
    }
    Target {
        name,
        url: Some(url),
        user: (!user.is_empty()).then(|| user.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_targets() {
        let t = server_target("postgres", "db.internal", 5432, None, "app", Some("orders"));
        assert_eq!(t.name, "orders@db.internal");
        assert_eq!(
            t.url.as_deref(),
            Some("postgres://app@db.internal:5432/orders")
        );
        assert_eq!(t.user.as_deref(), Some("app"));

        let t = server_target("mysql", "::1", 3306, None, "a@b", None);
        assert_eq!(t.name, "::1");
        assert_eq!(t.url.as_deref(), Some("mysql://a%40b@[::1]:3306"));

        let sock = std::path::Path::new("/run/postgresql");
        let t = server_target("postgres", "localhost", 5432, Some(sock), "", Some("x"));
        assert_eq!(t.name, "x@/run/postgresql");
        assert_eq!(t.url.as_deref(), Some("postgres://%2Frun%2Fpostgresql/x"));
        assert_eq!(t.user, None);
    }
}
