//! The Users area: the member list with filters and a member's page. The
//! invite panel is `invitations::ui`; the member actions `ui_actions`, the
//! "Add solutions" panel `ui_solutions`; the page's Logs section and its
//! detailed-logging switch `logs::ui_member`.

use super::views::InvitationView;
use crate::features::invitations::service as invites;
use crate::features::logs::ui_member as member_logs;
use crate::features::members::service as members;
use crate::http::ui::error::{page, urlencode, UiError, UiResult};
use crate::http::ui::flash::Flash;
use crate::http::ui::layout::OrgPage;
use crate::page::PageQuery;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::Uri;
use minijinja::{context, Value};
use muster_domain::permission::{can, Capability};
use muster_domain::{MembershipStatus, OrgRole, UserId};
use muster_store::assignments::Assigned;
use muster_store::members::{Member, MemberFilter};
use muster_store::solutions::Solution;
use muster_store::{memberships, templates};
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
}

pub fn role_options(actor: OrgRole) -> Vec<Value> {
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

pub async fn template_languages(state: &AppState, view: &OrgPage) -> Result<Vec<String>, UiError> {
    let mut conn = state.store.read().await?;
    languages(&mut conn, view.org.id).await
}

/// The languages the organization has invite templates in.
async fn languages(
    conn: &mut muster_store::Conn,
    org_id: muster_domain::OrgId,
) -> Result<Vec<String>, UiError> {
    Ok(templates::list(conn, org_id, None, 200)
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
    flash: Flash,
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
                error => flash.error,
                next_url => found.next_cursor.as_deref().map(|c| query.url(path, Some(c))),
                first_url => (!query.cursor.is_empty()).then(|| query.url(path, None)),
                can_invite => view.scope.can(Capability::ManageInvitations),
                has_template => !template_languages(&state, &view).await?.is_empty(),
            },
        ),
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DetailQuery {
    /// What the detailed-logging switch just did, by code (`logs::ui_member`).
    done: String,
}

pub async fn detail(
    State(state): State<AppState>,
    view: OrgPage,
    uri: Uri,
    Path((_, user)): Path<(String, String)>,
    Query(query): Query<DetailQuery>,
    flash: Flash,
) -> UiResult {
    view.require(Capability::ViewMembers)?;
    let user_id: UserId = user.parse().map_err(|_| UiError::not_found())?;
    let facts = MemberFacts::read(&state, &view, user_id).await?;
    let visible = crate::features::solutions::ui::visible_solutions(&state, &view).await?;
    let member = &facts.member;
    let logs = member_logs::section(&state, &view, user_id, &member.email, member.status).await?;
    let parts = context! {
        ..facts.context(),
        ..facts.solutions_context(&view, &visible),
        ..rights_context(&view, &facts.member)
    };
    let (done, refused) = member_logs::notice(&query.done);
    let notice = done.map(str::to_owned).or(flash.notice);
    let error = refused.map(str::to_owned).or(flash.error);
    let context = context! { notice, error, logs, ..parts };
    page(
        "user_detail.html",
        view.context("users", uri.path(), context),
    )
}

/// Where an invitation stands, in words: a pending one until when, or that
/// it ran out (and may be sent again), was accepted, revoked or replaced.
fn invitation_state(invitation: &InvitationView, now: time::OffsetDateTime) -> String {
    use muster_domain::InvitationStatus::*;
    let until = invites::format_time(invitation.expires_at);
    match invitation.status {
        Pending if invitation.expires_at <= now => format!("Expired on {until}"),
        Pending => format!("Pending until {until}"),
        Accepted => "Accepted".to_owned(),
        Revoked => "Revoked".to_owned(),
        Replaced => "Replaced by a newer link".to_owned(),
    }
}

/// What a member's page shows of them.
struct MemberFacts {
    member: Member,
    invitation: Option<InvitationView>,
    invited_by: Option<String>,
    languages: Vec<String>,
    assigned: Vec<Assigned>,
    now: time::OffsetDateTime,
}

impl MemberFacts {
    async fn read(state: &AppState, view: &OrgPage, user_id: UserId) -> Result<Self, UiError> {
        let mut conn = state.store.read().await?;
        let detail = super::views::detail(&mut conn, view.org.id, user_id).await?;
        let member = muster_store::members::find(&mut conn, view.org.id, user_id)
            .await?
            .ok_or_else(UiError::not_found)?;
        let inviter = memberships::find(&mut conn, view.org.id, user_id)
            .await?
            .and_then(|m| m.invited_by);
        let invited_by = match inviter {
            Some(id) => muster_store::users::find_optional(&mut conn, id)
                .await?
                .map(|u| u.display_name()),
            None => None,
        };
        let assigned =
            muster_store::assignments::for_member(&mut conn, view.org.id, user_id).await?;
        Ok(MemberFacts {
            member,
            invitation: detail.invitation,
            invited_by,
            languages: languages(&mut conn, view.org.id).await?,
            assigned,
            now: state.now(),
        })
    }

    /// The member, their invitation and the languages to re-invite in.
    fn context(&self) -> Value {
        let member = &self.member;
        context! {
            member => member_row(member, &[]),
            status => member.status.as_str(),
            role_value => member.role.as_str(),
            invited_at => member.invited_at.map(invites::format_time),
            joined_at => member.joined_at.map(invites::format_time),
            invited_by => self.invited_by,
            invitation => self.invitation.as_ref().map(|i| context! {
                id => i.id.to_string(),
                language => i.language,
                status => i.status.as_str(),
                state => invitation_state(i, self.now),
                mail => i.mail.as_ref().map(|m| context! { status => m.status, attempts => m.attempts, last_error => m.last_error }),
            }),
            languages => self.languages,
        }
    }

    /// The member's solutions the viewer sees, and whether more can be added.
    fn solutions_context(&self, view: &OrgPage, visible: &[Solution]) -> Value {
        let rights = |s: &Solution| muster_domain::solution::rights(view.scope.role, s.viewer_role);
        let solutions: Vec<Value> = self
            .assigned
            .iter()
            .filter_map(|a| {
                let s = visible.iter().find(|s| s.id == a.solution_id)?;
                Some(context! {
                    id => s.id.to_string(),
                    name => s.name,
                    role => a.role.as_str(),
                    can_assign => rights(s).assign,
                })
            })
            .collect();
        let can_add_solutions = visible
            .iter()
            .any(|s| rights(s).assign && !self.assigned.iter().any(|a| a.solution_id == s.id));
        context! {
            solutions,
            solution_roles => crate::features::solutions::ui::role_options(),
            can_add_solutions,
        }
    }
}

/// What the viewer may do to `member` (admins never touch owners; nobody
/// changes their own role or disables themselves, but may leave).
fn rights_context(view: &OrgPage, member: &Member) -> Value {
    let role = view.scope.role;
    let is_self = member.user_id == view.viewer.user.id;
    let touches_owner = member.role == OrgRole::Owner && role != OrgRole::Owner;
    let manage = can(role, Capability::DisableOrRemoveMember) && !touches_owner;
    context! {
        roles => role_options(role),
        can_change_role => can(role, Capability::ChangeMemberRole) && !is_self && !touches_owner,
        can_manage => manage && !is_self,
        can_leave => is_self,
        can_invite => can(role, Capability::ManageInvitations) && !touches_owner,
    }
}
