//! Invite templates: a subject and a body per language, rendered in a sandboxed
//! engine (minijinja: no file or network access, bounded work, and an unknown
//! variable is an error rather than silently empty).
//!
//! What a template can make is bounded, not only how long it runs: it may use
//! the variables, `if` blocks, `~` and a few text filters, but nothing that
//! repeats or rebinds text (`*`, `set`, `macro`, loops), since a few of those
//! double a string at each step and fill the memory long before the fuel runs
//! out. The rendered mail is cut off at [`MAX_RENDERED`] all the same.

use minijinja::{context, Environment, UndefinedBehavior};
use serde::Serialize;
use std::io::Write;

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
    /// Plausible values for previews.
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
/// The most a rendered subject or body may hold.
pub const MAX_RENDERED: usize = 256 * 1024;
/// The block tags a template may use.
const ALLOWED_BLOCKS: [&str; 6] = ["if", "elif", "else", "endif", "raw", "endraw"];

/// Which part of a template failed, and why, in words for the editor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct TemplateError {
    pub field: &'static str,
    pub message: String,
}

/// No global functions (`range`, `namespace`, …) and only filters whose
/// output grows no faster than their input.
fn environment() -> Environment<'static> {
    use minijinja::{filters, tests};
    let mut env = Environment::empty();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(50_000));
    // Plain-text mail: nothing to escape.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.add_filter("upper", filters::upper);
    env.add_filter("lower", filters::lower);
    env.add_filter("title", filters::title);
    env.add_filter("capitalize", filters::capitalize);
    env.add_filter("trim", filters::trim);
    env.add_filter("default", filters::default);
    env.add_filter("d", filters::default);
    env.add_test("defined", tests::is_defined);
    env.add_test("undefined", tests::is_undefined);
    env
}

/// Refuses what could repeat text: a `*` inside a tag, and block tags other
/// than `if` and `raw`. It reads tags as text (a `*` in a quoted string inside
/// a tag is refused too), which no invitation needs.
fn check_syntax(field: &'static str, source: &str) -> Result<(), TemplateError> {
    let refuse = |message: String| Err(TemplateError { field, message });
    for (open, close) in [("{{", "}}"), ("{%", "%}")] {
        let mut rest = source;
        while let Some(start) = rest.find(open) {
            let after = &rest[start + open.len()..];
            let end = after.find(close).unwrap_or(after.len());
            let inside = &after[..end];
            let line = source[..source.len() - rest.len() + start]
                .lines()
                .count()
                .max(1);
            if inside.contains('*') {
                return refuse(format!(
                    "`*` is not allowed in a template (line {line}): a mail repeats no text"
                ));
            }
            if open == "{%" {
                let tag = inside
                    .trim_start_matches(['-', '+', '~'])
                    .split(|c: char| !c.is_alphanumeric() && c != '_')
                    .find(|word| !word.is_empty())
                    .unwrap_or_default();
                if !ALLOWED_BLOCKS.contains(&tag) {
                    return refuse(format!(
                        "`{{% {tag} %}}` is not allowed (line {line}): use {{% if %}}, {{% elif %}}, {{% else %}} and {{% endif %}}"
                    ));
                }
            }
            rest = &after[end.min(after.len())..];
        }
    }
    Ok(())
}

/// Writes into memory until [`MAX_RENDERED`], then refuses.
struct Bounded(Vec<u8>);

impl Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > MAX_RENDERED {
            return Err(std::io::Error::other("too large"));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn render_one(
    env: &Environment<'_>,
    field: &'static str,
    source: &str,
    vars: &InviteVars,
) -> Result<String, TemplateError> {
    check_syntax(field, source)?;
    let describe = |error: minijinja::Error| {
        let detail = error.detail().map(|d| format!(": {d}")).unwrap_or_default();
        let line = error
            .line()
            .map(|l| format!(" (line {l})"))
            .unwrap_or_default();
        TemplateError {
            field,
            message: format!("{}{detail}{line}", error.kind()),
        }
    };
    let template = env.template_from_str(source).map_err(describe)?;
    // Strict mode stops at an unknown name without saying which: name it.
    let unknown = |error: minijinja::Error| {
        let known: Vec<String> = match serde_json::to_value(vars) {
            Ok(serde_json::Value::Object(fields)) => fields.keys().cloned().collect(),
            _ => Vec::new(),
        };
        let mut names: Vec<String> = template
            .undeclared_variables(false)
            .into_iter()
            .filter(|name| !known.contains(name))
            .collect();
        names.sort();
        match (error.kind(), names.first()) {
            (minijinja::ErrorKind::UndefinedError, Some(name)) => {
                let line = source
                    .lines()
                    .position(|l| l.contains(name.as_str()))
                    .map(|at| format!(" (line {})", at + 1))
                    .unwrap_or_default();
                TemplateError {
                    field,
                    message: format!(
                        "there is no variable `{name}`{line}: use {}",
                        known.join(", ")
                    ),
                }
            }
            _ => describe(error),
        }
    };
    let mut out = Bounded(Vec::new());
    let written = template.render_captured_to(
        context! { ..minijinja::Value::from_serialize(vars) },
        &mut out,
    );
    match written {
        Ok(_) => Ok(String::from_utf8_lossy(&out.0).into_owned()),
        Err(error) if error.kind() == minijinja::ErrorKind::WriteFailure => Err(TemplateError {
            field,
            message: format!(
                "renders more than {} KiB; a mail must be shorter",
                MAX_RENDERED / 1024
            ),
        }),
        Err(error) => Err(unknown(error)),
    }
}

/// Renders subject and body with `vars`; a body without `vars.invite_link`
/// is an error, since its invitee could not accept.
pub fn render(
    subject: &str,
    body: &str,
    vars: &InviteVars,
) -> Result<(String, String), TemplateError> {
    let env = environment();
    let subject = render_one(&env, "subject", subject, vars)?;
    // Only the first line: `lines` would leave a lone carriage return in.
    let subject = subject
        .split(['\r', '\n'])
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let body = render_one(&env, "body", body, vars)?;
    if !body.contains(&vars.invite_link) {
        return Err(TemplateError {
            field: "body",
            message: format!(
                "the mail to {} has no invite link: the body must show {{{{ invite_link }}}} to every invitee",
                vars.first_name
            ),
        });
    }
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
    // Two invitees who share nothing, each with a link nobody can have typed
    // into the template: a link shown only to some, or a fixed URL, fails.
    let link = || {
        format!(
            "https://muster.example.com/invite/{}",
            muster_domain::secret::generate(&mut rand::rngs::OsRng)
        )
    };
    let first = InviteVars {
        invite_link: link(),
        ..InviteVars::sample(organization)
    };
    let second = InviteVars {
        first_name: "Kim".into(),
        last_name: "Lee".into(),
        inviter: "Robin Owner".into(),
        invite_link: link(),
        expires_at: "2027-01-15 17:30 UTC".into(),
        organization: organization.to_owned(),
    };
    for vars in [first, second] {
        render(subject, body, &vars).map_err(|error| match error.message.contains("invite link") {
            true => TemplateError {
                field: "body",
                message: "the body must show {{ invite_link }} to every invitee (outside any {% if %}), or some cannot accept".into(),
            },
            false => error,
        })?;
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
        assert!(
            unknown
                .message
                .starts_with("there is no variable `frist_name` (line 1): use ")
                && unknown.message.contains("first_name"),
            "{}",
            unknown.message
        );
        let syntax = check("Hi", "{% if %}", "Acme").expect_err("broken syntax");
        assert_eq!(syntax.field, "body");
        assert!(syntax.message.contains("line 1"), "{}", syntax.message);
        let no_link = check("Hi", "Welcome", "Acme").expect_err("no link");
        assert!(no_link.message.contains("invite_link"));
        let endless = check("Hi", "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}{{ invite_link }}", "Acme");
        assert!(endless.is_err(), "bounded work");
    }

    #[test]
    fn what_would_fill_the_memory_is_refused() {
        let doubling = check(
            "Hi",
            "{% set ns = namespace(x=\"x\") %}{% for i in range(26) %}{% set ns.x = ns.x ~ ns.x %}{% endfor %}{{ ns.x }}{{ invite_link }}",
            "Acme",
        )
        .expect_err("doubling");
        assert!(doubling.message.contains("set"), "{}", doubling.message);
        let repeated = check("Hi", "{{ \"x\" * 100000000 }}{{ invite_link }}", "Acme")
            .expect_err("repetition");
        assert!(repeated.message.contains('*'), "{}", repeated.message);
        let unrolled = "{% set x = first_name %}".to_owned() + &"{% set x = x ~ x %}".repeat(30);
        assert!(check("Hi", &(unrolled + "{{ invite_link }}"), "Acme").is_err());
        let recursive =
            "{% macro d(s) %}{{ d(s ~ s) }}{% endmacro %}{{ d(first_name) }}{{ invite_link }}";
        assert!(check("Hi", recursive, "Acme").is_err());
        let no_globals = check("Hi", "{{ range(10)|join }}{{ invite_link }}", "Acme");
        assert!(no_globals.is_err(), "no global functions");
    }

    #[test]
    fn the_rendered_size_is_bounded() {
        // A body of allowed size that renders a long name many times.
        let vars = InviteVars {
            first_name: "n".repeat(5_000),
            ..InviteVars::sample("Acme")
        };
        let body = "{{ first_name }}".repeat(60) + "{{ invite_link }}";
        let error = render("Hi", &body, &vars).expect_err("over the bound");
        assert!(error.message.contains("KiB"), "{}", error.message);
        let ok = "{{ first_name }}".repeat(40) + "{{ invite_link }}";
        assert!(render("Hi", &ok, &vars).is_ok());
    }

    #[test]
    fn every_invitee_must_get_the_link() {
        let conditional = check(
            "Hi",
            "Welcome.{% if first_name == \"Alex\" %} {{ invite_link }}{% endif %}",
            "Acme",
        )
        .expect_err("a link for Alex only");
        assert!(
            conditional.message.contains("every invitee"),
            "{}",
            conditional.message
        );
        let literal = check(
            "Hi",
            "Go to https://muster.example.com/invite/sample-token",
            "Acme",
        );
        assert!(literal.is_err(), "a fixed URL is no invite link");
        // At send time too: the person this template leaves out gets an error,
        // not a mail without a link.
        let vars = InviteVars {
            first_name: "Bob".into(),
            ..InviteVars::sample("Acme")
        };
        let error = render(
            "Hi",
            "Welcome.{% if first_name == \"Alex\" %} {{ invite_link }}{% endif %}",
            &vars,
        )
        .expect_err("Bob gets no link");
        assert!(
            error.message.contains("no invite link"),
            "{}",
            error.message
        );
        assert!(check("Hi", "{% if first_name %}Hi {{ first_name|title }}{% else %}Hi{% endif %}\n{{ invite_link }}", "Acme").is_ok());
    }
}
