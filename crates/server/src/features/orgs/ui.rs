//! Organization settings: name, description, public URL, the organization ID,
//! default language, invite lifetime, log retention, logging level, and the
//! invite templates per language with a preview.

use crate::error::AppError;
use crate::features::invite_templates::render::{self as invite, InviteVars};
use crate::features::invite_templates::service as template_api;
use crate::features::orgs::deletion;
use crate::features::orgs::service::{self, OrgUpdate};
use crate::http::ui::error::{UiError, UiResult};
use crate::http::ui::flash::Flash;
use crate::http::ui::layout::{field_errors, OrgPage, UiForm};
use crate::scope::OrgScope;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect};
use minijinja::{context, Value};
use muster_domain::org::LOGGING_LEVELS;
use muster_domain::permission::Capability;
use muster_store::{templates, StoreError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct SettingsForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    name: String,
    description: String,
    public_url: String,
    default_language: String,
    invite_lifetime_days: String,
    log_retention_days: String,
    usage_retention_days: String,
    logging_level: String,
    /// "on" when the box is ticked.
    require_two_factor: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NoticeQuery {
    notice: String,
}

async fn render(
    state: &AppState,
    view: &OrgPage,
    path: &str,
    form: &SettingsForm,
    errors: Value,
    notice: &str,
    status: StatusCode,
) -> UiResult {
    let list = {
        let mut conn = state.store.read().await?;
        templates::list(&mut conn, view.org.id, None, 200).await?
    };
    let templates: Vec<Value> = list
        .iter()
        .map(|t| context! { language => t.language, subject => t.subject, updated_at => crate::features::invitations::service::format_time(t.updated_at) })
        .collect();
    let html = crate::http::ui::templates::get()?.render(
        "settings.html",
        view.context(
            "settings",
            path,
            context! {
                form, errors, notice, templates, levels => LOGGING_LEVELS,
                org_id => view.org.id.to_string(),
                can_delete => view.scope.can(Capability::DeleteOrganization),
            },
        ),
    )?;
    Ok((status, Html(html)).into_response())
}

/// The settings form as the organization has them.
fn current_settings(org: &muster_store::orgs::Org) -> SettingsForm {
    SettingsForm {
        csrf_token: String::new(),
        name: org.name.clone(),
        description: org.description.clone(),
        public_url: org.public_url.clone(),
        default_language: org.default_language.clone(),
        invite_lifetime_days: org.invite_lifetime_days.to_string(),
        log_retention_days: org.log_retention_days.to_string(),
        usage_retention_days: org.usage_retention_days.to_string(),
        logging_level: org.logging_level.clone(),
        require_two_factor: if org.require_two_factor { "on" } else { "" }.to_owned(),
    }
}

pub async fn show(
    State(state): State<AppState>,
    view: OrgPage,
    uri: Uri,
    Query(query): Query<NoticeQuery>,
) -> UiResult {
    view.require(Capability::ManageOrgSettings)?;
    let form = current_settings(&view.org);
    let notice = match query.notice.as_str() {
        "saved" => "The settings were saved.",
        "template-saved" => "The invite template was saved.",
        "template-deleted" => "The invite template was deleted.",
        _ => "",
    };
    render(
        &state,
        &view,
        uri.path(),
        &form,
        context! {},
        notice,
        StatusCode::OK,
    )
    .await
}

pub async fn save(
    State(state): State<AppState>,
    view: OrgPage,
    uri: Uri,
    UiForm(form): UiForm<SettingsForm>,
) -> UiResult {
    view.require(Capability::ManageOrgSettings)?;
    view.viewer.check_csrf(&form.csrf_token)?;
    let (update, mut invalid) = settings_update(&form);
    if !invalid.is_empty() {
        // Report the other fields' problems too, in one go.
        if let Err(more) = update.apply(&mut view.org.settings()) {
            invalid.0.extend(more.0);
        }
        return rerender_settings(&state, &view, uri.path(), &form, &invalid).await;
    }
    let mut tx = state.store.begin().await?;
    match service::apply_update(&mut tx, &state, view.org.id, &view.actor(), &update).await {
        Ok(_) => tx.commit().await.map_err(StoreError::from)?,
        Err(AppError::Invalid(invalid)) => {
            drop(tx);
            return rerender_settings(&state, &view, uri.path(), &form, &invalid).await;
        }
        Err(other) => return Err(other.into()),
    }
    Ok(Redirect::to(&format!("/orgs/{}/settings?notice=saved", view.org.id)).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DeleteForm {
    csrf_token: String,
    confirm: String,
}

/// Deletes the organization (owners), its name typed to confirm; the owner
/// lands on My profile, where it is no longer listed.
pub async fn delete(
    State(state): State<AppState>,
    view: OrgPage,
    uri: Uri,
    UiForm(form): UiForm<DeleteForm>,
) -> UiResult {
    view.require(Capability::DeleteOrganization)?;
    view.viewer.check_csrf(&form.csrf_token)?;
    match deletion::start(&state, &view.scope, &form.confirm).await {
        Ok(_) => {
            let notice = format!(
                "{} was deleted. Nobody can reach it any more; its data is being removed.",
                view.org.name
            );
            Ok(Flash::notice(notice).redirect(&state, "/me"))
        }
        Err(AppError::Invalid(invalid)) => {
            let form = current_settings(&view.org);
            let errors = context! { confirm => invalid.message_for("confirm") };
            let path = uri.path().trim_end_matches("/delete").to_owned();
            render(
                &state,
                &view,
                &path,
                &form,
                errors,
                "",
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

/// The update the form asks for, and the problems of its numeric fields.
fn settings_update(form: &SettingsForm) -> (OrgUpdate, muster_domain::Invalid) {
    let mut invalid = muster_domain::Invalid::default();
    let days = |invalid: &mut muster_domain::Invalid, field: &str, raw: &str| {
        invalid.check(
            field,
            raw.trim()
                .parse::<i64>()
                .map_err(|_| "enter a number of days"),
        )
    };
    let update = OrgUpdate {
        name: Some(form.name.clone()),
        description: Some(form.description.clone()),
        public_url: Some(form.public_url.clone()),
        default_language: Some(form.default_language.clone()),
        invite_lifetime_days: days(
            &mut invalid,
            "invite_lifetime_days",
            &form.invite_lifetime_days,
        ),
        log_retention_days: days(&mut invalid, "log_retention_days", &form.log_retention_days),
        // A form from before the field existed keeps the organization's value.
        usage_retention_days: if form.usage_retention_days.trim().is_empty() {
            None
        } else {
            days(
                &mut invalid,
                "usage_retention_days",
                &form.usage_retention_days,
            )
        },
        logging_level: Some(form.logging_level.clone()),
        require_two_factor: Some(!form.require_two_factor.is_empty()),
    };
    (update, invalid)
}

/// The settings page again, with the form's problems, as 422.
async fn rerender_settings(
    state: &AppState,
    view: &OrgPage,
    path: &str,
    form: &SettingsForm,
    invalid: &muster_domain::Invalid,
) -> UiResult {
    render(
        state,
        view,
        path,
        form,
        field_errors(invalid),
        "",
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct TemplateForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    language: String,
    subject: String,
    body: String,
    #[serde(skip_serializing)]
    action: String,
    /// The box next to Delete.
    #[serde(skip_serializing)]
    confirm_delete: String,
}

fn preview(form: &TemplateForm, organization: &str) -> (Option<String>, Option<String>) {
    match invite::render(&form.subject, &form.body, &InviteVars::sample(organization)) {
        Ok((subject, body)) => (Some(format!("Subject: {subject}\n\n{body}")), None),
        Err(error) => (None, Some(error.to_string())),
    }
}

async fn template_page(
    view: &OrgPage,
    path: &str,
    form: &TemplateForm,
    is_new: bool,
    errors: Value,
    status: StatusCode,
) -> UiResult {
    let (preview, preview_error) = preview(form, &view.org.name);
    let html = crate::http::ui::templates::get()?.render(
        "invite_template.html",
        view.context(
            "settings",
            path,
            context! { form, is_new, errors, preview, preview_error },
        ),
    )?;
    Ok((status, Html(html)).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewTemplateQuery {
    language: String,
}

pub async fn edit_template(
    State(state): State<AppState>,
    view: OrgPage,
    uri: Uri,
    Path((_, language)): Path<(String, String)>,
    Query(query): Query<NewTemplateQuery>,
) -> UiResult {
    view.require(Capability::ManageOrgSettings)?;
    if language == "new" {
        let form = TemplateForm {
            language: query.language,
            subject: invite::DEFAULT_SUBJECT.into(),
            body: invite::DEFAULT_BODY.into(),
            ..TemplateForm::default()
        };
        return template_page(&view, uri.path(), &form, true, context! {}, StatusCode::OK).await;
    }
    let found = {
        let mut conn = state.store.read().await?;
        templates::find(&mut conn, view.org.id, &language).await?
    };
    let template = found.ok_or_else(UiError::not_found)?;
    let form = TemplateForm {
        language: template.language,
        subject: template.subject,
        body: template.body,
        ..TemplateForm::default()
    };
    template_page(&view, uri.path(), &form, false, context! {}, StatusCode::OK).await
}

/// Save, preview or delete, by the button pressed.
pub async fn submit_template(
    State(state): State<AppState>,
    view: OrgPage,
    uri: Uri,
    Path((_, language)): Path<(String, String)>,
    UiForm(mut form): UiForm<TemplateForm>,
) -> UiResult {
    view.require(Capability::ManageOrgSettings)?;
    view.viewer.check_csrf(&form.csrf_token)?;
    let is_new = language == "new";
    if !is_new {
        // The form of a saved template has no language field: it is the page's.
        form.language = language.clone();
    }
    let target = if is_new {
        form.language.clone()
    } else {
        language.clone()
    };
    let member = view.scope.clone();
    match form.action.as_str() {
        "delete" if !is_new && form.confirm_delete != "yes" => {
            let errors =
                context! { confirm_delete => "tick the box to confirm deleting this template" };
            template_page(
                &view,
                uri.path(),
                &form,
                is_new,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        "delete" if !is_new => delete_template(&state, &view, &member, &language).await,
        "preview" => {
            template_page(
                &view,
                uri.path(),
                &form,
                is_new,
                context! {},
                StatusCode::OK,
            )
            .await
        }
        _ => save_template(&state, &view, &member, uri.path(), &form, is_new, &target).await,
    }
}

/// Deletes the template, back to the settings' invite section.
async fn delete_template(
    state: &AppState,
    view: &OrgPage,
    member: &OrgScope,
    language: &str,
) -> UiResult {
    template_api::remove(state, member, language)
        .await
        .map_err(UiError::from)?;
    Ok(Redirect::to(&format!(
        "/orgs/{}/settings?notice=template-deleted#invites",
        view.org.id
    ))
    .into_response())
}

/// Saves the template for `target`; its problems show on the form, as 422.
async fn save_template(
    state: &AppState,
    view: &OrgPage,
    member: &OrgScope,
    path: &str,
    form: &TemplateForm,
    is_new: bool,
    target: &str,
) -> UiResult {
    let saved = match template_api::parse_language(target) {
        Ok(tag) => template_api::save(state, member, &tag, &form.subject, &form.body)
            .await
            .map(|_| tag),
        Err(error) => Err(error),
    };
    match saved {
        Ok(_) => Ok(Redirect::to(&format!(
            "/orgs/{}/settings?notice=template-saved#invites",
            view.org.id
        ))
        .into_response()),
        Err(AppError::Invalid(invalid)) => {
            template_page(
                view,
                path,
                form,
                is_new,
                field_errors(&invalid),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}
