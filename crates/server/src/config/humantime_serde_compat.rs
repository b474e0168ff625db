//! Durations in settings as `12h`, `30m`, `90s` (or a number of seconds).

use serde::{de, Deserialize, Deserializer, Serializer};
use std::time::Duration;

pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&humantime::format_duration(*value).to_string())
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Seconds(u64),
        Text(String),
    }
    match Raw::deserialize(deserializer)? {
        Raw::Seconds(seconds) => Ok(Duration::from_secs(seconds)),
        Raw::Text(text) => humantime::parse_duration(text.trim()).map_err(|e| {
            de::Error::custom(format!("{text:?} is not a duration like 12h or 30m ({e})"))
        }),
    }
}
