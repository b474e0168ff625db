//! The `muster` binary as the CLI and multi-instance tests run it. Cargo tells
//! only the crate that builds it where it is: pass
//! `env!("CARGO_BIN_EXE_muster")` from muster-server's integration tests.

use std::path::Path;
use std::process::Command;

/// `bin` with an empty environment but `PATH`, so no setting of the machine
/// (`DATABASE_URL`, `MUSTER_*`) reaches it unless the test sets it.
pub fn muster_bare(bin: &str) -> Command {
    let mut command = Command::new(bin);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    command
}

/// [`muster_bare`] with its data directory (and `muster.toml` there as the
/// configuration file) at `data_dir`, logging only warnings.
pub fn muster_command(bin: &str, data_dir: &Path) -> Command {
    let mut command = muster_bare(bin);
    command
        .env("MUSTER_DATA_DIR", data_dir)
        .env("MUSTER_CONFIG", data_dir.join("muster.toml"))
        .env("MUSTER_LOG", "warn");
    command
}

/// A TCP port on 127.0.0.1 that was free a moment ago, for a server the test
/// starts as a process.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
