//! The CSV export: the selection read a page at a time and written as it is
//! read, so a large one is never held in memory.

use super::views::{level_of, rfc3339};
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use muster_domain::spreadsheet::safe_cell;
use muster_domain::OrgId;
use muster_store::logs::{self, Entry, EntryPosition, Filter};

/// Rows of one export.
pub const MAX_ROWS: usize = 1_000_000;
/// Rows read per query: one row may be 64 KB as CSV (a message of 8,192
/// characters and a context of 16 KiB with its quotes doubled), so a chunk
/// stays within a few megabytes.
const PAGE: i64 = 100;

const HEADER: [&str; 13] = [
    "time",
    "received_at",
    "level",
    "category",
    "correlation_id",
    "message",
    "solution_id",
    "solution",
    "user_id",
    "user_email",
    "device_id",
    "device",
    "context",
];

struct Cursor {
    state: AppState,
    org_id: OrgId,
    filter: Filter,
    after: Option<EntryPosition>,
    written: usize,
    header: bool,
    done: bool,
}

pub fn response(state: AppState, org_id: OrgId, filter: Filter) -> Response {
    let start = Cursor {
        state,
        org_id,
        filter,
        after: None,
        written: 0,
        header: false,
        done: false,
    };
    let stream = futures_util::stream::unfold(start, |mut cursor| async move {
        if cursor.done {
            return None;
        }
        match next_chunk(&mut cursor).await {
            Ok(bytes) => Some((Ok::<Bytes, std::io::Error>(bytes), cursor)),
            Err(error) => {
                // The status line is sent already: end the body short, and say why in the log.
                tracing::warn!(error = format!("{error:#}"), "log export stopped");
                cursor.done = true;
                Some((Err(std::io::Error::other("the export stopped")), cursor))
            }
        }
    });
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"muster-logs.csv\"",
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

async fn next_chunk(cursor: &mut Cursor) -> anyhow::Result<Bytes> {
    let mut writer = csv::Writer::from_writer(Vec::with_capacity(64 * 1024));
    if !cursor.header {
        writer.write_record(HEADER)?;
        cursor.header = true;
    }
    let left = MAX_ROWS - cursor.written;
    let limit = PAGE.min(i64::try_from(left).unwrap_or(PAGE));
    let rows = {
        let mut conn = cursor.state.store.read().await?;
        logs::page(
            &mut conn,
            cursor.org_id,
            &cursor.filter,
            cursor.after,
            limit,
        )
        .await?
    };
    if rows.len() < usize::try_from(limit).unwrap_or(0) || cursor.written + rows.len() >= MAX_ROWS {
        cursor.done = true;
    }
    if let Some(last) = rows.last() {
        cursor.after = Some(EntryPosition {
            time_ms: muster_store::time_ms::to_ms(last.time),
            id: last.id,
        });
    }
    cursor.written += rows.len();
    for entry in &rows {
        write_row(&mut writer, entry)?;
    }
    Ok(Bytes::from(writer.into_inner()?))
}

fn write_row(writer: &mut csv::Writer<Vec<u8>>, e: &Entry) -> csv::Result<()> {
    let solution_id = e.solution.as_ref().map(|(id, _)| id.to_string());
    let solution = e.solution.as_ref().and_then(|(_, name)| name.clone());
    let device_id = e.device.as_ref().map(|(id, _)| id.to_string());
    let device = e.device.as_ref().and_then(|(_, name)| name.clone());
    let user_id = e.user_id.to_string();
    let cells: [&str; 13] = [
        &rfc3339(e.time),
        &rfc3339(e.received_at),
        level_of(e.level).as_str(),
        e.category.as_deref().unwrap_or(""),
        &e.correlation_id,
        &e.message,
        solution_id.as_deref().unwrap_or(""),
        solution.as_deref().unwrap_or(""),
        &user_id,
        e.user_email.as_deref().unwrap_or(""),
        device_id.as_deref().unwrap_or(""),
        device.as_deref().unwrap_or(""),
        e.context.as_deref().unwrap_or(""),
    ];
    writer.write_record(
        cells
            .iter()
            .map(|c| safe_cell(c))
            .collect::<Vec<_>>()
            .iter()
            .map(|c| c.as_ref()),
    )
}
