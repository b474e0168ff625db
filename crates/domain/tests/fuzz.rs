//! Fuzzing the domain's parsers of untrusted input with property tests: each
//! one never panics, and refuses bad input with an error that names what is
//! wrong. Tokens (PATs and device tokens) also keep their promise that a typo
//! is caught by the checksum.
//!
//! Bounded so CI stays fast: every property runs at most 256 generated cases
//! (`PROPTEST_CASES=20000 cargo test -p muster-domain --test fuzz` digs
//! deeper). Every run first tries the hand-written [`seeds`], then the cases
//! kept in `fuzz.proptest-regressions` next to this file (proptest writes a
//! failing case there; commit it so it is replayed from then on).

use muster_domain::log::{self, EntryInput, Level};
use muster_domain::notification::{self, Draft, Scope};
use muster_domain::token::{
    DeviceSecret, PatSecret, TokenFormatError, DEVICE_PREFIX, PREFIX, TOKEN_LEN,
};
use muster_domain::usage::{self, EventInput, Interval, Kind};
use muster_domain::{names, org, secret, solution, spreadsheet, Email, Invitee, SolutionId};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, FileFailurePersistence};
use rand::SeedableRng;
use serde_json::Value;
use time::{Duration, OffsetDateTime};

/// At most 256 cases a property unless `PROPTEST_CASES` says otherwise;
/// failures persisted next to this file.
fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256);
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        max_shrink_iters: 4096,
        ..Config::default()
    }
}

/// Hand-written nasty inputs every run tries first (and that the generators
/// also draw from).
fn seeds() -> Vec<String> {
    let fixed = [
        "",
        " ",
        "\0",
        "\u{feff}",
        "\u{feff}email",
        "\r\n",
        "\n",
        "\t",
        "\u{7f}",
        "\u{85}",
        "\u{2028}",
        "\u{202e}gnp.exe",
        "\u{200b}",
        "a\u{0}b",
        "💩",
        "👩‍👩‍👧‍👦",
        "ﬃ",
        "ﬃ x",
        "ŉ",
        "İ",
        "ß",
        "Σ",
        "\u{10ffff}",
        "\u{fffd}",
        "'",
        "\"",
        "\"\"",
        "\\",
        "%s%n%x",
        "${jndi:ldap://x/a}",
        "<script>alert(1)</script>",
        "../../../../etc/passwd",
        "null",
        "true",
        "1e999",
        "NaN",
        "-0",
        "=HYPERLINK(\"http://evil.test\")",
        "＝1+1",
        "@SUM(A1)",
        "-1",
        "+1",
        "\t=1",
        "mst_pat_",
        "mst_dev_",
        "mst_pat_0000000000000000000000000000000000000000000000",
        "MST_PAT_0000000000000000000000000000000000000000000000",
        "mst_pat_000000000000000000000000000000000000000000000é",
        "mst_pat_00000000000000000000000000000000000000000000000",
        "mst_dev_0000000000000000000000000000000000000000000000",
        "mst_pat_mst_dev_",
        "Bearer mst_pat_",
        "a@b",
        "@",
        "@@",
        "a@",
        "@b.c",
        "a@b.c",
        "a@b..c",
        "a@.b.c",
        "a@b.c.",
        "a@-b.c",
        "ä@ö.ü",
        "İ@example.com",
        "\"a b\"@example.com",
        "a@b@c.d",
        "<a@b.c>",
        " Ada@Example.COM ",
        "en",
        "EN-us",
        "zh-hant-tw",
        "e",
        "en-",
        "-en",
        "en--US",
        "x-private",
        "ééé",
        "1.0.0",
        "v1.0.0",
        "01.0.0",
        "1.0.0-",
        "1.0.0+",
        "99999999999999999999.0.0",
        "18446744073709551615.18446744073709551615.18446744073709551615",
        "#FFFFFF",
        "#fff",
        "#ｆｆｆｆｆｆ",
        "#éééééé",
        "app://",
        "app://solution/",
        "app://solution/not-a-uuid/screen/x",
        "app://solution/00000000-0000-0000-0000-000000000000",
        "http://",
        "https://x",
        "HTTP://x",
        "javascript:alert(1)",
        "javascript://x",
        "https://x\u{0}y",
        "9999-12-31T23:59:59-23:59",
        "9999-12-31T23:59:59Z",
        "-9999-01-01T00:00:00Z",
        "0000-01-01T00:00:00+23:59",
        "2026-02-30",
        "2026-13-01",
        "+10000-01-01",
        "1970-01-01T00:00:00.999999999999Z",
        "2026-12-04T09:30:00Z",
        "hour",
        " day ",
        "owner",
        "OWNER",
        " admin ",
        "1 2 a",
        "9-9-solution",
        "---",
        "{{ invite_link }}",
        "solution_opened",
        "screen_viewed",
        "sign_in",
        "custom",
    ];
    let mut all: Vec<String> = fixed.iter().map(|s| (*s).to_owned()).collect();
    all.extend([
        "x".repeat(10_000),
        "é".repeat(300),
        format!("{}@example.com", "a".repeat(65)),
        format!("a@{}.com", "b".repeat(250)),
        "İ".repeat(127),
        format!("{PREFIX}{}", "z".repeat(TOKEN_LEN - PREFIX.len())),
        format!("{DEVICE_PREFIX}{}", "é".repeat(23)),
        "\u{feff}".repeat(100),
        "-".repeat(200),
        "9".repeat(400),
    ]);
    all
}

/// Pieces that, strung together, make inputs close to the valid ones.
const FRAGMENTS: &[&str] = &[
    "@",
    ".",
    "-",
    "_",
    "#",
    ":",
    "//",
    "/",
    "?",
    "=",
    " ",
    "\t",
    "\n",
    "\u{feff}",
    "\u{0}",
    "\"",
    "'",
    ",",
    "a",
    "Z",
    "é",
    "ß",
    "💩",
    "0",
    "9",
    "1.2.3",
    "example",
    "com",
    "en",
    "fr",
    "CA",
    "Hant",
    "mst_pat_",
    "mst_dev_",
    "http",
    "https",
    "app",
    "solution",
    "screen",
    "T",
    "Z",
    "+01:00",
    "2026-12-04",
    "09:30:00",
    "owner",
    "admin",
    "creator",
    "user",
];

/// Text of every kind: seeds, arbitrary Unicode, near-valid strings, runs of
/// one character up to 20,000 long.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(seeds()),
        3 => any::<String>(),
        3 => prop::collection::vec(select(FRAGMENTS), 0..12).prop_map(|parts| parts.concat()),
        1 => (any::<char>(), 0..20_000usize).prop_map(|(c, n)| c.to_string().repeat(n)),
        1 => "[ -~]{0,80}",
    ]
}

/// Any JSON value, a few levels deep.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// An optional JSON field that is often a string from [`text`].
fn field() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        1 => Just(None),
        3 => text().prop_map(|t| Some(Value::String(t))),
        1 => json().prop_map(Some),
    ]
}

/// A server clock between 1970 and 2100, in whole milliseconds.
fn now() -> impl Strategy<Value = OffsetDateTime> {
    (0i64..4_102_444_800_000).prop_map(|ms| {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    })
}

fn token_results_hold(input: &str) -> Result<(), TestCaseError> {
    match PatSecret::parse(input) {
        Ok(token) => {
            prop_assert_eq!(token.expose(), input);
            prop_assert!(input.starts_with(PREFIX) && input.len() == TOKEN_LEN);
            prop_assert!(input[PREFIX.len()..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric()));
            prop_assert_eq!(token.display_prefix(), &input[..12]);
            let shown = format!("{:?}", token);
            prop_assert!(!shown.contains(&input[12..]), "Debug shows the secret");
        }
        Err(error) => prop_assert!(matches!(
            error,
            TokenFormatError::NotAToken | TokenFormatError::Checksum
        )),
    }
    match DeviceSecret::parse(input) {
        Ok(token) => {
            prop_assert_eq!(token.expose(), input);
            prop_assert!(input.starts_with(DEVICE_PREFIX) && input.len() == TOKEN_LEN);
            let shown = format!("{:?}", token);
            prop_assert!(!shown.contains(&input[12..]), "Debug shows the secret");
        }
        Err(error) => prop_assert!(matches!(
            error,
            TokenFormatError::NotADeviceToken | TokenFormatError::Checksum
        )),
    }
    // A string can be a well-formed token of one kind at most.
    prop_assert!(!(PatSecret::parse(input).is_ok() && DeviceSecret::parse(input).is_ok()));
    Ok(())
}

/// Strings shaped like tokens: a prefix (sometimes the other kind's, or a
/// near miss), then characters that are mostly base62, at about the right
/// length.
fn token_like() -> impl Strategy<Value = String> {
    let prefix = select(vec![
        PREFIX,
        DEVICE_PREFIX,
        "mst_pat",
        "mst_pat__",
        "MST_PAT_",
        "mst_dev_",
        "",
    ]);
    let body = prop::collection::vec(
        prop_oneof![
            8 => select(
                b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".to_vec()
            )
            .prop_map(char::from),
            1 => any::<char>(),
        ],
        40..50,
    );
    (prefix, body).prop_map(|(p, b)| format!("{p}{}", b.into_iter().collect::<String>()))
}

/// One change to a valid token, and whether it is a change of the same
/// length that keeps the characters base62 (which the checksum must catch).
#[derive(Debug, Clone)]
enum Typo {
    /// Replace the character at this position by another base62 one.
    Substitute(usize, u8),
    /// Swap two neighbours (both inside the random part, or both inside the
    /// checksum).
    Transpose(usize),
    /// Drop the character at this position.
    Drop(usize),
    /// Insert a base62 character here.
    Insert(usize, u8),
    /// Replace a character by one that is not base62.
    Foreign(usize, char),
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn typo() -> impl Strategy<Value = Typo> {
    let at = PREFIX.len()..TOKEN_LEN;
    prop_oneof![
        (at.clone(), select(BASE62.to_vec())).prop_map(|(i, c)| Typo::Substitute(i, c)),
        prop_oneof![PREFIX.len()..TOKEN_LEN - 7, TOKEN_LEN - 6..TOKEN_LEN - 1]
            .prop_map(Typo::Transpose),
        at.clone().prop_map(Typo::Drop),
        (at.clone(), select(BASE62.to_vec())).prop_map(|(i, c)| Typo::Insert(i, c)),
        (
            at,
            any::<char>().prop_filter("not base62", |c| !c.is_ascii_alphanumeric())
        )
            .prop_map(|(i, c)| Typo::Foreign(i, c)),
    ]
}

/// `token` with `typo` applied, if that changes it.
fn apply(token: &str, typo: &Typo) -> Option<String> {
    let mut chars: Vec<char> = token.chars().collect();
    match *typo {
        Typo::Substitute(i, c) => chars[i] = char::from(c),
        Typo::Transpose(i) => chars.swap(i, i + 1),
        Typo::Drop(i) => {
            chars.remove(i);
        }
        Typo::Insert(i, c) => chars.insert(i, char::from(c)),
        Typo::Foreign(i, c) => chars[i] = c,
    }
    let changed: String = chars.into_iter().collect();
    (changed != token).then_some(changed)
}

proptest! {
    #![proptest_config(config())]

    /// `PatSecret::parse` and `DeviceSecret::parse` on anything: `Ok` only for
    /// a well-formed token of their own kind, otherwise the right error.
    #[test]
    fn token_parsing_never_panics(input in prop_oneof![text(), token_like()]) {
        token_results_hold(&input)?;
    }

    /// A generated token parses back; every single typo (a substituted,
    /// swapped, dropped, inserted or foreign character) is refused before any
    /// database read, and a same-length base62 typo by the checksum.
    #[test]
    fn every_typo_in_a_token_is_caught(seed in any::<u64>(), device in any::<bool>(), typo in typo()) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let token = if device {
            DeviceSecret::generate(&mut rng).expose().to_owned()
        } else {
            PatSecret::generate(&mut rng).expose().to_owned()
        };
        let parse = |t: &str| if device {
            DeviceSecret::parse(t).map(|s| s.expose().to_owned())
        } else {
            PatSecret::parse(t).map(|s| s.expose().to_owned())
        };
        prop_assert_eq!(parse(&token), Ok(token.clone()));
        if let Some(mistyped) = apply(&token, &typo) {
            let result = parse(&mistyped);
            prop_assert!(result.is_err(), "{mistyped} from {token} by {typo:?} was accepted");
            if matches!(typo, Typo::Substitute(..) | Typo::Transpose(_)) {
                prop_assert_eq!(result, Err(TokenFormatError::Checksum));
            }
            token_results_hold(&mistyped)?;
        }
    }

    /// The stored form of a secret is 64 lowercase hex characters and does not
    /// depend on anything but the secret; generated secrets are 43 URL-safe
    /// characters.
    #[test]
    fn secret_hashes_are_hex(input in text(), seed in any::<u64>()) {
        let hash = secret::hash(&input);
        prop_assert_eq!(hash.len(), 64);
        prop_assert!(hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        prop_assert_eq!(&hash, &secret::hash(&input));
        let generated = secret::generate(&mut rand::rngs::StdRng::seed_from_u64(seed));
        prop_assert_eq!(generated.len(), 43);
        prop_assert!(generated.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }

    /// A row of a bulk invite (or an invite form) is a valid invitee or a list
    /// of the fields that are wrong, each with a message.
    #[test]
    fn invitee_rows_parse_or_name_the_bad_fields(
        email in text(), first in text(), last in text(), language in text(), role in text(),
    ) {
        match Invitee::parse(&email, &first, &last, &language, &role) {
            Ok(invitee) => {
                prop_assert_eq!(invitee.email.as_str(), email.trim().to_lowercase());
                prop_assert!(invitee.first_name.chars().count() <= names::NAME_MAX);
                prop_assert!(invitee.last_name.chars().count() <= names::NAME_MAX);
                if let Some(tag) = &invitee.language {
                    let again = names::language_tag(tag);
                    prop_assert_eq!(again.as_ref(), Ok(tag));
                }
            }
            Err(invalid) => {
                prop_assert!(!invalid.is_empty());
                for error in &invalid.0 {
                    prop_assert!(
                        ["email", "first_name", "last_name", "language", "role"]
                            .contains(&error.field.as_str()),
                        "{error:?}"
                    );
                    prop_assert!(!error.message.trim().is_empty());
                }
            }
        }
    }

    /// Every parser of a text field: `Ok` or `Err`, and an accepted value
    /// keeps the field's rules.
    #[test]
    fn text_fields_never_panic(input in text()) {
        if let Ok(email) = Email::parse(&input) {
            prop_assert!(email.as_str().contains('@'));
            prop_assert_eq!(email.as_str(), email.as_str().to_lowercase());
        }
        for max in [0, 1, names::NAME_MAX, names::DESCRIPTION_MAX] {
            if let Ok(value) = names::required_text(&input, max) {
                prop_assert!(!value.is_empty() && value.chars().count() <= max);
            }
            if let Ok(value) = names::optional_text(&input, max) {
                prop_assert!(value.chars().count() <= max);
                prop_assert_eq!(value.trim(), value.as_str());
            }
        }
        let _ = names::check_new_password(&input);
        if let Ok(tag) = names::language_tag(&input) {
            let again = names::language_tag(&tag);
            prop_assert_eq!(again.as_ref(), Ok(&tag), "normalizing is stable");
        }
        let _ = (org::name(&input), org::description(&input), org::logging_level(&input));
        if let Ok(url) = org::public_url(&input) {
            prop_assert!(url.is_empty() || url.starts_with("http://") || url.starts_with("https://"));
        }
        if let Ok(identifier) = solution::identifier(&input) {
            prop_assert!(identifier.len() <= solution::IDENTIFIER_MAX);
        }
        let _ = solution::identifier_from_name(&input);
        let color = solution::default_icon_color(&input);
        prop_assert!(solution::icon_color(&color).is_ok(), "{color}");
        let _ = (solution::icon_color(&input), solution::icon_initials(&input));
        let _ = solution::default_initials(&input);
        let _ = (solution::version(&input), solution::group_name(&input));
        let _ = notification::check_link(&input);
        let _ = notification::linked_solution(&input);
        if let Some(level) = Level::parse(&input) {
            prop_assert_eq!(Level::parse(level.as_str()), Some(level));
        }
        let _ = (log::parse_time(&input), log::named_range(&input));
        if let Some(kind) = Kind::parse(&input) {
            prop_assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        let _ = Interval::parse(&input);
        if let Some(day) = usage::parse_day(&input) {
            if (1..=9999).contains(&day.date().year()) {
                prop_assert_eq!(usage::parse_day(&usage::format_day(day)), Some(day));
            }
        }
        let cell = spreadsheet::safe_cell(&input);
        prop_assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r', '\n', '＝', '＋', '－', '＠']));
        let quoted = format!("'{}", input);
        prop_assert!(cell == input || cell == quoted, "{:?}", cell);
    }

    /// One log entry and one usage event as an app sends them, any JSON in
    /// every field: accepted within the limits, or refused naming the field.
    #[test]
    fn app_entries_and_events_never_panic(
        fields in prop::collection::vec(field(), 7),
        now in now(),
        retention_days in 1i64..=365,
    ) {
        let retention = Duration::days(retention_days);
        let entry = EntryInput {
            time: fields[0].clone(),
            level: fields[1].clone(),
            category: fields[2].clone(),
            message: fields[3].clone(),
            correlation_id: fields[4].clone(),
            solution_id: fields[5].clone(),
            context: fields[6].clone(),
        };
        match log::check_entry(entry, now, retention) {
            Ok(entry) => {
                prop_assert!(entry.time <= now + log::FUTURE_SKEW);
                prop_assert!(entry.time >= now - retention);
                prop_assert!(entry.message.chars().count() <= log::MESSAGE_MAX);
                prop_assert!(entry.correlation_id.chars().count() <= log::CORRELATION_MAX);
                prop_assert!(entry.context.is_none_or(|c| c.len() <= log::CONTEXT_MAX));
            }
            Err((field, message)) => {
                prop_assert!(
                    ["time", "level", "category", "message", "correlation_id", "solution_id", "context"]
                        .contains(&field),
                    "{field}"
                );
                prop_assert!(!message.is_empty());
            }
        }
        let event = EventInput {
            kind: fields[1].clone(),
            solution_id: fields[5].clone(),
            time: fields[0].clone(),
            properties: fields[6].clone(),
        };
        match usage::check_event(event, now, retention) {
            Ok(event) => {
                prop_assert!(event.time <= now + Duration::minutes(5));
                prop_assert!(matches!(event.kind, Kind::SolutionOpened | Kind::ScreenViewed | Kind::Custom));
                prop_assert!(event.properties.is_none_or(|p| p.len() <= usage::PROPERTIES_MAX));
            }
            Err((field, message)) => {
                prop_assert!(["type", "solution_id", "time", "properties"].contains(&field), "{field}");
                prop_assert!(!message.is_empty());
            }
        }
    }

    /// A composed notification: every problem under its field, never a panic,
    /// whatever the texts, link, data, audience and schedule.
    #[test]
    fn notification_drafts_never_panic(
        title in text(),
        body in text(),
        link in proptest::option::of(text()),
        data in proptest::option::of(json()),
        scope in proptest::option::of(select(vec![Scope::Org, Scope::Solutions, Scope::Groups, Scope::Users])),
        emails in prop::collection::vec(text(), 0..4),
        solutions in 0usize..3,
        scheduled_in_minutes in proptest::option::of(-1_000_000i64..1_000_000),
        now in now(),
    ) {
        let draft = Draft {
            title,
            body,
            link,
            data,
            scope,
            solution_ids: (0..solutions).map(|_| SolutionId::new()).collect(),
            emails,
            scheduled_at: scheduled_in_minutes.map(|m| now + Duration::minutes(m)),
            ..Draft::default()
        };
        match draft.check(now) {
            Ok(checked) => {
                prop_assert!(!checked.title.is_empty() && checked.title.chars().count() <= notification::TITLE_MAX);
                prop_assert!(checked.body.chars().count() <= notification::BODY_MAX);
                prop_assert!(checked.data.is_none_or(|d| d.len() <= notification::DATA_MAX));
            }
            Err(invalid) => {
                prop_assert!(!invalid.is_empty());
                prop_assert!(invalid.0.iter().all(|e| !e.message.is_empty()));
            }
        }
    }
}

/// The hand-written seeds, each through every parser, before anything
/// generated (the properties above draw from them too).
#[test]
fn seeds_are_tried_first() {
    let all = seeds();
    for input in &all {
        token_results_hold(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        let _ = Invitee::parse(input, input, input, input, input);
        let _ = (Email::parse(input), names::language_tag(input));
        let _ = (solution::identifier(input), solution::version(input));
        let _ = (notification::check_link(input), log::parse_time(input));
        let _ = (usage::parse_day(input), spreadsheet::safe_cell(input));
        let _ = (
            solution::identifier_from_name(input),
            solution::default_initials(input),
        );
    }
}

// Two defaults made from a solution's name keep the rule the same field has
// when it is typed in (found here: "1.0.0" gave "0-0", "ﬃ" gave "FFI").
proptest! {
    #![proptest_config(config())]

    /// The identifier made from a solution's name is one `identifier` accepts.
    #[test]
    fn identifiers_made_from_names_are_valid(name in text()) {
        let identifier = solution::identifier_from_name(&name);
        prop_assert!(solution::identifier(&identifier).is_ok(), "{identifier:?} from {name:?}");
    }

    /// The initials made from a solution's name are ones `icon_initials`
    /// accepts.
    #[test]
    fn initials_made_from_names_are_valid(name in text()) {
        let initials = solution::default_initials(&name);
        prop_assert!(solution::icon_initials(&initials).is_ok(), "{initials:?} from {name:?}");
    }
}
