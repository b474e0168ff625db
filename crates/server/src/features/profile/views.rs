//! Response bodies shared by several resources.

use crate::error::AppResult;
use muster_domain::{MembershipStatus, OrgId, OrgRole, Theme, UserId};
use muster_store::{memberships, Conn};
use muster_store::{memberships::MembershipSummary, orgs::Org, users::User};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// The signed-in user's own profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    pub id: UserId,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub language: String,
    pub theme: Theme,
    pub default_org_id: Option<OrgId>,
    pub memberships: Vec<MembershipView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipView {
    pub org_id: OrgId,
    pub org_name: String,
    pub role: OrgRole,
    pub status: MembershipStatus,
    /// Solutions assigned to the user in this organization.
    pub solution_count: i64,
}

impl MeView {
    pub fn new(user: User, memberships: Vec<MembershipSummary>) -> Self {
        // An organization being deleted is nobody's default any more, even
        // before its deletion job clears the column.
        let default_org_id = user
            .default_org_id
            .filter(|id| memberships.iter().any(|m| m.org_id == *id));
        MeView {
            id: user.id,
            email: user.email,
            first_name: user.first_name,
            last_name: user.last_name,
            language: user.language,
            theme: user.theme,
            default_org_id,
            memberships: memberships
                .into_iter()
                .map(|m| MembershipView {
                    org_id: m.org_id,
                    org_name: m.org_name,
                    role: m.role,
                    status: m.status,
                    solution_count: m.solution_count,
                })
                .collect(),
        }
    }
}

/// An organization and its settings, with the caller's role in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgView {
    pub id: OrgId,
    pub name: String,
    pub description: String,
    pub public_url: String,
    pub default_language: String,
    pub invite_lifetime_days: i64,
    pub log_retention_days: i64,
    pub usage_retention_days: i64,
    pub logging_level: String,
    /// Owners and admins must sign in with two factors to use Management.
    pub require_two_factor: bool,
    /// The caller's role in this organization.
    pub role: OrgRole,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl OrgView {
    pub fn new(org: Org, role: OrgRole) -> Self {
        OrgView {
            id: org.id,
            name: org.name,
            description: org.description,
            public_url: org.public_url,
            default_language: org.default_language,
            invite_lifetime_days: org.invite_lifetime_days,
            log_retention_days: org.log_retention_days,
            usage_retention_days: org.usage_retention_days,
            logging_level: org.logging_level,
            require_two_factor: org.require_two_factor,
            role,
            created_at: org.created_at,
            updated_at: org.updated_at,
        }
    }
}

/// The profile of `user_id` with their memberships.
pub async fn load(conn: &mut Conn, user_id: UserId) -> AppResult<MeView> {
    let (user, memberships) = memberships::user_with_summaries(conn, user_id).await?;
    Ok(MeView::new(user, memberships))
}
