//! What an app sends: one event's fields, each checked on its own.

use super::{Day, Kind, NAME_MAX, PROPERTIES_MAX};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

/// How far ahead of the server's clock an event's time may be before it is
/// taken as the time received.
const FUTURE_SKEW: Duration = Duration::minutes(5);

/// One event as an app sent it, every field still unchecked.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct EventInput {
    /// `solution_opened`, `screen_viewed`, or a name of your own
    /// (`[a-z0-9_.]{1,64}`).
    #[serde(default, rename = "type")]
    #[schema(value_type = String)]
    pub kind: Option<serde_json::Value>,
    /// A solution of the organization.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub solution_id: Option<serde_json::Value>,
    /// When it happened (RFC 3339); the server's time when absent.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub time: Option<serde_json::Value>,
    /// A JSON object (at most 4 KiB), e.g. `{"screen": "Orders"}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub properties: Option<serde_json::Value>,
}

/// An event whose fields are each within bounds; the solution is checked
/// against the organization by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedEvent {
    pub kind: Kind,
    /// The custom event's name.
    pub name: Option<String>,
    pub solution_id: Option<String>,
    pub time: OffsetDateTime,
    pub properties: Option<String>,
}

pub type EventError = (&'static str, String);

/// Whether `name` is a custom event name an app may use.
fn is_custom_name(name: &str) -> bool {
    (1..=NAME_MAX).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
}

/// Checks one event received at `now` by an organization that keeps raw
/// events for `retention`.
pub fn check_event(
    input: EventInput,
    now: OffsetDateTime,
    retention: Duration,
) -> Result<CheckedEvent, EventError> {
    let kind_text = match input.kind {
        Some(serde_json::Value::String(text)) => text,
        None | Some(serde_json::Value::Null) => return Err(("type", "is required".to_owned())),
        Some(_) => return Err(("type", "must be a string".to_owned())),
    };
    let (kind, name) = match Kind::parse(&kind_text) {
        Some(kind @ (Kind::SolutionOpened | Kind::ScreenViewed)) => (kind, None),
        // "custom" itself is just a name of the app's own.
        Some(Kind::Custom) => (Kind::Custom, Some(kind_text)),
        Some(_) => {
            return Err((
                "type",
                format!("`{kind_text}` is counted by the server; an app sends solution_opened, screen_viewed or a name of its own"),
            ))
        }
        None if is_custom_name(&kind_text) => (Kind::Custom, Some(kind_text)),
        None => {
            return Err((
                "type",
                format!("must be solution_opened, screen_viewed or a name of 1 to {NAME_MAX} characters a-z, 0-9, _ and ."),
            ))
        }
    };
    let solution_id = crate::log::text("solution_id", input.solution_id, 64, false)?
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    if kind == Kind::SolutionOpened && solution_id.is_none() {
        return Err(("solution_id", "is required for solution_opened".to_owned()));
    }
    let properties = match input.properties {
        None | Some(serde_json::Value::Null) => None,
        Some(value @ serde_json::Value::Object(_)) => {
            let json = value.to_string();
            if json.len() > PROPERTIES_MAX {
                return Err((
                    "properties",
                    format!("must be at most {} KiB as JSON", PROPERTIES_MAX / 1024),
                ));
            }
            Some(json)
        }
        Some(_) => return Err(("properties", "must be a JSON object".to_owned())),
    };
    let time = match input.time {
        None | Some(serde_json::Value::Null) => now,
        Some(serde_json::Value::String(text)) => crate::log::parse_time(&text).ok_or((
            "time",
            "must be an RFC 3339 time, e.g. 2026-12-04T09:30:00Z".to_owned(),
        ))?,
        Some(_) => return Err(("time", "must be an RFC 3339 time string".to_owned())),
    };
    let time = if time > now + FUTURE_SKEW { now } else { time };
    // Whole days are kept or deleted, so the bound is the first day kept.
    if Day::of(time) < Day::of(now).plus(1 - retention.whole_days()) {
        return Err((
            "time",
            format!(
                "is older than the organization's usage retention of {} days",
                retention.whole_days()
            ),
        ));
    }
    Ok(CheckedEvent {
        kind,
        name,
        solution_id,
        time,
        properties,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> OffsetDateTime {
        crate::log::parse_time("2026-12-04T10:00:00Z").expect("a time")
    }

    fn check(value: serde_json::Value) -> Result<CheckedEvent, EventError> {
        let input: EventInput = serde_json::from_value(value).expect("an event");
        check_event(input, now(), Duration::days(90))
    }

    /// The field an event is refused for.
    fn refused(value: serde_json::Value) -> &'static str {
        match check(value) {
            Err((field, _)) => field,
            Ok(event) => panic!("accepted: {event:?}"),
        }
    }

    #[test]
    fn apps_send_opens_views_and_names_of_their_own() {
        let opened = check(json!({"type": "solution_opened", "solution_id": "s-1"})).expect("ok");
        assert_eq!((opened.kind, opened.time), (Kind::SolutionOpened, now()));
        let custom =
            check(json!({"type": "order.placed", "properties": {"total": 3}})).expect("ok");
        assert_eq!(custom.kind, Kind::Custom);
        assert_eq!(custom.name.as_deref(), Some("order.placed"));
        assert_eq!(custom.properties.as_deref(), Some(r#"{"total":3}"#));
        assert_eq!(refused(json!({"type": "Order"})), "type");
        assert_eq!(refused(json!({"type": "x".repeat(65)})), "type");
        assert_eq!(refused(json!({})), "type");
        // What the server counts itself cannot be sent.
        assert_eq!(refused(json!({"type": "sign_in"})), "type");
        assert_eq!(refused(json!({"type": "solution_opened"})), "solution_id");
        assert_eq!(
            refused(json!({"type": "a", "properties": [1]})),
            "properties"
        );
        let big = json!({"type": "a", "properties": {"x": "y".repeat(PROPERTIES_MAX)}});
        assert_eq!(refused(big), "properties");
    }

    #[test]
    fn times_ahead_are_now_and_days_past_retention_are_refused() {
        let ahead = check(json!({"type": "a", "time": "2026-12-05T10:00:00Z"})).expect("ok");
        assert_eq!(ahead.time, now());
        // 90 days kept: today and the 89 before it.
        assert!(check(json!({"type": "a", "time": "2026-09-06T00:00:00Z"})).is_ok());
        assert_eq!(
            refused(json!({"type": "a", "time": "2026-09-05T23:59:59Z"})),
            "time"
        );
        assert_eq!(refused(json!({"type": "a", "time": "soon"})), "time");
    }
}
