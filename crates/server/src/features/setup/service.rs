//! Creating the first organization and its owner through the one-time link.

use crate::error::{AppError, AppResult};
use crate::features::auth::password;
use crate::state::AppState;
use muster_domain::{secret, Email, Invalid, OrgId, UserId};
use muster_store::{setup, users, StoreError};

/// The first owner as the setup form gave them, checked.
pub struct FirstOwner {
    pub org_name: String,
    pub first_name: String,
    pub last_name: String,
    pub email: Email,
    pub password: String,
}

/// Uses the link `token` (once) to create the organization and its owner;
/// `None` if the link is not (or no longer) valid.
pub async fn create(
    state: &AppState,
    token: &str,
    owner: FirstOwner,
    ip: Option<String>,
) -> AppResult<Option<(OrgId, UserId)>> {
    let hash = password::hash(owner.password)
        .await
        .map_err(AppError::Internal)?;
    let now = state.now();
    let mut tx = state.store.begin().await?;
    if !setup::consume(&mut tx, &secret::hash(token)).await? {
        return Ok(None);
    }
    let new_user = users::NewUser {
        email: &owner.email,
        first_name: &owner.first_name,
        last_name: &owner.last_name,
        password_hash: Some(&hash),
        language: "en",
    };
    let user_id = match users::insert(&mut tx, new_user, now).await {
        Ok(id) => id,
        Err(StoreError::Conflict(_)) => {
            return Err(Invalid::field("email", "an account with this email exists").into())
        }
        Err(other) => return Err(other.into()),
    };
    let new_org = crate::features::orgs::service::NewOrg {
        name: &owner.org_name,
        description: "",
        default_language: "en",
    };
    let org_id =
        crate::features::orgs::service::create(&mut tx, user_id, &new_org, ip, now).await?;
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(%org_id, "first organization created through the setup link");
    Ok(Some((org_id, user_id)))
}
