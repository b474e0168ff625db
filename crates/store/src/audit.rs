//! The audit log: who did what to whom, with before and after, written in the
//! same transaction as the change.

use crate::error::parse_stored;
use crate::time_ms::{from_ms, to_ms};
use crate::{Conn, Result};
use muster_domain::{AuditId, JobId, OrgId, UserId};
use serde_json::Value;
use time::OffsetDateTime;

pub struct NewEvent<'a> {
    pub org_id: OrgId,
    pub actor_id: Option<UserId>,
    pub actor_email: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub ip: Option<String>,
    /// The job that wrote it, if a job did.
    pub job_id: Option<JobId>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: AuditId,
    pub at: OffsetDateTime,
    pub actor_id: Option<UserId>,
    pub actor_email: String,
    pub action: String,
    pub target: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub ip: Option<String>,
    pub job_id: Option<JobId>,
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// The actor's email.
    pub actor: Option<String>,
    /// An action such as `member.role_changed`, or a prefix ending in `.` (`member.`).
    pub action: Option<String>,
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    /// Only what this job wrote.
    pub job: Option<JobId>,
}

pub async fn record(conn: &mut Conn, event: NewEvent<'_>, now: OffsetDateTime) -> Result<AuditId> {
    let id = AuditId::new();
    sqlx::query(
        "INSERT INTO audit_events (id, org_id, at, actor_id, actor_email, action, target, before, after, ip, job_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(id.to_string())
    .bind(event.org_id.to_string())
    .bind(to_ms(now))
    .bind(event.actor_id.map(|id| id.to_string()))
    .bind(event.actor_email)
    .bind(event.action)
    .bind(event.target)
    .bind(event.before.map(|v| v.to_string()))
    .bind(event.after.map(|v| v.to_string()))
    .bind(event.ip)
    .bind(event.job_id.map(|id| id.to_string()))
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

type Row = (
    String,
    i64,
    Option<String>,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Newest first; `before` is the id of the last event of the previous page.
pub async fn list(
    conn: &mut Conn,
    org_id: OrgId,
    filter: &EventFilter,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<Event>> {
    let mut sql = "SELECT id, at, actor_id, actor_email, action, target, before, after, ip, job_id FROM audit_events \
                   WHERE org_id = $1"
        .to_owned();
    let mut next = 2;
    let mut placeholder = || {
        let p = format!("${next}");
        next += 1;
        p
    };
    let mut order: Vec<Bind> = Vec::new();
    if let Some(actor) = &filter.actor {
        sql.push_str(&format!(" AND actor_email = {}", placeholder()));
        order.push(Bind::Text(actor.trim().to_lowercase()));
    }
    if let Some(action) = &filter.action {
        if action.ends_with('.') {
            sql.push_str(&format!(" AND action LIKE {}", placeholder()));
            order.push(Bind::Text(format!("{action}%")));
        } else {
            sql.push_str(&format!(" AND action = {}", placeholder()));
            order.push(Bind::Text(action.clone()));
        }
    }
    if let Some(from) = filter.from {
        sql.push_str(&format!(" AND at >= {}", placeholder()));
        order.push(Bind::Number(to_ms(from)));
    }
    if let Some(to) = filter.to {
        sql.push_str(&format!(" AND at < {}", placeholder()));
        order.push(Bind::Number(to_ms(to)));
    }
    if let Some(job) = &filter.job {
        sql.push_str(&format!(" AND job_id = {}", placeholder()));
        order.push(Bind::Text(job.to_string()));
    }
    if let Some(before) = before {
        sql.push_str(&format!(" AND id < {}", placeholder()));
        order.push(Bind::Text(before.to_owned()));
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", placeholder()));
    order.push(Bind::Number(limit));
    let mut query = sqlx::query_as::<_, Row>(&sql).bind(org_id.to_string());
    for bind in order {
        query = match bind {
            Bind::Text(text) => query.bind(text),
            Bind::Number(number) => query.bind(number),
        };
    }
    let rows = query.fetch_all(&mut *conn).await?;
    rows.into_iter()
        .map(
            |(id, at, actor_id, actor_email, action, target, before, after, ip, job_id)| {
                Ok(Event {
                    id: parse_stored("audit_events.id", &id)?,
                    at: from_ms(at),
                    actor_id: actor_id
                        .as_deref()
                        .map(|id| parse_stored("audit_events.actor_id", id))
                        .transpose()?,
                    actor_email,
                    action,
                    target,
                    before: before.and_then(|v| serde_json::from_str(&v).ok()),
                    after: after.and_then(|v| serde_json::from_str(&v).ok()),
                    ip,
                    job_id: job_id
                        .as_deref()
                        .map(|id| parse_stored("audit_events.job_id", id))
                        .transpose()?,
                })
            },
        )
        .collect()
}

enum Bind {
    Text(String),
    Number(i64),
}

/// Records many events at once (the invitations of a bulk batch).
pub async fn record_many(
    conn: &mut Conn,
    events: Vec<NewEvent<'_>>,
    now: OffsetDateTime,
) -> Result<()> {
    use crate::batch::Cell;
    let at = to_ms(now);
    let cells = events
        .into_iter()
        .map(|event| {
            vec![
                Cell::Text(AuditId::new().to_string()),
                Cell::Text(event.org_id.to_string()),
                Cell::Int(at),
                Cell::MaybeText(event.actor_id.map(|id| id.to_string())),
                Cell::Text(event.actor_email.to_owned()),
                Cell::Text(event.action.to_owned()),
                Cell::Text(event.target.to_owned()),
                Cell::MaybeText(event.before.map(|v| v.to_string())),
                Cell::MaybeText(event.after.map(|v| v.to_string())),
                Cell::MaybeText(event.ip),
                Cell::MaybeText(event.job_id.map(|id| id.to_string())),
            ]
        })
        .collect();
    crate::batch::insert(
        conn,
        "audit_events",
        &[
            "id",
            "org_id",
            "at",
            "actor_id",
            "actor_email",
            "action",
            "target",
            "before",
            "after",
            "ip",
            "job_id",
        ],
        cells,
    )
    .await
}
