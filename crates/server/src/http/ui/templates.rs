//! The HTML templates, compiled into the binary and rendered with minijinja
//! (auto-escaping HTML).

use minijinja::Environment;
use std::sync::OnceLock;

pub struct Templates {
    env: Environment<'static>,
}

const FILES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../../templates/base.html")),
    (
        "layout.html",
        include_str!("../../../templates/layout.html"),
    ),
    (
        "overview.html",
        include_str!("../../../templates/overview.html"),
    ),
    ("usage.html", include_str!("../../../templates/usage.html")),
    (
        "usage_parts.html",
        include_str!("../../../templates/usage_parts.html"),
    ),
    (
        "profile.html",
        include_str!("../../../templates/profile.html"),
    ),
    (
        "signin.html",
        include_str!("../../../templates/signin.html"),
    ),
    ("setup.html", include_str!("../../../templates/setup.html")),
    (
        "reset_request.html",
        include_str!("../../../templates/reset_request.html"),
    ),
    (
        "reset_password.html",
        include_str!("../../../templates/reset_password.html"),
    ),
    (
        "security.html",
        include_str!("../../../templates/security.html"),
    ),
    (
        "two_factor_setup.html",
        include_str!("../../../templates/two_factor_setup.html"),
    ),
    (
        "two_factor_codes.html",
        include_str!("../../../templates/two_factor_codes.html"),
    ),
    (
        "signin_code.html",
        include_str!("../../../templates/signin_code.html"),
    ),
    (
        "solution_parts.html",
        include_str!("../../../templates/solution_parts.html"),
    ),
    (
        "message.html",
        include_str!("../../../templates/message.html"),
    ),
    ("users.html", include_str!("../../../templates/users.html")),
    (
        "solutions.html",
        include_str!("../../../templates/solutions.html"),
    ),
    (
        "org_new.html",
        include_str!("../../../templates/org_new.html"),
    ),
    ("form.html", include_str!("../../../templates/form.html")),
    (
        "email_confirm.html",
        include_str!("../../../templates/email_confirm.html"),
    ),
    (
        "solution_new.html",
        include_str!("../../../templates/solution_new.html"),
    ),
    (
        "solution_detail.html",
        include_str!("../../../templates/solution_detail.html"),
    ),
    (
        "user_solutions.html",
        include_str!("../../../templates/user_solutions.html"),
    ),
    (
        "token_new.html",
        include_str!("../../../templates/token_new.html"),
    ),
    (
        "token_created.html",
        include_str!("../../../templates/token_created.html"),
    ),
    (
        "token_detail.html",
        include_str!("../../../templates/token_detail.html"),
    ),
    (
        "user_invite.html",
        include_str!("../../../templates/user_invite.html"),
    ),
    (
        "user_detail.html",
        include_str!("../../../templates/user_detail.html"),
    ),
    (
        "invite.html",
        include_str!("../../../templates/invite.html"),
    ),
    ("bulk.html", include_str!("../../../templates/bulk.html")),
    ("job.html", include_str!("../../../templates/job.html")),
    (
        "settings.html",
        include_str!("../../../templates/settings.html"),
    ),
    (
        "invite_template.html",
        include_str!("../../../templates/invite_template.html"),
    ),
    ("audit.html", include_str!("../../../templates/audit.html")),
    (
        "notifications.html",
        include_str!("../../../templates/notifications.html"),
    ),
    (
        "notification_detail.html",
        include_str!("../../../templates/notification_detail.html"),
    ),
    ("inbox.html", include_str!("../../../templates/inbox.html")),
    (
        "troubleshooting.html",
        include_str!("../../../templates/troubleshooting.html"),
    ),
    (
        "troubleshooting_parts.html",
        include_str!("../../../templates/troubleshooting_parts.html"),
    ),
];

/// The compiled templates. They are part of the binary, so a template that does
/// not compile is a build defect: `startup` loads them before serving and fails
/// with the template error instead of serving broken pages.
pub fn get() -> Result<&'static Templates, minijinja::Error> {
    static TEMPLATES: OnceLock<Result<Templates, minijinja::Error>> = OnceLock::new();
    TEMPLATES
        .get_or_init(Templates::load)
        .as_ref()
        .map_err(|e| {
            minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                format!("templates did not load: {e:#}"),
            )
        })
}

impl Templates {
    pub fn load() -> Result<Self, minijinja::Error> {
        let mut env = Environment::new();
        for (name, source) in FILES {
            env.add_template(name, source)?;
        }
        Ok(Self { env })
    }

    pub fn render(
        &self,
        name: &str,
        context: minijinja::Value,
    ) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_file_is_compiled_in_and_parses() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .expect("the templates directory")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let mut compiled: Vec<String> = FILES.iter().map(|(name, _)| (*name).to_owned()).collect();
        compiled.sort();
        assert_eq!(on_disk, compiled);
        assert!(Templates::load().is_ok());
    }
}
