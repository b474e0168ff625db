//! My profile: details, organizations, and the theme switch of the user menu.

use super::context::{field_errors, layout, UiForm, UiUser};
use super::error::{safe_local_path, UiResult};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect};
use minijinja::{context, Value};
use muster_domain::{names, Invalid, Theme};
use muster_store::{orgs, tokens, users};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ProfileForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    first_name: String,
    last_name: String,
    language: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProfileQuery {
    saved: Option<String>,
    /// What just happened to a token: `extended` or `deleted`.
    token: Option<String>,
}

/// A page of My profile, in the layout of the viewer's home organization.
pub async fn render_page(
    state: &AppState,
    viewer: &UiUser,
    path: &str,
    template: &str,
    page: Value,
) -> UiResult<String> {
    let home = match viewer.home_org() {
        Some(org_id) => {
            let mut conn = state.store.read().await?;
            let org = orgs::find(&mut conn, org_id).await?;
            viewer
                .memberships
                .iter()
                .find(|m| m.org_id == org_id)
                .map(|m| (org, m.role))
        }
        None => None,
    };
    let context = layout(
        viewer,
        home.as_ref().map(|(org, role)| (org, *role)),
        "profile",
        path,
        page,
    );
    Ok(super::templates::get()?.render(template, context)?)
}

async fn render(
    state: &AppState,
    viewer: &UiUser,
    path: &str,
    form: &ProfileForm,
    errors: Value,
    notice: Option<&str>,
) -> UiResult<String> {
    let memberships: Vec<Value> = viewer
        .memberships
        .iter()
        .map(|m| context! { org_id => m.org_id.to_string(), org_name => m.org_name, role => m.role.label(), status => m.status.as_str() })
        .collect();
    let profile = context! {
        email => viewer.user.email,
        default_org_id => viewer.user.default_org_id.map(|id| id.to_string()),
    };
    let now = state.now();
    let tokens: Vec<Value> = {
        let mut conn = state.store.read().await?;
        tokens::list_for_user(&mut conn, viewer.user.id)
            .await?
            .iter()
            .map(|token| super::tokens::view(token, now))
            .collect()
    };
    render_page(
        state,
        viewer,
        path,
        "profile.html",
        context! { profile, form, errors, notice, memberships, tokens },
    )
    .await
}

pub async fn show(
    State(state): State<AppState>,
    viewer: UiUser,
    uri: Uri,
    Query(query): Query<ProfileQuery>,
) -> UiResult {
    if viewer.home_org().is_none() {
        // Members whose roles are all `user` manage their profile through the API.
        return Ok(Redirect::to("/no-access").into_response());
    }
    let form = ProfileForm {
        csrf_token: String::new(),
        first_name: viewer.user.first_name.clone(),
        last_name: viewer.user.last_name.clone(),
        language: viewer.user.language.clone(),
    };
    let html = render(
        &state,
        &viewer,
        uri.path(),
        &form,
        context! {},
        notice(&query),
    )
    .await?;
    Ok(Html(html).into_response())
}

pub async fn save(
    State(state): State<AppState>,
    viewer: UiUser,
    uri: Uri,
    UiForm(form): UiForm<ProfileForm>,
) -> UiResult {
    viewer.check_csrf(&form.csrf_token)?;
    let mut invalid = Invalid::default();
    let first_name = invalid.check(
        "first_name",
        names::required_text(&form.first_name, names::NAME_MAX),
    );
    let last_name = invalid.check(
        "last_name",
        names::required_text(&form.last_name, names::NAME_MAX),
    );
    let language = invalid.check("language", names::language_tag(&form.language));
    let (Some(first_name), Some(last_name), Some(language)) = (first_name, last_name, language)
    else {
        let errors = field_errors(&invalid);
        let html = render(&state, &viewer, uri.path(), &form, errors, None).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response());
    };
    let mut conn = state.store.write().await?;
    users::update_profile(
        &mut conn,
        viewer.user.id,
        users::ProfileUpdate {
            first_name: &first_name,
            last_name: &last_name,
            language: &language,
            theme: viewer.user.theme,
            default_org_id: viewer.user.default_org_id,
        },
        state.now(),
    )
    .await?;
    Ok(Redirect::to("/me?saved=1").into_response())
}

fn notice(query: &ProfileQuery) -> Option<&'static str> {
    if query.saved.is_some() {
        return Some("Your profile was saved.");
    }
    match query.token.as_deref() {
        Some("extended") => Some("The token's lease was extended by 14 days."),
        Some("deleted") => Some("The token was deleted. It no longer works."),
        _ => None,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ThemeForm {
    csrf_token: String,
    theme: String,
    return_to: String,
}

/// The light/dark/system switch; remembered on the user, so every browser and
/// every instance shows the same.
pub async fn set_theme(
    State(state): State<AppState>,
    viewer: UiUser,
    UiForm(form): UiForm<ThemeForm>,
) -> UiResult {
    viewer.check_csrf(&form.csrf_token)?;
    let theme: Theme = form.theme.parse().unwrap_or(Theme::System);
    let user = &viewer.user;
    let mut conn = state.store.write().await?;
    users::update_profile(
        &mut conn,
        user.id,
        users::ProfileUpdate {
            first_name: &user.first_name,
            last_name: &user.last_name,
            language: &user.language,
            theme,
            default_org_id: user.default_org_id,
        },
        state.now(),
    )
    .await?;
    let target = safe_local_path(&form.return_to).unwrap_or("/");
    Ok(Redirect::to(target).into_response())
}
