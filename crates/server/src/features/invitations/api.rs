//! Invitations: invite one person, many (bulk), revoke; and the public side of
//! an invite link (look it up, accept it).

use crate::error::{AppError, AppResult};
use crate::features::auth::caller::Caller;
use crate::features::auth::session;
use crate::features::invitations::accept::{self as acceptance, Acceptance};
use crate::features::invitations::bulk_job::{self, BulkRow, Upload};
use crate::features::invitations::service as invites;
use crate::features::invitations::service::InvitedView;
use crate::features::profile::views::MeView;
use crate::http::extract::{parse_json, AppJson};
use crate::http::problem::{Problem, Rejection};
use crate::scope::OrgScope;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::{header, request::Parts, HeaderMap, StatusCode};
use axum::Json;
use axum_extra::extract::CookieJar;
use muster_domain::permission::Capability;
use muster_domain::{InvitationId, Invitee, OrgId};
use muster_store::{orgs, StoreError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationRequest {
    pub email: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    /// BCP 47 tag of the invite mail; default the organization's language.
    #[serde(default)]
    pub language: Option<String>,
    /// Org role; default `user`.
    #[serde(default)]
    pub role: Option<String>,
    /// Solutions to assign on joining.
    #[serde(default)]
    pub solutions: Vec<SolutionGrant>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SolutionGrant {
    pub solution_id: String,
    /// Solution role; default `user`.
    pub role: Option<String>,
}

/// Checks the solutions of an invitation before anything is written.
fn parse_grants(
    grants: &[SolutionGrant],
    invalid: &mut muster_domain::Invalid,
) -> Vec<(muster_domain::SolutionId, muster_domain::SolutionRole)> {
    let mut parsed = Vec::new();
    for grant in grants {
        let id = grant
            .solution_id
            .trim()
            .parse()
            .map_err(|_| format!("no solution {} in this organization", grant.solution_id));
        let role = match grant.role.as_deref().map(str::trim) {
            None | Some("") => Ok(muster_domain::SolutionRole::User),
            Some(raw) => raw.parse().map_err(|e| format!("role {e}")),
        };
        match (id, role) {
            (Ok(id), Ok(role)) => parsed.push((id, role)),
            (Err(message), _) | (_, Err(message)) => invalid.push("solutions", message),
        }
    }
    parsed
}

/// Invite one person by email.
#[utoipa::path(post, path = "/orgs/{org}/invitations", tag = "invitations", request_body = InvitationRequest,
    params(("org" = OrgId, Path, description = "Organization id")),
    responses((status = 201, body = InvitedView), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_invitation(
    State(state): State<AppState>,
    member: OrgScope,
    AppJson(request): AppJson<InvitationRequest>,
) -> AppResult<(StatusCode, Json<InvitedView>)> {
    member.require(Capability::ManageInvitations)?;
    let mut invitee = Invitee::parse(
        &request.email,
        &request.first_name,
        &request.last_name,
        request.language.as_deref().unwrap_or(""),
        request.role.as_deref().unwrap_or(""),
    );
    let mut invalid = invitee.as_ref().err().cloned().unwrap_or_default();
    let grants = parse_grants(&request.solutions, &mut invalid);
    if !invalid.is_empty() {
        invitee = Err(invalid);
    }
    let invitee = invitee?;
    let mut tx = state.store.begin().await?;
    let org = orgs::find(&mut tx, member.org_id).await?;
    let actor = member.actor(&mut tx).await?;
    let invited =
        invites::invite_with_solutions(&mut tx, &state, &org, &actor, &invitee, &grants).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok((StatusCode::CREATED, Json(invited.into())))
}

/// Withdraw a pending invitation.
#[utoipa::path(delete, path = "/orgs/{org}/invitations/{id}", tag = "invitations",
    params(("org" = OrgId, Path, description = "Organization id"), ("id" = InvitationId, Path, description = "Invitation id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem)))]
pub async fn revoke_invitation(
    State(state): State<AppState>,
    member: OrgScope,
    Path(path): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let id = path.1;
    member.require(Capability::ManageInvitations)?;
    let id: InvitationId = id.parse().map_err(|_| AppError::NotFound)?;
    let mut tx = state.store.begin().await?;
    let org = orgs::find(&mut tx, member.org_id).await?;
    let actor = member.actor(&mut tx).await?;
    invites::revoke(&mut tx, &state, &org, &actor, id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobAccepted {
    pub job_id: muster_domain::JobId,
    /// Rows found in the upload.
    pub total: usize,
}

/// The bulk upload, as a CSV file or a JSON array of invitations.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BulkJsonRow {
    pub email: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub language: String,
    #[serde(default)]
    pub role: String,
}

/// Invite many people: `text/csv` with the header
/// `email,first_name,last_name,language,role`, or a JSON array. Runs as a job.
/// A JSON array of people as the upload of a bulk invite, numbered from 1.
fn json_upload(bytes: &[u8]) -> AppResult<Upload> {
    let rows: Vec<BulkJsonRow> = parse_json(bytes)?;
    let mut upload = Upload::default();
    for (i, r) in rows.into_iter().enumerate() {
        upload.push(&BulkRow {
            row: i + 1,
            email: r.email,
            first_name: r.first_name,
            last_name: r.last_name,
            language: r.language,
            role: r.role,
            problem: None,
        })?;
    }
    Ok(upload)
}

#[utoipa::path(post, path = "/orgs/{org}/invitations/bulk", tag = "invitations",
    params(("org" = OrgId, Path, description = "Organization id")),
    request_body(content((String = "text/csv"), (Vec<BulkJsonRow> = "application/json"))),
    responses((status = 202, body = JobAccepted), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn bulk_invite(
    State(state): State<AppState>,
    member: OrgScope,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<JobAccepted>), Rejection> {
    member.require(Capability::ManageInvitations)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(body, bulk_job::MAX_BYTES)
        .await
        .map_err(|_| {
            AppError::TooLarge(format!(
                "the upload is larger than {} MB; split it into smaller files",
                bulk_job::MAX_BYTES / 1_000_000
            ))
        })?;
    let rows = match content_type.as_str() {
        "text/csv" => bulk_job::parse_csv(&bytes)?,
        "application/json" => json_upload(&bytes)?,
        _ => {
            return Err(Rejection::UnsupportedMediaType(
                "send the people to invite as text/csv or as a JSON array (application/json)"
                    .into(),
            ))
        }
    };
    let (job_id, total) = bulk_job::start(&state, &member, rows).await?;
    Ok((StatusCode::ACCEPTED, Json(JobAccepted { job_id, total })))
}

/// What an invite link is about.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationLanding {
    pub org_id: OrgId,
    pub organization: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub inviter: Option<String>,
    /// True when accepting creates the account (name and password needed).
    pub new_account: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// Look up an invite link (no authentication). 404 unknown; 410 expired, used
/// or revoked, saying which.
#[utoipa::path(get, path = "/invitations/{token}", tag = "invitations", security(()),
    params(("token" = String, Path, description = "The token from the invite link")),
    responses((status = 200, body = InvitationLanding), (status = 404, body = Problem), (status = 410, body = Problem)))]
pub async fn get_invitation(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> AppResult<Json<InvitationLanding>> {
    let mut conn = state.store.read().await?;
    let landing = acceptance::landing(&mut conn, &state, &token).await??;
    Ok(Json(InvitationLanding {
        org_id: landing.invitation.org_id,
        organization: landing.org_name,
        email: landing.email,
        first_name: landing.first_name,
        last_name: landing.last_name,
        inviter: landing.inviter,
        new_account: landing.new_account,
        expires_at: landing.invitation.expires_at,
    }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    /// For a new account.
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    pub org_id: OrgId,
    pub user: MeView,
    /// For a new account: the session started, and its CSRF token.
    pub csrf_token: Option<String>,
}

/// The caller, if the request carries credentials (optional authentication).
pub struct MaybeCaller(pub Option<Caller>);

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let has_credentials = parts.headers.contains_key(header::AUTHORIZATION)
            || CookieJar::from_headers(&parts.headers)
                .get(session::COOKIE)
                .is_some();
        if !has_credentials {
            return Ok(MaybeCaller(None));
        }
        match Caller::from_request_parts(parts, state).await {
            Ok(caller) => Ok(MaybeCaller(Some(caller))),
            Err(AppError::Unauthorized(_)) => Ok(MaybeCaller(None)),
            Err(other) => Err(other),
        }
    }
}

/// Accept an invitation: a new person sends name and password (and is signed
/// in); someone with an account accepts while signed in as that account.
#[utoipa::path(post, path = "/invitations/{token}/accept", tag = "invitations", security(()), request_body = AcceptRequest,
    params(("token" = String, Path, description = "The token from the invite link")),
    responses((status = 200, body = Accepted), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 410, body = Problem), (status = 422, body = Problem)))]
pub async fn accept_invitation(
    State(state): State<AppState>,
    origin: session::Origin,
    Path(token): Path<String>,
    MaybeCaller(caller): MaybeCaller,
    jar: CookieJar,
    AppJson(request): AppJson<AcceptRequest>,
) -> AppResult<(CookieJar, Json<Accepted>)> {
    let acceptance = match caller {
        Some(caller) => Acceptance::SignedIn(caller.user_id),
        None => Acceptance::NewAccount {
            first_name: request.first_name.unwrap_or_default(),
            last_name: request.last_name.unwrap_or_default(),
            password: request.password.unwrap_or_default(),
        },
    };
    let signed_in = matches!(acceptance, Acceptance::SignedIn(_));
    let mut tx = state.store.begin().await?;
    let (org_id, user_id) = acceptance::accept(&mut tx, &state, &token, acceptance).await?;
    tx.commit().await.map_err(StoreError::from)?;
    let (jar, csrf_token) = if signed_in {
        (jar, None)
    } else {
        let previous = jar.get(session::COOKIE).map(|c| c.value().to_owned());
        let new = session::start(&state, user_id, previous.as_deref(), &origin).await?;
        (jar.add(new.cookie), Some(new.csrf_token))
    };
    let mut conn = state.store.read().await?;
    let user = crate::features::profile::views::load(&mut conn, user_id).await?;
    Ok((
        jar,
        Json(Accepted {
            org_id,
            user,
            csrf_token,
        }),
    ))
}
