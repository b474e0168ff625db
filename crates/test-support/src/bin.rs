//! The `muster` binary as the CLI and multi-instance tests run it. Cargo tells
//! only the crate that builds it where it is: pass
//! `env!("CARGO_BIN_EXE_muster")` from muster-server's integration tests.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

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

/// Through the CLI, as an operator would: migrates, creates Ada (owner of Acme,
/// password [`crate::PASSWORD`]) and returns a new personal access token of
/// hers. `muster` gives the binary's command with its settings each time.
pub fn cli_owner_token(muster: impl Fn() -> Command) -> String {
    let migrated = muster()
        .arg("migrate")
        .output()
        .expect("muster migrate runs");
    assert!(
        migrated.status.success(),
        "muster migrate: {}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let mut create = muster()
        .args(["admin", "create-owner", "--org", "Acme"])
        .args(["--email", "ada@example.com", "--first-name", "Ada"])
        .args(["--last-name", "Lovelace", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("muster admin create-owner starts");
    create
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{}\n", crate::PASSWORD).as_bytes())
        .expect("the password");
    let created = create.wait_with_output().expect("create-owner ends");
    assert!(
        created.status.success(),
        "muster admin create-owner: {}",
        String::from_utf8_lossy(&created.stderr)
    );
    let token = muster()
        .args([
            "token",
            "create",
            "--email",
            "ada@example.com",
            "--name",
            "test",
        ])
        .output()
        .expect("muster token create runs");
    assert!(
        token.status.success(),
        "muster token create: {}",
        String::from_utf8_lossy(&token.stderr)
    );
    String::from_utf8_lossy(&token.stdout).trim().to_owned()
}
