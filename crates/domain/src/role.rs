//! Organization roles, membership status and UI theme.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "lowercase")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownValue {
                        expected: &[$($text),+],
                    }),
                }
            }
        }
    };
}

/// A string that is not one of the allowed values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be one of: {}", .expected.join(", "))]
pub struct UnknownValue {
    pub expected: &'static [&'static str],
}

string_enum!(
    /// A member's role in an organization, highest first.
    OrgRole {
        Owner => "owner",
        Admin => "admin",
        Creator => "creator",
        User => "user",
    }
);

string_enum!(
    /// Where a membership stands: `invited` → `active` ⇄ `disabled`.
    MembershipStatus {
        Invited => "invited",
        Active => "active",
        Disabled => "disabled",
    }
);

string_enum!(
    /// A member's role on one solution (as in the original product).
    SolutionRole {
        Owner => "owner",
        Admin => "admin",
        Editor => "editor",
        User => "user",
        Deny => "deny",
    }
);

string_enum!(
    /// The colour scheme a user chose for the web UI.
    Theme {
        Light => "light",
        Dark => "dark",
        System => "system",
    }
);

impl OrgRole {
    /// Higher number, more power; used to compare roles.
    pub fn rank(self) -> u8 {
        match self {
            OrgRole::Owner => 3,
            OrgRole::Admin => 2,
            OrgRole::Creator => 1,
            OrgRole::User => 0,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            OrgRole::Owner => "Owner",
            OrgRole::Admin => "Admin",
            OrgRole::Creator => "Creator",
            OrgRole::User => "User",
        }
    }
}
