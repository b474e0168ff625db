//! The one place that knows which database it talks to: opening it, its
//! migrations, and each piece of SQL that differs between SQLite and
//! PostgreSQL is a method of [`Dialect`].

use crate::{checkpoint, Conn, Result, StoreError};
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::{AnyConnection, AnyPool, Connection, Executor};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// The pools of a store: reads, writes and (SQLite) the WAL checkpointer.
pub(crate) struct Pools {
    pub read: AnyPool,
    pub write: AnyPool,
    pub checkpointer: Option<checkpoint::Checkpointer>,
}

impl Dialect {
    /// The dialect a `DATABASE_URL` names.
    pub fn of_url(url: &str) -> Result<Dialect> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Dialect::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Dialect::Sqlite)
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    /// The dialect of an open connection.
    pub fn of(conn: &Conn) -> Dialect {
        if conn.backend_name() == "SQLite" {
            Dialect::Sqlite
        } else {
            Dialect::Postgres
        }
    }

    pub(crate) fn migrator(self) -> &'static Migrator {
        match self {
            Dialect::Sqlite => &SQLITE_MIGRATIONS,
            Dialect::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// Appended to a `SELECT` that claims rows: concurrent claimers on
    /// PostgreSQL skip each other's rows; on SQLite the single write connection
    /// makes the statement exclusive already.
    pub fn skip_locked(self) -> &'static str {
        match self {
            Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        }
    }

    /// A join that keeps the left table as the outer loop: SQLite's CROSS JOIN
    /// does; PostgreSQL plans the order itself (and has no ON for CROSS JOIN).
    pub fn ordered_join(self) -> &'static str {
        match self {
            Dialect::Sqlite => "CROSS JOIN",
            Dialect::Postgres => "JOIN",
        }
    }

    /// Whether large statements bind anonymous `?` parameters: sqlx looks up the
    /// name of every numbered SQLite parameter, in time quadratic in their count.
    pub fn anonymous_parameters(self) -> bool {
        self == Dialect::Sqlite
    }

    /// Whether a rare substring search of members goes through the FTS5
    /// trigram table (SQLite); PostgreSQL's planner picks its pg_trgm index
    /// itself (docs/adr/0004).
    pub fn member_search_table(self) -> bool {
        self == Dialect::Sqlite
    }

    /// Run first in a rollup's transaction: on PostgreSQL instances take
    /// turns, so two rollups of a day never interleave their rewrites; on
    /// SQLite the single writer does that already.
    pub fn usage_rollup_lock_sql(self) -> Option<&'static str> {
        match self {
            // 0x75736167 = "usag".
            Dialect::Postgres => Some("SELECT pg_advisory_xact_lock(1970495847)"),
            Dialect::Sqlite => None,
        }
    }

    /// Frees what a connection caches, after a read of a whole day: on
    /// SQLite each reader would otherwise keep up to its page cache of the
    /// day's pages, and the readers take turns at the rollup.
    pub fn release_cache_sql(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => Some("PRAGMA shrink_memory"),
            Dialect::Postgres => None,
        }
    }

    /// How a write transaction starts, where the default `BEGIN` will not do.
    pub fn begin_sql(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => Some("BEGIN IMMEDIATE"),
            Dialect::Postgres => None,
        }
    }

    /// The column that addresses a row of a table without a key of its own.
    pub fn row_address(self) -> &'static str {
        match self {
            Dialect::Postgres => "ctid",
            Dialect::Sqlite => "rowid",
        }
    }

    /// Whether the database announces queued jobs itself (`LISTEN`/`NOTIFY`,
    /// delivered to every instance at commit); SQLite's worker is woken in
    /// the process that queued them.
    pub fn has_notify(self) -> bool {
        self == Dialect::Postgres
    }

    /// What refreshes the planner's statistics after a bulk write: PostgreSQL
    /// plans from them, and until autovacuum comes by it takes a table of
    /// 100,000 fresh members for one of a few hundred (a bitmap scan and a sort
    /// of every member instead of an index read). SQLite plans without them.
    pub fn refresh_statistics_sql(self) -> Option<&'static str> {
        match self {
            Dialect::Postgres => Some("ANALYZE users, memberships"),
            Dialect::Sqlite => None,
        }
    }

    pub(crate) async fn open(self, url: &str, max_connections: u32) -> Result<Pools> {
        match self {
            Dialect::Postgres => {
                let pool = without_maintenance(AnyPoolOptions::new())
                    .max_connections(max_connections)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await?;
                Ok(Pools {
                    read: pool.clone(),
                    write: pool,
                    checkpointer: None,
                })
            }
            Dialect::Sqlite => {
                let url = with_create_mode(url);
                // WAL is a property of the file: set it once, before the pools open.
                let mut conn = AnyConnection::connect(&url).await?;
                conn.execute("PRAGMA journal_mode = WAL").await?;
                conn.close().await?;
                let write = sqlite_pool(&url, 1, Role::Writer).await?;
                // Each SQLite connection is a thread that a query is handed to and
                // back; with four per core a busy request finds one awake. Two per
                // core gave a tenth less PAT throughput, one per core a quarter less.
                let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
                let readers = max_connections
                    .min(u32::try_from(cores * 4).unwrap_or(u32::MAX))
                    .max(2);
                let read = sqlite_pool(&url, readers, Role::Reader).await?;
                let checkpointer = checkpoint::Checkpointer::start(&url).await?;
                Ok(Pools {
                    read,
                    write,
                    checkpointer: Some(checkpointer),
                })
            }
        }
    }
}

/// What the connections of a SQLite pool do.
#[derive(Clone, Copy)]
enum Role {
    /// The one write connection: a larger page cache, so that a bulk write's
    /// pages stay in memory until the commit, and no checkpoints in its commits
    /// (see `checkpoint.rs`).
    Writer,
    Reader,
}

async fn sqlite_pool(url: &str, max: u32, role: Role) -> Result<AnyPool> {
    let role_pragmas = match role {
        // 16 MiB: a batch of log entries touches a page of each index per
        // correlation ID; spilling them mid-transaction at 2 MiB cost a tenth
        // of ingest, 32 MiB took the server past 150 MB with 10 million entries.
        Role::Writer => "PRAGMA cache_size = -16384; PRAGMA wal_autocheckpoint = 0",
        Role::Reader => "PRAGMA cache_size = -2048",
    };
    Ok(without_maintenance(AnyPoolOptions::new())
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(30))
        // A file database does not drop connections: pinging before every
        // acquire would add a round trip to the connection's thread per query.
        .test_before_acquire(false)
        // SQLite ends a transaction by itself on some errors (SQLITE_FULL, I/O
        // errors); sqlx's ROLLBACK of it then fails and sqlx keeps counting the
        // transaction as open, so every later `BEGIN IMMEDIATE` on this
        // connection failed ("begin_with at non-zero transaction depth") until
        // a restart. Such a connection is closed instead of handed out again
        // (a counter is read: no round trip).
        .before_acquire(|conn, _meta| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                // Durable at each WAL checkpoint and fast per commit; foreign keys; a
                // busy timeout for the rare other process (e.g. `muster admin`);
                // statement journals in memory, not in temporary files.
                conn.execute(
                    format!(
                        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                         PRAGMA busy_timeout = 5000; PRAGMA temp_store = MEMORY; \
                         PRAGMA journal_size_limit = 67108864; {role_pragmas}"
                    )
                    .as_str(),
                )
                .await?;
                Ok(())
            })
        })
        .connect(url)
        .await?)
}

/// No idle timeout, no connection lifetime and no minimum, so sqlx starts no
/// maintenance task for the pool: in sqlx 0.8.6 that task can spin at 100 %
/// CPU for good once a race in the pool's idle count wraps it below zero
/// (sqlx issue 3645, fixed after 0.8.6). We saw `muster token create` hang so
/// about once in 110 runs. Connections are tested before use on PostgreSQL,
/// so one the server closed is replaced all the same.
fn without_maintenance(options: AnyPoolOptions) -> AnyPoolOptions {
    options
        .min_connections(0)
        .idle_timeout(None)
        .max_lifetime(None)
}

fn with_create_mode(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}
