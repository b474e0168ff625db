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
    (
        "placeholder.html",
        include_str!("../../../templates/placeholder.html"),
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
        "message.html",
        include_str!("../../../templates/message.html"),
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
