//! Bulk invite in the browser: upload a CSV, watch the job's progress (a page
//! that refreshes itself; a script polls the API instead when it can), read the
//! per-row report and download it as CSV.

use crate::error::AppError;
use crate::features::invitations::bulk_job::{self, COLUMNS};
use crate::features::invitations::progress::{self, JobView};
use crate::http::ui::error::{page, UiError, UiResult};
use crate::http::ui::layout::OrgPage;
use crate::state::AppState;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect};
use minijinja::context;
use muster_domain::permission::Capability;

pub async fn form(view: OrgPage, uri: Uri) -> UiResult {
    view.require(Capability::ManageInvitations)?;
    page(
        "bulk.html",
        view.context(
            "users",
            uri.path(),
            context! { columns => COLUMNS, error => "" },
        ),
    )
}

/// The CSRF token and the file of the upload form, or why they cannot be read.
async fn read_upload(mut multipart: Multipart) -> Result<(String, Vec<u8>), (String, StatusCode)> {
    let mut csrf = String::new();
    let mut file = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Ok((csrf, file)),
            Err(e) => {
                return Err((
                    format!("the upload could not be read: {}", e.body_text()),
                    e.status(),
                ))
            }
        };
        match field.name() {
            Some("csrf_token") => csrf = field.text().await.unwrap_or_default(),
            Some("file") => match field.bytes().await {
                Ok(bytes) => file = bytes.to_vec(),
                Err(e) => {
                    return Err((
                        format!("the file could not be read: {}", e.body_text()),
                        e.status(),
                    ))
                }
            },
            _ => {}
        }
    }
}

pub async fn upload(
    State(state): State<AppState>,
    view: OrgPage,
    uri: Uri,
    multipart: Multipart,
) -> UiResult {
    view.require(Capability::ManageInvitations)?;
    let (csrf, file) = match read_upload(multipart).await {
        Ok(upload) => upload,
        Err((message, status)) => return retry_page(&view, uri.path(), &message, status),
    };
    view.viewer.check_csrf(&csrf)?;
    if file.is_empty() {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return retry_page(&view, uri.path(), "choose a CSV file to upload", status);
    }
    if file.len() > bulk_job::MAX_BYTES {
        let status = StatusCode::PAYLOAD_TOO_LARGE;
        return retry_page(
            &view,
            uri.path(),
            "the file is larger than 10 MB; split it",
            status,
        );
    }
    let started = match bulk_job::parse_csv(&file) {
        Ok(rows) => bulk_job::start(&state, &view.scope, rows).await,
        Err(error) => Err(error),
    };
    match started {
        Ok((job_id, _)) => {
            Ok(Redirect::to(&format!("/orgs/{}/jobs/{job_id}", view.org.id)).into_response())
        }
        Err(AppError::Internal(cause)) => Err(UiError::Internal(cause)),
        Err(error) => {
            let status = crate::http::problem::status(&error);
            retry_page(&view, uri.path(), &error.user_message(), status)
        }
    }
}

fn retry_page(view: &OrgPage, path: &str, error: &str, status: StatusCode) -> UiResult {
    let html = crate::http::ui::templates::get()?.render(
        "bulk.html",
        view.context("users", path, context! { columns => COLUMNS, error }),
    )?;
    Ok((status, Html(html)).into_response())
}

async fn load(state: &AppState, view: &OrgPage, id: &str) -> Result<JobView, UiError> {
    Ok(progress::load(state, &view.scope, id).await?)
}

pub async fn job(
    State(state): State<AppState>,
    view: OrgPage,
    uri: Uri,
    Path((_, id)): Path<(String, String)>,
) -> UiResult {
    let job = load(&state, &view, &id).await?;
    let finished = matches!(job.status.as_str(), "succeeded" | "failed");
    let percent = if job.total > 0 {
        job.processed * 100 / job.total
    } else {
        0
    };
    page(
        "job.html",
        view.context(
            "users",
            uri.path(),
            context! {
                job_id => job.id.to_string(),
                status => job.status,
                total => job.total,
                processed => job.processed,
                percent,
                finished,
                errors => job.errors.iter().map(|e| context! { row => e.row, email => e.email, message => e.message }).collect::<Vec<_>>(),
                last_error => job.last_error,
                api_url => format!("/api/v1/orgs/{}/jobs/{}", view.org.id, job.id),
            },
        ),
    )
}

pub async fn errors_csv(
    State(state): State<AppState>,
    view: OrgPage,
    Path((_, id)): Path<(String, String)>,
) -> UiResult {
    let job = load(&state, &view, &id).await?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    let write = |writer: &mut csv::Writer<Vec<u8>>, record: [&str; 3]| {
        writer
            .write_record(
                record
                    .map(muster_domain::spreadsheet::safe_cell)
                    .iter()
                    .map(|c| c.as_ref()),
            )
            .map_err(|e| UiError::Internal(e.into()))
    };
    write(&mut writer, ["row", "email", "message"])?;
    for error in &job.errors {
        write(
            &mut writer,
            [&error.row.to_string(), &error.email, &error.message],
        )?;
    }
    let body = writer
        .into_inner()
        .map_err(|e| UiError::Internal(e.into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"invite-errors-{}.csv\"", job.id),
            ),
        ],
        body,
    )
        .into_response())
}
