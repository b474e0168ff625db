//! One person to invite, parsed from a form, a JSON body or a CSV row.

use crate::{names, Email, Invalid, OrgRole};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitee {
    pub email: Email,
    pub first_name: String,
    pub last_name: String,
    /// Normalized BCP 47 tag; `None` means the organization's default language.
    pub language: Option<String>,
    pub role: OrgRole,
}

impl Invitee {
    /// Parses raw fields; names may be empty (the person fills them in when
    /// accepting), the role defaults to `user`.
    pub fn parse(
        email: &str,
        first_name: &str,
        last_name: &str,
        language: &str,
        role: &str,
    ) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        let email = invalid.check("email", Email::parse(email));
        let first_name = invalid.check(
            "first_name",
            names::optional_text(first_name, names::NAME_MAX),
        );
        let last_name = invalid.check(
            "last_name",
            names::optional_text(last_name, names::NAME_MAX),
        );
        let language = if language.trim().is_empty() {
            Some(None)
        } else {
            invalid
                .check("language", names::language_tag(language))
                .map(Some)
        };
        let role = if role.trim().is_empty() {
            Some(OrgRole::User)
        } else {
            invalid.check("role", role.trim().to_ascii_lowercase().parse::<OrgRole>())
        };
        match (email, first_name, last_name, language, role) {
            (Some(email), Some(first_name), Some(last_name), Some(language), Some(role))
                if invalid.is_empty() =>
            {
                Ok(Invitee {
                    email,
                    first_name,
                    last_name,
                    language,
                    role,
                })
            }
            _ => Err(invalid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors() {
        let ok = Invitee::parse("Bob@Example.com", "Bob", "", "", "");
        let ok = ok.expect("valid");
        assert_eq!(
            (ok.email.as_str(), ok.role, ok.language),
            ("bob@example.com", OrgRole::User, None)
        );
        let bad = Invitee::parse("bob", "", "", "english", "boss").expect_err("invalid");
        let fields: Vec<&str> = bad.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["email", "language", "role"]);
    }
}
