//! SQLite: the server makes room for a process beside it that waits to write
//! (the CLI's `token create`, `admin create-owner`, `migrate`).
//!
//! SQLite has no queue for its write lock: a process that finds it taken
//! sleeps and tries again, up to 100 ms apart, while the server's one writer
//! takes the lock again within microseconds of each commit. Under a bulk
//! import the CLI so waited up to the busy timeout and failed with "database
//! is locked". Now a guest holds a shared lock on `<database>-guests` while it
//! runs, and while anyone holds it the server pauses before each write for
//! longer than a guest's longest sleep, so the guest finds the lock free.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;
use std::time::Duration;

/// Longer than SQLite's longest sleep between two tries of a busy lock.
const MAKE_ROOM: Duration = Duration::from_millis(120);

#[derive(Debug)]
pub(crate) struct Gate {
    file: File,
}

impl Gate {
    /// The gate of the SQLite database at `url`; `None` for one in memory or
    /// when the file cannot be opened (then nobody is made room for).
    pub(crate) fn open(url: &str) -> Option<Self> {
        let path = database_path(url)?;
        let mut name = path.into_os_string();
        name.push("-guests");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(PathBuf::from(name))
            .ok()?;
        Some(Self { file })
    }

    /// For a guest: announces it until the gate is dropped.
    pub(crate) fn enter(&self) {
        if let Err(error) = self.file.lock_shared() {
            tracing::debug!(%error, "could not announce this process to the server");
        }
    }

    /// For the server: waits a moment first if a guest is waiting.
    pub(crate) async fn make_room(&self) {
        if self.guest_waiting() {
            tokio::time::sleep(MAKE_ROOM).await;
        }
    }

    fn guest_waiting(&self) -> bool {
        match self.file.try_lock() {
            Ok(()) => {
                let _ = self.file.unlock();
                false
            }
            Err(TryLockError::WouldBlock) => true,
            Err(TryLockError::Error(_)) => false,
        }
    }
}

/// The file of a `sqlite:` URL, if it names one.
fn database_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.contains(":memory:")).then(|| PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_sees_a_waiting_guest_until_it_leaves() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}/muster.db?mode=rwc", dir.path().display());
        let server = Gate::open(&url).expect("gate");
        assert!(!server.guest_waiting());
        let guest = Gate::open(&url).expect("gate");
        guest.enter();
        assert!(server.guest_waiting());
        drop(guest);
        assert!(!server.guest_waiting());
        assert!(Gate::open("sqlite::memory:").is_none());
    }
}
