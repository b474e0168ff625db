//! Faults a deployment meets, each against real `muster serve` processes:
//!
//! - `pg_restart`: PostgreSQL stopped and started again under load; every
//!   request meanwhile is a quick 503 problem (a readable page in the web UI),
//!   the same process serves again once the database is back, nothing written
//!   before is lost.
//! - `sigterm`: SIGTERM under load (bulk uploads, a slow upload, many reads):
//!   every request in flight is answered in full, the process exits cleanly,
//!   and after a restart every row is invited and mailed exactly once.
//! - `disk_full`: SQLite on a full file system: writes are 507 (or 503)
//!   problems, reads still answer, writes work again once there is space, and
//!   the database passes `PRAGMA integrity_check`.
//! - `kill9`: SIGKILL during a bulk import and during mail sending (SQLite),
//!   and during a notification's fan-out (PostgreSQL): after restarts every
//!   row is invited once, every mail written once, every recipient has one
//!   inbox item; and a restarted instance resumes its own claimed jobs at once
//!   instead of waiting out their lease.
//!
//! They need root (PostgreSQL's binaries run as `postgres`, tmpfs mounts);
//! without it they print `SKIPPED (…)`, unless `MUSTER_TEST_REQUIRE` contains
//! `faults`. They run one at a time (see [`support::SERIAL`]).

mod cluster;
mod disk_full;
mod kill9;
mod pg_restart;
mod sigterm;
mod support;
