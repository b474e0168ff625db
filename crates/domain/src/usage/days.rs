//! UTC days, the periods a window is read in, and windows of days.

use super::WINDOW_MAX_DAYS;
use time::{Date, Month, OffsetDateTime, Time};

/// A UTC day, as the number of days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Day(pub i64);

/// The Julian day number of 1970-01-01.
const EPOCH_JULIAN: i64 = 2_440_588;

impl Day {
    /// The UTC day of `at`; a time whose UTC day is past the calendar's end
    /// (year 9999 in an offset behind UTC) is on its own day.
    pub fn of(at: OffsetDateTime) -> Day {
        Day::from_date(Day::utc_date(at).unwrap_or(at.date()))
    }

    fn utc_date(at: OffsetDateTime) -> Option<Date> {
        at.checked_to_offset(time::UtcOffset::UTC).map(|t| t.date())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        crate::log::parse_time("2026-12-04T10:00:00Z").expect("a time")
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
        // Its UTC day would be in the year 10000: not a day, and no panic.
        assert_eq!(parse_day("9999-12-31T23:30:00-01:00"), None);
        let edge = OffsetDateTime::parse(
            "9999-12-31T23:30:00-01:00",
            &time::format_description::well_known::Rfc3339,
        )
        .expect("a time");
        assert_eq!(format_day(Day::of(edge)), "9999-12-31");
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
}
