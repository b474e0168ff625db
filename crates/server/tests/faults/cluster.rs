//! A private PostgreSQL 15 cluster in a temporary directory, run as the
//! `postgres` OS user (PostgreSQL refuses to run as root), listening on
//! 127.0.0.1 only with trust authentication; stopped when dropped.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = "/usr/lib/postgresql/15/bin";

pub struct Cluster {
    dir: tempfile::TempDir,
    pub port: u16,
    running: bool,
}

impl Cluster {
    /// Creates and starts a cluster, or says why it cannot run here.
    pub fn start() -> Result<Cluster, String> {
        if !super::support::is_root() {
            return Err("not root: a private PostgreSQL is run as the postgres user".into());
        }
        for tool in ["initdb", "pg_ctl"] {
            if !Path::new(BIN).join(tool).exists() {
                return Err(format!(
                    "{BIN}/{tool} is missing (apt-get install postgresql-15)"
                ));
            }
        }
        if !Path::new("/usr/sbin/runuser").exists() && !Path::new("/sbin/runuser").exists() {
            return Err("runuser is missing".into());
        }
        let dir = tempfile::tempdir().map_err(|e| format!("a temporary directory: {e}"))?;
        let chown = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir.path())
            .status()
            .map_err(|e| format!("chown: {e}"))?;
        if !chown.success() {
            return Err("there is no postgres user to own the cluster".into());
        }
        let mut cluster = Cluster {
            port: muster_test_support::free_port(),
            dir,
            running: false,
        };
        let data = cluster.data();
        cluster.as_postgres(
            "initdb",
            &[
                "-D",
                &data,
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        cluster.resume();
        Ok(cluster)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    /// The `postgres` database of the cluster (it is ours alone).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn as_postgres(&self, tool: &str, args: &[&str]) {
        let output = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(Path::new(BIN).join(tool))
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("runuser {tool}: {e}"));
        assert!(
            output.status.success(),
            "{tool} {args:?} failed:\n{}\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            std::fs::read_to_string(self.log()).unwrap_or_default()
        );
    }

    /// Starts the server and waits until it accepts connections.
    pub fn resume(&mut self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {}",
            self.port,
            self.dir.path().display()
        );
        let data = self.data();
        let log = self.log().display().to_string();
        self.as_postgres(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-w", "-t", "60", "-o", &options, "start",
            ],
        );
        self.running = true;
    }

    /// `pg_ctl stop -m fast`: sessions are ended (57P01), then the server
    /// stops; returns once it has.
    pub fn stop_fast(&mut self) {
        let data = self.data();
        self.as_postgres("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]);
        self.running = false;
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.running {
            let _ = Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(Path::new(BIN).join("pg_ctl"))
                .args(["-D", &self.data(), "-m", "immediate", "-w", "stop"])
                .output();
        }
    }
}
