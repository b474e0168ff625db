//! Solutions in Management: the list, the create panel, and a solution's page
//! with its Users, Groups, Versions and Settings tabs. The rules live in
//! `crate::features::solutions::service`; this file only reads forms and renders pages.

use crate::error::AppError;
use crate::features::invitations::service::format_time;
use crate::features::solutions::service::{self as solutions, SolutionInput};
use crate::http::ui::error::{page, urlencode, UiError, UiResult};
use crate::http::ui::layout::{field_errors, OrgPage, UiForm};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{context, Value};
use muster_domain::permission::{grant, Capability, Grant};
use muster_domain::solution::rights;
use muster_domain::{GroupId, SolutionId, SolutionRole, UserId};
use muster_store::members::MemberFilter;
use muster_store::solutions::Solution;
use muster_store::{assignments, groups, StoreError};
use serde::{Deserialize, Serialize};

/// How many assigned users (and candidates to add) one page shows.
const SHOWN: i64 = 200;

pub fn solution_row(s: &Solution, role: muster_domain::OrgRole) -> Value {
    let can = rights(role, s.viewer_role);
    context! {
        id => s.id.to_string(),
        name => s.name,
        description => s.description,
        identifier => s.identifier,
        icon_color => s.icon_color,
        icon_initials => s.icon_initials,
        latest_version => s.latest_version,
        user_count => s.user_count,
        your_role => s.viewer_role.map(|r| r.as_str()),
        can => context! { edit => can.edit, assign => can.assign, publish => can.publish, delete => can.delete },
    }
}

pub fn role_options() -> Vec<Value> {
    SolutionRole::ALL
        .iter()
        .map(|r| context! { value => r.as_str(), label => r.as_str() })
        .collect()
}

/// The solutions the viewer can see (all, or their own), by identifier.
pub async fn visible_solutions(state: &AppState, view: &OrgPage) -> Result<Vec<Solution>, UiError> {
    let reach = grant(view.scope.role, Capability::SeeSolutions);
    if reach == Grant::No {
        return Ok(Vec::new());
    }
    let mut conn = state.store.read().await?;
    Ok(muster_store::solutions::list(
        &mut conn,
        view.org.id,
        view.viewer.user.id,
        reach != Grant::All,
        None,
        1000,
    )
    .await?)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    notice: String,
}

pub async fn list(
    State(state): State<AppState>,
    view: OrgPage,
    uri: Uri,
    Query(query): Query<ListQuery>,
) -> UiResult {
    view.require(Capability::SeeSolutions)?;
    let rows: Vec<Value> = visible_solutions(&state, &view)
        .await?
        .iter()
        .map(|s| solution_row(s, view.scope.role))
        .collect();
    let notice = match query.notice.as_str() {
        "deleted" => "The solution was deleted, with its assignments, groups and versions.",
        _ => "",
    };
    page(
        "solutions.html",
        view.context(
            "solutions",
            uri.path(),
            context! {
                solutions => rows,
                notice,
                can_create => grant(view.scope.role, Capability::CreateSolution) != Grant::No,
            },
        ),
    )
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct SolutionForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    name: String,
    identifier: String,
    description: String,
    icon_color: String,
    icon_initials: String,
}

impl SolutionForm {
    fn input(&self) -> SolutionInput {
        let given = |v: &str| Some(v.to_owned()).filter(|v| !v.trim().is_empty());
        SolutionInput {
            name: Some(self.name.clone()),
            description: Some(self.description.clone()),
            identifier: given(&self.identifier),
            icon_color: given(&self.icon_color),
            icon_initials: given(&self.icon_initials),
        }
    }
}

fn new_page(view: &OrgPage, path: &str, form: &SolutionForm, errors: Value) -> UiResult {
    page(
        "solution_new.html",
        view.context("solutions", path, context! { form, errors }),
    )
}

pub async fn new_form(view: OrgPage, uri: Uri) -> UiResult {
    view.require(Capability::CreateSolution)?;
    new_page(&view, uri.path(), &SolutionForm::default(), context! {})
}

pub async fn create(
    State(state): State<AppState>,
    view: OrgPage,
    uri: Uri,
    UiForm(form): UiForm<SolutionForm>,
) -> UiResult {
    view.viewer.check_csrf(&form.csrf_token)?;
    view.require(Capability::CreateSolution)?;
    let actor = view.actor();
    let mut tx = state.store.begin().await?;
    match solutions::create(&mut tx, &state, view.org.id, &actor, &form.input()).await {
        Ok(id) => {
            tx.commit().await.map_err(StoreError::from)?;
            Ok(Redirect::to(&format!(
                "/orgs/{}/solutions/{id}?notice={}",
                view.org.id,
                urlencode("The solution was created. You are its owner.")
            ))
            .into_response())
        }
        Err(AppError::Invalid(invalid)) => {
            let response = new_page(&view, uri.path(), &form, field_errors(&invalid))?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, response).into_response())
        }
        Err(AppError::Conflict(message)) => {
            let errors = context! { identifier => message };
            let response = new_page(&view, uri.path(), &form, errors)?;
            Ok((StatusCode::CONFLICT, response).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct DetailQuery {
    tab: String,
    notice: String,
    error: String,
    /// Searches the members who can be added.
    add_q: String,
}

pub async fn detail(
    State(state): State<AppState>,
    view: OrgPage,
    uri: Uri,
    Path((_, sol)): Path<(String, String)>,
    Query(query): Query<DetailQuery>,
) -> UiResult {
    view.require(Capability::SeeSolutions)?;
    let id: SolutionId = sol.parse().map_err(|_| UiError::not_found())?;
    let actor = view.actor();
    let mut conn = state.store.read().await?;
    let (solution, can) = solutions::visible(&mut conn, view.org.id, &actor, id).await?;
    let tab = match query.tab.as_str() {
        "groups" | "versions" => query.tab.as_str(),
        "settings" if can.edit || can.delete => "settings",
        _ => "users",
    };
    let assigned = assignments::list_for_solution(&mut conn, id, None, SHOWN + 1).await?;
    let more_assigned = assigned.len() > SHOWN as usize;
    let users: Vec<Value> = assigned
        .iter()
        .take(SHOWN as usize)
        .map(|a| {
            context! {
                user_id => a.user_id.to_string(),
                email => a.email,
                name => format!("{} {}", a.first_name, a.last_name).trim().to_owned(),
                org_role => a.org_role.label(),
                status => a.status.as_str(),
                role => a.role.as_str(),
            }
        })
        .collect();
    let mut candidates = Vec::new();
    if tab == "users" && can.assign {
        let filter = MemberFilter {
            q: Some(query.add_q.clone()).filter(|q| !q.trim().is_empty()),
            ..MemberFilter::default()
        };
        let members =
            muster_store::members::list(&mut conn, view.org.id, &filter, None, SHOWN).await?;
        candidates = members
            .iter()
            .filter(|m| !assigned.iter().any(|a| a.user_id == m.user_id))
            .map(|m| context! { user_id => m.user_id.to_string(), email => m.email, name => format!("{} {}", m.first_name, m.last_name).trim().to_owned() })
            .collect();
    }
    let group_rows: Vec<Value> = groups::list(&mut conn, id)
        .await?
        .iter()
        .map(|g| {
            let addable: Vec<Value> = assigned
                .iter()
                .filter(|a| !g.members.iter().any(|m| m.user_id == a.user_id))
                .map(|a| context! { user_id => a.user_id.to_string(), email => a.email })
                .collect();
            context! {
                id => g.id.to_string(),
                name => g.name,
                members => g.members.iter().map(|m| context! { user_id => m.user_id.to_string(), email => m.email }).collect::<Vec<_>>(),
                addable,
            }
        })
        .collect();
    let versions: Vec<Value> = muster_store::solutions::versions(&mut conn, id)
        .await?
        .iter()
        .map(|v| context! { version => v.version, notes => v.notes, published_by => v.published_by, published_at => format_time(v.published_at) })
        .collect();
    drop(conn);
    page(
        "solution_detail.html",
        view.context(
            "solutions",
            uri.path(),
            context! {
                solution => solution_row(&solution, view.scope.role),
                can => context! { edit => can.edit, assign => can.assign, publish => can.publish, delete => can.delete },
                tab,
                users,
                more_assigned,
                candidates,
                add_q => query.add_q,
                groups => group_rows,
                versions,
                roles => role_options(),
                notice => query.notice,
                error => query.error,
                form => context! {
                    name => solution.name,
                    identifier => solution.identifier,
                    description => solution.description,
                    icon_color => solution.icon_color,
                    icon_initials => solution.icon_initials,
                },
            },
        ),
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ActionForm {
    csrf_token: String,
    /// Checkboxes: several users at once.
    user_ids: Vec<String>,
    user_id: String,
    role: String,
    group_id: String,
    name: String,
    identifier: String,
    description: String,
    icon_color: String,
    icon_initials: String,
    version: String,
    notes: String,
    confirm: String,
    /// A local page to go back to instead of the solution's tab.
    return_to: String,
}

fn user_id(raw: &str) -> Result<UserId, AppError> {
    raw.parse().map_err(|_| AppError::NotFound)
}

fn group_id(raw: &str) -> Result<GroupId, AppError> {
    raw.parse().map_err(|_| AppError::NotFound)
}

fn solution_role(raw: &str) -> Result<SolutionRole, AppError> {
    if raw.is_empty() {
        return Ok(SolutionRole::User);
    }
    raw.parse()
        .map_err(|e: muster_domain::role::UnknownValue| AppError::invalid("role", e.to_string()))
}

/// One form of the solution's page; each ends with a redirect back to the tab
/// it came from, saying what happened.
pub async fn action(
    State(state): State<AppState>,
    view: OrgPage,
    Path((_, sol, action)): Path<(String, String, String)>,
    UiForm(form): UiForm<ActionForm>,
) -> UiResult<Response> {
    view.viewer.check_csrf(&form.csrf_token)?;
    view.require(Capability::SeeSolutions)?;
    let id: SolutionId = sol.parse().map_err(|_| UiError::not_found())?;
    let org = view.org.id;
    let actor = view.actor();
    let mut tx = state.store.begin().await?;
    let conn = &mut tx;
    let (tab, result): (&str, Result<String, AppError>) = match action.as_str() {
        "assign" => (
            "users",
            async {
                let role = solution_role(&form.role)?;
                if form.user_ids.is_empty() {
                    return Err(AppError::invalid(
                        "user_ids",
                        "tick at least one person to add",
                    ));
                }
                for raw in &form.user_ids {
                    solutions::assign(conn, &state, org, &actor, id, user_id(raw)?, role).await?;
                }
                Ok(format!(
                    "Added {} with the role {role}.",
                    people(form.user_ids.len())
                ))
            }
            .await,
        ),
        "role" => (
            "users",
            async {
                let role = solution_role(&form.role)?;
                solutions::assign(conn, &state, org, &actor, id, user_id(&form.user_id)?, role)
                    .await?;
                Ok(format!("The solution role is now {role}."))
            }
            .await,
        ),
        "unassign" => (
            "users",
            async {
                if form.user_ids.is_empty() {
                    return Err(AppError::invalid(
                        "user_ids",
                        "tick at least one person to remove",
                    ));
                }
                for raw in &form.user_ids {
                    solutions::unassign(conn, &state, org, &actor, id, user_id(raw)?).await?;
                }
                Ok(format!(
                    "Removed {} from the solution.",
                    people(form.user_ids.len())
                ))
            }
            .await,
        ),
        "group-create" => (
            "groups",
            async {
                solutions::create_group(conn, &state, org, &actor, id, &form.name).await?;
                Ok("The group was created.".to_owned())
            }
            .await,
        ),
        "group-delete" => (
            "groups",
            async {
                solutions::delete_group(conn, &state, org, &actor, id, group_id(&form.group_id)?)
                    .await?;
                Ok("The group was deleted.".to_owned())
            }
            .await,
        ),
        "group-add" => (
            "groups",
            async {
                let (group, user) = (group_id(&form.group_id)?, user_id(&form.user_id)?);
                solutions::add_to_group(conn, &state, org, &actor, id, group, user).await?;
                Ok("Added to the group.".to_owned())
            }
            .await,
        ),
        "group-remove" => (
            "groups",
            async {
                let (group, user) = (group_id(&form.group_id)?, user_id(&form.user_id)?);
                solutions::remove_from_group(conn, &state, org, &actor, id, group, user).await?;
                Ok("Removed from the group.".to_owned())
            }
            .await,
        ),
        "publish" => (
            "versions",
            async {
                let version =
                    solutions::publish(conn, &state, org, &actor, id, &form.version, &form.notes)
                        .await?;
                Ok(format!("Version {version} was published."))
            }
            .await,
        ),
        "edit" => (
            "settings",
            async {
                let input = SolutionForm {
                    csrf_token: String::new(),
                    name: form.name.clone(),
                    identifier: form.identifier.clone(),
                    description: form.description.clone(),
                    icon_color: form.icon_color.clone(),
                    icon_initials: form.icon_initials.clone(),
                }
                .input();
                solutions::update(conn, &state, org, &actor, id, &input).await?;
                Ok("The solution was saved.".to_owned())
            }
            .await,
        ),
        "delete" => (
            "settings",
            async {
                if form.confirm != "yes" {
                    return Err(AppError::invalid(
                        "confirm",
                        "tick the box to confirm the deletion",
                    ));
                }
                solutions::delete(conn, &state, org, &actor, id).await?;
                Ok(String::new())
            }
            .await,
        ),
        _ => return Err(UiError::not_found()),
    };
    let back = match crate::http::ui::error::safe_local_path(&form.return_to) {
        Some(path) if !path.contains('?') => format!("{path}?from=solution"),
        _ => format!("/orgs/{org}/solutions/{id}?tab={tab}"),
    };
    match result {
        Ok(_) if action == "delete" => {
            tx.commit().await.map_err(StoreError::from)?;
            Ok(Redirect::to(&format!("/orgs/{org}/solutions?notice=deleted")).into_response())
        }
        Ok(notice) => {
            tx.commit().await.map_err(StoreError::from)?;
            Ok(Redirect::to(&format!("{back}&notice={}", urlencode(&notice))).into_response())
        }
        Err(AppError::Internal(cause)) => Err(UiError::Internal(cause)),
        Err(AppError::NotFound) => Err(UiError::not_found()),
        // Nothing of a refused form is kept: the transaction is dropped.
        Err(error) => Ok(Redirect::to(&format!(
            "{back}&error={}",
            urlencode(&error.user_message())
        ))
        .into_response()),
    }
}

fn people(n: usize) -> String {
    if n == 1 {
        "1 person".to_owned()
    } else {
        format!("{n} people")
    }
}
