//! My profile: details, organizations, My troubleshooting (`logs::ui_mine`),
//! and the theme switch of the user menu.

use super::service::{self, MeUpdate};
use crate::error::AppError;
use crate::features::logs::ui_mine::{self as my_troubleshooting, MineQuery};
use crate::http::extract::ClientIp;
use crate::http::ui::error::{safe_local_path, UiError, UiResult};
use crate::http::ui::flash::Flash;
use crate::http::ui::layout::{field_errors, render_page, UiForm, UiUser};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect};
use minijinja::{context, Value};
use muster_domain::permission::{can, Capability};
use muster_domain::{Invalid, MembershipStatus, OrgId, SolutionRole, Theme};
use muster_store::memberships::MembershipSummary;
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
    /// What just happened to a device: `revoked`.
    device: Option<String>,
}

/// The page, with what just happened (`notice`, `error`) and My
/// troubleshooting's values (`mine`).
async fn render(
    state: &AppState,
    viewer: &UiUser,
    path: &str,
    form: &ProfileForm,
    errors: Value,
    (notice, error): (Option<&str>, Option<&str>),
    mine: Value,
) -> UiResult<String> {
    let memberships = membership_rows(viewer);
    let my_solutions = solution_rows(state, viewer).await?;
    let home_role = home_role(viewer);
    let profile = context! {
        email => viewer.user.email,
        default_org_id => viewer.user.default_org_id.map(|id| id.to_string()),
    };
    let tokens = token_rows(state, viewer).await?;
    let devices = crate::features::devices::ui::device_rows(state, viewer).await?;
    render_page(
        state,
        viewer,
        path,
        "profile.html",
        context! { profile, form, errors, notice, error, memberships, tokens, devices, my_solutions, home_role, mine, themes => ["system", "light", "dark"] },
    )
    .await
}

/// The organizations list, with what each row offers.
fn membership_rows(viewer: &UiUser) -> Vec<Value> {
    viewer
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
        .collect()
}

/// The solutions the viewer owns or edits, across organizations.
async fn solution_rows(state: &AppState, viewer: &UiUser) -> UiResult<Vec<Value>> {
    let mut conn = state.store.read().await?;
    Ok(assignments::of_user_with_roles(
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
    .collect())
}

/// The viewer's role in their home organization, if any.
fn home_role(viewer: &UiUser) -> Option<Value> {
    viewer
        .home_org()
        .and_then(|id| viewer.memberships.iter().find(|m| m.org_id == id))
        .map(|m| context! { org_name => m.org_name, role => m.role.label() })
}

/// The viewer's API tokens.
async fn token_rows(state: &AppState, viewer: &UiUser) -> UiResult<Vec<Value>> {
    let now = state.now();
    let mut conn = state.store.read().await?;
    Ok(tokens::list_for_user(&mut conn, viewer.user.id)
        .await?
        .iter()
        .map(|token| crate::features::tokens::ui::view(token, now))
        .collect())
}

pub async fn show(
    State(state): State<AppState>,
    viewer: UiUser,
    uri: Uri,
    ClientIp(ip): ClientIp,
    Query(query): Query<ProfileQuery>,
    Query(logs): Query<MineQuery>,
    flash: Flash,
) -> UiResult {
    let form = ProfileForm {
        csrf_token: String::new(),
        first_name: viewer.user.first_name.clone(),
        last_name: viewer.user.last_name.clone(),
        language: viewer.user.language.clone(),
        theme: viewer.user.theme.as_str().to_owned(),
    };
    let (mine, refused) = my_troubleshooting::section(&state, &viewer, ip, &logs).await?;
    let html = render(
        &state,
        &viewer,
        uri.path(),
        &form,
        context! {},
        (
            flash.notice.as_deref().or(notice(&query)),
            flash.error.as_deref(),
        ),
        mine,
    )
    .await?;
    let status = if refused {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, Html(html)).into_response())
}

pub async fn save(
    State(state): State<AppState>,
    viewer: UiUser,
    uri: Uri,
    ClientIp(ip): ClientIp,
    UiForm(form): UiForm<ProfileForm>,
) -> UiResult {
    viewer.check_csrf(&form.csrf_token)?;
    let (update, theme_problem) = changes(&form);
    let mut tx = state.store.begin().await?;
    let mut invalid = match service::update(&mut tx, viewer.user.id, &update, state.now()).await {
        Ok(()) => Invalid::default(),
        Err(AppError::Invalid(invalid)) => invalid,
        Err(other) => return Err(other.into()),
    };
    if let Some(problem) = theme_problem {
        invalid.push("theme", problem);
    }
    if !invalid.is_empty() {
        // Nothing is kept when a field is wrong.
        drop(tx);
        let errors = field_errors(&invalid);
        let mine = MineQuery::default();
        let (mine, _) = my_troubleshooting::section(&state, &viewer, ip, &mine).await?;
        let html = render(
            &state,
            &viewer,
            uri.path(),
            &form,
            errors,
            (None, None),
            mine,
        )
        .await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response());
    }
    tx.commit().await.map_err(muster_store::StoreError::from)?;
    Ok(Redirect::to("/me?saved=1").into_response())
}

/// The form as a profile update (the same the API takes), and what is wrong
/// with its theme if anything; a blank theme keeps the current one.
fn changes(form: &ProfileForm) -> (MeUpdate, Option<String>) {
    let (theme, problem) = match form.theme.as_str() {
        "" => (None, None),
        raw => match raw.parse::<Theme>() {
            Ok(theme) => (Some(theme), None),
            Err(e) => (None, Some(e.to_string())),
        },
    };
    let update = MeUpdate {
        first_name: Some(form.first_name.clone()),
        last_name: Some(form.last_name.clone()),
        language: Some(form.language.clone()),
        theme,
        default_org_id: None,
    };
    (update, problem)
}

fn notice(query: &ProfileQuery) -> Option<&'static str> {
    if query.saved.is_some() {
        return Some("Your profile was saved.");
    }
    if query.device.as_deref() == Some("revoked") {
        return Some("The device was revoked. Its app is signed out.");
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
    ClientIp(ip): ClientIp,
    axum::extract::Path((org, action)): axum::extract::Path<(String, String)>,
    UiForm(form): UiForm<MembershipForm>,
) -> UiResult {
    viewer.check_csrf(&form.csrf_token)?;
    let org_id: OrgId = org.parse().map_err(|_| UiError::not_found())?;
    let membership = viewer
        .memberships
        .iter()
        .find(|m| m.org_id == org_id)
        .ok_or_else(UiError::not_found)?;
    match action.as_str() {
        "default" => set_default(&state, &viewer, membership).await,
        "leave" => leave(&state, &viewer, membership, &ip.to_string(), &form).await,
        _ => Err(UiError::not_found()),
    }
}

/// Back to the organization list with `message` shown as an error.
fn back_with_error(state: &AppState, message: &str) -> UiResult {
    Ok(Flash::error(message).redirect(state, "/me#organizations"))
}

/// Makes an active membership's organization the one opened after sign-in.
async fn set_default(
    state: &AppState,
    viewer: &UiUser,
    membership: &MembershipSummary,
) -> UiResult {
    if membership.status != MembershipStatus::Active {
        return back_with_error(
            state,
            "Only an organization where you are active can be your default.",
        );
    }
    let user = &viewer.user;
    let mut conn = state.store.write().await?;
    users::update_profile(
        &mut conn,
        user.id,
        users::ProfileUpdate {
            default_org_id: Some(membership.org_id),
            ..user.profile()
        },
        state.now(),
    )
    .await?;
    Ok(Redirect::to("/me?org=default#organizations").into_response())
}

/// Leaves the organization, once confirmed; the service's refusals show as errors.
async fn leave(
    state: &AppState,
    viewer: &UiUser,
    membership: &MembershipSummary,
    ip: &str,
    form: &MembershipForm,
) -> UiResult {
    if form.confirm != "yes" {
        return back_with_error(state, "Tick the box next to Leave to confirm.");
    }
    let mut tx = state.store.begin().await?;
    let actor = crate::scope::Actor::load(
        &mut tx,
        viewer.user.id,
        membership.role,
        Some(ip.to_owned()),
    )
    .await?;
    let org_id = membership.org_id;
    match crate::features::members::service::remove(&mut tx, state, org_id, &actor, viewer.user.id)
        .await
    {
        Ok(()) => {
            tx.commit().await.map_err(muster_store::StoreError::from)?;
            Ok(Redirect::to("/me?org=left#organizations").into_response())
        }
        Err(crate::error::AppError::Internal(cause)) => Err(UiError::Internal(cause)),
        Err(error) => back_with_error(state, &error.user_message()),
    }
}
