//! The Users area: the member list with filters, the invite panel, and a
//! member's page with role, disable/enable, removal and re-invite.

use crate::error::AppError;
use crate::features::invitations::service as invites;
use crate::features::members::service as members;
use crate::http::ui::error::{page, urlencode, UiError, UiResult};
use crate::http::ui::layout::{field_errors, OrgPage, UiForm};
use crate::page::PageQuery;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::{context, Value};
use muster_domain::permission::{can, Capability};
use muster_domain::{Invitee, MembershipStatus, OrgRole, UserId};
use muster_store::members::{Member, MemberFilter};
use muster_store::solutions::Solution;
use muster_store::{invitations, memberships, orgs, templates, StoreError};
use serde::{Deserialize, Serialize};

const PAGE_SIZE: i64 = 50;

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct UsersQuery {
    role: String,
    status: String,
    solution: String,
    q: String,
    cursor: String,
    notice: String,
    error: String,
}

fn role_options(actor: OrgRole) -> Vec<Value> {
    OrgRole::ALL
        .iter()
        .rev()
        .filter(|role| **role != OrgRole::Owner || actor == OrgRole::Owner)
        .map(|role| context! { value => role.as_str(), label => role.label() })
        .collect()
}

/// A member as the list shows them, with the names of their solutions the
/// viewer can see.
pub fn member_row(m: &muster_store::members::Member, solutions: &[String]) -> Value {
    let name = format!("{} {}", m.first_name, m.last_name)
        .trim()
        .to_owned();
    context! {
        user_id => m.user_id.to_string(),
        name => if name.is_empty() { m.email.clone() } else { name },
        email => m.email,
        role => m.role.label(),
        status => m.status.as_str(),
        solutions => if solutions.is_empty() { "—".to_owned() } else { solutions.join(", ") },
    }
}

async fn template_languages(state: &AppState, view: &OrgPage) -> Result<Vec<String>, UiError> {
    let mut conn = state.store.read().await?;
    Ok(templates::list(&mut conn, view.org.id, None, 200)
        .await?
        .into_iter()
        .map(|t| t.language)
        .collect())
}

impl UsersQuery {
    /// The filter the query names; what does not parse is reported and left out.
    fn filter(&self, visible: &[Solution]) -> (MemberFilter, Vec<String>) {
        let mut problems = Vec::new();
        let role = match self.role.as_str() {
            "" => None,
            raw => raw
                .parse::<OrgRole>()
                .map_err(|e| problems.push(format!("role {e}")))
                .ok(),
        };
        let status = match self.status.as_str() {
            "" => None,
            raw => raw
                .parse::<MembershipStatus>()
                .map_err(|e| problems.push(format!("status {e}")))
                .ok(),
        };
        let solution = match self.solution.as_str() {
            "" => None,
            raw if visible.iter().any(|s| s.id.to_string() == raw) => Some(raw.to_owned()),
            _ => {
                problems.push("solution: no solution of this organization has this id".to_owned());
                None
            }
        };
        let q = Some(self.q.clone()).filter(|q| !q.trim().is_empty());
        let filter = MemberFilter {
            role,
            status,
            q,
            solution,
        };
        (filter, problems)
    }

    /// This list's address with the same filters, at `cursor`.
    fn url(&self, path: &str, cursor: Option<&str>) -> String {
        let mut parts = Vec::new();
        for (key, value) in [
            ("role", &self.role),
            ("status", &self.status),
            ("solution", &self.solution),
            ("q", &self.q),
        ] {
            if !value.is_empty() {
                parts.push(format!("{key}={}", urlencode(value)));
            }
        }
        if let Some(cursor) = cursor {
            parts.push(format!("cursor={}", urlencode(cursor)));
        }
        if parts.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{}", parts.join("&"))
        }
    }

    fn notice(&self) -> &'static str {
        match self.notice.as_str() {
            "invited" => "The invitation is on its way.",
            "removed" => "The member was removed from the organization.",
            _ => "",
        }
    }
}

/// The rows of the list, each with the names of their solutions the viewer sees.
async fn member_rows(
    state: &AppState,
    view: &OrgPage,
    members: &[Member],
    visible: &[Solution],
) -> Result<Vec<Value>, UiError> {
    let ids: Vec<UserId> = members.iter().map(|m| m.user_id).collect();
    let assigned = {
        let mut conn = state.store.read().await?;
        muster_store::assignments::for_members(&mut conn, view.org.id, &ids).await?
    };
    Ok(members
        .iter()
        .map(|m| {
            let names: Vec<String> = assigned
                .iter()
                .filter(|a| a.user_id == m.user_id && visible.iter().any(|s| s.id == a.solution_id))
                .map(|a| a.name.clone())
                .collect();
            member_row(m, &names)
        })
        .collect())
}

pub async fn list(
    State(state): State<AppState>,
    view: OrgPage,
    uri: Uri,
    Query(query): Query<UsersQuery>,
) -> UiResult {
    view.require(Capability::ViewMembers)?;
    let visible = crate::features::solutions::ui::visible_solutions(&state, &view).await?;
    let (filter, problems) = query.filter(&visible);
    let paging = PageQuery {
        limit: Some(PAGE_SIZE),
        cursor: Some(query.cursor.clone()),
    };
    let found = {
        let mut conn = state.store.read().await?;
        members::list(&mut conn, view.org.id, &filter, &paging).await?
    };
    let path = uri.path();
    page(
        "users.html",
        view.context(
            "users",
            path,
            context! {
                members => member_rows(&state, &view, &found.items, &visible).await?,
                solution_options => visible.iter().map(|s| context! { id => s.id.to_string(), name => s.name }).collect::<Vec<_>>(),
                filters => &query,
                roles => role_options(OrgRole::Owner),
                statuses => ["invited", "active", "disabled"],
                problems,
                notice => query.notice(),
                error => query.error,
                next_url => found.next_cursor.as_deref().map(|c| query.url(path, Some(c))),
                first_url => (!query.cursor.is_empty()).then(|| query.url(path, None)),
                can_invite => view.scope.can(Capability::ManageInvitations),
                has_template => !template_languages(&state, &view).await?.is_empty(),
            },
        ),
    )
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct InviteForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    email: String,
    first_name: String,
    last_name: String,
    language: String,
    role: String,
    /// Solutions to give on joining (checkboxes), with one solution role.
    solution_ids: Vec<String>,
    solution_role: String,
}

async fn invite_page(
    state: &AppState,
    view: &OrgPage,
    path: &str,
    form: &InviteForm,
    errors: Value,
    status: StatusCode,
) -> UiResult {
    let languages = template_languages(state, view).await?;
    let solutions: Vec<Value> = crate::features::solutions::ui::visible_solutions(state, view)
        .await?
        .iter()
        .filter(|s| muster_domain::solution::rights(view.scope.role, s.viewer_role).assign)
        .map(|s| {
            let id = s.id.to_string();
            let checked = form.solution_ids.contains(&id);
            context! { id, name => s.name, checked }
        })
        .collect();
    let html = crate::http::ui::templates::get()?.render(
        "user_invite.html",
        view.context(
            "users",
            path,
            context! {
                form,
                errors,
                languages,
                solutions,
                solution_roles => crate::features::solutions::ui::role_options(),
                roles => role_options(view.scope.role),
                default_language => view.org.default_language,
            },
        ),
    )?;
    Ok((status, Html(html)).into_response())
}

pub async fn invite_form(State(state): State<AppState>, view: OrgPage, uri: Uri) -> UiResult {
    view.require(Capability::ManageInvitations)?;
    let form = InviteForm {
        role: "user".into(),
        ..InviteForm::default()
    };
    invite_page(
        &state,
        &view,
        uri.path(),
        &form,
        context! {},
        StatusCode::OK,
    )
    .await
}

pub async fn invite_submit(
    State(state): State<AppState>,
    view: OrgPage,
    uri: Uri,
    UiForm(form): UiForm<InviteForm>,
) -> UiResult {
    view.require(Capability::ManageInvitations)?;
    view.viewer.check_csrf(&form.csrf_token)?;
    let invitee = match Invitee::parse(
        &form.email,
        &form.first_name,
        &form.last_name,
        &form.language,
        &form.role,
    ) {
        Ok(invitee) => invitee,
        Err(invalid) => {
            return invite_page(
                &state,
                &view,
                uri.path(),
                &form,
                field_errors(&invalid),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    let role = match form.solution_role.as_str() {
        "" => Ok(muster_domain::SolutionRole::User),
        raw => raw.parse(),
    };
    let ids: Result<Vec<muster_domain::SolutionId>, _> =
        form.solution_ids.iter().map(|raw| raw.parse()).collect();
    let (Ok(role), Ok(ids)) = (role, ids) else {
        let errors = context! { solutions => "choose solutions and a role from the lists" };
        return invite_page(
            &state,
            &view,
            uri.path(),
            &form,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let grants: Vec<_> = ids.into_iter().map(|id| (id, role)).collect();
    let actor = view.actor();
    let mut tx = state.store.begin().await?;
    let org = orgs::find(&mut tx, view.org.id).await?;
    let invited =
        invites::invite_with_solutions(&mut tx, &state, &org, &actor, &invitee, &grants).await;
    match invited {
        Ok(_) => {
            tx.commit().await.map_err(StoreError::from)?;
            Ok(
                Redirect::to(&format!("/orgs/{}/users?notice=invited", view.org.id))
                    .into_response(),
            )
        }
        Err(error @ (AppError::Conflict(_) | AppError::Denied(_))) => {
            let errors = context! { form => error.to_string() };
            invite_page(
                &state,
                &view,
                uri.path(),
                &form,
                errors,
                crate::http::problem::status(&error),
            )
            .await
        }
        Err(AppError::Invalid(invalid)) => {
            invite_page(
                &state,
                &view,
                uri.path(),
                &form,
                field_errors(&invalid),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DetailQuery {
    notice: String,
    error: String,
}

pub async fn detail(
    State(state): State<AppState>,
    view: OrgPage,
    uri: Uri,
    Path((_, user)): Path<(String, String)>,
    Query(query): Query<DetailQuery>,
) -> UiResult {
    view.require(Capability::ViewMembers)?;
    let user_id: UserId = user.parse().map_err(|_| UiError::not_found())?;
    let mut conn = state.store.read().await?;
    let member = muster_store::members::find(&mut conn, view.org.id, user_id)
        .await?
        .ok_or_else(UiError::not_found)?;
    let invitation = super::views::detail(&mut conn, view.org.id, user_id)
        .await?
        .invitation;
    let invited_by = match member_invited_by(&mut conn, &view, user_id).await? {
        Some(id) => muster_store::users::find_optional(&mut conn, id)
            .await?
            .map(|u| u.display_name()),
        None => None,
    };
    let languages: Vec<String> = templates::list(&mut conn, view.org.id, None, 200)
        .await?
        .into_iter()
        .map(|t| t.language)
        .collect();
    let assigned = muster_store::assignments::for_member(&mut conn, view.org.id, user_id).await?;
    drop(conn);
    let visible = crate::features::solutions::ui::visible_solutions(&state, &view).await?;
    let solution_rows: Vec<Value> = assigned
        .iter()
        .filter_map(|a| {
            let s = visible.iter().find(|s| s.id == a.solution_id)?;
            let can = muster_domain::solution::rights(view.scope.role, s.viewer_role);
            Some(context! {
                id => s.id.to_string(),
                name => s.name,
                role => a.role.as_str(),
                can_assign => can.assign,
            })
        })
        .collect();
    let can_add_solutions = visible.iter().any(|s| {
        muster_domain::solution::rights(view.scope.role, s.viewer_role).assign
            && !assigned.iter().any(|a| a.solution_id == s.id)
    });
    let is_self = user_id == view.viewer.user.id;
    let touches_owner = member.role == OrgRole::Owner && view.scope.role != OrgRole::Owner;
    let manage = can(view.scope.role, Capability::DisableOrRemoveMember) && !touches_owner;
    page(
        "user_detail.html",
        view.context(
            "users",
            uri.path(),
            context! {
                member => member_row(&member, &[]),
                status => member.status.as_str(),
                role_value => member.role.as_str(),
                invited_at => member.invited_at.map(invites::format_time),
                joined_at => member.joined_at.map(invites::format_time),
                invited_by,
                invitation => invitation.map(|i| context! {
                    id => i.id.to_string(),
                    language => i.language,
                    status => i.status.as_str(),
                    expires_at => invites::format_time(i.expires_at),
                    mail => i.mail.map(|m| context! { status => m.status, attempts => m.attempts, last_error => m.last_error }),
                }),
                languages,
                solutions => solution_rows,
                solution_roles => crate::features::solutions::ui::role_options(),
                can_add_solutions,
                roles => role_options(view.scope.role),
                can_change_role => can(view.scope.role, Capability::ChangeMemberRole) && !is_self && !touches_owner,
                can_manage => manage && !is_self,
                can_leave => is_self,
                can_invite => can(view.scope.role, Capability::ManageInvitations) && !touches_owner,
                notice => query.notice,
                error => query.error,
            },
        ),
    )
}

async fn member_invited_by(
    conn: &mut muster_store::Conn,
    view: &OrgPage,
    user_id: UserId,
) -> Result<Option<UserId>, StoreError> {
    Ok(memberships::find(conn, view.org.id, user_id)
        .await?
        .and_then(|m| m.invited_by))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ActionForm {
    csrf_token: String,
    role: String,
    language: String,
    confirm: String,
}

/// The member actions of the detail page; each ends with a redirect back to it
/// (or to the list, after a removal) saying what happened.
pub async fn action(
    State(state): State<AppState>,
    view: OrgPage,
    Path((_, user, action)): Path<(String, String, String)>,
    UiForm(form): UiForm<ActionForm>,
) -> UiResult<Response> {
    view.viewer.check_csrf(&form.csrf_token)?;
    let user_id: UserId = user.parse().map_err(|_| UiError::not_found())?;
    let back = format!("/orgs/{}/users/{user_id}", view.org.id);
    let actor = view.actor();
    let mut tx = state.store.begin().await?;
    let result: Result<&str, AppError> = match action.as_str() {
        "role" => match form.role.parse::<OrgRole>() {
            Ok(role) if can(view.scope.role, Capability::ChangeMemberRole) => {
                members::change_role(&mut tx, &state, view.org.id, &actor, user_id, role)
                    .await
                    .map(|_| "The role was changed.")
            }
            Ok(_) => Err(AppError::forbidden_role()),
            Err(e) => Err(AppError::invalid("role", e.to_string())),
        },
        "disable" | "enable" if can(view.scope.role, Capability::DisableOrRemoveMember) => {
            let disable = action == "disable";
            members::set_disabled(&mut tx, &state, view.org.id, &actor, user_id, disable)
                .await
                .map(|_| {
                    if disable {
                        "The member was disabled."
                    } else {
                        "The member was enabled."
                    }
                })
        }
        "remove" if form.confirm != "yes" => Err(AppError::invalid(
            "confirm",
            "tick the box to confirm the removal",
        )),
        "remove"
            if user_id == view.viewer.user.id
                || can(view.scope.role, Capability::DisableOrRemoveMember) =>
        {
            members::remove(&mut tx, &state, view.org.id, &actor, user_id)
                .await
                .map(|_| "removed")
        }
        "reinvite" | "revoke" if can(view.scope.role, Capability::ManageInvitations) => {
            let org = orgs::find(&mut tx, view.org.id).await?;
            if action == "reinvite" {
                let language = Some(form.language.as_str()).filter(|l| !l.is_empty());
                invites::reinvite(&mut tx, &state, &org, &actor, user_id, language)
                    .await
                    .map(|_| "A new invitation was sent.")
            } else {
                match invitations::latest(&mut tx, view.org.id, user_id).await? {
                    Some(invitation) => {
                        invites::revoke(&mut tx, &state, &org, &actor, invitation.id)
                            .await
                            .map(|_| "removed")
                    }
                    None => Err(AppError::NotFound),
                }
            }
        }
        "disable" | "enable" | "remove" | "reinvite" | "revoke" => Err(AppError::forbidden_role()),
        _ => return Err(UiError::not_found()),
    };
    match result {
        Ok("removed") => {
            tx.commit().await.map_err(StoreError::from)?;
            if user_id == view.viewer.user.id {
                return Ok(Redirect::to("/").into_response());
            }
            Ok(
                Redirect::to(&format!("/orgs/{}/users?notice=removed", view.org.id))
                    .into_response(),
            )
        }
        Ok(notice) => {
            tx.commit().await.map_err(StoreError::from)?;
            Ok(Redirect::to(&format!("{back}?notice={}", urlencode(notice))).into_response())
        }
        Err(AppError::Internal(cause)) => Err(UiError::Internal(cause)),
        Err(AppError::NotFound) => Err(UiError::not_found()),
        Err(error) => {
            let message = error.user_message();
            Ok(Redirect::to(&format!("{back}?error={}", urlencode(&message))).into_response())
        }
    }
}

/// The solutions `view` may assign that `user_id` does not have yet.
async fn assignable(
    state: &AppState,
    view: &OrgPage,
    user_id: UserId,
) -> Result<Vec<muster_store::solutions::Solution>, UiError> {
    let visible = crate::features::solutions::ui::visible_solutions(state, view).await?;
    let assigned = {
        let mut conn = state.store.read().await?;
        muster_store::assignments::for_member(&mut conn, view.org.id, user_id).await?
    };
    Ok(visible
        .into_iter()
        .filter(|s| {
            muster_domain::solution::rights(view.scope.role, s.viewer_role).assign
                && !assigned.iter().any(|a| a.solution_id == s.id)
        })
        .collect())
}

async fn solutions_page(
    state: &AppState,
    view: &OrgPage,
    path: &str,
    user_id: UserId,
    error: Option<String>,
) -> UiResult {
    let member = {
        let mut conn = state.store.read().await?;
        muster_store::members::find(&mut conn, view.org.id, user_id)
            .await?
            .ok_or_else(UiError::not_found)?
    };
    let options: Vec<Value> = assignable(state, view, user_id)
        .await?
        .iter()
        .map(|s| context! { id => s.id.to_string(), name => s.name, identifier => s.identifier })
        .collect();
    page(
        "user_solutions.html",
        view.context(
            "users",
            path,
            context! {
                member => member_row(&member, &[]),
                options,
                roles => crate::features::solutions::ui::role_options(),
                error,
            },
        ),
    )
}

/// "Add solutions": a side panel to give a member several solutions at once.
pub async fn solutions_form(
    State(state): State<AppState>,
    view: OrgPage,
    uri: Uri,
    Path((_, user)): Path<(String, String)>,
) -> UiResult {
    view.require(Capability::AssignSolutions)?;
    let user_id: UserId = user.parse().map_err(|_| UiError::not_found())?;
    solutions_page(&state, &view, uri.path(), user_id, None).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AddSolutionsForm {
    csrf_token: String,
    solution_ids: Vec<String>,
    role: String,
}

pub async fn add_solutions(
    State(state): State<AppState>,
    view: OrgPage,
    uri: Uri,
    Path((_, user)): Path<(String, String)>,
    UiForm(form): UiForm<AddSolutionsForm>,
) -> UiResult {
    view.viewer.check_csrf(&form.csrf_token)?;
    view.require(Capability::AssignSolutions)?;
    let user_id: UserId = user.parse().map_err(|_| UiError::not_found())?;
    let refuse = |message: String| async {
        let response = solutions_page(&state, &view, uri.path(), user_id, Some(message)).await?;
        Ok((StatusCode::UNPROCESSABLE_ENTITY, response).into_response())
    };
    if form.solution_ids.is_empty() {
        return refuse("Tick at least one solution.".into()).await;
    }
    let role = match form.role.as_str() {
        "" => muster_domain::SolutionRole::User,
        raw => match raw.parse() {
            Ok(role) => role,
            Err(e) => return refuse(format!("Solution role {e}")).await,
        },
    };
    let actor = view.actor();
    let mut tx = state.store.begin().await?;
    for raw in &form.solution_ids {
        let id = raw.parse().map_err(|_| UiError::not_found())?;
        match crate::features::solutions::service::assign(
            &mut tx,
            &state,
            view.org.id,
            &actor,
            id,
            user_id,
            role,
        )
        .await
        {
            Ok(()) => {}
            Err(AppError::NotFound) => return Err(UiError::not_found()),
            Err(AppError::Internal(cause)) => return Err(UiError::Internal(cause)),
            // Nothing is kept when one of them is refused.
            Err(error) => return refuse(error.user_message()).await,
        }
    }
    tx.commit().await.map_err(StoreError::from)?;
    let count = form.solution_ids.len();
    let notice = if count == 1 {
        "1 solution was added.".to_owned()
    } else {
        format!("{count} solutions were added.")
    };
    Ok(Redirect::to(&format!(
        "/orgs/{}/users/{user_id}?notice={}",
        view.org.id,
        urlencode(&notice)
    ))
    .into_response())
}
