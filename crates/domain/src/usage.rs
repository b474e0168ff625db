//! Usage metrics: the events counted, what an app may send, the UTC days they
//! are rolled up by, and the periods a window is read in.

use serde::Deserialize;
use time::{Date, Duration, Month, OffsetDateTime, Time};

/// Events per call of `POST /app/usage`.
pub const BATCH_MAX: usize = 1000;
/// A custom event's name: `[a-z0-9_.]{1,64}`.
pub const NAME_MAX: usize = 64;
/// An event's properties as JSON.
pub const PROPERTIES_MAX: usize = 4 * 1024;
/// Raw events are kept this long unless the organization says otherwise.
pub const RETENTION_DEFAULT_DAYS: i64 = 90;
pub const RETENTION_MAX_DAYS: i64 = 365;
/// The longest window one read covers.
pub const WINDOW_MAX_DAYS: i64 = 731;
/// How far ahead of the server's clock an event's time may be before it is
/// taken as the time received.
const FUTURE_SKEW: Duration = Duration::minutes(5);

pub fn retention_days(days: i64) -> Result<i64, String> {
    if (1..=RETENTION_MAX_DAYS).contains(&days) {
        Ok(days)
    } else {
        Err(format!("between 1 and {RETENTION_MAX_DAYS} days"))
    }
}

/// What happened; stored by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    SignIn,
    SolutionOpened,
    ScreenViewed,
    NotificationOpened,
    ApiCall,
    ErrorLog,
    InvitationSent,
    InvitationAccepted,
    NotificationSent,
    NotificationDelivered,
    /// A name of the app's own.
    Custom,
}

impl Kind {
    pub const ALL: [Kind; 11] = [
        Kind::SignIn,
        Kind::SolutionOpened,
        Kind::ScreenViewed,
        Kind::NotificationOpened,
        Kind::ApiCall,
        Kind::ErrorLog,
        Kind::InvitationSent,
        Kind::InvitationAccepted,
        Kind::NotificationSent,
        Kind::NotificationDelivered,
        Kind::Custom,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SignIn => "sign_in",
            Kind::SolutionOpened => "solution_opened",
            Kind::ScreenViewed => "screen_viewed",
            Kind::NotificationOpened => "notification_opened",
            Kind::ApiCall => "api_call",
            Kind::ErrorLog => "error_log",
            Kind::InvitationSent => "invitation_sent",
            Kind::InvitationAccepted => "invitation_accepted",
            Kind::NotificationSent => "notification_sent",
            Kind::NotificationDelivered => "notification_delivered",
            Kind::Custom => "custom",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Whether the person the event names did something (and so is an active
    /// user that day): a delivered notification is not something they did.
    pub fn is_activity(self) -> bool {
        !matches!(self, Kind::NotificationDelivered)
    }

    /// The figure the event adds to.
    pub fn metric(self) -> Metric {
        match self {
            Kind::SignIn => Metric::SignIns,
            Kind::SolutionOpened => Metric::SolutionOpens,
            Kind::ScreenViewed => Metric::ScreenViews,
            Kind::NotificationOpened => Metric::NotificationOpens,
            Kind::ApiCall => Metric::ApiCalls,
            Kind::ErrorLog => Metric::ErrorLogs,
            Kind::InvitationSent => Metric::InvitationsSent,
            Kind::InvitationAccepted => Metric::InvitationsAccepted,
            Kind::NotificationSent => Metric::NotificationsSent,
            Kind::NotificationDelivered => Metric::NotificationsDelivered,
            Kind::Custom => Metric::CustomEvents,
        }
    }
}

/// A figure of a day's rollup; each is a column of `usage_daily`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// Distinct people: over a period it is the people active in it, never a
    /// sum of days.
    ActiveUsers,
    SignIns,
    SolutionOpens,
    ScreenViews,
    NotificationOpens,
    ApiCalls,
    ErrorLogs,
    InvitationsSent,
    InvitationsAccepted,
    NotificationsSent,
    NotificationsDelivered,
    CustomEvents,
}

impl Metric {
    pub const ALL: [Metric; 12] = [
        Metric::ActiveUsers,
        Metric::SignIns,
        Metric::SolutionOpens,
        Metric::ScreenViews,
        Metric::NotificationOpens,
        Metric::ApiCalls,
        Metric::ErrorLogs,
        Metric::InvitationsSent,
        Metric::InvitationsAccepted,
        Metric::NotificationsSent,
        Metric::NotificationsDelivered,
        Metric::CustomEvents,
    ];
    /// The figures that are sums of events (all but active users).
    pub const COUNTED: [Metric; 11] = [
        Metric::SignIns,
        Metric::SolutionOpens,
        Metric::ScreenViews,
        Metric::NotificationOpens,
        Metric::ApiCalls,
        Metric::ErrorLogs,
        Metric::InvitationsSent,
        Metric::InvitationsAccepted,
        Metric::NotificationsSent,
        Metric::NotificationsDelivered,
        Metric::CustomEvents,
    ];

    /// Its name in the API, the CSV and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::ActiveUsers => "active_users",
            Metric::SignIns => "sign_ins",
            Metric::SolutionOpens => "solution_opens",
            Metric::ScreenViews => "screen_views",
            Metric::NotificationOpens => "notification_opens",
            Metric::ApiCalls => "api_calls",
            Metric::ErrorLogs => "error_logs",
            Metric::InvitationsSent => "invitations_sent",
            Metric::InvitationsAccepted => "invitations_accepted",
            Metric::NotificationsSent => "notifications_sent",
            Metric::NotificationsDelivered => "notifications_delivered",
            Metric::CustomEvents => "custom_events",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Metric::ActiveUsers => "Active users",
            Metric::SignIns => "Sign-ins",
            Metric::SolutionOpens => "Solution opens",
            Metric::ScreenViews => "Screen views",
            Metric::NotificationOpens => "Notification opens",
            Metric::ApiCalls => "API calls",
            Metric::ErrorLogs => "Error log entries",
            Metric::InvitationsSent => "Invitations sent",
            Metric::InvitationsAccepted => "Invitations accepted",
            Metric::NotificationsSent => "Notifications sent",
            Metric::NotificationsDelivered => "Notifications delivered",
            Metric::CustomEvents => "Custom events",
        }
    }

    /// What `n` of it are called in a sentence: "1 sign-in", "3 API calls".
    pub fn unit(self, n: i64) -> &'static str {
        let (one, many) = match self {
            Metric::ActiveUsers => ("active user", "active users"),
            Metric::SignIns => ("sign-in", "sign-ins"),
            Metric::SolutionOpens => ("solution open", "solution opens"),
            Metric::ScreenViews => ("screen view", "screen views"),
            Metric::NotificationOpens => ("notification open", "notification opens"),
            Metric::ApiCalls => ("API call", "API calls"),
            Metric::ErrorLogs => ("error log entry", "error log entries"),
            Metric::InvitationsSent => ("invitation sent", "invitations sent"),
            Metric::InvitationsAccepted => ("invitation accepted", "invitations accepted"),
            Metric::NotificationsSent => ("notification sent", "notifications sent"),
            Metric::NotificationsDelivered => ("notification delivered", "notifications delivered"),
            Metric::CustomEvents => ("custom event", "custom events"),
        };
        if n == 1 {
            one
        } else {
            many
        }
    }

    /// Its place in [`Metric::ALL`], for figures kept as arrays.
    pub fn index(self) -> usize {
        Metric::ALL
            .iter()
            .position(|m| *m == self)
            .unwrap_or_default()
    }
}

/// A UTC day, as the number of days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Day(pub i64);

/// The Julian day number of 1970-01-01.
const EPOCH_JULIAN: i64 = 2_440_588;

impl Day {
    pub fn of(at: OffsetDateTime) -> Day {
        Day::from_date(at.to_offset(time::UtcOffset::UTC).date())
    }

    pub fn from_date(date: Date) -> Day {
        Day(i64::from(date.to_julian_day()) - EPOCH_JULIAN)
    }

    pub fn date(self) -> Date {
        i32::try_from(self.0 + EPOCH_JULIAN)
            .ok()
            .and_then(|julian| Date::from_julian_day(julian).ok())
            .unwrap_or(Date::MIN)
    }

    /// Midnight UTC at its start.
    pub fn start(self) -> OffsetDateTime {
        self.date().with_time(Time::MIDNIGHT).assume_utc()
    }

    pub fn plus(self, days: i64) -> Day {
        Day(self.0 + days)
    }
}

/// The periods a window's series is read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Interval {
    #[default]
    Day,
    /// Monday to Sunday.
    Week,
    Month,
}

impl Interval {
    pub fn parse(text: &str) -> Option<Interval> {
        match text.trim() {
            "day" => Some(Interval::Day),
            "week" => Some(Interval::Week),
            "month" => Some(Interval::Month),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Interval::Day => "day",
            Interval::Week => "week",
            Interval::Month => "month",
        }
    }

    /// The first day of the period `day` is in.
    pub fn period_start(self, day: Day) -> Day {
        let date = day.date();
        match self {
            Interval::Day => day,
            Interval::Week => day.plus(-i64::from(date.weekday().number_days_from_monday())),
            Interval::Month => Date::from_calendar_date(date.year(), date.month(), 1)
                .map(Day::from_date)
                .unwrap_or(day),
        }
    }

    /// The first day of the period after the one starting at `start`.
    pub fn next_start(self, start: Day) -> Day {
        match self {
            Interval::Day => start.plus(1),
            Interval::Week => start.plus(7),
            Interval::Month => {
                let date = start.date();
                let (year, month) = match date.month() {
                    Month::December => (date.year() + 1, Month::January),
                    month => (date.year(), month.next()),
                };
                Date::from_calendar_date(year, month, 1)
                    .map(Day::from_date)
                    .unwrap_or(start.plus(31))
            }
        }
    }

    /// The periods that cover `from..=to`, each cut to the window:
    /// `(first, last)` days.
    pub fn periods(self, from: Day, to: Day) -> Vec<(Day, Day)> {
        let mut periods = Vec::new();
        let mut start = self.period_start(from);
        while start <= to {
            let next = self.next_start(start);
            periods.push((start.max(from), next.plus(-1).min(to)));
            start = next;
        }
        periods
    }
}

/// A window of whole days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: Day,
    pub to: Day,
}

impl Window {
    /// The last `days` days up to and including `today`.
    pub fn last(days: i64, today: Day) -> Window {
        Window {
            from: today.plus(1 - days.max(1)),
            to: today,
        }
    }

    /// `from..=to`, within bounds.
    pub fn new(from: Day, to: Day) -> Result<Window, (&'static str, String)> {
        if to < from {
            return Err(("to", "must not be before from".to_owned()));
        }
        if to.0 - from.0 + 1 > WINDOW_MAX_DAYS {
            return Err((
                "from",
                format!("a window covers at most {WINDOW_MAX_DAYS} days"),
            ));
        }
        Ok(Window { from, to })
    }

    pub fn days(self) -> i64 {
        self.to.0 - self.from.0 + 1
    }
}

/// `2026-12-04`, or a whole RFC 3339 time (its UTC day).
pub fn parse_day(text: &str) -> Option<Day> {
    let text = text.trim();
    let format = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(date) = Date::parse(text, &format) {
        return Some(Day::from_date(date));
    }
    crate::log::parse_time(text).map(Day::of)
}

pub fn format_day(day: Day) -> String {
    let date = day.date();
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

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

    fn day(text: &str) -> Day {
        parse_day(text).expect("a day")
    }

    #[test]
    fn days_count_from_the_epoch_and_round_trip() {
        assert_eq!(day("1970-01-01"), Day(0));
        assert_eq!(day("1970-01-02"), Day(1));
        assert_eq!(format_day(day("2026-12-04")), "2026-12-04");
        assert_eq!(Day::of(now()), day("2026-12-04"));
        assert_eq!(
            day("2026-12-04").start(),
            crate::log::parse_time("2026-12-04T00:00:00Z").expect("t")
        );
        assert_eq!(
            parse_day("2026-12-04T23:30:00-02:00"),
            Some(day("2026-12-05"))
        );
        assert_eq!(parse_day("yesterday"), None);
    }

    #[test]
    fn periods_cover_the_window_cut_at_its_ends() {
        // 2026-12-04 is a Friday.
        let weeks = Interval::Week.periods(day("2026-12-04"), day("2026-12-16"));
        assert_eq!(
            weeks,
            vec![
                (day("2026-12-04"), day("2026-12-06")),
                (day("2026-12-07"), day("2026-12-13")),
                (day("2026-12-14"), day("2026-12-16")),
            ]
        );
        let months = Interval::Month.periods(day("2026-11-20"), day("2027-01-02"));
        assert_eq!(
            months,
            vec![
                (day("2026-11-20"), day("2026-11-30")),
                (day("2026-12-01"), day("2026-12-31")),
                (day("2027-01-01"), day("2027-01-02")),
            ]
        );
        assert_eq!(
            Interval::Day
                .periods(day("2026-12-04"), day("2026-12-04"))
                .len(),
            1
        );
        assert_eq!(day("2026-12-07").date().weekday(), time::Weekday::Monday);
    }

    #[test]
    fn windows_are_bounded() {
        let today = day("2026-12-04");
        assert_eq!(Window::last(7, today).from, day("2026-11-28"));
        assert_eq!(Window::last(7, today).days(), 7);
        assert!(Window::new(today, today.plus(-1)).is_err());
        assert!(Window::new(today.plus(-(WINDOW_MAX_DAYS - 1)), today).is_ok());
        assert!(Window::new(today.plus(-WINDOW_MAX_DAYS), today).is_err());
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
        assert_eq!(
            check(json!({"type": "Order"})).map(|_| ()).unwrap_err().0,
            "type"
        );
        assert_eq!(
            check(json!({"type": "x".repeat(65)}))
                .map(|_| ())
                .unwrap_err()
                .0,
            "type"
        );
        assert_eq!(check(json!({})).map(|_| ()).unwrap_err().0, "type");
        // What the server counts itself cannot be sent.
        assert_eq!(
            check(json!({"type": "sign_in"})).map(|_| ()).unwrap_err().0,
            "type"
        );
        assert_eq!(
            check(json!({"type": "solution_opened"}))
                .map(|_| ())
                .unwrap_err()
                .0,
            "solution_id"
        );
        assert_eq!(
            check(json!({"type": "a", "properties": [1]}))
                .map(|_| ())
                .unwrap_err()
                .0,
            "properties"
        );
        let big = json!({"type": "a", "properties": {"x": "y".repeat(PROPERTIES_MAX)}});
        assert_eq!(check(big).map(|_| ()).unwrap_err().0, "properties");
    }

    #[test]
    fn times_ahead_are_now_and_days_past_retention_are_refused() {
        let ahead = check(json!({"type": "a", "time": "2026-12-05T10:00:00Z"})).expect("ok");
        assert_eq!(ahead.time, now());
        // 90 days kept: today and the 89 before it.
        assert!(check(json!({"type": "a", "time": "2026-09-06T00:00:00Z"})).is_ok());
        let old = check(json!({"type": "a", "time": "2026-09-05T23:59:59Z"}));
        assert_eq!(old.map(|_| ()).unwrap_err().0, "time");
        assert_eq!(
            check(json!({"type": "a", "time": "soon"}))
                .map(|_| ())
                .unwrap_err()
                .0,
            "time"
        );
    }

    #[test]
    fn every_kind_has_a_metric_and_only_deliveries_are_not_activity() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
            assert!(Metric::COUNTED.contains(&kind.metric()));
            assert_eq!(kind.is_activity(), kind != Kind::NotificationDelivered);
        }
        for (i, metric) in Metric::ALL.iter().enumerate() {
            assert_eq!(metric.index(), i);
        }
        assert_eq!(Metric::ApiCalls.unit(1), "API call");
        assert_eq!(Metric::ErrorLogs.unit(2), "error log entries");
    }
}
