//! Solutions in Management: the list, the create panel, and a solution's page
//! with its Users, Groups, Versions, Logs (`logs::ui_rows::solution_tab`) and
//! Settings tabs. The forms of that page are in `ui_actions`. The rules live in
//! `crate::features::solutions::service`; this file only reads forms and
//! renders pages.

use crate::error::AppError;
use crate::features::invitations::service::format_time;
use crate::features::solutions::service::{self as solutions, SolutionInput};
use crate::http::ui::error::{page, UiError, UiResult};
use crate::http::ui::flash::Flash;
use crate::http::ui::layout::{field_errors, OrgPage, UiForm};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use minijinja::{context, Value};
use muster_domain::permission::{grant, Capability, Grant};
use muster_domain::solution::{rights, SolutionRights};
use muster_domain::{OrgId, SolutionId, SolutionRole};
use muster_store::assignments::Assignee;
use muster_store::members::MemberFilter;
use muster_store::solutions::Solution;
use muster_store::{assignments, groups, Conn, StoreError};
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
        can => rights_context(&can),
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
    pub(super) csrf_token: String,
    pub(super) name: String,
    pub(super) identifier: String,
    pub(super) description: String,
    pub(super) icon_color: String,
    pub(super) icon_initials: String,
}

impl SolutionForm {
    pub(super) fn input(&self) -> SolutionInput {
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
            Ok(
                Flash::notice("The solution was created. You are its owner.")
                    .redirect(&state, &format!("/orgs/{}/solutions/{id}", view.org.id)),
            )
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
    /// Searches the members who can be added.
    add_q: String,
}

/// A solution's page: the tab asked for (Settings only for those who may use
/// it), with the rows of every tab.
pub async fn detail(
    State(state): State<AppState>,
    view: OrgPage,
    uri: Uri,
    Path((_, sol)): Path<(String, String)>,
    Query(query): Query<DetailQuery>,
    flash: Flash,
) -> UiResult {
    view.require(Capability::SeeSolutions)?;
    let id: SolutionId = sol.parse().map_err(|_| UiError::not_found())?;
    let actor = view.actor();
    let mut conn = state.store.read().await?;
    let (solution, can) = solutions::visible(&mut conn, view.org.id, &actor, id).await?;
    let tab = detail_tab(&query.tab, &can);
    let add_q = Some(query.add_q.as_str()).filter(|_| tab == "users" && can.assign);
    let rows = TabRows::read(&mut conn, view.org.id, id, add_q).await?;
    drop(conn);
    let logs = match tab {
        "logs" => crate::features::logs::ui_rows::solution_tab(&state, &view.scope, id).await?,
        _ => Value::UNDEFINED,
    };
    let usage = match tab {
        "usage" => {
            let usage_path = format!("/orgs/{}/usage", view.org.id);
            crate::features::usage::ui::solution_tab(&state, &view.scope, id, &usage_path).await?
        }
        _ => Value::UNDEFINED,
    };
    let values = context! { logs, usage, notice => flash.notice, error => flash.error, ..detail_context(&view, &solution, &can, tab, &query, rows) };
    page(
        "solution_detail.html",
        view.context("solutions", uri.path(), values),
    )
}

/// The tab asked for, or Users when there is no such tab for the viewer.
fn detail_tab<'a>(asked: &'a str, can: &SolutionRights) -> &'a str {
    match asked {
        "groups" | "versions" => asked,
        "logs" | "usage" if can.logs => asked,
        "settings" if can.edit || can.delete => "settings",
        _ => "users",
    }
}

/// What the tabs of a solution's page list, read in the order the page shows them.
struct TabRows {
    /// Up to one more than [`SHOWN`], to tell whether there are more.
    assigned: Vec<Assignee>,
    candidates: Vec<Value>,
    groups: Vec<Value>,
    versions: Vec<Value>,
}

impl TabRows {
    /// `add_q` is the search for members to add, when the page offers adding them.
    async fn read(
        conn: &mut Conn,
        org: OrgId,
        id: SolutionId,
        add_q: Option<&str>,
    ) -> Result<Self, UiError> {
        let assigned = assignments::list_for_solution(conn, id, None, SHOWN + 1).await?;
        let candidates = match add_q {
            Some(q) => candidate_rows(conn, org, q, &assigned).await?,
            None => Vec::new(),
        };
        let groups = group_rows(conn, id, &assigned).await?;
        let versions = version_rows(conn, id).await?;
        Ok(Self {
            assigned,
            candidates,
            groups,
            versions,
        })
    }
}

fn detail_context(
    view: &OrgPage,
    solution: &Solution,
    can: &SolutionRights,
    tab: &str,
    query: &DetailQuery,
    rows: TabRows,
) -> Value {
    context! {
        solution => solution_row(solution, view.scope.role),
        can => rights_context(can),
        tab,
        users => assignee_rows(&rows.assigned),
        more_assigned => rows.assigned.len() > SHOWN as usize,
        candidates => rows.candidates,
        add_q => query.add_q,
        groups => rows.groups,
        versions => rows.versions,
        roles => role_options(),
        form => settings_form(solution),
    }
}

fn rights_context(can: &SolutionRights) -> Value {
    context! { edit => can.edit, assign => can.assign, publish => can.publish, delete => can.delete, logs => can.logs }
}

/// The first [`SHOWN`] assigned users, for the Users tab.
fn assignee_rows(assigned: &[Assignee]) -> Vec<Value> {
    assigned
        .iter()
        .take(SHOWN as usize)
        .map(|a| {
            context! {
                user_id => a.user_id.to_string(),
                email => a.email,
                name => full_name(&a.first_name, &a.last_name),
                org_role => a.org_role.label(),
                status => a.status.as_str(),
                role => a.role.as_str(),
            }
        })
        .collect()
}

/// The members matching the search `q` who are not assigned yet.
async fn candidate_rows(
    conn: &mut Conn,
    org: OrgId,
    q: &str,
    assigned: &[Assignee],
) -> Result<Vec<Value>, UiError> {
    let filter = MemberFilter {
        q: Some(q.to_owned()).filter(|q| !q.trim().is_empty()),
        ..MemberFilter::default()
    };
    let members = muster_store::members::list(conn, org, &filter, None, SHOWN).await?;
    Ok(members
        .iter()
        .filter(|m| !assigned.iter().any(|a| a.user_id == m.user_id))
        .map(|m| context! { user_id => m.user_id.to_string(), email => m.email, name => full_name(&m.first_name, &m.last_name) })
        .collect())
}

/// The solution's groups with their members, and the assigned users each can add.
async fn group_rows(
    conn: &mut Conn,
    id: SolutionId,
    assigned: &[Assignee],
) -> Result<Vec<Value>, UiError> {
    Ok(groups::list(conn, id)
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
        .collect())
}

/// The solution's versions, newest first.
async fn version_rows(conn: &mut Conn, id: SolutionId) -> Result<Vec<Value>, UiError> {
    Ok(muster_store::solutions::versions(conn, id)
        .await?
        .iter()
        .map(|v| context! { version => v.version, notes => v.notes, published_by => v.published_by, published_at => format_time(v.published_at) })
        .collect())
}

/// The Settings tab's form, filled with the solution as it is.
fn settings_form(solution: &Solution) -> Value {
    context! {
        name => solution.name,
        identifier => solution.identifier,
        description => solution.description,
        icon_color => solution.icon_color,
        icon_initials => solution.icon_initials,
    }
}

fn full_name(first: &str, last: &str) -> String {
    format!("{first} {last}").trim().to_owned()
}
