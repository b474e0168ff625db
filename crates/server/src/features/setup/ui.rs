//! First-run setup: the one-time link printed at the first start creates the
//! first organization and its owner, then signs the owner in.

use super::service;
use crate::error::AppError;
use crate::features::auth::session;
use crate::features::auth::ui::{form_token, form_token_matches};
use crate::http::ui::error::{message_page, page, UiError, UiResult};
use crate::http::ui::layout::{field_errors, UiForm};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use minijinja::context;
use muster_domain::{names, org, secret, Email, Invalid};
use muster_store::{setup, StoreError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct SetupForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    org_name: String,
    first_name: String,
    last_name: String,
    email: String,
    #[serde(skip_serializing)]
    password: String,
}

fn link_not_valid() -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        "This setup link is no longer valid",
        &[
            "Muster has already been set up, or this link was mistyped.",
            "Sign in with your account, or ask an owner of your organization to invite you.",
        ],
        None,
    )
}

async fn link_is_valid(state: &AppState, token: &str) -> Result<bool, StoreError> {
    let mut conn = state.store.read().await?;
    setup::is_valid(&mut conn, &secret::hash(token)).await
}

pub async fn show(
    State(state): State<AppState>,
    Path(token): Path<String>,
    jar: CookieJar,
) -> UiResult {
    if !link_is_valid(&state, &token).await? {
        return Ok(link_not_valid());
    }
    let (jar, csrf_token) = form_token(&state, jar);
    let body = page(
        "setup.html",
        context! { token, csrf_token, form => SetupForm::default(), errors => context! {} },
    )?;
    Ok((jar, body).into_response())
}

/// The form's fields, every problem at once.
fn parse(form: &SetupForm) -> Result<service::FirstOwner, Invalid> {
    let mut invalid = Invalid::default();
    let org_name = invalid.check("org_name", org::name(&form.org_name));
    let first_name = invalid.check(
        "first_name",
        names::required_text(&form.first_name, names::NAME_MAX),
    );
    let last_name = invalid.check(
        "last_name",
        names::required_text(&form.last_name, names::NAME_MAX),
    );
    let email = invalid.check("email", Email::parse(&form.email));
    invalid.check("password", names::check_new_password(&form.password));
    match (org_name, first_name, last_name, email, invalid.is_empty()) {
        (Some(org_name), Some(first_name), Some(last_name), Some(email), true) => {
            Ok(service::FirstOwner {
                org_name,
                first_name,
                last_name,
                email,
                password: form.password.clone(),
            })
        }
        _ => Err(invalid),
    }
}

pub async fn submit(
    State(state): State<AppState>,
    origin: session::Origin,
    Path(token): Path<String>,
    jar: CookieJar,
    UiForm(form): UiForm<SetupForm>,
) -> UiResult {
    if !form_token_matches(&state, &jar, &form.csrf_token) {
        return Err(UiError::csrf());
    }
    let owner = match parse(&form) {
        Ok(owner) => owner,
        Err(invalid) => return redisplay(&state, jar, &token, &form, &invalid),
    };
    let (org_id, user_id) =
        match service::create(&state, &token, owner, Some(origin.ip.to_string())).await {
            Ok(Some(created)) => created,
            Ok(None) => return Ok(link_not_valid()),
            Err(AppError::Invalid(invalid)) => {
                return redisplay(&state, jar, &token, &form, &invalid)
            }
            Err(other) => return Err(other.into()),
        };
    let new = session::start(&state, user_id, None, &origin).await?;
    let to = Redirect::to(&format!("/orgs/{org_id}/overview"));
    Ok((jar.add(new.cookie), to).into_response())
}

fn redisplay(
    state: &AppState,
    jar: CookieJar,
    token: &str,
    form: &SetupForm,
    invalid: &Invalid,
) -> UiResult {
    let errors = field_errors(invalid);
    let (jar, csrf_token) = form_token(state, jar);
    let html = crate::http::ui::templates::get()?
        .render("setup.html", context! { token, csrf_token, form, errors })?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, jar, Html(html)).into_response())
}
