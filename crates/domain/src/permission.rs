//! The capability matrix of SPEC §2, as data, and the invariants around changing
//! members. Handlers ask here; they never compare roles themselves.

use crate::{MembershipStatus, OrgRole, UserId};

/// Something a member may want to do in an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    SignInToManagement,
    ViewMembers,
    ManageInvitations,
    ChangeMemberRole,
    DisableOrRemoveMember,
    CreateSolution,
    SeeSolutions,
    AssignSolutions,
    DeleteSolution,
    SendNotifications,
    ViewUsageAndLogs,
    ManageOrgSettings,
    ViewAuditLog,
    DeleteOrganization,
    TransferOwnership,
}

/// How far a capability reaches for a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// Everywhere in the organization.
    All,
    /// Only on the solutions the member has the right solution role in (or created).
    OwnSolutions,
    /// Read access only (creators on the member list).
    ReadOnly,
    No,
}

impl Grant {
    pub fn allows_any(self) -> bool {
        self != Grant::No
    }
}

/// SPEC §2, row by row.
pub fn grant(role: OrgRole, capability: Capability) -> Grant {
    use Capability::*;
    use Grant::*;
    use OrgRole::{Admin, Creator, Owner, User};
    match (capability, role) {
        (_, Owner) => All,
        (DeleteOrganization | TransferOwnership, _) => No,
        (_, Admin) => All,
        (_, User) => No,
        (SignInToManagement | CreateSolution, Creator) => All,
        (ViewMembers, Creator) => ReadOnly,
        (
            SeeSolutions | AssignSolutions | DeleteSolution | SendNotifications | ViewUsageAndLogs,
            Creator,
        ) => OwnSolutions,
        (
            ManageInvitations
            | ChangeMemberRole
            | DisableOrRemoveMember
            | ManageOrgSettings
            | ViewAuditLog,
            Creator,
        ) => No,
    }
}

pub fn can(role: OrgRole, capability: Capability) -> bool {
    grant(role, capability).allows_any()
}

/// Why an action on a member was refused; the text is shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("your role does not allow this")]
    Role,
    #[error("you cannot change your own organization role")]
    OwnRole,
    #[error("only an owner can change an owner or make someone an owner")]
    OwnerOnly,
    #[error("an organization needs at least one active owner; make someone else an owner first")]
    LastOwner,
}

/// The member an action is about.
#[derive(Debug, Clone, Copy)]
pub struct Member {
    pub user_id: UserId,
    pub role: OrgRole,
    pub status: MembershipStatus,
}

/// May `actor` give `target` the role `new_role`?
pub fn check_role_change(
    actor: Member,
    target: Member,
    new_role: OrgRole,
    active_owners: u64,
) -> Result<(), Denied> {
    if !can(actor.role, Capability::ChangeMemberRole) {
        return Err(Denied::Role);
    }
    if actor.user_id == target.user_id {
        return Err(Denied::OwnRole);
    }
    let touches_owner = target.role == OrgRole::Owner || new_role == OrgRole::Owner;
    if touches_owner && actor.role != OrgRole::Owner {
        return Err(Denied::OwnerOnly);
    }
    if is_last_active_owner(target, active_owners) && new_role != OrgRole::Owner {
        return Err(Denied::LastOwner);
    }
    Ok(())
}

/// May `actor` disable or remove `target`? (Leaving is `actor == target`.)
pub fn check_disable_or_remove(
    actor: Member,
    target: Member,
    active_owners: u64,
) -> Result<(), Denied> {
    if actor.user_id != target.user_id {
        if !can(actor.role, Capability::DisableOrRemoveMember) {
            return Err(Denied::Role);
        }
        if target.role == OrgRole::Owner && actor.role != OrgRole::Owner {
            return Err(Denied::OwnerOnly);
        }
    }
    if is_last_active_owner(target, active_owners) {
        return Err(Denied::LastOwner);
    }
    Ok(())
}

fn is_last_active_owner(member: Member, active_owners: u64) -> bool {
    member.role == OrgRole::Owner && member.status == MembershipStatus::Active && active_owners <= 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use Capability::*;

    fn member(role: OrgRole) -> Member {
        Member {
            user_id: UserId::new(),
            role,
            status: MembershipStatus::Active,
        }
    }

    #[test]
    fn matrix_follows_spec() {
        use OrgRole::*;
        let expect = |cap, roles: [Grant; 4]| {
            for (role, want) in [Owner, Admin, Creator, User].into_iter().zip(roles) {
                assert_eq!(grant(role, cap), want, "{cap:?} for {role}");
            }
        };
        use Grant::{All, No, OwnSolutions, ReadOnly};
        expect(SignInToManagement, [All, All, All, No]);
        expect(ViewMembers, [All, All, ReadOnly, No]);
        expect(ManageInvitations, [All, All, No, No]);
        expect(ChangeMemberRole, [All, All, No, No]);
        expect(DisableOrRemoveMember, [All, All, No, No]);
        expect(CreateSolution, [All, All, All, No]);
        expect(SeeSolutions, [All, All, OwnSolutions, No]);
        expect(AssignSolutions, [All, All, OwnSolutions, No]);
        expect(DeleteSolution, [All, All, OwnSolutions, No]);
        expect(SendNotifications, [All, All, OwnSolutions, No]);
        expect(ViewUsageAndLogs, [All, All, OwnSolutions, No]);
        expect(ManageOrgSettings, [All, All, No, No]);
        expect(ViewAuditLog, [All, All, No, No]);
        expect(DeleteOrganization, [All, No, No, No]);
        expect(TransferOwnership, [All, No, No, No]);
    }

    #[test]
    fn nobody_changes_their_own_role() {
        let owner = member(OrgRole::Owner);
        assert_eq!(
            check_role_change(owner, owner, OrgRole::Admin, 2),
            Err(Denied::OwnRole)
        );
    }

    #[test]
    fn admins_cannot_touch_owners_or_grant_owner() {
        let admin = member(OrgRole::Admin);
        let owner = member(OrgRole::Owner);
        let user = member(OrgRole::User);
        assert_eq!(
            check_role_change(admin, owner, OrgRole::Admin, 2),
            Err(Denied::OwnerOnly)
        );
        assert_eq!(
            check_role_change(admin, user, OrgRole::Owner, 2),
            Err(Denied::OwnerOnly)
        );
        assert_eq!(check_role_change(admin, user, OrgRole::Creator, 2), Ok(()));
        assert_eq!(
            check_disable_or_remove(admin, owner, 2),
            Err(Denied::OwnerOnly)
        );
        assert_eq!(check_disable_or_remove(admin, user, 2), Ok(()));
    }

    #[test]
    fn the_last_active_owner_stays() {
        let owner = member(OrgRole::Owner);
        let other_owner = member(OrgRole::Owner);
        assert_eq!(
            check_role_change(owner, other_owner, OrgRole::Admin, 1),
            Err(Denied::LastOwner)
        );
        assert_eq!(
            check_role_change(owner, other_owner, OrgRole::Admin, 2),
            Ok(())
        );
        assert_eq!(
            check_disable_or_remove(owner, owner, 1),
            Err(Denied::LastOwner)
        );
        assert_eq!(check_disable_or_remove(owner, owner, 2), Ok(()));
    }

    #[test]
    fn creators_and_users_cannot_manage_members() {
        for role in [OrgRole::Creator, OrgRole::User] {
            let actor = member(role);
            let target = member(OrgRole::User);
            assert_eq!(
                check_role_change(actor, target, OrgRole::Creator, 1),
                Err(Denied::Role)
            );
            assert_eq!(check_disable_or_remove(actor, target, 1), Err(Denied::Role));
        }
    }
}
