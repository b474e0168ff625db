//! "A member of this organization": who acts, in which organization, with which
//! role, from which address and at what time. API and UI handlers alike get it
//! from [`OrgScope::admit`], so the membership rules live in one place.

use crate::error::{AppError, AppResult};
use crate::features::auth::caller::Caller;
use muster_domain::permission::{self, Capability, Grant};
use muster_domain::{MembershipStatus, OrgId, OrgRole, UserId};
use muster_store::{memberships, users, Conn};
use std::net::IpAddr;
use time::OffsetDateTime;

/// Why an owner or admin without two-factor sign-in is kept out.
pub const TWO_FACTOR_REQUIRED: &str =
    "this organization requires its owners and admins to sign in \
     with two factors; turn two-factor sign-in on under My profile → Password and sessions \
     (POST /api/v1/me/mfa/totp), then try again";

/// The roles an organization's "owners and admins must use two-factor"
/// setting applies to.
pub fn must_use_two_factor(role: OrgRole) -> bool {
    matches!(role, OrgRole::Owner | OrgRole::Admin)
}

#[derive(Debug, Clone)]
pub struct OrgScope {
    pub org_id: OrgId,
    pub caller: Caller,
    pub role: OrgRole,
    /// The client's address, for the audit log and throttling.
    pub ip: IpAddr,
    /// When the request came in.
    pub now: OffsetDateTime,
}

impl OrgScope {
    /// The scope of `caller` in `org_id` given their membership there: only an
    /// active member is in it. A non-member, or an invited one, is told the
    /// organization does not exist.
    pub fn admit(
        caller: Caller,
        org_id: OrgId,
        membership: Option<(OrgRole, MembershipStatus)>,
        ip: IpAddr,
        now: OffsetDateTime,
    ) -> AppResult<OrgScope> {
        match membership {
            Some((role, MembershipStatus::Active)) => Ok(OrgScope {
                org_id,
                caller,
                role,
                ip,
                now,
            }),
            Some((_, MembershipStatus::Disabled)) => Err(AppError::Denied(
                "your membership in this organization is disabled".into(),
            )),
            Some((_, MembershipStatus::Invited)) | None => Err(AppError::NotFound),
        }
    }

    /// The scope of `caller` in `org_id`, from their membership there.
    pub async fn resolve(
        conn: &mut Conn,
        caller: Caller,
        org_id: OrgId,
        ip: IpAddr,
        now: OffsetDateTime,
    ) -> AppResult<OrgScope> {
        Ok(OrgScope::admitted(conn, caller, org_id, ip, now).await?.0)
    }

    /// [`OrgScope::resolve`] for the organization's Management API: an owner
    /// or admin of an organization that requires two-factor sign-in is
    /// refused until they have it.
    pub async fn resolve_for_management(
        conn: &mut Conn,
        caller: Caller,
        org_id: OrgId,
        ip: IpAddr,
        now: OffsetDateTime,
    ) -> AppResult<OrgScope> {
        let (scope, lacks_two_factor) = OrgScope::admitted(conn, caller, org_id, ip, now).await?;
        if lacks_two_factor && must_use_two_factor(scope.role) {
            return Err(AppError::Denied(TWO_FACTOR_REQUIRED.into()));
        }
        Ok(scope)
    }

    /// The scope, and whether the organization requires two-factor sign-in
    /// the caller does not have.
    async fn admitted(
        conn: &mut Conn,
        caller: Caller,
        org_id: OrgId,
        ip: IpAddr,
        now: OffsetDateTime,
    ) -> AppResult<(OrgScope, bool)> {
        let admission = memberships::admission(conn, org_id, caller.user_id).await?;
        let membership = admission.map(|a| (a.role, a.status));
        let scope = OrgScope::admit(caller, org_id, membership, ip, now)?;
        Ok((
            scope,
            admission.is_some_and(|a| a.lacks_required_two_factor),
        ))
    }

    /// The organization an app names with `?org=` (blank: the caller's default
    /// one), for the app-facing API.
    pub async fn app_org(conn: &mut Conn, caller: &Caller, org: Option<&str>) -> AppResult<OrgId> {
        match org.map(str::trim).filter(|s| !s.is_empty()) {
            Some(raw) => raw.parse().map_err(|_| AppError::NotFound),
            None => users::find(conn, caller.user_id)
                .await?
                .default_org_id
                .ok_or_else(|| {
                    AppError::invalid("org", "you have no default organization; pass ?org=")
                }),
        }
    }

    /// The scope of an app-facing call: the organization `?org=` names (or
    /// the caller's default one), with the caller's membership there.
    pub async fn for_app(
        conn: &mut Conn,
        caller: Caller,
        org: Option<&str>,
        ip: IpAddr,
        now: OffsetDateTime,
    ) -> AppResult<OrgScope> {
        let org_id = OrgScope::app_org(conn, &caller, org).await?;
        OrgScope::resolve(conn, caller, org_id, ip, now).await
    }

    /// [`OrgScope::for_app`] on a connection of its own; a call with a
    /// personal access token is counted for usage.
    pub async fn for_app_call(
        state: &crate::state::AppState,
        caller: Caller,
        org: Option<&str>,
        ip: IpAddr,
    ) -> AppResult<OrgScope> {
        let mut conn = state.store.read().await?;
        let scope = OrgScope::for_app(&mut conn, caller, org, ip, state.now()).await?;
        state.api_calls.count(&scope);
        Ok(scope)
    }

    pub fn user_id(&self) -> UserId {
        self.caller.user_id
    }

    /// The reach of `capability` for this member, or 403 if none.
    pub fn require(&self, capability: Capability) -> AppResult<Grant> {
        match permission::grant(self.role, capability) {
            Grant::No => Err(AppError::forbidden_role()),
            grant => Ok(grant),
        }
    }

    pub fn can(&self, capability: Capability) -> bool {
        permission::can(self.role, capability)
    }

    /// The member as the author of a change, for the audit log (their name and
    /// email are read only by the calls that write one).
    pub async fn actor(&self, conn: &mut Conn) -> AppResult<Actor> {
        Actor::load(
            conn,
            self.caller.user_id,
            self.role,
            Some(self.ip.to_string()),
        )
        .await
    }
}

/// The person behind a change.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub role: OrgRole,
    pub ip: Option<String>,
}

impl Actor {
    pub async fn load(
        conn: &mut Conn,
        user_id: UserId,
        role: OrgRole,
        ip: Option<String>,
    ) -> AppResult<Actor> {
        let user = users::find(conn, user_id).await?;
        Ok(Actor::of(&user, role, ip))
    }

    /// `user` acting with `role`.
    pub fn of(user: &users::User, role: OrgRole, ip: Option<String>) -> Actor {
        Actor {
            user_id: user.id,
            name: user.display_name(),
            email: user.email.clone(),
            role,
            ip,
        }
    }
}
