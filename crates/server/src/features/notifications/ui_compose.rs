//! The "Send notification" form: what the viewer may send to, and the form
//! read into the draft the service checks.

use crate::features::solutions::ui::visible_solutions;
use crate::http::ui::error::UiError;
use crate::http::ui::layout::OrgPage;
use crate::state::AppState;
use minijinja::{context, Value};
use muster_domain::notification::{Draft, Scope};
use muster_domain::permission::{grant, Capability, Grant};
use muster_domain::solution::rights;
use muster_domain::{Invalid, MembershipStatus, NotificationId};
use muster_store::members::MemberFilter;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

/// Member emails offered as suggestions in the "Users" audience.
const SUGGESTED: i64 = 500;

/// What the viewer may send to: the organization and people (owners and
/// admins), and the solutions and groups they may notify.
pub(super) struct Audience {
    pub(super) everyone: bool,
    solutions: Vec<Value>,
    /// Per solution, its groups.
    groups: Vec<Value>,
    /// Target id → name, for the summaries of the history.
    names: HashMap<String, String>,
    emails: Vec<String>,
}

impl Audience {
    pub(super) async fn read(state: &AppState, view: &OrgPage) -> Result<Self, UiError> {
        let everyone = grant(view.scope.role, Capability::SendNotifications) == Grant::All;
        let reachable: Vec<_> = visible_solutions(state, view)
            .await?
            .into_iter()
            .filter(|s| rights(view.scope.role, s.viewer_role).notify)
            .collect();
        let mut conn = state.store.read().await?;
        let mut names = HashMap::new();
        let mut solutions = Vec::new();
        let mut groups = Vec::new();
        for s in &reachable {
            names.insert(s.id.to_string(), s.name.clone());
            solutions.push(context! { id => s.id.to_string(), name => s.name });
            let of_solution: Vec<Value> = muster_store::groups::list(&mut conn, s.id)
                .await?
                .iter()
                .map(|g| {
                    names.insert(g.id.to_string(), format!("{} ({})", g.name, s.name));
                    context! { id => g.id.to_string(), name => g.name, size => g.members.len() }
                })
                .collect();
            if !of_solution.is_empty() {
                groups.push(context! { solution => s.name, groups => of_solution });
            }
        }
        let emails = if everyone {
            let filter = MemberFilter::default();
            muster_store::members::list(&mut conn, view.org.id, &filter, None, SUGGESTED)
                .await?
                .into_iter()
                .filter(|m| m.status == MembershipStatus::Active)
                .map(|m| m.email)
                .collect()
        } else {
            Vec::new()
        };
        Ok(Audience {
            everyone,
            solutions,
            groups,
            names,
            emails,
        })
    }

    /// "Organization", "Solutions: Routes, Yard", "3 people", …
    pub(super) fn summary(&self, scope: Scope, targets: &[String]) -> String {
        let named = || {
            targets
                .iter()
                .map(|id| self.names.get(id).cloned().unwrap_or_else(|| id.clone()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match scope {
            Scope::Org => "Organization".into(),
            Scope::Solutions => format!("Solutions: {}", named()),
            Scope::Groups => format!("Groups: {}", named()),
            Scope::Users if targets.len() == 1 => "1 person".into(),
            Scope::Users => format!("{} people", targets.len()),
        }
    }

    pub(super) fn context(&self) -> Value {
        context! {
            everyone => self.everyone,
            solutions => self.solutions,
            groups => self.groups,
            emails => self.emails,
        }
    }
}

/// The compose form as sent. Checkboxes of one name read into a `Vec`.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ComposeForm {
    #[serde(skip_serializing)]
    pub(super) csrf_token: String,
    /// Set when the form is shown, so that sending it twice sends once.
    pub(super) idempotency_key: String,
    title: String,
    body: String,
    link: String,
    /// org, solutions, groups or users.
    scope: String,
    solution_ids: Vec<String>,
    group_ids: Vec<String>,
    /// One per line, or separated by commas.
    emails: String,
    /// now or schedule.
    when: String,
    /// `datetime-local`: `2026-12-01T09:30`.
    scheduled_at: String,
    /// Minutes to add to the local time to get UTC (`Date.getTimezoneOffset()`);
    /// blank: the time is UTC.
    tz_offset: String,
}

impl ComposeForm {
    pub(super) fn fresh(everyone: bool) -> Self {
        ComposeForm {
            idempotency_key: NotificationId::new().to_string(),
            scope: if everyone { "org" } else { "solutions" }.into(),
            when: "now".into(),
            ..ComposeForm::default()
        }
    }

    /// The draft the service checks, and what the form itself got wrong (an id
    /// that is not one, a time that does not parse).
    pub(super) fn draft(&self) -> (Draft, Invalid) {
        let mut invalid = Invalid::default();
        let scope = self.scope.parse::<Scope>().ok();
        let mut draft = Draft {
            title: self.title.clone(),
            body: self.body.clone(),
            link: Some(self.link.clone()).filter(|l| !l.trim().is_empty()),
            scope,
            ..Draft::default()
        };
        // Only the list of the chosen audience counts; ticks left in the others do not.
        match scope {
            Some(Scope::Solutions) => {
                draft.solution_ids = ids(&self.solution_ids, "solution_ids", &mut invalid)
            }
            Some(Scope::Groups) => {
                draft.group_ids = ids(&self.group_ids, "group_ids", &mut invalid)
            }
            Some(Scope::Users) => draft.emails = split_emails(&self.emails),
            _ => {}
        }
        if self.when == "schedule" {
            match local_time(&self.scheduled_at, &self.tz_offset) {
                Ok(at) => draft.scheduled_at = Some(at),
                Err(message) => invalid.push("scheduled_at", message),
            }
        }
        (draft, invalid)
    }
}

/// The ticked ids; one that is not an id is a mistake of `field`.
fn ids<T: std::str::FromStr>(raw: &[String], field: &str, invalid: &mut Invalid) -> Vec<T> {
    let mut ids = Vec::new();
    for id in raw {
        match id.parse() {
            Ok(id) => ids.push(id),
            Err(_) => invalid.push(field, format!("`{id}` is not an id")),
        }
    }
    ids
}

/// Emails one per line, or separated by commas, semicolons or spaces.
fn split_emails(raw: &str) -> Vec<String> {
    raw.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A `datetime-local` value in the browser's zone (`tz_offset` minutes behind
/// UTC, as `Date.getTimezoneOffset()` says), as a UTC time.
fn local_time(raw: &str, tz_offset: &str) -> Result<OffsetDateTime, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("choose the date and time to send it".into());
    }
    let minutes = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let seconds = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let local = PrimitiveDateTime::parse(raw, &minutes)
        .or_else(|_| PrimitiveDateTime::parse(raw, &seconds))
        .map_err(|_| format!("`{raw}` is not a date and time (2026-12-01T09:30)"))?;
    let offset: i64 = match tz_offset.trim() {
        "" => 0,
        given => given
            .parse()
            .ok()
            .filter(|m: &i64| m.abs() <= 16 * 60)
            .ok_or("the time zone of this browser was not understood")?,
    };
    local
        .assume_utc()
        .checked_add(Duration::minutes(offset))
        .ok_or_else(|| format!("`{raw}` is too far in the future"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn local_times_become_utc() {
        assert_eq!(
            local_time("2026-12-01T09:30", ""),
            Ok(datetime!(2026-12-01 09:30 UTC))
        );
        // Berlin in winter: getTimezoneOffset() is -60.
        assert_eq!(
            local_time("2026-12-01T09:30", "-60"),
            Ok(datetime!(2026-12-01 08:30 UTC))
        );
        assert_eq!(
            local_time("2026-12-01T09:30:15", "300"),
            Ok(datetime!(2026-12-01 14:30:15 UTC))
        );
        assert!(local_time("", "").is_err());
        assert!(local_time("tomorrow", "").is_err());
        assert!(local_time("2026-12-01T09:30", "9999").is_err());
        assert!(
            local_time("9999-12-31T23:59", "600").is_err(),
            "no overflow"
        );
    }

    #[test]
    fn emails_split_on_lines_and_commas() {
        assert_eq!(
            split_emails("a@x.org, b@x.org\n\nc@x.org;d@x.org "),
            ["a@x.org", "b@x.org", "c@x.org", "d@x.org"]
        );
    }
}
