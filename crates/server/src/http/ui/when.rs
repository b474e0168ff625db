//! Times as people read them: "in 3 days", "5 minutes ago".

use time::{Duration, OffsetDateTime};

/// How far `at` is from `now`, in the largest unit that fits.
pub fn relative(at: OffsetDateTime, now: OffsetDateTime) -> String {
    let delta = at - now;
    let span = delta.abs();
    if span < Duration::minutes(1) {
        return "just now".into();
    }
    let (count, unit) = if span < Duration::hours(1) {
        (span.whole_minutes(), "minute")
    } else if span < Duration::days(1) {
        (span.whole_hours(), "hour")
    } else if span < Duration::days(60) {
        (span.whole_days(), "day")
    } else if span < Duration::days(730) {
        (span.whole_days() / 30, "month")
    } else {
        (span.whole_days() / 365, "year")
    };
    let plural = if count == 1 { "" } else { "s" };
    if delta.is_positive() {
        format!("in {count} {unit}{plural}")
    } else {
        format!("{count} {unit}{plural} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn picks_the_largest_unit_that_fits() {
        let now = datetime!(2026-11-25 12:00 UTC);
        assert_eq!(relative(now + Duration::seconds(20), now), "just now");
        assert_eq!(relative(now - Duration::minutes(5), now), "5 minutes ago");
        assert_eq!(relative(now + Duration::hours(1), now), "in 1 hour");
        assert_eq!(relative(now + Duration::days(3), now), "in 3 days");
        assert_eq!(relative(now + Duration::days(182), now), "in 6 months");
        assert_eq!(relative(now - Duration::days(800), now), "2 years ago");
    }
}
