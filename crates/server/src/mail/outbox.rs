//! The file outbox: one `.eml` file per message, written atomically (a temporary
//! file renamed into place), so a reader never sees half a message.

use crate::jobs::JobError;
use std::path::Path;

pub async fn write(dir: &Path, key: &str, message: &[u8]) -> Result<(), JobError> {
    let retry =
        |what: &str, e: std::io::Error| JobError::Retry(format!("{what} {}: {e}", dir.display()));
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| retry("cannot create the outbox", e))?;
    let temporary = dir.join(format!(".{key}.eml.tmp"));
    let target = dir.join(format!("{key}.eml"));
    tokio::fs::write(&temporary, message)
        .await
        .map_err(|e| retry("cannot write to the outbox", e))?;
    tokio::fs::rename(&temporary, &target)
        .await
        .map_err(|e| retry("cannot write to the outbox", e))?;
    Ok(())
}
