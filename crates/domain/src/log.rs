//! Log entries that apps send: their levels, the bounds of one entry and of one
//! call, and the time ranges Troubleshooting reads.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// How serious an entry is, in increasing order; stored as its rank.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl Level {
    pub const ALL: [Level; 6] = [
        Level::Trace,
        Level::Debug,
        Level::Info,
        Level::Warn,
        Level::Error,
        Level::Fatal,
    ];

    pub fn parse(text: &str) -> Option<Level> {
        let text = text.trim();
        Level::ALL
            .into_iter()
            .find(|level| level.as_str().eq_ignore_ascii_case(text))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
            Level::Fatal => "fatal",
        }
    }

    /// 0 for trace up to 5 for fatal: "this level and above" is `rank >= n`.
    pub fn rank(self) -> i64 {
        match self {
            Level::Trace => 0,
            Level::Debug => 1,
            Level::Info => 2,
            Level::Warn => 3,
            Level::Error => 4,
            Level::Fatal => 5,
        }
    }

    pub fn from_rank(rank: i64) -> Option<Level> {
        Level::ALL.into_iter().find(|level| level.rank() == rank)
    }

    /// "one of: trace, debug, …" for a field error.
    pub fn choices() -> String {
        let names: Vec<&str> = Level::ALL.iter().map(|l| l.as_str()).collect();
        format!("one of: {}", names.join(", "))
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Entries in one call.
pub const BATCH_MAX: usize = 1000;
/// Bytes of one call's body.
pub const BODY_MAX: usize = 1024 * 1024;
pub const MESSAGE_MAX: usize = 8192;
pub const CORRELATION_MAX: usize = 128;
pub const CATEGORY_MAX: usize = 64;
/// Bytes of an entry's `context` as JSON.
pub const CONTEXT_MAX: usize = 16 * 1024;
/// How far ahead of the server's clock an entry's time may be before it is
/// taken for a wrong clock and set to the time it was received.
pub const FUTURE_SKEW: Duration = Duration::minutes(5);
/// How long an administrator may turn on detailed logging for one member.
pub const OVERRIDE_MAX_HOURS: i64 = 168;
pub const OVERRIDE_DEFAULT_HOURS: i64 = 24;

/// One entry as an app sent it, every field still unchecked.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct EntryInput {
    /// When it happened (RFC 3339); the server's time when absent.
    #[serde(default)]
    pub time: Option<serde_json::Value>,
    /// trace, debug, info, warn, error or fatal.
    #[serde(default)]
    pub level: Option<serde_json::Value>,
    #[serde(default)]
    pub category: Option<serde_json::Value>,
    #[serde(default)]
    pub message: Option<serde_json::Value>,
    #[serde(default)]
    pub correlation_id: Option<serde_json::Value>,
    /// A solution of the organization.
    #[serde(default)]
    pub solution_id: Option<serde_json::Value>,
    /// A JSON object (at most 16 KiB).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub context: Option<serde_json::Value>,
}

/// An entry whose fields are each within bounds; the solution is checked
/// against the organization by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedEntry {
    pub time: OffsetDateTime,
    pub level: Level,
    pub category: Option<String>,
    pub message: String,
    pub correlation_id: String,
    pub solution_id: Option<String>,
    /// The context object as JSON text.
    pub context: Option<String>,
}

/// Why one entry was refused: the field and what is wrong with it.
pub type EntryError = (&'static str, String);

/// Checks one entry received at `now` by an organization that keeps entries
/// for `retention`.
pub fn check_entry(
    input: EntryInput,
    now: OffsetDateTime,
    retention: Duration,
) -> Result<CheckedEntry, EntryError> {
    let level = match &input.level {
        Some(serde_json::Value::String(text)) => Level::parse(text),
        _ => None,
    }
    .ok_or(("level", Level::choices()))?;
    let message = text("message", input.message, MESSAGE_MAX, true)?
        .filter(|m| !m.trim().is_empty())
        .ok_or(("message", "is required".to_owned()))?;
    let correlation_id = text(
        "correlation_id",
        input.correlation_id,
        CORRELATION_MAX,
        false,
    )?
    .map(|c| c.trim().to_owned())
    .filter(|c| !c.is_empty())
    .ok_or(("correlation_id", "is required".to_owned()))?;
    let category = text("category", input.category, CATEGORY_MAX, false)?
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    let solution_id = text("solution_id", input.solution_id, 64, false)?
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let context = match input.context {
        None | Some(serde_json::Value::Null) => None,
        Some(value @ serde_json::Value::Object(_)) => {
            let json = value.to_string();
            if json.len() > CONTEXT_MAX {
                return Err((
                    "context",
                    format!("must be at most {} KiB as JSON", CONTEXT_MAX / 1024),
                ));
            }
            Some(json)
        }
        Some(_) => return Err(("context", "must be a JSON object".to_owned())),
    };
    let time = entry_time(input.time, now, retention)?;
    Ok(CheckedEntry {
        time,
        level,
        category,
        message,
        correlation_id,
        solution_id,
        context,
    })
}

/// A string field of at most `max` characters; control characters are
/// refused except, where `multiline`, newlines and tabs.
pub(crate) fn text(
    field: &'static str,
    value: Option<serde_json::Value>,
    max: usize,
    multiline: bool,
) -> Result<Option<String>, EntryError> {
    let text = match value {
        None | Some(serde_json::Value::Null) => return Ok(None),
        Some(serde_json::Value::String(text)) => text,
        Some(_) => return Err((field, "must be a string".to_owned())),
    };
    if text.chars().count() > max {
        return Err((field, format!("must be at most {max} characters")));
    }
    let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    if text.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err((field, "must not contain control characters".to_owned()));
    }
    Ok(Some(text))
}

fn entry_time(
    value: Option<serde_json::Value>,
    now: OffsetDateTime,
    retention: Duration,
) -> Result<OffsetDateTime, EntryError> {
    let time = match value {
        None | Some(serde_json::Value::Null) => return Ok(now),
        Some(serde_json::Value::String(text)) => parse_time(&text).ok_or((
            "time",
            "must be an RFC 3339 time, e.g. 2026-12-04T09:30:00Z".to_owned(),
        ))?,
        Some(_) => return Err(("time", "must be an RFC 3339 time string".to_owned())),
    };
    if time > now + FUTURE_SKEW {
        return Ok(now);
    }
    if time < now - retention {
        return Err((
            "time",
            format!(
                "is older than the organization's log retention of {} days",
                retention.whole_days()
            ),
        ));
    }
    Ok(time)
}

/// An RFC 3339 time, in UTC; none for a time whose UTC date is past the
/// calendar's end (9999-12-31T23:30:00-01:00), so that no later conversion
/// to UTC can fail.
pub fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
        .ok()?
        .checked_to_offset(time::UtcOffset::UTC)
}

/// The named ranges of Troubleshooting, each ending now.
pub fn named_range(name: &str) -> Option<Duration> {
    match name.trim() {
        "hour" => Some(Duration::HOUR),
        "day" => Some(Duration::DAY),
        "week" => Some(Duration::WEEK),
        "month" => Some(Duration::days(30)),
        _ => None,
    }
}

pub const RANGES: &[&str] = &["hour", "day", "week", "month"];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(value: serde_json::Value) -> EntryInput {
        serde_json::from_value(value).expect("an entry")
    }

    fn now() -> OffsetDateTime {
        parse_time("2026-12-04T10:00:00Z").expect("a time")
    }

    #[test]
    fn levels_order_and_parse() {
        assert!(Level::Trace < Level::Fatal);
        assert_eq!(Level::parse("WARN"), Some(Level::Warn));
        assert_eq!(Level::parse("verbose"), None);
        for level in Level::ALL {
            assert_eq!(Level::from_rank(level.rank()), Some(level));
        }
    }

    #[test]
    fn a_full_entry_is_kept_as_sent() {
        let checked = check_entry(
            input(json!({"time": "2026-12-04T09:30:00Z", "level": "error", "category": "sync",
                         "message": "upload failed", "correlation_id": " c-1 ", "context": {"a": 1}})),
            now(),
            Duration::days(30),
        )
        .expect("valid");
        assert_eq!(checked.level, Level::Error);
        assert_eq!(checked.correlation_id, "c-1");
        assert_eq!(checked.context.as_deref(), Some(r#"{"a":1}"#));
        assert_eq!(
            checked.time,
            parse_time("2026-12-04T09:30:00Z").expect("a time")
        );
    }

    #[test]
    fn each_bad_field_is_named() {
        let base = json!({"level": "info", "message": "m", "correlation_id": "c"});
        let cases = [
            ("level", json!("loud")),
            ("message", json!("")),
            ("message", json!("x".repeat(MESSAGE_MAX + 1))),
            ("correlation_id", json!("a\u{0}b")),
            ("correlation_id", json!(42)),
            ("category", json!("c".repeat(CATEGORY_MAX + 1))),
            ("context", json!([1, 2])),
            ("context", json!({"big": "x".repeat(CONTEXT_MAX)})),
            ("time", json!("yesterday")),
            ("time", json!("2026-10-01T00:00:00Z")),
        ];
        for (field, value) in cases {
            let mut entry = base.clone();
            entry[field] = value;
            let error = check_entry(input(entry), now(), Duration::days(30)).expect_err(field);
            assert_eq!(error.0, field);
        }
    }

    #[test]
    fn a_time_far_ahead_is_the_time_received() {
        let checked = check_entry(
            input(
                json!({"level": "info", "message": "m", "correlation_id": "c",
                         "time": "2027-01-01T00:00:00Z"}),
            ),
            now(),
            Duration::days(30),
        )
        .expect("valid");
        assert_eq!(checked.time, now());
        let near = check_entry(
            input(
                json!({"level": "info", "message": "m", "correlation_id": "c",
                         "time": "2026-12-04T10:04:00Z"}),
            ),
            now(),
            Duration::days(30),
        )
        .expect("valid");
        assert_eq!(near.time, now() + Duration::minutes(4));
    }
}
