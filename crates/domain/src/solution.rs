//! Solutions: what may be typed for one (identifier, icon, version), and who may
//! do what on it given their org role and their solution role (SPEC §2).

use crate::names::{self, TextError};
use crate::{OrgRole, SolutionRole};

pub const IDENTIFIER_MAX: usize = 64;
pub const GROUP_NAME_MAX: usize = 100;
pub const NOTES_MAX: usize = 10_000;

/// What a member may do on one solution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SolutionRights {
    /// See it in Management (and its users, groups, versions).
    pub see: bool,
    /// Change its name, description and icon.
    pub edit: bool,
    /// Assign users, set solution roles, manage groups.
    pub assign: bool,
    /// Grant, change or remove the solution role `owner` (org owners and
    /// admins, and the solution's own owners; never a solution admin).
    pub manage_owners: bool,
    /// Publish versions.
    pub publish: bool,
    pub delete: bool,
    /// Send push notifications to its assignees and groups.
    pub notify: bool,
    /// Read the log entries its app sends (Troubleshooting).
    pub logs: bool,
}

/// SPEC §2: owners and admins of the organization may do everything; a creator
/// acts on the solutions they hold a solution role on; `user` members have no
/// Management rights. `deny` suspends whatever the assignment gave.
pub fn rights(org_role: OrgRole, solution_role: Option<SolutionRole>) -> SolutionRights {
    match org_role {
        OrgRole::Owner | OrgRole::Admin => SolutionRights {
            see: true,
            edit: true,
            assign: true,
            manage_owners: true,
            publish: true,
            delete: true,
            notify: true,
            logs: true,
        },
        OrgRole::User => SolutionRights::default(),
        OrgRole::Creator => match solution_role {
            None | Some(SolutionRole::Deny) => SolutionRights::default(),
            Some(role) => SolutionRights {
                see: true,
                edit: role == SolutionRole::Owner,
                assign: matches!(role, SolutionRole::Owner | SolutionRole::Admin),
                manage_owners: role == SolutionRole::Owner,
                publish: matches!(role, SolutionRole::Owner | SolutionRole::Editor),
                delete: role == SolutionRole::Owner,
                notify: matches!(role, SolutionRole::Owner | SolutionRole::Admin),
                logs: matches!(
                    role,
                    SolutionRole::Owner | SolutionRole::Admin | SolutionRole::Editor
                ),
            },
        },
    }
}

/// Whether someone with `rights` may change an assignment from `before` to
/// `after` (`None`: not assigned, or removed). A solution admin manages
/// `editor`, `user` and `deny` and never touches an owner (SPEC §2).
pub fn may_reassign(
    rights: SolutionRights,
    before: Option<SolutionRole>,
    after: Option<SolutionRole>,
) -> bool {
    let touches_owner = before == Some(SolutionRole::Owner) || after == Some(SolutionRole::Owner);
    rights.assign && (rights.manage_owners || !touches_owner)
}

/// Whether the solution's last owner would be gone while others stay
/// assigned: `owners` and `assigned` count everyone but the person changed.
pub fn leaves_no_owner(
    before: Option<SolutionRole>,
    after: Option<SolutionRole>,
    other_owners: i64,
    others_assigned: i64,
) -> bool {
    before == Some(SolutionRole::Owner)
        && after != Some(SolutionRole::Owner)
        && other_owners == 0
        && (others_assigned > 0 || after.is_some())
}

/// Whether the app-facing API lists the solution for this assignment.
pub fn usable_in_app(role: SolutionRole) -> bool {
    matches!(role, SolutionRole::Owner | SolutionRole::User)
}

/// Whether My profile lists it under "My solutions".
pub fn is_maintainer(role: SolutionRole) -> bool {
    matches!(role, SolutionRole::Owner | SolutionRole::Editor)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    #[error("is required")]
    Required,
    #[error("must be at most {IDENTIFIER_MAX} characters")]
    TooLong,
    #[error("use lowercase letters, digits and single dashes, starting with a letter (e.g. field-inspections)")]
    Shape,
}

/// A solution's identifier: a slug such as `field-inspections`, unique in its
/// organization.
pub fn identifier(input: &str) -> Result<String, IdentifierError> {
    let value = input.trim();
    if value.is_empty() {
        return Err(IdentifierError::Required);
    }
    if value.len() > IDENTIFIER_MAX {
        return Err(IdentifierError::TooLong);
    }
    let shape_ok = value.starts_with(|c: char| c.is_ascii_lowercase())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !value.ends_with('-')
        && !value.contains("--");
    if !shape_ok {
        return Err(IdentifierError::Shape);
    }
    Ok(value.to_owned())
}

/// A suggested identifier for a name: "Field Inspections 2" → `field-inspections-2`.
pub fn identifier_from_name(name: &str) -> String {
    let mut slug = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    // An identifier starts with a letter: "1.0.0 Beta" → `beta`.
    let slug: String = slug
        .trim_start_matches(|c: char| c.is_ascii_digit() || c == '-')
        .chars()
        .take(IDENTIFIER_MAX)
        .collect();
    let slug = slug.trim_end_matches('-').to_owned();
    if slug.is_empty() {
        "solution".to_owned()
    } else {
        slug
    }
}

/// An icon colour, `#rrggbb`.
pub fn icon_color(input: &str) -> Result<String, &'static str> {
    let value = input.trim().to_ascii_lowercase();
    let hex = value.strip_prefix('#').unwrap_or_default();
    if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(value)
    } else {
        Err("must be a colour such as #3b82f6")
    }
}

/// A colour picked from a small palette by the identifier, so every solution
/// gets a stable, readable default.
pub fn default_icon_color(identifier: &str) -> String {
    const PALETTE: [&str; 8] = [
        "#2563eb", "#059669", "#d97706", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#4b5563",
    ];
    let sum = identifier
        .bytes()
        .fold(0usize, |acc, b| acc.wrapping_mul(31).wrapping_add(b.into()));
    PALETTE[sum % PALETTE.len()].to_owned()
}

/// One or two letters or digits, upper-cased.
pub fn icon_initials(input: &str) -> Result<String, &'static str> {
    let value: String = input.trim().to_uppercase();
    let count = value.chars().count();
    if (1..=2).contains(&count) && value.chars().all(char::is_alphanumeric) {
        Ok(value)
    } else {
        Err("must be one or two letters or digits")
    }
}

/// The first letters of the first two words of the name.
pub fn default_initials(name: &str) -> String {
    let initials: String = name
        .split_whitespace()
        .filter_map(|word| word.chars().find(|c| c.is_alphanumeric()))
        .take(2)
        // Some letters are more than one in upper case ("ﬃ" → "FFI").
        .flat_map(char::to_uppercase)
        .filter(|c| c.is_alphanumeric())
        .take(2)
        .collect();
    if initials.is_empty() {
        "S".to_owned()
    } else {
        initials
    }
}

/// A published version: semantic versioning (`1.4.0`, `2.0.0-beta.1`).
pub fn version(input: &str) -> Result<semver::Version, String> {
    let value = input.trim();
    if value.is_empty() {
        return Err("is required".into());
    }
    semver::Version::parse(value.strip_prefix('v').unwrap_or(value))
        .map_err(|e| format!("must be a semantic version such as 1.2.0 ({e})"))
}

pub fn group_name(input: &str) -> Result<String, TextError> {
    names::required_text(input, GROUP_NAME_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_owners_touch_the_owner_role() {
        use SolutionRole as S;
        let admin = rights(OrgRole::Creator, Some(S::Admin));
        let owner = rights(OrgRole::Creator, Some(S::Owner));
        let org_admin = rights(OrgRole::Admin, None);
        // The probe's escalation: a solution admin demotes the owner, or
        // makes themself one.
        assert!(!may_reassign(admin, Some(S::Owner), Some(S::Deny)));
        assert!(!may_reassign(admin, Some(S::Admin), Some(S::Owner)));
        assert!(!may_reassign(admin, Some(S::Owner), None));
        assert!(!may_reassign(admin, None, Some(S::Owner)));
        for (before, after) in [
            (None, Some(S::User)),
            (Some(S::User), Some(S::Deny)),
            (Some(S::Editor), None),
        ] {
            assert!(may_reassign(admin, before, after));
        }
        for who in [owner, org_admin] {
            assert!(may_reassign(who, Some(S::Admin), Some(S::Owner)));
            assert!(may_reassign(who, Some(S::Owner), Some(S::User)));
        }
        assert!(!may_reassign(
            rights(OrgRole::Creator, Some(S::Editor)),
            None,
            Some(S::User)
        ));
    }

    #[test]
    fn a_solution_keeps_an_owner_while_assigned() {
        use SolutionRole as S;
        assert!(leaves_no_owner(Some(S::Owner), Some(S::User), 0, 0));
        assert!(leaves_no_owner(Some(S::Owner), None, 0, 3));
        assert!(
            !leaves_no_owner(Some(S::Owner), None, 0, 0),
            "the last one leaves an empty solution"
        );
        assert!(!leaves_no_owner(Some(S::Owner), Some(S::User), 1, 1));
        assert!(!leaves_no_owner(Some(S::Admin), None, 0, 3));
    }

    #[test]
    fn rights_follow_the_matrix() {
        use SolutionRole as S;
        for org in [OrgRole::Owner, OrgRole::Admin] {
            assert!(rights(org, None).delete && rights(org, Some(S::Deny)).assign);
        }
        assert_eq!(
            rights(OrgRole::User, Some(S::Owner)),
            SolutionRights::default()
        );
        assert_eq!(rights(OrgRole::Creator, None), SolutionRights::default());
        assert_eq!(
            rights(OrgRole::Creator, Some(S::Deny)),
            SolutionRights::default()
        );
        let owner = rights(OrgRole::Creator, Some(S::Owner));
        assert!(
            owner.see
                && owner.edit
                && owner.assign
                && owner.publish
                && owner.delete
                && owner.notify
        );
        let admin = rights(OrgRole::Creator, Some(S::Admin));
        assert!(
            admin.see
                && admin.assign
                && admin.notify
                && !admin.publish
                && !admin.delete
                && !admin.edit
        );
        let editor = rights(OrgRole::Creator, Some(S::Editor));
        assert!(editor.see && editor.publish && !editor.assign && !editor.delete && !editor.notify);
        let user = rights(OrgRole::Creator, Some(S::User));
        assert!(user.see && !user.publish && !user.assign && !user.notify);
        assert!(usable_in_app(S::Owner) && usable_in_app(S::User));
        assert!(!usable_in_app(S::Admin) && !usable_in_app(S::Editor) && !usable_in_app(S::Deny));
    }

    #[test]
    fn identifiers_are_slugs() {
        assert_eq!(
            identifier(" field-inspections "),
            Ok("field-inspections".into())
        );
        assert_eq!(identifier("app2"), Ok("app2".into()));
        for bad in ["Field", "2fast", "a--b", "a-", "a_b", "a b"] {
            assert_eq!(identifier(bad), Err(IdentifierError::Shape), "{bad}");
        }
        assert_eq!(identifier(""), Err(IdentifierError::Required));
        assert_eq!(
            identifier_from_name("Field Inspections 2"),
            "field-inspections-2"
        );
        assert_eq!(identifier_from_name("  --Ärger & Co!! "), "rger-co");
        assert_eq!(identifier_from_name("123"), "solution");
        assert!(identifier(&identifier_from_name(&"x".repeat(200))).is_ok());
    }

    #[test]
    fn icons_and_versions() {
        assert_eq!(icon_color("#3B82F6"), Ok("#3b82f6".into()));
        assert!(icon_color("blue").is_err());
        assert_eq!(default_initials("field inspections app"), "FI");
        assert_eq!(icon_initials("ab"), Ok("AB".into()));
        assert!(icon_initials("abc").is_err());
        assert!(default_icon_color("x").starts_with('#'));
        assert_eq!(version("v1.2.3").map(|v| v.to_string()), Ok("1.2.3".into()));
        assert!(version("1.2").is_err());
        assert!(version("2.0.0-beta.1").expect("pre-release") < version("2.0.0").expect("release"));
    }
}
