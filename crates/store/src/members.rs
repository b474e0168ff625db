//! The member list of an organization: filters, search and keyset pagination by
//! email, served by the `(org_id, …, email)` indexes.

use crate::dialect::Dialect;
use crate::error::parse_stored;
use crate::time_ms::from_ms_opt;
use crate::{Conn, Result};
use muster_domain::{MembershipStatus, OrgId, OrgRole, UserId};
use time::OffsetDateTime;

#[derive(Debug, Clone, Default)]
pub struct MemberFilter {
    pub role: Option<OrgRole>,
    pub status: Option<MembershipStatus>,
    /// Matches email, first name, last name and the full name, ignoring case.
    pub q: Option<String>,
    /// Only members assigned to this solution.
    pub solution: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user_id: UserId,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: OrgRole,
    pub status: MembershipStatus,
    pub invited_at: Option<OffsetDateTime>,
    pub joined_at: Option<OffsetDateTime>,
}

type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<i64>,
    Option<i64>,
);

const SELECT: &str = "SELECT m.user_id, m.email, u.first_name, u.last_name, m.role, m.status, m.invited_at, m.joined_at \
                      FROM memberships m JOIN users u ON u.id = m.user_id";

/// Up to `limit` members after the email `after`, by email.
///
/// A search (`q`) is served two ways, both ending in the same page: the
/// members in email order are scanned for matches, which is quick when matches
/// are common; when a window of [`SCAN_WINDOW`] members does not fill the page,
/// the matches are rare and a trigram index finds them (SQLite: an FTS5 table;
/// PostgreSQL: the pg_trgm index).
pub async fn list(
    conn: &mut Conn,
    org_id: OrgId,
    filter: &MemberFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Member>> {
    let mut query = Conditions::new(org_id);
    if let Some(role) = filter.role {
        query.push(" AND m.role = ?", role.as_str().to_owned());
    }
    if let Some(status) = filter.status {
        query.push(" AND m.status = ?", status.as_str().to_owned());
    }
    if let Some(solution) = &filter.solution {
        // The solution's assignments in email order drive the page.
        query.push(" AND a.solution_id = ?", solution.clone());
        if let Some(after) = after {
            query.push(" AND a.email > ?", after.to_owned());
        }
        if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let pattern = format!("%{}%", escape_like(&q.to_lowercase()));
            query.push(" AND m.search LIKE ? ESCAPE '\\'", pattern);
        }
        // The assignments in email order are the outer loop.
        let join = Dialect::of(conn).ordered_join();
        let sql = format!(
            "SELECT m.user_id, m.email, u.first_name, u.last_name, m.role, m.status, m.invited_at, m.joined_at \
             FROM solution_assignments a {join} memberships m ON m.org_id = a.org_id AND m.user_id = a.user_id \
             JOIN users u ON u.id = m.user_id WHERE {}",
            query.sql
        );
        return fetch(conn, &sql, &query.binds, "a.email", limit).await;
    }
    if let Some(after) = after {
        query.push(" AND m.email > ?", after.to_owned());
    }
    let q = filter
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_lowercase);
    let Some(q) = q else {
        return fetch(
            conn,
            &format!("{SELECT} WHERE {}", query.sql),
            &query.binds,
            "m.email",
            limit,
        )
        .await;
    };
    let plain = !q.contains(['%', '_', '\\']);
    let indexed = plain && q.chars().count() >= 3;
    let pattern = format!("%{}%", escape_like(&q));
    if !indexed {
        let mut scan = query.clone();
        scan.push(" AND m.search LIKE ? ESCAPE '\\'", pattern);
        return fetch(
            conn,
            &format!("{SELECT} WHERE {}", scan.sql),
            &scan.binds,
            "m.email",
            limit,
        )
        .await;
    }
    let found = if Dialect::of(conn).member_search_table() {
        sqlite_window(conn, &query, &pattern, limit).await?
    } else {
        postgres_window(conn, &query, &pattern, limit).await?
    };
    if found.len() as i64 >= limit {
        return Ok(found);
    }
    // Rare matches: the trigram index, then the page in email order.
    let mut indexed = query;
    let sql = if Dialect::of(conn).member_search_table() {
        indexed.push(" AND s.search LIKE ?", pattern);
        format!(
            "SELECT m.user_id, m.email, u.first_name, u.last_name, m.role, m.status, m.invited_at, m.joined_at \
             FROM member_search s CROSS JOIN memberships m ON m.org_id = s.org_id AND m.user_id = s.user_id \
             JOIN users u ON u.id = m.user_id WHERE {}",
            indexed.sql
        )
    } else {
        // The matches first, through the pg_trgm index (left to itself, the
        // planner prefers reading every member in email order, hoping to
        // fill the page early), then those few in email order.
        indexed.push(" AND m.search LIKE ?", pattern);
        let pattern = indexed.binds.len();
        format!(
            "WITH hits AS MATERIALIZED (SELECT user_id FROM memberships WHERE org_id = $1 AND search LIKE ${pattern}) \
             SELECT m.user_id, m.email, u.first_name, u.last_name, m.role, m.status, m.invited_at, m.joined_at \
             FROM hits h JOIN memberships m ON m.org_id = $1 AND m.user_id = h.user_id \
             JOIN users u ON u.id = m.user_id WHERE {}",
            indexed.sql
        )
    };
    fetch(conn, &sql, &indexed.binds, "m.email", limit).await
}

/// The matches among the first [`SCAN_WINDOW`] members in order, on SQLite: the
/// window is bounded by the email of its last member, a bound parameter that
/// keeps the scan a range of the index.
async fn sqlite_window(
    conn: &mut Conn,
    query: &Conditions,
    pattern: &str,
    limit: i64,
) -> Result<Vec<Member>> {
    // The first SCAN_WINDOW members in order (bounded by the email of the last
    // of them): enough when matches are common. The search column is in the
    // email index, so rows are filtered before users are joined.
    let mut window = query.clone();
    let bound_sql = format!(
        "SELECT m.email FROM memberships m WHERE {} ORDER BY m.email LIMIT 1 OFFSET {}",
        query.sql,
        SCAN_WINDOW - 1
    );
    let mut bound = sqlx::query_as::<_, (String,)>(&bound_sql);
    for value in &query.binds {
        bound = bound.bind(value.as_str());
    }
    // A bound parameter keeps the scan a range of the index (an OR would not).
    if let Some((last,)) = bound.fetch_optional(&mut *conn).await? {
        window.push(" AND m.email <= ?", last);
    }
    window.push(" AND m.search LIKE ?", pattern.to_owned());
    fetch(
        conn,
        &format!("{SELECT} WHERE {}", window.sql),
        &window.binds,
        "m.email",
        limit,
    )
    .await
}

/// The same on PostgreSQL, in one statement: the window is a subquery in email
/// order, so the scan stops at the page's last match or at the window's end.
async fn postgres_window(
    conn: &mut Conn,
    query: &Conditions,
    pattern: &str,
    limit: i64,
) -> Result<Vec<Member>> {
    let window = format!(
        "SELECT m.user_id, m.email, m.role, m.status, m.invited_at, m.joined_at, m.search \
         FROM memberships m WHERE {} ORDER BY m.email LIMIT {SCAN_WINDOW}",
        query.sql
    );
    let mut outer = query.clone();
    outer.sql = String::new();
    outer.push("m.search LIKE ?", pattern.to_owned());
    let sql = format!(
        "SELECT m.user_id, m.email, u.first_name, u.last_name, m.role, m.status, m.invited_at, m.joined_at \
         FROM ({window}) m JOIN users u ON u.id = m.user_id WHERE {}",
        outer.sql
    );
    fetch(conn, &sql, &outer.binds, "m.email", limit).await
}

/// How many members the scan for a search reads before it asks the index.
const SCAN_WINDOW: i64 = 5000;

/// A WHERE clause and its values, numbered `$1…` in order.
#[derive(Clone)]
struct Conditions {
    sql: String,
    binds: Vec<String>,
}

impl Conditions {
    fn new(org_id: OrgId) -> Self {
        Conditions {
            sql: "m.org_id = $1".to_owned(),
            binds: vec![org_id.to_string()],
        }
    }

    fn push(&mut self, condition: &str, value: String) {
        self.binds.push(value);
        self.sql
            .push_str(&condition.replace('?', &format!("${}", self.binds.len())));
    }
}

/// Runs `sql` (a SELECT of [`Row`]s up to its WHERE clause) in `order`, at most
/// `limit` rows.
async fn fetch(
    conn: &mut Conn,
    sql: &str,
    binds: &[String],
    order: &str,
    limit: i64,
) -> Result<Vec<Member>> {
    let sql = format!("{sql} ORDER BY {order} LIMIT ${}", binds.len() + 1);
    let mut query = sqlx::query_as::<_, Row>(&sql);
    for value in binds {
        query = query.bind(value.as_str());
    }
    let rows = query.bind(limit).fetch_all(&mut *conn).await?;
    rows.into_iter().map(from_row).collect()
}

pub async fn find(conn: &mut Conn, org_id: OrgId, user_id: UserId) -> Result<Option<Member>> {
    let row: Option<Row> =
        sqlx::query_as(&format!("{SELECT} WHERE m.org_id = $1 AND m.user_id = $2"))
            .bind(org_id.to_string())
            .bind(user_id.to_string())
            .fetch_optional(&mut *conn)
            .await?;
    row.map(from_row).transpose()
}

fn from_row(
    (user_id, email, first_name, last_name, role, status, invited, joined): Row,
) -> Result<Member> {
    Ok(Member {
        user_id: parse_stored("memberships.user_id", &user_id)?,
        email,
        first_name,
        last_name,
        role: parse_stored("memberships.role", &role)?,
        status: parse_stored("memberships.status", &status)?,
        invited_at: from_ms_opt(invited),
        joined_at: from_ms_opt(joined),
    })
}

fn escape_like(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
