use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use sqlx::sqlite::{Sqlite, SqliteConnectOptions};
use sqlx::{Error, Pool};

use super::{Target, TracedDatabase, forward_to_driver, sealed::Driver};

impl TracedDatabase for Sqlite {}

impl Driver for Sqlite {
    const DRIVER_VERSION: &'static str = "sqlx-sqlite 0.9";

    fn target(options: &SqliteConnectOptions) -> Target {
        let path = options.get_filename();
        if is_in_memory(options) {
            return Target {
                name: ":memory:".to_owned(),
                url: Some("sqlite::memory:".to_owned()),
                user: None,
            };
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.to_string_lossy().into_owned());
        Target {
            name,
            url: Some(format!("sqlite://{}", path.to_string_lossy())),
            user: None,
        }
    }

    fn fetch_version(pool: Pool<Self>) -> BoxFuture<'static, Result<String, Error>> {
        async move {
            sqlx::query_scalar::<_, String>("SELECT sqlite_version()")
                .fetch_one(&pool)
                .await
        }
        .boxed()
    }

    forward_to_driver!(Sqlite);
}

/// sqlx keeps the in-memory flag private and renames `:memory:` to a shared-cache name; its
/// lossy URL would say `mode=memory` but panics on exactly those names. What is left is the
/// generated name and the `Debug` output (best effort: a miss only changes the recorded name).
fn is_in_memory(options: &SqliteConnectOptions) -> bool {
    let file = options.get_filename().to_string_lossy();
    file == ":memory:"
        || file.starts_with("file:sqlx-in-memory-")
        || file.contains("mode=memory")
        || format!("{options:?}").contains("in_memory: true")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t = Sqlite::target(&"sqlite::memory:".parse().unwrap());
        assert_eq!(t.name, ":memory:");
        assert_eq!(t.url.as_deref(), Some("sqlite::memory:"));
        let t = Sqlite::target(&"sqlite:///var/lib/app/orders.db?mode=rwc".parse().unwrap());
        assert_eq!(t.name, "orders.db");
        assert_eq!(t.url.as_deref(), Some("sqlite:///var/lib/app/orders.db"));
        assert_eq!(t.user, None);
        let t = Sqlite::target(&SqliteConnectOptions::new().filename("x.db").in_memory(true));
        assert_eq!(t.name, ":memory:");
    }
}
