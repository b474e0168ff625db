//! A fresh PostgreSQL database per test, on the server named by
//! `MUSTER_TEST_POSTGRES` (default: the local server as user postgres).
//! Databases left by earlier test processes that are gone are dropped.

use sqlx::{Connection, Executor, PgConnection};
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::sync::OnceCell;

const PREFIX: &str = "muster_t_";

fn admin_url() -> String {
    std::env::var("MUSTER_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The URL of a new, empty database; `None` if PostgreSQL is not reachable and
/// not required.
pub async fn fresh_database() -> Option<String> {
    let admin = admin_url();
    let mut conn = match PgConnection::connect(&admin).await {
        Ok(conn) => conn,
        Err(error) => {
            if crate::required("postgres") {
                panic!("PostgreSQL is required (MUSTER_TEST_REQUIRE) but {admin} is not reachable: {error}");
            }
            crate::skipped(
                "postgres",
                &format!("no PostgreSQL at {admin}: set MUSTER_TEST_POSTGRES"),
            );
            return None;
        }
    };
    static CLEANED: OnceCell<()> = OnceCell::const_new();
    CLEANED.get_or_init(|| drop_stale(admin.clone())).await;
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "{PREFIX}{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
    let _ = conn.close().await;
    let base = admin
        .rsplit_once('/')
        .map(|(base, _)| base.to_owned())
        .unwrap_or(admin);
    Some(format!("{base}/{name}"))
}

/// Drops test databases whose process has ended.
async fn drop_stale(admin: String) {
    let Ok(mut conn) = PgConnection::connect(&admin).await else {
        return;
    };
    let names: Vec<(String,)> =
        sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE 'muster_t_%'")
            .fetch_all(&mut conn)
            .await
            .unwrap_or_default();
    for (name,) in names {
        let pid = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        let alive = pid.is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            let _ = conn
                .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await;
        }
    }
    let _ = conn.close().await;
}

/// Drops a test database (from a plain thread: this runs while the test's own
/// runtime is shutting down).
pub fn drop_database(url: &str) {
    let Some(name) = url
        .rsplit('/')
        .next()
        .filter(|n| n.starts_with(PREFIX))
        .map(str::to_owned)
    else {
        return;
    };
    let admin = admin_url();
    let worker = std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async move {
            if let Ok(mut conn) = PgConnection::connect(&admin).await {
                let _ = conn
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await;
                let _ = conn.close().await;
            }
        });
    });
    let _ = worker.join();
}
