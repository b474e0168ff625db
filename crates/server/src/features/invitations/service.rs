//! Inviting people: creating, re-sending and revoking invitations, and
//! accepting them. Used by the API, the web UI and the bulk-invite job alike.

use crate::error::{AppError, AppResult};
use crate::features::audit_log::{self as audit, Actor};
use crate::features::auth::password;
use crate::features::invite_templates::render::{render, InviteVars};
use crate::jobs::enqueue;
use crate::mail::job::SendMail;
use crate::mail::Mail;
use crate::state::AppState;
use muster_domain::invitation::{check_link, LinkProblem};
use muster_domain::permission::Denied;
use muster_domain::AuditAction;
use muster_domain::{names, Invalid};
use muster_domain::{
    secret, InvitationId, InvitationStatus, Invitee, MembershipStatus, OrgId, OrgRole, SolutionId,
    SolutionRole, UserId,
};
use muster_store::invitations::{self, Invitation, NewInvitation};
use muster_store::memberships::{self, Membership};
use muster_store::orgs::Org;
use muster_store::templates::InviteTemplate;
use muster_store::{templates, users, Conn};
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;
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

/// Invites many people at once (a bulk batch): the rules of [`invite`], with a
/// few statements for the whole batch instead of several per person. Returns,
/// for each invitee in order, `Ok` or why that one was refused; the others are
/// invited all the same. The emails must be distinct.
pub async fn invite_many(
    conn: &mut Conn,
    state: &AppState,
    org: &Org,
    actor: &Actor,
    invitees: &[Invitee],
) -> AppResult<Vec<Result<(), AppError>>> {
    let now = state.now();
    let emails: Vec<String> = invitees
        .iter()
        .map(|i| i.email.as_str().to_owned())
        .collect();
    let existing: HashMap<String, users::User> = users::find_many_by_email(conn, &emails)
        .await?
        .into_iter()
        .map(|user| (user.email.clone(), user))
        .collect();
    let existing_ids: Vec<UserId> = existing.values().map(|u| u.id).collect();
    let statuses: HashMap<UserId, MembershipStatus> =
        memberships::statuses(conn, org.id, &existing_ids)
            .await?
            .into_iter()
            .collect();
    let mut templates: HashMap<Option<String>, Result<InviteTemplate, String>> = HashMap::new();
    let expires_at = now + Duration::days(org.invite_lifetime_days);
    let mut outcomes = Vec::with_capacity(invitees.len());
    let mut new_users = Vec::new();
    let mut new_memberships = Vec::new();
    let mut mails = Vec::new();
    let mut pending = Vec::new();
    for invitee in invitees {
        if invitee.role == OrgRole::Owner && actor.role != OrgRole::Owner {
            outcomes.push(Err(Denied::OwnerOnly.into()));
            continue;
        }
        let template = match templates.get(&invitee.language) {
            Some(found) => found.clone(),
            None => {
                let found = match template_for(conn, org, invitee.language.as_deref()).await {
                    Ok(template) => Ok(template),
                    Err(AppError::Conflict(message)) => Err(message),
                    Err(other) => return Err(other),
                };
                templates.insert(invitee.language.clone(), found.clone());
                found
            }
        };
        let template = match template {
            Ok(template) => template,
            Err(message) => {
                outcomes.push(Err(AppError::Conflict(message)));
                continue;
            }
        };
        let (user_id, first_name, last_name) = match existing.get(invitee.email.as_str()) {
            Some(user) => {
                if let Some(status) = statuses.get(&user.id) {
                    outcomes.push(Err(AppError::Conflict(format!(
                        "{} is already in this organization (status: {status})",
                        invitee.email
                    ))));
                    continue;
                }
                (user.id, user.first_name.clone(), user.last_name.clone())
            }
            None => {
                let id = UserId::new();
                new_users.push(users::NewUserRow {
                    id,
                    email: invitee.email.as_str().to_owned(),
                    first_name: invitee.first_name.clone(),
                    last_name: invitee.last_name.clone(),
                    language: invitee
                        .language
                        .clone()
                        .unwrap_or_else(|| org.default_language.clone()),
                });
                (id, invitee.first_name.clone(), invitee.last_name.clone())
            }
        };
        new_memberships.push(memberships::NewMembershipRow {
            membership: Membership {
                org_id: org.id,
                user_id,
                role: invitee.role,
                status: MembershipStatus::Invited,
                invited_by: Some(actor.user_id),
                invited_at: Some(now),
                joined_at: None,
            },
            email: invitee.email.as_str().to_owned(),
            first_name: first_name.clone(),
            last_name: last_name.clone(),
        });
        let token = secret::generate(&mut rand::rngs::OsRng);
        let vars = InviteVars {
            first_name: if first_name.is_empty() {
                invitee.email.as_str().to_owned()
            } else {
                first_name
            },
            last_name,
            organization: org.name.clone(),
            inviter: actor.name.clone(),
            invite_link: format!("{}/invite/{token}", state.settings.public_url()),
            expires_at: format_time(expires_at),
        };
        let (subject, text) = match render(&template.subject, &template.body, &vars) {
            Ok(rendered) => rendered,
            Err(e) => {
                new_memberships.pop();
                if !existing.contains_key(invitee.email.as_str()) {
                    new_users.pop();
                }
                outcomes.push(Err(AppError::Conflict(format!(
                    "the {} invite template does not render: {e}",
                    template.language
                ))));
                continue;
            }
        };
        mails.push(SendMail {
            mail: Mail {
                to: invitee.email.as_str().to_owned(),
                subject,
                text,
                html: None,
            },
        });
        pending.push((
            user_id,
            secret::hash(&token),
            template.language.clone(),
            invitee,
        ));
        outcomes.push(Ok(()));
    }
    users::insert_many(conn, &new_users, now).await?;
    memberships::insert_many(conn, &new_memberships, now).await?;
    let job_ids = crate::jobs::enqueue_all(conn, &mails, now).await?;
    let invitations: Vec<NewInvitation<'_>> = pending
        .iter()
        .zip(&job_ids)
        .map(|((user_id, token_hash, language, _), job)| NewInvitation {
            org_id: org.id,
            user_id: *user_id,
            token_hash,
            language,
            invited_by: Some(actor.user_id),
            expires_at,
            mail_job_id: *job,
        })
        .collect();
    invitations::insert_many(conn, &invitations, now).await?;
    let events = pending
        .iter()
        .map(|(_, _, _, invitee)| muster_store::audit::NewEvent {
            org_id: org.id,
            actor_id: Some(actor.user_id),
            actor_email: &actor.email,
            action: AuditAction::InvitationCreated.as_str(),
            target: invitee.email.as_str(),
            before: None,
            after: Some(json!({"role": invitee.role, "language": invitee.language, "status": "invited", "bulk": true})),
            ip: actor.ip.clone(),
        })
        .collect();
    muster_store::audit::record_many(conn, events, now).await?;
    Ok(outcomes)
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
    let mail_job_id = enqueue(
        conn,
        &SendMail {
            mail: Mail {
                to: user.email.clone(),
                subject,
                text,
                html: None,
            },
        },
        now,
    )
    .await?;
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

/// What an invite link shows before it is accepted.
#[derive(Debug, Clone)]
pub struct Landing {
    pub invitation: Invitation,
    pub org_name: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub inviter: Option<String>,
    /// The invited person has no account yet: accepting sets a name and password.
    pub new_account: bool,
}

/// Why a link cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    Unknown,
    Problem(LinkProblem),
}

impl From<LinkError> for AppError {
    fn from(error: LinkError) -> Self {
        match error {
            LinkError::Unknown => AppError::NotFound,
            LinkError::Problem(problem) => AppError::Gone(problem.message().into()),
        }
    }
}

pub async fn landing(
    conn: &mut Conn,
    state: &AppState,
    token: &str,
) -> AppResult<Result<Landing, LinkError>> {
    let Some(invitation) = invitations::find_by_token_hash(conn, &secret::hash(token)).await?
    else {
        return Ok(Err(LinkError::Unknown));
    };
    if let Err(problem) = check_link(invitation.status, invitation.expires_at, state.now()) {
        return Ok(Err(LinkError::Problem(problem)));
    }
    let org = muster_store::orgs::find(conn, invitation.org_id).await?;
    let user = users::find(conn, invitation.user_id).await?;
    let new_account = !users::has_password(conn, user.id).await?;
    let inviter = match invitation.invited_by {
        Some(id) => users::find_optional(conn, id)
            .await?
            .map(|u| u.display_name()),
        None => None,
    };
    Ok(Ok(Landing {
        org_name: org.name,
        email: user.email,
        first_name: user.first_name,
        last_name: user.last_name,
        inviter,
        new_account,
        invitation,
    }))
}

/// How the person accepting proves who they are.
pub enum Acceptance {
    /// A new account: names and a password, as typed (checked by [`accept`]).
    NewAccount {
        first_name: String,
        last_name: String,
        password: String,
    },
    /// An existing account, signed in as this user.
    SignedIn(UserId),
}

/// Accepts the invitation behind `token`; returns the organization and user.
pub async fn accept(
    conn: &mut Conn,
    state: &AppState,
    token: &str,
    acceptance: Acceptance,
) -> AppResult<(OrgId, UserId)> {
    let landing = landing(conn, state, token).await?.map_err(AppError::from)?;
    let invitation = &landing.invitation;
    let now = state.now();
    match acceptance {
        Acceptance::NewAccount {
            first_name,
            last_name,
            password,
        } => {
            if !landing.new_account {
                return Err(AppError::Unauthorized(format!(
                    "{} already has an account: sign in first, then accept",
                    landing.email
                )));
            }
            let (first_name, last_name) = check_new_account(&first_name, &last_name, &password)?;
            let hash = password::hash(password).await.map_err(AppError::Internal)?;
            let user = users::find(conn, invitation.user_id).await?;
            users::update_profile(
                conn,
                user.id,
                users::ProfileUpdate {
                    first_name: &first_name,
                    last_name: &last_name,
                    ..user.profile()
                },
                now,
            )
            .await?;
            users::set_password_hash(conn, user.id, &hash, now).await?;
        }
        Acceptance::SignedIn(user_id) => {
            if user_id != invitation.user_id {
                return Err(AppError::Denied(format!(
                    "this invitation is for {}; sign in as that account to accept it",
                    landing.email
                )));
            }
        }
    }
    if !invitations::accept(conn, invitation.id, now).await? {
        return Err(AppError::Gone(LinkProblem::Used.message().into()));
    }
    memberships::activate(conn, invitation.org_id, invitation.user_id, now).await?;
    users::set_default_org_if_none(conn, invitation.user_id, invitation.org_id).await?;
    let actor = Actor::load(conn, invitation.user_id, OrgRole::User, None).await?;
    audit::record(
        conn,
        invitation.org_id,
        &actor,
        AuditAction::InvitationAccepted,
        &landing.email,
        Some(json!({"status": "invited"})),
        Some(json!({"status": "active"})),
        now,
    )
    .await?;
    Ok((invitation.org_id, invitation.user_id))
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

/// The fields a new account needs, every problem at once.
fn check_new_account(
    first_name: &str,
    last_name: &str,
    password: &str,
) -> Result<(String, String), Invalid> {
    let mut invalid = Invalid::default();
    let first_name = invalid.check(
        "first_name",
        names::required_text(first_name, names::NAME_MAX),
    );
    let last_name = invalid.check(
        "last_name",
        names::required_text(last_name, names::NAME_MAX),
    );
    invalid.check("password", names::check_new_password(password));
    match (first_name, last_name) {
        (Some(first_name), Some(last_name)) if invalid.is_empty() => Ok((first_name, last_name)),
        _ => Err(invalid),
    }
}
