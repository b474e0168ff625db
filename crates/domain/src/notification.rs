//! Push notifications: what a message may hold, whom it reaches, and the
//! states it goes through. Checked here so the API and the web form refuse
//! the same things with the same words.

use crate::validation::Invalid;
use crate::{Email, GroupId, SolutionId};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

pub const TITLE_MAX: usize = 100;
pub const BODY_MAX: usize = 1_000;
/// The serialized `data` object, in bytes.
pub const DATA_MAX: usize = 4 * 1024;
pub const LINK_MAX: usize = 2_048;
/// Ids or emails one notification may name.
pub const TARGETS_MAX: usize = 1_000;
/// How far ahead a notification may be scheduled.
pub const SCHEDULE_HORIZON: Duration = Duration::days(366);

/// Who a notification goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Every active member.
    Org,
    /// The assignees of the named solutions (solution role other than deny).
    Solutions,
    /// The members of the named groups who are assignees (not deny).
    Groups,
    /// The named members.
    Users,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Org => "org",
            Scope::Solutions => "solutions",
            Scope::Groups => "groups",
            Scope::Users => "users",
        }
    }
}

impl std::str::FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "org" => Scope::Org,
            "solutions" => Scope::Solutions,
            "groups" => Scope::Groups,
            "users" => Scope::Users,
            other => return Err(format!("unknown scope `{other}`")),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Waiting for its time.
    Scheduled,
    /// Being written to the recipients' inboxes.
    Sending,
    /// In every recipient's inbox; pushes may still be under way.
    Sent,
    /// Canceled before it was sent.
    Canceled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Scheduled => "scheduled",
            Status::Sending => "sending",
            Status::Sent => "sent",
            Status::Canceled => "canceled",
        }
    }
}

impl std::str::FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "scheduled" => Status::Scheduled,
            "sending" => Status::Sending,
            "sent" => Status::Sent,
            "canceled" => Status::Canceled,
            other => return Err(format!("unknown status `{other}`")),
        })
    }
}

/// A notification as composed, before its audience is checked against the
/// organization.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub data: Option<serde_json::Value>,
    pub scope: Option<Scope>,
    pub solution_ids: Vec<SolutionId>,
    pub group_ids: Vec<GroupId>,
    pub emails: Vec<String>,
    pub scheduled_at: Option<OffsetDateTime>,
}

/// A draft that passed every check that needs no database.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    /// A JSON object, serialized.
    pub data: Option<String>,
    pub scope: Scope,
    pub solution_ids: Vec<SolutionId>,
    pub group_ids: Vec<GroupId>,
    pub emails: Vec<Email>,
    /// `None`: now.
    pub scheduled_at: Option<OffsetDateTime>,
}

impl Draft {
    /// Every problem at once, each under its field.
    pub fn check(mut self, now: OffsetDateTime) -> Result<Checked, Invalid> {
        let mut invalid = Invalid::default();
        let title = self.title.trim().to_owned();
        let body = self.body.trim().to_owned();
        text_field(&mut invalid, "title", &title, TITLE_MAX);
        text_field(&mut invalid, "body", &body, BODY_MAX);
        let link = self
            .link
            .as_deref()
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty());
        if let Some(link) = &link {
            invalid.check("link", check_link(link));
        }
        let data =
            std::mem::take(&mut self.data).and_then(|d| invalid.check("data", check_data(d)));
        let scope = match self.scope {
            Some(scope) => scope,
            None => {
                invalid.push(
                    "scope",
                    "choose who receives it: org, solutions, groups or users",
                );
                Scope::Org
            }
        };
        let emails = targets(&mut invalid, scope, &self);
        if let Some(at) = self.scheduled_at {
            if at < now - Duration::minutes(1) {
                invalid.push(
                    "scheduled_at",
                    "this time has passed; pick a time in the future",
                );
            } else if at > now + SCHEDULE_HORIZON {
                invalid.push(
                    "scheduled_at",
                    "a notification can be scheduled up to a year ahead",
                );
            }
        }
        invalid.into_result()?;
        Ok(Checked {
            title,
            body,
            link,
            data,
            scope,
            solution_ids: dedup(self.solution_ids),
            group_ids: dedup(self.group_ids),
            emails,
            scheduled_at: self.scheduled_at.filter(|at| *at > now),
        })
    }
}

fn text_field(invalid: &mut Invalid, field: &str, value: &str, max: usize) {
    if value.is_empty() {
        invalid.push(field, "required");
    } else if value.chars().count() > max {
        invalid.push(field, format!("at most {max} characters"));
    }
}

/// The audience lists the scope needs, and only those; the emails parsed.
fn targets(invalid: &mut Invalid, scope: Scope, draft: &Draft) -> Vec<Email> {
    let lists = [
        ("solution_ids", draft.solution_ids.len(), Scope::Solutions),
        ("group_ids", draft.group_ids.len(), Scope::Groups),
        ("emails", draft.emails.len(), Scope::Users),
    ];
    for (field, len, needs) in lists {
        if scope == needs && len == 0 {
            invalid.push(
                field,
                format!("name at least one for scope `{}`", scope.as_str()),
            );
        } else if scope != needs && len > 0 {
            invalid.push(field, format!("only used with scope `{}`", needs.as_str()));
        } else if len > TARGETS_MAX {
            invalid.push(field, format!("at most {TARGETS_MAX}"));
        }
    }
    if scope != Scope::Users {
        return Vec::new();
    }
    let mut emails = Vec::new();
    let mut bad = Vec::new();
    for raw in draft.emails.iter().take(TARGETS_MAX) {
        match Email::parse(raw) {
            Ok(email) if !emails.contains(&email) => emails.push(email),
            Ok(_) => {}
            Err(_) => bad.push(raw.trim().to_owned()),
        }
    }
    if !bad.is_empty() {
        invalid.push("emails", format!("not email addresses: {}", bad.join(", ")));
    }
    emails
}

fn dedup<T: Ord>(mut ids: Vec<T>) -> Vec<T> {
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// An `http(s)` URL, or an app deep link (`app://solution/{id}/screen/{name}?k=v`).
pub fn check_link(link: &str) -> Result<(), String> {
    if link.len() > LINK_MAX {
        return Err(format!("at most {LINK_MAX} characters"));
    }
    if link.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a link has no spaces or control characters".into());
    }
    let Some((scheme, rest)) = link.split_once("://") else {
        return Err("use an http(s) URL or an app:// deep link".into());
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    match scheme.to_ascii_lowercase().as_str() {
        "http" | "https" if !host.is_empty() => Ok(()),
        "http" | "https" => Err("the URL has no host".into()),
        "app" if !host.is_empty() => Ok(()),
        "app" => Err("a deep link names where it goes: app://solution/{id}/screen/{name}".into()),
        _ => Err("use an http(s) URL or an app:// deep link".into()),
    }
}

/// The solution a deep link `app://solution/{id}/…` opens, if it names one.
pub fn linked_solution(link: &str) -> Option<Result<SolutionId, String>> {
    let rest = link.strip_prefix("app://solution/")?;
    let id = rest.split(['/', '?', '#']).next().unwrap_or_default();
    Some(
        id.parse()
            .map_err(|_| format!("`{id}` is not a solution id")),
    )
}

fn check_data(data: serde_json::Value) -> Result<String, String> {
    if !data.is_object() {
        return Err("data is a JSON object".into());
    }
    let text = data.to_string();
    if text.len() > DATA_MAX {
        return Err(format!("at most {DATA_MAX} bytes of JSON"));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        time::macros::datetime!(2026-12-01 12:00 UTC)
    }

    fn draft() -> Draft {
        Draft {
            title: "Shift change".into(),
            body: "Tomorrow starts at 7".into(),
            scope: Some(Scope::Org),
            ..Draft::default()
        }
    }

    fn fields(result: Result<Checked, Invalid>) -> Vec<String> {
        result
            .expect_err("invalid")
            .0
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn a_plain_message_to_everyone_passes() {
        let checked = draft().check(now()).expect("valid");
        assert_eq!(checked.scope, Scope::Org);
        assert_eq!(checked.scheduled_at, None);
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let bad = Draft {
            title: "x".repeat(101),
            body: "y".repeat(1001),
            link: Some("javascript:alert(1)".into()),
            data: Some(serde_json::json!([1, 2])),
            scope: None,
            scheduled_at: Some(now() - Duration::hours(1)),
            ..Draft::default()
        };
        assert_eq!(
            fields(bad.check(now())),
            ["title", "body", "link", "data", "scope", "scheduled_at"]
        );
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        let ok = Draft {
            title: "é".repeat(100),
            ..draft()
        };
        assert!(ok.check(now()).is_ok());
    }

    #[test]
    fn data_is_a_small_object() {
        let big = Draft {
            data: Some(serde_json::json!({ "k": "v".repeat(DATA_MAX) })),
            ..draft()
        };
        assert_eq!(fields(big.check(now())), ["data"]);
    }

    #[test]
    fn links_are_web_urls_or_deep_links() {
        assert!(check_link("https://example.com/a?b=c").is_ok());
        assert!(
            check_link("app://solution/0190a1b2-0000-7000-8000-000000000000/screen/home?k=v")
                .is_ok()
        );
        for bad in [
            "ftp://x",
            "https://",
            "app://",
            "example.com",
            "https://a b",
            "data:text/html,x",
        ] {
            assert!(check_link(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            linked_solution("app://solution/nope/screen/a"),
            Some(Err(_))
        ));
        assert!(linked_solution("https://example.com").is_none());
    }

    #[test]
    fn each_scope_needs_its_own_list_and_no_other() {
        let groups_without_ids = Draft {
            scope: Some(Scope::Groups),
            ..draft()
        };
        assert_eq!(fields(groups_without_ids.check(now())), ["group_ids"]);
        let org_with_emails = Draft {
            emails: vec!["a@example.com".into()],
            ..draft()
        };
        assert_eq!(fields(org_with_emails.check(now())), ["emails"]);
        let users = Draft {
            scope: Some(Scope::Users),
            emails: vec![
                "A@example.com".into(),
                "a@example.com".into(),
                "nope".into(),
            ],
            ..draft()
        };
        let error = users.check(now()).expect_err("one bad email");
        assert_eq!(
            error.message_for("emails"),
            Some("not email addresses: nope")
        );
    }

    #[test]
    fn a_schedule_is_in_the_coming_year() {
        let later = Draft {
            scheduled_at: Some(now() + Duration::hours(2)),
            ..draft()
        };
        assert_eq!(
            later.check(now()).expect("ok").scheduled_at,
            Some(now() + Duration::hours(2))
        );
        let too_far = Draft {
            scheduled_at: Some(now() + Duration::days(400)),
            ..draft()
        };
        assert_eq!(fields(too_far.check(now())), ["scheduled_at"]);
    }
}
