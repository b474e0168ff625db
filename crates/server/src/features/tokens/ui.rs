//! My profile → Personal access tokens: add (the secret shown once), extend
//! the lease, delete. The rules live in `crate::features::tokens::service`.

use crate::error::AppError;
use crate::features::invitations::service::format_time;
use crate::features::tokens::service as tokens;
use crate::http::ui::error::{UiError, UiResult};
use crate::http::ui::layout::render_page;
use crate::http::ui::layout::{field_errors, UiForm, UiUser};
use crate::http::ui::when::relative;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect};
use minijinja::{context, Value};
use muster_domain::{Invalid, TokenId};
use muster_store::tokens::Token;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// Tokens whose lease ends sooner than this are highlighted.
const EXPIRING_SOON: Duration = Duration::days(7);

/// A token as a table row or a panel shows it.
pub fn view(token: &Token, now: OffsetDateTime) -> Value {
    let left = token.lease_expires_at - now;
    context! {
        id => token.id.to_string(),
        name => token.name,
        prefix => token.prefix,
        created => format_time(token.created_at),
        created_relative => relative(token.created_at, now),
        last_used => token.last_used_at.map(format_time),
        last_used_relative => token.last_used_at.map(|at| relative(at, now)),
        lease_expires => format_time(token.lease_expires_at),
        lease_relative => relative(token.lease_expires_at, now),
        expired => !left.is_positive(),
        expiring_soon => left.is_positive() && left < EXPIRING_SOON,
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct NewTokenForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    name: String,
}

pub async fn new_form(State(state): State<AppState>, viewer: UiUser, uri: Uri) -> UiResult {
    let form = NewTokenForm::default();
    let html = render_page(
        &state,
        &viewer,
        uri.path(),
        "token_new.html",
        context! { form, errors => context! {} },
    )
    .await?;
    Ok(Html(html).into_response())
}

pub async fn create(
    State(state): State<AppState>,
    viewer: UiUser,
    uri: Uri,
    crate::http::extract::ClientIp(ip): crate::http::extract::ClientIp,
    UiForm(form): UiForm<NewTokenForm>,
) -> UiResult {
    viewer.check_csrf(&form.csrf_token)?;
    match tokens::create(&state, viewer.user.id, &form.name, Some(ip.to_string())).await {
        Ok((secret, token)) => {
            // The secret goes into this one response and is never stored.
            let html = render_page(
                &state,
                &viewer,
                uri.path(),
                "token_created.html",
                context! { token => view(&token, state.now()), secret => secret.expose() },
            )
            .await?;
            Ok((StatusCode::CREATED, Html(html)).into_response())
        }
        Err(AppError::Invalid(invalid)) => rejected(&state, &viewer, &uri, &form, &invalid).await,
        Err(AppError::Conflict(message)) => {
            rejected(
                &state,
                &viewer,
                &uri,
                &form,
                &Invalid::field("form", message),
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

async fn rejected(
    state: &AppState,
    viewer: &UiUser,
    uri: &Uri,
    form: &NewTokenForm,
    invalid: &Invalid,
) -> UiResult {
    let errors = field_errors(invalid);
    let html = render_page(
        state,
        viewer,
        uri.path(),
        "token_new.html",
        context! { form, errors },
    )
    .await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response())
}

fn parse_id(raw: &str) -> UiResult<TokenId> {
    raw.parse().map_err(|_| UiError::not_found())
}

pub async fn detail(
    State(state): State<AppState>,
    viewer: UiUser,
    uri: Uri,
    Path(id): Path<String>,
) -> UiResult {
    let token = tokens::find(&state, viewer.user.id, parse_id(&id)?).await?;
    let html = render_page(
        &state,
        &viewer,
        uri.path(),
        "token_detail.html",
        context! { token => view(&token, state.now()), errors => context! {} },
    )
    .await?;
    Ok(Html(html).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenActionForm {
    csrf_token: String,
    confirm: String,
}

/// Extend lease, or delete (which needs the confirmation box ticked).
pub async fn action(
    State(state): State<AppState>,
    viewer: UiUser,
    uri: Uri,
    crate::http::extract::ClientIp(ip): crate::http::extract::ClientIp,
    Path((id, action)): Path<(String, String)>,
    UiForm(form): UiForm<TokenActionForm>,
) -> UiResult {
    viewer.check_csrf(&form.csrf_token)?;
    let id = parse_id(&id)?;
    let ip = Some(ip.to_string());
    match action.as_str() {
        "extend" => {
            tokens::extend(&state, viewer.user.id, id, ip).await?;
            Ok(Redirect::to("/me?token=extended#tokens").into_response())
        }
        "delete" if form.confirm != "yes" => {
            let token = tokens::find(&state, viewer.user.id, id).await?;
            let errors = field_errors(&Invalid::field(
                "confirm",
                "tick the box to confirm the deletion",
            ));
            let html = render_page(
                &state,
                &viewer,
                uri.path(),
                "token_detail.html",
                context! { token => view(&token, state.now()), errors },
            )
            .await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response())
        }
        "delete" => {
            tokens::delete(&state, viewer.user.id, id, ip).await?;
            Ok(Redirect::to("/me?token=deleted#tokens").into_response())
        }
        _ => Err(UiError::not_found()),
    }
}
