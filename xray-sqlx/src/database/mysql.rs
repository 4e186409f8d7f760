use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use sqlx::mysql::{MySql, MySqlConnectOptions};
use sqlx::{Error, Pool};

use super::{Target, TracedDatabase, forward_to_driver, sealed::Driver, server_target};

impl TracedDatabase for MySql {}

impl Driver for MySql {
    const DRIVER_VERSION: &'static str = "sqlx-mysql 0.9";

    fn target(options: &MySqlConnectOptions) -> Target {
        server_target(
            "mysql",
            options.get_host(),
            options.get_port(),
            options.get_socket().map(|p| p.as_path()),
            options.get_username(),
            options.get_database(),
        )
    }

    fn fetch_version(pool: Pool<Self>) -> BoxFuture<'static, Result<String, Error>> {
        async move {
            sqlx::query_scalar::<_, String>("SELECT VERSION()")
                .fetch_one(&pool)
                .await
        }
        .boxed()
    }

    forward_to_driver!(MySql);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_never_hold_the_password() {
        let opts: MySqlConnectOptions = "mysql://app:s3cret@127.0.0.1:3307/shop".parse().unwrap();
        let t = MySql::target(&opts);
        assert_eq!(t.name, "shop@127.0.0.1");
        assert_eq!(t.url.as_deref(), Some("mysql://app@127.0.0.1:3307/shop"));
        assert!(!format!("{t:?}").contains("s3cret"));
    }
}
