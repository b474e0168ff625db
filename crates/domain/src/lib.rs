//! Muster's types and rules. Nothing here does I/O: time comes from a [`Clock`],
//! randomness from a caller-supplied RNG, so every rule is testable on its own.

pub mod audit;
pub mod clock;
pub mod email;
pub mod ids;
pub mod invitation;
pub mod invitee;
pub mod log;
pub mod names;
pub mod notification;
pub mod org;
pub mod permission;
pub mod role;
pub mod secret;
pub mod solution;
pub mod spreadsheet;
pub mod token;
pub mod usage;
pub mod user_agent;
pub mod validation;

pub use audit::AuditAction;
pub use clock::{Clock, ManualClock, SystemClock};
pub use email::Email;
pub use ids::{
    AuditId, DeviceId, GroupId, InboxItemId, InvitationId, JobId, NotificationId, OrgId,
    SolutionId, TokenId, UserId,
};
pub use invitation::{InvitationStatus, LinkProblem};
pub use invitee::Invitee;
pub use permission::{Capability, Denied};
pub use role::{MembershipStatus, OrgRole, SolutionRole, Theme};
pub use validation::{FieldError, Invalid};
