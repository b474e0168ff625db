//! Identifiers. UUIDv7 (time-ordered, so keyset pagination by id follows creation
//! order), each kind its own type so a user id cannot be passed as an org id.

use std::{fmt, str::FromStr};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s).map(Self)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                        utoipa::openapi::KnownFormat::Uuid,
                    )))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

id_type!(
    /// A user (one global identity).
    UserId
);
id_type!(
    /// An organization (a tenant).
    OrgId
);
id_type!(
    /// A personal access token.
    TokenId
);
id_type!(
    /// A background job.
    JobId
);
id_type!(
    /// An invitation to join an organization.
    InvitationId
);
id_type!(
    /// An entry of the audit log.
    AuditId
);
id_type!(
    /// A solution (an app of an organization).
    SolutionId
);
id_type!(
    /// A named group inside a solution.
    GroupId
);
id_type!(
    /// A device (an app installation) of a user.
    DeviceId
);
id_type!(
    /// A push notification composed in an organization.
    NotificationId
);
id_type!(
    /// One recipient's copy of a notification: an item of their inbox.
    InboxItemId
);
