//! My profile: details, organizations, and the theme switch of the user menu.

use crate::http::ui::error::{safe_local_path, UiResult};
use crate::http::ui::layout::{field_errors, render_page, UiForm, UiUser};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect};
use minijinja::{context, Value};
use muster_domain::permission::{can, Capability};
use muster_domain::{names, Invalid, MembershipStatus, OrgId, SolutionRole, Theme};
use muster_store::{assignments, tokens, users};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ProfileForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    first_name: String,
    last_name: String,
    language: String,
    theme: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProfileQuery {
    saved: Option<String>,
    /// What just happened to a token: `extended` or `deleted`.
    token: Option<String>,
    /// What just happened to a membership: `default` or `left`.
    org: Option<String>,
    error: Option<String>,
}

async fn render(
    state: &AppState,
    viewer: &UiUser,
    path: &str,
    form: &ProfileForm,
    errors: Value,
    notice: Option<&str>,
    error: Option<&str>,
) -> UiResult<String> {
    let memberships: Vec<Value> = viewer
        .memberships
        .iter()
        .map(|m| {
            let usable = m.status == MembershipStatus::Active;
            context! {
                org_id => m.org_id.to_string(),
                org_name => m.org_name,
                role => m.role.label(),
                status => m.status.as_str(),
                solution_count => m.solution_count,
                can_open => usable && can(m.role, Capability::SignInToManagement),
                can_default => usable,
            }
        })
        .collect();
    let my_solutions: Vec<Value> = {
        let mut conn = state.store.read().await?;
        assignments::of_user_with_roles(
            &mut conn,
            viewer.user.id,
            &[SolutionRole::Owner, SolutionRole::Editor],
        )
        .await?
        .into_iter()
        .map(|(org_id, org_name, a)| {
            let open = viewer
                .memberships
                .iter()
                .any(|m| m.org_id == org_id && can(m.role, Capability::SignInToManagement));
            context! {
                org_id => org_id.to_string(),
                org_name,
                id => a.solution_id.to_string(),
                name => a.name,
                role => a.role.as_str(),
                latest_version => a.latest_version,
                open,
            }
        })
        .collect()
    };
    let home_role = viewer
        .home_org()
        .and_then(|id| viewer.memberships.iter().find(|m| m.org_id == id))
        .map(|m| context! { org_name => m.org_name, role => m.role.label() });
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
            .map(|token| crate::features::tokens::ui::view(token, now))
            .collect()
    };
    render_page(
        state,
        viewer,
        path,
        "profile.html",
        context! { profile, form, errors, notice, error, memberships, tokens, my_solutions, home_role, themes => ["system", "light", "dark"] },
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
        theme: viewer.user.theme.as_str().to_owned(),
    };
    let html = render(
        &state,
        &viewer,
        uri.path(),
        &form,
        context! {},
        notice(&query),
        query.error.as_deref(),
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
    let theme = match form.theme.as_str() {
        "" => Some(viewer.user.theme),
        raw => invalid.check("theme", raw.parse::<Theme>()),
    };
    let (Some(first_name), Some(last_name), Some(language), Some(theme)) =
        (first_name, last_name, language, theme)
    else {
        let errors = field_errors(&invalid);
        let html = render(&state, &viewer, uri.path(), &form, errors, None, None).await?;
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
            theme,
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
    match (query.token.as_deref(), query.org.as_deref()) {
        (Some("extended"), _) => Some("The token's lease was extended by 14 days."),
        (Some("deleted"), _) => Some("The token was deleted. It no longer works."),
        (_, Some("default")) => {
            Some("Your default organization was changed. It opens after sign-in.")
        }
        (_, Some("left")) => Some("You left the organization."),
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
            theme,
            ..user.profile()
        },
        state.now(),
    )
    .await?;
    let target = safe_local_path(&form.return_to).unwrap_or("/");
    Ok(Redirect::to(target).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MembershipForm {
    csrf_token: String,
    confirm: String,
}

/// "Set as default" and "Leave" on My profile's organization list.
pub async fn membership_action(
    State(state): State<AppState>,
    viewer: UiUser,
    crate::http::extract::ClientIp(ip): crate::http::extract::ClientIp,
    axum::extract::Path((org, action)): axum::extract::Path<(String, String)>,
    UiForm(form): UiForm<MembershipForm>,
) -> UiResult {
    viewer.check_csrf(&form.csrf_token)?;
    let org_id: OrgId = org
        .parse()
        .map_err(|_| crate::http::ui::error::UiError::not_found())?;
    let membership = viewer
        .memberships
        .iter()
        .find(|m| m.org_id == org_id)
        .ok_or_else(crate::http::ui::error::UiError::not_found)?;
    let back_with_error = |message: &str| {
        Ok(Redirect::to(&format!(
            "/me?error={}#organizations",
            crate::http::ui::error::urlencode(message)
        ))
        .into_response())
    };
    match action.as_str() {
        "default" => {
            if membership.status != MembershipStatus::Active {
                return back_with_error(
                    "Only an organization where you are active can be your default.",
                );
            }
            let user = &viewer.user;
            let mut conn = state.store.write().await?;
            users::update_profile(
                &mut conn,
                user.id,
                users::ProfileUpdate {
                    default_org_id: Some(org_id),
                    ..user.profile()
                },
                state.now(),
            )
            .await?;
            Ok(Redirect::to("/me?org=default#organizations").into_response())
        }
        "leave" => {
            if form.confirm != "yes" {
                return back_with_error("Tick the box next to Leave to confirm.");
            }
            let mut tx = state.store.begin().await?;
            let actor = crate::features::audit_log::Actor::load(
                &mut tx,
                viewer.user.id,
                membership.role,
                Some(ip.to_string()),
            )
            .await?;
            match crate::features::members::service::remove(
                &mut tx,
                &state,
                org_id,
                &actor,
                viewer.user.id,
            )
            .await
            {
                Ok(()) => {
                    tx.commit().await.map_err(muster_store::StoreError::from)?;
                    Ok(Redirect::to("/me?org=left#organizations").into_response())
                }
                Err(crate::error::AppError::Internal(cause)) => {
                    Err(crate::http::ui::error::UiError::Internal(cause))
                }
                Err(error) => back_with_error(&error.user_message()),
            }
        }
        _ => Err(crate::http::ui::error::UiError::not_found()),
    }
}
