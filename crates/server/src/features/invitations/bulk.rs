//! Inviting a batch of people at once, for the bulk-invite job.

use super::service::{format_time, template_for};
use crate::error::{AppError, AppResult};
use crate::features::audit_log::service::event_by;
use crate::features::invite_templates::render::{render, InviteVars};
use crate::mail::job::SendMail;
use crate::mail::Mail;
use crate::scope::Actor;
use crate::state::AppState;
use muster_domain::permission::Denied;
use muster_domain::AuditAction;
use muster_domain::{secret, Invitee, JobId, MembershipStatus, OrgRole, UserId};
use muster_store::invitations::{self, NewInvitation};
use muster_store::memberships::{self, Membership};
use muster_store::orgs::Org;
use muster_store::templates::InviteTemplate;
use muster_store::{users, Conn};
use serde_json::json;
use std::collections::HashMap;
use time::Duration;

/// Invites many people at once (a bulk batch): the rules of [`invite`](super::service::invite), with a
/// few statements for the whole batch instead of several per person. Returns,
/// for each invitee in order, `Ok` or why that one was refused; the others are
/// invited all the same. The emails must be distinct. Their audit events name
/// `job`, the bulk invite that invites them.
pub async fn invite_many(
    conn: &mut Conn,
    state: &AppState,
    org: &Org,
    actor: &Actor,
    invitees: &[Invitee],
    job: JobId,
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
        mails.push(SendMail::new(
            &state.key,
            &Mail {
                to: invitee.email.as_str().to_owned(),
                subject,
                text,
                html: None,
            },
        ));
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
    let sent = muster_store::usage::NewEvent::by(
        org.id,
        muster_domain::usage::Kind::InvitationSent,
        Some(actor.user_id),
        now,
    )
    .times(i64::try_from(invitations.len()).unwrap_or(i64::MAX));
    if !invitations.is_empty() {
        muster_store::usage::record_one(conn, sent, now).await?;
    }
    let events = pending
        .iter()
        .map(|(_, _, _, invitee)| muster_store::audit::NewEvent {
            after: Some(json!({"role": invitee.role, "language": invitee.language, "status": "invited", "bulk": true})),
            job_id: Some(job),
            ..event_by(actor, org.id, AuditAction::InvitationCreated, invitee.email.as_str())
        })
        .collect();
    muster_store::audit::record_many(conn, events, now).await?;
    Ok(outcomes)
}
