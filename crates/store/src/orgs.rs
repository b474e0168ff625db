//! Organizations (tenants) and their settings.

use crate::error::parse_stored;
use crate::time_ms::{from_ms, to_ms};
use crate::{Conn, Result, StoreError};
use muster_domain::OrgId;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    pub id: OrgId,
    pub name: String,
    pub description: String,
    pub public_url: String,
    pub default_language: String,
    pub invite_lifetime_days: i64,
    pub log_retention_days: i64,
    pub usage_retention_days: i64,
    pub logging_level: String,
    /// Owners and admins must sign in with two factors to use Management.
    pub require_two_factor: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// The settings an owner or admin edits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgSettings {
    pub name: String,
    pub description: String,
    pub public_url: String,
    pub default_language: String,
    pub invite_lifetime_days: i64,
    pub log_retention_days: i64,
    pub usage_retention_days: i64,
    pub logging_level: String,
    pub require_two_factor: bool,
}

impl Org {
    pub fn settings(&self) -> OrgSettings {
        OrgSettings {
            name: self.name.clone(),
            description: self.description.clone(),
            public_url: self.public_url.clone(),
            default_language: self.default_language.clone(),
            invite_lifetime_days: self.invite_lifetime_days,
            log_retention_days: self.log_retention_days,
            usage_retention_days: self.usage_retention_days,
            logging_level: self.logging_level.clone(),
            require_two_factor: self.require_two_factor,
        }
    }
}

#[derive(sqlx::FromRow)]
struct OrgRow {
    id: String,
    name: String,
    description: String,
    public_url: String,
    default_language: String,
    invite_lifetime_days: i64,
    log_retention_days: i64,
    usage_retention_days: i64,
    logging_level: String,
    require_two_factor: i64,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<OrgRow> for Org {
    type Error = StoreError;
    fn try_from(row: OrgRow) -> Result<Self> {
        Ok(Org {
            id: parse_stored("organizations.id", &row.id)?,
            name: row.name,
            description: row.description,
            public_url: row.public_url,
            default_language: row.default_language,
            invite_lifetime_days: row.invite_lifetime_days,
            log_retention_days: row.log_retention_days,
            usage_retention_days: row.usage_retention_days,
            logging_level: row.logging_level,
            require_two_factor: row.require_two_factor != 0,
            created_at: from_ms(row.created_at),
            updated_at: from_ms(row.updated_at),
        })
    }
}

const COLUMNS: &str = "id, name, description, public_url, default_language, invite_lifetime_days, \
                       log_retention_days, usage_retention_days, logging_level, require_two_factor, \
                       created_at, updated_at";

pub async fn insert(
    conn: &mut Conn,
    name: &str,
    description: &str,
    default_language: &str,
    now: OffsetDateTime,
) -> Result<OrgId> {
    let id = OrgId::new();
    sqlx::query(
        "INSERT INTO organizations (id, name, description, default_language, logging_level, created_at, updated_at) \
         VALUES ($1, $2, $6, $3, $5, $4, $4)",
    )
    .bind(id.to_string())
    .bind(name)
    .bind(default_language)
    .bind(to_ms(now))
    .bind(muster_domain::org::LOGGING_LEVEL_DEFAULT)
    .bind(description)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

pub async fn find(conn: &mut Conn, id: OrgId) -> Result<Org> {
    let row: OrgRow = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM organizations WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    row.try_into()
}

pub async fn update(
    conn: &mut Conn,
    id: OrgId,
    settings: &OrgSettings,
    now: OffsetDateTime,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE organizations SET name = $2, description = $3, public_url = $4, default_language = $5, \
         invite_lifetime_days = $6, log_retention_days = $7, logging_level = $8, updated_at = $9, \
         usage_retention_days = $10, require_two_factor = $11 WHERE id = $1",
    )
    .bind(id.to_string())
    .bind(&settings.name)
    .bind(&settings.description)
    .bind(&settings.public_url)
    .bind(&settings.default_language)
    .bind(settings.invite_lifetime_days)
    .bind(settings.log_retention_days)
    .bind(&settings.logging_level)
    .bind(to_ms(now))
    .bind(settings.usage_retention_days)
    .bind(i64::from(settings.require_two_factor))
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Deletes the organization with everything that belongs to it, and clears it as
/// anyone's default.
pub async fn delete(conn: &mut Conn, id: OrgId) -> Result<()> {
    sqlx::query("UPDATE users SET default_org_id = NULL WHERE default_org_id = $1")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query("DELETE FROM organizations WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub async fn any_exists(conn: &mut Conn) -> Result<bool> {
    let row: Option<(String,)> = sqlx::query_as("SELECT id FROM organizations LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.is_some())
}

/// The organizations where `user_id` is an active member, with their role, by id
/// after `after` (keyset pagination).
pub async fn list_for_member(
    conn: &mut Conn,
    user_id: muster_domain::UserId,
    after: Option<OrgId>,
    limit: i64,
) -> Result<Vec<(Org, muster_domain::OrgRole)>> {
    #[derive(sqlx::FromRow)]
    struct MemberOrgRow {
        #[sqlx(flatten)]
        org: OrgRow,
        role: String,
    }
    let rows: Vec<MemberOrgRow> = sqlx::query_as(
        "SELECT o.id, o.name, o.description, o.public_url, o.default_language, o.invite_lifetime_days, \
         o.log_retention_days, o.usage_retention_days, o.logging_level, o.require_two_factor, \
         o.created_at, o.updated_at, m.role \
         FROM memberships m JOIN organizations o ON o.id = m.org_id \
         WHERE m.user_id = $1 AND m.status = 'active' AND o.deleting_at IS NULL AND o.id > $2 \
         ORDER BY o.id LIMIT $3",
    )
    .bind(user_id.to_string())
    .bind(after.map(|id| id.to_string()).unwrap_or_default())
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok((
                Org::try_from(row.org)?,
                parse_stored("memberships.role", &row.role)?,
            ))
        })
        .collect()
}

/// Creates an organization with `owner` as its active owner, and makes it the
/// owner's default organization if they have none yet.
pub async fn create_with_owner(
    conn: &mut Conn,
    name: &str,
    description: &str,
    default_language: &str,
    owner: muster_domain::UserId,
    now: OffsetDateTime,
) -> Result<OrgId> {
    let org_id = insert(conn, name, description, default_language, now).await?;
    crate::memberships::insert(
        conn,
        &crate::memberships::founding_owner(org_id, owner, now),
        now,
    )
    .await?;
    sqlx::query("UPDATE users SET default_org_id = $2 WHERE id = $1 AND default_org_id IS NULL")
        .bind(owner.to_string())
        .bind(org_id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(org_id)
}
