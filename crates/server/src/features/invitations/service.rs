//! Inviting people: creating, re-sending and revoking invitations, and
//! accepting them. Used by the API, the web UI and the bulk-invite job alike.

use crate::error::{AppError, AppResult};
use crate::features::audit_log::service as audit;
use crate::features::invite_templates::render::{render, InviteVars};

use crate::mail::job::queue;
use crate::mail::Mail;
use crate::scope::Actor;
use crate::state::AppState;
use muster_domain::permission::Denied;
use muster_domain::AuditAction;
use muster_domain::{
    secret, InvitationId, InvitationStatus, Invitee, MembershipStatus, OrgId, OrgRole, SolutionId,
    SolutionRole, UserId,
};
use muster_store::invitations::{self, NewInvitation};
use muster_store::memberships::{self, Membership};
use muster_store::orgs::Org;
use muster_store::templates::InviteTemplate;
use muster_store::{templates, users, Conn};
use serde::Serialize;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use utoipa::ToSchema;

pub const NO_TEMPLATE: &str =
    "inviting needs an invite template: add one in Organization settings → Invites (or PUT /api/v1/orgs/{org}/invite-templates/{language})";

/// A sent invitation.
#[derive(Debug, Clone)]
pub struct Invited {
    pub invitation_id: InvitationId,
    pub user_id: UserId,
    pub email: String,
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitedView {
    pub id: muster_domain::InvitationId,
    pub user_id: UserId,
    pub email: String,
    pub status: MembershipStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl From<Invited> for InvitedView {
    fn from(i: Invited) -> Self {
        InvitedView {
            id: i.invitation_id,
            user_id: i.user_id,
            email: i.email,
            status: MembershipStatus::Invited,
            expires_at: i.expires_at,
        }
    }
}

/// Invites one person. Refused when the email already has a membership (409,
/// naming its status), when no invite template exists (409), and when a
/// non-owner invites an owner (403).
pub async fn invite(
    conn: &mut Conn,
    state: &AppState,
    org: &Org,
    actor: &Actor,
    invitee: &Invitee,
) -> AppResult<Invited> {
    if invitee.role == OrgRole::Owner && actor.role != OrgRole::Owner {
        return Err(Denied::OwnerOnly.into());
    }
    let template = template_for(conn, org, invitee.language.as_deref()).await?;
    let now = state.now();
    let existing = users::find_by_email(conn, &invitee.email).await?;
    let user_id = match existing {
        Some(user) => {
            if let Some(membership) = memberships::find(conn, org.id, user.id).await? {
                return Err(AppError::Conflict(format!(
                    "{} is already in this organization (status: {})",
                    invitee.email, membership.status
                )));
            }
            user.id
        }
        None => {
            let language = invitee.language.as_deref().unwrap_or(&org.default_language);
            users::insert(
                conn,
                users::NewUser {
                    email: &invitee.email,
                    first_name: &invitee.first_name,
                    last_name: &invitee.last_name,
                    password_hash: None,
                    language,
                },
                now,
            )
            .await?
        }
    };
    memberships::insert(
        conn,
        &Membership {
            org_id: org.id,
            user_id,
            role: invitee.role,
            status: MembershipStatus::Invited,
            invited_by: Some(actor.user_id),
            invited_at: Some(now),
            joined_at: None,
        },
        now,
    )
    .await?;
    let invited = issue(conn, state, org, actor, user_id, &template).await?;
    audit::record(
        conn,
        org.id,
        actor,
        AuditAction::InvitationCreated,
        invitee.email.as_str(),
        None,
        Some(json!({"role": invitee.role, "language": invitee.language, "status": "invited"})),
        now,
    )
    .await?;
    Ok(invited)
}

/// Invites one person and assigns them `grants` (solution, role), all in the
/// caller's transaction: one solution the inviter cannot see refuses it all.
pub async fn invite_with_solutions(
    conn: &mut Conn,
    state: &AppState,
    org: &Org,
    actor: &Actor,
    invitee: &Invitee,
    grants: &[(SolutionId, SolutionRole)],
) -> AppResult<Invited> {
    let invited = invite(conn, state, org, actor, invitee).await?;
    for (id, role) in grants {
        let assigned = crate::features::solutions::service::assign(
            conn,
            state,
            org.id,
            actor,
            *id,
            invited.user_id,
            *role,
        )
        .await;
        match assigned {
            Err(AppError::NotFound) => {
                return Err(AppError::invalid(
                    "solutions",
                    format!("no solution {id} in this organization"),
                ))
            }
            other => other?,
        }
    }
    Ok(invited)
}

/// A new link for a member who has not accepted yet; older links stop working.
pub async fn reinvite(
    conn: &mut Conn,
    state: &AppState,
    org: &Org,
    actor: &Actor,
    user_id: UserId,
    language: Option<&str>,
) -> AppResult<Invited> {
    let membership = memberships::find(conn, org.id, user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if membership.status != MembershipStatus::Invited {
        return Err(AppError::Conflict(format!(
            "only members who have not accepted yet can be re-invited; this member is {}",
            membership.status
        )));
    }
    if membership.role == OrgRole::Owner && actor.role != OrgRole::Owner {
        return Err(Denied::OwnerOnly.into());
    }
    let template = template_for(conn, org, language).await?;
    let now = state.now();
    invitations::end_pending(conn, org.id, user_id, InvitationStatus::Replaced, now).await?;
    let invited = issue(conn, state, org, actor, user_id, &template).await?;
    audit::record(
        conn,
        org.id,
        actor,
        AuditAction::InvitationResent,
        &invited.email,
        None,
        Some(json!({"language": language})),
        now,
    )
    .await?;
    Ok(invited)
}

/// Withdraws a pending invitation; the invited membership goes with it.
pub async fn revoke(
    conn: &mut Conn,
    state: &AppState,
    org: &Org,
    actor: &Actor,
    id: InvitationId,
) -> AppResult<()> {
    let invitation = invitations::find(conn, org.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if invitation.status != InvitationStatus::Pending {
        return Err(AppError::Conflict(format!(
            "this invitation is already {}",
            invitation.status
        )));
    }
    let membership = memberships::find(conn, org.id, invitation.user_id).await?;
    if membership
        .as_ref()
        .is_some_and(|m| m.role == OrgRole::Owner)
        && actor.role != OrgRole::Owner
    {
        return Err(Denied::OwnerOnly.into());
    }
    let now = state.now();
    invitations::end_pending(
        conn,
        org.id,
        invitation.user_id,
        InvitationStatus::Revoked,
        now,
    )
    .await?;
    if membership.is_some_and(|m| m.status == MembershipStatus::Invited) {
        memberships::delete(conn, org.id, invitation.user_id).await?;
    }
    let user = users::find(conn, invitation.user_id).await?;
    audit::record(
        conn,
        org.id,
        actor,
        AuditAction::InvitationRevoked,
        &user.email,
        Some(json!({"status": "invited"})),
        None,
        now,
    )
    .await?;
    Ok(())
}

/// The template in `language`, else in the organization's default language,
/// else any; 409 when the organization has none.
pub async fn template_for(
    conn: &mut Conn,
    org: &Org,
    language: Option<&str>,
) -> AppResult<InviteTemplate> {
    let language = language.unwrap_or(&org.default_language);
    templates::pick(conn, org.id, language, &org.default_language)
        .await?
        .ok_or_else(|| AppError::Conflict(NO_TEMPLATE.into()))
}

/// Creates the token and invitation and queues the mail, in the caller's
/// transaction.
async fn issue(
    conn: &mut Conn,
    state: &AppState,
    org: &Org,
    actor: &Actor,
    user_id: UserId,
    template: &InviteTemplate,
) -> AppResult<Invited> {
    let now = state.now();
    let token = secret::generate(&mut rand::rngs::OsRng);
    let expires_at = now + Duration::days(org.invite_lifetime_days);
    let user = users::find(conn, user_id).await?;
    let vars = InviteVars {
        first_name: if user.first_name.is_empty() {
            user.email.clone()
        } else {
            user.first_name.clone()
        },
        last_name: user.last_name.clone(),
        organization: org.name.clone(),
        inviter: actor.name.clone(),
        invite_link: format!("{}/invite/{token}", state.settings.public_url()),
        expires_at: format_time(expires_at),
    };
    let (subject, text) = render(&template.subject, &template.body, &vars).map_err(|e| {
        AppError::Conflict(format!(
            "the {} invite template does not render: {e}",
            template.language
        ))
    })?;
    let mail = Mail {
        to: user.email.clone(),
        subject,
        text,
        html: None,
    };
    let mail_job_id = queue(conn, &state.key, &mail, now).await?;
    let invitation_id = invitations::insert(
        conn,
        NewInvitation {
            org_id: org.id,
            user_id,
            token_hash: &secret::hash(&token),
            language: &template.language,
            invited_by: Some(actor.user_id),
            expires_at,
            mail_job_id,
        },
        now,
    )
    .await?;
    let sent = muster_store::usage::NewEvent::by(
        org.id,
        muster_domain::usage::Kind::InvitationSent,
        Some(actor.user_id),
        now,
    );
    muster_store::usage::record_one(conn, sent, now).await?;
    Ok(Invited {
        invitation_id,
        user_id,
        email: user.email,
        expires_at,
    })
}

pub fn format_time(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| at.format(&Rfc3339).unwrap_or_default())
}

/// A new organization starts with an editable English invite template.
pub async fn add_default_template(
    conn: &mut Conn,
    org_id: OrgId,
    now: OffsetDateTime,
) -> AppResult<()> {
    use crate::features::invite_templates::render::{DEFAULT_BODY, DEFAULT_SUBJECT};
    templates::upsert(conn, org_id, "en", DEFAULT_SUBJECT, DEFAULT_BODY, now).await?;
    Ok(())
}
