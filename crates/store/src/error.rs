//! The store's one error type.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write; the text names the constraint.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("DATABASE_URL must start with sqlite: or postgres://")]
    UnsupportedUrl,
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    /// Anything else the database said; [`StoreError::outage`] tells whether
    /// it is the database being out of reach or out of space rather than a
    /// fault of the statement.
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Why the database could not do what was asked, when that is not the fault
/// of the request: try again later, nothing of it was kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// It cannot be reached or refuses work for now: a pool timeout, a
    /// connection refused, reset or closed, PostgreSQL shutting down or
    /// starting up (57P01-57P03, class 08, 53300), SQLite busy, locked or
    /// failing to read or write its files.
    Unavailable,
    /// It has no space left to write: SQLite's SQLITE_FULL, PostgreSQL's
    /// disk_full (53100).
    StorageFull,
}

impl StoreError {
    /// Whether this is the database being unavailable or full (and which),
    /// rather than a fault of the statement or the data.
    pub fn outage(&self) -> Option<Outage> {
        match self {
            StoreError::Database(error) => outage_of(error),
            StoreError::Migrate(sqlx::migrate::MigrateError::Execute(error)) => outage_of(error),
            _ => None,
        }
    }
}

/// The [`Outage`] an error in some cause chain stands for, if it is a
/// [`StoreError`] or an `sqlx::Error` that is one (for callers that only have
/// a `dyn Error`, e.g. from an `anyhow` chain).
pub fn outage_in(error: &(dyn std::error::Error + 'static)) -> Option<Outage> {
    if let Some(store) = error.downcast_ref::<StoreError>() {
        store.outage()
    } else {
        error.downcast_ref::<sqlx::Error>().and_then(outage_of)
    }
}

/// Classifies a database error as an [`Outage`], if it is one.
pub fn outage_of(error: &sqlx::Error) -> Option<Outage> {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => Some(Outage::Unavailable),
        sqlx::Error::Database(db) => {
            if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                postgres_outage(pg.code())
            } else if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                db.code()
                    .and_then(|code| code.parse::<i32>().ok())
                    .and_then(sqlite_outage)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// PostgreSQL's SQLSTATE codes that mean "not now" or "no space".
fn postgres_outage(sqlstate: &str) -> Option<Outage> {
    match sqlstate {
        // disk_full
        "53100" => Some(Outage::StorageFull),
        // admin_shutdown, crash_shutdown, cannot_connect_now,
        // too_many_connections, and every connection exception (08xxx).
        "57P01" | "57P02" | "57P03" | "53300" => Some(Outage::Unavailable),
        code if code.starts_with("08") => Some(Outage::Unavailable),
        _ => None,
    }
}

/// SQLite's (extended) result codes that mean "not now" or "no space".
fn sqlite_outage(code: i32) -> Option<Outage> {
    const BUSY: i32 = 5;
    const LOCKED: i32 = 6;
    const IOERR: i32 = 10;
    const FULL: i32 = 13;
    const CANTOPEN: i32 = 14;
    match code & 0xff {
        FULL => Some(Outage::StorageFull),
        BUSY | LOCKED | IOERR | CANTOPEN => Some(Outage::Unavailable),
        _ => None,
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.constraint().unwrap_or_else(|| db.message()).to_owned())
            }
            _ => StoreError::Database(error),
        }
    }
}

/// Parses a value read back from the database, reporting corruption instead of
/// panicking.
pub(crate) fn parse_stored<T: std::str::FromStr>(
    column: &str,
    value: &str,
) -> Result<T, StoreError> {
    value
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("{column} = {value:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_codes() {
        assert_eq!(sqlite_outage(13), Some(Outage::StorageFull));
        // SQLITE_IOERR_WRITE
        assert_eq!(sqlite_outage(10 | (3 << 8)), Some(Outage::Unavailable));
        assert_eq!(sqlite_outage(5), Some(Outage::Unavailable));
        // SQLITE_CONSTRAINT_UNIQUE, SQLITE_ERROR
        assert_eq!(sqlite_outage(19 | (8 << 8)), None);
        assert_eq!(sqlite_outage(1), None);
    }

    #[test]
    fn postgres_codes() {
        assert_eq!(postgres_outage("53100"), Some(Outage::StorageFull));
        assert_eq!(postgres_outage("57P01"), Some(Outage::Unavailable));
        assert_eq!(postgres_outage("57P03"), Some(Outage::Unavailable));
        assert_eq!(postgres_outage("08006"), Some(Outage::Unavailable));
        assert_eq!(postgres_outage("23505"), None);
        assert_eq!(postgres_outage("42P01"), None);
    }

    #[test]
    fn pool_and_io_errors() {
        assert_eq!(
            outage_of(&sqlx::Error::PoolTimedOut),
            Some(Outage::Unavailable)
        );
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(
            outage_of(&sqlx::Error::Io(refused)),
            Some(Outage::Unavailable)
        );
        assert_eq!(outage_of(&sqlx::Error::RowNotFound), None);
        assert_eq!(StoreError::NotFound.outage(), None);
    }
}
