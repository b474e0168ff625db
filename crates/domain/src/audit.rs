//! What the audit log records: each kind of change has one action name, the
//! one the API filters by (`?action=member.role_changed`, or `member.` for all
//! of a kind).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    MemberRoleChanged,
    MemberDisabled,
    MemberEnabled,
    MemberRemoved,
    MemberLeft,
    InvitationCreated,
    InvitationBulkStarted,
    InvitationBulkFinished,
    InvitationResent,
    InvitationRevoked,
    InvitationAccepted,
    InviteTemplateSaved,
    InviteTemplateDeleted,
    OrganizationSettingsChanged,
    OrganizationCreated,
    SolutionCreated,
    SolutionUpdated,
    SolutionDeleted,
    SolutionVersionPublished,
    SolutionAssigned,
    SolutionRoleChanged,
    SolutionUnassigned,
    SolutionGroupCreated,
    SolutionGroupDeleted,
    SolutionGroupMemberAdded,
    SolutionGroupMemberRemoved,
    TokenCreated,
    TokenExtended,
    TokenDeleted,
    TokenUsed,
    NotificationSent,
    NotificationScheduled,
    NotificationCanceled,
    DeviceRegistered,
    DeviceRevoked,
    MemberLogLevelSet,
    MemberLogLevelCleared,
    PasswordChanged,
    PasswordReset,
    SignInFailed,
    AccountLocked,
    EmailChanged,
    TwoFactorEnabled,
    TwoFactorDisabled,
    RecoveryCodeUsed,
    OrganizationDeleted,
}

impl AuditAction {
    pub const ALL: [AuditAction; 46] = [
        AuditAction::MemberRoleChanged,
        AuditAction::MemberDisabled,
        AuditAction::MemberEnabled,
        AuditAction::MemberRemoved,
        AuditAction::MemberLeft,
        AuditAction::InvitationCreated,
        AuditAction::InvitationBulkStarted,
        AuditAction::InvitationBulkFinished,
        AuditAction::InvitationResent,
        AuditAction::InvitationRevoked,
        AuditAction::InvitationAccepted,
        AuditAction::InviteTemplateSaved,
        AuditAction::InviteTemplateDeleted,
        AuditAction::OrganizationSettingsChanged,
        AuditAction::OrganizationCreated,
        AuditAction::SolutionCreated,
        AuditAction::SolutionUpdated,
        AuditAction::SolutionDeleted,
        AuditAction::SolutionVersionPublished,
        AuditAction::SolutionAssigned,
        AuditAction::SolutionRoleChanged,
        AuditAction::SolutionUnassigned,
        AuditAction::SolutionGroupCreated,
        AuditAction::SolutionGroupDeleted,
        AuditAction::SolutionGroupMemberAdded,
        AuditAction::SolutionGroupMemberRemoved,
        AuditAction::TokenCreated,
        AuditAction::TokenExtended,
        AuditAction::TokenDeleted,
        AuditAction::TokenUsed,
        AuditAction::NotificationSent,
        AuditAction::NotificationScheduled,
        AuditAction::NotificationCanceled,
        AuditAction::DeviceRegistered,
        AuditAction::DeviceRevoked,
        AuditAction::MemberLogLevelSet,
        AuditAction::MemberLogLevelCleared,
        AuditAction::PasswordChanged,
        AuditAction::PasswordReset,
        AuditAction::SignInFailed,
        AuditAction::AccountLocked,
        AuditAction::EmailChanged,
        AuditAction::TwoFactorEnabled,
        AuditAction::TwoFactorDisabled,
        AuditAction::RecoveryCodeUsed,
        AuditAction::OrganizationDeleted,
    ];

    /// The name stored and shown (`member.role_changed`).
    pub fn as_str(self) -> &'static str {
        use AuditAction::*;
        match self {
            MemberRoleChanged => "member.role_changed",
            MemberDisabled => "member.disabled",
            MemberEnabled => "member.enabled",
            MemberRemoved => "member.removed",
            MemberLeft => "member.left",
            InvitationCreated => "invitation.created",
            InvitationBulkStarted => "invitation.bulk_started",
            InvitationBulkFinished => "invitation.bulk_finished",
            InvitationResent => "invitation.resent",
            InvitationRevoked => "invitation.revoked",
            InvitationAccepted => "invitation.accepted",
            InviteTemplateSaved => "invite_template.saved",
            InviteTemplateDeleted => "invite_template.deleted",
            OrganizationSettingsChanged => "organization.settings_changed",
            OrganizationCreated => "organization.created",
            SolutionCreated => "solution.created",
            SolutionUpdated => "solution.updated",
            SolutionDeleted => "solution.deleted",
            SolutionVersionPublished => "solution.version_published",
            SolutionAssigned => "solution.assigned",
            SolutionRoleChanged => "solution.role_changed",
            SolutionUnassigned => "solution.unassigned",
            SolutionGroupCreated => "solution.group_created",
            SolutionGroupDeleted => "solution.group_deleted",
            SolutionGroupMemberAdded => "solution.group_member_added",
            SolutionGroupMemberRemoved => "solution.group_member_removed",
            TokenCreated => "token.created",
            TokenExtended => "token.extended",
            TokenDeleted => "token.deleted",
            TokenUsed => "token.used",
            NotificationSent => "notification.sent",
            NotificationScheduled => "notification.scheduled",
            NotificationCanceled => "notification.canceled",
            DeviceRegistered => "device.registered",
            DeviceRevoked => "device.revoked",
            MemberLogLevelSet => "member.log_level_set",
            MemberLogLevelCleared => "member.log_level_cleared",
            PasswordChanged => "account.password_changed",
            PasswordReset => "account.password_reset",
            SignInFailed => "account.sign_in_failed",
            AccountLocked => "account.locked",
            EmailChanged => "account.email_changed",
            TwoFactorEnabled => "account.two_factor_enabled",
            TwoFactorDisabled => "account.two_factor_disabled",
            RecoveryCodeUsed => "account.recovery_code_used",
            OrganizationDeleted => "organization.deleted",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::AuditAction;
    use std::collections::HashSet;

    #[test]
    fn every_action_has_its_own_name_of_kind_dot_verb() {
        let names: HashSet<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(names.len(), AuditAction::ALL.len());
        for name in names {
            let (kind, verb) = name.split_once('.').expect("kind.verb");
            assert!(
                !kind.is_empty() && !verb.is_empty() && !verb.contains('.'),
                "{name}"
            );
        }
    }
}
