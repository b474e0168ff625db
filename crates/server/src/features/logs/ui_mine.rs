//! My profile → My troubleshooting: one's own entries in one organization
//! (any active member, role `user` included), newest first, with the range
//! buttons and the level, correlation ID and text filters
//! (`reading::my_entries`). Its query parameters start with `logs_` so they
//! sit beside the profile's own.

use super::reading::{self, Asked};
use super::ui_rows::{entry_row, level_options, url, Links, Range, RANGE_BUTTONS};
use crate::error::AppError;
use crate::http::ui::error::UiResult;
use crate::http::ui::layout::{field_errors, UiUser};
use crate::page::PageQuery;
use crate::scope::OrgScope;
use crate::state::AppState;
use minijinja::{context, Value};
use muster_domain::{Invalid, MembershipStatus, OrgId};
use serde::Deserialize;
use std::net::IpAddr;

const PAGE_SIZE: i64 = 20;
const ANCHOR: &str = "#my-troubleshooting";

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct MineQuery {
    pub logs_org: String,
    pub logs_range: String,
    pub logs_level: String,
    pub logs_correlation_id: String,
    pub logs_q: String,
    pub logs_cursor: String,
}

impl MineQuery {
    /// `/me` with these filters after `change` (from the first page).
    fn link(&self, org: &str, change: impl FnOnce(&mut MineQuery)) -> String {
        let mut q = self.clone();
        q.logs_cursor.clear();
        change(&mut q);
        let path = url(
            "/me",
            &[
                ("logs_org", org),
                ("logs_range", &q.logs_range),
                ("logs_level", &q.logs_level),
                ("logs_correlation_id", &q.logs_correlation_id),
                ("logs_q", &q.logs_q),
                ("logs_cursor", &q.logs_cursor),
            ],
        );
        format!("{path}{ANCHOR}")
    }

    fn filtered(&self) -> bool {
        [&self.logs_level, &self.logs_correlation_id, &self.logs_q]
            .iter()
            .any(|v| !v.trim().is_empty())
    }
}

/// The section's values, and whether a filter was refused (the page is then 422).
pub async fn section(
    state: &AppState,
    viewer: &UiUser,
    ip: IpAddr,
    query: &MineQuery,
) -> UiResult<(Value, bool)> {
    let active: Vec<_> = viewer
        .memberships
        .iter()
        .filter(|m| m.status == MembershipStatus::Active)
        .collect();
    let orgs: Vec<Value> = active
        .iter()
        .map(|m| context! { id => m.org_id.to_string(), name => m.org_name })
        .collect();
    let asked_org = query.logs_org.trim();
    let chosen = if asked_org.is_empty() {
        viewer.inbox_org()
    } else {
        asked_org
            .parse::<OrgId>()
            .ok()
            .filter(|id| active.iter().any(|m| m.org_id == *id))
    };
    let Some(org_id) = chosen else {
        let errors = if asked_org.is_empty() {
            Invalid::default()
        } else {
            Invalid::field(
                "logs_org",
                "you are not an active member of this organization",
            )
        };
        let refused = !errors.is_empty();
        return Ok((
            context! { orgs, errors => field_errors(&errors), invalid => refused, no_org => orgs.is_empty() },
            refused,
        ));
    };
    let membership = active
        .iter()
        .find(|m| m.org_id == org_id)
        .map(|m| (m.role, m.status));
    let scope = OrgScope::admit(viewer.caller.clone(), org_id, membership, ip, state.now())?;
    let range = Range::read(&query.logs_range, "", "");
    let given = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    let asked = Asked {
        range: range.range.clone(),
        level: given(&query.logs_level),
        correlation_id: given(&query.logs_correlation_id),
        q: given(&query.logs_q),
        ..Asked::default()
    };
    let paging = PageQuery {
        limit: Some(PAGE_SIZE),
        cursor: given(&query.logs_cursor),
    };
    let org = org_id.to_string();
    let (found, errors) = match reading::my_entries(state, &scope, &asked, &paging).await {
        Ok(found) => (Some(found), Invalid::default()),
        Err(AppError::Invalid(invalid)) => (None, prefixed(invalid)),
        Err(AppError::Malformed(message)) => (None, Invalid::field("logs_cursor", message)),
        Err(other) => return Err(other.into()),
    };
    let correlation = |c: &str| {
        query.link(&org, |q| {
            q.logs_correlation_id = c.to_owned();
        })
    };
    let links = Links {
        correlation: &correlation,
        user: None,
    };
    let (entries, next) = match found {
        Some(page) => (
            page.items
                .into_iter()
                .map(|e| entry_row(e, &links))
                .collect::<Vec<_>>(),
            page.next_cursor,
        ),
        None => (Vec::new(), None),
    };
    let refused = !errors.is_empty();
    let org_name = active
        .iter()
        .find(|m| m.org_id == org_id)
        .map(|m| m.org_name.clone());
    let values = context! {
        orgs,
        org_id => org,
        org_name,
        range_mode => range.mode,
        range_words => range.words(),
        ranges => RANGE_BUTTONS.iter().filter(|(value, _)| *value != "custom").map(|(value, label)| context! {
            value, label,
            current => range.mode == *value,
            url => query.link(&org, |q| q.logs_range = (*value).to_owned()),
        }).collect::<Vec<_>>(),
        range_value => query.logs_range.trim(),
        levels => level_options(),
        filters => context! {
            level => query.logs_level.trim(),
            correlation_id => query.logs_correlation_id.trim(),
            q => query.logs_q.trim(),
        },
        filtered => query.filtered(),
        clear_url => query.link(&org, |q| {
            *q = MineQuery { logs_range: q.logs_range.clone(), ..MineQuery::default() };
        }),
        errors => field_errors(&errors),
        invalid => refused,
        entries,
        next_url => next.map(|cursor| query.link(&org, |q| q.logs_cursor = cursor)),
        first_url => (!query.logs_cursor.trim().is_empty()).then(|| query.link(&org, |_| {})),
    };
    Ok((values, refused))
}

/// The service's field names as this section's (`level` → `logs_level`).
fn prefixed(invalid: Invalid) -> Invalid {
    let mut out = Invalid::default();
    for error in invalid.0 {
        out.push(&format!("logs_{}", error.field), error.message);
    }
    out
}
