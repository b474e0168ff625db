//! User accounts: one global identity per email address.

use crate::error::parse_stored;
use crate::time_ms::{from_ms, to_ms};
use crate::{Conn, Result, StoreError};
use muster_domain::{Email, OrgId, Theme, UserId};
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub language: String,
    pub theme: Theme,
    pub default_org_id: Option<OrgId>,
    pub created_at: OffsetDateTime,
}

impl User {
    /// The profile as it stands, to change some of it:
    /// `ProfileUpdate { theme, ..user.profile() }`.
    pub fn profile(&self) -> ProfileUpdate<'_> {
        ProfileUpdate {
            first_name: &self.first_name,
            last_name: &self.last_name,
            language: &self.language,
            theme: self.theme,
            default_org_id: self.default_org_id,
        }
    }

    pub fn display_name(&self) -> String {
        let name = format!("{} {}", self.first_name, self.last_name);
        let name = name.trim();
        if name.is_empty() {
            self.email.clone()
        } else {
            name.to_owned()
        }
    }
}

pub struct NewUser<'a> {
    pub email: &'a Email,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub password_hash: Option<&'a str>,
    pub language: &'a str,
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: String,
    email: String,
    first_name: String,
    last_name: String,
    language: String,
    theme: String,
    default_org_id: Option<String>,
    created_at: i64,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(row: UserRow) -> Result<Self> {
        Ok(User {
            id: parse_stored("users.id", &row.id)?,
            email: row.email,
            first_name: row.first_name,
            last_name: row.last_name,
            language: row.language,
            theme: parse_stored("users.theme", &row.theme)?,
            default_org_id: row
                .default_org_id
                .as_deref()
                .map(|id| parse_stored("users.default_org_id", id))
                .transpose()?,
            created_at: from_ms(row.created_at),
        })
    }
}

const COLUMNS: &str =
    "id, email, first_name, last_name, language, theme, default_org_id, created_at";

/// Inserts a user; a taken email is `StoreError::Conflict`.
pub async fn insert(conn: &mut Conn, new: NewUser<'_>, now: OffsetDateTime) -> Result<UserId> {
    let id = UserId::new();
    sqlx::query(
        "INSERT INTO users (id, email, first_name, last_name, password_hash, language, theme, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'system', $7, $7)",
    )
    .bind(id.to_string())
    .bind(new.email.as_str())
    .bind(new.first_name)
    .bind(new.last_name)
    .bind(new.password_hash)
    .bind(new.language)
    .bind(to_ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

pub async fn find(conn: &mut Conn, id: UserId) -> Result<User> {
    let row: UserRow = sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    row.try_into()
}

/// The user, or `None` where there is none (an inviter whose account is gone).
pub async fn find_optional(conn: &mut Conn, id: UserId) -> Result<Option<User>> {
    match find(conn, id).await {
        Ok(user) => Ok(Some(user)),
        Err(StoreError::NotFound) => Ok(None),
        Err(other) => Err(other),
    }
}

pub async fn find_by_email(conn: &mut Conn, email: &Email) -> Result<Option<User>> {
    let row: Option<UserRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE email = $1"))
            .bind(email.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    row.map(User::try_from).transpose()
}

/// The id and password hash for an email, for sign-in.
pub async fn credentials(
    conn: &mut Conn,
    email: &Email,
) -> Result<Option<(UserId, Option<String>)>> {
    let row: Option<(String, Option<String>)> =
        sqlx::query_as("SELECT id, password_hash FROM users WHERE email = $1")
            .bind(email.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    row.map(|(id, hash)| Ok((parse_stored("users.id", &id)?, hash)))
        .transpose()
}

/// The changeable parts of a profile.
pub struct ProfileUpdate<'a> {
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub language: &'a str,
    pub theme: Theme,
    pub default_org_id: Option<OrgId>,
}

pub async fn update_profile(
    conn: &mut Conn,
    id: UserId,
    update: ProfileUpdate<'_>,
    now: OffsetDateTime,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE users SET first_name = $2, last_name = $3, language = $4, theme = $5, default_org_id = $6, updated_at = $7 \
         WHERE id = $1",
    )
    .bind(id.to_string())
    .bind(update.first_name)
    .bind(update.last_name)
    .bind(update.language)
    .bind(update.theme.as_str())
    .bind(update.default_org_id.map(|o| o.to_string()))
    .bind(to_ms(now))
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    refresh_member_search(conn, id).await
}

/// Gives the person a new email (unique: `Conflict` when it is taken), with
/// the copies member lists and solution user lists sort by.
pub async fn set_email(
    conn: &mut Conn,
    id: UserId,
    email: &Email,
    now: OffsetDateTime,
) -> Result<()> {
    let done = sqlx::query("UPDATE users SET email = $2, updated_at = $3 WHERE id = $1")
        .bind(id.to_string())
        .bind(email.as_str())
        .bind(to_ms(now))
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    for table in ["memberships", "solution_assignments"] {
        sqlx::query(&format!("UPDATE {table} SET email = $2 WHERE user_id = $1"))
            .bind(id.to_string())
            .bind(email.as_str())
            .execute(&mut *conn)
            .await?;
    }
    refresh_member_search(conn, id).await
}

/// Member searches look at a copy of the name and email on each membership.
async fn refresh_member_search(conn: &mut Conn, id: UserId) -> Result<()> {
    sqlx::query(
        "UPDATE memberships SET search = (SELECT LOWER(email || ' ' || first_name || ' ' || last_name) \
         FROM users WHERE users.id = memberships.user_id) WHERE user_id = $1",
    )
    .bind(id.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn set_password_hash(
    conn: &mut Conn,
    id: UserId,
    hash: &str,
    now: OffsetDateTime,
) -> Result<()> {
    sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
        .bind(id.to_string())
        .bind(hash)
        .bind(to_ms(now))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn set_default_org_if_none(conn: &mut Conn, id: UserId, org_id: OrgId) -> Result<()> {
    sqlx::query("UPDATE users SET default_org_id = $2 WHERE id = $1 AND default_org_id IS NULL")
        .bind(id.to_string())
        .bind(org_id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Whether the account can sign in with a password (an invited person who has
/// not accepted yet has none).
pub async fn has_password(conn: &mut Conn, id: UserId) -> Result<bool> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT password_hash FROM users WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.is_some_and(|(hash,)| hash.is_some()))
}

/// A user to create in a batch (the id is chosen by the caller).
pub struct NewUserRow {
    pub id: UserId,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub language: String,
}

/// Creates many users (without passwords) in one statement per few thousand.
pub async fn insert_many(conn: &mut Conn, rows: &[NewUserRow], now: OffsetDateTime) -> Result<()> {
    use crate::batch::Cell;
    let at = to_ms(now);
    let cells = rows
        .iter()
        .map(|u| {
            vec![
                Cell::Text(u.id.to_string()),
                Cell::Text(u.email.clone()),
                Cell::Text(u.first_name.clone()),
                Cell::Text(u.last_name.clone()),
                Cell::Text(u.language.clone()),
                Cell::Text("system".into()),
                Cell::Int(at),
                Cell::Int(at),
            ]
        })
        .collect();
    crate::batch::insert(
        conn,
        "users",
        &[
            "id",
            "email",
            "first_name",
            "last_name",
            "language",
            "theme",
            "created_at",
            "updated_at",
        ],
        cells,
    )
    .await
}

/// The users with these (normalized) emails.
pub async fn find_many_by_email(conn: &mut Conn, emails: &[String]) -> Result<Vec<User>> {
    if emails.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE email IN ({})",
        crate::batch::placeholders(1, emails.len())
    );
    let mut query = sqlx::query_as::<_, UserRow>(&sql);
    for email in emails {
        query = query.bind(email.as_str());
    }
    query
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(User::try_from)
        .collect()
}
