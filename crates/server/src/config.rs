//! Settings: defaults, then `muster.toml`, then `MUSTER_*` variables (and
//! `DATABASE_URL`), then command-line flags. One typed struct; a wrong value stops
//! the start with one line that names the setting.

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// Address the HTTP server binds (`MUSTER_LISTEN`).
    pub listen: SocketAddr,
    /// Holds `muster.db` and `outbox/` (`MUSTER_DATA_DIR`).
    pub data_dir: PathBuf,
    /// Base of links in mail and of the setup link (`MUSTER_PUBLIC_URL`); defaults to
    /// `http://<listen>`.
    pub public_url: Option<String>,
    /// `postgres://…` switches to PostgreSQL; default SQLite in the data directory.
    pub database_url: Option<String>,
    /// Web sessions end after this much inactivity (`MUSTER_SESSION_TTL`, e.g. `12h`).
    #[serde(with = "humantime_serde_compat")]
    pub session_ttl: Duration,
    /// Connections per pool (`MUSTER_DB_MAX_CONNECTIONS`).
    pub db_max_connections: u32,
    /// A client must send a request's line and headers within this, counted from
    /// the connection's start or the first byte of a later request
    /// (`MUSTER_HEADER_TIMEOUT`).
    #[serde(with = "humantime_serde_compat")]
    pub header_timeout: Duration,
    /// A request body that stops arriving for this long is answered 408
    /// (`MUSTER_BODY_TIMEOUT`).
    #[serde(with = "humantime_serde_compat")]
    pub body_timeout: Duration,
    /// A kept-alive connection without a request for this long is closed
    /// (`MUSTER_IDLE_TIMEOUT`).
    #[serde(with = "humantime_serde_compat")]
    pub idle_timeout: Duration,
    /// Client connections served at once (`MUSTER_MAX_CONNECTIONS`); at the cap,
    /// the one idle or waiting for a request the longest is closed for a new one.
    pub max_connections: usize,
    /// How often an idle worker looks for due jobs (`MUSTER_WORKER_POLL`).
    #[serde(with = "humantime_serde_compat")]
    pub worker_poll: Duration,
    /// How long a claimed job belongs to its worker; when a process dies, another
    /// instance retries its jobs after this (`MUSTER_JOB_LEASE`).
    #[serde(with = "humantime_serde_compat")]
    pub job_lease: Duration,
    /// Sender of every email (`MUSTER_MAIL_FROM`).
    pub mail_from: String,
    /// Send mail through this SMTP server instead of the file outbox
    /// (`MUSTER_SMTP_URL`, e.g. `smtp://user:pass@mail.example.com:587?tls=required`).
    pub smtp_url: Option<String>,
    /// Mails handed to the SMTP server at once (`MUSTER_SMTP_CONCURRENCY`), each
    /// over one of the transport's pooled connections. A crash may send the
    /// mails under way again (at least once, never lost), so this is also how
    /// many a crash of this instance may duplicate.
    pub smtp_concurrency: usize,
    /// The VAPID `sub` of every Web Push request: how a push service reaches the
    /// operator (`MUSTER_PUSH_CONTACT`, `mailto:` or `https:`).
    pub push_contact: String,
    /// Accept `http://` push endpoints on loopback addresses
    /// (`MUSTER_PUSH_ALLOW_LOOPBACK`), for a push service on this machine; real
    /// ones are `https://` on public hosts, and only those are accepted otherwise.
    pub push_allow_loopback: bool,
    /// Web Push requests in flight at once (`MUSTER_PUSH_CONCURRENCY`).
    pub push_concurrency: usize,
    /// Log entries one device (or token, or session) may send per minute
    /// (`MUSTER_APP_LOG_RATE`); a call over it is refused whole.
    pub app_log_rate: u64,
    /// Usage events one device (or token, or session) may send per minute
    /// (`MUSTER_APP_USAGE_RATE`); a call over it is refused whole.
    pub app_usage_rate: u64,
    /// How often today's usage figures are brought up to date
    /// (`MUSTER_ROLLUP_INTERVAL`, 10s to 1h).
    #[serde(with = "humantime_serde_compat")]
    pub rollup_interval: Duration,
    /// Seals secrets that wait in the database and signs the sign-in form's
    /// cookie (`MUSTER_SECRET_KEY`, at least 32 characters). Instances on one
    /// PostgreSQL must share it; unset, `secret.key` in the data directory is
    /// used (made at the first start).
    pub secret_key: Option<Redacted>,
    /// This instance's name in the job table (`MUSTER_INSTANCE_ID`); unset,
    /// `instance-id` in the data directory (made at the first start). A
    /// restarted instance takes back at once the jobs it had claimed.
    pub instance_id: Option<String>,
}

/// A setting that is never printed.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Redacted(pub String);

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"…\"")
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            public_url: None,
            database_url: None,
            session_ttl: Duration::from_secs(12 * 3600),
            db_max_connections: 16,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 10_000,
            worker_poll: Duration::from_secs(1),
            job_lease: Duration::from_secs(5 * 60),
            mail_from: "Muster <muster@localhost>".into(),
            smtp_url: None,
            smtp_concurrency: 1,
            push_contact: "mailto:muster@localhost".into(),
            push_allow_loopback: false,
            push_concurrency: 64,
            app_log_rate: 5000,
            app_usage_rate: 6000,
            rollup_interval: Duration::from_secs(60),
            secret_key: None,
            instance_id: None,
        }
    }
}

/// Values given on the command line; `None` leaves the lower layers in force.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_ttl: Option<String>,
}

/// A setting that could not be read, phrased for one line of output.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {setting}: {message}")]
pub struct SettingsError {
    pub setting: String,
    pub message: String,
}

impl Settings {
    pub fn load(config_file: &Path, overrides: Overrides) -> Result<Self, SettingsError> {
        let figment = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(config_file))
            .merge(Env::prefixed("MUSTER_").ignore(&["token", "server", "org"]))
            .merge(Env::raw().only(&["DATABASE_URL"]))
            .merge(Serialized::defaults(overrides));
        let settings: Settings = figment.extract().map_err(|error| {
            let key = error.path.join(".");
            SettingsError {
                setting: if key.is_empty() {
                    config_file.display().to_string()
                } else {
                    format!("{} (MUSTER_{})", key, key.to_uppercase())
                },
                message: error.kind.to_string(),
            }
        })?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), SettingsError> {
        if let Some(url) = &self.public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(SettingsError {
                    setting: "public_url (MUSTER_PUBLIC_URL)".into(),
                    message: format!("{url:?} must start with http:// or https://"),
                });
            }
        }
        if let Some(url) = &self.database_url {
            let known = ["sqlite:", "postgres://", "postgresql://"];
            if !known.iter().any(|prefix| url.starts_with(prefix)) {
                return Err(SettingsError {
                    setting: "database_url (DATABASE_URL)".into(),
                    message: "must start with sqlite: or postgres://".into(),
                });
            }
        }
        if !(self.push_contact.starts_with("mailto:") || self.push_contact.starts_with("https:")) {
            return Err(SettingsError {
                setting: "push_contact (MUSTER_PUSH_CONTACT)".into(),
                message: "must start with mailto: or https:".into(),
            });
        }
        if !(1..=1024).contains(&self.push_concurrency) {
            return Err(SettingsError {
                setting: "push_concurrency (MUSTER_PUSH_CONCURRENCY)".into(),
                message: "must be between 1 and 1024".into(),
            });
        }
        if self.app_log_rate == 0 {
            return Err(SettingsError {
                setting: "app_log_rate (MUSTER_APP_LOG_RATE)".into(),
                message: "must be at least 1".into(),
            });
        }
        if self.app_usage_rate == 0 {
            return Err(SettingsError {
                setting: "app_usage_rate (MUSTER_APP_USAGE_RATE)".into(),
                message: "must be at least 1".into(),
            });
        }
        if !(Duration::from_secs(10)..=Duration::from_secs(3600)).contains(&self.rollup_interval) {
            return Err(SettingsError {
                setting: "rollup_interval (MUSTER_ROLLUP_INTERVAL)".into(),
                message: "must be between 10s and 1h".into(),
            });
        }
        if let Some(url) = &self.smtp_url {
            crate::mail::smtp_mailer(url).map_err(|message| SettingsError {
                setting: "smtp_url (MUSTER_SMTP_URL)".into(),
                message,
            })?;
        }
        if self.mail_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(SettingsError {
                setting: "mail_from (MUSTER_MAIL_FROM)".into(),
                message: format!(
                    "{:?} is not an address like Muster <muster@example.com>",
                    self.mail_from
                ),
            });
        }
        if self.session_ttl < Duration::from_secs(60) {
            return Err(SettingsError {
                setting: "session_ttl (MUSTER_SESSION_TTL)".into(),
                message: "must be at least 1m".into(),
            });
        }
        if self.job_lease < Duration::from_secs(1) {
            return Err(SettingsError {
                setting: "job_lease (MUSTER_JOB_LEASE)".into(),
                message: "must be at least 1s".into(),
            });
        }
        if !(1..=64).contains(&self.smtp_concurrency) {
            return Err(SettingsError {
                setting: "smtp_concurrency (MUSTER_SMTP_CONCURRENCY)".into(),
                message: "must be between 1 and 64".into(),
            });
        }
        if let Some(Redacted(key)) = &self.secret_key {
            if key.chars().count() < crate::keys::MIN_SECRET_LEN {
                return Err(SettingsError {
                    setting: "secret_key (MUSTER_SECRET_KEY)".into(),
                    message: format!(
                        "must be at least {} characters (e.g. `openssl rand -base64 32`)",
                        crate::keys::MIN_SECRET_LEN
                    ),
                });
            }
        }
        for (setting, value) in [
            (
                "header_timeout (MUSTER_HEADER_TIMEOUT)",
                self.header_timeout,
            ),
            ("body_timeout (MUSTER_BODY_TIMEOUT)", self.body_timeout),
            ("idle_timeout (MUSTER_IDLE_TIMEOUT)", self.idle_timeout),
        ] {
            if !(Duration::from_secs(1)..=Duration::from_secs(3600)).contains(&value) {
                return Err(SettingsError {
                    setting: setting.into(),
                    message: "must be between 1s and 1h".into(),
                });
            }
        }
        if self.max_connections == 0 {
            return Err(SettingsError {
                setting: "max_connections (MUSTER_MAX_CONNECTIONS)".into(),
                message: "must be at least 1".into(),
            });
        }
        if self.db_max_connections == 0 {
            return Err(SettingsError {
                setting: "db_max_connections (MUSTER_DB_MAX_CONNECTIONS)".into(),
                message: "must be at least 1".into(),
            });
        }
        Ok(())
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("muster.db").display()),
        }
    }

    /// SMTP when `MUSTER_SMTP_URL` is set, else the file outbox.
    pub fn mail_transport(&self) -> Result<crate::mail::Transport, String> {
        crate::mail::Transport::new(self.smtp_url.as_deref(), &self.mail_from, self.outbox_dir())
    }

    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }

    /// The public base URL without a trailing slash.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen),
        }
    }

    /// The server key and this instance's id (see `keys`).
    pub fn server_key(&self) -> anyhow::Result<crate::keys::ServerKey> {
        crate::keys::ServerKey::load(
            self.secret_key.as_ref().map(|k| k.0.as_str()),
            &self.data_dir,
        )
    }

    pub fn instance(&self) -> anyhow::Result<String> {
        crate::keys::instance_id(self.instance_id.as_deref(), &self.data_dir)
    }

    /// Cookies get `Secure` when Muster is reached over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url().starts_with("https://")
    }
}

/// Durations as `12h`, `30m`, `90s` (or a number of seconds).
mod humantime_serde_compat;

#[cfg(test)]
// figment::Jail's closures return its large error type by design.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_listen_address_names_the_setting() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("MUSTER_LISTEN", "not-an-address");
            let error = Settings::load(Path::new("muster.toml"), Overrides::default())
                .map(|_| ())
                .map_err(|e| e.to_string());
            let message = error.err().unwrap_or_default();
            assert!(message.contains("MUSTER_LISTEN"), "{message}");
            Ok(())
        });
    }

    #[test]
    fn layers_override_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "muster.toml",
                "listen = \"127.0.0.1:9000\"\nsession_ttl = \"2h\"",
            )?;
            jail.set_env("MUSTER_SESSION_TTL", "30m");
            let settings = Settings::load(
                Path::new("muster.toml"),
                Overrides {
                    data_dir: Some("/tmp/elsewhere".into()),
                    ..Overrides::default()
                },
            )
            .map_err(|e| e.to_string())?;
            assert_eq!(settings.listen.port(), 9000);
            assert_eq!(settings.session_ttl, Duration::from_secs(1800));
            assert_eq!(settings.data_dir, PathBuf::from("/tmp/elsewhere"));
            assert_eq!(settings.public_url(), "http://127.0.0.1:9000");
            Ok(())
        });
    }

    #[test]
    fn connection_limits_are_read_and_checked() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("MUSTER_HEADER_TIMEOUT", "5s");
            jail.set_env("MUSTER_MAX_CONNECTIONS", "500");
            let settings = Settings::load(Path::new("muster.toml"), Overrides::default())
                .map_err(|e| e.to_string())?;
            assert_eq!(settings.header_timeout, Duration::from_secs(5));
            assert_eq!(settings.max_connections, 500);
            for (name, value) in [
                ("MUSTER_IDLE_TIMEOUT", "0s"),
                ("MUSTER_MAX_CONNECTIONS", "0"),
            ] {
                jail.set_env(name, value);
                let message = Settings::load(Path::new("muster.toml"), Overrides::default())
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                assert!(message.contains(name), "{message}");
                jail.set_env(
                    name,
                    if name == "MUSTER_IDLE_TIMEOUT" {
                        "1m"
                    } else {
                        "500"
                    },
                );
            }
            Ok(())
        });
    }

    #[test]
    fn a_bad_duration_is_refused() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("MUSTER_SESSION_TTL", "soon");
            let message = Settings::load(Path::new("muster.toml"), Overrides::default())
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(message.contains("MUSTER_SESSION_TTL"), "{message}");
            Ok(())
        });
    }
}
