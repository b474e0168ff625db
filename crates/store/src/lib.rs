//! Persistence for Muster: one implementation over SQLite and PostgreSQL.
//!
//! Queries are written once in portable SQL and run through sqlx's `Any` driver
//! (see docs/adr/0001-one-store-for-two-databases.md). Functions take a
//! connection so that callers compose them inside one transaction.

pub mod assignments;
pub mod audit;
pub mod batch;
mod checkpoint;
pub mod devices;
pub mod dialect;
pub mod email_changes;
pub mod error;
pub mod groups;
mod guests;
pub mod inbox;
pub mod invitations;
pub mod job_progress;
pub mod jobs;
mod links;
pub mod logs;
pub mod members;
pub mod memberships;
pub mod notifications;
pub mod org_deletion;
pub mod orgs;
pub mod overview;
pub mod password_resets;
pub mod push;
pub mod readers;
pub mod recipients;
pub mod sessions;
pub mod setup;
pub mod solutions;
pub mod templates;
pub mod throttle;
pub mod time_ms;
pub mod tokens;
pub mod two_factor;
pub mod usage;
pub mod users;

pub use error::StoreError;
pub use sqlx::AnyConnection as Conn;

use dialect::Dialect;
use sqlx::{AnyPool, Executor, Transaction};

pub type Tx = Transaction<'static, sqlx::Any>;
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database a store talks to; what differs between them is in `dialect`.
pub use dialect::Dialect as Backend;

/// The database: a pool for reads and one for writes. On SQLite the write pool
/// holds a single connection, so writers queue in the process instead of failing
/// with SQLITE_BUSY; on PostgreSQL both are the same pool.
#[derive(Clone, Debug)]
pub struct Store {
    read: AnyPool,
    write: AnyPool,
    backend: Backend,
    /// SQLite only: the read connections, apart from sqlx's pool (see `readers.rs`).
    readers: Option<std::sync::Arc<readers::Readers>>,
    /// SQLite only; stops when the last clone of the store is dropped.
    checkpointer: Option<std::sync::Arc<checkpoint::Checkpointer>>,
    /// SQLite only: the server makes room here for a guest (see `guests.rs`).
    gate: Option<std::sync::Arc<guests::Gate>>,
    /// A guest's announcement, kept while the store lives.
    _guest: Option<std::sync::Arc<guests::Gate>>,
}

impl Store {
    /// Connects to `url` (`sqlite://…` or `postgres://…`), creating a SQLite file
    /// if needed.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self> {
        let mut store = Self::open(url, max_connections).await?;
        if store.backend == Dialect::Sqlite {
            store.gate = guests::Gate::open(url).map(std::sync::Arc::new);
        }
        Ok(store)
    }

    /// Like [`Store::connect`], for a short-lived process beside a running
    /// server (the CLI): on SQLite the server makes room for its writes.
    pub async fn connect_as_guest(url: &str, max_connections: u32) -> Result<Self> {
        let gate = match Dialect::of_url(url)? {
            Dialect::Sqlite => guests::Gate::open(url),
            Dialect::Postgres => None,
        };
        if let Some(gate) = &gate {
            gate.enter();
        }
        let store = Self::open(url, max_connections).await?;
        // Held (and announced) until this store and its clones are gone.
        Ok(Self {
            _guest: gate.map(std::sync::Arc::new),
            ..store
        })
    }

    async fn open(url: &str, max_connections: u32) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = Dialect::of_url(url)?;
        let pools = backend.open(url, max_connections).await?;
        let readers = match backend {
            Dialect::Sqlite => Some(std::sync::Arc::new(
                readers::Readers::take(&pools.read).await?,
            )),
            Dialect::Postgres => None,
        };
        Ok(Self {
            read: pools.read,
            write: pools.write,
            backend,
            readers,
            checkpointer: pools.checkpointer.map(std::sync::Arc::new),
            gate: None,
            _guest: None,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Brings the schema up to date; safe to run from several instances at once
    /// (sqlx takes a lock on PostgreSQL, and SQLite has one writer).
    pub async fn migrate(&self) -> Result<()> {
        self.backend.migrator().run(&self.write).await?;
        Ok(())
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), waiting up to the busy timeout for another process
    /// (the CLI beside a running server): a deferred transaction that reads
    /// first and writes later gets SQLITE_BUSY at once, without waiting, when
    /// another process wrote meanwhile.
    pub async fn begin(&self) -> Result<Tx> {
        if let Some(gate) = &self.gate {
            gate.make_room().await;
        }
        Ok(match self.backend.begin_sql() {
            Some(sql) => self.write.begin_with(sql).await?,
            None => self.write.begin().await?,
        })
    }

    /// A connection for reads that need no transaction.
    pub async fn read(&self) -> Result<readers::ReadConn> {
        match &self.readers {
            Some(readers) => readers.acquire().await,
            None => Ok(readers::ReadConn::Pooled(self.read.acquire().await?)),
        }
    }

    /// A connection for a single write statement.
    pub async fn write(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>> {
        if let Some(gate) = &self.gate {
            gate.make_room().await;
        }
        Ok(self.write.acquire().await?)
    }

    /// After a bulk write: the planner's statistics brought up to date, where
    /// the database plans from them.
    pub async fn refresh_statistics(&self) -> Result<()> {
        if let Some(sql) = self.backend.refresh_statistics_sql() {
            self.write.execute(sql).await?;
        }
        Ok(())
    }

    /// The database answers (through the connections reads use).
    pub async fn ping(&self) -> Result<()> {
        let mut conn = self.read().await?;
        conn.execute("SELECT 1").await?;
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
