//! Persistence for Muster: one implementation over SQLite and PostgreSQL.
//!
//! Queries are written once in portable SQL and run through sqlx's `Any` driver
//! (see docs/adr/0001-one-store-for-two-databases.md). Functions take a
//! connection so that callers compose them inside one transaction.

pub mod assignments;
pub mod audit;
pub mod batch;
mod checkpoint;
pub mod error;
pub mod groups;
pub mod invitations;
pub mod jobs;
pub mod members;
pub mod memberships;
pub mod orgs;
pub mod sessions;
pub mod setup;
pub mod solutions;
pub mod templates;
pub mod throttle;
pub mod time_ms;
pub mod tokens;
pub mod users;

pub use error::StoreError;
pub use sqlx::AnyConnection as Conn;

use sqlx::any::AnyPoolOptions;
use sqlx::AnyConnection;
use sqlx::{AnyPool, Connection, Executor, Transaction};
use std::time::Duration;

pub type Tx = Transaction<'static, sqlx::Any>;
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database: a pool for reads and one for writes. On SQLite the write pool
/// holds a single connection, so writers queue in the process instead of failing
/// with SQLITE_BUSY; on PostgreSQL both are the same pool.
#[derive(Clone, Debug)]
pub struct Store {
    read: AnyPool,
    write: AnyPool,
    backend: Backend,
    /// SQLite only; stops when the last clone of the store is dropped.
    checkpointer: Option<std::sync::Arc<checkpoint::Checkpointer>>,
}

impl Store {
    /// Connects to `url` (`sqlite://…` or `postgres://…`), creating a SQLite file
    /// if needed.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        match backend {
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await?;
                Ok(Self {
                    read: pool.clone(),
                    write: pool,
                    backend,
                    checkpointer: None,
                })
            }
            Backend::Sqlite => {
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
                Ok(Self {
                    read,
                    write,
                    backend,
                    checkpointer: Some(std::sync::Arc::new(checkpointer)),
                })
            }
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Brings the schema up to date; safe to run from several instances at once
    /// (sqlx takes a lock on PostgreSQL, and SQLite has one writer).
    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&self.write).await?,
            Backend::Postgres => {
                sqlx::migrate!("migrations/postgres")
                    .run(&self.write)
                    .await?
            }
        }
        Ok(())
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(self.write.begin().await?)
    }

    /// A connection for reads that need no transaction.
    pub async fn read(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>> {
        Ok(self.read.acquire().await?)
    }

    /// A connection for a single write statement.
    pub async fn write(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>> {
        Ok(self.write.acquire().await?)
    }

    pub async fn ping(&self) -> Result<()> {
        self.read.execute("SELECT 1").await?;
        Ok(())
    }

    pub async fn close(&self) {
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.stop();
        }
        self.read.close().await;
        self.write.close().await;
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
        Role::Writer => "PRAGMA cache_size = -2048; PRAGMA wal_autocheckpoint = 0",
        Role::Reader => "PRAGMA cache_size = -2048",
    };
    Ok(AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(30))
        // A file database does not drop connections: pinging before every
        // acquire would add a round trip to the connection's thread per query.
        .test_before_acquire(false)
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

fn with_create_mode(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}
