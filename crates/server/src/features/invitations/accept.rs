//! The invite link: what it shows, and accepting it (a new account, or an
//! existing one that signed in).

use crate::error::{AppError, AppResult};
use crate::features::audit_log::service as audit;
use crate::features::auth::password;
use crate::scope::Actor;
use crate::state::AppState;
use muster_domain::invitation::{check_link, LinkProblem};
use muster_domain::AuditAction;
use muster_domain::{names, Invalid};
use muster_domain::{secret, OrgId, OrgRole, UserId};
use muster_store::invitations::{self, Invitation};
use muster_store::memberships::{self};
use muster_store::{users, Conn};
use serde_json::json;

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
    let accepted = muster_store::usage::NewEvent::by(
        invitation.org_id,
        muster_domain::usage::Kind::InvitationAccepted,
        Some(invitation.user_id),
        now,
    );
    muster_store::usage::record_one(conn, accepted, now).await?;
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
