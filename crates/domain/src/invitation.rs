//! Invitations: their states and what an invite link says about itself.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};
use time::OffsetDateTime;

/// Where an invitation stands. Only a `Pending` one can be accepted, and only
/// before it expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Revoked,
    /// A re-invite issued a newer link.
    Replaced,
}

impl InvitationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationStatus::Pending => "pending",
            InvitationStatus::Accepted => "accepted",
            InvitationStatus::Revoked => "revoked",
            InvitationStatus::Replaced => "replaced",
        }
    }
}

impl fmt::Display for InvitationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InvitationStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Ok(match s {
            "pending" => InvitationStatus::Pending,
            "accepted" => InvitationStatus::Accepted,
            "revoked" => InvitationStatus::Revoked,
            "replaced" => InvitationStatus::Replaced,
            _ => return Err(()),
        })
    }
}

/// Why an invite link no longer works, in words for the person holding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkProblem {
    Expired,
    Used,
    Revoked,
    Replaced,
}

impl LinkProblem {
    pub fn message(self) -> &'static str {
        match self {
            LinkProblem::Expired => {
                "This invitation has expired. Ask the person who invited you to send a new one."
            }
            LinkProblem::Used => "This invitation has already been accepted. Sign in to continue.",
            LinkProblem::Revoked => "This invitation was withdrawn by the organization.",
            LinkProblem::Replaced => {
                "A newer invitation was sent to you; use the link in the most recent email."
            }
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            LinkProblem::Expired => "expired",
            LinkProblem::Used => "used",
            LinkProblem::Revoked => "revoked",
            LinkProblem::Replaced => "replaced",
        }
    }
}

/// Whether a link with this invitation behind it can still be accepted at `now`.
pub fn check_link(
    status: InvitationStatus,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(), LinkProblem> {
    match status {
        InvitationStatus::Accepted => Err(LinkProblem::Used),
        InvitationStatus::Revoked => Err(LinkProblem::Revoked),
        InvitationStatus::Replaced => Err(LinkProblem::Replaced),
        InvitationStatus::Pending if now >= expires_at => Err(LinkProblem::Expired),
        InvitationStatus::Pending => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_pending_link_works_until_it_expires() {
        let expires = datetime!(2026-12-01 00:00 UTC);
        assert_eq!(
            check_link(
                InvitationStatus::Pending,
                expires,
                datetime!(2026-11-30 23:59 UTC)
            ),
            Ok(())
        );
        assert_eq!(
            check_link(InvitationStatus::Pending, expires, expires),
            Err(LinkProblem::Expired)
        );
        assert_eq!(
            check_link(
                InvitationStatus::Accepted,
                expires,
                datetime!(2026-11-01 00:00 UTC)
            ),
            Err(LinkProblem::Used)
        );
        assert_eq!(
            check_link(
                InvitationStatus::Revoked,
                expires,
                datetime!(2026-11-01 00:00 UTC)
            ),
            Err(LinkProblem::Revoked)
        );
        assert_eq!(
            check_link(
                InvitationStatus::Replaced,
                expires,
                datetime!(2026-11-01 00:00 UTC)
            ),
            Err(LinkProblem::Replaced)
        );
    }
}
