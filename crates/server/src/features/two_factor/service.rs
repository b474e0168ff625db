//! Two-factor sign-in with TOTP (RFC 6238): setting it up (a secret shown
//! once, confirmed by a first code), recovery codes, turning it off with the
//! password, and checking the second factor of a sign-in. No HTTP here.
//!
//! The secret rests sealed with the server key; recovery codes rest as their
//! SHA-256. A code is accepted once: the time step of the last one accepted
//! is kept, and a code of that step or an earlier one is refused.

use crate::error::{AppError, AppResult};
use crate::features::audit_log::service as audit;
use crate::features::auth::service::confirm_password;
use crate::features::auth::throttle;
use crate::features::invitations::service::format_time;
use crate::mail::job::queue;
use crate::mail::{greeting, Mail};
use crate::state::AppState;
use muster_domain::audit::AuditAction;
use muster_domain::{secret, Email, UserId};
use muster_store::users::{self, User};
use muster_store::{two_factor, StoreError};
use rand::{Rng, RngCore};
use serde::Serialize;
use serde_json::json;
use std::net::IpAddr;
use time::OffsetDateTime;
use totp_rs::{Algorithm, Builder, Totp};
use utoipa::ToSchema;

/// How many recovery codes a person gets.
pub const RECOVERY_CODES: usize = 10;
/// What an authenticator app shows as the account's issuer.
const ISSUER: &str = "Muster";
/// The letters of a recovery code: no 0/o, 1/l/i to misread.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

pub const CODE_NEEDED: &str =
    "this account signs in with two factors: send the 6-digit code of your authenticator app, \
     or one of your recovery codes, as `code`";
pub const CODE_WRONG: &str =
    "the code is not correct, or was used already; use the current code of your authenticator \
     app, or an unused recovery code";

/// What an authenticator app needs: the secret (to type in), the same as an
/// `otpauth://` link, and that link as a QR code to scan.
#[derive(Debug, Serialize, ToSchema)]
pub struct Setup {
    /// The secret in base32, to type into an authenticator app.
    pub secret: String,
    /// The `otpauth://totp/…` link with the secret.
    pub otpauth_uri: String,
    /// The link as a QR code, an SVG image.
    pub qr_svg: String,
}

/// Where a person's two-factor sign-in stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// On since then.
    pub since: Option<OffsetDateTime>,
    /// A setup waits for its first code.
    pub pending: bool,
    pub recovery_codes_left: i64,
}

fn totp(secret: Vec<u8>, account: &str) -> AppResult<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret)
        .with_account_name(account.replace(':', ""))
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("building a TOTP: {e}")))
}

fn setup_of(totp: &Totp) -> AppResult<Setup> {
    let otpauth_uri = totp
        .to_url()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("an otpauth link: {e}")))?;
    let qr = qrcode::QrCode::new(otpauth_uri.as_bytes())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("a QR code: {e}")))?;
    let svg = qr
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .build();
    // Without its XML declaration, so that it stands inside an HTML page.
    let qr_svg = svg
        .find("<svg")
        .map_or(svg.as_str(), |at| &svg[at..])
        .to_owned();
    Ok(Setup {
        secret: totp.secret().to_base32(),
        otpauth_uri,
        qr_svg,
    })
}

/// The TOTP of a stored (sealed) secret.
fn unseal(state: &AppState, sealed: &str, account: &str) -> AppResult<Totp> {
    let secret = state.key.open(sealed).ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!(
            "a two-factor secret does not open with the server key"
        ))
    })?;
    totp(secret, account)
}

fn unix_seconds(at: OffsetDateTime) -> u64 {
    u64::try_from(at.unix_timestamp()).unwrap_or(0)
}

/// The time step `code` belongs to, if it is a current code of `totp`.
fn step_of(totp: &Totp, code: &str, now: OffsetDateTime) -> Option<i64> {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    totp.check(&digits, unix_seconds(now))
        .and_then(|step| i64::try_from(step).ok())
}

/// A recovery code as typed, in the form its hash was taken of: lower case,
/// without spaces or dashes.
fn normal_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Ten new recovery codes as shown (`abcde-fghjk`) and the hashes to store.
fn new_recovery_codes() -> (Vec<String>, Vec<String>) {
    let mut rng = rand::rngs::OsRng;
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let letters: String = (0..10)
                .map(|_| char::from(RECOVERY_ALPHABET[rng.gen_range(0..RECOVERY_ALPHABET.len())]))
                .collect();
            format!("{}-{}", &letters[..5], &letters[5..])
        })
        .collect();
    let hashes = codes
        .iter()
        .map(|code| secret::hash(&normal_recovery_code(code)))
        .collect();
    (codes, hashes)
}

pub async fn status(state: &AppState, user_id: UserId) -> AppResult<Status> {
    let mut conn = state.store.read().await?;
    let found = two_factor::find(&mut conn, user_id).await?;
    Ok(Status {
        since: found.as_ref().and_then(|t| t.confirmed_at),
        pending: found.as_ref().is_some_and(|t| t.confirmed_at.is_none()),
        recovery_codes_left: two_factor::recovery_codes_left(&mut conn, user_id).await?,
    })
}

/// Starts setting up two-factor sign-in: a new secret, replacing a setup
/// that was not finished. 409 when it is on already.
pub async fn start(state: &AppState, user_id: UserId) -> AppResult<Setup> {
    let mut bytes = vec![0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let mut tx = state.store.begin().await?;
    let user = users::find(&mut tx, user_id).await?;
    let totp = totp(bytes.clone(), &user.email)?;
    let sealed = state.key.seal(&bytes);
    if !two_factor::start(&mut tx, user_id, &sealed, state.now()).await? {
        return Err(AppError::Conflict(
            "two-factor sign-in is on already; turn it off first to set it up anew".into(),
        ));
    }
    tx.commit().await.map_err(StoreError::from)?;
    setup_of(&totp)
}

/// The setup waiting for its first code, to show again.
pub async fn pending(state: &AppState, user_id: UserId) -> AppResult<Option<Setup>> {
    let mut conn = state.store.read().await?;
    let Some(found) = two_factor::find(&mut conn, user_id).await? else {
        return Ok(None);
    };
    if found.confirmed_at.is_some() {
        return Ok(None);
    }
    let user = users::find(&mut conn, user_id).await?;
    let totp = unseal(state, &found.secret_sealed, &user.email)?;
    Ok(Some(setup_of(&totp)?))
}

/// Finishes the setup with a first code from the app: two-factor sign-in is
/// on, and the ten recovery codes are returned (the only time they are seen
/// in clear). Audited in each of the person's organizations, and mailed.
pub async fn confirm(
    state: &AppState,
    user_id: UserId,
    code: &str,
    ip: IpAddr,
) -> AppResult<Vec<String>> {
    let now = state.now();
    let mut tx = state.store.begin().await?;
    let user = users::find(&mut tx, user_id).await?;
    let found = two_factor::find(&mut tx, user_id).await?;
    let Some(found) = found.filter(|t| t.confirmed_at.is_none()) else {
        return Err(AppError::Conflict(
            "there is no two-factor setup waiting for a code; start one first".into(),
        ));
    };
    let totp = unseal(state, &found.secret_sealed, &user.email)?;
    let Some(step) = step_of(&totp, code, now) else {
        return Err(AppError::invalid(
            "code",
            "this is not the current code; check that your phone's clock is right and type the code the app shows now",
        ));
    };
    let (codes, hashes) = new_recovery_codes();
    if !two_factor::confirm(&mut tx, user_id, step, &hashes, now).await? {
        return Err(AppError::Conflict(
            "two-factor sign-in was turned on by another request".into(),
        ));
    }
    audit::record_everywhere(
        &mut tx,
        user_id,
        AuditAction::TwoFactorEnabled,
        &user.email,
        json!({"method": "totp", "recovery_codes": RECOVERY_CODES}),
        Some(ip.to_string()),
        now,
    )
    .await?;
    queue(&mut tx, &state.key, &turned_on_mail(&user, now), now).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(codes)
}

/// Turns two-factor sign-in off after checking the password; the secret and
/// recovery codes are deleted. Audited and mailed.
pub async fn turn_off(
    state: &AppState,
    user_id: UserId,
    password_given: &str,
    ip: IpAddr,
) -> AppResult<()> {
    let user = {
        let mut conn = state.store.read().await?;
        users::find(&mut conn, user_id).await?
    };
    confirm_password(state, &user, password_given, "password", ip).await?;
    let now = state.now();
    let mut tx = state.store.begin().await?;
    if !two_factor::enabled(&mut tx, user_id).await? {
        return Err(AppError::Conflict("two-factor sign-in is not on".into()));
    }
    two_factor::remove(&mut tx, user_id).await?;
    audit::record_everywhere(
        &mut tx,
        user_id,
        AuditAction::TwoFactorDisabled,
        &user.email,
        json!({"method": "totp"}),
        Some(ip.to_string()),
        now,
    )
    .await?;
    queue(
        &mut tx,
        &state.key,
        &turned_off_mail(state, &user, now),
        now,
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

/// The second factor of a sign-in whose password held: true when the person
/// is in, false when a code is needed and none came. Nothing to check when
/// the account has no two-factor sign-in; otherwise `code` must be a current
/// code not used before, or an unused recovery code (which is used up, and
/// the person told). A wrong code counts as a failed sign-in.
pub async fn second_factor(
    state: &AppState,
    user_id: UserId,
    email: &Email,
    code: Option<&str>,
    ip: IpAddr,
) -> AppResult<bool> {
    let found = {
        let mut conn = state.store.read().await?;
        two_factor::find(&mut conn, user_id).await?
    };
    let Some(found) = found.filter(|t| t.confirmed_at.is_some()) else {
        return Ok(true);
    };
    let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(false);
    };
    let now = state.now();
    let totp = unseal(state, &found.secret_sealed, email.as_str())?;
    let mut tx = state.store.begin().await?;
    let accepted = match step_of(&totp, code, now) {
        Some(step) => two_factor::take_step(&mut tx, user_id, step).await?,
        None => {
            let hash = secret::hash(&normal_recovery_code(code));
            let used = two_factor::take_recovery_code(&mut tx, user_id, &hash, now).await?;
            if used {
                let user = users::find(&mut tx, user_id).await?;
                let left = two_factor::recovery_codes_left(&mut tx, user_id).await?;
                audit::record_everywhere(
                    &mut tx,
                    user_id,
                    AuditAction::RecoveryCodeUsed,
                    &user.email,
                    json!({"left": left}),
                    Some(ip.to_string()),
                    now,
                )
                .await?;
                queue(
                    &mut tx,
                    &state.key,
                    &recovery_used_mail(state, &user, left, now),
                    now,
                )
                .await?;
            }
            used
        }
    };
    tx.commit().await.map_err(StoreError::from)?;
    if accepted {
        return Ok(true);
    }
    throttle::record_failure(state, email, ip, Some(user_id)).await?;
    Err(AppError::SecondFactor(CODE_WRONG.into()))
}

/// Whether `user_id` signs in with two factors.
pub async fn is_on(state: &AppState, user_id: UserId) -> AppResult<bool> {
    let mut conn = state.store.read().await?;
    Ok(two_factor::enabled(&mut conn, user_id).await?)
}

fn turned_on_mail(user: &User, now: OffsetDateTime) -> Mail {
    Mail {
        to: user.email.clone(),
        subject: "Two-factor sign-in is on for your Muster account".into(),
        text: format!(
            "{}\n\ntwo-factor sign-in was turned on for your Muster account {} on {}. \
             From now on, signing in takes your password and a code from your \
             authenticator app. Keep your recovery codes somewhere safe: each lets you \
             in once if you lose your phone.\n\nIf you did not do this, reset your \
             password and tell your administrator.\n",
            greeting(&user.first_name),
            user.email,
            format_time(now)
        ),
        html: None,
    }
}

fn turned_off_mail(state: &AppState, user: &User, now: OffsetDateTime) -> Mail {
    Mail {
        to: user.email.clone(),
        subject: "Two-factor sign-in is off for your Muster account".into(),
        text: format!(
            "{}\n\ntwo-factor sign-in was turned off for your Muster account {} on {}; \
             your password alone signs you in now, and your recovery codes no longer \
             work.\n\nIf you did not do this, reset your password now and tell your \
             administrator: {}/reset\n",
            greeting(&user.first_name),
            user.email,
            format_time(now),
            state.settings.public_url()
        ),
        html: None,
    }
}

fn recovery_used_mail(state: &AppState, user: &User, left: i64, now: OffsetDateTime) -> Mail {
    Mail {
        to: user.email.clone(),
        subject: "A recovery code was used to sign in to Muster".into(),
        text: format!(
            "{}\n\na recovery code signed in to your Muster account {} on {}; {left} of \
             your codes are left. If you have lost your phone, turn two-factor sign-in \
             off and on again under My profile to get a new secret and new codes: \
             {}/me/security\n\nIf this was not you, reset your password now and tell \
             your administrator.\n",
            greeting(&user.first_name),
            user.email,
            format_time(now),
            state.settings.public_url()
        ),
        html: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_taken_with_spaces_and_only_in_its_window() {
        let totp = totp(vec![7u8; 20], "pat@example.com").expect("totp");
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("time");
        let code = totp.generate(unix_seconds(now)).to_string();
        let step = i64::try_from(unix_seconds(now) / 30).expect("step");
        assert_eq!(step_of(&totp, &code, now), Some(step));
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(step_of(&totp, &spaced, now), Some(step));
        assert_eq!(
            step_of(&totp, &code, now + time::Duration::seconds(30)),
            Some(step)
        );
        assert_eq!(
            step_of(&totp, &code, now + time::Duration::minutes(2)),
            None
        );
        assert_eq!(step_of(&totp, "12345", now), None);
        assert_eq!(step_of(&totp, "abcdef", now), None);
    }

    #[test]
    fn recovery_codes_are_ten_distinct_and_read_back_however_typed() {
        let (codes, hashes) = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let distinct: std::collections::HashSet<_> = hashes.iter().collect();
        assert_eq!(distinct.len(), RECOVERY_CODES);
        let typed = codes[0].to_uppercase().replace('-', " ");
        assert_eq!(secret::hash(&normal_recovery_code(&typed)), hashes[0]);
    }

    #[test]
    fn the_setup_is_an_otpauth_link_and_an_svg_for_a_page() {
        let setup =
            setup_of(&totp(vec![1u8; 20], "pat@example.com").expect("totp")).expect("setup");
        assert!(
            setup
                .otpauth_uri
                .starts_with("otpauth://totp/Muster:pat%40example.com?"),
            "{}",
            setup.otpauth_uri
        );
        assert!(setup
            .otpauth_uri
            .contains(&format!("secret={}", setup.secret)));
        assert!(setup.qr_svg.starts_with("<svg"), "{}", &setup.qr_svg[..40]);
        assert!(
            !setup.qr_svg.contains("style="),
            "the CSP refuses inline style"
        );
    }
}
