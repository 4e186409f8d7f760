use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use sqlx::postgres::{PgConnectOptions, Postgres};
use sqlx::{Error, Pool};

use super::{Target, TracedDatabase, forward_to_driver, sealed::Driver, server_target};

impl TracedDatabase for Postgres {}

impl Driver for Postgres {
    const DRIVER_VERSION: &'static str = "sqlx-postgres 0.9";

    fn target(options: &PgConnectOptions) -> Target {
        // PostgreSQL connects to the database named like the user when none is given.
        let database = options.get_database().or(Some(options.get_username()));
        server_target(
            "postgres",
            options.get_host(),
            options.get_port(),
            options.get_socket().map(|p| p.as_path()),
            options.get_username(),
            database,
        )
    }

    fn fetch_version(pool: Pool<Self>) -> BoxFuture<'static, Result<String, Error>> {
        // `server_version` is the short form ("15.13 (Debian ...)"); `version()` adds the
        // compiler and platform.
        async move {
            sqlx::query_scalar::<_, String>("SHOW server_version")
                .fetch_one(&pool)
                .await
        }
        .boxed()
    }

    forward_to_driver!(Postgres);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_never_hold_the_password() {
        let opts: PgConnectOptions =
            "postgres://app:s3cret@db.internal:6543/orders?sslmode=disable&password=other"
                .parse()
                .unwrap();
        let t = Postgres::target(&opts);
        assert_eq!(t.name, "orders@db.internal");
        assert_eq!(
            t.url.as_deref(),
            Some("postgres://app@db.internal:6543/orders")
        );
        assert_eq!(t.user.as_deref(), Some("app"));
        assert!(!format!("{t:?}").contains("s3cret"));
        assert!(!format!("{t:?}").contains("other"));

        let t = Postgres::target(
            &PgConnectOptions::new_without_pgpass()
                .host("10.0.0.5")
                .username("svc"),
        );
        assert_eq!(t.name, "svc@10.0.0.5");
    }
}
