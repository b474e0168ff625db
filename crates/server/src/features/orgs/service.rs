//! Creating an organization and changing its settings.

use crate::error::{AppError, AppResult};
use crate::features::audit_log::service as audit;
use crate::scope::Actor;
use crate::state::AppState;
use muster_domain::AuditAction;
use muster_domain::{names, org, Invalid, OrgId, OrgRole, UserId};
use muster_store::{orgs, users, Conn};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// What a new organization starts with; the rest takes the defaults.
pub struct NewOrg<'a> {
    pub name: &'a str,
    pub description: &'a str,
    /// A language tag; blank for `en`.
    pub default_language: &'a str,
}

/// Creates an organization with `owner` as its first owner and the default
/// invite template, in the caller's transaction, and records it in the new
/// organization's audit log (the owner as actor).
pub async fn create(
    conn: &mut Conn,
    owner: UserId,
    new: &NewOrg<'_>,
    ip: Option<String>,
    now: OffsetDateTime,
) -> AppResult<OrgId> {
    let mut invalid = Invalid::default();
    let name = invalid.check("name", org::name(new.name));
    let description = invalid.check("description", org::description(new.description));
    let language = match new.default_language.trim() {
        "" => Some("en".to_owned()),
        raw => invalid.check("default_language", names::language_tag(raw)),
    };
    let (Some(name), Some(description), Some(language)) = (name, description, language) else {
        return Err(invalid.into());
    };
    let org_id = orgs::create_with_owner(conn, &name, &description, &language, owner, now).await?;
    crate::features::invitations::service::add_default_template(conn, org_id, now).await?;
    let user = users::find(conn, owner).await?;
    let actor = Actor::of(&user, OrgRole::Owner, ip);
    audit::record(
        conn,
        org_id,
        &actor,
        AuditAction::OrganizationCreated,
        &name,
        None,
        Some(serde_json::json!({
            "name": name,
            "default_language": language,
            "owner": user.email,
        })),
        now,
    )
    .await?;
    Ok(org_id)
}

/// Settings to change; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub public_url: Option<String>,
    pub default_language: Option<String>,
    /// 1–30 days.
    pub invite_lifetime_days: Option<i64>,
    /// 1–365 days.
    pub log_retention_days: Option<i64>,
    /// 1–365 days of raw usage events (the daily figures are kept for good).
    pub usage_retention_days: Option<i64>,
    /// error, warn, info, debug or trace.
    pub logging_level: Option<String>,
    /// Owners and admins must sign in with two factors to use Management
    /// (the API under this organization and its pages). Only someone who
    /// signs in with two factors may turn it on.
    pub require_two_factor: Option<bool>,
}

impl OrgUpdate {
    /// Applies the changes to `settings`, reporting every invalid field.
    pub fn apply(&self, settings: &mut orgs::OrgSettings) -> Result<(), Invalid> {
        let mut invalid = Invalid::default();
        if let Some(v) = invalid
            .check("name", self.name.as_deref().map(org::name).transpose())
            .flatten()
        {
            settings.name = v;
        }
        if let Some(v) = invalid
            .check(
                "description",
                self.description
                    .as_deref()
                    .map(org::description)
                    .transpose(),
            )
            .flatten()
        {
            settings.description = v;
        }
        if let Some(v) = invalid
            .check(
                "public_url",
                self.public_url.as_deref().map(org::public_url).transpose(),
            )
            .flatten()
        {
            settings.public_url = v;
        }
        if let Some(v) = invalid
            .check(
                "default_language",
                self.default_language
                    .as_deref()
                    .map(names::language_tag)
                    .transpose(),
            )
            .flatten()
        {
            settings.default_language = v;
        }
        if let Some(v) = invalid
            .check(
                "invite_lifetime_days",
                self.invite_lifetime_days
                    .map(org::invite_lifetime_days)
                    .transpose(),
            )
            .flatten()
        {
            settings.invite_lifetime_days = v;
        }
        if let Some(v) = invalid
            .check(
                "log_retention_days",
                self.log_retention_days
                    .map(org::log_retention_days)
                    .transpose(),
            )
            .flatten()
        {
            settings.log_retention_days = v;
        }
        if let Some(v) = invalid
            .check(
                "usage_retention_days",
                self.usage_retention_days
                    .map(muster_domain::usage::retention_days)
                    .transpose(),
            )
            .flatten()
        {
            settings.usage_retention_days = v;
        }
        if let Some(v) = invalid
            .check(
                "logging_level",
                self.logging_level
                    .as_deref()
                    .map(org::logging_level)
                    .transpose(),
            )
            .flatten()
        {
            settings.logging_level = v;
        }
        if let Some(required) = self.require_two_factor {
            settings.require_two_factor = required;
        }
        invalid.into_result()
    }
}

/// Change organization settings (owners and admins).
/// Validates and saves a settings change, with its audit event.
pub async fn apply_update(
    conn: &mut Conn,
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    update: &OrgUpdate,
) -> AppResult<orgs::Org> {
    let before = orgs::find(conn, org_id).await?;
    let mut settings = before.settings();
    update.apply(&mut settings)?;
    if settings.require_two_factor
        && !before.require_two_factor
        && !muster_store::two_factor::enabled(conn, actor.user_id).await?
    {
        return Err(AppError::invalid(
            "require_two_factor",
            "turn two-factor sign-in on for yourself first (My profile → Password and sessions), \
             or this setting would keep you out of Management",
        ));
    }
    let now = state.now();
    orgs::update(conn, org_id, &settings, now).await?;
    audit::record(
        conn,
        org_id,
        actor,
        AuditAction::OrganizationSettingsChanged,
        &settings.name,
        Some(settings_json(&before.settings())),
        Some(settings_json(&settings)),
        now,
    )
    .await?;
    Ok(orgs::find(conn, org_id).await?)
}

fn settings_json(settings: &orgs::OrgSettings) -> serde_json::Value {
    serde_json::json!({
        "name": settings.name,
        "description": settings.description,
        "public_url": settings.public_url,
        "default_language": settings.default_language,
        "invite_lifetime_days": settings.invite_lifetime_days,
        "log_retention_days": settings.log_retention_days,
        "usage_retention_days": settings.usage_retention_days,
        "logging_level": settings.logging_level,
        "require_two_factor": settings.require_two_factor,
    })
}
