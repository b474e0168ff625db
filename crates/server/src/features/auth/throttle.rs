//! Sign-in throttling: after too many failures for one account or from one
//! address within the window, sign-in answers 429 until the window passes.

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use muster_domain::Email;
use muster_store::throttle;
use std::net::IpAddr;
use time::Duration;

pub const WINDOW: Duration = Duration::minutes(15);
pub const MAX_PER_ACCOUNT: i64 = 5;
pub const MAX_PER_ADDRESS: i64 = 50;

/// The counter of an account's failed sign-ins (a reset lifts its lockout).
pub fn account_key(email: &str) -> String {
    format!("account:{email}")
}

fn keys(email: &Email, ip: IpAddr) -> [(String, i64); 2] {
    [
        (account_key(&email.to_string()), MAX_PER_ACCOUNT),
        (format!("ip:{ip}"), MAX_PER_ADDRESS),
    ]
}

/// Refuses the attempt if either counter is full.
pub async fn check(state: &AppState, email: &Email, ip: IpAddr) -> AppResult<()> {
    let now = state.now();
    let mut conn = state.store.read().await?;
    for (key, max) in keys(email, ip) {
        if throttle::failures(&mut conn, &key, now, WINDOW).await? >= max {
            return Err(AppError::Throttled {
                detail: format!(
                    "too many failed sign-in attempts; try again in {} minutes",
                    WINDOW.whole_minutes()
                ),
                retry_after_secs: WINDOW.whole_seconds().unsigned_abs(),
            });
        }
    }
    Ok(())
}

pub async fn record_failure(state: &AppState, email: &Email, ip: IpAddr) -> AppResult<()> {
    let now = state.now();
    let mut tx = state.store.begin().await?;
    for (key, _) in keys(email, ip) {
        throttle::record_failure(&mut tx, &key, now, WINDOW).await?;
    }
    tx.commit().await.map_err(muster_store::StoreError::from)?;
    Ok(())
}

/// A successful sign-in forgives the account's earlier failures.
pub async fn record_success(state: &AppState, email: &Email) -> AppResult<()> {
    let mut conn = state.store.write().await?;
    throttle::clear(&mut conn, &account_key(&email.to_string())).await?;
    Ok(())
}
