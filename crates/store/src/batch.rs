//! Multi-row INSERTs: one statement for many rows, for the bulk paths (a bulk
//! invite writes thousands of rows; one statement each would dominate its time).

use crate::dialect::Dialect;
use crate::{Conn, Result};

/// One value of a row.
#[derive(Debug, Clone)]
pub enum Cell {
    Text(String),
    MaybeText(Option<String>),
    Int(i64),
    MaybeInt(Option<i64>),
    Bytes(Vec<u8>),
}

/// Parameters per statement, well under both databases' limits. On SQLite the
/// parameters are anonymous (`?`): binding a numbered one (`$n`) looks its name
/// up in a list as long as the statement's parameters, so a statement of many
/// `$n` costs the square of their number.
const MAX_PARAMETERS: usize = 1000;

/// `INSERT INTO {table} ({columns}) VALUES (…), (…)` for `rows`, split into as
/// few statements as the parameter limit allows. Every row has one cell per
/// column.
pub async fn insert(
    conn: &mut Conn,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Cell>>,
) -> Result<()> {
    insert_with(conn, table, columns, rows, "", MAX_PARAMETERS)
        .await
        .map(drop)
}

/// Like [`insert`], with up to `max_parameters` per statement (at most 30,000,
/// under SQLite's limit): a batch of log entries goes in one statement instead
/// of twelve, each of which needs its own statement journal.
pub async fn insert_wide(
    conn: &mut Conn,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Cell>>,
    max_parameters: usize,
) -> Result<()> {
    insert_with(conn, table, columns, rows, "", max_parameters.min(30_000))
        .await
        .map(drop)
}

/// Like [`insert`], skipping rows a unique constraint already holds; returns
/// how many were written.
pub async fn insert_new(
    conn: &mut Conn,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Cell>>,
) -> Result<u64> {
    insert_with(
        conn,
        table,
        columns,
        rows,
        " ON CONFLICT DO NOTHING",
        MAX_PARAMETERS,
    )
    .await
}

async fn insert_with(
    conn: &mut Conn,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Cell>>,
    suffix: &str,
    max_parameters: usize,
) -> Result<u64> {
    let mut written = 0;
    let anonymous = Dialect::of(conn).anonymous_parameters();
    let width = columns.len().max(1);
    let per_statement = (max_parameters / width).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Cell>> = rows.by_ref().take(per_statement).collect();
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        let mut n = 0;
        for (i, _) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for c in 0..width {
                if c > 0 {
                    sql.push_str(", ");
                }
                n += 1;
                if anonymous {
                    sql.push('?');
                } else {
                    sql.push_str(&format!("${n}"));
                }
            }
            sql.push(')');
        }
        sql.push_str(suffix);
        let mut query = sqlx::query(&sql);
        for row in chunk {
            for cell in row {
                query = match cell {
                    Cell::Text(v) => query.bind(v),
                    Cell::MaybeText(v) => query.bind(v),
                    Cell::Int(v) => query.bind(v),
                    Cell::MaybeInt(v) => query.bind(v),
                    Cell::Bytes(v) => query.bind(v),
                };
            }
        }
        written += query.execute(&mut *conn).await?.rows_affected();
    }
    Ok(written)
}

/// `$first, $first+1, …` for an `IN (…)` list of `count` values.
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}
