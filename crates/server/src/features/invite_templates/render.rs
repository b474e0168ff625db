//! Invite templates: a subject and a body per language, rendered in a sandboxed
//! engine (minijinja: no file or network access, bounded work, and an unknown
//! variable is an error rather than silently empty).

use minijinja::{context, Environment, UndefinedBehavior};
use serde::Serialize;

/// The variables a template may use.
#[derive(Debug, Clone, Serialize)]
pub struct InviteVars {
    pub first_name: String,
    pub last_name: String,
    pub organization: String,
    pub inviter: String,
    pub invite_link: String,
    pub expires_at: String,
}

impl InviteVars {
    /// Plausible values for previews and for checking a template before saving.
    pub fn sample(organization: &str) -> Self {
        InviteVars {
            first_name: "Alex".into(),
            last_name: "Example".into(),
            organization: organization.to_owned(),
            inviter: "Sam Admin".into(),
            invite_link: "https://muster.example.com/invite/sample-token".into(),
            expires_at: "2026-12-02 09:00 UTC".into(),
        }
    }
}

pub const DEFAULT_SUBJECT: &str = "{{ inviter }} invited you to {{ organization }}";
pub const DEFAULT_BODY: &str = "Hello {{ first_name }},

{{ inviter }} invited you to join {{ organization }} on Muster.

Accept the invitation here:
{{ invite_link }}

The link works until {{ expires_at }}.
";

const MAX_SUBJECT: usize = 300;
const MAX_BODY: usize = 20_000;

/// Which part of a template failed, and why, in words for the editor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct TemplateError {
    pub field: &'static str,
    pub message: String,
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(50_000));
    // Plain-text mail: nothing to escape.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env
}

fn render_one(
    env: &Environment<'_>,
    field: &'static str,
    source: &str,
    vars: &InviteVars,
) -> Result<String, TemplateError> {
    env.render_str(
        source,
        context! { ..minijinja::Value::from_serialize(vars) },
    )
    .map_err(|error| {
        let detail = error.detail().map(|d| format!(": {d}")).unwrap_or_default();
        let line = error
            .line()
            .map(|l| format!(" (line {l})"))
            .unwrap_or_default();
        TemplateError {
            field,
            message: format!("{}{detail}{line}", error.kind()),
        }
    })
}

/// Renders subject and body with `vars`.
pub fn render(
    subject: &str,
    body: &str,
    vars: &InviteVars,
) -> Result<(String, String), TemplateError> {
    let env = environment();
    let subject = render_one(&env, "subject", subject, vars)?;
    let subject = subject.lines().next().unwrap_or_default().trim().to_owned();
    let body = render_one(&env, "body", body, vars)?;
    Ok((subject, body))
}

/// Checks a template before it is saved: limits, and that it renders.
pub fn check(subject: &str, body: &str, organization: &str) -> Result<(), TemplateError> {
    if subject.trim().is_empty() {
        return Err(TemplateError {
            field: "subject",
            message: "the subject is required".into(),
        });
    }
    if subject.chars().count() > MAX_SUBJECT {
        return Err(TemplateError {
            field: "subject",
            message: format!("at most {MAX_SUBJECT} characters"),
        });
    }
    if body.trim().is_empty() {
        return Err(TemplateError {
            field: "body",
            message: "the body is required".into(),
        });
    }
    if body.chars().count() > MAX_BODY {
        return Err(TemplateError {
            field: "body",
            message: format!("at most {MAX_BODY} characters"),
        });
    }
    let (_, rendered) = render(subject, body, &InviteVars::sample(organization))?;
    if !rendered.contains(&InviteVars::sample(organization).invite_link) {
        return Err(TemplateError {
            field: "body",
            message: "the body must contain {{ invite_link }}, or nobody can accept".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_template_renders() {
        let (subject, body) =
            render(DEFAULT_SUBJECT, DEFAULT_BODY, &InviteVars::sample("Acme")).expect("renders");
        assert_eq!(subject, "Sam Admin invited you to Acme");
        assert!(
            body.contains("Hello Alex,")
                && body.contains("https://muster.example.com/invite/sample-token")
        );
        assert_eq!(check(DEFAULT_SUBJECT, DEFAULT_BODY, "Acme"), Ok(()));
    }

    #[test]
    fn mistakes_are_named() {
        let unknown =
            check("Hi {{ frist_name }}", DEFAULT_BODY, "Acme").expect_err("an unknown variable");
        assert_eq!(unknown.field, "subject");
        assert!(unknown.message.contains("undefined"), "{}", unknown.message);
        let syntax = check("Hi", "{% if %}", "Acme").expect_err("broken syntax");
        assert_eq!(syntax.field, "body");
        assert!(syntax.message.contains("line 1"), "{}", syntax.message);
        let no_link = check("Hi", "Welcome", "Acme").expect_err("no link");
        assert!(no_link.message.contains("invite_link"));
        let endless = check("Hi", "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}{{ invite_link }}", "Acme");
        assert!(endless.is_err(), "bounded work");
    }
}
