//! Who acts in an organization, and recording what they did in the audit log
//! (always inside the transaction of the change).

use crate::error::AppResult;
use muster_domain::{OrgId, OrgRole, UserId};
use muster_store::{audit, users, Conn};
use serde_json::Value;
use time::OffsetDateTime;

/// The person behind a change.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub role: OrgRole,
    pub ip: Option<String>,
}

impl Actor {
    pub async fn load(
        conn: &mut Conn,
        user_id: UserId,
        role: OrgRole,
        ip: Option<String>,
    ) -> AppResult<Actor> {
        let user = users::find(conn, user_id).await?;
        Ok(Actor::of(&user, role, ip))
    }

    /// `user` acting with `role`.
    pub fn of(user: &users::User, role: OrgRole, ip: Option<String>) -> Actor {
        Actor {
            user_id: user.id,
            name: user.display_name(),
            email: user.email.clone(),
            role,
            ip,
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub async fn record(
    conn: &mut Conn,
    org_id: OrgId,
    actor: &Actor,
    action: &str,
    target: &str,
    before: Option<Value>,
    after: Option<Value>,
    now: OffsetDateTime,
) -> AppResult<()> {
    audit::record(
        conn,
        audit::NewEvent {
            org_id,
            actor_id: Some(actor.user_id),
            actor_email: &actor.email,
            action,
            target,
            before,
            after,
            ip: actor.ip.clone(),
        },
        now,
    )
    .await?;
    Ok(())
}
