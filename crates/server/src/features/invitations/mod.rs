//! Inviting people: one at a time, in bulk from a CSV (a job with progress),
//! re-inviting, revoking, and the invite link a person accepts.

pub mod accept;
pub mod accept_ui;
pub mod api;
pub mod bulk;
pub mod bulk_job;
pub mod bulk_ui;
pub mod jobs_api;
pub mod progress;
pub mod service;
pub mod ui;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn api_routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(api::create_invitation))
        .routes(routes!(api::bulk_invite))
        .routes(routes!(api::revoke_invitation))
        .routes(routes!(api::get_invitation))
        .routes(routes!(api::accept_invitation))
        .routes(routes!(jobs_api::get_job))
}

pub fn ui_routes(router: axum::Router<AppState>) -> axum::Router<AppState> {
    use axum::extract::DefaultBodyLimit;
    use axum::routing::get;
    router
        .route(
            "/orgs/{org}/users/bulk",
            get(bulk_ui::form)
                .post(bulk_ui::upload)
                .layer(DefaultBodyLimit::max(bulk_job::MAX_BYTES + 64 * 1024)),
        )
        .route(
            "/orgs/{org}/users/invite",
            get(ui::invite_form).post(ui::invite_submit),
        )
        .route("/orgs/{org}/jobs/{id}", get(bulk_ui::job))
        .route("/orgs/{org}/jobs/{id}/errors.csv", get(bulk_ui::errors_csv))
        .route(
            "/invite/{token}",
            get(accept_ui::show).post(accept_ui::accept),
        )
}

/// The bulk-invite job, and dropping the uploads of finished ones (a
/// 100,000-row upload is megabytes the database would keep for good).
pub fn jobs(registry: crate::jobs::Registry) -> crate::jobs::Registry {
    registry
        .kind(|state, job_id, job: bulk_job::BulkInvite| async move {
            bulk_job::run(&state, job_id, job).await
        })
        .housekeeping("finished bulk uploads", |state, _now| async move {
            let mut conn = state.store.write().await?;
            muster_store::job_progress::delete_finished_inputs(&mut conn).await?;
            Ok(())
        })
}
