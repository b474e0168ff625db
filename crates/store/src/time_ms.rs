//! Timestamps are stored as Unix milliseconds, the one time type both databases
//! share through the `Any` driver.

use time::OffsetDateTime;

pub fn to_ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

pub fn from_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub fn from_ms_opt(ms: Option<i64>) -> Option<OffsetDateTime> {
    ms.map(from_ms)
}
