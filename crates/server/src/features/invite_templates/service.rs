//! Saving and deleting invite templates, each checked and audited.

use crate::error::{AppError, AppResult};
use crate::features::audit_log::service as audit;
use crate::features::invite_templates::render as invite;
use crate::scope::OrgScope;
use crate::state::AppState;
use muster_domain::names;
use muster_domain::AuditAction;
use muster_store::templates::{self, InviteTemplate};
use muster_store::{orgs, StoreError};
use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateView {
    pub language: String,
    pub subject: String,
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<InviteTemplate> for TemplateView {
    fn from(t: InviteTemplate) -> Self {
        TemplateView {
            language: t.language,
            subject: t.subject,
            body: t.body,
            updated_at: t.updated_at,
        }
    }
}

/// The organization's invite templates, by language.
pub fn parse_language(raw: &str) -> AppResult<String> {
    names::language_tag(raw).map_err(|e| AppError::invalid("language", e))
}

/// Saves a template after checking it renders; returns the view.
pub async fn save(
    state: &AppState,
    member: &OrgScope,
    language: &str,
    subject: &str,
    body: &str,
) -> AppResult<(bool, TemplateView)> {
    let mut tx = state.store.begin().await?;
    let org = orgs::find(&mut tx, member.org_id).await?;
    invite::check(subject, body, &org.name).map_err(|e| AppError::invalid(e.field, e.message))?;
    let before = templates::find(&mut tx, member.org_id, language).await?;
    let now = state.now();
    templates::upsert(&mut tx, member.org_id, language, subject, body, now).await?;
    let actor = member.actor(&mut tx).await?;
    audit::record(
        &mut tx,
        member.org_id,
        &actor,
        AuditAction::InviteTemplateSaved,
        language,
        before
            .as_ref()
            .map(|t| json!({"subject": t.subject, "body": t.body})),
        Some(json!({"subject": subject, "body": body})),
        now,
    )
    .await?;
    let saved = templates::find(&mut tx, member.org_id, language)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok((before.is_none(), saved.into()))
}

/// Deletes the template of `language`.
pub async fn remove(state: &AppState, member: &OrgScope, language: &str) -> AppResult<()> {
    let mut tx = state.store.begin().await?;
    let before = templates::find(&mut tx, member.org_id, language)
        .await?
        .ok_or(AppError::NotFound)?;
    templates::delete(&mut tx, member.org_id, language).await?;
    let actor = member.actor(&mut tx).await?;
    audit::record(
        &mut tx,
        member.org_id,
        &actor,
        AuditAction::InviteTemplateDeleted,
        language,
        Some(json!({"subject": before.subject, "body": before.body})),
        None,
        state.now(),
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}
