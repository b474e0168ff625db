//! A member as the API and the pages show them: with their solutions, and the
//! latest invitation with the delivery of its mail.

use crate::error::{AppError, AppResult};
use muster_domain::{InvitationStatus, MembershipStatus, OrgId, OrgRole, UserId};
use muster_store::invitations;
use muster_store::members::Member;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// A solution a member is assigned to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberSolution {
    pub id: muster_domain::SolutionId,
    pub name: String,
    pub identifier: String,
    pub role: muster_domain::SolutionRole,
}

impl From<&muster_store::assignments::Assigned> for MemberSolution {
    fn from(a: &muster_store::assignments::Assigned) -> Self {
        MemberSolution {
            id: a.solution_id,
            name: a.name.clone(),
            identifier: a.identifier.clone(),
            role: a.role,
        }
    }
}

/// Fills in the solutions of a page of members with one query.
pub async fn with_solutions(
    conn: &mut muster_store::Conn,
    org_id: OrgId,
    mut views: Vec<MemberView>,
) -> AppResult<Vec<MemberView>> {
    let ids: Vec<UserId> = views.iter().map(|m| m.user_id).collect();
    let assigned = muster_store::assignments::for_members(conn, org_id, &ids).await?;
    for view in &mut views {
        view.solutions = assigned
            .iter()
            .filter(|a| a.user_id == view.user_id)
            .map(MemberSolution::from)
            .collect();
    }
    Ok(views)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    pub user_id: UserId,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: OrgRole,
    pub status: MembershipStatus,
    /// The member's solutions with their solution roles.
    pub solutions: Vec<MemberSolution>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub invited_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub joined_at: Option<OffsetDateTime>,
}

impl From<Member> for MemberView {
    fn from(m: Member) -> Self {
        MemberView {
            user_id: m.user_id,
            email: m.email,
            first_name: m.first_name,
            last_name: m.last_name,
            role: m.role,
            status: m.status,
            solutions: Vec::new(),
            invited_at: m.invited_at,
            joined_at: m.joined_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationView {
    pub id: muster_domain::InvitationId,
    pub language: String,
    pub status: InvitationStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Delivery of the invitation's mail.
    pub mail: Option<MailDelivery>,
}

/// Where the sending of a mail stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct MailDelivery {
    /// queued, running, succeeded (handed to the outbox or SMTP server) or failed.
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberDetail {
    #[serde(flatten)]
    pub member: MemberView,
    /// The latest invitation, if the member was invited.
    pub invitation: Option<InvitationView>,
}

/// One member with their solutions and latest invitation.
pub async fn detail(
    conn: &mut muster_store::Conn,
    org_id: OrgId,
    user_id: UserId,
) -> AppResult<MemberDetail> {
    let member = muster_store::members::find(conn, org_id, user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let invitation = match invitations::latest(conn, org_id, user_id).await? {
        Some(i) => {
            let mail = match i.mail_job_id {
                // The mail job is gone once housekeeping dropped it; any other
                // error is one.
                Some(job_id) => match muster_store::jobs::find(conn, job_id).await {
                    Ok(job) => Some(MailDelivery {
                        status: job.status.as_str().to_owned(),
                        attempts: job.attempts,
                        last_error: job.last_error,
                    }),
                    Err(muster_store::StoreError::NotFound) => None,
                    Err(other) => return Err(other.into()),
                },
                None => None,
            };
            Some(InvitationView {
                id: i.id,
                language: i.language,
                status: i.status,
                expires_at: i.expires_at,
                mail,
            })
        }
        None => None,
    };
    let mut views = with_solutions(conn, org_id, vec![member.into()]).await?;
    let member = views.pop().ok_or(AppError::NotFound)?;
    Ok(MemberDetail { member, invitation })
}
