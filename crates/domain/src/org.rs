//! Organization settings and their limits.

use crate::names;

pub const INVITE_LIFETIME_DEFAULT_DAYS: i64 = 7;
pub const INVITE_LIFETIME_MAX_DAYS: i64 = 30;
pub const LOG_RETENTION_MAX_DAYS: i64 = 365;
pub const LOG_RETENTION_DEFAULT_DAYS: i64 = 30;
/// What a new organization asks its apps to log: errors and crashes.
pub const LOGGING_LEVEL_DEFAULT: &str = "error";
pub const LOGGING_LEVELS: &[&str] = &["fatal", "error", "warn", "info", "debug", "trace"];

pub fn invite_lifetime_days(days: i64) -> Result<i64, String> {
    if (1..=INVITE_LIFETIME_MAX_DAYS).contains(&days) {
        Ok(days)
    } else {
        Err(format!("between 1 and {INVITE_LIFETIME_MAX_DAYS} days"))
    }
}

pub fn log_retention_days(days: i64) -> Result<i64, String> {
    if (1..=LOG_RETENTION_MAX_DAYS).contains(&days) {
        Ok(days)
    } else {
        Err(format!("between 1 and {LOG_RETENTION_MAX_DAYS} days"))
    }
}

pub fn logging_level(level: &str) -> Result<String, String> {
    let level = level.trim().to_ascii_lowercase();
    if LOGGING_LEVELS.contains(&level.as_str()) {
        Ok(level)
    } else {
        Err(format!("one of: {}", LOGGING_LEVELS.join(", ")))
    }
}

/// Empty, or an absolute http(s) URL.
pub fn public_url(url: &str) -> Result<String, String> {
    let url = url.trim();
    if url.is_empty() {
        return Ok(String::new());
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("an address starting with https:// or http://")?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty()
        || url.len() > 2048
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err("an address such as https://apps.example.com".into());
    }
    Ok(url.to_owned())
}

pub fn name(input: &str) -> Result<String, names::TextError> {
    names::required_text(input, names::ORG_NAME_MAX)
}

pub fn description(input: &str) -> Result<String, names::TextError> {
    names::optional_text(input, names::DESCRIPTION_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert!(invite_lifetime_days(0).is_err());
        assert_eq!(invite_lifetime_days(30), Ok(30));
        assert!(invite_lifetime_days(31).is_err());
        assert_eq!(logging_level("WARN"), Ok("warn".into()));
        assert!(logging_level("verbose").is_err());
        assert_eq!(public_url(""), Ok(String::new()));
        assert!(public_url("ftp://x").is_err());
        assert!(public_url("https://").is_err());
        assert_eq!(
            public_url("https://apps.example.com/x"),
            Ok("https://apps.example.com/x".into())
        );
    }
}
