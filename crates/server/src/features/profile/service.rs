//! Changing one's own profile.

use crate::error::{AppError, AppResult};
use muster_domain::{names, Invalid, MembershipStatus, OrgId, Theme, UserId};
use muster_store::{memberships, users, Conn};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// Fields to change; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeUpdate {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// A BCP 47 language tag such as `en` or `fr-CA`.
    pub language: Option<String>,
    pub theme: Option<Theme>,
    /// Must be an organization where you are an active member.
    pub default_org_id: Option<OrgId>,
}

/// Applies `update` to the profile of `user_id`, reporting every invalid field;
/// the default organization must be one where they are an active member.
pub async fn update(
    conn: &mut Conn,
    user_id: UserId,
    update: &MeUpdate,
    now: OffsetDateTime,
) -> AppResult<()> {
    let user = users::find(conn, user_id).await?;
    let mut invalid = Invalid::default();
    let mut text = |field: &str,
                    new: &Option<String>,
                    current: &str,
                    check: fn(&str) -> Result<String, String>| {
        match new {
            Some(value) => invalid.check(field, check(value)),
            None => Some(current.to_owned()),
        }
    };
    let first_name = text("first_name", &update.first_name, &user.first_name, name);
    let last_name = text("last_name", &update.last_name, &user.last_name, name);
    let language = text("language", &update.language, &user.language, language_tag);
    let default_org_id = match update.default_org_id {
        Some(org_id) if is_active_member(conn, org_id, user_id).await? => Some(org_id),
        Some(_) => {
            invalid.push(
                "default_org_id",
                "you are not an active member of this organization",
            );
            None
        }
        None => user.default_org_id,
    };
    let (Some(first_name), Some(last_name), Some(language), true) =
        (first_name, last_name, language, invalid.is_empty())
    else {
        return Err(AppError::Invalid(invalid));
    };
    let profile = users::ProfileUpdate {
        first_name: &first_name,
        last_name: &last_name,
        language: &language,
        theme: update.theme.unwrap_or(user.theme),
        default_org_id,
    };
    users::update_profile(conn, user_id, profile, now).await?;
    Ok(())
}

fn name(value: &str) -> Result<String, String> {
    names::required_text(value, names::NAME_MAX).map_err(|e| e.to_string())
}

fn language_tag(value: &str) -> Result<String, String> {
    names::language_tag(value).map_err(|e| e.to_string())
}

async fn is_active_member(conn: &mut Conn, org_id: OrgId, user_id: UserId) -> AppResult<bool> {
    let membership = memberships::find(conn, org_id, user_id).await?;
    Ok(membership.is_some_and(|m| m.status == MembershipStatus::Active))
}
