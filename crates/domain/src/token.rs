//! Personal access tokens: the `mst_pat_` format with its checksum, and the lease
//! arithmetic of SPEC §3.

use rand::{CryptoRng, Rng, RngCore};
use time::{Duration, OffsetDateTime};

pub const PREFIX: &str = "mst_pat_";
const RANDOM_LEN: usize = 40;
const CHECKSUM_LEN: usize = 6;
pub const TOKEN_LEN: usize = PREFIX.len() + RANDOM_LEN + CHECKSUM_LEN;
/// How much of a token the list shows so its owner can recognize it.
const DISPLAY_PREFIX_LEN: usize = PREFIX.len() + 4;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Automatic extension on use, and the step of a manual extension.
pub const LEASE_STEP: Duration = Duration::days(14);
/// `last_used_at` and the lease are written at most this often per token.
pub const USAGE_WRITE_INTERVAL: Duration = Duration::minutes(1);
/// The lease a token starts with.
pub const INITIAL_LEASE_MONTHS: u8 = 6;

/// A token whose format and checksum are right; it may still be unknown or expired.
#[derive(Clone, PartialEq, Eq)]
pub struct PatSecret(String);

impl std::fmt::Debug for PatSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PatSecret({}…)", self.display_prefix())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenFormatError {
    #[error("this is not a Muster personal access token")]
    NotAToken,
    #[error("this is not a Muster device token")]
    NotADeviceToken,
    #[error("the token is mistyped or truncated (its checksum does not match)")]
    Checksum,
}

impl PatSecret {
    pub fn generate(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        Self(generate_with(PREFIX, rng))
    }

    /// Checks format and checksum without touching storage.
    pub fn parse(input: &str) -> Result<Self, TokenFormatError> {
        parse_with(PREFIX, input, TokenFormatError::NotAToken).map(Self)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn display_prefix(&self) -> &str {
        &self.0[..DISPLAY_PREFIX_LEN]
    }

    /// The stored form.
    pub fn hash(&self) -> String {
        crate::secret::hash(&self.0)
    }
}

/// The prefix of a device token: what an app sends on every app-facing call.
pub const DEVICE_PREFIX: &str = "mst_dev_";

/// A device token whose format and checksum are right (the same rules as a
/// PAT's, with its own prefix); it may still be unknown or revoked.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceSecret(String);

impl std::fmt::Debug for DeviceSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeviceSecret({}…)", &self.0[..DISPLAY_PREFIX_LEN])
    }
}

impl DeviceSecret {
    pub fn generate(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        Self(generate_with(DEVICE_PREFIX, rng))
    }

    pub fn parse(input: &str) -> Result<Self, TokenFormatError> {
        parse_with(DEVICE_PREFIX, input, TokenFormatError::NotADeviceToken).map(Self)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The stored form.
    pub fn hash(&self) -> String {
        crate::secret::hash(&self.0)
    }
}

fn generate_with(prefix: &str, rng: &mut (impl RngCore + CryptoRng)) -> String {
    let mut token = String::with_capacity(TOKEN_LEN);
    token.push_str(prefix);
    for _ in 0..RANDOM_LEN {
        token.push(char::from(BASE62[rng.gen_range(0..BASE62.len())]));
    }
    let checksum = checksum(&token);
    token.push_str(&checksum);
    token
}

fn parse_with(
    prefix: &str,
    input: &str,
    foreign: TokenFormatError,
) -> Result<String, TokenFormatError> {
    let body = input.strip_prefix(prefix).ok_or(foreign)?;
    if input.len() != TOKEN_LEN || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(foreign);
    }
    let (rest, given) = input.split_at(TOKEN_LEN - CHECKSUM_LEN);
    if checksum(rest) != given {
        return Err(TokenFormatError::Checksum);
    }
    Ok(input.to_owned())
}

fn checksum(rest: &str) -> String {
    let mut value = crc32fast::hash(rest.as_bytes());
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    out.iter().map(|&b| char::from(b)).collect()
}

/// The lease of a new token: creation plus six calendar months (clamped to the
/// month's last day, so 31 August leases until 28/29 February).
pub fn initial_lease(created_at: OffsetDateTime) -> OffsetDateTime {
    add_months(created_at, INITIAL_LEASE_MONTHS)
}

/// Every authenticated use keeps at least two weeks of lease.
pub fn lease_after_use(lease: OffsetDateTime, now: OffsetDateTime) -> OffsetDateTime {
    lease.max(now + LEASE_STEP)
}

/// "Extend lease": two more weeks. An expired token extends from now, not from a
/// lease already in the past.
pub fn lease_after_extend(lease: OffsetDateTime, now: OffsetDateTime) -> OffsetDateTime {
    lease.max(now) + LEASE_STEP
}

pub fn is_expired(lease: OffsetDateTime, now: OffsetDateTime) -> bool {
    now >= lease
}

/// Whether a use at `now` must be written, given when the last write happened.
pub fn usage_write_due(last_used_at: Option<OffsetDateTime>, now: OffsetDateTime) -> bool {
    last_used_at.is_none_or(|last| now - last >= USAGE_WRITE_INTERVAL)
}

fn add_months(at: OffsetDateTime, months: u8) -> OffsetDateTime {
    let date = at.date();
    let zero_based = i32::from(u8::from(date.month())) - 1 + i32::from(months);
    let year = date.year() + zero_based / 12;
    let month = time::Month::try_from((zero_based % 12 + 1) as u8).unwrap_or(time::Month::December);
    let day = date.day().min(month.length(year));
    match time::Date::from_calendar_date(year, month, day) {
        Ok(new_date) => at.replace_date(new_date),
        // Only reachable past year 9999; keep the token valid rather than panic.
        Err(_) => at + Duration::days(183),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn generated_tokens_parse_and_differ() {
        let mut rng = rand::rngs::OsRng;
        let a = PatSecret::generate(&mut rng);
        let b = PatSecret::generate(&mut rng);
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), TOKEN_LEN);
        assert!(a.expose().starts_with("mst_pat_"));
        assert_eq!(PatSecret::parse(a.expose()), Ok(a.clone()));
        assert_eq!(a.display_prefix().len(), 12);
    }

    #[test]
    fn device_tokens_have_their_own_prefix_and_checksum() {
        let device = DeviceSecret::generate(&mut rand::rngs::OsRng);
        assert!(device.expose().starts_with("mst_dev_"));
        assert_eq!(DeviceSecret::parse(device.expose()), Ok(device.clone()));
        assert_eq!(
            PatSecret::parse(device.expose()),
            Err(TokenFormatError::NotAToken)
        );
        let pat = PatSecret::generate(&mut rand::rngs::OsRng);
        assert_eq!(
            DeviceSecret::parse(pat.expose()),
            Err(TokenFormatError::NotADeviceToken)
        );
        let mut typo = device.expose().to_owned();
        let last = typo.pop().map(|c| if c == 'a' { 'b' } else { 'a' });
        typo.extend(last);
        assert_eq!(DeviceSecret::parse(&typo), Err(TokenFormatError::Checksum));
    }

    #[test]
    fn a_typo_fails_the_checksum() {
        let token = PatSecret::generate(&mut rand::rngs::OsRng);
        let mut chars: Vec<char> = token.expose().chars().collect();
        chars[20] = if chars[20] == 'a' { 'b' } else { 'a' };
        let typo: String = chars.into_iter().collect();
        assert_eq!(PatSecret::parse(&typo), Err(TokenFormatError::Checksum));
    }

    #[test]
    fn foreign_strings_are_not_tokens() {
        for bad in [
            "",
            "mst_pat_",
            "ghp_abcdef",
            "mst_pat_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        ] {
            assert_eq!(
                PatSecret::parse(bad),
                Err(TokenFormatError::NotAToken),
                "{bad}"
            );
        }
    }

    #[test]
    fn lease_rules() {
        let created = datetime!(2026-08-31 10:00 UTC);
        assert_eq!(initial_lease(created), datetime!(2027-02-28 10:00 UTC));
        assert_eq!(
            initial_lease(datetime!(2026-01-15 08:00 UTC)),
            datetime!(2026-07-15 08:00 UTC)
        );

        let lease = datetime!(2026-03-01 00:00 UTC);
        // Far from expiry, a use changes nothing.
        assert_eq!(
            lease_after_use(lease, datetime!(2026-01-01 00:00 UTC)),
            lease
        );
        // Close to expiry, a use keeps two weeks.
        assert_eq!(
            lease_after_use(lease, datetime!(2026-02-25 00:00 UTC)),
            datetime!(2026-03-11 00:00 UTC)
        );
        assert_eq!(
            lease_after_extend(lease, datetime!(2026-01-01 00:00 UTC)),
            datetime!(2026-03-15 00:00 UTC)
        );
        assert_eq!(
            lease_after_extend(lease, datetime!(2026-04-01 00:00 UTC)),
            datetime!(2026-04-15 00:00 UTC)
        );
        assert!(is_expired(lease, lease));
        assert!(!is_expired(lease, lease - Duration::seconds(1)));
    }

    #[test]
    fn usage_writes_are_coalesced_to_one_a_minute() {
        let t = datetime!(2026-01-01 12:00 UTC);
        assert!(usage_write_due(None, t));
        assert!(!usage_write_due(Some(t), t + Duration::seconds(59)));
        assert!(usage_write_due(Some(t), t + Duration::seconds(60)));
    }
}
