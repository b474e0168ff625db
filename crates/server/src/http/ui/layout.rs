//! Who is looking at a page, and the layout around it.

use crate::features::auth::caller::{Caller, Via};
use crate::features::auth::session;
use crate::http::extract::{org_in_path, ClientIp};
use crate::http::ui::error::{UiError, UiResult};
use crate::scope::Actor;
use crate::scope::OrgScope;
use crate::state::AppState;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use minijinja::{context, Value};
use muster_domain::permission::{can, Capability};
use muster_domain::{MembershipStatus, OrgId, OrgRole};
use muster_store::memberships::{self, MembershipSummary};
use muster_store::orgs::{self, Org};
use muster_store::users::User;
use serde::de::DeserializeOwned;

/// A signed-in person with a live web session.
pub struct UiUser {
    pub caller: Caller,
    pub csrf_token: String,
    pub user: User,
    pub memberships: Vec<MembershipSummary>,
}

impl UiUser {
    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, submitted: &str) -> UiResult<()> {
        if session::csrf_matches(&self.csrf_token, submitted) {
            Ok(())
        } else {
            Err(UiError::csrf())
        }
    }

    /// Active memberships that may use Management.
    pub fn management_orgs(&self) -> impl Iterator<Item = &MembershipSummary> {
        self.memberships.iter().filter(|m| {
            m.status == MembershipStatus::Active && can(m.role, Capability::SignInToManagement)
        })
    }

    /// The organization to open: the default one if Management is allowed there,
    /// else the first that allows it.
    pub fn home_org(&self) -> Option<OrgId> {
        let default = self.user.default_org_id;
        self.management_orgs()
            .find(|m| Some(m.org_id) == default)
            .or_else(|| self.management_orgs().next())
            .map(|m| m.org_id)
    }

    /// The organization whose inbox to open: the default one if the viewer is
    /// active there, else the first where they are (any role).
    pub fn inbox_org(&self) -> Option<OrgId> {
        let active = || {
            self.memberships
                .iter()
                .filter(|m| m.status == MembershipStatus::Active)
        };
        active()
            .find(|m| Some(m.org_id) == self.user.default_org_id)
            .or_else(|| active().next())
            .map(|m| m.org_id)
    }
}

impl FromRequestParts<AppState> for UiUser {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, UiError> {
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".into());
        let sign_in = || UiError::SignIn { next: next.clone() };
        let jar = CookieJar::from_headers(&parts.headers);
        let cookie = jar.get(session::COOKIE).ok_or_else(sign_in)?;
        let caller = session::resolve(state, cookie.value())
            .await?
            .ok_or_else(sign_in)?;
        let Via::Session { csrf_token, .. } = &caller.via else {
            return Err(sign_in());
        };
        let csrf_token = csrf_token.clone();
        let mut conn = state.store.read().await?;
        let (user, memberships) =
            memberships::user_with_summaries(&mut conn, caller.user_id).await?;
        Ok(UiUser {
            caller,
            csrf_token,
            user,
            memberships,
        })
    }
}

/// A page inside an organization (`/orgs/{org}/…`): the viewer must be an active
/// member with a Management role there.
pub struct OrgPage {
    pub viewer: UiUser,
    pub org: Org,
    pub scope: OrgScope,
}

impl OrgPage {
    pub fn role(&self) -> OrgRole {
        self.scope.role
    }

    /// The viewer as the author of a change.
    pub fn actor(&self) -> Actor {
        Actor::of(
            &self.viewer.user,
            self.scope.role,
            Some(self.scope.ip.to_string()),
        )
    }

    /// 403 page unless the viewer's role has `capability`.
    pub fn require(&self, capability: Capability) -> Result<(), UiError> {
        if self.scope.can(capability) {
            Ok(())
        } else {
            Err(UiError::Page {
                status: axum::http::StatusCode::FORBIDDEN,
                heading: "Not allowed".into(),
                text: "Your role in this organization does not give access to this page.".into(),
            })
        }
    }

    /// The layout context around `page`.
    pub fn context(&self, active: &str, current_path: &str, page: Value) -> Value {
        layout(
            &self.viewer,
            Some((&self.org, self.scope.role)),
            active,
            current_path,
            page,
        )
    }
}

/// Field errors as a map for templates (`errors.email`).
pub fn field_errors(invalid: &muster_domain::Invalid) -> Value {
    invalid
        .0
        .iter()
        .map(|e| (e.field.clone(), e.message.clone()))
        .collect::<std::collections::BTreeMap<_, _>>()
        .into()
}

/// A page of an organization for any active member, Management role or not
/// (their inbox).
pub struct MemberPage {
    pub viewer: UiUser,
    pub org: Org,
    pub scope: OrgScope,
}

impl FromRequestParts<AppState> for OrgPage {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, UiError> {
        let MemberPage { viewer, org, scope } =
            MemberPage::from_request_parts(parts, state).await?;
        if !scope.can(Capability::SignInToManagement) {
            return Err(UiError::Redirect("/no-access".into()));
        }
        // An organization that wants its owners and admins to sign in with
        // two factors sends one without them to set it up first.
        if org.require_two_factor
            && crate::scope::must_use_two_factor(scope.role)
            && !crate::features::two_factor::service::is_on(state, viewer.user.id).await?
        {
            return Err(UiError::Redirect(format!(
                "/me/security?required={}#two-factor",
                org.id
            )));
        }
        Ok(OrgPage { viewer, org, scope })
    }
}

impl FromRequestParts<AppState> for MemberPage {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, UiError> {
        let viewer = UiUser::from_request_parts(parts, state).await?;
        let org_id = org_in_path(parts, state)
            .await
            .ok_or_else(UiError::not_found)?;
        let membership = viewer
            .memberships
            .iter()
            .find(|m| m.org_id == org_id)
            .map(|m| (m.role, m.status));
        let ClientIp(ip) = ClientIp::from_parts(parts);
        // A disabled member is told so (and whom to ask); to anyone else
        // who is not a member the organization does not exist.
        if matches!(membership, Some((_, MembershipStatus::Disabled))) {
            return Err(UiError::Redirect(format!("/no-access?disabled={org_id}")));
        }
        let scope = OrgScope::admit(viewer.caller.clone(), org_id, membership, ip, state.now())
            .map_err(|_| UiError::not_found())?;
        let mut conn = state.store.read().await?;
        let org = orgs::find(&mut conn, org_id).await?;
        Ok(MemberPage { viewer, org, scope })
    }
}

/// One entry of the navigation: (key, path under the org, label, capability).
const NAV: &[(&str, &str, &str, Capability)] = &[
    (
        "overview",
        "overview",
        "Overview",
        Capability::SignInToManagement,
    ),
    ("users", "users", "Users", Capability::ViewMembers),
    (
        "solutions",
        "solutions",
        "Solutions",
        Capability::SeeSolutions,
    ),
    (
        "notifications",
        "notifications",
        "Notifications",
        Capability::SendNotifications,
    ),
    ("usage", "usage", "Usage", Capability::ViewUsageAndLogs),
    (
        "troubleshooting",
        "troubleshooting",
        "Troubleshooting",
        Capability::ViewUsageAndLogs,
    ),
    (
        "settings",
        "settings",
        "Organization settings",
        Capability::ManageOrgSettings,
    ),
    ("audit", "audit", "Audit log", Capability::ViewAuditLog),
];

/// The navigation entries `role` may open: the Management pages its
/// capabilities allow, and the inbox every member has (after the overview).
pub fn nav_for(role: OrgRole) -> Vec<Value> {
    let mut nav: Vec<Value> = NAV
        .iter()
        .filter(|(_, _, _, capability)| can(role, *capability))
        .map(|(key, path, label, _)| context! { key, path, label })
        .collect();
    let at = usize::from(can(role, Capability::SignInToManagement));
    nav.insert(
        at,
        context! { key => "inbox", path => "inbox", label => "Inbox" },
    );
    nav
}

/// Everything the layout needs, merged with the page's own context.
pub fn layout(
    viewer: &UiUser,
    org: Option<(&Org, OrgRole)>,
    active: &str,
    current_path: &str,
    page: Value,
) -> Value {
    let user = &viewer.user;
    let initials: String = [&user.first_name, &user.last_name]
        .iter()
        .filter_map(|name| name.chars().next())
        .flat_map(char::to_uppercase)
        .collect();
    let base = context! {
        theme => user.theme.as_str(),
        csrf_token => viewer.csrf_token,
        current_path,
        active,
        user => context! {
            name => user.display_name(),
            email => user.email,
            initials,
            theme => user.theme.as_str(),
        },
        org => org.map(|(org, _)| context! { id => org.id.to_string(), name => org.name }),
        // The switcher lists the organizations whose Management the viewer may use.
        orgs => viewer
            .management_orgs()
            .map(|m| context! { id => m.org_id.to_string(), name => m.org_name })
            .collect::<Vec<_>>(),
        nav => org.map(|(_, role)| nav_for(role)).unwrap_or_default(),
    };
    context! { ..page, ..base }
}

/// A form body. Fields missing from the form take their defaults, so a form
/// never fails to parse for a missing field; a body that is not a form is 400.
/// A repeated field (checkboxes of one name) reads into a `Vec`.
pub struct UiForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for UiForm<T> {
    type Rejection = UiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, UiError> {
        axum_extra::extract::Form::<T>::from_request(req, state)
            .await
            .map(|form| UiForm(form.0))
            .map_err(|rejection| UiError::Page {
                status: axum::http::StatusCode::BAD_REQUEST,
                heading: "The form could not be read".into(),
                text: rejection.body_text(),
            })
    }
}

/// A page of My profile, in the layout of the viewer's home organization.
pub async fn render_page(
    state: &AppState,
    viewer: &UiUser,
    path: &str,
    template: &str,
    page: Value,
) -> Result<String, UiError> {
    // Members whose roles are all `user` see My profile in the layout of
    // the organization whose inbox they have.
    let home = match viewer.home_org().or_else(|| viewer.inbox_org()) {
        Some(org_id) => {
            let mut conn = state.store.read().await?;
            let org = orgs::find(&mut conn, org_id).await?;
            viewer
                .memberships
                .iter()
                .find(|m| m.org_id == org_id)
                .map(|m| (org, m.role))
        }
        None => None,
    };
    let context = layout(
        viewer,
        home.as_ref().map(|(org, role)| (org, *role)),
        "profile",
        path,
        page,
    );
    Ok(super::templates::get()?.render(template, context)?)
}
